//! The one runner for every command that talks to the platform: the worker pool, the shared
//! throttle, retries with backoff, the journal, the single ledger writer, the intent/settle
//! primitive and the typed outcome of each job.
//!
//! The protocol for a change the platform cannot repeat safely ([`Ctx::change`]):
//!
//! 1. the intent (what, the balance or state before) is committed to the
//!    ledger, and the worker waits for the commit;
//! 2. the request is sent; a request that certainly never left is sent again;
//! 3. an answer settles the intent (applied or refused); an unknown outcome (timeout, reset, an
//!    HTML page) leaves it open: the job waits, off the workers, for the settle delay (long
//!    enough for a late change to land), then [`Ctx::settle_pending`] reads the evidence;
//! 4. evidence that stays ambiguous after a few reads leaves the intent unsettled, for
//!    `cardmint settle` or a human; a card with a pending intent gets no further change.
//!
//! Knows nothing of what the steps are for (provisioning, the lifecycle): they are the jobs.

pub mod evidence;
pub mod interrupt;
mod outcome;
mod pool;
pub mod throttle;
mod writer;

pub use outcome::{CardFailure, Outcome, Report};
pub use pool::{Job, Run, Step, run};

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::api::{ApiError, CallRecord, Client, Command, Refusal, UserInfo};
use crate::codes::{CodeSpec, Draw, OsRandom};
use crate::config::Secret;
use crate::ledger::{
    Before, Card, CardState, Intent, IntentKind, IntentStatus, JournalEntry, LedgerError,
    NewIntent, Progress,
};
use evidence::{Charge, Verdict, Window, combine, judge_balance, judge_history};
use throttle::{Throttle, backoff};
use writer::Update;

/// How hard to drive the platform, and how patiently to settle.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads, and the most requests in flight.
    pub concurrency: usize,
    /// Requests per second, never exceeded in any one-second window.
    pub rate: f64,
    /// Requests that may go back to back before pacing starts.
    pub burst: u32,
    /// Tries of one request before its card is given up (resume tries again).
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long after a change with an unknown outcome its settle read waits, so that a change
    /// the platform applies late has landed.
    pub settle_delay: Duration,
    /// Settle reads of one change before it is left unsettled.
    pub settle_tries: u32,
    /// Test hook (`CARDMINT_TEST_KILL_AT`): kill this process at a point.
    pub kill_at: Option<KillPoint>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 8,
            rate: 10.0,
            burst: 3,
            max_attempts: 8,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
            settle_delay: Duration::from_secs(60),
            settle_tries: 3,
            kill_at: None,
        }
    }
}

/// Where a test kills the process: `KIND:before-send` (the intent is committed, its request
/// not sent), `KIND:after-answer` (the platform answered, nothing recorded yet) or
/// `KIND:after-unknown` (the answer was lost: killed before the settle wait), the `nth`
/// time it passes there. KIND is an intent kind: create, credit, retail-block, block, unblock,
/// topup, deduct, move, add-number, delete-number, password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillPoint {
    pub point: String,
    pub nth: u32,
}

impl KillPoint {
    /// `KIND:WHEN` or `KIND:WHEN#N`.
    pub fn parse(text: &str) -> Result<KillPoint, String> {
        let (point, nth) = match text.split_once('#') {
            Some((p, n)) => (p, n.parse().map_err(|_| format!("{n:?} is not a count"))?),
            None => (text, 1),
        };
        match point.split_once(':') {
            Some((_, "before-send" | "after-answer" | "after-unknown")) => Ok(KillPoint {
                point: point.to_string(),
                nth,
            }),
            _ => Err(format!(
                "{text:?}: give KIND:before-send, KIND:after-answer or KIND:after-unknown, \
                 optionally #N"
            )),
        }
    }
}

