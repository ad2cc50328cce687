//! The shared throttle: a request-rate limit that no one-second window may exceed, and a cap on
//! requests in flight that halves on signs of overload and recovers slowly.
//!
//! The pacing maths is a pure struct driven by explicit instants, so it is tested without
//! sleeping; [`Throttle`] adds the locks and the sleeping.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Extra room on the one-second window: requests leave the client and reach the server with
/// some jitter (on a loaded 2-core machine, up to ~20 ms was measured between two requests), and
/// the server must still never see more than `rate` in any second. 40 ms costs 4 % of the
/// nominal rate (100/s sustains about 96/s).
const WINDOW_MARGIN: Duration = Duration::from_millis(40);
const WINDOW: Duration = Duration::from_secs(1);

/// Request pacing: GCRA (a leaky bucket with a small burst) spaces the requests; a log of the
/// last `rate` departures holds back any request that would make a one-second window exceed
/// `rate`. The log records actual departures (not reserved slots), so a worker that wakes late
/// from its sleep cannot squeeze a window.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    tolerance: Duration,
    tat: Option<Instant>,
    window: VecDeque<Instant>,
    window_cap: usize,
}

impl Pacer {
    /// `rate` requests per second with bursts of up to `burst` back to back.
    pub fn new(rate: f64, burst: u32) -> Pacer {
        assert!(rate > 0.0 && rate.is_finite(), "rate {rate}");
        let interval = Duration::from_secs_f64(1.0 / rate);
        Pacer {
            interval,
            tolerance: interval * burst.saturating_sub(1),
            tat: None,
            window: VecDeque::new(),
            window_cap: (rate.floor() as usize).max(1),
        }
    }

    /// Reserves the next paced slot at or after `now` and returns it.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let tat = self.tat.unwrap_or(now);
        let slot = now.max(tat.checked_sub(self.tolerance).unwrap_or(now));
        self.tat = Some(tat.max(slot) + self.interval);
        slot
    }

    /// Records a departure at `now`, or says until when it must wait so that no one-second
    /// window holds more than `rate` departures.
    pub fn depart(&mut self, now: Instant) -> Result<(), Instant> {
        if self.window.len() == self.window_cap {
            let allowed = self.window[0] + WINDOW + WINDOW_MARGIN;
            if now < allowed {
                return Err(allowed);
            }
            self.window.pop_front();
        }
        self.window.push_back(now);
        Ok(())
    }
}

#[derive(Debug)]
struct Limit {
    max: usize,
    current: f64,
    in_flight: usize,
    last_cut: Option<Instant>,
}

/// Shared by every worker: the only mutable thing they share.
#[derive(Debug)]
pub struct Throttle {
    pacer: Mutex<Pacer>,
    limit: Mutex<Limit>,
    freed: Condvar,
}

