//! `cardmint settle`: settle changes whose outcome is still open, on evidence from the platform;
//! or record a human's decision about one that stays ambiguous.

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Intent, IntentStatus, Ledger};
use crate::lifecycle;
use crate::money::Advance;

/// Settle changes whose outcome is open: a lost answer, a killed run, evidence that stayed
/// ambiguous. Each is judged on what the platform shows now (balances with the calls made in
/// between, blocked flags, numbers, passwords); nothing is sent again. `resume` does this
/// first for its batch. Then every movement of credit left part way in scope (a redeem whose
/// portal stopped) is continued from the step its claim records.
///
/// What stays ambiguous is listed with what was seen. Check the account on the platform, then
/// record your decision with --resolve: the account is read once more first, and a decision
/// the evidence contradicts is refused. Where the platform cannot be read, --without-read
/// --why TEXT records it anyway, journaled with who and why.
///
/// Examples:
///   cardmint settle                     # every open change in the ledger
///   cardmint settle B0001
///   cardmint settle 0000000013
///   cardmint settle 0000000013 --resolve 12=applied
///   cardmint settle 0000000013 --resolve 12=not-applied --without-read --why "platform support confirmed"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A batch id, or a card (serial or customer); every open change when omitted
    target: Option<String>,
    /// A human's decision about one change: INTENT=applied or INTENT=not-applied
    #[arg(long, value_name = "ID=OUTCOME")]
    resolve: Option<String>,
    /// With --resolve: record the decision without reading the platform first (needs --why)
    #[arg(long, requires = "resolve")]
    without_read: bool,
    /// Why the decision is recorded without a read (kept in the journal with your user name)
    #[arg(long, value_name = "TEXT", requires = "without_read")]
    why: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger_for_changes()?;
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
        let decision = Decision::parse(decision, &pending)?;
        let without_read = match (args.without_read, &args.why) {
            (false, _) => None,
            (true, Some(why)) if !why.trim().is_empty() => Some(why.trim().to_string()),
            (true, _) => {
                return Err(Error::Usage(
                    "--without-read needs --why TEXT: say why no read can decide it".into(),
                ));
            }
        };
        // A change a restore opened: no read can decide it (the card may have changed since
        // the copy), so the human says what they looked at.
        if decision.intent.before.restored && without_read.is_none() {
            return Err(Error::Usage(format!(
                "#{} was opened by a restore: the platform cannot tell whether it was applied \
                 (the card may have taken changes since the copy); record what you found with \
                 --without-read --why TEXT, saying what you looked at (the ledger the restore \
                 kept, or the holder); nothing was recorded",
                decision.intent.id
            )));
        }
        return resolve(global, &ledger, &options, decision, without_read);
    }
    // Movements of credit left part way (a redeem whose portal stopped, a replacement) in
    // scope: continued after the changes are settled.
    let in_scope = |card_id: i64| -> Result<bool, Error> {
        Ok(match &args.target {
            None => true,
            Some(t) => match ledger.card_by_id(card_id)? {
                Some(c) => c.batch_id == *t || c.serial == *t || c.customer == *t,
                None => false,
            },
        })
    };
    let mut movements = Vec::new();
    for m in ledger.unfinished_movements()? {
        if in_scope(m.source)? || m.target.map(in_scope).transpose()?.unwrap_or(false) {
            movements.push(m);
        }
    }
    if pending.is_empty() && movements.is_empty() {
        say!(global, "nothing to settle");
        global.emit(serde_json::json!({ "changes": [], "movements": [], "complete": true }));
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
                say!(global, "{}", resolve_hint(global, &ledger, serial, &now));
            }
        }
        crate::batch::refresh_outputs(&ledger, &batch_id)?;
        if !report.failed.is_empty() || report.stopped.is_some() {
            exit = crate::cli::summary::summary_lines(global, &report, "settled");
        }
    }
    let mut moved = Vec::new();
    if !movements.is_empty() {
        let connection = global.connect(&options)?;
        for m in movements {
            let source = ledger.card_by_id(m.source)?.ok_or_else(|| {
                Error::NotFound(format!("the card of movement #{} vanished", m.id))
            })?;
            let advance = global.run_engine_with(
                &connection,
                &ledger,
                Some(&source.batch_id),
                1,
                &options,
                |run| Ok(crate::money::advance(run, &ledger, m.id)),
            )??;
            let (done, said) = match &advance {
                Advance::Done(m) => (true, format!("done, {:.2} moved", m.amount())),
                Advance::NeedsTarget(_) | Advance::NeedsProvisioning { .. } => (
                    false,
                    format!(
                        "the new card is to be issued: run `{}`",
                        global.command_for("replace", &source.serial)
                    ),
                ),
                Advance::Stopped { why, .. } => (false, why.to_string()),
            };
            say!(
                global,
                "{} movement #{} ({}): {said}",
                source.serial,
                m.id,
                m.kind.as_str()
            );
            // A step left for a human (its evidence could not decide), whatever else the
            // movement waits for: the command for them.
            if let Advance::Stopped { movement, .. }
            | Advance::NeedsProvisioning { movement, .. }
            | Advance::NeedsTarget(movement) = &advance
            {
                let cards: Vec<_> = [Some(movement.source), movement.target]
                    .into_iter()
                    .flatten()
                    .filter_map(|id| ledger.card_by_id(id).ok().flatten())
                    .collect();
                for intent in crate::money::pending_of(&ledger, &cards)? {
                    // Those settled above were said there, with their command.
                    if intent.status == IntentStatus::Unsettled
                        && !pending.iter().any(|p| p.id == intent.id)
                        && let Some(card) = cards.iter().find(|c| c.id == intent.card_id)
                    {
                        say!(
                            global,
                            "  {} #{}: {}: {}",
                            card.serial,
                            intent.id,
                            intent.kind,
                            intent.evidence.as_deref().unwrap_or("unsettled")
                        );
                        say!(
                            global,
                            "{}",
                            resolve_hint(global, &ledger, &card.serial, &intent)
                        );
                    }
                }
            }
            if !done {
                exit = Exit::Incomplete;
            }
            moved.push(serde_json::json!({
                "id": m.id, "kind": m.kind.as_str(), "serial": source.serial,
                "done": done, "detail": said,
            }));
            crate::batch::refresh_outputs(&ledger, &source.batch_id)?;
        }
    }
    global.emit(serde_json::json!({
        "changes": doc,
        "movements": moved,
        "complete": exit == Exit::Success,
    }));
    Ok(exit)
}

