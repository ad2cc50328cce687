//! The runner shared by every command that talks to the platform: a pool of worker threads,
//! the shared throttle, retries with backoff, the journal, and the one ledger writer.
//!
//! Workers share nothing mutable but the throttle; everything they learn travels over a
//! channel to the writer thread, which commits it in small grouped transactions.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::throttle::{Throttle, backoff};
use crate::api::{ApiError, Client, Command};
use crate::codes::{CodeSpec, Draw, OsRandom};
use crate::ledger::{CardState, JournalEntry, Ledger, LedgerError, Progress};

/// How hard to drive the platform.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Worker threads, and the most requests in flight.
    pub concurrency: usize,
    /// Requests per second, never exceeded in any one-second window.
    pub rate: f64,
    /// Requests that may go back to back before pacing starts.
    pub burst: u32,
    /// Tries of one step before its card is given up (resume tries again).
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 8,
            rate: 10.0,
            burst: 3,
            max_attempts: 8,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(10),
        }
    }
}

/// What the engine tells the person watching (progress bar, log lines).
pub trait Observer: Send + Sync {
    fn request(&self) {}
    fn item_finished(&self, _ok: bool) {}
    /// A detail for `--verbose`: retries, reconciliations, retired codes. Never a secret.
    fn note(&self, _message: &str) {}
}

/// An observer that shows nothing.
pub struct Silent;
impl Observer for Silent {}

/// A change for the ledger writer.
pub(crate) enum Update {
    Progress(i64, Progress),
    State(i64, CardState, Option<String>),
    BlockReason(i64, Option<String>),
    /// The pending password is the account's now.
    ConfirmPassword(i64),
    Numbers(i64, Vec<String>),
    /// Credit loaded after issue (negative: deducted).
    Topup(i64, rust_decimal::Decimal),
    Journal(JournalEntry),
    /// Retire a card's code and draw a new one; the reply comes after the commit.
    ReplaceCode {
        card_id: i64,
        spec: CodeSpec,
        reason: String,
        reply: SyncSender<Result<String, String>>,
    },
}

/// How one item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Done,
    Failed(String),
    /// Not finished because the run was stopped.
    Stopped,
}

/// Why a request did not give an answer to act on.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Sent, no valid answer: the change may have been applied. Reconcile before retrying.
    Unknown(ApiError),
    /// The platform refused (permanent for this item).
    Refused(ApiError),
    /// Retried until the attempts ran out.
    GaveUp(ApiError),
    /// The run is stopping (wrong reseller login, no credit, ledger failure).
    Stopped,
}

/// The summary of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub done: usize,
    /// (item label, reason), in the order they failed.
    pub failed: Vec<(String, String)>,
    /// Items not finished because the run stopped.
    pub unfinished: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    pub requests: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("a worker thread panicked: {0}")]
    Panic(String),
}

/// What a worker may use while handling an item.
pub struct Ctx<'a> {
    pub(crate) client: &'a Client,
    pub(crate) batch_id: Option<String>,
    options: &'a EngineOptions,
    throttle: &'a Throttle,
    updates: Sender<Update>,
    stop: &'a AtomicBool,
    stop_reason: &'a Mutex<Option<String>>,
    requests: &'a AtomicU64,
    observer: &'a dyn Observer,
    draw: Draw<OsRandom>,
}

impl Ctx<'_> {
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops the run: workers finish the request in hand and take no new item.
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

    pub(crate) fn send(&self, update: Update) {
        if self.updates.send(update).is_err() {
            self.stop("the ledger writer stopped".into());
        }
    }

    pub fn note(&self, message: &str) {
        self.observer.note(message);
    }

    pub fn options(&self) -> &EngineOptions {
        self.options
    }

    /// Sleeps before retry number `attempt` (exponential backoff, full jitter).
    pub fn back_off(&mut self, attempt: u32) {
        let random = self.draw.u64().unwrap_or(0);
        std::thread::sleep(backoff(
            attempt,
            self.options.backoff_base,
            self.options.backoff_cap,
            random,
        ));
    }

    /// Sends one request through the throttle and journals it. Requests that certainly were
    /// not sent are retried here (backoff, up to `max_attempts`); the other failures go back to
    /// the caller, who knows how to reconcile.
    pub(crate) fn request<T>(
        &mut self,
        card_id: Option<i64>,
        command: Command,
        f: impl Fn(&Client) -> Result<T, ApiError>,
    ) -> Result<T, Failure> {
        let mut attempt = 0;
        loop {
            if self.stopped() {
                return Err(Failure::Stopped);
            }
            attempt += 1;
            let permit = self.throttle.acquire();
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
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.stops_everything() => {
                    self.stop(e.to_string());
                    return Err(Failure::Stopped);
                }
                Err(e) if e.is_safe_to_retry() => {
                    if attempt >= self.options.max_attempts {
                        return Err(Failure::GaveUp(e));
                    }
                    self.note(&format!("retrying: {e}"));
                    self.back_off(attempt);
                }
                Err(e) if e.may_have_applied() => return Err(Failure::Unknown(e)),
                Err(e) => return Err(Failure::Refused(e)),
            }
        }
    }

    /// Records an engine decision in the journal (no request was sent).
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

    /// Retires a card's code and returns the fresh one, once it is committed.
    pub(crate) fn replace_code(
        &self,
        card_id: i64,
        spec: &CodeSpec,
        reason: &str,
    ) -> Result<String, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Update::ReplaceCode {
            card_id,
            spec: spec.clone(),
            reason: reason.to_string(),
            reply,
        });
        answer
            .recv()
            .unwrap_or_else(|_| Err("the ledger writer stopped".into()))
    }
}

