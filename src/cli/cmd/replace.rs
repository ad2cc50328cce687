//! `cardmint replace CARD`: a lost card is blocked, and a new card of the same value and
//! design is issued with the lost card's remaining credit, moved exactly once.

use rust_decimal::Decimal;

use super::EngineArgs;
use crate::cli::{Exit, Global};
use crate::codes::PasswordSpec;
use crate::error::Error;
use crate::ledger::{Card, CardState, Expiry, IntentKind, IntentStatus, NewBatch};
use crate::lifecycle;
use crate::manifest;
use crate::provision::plan::{CardRequest, plan_cards};

/// Replace a lost card: block it (with the reason), read what credit it has left, issue one
/// new card of the same value and design carrying that credit, and print it into its own
/// batch folder. The credit moves exactly once: deducted from the old card, then loaded on
/// the new one, each an intent settled on evidence. Both cards' histories name the other.
///
/// The new card takes over the old one's sale (shop, date and so its expiry) and is issued
/// active when the old card had been sold; an unsold card's replacement is retail stock at
/// the same shop. Interrupted or left unsettled, the same command goes on where it stopped.
///
/// Example:
///   cardmint replace 0000000013 --reason "lost by its owner"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Serial (as printed) or customer name of the lost card
    card: String,
    /// Why (kept as the old card's block reason)
    #[arg(long, value_name = "TEXT", default_value = "lost", value_parser = super::reason)]
    reason: String,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    printing: super::render::Printing,
}

