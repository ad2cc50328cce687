//! What the portal asks of the platform and the ledger. Every platform request goes through
//! the one throttle the portal shares with its change runs, so no number of visitors can
//! flood the platform. Changes (numbers, password, a redeem) run on the runner under the
//! intent protocol, holding the ledger's lock only while they run: the reseller's own
//! commands work between them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::{ApiError, CallPage, CallQuery, Client, Direction, UserInfo};
use crate::config::Secret;
use crate::ledger::{Card, Claim, Ledger, LedgerError, Movement, MovementKind, Platform};
use crate::lifecycle;
use crate::money::{self, Advance};
use crate::runner::throttle::Throttle;
use crate::runner::{Options, Report, Run, Silent};

/// Why the portal could not do what was asked. Never shown as is: pages say it in the
/// brand's words, without the platform's names.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The platform did not answer (or not in time): try again later.
    #[error("the service did not answer: {0}")]
    Unavailable(String),
    /// The platform refused (a number it does not take, ...).
    #[error("refused: {0}")]
    Refused(String),
    /// The reseller's own command holds the ledger right now.
    #[error("busy: {0}")]
    Busy(String),
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// A change was sent and its outcome is still open: it is settled on evidence later.
    #[error("pending: {0}")]
    Pending(String),
    /// The card's credit cannot move (typed by the money core).
    #[error("{0}")]
    NotMovable(money::Refusal),
    /// A movement stopped at a step; its claim stays in the ledger and is continued later.
    #[error("{0}")]
    Movement(money::Stop),
}

/// What a redeem came to.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// This request moved the credit (or finished moving it): the movement as recorded.
    Added(Movement),
    /// The credit was on the account before this request.
    Already(Movement),
}

/// The platform and the ledger, shared by every request of the portal.
pub struct Backend {
    client: Client,
    throttle: Arc<Throttle>,
    ledger: PathBuf,
    platform: Platform,
    options: Options,
}

impl Backend {
    pub fn new(
        client: Client,
        throttle: Arc<Throttle>,
        platform: Platform,
        ledger: PathBuf,
        options: Options,
    ) -> Backend {
        Backend {
            throttle,
            client,
            ledger,
            platform,
            options: Options {
                concurrency: 1,
                ..options
            },
        }
    }

    fn open(&self) -> Result<Ledger, BackendError> {
        Ok(Ledger::open(&self.ledger)?)
    }

    /// The ledger's card for a login (its customer name), if it is a card of this platform.
    pub fn card(&self, customer: &str) -> Result<Option<Card>, BackendError> {
        let ledger = self.open()?;
        let Some(card) = ledger.find_card(customer)? else {
            return Ok(None);
        };
        if card.customer != customer {
            // A serial is no login.
            return Ok(None);
        }
        let batch = ledger.batch(&card.batch_id)?;
        let ours = batch.is_some_and(|b| b.platform.as_ref().is_none_or(|p| *p == self.platform));
        Ok(ours.then_some(card))
    }

    pub fn card_by_id(&self, id: i64) -> Result<Option<Card>, BackendError> {
        Ok(self.open()?.card_by_id(id)?)
    }

    /// The currency of a card's batch.
    pub fn currency(&self, card: &Card) -> Result<String, BackendError> {
        Ok(self
            .open()?
            .batch(&card.batch_id)?
            .map(|b| b.currency)
            .unwrap_or_default())
    }