/// What a human runs for a change its evidence left to them.
fn resolve_hint(global: &Global, ledger: &Ledger, serial: &str, intent: &Intent) -> String {
    let id = intent.id;
    // A change a restore opened is decided with what the human looked at.
    let why = match intent.before.restored {
        true => " --without-read --why TEXT",
        false => "",
    };
    let mut hint = format!(
        "  check the account on the platform, then record what you find: {} --resolve \
         {id}=applied{why} (or {id}=not-applied)",
        global.command_for("settle", serial)
    );
    // A change a restore opened: the ledger it replaced knows what happened since the copy.
    if intent.before.restored
        && let Ok(Some(kept)) = ledger.replaced_ledger()
    {
        hint.push_str(&format!(
            "\n  what the card took since the copy is in the ledger the restore replaced: \
             cardmint --ledger {} card {serial}",
            crate::text::shell_quote(&kept)
        ));
    }
    hint
}

/// A human's decision about one pending change.
struct Decision {
    intent: Intent,
    status: IntentStatus,
}

impl Decision {
    /// `ID=applied` or `ID=not-applied`, for a pending change in scope.
    fn parse(text: &str, pending: &[Intent]) -> Result<Decision, Error> {
        let bad = || {
            Error::Usage(format!(
                "--resolve {text:?}: give INTENT=applied or INTENT=not-applied, with an intent \
                 number that `cardmint settle` lists as open"
            ))
        };
        let (id, outcome) = text.split_once('=').ok_or_else(bad)?;
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
        let intent = pending.iter().find(|i| i.id == id).ok_or_else(bad)?.clone();
        Ok(Decision { intent, status })
    }
}

