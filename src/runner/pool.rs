//! The worker pool: plain threads sharing the throttle and one queue of jobs. A job whose
//! change has an unknown outcome waits (off the workers) until its settle read is due, while
//! the workers go on with other jobs; the run ends when every job is finished.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::outcome::{Outcome, Report};
use super::throttle::Throttle;
use super::writer::{self, Update};
use super::{Ctx, Observer, Options, RunError};
use crate::api::Client;
use crate::codes::{Draw, OsRandom};
use crate::ledger::Card;

/// What a job's step returns.
#[derive(Debug)]
pub enum Step {
    /// The job is finished.
    Finished(Outcome),
    /// Come back to this job at that instant (a settle read waits for late changes to land).
    Wait(Instant),
    /// Come back to this job after a while of other jobs' work: its next step goes behind
    /// those of the cards around it, so that a settle wait on one card overlaps with the
    /// others' work instead of piling up at the end of the run.
    Yield,
}

/// Where and how a run goes.
pub struct Run<'a> {
    pub client: &'a Client,
    /// The ledger the writer thread opens.
    pub ledger: &'a Path,
    /// The batch the journal rows belong to.
    pub batch_id: Option<&'a str>,
    pub options: &'a Options,
    pub observer: &'a dyn Observer,
    /// A throttle shared with other runs and requests (the portal's); `None`: the run's own,
    /// from `options`.
    pub throttle: Option<&'a Throttle>,
}

struct Queue<J> {
    ready: VecDeque<J>,
    /// Jobs waiting for their instant, in no particular order (few at a time).
    waiting: Vec<(Instant, J)>,
    busy: usize,
}

impl<J> Queue<J> {
    /// Moves the jobs that are due to the ready queue; returns the next instant one is due.
    fn wake(&mut self, now: Instant) -> Option<Instant> {
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].0 <= now {
                let (_, job) = self.waiting.swap_remove(i);
                self.ready.push_back(job);
            } else {
                i += 1;
            }
        }
        self.waiting.iter().map(|(at, _)| *at).min()
    }
}

/// A job of the runner: the work on one card.
pub trait Job: Send {
    fn card(&self) -> &Card;
}

impl Job for Card {
    fn card(&self) -> &Card {
        self
    }
}

/// Runs `step` on every job with `options.concurrency` workers, until each job is finished.
/// How each ended goes into the report (by serial) and the journal.
pub fn run<J: Job>(
    run: &Run<'_>,
    jobs: Vec<J>,
    step: impl Fn(&mut Ctx<'_>, &mut J) -> Step + Sync,
) -> Result<Report, RunError> {
    let Run {
        client,
        ledger: ledger_path,
        batch_id,
        options,
        observer,
        throttle: shared,
    } = *run;
    let started = Instant::now();
    let own;
    let throttle = match shared {
        Some(t) => t,
        None => {
            own = Throttle::new(options.rate, options.burst, options.concurrency);
            &own
        }
    };
    let stop = AtomicBool::new(false);
    let stop_reason = Mutex::new(None);
    let requests = AtomicU64::new(0);
    let kills = AtomicU32::new(0);
    let queue = Mutex::new(Queue {
        ready: jobs.into_iter().collect(),
        waiting: Vec::new(),
        busy: 0,
    });
    let changed = Condvar::new();
    // How far back a yielding job goes: about one settle delay of requests, and never less
    // than a round of the workers. A card whose change waits for its settle read then comes
    // back while the others' work goes on, rather than after it.
    let window =
        ((options.rate * options.settle_delay.as_secs_f64()) as usize).max(options.concurrency * 2);
    let results = Mutex::new(Report::default());
    let (tx, rx) = mpsc::channel::<Update>();
    let writer_path = ledger_path.to_path_buf();
    let writer = std::thread::Builder::new()
        .name("ledger-writer".into())
        .spawn(move || writer::write_updates(writer_path, rx))
        .map_err(|e| RunError::Panic(e.to_string()))?;
    let panic = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.concurrency.max(1))
            .map(|_| {
                let mut ctx = Ctx {
                    client,
                    batch_id: batch_id.map(str::to_string),
                    options,
                    throttle,
                    updates: tx.clone(),
                    stop: &stop,
                    stop_reason: &stop_reason,
                    requests: &requests,
                    kills: &kills,
                    observer,
                    draw: Draw::new(OsRandom),
                };
                let (queue, changed, results, step) = (&queue, &changed, &results, &step);
                scope.spawn(move || {
                    while let Some(mut job) = next_job(queue, changed, &ctx) {
                        let outcome = if ctx.stopped() {
                            Step::Finished(Outcome::Stopped)
                        } else {
                            step(&mut ctx, &mut job)
                        };
                        let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
                        q.busy -= 1;
                        match outcome {
                            Step::Wait(at) => q.waiting.push((at, job)),
                            Step::Yield => {
                                let at = q.ready.len().min(window);
                                q.ready.insert(at, job);
                            }
                            Step::Finished(outcome) => {
                                drop(q);
                                ctx.journal_outcome(job.card(), &outcome);
                                record(results, observer, job.card().serial.clone(), outcome);
                            }
                        }
                        changed.notify_all();
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
        .map_err(|_| RunError::Panic("the ledger writer panicked".into()))?;
    if let Some(p) = panic {
        return Err(RunError::Panic(p));
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

/// The next job for a worker: a ready one, or the first waiting one when it is due. `None` when
/// no job is left anywhere (nor in another worker's hands, which may give one back to wait).
fn next_job<J>(queue: &Mutex<Queue<J>>, changed: &Condvar, ctx: &Ctx<'_>) -> Option<J> {
    let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        // A stopped run does not wait for settle reads: those jobs end as unfinished (their
        // intents stay open in the ledger for `settle` and `resume`).
        let next_due = if ctx.stopped() {
            let waiting = std::mem::take(&mut q.waiting);
            q.ready.extend(waiting.into_iter().map(|(_, j)| j));
            None
        } else {
            q.wake(Instant::now())
        };
        if let Some(job) = q.ready.pop_front() {
            q.busy += 1;
            return Some(job);
        }
        if q.busy == 0 && q.waiting.is_empty() {
            changed.notify_all();
            return None;
        }
        // Woken at least every tenth of a second: Ctrl-C or SIGTERM ends a settle wait at
        // once (it waited out the whole delay, a minute by default), intents left open.
        let timeout = next_due
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(INTERRUPT_POLL)
            .clamp(Duration::from_millis(1), INTERRUPT_POLL);
        q = changed
            .wait_timeout(q, timeout)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// How often a waiting worker looks for Ctrl-C or SIGTERM.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);

fn record(results: &Mutex<Report>, observer: &dyn Observer, label: String, outcome: Outcome) {
    let mut r = results.lock().unwrap_or_else(PoisonError::into_inner);
    match outcome {
        Outcome::Done => {
            r.done += 1;
            observer.item_finished(true);
        }
        Outcome::Failed(why) => {
            r.failed.push((label, why));
            observer.item_finished(false);
        }
        Outcome::Unsettled(why) => {
            r.unsettled.push((label, why));
            observer.item_finished(false);
        }
        Outcome::Stopped => r.unfinished += 1,
    }
}