/// Whether the card was sold: activated, or its sale recorded.
fn was_sold(ledger: &crate::ledger::Ledger, card: &Card) -> Result<bool, Error> {
    Ok(card.state == CardState::Active
        || card.stock.sold()
        || ledger
            .card_intents(card.id)?
            .iter()
            .any(|i| i.kind == IntentKind::Unblock && i.status == IntentStatus::Applied))
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let mut ledger = global.open_ledger_for_changes()?;
    let old = super::changeable_card(global.card(&ledger, &args.card)?)?;
    let old_batch = global.batch(&ledger, &old.batch_id)?;
    if ledger.redemption_of(old.id)?.is_some() {
        return Err(crate::lifecycle::SelectError::Stock(format!(
            "card {} was redeemed onto another account: its credit moved there; nothing to replace",
            old.serial
        ))
        .into());
    }
    let connection = global.connect(options.concurrency)?;
    let again = format!(
        "run `{}` again: it goes on where it stopped, and moves the credit once",
        global.command_for("replace", &old.serial)
    );
    let link = match ledger.replacement_of(old.id)? {
        Some(link) => {
            say!(global, "card {} is being replaced: going on", old.serial);
            link
        }
        None => {
            let sold = was_sold(&ledger, &old)?;
            // 1. Block it, so that nothing more is spent from it.
            if old.state != CardState::Blocked {
                let pending = super::pending_of(&ledger, std::slice::from_ref(&old))?;
                let reason = args.reason.clone();
                let report = global.run_engine_with(
                    &connection,
                    &ledger,
                    Some(&old_batch.id),
                    1,
                    &options,
                    |run| {
                        lifecycle::set_blocked(run, vec![old.clone()], pending, true, Some(&reason))
                    },
                )?;
                super::refresh_outputs(&ledger, &old_batch.id)?;
                if !report.complete() {
                    say!(global, "{again}");
                    return Ok(super::summarize(global, &report, "blocked"));
                }
            }
            let old = ledger
                .card_by_id(old.id)?
                .ok_or_else(|| Error::NotFound(format!("card {} vanished", old.serial)))?;
            // 2. What it has left, read after the block.
            let (rows, report) = global.run_engine_with(
                &connection,
                &ledger,
                Some(&old_batch.id),
                1,
                &options,
                |run| lifecycle::status(run, vec![old.clone()]),
            )?;
            let Some((_, status)) = rows.into_iter().next() else {
                say!(global, "{again}");
                return Ok(super::summary_lines(global, &report, "read"));
            };
            let amount = status.balance.max(Decimal::ZERO);
            // 3. The new card, recorded with the link before anything is sent for it.
            let mut cards = plan_cards(
                vec![CardRequest::retail(old.value, old.tariff)],
                &old_batch.code,
                PasswordSpec::new(old_batch.password_length).map_err(Error::Usage)?,
                &ledger.known_customers()?,
                ledger.live_codes(&old_batch.code)?,
            )?;
            let mut card = cards.remove(0);
            card.credit = Some(amount);
            card.label = old.label.clone();
            let new = NewBatch {
                value: old.value,
                currency: old_batch.currency.clone(),
                tariff: old.tariff,
                active: sold || old_batch.active,
                code: old_batch.code.clone(),
                password_length: old_batch.password_length,
                source: None,
                out_dir: None,
                // The same design: as recorded, else the default the old batch printed with.
                template: old_batch.template.clone().or_else(|| {
                    Some(
                        if old_batch.source.is_some() {
                            "welcome"
                        } else {
                            "retail"
                        }
                        .into(),
                    )
                }),
                sheet: old_batch.sheet.clone(),
                platform: connection.platform.clone(),
                expiry: lifecycle::expires_on(&old_batch, &old)
                    .map(Expiry::On)
                    .or(old_batch.expiry),
            };
            let next = ledger.next_batch_id()?;
            manifest::check_dir(&super::issue::default_out(&next), &next)?;
            let batch = ledger.create_replacement(
                &new,
                &card,
                &old,
                amount,
                &args.reason,
                super::issue::default_out,
            )?;
            manifest::claim_dir(&batch.out_dir, &batch.id)?;
            say!(
                global,
                "card {} replaced by {} (batch {}): {amount:.2} {} to move",
                old.serial,
                ledger
                    .cards(&batch.id)?
                    .first()
                    .map_or(String::new(), |c| c.serial.clone()),
                batch.id,
                batch.currency
            );
            ledger
                .replacement_of(old.id)?
                .ok_or_else(|| Error::NotFound("the replacement vanished".into()))?
        }
    };
    let old = ledger
        .card_by_id(link.old_card)?
        .ok_or_else(|| Error::NotFound("the replaced card vanished".into()))?;
    let new = ledger
        .card_by_id(link.new_card)?
        .ok_or_else(|| Error::NotFound("the replacement card vanished".into()))?;
    // 4. Deduct from the old card, exactly once: the old card takes no other change once
    // replaced, so its top-ups say whether the deduction is applied.
    let pending = super::pending_of(&ledger, std::slice::from_ref(&old))?;
    let deducted = old.topups == link.old_topups - link.amount;
    if !link.amount.is_zero() && (!deducted || !pending.is_empty()) {
        if !deducted && old.topups != link.old_topups {
            return Err(Error::NotFound(format!(
                "card {}: its top-ups ({}) are neither before ({}) nor after the deduction of \
                 {}; run `cardmint settle {}` and `cardmint card {}`",
                old.serial, old.topups, link.old_topups, link.amount, old.serial, old.serial
            )));
        }
        let amount = -link.amount;
        let report = global.run_engine_with(
            &connection,
            &ledger,
            Some(&old.batch_id),
            1,
            &options,
            |run| {
                if deducted {
                    lifecycle::settle(run, vec![old.clone()], pending)
                } else {
                    lifecycle::topup(run, old.clone(), pending, amount)
                }
            },
        )?;
        super::refresh_outputs(&ledger, &old.batch_id)?;
        if !report.complete() {
            say!(global, "the credit is not moved yet; {again}");
            return Ok(super::summarize(global, &report, "deducted"));
        }
    }
    // 5. Load it on the new card (provisioning's credit, settled on evidence) and print it.
    let batch = global.batch(&ledger, &new.batch_id)?;
    let layout = super::render::Layout::default();
    super::resume::finish_batch(
        global,
        &ledger,
        &batch,
        &options,
        &layout,
        &args.printing,
        Some(connection),
    )
}
