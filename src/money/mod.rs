//! The money core: every movement of credit between cards (a holder redeeming a sold card onto
//! their account, a lost card replaced), for every front end. The command line and the portal
//! only turn input into a call of these functions and their typed outcome into words.
//!
//! A movement is a claim in the ledger ([`crate::ledger::Movement`]): one row per source card,
//! written in one transaction under the ledger's lock before any request. Its steps are:
//!
//! 1. block the source (nothing more can be spent from it);
//! 2. measure: read its exact balance after the block; the amount to move is that balance
//!    floored to the cent (the platform takes two decimals), what stays behind is recorded;
//! 3. (a replacement) the new card is recorded and provisioned;
//! 4. deduct: the balance is read again just before, and the amount lowered if calls were
//!    billed since the measure, so a deduction never exceeds what the card holds;
//! 5. read the source once more: calls billed after the read before the deduction (a
//!    platform that lets a call overdraw) left it below zero, and that much, which the holder
//!    spent, is not loaded;
//! 6. load the rest onto the target.
//!
//! Each change is an intent settled on evidence (the runner's protocol), and settling a
//! deduction or a load advances the claim in the same transaction: whoever finds the claim,
//! in any process, after any failure, continues from the state the row records, and nobody
//! starts a second one.
//!
//! Knows nothing of HTTP pages, command-line flags or PDF.

mod steps;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::ledger::{
    Card, CardState, Claim, Intent, IntentKind, JournalEntry, Ledger, LedgerError, Movement,
    MovementKind, MovementState, NewIntent,
};
use crate::lifecycle::Left;
use crate::runner::{CardFailure, Report, Run, RunError};

/// Whole cents of a balance, and what stays behind: `(floored to the cent, under a cent)`.
/// A negative balance moves nothing.
pub fn whole_cents(balance: Decimal) -> (Decimal, Decimal) {
    let balance = balance.max(Decimal::ZERO);
    let cents = balance.round_dp_with_strategy(2, RoundingStrategy::ToZero);
    (cents, balance - cents)
}

/// How far below zero a balance stands, in whole cents rounded up (what a load is lowered
/// by, so that it never carries more than the source held).
pub fn overdraft(balance: Decimal) -> Decimal {
    (-balance)
        .max(Decimal::ZERO)
        .round_dp_with_strategy(2, RoundingStrategy::AwayFromZero)
}

#[derive(Debug, thiserror::Error)]
pub enum MoneyError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Run(#[from] RunError),
    /// The movement cannot start: say why in the front end's words.
    #[error("{0}")]
    Refused(Refusal),
}

/// Why a card's credit cannot move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a card that carries value to a holder: never sold (ready, consigned), blocked,
    /// failed, or not retail stock.
    #[error("card {serial} is not a sold card ({state}); only a sold card can be redeemed")]
    NotSold { serial: String, state: String },
    /// Its credit moved already, or is moving (redeemed, replaced).
    #[error("card {serial}: its credit was moved already ({kind} #{movement})")]
    Moved {
        serial: String,
        kind: &'static str,
        movement: i64,
    },
    /// Credit is still on its way onto this card (a redeem or a replacement not finished):
    /// its own credit cannot move before that credit has arrived.
    #[error(
        "card {serial}: credit is still moving onto it ({kind} #{movement}); run `cardmint settle` first"
    )]
    Incoming {
        serial: String,
        kind: &'static str,
        movement: i64,
    },
    /// The platform shows the card blocked though the ledger does not (blocked by the reseller
    /// in a ledger since replaced by an older copy, or outside cardmint): its credit does not
    /// move before a human has looked (`cardmint audit`).
    #[error(
        "card {serial} is blocked on the platform but not in the ledger; its credit does not \
         move: run `cardmint audit {batch}`"
    )]
    BlockedOnPlatform { serial: String, batch: String },
    /// A card cannot be redeemed onto itself.
    #[error("a card cannot be redeemed onto itself")]
    Itself,
    /// The account to load is not in use any more (its own credit moved, or it is blocked).
    #[error("account {serial} cannot take credit ({why})")]
    TargetUnusable { serial: String, why: String },
}

