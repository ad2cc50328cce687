//! One module per subcommand: its clap arguments and its recipe.

pub mod activate;
pub mod audit;
pub mod batches;
pub mod block;
pub mod calls;
pub mod check_password;
pub mod issue;
pub mod numbers;
pub mod preview;
pub mod render;
pub mod reset_password;
pub mod resume;
pub mod sandbox;
pub mod show;
pub mod status;
pub mod topup;

use crate::cli::Exit;
use crate::error::Error;
use crate::lifecycle::Selection;
use crate::provision::{EngineOptions, Report};

/// Which cards of a batch: shared by the commands that change many cards.
#[derive(clap::Args, Debug, Clone)]
pub struct SelectArgs {
    /// Serials as printed: single or FIRST-LAST, comma-separated
    #[arg(long, value_name = "RANGES")]
    serials: Option<String>,
    /// Every card of the batch
    #[arg(long, conflicts_with = "serials")]
    all: bool,
}

impl SelectArgs {
    /// The selection; `None` when neither flag was given.
    pub fn selection(&self) -> Option<Selection<'_>> {
        match (&self.serials, self.all) {
            (Some(r), _) => Some(Selection::Ranges(r)),
            (None, true) => Some(Selection::All),
            (None, false) => None,
        }
    }
}

/// Brings a batch's manifest and inventory up to date after its cards changed.
pub fn refresh_outputs(ledger: &crate::ledger::Ledger, batch_id: &str) -> Result<(), Error> {
    if let Some(batch) = ledger.batch(batch_id)? {
        let cards = ledger.cards(batch_id)?;
        crate::manifest::write_outputs(&batch.out_dir, &batch, &cards, false)?;
    }
    Ok(())
}

/// Prints what a changing run did and picks the exit code.
pub fn summarize(report: &Report, done: &str) -> Exit {
    println!("{} {done}, {} failed", report.done, report.failed.len());
    for (serial, reason) in &report.failed {
        println!("  {serial} failed: {reason}");
    }
    if let Some(reason) = &report.stopped {
        println!("stopped: {reason}");
    }
    if report.failed.is_empty() && report.unfinished == 0 {
        Exit::Success
    } else {
        println!("run the same command again for the cards that did not change (it is safe)");
        Exit::Incomplete
    }
}

/// How hard to drive the platform: shared by every command that sends requests.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Requests per second, never exceeded in any one-second window
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    rate: f64,
    /// Requests in flight at most (worker threads)
    #[arg(long, value_name = "C", default_value_t = 8)]
    concurrency: usize,
}

impl EngineArgs {
    pub fn options(&self) -> Result<EngineOptions, Error> {
        if !(self.rate > 0.0 && self.rate <= 10_000.0) {
            return Err(Error::Usage(format!(
                "--rate {}: must be more than 0 and at most 10000 requests per second",
                self.rate
            )));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(Error::Usage(format!(
                "--concurrency {}: must be between 1 and 256",
                self.concurrency
            )));
        }
        Ok(EngineOptions {
            concurrency: self.concurrency,
            rate: self.rate,
            burst: (self.rate / 10.0).clamp(1.0, 10.0) as u32,
            ..EngineOptions::default()
        })
    }
}
