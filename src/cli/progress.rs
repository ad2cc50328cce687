//! Progress: an indicatif bar (cards done, requests/s, ETA) on a terminal, a plain line every
//! few seconds otherwise, nothing with `--quiet`. Verbose notes go above the bar.

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
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} cards  {msg}  ETA {eta}",
                )
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

    fn plain_line(&self, force: bool) {
        if !self.plain {
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if force || last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            eprintln!(
                "{}: {}/{} cards, {} failed, {:.0} requests/s",
                self.label,
                self.done.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed),
                self.total,
                self.failed.load(Ordering::Relaxed),
                self.rate()
            );
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.plain_line(true);
    }
}

impl Observer for Progress {
    fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{:.0} req/s", self.rate()));
        }
        self.plain_line(false);
    }

    fn item_finished(&self, ok: bool) {
        if ok { &self.done } else { &self.failed }.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.plain_line(false);
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