    /// One read, through the throttle; a lost answer is asked again (reads are safe to
    /// repeat), three times at most.
    fn read<T>(&self, f: impl Fn(&Client) -> Result<T, ApiError>) -> Result<T, BackendError> {
        let mut last = String::new();
        for attempt in 0..3u32 {
            let permit = self.throttle.acquire();
            let result = f(&self.client);
            let overload = result.as_ref().err().is_some_and(ApiError::is_overload);
            self.throttle.release(permit, overload);
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.is_safe_to_retry() || e.may_have_applied() => {
                    last = e.to_string();
                    std::thread::sleep(Duration::from_millis(100 << attempt));
                }
                Err(e) => return Err(BackendError::Refused(e.to_string())),
            }
        }
        Err(BackendError::Unavailable(last))
    }

    /// Whether `password` opens the account (validateuser).
    pub fn validate(&self, customer: &str, password: &Secret) -> Result<bool, BackendError> {
        self.read(|c| c.validate_user(customer, password))
    }

    pub fn user_info(&self, customer: &str) -> Result<UserInfo, BackendError> {
        self.read(|c| c.get_user_info(customer))
    }

    /// Up to `count` calls, newest first, before the call (`date`, `call_id`) of an earlier
    /// page (none: from now).
    pub fn calls_before(
        &self,
        customer: &str,
        before: Option<(chrono::NaiveDateTime, u64)>,
        count: u32,
    ) -> Result<CallPage, BackendError> {
        let query = CallQuery {
            date: Some(before.map_or_else(
                || chrono::Utc::now().naive_utc() + chrono::Duration::days(1),
                |b| b.0,
            )),
            call_id: before.map(|b| b.1),
            record_count: Some(count),
            direction: Some(Direction::Backward),
        };
        let mut page = self.read(|c| c.call_overview(customer, &query))?;
        // The call the page was asked from is not on it again.
        if let Some((_, id)) = before {
            page.calls.retain(|c| c.call_id != id);
        }
        Ok(page)
    }

    /// Every call of an account, oldest first (paged forward until `MoreData` is False).
    pub fn all_calls(&self, customer: &str) -> Result<Vec<crate::api::CallRecord>, BackendError> {
        let mut out: Vec<crate::api::CallRecord> = Vec::new();
        let mut from: Option<(chrono::NaiveDateTime, u64)> = None;
        for _ in 0..1000 {
            let query = CallQuery {
                date: Some(from.map_or(chrono::NaiveDateTime::default(), |f| f.0)),
                call_id: from.map(|f| f.1),
                record_count: Some(500),
                direction: Some(Direction::Forward),
            };
            let page = self.read(|c| c.call_overview(customer, &query))?;
            let before = out.len();
            for call in page.calls {
                if !out
                    .iter()
                    .rev()
                    .take(500)
                    .any(|c| c.call_id == call.call_id)
                {
                    out.push(call);
                }
            }
            match out.last() {
                Some(last) if page.more_data && out.len() > before => {
                    from = Some((last.start, last.call_id));
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// The ledger held for changes (its lock), waiting a few seconds for a reseller's command
    /// or another portal to finish.
    fn locked(&self, what: &str) -> Result<Ledger, BackendError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match Ledger::open_for_changes(&self.ledger, &format!("cardmint portal: {what}")) {
                Ok(l) => return Ok(l),
                Err(LedgerError::Locked(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(LedgerError::Locked(e)) => return Err(BackendError::Busy(e.to_string())),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn run<'a>(&'a self, batch: &'a str) -> Run<'a> {
        Run {
            client: &self.client,
            ledger: &self.ledger,
            batch_id: Some(batch),
            options: &self.options,
            observer: &Silent,
            throttle: Some(&self.throttle),
        }
    }

    /// Runs a change on the runner, holding the ledger's lock while it runs.
    fn change(
        &self,
        what: &str,
        batch: &str,
        f: impl FnOnce(&Run<'_>, &Ledger) -> Result<Report, crate::runner::RunError>,
    ) -> Result<Report, BackendError> {
        let ledger = self.locked(what)?;
        f(&self.run(batch), &ledger).map_err(|e| BackendError::Unavailable(e.to_string()))
    }

    fn pending(ledger: &Ledger, card: &Card) -> Result<Vec<crate::ledger::Intent>, BackendError> {
        Ok(ledger
            .pending_intents(Some(&card.batch_id))?
            .into_iter()
            .filter(|i| i.card_id == card.id)
            .collect())
    }

    /// Adds or deletes a CLI number (E.164) on the card's account.
    pub fn change_number(&self, card: &Card, number: &str, add: bool) -> Result<(), BackendError> {
        let report = self.change("numbers", &card.batch_id, |run, ledger| {
            let pending = Self::pending(ledger, card).unwrap_or_default();
            let fresh = ledger.card_by_id(card.id)?.unwrap_or_else(|| card.clone());
            lifecycle::change_number(run, fresh, pending, number, add)
        })?;
        outcome(&report)
    }

    /// Sets a new password under the intent protocol.
    pub fn set_password(&self, card: &Card, new: &Secret) -> Result<(), BackendError> {
        let report = self.change("password", &card.batch_id, |run, ledger| {
            let pending = Self::pending(ledger, card).unwrap_or_default();
            let fresh = ledger.card_by_id(card.id)?.unwrap_or_else(|| card.clone());
            lifecycle::reset_password(run, fresh, pending, new)
        })?;
        outcome(&report)
    }

    /// Redeems the card whose code is `code` onto the account `onto`, or goes on with that
    /// redeem where it stopped: the money core's claim and steps, under the ledger's lock. A
    /// code that is no card of this platform is refused like any card that cannot move.
    pub fn redeem(&self, code: &str, onto: i64) -> Result<Redeemed, BackendError> {
        let Some(card) = self.card(code)? else {
            return Err(BackendError::NotMovable(money::Refusal::NotSold {
                serial: String::new(),
                state: "unknown".into(),
            }));
        };
        let ledger = self.locked("redeem")?;
        let onto = ledger
            .card_by_id(onto)?
            .ok_or_else(|| BackendError::Refused("the account vanished".into()))?;
        let claim = money::claim_redeem(&ledger, &card, &onto).map_err(money_error)?;
        let (m, claimant) = match claim {
            Claim::New(m) => (m, true),
            Claim::Existing(m) => (m, false),
        };
        if m.is_done() && !claimant {
            return Ok(Redeemed::Already(m));
        }
        self.advance(&ledger, &card.batch_id, m.id)
            .map(Redeemed::Added)
    }

    /// Advances a movement as far as it goes now (the ledger held).
    fn advance(&self, ledger: &Ledger, batch: &str, id: i64) -> Result<Movement, BackendError> {
        match money::advance(&self.run(batch), ledger, id).map_err(money_error)? {
            Advance::Done(m) => Ok(m),
            Advance::Stopped { why, .. } => Err(BackendError::Movement(why)),
            Advance::NeedsTarget(m) | Advance::NeedsProvisioning { movement: m, .. } => {
                Err(BackendError::Movement(money::Stop::Refused(
                    crate::runner::CardFailure::Conflict(format!(
                        "movement #{} is a replacement: `cardmint replace` finishes it",
                        m.id
                    )),
                )))
            }
        }
    }

    /// The cards redeemed onto an account, newest first: the movement, the card's serial,
    /// and whether the credit has arrived.
    pub fn purchases(&self, onto: &Card) -> Result<Vec<(Movement, String)>, BackendError> {
        let ledger = self.open()?;
        let mut out = Vec::new();
        for m in ledger.movements_onto(onto.id)? {
            if m.kind != MovementKind::Redeem {
                continue;
            }
            let serial = ledger
                .card_by_id(m.source)?
                .map(|c| c.serial)
                .unwrap_or_default();
            out.push((m, serial));
        }
        Ok(out)
    }

    /// Goes on with every redeem left unfinished (a failed step, a busy ledger, a stopped or
    /// killed portal): the number now done. Run at start and then now and again.
    pub fn finish_unfinished(&self) -> Result<usize, BackendError> {
        let unfinished = self.open()?.unfinished_movements()?;
        let mut n = 0;
        for m in unfinished.iter().filter(|m| m.kind == MovementKind::Redeem) {
            let ledger = self.locked("finishing a redeem")?;
            let batch = ledger
                .card_by_id(m.source)?
                .map(|c| c.batch_id)
                .unwrap_or_default();
            if self.advance(&ledger, &batch, m.id).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn money_error(e: money::MoneyError) -> BackendError {
    match e {
        money::MoneyError::Ledger(e) => BackendError::Ledger(e),
        money::MoneyError::Run(e) => BackendError::Unavailable(e.to_string()),
        money::MoneyError::Refused(r) => BackendError::NotMovable(r),
    }
}

/// A change run's report as the portal's answer.
fn outcome(report: &Report) -> Result<(), BackendError> {
    if report.complete() {
        return Ok(());
    }
    if let Some((_, why)) = report.failed.first() {
        return Err(BackendError::Refused(why.to_string()));
    }
    if let Some((_, why)) = report.unsettled.first() {
        return Err(BackendError::Pending(why.clone()));
    }
    Err(BackendError::Pending(
        report
            .stopped
            .clone()
            .unwrap_or_else(|| "not finished".into()),
    ))
}

/// Shared between the request handlers.
pub type SharedBackend = Arc<Backend>;
