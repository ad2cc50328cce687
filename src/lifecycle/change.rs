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
    pub(crate) waiting: Waiting,
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
pub(crate) type BeforeRead<'f> = &'f dyn Fn(&mut Ctx<'_>, &Card) -> Result<Before, Failure>;

/// Decides the change to send on what was read before (`Ok(None)`: nothing left to send).
pub(crate) type Decide<'f> =
    &'f dyn Fn(&mut Ctx<'_>, &mut Card, &Before) -> Result<Option<IntentKind>, String>;

/// One change to a card, as [`change_step`] sends it.
pub(crate) struct Change<'f> {
    /// Whether an intent found applied (by an earlier run) is this change: not sent again.
    pub same: &'f dyn Fn(&IntentKind) -> bool,
    /// What to read before it is sent.
    pub before: BeforeRead<'f>,
    /// The change to send, decided on what was read before (`Ok(None)`: nothing is left to
    /// send); an error stops the run (the ledger could not record what was decided).
    pub decide: Decide<'f>,
    /// The request.
    pub send: &'f (dyn Fn(&Client, &Card, &IntentKind) -> Result<(), ApiError> + Sync),
}

/// Settles what is pending, then sends the change until it is applied, refused, or left
/// unsettled. Evidence that it did not apply allows sending it again.
pub(crate) fn change_step(ctx: &mut Ctx<'_>, job: &mut Job, change: &Change<'_>) -> Step {
    loop {
        if ctx.stopped() {
            return Step::Finished(Outcome::Stopped);
        }
        match ctx.settle_pending(&mut job.card, &mut job.waiting) {
            Err(step) => return step,
            Ok(Some(Settled::Applied(i))) if (change.same)(&i.kind) => {
                ctx.note(&format!(
                    "card {}: {} was applied (the platform's records show it, its answer was \
                     lost): not sent again",
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
                CardFailure::NeverApplied { times: job.resent },
            );
        }
        let before = match (change.before)(ctx, &job.card) {
            Ok(b) => b,
            Err(f) => return Step::Finished(f.outcome()),
        };
        let kind = match (change.decide)(ctx, &mut job.card, &before) {
            Ok(Some(kind)) => kind,
            Ok(None) => return Step::Finished(Outcome::Done),
            Err(e) => {
                ctx.stop(e);
                return Step::Finished(Outcome::Stopped);
            }
        };
        let snapshot = job.card.clone();
        let sent_kind = kind.clone();
        match ctx.change(&mut job.card, kind, before, |c| {
            (change.send)(c, &snapshot, &sent_kind)
        }) {
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

/// Sends a change that is always the same intent.
fn send_fixed(
    ctx: &mut Ctx<'_>,
    job: &mut Job,
    kind: &IntentKind,
    before: BeforeRead<'_>,
    send: &(dyn Fn(&Client, &Card, &IntentKind) -> Result<(), ApiError> + Sync),
) -> Step {
    change_step(
        ctx,
        job,
        &Change {
            same: &|k| k == kind,
            before,
            decide: &|_, _, _| Ok(Some(kind.clone())),
            send,
        },
    )
}

fn no_read(_: &mut Ctx<'_>, _: &Card) -> Result<Before, Failure> {
    Ok(Before::now())
}

/// Blocks (with the reason kept) or unblocks one card; its state becomes blocked or active.
pub fn set_blocked(ctx: &mut Ctx<'_>, job: &mut Job, blocked: bool, reason: Option<&str>) -> Step {
    let kind = if blocked {
        IntentKind::Block(reason.map(str::to_string))
    } else {
        IntentKind::Unblock
    };
    send_fixed(ctx, job, &kind, &no_read, &move |c, card, _| {
        c.set_blocked(&card.customer, blocked)
    })
}

/// Unblocks one card for its sale (recorded when the unblock is applied, not before), or for
/// a card activated again without one. An unblock an earlier run applied is not sent again.
pub fn activate(ctx: &mut Ctx<'_>, job: &mut Job, sale: Option<&super::Sale>) -> Step {
    let kind = match sale {
        Some(s) => IntentKind::Sell {
            shop: s.shop.clone(),
            on: s.on,
        },
        None => IntentKind::Unblock,
    };
    change_step(
        ctx,
        job,
        &Change {
            same: &|k| k.blocked() == Some(false),
            before: &no_read,
            decide: &|_, _, _| Ok(Some(kind.clone())),
            send: &|c, card, _| c.set_blocked(&card.customer, false),
        },
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
    send_fixed(ctx, job, &kind, &no_read, &move |c, card, _| {
        if add {
            c.add_number(&card.customer, &n)
        } else {
            c.delete_number(&card.customer, &n)
        }
    })
}

/// Loads (or deducts) credit exactly once: the balance is read just before and kept with the
/// intent, so an open outcome is judged on the balance after, with the calls in between.
pub fn topup(ctx: &mut Ctx<'_>, job: &mut Job, amount: Decimal) -> Step {
    balance_change(ctx, job, IntentKind::Topup(amount))
}

/// The card's exact balance, read just before a change of it.
pub(crate) fn read_balance(ctx: &mut Ctx<'_>, card: &Card) -> Result<Before, Failure> {
    let (info, at) = ctx.user_info(card)?;
    let info = info.ok_or(Failure::Refused(ApiError::Refused {
        command: crate::api::Command::GetUserInfo,
        reason: crate::api::Refusal::UnknownCustomer,
    }))?;
    Ok(Before {
        balance: Some(info.exact_balance()),
        from_ms: at.from_ms,
        to_ms: at.to_ms,
        offset: Some(ctx.client.clock()),
        restored: false,
    })
}

/// The request of every change of a balance: settransaction of the intent's amount.
pub(crate) fn send_amount(c: &Client, card: &Card, kind: &IntentKind) -> Result<(), ApiError> {
    c.set_transaction(&card.customer, kind.amount().unwrap_or_default())
        .map(drop)
}

/// A settransaction of `kind`'s amount, judged on the balance read just before.
fn balance_change(ctx: &mut Ctx<'_>, job: &mut Job, kind: IntentKind) -> Step {
    send_fixed(ctx, job, &kind, &read_balance, &send_amount)
}

/// Sets `new` as the card's password. It is the card's pending password in the ledger before
/// it is sent (recorded again if evidence showed an earlier try did not take); a lost answer is
/// settled with validateuser, with the new password and the old.
pub fn reset_password(ctx: &mut Ctx<'_>, job: &mut Job, new: &Secret) -> Step {
    let sent = new.clone();
    let decide = move |ctx: &mut Ctx<'_>,
                       card: &mut Card,
                       _: &Before|
          -> Result<Option<IntentKind>, String> {
        if card.pending_password.as_ref() != Some(new) {
            ctx.record_pending_password(card, new)?;
            card.pending_password = Some(new.clone());
        }
        Ok(Some(IntentKind::Password))
    };
    change_step(
        ctx,
        job,
        &Change {
            same: &|k| *k == IntentKind::Password,
            before: &no_read,
            decide: &decide,
            send: &move |c, card, _| c.reset_password(&card.customer, &sent),
        },
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