/// How a movement stands after [`advance`], typed for every front end.
#[derive(Debug, Clone)]
pub enum Advance {
    /// Done: the amount is deducted and loaded (or nothing was left to move).
    Done(Movement),
    /// A replacement's new card is to be recorded ([`record_replacement`]).
    NeedsTarget(Movement),
    /// A replacement's new card is recorded but not provisioned yet: provision its batch,
    /// then advance again.
    NeedsProvisioning { movement: Movement, batch: String },
    /// Stopped at a step; the claim stays and the next call continues it.
    Stopped { movement: Movement, why: Stop },
}

/// Why a movement stopped before it was done: what a front end can truthfully say.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Nothing of this step was applied: its request never left (or a read failed), or it was
    /// found not applied each time it was sent. Nothing changed by it; try again.
    NeverSent(String),
    /// The platform refused the step.
    Refused(CardFailure),
    /// A change was sent and its outcome is open or unsettled: it is being confirmed on
    /// evidence (`cardmint settle`), and nothing is sent again meanwhile.
    Confirming(String),
    /// For a human, who looks at both cards (the text says why and where to start); nothing
    /// more is sent: a movement recorded by an earlier cardmint and not finished then, or a
    /// platform that shows what the movement's own steps cannot explain.
    ForHuman(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::NeverSent(why) => write!(f, "not sent: {why}"),
            Stop::Refused(why) => write!(f, "refused: {why}"),
            Stop::Confirming(why) => write!(f, "being confirmed: {why}"),
            Stop::ForHuman(why) => write!(f, "for a human: {why}"),
        }
    }
}

/// Before a new redeem is claimed: the platform must not show either card blocked while the
/// ledger does not (one read each). A card the reseller blocked (stolen, say) in a ledger that
/// a restore replaced with an older copy looks sold and unblocked to the ledger alone; an
/// account blocked since would take credit it cannot call with.
pub fn check_redeemable(run: &Run<'_>, card: &Card, onto: &Card) -> Result<(), MoneyError> {
    let (rows, _) = crate::lifecycle::status(run, vec![card.clone(), onto.clone()])?;
    for (c, status) in rows {
        if !status.blocked || c.state == CardState::Blocked {
            continue;
        }
        return Err(MoneyError::Refused(if c.id == card.id {
            Refusal::BlockedOnPlatform {
                serial: c.serial.clone(),
                batch: c.batch_id.clone(),
            }
        } else {
            Refusal::TargetUnusable {
                serial: c.serial.clone(),
                why: format!(
                    "it is blocked on the platform but not in the ledger: run `cardmint audit \
                     {}`",
                    c.batch_id
                ),
            }
        }));
    }
    Ok(())
}

/// Claims a sold card's credit for the holder of `onto`, in one transaction under the
/// ledger's lock. The same account claiming again finds its claim (`Claim::Existing`: continue
/// or report it); anyone else is refused.
pub fn claim_redeem(ledger: &Ledger, card: &Card, onto: &Card) -> Result<Claim, MoneyError> {
    let claim = ledger.write(|tx| {
        let card = tx.card(card.id)?;
        let onto = tx.card(onto.id)?;
        if let Some(m) = tx.movement_of_card(card.id)? {
            return Ok(
                if m.kind == MovementKind::Redeem && m.target == Some(onto.id) {
                    Ok(Claim::Existing(m))
                } else {
                    Err(moved(&card, &m))
                },
            );
        }
        if card.id == onto.id {
            return Ok(Err(Refusal::Itself));
        }
        if let Some(m) = tx.unfinished_onto(card.id)? {
            return Ok(Err(incoming(&card, &m)));
        }
        if !card.carries_value(tx.is_retail(card.id)?) {
            return Ok(Err(Refusal::NotSold {
                serial: card.serial.clone(),
                state: card.state.to_string(),
            }));
        }
        if let Some(m) = tx.movement_of_card(onto.id)? {
            return Ok(Err(Refusal::TargetUnusable {
                serial: onto.serial.clone(),
                why: format!("its own credit moved ({} #{})", m.kind.as_str(), m.id),
            }));
        }
        if onto.state != CardState::Active {
            return Ok(Err(Refusal::TargetUnusable {
                serial: onto.serial.clone(),
                why: format!("it is {}", onto.state),
            }));
        }
        // Another card's credit still on its way to it (stopped, or waiting for a human after
        // a restore): this one's would wait behind it, its card blocked meanwhile.
        if let Some(m) = tx.unfinished_onto(onto.id)? {
            return Ok(Err(Refusal::TargetUnusable {
                serial: onto.serial.clone(),
                why: format!(
                    "credit is still moving onto it ({} #{}): run `cardmint settle` first",
                    m.kind.as_str(),
                    m.id
                ),
            }));
        }
        let claim = tx.claim_movement(
            MovementKind::Redeem,
            card.id,
            Some(onto.id),
            "redeemed",
            "portal",
        )?;
        Ok(Ok(claim))
    })?;
    claim.map_err(MoneyError::Refused)
}