/// The one rule for repeating a read (reads are safe to repeat): asked again while its request
/// was not sent or its answer was lost, up to `max` tries, pausing (`pause`) between; any
/// other error ends it at once (a refusal, a protocol error; one that stops everything is the
/// caller's to act on). `once` gives `None` when the caller is stopping.
pub fn read_retrying<T>(
    max: u32,
    mut once: impl FnMut(u32) -> Option<Result<T, ApiError>>,
    mut pause: impl FnMut(u32, &ApiError),
) -> Result<T, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match once(attempt) {
            None => return Err(Failure::Stopped),
            Some(Ok(v)) => return Ok(v),
            Some(Err(e)) if e.stops_everything() => return Err(Failure::Refused(e)),
            Some(Err(e)) if e.is_safe_to_retry() || e.may_have_applied() => {
                if attempt >= max {
                    return Err(Failure::GaveUp(e, attempt));
                }
                pause(attempt, &e);
            }
            Some(Err(e)) => return Err(Failure::Refused(e)),
        }
    }
}

/// What the runner tells the person watching (progress bar, log lines).
pub trait Observer: Send + Sync {
    /// The run expects about `n` more requests (the steps its cards have left), so that
    /// progress moves with every request, not only when a card is finished.
    fn expect_requests(&self, _n: u64) {}
    fn request(&self) {}
    fn item_finished(&self, _ok: bool) {}
    /// A detail for `--verbose`: retries, settle reads, retired codes. Never a secret.
    fn note(&self, _message: &str) {}
}

/// An observer that shows nothing.
pub struct Silent;
impl Observer for Silent {}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("a worker thread panicked: {0}")]
    Panic(String),
}

impl From<ApiError> for Failure {
    /// A protocol error found above one request (a pager's): refused, not retried.
    fn from(e: ApiError) -> Failure {
        Failure::Refused(e)
    }
}

/// Why a request gave no answer to act on.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Sent, no valid answer: it may have been applied.
    Unknown(ApiError),
    /// The platform refused (permanent for this card).
    Refused(ApiError),
    /// Retried until the attempts ran out.
    GaveUp(ApiError, u32),
    /// The run is stopping (wrong reseller login, no credit, ledger failure).
    Stopped,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unknown(e) | Failure::Refused(e) => write!(f, "{e}"),
            Failure::GaveUp(e, tries) => write!(f, "{e} (after {tries} tries)"),
            Failure::Stopped => f.write_str("the run stopped before an answer"),
        }
    }
}

impl Failure {
    /// How a card that meets this failure ends.
    pub fn outcome(self) -> Outcome {
        match self {
            Failure::Stopped => Outcome::Stopped,
            Failure::Refused(e) => Outcome::Failed(CardFailure::Refused(e)),
            Failure::Unknown(error) => Outcome::Failed(CardFailure::GaveUp { attempts: 1, error }),
            Failure::GaveUp(error, attempts) => {
                Outcome::Failed(CardFailure::GaveUp { attempts, error })
            }
        }
    }
}

/// What became of a change sent with [`Ctx::change`].
#[derive(Debug)]
pub enum Sent<T> {
    /// The platform answered: applied (the intent is settled so; the card's copy carries
    /// its effect).
    Applied(T),
    /// The platform refused it (settled as not applied).
    Refused(ApiError),
    /// It never left, however often tried (settled as not applied).
    GaveUp(ApiError, u32),
    /// No answer: it may or may not have been applied. Settle it (see [`Pending`]).
    Unknown(Pending),
    /// An answer that does not say whether it applied (createcustomer's one failure answer):
    /// settle it at once.
    Unclear(Pending),
    /// The run is stopping; the change was not sent.
    Stopped,
}

/// A change waiting for evidence: its settle read is due at `due`.
#[derive(Debug, Clone)]
pub struct Pending {
    pub intent: Intent,
    due: Instant,
    tries: u32,
}

impl Pending {
    /// A change whose answer was just lost: due one settle delay from now (the request may have
    /// reached the platform as late as now).
    pub fn new(intent: Intent, delay: Duration) -> Pending {
        Pending {
            intent,
            due: Instant::now() + delay,
            tries: 0,
        }
    }

    /// An intent from an earlier run. Open: due a whole settle delay from now, on this run's
    /// monotonic clock: its request may have left a moment before this run started, and the
    /// wall time stored with it cannot say how long ago that was if the clock has stepped
    /// since (a step forward read it at once, before a late change landed, and loaded twice).
    /// Unsettled: it was read a settle delay after it left, in an earlier run: due now.
    pub fn from_ledger(intent: Intent, delay: Duration) -> Pending {
        let wait = if intent.status == IntentStatus::Unsettled {
            Duration::ZERO
        } else {
            delay
        };
        Pending {
            intent,
            due: Instant::now() + wait,
            tries: 0,
        }
    }
}

