//! Changes to issued cards, each through the engine: block and unblock, CLI numbers, top-ups and
//! password resets. Every unknown outcome is reconciled from the platform before a retry; a
//! top-up is never sent twice.

use rust_decimal::Decimal;

use crate::api::{Command, Refusal};
use crate::config::Secret;
use crate::ledger::{Card, CardState};
use crate::provision::engine::{Ctx, Failure, ItemOutcome, Update};

fn fail(ctx: &Ctx<'_>, card: &Card, reason: String) -> ItemOutcome {
    ctx.note(&format!("card {}: {reason}", card.serial));
    ItemOutcome::Failed(reason)
}

/// Repeats `act` until `check` (a read of the platform) says it took effect. `act` may be
/// resent only when it is idempotent or `check` has shown it did not apply.
fn settle(
    ctx: &mut Ctx<'_>,
    card: &Card,
    command: Command,
    act: &dyn Fn(&mut Ctx<'_>) -> Result<(), Failure>,
    check: &dyn Fn(&mut Ctx<'_>) -> Result<bool, Failure>,
) -> Result<(), ItemOutcome> {
    let max = ctx.options().max_attempts;
    let mut troubles = 0;
    let gave_up = |ctx: &Ctx<'_>, troubles: u32, e: &dyn std::fmt::Display| {
        fail(ctx, card, format!("gave up after {troubles} attempts: {e}"))
    };
    loop {
        match act(ctx) {
            Ok(()) => return Ok(()),
            Err(Failure::Stopped) => return Err(ItemOutcome::Stopped),
            Err(Failure::Refused(e)) => return Err(fail(ctx, card, e.to_string())),
            Err(Failure::GaveUp(e)) => return Err(fail(ctx, card, format!("gave up: {e}"))),
            Err(Failure::Unknown(e)) => {
                troubles += 1;
                ctx.note(&format!(
                    "card {}: {command}: {e}; checking the account",
                    card.serial
                ));
                if troubles >= max {
                    return Err(gave_up(ctx, troubles, &e));
                }
                ctx.back_off(troubles);
                // Settle the unknown outcome before acting again.
                loop {
                    match check(ctx) {
                        Ok(true) => return Ok(()),
                        Ok(false) => break,
                        Err(Failure::Stopped) => return Err(ItemOutcome::Stopped),
                        Err(Failure::Refused(e)) => return Err(fail(ctx, card, e.to_string())),
                        Err(Failure::Unknown(e) | Failure::GaveUp(e)) => {
                            troubles += 1;
                            if troubles >= max {
                                return Err(gave_up(ctx, troubles, &e));
                            }
                            ctx.back_off(troubles);
                        }
                    }
                }
            }
        }
    }
}

fn info(ctx: &mut Ctx<'_>, card: &Card) -> Result<crate::api::UserInfo, Failure> {
    let customer = card.customer.clone();
    ctx.request(Some(card.id), Command::GetUserInfo, move |c| {
        c.get_user_info(&customer)
    })
}

/// Blocks or unblocks one card and records its new state.
pub fn set_blocked(
    ctx: &mut Ctx<'_>,
    card: &Card,
    blocked: bool,
    reason: Option<&str>,
) -> ItemOutcome {
    let customer = card.customer.clone();
    let act = |ctx: &mut Ctx<'_>| {
        let customer = customer.clone();
        ctx.request(Some(card.id), Command::ChangeUserInfo, move |c| {
            c.set_blocked(&customer, blocked)
        })
    };
    let check = |ctx: &mut Ctx<'_>| info(ctx, card).map(|i| i.blocked == blocked);
    if let Err(outcome) = settle(ctx, card, Command::ChangeUserInfo, &act, &check) {
        return outcome;
    }
    let state = if blocked {
        CardState::Blocked
    } else {
        CardState::Active
    };
    ctx.send(Update::State(card.id, state, None));
    ctx.send(Update::BlockReason(
        card.id,
        if blocked {
            reason.map(str::to_string)
        } else {
            None
        },
    ));
    ItemOutcome::Done
}

/// Adds or deletes one CLI number (E.164) and records the card's numbers.
pub fn change_number(ctx: &mut Ctx<'_>, card: &Card, number: &str, add: bool) -> ItemOutcome {
    let customer = card.customer.clone();
    let n = number.to_string();
    let act = |ctx: &mut Ctx<'_>| {
        let (customer, n) = (customer.clone(), n.clone());
        ctx.request(Some(card.id), Command::ChangeUserInfo, move |c| {
            if add {
                c.add_number(&customer, &n)
            } else {
                c.delete_number(&customer, &n)
            }
        })
    };
    let check = |ctx: &mut Ctx<'_>| info(ctx, card).map(|i| i.numbers.contains(&n) == add);
    if let Err(outcome) = settle(ctx, card, Command::ChangeUserInfo, &act, &check) {
        return outcome;
    }
    let mut numbers = card.numbers.clone();
    numbers.retain(|x| x != number);
    if add {
        numbers.push(number.to_string());
    }
    ctx.send(Update::Numbers(card.id, numbers));
    ItemOutcome::Done
}

