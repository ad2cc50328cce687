//! Provisioning one card: create, block, credit, numbers, with every unknown outcome reconciled
//! against the platform before anything is sent again.

use crate::api::{Command, Refusal};
use crate::ledger::{Batch, Card, CardState, Progress};

use super::engine::{Ctx, Failure, ItemOutcome, Update};
use super::machine::{Reconciled, Step, next_step, reconcile};

/// Reads the account and derives the card's progress (see [`reconcile`]).
fn check(
    ctx: &mut Ctx<'_>,
    card: &Card,
    progress: Progress,
    active: bool,
) -> Result<Reconciled, Failure> {
    let id = Some(card.id);
    let info = match ctx.request(id, Command::GetUserInfo, |c| {
        c.get_user_info(&card.customer)
    }) {
        Ok(info) => Some(info),
        Err(Failure::Refused(e)) if e.refusal() == Some(&Refusal::UnknownCustomer) => None,
        Err(f) => return Err(f),
    };
    // Before the ledger has seen this account created by us, make sure it is ours.
    let ours = match (&info, progress.created) {
        (Some(_), false) => Some(ctx.request(id, Command::ValidateUser, |c| {
            c.validate_user(&card.customer, &card.password)
        })?),
        _ => None,
    };
    Ok(reconcile(card, active, info.as_ref(), ours))
}

fn fail(ctx: &Ctx<'_>, card: &Card, reason: String) -> ItemOutcome {
    ctx.note(&format!("card {} failed: {reason}", card.serial));
    ctx.send(Update::State(
        card.id,
        CardState::Failed,
        Some(reason.clone()),
    ));
    ItemOutcome::Failed(reason)
}

/// Provisions one card of `batch` to the end, or fails it with a reason.
pub fn provision_card(ctx: &mut Ctx<'_>, batch: &Batch, original: &Card) -> ItemOutcome {
    let mut card = original.clone();
    let active = batch.active;
    let mut progress = card.progress;
    let mut missing: Vec<String> = card.numbers.iter().skip(1).cloned().collect();
    // A card the ledger saw created (an earlier run) may have moved on since: ask first.
    let mut uncertain = progress.created;
    let mut create_refused = false;
    let mut troubles = 0u32;
    let max = ctx.options().max_attempts;
    if card.state == CardState::Failed {
        ctx.send(Update::State(card.id, CardState::Pending, None));
    }
    loop {
        if ctx.stopped() {
            return ItemOutcome::Stopped;
        }
        if uncertain {
            match check(ctx, &card, progress, active) {
                Ok(Reconciled::Progress(p, m)) => {
                    if !p.created && create_refused {
                        return fail(
                            ctx,
                            &card,
                            "the platform refused to create the account and gives no reason \
                             (bad number or tariff?)"
                                .into(),
                        );
                    }
                    ctx.journal(
                        Some(card.id),
                        "reconcile",
                        "reconciled",
                        &format!("{p:?}"),
                        Default::default(),
                        1,
                    );
                    progress = p;
                    missing = m;
                    uncertain = false;
                    ctx.send(Update::Progress(card.id, progress));
                }
                Ok(Reconciled::NotOurs) if card.generated => {
                    let reason = "code belongs to an account that is not ours";
                    match ctx.replace_code(card.id, &batch.code, reason) {
                        Ok(code) => {
                            ctx.journal(
                                Some(card.id),
                                "retire-code",
                                "code-retired",
                                reason,
                                Default::default(),
                                1,
                            );
                            ctx.note(&format!("card {}: {reason}; drew a new code", card.serial));
                            card.customer = code;
                            progress = Progress::default();
                            missing = card.numbers.iter().skip(1).cloned().collect();
                            uncertain = false;
                            create_refused = false;
                        }
                        Err(e) => {
                            ctx.stop(e);
                            return ItemOutcome::Stopped;
                        }
                    }
                }
                Ok(Reconciled::NotOurs) => {
                    return fail(
                        ctx,
                        &card,
                        format!(
                            "customer {} already exists on the platform and is not ours",
                            card.customer
                        ),
                    );
                }
                Ok(Reconciled::Conflict(reason)) => return fail(ctx, &card, reason),
                Err(Failure::Stopped) => return ItemOutcome::Stopped,
                Err(Failure::Refused(e)) => return fail(ctx, &card, e.to_string()),
                Err(Failure::Unknown(e) | Failure::GaveUp(e)) => {
                    troubles += 1;
                    if troubles >= max {
                        return fail(
                            ctx,
                            &card,
                            format!("gave up after {troubles} attempts: {e}"),
                        );
                    }
                    ctx.back_off(troubles);
                }
            }
            continue;
        }
        let step = next_step(&progress, active);
        let id = Some(card.id);
        let result = match step {
            Step::Done => {
                let state = if active {
                    CardState::Active
                } else {
                    CardState::Ready
                };
                ctx.send(Update::State(card.id, state, None));
                return ItemOutcome::Done;
            }
            Step::Create => ctx
                .request(id, Command::CreateCustomer, |c| {
                    c.create_customer(
                        &card.customer,
                        &card.password,
                        card.numbers.first().map(String::as_str),
                        card.tariff,
                    )
                })
                .map(|_| progress.created = true),
            Step::Block => ctx
                .request(id, Command::ChangeUserInfo, |c| {
                    c.set_blocked(&card.customer, true)
                })
                .map(|_| progress.blocked = true),
            Step::Credit => ctx
                .request(id, Command::SetTransaction, |c| {
                    c.set_transaction(&card.customer, card.value)
                })
                .map(|_| progress.credited = true),
            Step::AddNumbers => {
                let mut result = Ok(());
                while let Some(number) = missing.first().cloned() {
                    result = ctx.request(id, Command::ChangeUserInfo, |c| {
                        c.add_number(&card.customer, &number)
                    });
                    if result.is_err() {
                        break;
                    }
                    missing.remove(0);
                }
                result.map(|_| progress.numbers = true)
            }
        };
        match result {
            Ok(()) => {
                troubles = 0;
                ctx.send(Update::Progress(card.id, progress));
            }
            Err(Failure::Stopped) => return ItemOutcome::Stopped,
            Err(Failure::Refused(e)) if e.refusal() == Some(&Refusal::CreateFailed) => {
                // Exists already (an earlier create whose answer was lost, or someone else's)
                // or refused for a reason the platform does not give: find out.
                create_refused = true;
                uncertain = true;
            }
            Err(Failure::Refused(e)) if e.refusal() == Some(&Refusal::NotEnoughCredit) => {
                ctx.stop(format!(
                    "the reseller account has not enough credit ({e}); top it up, then resume"
                ));
                return ItemOutcome::Stopped;
            }
            Err(Failure::Refused(e)) => return fail(ctx, &card, e.to_string()),
            Err(Failure::GaveUp(e)) => {
                return fail(ctx, &card, format!("gave up after {max} attempts: {e}"));
            }
            Err(Failure::Unknown(e)) => {
                troubles += 1;
                ctx.note(&format!("card {}: {e}; checking the account", card.serial));
                if troubles >= max {
                    return fail(
                        ctx,
                        &card,
                        format!("gave up after {troubles} attempts: {e}"),
                    );
                }
                ctx.back_off(troubles);
                uncertain = true;
            }
        }
    }
}
