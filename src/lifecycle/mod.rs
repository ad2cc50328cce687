//! The life of issued cards: activate, block, top up, reset passwords, change numbers, status,
//! call records and the audit. Every command runs on the runner (throttle, retries, the intent
//! protocol, journal, one ledger writer); this module holds the per-card jobs and gathers the
//! results.
//!
//! Knows nothing of PDF.

pub(crate) mod change;
mod history;
mod report;
mod select;
mod stock;

pub use history::{Entry, expires_on, history};
pub use report::{Left, Reckoning, Status, differences};
pub use select::{
    SelectError, Selection, SoldLine, changeable, changeable_one, provisioned, read_sold_list,
    select, unless_blocked,
};
pub use stock::{Days, Sale, SaleTerms, consignable, plan_sales, returnable};

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::api::CallRecord;
use crate::config::Secret;
use crate::ledger::{Card, Intent};
use crate::runner::{self, Ctx, Outcome, Report, Run, RunError, Step};

use change::Job;

pub(crate) fn jobs(cards: Vec<Card>, pending: Vec<Intent>) -> Vec<Job> {
    let mut by_card: HashMap<i64, Vec<Intent>> = HashMap::new();
    for intent in pending {
        by_card.entry(intent.card_id).or_default().push(intent);
    }
    cards
        .into_iter()
        .map(|c| {
            let intents = by_card.remove(&c.id).unwrap_or_default();
            Job::new(c, intents)
        })
        .collect()
}

/// Unblocks (`blocked = false`) or blocks the cards; their state becomes active or blocked.
/// `pending`: the ledger's pending intents of these cards, settled first.
pub fn set_blocked(
    run: &Run<'_>,
    cards: Vec<Card>,
    pending: Vec<Intent>,
    blocked: bool,
    reason: Option<&str>,
) -> Result<Report, RunError> {
    runner::run(run, jobs(cards, pending), |ctx, job| {
        change::set_blocked(ctx, job, blocked, reason)
    })
}

/// Activates the cards: each unblocked with its sale (`sales` by card id), recorded in the
/// same transaction as the unblock's outcome, never before it.
pub fn activate(
    run: &Run<'_>,
    cards: Vec<Card>,
    pending: Vec<Intent>,
    sales: &HashMap<i64, Sale>,
) -> Result<Report, RunError> {
    runner::run(run, jobs(cards, pending), |ctx, job| {
        let sale = sales.get(&job.card.id);
        change::activate(ctx, job, sale)
    })
}

/// Loads `amount` on one card (negative deducts), exactly once.
pub fn topup(
    run: &Run<'_>,
    card: Card,
    pending: Vec<Intent>,
    amount: Decimal,
) -> Result<Report, RunError> {
    runner::run(run, jobs(vec![card], pending), |ctx, job| {
        change::topup(ctx, job, amount)
    })
}

/// Sets a new password (recorded as pending in the ledger before it is sent) and confirms it.
pub fn reset_password(
    run: &Run<'_>,
    card: Card,
    pending: Vec<Intent>,
    new: &Secret,
) -> Result<Report, RunError> {
    runner::run(run, jobs(vec![card], pending), |ctx, job| {
        change::reset_password(ctx, job, new)
    })
}

/// Adds or deletes one CLI number (E.164).
pub fn change_number(
    run: &Run<'_>,
    card: Card,
    pending: Vec<Intent>,
    number: &str,
    add: bool,
) -> Result<Report, RunError> {
    runner::run(run, jobs(vec![card], pending), |ctx, job| {
        change::change_number(ctx, job, number, add)
    })
}

/// Settles every pending change of these cards on evidence, and nothing else.
pub fn settle(run: &Run<'_>, cards: Vec<Card>, pending: Vec<Intent>) -> Result<Report, RunError> {
    runner::run(run, jobs(cards, pending), change::settle_only)
}

/// Values read per card, in the cards' order, and the run's report.
pub type Gathered<T> = Result<(Vec<(Card, T)>, Report), RunError>;

/// A value gathered per card, in the cards' order, plus the run's report.
fn gather<T: Send>(
    run: &Run<'_>,
    cards: Vec<Card>,
    read: impl Fn(&mut Ctx<'_>, &Card) -> Result<T, Outcome> + Sync,
) -> Gathered<T> {
    let order: Vec<i64> = cards.iter().map(|c| c.id).collect();
    let found = Mutex::new(Vec::new());
    let report = runner::run(run, cards, |ctx, card: &mut Card| {
        Step::Finished(match read(ctx, card) {
            Ok(value) => {
                found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((card.clone(), value));
                Outcome::Done
            }
            Err(outcome) => outcome,
        })
    })?;
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort_by_key(|(c, _)| order.iter().position(|id| *id == c.id));
    Ok((found, report))
}

pub fn status(run: &Run<'_>, cards: Vec<Card>) -> Gathered<Status> {
    gather(run, cards, report::status)
}

/// Each card's balance with its whole history of calls ([`Reckoning`]): two reads a card.
pub fn reckon(run: &Run<'_>, cards: Vec<Card>) -> Gathered<Reckoning> {
    gather(run, cards, report::reckoning)
}

pub fn calls(
    run: &Run<'_>,
    cards: Vec<Card>,
    since: Option<NaiveDateTime>,
) -> Gathered<Vec<CallRecord>> {
    gather(run, cards, |ctx, card| report::calls(ctx, card, since))
}

/// A call record as it is exported (`calls`, the page's calls.csv): its start in UTC, the
/// number called safe for a spreadsheet, the seconds and the charge with every decimal the
/// platform gave.
pub fn call_cells(call: &CallRecord) -> [crate::table::Cell; 4] {
    use crate::table::Cell::Text;
    [
        Text(crate::clock::stamp_utc(call.start)),
        Text(crate::text::spreadsheet_safe(&call.destination).into_owned()),
        Text(call.duration_secs.to_string()),
        Text(call.charge.normalize().to_string()),
    ]
}

/// Per card, the mismatches between the platform and the ledger (empty when it agrees).
/// `intents`: every intent of these cards (any status), to name the differences.
/// `moved`: the movements whose credit left these cards, to check what stayed behind.
pub fn audit(
    run: &Run<'_>,
    cards: Vec<Card>,
    intents: Vec<Intent>,
    moved: Vec<crate::ledger::Movement>,
) -> Gathered<Vec<String>> {
    let mut by_card: HashMap<i64, Vec<Intent>> = HashMap::new();
    for i in intents {
        by_card.entry(i.card_id).or_default().push(i);
    }
    let moved: HashMap<i64, crate::ledger::Movement> =
        moved.into_iter().map(|m| (m.source, m)).collect();
    // Each card is read three times: its account, a sign-in with its password, its calls.
    run.observer.expect_requests(3 * cards.len() as u64);
    gather(run, cards, |ctx, card| {
        report::audit(
            ctx,
            card,
            by_card.get(&card.id).map_or(&[], Vec::as_slice),
            moved.get(&card.id),
        )
    })
}