/// Whether a balance read after an unknown outcome shows the top-up applied: the balance moved
/// by more than half the amount in its direction (calls in between cost cents, not half a
/// top-up); otherwise it did not move at all, or the case is for a human.
pub fn topup_applied(before: Decimal, after: Decimal, amount: Decimal) -> Option<bool> {
    let moved = after - before;
    let half = amount.abs() / Decimal::TWO;
    if (amount.is_sign_positive() && moved > half) || (amount.is_sign_negative() && -moved > half) {
        Some(true)
    } else if moved.abs() < half {
        Some(false)
    } else {
        None
    }
}

/// Loads (or deducts) credit exactly once: the balance is read before, and after any unknown
/// outcome, so a lost answer never leads to a second load.
pub fn topup(ctx: &mut Ctx<'_>, card: &Card, amount: Decimal) -> ItemOutcome {
    let customer = card.customer.clone();
    let read = |c: &crate::api::Client| c.get_user_info(&customer);
    let before = match super::report::read(ctx, card, Command::GetUserInfo, &read) {
        Ok(info) => info.exact_balance(),
        Err(ItemOutcome::Failed(reason)) => return fail(ctx, card, reason),
        Err(other) => return other,
    };
    let act = |ctx: &mut Ctx<'_>| {
        let customer = customer.clone();
        ctx.request(Some(card.id), Command::SetTransaction, move |c| {
            c.set_transaction(&customer, amount)
        })
        .map(|_| ())
    };
    let check = |ctx: &mut Ctx<'_>| {
        let after = info(ctx, card)?.exact_balance();
        topup_applied(before, after, amount).ok_or_else(|| {
            Failure::Refused(crate::api::ApiError::Protocol {
                command: Command::SetTransaction,
                detail: format!(
                    "the balance went from {before} to {after}: cannot tell whether {amount} was applied; check the account before trying again"
                ),
            })
        })
    };
    if let Err(outcome) = settle(ctx, card, Command::SetTransaction, &act, &check) {
        return outcome;
    }
    ctx.send(Update::Topup(card.id, amount));
    ItemOutcome::Done
}

/// Sets the card's pending password on the platform (the ledger already holds it as pending)
/// and confirms it in the ledger. A lost answer is settled with validateuser.
pub fn reset_password(ctx: &mut Ctx<'_>, card: &Card, new: &Secret) -> ItemOutcome {
    let customer = card.customer.clone();
    let act = |ctx: &mut Ctx<'_>| {
        let (customer, new) = (customer.clone(), new.clone());
        ctx.request(Some(card.id), Command::ResetPassword, move |c| {
            c.reset_password(&customer, &new)
        })
    };
    let check = |ctx: &mut Ctx<'_>| {
        let (customer, new) = (customer.clone(), new.clone());
        ctx.request(Some(card.id), Command::ValidateUser, move |c| {
            c.validate_user(&customer, &new)
        })
    };
    match settle(ctx, card, Command::ResetPassword, &act, &check) {
        Ok(()) => {
            ctx.send(Update::ConfirmPassword(card.id));
            ItemOutcome::Done
        }
        Err(ItemOutcome::Failed(reason))
            if reason.contains(&Refusal::PasswordNotSecure.to_string()) =>
        {
            ItemOutcome::Failed(format!(
                "{reason} (the platform refused the generated password)"
            ))
        }
        Err(other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topup_is_judged_by_how_far_the_balance_moved() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(topup_applied(d("3.10"), d("8.10"), d("5")), Some(true));
        assert_eq!(
            topup_applied(d("3.10"), d("8.02"), d("5")),
            Some(true),
            "a call in between"
        );
        assert_eq!(topup_applied(d("3.10"), d("3.05"), d("5")), Some(false));
        assert_eq!(
            topup_applied(d("3.10"), d("5.60"), d("5")),
            None,
            "half way: ask a human"
        );
        assert_eq!(topup_applied(d("8.00"), d("6.00"), d("-2")), Some(true));
        assert_eq!(topup_applied(d("8.00"), d("8.00"), d("-2")), Some(false));
    }
}
