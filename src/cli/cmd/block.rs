//! `cardmint block`: block lost, stolen or returned cards.

use crate::cli::args::{EngineArgs, SelectArgs};
use crate::cli::summary::summarize;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle::{self, SelectError};

/// Block cards (lost, stolen, returned): their accounts stop working and their state becomes
/// `blocked`, with the reason kept in the ledger.
///
/// Example:
///   cardmint block B0001 --serials 0000000207-0000000293 --reason "box stolen from shop 4"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    /// Why (kept in the ledger; one line, at most 200 characters)
    #[arg(long, value_name = "TEXT", value_parser = crate::cli::args::reason)]
    reason: Option<String>,
    // The groups after the command's own flags: each under its heading in the help.
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let how = args.select.selection().ok_or(SelectError::Nothing)?;
    let all = matches!(how, lifecycle::Selection::All);
    let cards = lifecycle::select(ledger.cards(&batch.id)?, &batch.id, how)?;
    let mut skipped = Vec::new();
    let cards = lifecycle::changeable(cards, all, &mut skipped)?;
    crate::cli::summary::print_skipped(global, &skipped);
    let pending = crate::money::pending_of(&ledger, &cards)?;
    let reason = args.reason.as_deref();
    let report = global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
        lifecycle::set_blocked(run, cards, pending, true, reason)
    })?;
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    Ok(summarize(global, &report, "blocked"))
}
