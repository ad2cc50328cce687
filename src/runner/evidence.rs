//! Judging a change by what the platform shows afterwards. Pure: the reads come in, a verdict
//! goes out. No "half the amount" rule: a balance is judged exactly, with the charges of the
//! calls made between the read before and the read after.

use rust_decimal::Decimal;

pub use crate::clock::Offset;

/// The most boundary calls tried in every combination; more is judged ambiguous.
const MAX_BOUNDARY: usize = 12;

/// A window of time in Unix ms: when a read left and when its answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A call as the evidence needs it: when it was charged (its end on the platform's clock,
/// one-second precision) and what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub end_ms: i64,
    pub amount: Decimal,
}

/// The charges of call records, by when each was charged (its end: start + duration).
pub fn charges(records: &[crate::api::CallRecord]) -> Vec<Charge> {
    records
        .iter()
        .map(|c| Charge {
            end_ms: (c.start + chrono::Duration::seconds(i64::from(c.duration_secs)))
                .and_utc()
                .timestamp_millis(),
            amount: c.charge,
        })
        .collect()
}

/// The charges a balance read in `at` holds for certain (calls that ended before it), and
/// those that may or may not be in it (ended near it). Calls that ended after it are not in it:
/// records read after a balance may list calls that balance did not yet carry.
pub fn charged_by(calls: &[Charge], at: Window, clock: Offset) -> (Decimal, Vec<Decimal>) {
    let dawn = Window {
        from_ms: i64::MIN,
        to_ms: i64::MIN,
    };
    split(calls, dawn, at, clock)
}

/// Whether call records contradict the read that returned them: a call that, on our clock,
/// ended after that read's answer came (`read_to_ms`) cannot have been on it. The platform's
/// clock is then further from ours than `clock` says, and no placement of calls is sure.
pub fn contradicts(calls: &[Charge], read_to_ms: i64, clock: Offset) -> Option<String> {
    calls
        .iter()
        .find(|c| charged(c, clock).0 > read_to_ms)
        .map(|c| {
            format!(
                "a call record ends {} ms after the read that returned it (the platform's clock \
                 is ahead of ours by more than measured)",
                charged(c, clock).0 - read_to_ms
            )
        })
}

/// What the evidence says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Applied(String),
    NotApplied(String),
    /// Neither, or both: say why.
    Ambiguous(String),
}

/// Whether `amount` was applied between a balance of `before` (read in `before_at`) and one of
/// `after` (read in `after_at`), given every call that may have been charged in between.
pub fn judge_balance(
    before: Decimal,
    before_at: Window,
    amount: Decimal,
    after: Decimal,
    after_at: Window,
    calls: &[Charge],
    clock: Offset,
) -> Verdict {
    let (certain, boundary) = split(calls, before_at, after_at, clock);
    verdict(
        before,
        amount,
        after,
        certain,
        &boundary,
        "between the reads",
        &|_| true,
    )
}

/// The same question asked of the account's whole history: every credit it ever had is known
/// (`loaded`: what the ledger loaded before this change), so its balance after is `loaded`
/// (plus `amount` if applied) less every call ever charged. No read before is needed, so a
/// call at the moment of that read cannot blur it; only calls near the read after can.
pub fn judge_history(
    loaded: Decimal,
    amount: Decimal,
    after: Decimal,
    after_at: Window,
    calls: &[Charge],
    clock: Offset,
) -> Verdict {
    // No read before: the history starts before any call.
    let dawn = Window {
        from_ms: i64::MIN,
        to_ms: i64::MIN,
    };
    let (certain, boundary) = split(calls, dawn, after_at, clock);
    // A prepaid balance never goes below zero: calls that cost more than was ever loaded
    // under a hypothesis rule it out (the sandbox cuts a call when the credit runs out).
    let spent: Decimal = calls.iter().map(|c| c.amount).sum();
    let possible = |change: Decimal| spent <= loaded + change;
    verdict(loaded, amount, after, certain, &boundary, "ever", &possible)
}

/// The charges certainly between the reads, and those that may or may not be (near a read).
/// Calls charged before the read before, or after the read after, are left out.
fn split(
    calls: &[Charge],
    before_at: Window,
    after_at: Window,
    clock: Offset,
) -> (Decimal, Vec<Decimal>) {
    let mut certain = Decimal::ZERO;
    let mut boundary = Vec::new();
    for call in calls {
        let (lo, hi) = charged(call, clock);
        if hi < before_at.from_ms || lo > after_at.to_ms {
            continue; // in the balance before, or not yet in the balance after
        }
        if lo > before_at.to_ms && hi < after_at.from_ms {
            certain += call.amount;
        } else {
            boundary.push(call.amount);
        }
    }
    (certain, boundary)
}

