//! `cardmint batches`: every batch in the ledger, one line each.

use crate::cli::{Exit, Global};
use crate::error::Error;

/// List the batches in the ledger with their card counts.
///
/// Example:
///   cardmint batches
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub fn run(global: &Global, _args: Args) -> Result<Exit, Error> {
    let ledger = global.open_ledger()?;
    let batches = ledger.batches()?;
    if batches.is_empty() {
        println!("no batches in {}", ledger.path().display());
        return Ok(Exit::Success);
    }
    println!(
        "{:<8} {:<20} {:>6} {:>6} {:>6} {:>7} {:>6} {:>7} {:>10}  out",
        "batch", "created", "cards", "ready", "active", "blocked", "failed", "pending", "value"
    );
    for b in batches {
        let c = ledger.counts(&b.id)?;
        println!(
            "{:<8} {:<20} {:>6} {:>6} {:>6} {:>7} {:>6} {:>7} {:>10}  {}",
            b.id,
            b.created_at,
            c.total(),
            c.ready,
            c.active,
            c.blocked,
            c.failed,
            c.pending,
            format!("{:.2} {}", b.value, b.currency),
            b.out_dir.display()
        );
    }
    Ok(Exit::Success)
}