/// Claims a lost card's credit for the card to be issued in its place.
pub fn claim_replace(ledger: &Ledger, old: &Card, reason: &str) -> Result<Claim, MoneyError> {
    let claim = ledger.write(|tx| {
        let old = tx.card(old.id)?;
        if let Some(m) = tx.movement_of_card(old.id)? {
            return Ok(if m.kind == MovementKind::Replace {
                Ok(Claim::Existing(m))
            } else {
                Err(moved(&old, &m))
            });
        }
        // Credit still on its way onto it would land on a blocked card, stranded there.
        if let Some(m) = tx.unfinished_onto(old.id)? {
            return Ok(Err(incoming(&old, &m)));
        }
        Ok(Ok(tx.claim_movement(
            MovementKind::Replace,
            old.id,
            None,
            reason,
            "cli",
        )?))
    })?;
    claim.map_err(MoneyError::Refused)
}

fn incoming(card: &Card, m: &Movement) -> Refusal {
    Refusal::Incoming {
        serial: card.serial.clone(),
        kind: m.kind.as_str(),
        movement: m.id,
    }
}

fn moved(card: &Card, m: &Movement) -> Refusal {
    Refusal::Moved {
        serial: card.serial.clone(),
        kind: m.kind.as_str(),
        movement: m.id,
    }
}

/// Records the card issued in place of a replacement's source (see
/// [`Ledger::create_replacement`]); the front end plans the card and names its folder.
pub fn record_replacement(
    ledger: &Ledger,
    movement: &Movement,
    new: &crate::ledger::NewBatch,
    card: &crate::ledger::NewCard,
    out_dir: impl FnOnce(&str) -> std::path::PathBuf,
) -> Result<crate::ledger::Batch, MoneyError> {
    let old = card_of(ledger, movement.source)?;
    Ok(ledger.create_replacement(new, card, &old, movement, out_dir)?)
}

fn card_of(ledger: &Ledger, id: i64) -> Result<Card, MoneyError> {
    ledger
        .card_by_id(id)?
        .ok_or_else(|| LedgerError::Corrupt(format!("card {id} of a movement vanished")).into())
}

/// The changes of these cards still open or unsettled in the ledger, oldest first: every front
/// end settles them before it changes a card again.
pub fn pending_of(ledger: &Ledger, cards: &[Card]) -> Result<Vec<Intent>, LedgerError> {
    let ids: Vec<i64> = cards.iter().map(|c| c.id).collect();
    ledger.pending_intents_of(&ids)
}

/// Why a replacement card is provisioned again: its account was answered created, and is not.
pub const NOT_CREATED: &str =
    "the platform answered that it created this account, but does not know it: created again";

/// Deductions refused for want of credit, each read again and lowered, before a movement stops.
const SHORT_TRIES: u32 = 3;