/// When, on our clock, a call may have been charged: in [end, end + 1 s) of the platform's
/// clock, moved onto ours by the measured offset (within 2 s when nothing is measured).
fn charged(call: &Charge, clock: Offset) -> (i64, i64) {
    let (lo, _) = clock.ours(call.end_ms);
    let (_, hi) = clock.ours(call.end_ms.saturating_add(1_000));
    (lo, hi)
}

/// Which of "applied" and "not applied" the balances explain, with the calls charged for
/// certain and those that may or may not be in the balance after.
fn verdict(
    before: Decimal,
    amount: Decimal,
    after: Decimal,
    certain: Decimal,
    boundary: &[Decimal],
    span: &str,
    possible: &dyn Fn(Decimal) -> bool,
) -> Verdict {
    if boundary.len() > MAX_BOUNDARY {
        return Verdict::Ambiguous(format!(
            "{} calls ended too close to the reads to tell which the balances hold",
            boundary.len()
        ));
    }
    let explains = |change: Decimal| {
        possible(change)
            && (0u32..1 << boundary.len()).any(|mask| {
                let maybe: Decimal = boundary
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, c)| *c)
                    .sum();
                before + change - certain - maybe == after
            })
    };
    let calls_note = if certain.is_zero() && boundary.is_empty() {
        String::new()
    } else {
        format!(
            ", calls costing {} {span}{}",
            crate::text::money(certain),
            if boundary.is_empty() {
                String::new()
            } else {
                format!(" (and {} near the reads)", boundary.len())
            }
        )
    };
    let seen = format!(
        "from {} to a balance of {}{calls_note}",
        crate::text::money(before),
        crate::text::money(after)
    );
    match (explains(amount), explains(Decimal::ZERO)) {
        (true, false) => {
            Verdict::Applied(format!("{seen}: {} applied", crate::text::money(amount)))
        }
        (false, true) => Verdict::NotApplied(format!(
            "{seen}: {} not applied",
            crate::text::money(amount)
        )),
        (true, true) => Verdict::Ambiguous(format!(
            "{seen}: calls near the reads cost exactly {}, so either is possible",
            crate::text::money(amount)
        )),
        (false, false) => Verdict::Ambiguous(format!(
            "{seen}: neither {} applied nor not applied explains it (a change by someone \
             else, or a call not yet billed)",
            crate::text::money(amount)
        )),
    }
}

