//! `cardmint replace CARD`: a lost card is blocked, and a new card of the same value and
//! design is issued with the lost card's remaining credit, moved exactly once.

use rust_decimal::Decimal;

use crate::batch::{Look, Sheets};
use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::codes::PasswordSpec;
use crate::error::Error;
use crate::ledger::{Card, CardState, Claim, Expiry, IntentStatus, NewBatch};
use crate::lifecycle;
use crate::manifest;
use crate::money::{self, Advance};
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
    #[arg(long, value_name = "TEXT", default_value = "lost", value_parser = crate::cli::args::reason)]
    reason: String,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    printing: crate::cli::args::Printing,
}

/// Whether the card was sold: activated, or its sale recorded.
fn was_sold(ledger: &crate::ledger::Ledger, card: &Card) -> Result<bool, Error> {
    Ok(card.state == CardState::Active
        || card.stock.sold()
        || ledger
            .card_intents(card.id)?
            .iter()
            .any(|i| i.kind.blocked() == Some(false) && i.status == IntentStatus::Applied))
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let config = global.config()?;
    let options = args.engine.options(config)?;
    let print = args.printing.print(config)?;
    let ledger = global.open_ledger_for_changes()?;
    let old = global.card(&ledger, &args.card)?;
    let again = format!(
        "run `{}` again: it goes on where it stopped, and moves the credit once",
        global.command_for("replace", &old.serial)
    );
    // A card not provisioned is refused before anything is claimed.
    if ledger.movement_of(old.id)?.is_none() {
        crate::lifecycle::changeable_one(old.clone())?;
    }
    let movement = match money::claim_replace(&ledger, &old, &args.reason)? {
        Claim::New(m) => m,
        Claim::Existing(m) => {
            say!(global, "card {} is being replaced: going on", old.serial);
            m
        }
    };
    let connection = global.connect(&options)?;
    let mut recreated = 0;
    loop {
        let advance = global.run_engine_with(
            &connection,
            &ledger,
            Some(&old.batch_id),
            1,
            &options,
            |run| Ok(money::advance(run, &ledger, movement.id)),
        )??;
        crate::batch::refresh_outputs(&ledger, &old.batch_id)?;
        match advance {
            Advance::NeedsTarget(m) => {
                let batch = issue_replacement(global, &ledger, &old, &m, &connection.platform)?;
                say!(
                    global,
                    "card {} replaced by {} (batch {}): {:.2} {} to move{}",
                    old.serial,
                    ledger
                        .cards(&batch.id)?
                        .first()
                        .map_or(String::new(), |c| c.serial.clone()),
                    batch.id,
                    m.amount(),
                    batch.currency,
                    remainder_note(&m)
                );
            }
            Advance::NeedsProvisioning { batch, movement } => {
                // The new card's account (credit 0), before any credit moves; provisioned
                // again when the platform answered that it created it and does not know it,
                // once in a run: a platform that does so again is for a human to look at.
                let target = movement
                    .target
                    .and_then(|t| ledger.card_by_id(t).ok().flatten());
                if let Some(t) = target
                    .clone()
                    .filter(|t| t.failure.as_deref() == Some(money::NOT_CREATED))
                {
                    recreated += 1;
                    if recreated > 1 {
                        say!(
                            global,
                            "card {}: the platform answers that it creates card {}'s account, \
                             then does not know it; {:.2} {} stay claimed for it, taken from {} \
                             and loaded nowhere; nothing more is sent. Ask the platform why the \
                             account is not created, then {again}",
                            old.serial,
                            t.serial,
                            movement.amount(),
                            global.batch(&ledger, &t.batch_id)?.currency,
                            old.serial,
                        );
                        return Ok(Exit::Incomplete);
                    }
                    say!(
                        global,
                        "card {}: the platform answered that it created its account, but does not \
                         know it: creating it again",
                        t.serial
                    );
                }
                let batch = global.batch(&ledger, &batch)?;
                let sheets = Sheets::for_batch(&config.values, &Look::default(), &batch)?;
                let exit = crate::cli::finish::finish_batch(
                    global,
                    &ledger,
                    &batch,
                    &options,
                    &sheets,
                    &print,
                    Some(&connection),
                )?;
                if exit != Exit::Success {
                    // A load a restore opened waits for a human: running this again would not
                    // move it; `settle` shows it with the command that decides it.
                    let waits = target.iter().try_fold(false, |w, t| {
                        Ok::<_, Error>(
                            w || money::pending_of(&ledger, std::slice::from_ref(t))?
                                .iter()
                                .any(|i| i.before.restored),
                        )
                    })?;
                    if waits {
                        say!(
                            global,
                            "the credit is not moved yet: its load waits for your decision; run \
                             `{}` to see it and the command that records it",
                            global.command_for("settle", &old.serial).trim_end()
                        );
                    } else {
                        say!(global, "the credit is not moved yet; {again}");
                    }
                    return Ok(exit);
                }
            }
            Advance::Done(m) => {
                let Some(new) = m.target.and_then(|t| ledger.card_by_id(t).ok().flatten()) else {
                    say!(
                        global,
                        "card {}: blocked; it held nothing to move, so no card was issued in \
                         its place{}",
                        old.serial,
                        remainder_note(&m)
                    );
                    return Ok(Exit::Success);
                };
                let spent = m
                    .overdrawn
                    .filter(|o| !o.is_zero())
                    .map_or(String::new(), |o| {
                        format!(" ({o:.2} less: calls billed after its last read)")
                    });
                say!(
                    global,
                    "card {}: {:.2} moved to {}{spent}{}",
                    old.serial,
                    m.loads(),
                    new.serial,
                    remainder_note(&m)
                );
                if let Some(t) = m.target.and_then(|t| ledger.card_by_id(t).ok().flatten()) {
                    crate::batch::refresh_outputs(&ledger, &t.batch_id)?;
                }
                return Ok(Exit::Success);
            }
            // For a human: running it again would stop there again.
            Advance::Stopped {
                why: why @ crate::money::Stop::ForHuman(_),
                ..
            } => {
                say!(global, "card {}: {why}", old.serial);
                return Ok(Exit::Incomplete);
            }
            Advance::Stopped { why, .. } => {
                say!(global, "card {}: {why}; {again}", old.serial);
                return Ok(Exit::Incomplete);
            }
        }
    }
}

