//! Changes to issued cards, each a job of the runner under the intent protocol: block and
//! unblock, CLI numbers, top-ups and password resets. A card's earlier changes still pending in
//! the ledger are settled first; the same change found applied (a run that was killed after
//! sending it) is not sent again.

use rust_decimal::Decimal;

use crate::api::{ApiError, Client};
use crate::config::Secret;
use crate::ledger::{Before, Card, Intent, IntentKind};
use crate::runner::{CardFailure, Ctx, Failure, Outcome, Sent, Settled, Step, Waiting};

/// One card to change.
pub struct Job {
    pub card: Card,
    waiting: Waiting,
    /// Times the change was sent and found not applied.
    resent: u32,
}

impl crate::runner::Job for Job {
    fn card(&self) -> &Card {
        &self.card
    }
}

impl Job {
    /// A job for `card`, with its intents still pending in the ledger.
    pub fn new(card: Card, pending: Vec<Intent>) -> Job {
        Job {
            card,
            waiting: Waiting::from_ledger(pending),
            resent: 0,
        }
    }
}

fn fail(ctx: &Ctx<'_>, card: &Card, why: CardFailure) -> Step {
    ctx.note(&format!("card {}: {why}", card.serial));
    Step::Finished(Outcome::Failed(why))
}

/// What to read before the change is sent (the balance before a top-up).
type BeforeRead<'f> = &'f dyn Fn(&mut Ctx<'_>, &Card) -> Result<Before, Failure>;

/// Settles what is pending, then sends `kind` (with `send`) until it is applied, refused, or
/// left unsettled. Evidence that it did not apply allows sending it again.
fn change_step(
    ctx: &mut Ctx<'_>,
    job: &mut Job,
    kind: &IntentKind,
    before: BeforeRead<'_>,
    send: &(dyn Fn(&Client, &Card) -> Result<(), ApiError> + Sync),
    prepare: &dyn Fn(&mut Ctx<'_>, &mut Card) -> Result<(), String>,
) -> Step {
    loop {
        if ctx.stopped() {
            return Step::Finished(Outcome::Stopped);
        }
        match ctx.settle_pending(&mut job.card, &mut job.waiting) {
            Err(step) => return step,
            Ok(Some(Settled::Applied(i))) if i.kind == *kind => {
                ctx.note(&format!(
                    "card {}: {} was applied by an earlier run: not sent again",
                    job.card.serial, i.kind
                ));
                return Step::Finished(Outcome::Done);
            }
            Ok(_) => {}
        }
        if !job.waiting.is_empty() {
            continue;
        }
        if job.resent >= ctx.options().max_attempts {
            return fail(
                ctx,
                &job.card,
                CardFailure::Conflict(format!(
                    "{kind}: sent {} times and never applied",
                    job.resent
                )),
            );
        }
        if let Err(e) = prepare(ctx, &mut job.card) {
            ctx.stop(e);
            return Step::Finished(Outcome::Stopped);
        }
        let before = match before(ctx, &job.card) {
            Ok(b) => b,
            Err(f) => return Step::Finished(f.outcome()),
        };
        let snapshot = job.card.clone();
        match ctx.change(&mut job.card, kind.clone(), before, |c| send(c, &snapshot)) {
            Sent::Applied(()) => return Step::Finished(Outcome::Done),
            Sent::Unknown(p) | Sent::Unclear(p) => {
                job.resent += 1;
                job.waiting.wait_for(p);
            }
            Sent::Refused(e) => return fail(ctx, &job.card, CardFailure::Refused(e)),
            Sent::GaveUp(error, attempts) => {
                return fail(ctx, &job.card, CardFailure::GaveUp { attempts, error });
            }
            Sent::Stopped => return Step::Finished(Outcome::Stopped),
        }
    }
}

fn no_read(_: &mut Ctx<'_>, _: &Card) -> Result<Before, Failure> {
    Ok(Before::now())
}

fn nothing_to_prepare(_: &mut Ctx<'_>, _: &mut Card) -> Result<(), String> {
    Ok(())
}

/// Blocks (with the reason kept) or unblocks one card; its state becomes blocked or active.
pub fn set_blocked(ctx: &mut Ctx<'_>, job: &mut Job, blocked: bool, reason: Option<&str>) -> Step {
    let kind = if blocked {
        IntentKind::Block(reason.map(str::to_string))
    } else {
        IntentKind::Unblock
    };
    change_step(
        ctx,
        job,
        &kind,
        &no_read,
        &move |c, card| c.set_blocked(&card.customer, blocked),
        &nothing_to_prepare,
    )
}

/// Adds or deletes one CLI number (E.164).
pub fn change_number(ctx: &mut Ctx<'_>, job: &mut Job, number: &str, add: bool) -> Step {
    let kind = if add {
        IntentKind::AddNumber(number.to_string())
    } else {
        IntentKind::DeleteNumber(number.to_string())
    };
    let n = number.to_string();
    change_step(
        ctx,
        job,
        &kind,
        &no_read,
        &move |c, card| {
            if add {
                c.add_number(&card.customer, &n)
            } else {
                c.delete_number(&card.customer, &n)
            }
        },
        &nothing_to_prepare,
    )
}

/// Loads (or deducts) credit exactly once: the balance is read just before and kept with the
/// intent, so an open outcome is judged on the balance after, with the calls in between.
pub fn topup(ctx: &mut Ctx<'_>, job: &mut Job, amount: Decimal) -> Step {
    balance_change(ctx, job, IntentKind::Topup(amount))
}

/// Loads the credit of the card `from`, redeemed onto this one, exactly once (a Redeem
/// intent: found applied by an earlier run, it is not sent again).
pub fn load_redeemed(ctx: &mut Ctx<'_>, job: &mut Job, amount: Decimal, from: i64) -> Step {
    balance_change(ctx, job, IntentKind::Redeem { amount, from })
}

/// A settransaction of `kind`'s amount, judged on the balance read just before.
fn balance_change(ctx: &mut Ctx<'_>, job: &mut Job, kind: IntentKind) -> Step {
    let amount = kind.amount().unwrap_or_default();
    let read_balance = |ctx: &mut Ctx<'_>, card: &Card| -> Result<Before, Failure> {
        let (info, at) = ctx.user_info(card)?;
        let info = info.ok_or(Failure::Refused(ApiError::Refused {
            command: crate::api::Command::GetUserInfo,
            reason: crate::api::Refusal::UnknownCustomer,
        }))?;
        Ok(Before {
            balance: Some(info.exact_balance()),
            from_ms: at.from_ms,
            to_ms: at.to_ms,
        })
    };
    change_step(
        ctx,
        job,
        &kind,
        &read_balance,
        &move |c, card| c.set_transaction(&card.customer, amount).map(drop),
        &nothing_to_prepare,
    )
}

/// Sets `new` as the card's password. It is the card's pending password in the ledger before
/// it is sent (recorded again if evidence showed an earlier try did not take); a lost answer is
/// settled with validateuser, with the new password and the old.
pub fn reset_password(ctx: &mut Ctx<'_>, job: &mut Job, new: &Secret) -> Step {
    let new = new.clone();
    let prepare = {
        let new = new.clone();
        move |ctx: &mut Ctx<'_>, card: &mut Card| -> Result<(), String> {
            if card.pending_password.as_ref() != Some(&new) {
                ctx.record_pending_password(card, &new)?;
                card.pending_password = Some(new.clone());
            }
            Ok(())
        }
    };
    change_step(
        ctx,
        job,
        &IntentKind::Password,
        &no_read,
        &move |c, card| c.reset_password(&card.customer, &new),
        &prepare,
    )
}

/// Only settles the card's pending changes.
pub fn settle_only(ctx: &mut Ctx<'_>, job: &mut Job) -> Step {
    loop {
        if ctx.stopped() {
            return Step::Finished(Outcome::Stopped);
        }
        match ctx.settle_pending(&mut job.card, &mut job.waiting) {
            Err(step) => return step,
            Ok(_) if job.waiting.is_empty() => return Step::Finished(Outcome::Done),
            Ok(_) => {}
        }
    }
}
