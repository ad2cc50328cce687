//! `cardmint settle`: settle changes whose outcome is still open, on evidence from the platform;
//! or record a human's decision about one that stays ambiguous.

use super::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Intent, IntentStatus, Ledger};
use crate::lifecycle;

/// Settle changes whose outcome is open: a lost answer, a killed run, evidence that stayed
/// ambiguous. Each is judged on what the platform shows now (balances with the calls made in
/// between, blocked flags, numbers, passwords); nothing is sent again. `resume` does this
/// first for its batch.
///
/// What stays ambiguous is listed with what was seen. Check the account on the platform, then
/// record your decision with --resolve (no request is sent).
///
/// Examples:
///   cardmint settle                     # every open change in the ledger
///   cardmint settle B0001
///   cardmint settle 0000000013
///   cardmint settle 0000000013 --resolve 12=applied
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A batch id, or a card (serial or customer); every open change when omitted
    target: Option<String>,
    /// A human's decision about one change: INTENT=applied or INTENT=not-applied
    #[arg(long, value_name = "ID=OUTCOME")]
    resolve: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let mut ledger = global.open_ledger_for_changes()?;
    let pending = match &args.target {
        None => ledger.pending_intents(None)?,
        Some(t) if ledger.batch(t)?.is_some() => ledger.pending_intents(Some(t))?,
        Some(t) => {
            let card = global.card(&ledger, t)?;
            ledger
                .pending_intents(Some(&card.batch_id))?
                .into_iter()
                .filter(|i| i.card_id == card.id)
                .collect()
        }
    };
    if let Some(decision) = &args.resolve {
        return resolve(global, &mut ledger, &pending, decision);
    }
    if pending.is_empty() {
        say!(global, "nothing to settle");
        global.emit(serde_json::json!({ "changes": [], "complete": true }));
        return Ok(Exit::Success);
    }
    let mut doc = Vec::new();
    let mut batches: Vec<String> = pending.iter().map(|i| i.batch_id.clone()).collect();
    batches.sort();
    batches.dedup();
    let mut exit = Exit::Success;
    for batch_id in batches {
        let intents: Vec<Intent> = pending
            .iter()
            .filter(|i| i.batch_id == batch_id)
            .cloned()
            .collect();
        let cards: Vec<_> = ledger
            .cards(&batch_id)?
            .into_iter()
            .filter(|c| intents.iter().any(|i| i.card_id == c.id))
            .collect();
        let report = global.run_engine(&ledger, Some(&batch_id), cards.len(), &options, |run| {
            lifecycle::settle(run, cards.clone(), intents.clone())
        })?;
        for intent in &intents {
            let now = ledger.intent(intent.id)?.unwrap_or_else(|| intent.clone());
            let serial = cards
                .iter()
                .find(|c| c.id == intent.card_id)
                .map_or("?", |c| c.serial.as_str());
            say!(
                global,
                "{serial} #{}: {}: {}{}",
                now.id,
                now.kind,
                now.status.as_str(),
                now.evidence
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
            doc.push(serde_json::json!({
                "batch": batch_id,
                "serial": serial,
                "id": now.id,
                "kind": now.kind.to_string(),
                "status": now.status.as_str(),
                "evidence": now.evidence,
                "resolve": now.status.is_pending().then(|| format!(
                    "{} --resolve {}=applied|not-applied",
                    global.command_for("settle", serial),
                    now.id
                )),
            }));
            if now.status.is_pending() {
                exit = Exit::Incomplete;
                say!(
                    global,
                    "  check the account on the platform, then record what you find: {} \
                     --resolve {}=applied (or {}=not-applied)",
                    global.command_for("settle", serial),
                    now.id,
                    now.id
                );
            }
        }
        super::refresh_outputs(&ledger, &batch_id)?;
        if !report.failed.is_empty() || report.stopped.is_some() {
            exit = super::summary_lines(global, &report, "settled");
        }
    }
    global.emit(serde_json::json!({ "changes": doc, "complete": exit == Exit::Success }));
    Ok(exit)
}

/// Records a human's decision: `ID=applied` or `ID=not-applied`, for a pending change in scope.
fn resolve(
    global: &Global,
    ledger: &mut Ledger,
    pending: &[Intent],
    decision: &str,
) -> Result<Exit, Error> {
    let bad = || {
        Error::Usage(format!(
            "--resolve {decision:?}: give INTENT=applied or INTENT=not-applied, with an intent \
             number that `cardmint settle` lists as open"
        ))
    };
    let (id, outcome) = decision.split_once('=').ok_or_else(bad)?;
    let id: i64 = id
        .trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| bad())?;
    let status = match outcome.trim() {
        "applied" => IntentStatus::Applied,
        "not-applied" => IntentStatus::NotApplied,
        _ => return Err(bad()),
    };
    let intent = pending.iter().find(|i| i.id == id).ok_or_else(bad)?;
    ledger.write(|w| w.settle_intent(id, status, "decided by hand (cardmint settle --resolve)"))?;
    super::refresh_outputs(ledger, &intent.batch_id)?;
    say!(
        global,
        "#{id}: {}: {} (by hand)",
        intent.kind,
        status.as_str()
    );
    global.emit(serde_json::json!({
        "resolved": { "id": id, "kind": intent.kind.to_string(), "status": status.as_str() },
    }));
    Ok(Exit::Success)
}