/// Continues a movement from the state its claim records, as far as it goes now. The ledger
/// must be held for changes (its lock), so that no other process advances it meanwhile; every
/// step reads the claim and the cards afresh.
pub fn advance(run: &Run<'_>, ledger: &Ledger, id: i64) -> Result<Advance, MoneyError> {
    if !ledger.is_locked() {
        return Err(
            LedgerError::Corrupt("a movement advanced without the ledger's lock".into()).into(),
        );
    }
    let mut short = 0;
    loop {
        let m = ledger
            .movement(id)?
            .ok_or_else(|| LedgerError::Corrupt(format!("no movement {id}")))?;
        let stopped = |why: Stop| Advance::Stopped {
            movement: m.clone(),
            why,
        };
        match m.state {
            MovementState::Done => return Ok(Advance::Done(m)),
            MovementState::Legacy => {
                return Ok(stopped(Stop::ForHuman(
                    "recorded by an earlier cardmint and not finished: check both cards".into(),
                )));
            }
            MovementState::Claimed | MovementState::Restored => {
                let source = card_of(ledger, m.source)?;
                let pending = pending_of(ledger, std::slice::from_ref(&source))?;
                if source.state != CardState::Blocked || !pending.is_empty() {
                    let report = crate::lifecycle::set_blocked(
                        run,
                        vec![source.clone()],
                        pending,
                        true,
                        Some(&m.reason),
                    )?;
                    if let Some(why) = stop_of(ledger, &source, &report)? {
                        return Ok(stopped(why));
                    }
                    continue;
                }
                let target = m.target.map(|t| card_of(ledger, t)).transpose()?;
                let balance = if m.state == MovementState::Restored {
                    match measure_restored(run, ledger, &m, &source, target.as_ref())? {
                        Ok(Some(balance)) => balance,
                        // Its deduction and load are opened: settled in the next steps.
                        Ok(None) => continue,
                        Err(why) => return Ok(stopped(why)),
                    }
                } else {
                    let (rows, report) = crate::lifecycle::status(run, vec![source.clone()])?;
                    let Some((_, status)) = rows.into_iter().next() else {
                        let why = stop_of(ledger, &source, &report)?
                            .unwrap_or_else(|| Stop::NeverSent("the balance was not read".into()));
                        return Ok(stopped(why));
                    };
                    status.balance
                };
                let (amount, remainder) = whole_cents(balance);
                ledger.write(|tx| {
                    tx.measure_movement(id, balance, amount, remainder)?;
                    movement_events(tx, &m, &source, target.as_ref(), amount)
                })?;
            }
            MovementState::Measured => {
                if m.kind == MovementKind::Replace {
                    let Some(target) = m.target else {
                        return Ok(Advance::NeedsTarget(m));
                    };
                    let target = card_of(ledger, target)?;
                    if matches!(target.state, CardState::Pending | CardState::Failed) {
                        return Ok(Advance::NeedsProvisioning {
                            batch: target.batch_id.clone(),
                            movement: m,
                        });
                    }
                }
                let source = card_of(ledger, m.source)?;
                let pending = pending_of(ledger, std::slice::from_ref(&source))?;
                let report = steps::deduct(run, source.clone(), pending, &m)?;
                match stop_of(ledger, &source, &report)? {
                    // The card held less than its read said when the deduction came (a call
                    // in progress at the block, billed since): read again and deduct less.
                    Some(Stop::Refused(CardFailure::Refused(e)))
                        if e.refusal() == Some(&crate::api::Refusal::NotEnoughCredit)
                            && short < SHORT_TRIES =>
                    {
                        short += 1;
                        continue;
                    }
                    Some(why) => return Ok(stopped(why)),
                    None => {}
                }
            }
            MovementState::Deducted if m.overdrawn.is_none() => {
                // A call in progress at the block may be billed after the read before the
                // deduction: on a platform that lets it overdraw, the source is below zero
                // now, and the holder spent that much of what moves.
                let source = card_of(ledger, m.source)?;
                let (rows, report) = crate::lifecycle::status(run, vec![source.clone()])?;
                let Some((_, status)) = rows.into_iter().next() else {
                    let why = stop_of(ledger, &source, &report)?
                        .unwrap_or_else(|| Stop::NeverSent("the balance was not read".into()));
                    return Ok(stopped(why));
                };
                let overdrawn = overdraft(status.balance);
                ledger.write(|tx| tx.record_overdraft(id, overdrawn))?;
            }
            MovementState::Deducted => {
                let Some(target) = m.target else {
                    return Err(LedgerError::Corrupt(format!("movement {id} has no target")).into());
                };
                let target = card_of(ledger, target)?;
                let pending = pending_of(ledger, std::slice::from_ref(&target))?;
                let report = steps::load(run, target.clone(), pending, &m)?;
                match stop_of(ledger, &target, &report)? {
                    // The new card's account is not there, though the platform answered that
                    // it created it (a platform that answers success without applying): the
                    // card is provisioned again, from its creation, before the credit moves.
                    Some(Stop::Refused(CardFailure::Refused(e)))
                        if m.kind == MovementKind::Replace
                            && e.refusal() == Some(&crate::api::Refusal::UnknownCustomer) =>
                    {
                        ledger.write(|tx| {
                            tx.set_progress(target.id, Default::default())?;
                            tx.set_state(target.id, CardState::Failed, Some(NOT_CREATED))
                        })?;
                        return Ok(Advance::NeedsProvisioning {
                            batch: target.batch_id.clone(),
                            movement: m,
                        });
                    }
                    Some(why) => return Ok(stopped(why)),
                    None => {}
                }
            }
        }
        let after = ledger.movement(id)?;
        if after.as_ref() == Some(&m) {
            // A step that ended well changes the claim; one that did not is reported above.
            return Ok(Advance::Stopped {
                movement: m,
                why: Stop::Confirming("the step ended without advancing the claim".into()),
            });
        }
    }
}

