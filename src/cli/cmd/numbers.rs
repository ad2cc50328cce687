//! `cardmint numbers`: list, add or delete a card's caller-ID numbers.

use crate::cli::args::EngineArgs;
use crate::cli::summary::summarize;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::import::normalize_number;
use crate::lifecycle;

/// List, add or delete the CLI (caller-ID) numbers of one card. Alone, it lists the numbers
/// the ledger holds for the card (`cardmint audit` checks them against the platform). Numbers
/// are read with libphonenumber's data, in international form or national form with --region,
/// and sent as E.164.
///
/// Examples:
///   cardmint numbers 0000000013
///   cardmint numbers 0000000013 --add "+44 20 7946 0958"
///   cardmint numbers shop_3 --delete "020 7946 0958" --region GB
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Serial (as printed) or customer name
    card: String,
    /// Number to attach
    #[arg(long, value_name = "N", conflicts_with = "delete")]
    add: Option<String>,
    /// Number to remove
    #[arg(long, value_name = "N")]
    delete: Option<String>,
    /// Region of a national-format number (ISO code, e.g. GB)
    #[arg(long, value_name = "XX")]
    region: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let region = args
        .region
        .as_deref()
        .map(|r| crate::import::parse_region(r).map_err(Error::Usage))
        .transpose()?;
    let (raw, add) = match (&args.add, &args.delete) {
        (Some(n), _) => (n.as_str(), true),
        (None, Some(n)) => (n.as_str(), false),
        (None, None) => return list(global, &args.card),
    };
    let number = normalize_number(raw, region).map_err(|e| Error::Usage(e.to_string()))?;
    let ledger = global.open_ledger_for_changes()?;
    let card = crate::lifecycle::changeable_one(global.card(&ledger, &args.card)?)?;
    let pending = crate::money::pending_of(&ledger, std::slice::from_ref(&card))?;
    let batch = card.batch_id.clone();
    let report = global.run_engine(&ledger, Some(&batch), 1, &options, |run| {
        lifecycle::change_number(run, card, pending, &number, add)
    })?;
    crate::batch::refresh_outputs(&ledger, &batch)?;
    Ok(summarize(
        global,
        &report,
        if add {
            "number added"
        } else {
            "number deleted"
        },
    ))
}

/// The card's numbers as the ledger holds them, one a line, for reading.
fn list(global: &Global, key: &str) -> Result<Exit, Error> {
    let ledger = global.open_ledger()?;
    let card = global.card(&ledger, key)?;
    if card.numbers.is_empty() {
        say!(global, "{} ({}): no numbers", card.serial, card.customer);
    }
    for n in &card.numbers {
        say!(global, "{}", crate::import::for_reading(n));
    }
    global.emit(serde_json::json!({
        "serial": card.serial,
        "customer": card.customer,
        "numbers": card.numbers,
    }));
    Ok(Exit::Success)
}
