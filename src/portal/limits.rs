//! Sign-in limits, against one client and against many.
//!
//! - Failures are counted per client **network** ([`network`]: an IPv4 address, an IPv6 /64 by
//!   default, since one host is given a whole /64) and per **login or code** across every
//!   address, each with an exponential lockout ([`Rule`]). A locked-out attempt is answered
//!   without asking anyone.
//! - A global **ceiling** ([`Ceiling`]) bounds the failed sign-in checks a minute, whatever the
//!   number of addresses (a check takes its place before it is made, and a success gives it
//!   back): past it an attempt is answered as failed, later than usual, without a check, and
//!   counted. Each check asks the platform at most one validateuser, so the platform is never
//!   asked more than the ceiling a minute, plus one per holder who signs in.
//!
//! Every method has an `_at` form taking the time, so that a day of a botnet can be played in
//! a test in a moment (see the tests: the figures docs/guide/portal.md quotes).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures a key may have before it is locked out, and for how long at first.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub free: u32,
    pub first: Duration,
    pub max: Duration,
}

/// Failed sign-ins from one network: ten free, then locked out 30 s, doubling up to an hour.
pub const PER_NETWORK: Rule = Rule {
    free: 10,
    first: Duration::from_secs(30),
    max: Duration::from_secs(3600),
};
/// Failed sign-ins on one login or code, from anywhere: three free, then a minute, doubling up
/// to a day.
pub const PER_LOGIN: Rule = Rule {
    free: 3,
    first: Duration::from_secs(60),
    max: Duration::from_secs(86_400),
};
/// Wrong codes typed into "redeem", per account and per network.
pub const REDEEM: Rule = Rule {
    free: 5,
    first: Duration::from_secs(60),
    max: Duration::from_secs(86_400),
};

/// Sign-in checks a minute for the whole portal by default (`[portal]
/// signin_checks_per_minute`).
pub const CHECKS_PER_MINUTE: u32 = 120;

/// Keys kept at most: past them (a flood of new networks), new keys count as locked out.
const MOST_KEYS: usize = 1_000_000;

/// The network a client address is counted by: an IPv4 address as it is (an IPv4-mapped IPv6
/// address too), an IPv6 address by its first `v6_prefix` bits.
pub fn network(ip: IpAddr, v6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let bits = u32::from(v6_prefix.clamp(1, 128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let net = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{net}/{bits}")
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    until: Option<Instant>,
    last: Instant,
}

/// Failures by key (`net:...`, `login:...`), with their lockouts.
pub struct Limiter {
    map: Mutex<Keys>,
}

struct Keys {
    records: HashMap<String, Record>,
    swept: Option<Instant>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            map: Mutex::new(Keys {
                records: HashMap::new(),
                swept: None,
            }),
        }
    }
}

const DAY: Duration = Duration::from_secs(86_400);

impl Limiter {
    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the key's lockout ends, if it is locked out now.
    pub fn locked(&self, key: &str) -> Option<Duration> {
        self.locked_at(key, Instant::now())
    }

    pub fn locked_at(&self, key: &str, now: Instant) -> Option<Duration> {
        lock_of(&self.keys(), key, now)
    }

    /// Counts a failure; past `rule.free`, locks the key out for `first` doubled at every
    /// further failure, up to `max`.
    pub fn fail(&self, key: &str, rule: Rule) {
        self.fail_at(key, rule, Instant::now());
    }

    pub fn fail_at(&self, key: &str, rule: Rule, now: Instant) {
        count(&mut self.keys(), key, rule, now);
    }

    /// An attempt, counted as a failure on every key before it is checked, in one step: if a
    /// key is locked out, nothing is counted and the longest wait is given. Attempts that
    /// arrive together are counted one after the other, so a burst gets no more checks than
    /// attempts made one by one. A success then takes its counts back ([`Limiter::undo`],
    /// [`Limiter::succeed`]).
    pub fn attempt(&self, keys: &[(&str, Rule)]) -> Result<(), Duration> {
        self.attempt_at(keys, Instant::now())
    }

