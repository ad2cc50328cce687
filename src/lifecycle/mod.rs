//! The life of issued cards: activate, block, top up, reset passwords, change numbers, status,
//! call records and the audit. Every command runs through the provisioning engine (throttle,
//! retries, reconciliation, journal, one ledger writer); this module holds the per-card steps
//! and gathers the results.
//!
//! Knows nothing of PDF.

mod change;
mod report;
mod select;

pub use change::topup_applied;
pub use report::{Status, differences};
pub use select::{SelectError, Selection, provisioned, select};

use std::sync::Mutex;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::api::CallRecord;
use crate::config::Secret;
use crate::ledger::Card;
use crate::provision::engine::{self, ItemOutcome, Run};
use crate::provision::{EngineError, Report};

fn label(c: &Card) -> String {
    c.serial.clone()
}

/// Unblocks (`blocked = false`) or blocks the cards; their state becomes active or blocked.
pub fn set_blocked(
    run: &Run<'_>,
    cards: Vec<Card>,
    blocked: bool,
    reason: Option<&str>,
) -> Result<Report, EngineError> {
    engine::run(run, cards, label, |ctx, card| {
        change::set_blocked(ctx, card, blocked, reason)
    })
}

/// Loads `amount` on one card (negative deducts), exactly once.
pub fn topup(run: &Run<'_>, card: Card, amount: Decimal) -> Result<Report, EngineError> {
    engine::run(run, vec![card], label, |ctx, card| {
        change::topup(ctx, card, amount)
    })
}

/// Sets a new password (already recorded as pending in the ledger) and confirms it.
pub fn reset_password(run: &Run<'_>, card: Card, new: &Secret) -> Result<Report, EngineError> {
    engine::run(run, vec![card], label, |ctx, card| {
        change::reset_password(ctx, card, new)
    })
}

/// Adds or deletes one CLI number (E.164).
pub fn change_number(
    run: &Run<'_>,
    card: Card,
    number: &str,
    add: bool,
) -> Result<Report, EngineError> {
    engine::run(run, vec![card], label, |ctx, card| {
        change::change_number(ctx, card, number, add)
    })
}

/// Values read per card, in the cards' order, and the run's report.
pub type Gathered<T> = Result<(Vec<(Card, T)>, Report), EngineError>;

/// A value gathered per card, in the cards' order, plus the run's report.
fn gather<T: Send>(
    run: &Run<'_>,
    cards: Vec<Card>,
    read: impl Fn(&mut engine::Ctx<'_>, &Card) -> Result<T, ItemOutcome> + Sync,
) -> Gathered<T> {
    let order: Vec<i64> = cards.iter().map(|c| c.id).collect();
    let found = Mutex::new(Vec::new());
    let report = engine::run(run, cards, label, |ctx, card| match read(ctx, card) {
        Ok(value) => {
            found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((card.clone(), value));
            ItemOutcome::Done
        }
        Err(outcome) => outcome,
    })?;
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort_by_key(|(c, _)| order.iter().position(|id| *id == c.id));
    Ok((found, report))
}

pub fn status(run: &Run<'_>, cards: Vec<Card>) -> Gathered<Status> {
    gather(run, cards, report::status)
}

pub fn calls(
    run: &Run<'_>,
    cards: Vec<Card>,
    since: Option<NaiveDateTime>,
) -> Gathered<Vec<CallRecord>> {
    gather(run, cards, |ctx, card| report::calls(ctx, card, since))
}

/// Per card, the mismatches between the platform and the ledger (empty when it agrees).
pub fn audit(run: &Run<'_>, cards: Vec<Card>) -> Gathered<Vec<String>> {
    gather(run, cards, report::audit)
}
