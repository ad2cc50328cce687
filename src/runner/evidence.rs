//! Judging a change by what the platform shows afterwards. Pure: the reads come in, a verdict
//! goes out. No "half the amount" rule: a balance is judged exactly, with the charges of the
//! calls made between the read before and the read after.

use rust_decimal::Decimal;

/// Calls within this of a read's window may or may not be in that read's balance: the
/// platform's call times have one-second precision, and its clock and ours may differ a little.
pub const CLOCK_TOLERANCE_MS: i64 = 2_000;

/// The most boundary calls tried in every combination; more is judged ambiguous.
const MAX_BOUNDARY: usize = 12;

/// A window of time in Unix ms: when a read left and when its answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A call as the evidence needs it: when it was charged (its end, one-second precision) and
/// what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub end_ms: i64,
    pub amount: Decimal,
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
) -> Verdict {
    let mut certain = Decimal::ZERO;
    let mut boundary = Vec::new();
    for call in calls {
        // Charged somewhere in [end, end + 1 s), give or take the clocks.
        let lo = call.end_ms - CLOCK_TOLERANCE_MS;
        let hi = call.end_ms + 1_000 + CLOCK_TOLERANCE_MS;
        if hi < before_at.from_ms || lo > after_at.to_ms {
            continue; // in the balance before, or not yet in the balance after
        }
        if lo > before_at.to_ms && hi < after_at.from_ms {
            certain += call.amount;
        } else {
            boundary.push(call.amount);
        }
    }
    if boundary.len() > MAX_BOUNDARY {
        return Verdict::Ambiguous(format!(
            "{} calls ended too close to the reads to tell which the balances hold",
            boundary.len()
        ));
    }
    let explains = |change: Decimal| {
        (0u32..1 << boundary.len()).any(|mask| {
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
            " with calls costing {}{} in between",
            certain.normalize(),
            if boundary.is_empty() {
                String::new()
            } else {
                format!(" (and {} near the reads)", boundary.len())
            }
        )
    };
    match (explains(amount), explains(Decimal::ZERO)) {
        (true, false) => Verdict::Applied(format!(
            "balance {} then {}{calls_note}: {} applied",
            before.normalize(),
            after.normalize(),
            amount.normalize()
        )),
        (false, true) => Verdict::NotApplied(format!(
            "balance {} then {}{calls_note}: {} not applied",
            before.normalize(),
            after.normalize(),
            amount.normalize()
        )),
        (true, true) => Verdict::Ambiguous(format!(
            "balance {} then {}: calls near the reads cost exactly {}, so either is possible",
            before.normalize(),
            after.normalize(),
            amount.normalize()
        )),
        (false, false) => Verdict::Ambiguous(format!(
            "balance {} then {}{calls_note}: neither {} applied nor not applied explains it \
             (a change by someone else, or a call not yet billed)",
            before.normalize(),
            after.normalize(),
            amount.normalize()
        )),
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
    fn a_topup_on_a_card_in_use_is_judged_exactly() {
        // Calls costing half the top-up in between: the old rule resent it.
        let calls = [call(20_000, "1.25"), call(30_000, "1.25")];
        let v = judge_balance(d("3"), BEFORE, d("5"), d("5.5"), AFTER, &calls);
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
        let v = judge_balance(d("3"), BEFORE, d("5"), d("0.5"), AFTER, &calls);
        assert!(matches!(v, Verdict::NotApplied(_)), "{v:?}");
        // Calls charged before the first read are in its balance already.
        let old = [call(1_000, "2"), call(20_000, "0.5")];
        let v = judge_balance(d("3"), BEFORE, d("5"), d("7.5"), AFTER, &old);
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
    }

    #[test]
    fn a_call_at_the_edge_of_a_read_may_be_on_either_side() {
        let edge = [call(10_050, "0.3")];
        for after in ["8", "7.7"] {
            let v = judge_balance(d("3"), BEFORE, d("5"), d(after), AFTER, &edge);
            assert!(matches!(v, Verdict::Applied(_)), "{after}: {v:?}");
        }
        // An edge call that costs exactly the amount leaves both open.
        let v = judge_balance(d("3"), BEFORE, d("5"), d("3"), AFTER, &[call(40_050, "5")]);
        assert!(matches!(v, Verdict::Ambiguous(_)), "{v:?}");
    }

    #[test]
    fn a_balance_nothing_explains_is_ambiguous_never_a_guess() {
        let v = judge_balance(d("0"), BEFORE, d("5"), d("2.5"), AFTER, &[]);
        assert!(matches!(v, Verdict::Ambiguous(_)), "{v:?}");
        let v = judge_balance(d("8"), BEFORE, d("-2"), d("6"), AFTER, &[]);
        assert!(matches!(v, Verdict::Applied(_)), "{v:?}");
        let v = judge_balance(d("8"), BEFORE, d("-2"), d("8"), AFTER, &[]);
        assert!(matches!(v, Verdict::NotApplied(_)), "{v:?}");
    }
}