impl Pending {
    /// Due at once: the outcome is open, but no late change can be on its way (createcustomer
    /// refused without a reason: find out whether the account exists).
    pub fn due_now(intent: Intent) -> Pending {
        Pending {
            intent,
            due: Instant::now(),
            tries: 0,
        }
    }
}

/// The changes of one card still waiting for evidence: the one being settled, and those the
/// ledger holds from earlier runs, settled one after the other before any new change.
#[derive(Debug, Default)]
pub struct Waiting {
    now: Option<Pending>,
    later: std::collections::VecDeque<Intent>,
}

impl Waiting {
    /// How many changes are waiting to be settled.
    pub fn count(&self) -> usize {
        usize::from(self.now.is_some()) + self.later.len()
    }

    /// The card's pending intents from the ledger, oldest first.
    pub fn from_ledger(intents: Vec<Intent>) -> Waiting {
        Waiting {
            now: None,
            later: intents.into(),
        }
    }

    pub fn wait_for(&mut self, pending: Pending) {
        self.now = Some(pending);
    }

    pub fn is_empty(&self) -> bool {
        self.now.is_none() && self.later.is_empty()
    }
}

/// What a settle read concluded about a pending change.
#[derive(Debug, Clone)]
pub enum Settled {
    /// Applied: the card's copy carries its effect.
    Applied(Intent),
    NotApplied(Intent),
    /// A create whose account exists and opens with none of our passwords: the name is taken.
    NotOurs(Intent),
}

impl Settled {
    pub fn intent(&self) -> &Intent {
        match self {
            Settled::Applied(i) | Settled::NotApplied(i) | Settled::NotOurs(i) => i,
        }
    }
}

/// The evidence about one change.
enum Judgement {
    Applied(String),
    NotApplied(String),
    NotOurs,
    Ambiguous(String),
    /// No read can decide it, now or later (a change a restore opened): unsettled at once,
    /// for a human, without the reads again that an ambiguous one gets.
    ForHuman(String),
}

/// The evidence of a change the platform answered.
const ANSWERED: &str = "the platform answered success";

/// Now, in Unix milliseconds (see [`crate::clock::now_ms`]).
pub fn now_ms() -> i64 {
    crate::clock::now_ms()
}

/// What a worker may use while handling a job.
pub struct Ctx<'a> {
    pub(crate) client: &'a Client,
    pub(crate) batch_id: Option<String>,
    options: &'a Options,
    throttle: &'a Throttle,
    updates: Sender<Update>,
    stop: &'a AtomicBool,
    stop_reason: &'a Mutex<Option<String>>,
    requests: &'a AtomicU64,
    kills: &'a AtomicU32,
    observer: &'a dyn Observer,
    draw: Draw<OsRandom>,
}

