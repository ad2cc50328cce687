//! `cardmint card CARD`: one card's whole story from the ledger, and with --live its account
//! as the platform has it now.

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle;

/// One card's history: issued, consigned, sold where and when, blocked and why, top-ups,
/// password resets, number changes, replacements; each change sent to the platform with how
/// it was settled. With --live, also its balance, blocked flag and numbers read now.
///
/// Examples:
///   cardmint card 0000000013
///   cardmint card 0000000013 --live
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Serial (as printed) or customer name
    card: String,
    /// Also read the account from the platform now
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

fn day(d: Option<chrono::NaiveDate>) -> serde_json::Value {
    d.map_or(serde_json::Value::Null, |d| d.to_string().into())
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger()?;
    let card = global.card(&ledger, &args.card)?;
    let batch = global.batch(&ledger, &card.batch_id)?;
    let history = lifecycle::history(&ledger, &batch, &card)?;
    let expires = lifecycle::expires_on(&batch, &card);
    let other =
        |id: i64| -> Result<Option<String>, Error> { Ok(ledger.card_by_id(id)?.map(|c| c.serial)) };
    let replaced_by = match ledger.replacement_of(card.id)? {
        Some(r) => match r.target {
            Some(t) => other(t)?,
            None => None,
        },
        None => None,
    };
    let replaces = match ledger.replaced_by_card(card.id)? {
        Some(r) => other(r.source)?,
        None => None,
    };
    // Credit moved off the card (replaced, redeemed onto another) after its last read: what
    // stays behind is the measured balance less the amount deducted, not the read before it.
    let moved_off = ledger.movement_of(card.id)?.filter(|m| {
        matches!(
            m.state,
            crate::ledger::MovementState::Deducted | crate::ledger::MovementState::Done
        ) && m.measured.is_some()
    });
    let balance_after_move = moved_off
        .as_ref()
        .and_then(|m| Some(m.measured? - m.amount()));
    let live = if args.live {
        let (cards, _) = lifecycle::provisioned(vec![card.clone()]);
        if cards.is_empty() {
            None
        } else {
            let (rows, report) =
                global.run_engine(&ledger, Some(&batch.id), 1, &options, |run| {
                    lifecycle::status(run, cards)
                })?;
            if !report.failed.is_empty() {
                return Ok(crate::cli::summary::summary_lines(global, &report, "read"));
            }
            rows.into_iter().next().map(|(_, s)| s)
        }
    } else {
        None
    };
    let cur = &batch.currency;
    say!(
        global,
        "card {} of batch {}: customer {}",
        card.serial,
        batch.id,
        card.customer
    );
    let state = match &card.block_reason {
        Some(why) => format!("{} ({why})", card.state),
        None => card.state.to_string(),
    };
    say!(
        global,
        "state {state}; face value {:.2} {cur}; loaded {:.2} {cur}",
        card.value,
        card.loaded()
    );
    if let Some(shop) = &card.stock.shop {
        say!(
            global,
            "consigned to {shop} on {}",
            card.stock
                .consigned_on
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }
    if let Some(on) = card.stock.sold_on {
        say!(
            global,
            "sold {}on {on}",
            card.stock
                .sold_shop
                .as_deref()
                .map(|s| format!("by {s} "))
                .unwrap_or_default()
        );
    }
    match (expires, batch.expiry) {
        (Some(d), _) => say!(global, "valid through {d}"),
        (None, Some(rule)) => say!(global, "valid {rule} from its sale (not sold yet)"),
        (None, None) => {}
    }
    if let Some(s) = &replaced_by {
        say!(global, "replaced by card {s}");
    }
    if let Some(s) = &replaces {
        say!(global, "issued to replace card {s}");
    }
    match (balance_after_move, &moved_off) {
        (Some(b), Some(m)) => say!(
            global,
            "balance {b:.2} {cur} after {:.2} {cur} moved off it ({}; read {} before)",
            m.amount(),
            if m.kind == crate::ledger::MovementKind::Redeem {
                "redeemed onto another account"
            } else {
                "to its replacement"
            },
            card.stock.last_balance_at.as_deref().unwrap_or(&m.at)
        ),
        _ => {
            if let (Some(b), Some(at)) = (card.stock.last_balance, &card.stock.last_balance_at) {
                say!(global, "balance {b:.2} {cur} when last read ({at})");
            }
        }
    }
    if let Some(s) = &live {
        say!(
            global,
            "on the platform now: balance {:.2} {cur}, {}, numbers [{}]{}",
            s.balance,
            if s.blocked { "blocked" } else { "not blocked" },
            s.numbers.join(" "),
            if s.differences.is_empty() {
                String::new()
            } else {
                format!("; differs from the ledger: {}", s.differences.join("; "))
            }
        );
    }
    say!(global, "history:");
    for e in &history {
        say!(
            global,
            "  {}  {:<13} {}{}",
            e.at.replace('T', " ").trim_end_matches('Z'),
            e.event,
            e.detail,
            e.status
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default()
        );
    }
    global.emit(serde_json::json!({
        "serial": card.serial,
        "batch": batch.id,
        "customer": card.customer,
        "state": card.state.as_str(),
        "reason": card.block_reason,
        "currency": cur,
        "value": format!("{:.2}", card.value),
        "loaded": format!("{:.2}", card.loaded()),
        "numbers": card.numbers,
        "shop": card.stock.shop,
        "consigned_on": day(card.stock.consigned_on),
        "sold_by": card.stock.sold_shop,
        "sold_on": day(card.stock.sold_on),
        "expires_on": day(expires),
        "last_balance": card.stock.last_balance.map(|b| format!("{b:.2}")),
        "last_balance_at": card.stock.last_balance_at,
        "balance_after_move": balance_after_move.map(|b| format!("{b:.2}")),
        "replaced_by": replaced_by,
        "replaces": replaces,
        "live": live.as_ref().map(|s| serde_json::json!({
            "balance": format!("{:.2}", s.balance),
            "blocked": s.blocked,
            "numbers": s.numbers,
            "matches_ledger": s.differences.is_empty(),
            "differences": s.differences,
        })),
        "history": history.iter().map(|e| serde_json::json!({
            "at": e.at, "event": e.event, "detail": e.detail, "status": e.status,
        })).collect::<Vec<_>>(),
    }));
    Ok(Exit::Success)
}
