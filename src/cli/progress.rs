//! Progress: an indicatif bar on a terminal, a plain line every few seconds otherwise, nothing
//! with `--quiet`; both move with every request (cards done, requests made of those expected,
//! requests/s, an ETA from the requests left). Verbose notes go above the bar.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::Observer;

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    label: String,
    total: usize,
    bar: Option<ProgressBar>,
    plain: bool,
    verbose: bool,
    started: Instant,
    requests: AtomicU64,
    /// Requests expected in all: one a card until the run says more
    /// ([`Observer::expect_requests`]), never fewer than made.
    expected: AtomicU64,
    done: AtomicUsize,
    failed: AtomicUsize,
    last_line: Mutex<Instant>,
}

impl Progress {
    pub fn new(label: &str, total: usize, quiet: bool, verbose: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {msg}  ETA {eta}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            label: label.to_string(),
            total,
            bar,
            plain: !quiet && !terminal,
            verbose: verbose && !quiet,
            started: Instant::now(),
            requests: AtomicU64::new(0),
            expected: AtomicU64::new(total as u64),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// Requests per second so far, over at least one second: a run of three requests in 5 ms
    /// made 3 requests in its first second, not 600 a second.
    fn rate(&self) -> f64 {
        self.requests.load(Ordering::Relaxed) as f64 / self.started.elapsed().as_secs_f64().max(1.0)
    }

    /// Requests made, and expected in all.
    fn requests(&self) -> (u64, u64) {
        let made = self.requests.load(Ordering::Relaxed);
        (made, self.expected.load(Ordering::Relaxed).max(made))
    }

    /// What the bar's message and the plain line say: cards, requests, rate.
    fn summary(&self) -> String {
        let (made, expected) = self.requests();
        // A card may finish once in each pass of a run (settled, then provisioned): never
        // more cards finished than there are.
        let finished = self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        format!(
            "{}/{} cards, {made}/{expected} requests, {} failed, {:.0} requests/s",
            finished.min(self.total),
            self.total,
            self.failed.load(Ordering::Relaxed).min(self.total),
            self.rate()
        )
    }

    /// Seconds left at the rate so far, from the requests left (`None` before any request).
    fn eta(&self) -> Option<u64> {
        let (made, expected) = self.requests();
        (made > 0).then(|| ((expected - made) as f64 / self.rate()).ceil() as u64)
    }

    fn show(&self) {
        if let Some(bar) = &self.bar {
            let (made, expected) = self.requests();
            bar.set_length(expected);
            bar.set_position(made);
            bar.set_message(self.summary());
        }
        self.plain_line(false);
    }

    fn plain_line(&self, force: bool) {
        if !self.plain {
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if force || last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            let eta = match self.eta() {
                Some(s) if !force => format!(", about {s} s left"),
                _ => String::new(),
            };
            eprintln!("{}: {}{eta}", self.label, self.summary());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        // A run that sent nothing (a step with nothing left to do) leaves no line behind.
        if self.requests.load(Ordering::Relaxed) > 0 {
            self.plain_line(true);
        }
    }
}

impl Observer for Progress {
    fn expect_requests(&self, n: u64) {
        self.expected
            .store(self.requests.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        self.show();
    }

    fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.show();
    }

    fn item_finished(&self, ok: bool) {
        if ok { &self.done } else { &self.failed }.fetch_add(1, Ordering::Relaxed);
        self.show();
    }

    fn note(&self, message: &str) {
        if !self.verbose {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_moves_with_every_request_and_counts_down_from_the_requests_left() {
        let p = Progress::new("B0001", 300, true, false);
        p.expect_requests(900);
        assert_eq!(p.eta(), None, "no rate yet");
        for _ in 0..90 {
            p.request();
        }
        // No card finished yet (every card's creation first), yet it moved: 90 of 900.
        assert!(
            p.summary().starts_with("0/300 cards, 90/900 requests"),
            "{}",
            p.summary()
        );
        // 90 requests in under a second count as 90 a second: 810 left, 9 s.
        assert_eq!(p.eta(), Some(9));
        // More requests than expected (retries) never go past the end.
        for _ in 0..1000 {
            p.request();
        }
        assert_eq!(p.requests(), (1090, 1090));
        // A card finished in two passes of one run counts once (it said 2/1).
        let p = Progress::new("B0002", 1, true, false);
        p.item_finished(true);
        p.item_finished(true);
        assert!(p.summary().starts_with("1/1 cards"), "{}", p.summary());
    }
}
