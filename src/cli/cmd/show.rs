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
    let range = ledger.value_range(&b.id)?;
    say!(global, "batch      {}", b.id);
    say!(global, "created    {}", b.created_at);
    say!(
        global,
        "value      {}",
        crate::ledger::value_text(range, b.value, &b.currency)
    );
    say!(
        global,
        "tariff     {}",
        b.tariff.map_or("-".to_string(), |t| t.to_string())
    );
    say!(
        global,
        "issued     {}",
        if b.active {
            "active"
        } else {
            "blocked (retail)"
        }
    );
    say!(
        global,
        "codes      {} digits{}",
        b.code.length(),
        if b.code.prefix().is_empty() {
            String::new()
        } else {
            format!(", prefix {}", b.code.prefix())
        }
    );
    if let Some(source) = &b.source {
        say!(global, "source     {source}");
    }
    if let (Some(first), Some(last)) = (cards.first(), cards.last()) {
        say!(global, "serials    {}-{}", first.serial, last.serial);
    }
    say!(
        global,
        "cards      {} (ready {}, active {}, blocked {}, failed {}, pending {})",
        c.total(),
        c.ready,
        c.active,
        c.blocked,
        c.failed,
        c.pending
    );
    say!(
        global,
        "platform   {}",
        b.platform.as_ref().map_or(
            "not recorded (issued before cardmint remembered it)".to_string(),
            |p| p.to_string()
        )
    );
    say!(global, "outputs    {}", b.out_dir.display());
    let open = ledger.pending_intents(Some(&b.id))?;
    if !open.is_empty() {
        say!(
            global,
            "open       {} change(s) waiting for evidence: run `cardmint settle {}`",
            open.len(),
            b.id
        );
    }
    global.emit(serde_json::json!({
        "batch": b.id,
        "created": b.created_at,
        "value": super::batches::value_json(range, b.value),
        "value_min": format!("{:.2}", range.map_or(b.value, |r| r.0)),
        "value_max": format!("{:.2}", range.map_or(b.value, |r| r.1)),
        "currency": b.currency,
        "tariff": b.tariff,
        "active": b.active,
        "code_length": b.code.length(),
        "code_prefix": b.code.prefix(),
        "source": b.source,
        "first_serial": cards.first().map(|c| &c.serial),
        "last_serial": cards.last().map(|c| &c.serial),
        "cards": {
            "total": c.total(),
            "ready": c.ready,
            "active": c.active,
            "blocked": c.blocked,
            "failed": c.failed,
            "pending": c.pending,
        },
        "platform": b.platform.as_ref().map(|p| p.to_string()),
        "out": b.out_dir,
        "open_changes": open.len(),
    }));
    Ok(Exit::Success)
}