impl Ctx<'_> {
    /// Whether the run is stopping: the platform went away, or Ctrl-C came.
    pub fn stopped(&self) -> bool {
        if interrupt::interrupted() && !self.stop.load(Ordering::SeqCst) {
            self.stop(format!("interrupted ({})", interrupt::cause()));
        }
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops the run: workers finish the request in hand and take no new job.
    pub fn stop(&self, reason: String) {
        let mut r = self
            .stop_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if r.is_none() {
            self.observer.note(&format!("stopping: {reason}"));
            *r = Some(reason);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn note(&self, message: &str) {
        self.observer.note(message);
    }

    pub fn options(&self) -> &Options {
        self.options
    }

    fn send(&self, update: Update) {
        if self.updates.send(update).is_err() {
            self.stop("the ledger writer stopped".into());
        }
    }

    /// Records the card's provisioning progress.
    pub fn set_progress(&self, card: &Card, progress: Progress) {
        self.send(Update::Progress(card.id, progress));
    }

    /// Records the card's lifecycle state (`failure` for [`CardState::Failed`]).
    pub fn set_state(&self, card: &Card, state: CardState, failure: Option<String>) {
        self.send(Update::State(card.id, state, failure));
    }

    /// Sends an update that someone waits for, and waits for its commit.
    fn commit<T>(
        &self,
        make: impl FnOnce(mpsc::SyncSender<Result<T, String>>) -> Update,
    ) -> Result<T, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(make(reply));
        answer
            .recv()
            .unwrap_or_else(|_| Err("the ledger writer stopped".into()))
    }

    /// Sleeps before retry number `attempt` (exponential backoff, full jitter).
    pub fn back_off(&mut self, attempt: u32) {
        std::thread::sleep(self.backoff(attempt));
    }

    fn backoff(&mut self, attempt: u32) -> Duration {
        let random = self.draw.u64().unwrap_or(0);
        backoff(
            attempt,
            self.options.backoff_base,
            self.options.backoff_cap,
            random,
        )
    }

    /// One request, when the throttle lets it go, journaled.
    fn try_once<T>(
        &mut self,
        card_id: Option<i64>,
        command: Command,
        attempt: u32,
        f: &dyn Fn(&Client) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let permit = self.throttle.acquire();
        if self.stopped() {
            // Stopped while waiting for a slot: this request is not sent.
            self.throttle.release(permit, false);
            return Err(ApiError::NotSent {
                command,
                cause: "the run stopped".into(),
            });
        }
        let started = Instant::now();
        let result = f(self.client);
        let elapsed = started.elapsed();
        let overload = result.as_ref().err().is_some_and(ApiError::is_overload);
        self.throttle.release(permit, overload);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.observer.request();
        let (outcome, detail) = match &result {
            Ok(_) => ("ok", String::new()),
            Err(e @ ApiError::NotSent { .. }) => ("not-sent", e.to_string()),
            Err(e @ ApiError::UnknownOutcome { .. }) => ("unknown", e.to_string()),
            Err(e @ ApiError::Refused { .. }) => ("refused", e.to_string()),
            Err(e @ ApiError::Protocol { .. }) => ("protocol", e.to_string()),
            Err(e @ ApiError::InvalidArgument { .. }) => ("invalid", e.to_string()),
        };
        self.journal(
            card_id,
            command.wire_name(),
            outcome,
            &detail,
            elapsed,
            attempt,
        );
        result
    }

    /// A read: safe to repeat, so an unknown outcome is asked again (backoff, up to
    /// `max_attempts`); a refusal goes back to the caller.
    pub fn read<T>(
        &mut self,
        card_id: Option<i64>,
        command: Command,
        f: impl Fn(&Client) -> Result<T, ApiError>,
    ) -> Result<T, Failure> {
        let max = self.options.max_attempts;
        let this = std::cell::RefCell::new(self);
        let result = read_retrying(
            max,
            |attempt| {
                let mut ctx = this.borrow_mut();
                if ctx.stopped() {
                    return None;
                }
                Some(ctx.try_once(card_id, command, attempt, &f))
            },
            |attempt, e| {
                let mut ctx = this.borrow_mut();
                ctx.note(&format!("retrying: {e}"));
                ctx.back_off(attempt);
            },
        );
        if let Err(Failure::Refused(e)) = &result
            && e.stops_everything()
        {
            this.borrow().stop(e.to_string());
            return Err(Failure::Stopped);
        }
        result
    }

    /// The account behind a card (`None`: it does not exist), and when it was read.
    pub fn user_info(&mut self, card: &Card) -> Result<(Option<UserInfo>, Window), Failure> {
        let from_ms = now_ms();
        let customer = card.customer.clone();
        let info = match self.read(Some(card.id), Command::GetUserInfo, move |c| {
            c.get_user_info(&customer)
        }) {
            Ok(info) => {
                self.send(Update::Balance(card.id, info.exact_balance()));
                Some(info)
            }
            Err(Failure::Refused(e)) if e.refusal() == Some(&Refusal::UnknownCustomer) => None,
            Err(f) => return Err(f),
        };
        Ok((
            info,
            Window {
                from_ms,
                to_ms: now_ms(),
            },
        ))
    }

    /// Whether `password` opens the card's account.
    pub fn opens(&mut self, card: &Card, password: &Secret) -> Result<bool, Failure> {
        let (customer, password) = (card.customer.clone(), password.clone());
        self.read(Some(card.id), Command::ValidateUser, move |c| {
            c.validate_user(&customer, &password)
        })
    }

    /// Which of the card's passwords opens its account: the ledger's, or a pending one from an
    /// interrupted reset. `None`: neither.
    pub fn opening_password(&mut self, card: &Card) -> Result<Option<Secret>, Failure> {
        if self.opens(card, &card.password)? {
            return Ok(Some(card.password.clone()));
        }
        if let Some(pending) = card.pending_password.clone()
            && self.opens(card, &pending)?
        {
            return Ok(Some(pending));
        }
        Ok(None)
    }

    /// Every call record of a card (see [`crate::api::paging::all_calls`]), each page a read.
    pub fn calls(
        &mut self,
        card: &Card,
        since: Option<NaiveDateTime>,
    ) -> Result<Vec<CallRecord>, Failure> {
        let customer = card.customer.clone();
        crate::api::paging::all_calls(since, |q| {
            let (customer, q) = (customer.clone(), q.clone());
            self.read(Some(card.id), Command::CallOverview, move |c| {
                c.call_overview(&customer, &q)
            })
        })
    }

    /// Sends one change under the protocol (see the module doc): the intent is committed
    /// before the request leaves; the answer settles it, or the caller gets a [`Pending`].
    pub fn change<T>(
        &mut self,
        card: &mut Card,
        kind: IntentKind,
        before: Before,
        f: impl Fn(&Client) -> Result<T, ApiError>,
    ) -> Sent<T> {
        let command = command_of(&kind);
        // The card's own batch, whatever the run's: `settle BATCH` and `resume` find a card's
        // changes by its batch (a replacement's load ran in the old card's run).
        let batch_id = card.batch_id.clone();
        let new = NewIntent {
            card_id: card.id,
            batch_id,
            kind: kind.clone(),
            before,
        };
        let id = match self.commit(|reply| Update::Intent {
            new: new.clone(),
            reply,
        }) {
            Ok(id) => id,
            Err(e) => {
                self.stop(format!("cannot record the change in the ledger: {e}"));
                return Sent::Stopped;
            }
        };
        let intent = Intent {
            id,
            card_id: card.id,
            batch_id: new.batch_id,
            kind,
            before,
            status: IntentStatus::Open,
            evidence: None,
            created_at: String::new(),
        };
        self.kill_point(&intent.kind, "before-send");
        let max = self.options.max_attempts;
        let mut attempt = 0;
        loop {
            if self.stopped() {
                self.settle(
                    card,
                    &intent,
                    IntentStatus::NotApplied,
                    "not sent: the run stopped",
                );
                return Sent::Stopped;
            }
            attempt += 1;
            match self.try_once(Some(card.id), command, attempt, &f) {
                Ok(v) => {
                    self.kill_point(&intent.kind, "after-answer");
                    self.settle(card, &intent, IntentStatus::Applied, ANSWERED);
                    intent.apply_to(card);
                    return Sent::Applied(v);
                }
                Err(e) if e.stops_everything() => {
                    self.settle(
                        card,
                        &intent,
                        IntentStatus::NotApplied,
                        &format!("refused: {e}"),
                    );
                    self.stop(e.to_string());
                    return Sent::Stopped;
                }
                Err(e) if e.is_safe_to_retry() => {
                    if attempt >= max {
                        self.settle(
                            card,
                            &intent,
                            IntentStatus::NotApplied,
                            &format!("never sent: {e}"),
                        );
                        return Sent::GaveUp(e, attempt);
                    }
                    self.note(&format!("retrying: {e}"));
                    self.back_off(attempt);
                }
                // createcustomer's only failure answer: the account may exist already (ours
                // from an earlier create, or someone else's), or the platform refused: look.
                Err(e) if e.refusal() == Some(&Refusal::CreateFailed) => {
                    return Sent::Unclear(Pending::due_now(intent));
                }
                Err(e) if e.may_have_applied() => {
                    self.kill_point(&intent.kind, "after-unknown");
                    self.note(&format!(
                        "card {}: {e}; settling after {:.1} s",
                        card.serial,
                        self.options.settle_delay.as_secs_f64()
                    ));
                    return Sent::Unknown(Pending::new(intent, self.options.settle_delay));
                }
                Err(e) => {
                    self.settle(
                        card,
                        &intent,
                        IntentStatus::NotApplied,
                        &format!("refused: {e}"),
                    );
                    intent.reject_on(card);
                    return Sent::Refused(e);
                }
            }
        }
    }

    /// Records how an intent settled, and journals it (but for an answer: the request's own
    /// journal row says it).
    fn settle(&self, card: &Card, intent: &Intent, status: IntentStatus, evidence: &str) {
        if evidence != ANSWERED {
            self.journal(
                Some(card.id),
                "settle",
                status.as_str(),
                &format!("{}: {evidence}", intent.kind),
                Duration::ZERO,
                1,
            );
        }
        self.send(Update::Settle {
            intent: intent.id,
            status,
            evidence: evidence.to_string(),
        });
    }

    /// Settles `pending` when its settle read is due, on evidence: `Ok(None)` when nothing is
    /// pending, `Ok(Some(..))` when it settled (the card's copy carries the effect), `Err(step)`
    /// when the job must wait or end (unsettled after `settle_tries` reads, or stopped).
    pub fn settle_pending(
        &mut self,
        card: &mut Card,
        waiting: &mut Waiting,
    ) -> Result<Option<Settled>, Step> {
        if waiting.now.is_none()
            && let Some(next) = waiting.later.pop_front()
        {
            waiting.now = Some(Pending::from_ledger(next, self.options.settle_delay));
        }
        let pending = &mut waiting.now;
        let Some(p) = pending.as_mut() else {
            return Ok(None);
        };
        if Instant::now() < p.due {
            return Err(Step::Wait(p.due));
        }
        let why = match self.judge(card, &p.intent) {
            Ok(Judgement::Applied(evidence)) => {
                let p = pending.take().expect("pending");
                self.settle(card, &p.intent, IntentStatus::Applied, &evidence);
                p.intent.apply_to(card);
                return Ok(Some(Settled::Applied(p.intent)));
            }
            Ok(Judgement::NotApplied(evidence)) => {
                let p = pending.take().expect("pending");
                self.settle(card, &p.intent, IntentStatus::NotApplied, &evidence);
                p.intent.reject_on(card);
                return Ok(Some(Settled::NotApplied(p.intent)));
            }
            Ok(Judgement::NotOurs) => {
                let p = pending.take().expect("pending");
                let evidence = "the account exists and none of our passwords opens it";
                self.settle(card, &p.intent, IntentStatus::NotApplied, evidence);
                return Ok(Some(Settled::NotOurs(p.intent)));
            }
            Ok(Judgement::Ambiguous(why)) => why,
            Ok(Judgement::ForHuman(why)) => {
                p.tries = self.options.settle_tries;
                why
            }
            Err(Failure::Stopped) => return Err(Step::Finished(Outcome::Stopped)),
            Err(Failure::Unknown(e) | Failure::Refused(e) | Failure::GaveUp(e, _)) => {
                format!("could not read the account: {e}")
            }
        };
        p.tries += 1;
        if p.tries >= self.options.settle_tries {
            let p = pending.take().expect("pending");
            self.settle(card, &p.intent, IntentStatus::Unsettled, &why);
            return Err(Step::Finished(Outcome::Unsettled(format!(
                "{}: {why}",
                p.intent.kind
            ))));
        }
        self.note(&format!(
            "card {}: {}: {why}; reading again later",
            card.serial, p.intent.kind
        ));
        p.due = Instant::now() + self.options.settle_delay;
        Err(Step::Wait(p.due))
    }

    /// Reads the evidence about one change.
    fn judge(&mut self, card: &Card, intent: &Intent) -> Result<Judgement, Failure> {
        // A create is confirmed by our password opening the account: one read when it did.
        if intent.kind == IntentKind::Create && self.opening_password(card)?.is_some() {
            return Ok(Judgement::Applied(
                "the account exists and our password opens it".into(),
            ));
        }
        let (info, after_at) = self.user_info(card)?;
        let Some(info) = info else {
            return Ok(match intent.kind {
                IntentKind::Create => Judgement::NotApplied("no such account".into()),
                // A face value is sent only once the account is confirmed, and accounts are
                // never deleted: no account, no credit (a ledger restored from a copy opens
                // this intent for every card that was unfinished, created or not).
                IntentKind::Credit(_) => {
                    Judgement::NotApplied("no such account: nothing was loaded".into())
                }
                _ => Judgement::Ambiguous("the account does not exist on the platform".into()),
            });
        };
        let flag = |applied: bool, what: &str| {
            if applied {
                Judgement::Applied(format!("the account shows {what}"))
            } else {
                Judgement::NotApplied(format!("the account does not show {what}"))
            }
        };
        Ok(match &intent.kind {
            // It exists now. Asked above, none of our passwords opened it, but a late create
            // may have landed between that read and this one: asked again, now that it
            // exists (accounts are never deleted), the answer is decisive.
            IntentKind::Create if self.opening_password(card)?.is_some() => Judgement::Applied(
                "the account appeared meanwhile and our password opens it".into(),
            ),
            IntentKind::Create => Judgement::NotOurs,
            IntentKind::Credit(_)
            | IntentKind::Topup(_)
            | IntentKind::Redeem { .. }
            | IntentKind::Deduct { .. }
            | IntentKind::Move { .. } => {
                let amount = &intent.kind.amount().unwrap_or_default();
                // The whole history: every call ever charged (from the first day). Retail stock
                // credited after its block has never been able to call: no need to ask.
                let never_called = matches!(intent.kind, IntentKind::Credit(_))
                    && card.progress.blocked
                    && info.blocked;
                let history = if never_called {
                    Vec::new()
                } else {
                    self.calls(card, Some(NaiveDateTime::default()))?
                };
                let calls_read = now_ms();
                let calls: Vec<Charge> = evidence::charges(&history);
                // Call times are the platform's: placed on our clock by the offset its answers'
                // Date headers show. Records that contradict the read that returned them leave
                // the placement unsure: ambiguous, never "not applied".
                let clock = self.client.clock();
                if let Some(why) = evidence::contradicts(&calls, calls_read, clock) {
                    return Ok(Judgement::Ambiguous(why));
                }
                // On our clock as it stands now, even if it stepped since that read.
                let (from_ms, to_ms) = intent.before.window_on(clock);
                let before_at = Window { from_ms, to_ms };
                let after = info.exact_balance();
                // Without a balance read before (a step a restore opened), the card's whole
                // history decides alone.
                let window = match intent.before.balance {
                    Some(before) => {
                        judge_balance(before, before_at, *amount, after, after_at, &calls, clock)
                    }
                    None => Verdict::Ambiguous("no balance was read before".into()),
                };
                let loaded = loaded_before(card);
                let history = judge_history(loaded, *amount, after, after_at, &calls, clock);
                // Opened by a restore on a card that may have changed since the copy: a change
                // of the same amount the copy does not hold would read alike. What the history
                // says is shown; a human decides.
                if intent.before.restored {
                    let (Verdict::Applied(e) | Verdict::NotApplied(e) | Verdict::Ambiguous(e)) =
                        history;
                    return Ok(Judgement::ForHuman(format!(
                        "{e}, by the history the restored ledger holds; the card may have taken \
                         changes after the copy was taken that it does not (a top-up, another \
                         redeem), so a human decides: look at the card in the ledger the \
                         restore replaced, or ask its holder"
                    )));
                }
                match combine(window, history) {
                    Verdict::Applied(e) => Judgement::Applied(e),
                    Verdict::NotApplied(e) => Judgement::NotApplied(e),
                    Verdict::Ambiguous(e) => Judgement::Ambiguous(e),
                }
            }
            IntentKind::RetailBlock | IntentKind::Block(_) => flag(info.blocked, "blocked"),
            IntentKind::Unblock | IntentKind::Sell { .. } => flag(!info.blocked, "unblocked"),
            IntentKind::AddNumber(n) => flag(info.numbers.contains(n), &format!("number {n}")),
            IntentKind::DeleteNumber(n) => {
                flag(!info.numbers.contains(n), &format!("number {n} gone"))
            }
            IntentKind::Password => {
                let Some(new) = card.pending_password.clone() else {
                    return Ok(Judgement::Ambiguous(
                        "the ledger has no pending password to check".into(),
                    ));
                };
                if self.opens(card, &new)? {
                    Judgement::Applied("the new password opens the account".into())
                } else if self.opens(card, &card.password)? {
                    Judgement::NotApplied("the old password still opens the account".into())
                } else {
                    Judgement::Ambiguous(
                        "neither the old nor the new password opens the account".into(),
                    )
                }
            }
        })
    }

    /// Records a new password as pending before a reset is sent; waits for the commit.
    pub fn record_pending_password(&self, card: &Card, password: &Secret) -> Result<(), String> {
        self.commit(|reply| Update::PendingPassword {
            card_id: card.id,
            password: password.clone(),
            reply,
        })
        .map(|_| ())
    }

    /// Lowers what a movement still deducts (see `money`), before its deduction is sent; waits
    /// for the commit.
    pub fn lower_movement(
        &self,
        movement: i64,
        amount: rust_decimal::Decimal,
        remainder: rust_decimal::Decimal,
    ) -> Result<(), String> {
        self.commit(|reply| Update::LowerMovement {
            movement,
            amount,
            remainder,
            reply,
        })
        .map(|_| ())
    }

    /// Records a runner decision in the journal (no request was sent).
    pub(crate) fn journal(
        &self,
        card_id: Option<i64>,
        command: &str,
        outcome: &str,
        detail: &str,
        elapsed: Duration,
        attempt: u32,
    ) {
        self.send(Update::Journal(JournalEntry {
            batch_id: self.batch_id.clone(),
            card_id,
            command: command.to_string(),
            outcome: outcome.to_string(),
            detail: detail.to_string(),
            duration_ms: elapsed.as_millis() as u64,
            attempt,
        }));
    }

    /// Journals how a card's job ended (`done`, `failed`, `unsettled`, `stopped`).
    fn journal_outcome(&self, card: &Card, outcome: &Outcome) {
        let detail = match outcome {
            Outcome::Failed(why) => why.to_string(),
            Outcome::Unsettled(why) => why.clone(),
            Outcome::Done | Outcome::Stopped => String::new(),
        };
        self.journal(
            Some(card.id),
            "card",
            outcome.name(),
            &detail,
            Duration::ZERO,
            1,
        );
    }

    /// Retires a card's code and returns the fresh one, once it is committed.
    pub fn replace_code(
        &self,
        card: &Card,
        spec: &CodeSpec,
        reason: &str,
    ) -> Result<String, String> {
        self.journal(
            Some(card.id),
            "retire-code",
            "code-retired",
            reason,
            Duration::ZERO,
            1,
        );
        self.commit(|reply| Update::ReplaceCode {
            card_id: card.id,
            spec: spec.clone(),
            reason: reason.to_string(),
            reply,
        })
    }

    /// The test hook: dies like kill -9 (no destructor, no flush) at the chosen point.
    fn kill_point(&self, kind: &IntentKind, when: &str) {
        let Some(kill) = &self.options.kill_at else {
            return;
        };
        if kill.point != format!("{}:{when}", kind.name())
            || self.kills.fetch_add(1, Ordering::SeqCst) + 1 != kill.nth
        {
            return;
        }
        let pid = std::process::id();
        let _ = std::process::Command::new("sh")
            .args(["-c", &format!("kill -KILL {pid}")])
            .status();
        std::process::abort();
    }
}

/// What the ledger has loaded on a card so far: its face value once credited, and the top-ups.
fn loaded_before(card: &Card) -> rust_decimal::Decimal {
    let face = if card.progress.credited
        || !matches!(card.state, CardState::Pending | CardState::Failed)
    {
        card.credit()
    } else {
        rust_decimal::Decimal::ZERO
    };
    face + card.topups
}

/// The remote command that carries a change.
fn command_of(kind: &IntentKind) -> Command {
    match kind {
        IntentKind::Create => Command::CreateCustomer,
        IntentKind::Credit(_)
        | IntentKind::Topup(_)
        | IntentKind::Redeem { .. }
        | IntentKind::Deduct { .. }
        | IntentKind::Move { .. } => Command::SetTransaction,
        IntentKind::RetailBlock
        | IntentKind::Block(_)
        | IntentKind::Unblock
        | IntentKind::Sell { .. }
        | IntentKind::AddNumber(_)
        | IntentKind::DeleteNumber(_) => Command::ChangeUserInfo,
        IntentKind::Password => Command::ResetPassword,
    }
}
