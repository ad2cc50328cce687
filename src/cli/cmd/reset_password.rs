//! `cardmint reset-password`: a new password for one card.

use crate::batch::{Look, Print, Sheets};
use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::codes::{Draw, OsRandom, PasswordSpec};
use crate::error::Error;
use crate::lifecycle;

/// Give one card (by serial or customer) a new policy-compliant password. It is recorded in
/// the ledger before it is sent, confirmed when the platform accepts it, and printed once.
/// With --print, a replacement welcome card is rendered into the batch's folder.
///
/// Example:
///   cardmint reset-password 0000000013 --print
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Serial (as printed) or customer name
    card: String,
    /// Render a replacement welcome card (out/BATCH/reset-SERIAL/cards.pdf, one card per page)
    #[arg(long)]
    print: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let ledger = global.open_ledger_for_changes()?;
    let card = crate::lifecycle::changeable_one(global.card(&ledger, &args.card)?)?;
    let pending = crate::money::pending_of(&ledger, std::slice::from_ref(&card))?;
    let batch = global.batch(&ledger, &card.batch_id)?;
    // The replacement card's printing is fixed before anything is sent.
    let sheets = if args.print {
        let look = Look {
            template: Some("welcome".into()),
            sheet: Some("cr80".into()),
            ..Look::default()
        };
        Some(Sheets::for_batch(&global.config()?.values, &look, &batch)?)
    } else {
        None
    };
    // A reset that was interrupted is finished with the password it sent; otherwise draw one.
    let new = match &card.pending_password {
        Some(p) => p.clone(),
        None => {
            let spec = PasswordSpec::new(batch.password_length.max(8)).map_err(Error::Usage)?;
            spec.generate(&mut Draw::new(OsRandom))?
        }
    };
    // Recorded before it is sent: a kill after sending never loses the new password.
    ledger.write(|w| w.set_pending_password(card.id, &new))?;
    // The manifest holds every password that may open the account, from before it is sent.
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    let serial = card.serial.clone();
    let report = global.run_engine(&ledger, Some(&batch.id), 1, &options, |run| {
        lifecycle::reset_password(run, card, pending, &new)
    })?;
    crate::batch::refresh_outputs(&ledger, &batch.id)?;
    let exit = crate::cli::summary::summary_lines(global, &report, "password reset");
    let mut doc = crate::cli::summary::report_json(global, &report, "password reset");
    if exit != Exit::Success {
        global.emit(doc);
        return Ok(exit);
    }
    // Printed once: on stdout, or in the JSON document under --json.
    if global.json {
        doc["serial"] = serial.clone().into();
        doc["password"] = new.expose().into();
        global.emit(doc);
    } else {
        out!("new password for {serial}: {}", new.expose());
    }
    if let Some(sheets) = sheets {
        let card = global.card(&ledger, &serial)?;
        let dir = batch.out_dir.join(format!("reset-{serial}"));
        crate::atomic::create_dir(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let mut card = card;
        card.state = crate::ledger::CardState::Active;
        for line in sheets.render(&batch, &[card], &Print::default(), &dir, "cards")? {
            say!(global, "{line}");
        }
    }
    Ok(exit)
}