/// What stays behind on the old card, under a cent.
fn remainder_note(m: &crate::ledger::Movement) -> String {
    match m.remainder {
        Some(r) if !r.is_zero() => {
            format!(" ({} under a cent stays on the old card)", r.normalize())
        }
        _ => String::new(),
    }
}

/// Records the new card (same value and design, no credit of its own: the movement loads it)
/// in a batch of its own, with its output folder.
fn issue_replacement(
    global: &Global,
    ledger: &crate::ledger::Ledger,
    old: &Card,
    m: &crate::ledger::Movement,
    platform: &crate::ledger::Platform,
) -> Result<crate::ledger::Batch, Error> {
    let old = ledger
        .card_by_id(old.id)?
        .ok_or_else(|| Error::NotFound(format!("card {} vanished", old.serial)))?;
    let old_batch = global.batch(ledger, &old.batch_id)?;
    let sold = was_sold(ledger, &old)?;
    let mut cards = plan_cards(
        vec![CardRequest::retail(old.value, old.tariff)],
        &old_batch.code,
        PasswordSpec::new(old_batch.password_length).map_err(Error::Usage)?,
        &ledger.known_customers()?,
        ledger.live_codes(&old_batch.code)?,
    )?;
    let mut card = cards.remove(0);
    card.credit = Some(Decimal::ZERO);
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
        platform: platform.clone(),
        expiry: lifecycle::expires_on(&old_batch, &old)
            .map(Expiry::On)
            .or(old_batch.expiry),
        lang: old_batch.lang.clone(),
        // The values the old card printed with.
        values: crate::batch::printed_values(&global.config()?.values, &old_batch),
    };
    let next = ledger.next_batch_id()?;
    manifest::check_fresh(&crate::batch::default_out(&next), &next)?;
    let batch = money::record_replacement(ledger, m, &new, &card, crate::batch::default_out)?;
    manifest::claim_dir(&batch.out_dir, &batch)?;
    Ok(batch)
}
