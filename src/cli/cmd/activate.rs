//! `cardmint activate`: unblock sold cards.

use std::path::PathBuf;

use super::{EngineArgs, SelectArgs, summarize};
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle::{self, SelectError, Selection};

/// Activate sold cards: unblock their accounts; their state becomes `active`.
///
/// Choose the cards with --serials (as printed, ranges allowed), a shop's --sold-list (a CSV
/// with a `serial` column, or one serial per line), or --all. Serials are checked (check digit,
/// batch) before anything is sent.
///
/// Examples:
///   cardmint activate B0001 --serials 0000000013-0000000101,0000000158
///   cardmint activate B0001 --sold-list shop12-sold.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    #[command(flatten)]
    select: SelectArgs,
    /// A CSV of serials a shop reports as sold
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serials", "all"])]
    sold_list: Option<PathBuf>,
    /// Also unblock cards blocked after issue (lost, stolen, returned): off by default, so a
    /// sold list that names a stolen card does not bring it back to life
    #[arg(long)]
    include_blocked: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let how = match (&args.sold_list, args.select.selection()) {
        (Some(path), _) => Selection::SoldList(path),
        (None, Some(s)) => s,
        (None, None) => return Err(SelectError::Nothing.into()),
    };
    let all = matches!(how, Selection::All);
    let cards = lifecycle::select(ledger.cards(&batch.id)?, &batch.id, how)?;
    let mut skipped = Vec::new();
    let cards = lifecycle::changeable(cards, all, &mut skipped)?;
    let cards = lifecycle::unless_blocked(cards, all, args.include_blocked, &mut skipped)?;
    super::print_skipped(global, &skipped);
    let pending = super::pending_of(&ledger, &cards)?;
    let report = global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
        lifecycle::set_blocked(run, cards, pending, false, None)
    })?;
    super::refresh_outputs(&ledger, &batch.id)?;
    Ok(summarize(global, &report, "activated"))
}
