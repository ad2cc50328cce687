//! `cardmint expire`: block the cards past their expiry date (reason `expired`).

use std::collections::BTreeMap;

use crate::cli::args::EngineArgs;
use crate::cli::summary::summarize;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Card, CardState};
use crate::lifecycle;

/// Block every card past its expiry date, across all batches (or one with --batch), with the
/// reason `expired`. A batch's rule is set at issue (`--expires 12m`, counted from the sale,
/// or `--expires-on DATE`); a card can be used through its last day. --dry-run lists them
/// and sends nothing.
///
/// Examples:
///   cardmint expire --dry-run
///   cardmint expire
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Only this batch
    #[arg(long, value_name = "BATCH")]
    batch: Option<String>,
    /// List the cards that would be blocked; send nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// The cards of `ledger` past their date today, by batch.
fn due(
    ledger: &crate::ledger::Ledger,
    only: Option<&str>,
    today: chrono::NaiveDate,
) -> Result<BTreeMap<String, Vec<(Card, chrono::NaiveDate)>>, Error> {
    let mut due: BTreeMap<String, Vec<(Card, chrono::NaiveDate)>> = BTreeMap::new();
    for batch in ledger.batches()? {
        if only.is_some_and(|b| b != batch.id) || batch.expiry.is_none() {
            continue;
        }
        for card in ledger.cards(&batch.id)? {
            let live = matches!(card.state, CardState::Ready | CardState::Active);
            if let Some(d) = lifecycle::expires_on(&batch, &card)
                && d < today
                && live
            {
                due.entry(batch.id.clone()).or_default().push((card, d));
            }
        }
    }
    Ok(due)
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let today = crate::clock::today();
    let ledger = if args.dry_run {
        global.open_ledger()?
    } else {
        global.open_ledger_for_changes()?
    };
    if let Some(b) = &args.batch {
        global.batch(&ledger, b)?;
    }
    let due = due(&ledger, args.batch.as_deref(), today)?;
    let count: usize = due.values().map(Vec::len).sum();
    for (batch, cards) in &due {
        for (c, d) in cards {
            say!(
                global,
                "  {batch} {} expired after {d} ({})",
                c.serial,
                c.state
            );
        }
    }
    let listed = |due: &BTreeMap<String, Vec<(Card, chrono::NaiveDate)>>| {
        due.iter()
            .flat_map(|(b, cards)| {
                cards.iter().map(move |(c, d)| {
                    serde_json::json!({"batch": b, "serial": c.serial, "expired_after": d.to_string()})
                })
            })
            .collect::<Vec<_>>()
    };
    if args.dry_run || count == 0 {
        say!(
            global,
            "{} past their date{}",
            crate::text::count(count, "card", "cards"),
            if args.dry_run && count > 0 {
                "; dry run: nothing was sent"
            } else {
                ""
            }
        );
        global.emit(serde_json::json!({
            "dry_run": args.dry_run, "due": listed(&due), "done": 0, "complete": true,
        }));
        return Ok(Exit::Success);
    }
    let mut total = crate::runner::Report::default();
    for (batch, cards) in &due {
        if total.stopped.is_some() {
            total.unfinished += cards.len();
            continue;
        }
        let cards: Vec<Card> = cards.iter().map(|(c, _)| c.clone()).collect();
        let pending = crate::money::pending_of(&ledger, &cards)?;
        let report = global.run_engine(&ledger, Some(batch), cards.len(), &options, |run| {
            lifecycle::set_blocked(run, cards, pending, true, Some("expired"))
        })?;
        crate::batch::refresh_outputs(&ledger, batch)?;
        total.absorb(report);
    }
    Ok(summarize(global, &total, "blocked as expired"))
}
