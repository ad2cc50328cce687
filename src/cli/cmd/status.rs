//! `cardmint status`: balances and usage of a batch's cards, from the platform.

use std::path::PathBuf;

use rust_decimal::Decimal;

use super::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::CardState;
use crate::lifecycle::{self, Selection};

/// Balance and usage of every card of a batch (or --serials), read from the platform: serial,
/// customer, value loaded, balance, used, blocked, numbers, and whether the platform matches
/// the ledger; totals at the end. --out writes the same as CSV.
///
/// Example:
///   cardmint status B0001 --out month-end.csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    /// Only these serials (FIRST-LAST or single, comma-separated)
    #[arg(long, value_name = "RANGES")]
    serials: Option<String>,
    /// Write a CSV here instead of the table
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let ledger = global.open_ledger()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let how = args
        .serials
        .as_deref()
        .map_or(Selection::All, Selection::Ranges);
    let (cards, _) =
        lifecycle::provisioned(lifecycle::select(ledger.cards(&batch.id)?, &batch.id, how)?);
    let (rows, report) =
        global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
            lifecycle::status(run, cards)
        })?;
    let header = [
        "serial",
        "customer",
        "value",
        "balance",
        "used",
        "blocked",
        "numbers",
        "matches_ledger",
    ];
    let fmt = |d: Decimal| format!("{:.2}", d);
    let lines: Vec<[String; 8]> = rows
        .iter()
        .map(|(_, s)| {
            [
                s.serial.clone(),
                s.customer.clone(),
                fmt(s.loaded),
                s.balance.normalize().to_string(),
                s.used().normalize().to_string(),
                s.blocked.to_string(),
                s.numbers.join(" "),
                if s.differences.is_empty() {
                    "yes".into()
                } else {
                    format!("no: {}", s.differences.join("; "))
                },
            ]
        })
        .collect();
    let sold = rows
        .iter()
        .filter(|(c, _)| c.state == CardState::Active)
        .count();
    let used: Decimal = rows.iter().map(|(_, s)| s.used()).sum();
    let left: Decimal = rows.iter().map(|(_, s)| s.balance).sum();
    let totals = format!(
        "{} cards: {sold} sold (active), credit used {} {cur}, credit left {} {cur}",
        rows.len(),
        used.normalize(),
        left.normalize(),
        cur = batch.currency
    );
    global.emit(serde_json::json!({
        "batch": batch.id,
        "currency": batch.currency,
        "cards": lines.iter().map(|l| {
            let mut row = serde_json::Map::new();
            for (k, v) in header.iter().zip(l) {
                row.insert((*k).into(), v.clone().into());
            }
            serde_json::Value::Object(row)
        }).collect::<Vec<_>>(),
        "totals": {
            "cards": rows.len(),
            "sold": sold,
            "used": format!("{used:.2}"),
            "left": format!("{left:.2}"),
        },
        "out": args.out,
        "run": super::report_json(global, &report, "read"),
    }));
    match &args.out {
        Some(path) => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let io = |e: csv::Error| Error::Io {
                what: format!("write {}", path.display()),
                source: e.into(),
            };
            w.write_record(header).map_err(io)?;
            for l in &lines {
                w.write_record(l).map_err(io)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| Error::io(format!("write {}", path.display()))(e.into_error()))?;
            // Owner-only: each row names the card's access code.
            crate::atomic::write(path, &bytes, crate::atomic::PRIVATE)
                .map_err(Error::io(format!("write {}", path.display())))?;
            say!(global, "{} rows in {}", lines.len(), path.display());
        }
        None => {
            say!(
                global,
                "{:<10} {:<14} {:>9} {:>10} {:>9} {:<7} {:<16} matches",
                "serial",
                "customer",
                "value",
                "balance",
                "used",
                "blocked",
                "numbers"
            );
            for l in &lines {
                say!(
                    global,
                    "{:<10} {:<14} {:>9} {:>10} {:>9} {:<7} {:<16} {}",
                    l[0],
                    l[1],
                    l[2],
                    l[3],
                    l[4],
                    l[5],
                    l[6],
                    l[7]
                );
            }
        }
    }
    say!(global, "{totals}");
    Ok(if report.failed.is_empty() {
        Exit::Success
    } else {
        super::summary_lines(global, &report, "read")
    })
}
