//! `cardmint show BATCH`: one batch with its settings and counts.

use crate::cli::{Exit, Global};
use crate::error::Error;

/// Show one batch: settings, card counts by state, serial range, output folder.
///
/// Exits non-zero when the ledger has no such batch.
///
/// Example:
///   cardmint show B0001
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id (see `cardmint batches`)
    batch: String,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let ledger = global.open_ledger()?;
    let b = global.batch(&ledger, &args.batch)?;
    let c = ledger.counts(&b.id)?;
    let cards = ledger.cards(&b.id)?;
    println!("batch      {}", b.id);
    println!("created    {}", b.created_at);
    println!("value      {:.2} {}", b.value, b.currency);
    println!(
        "tariff     {}",
        b.tariff.map_or("-".to_string(), |t| t.to_string())
    );
    println!(
        "issued     {}",
        if b.active {
            "active"
        } else {
            "blocked (retail)"
        }
    );
    println!(
        "codes      {} digits{}",
        b.code.length(),
        if b.code.prefix().is_empty() {
            String::new()
        } else {
            format!(", prefix {}", b.code.prefix())
        }
    );
    if let Some(source) = &b.source {
        println!("source     {source}");
    }
    if let (Some(first), Some(last)) = (cards.first(), cards.last()) {
        println!("serials    {}-{}", first.serial, last.serial);
    }
    println!(
        "cards      {} (ready {}, active {}, blocked {}, failed {}, pending {})",
        c.total(),
        c.ready,
        c.active,
        c.blocked,
        c.failed,
        c.pending
    );
    println!(
        "platform   {}",
        b.platform.as_ref().map_or(
            "not recorded (issued before cardmint remembered it)".to_string(),
            |p| p.to_string()
        )
    );
    println!("outputs    {}", b.out_dir.display());
    let open = ledger.pending_intents(Some(&b.id))?;
    if !open.is_empty() {
        println!(
            "open       {} change(s) waiting for evidence: run `cardmint settle {}`",
            open.len(),
            b.id
        );
    }
    Ok(Exit::Success)
}