/// A request's place in flight; give it back with [`Throttle::release`].
#[must_use]
pub struct Permit(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Throttle {
    pub fn new(rate: f64, burst: u32, concurrency: usize) -> Throttle {
        Throttle {
            pacer: Mutex::new(Pacer::new(rate, burst)),
            limit: Mutex::new(Limit {
                max: concurrency.max(1),
                current: concurrency.max(1) as f64,
                in_flight: 0,
                last_cut: None,
            }),
            freed: Condvar::new(),
        }
    }

    /// Waits for a place in flight, then for the next rate slot.
    pub fn acquire(&self) -> Permit {
        let mut limit = lock(&self.limit);
        while limit.in_flight >= limit.current.floor().max(1.0) as usize {
            limit = self.freed.wait(limit).unwrap_or_else(|e| e.into_inner());
        }
        limit.in_flight += 1;
        drop(limit);
        let slot = lock(&self.pacer).reserve(Instant::now());
        sleep_until(slot);
        loop {
            let verdict = lock(&self.pacer).depart(Instant::now());
            match verdict {
                Ok(()) => return Permit(()),
                Err(until) => sleep_until(until),
            }
        }
    }

    /// Gives the place back. On overload the cap halves (at most once a second); each success
    /// raises it by 1/cap, so it takes about `cap` successes to grow by one.
    pub fn release(&self, permit: Permit, overload: bool) {
        let Permit(()) = permit;
        let mut limit = lock(&self.limit);
        limit.in_flight -= 1;
        if overload {
            let now = Instant::now();
            if limit
                .last_cut
                .is_none_or(|t| now - t >= Duration::from_secs(1))
            {
                limit.current = (limit.current / 2.0).max(1.0);
                limit.last_cut = Some(now);
            }
        } else {
            limit.current = (limit.current + 1.0 / limit.current).min(limit.max as f64);
        }
        drop(limit);
        self.freed.notify_all();
    }

    /// The current cap on requests in flight.
    pub fn concurrency(&self) -> usize {
        lock(&self.limit).current.floor() as usize
    }
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Exponential backoff with full jitter: uniform in `0..=min(cap, base * 2^attempt)`, drawn
/// from `random`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, random: u64) -> Duration {
    let ceiling = base
        .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
        .min(cap);
    let nanos = ceiling.as_nanos() as u64;
    Duration::from_nanos(if nanos == 0 { 0 } else { random % (nanos + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_in_any_window(slots: &[Instant]) -> usize {
        let mut best = 0;
        let mut j = 0;
        for i in 0..slots.len() {
            while slots[i] - slots[j] >= WINDOW {
                j += 1;
            }
            best = best.max(i - j + 1);
        }
        best
    }

    #[test]
    fn no_one_second_window_exceeds_the_rate_even_with_a_burst() {
        for (rate, burst) in [(100.0, 5), (10.0, 3), (1000.0, 20), (2.0, 2)] {
            let mut p = Pacer::new(rate, burst);
            let t0 = Instant::now();
            // Everyone asks at once, all the time, and some wake up late from their sleep.
            let mut slots: Vec<Instant> = Vec::new();
            for i in 0..3000u32 {
                let late = Duration::from_millis(u64::from(i * 7919 % 41));
                let mut t = p.reserve(t0) + late;
                while let Err(until) = p.depart(t) {
                    t = until;
                }
                slots.push(t);
            }
            slots.sort();
            assert!(max_in_any_window(&slots) <= rate.floor() as usize, "{rate}");
            // And the sustained rate is close to the limit.
            let span = (*slots.last().unwrap() - slots[0]).as_secs_f64();
            let achieved = (slots.len() - 1) as f64 / span;
            assert!(achieved >= rate * 0.95, "{rate}: {achieved}");
        }
    }

    #[test]
    fn burst_goes_out_at_once_then_pacing() {
        let mut p = Pacer::new(10.0, 3);
        let t0 = Instant::now();
        let slots: Vec<Duration> = (0..5)
            .map(|_| {
                let t = p.reserve(t0);
                p.depart(t).unwrap();
                t - t0
            })
            .collect();
        assert_eq!(&slots[..3], &[Duration::ZERO; 3]);
        assert_eq!(slots[3], Duration::from_millis(100));
        assert_eq!(slots[4], Duration::from_millis(200));
        // A quiet spell refills the burst.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(p.reserve(later), later);
    }

    #[test]
    fn overload_halves_concurrency_and_success_recovers_slowly() {
        let t = Throttle::new(1000.0, 1, 32);
        let p = t.acquire();
        t.release(p, true);
        assert_eq!(t.concurrency(), 16);
        let p = t.acquire();
        t.release(p, true); // within a second of the last cut: no second cut
        assert_eq!(t.concurrency(), 16);
        for _ in 0..16 {
            let p = t.acquire();
            t.release(p, false);
        }
        assert_eq!(t.concurrency(), 16, "about 16 successes per step");
        for _ in 0..40 {
            let p = t.acquire();
            t.release(p, false);
        }
        assert!(t.concurrency() >= 18);
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        assert_eq!(
            backoff(0, base, cap, u64::MAX),
            Duration::from_nanos(u64::MAX % 100_000_001)
        );
        assert!(backoff(3, base, cap, u64::MAX - 7) <= Duration::from_millis(800));
        assert!(backoff(30, base, cap, 12345) <= cap);
        assert_eq!(backoff(5, base, cap, 0), Duration::ZERO);
    }
}
