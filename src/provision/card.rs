//! Provisioning one card, as a job of the runner: create, block, credit, numbers, each change
//! sent under the intent protocol. What the ledger knows decides what is left to do; the
//! platform is asked only about changes whose outcome is open.

use crate::api::Refusal;
use crate::ledger::{Batch, Before, Card, CardState, Intent, IntentKind};
use crate::runner::{CardFailure, Ctx, Outcome, Sent, Settled, Step, Waiting};

use super::machine::{Step as Next, next_step};

/// One card to provision, and what its worker knows between steps.
pub struct Job {
    pub card: Card,
    waiting: Waiting,
    /// createcustomer answered "failed": if no account exists, the platform refused it.
    create_refused: bool,
    /// Further CLI numbers not yet attached in this run (adding one twice is harmless).
    numbers_left: Vec<String>,
    /// Codes drawn again in this run because an account not ours held the last one.
    redraws: u32,
}

/// Drawn codes that may meet accounts not ours, one after the other, before the card fails: a
/// guarded code space almost never collides, so more says the platform's answers are in doubt,
/// and drawing on would create account after account.
const MAX_REDRAWS: u32 = 3;

impl crate::runner::Job for Job {
    fn card(&self) -> &Card {
        &self.card
    }
}

impl Job {
    /// A job for `card`, with its intents still pending in the ledger.
    pub fn new(card: Card, pending: Vec<Intent>) -> Job {
        let numbers_left = card.numbers.iter().skip(1).cloned().collect();
        Job {
            card,
            waiting: Waiting::from_ledger(pending),
            create_refused: false,
            numbers_left,
            redraws: 0,
        }
    }

    /// The requests this card's provisioning has left at the least: a settle read for each
    /// open change, then its steps (creation, the block of retail stock, the credit unless
    /// zero, each further number).
    pub fn requests_left(&self, batch: &Batch) -> u64 {
        let p = &self.card.progress;
        let open = self.waiting.count() as u64;
        let steps = [
            !p.created,
            !p.blocked && !batch.active,
            !p.credited && !self.card.credit().is_zero(),
        ]
        .iter()
        .filter(|&&left| left)
        .count() as u64;
        let numbers = if p.numbers {
            0
        } else {
            self.numbers_left.len() as u64
        };
        open + steps + numbers
    }
}

fn fail(ctx: &Ctx<'_>, card: &Card, why: CardFailure) -> Step {
    ctx.note(&format!("card {} failed: {why}", card.serial));
    ctx.set_state(card, CardState::Failed, Some(why.to_string()));
    Step::Finished(Outcome::Failed(why))
}