/// Records a human's decision. The platform is read first (one settle read): evidence that
/// decides settles it (and a decision it contradicts is refused); evidence that stays
/// ambiguous leaves the decision to the human. `without_read` (why) skips the read, journaled.
fn resolve(
    global: &Global,
    ledger: &Ledger,
    options: &crate::runner::Options,
    decision: Decision,
    without_read: Option<String>,
) -> Result<Exit, Error> {
    let Decision { intent, status } = decision;
    let id = intent.id;
    let who = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| match crate::lockfile::current_uid() {
            Some(uid) => format!("uid {uid}"),
            None => "an unknown user".into(),
        });
    let evidence = match without_read {
        Some(why) => format!("decided by {who} without a read (cardmint settle --resolve): {why}"),
        None => {
            // One read, now: what the platform shows decides before any human does.
            let card = ledger
                .card_by_id(intent.card_id)?
                .ok_or_else(|| Error::NotFound(format!("the card of change #{id} vanished")))?;
            let once = crate::runner::Options {
                settle_tries: 1,
                ..options.clone()
            };
            let report = global.run_engine(ledger, Some(&intent.batch_id), 1, &once, |run| {
                lifecycle::settle(run, vec![card.clone()], vec![intent.clone()])
            })?;
            let now = ledger.intent(id)?.unwrap_or_else(|| intent.clone());
            let seen = now.evidence.clone().unwrap_or_default();
            match now.status {
                s if s == status => {
                    say!(
                        global,
                        "#{id}: {}: {} (the platform shows it: {seen})",
                        intent.kind,
                        s.as_str()
                    );
                    crate::batch::refresh_outputs(ledger, &intent.batch_id)?;
                    emit_resolved(global, &now, status);
                    return Ok(Exit::Success);
                }
                IntentStatus::Applied | IntentStatus::NotApplied => {
                    return Err(Error::Contradicted(format!(
                        "#{id}: the platform contradicts {}: {seen}; it is settled {} on that \
                         evidence and your decision was not recorded",
                        status.as_str(),
                        now.status.as_str()
                    )));
                }
                IntentStatus::Open if !report.complete() => {
                    return Err(Error::Unread(format!(
                        "#{id}: the platform could not be read ({}); nothing was recorded. Try \
                         again, or record it with --without-read --why TEXT",
                        report
                            .stopped
                            .clone()
                            .or_else(|| report.failed.first().map(|(_, f)| f.to_string()))
                            .unwrap_or_else(|| "no answer".into())
                    )));
                }
                _ => format!(
                    "decided by {who} after a read that could not tell ({seen}) (cardmint settle --resolve)"
                ),
            }
        }
    };
    ledger.write(|w| {
        w.settle_intent(id, status, &evidence)?;
        w.journal(&crate::ledger::JournalEntry {
            batch_id: Some(intent.batch_id.clone()),
            card_id: Some(intent.card_id),
            command: "resolve".into(),
            outcome: status.as_str().into(),
            detail: format!("#{id} {}: {evidence}", intent.kind),
            duration_ms: 0,
            attempt: 1,
        })
    })?;
    crate::batch::refresh_outputs(ledger, &intent.batch_id)?;
    say!(
        global,
        "#{id}: {}: {} (by hand)",
        intent.kind,
        status.as_str()
    );
    emit_resolved(global, &intent, status);
    Ok(Exit::Success)
}

fn emit_resolved(global: &Global, intent: &Intent, status: IntentStatus) {
    global.emit(serde_json::json!({
        "resolved": { "id": intent.id, "kind": intent.kind.to_string(), "status": status.as_str() },
    }));
}