/// Both histories name the other card, with what moves (a replacement's are written when its
/// new card is recorded).
fn movement_events(
    tx: &crate::ledger::LedgerTx<'_>,
    m: &Movement,
    source: &Card,
    target: Option<&Card>,
    amount: Decimal,
) -> Result<(), LedgerError> {
    match target {
        Some(t) if m.kind == MovementKind::Redeem => tx.movement_events(
            m.kind,
            (source.id, &source.serial),
            (t.id, &t.serial),
            amount,
        ),
        _ => Ok(()),
    }
}

/// The measure of a claim a restore put back (`restored`): the copy was taken before the
/// source's balance was read, and the movement may have gone on to its end since (in the
/// ledger the restore replaced). The source is read with its whole history, as `audit` reads
/// it: when the history explains the balance, nothing left the card and the movement is
/// measured as any claim is (`Ok(Some(balance))`). When whole cents left it, that was the
/// deduction the copy does not hold: the movement is measured at that amount and its
/// deduction and its load are opened as changes of unknown outcome, judged by each card's
/// history before anything is sent (`Ok(None)`). Anything else stops for a human.
fn measure_restored(
    run: &Run<'_>,
    ledger: &Ledger,
    m: &Movement,
    source: &Card,
    target: Option<&Card>,
) -> Result<Result<Option<Decimal>, Stop>, MoneyError> {
    let (rows, report) = crate::lifecycle::reckon(run, vec![source.clone()])?;
    let Some((_, reckoning)) = rows.into_iter().next() else {
        let why = stop_of(ledger, source, &report)?
            .unwrap_or_else(|| Stop::NeverSent("the balance was not read".into()));
        return Ok(Err(why));
    };
    let left = match reckoning.left() {
        Left::Nothing => return Ok(Ok(Some(reckoning.balance))),
        Left::Cents(left) => left,
        Left::TooNear(why) => return Ok(Err(Stop::NeverSent(why))),
        Left::Unexplained(why) => {
            return Ok(Err(Stop::ForHuman(format!(
                "card {} was claimed when the restored copy was taken, and its {why}; see \
                 `cardmint card {}`",
                source.serial, source.serial
            ))));
        }
    };
    let Some(target) = target else {
        // The new card it went to (or is going to) was recorded in the ledger the restore
        // replaced: that ledger finishes it, this one moves nothing again.
        let serial = &source.serial;
        let there = match ledger.replaced_ledger()? {
            Some(kept) => {
                let kept = crate::text::shell_quote(&kept);
                format!(
                    "that ledger, kept as {kept}, holds the card: see `cardmint --ledger {kept} \
                     card {serial}`, and if its new card was not loaded, `cardmint --ledger \
                     {kept} replace {serial}` finishes it there"
                )
            }
            None => "the restore replaced no ledger (it was lost): the new card is on the \
                     platform with the credit; find its printed card (its batch folder under \
                     the output folder), and issue no other"
                .into(),
        };
        return Ok(Err(Stop::ForHuman(format!(
            "{left:.2} left card {serial} after the restored copy was taken, for a new card \
             recorded only in the ledger the restore replaced; this ledger does not hold it and \
             moves nothing again: {there}"
        ))));
    };
    let held = reckoning.balance.max(Decimal::ZERO);
    let steps = [
        (
            source,
            IntentKind::Deduct {
                amount: left,
                movement: m.id,
            },
        ),
        (
            target,
            IntentKind::Move {
                amount: (left - overdraft(reckoning.balance)).max(Decimal::ZERO),
                movement: m.id,
            },
        ),
    ];
    ledger.write(|tx| {
        tx.measure_movement(m.id, left + held, left, held)?;
        movement_events(tx, m, source, Some(target), left)?;
        for (card, kind) in &steps {
            tx.add_intent(&NewIntent::restored_step(card, kind.clone()))?;
        }
        tx.journal(&JournalEntry {
            batch_id: Some(source.batch_id.clone()),
            card_id: Some(source.id),
            command: "restore".into(),
            outcome: "measured".into(),
            detail: format!(
                "{} #{}: {left:.2} left the card after the restored copy was taken; its \
                 deduction and load are opened, to be judged by each card's history",
                m.kind.as_str(),
                m.id
            ),
            duration_ms: 0,
            attempt: 0,
        })
    })?;
    Ok(Ok(None))
}