/// Takes one card of `batch` as far as it can go: to ready (or active), failed, unsettled, or
/// waiting for a settle read.
pub fn provision_step(ctx: &mut Ctx<'_>, batch: &Batch, job: &mut Job) -> Step {
    if job.card.state == CardState::Failed {
        job.card.state = CardState::Pending;
        ctx.set_state(&job.card, CardState::Pending, None);
    }
    loop {
        if ctx.stopped() {
            return Step::Finished(Outcome::Stopped);
        }
        match ctx.settle_pending(&mut job.card, &mut job.waiting) {
            Err(step) => return step,
            Ok(Some(Settled::NotOurs(_))) if job.card.generated && job.redraws >= MAX_REDRAWS => {
                let why = format!(
                    "{} codes in a row were taken by accounts our password does not open; codes \
                     this sparse do not collide so often, so the platform's answers are in doubt: \
                     read `cardmint card {}` and the platform's panel before resuming",
                    job.redraws + 1,
                    job.card.serial
                );
                return fail(ctx, &job.card, CardFailure::Conflict(why));
            }
            Ok(Some(Settled::NotOurs(_))) if job.card.generated => {
                job.redraws += 1;
                let reason = "code belongs to an account that is not ours";
                match ctx.replace_code(&job.card, &batch.code, reason) {
                    Ok(code) => {
                        ctx.note(&format!(
                            "card {}: {reason}; drew a new code",
                            job.card.serial
                        ));
                        job.card.customer = code;
                        job.card.progress = Default::default();
                        job.numbers_left = job.card.numbers.iter().skip(1).cloned().collect();
                        job.create_refused = false;
                    }
                    Err(e) => {
                        ctx.stop(e);
                        return Step::Finished(Outcome::Stopped);
                    }
                }
                continue;
            }
            Ok(Some(Settled::NotOurs(_))) => {
                let customer = job.card.customer.clone();
                return fail(ctx, &job.card, CardFailure::NotOurs { customer });
            }
            Ok(Some(Settled::NotApplied(i)))
                if i.kind == IntentKind::Create && job.create_refused =>
            {
                return fail(ctx, &job.card, CardFailure::CreateRefused);
            }
            Ok(_) => {}
        }
        if !job.waiting.is_empty() {
            continue;
        }
        // A card past provisioning (here only to settle an interrupted change) is done.
        if !matches!(job.card.state, CardState::Pending | CardState::Failed) {
            return Step::Finished(Outcome::Done);
        }
        let card = &mut job.card;
        let sent = match next_step(&card.progress, batch.active) {
            Next::Done => {
                let state = if batch.active {
                    CardState::Active
                } else {
                    CardState::Ready
                };
                card.state = state;
                ctx.set_state(card, state, None);
                return Step::Finished(Outcome::Done);
            }
            Next::Create => {
                let (customer, password) = (card.customer.clone(), card.password.clone());
                let (cli, tariff) = (card.numbers.first().cloned(), card.tariff);
                ctx.change(card, IntentKind::Create, Before::now(), move |c| {
                    c.create_customer(&customer, &password, cli.as_deref(), tariff)
                        .map(drop)
                })
            }
            Next::Block => {
                let customer = card.customer.clone();
                ctx.change(card, IntentKind::RetailBlock, Before::now(), move |c| {
                    c.set_blocked(&customer, true)
                })
            }
            Next::Credit => {
                // The ledger knows the balance: a fresh account holds nothing, and no credit of
                // ours was applied (else progress would say so). It held nothing since it was
                // made, so every call ever charged to it came after a credit: the window of the
                // "read" before starts at the beginning of time. Anything else on the account
                // makes the settle read ambiguous, and the card is left for a human.
                let (customer, value) = (card.customer.clone(), card.credit());
                if value.is_zero() {
                    // A replacement of a card that had nothing left: nothing to load.
                    card.progress.credited = true;
                    ctx.set_progress(card, card.progress);
                    continue;
                }
                let before = Before {
                    balance: Some(rust_decimal::Decimal::ZERO),
                    from_ms: 0,
                    to_ms: 0,
                    offset: None,
                    restored: false,
                };
                ctx.change(card, IntentKind::Credit(value), before, move |c| {
                    c.set_transaction(&customer, value).map(drop)
                })
            }
            Next::AddNumbers => {
                let Some(number) = job.numbers_left.first().cloned() else {
                    card.progress.numbers = true;
                    ctx.set_progress(card, card.progress);
                    continue;
                };
                let customer = card.customer.clone();
                let n = number.clone();
                let sent = ctx.change(
                    card,
                    IntentKind::AddNumber(number),
                    Before::now(),
                    move |c| c.add_number(&customer, &n),
                );
                if matches!(sent, Sent::Applied(_)) {
                    job.numbers_left.remove(0);
                }
                sent
            }
        };
        match sent {
            // The next step waits its turn behind other cards' (see `Step::Yield`).
            Sent::Applied(()) => return Step::Yield,
            Sent::Unknown(pending) => job.waiting.wait_for(pending),
            Sent::Unclear(pending) => {
                job.create_refused = true;
                job.waiting.wait_for(pending);
            }
            Sent::Stopped => return Step::Finished(Outcome::Stopped),
            Sent::Refused(e) if e.refusal() == Some(&Refusal::NotEnoughCredit) => {
                ctx.stop(format!(
                    "the reseller account has not enough credit ({e}); top it up, then resume"
                ));
                return Step::Finished(Outcome::Stopped);
            }
            Sent::Refused(e) => return fail(ctx, &job.card, CardFailure::Refused(e)),
            Sent::GaveUp(error, attempts) => {
                return fail(ctx, &job.card, CardFailure::GaveUp { attempts, error });
            }
        }
    }
}
