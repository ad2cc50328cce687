//! `cardmint block`: block lost, stolen or returned cards.

use super::{EngineArgs, SelectArgs, summarize};
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle::{self, SelectError};

/// Block cards (lost, stolen, returned): their accounts stop working and their state becomes
/// `blocked`, with the reason kept in the ledger.
///
/// Example:
///   cardmint block B0001 --serials 0000000200-0000000290 --reason "box stolen from shop 4"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    #[command(flatten)]
    select: SelectArgs,
    /// Why (kept in the ledger)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let how = args.select.selection().ok_or(SelectError::Nothing)?;
    let cards = lifecycle::select(ledger.cards(&batch.id)?, &batch.id, how)?;
    let (cards, skipped) = lifecycle::provisioned(cards);
    for c in &skipped {
        println!("  {} skipped: not provisioned ({})", c.serial, c.state);
    }
    let reason = args.reason.as_deref();
    let report = global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
        lifecycle::set_blocked(run, cards, true, reason)
    })?;
    super::refresh_outputs(&ledger, &batch.id)?;
    Ok(summarize(&report, "blocked"))
}
