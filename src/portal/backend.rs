//! What the portal asks of the platform and the ledger. Every platform request goes through
//! the one throttle the portal shares with its change runs, so no number of visitors can
//! flood the platform. Changes (numbers, password, a redeem) run on the runner under the
//! intent protocol, holding the ledger's lock only while they run: the reseller's own
//! commands work between them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use crate::api::{ApiError, CallPage, CallQuery, Client, Direction, UserInfo};
use crate::config::Secret;
use crate::ledger::{Card, CardState, Ledger, LedgerError, Platform, Redemption};
use crate::lifecycle;
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
}

/// The platform and the ledger, shared by every request of the portal.
pub struct Backend {
    client: Client,
    throttle: Throttle,
    ledger: PathBuf,
    platform: Platform,
    options: Options,
    /// One redeem at a time in this process: each step reads the ledger afresh under it, so
    /// a double submit never moves the credit twice (other processes: the ledger's lock, and
    /// no other command changes a redeemed card's credit).
    redeeming: std::sync::Mutex<()>,
}

impl Backend {
    pub fn new(client: Client, platform: Platform, ledger: PathBuf, options: Options) -> Backend {
        Backend {
            throttle: Throttle::new(options.rate, options.burst, options.concurrency),
            client,
            ledger,
            platform,
            options: Options {
                concurrency: 1,
                ..options
            },
            redeeming: std::sync::Mutex::new(()),
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

    /// Runs a change on the runner, holding the ledger's lock while it runs (waiting a few
    /// seconds for a reseller's command to finish).
    fn change(
        &self,
        what: &str,
        batch: &str,
        f: impl FnOnce(&Run<'_>, &Ledger) -> Result<Report, crate::runner::RunError>,
    ) -> Result<Report, BackendError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let ledger = loop {
            match Ledger::open_for_changes(&self.ledger, &format!("cardmint portal: {what}")) {
                Ok(l) => break l,
                Err(LedgerError::Locked(e)) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(LedgerError::Locked(e)) => return Err(BackendError::Busy(e.to_string())),
                Err(e) => return Err(e.into()),
            }
        };
        let run = Run {
            client: &self.client,
            ledger: &self.ledger,
            batch_id: Some(batch),
            options: &self.options,
            observer: &Silent,
            throttle: Some(&self.throttle),
        };
        f(&run, &ledger).map_err(|e| BackendError::Unavailable(e.to_string()))
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

    /// Whether `code` names a retail card that can be redeemed onto `onto`: `Ok(None)` when it
    /// cannot (unknown, not retail, blocked, redeemed elsewhere, the account itself), so that
    /// every refusal reads the same.
    pub fn redeemable(&self, code: &str, onto: &Card) -> Result<Option<Card>, BackendError> {
        let Some(card) = self.card(code)? else {
            return Ok(None);
        };
        let ledger = self.open()?;
        if card.id == onto.id || !card.generated {
            return Ok(None);
        }
        if let Some(r) = ledger.redemption_of(card.id)? {
            return Ok((r.onto == onto.id).then_some(card));
        }
        let fits = matches!(card.state, CardState::Ready | CardState::Active)
            && ledger.replacement_of(card.id)?.is_none()
            && ledger.redemption_of(onto.id)?.is_none();
        Ok(fits.then_some(card))
    }

    /// Redeems `card` onto `onto`, or goes on with a redeem left unfinished: block the card,
    /// read what it holds, record the redemption, deduct it from the card, load it onto the
    /// account; each change an intent settled on evidence, so the credit moves exactly once.
    pub fn redeem(&self, card: &Card, onto: &Card) -> Result<Redemption, BackendError> {
        let _one = self.redeeming.lock().unwrap_or_else(|e| e.into_inner());
        let ledger = self.open()?;
        let link = match ledger.redemption_of(card.id)? {
            Some(link) => link,
            None => {
                // 1. Blocked first: nothing more can be spent from it (retail stock is
                // blocked already; the ledger records why).
                let report = self.change("redeem", &card.batch_id, |run, l| {
                    let fresh = l.card_by_id(card.id)?.unwrap_or_else(|| card.clone());
                    let pending = Self::pending(l, &fresh).unwrap_or_default();
                    lifecycle::set_blocked(run, vec![fresh], pending, true, Some("redeemed"))
                })?;
                outcome(&report)?;
                // 2. What it holds, read after the block.
                let info = self.user_info(&card.customer)?;
                let amount = info.exact_balance().max(Decimal::ZERO);
                // 3. Recorded before any credit moves.
                let fresh = ledger
                    .card_by_id(card.id)?
                    .ok_or_else(|| BackendError::Refused("the card vanished".into()))?;
                let link = Redemption {
                    card: card.id,
                    onto: onto.id,
                    amount,
                    card_topups: fresh.topups,
                    at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                };
                let mut w = Ledger::open_for_changes(&self.ledger, "cardmint portal: redeem")
                    .map_err(|e| BackendError::Busy(e.to_string()))?;
                w.write(|tx| tx.add_redemption(&link, &card.serial, &onto.serial))?;
                link
            }
        };
        self.finish_redeem(&link)?;
        Ok(link)
    }

    /// Steps 4 and 5 of a redeem: the deduction (judged by the card's top-ups, as a replaced
    /// card takes no other change) and the load (a Redeem intent, found applied or sent).
    fn finish_redeem(&self, link: &Redemption) -> Result<(), BackendError> {
        if link.amount.is_zero() {
            return Ok(());
        }
        let ledger = self.open()?;
        let card = ledger
            .card_by_id(link.card)?
            .ok_or_else(|| BackendError::Refused("the card vanished".into()))?;
        let deducted = card.topups == link.card_topups - link.amount;
        let pending = Self::pending(&ledger, &card)?;
        if !deducted || !pending.is_empty() {
            if !deducted && card.topups != link.card_topups {
                return Err(BackendError::Pending(format!(
                    "card {}: its top-ups moved; `cardmint card {}` shows why",
                    card.serial, card.serial
                )));
            }
            let report = self.change("redeem", &card.batch_id, |run, l| {
                let pending = Self::pending(l, &card).unwrap_or_default();
                if deducted {
                    lifecycle::settle(run, vec![card.clone()], pending)
                } else {
                    lifecycle::topup(run, card.clone(), pending, -link.amount)
                }
            })?;
            outcome(&report)?;
        }
        let onto = ledger
            .card_by_id(link.onto)?
            .ok_or_else(|| BackendError::Refused("the account vanished".into()))?;
        let loaded = Self::loaded(&ledger, link)?;
        if !loaded {
            let report = self.change("redeem", &onto.batch_id, |run, l| {
                let fresh = l.card_by_id(onto.id)?.unwrap_or_else(|| onto.clone());
                let pending = Self::pending(l, &fresh).unwrap_or_default();
                lifecycle::load_redeemed(run, fresh, pending, link.amount, link.card)
            })?;
            outcome(&report)?;
        }
        Ok(())
    }

    /// Whether the account shows the redemption's load applied (its Redeem intent).
    fn loaded(ledger: &Ledger, link: &Redemption) -> Result<bool, BackendError> {
        let load = crate::ledger::IntentKind::Redeem {
            amount: link.amount,
            from: link.card,
        };
        Ok(ledger
            .card_intents(link.onto)?
            .iter()
            .any(|i| i.status == crate::ledger::IntentStatus::Applied && i.kind == load))
    }

    /// Whether a redemption's credit has arrived (its load applied).
    pub fn redeem_done(&self, link: &Redemption) -> Result<bool, BackendError> {
        if link.amount.is_zero() {
            return Ok(true);
        }
        Self::loaded(&self.open()?, link)
    }

    /// The cards redeemed onto an account, newest first, with their serials.
    pub fn purchases(&self, onto: &Card) -> Result<Vec<(Redemption, String, bool)>, BackendError> {
        let ledger = self.open()?;
        let mut out = Vec::new();
        for r in ledger.redemptions_onto(onto.id)? {
            let serial = ledger
                .card_by_id(r.card)?
                .map(|c| c.serial)
                .unwrap_or_default();
            let done = self.redeem_done(&r)?;
            out.push((r, serial, done));
        }
        Ok(out)
    }

    /// Finishes every redeem left unfinished (the portal stopped in the middle of one).
    pub fn finish_unfinished(&self) -> usize {
        let _one = self.redeeming.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(ledger) = self.open() else { return 0 };
        let mut n = 0;
        for link in ledger.redemptions().unwrap_or_default() {
            if !self.redeem_done(&link).unwrap_or(true) && self.finish_redeem(&link).is_ok() {
                n += 1;
            }
        }
        n
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
