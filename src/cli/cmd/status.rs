//! `cardmint status`: balances and usage of a batch's cards, from the platform.

use std::path::PathBuf;

use rust_decimal::Decimal;

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::CardState;
use crate::lifecycle::{self, Selection};
use crate::table::{Cell, Table};

/// Balance and usage of every card of a batch (or --serials), read from the platform: batch,
/// serial, customer, state, block reason, shop, value loaded, balance, used, blocked, numbers,
/// and whether the platform matches the ledger; a totals row at the end (the credit left on
/// sold cards apart from what unsold and blocked cards hold). --out writes the same as CSV.
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
    if let Some(out) = &args.out {
        global.can_write(out, &["csv"])?;
    }
    let options = args.engine.options(global.config()?)?;
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
        "batch",
        "serial",
        "customer",
        "state",
        "reason",
        "shop",
        "value",
        "balance",
        "used",
        "blocked",
        "numbers",
        "matches_ledger",
    ];
    let fmt = |d: Decimal| format!("{d:.2}");
    let mut lines: Vec<[String; 12]> = rows
        .iter()
        .map(|(c, s)| {
            [
                c.batch_id.clone(),
                s.serial.clone(),
                s.customer.clone(),
                c.state.to_string(),
                c.block_reason.clone().unwrap_or_default(),
                c.stock
                    .sold_shop
                    .clone()
                    .or_else(|| c.stock.shop.clone())
                    .unwrap_or_default(),
                fmt(s.loaded),
                fmt(s.balance),
                fmt(s.used()),
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
    // The credit left is the reseller's liability only on sold (active) cards; what unsold
    // or blocked cards hold is counted apart.
    let sum = |state: Option<CardState>| -> Decimal {
        rows.iter()
            .filter(|(c, _)| state.is_none_or(|st| c.state == st))
            .map(|(_, s)| s.balance)
            .sum()
    };
    let sold = rows
        .iter()
        .filter(|(c, _)| c.state == CardState::Active)
        .count();
    let used: Decimal = rows.iter().map(|(_, s)| s.used()).sum();
    let loaded: Decimal = rows.iter().map(|(_, s)| s.loaded).sum();
    let (left, unsold, blocked) = (
        sum(Some(CardState::Active)),
        sum(Some(CardState::Ready)),
        sum(Some(CardState::Blocked)),
    );
    let totals = format!(
        "{}: {sold} sold (active), credit used {} {cur}, credit left on sold cards {} \
         {cur} (unsold stock holds {} {cur}, blocked cards {} {cur})",
        crate::text::count(rows.len(), "card", "cards"),
        fmt(used),
        fmt(left),
        fmt(unsold),
        fmt(blocked),
        cur = batch.currency
    );
    let totals_row = [
        "total".to_string(),
        crate::text::count(rows.len(), "card", "cards"),
        String::new(),
        format!("{sold} active"),
        String::new(),
        String::new(),
        fmt(loaded),
        fmt(sum(None)),
        fmt(used),
        String::new(),
        String::new(),
        String::new(),
    ];
    global.emit(serde_json::json!({
        "batch": batch.id,
        "currency": batch.currency,
        // The table's columns, each typed: a flag is a boolean, what differs a list.
        "cards": lines.iter().zip(&rows).map(|(l, (_, st))| {
            let mut row = serde_json::Map::new();
            for (k, v) in header.iter().zip(l) {
                row.insert((*k).into(), v.clone().into());
            }
            // Nothing is null, as `card --json` says it.
            for key in ["reason", "shop"] {
                if row.get(key).is_some_and(|v| v == "") {
                    row.insert(key.into(), serde_json::Value::Null);
                }
            }
            row.insert("blocked".into(), st.blocked.into());
            row.insert("numbers".into(), st.numbers.clone().into());
            row.insert("matches_ledger".into(), st.differences.is_empty().into());
            row.insert("differences".into(), st.differences.clone().into());
            serde_json::Value::Object(row)
        }).collect::<Vec<_>>(),
        "totals": {
            "cards": rows.len(),
            "sold": sold,
            "loaded": fmt(loaded),
            "used": fmt(used),
            "left": fmt(left),
            "unsold": fmt(unsold),
            "blocked": fmt(blocked),
        },
        "out": args.out,
        "run": crate::cli::summary::report_json(global, &report, "read"),
    }));
    lines.push(totals_row);
    // Amounts right-aligned, the rest left.
    let mut table = Table::new(header);
    for l in &lines {
        table.push(
            l.iter()
                .enumerate()
                .map(|(i, v)| match i {
                    6..=8 => Cell::Figure(v.clone()),
                    _ => Cell::Text(v.clone()),
                })
                .collect(),
        );
    }
    table.totals = 1;
    match &args.out {
        Some(path) => {
            // Owner-only: each row names the card's access code.
            crate::atomic::write(path, &table.csv(), crate::atomic::PRIVATE)
                .map_err(Error::io(format!("write {}", path.display())))?;
            say!(
                global,
                "{} and a totals row in {}",
                crate::text::count(lines.len() - 1, "card", "cards"),
                path.display()
            );
        }
        None => {
            for line in table.text(&[]) {
                say!(global, "{line}");
            }
        }
    }
    say!(global, "{totals}");
    Ok(if report.failed.is_empty() {
        Exit::Success
    } else {
        crate::cli::summary::summary_lines(global, &report, "read")
    })
}
