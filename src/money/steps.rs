//! The runner jobs of a movement's two balance changes: the deduction from the card the credit
//! leaves (capped by what it holds just before) and the load onto the card it goes to. Each is
//! an intent linked to the movement; settling it advances the claim.

use rust_decimal::Decimal;

use super::whole_cents;
use crate::ledger::{Before, Card, Intent, IntentKind, Movement};
use crate::lifecycle::change::{Change, change_step, read_balance, send_amount};
use crate::lifecycle::jobs;
use crate::runner::{self, Ctx, Report, Run, RunError};

/// Deducts the movement's amount from its source, exactly once. Read just before: a balance
/// lower than the amount (calls billed since the measure) lowers the amount, recorded on the
/// claim before the request leaves; nothing left ends the movement.
pub fn deduct(
    run: &Run<'_>,
    source: Card,
    pending: Vec<Intent>,
    m: &Movement,
) -> Result<Report, RunError> {
    let id = m.id;
    let amount = m.amount();
    let decide = move |ctx: &mut Ctx<'_>,
                       _: &mut Card,
                       before: &Before|
          -> Result<Option<IntentKind>, String> {
        let held = before.balance.unwrap_or_default();
        let (cap, remainder) = whole_cents(held);
        let amount = if cap < amount {
            ctx.note(&format!(
                "movement #{id}: the card holds {held} now; moving {cap} instead of {amount}"
            ));
            ctx.lower_movement(id, cap, remainder)?;
            cap
        } else {
            amount
        };
        Ok((amount > Decimal::ZERO).then_some(IntentKind::Deduct {
            amount,
            movement: id,
        }))
    };
    runner::run(run, jobs(vec![source], pending), |ctx, job| {
        change_step(
            ctx,
            job,
            &Change {
                same: &|k| matches!(k, IntentKind::Deduct { movement, .. } if *movement == id),
                before: &read_balance,
                decide: &decide,
                send: &send_amount,
            },
        )
    })
}

/// Loads what the movement carries ([`Movement::loads`]) onto its target, exactly once.
pub fn load(
    run: &Run<'_>,
    target: Card,
    pending: Vec<Intent>,
    m: &Movement,
) -> Result<Report, RunError> {
    let kind = IntentKind::Move {
        amount: m.loads(),
        movement: m.id,
    };
    let id = m.id;
    runner::run(run, jobs(vec![target], pending), |ctx, job| {
        change_step(
            ctx,
            job,
            &Change {
                same: &|k| matches!(k, IntentKind::Move { movement, .. } if *movement == id),
                before: &read_balance,
                decide: &|_, _, _| Ok(Some(kind.clone())),
                send: &send_amount,
            },
        )
    })
}
