//! `cardmint batches`: every batch in the ledger, one line each.

use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::Platform;
use crate::table::{Cell, Table};

/// List the batches in the ledger with their card counts.
///
/// Example:
///   cardmint batches
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {}

pub fn run(global: &Global, _args: Args) -> Result<Exit, Error> {
    let path = global.ledger_path();
    if !path.exists() {
        // Listing creates nothing: a folder without a ledger has no batches.
        say!(
            global,
            "no batches: there is no ledger at {} (give --ledger PATH, or run in the folder of \
             your batches)",
            path.display()
        );
        return Ok(Exit::Success);
    }
    let ledger = global.open_ledger()?;
    let batches = ledger.batches()?;
    if global.json {
        let mut list = Vec::new();
        for b in &batches {
            let c = ledger.counts(&b.id)?;
            let range = ledger.value_range(&b.id)?;
            list.push(serde_json::json!({
                "batch": b.id,
                "created": b.created_at,
                "cards": c.total(),
                "ready": c.ready,
                "active": c.active,
                "blocked": c.blocked,
                "failed": c.failed,
                "pending": c.pending,
                "value": value_json(range, b.value),
                "value_min": format!("{:.2}", range.map_or(b.value, |r| r.0)),
                "value_max": format!("{:.2}", range.map_or(b.value, |r| r.1)),
                "currency": b.currency,
                "platform": short_platform(b.platform.as_ref()),
                "out": b.out_dir,
            }));
        }
        global.emit(serde_json::json!({ "ledger": ledger.path(), "batches": list }));
        return Ok(Exit::Success);
    }
    if batches.is_empty() {
        say!(global, "no batches in {}", ledger.path().display());
        return Ok(Exit::Success);
    }
    // The one table writer: columns as wide as their widest cell (a value range included).
    let mut table = Table::new([
        "batch", "created", "cards", "ready", "active", "blocked", "failed", "pending", "value",
        "platform", "out",
    ]);
    for b in batches {
        let c = ledger.counts(&b.id)?;
        let value = crate::ledger::value_text(ledger.value_range(&b.id)?, b.value, &b.currency);
        table.push(vec![
            Cell::Text(b.id),
            Cell::Text(b.created_at),
            Cell::Count(c.total() as u64),
            Cell::Count(c.ready as u64),
            Cell::Count(c.active as u64),
            Cell::Count(c.blocked as u64),
            Cell::Count(c.failed as u64),
            Cell::Count(c.pending as u64),
            Cell::Figure(value),
            Cell::Text(short_platform(b.platform.as_ref())),
            Cell::Text(b.out_dir.display().to_string()),
        ]);
    }
    for line in table.text(&[]) {
        say!(global, "{line}");
    }
    Ok(Exit::Success)
}

/// A batch's `value` in JSON: its face value, `null` when its cards' values differ (then
/// `value_min` and `value_max` say them).
pub fn value_json(
    range: Option<(rust_decimal::Decimal, rust_decimal::Decimal)>,
    fallback: rust_decimal::Decimal,
) -> serde_json::Value {
    match range {
        Some((lo, hi)) if lo != hi => serde_json::Value::Null,
        Some((v, _)) => format!("{v:.2}").into(),
        None => format!("{fallback:.2}").into(),
    }
}

/// The platform in a column: `sandbox`, or the endpoint's host and the reseller.
fn short_platform(platform: Option<&Platform>) -> String {
    match platform {
        None => "-".to_string(),
        Some(Platform::Sandbox) => "sandbox".to_string(),
        Some(Platform::Endpoint { url, reseller }) => {
            let host = url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .unwrap_or(url);
            format!("{reseller}@{host}")
        }
    }
}
