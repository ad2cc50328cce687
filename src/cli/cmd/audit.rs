//! `cardmint audit`: the platform against the ledger, card by card.

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle;

/// Check every provisioned card of a batch on the platform against the ledger: the account
/// exists, the ledger's password opens it, the blocked flag matches the card's state, the
/// numbers match, and every cent of the balance is accounted for: it equals what the ledger
/// loaded less the charges of every call the platform records. A difference is named (a change
/// applied nothing, half, twice; credit or a deduction nobody recorded) with its amount and the
/// command that investigates it. Prints each mismatch; exits 5 when there is one.
///
/// Example:
///   cardmint audit B0001
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let (cards, skipped) = lifecycle::provisioned(ledger.cards(&batch.id)?);
    let mut intents = Vec::new();
    let mut moved = Vec::new();
    for card in &cards {
        intents.extend(ledger.card_intents(card.id)?);
        moved.extend(ledger.movement_of(card.id)?);
    }
    let (results, report) =
        global.run_engine(&ledger, Some(&batch.id), cards.len(), &options, |run| {
            lifecycle::audit(run, cards, intents, moved)
        })?;
    let open = ledger.pending_intents(Some(&batch.id))?;
    let mut mismatches = 0;
    for (card, problems) in &results {
        for p in problems {
            mismatches += 1;
            say!(global, "{} {}: {p}", card.serial, card.customer);
        }
        // A difference may be a change whose outcome the ledger does not know yet.
        for intent in open.iter().filter(|i| i.card_id == card.id) {
            say!(
                global,
                "{} {}: a change is waiting for evidence ({}, #{}): run `{}`",
                card.serial,
                card.customer,
                intent.kind,
                intent.id,
                global.command_for("settle", &card.serial)
            );
        }
    }
    say!(
        global,
        "{} audited, {}{}",
        crate::text::count(results.len(), "card", "cards"),
        crate::text::count(mismatches, "mismatch", "mismatches"),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} not provisioned (not audited)", skipped.len())
        }
    );
    global.emit(serde_json::json!({
        "batch": batch.id,
        "audited": results.len(),
        "not_provisioned": skipped.len(),
        "mismatches": results.iter().flat_map(|(card, problems)| problems.iter().map(move |p| serde_json::json!({
            "serial": card.serial,
            "customer": card.customer,
            "problem": p.to_string(),
        }))).collect::<Vec<_>>(),
        "open_changes": open.iter().map(|i| serde_json::json!({
            "id": i.id,
            "kind": i.kind.to_string(),
        })).collect::<Vec<_>>(),
        "run": crate::cli::summary::report_json(global, &report, "audited"),
    }));
    if !report.failed.is_empty() {
        return Ok(crate::cli::summary::summary_lines(
            global, &report, "audited",
        ));
    }
    Ok(if mismatches > 0 {
        Exit::Mismatch
    } else {
        Exit::Success
    })
}