/// Why a step's run did not finish well (`None`: it did), read from the card's intents as
/// well as the run's report: a change left open is being confirmed whatever stopped the run.
pub fn stop_of(ledger: &Ledger, card: &Card, report: &Report) -> Result<Option<Stop>, MoneyError> {
    if report.complete() {
        return Ok(None);
    }
    if let Some(i) = pending_of(ledger, std::slice::from_ref(card))?.first() {
        return Ok(Some(Stop::Confirming(format!(
            "{} (#{}) is {}",
            i.kind,
            i.id,
            i.status.as_str()
        ))));
    }
    if let Some((_, why)) = report.unsettled.first() {
        return Ok(Some(Stop::Confirming(why.clone())));
    }
    Ok(Some(match report.failed.first() {
        // A change gives up only on requests that certainly did not apply (it settled them
        // not applied); a read changes nothing.
        Some((_, CardFailure::GaveUp { error, .. })) => Stop::NeverSent(error.to_string()),
        Some((_, why @ CardFailure::NeverApplied { .. })) => Stop::NeverSent(why.to_string()),
        Some((_, why)) => Stop::Refused(why.clone()),
        None => Stop::NeverSent(
            report
                .stopped
                .clone()
                .unwrap_or_else(|| "the run stopped".into()),
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_balance_moves_in_whole_cents_and_the_rest_is_kept() {
        assert_eq!(whole_cents(d("4.98333")), (d("4.98"), d("0.00333")));
        assert_eq!(whole_cents(d("5")), (d("5"), d("0")));
        assert_eq!(whole_cents(d("0.00999")), (d("0"), d("0.00999")));
        assert_eq!(whole_cents(d("-0.5")), (d("0"), d("0")));
        let (cents, _) = whole_cents(d("1.86828"));
        assert!(cents.scale() <= 2, "{cents}");
    }

    #[test]
    fn an_overdraft_is_counted_in_whole_cents_rounded_up() {
        assert_eq!(overdraft(d("-0.50")), d("0.50"));
        assert_eq!(overdraft(d("-0.00333")), d("0.01"));
        assert_eq!(overdraft(d("0.00333")), d("0"));
        assert_eq!(overdraft(d("4.98")), d("0"));
    }
}
