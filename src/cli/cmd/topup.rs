//! `cardmint topup`: load (or deduct) credit on one card, exactly once.

use rust_decimal::Decimal;

use crate::cli::args::EngineArgs;
use crate::cli::summary::summarize;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::lifecycle;

/// Load credit on one card (by serial or customer). The balance is read first and again after
/// any lost answer, so the credit is never loaded twice. A negative amount deducts and needs
/// --yes.
///
/// Examples:
///   cardmint topup 0000000013 10.00
///   cardmint topup 0000000013 -2.50 --yes
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Serial (as printed) or customer name
    card: String,
    /// Amount with a decimal point, at most two decimals
    #[arg(allow_negative_numbers = true, value_parser = crate::cli::args::amount)]
    amount: Decimal,
    /// Confirm a deduction (negative amount)
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let amount = args.amount;
    if amount.is_zero()
        || amount.normalize().scale() > 2
        || amount.abs() >= Decimal::from(10_000_000)
    {
        return Err(Error::Usage(format!(
            "amount {amount}: not zero, at most two decimals, below 10000000"
        )));
    }
    if amount.is_sign_negative() && !args.yes {
        return Err(Error::Usage(format!(
            "{amount} deducts credit from the card: add --yes to confirm"
        )));
    }
    let ledger = global.open_ledger_for_changes()?;
    let card = crate::lifecycle::changeable_one(global.card(&ledger, &args.card)?)?;
    // Its credit moved (or is moving) to another card, exactly once: top up that one.
    if let Some(m) = ledger.movement_of(card.id)? {
        let to = match m.target {
            Some(t) => ledger.card_by_id(t)?.map(|c| c.serial).unwrap_or_default(),
            None => String::new(),
        };
        return Err(crate::lifecycle::SelectError::Stock(match m.kind {
            crate::ledger::MovementKind::Redeem => format!(
                "card {} was redeemed onto {to}: its credit moved there; nothing was sent",
                card.serial
            ),
            crate::ledger::MovementKind::Replace => format!(
                "card {} was replaced by {to}: top up the new card; nothing was sent",
                card.serial
            ),
        })
        .into());
    }
    let pending = crate::money::pending_of(&ledger, std::slice::from_ref(&card))?;
    let (serial, batch) = (card.serial.clone(), card.batch_id.clone());
    let report = global.run_engine(&ledger, Some(&batch), 1, &options, |run| {
        lifecycle::topup(run, card, pending, amount)
    })?;
    crate::batch::refresh_outputs(&ledger, &batch)?;
    let exit = summarize(global, &report, &format!("topped up with {amount:.2}"));
    if exit == Exit::Success {
        let card = global.card(&ledger, &serial)?;
        say!(global, "card {serial}: {:.2} loaded in all", card.loaded());
    }
    Ok(exit)
}