/// Where and how a run goes.
pub struct Run<'a> {
    pub client: &'a Client,
    /// The ledger the writer thread opens.
    pub ledger: &'a Path,
    /// The batch the journal rows belong to.
    pub batch_id: Option<&'a str>,
    pub options: &'a EngineOptions,
    pub observer: &'a dyn Observer,
}

/// Runs `work` on every item with `options.concurrency` workers. `label` names an item in the
/// report (a serial). Returns when every item is done, failed or left by a stop.
pub fn run<I: Send>(
    run: &Run<'_>,
    items: Vec<I>,
    label: impl Fn(&I) -> String + Sync,
    work: impl Fn(&mut Ctx<'_>, &I) -> ItemOutcome + Sync,
) -> Result<Report, EngineError> {
    let Run {
        client,
        ledger: ledger_path,
        batch_id,
        options,
        observer,
    } = *run;
    let started = Instant::now();
    let throttle = Throttle::new(options.rate, options.burst, options.concurrency);
    let stop = AtomicBool::new(false);
    let stop_reason = Mutex::new(None);
    let requests = AtomicU64::new(0);
    let queue = Mutex::new(items.into_iter().collect::<VecDeque<I>>());
    let results = Mutex::new(Report::default());
    let (tx, rx) = mpsc::channel::<Update>();
    let writer_path = ledger_path.to_path_buf();
    let writer = std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || write_updates(writer_path, rx))
        .map_err(|e| EngineError::Panic(e.to_string()))?;
    let panic = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.concurrency.max(1))
            .map(|_| {
                let mut ctx = Ctx {
                    client,
                    batch_id: batch_id.map(str::to_string),
                    options,
                    throttle: &throttle,
                    updates: tx.clone(),
                    stop: &stop,
                    stop_reason: &stop_reason,
                    requests: &requests,
                    observer,
                    draw: Draw::new(OsRandom),
                };
                let (queue, results, work, label) = (&queue, &results, &work, &label);
                scope.spawn(move || {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .pop_front();
                        let Some(item) = next else { break };
                        let outcome = if ctx.stopped() {
                            ItemOutcome::Stopped
                        } else {
                            work(&mut ctx, &item)
                        };
                        let mut r = results.lock().unwrap_or_else(PoisonError::into_inner);
                        match outcome {
                            ItemOutcome::Done => {
                                r.done += 1;
                                observer.item_finished(true);
                            }
                            ItemOutcome::Failed(reason) => {
                                r.failed.push((label(&item), reason));
                                observer.item_finished(false);
                            }
                            ItemOutcome::Stopped => r.unfinished += 1,
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().err())
            .map(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into())
            })
            .next()
    });
    drop(tx);
    let written = writer
        .join()
        .map_err(|_| EngineError::Panic("the ledger writer panicked".into()))?;
    if let Some(p) = panic {
        return Err(EngineError::Panic(p));
    }
    written?;
    let mut report = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    report.stopped = stop_reason
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    report.requests = requests.load(Ordering::Relaxed);
    report.elapsed = started.elapsed();
    Ok(report)
}

/// How long the writer waits to group more updates into one transaction.
const GROUP_WINDOW: Duration = Duration::from_millis(20);
const GROUP_MAX: usize = 1000;

/// The one ledger writer: commits updates in small groups until every sender is gone.
fn write_updates(path: PathBuf, rx: Receiver<Update>) -> Result<(), LedgerError> {
    let mut ledger = Ledger::open(&path)?;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        let deadline = Instant::now() + GROUP_WINDOW;
        while group.len() < GROUP_MAX {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(u) => group.push(u),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let mut replies = Vec::new();
        ledger.write(|w| {
            for update in &group {
                match update {
                    Update::Progress(id, p) => w.set_progress(*id, *p)?,
                    Update::State(id, s, why) => w.set_state(*id, *s, why.as_deref())?,
                    Update::BlockReason(id, why) => w.set_block_reason(*id, why.as_deref())?,
                    Update::ConfirmPassword(id) => w.confirm_password(*id)?,
                    Update::Numbers(id, n) => w.set_numbers(*id, n)?,
                    Update::Topup(id, amount) => w.add_topup(*id, *amount)?,
                    Update::Journal(e) => w.journal(e)?,
                    Update::ReplaceCode {
                        card_id,
                        spec,
                        reason,
                        reply,
                    } => {
                        let code = w.replace_code(*card_id, spec, reason)?;
                        replies.push((reply.clone(), code));
                    }
                }
            }
            Ok(())
        })?;
        for (reply, code) in replies {
            let _ = reply.send(Ok(code));
        }
    }
    Ok(())
}
