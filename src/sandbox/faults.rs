//! Fault injection and latency, deterministic for a given seed.
//!
//! Each API request draws its fate from one seeded generator, in arrival order: with
//! probability `rate` one of the enabled faults, and a latency of `latency` ± 20 % (uniform, so
//! the mean is `latency`). Under concurrency the arrival order varies, so which request gets a
//! fault can vary; the sequence of fates for a seed does not.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The change is applied, then the connection is closed without an answer.
    LostAnswer,
    /// An HTML error page (HTTP 503) before anything is applied.
    ErrorPage,
    /// The change is applied and the answer comes after the slow delay (past a client's
    /// timeout).
    Slow,
    /// The connection is closed at once without an answer, and the change is applied after
    /// the late delay, when the client has given up (a slow backend, a queue).
    Late,
    /// A dishonest platform: the change is answered as a success and nothing is applied.
    Unapplied,
    /// A dishonest platform: a transaction is answered as a success for its whole amount and
    /// half of it (to the cent, toward zero) is applied; other changes apply whole.
    Half,
}

impl Fault {
    pub fn parse_list(text: &str) -> Result<Vec<Fault>, String> {
        text.split(',')
            .map(|k| match k.trim() {
                "lost" => Ok(Fault::LostAnswer),
                "error" => Ok(Fault::ErrorPage),
                "slow" => Ok(Fault::Slow),
                "late" => Ok(Fault::Late),
                "unapplied" => Ok(Fault::Unapplied),
                "half" => Ok(Fault::Half),
                other => Err(format!(
                    "unknown fault kind {other:?}: use lost, error, slow, late, unapplied and/or half"
                )),
            })
            .collect()
    }
}

/// The commands the sandbox serves, by their wire names.
const COMMANDS: [&str; 8] = [
    "createcustomer",
    "settransaction",
    "changeuserinfo",
    "changepassword",
    "validateuser",
    "getuserinfo",
    "calloverview",
    "resetpassword",
];

/// A comma-separated list of command names (any case) that faults are limited to; empty: all.
pub fn parse_commands(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .map(|c| {
            if COMMANDS.contains(&c.as_str()) {
                Ok(c)
            } else {
                Err(format!(
                    "{c:?} is not a command of the platform ({})",
                    COMMANDS.join(", ")
                ))
            }
        })
        .collect()
}

/// SplitMix64: tiny, fast, and stable across crate versions (a seed must mean the same run
/// tomorrow).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone)]
pub struct FaultPlan {
    rate: f64,
    kinds: Vec<Fault>,
    latency: Duration,
    rng: SplitMix64,
}

impl FaultPlan {
    pub fn new(rate: f64, kinds: Vec<Fault>, latency: Duration, seed: u64) -> Self {
        FaultPlan {
            rate,
            kinds,
            latency,
            rng: SplitMix64::new(seed),
        }
    }

    /// The fate of the next request: a fault or none, and its latency.
    pub fn next(&mut self) -> (Option<Fault>, Duration) {
        let roll = self.rng.next_f64();
        let pick = self.rng.next_u64();
        let jitter = 0.8 + 0.4 * self.rng.next_f64();
        let fault = (roll < self.rate && !self.kinds.is_empty())
            .then(|| self.kinds[(pick % self.kinds.len() as u64) as usize]);
        (fault, self.latency.mul_f64(jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_fates_and_the_rate_holds() {
        let kinds = vec![Fault::LostAnswer, Fault::ErrorPage, Fault::Slow];
        let mut a = FaultPlan::new(0.1, kinds.clone(), Duration::from_millis(50), 7);
        let mut b = FaultPlan::new(0.1, kinds, Duration::from_millis(50), 7);
        let fates: Vec<_> = (0..10_000).map(|_| a.next()).collect();
        assert_eq!(fates, (0..10_000).map(|_| b.next()).collect::<Vec<_>>());
        let faults = fates.iter().filter(|f| f.0.is_some()).count();
        assert!((800..1200).contains(&faults), "{faults}");
        let mean = fates.iter().map(|f| f.1.as_secs_f64()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.05).abs() < 0.001, "{mean}");
        assert!(
            fates
                .iter()
                .all(|f| f.1 >= Duration::from_millis(40) && f.1 <= Duration::from_millis(60))
        );
    }
}
