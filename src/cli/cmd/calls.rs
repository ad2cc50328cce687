//! `cardmint calls`: every call record of a batch or a card, as CSV.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime};

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle;
use crate::table::{Cell, Table};

/// Every call record of a batch's cards (or one card, by serial or customer), paged from the
/// platform 500 at a time until it says there is no more, as CSV: serial, customer, call id,
/// start time (UTC, ISO 8601), destination, duration in seconds, charge.
///
/// Examples:
///   cardmint calls B0001 --since 2026-11-01 --out november.csv
///   cardmint calls 0000000013
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A batch id, or one card's serial or customer name
    target: String,
    /// Only calls after this UTC date or time (YYYY-MM-DD or "YYYY-MM-DD hh:mm:ss")
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    since: Option<NaiveDateTime>,
    /// Write the CSV here (default: standard output)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

fn parse_since(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .map_err(|_| format!("{s:?} is not YYYY-MM-DD or \"YYYY-MM-DD hh:mm:ss\""))
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    if let Some(out) = &args.out {
        global.can_write(out, &["csv"])?;
    }
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger()?;
    let (batch_id, cards) = match ledger.batch(&args.target)? {
        Some(b) => (b.id.clone(), lifecycle::provisioned(ledger.cards(&b.id)?).0),
        None => {
            let card = global.card(&ledger, &args.target)?;
            (card.batch_id.clone(), vec![card])
        }
    };
    let (found, report) =
        global.run_engine(&ledger, Some(&batch_id), cards.len(), &options, |run| {
            lifecycle::calls(run, cards, args.since)
        })?;
    let mut table = Table::new([
        "serial",
        "customer",
        "call_id",
        "start_utc",
        "destination",
        "duration_seconds",
        "charge",
    ]);
    let mut count = 0;
    for (card, calls) in &found {
        for c in calls {
            count += 1;
            let mut row = vec![
                Cell::Text(card.serial.clone()),
                Cell::Text(card.customer.clone()),
                Cell::Text(c.call_id.to_string()),
            ];
            row.extend(lifecycle::call_cells(c));
            table.push(row);
        }
    }
    let bytes = table.csv();
    match &args.out {
        Some(path) => {
            // Owner-only: each record names the card's access code.
            crate::atomic::write(path, &bytes, crate::atomic::PRIVATE)
                .map_err(Error::io(format!("write {}", path.display())))?;
            say!(
                global,
                "{} of {} in {}",
                crate::text::count(count, "call record", "call records"),
                crate::text::count(found.len(), "card", "cards"),
                path.display()
            );
        }
        // Under --json the records are the document, not CSV.
        None if global.json => {}
        None => crate::cli::out::bytes(&bytes),
    }
    global.emit(serde_json::json!({
        "calls": found.iter().flat_map(|(card, calls)| calls.iter().map(move |c| serde_json::json!({
            "serial": card.serial,
            "customer": card.customer,
            "call_id": c.call_id,
            "start_utc": crate::clock::stamp_utc(c.start),
            "destination": c.destination,
            "duration_seconds": c.duration_secs,
            "charge": c.charge.normalize().to_string(),
        }))).collect::<Vec<_>>(),
        "cards": found.len(),
        "out": args.out,
        "run": crate::cli::summary::report_json(global, &report, "read"),
    }));
    Ok(if report.failed.is_empty() {
        Exit::Success
    } else {
        crate::cli::summary::summary_lines(global, &report, "read")
    })
}