/// Both judgements together: either may be blurred by calls at the moment of a read; one that
/// decides is taken, unless the other decides the opposite.
pub fn combine(window: Verdict, history: Verdict) -> Verdict {
    match (&window, &history) {
        (Verdict::Applied(_), Verdict::NotApplied(e))
        | (Verdict::NotApplied(_), Verdict::Applied(e)) => {
            Verdict::Ambiguous(format!("the reads disagree: {e}"))
        }
        (Verdict::Ambiguous(_), Verdict::Applied(_) | Verdict::NotApplied(_)) => history,
        _ => window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    const BEFORE: Window = Window {
        from_ms: 10_000,
        to_ms: 10_100,
    };
    const AFTER: Window = Window {
        from_ms: 40_000,
        to_ms: 40_100,
    };

    fn call(end_ms: i64, amount: &str) -> Charge {
        Charge {
            end_ms,
            amount: d(amount),
        }
    }

    #[test]
    fn a_read_made_before_our_clock_stepped_back_is_placed_by_the_platforms_clock() {
        use crate::ledger::Before;
        // The read before a top-up at 10 s (our clock agreeing with the platform's), a call
        // ending at 20 s (platform), then our clock set back five minutes: the settle reads at
        // 40 s - 300 s on it, the platform now 300 s ahead.
        let agree = Offset {
            lo_ms: -500,
            hi_ms: 500,
        };
        let ahead = Offset {
            lo_ms: 299_500,
            hi_ms: 300_500,
        };
        let before = Before {
            balance: Some(d("5")),
            from_ms: BEFORE.from_ms,
            to_ms: BEFORE.to_ms,
            offset: Some(agree),
            restored: false,
        };
        let after_at = Window {
            from_ms: AFTER.from_ms - 300_000,
            to_ms: AFTER.to_ms - 300_000,
        };
        let calls = [call(20_000, "7.50")];
        let judge = |(from_ms, to_ms): (i64, i64)| {
            judge_balance(
                d("5"),
                Window { from_ms, to_ms },
                d("2.50"),
                d("0"),
                after_at,
                &calls,
                ahead,
            )
        };
        // The stored times as they are: the call looks older than the read, nothing fits.
        assert!(matches!(
            judge((before.from_ms, before.to_ms)),
            Verdict::Ambiguous(_)
        ));
        // Placed through the platform's clock: applied, the call after it.
        assert!(
            matches!(judge(before.window_on(ahead)), Verdict::Applied(_)),
            "{:?}",
            judge(before.window_on(ahead))
        );
        // No step: the read's own times.
        assert_eq!(before.window_on(agree), (BEFORE.from_ms, BEFORE.to_ms));
    }

    #[test]
    fn a_topup_on_a_card_in_use_is_judged_exactly() {
        // Calls costing half the top-up in between: the old rule resent it.
        let calls = [call(20_000, "1.25"), call(30_000, "1.25")];
        let v = judge_balance(
            d("3"),
            BEFORE,
            d("5"),
            d("5.5"),
            AFTER,
            &calls,
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
        let v = judge_balance(
            d("3"),
            BEFORE,
            d("5"),
            d("0.5"),
            AFTER,
            &calls,
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::NotApplied(_)), "{v:?}");
        // Calls charged before the first read are in its balance already.
        let old = [call(1_000, "2"), call(20_000, "0.5")];
        let v = judge_balance(
            d("3"),
            BEFORE,
            d("5"),
            d("7.5"),
            AFTER,
            &old,
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
    }

    #[test]
    fn a_call_at_the_edge_of_a_read_may_be_on_either_side() {
        let edge = [call(10_050, "0.3")];
        for after in ["8", "7.7"] {
            let v = judge_balance(
                d("3"),
                BEFORE,
                d("5"),
                d(after),
                AFTER,
                &edge,
                Offset::UNMEASURED,
            );
            assert!(matches!(v, Verdict::Applied(_)), "{after}: {v:?}");
        }
        // An edge call that costs exactly the amount leaves both open.
        let v = judge_balance(
            d("3"),
            BEFORE,
            d("5"),
            d("3"),
            AFTER,
            &[call(40_050, "5")],
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::Ambiguous(_)), "{v:?}");
    }

    #[test]
    fn the_history_decides_what_a_call_at_the_read_before_blurs() {
        // A card spent to nothing, topped up by 2 and spent again at once: the window cannot
        // tell (a call near the read before), the history can (3 loaded, 3 + 2 spent).
        let calls = [call(1_000, "3"), call(10_050, "2")];
        let window = judge_balance(
            d("0"),
            BEFORE,
            d("2"),
            d("0"),
            AFTER,
            &calls,
            Offset::UNMEASURED,
        );
        assert!(matches!(window, Verdict::Ambiguous(_)), "{window:?}");
        let history = judge_history(d("3"), d("2"), d("0"), AFTER, &calls, Offset::UNMEASURED);
        assert!(matches!(history, Verdict::Applied(_)), "{history:?}");
        assert!(matches!(combine(window, history), Verdict::Applied(_)));
        // Had it not applied, that last call could not have been made.
        let history = judge_history(
            d("3"),
            d("2"),
            d("0"),
            AFTER,
            &calls[..1],
            Offset::UNMEASURED,
        );
        assert!(matches!(history, Verdict::NotApplied(_)), "{history:?}");
        // A call at the read after that spent the whole top-up: only possible if it applied.
        let spent = [call(1_000, "3"), call(40_050, "2")];
        let history = judge_history(d("3"), d("2"), d("0"), AFTER, &spent, Offset::UNMEASURED);
        assert!(matches!(history, Verdict::Applied(_)), "{history:?}");
        let contradiction = combine(
            Verdict::Applied(String::new()),
            Verdict::NotApplied(String::new()),
        );
        assert!(matches!(contradiction, Verdict::Ambiguous(_)));
    }

    #[test]
    fn a_balance_nothing_explains_is_ambiguous_never_a_guess() {
        let v = judge_balance(
            d("0"),
            BEFORE,
            d("5"),
            d("2.5"),
            AFTER,
            &[],
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::Ambiguous(_)), "{v:?}");
        let v = judge_balance(
            d("8"),
            BEFORE,
            d("-2"),
            d("6"),
            AFTER,
            &[],
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
        let v = judge_balance(
            d("8"),
            BEFORE,
            d("-2"),
            d("8"),
            AFTER,
            &[],
            Offset::UNMEASURED,
        );
        assert!(matches!(v, Verdict::NotApplied(_)), "{v:?}");
    }
}
