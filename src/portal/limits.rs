//! Sign-in limits: failures counted per client address and per login (or code), each with an
//! exponential lockout, so that whatever an attacker sends, the platform sees a handful of
//! validateuser requests per code and per address. A locked-out attempt is answered without
//! asking anyone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures a key may have before it is locked out, and for how long at first.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub free: u32,
    pub first: Duration,
    pub max: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    until: Option<Instant>,
    last: Instant,
}

/// Failures by key (`addr:1.2.3.4`, `login:...`), with their lockouts.
pub struct Limiter {
    map: Mutex<HashMap<String, Record>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl Limiter {
    /// When the key's lockout ends, if it is locked out now.
    pub fn locked(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .and_then(|r| r.until)
            .filter(|u| *u > now)
            .map(|u| u - now)
    }

    /// Counts a failure; past `rule.free`, locks the key out for `first` doubled at every
    /// further failure, up to `max`.
    pub fn fail(&self, key: &str, rule: Rule) {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Old records give way; a key seen within the day stays.
            map.retain(|_, r| now.duration_since(r.last) < Duration::from_secs(86_400));
        }
        let r = map.entry(key.to_string()).or_insert(Record {
            failures: 0,
            until: None,
            last: now,
        });
        // A day without failures forgets them.
        if now.duration_since(r.last) > Duration::from_secs(86_400) {
            r.failures = 0;
        }
        r.failures += 1;
        r.last = now;
        if r.failures > rule.free {
            let doublings = (r.failures - rule.free - 1).min(20);
            let lock = rule.first.saturating_mul(1 << doublings).min(rule.max);
            r.until = Some(now + lock);
        }
    }

    /// Takes back one failure counted ahead (an attempt counted before it was checked, that
    /// then succeeded); the lockout is left as it is.
    pub fn undo(&self, key: &str) {
        if let Some(r) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
        {
            r.failures = r.failures.saturating_sub(1);
        }
    }

    /// A success forgets the key's failures.
    pub fn succeed(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_start_after_the_free_failures_and_double() {
        let l = Limiter::default();
        let rule = Rule {
            free: 2,
            first: Duration::from_secs(10),
            max: Duration::from_secs(25),
        };
        l.fail("k", rule);
        l.fail("k", rule);
        assert!(l.locked("k").is_none());
        l.fail("k", rule);
        let first = l.locked("k").unwrap();
        assert!(first <= Duration::from_secs(10) && first > Duration::from_secs(9));
        l.fail("k", rule);
        assert!(l.locked("k").unwrap() > Duration::from_secs(19));
        l.fail("k", rule);
        assert!(l.locked("k").unwrap() <= Duration::from_secs(25), "capped");
        l.succeed("k");
        assert!(l.locked("k").is_none());
        assert!(l.locked("other").is_none());
    }
}
