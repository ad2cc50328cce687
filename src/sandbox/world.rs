//! What happens on the platform between requests: changes that land late (after the client
//! gave up), and card holders making calls on their accounts.
//!
//! Driven by one ticker (every [`TICK`]) and deterministic for a seed: the draws come from one
//! SplitMix64 in a fixed order (accounts in name order, tick after tick). Which tick a call
//! falls in depends on the wall clock, as the arrival order of faults does; the sequence of
//! draws for a seed does not.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Timelike};
use rust_decimal::Decimal;

use super::faults::SplitMix64;
use super::platform::Params;
use super::state::{Call, Op, State};

/// How often the world moves.
pub const TICK: Duration = Duration::from_millis(50);

/// Calls made by the holders of unblocked accounts with credit.
#[derive(Debug, Clone)]
pub struct Usage {
    /// Calls per minute per account (0: nobody calls).
    pub calls_per_min: f64,
    /// What a minute costs; a call costs its duration at this price (5 decimals), at most the
    /// balance left (the call is cut off when the credit runs out).
    pub price_per_min: Decimal,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            calls_per_min: 0.0,
            price_per_min: Decimal::new(5, 2),
        }
    }
}

/// A change waiting to land: at `due`, or once `reads` more requests about its account have
/// been answered (when not 0).
struct Late {
    due: Instant,
    reads: u32,
    params: Params,
}

/// The changes waiting to land, and the usage model.
pub struct World {
    late: Mutex<Vec<Late>>,
    /// Calls in progress when their account was blocked: (customer, answered requests about
    /// it still to come before the call ends and is billed, its charge).
    ending: Mutex<Vec<(String, u32, Decimal)>>,
    rng: Mutex<(SplitMix64, Instant)>,
    usage: Usage,
}

impl World {
    pub fn new(usage: Usage, seed: u64) -> World {
        World {
            late: Mutex::new(Vec::new()),
            ending: Mutex::new(Vec::new()),
            // Its own stream, so turning usage on does not change which requests get faults.
            rng: Mutex::new((
                SplitMix64::new(seed ^ 0x5EED_CA11_5EED_CA11),
                Instant::now(),
            )),
            usage,
        }
    }

    /// Queues a request whose change lands at `due`, or after `reads` answered requests about
    /// its account (0: only at `due`).
    pub fn land_later(&self, due: Instant, reads: u32, params: Params) {
        lock(&self.late).push(Late { due, reads, params });
    }

    /// A call in progress on `customer` as it is blocked: it ends, and is billed `charge`,
    /// once `reads` more requests about the account have been answered.
    pub fn call_in_progress(&self, customer: &str, reads: u32, charge: Decimal) {
        lock(&self.ending).push((customer.to_string(), reads.max(1), charge));
    }

    /// A request about `customer` was answered: the charges of its calls that end now.
    pub fn calls_ending(&self, customer: &str) -> Vec<Decimal> {
        let mut ending = lock(&self.ending);
        let mut billed = Vec::new();
        ending.retain_mut(|(c, reads, charge)| {
            if c != customer {
                return true;
            }
            *reads -= 1;
            if *reads == 0 {
                billed.push(*charge);
                return false;
            }
            true
        });
        billed
    }

    /// The queued requests due at `now` (all of them with `everything`), oldest first.
    pub fn due(&self, now: Instant, everything: bool) -> Vec<Params> {
        let mut late = lock(&self.late);
        late.sort_by_key(|l| l.due);
        let split = late
            .iter()
            .position(|l| !everything && l.due > now)
            .unwrap_or(late.len());
        late.drain(..split).map(|l| l.params).collect()
    }

    /// A request about `customer` was answered: the queued changes of that account waiting
    /// for their last read, oldest first.
    pub fn answered(&self, customer: &str) -> Vec<Params> {
        let mut late = lock(&self.late);
        if customer.is_empty() || late.iter().all(|l| l.reads == 0) {
            return Vec::new();
        }
        let mut landed = Vec::new();
        let mut i = 0;
        while i < late.len() {
            let l = &mut late[i];
            if l.reads > 0 && l.params.get("customer") == Some(customer) {
                l.reads -= 1;
                if l.reads == 0 {
                    landed.push(late.remove(i).params);
                    continue;
                }
            }
            i += 1;
        }
        landed
    }

    /// The calls that end now (`wall`, UTC) on the accounts of `state`, as ops to commit.
    pub fn calls(&self, state: &State, now: Instant, wall: NaiveDateTime) -> Vec<Op> {
        let mut guard = lock(&self.rng);
        let (rng, last) = &mut *guard;
        let elapsed = now.saturating_duration_since(*last);
        *last = now;
        if self.usage.calls_per_min <= 0.0 {
            return Vec::new();
        }
        let chance = (self.usage.calls_per_min * elapsed.as_secs_f64() / 60.0).min(1.0);
        let end = wall.with_nanosecond(0).unwrap_or(wall);
        let mut next_id = state.next_call_id;
        let mut ops = Vec::new();
        for (name, c) in &state.customers {
            if c.blocked || c.balance <= Decimal::ZERO {
                continue;
            }
            let roll = rng.next_f64();
            let length = rng.next_u64();
            if roll >= chance {
                continue;
            }
            let secs = 10 + (length % 291) as u32;
            let cost = (self.usage.price_per_min * Decimal::from(secs) / Decimal::from(60))
                .round_dp(5)
                .min(c.balance);
            if cost <= Decimal::ZERO {
                continue;
            }
            ops.push(Op::AddCalls {
                customer: name.clone(),
                calls: vec![Call {
                    call_id: next_id,
                    call_type: "PSTNOutSip".to_string(),
                    // The record appears, and is charged, when the call ends.
                    start: end - chrono::Duration::seconds(i64::from(secs)),
                    destination: format!("+3212345{:04}", next_id % 10_000),
                    duration_secs: secs,
                    charge: cost,
                }],
            });
            next_id += 1;
        }
        ops
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
