//! `cardmint resume BATCH`: finish an interrupted batch.

use crate::batch::{Print, Sheets};
use crate::cli::args::EngineArgs;
use crate::cli::args::Layout;
use crate::cli::{Exit, Global};
use crate::error::Error;

/// Finish an interrupted batch: killed, network down, or cards that failed.
///
/// Changes whose outcome is open (a lost answer, a kill) are settled first, on evidence from
/// the platform, like `cardmint settle`; what the ledger knows decides the rest, so nothing is
/// created twice and no credit is loaded twice. Safe to run any number of times.
///
/// Example:
///   cardmint resume B0001
///   cardmint --sandbox resume B0001 --rate 20
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id (see `cardmint batches`)
    batch: String,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    layout: Layout,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let sheets = Sheets::for_batch(&global.config()?.values, &args.layout.look(), &batch)?;
    crate::cli::finish::finish_batch(
        global,
        &ledger,
        &batch,
        &options,
        &sheets,
        &Print::default(),
        None,
    )
}