    pub fn attempt_at(&self, keys: &[(&str, Rule)], now: Instant) -> Result<(), Duration> {
        let mut map = self.keys();
        let wait = keys
            .iter()
            .filter_map(|(key, _)| lock_of(&map, key, now))
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, rule) in keys {
            count(&mut map, key, *rule, now);
        }
        Ok(())
    }

    /// Takes back one failure counted ahead (an attempt counted before it was checked, that
    /// then succeeded); the lockout is left as it is.
    pub fn undo(&self, key: &str) {
        if let Some(r) = self.keys().records.get_mut(key) {
            r.failures = r.failures.saturating_sub(1);
        }
    }

    /// A success forgets the key's failures.
    pub fn succeed(&self, key: &str) {
        self.keys().records.remove(key);
    }
}

/// How long `key` is locked out for, at `now`.
fn lock_of(keys: &Keys, key: &str, now: Instant) -> Option<Duration> {
    match keys.records.get(key) {
        Some(r) => r.until.filter(|u| *u > now).map(|u| u - now),
        // A table full of live keys: a new one waits a minute.
        None if keys.records.len() >= MOST_KEYS => Some(Duration::from_secs(60)),
        None => None,
    }
}

/// Counts a failure of `key` at `now` (see [`Limiter::fail`]).
fn count(keys: &mut Keys, key: &str, rule: Rule, now: Instant) {
    // Keys a day old give way, swept at most once a minute (never a scan per request).
    if keys.records.len() > 100_000
        && keys
            .swept
            .is_none_or(|s| now.duration_since(s) > Duration::from_secs(60))
    {
        keys.records
            .retain(|_, r| now.saturating_duration_since(r.last) < DAY);
        keys.swept = Some(now);
    }
    if keys.records.len() >= MOST_KEYS && !keys.records.contains_key(key) {
        return;
    }
    let r = keys.records.entry(key.to_string()).or_insert(Record {
        failures: 0,
        until: None,
        last: now,
    });
    // A day without failures forgets them.
    if now.saturating_duration_since(r.last) > DAY {
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

/// The global ceiling on sign-in checks: a bucket of `per_minute` tokens refilled evenly.
pub struct Ceiling {
    per_minute: u32,
    bucket: Mutex<(f64, Option<Instant>)>,
}

impl Ceiling {
    pub fn new(per_minute: u32) -> Ceiling {
        let per_minute = per_minute.max(1);
        Ceiling {
            per_minute,
            bucket: Mutex::new((f64::from(per_minute), None)),
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes a check if one is left this minute.
    pub fn take(&self) -> bool {
        self.take_at(Instant::now())
    }

    /// Returns a check that succeeded: the ceiling bounds failures, and a holder signing in
    /// takes nothing from it.
    pub fn give_back(&self) {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        b.0 = (b.0 + 1.0).min(f64::from(self.per_minute));
    }

    pub fn take_at(&self, now: Instant) -> bool {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let cap = f64::from(self.per_minute);
        if let Some(last) = b.1 {
            let refill = now.saturating_duration_since(last).as_secs_f64() * cap / 60.0;
            b.0 = (b.0 + refill).min(cap);
        }
        b.1 = Some(now);
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

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

    #[test]
    fn an_attempt_is_counted_on_every_key_before_its_check_or_not_at_all() {
        let l = Limiter::default();
        let rule = Rule {
            free: 2,
            first: Duration::from_secs(10),
            max: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        // A burst on one code from two networks: three pass (two free, the third locks).
        let passed = (0..20)
            .filter(|i| {
                let net = format!("net:{}", i % 2);
                l.attempt_at(&[(&net, PER_NETWORK), ("login:x", rule)], t0)
                    .is_ok()
            })
            .count();
        assert_eq!(passed, 3);
        // The refused ones counted nothing on the networks: each has one or two failures.
        assert!(l.attempt_at(&[("net:0", rule)], t0).is_ok());
        assert!(l.attempt_at(&[("net:1", rule)], t0).is_ok());
        // A locked key refuses the whole attempt, with its wait.
        let wait = l.attempt_at(&[("net:9", rule), ("login:x", rule)], t0);
        assert_eq!(wait, Err(Duration::from_secs(10)));
        assert!(l.locked_at("net:9", t0).is_none());
        assert!(
            l.attempt_at(&[("login:x", rule)], t0 + Duration::from_secs(11))
                .is_ok()
        );
    }

    #[test]
    fn ipv6_is_counted_per_64_and_ipv4_per_address() {
        let n = |s: &str, p| network(s.parse().unwrap(), p);
        assert_eq!(n("2001:db8:1:2:aaaa::1", 64), n("2001:db8:1:2:ffff::9", 64));
        assert_ne!(n("2001:db8:1:2::1", 64), n("2001:db8:1:3::1", 64));
        assert_eq!(n("2001:db8:1:2::1", 64), "2001:db8:1:2::/64");
        assert_eq!(n("2001:db8:1:2::1", 48), n("2001:db8:1:3::1", 48));
        assert_eq!(n("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(n("::ffff:203.0.113.5", 64), "203.0.113.5");
        assert_ne!(n("203.0.113.5", 64), n("203.0.113.6", 64));
    }

    #[test]
    fn the_ceiling_gives_its_checks_a_minute_and_no_more() {
        let c = Ceiling::new(60);
        let t0 = Instant::now();
        assert_eq!((0..100).filter(|_| c.take_at(t0)).count(), 60, "the burst");
        assert!(!c.take_at(t0 + Duration::from_millis(500)));
        assert!(
            c.take_at(t0 + Duration::from_millis(1600)),
            "one a second after"
        );
    }

    /// A day of a botnet: `networks` networks (IPv6 /64s or IPv4 addresses), each sending a
    /// guess of a different code (never two on one code) `pace` after its last answer, or
    /// when its lockout ends, against the real rules. Returns (sign-in checks made, attempts
    /// answered without a check).
    fn botnet_day(networks: usize, ceiling: u32, pace: Duration) -> (u64, u64) {
        let limiter = Limiter::default();
        let ceiling = Ceiling::new(ceiling);
        let t0 = Instant::now();
        let day = t0 + DAY;
        // Started one after another over one pace.
        let step = pace / networks as u32;
        let mut queue: BinaryHeap<Reverse<(Instant, usize)>> = (0..networks)
            .map(|n| Reverse((t0 + step * n as u32, n)))
            .collect();
        let (mut checks, mut unchecked) = (0u64, 0u64);
        let mut code = 0u64;
        while let Some(Reverse((now, n))) = queue.pop() {
            if now >= day {
                break;
            }
            let key = format!("net:{n}");
            let login = format!("login:{}", code + 1);
            if let Err(wait) = limiter.attempt_at(&[(&key, PER_NETWORK), (&login, PER_LOGIN)], now)
            {
                queue.push(Reverse((now + wait, n)));
                continue;
            }
            code += 1;
            if ceiling.take_at(now) {
                checks += 1;
            } else {
                unchecked += 1;
            }
            // The answer takes a second (the portal's failure answer time) at least.
            queue.push(Reverse((now + pace.max(Duration::from_secs(1)), n)));
        }
        (checks, unchecked)
    }

    #[test]
    fn a_botnet_of_ten_thousand_networks_gets_the_ceiling_a_day_and_no_more() {
        let bound = u64::from(CHECKS_PER_MINUTE) * 1440 + u64::from(CHECKS_PER_MINUTE);
        // As fast as it is let: its unchecked attempts count, and lock its networks out.
        let (rushed, unchecked) = botnet_day(10_000, CHECKS_PER_MINUTE, Duration::ZERO);
        // Paced to the ceiling (the best it can do): one guess per network every 5000 s.
        let pace = Duration::from_secs(10_000 * 60 / u64::from(CHECKS_PER_MINUTE));
        let (paced, _) = botnet_day(10_000, CHECKS_PER_MINUTE, pace);
        eprintln!(
            "10,000 networks, one day, ceiling {CHECKS_PER_MINUTE}/min: rushing {rushed} checks \
             ({unchecked} attempts unchecked), paced {paced} checks (bound {bound})"
        );
        assert!(
            rushed <= bound && paced <= bound,
            "{rushed} {paced} > {bound}"
        );
        assert!(
            paced > bound * 9 / 10,
            "pacing reaches the ceiling: {paced}"
        );
        // One network alone gets its own lockout's worth: about forty a day.
        let (one, _) = botnet_day(1, CHECKS_PER_MINUTE, Duration::ZERO);
        eprintln!("1 network, one day: {one} checks");
        assert!((30..=45).contains(&one), "{one}");
    }
}
