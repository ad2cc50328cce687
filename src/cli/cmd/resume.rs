//! `cardmint resume BATCH`: finish an interrupted batch. Also the end of `issue`: provision
//! what is left, bring the batch's outputs up to date, print the summary.

use std::path::Path;

use super::EngineArgs;
use super::render::{Layout, Printing, render_cards};
use crate::cli::context::Connection;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Batch, Ledger};
use crate::manifest;
use crate::provision;
use crate::runner::Options;

/// Finish an interrupted batch: killed, network down, or cards that failed.
///
/// Changes whose outcome is open (a lost answer, a kill) are settled first, on evidence from
/// the platform, like `cardmint settle`; what the ledger knows decides the rest, so nothing is
/// created twice and no credit is loaded twice. Safe to run any number of times.
///
/// Example:
///   cardmint resume B0001
///   cardmint --sandbox resume B0001 --rate 20
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id (see `cardmint batches`)
    batch: String,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    layout: Layout,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let ledger = global.open_ledger_for_changes()?;
    let batch = global.batch(&ledger, &args.batch)?;
    finish_batch(
        global,
        &ledger,
        &batch,
        &options,
        &args.layout,
        &Printing::default(),
        None,
    )
}

/// Provisions the unfinished cards of `batch` (over `connection` when the caller already made
/// one), writes its outputs and prints the summary.
pub fn finish_batch(
    global: &Global,
    ledger: &Ledger,
    batch: &Batch,
    options: &Options,
    layout: &Layout,
    printing: &Printing,
    connection: Option<&Connection>,
) -> Result<Exit, Error> {
    let cards = ledger.cards(&batch.id)?;
    let pending = ledger.pending_intents(Some(&batch.id))?;
    let open: std::collections::HashSet<i64> = pending.iter().map(|i| i.card_id).collect();
    let todo = cards
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                crate::ledger::CardState::Pending | crate::ledger::CardState::Failed
            ) || open.contains(&c.id)
        })
        .count();
    let report = if todo > 0 {
        let own;
        let connection = match connection {
            Some(c) => c,
            None => {
                own = global.connect(options)?;
                &own
            }
        };
        Some(global.run_engine_with(
            connection,
            ledger,
            Some(&batch.id),
            todo,
            options,
            |run| provision::provision(run, batch, cards, pending),
        )
        .inspect_err(|e| {
            // The disk full, the ledger unwritable: what was recorded stays; say how to go on.
            eprintln!(
                "batch {} stopped: {e}\nwhat the ledger recorded is kept; when that is fixed, run: {}",
                batch.id,
                global.command_for("resume", &batch.id)
            );
        })?)
    } else {
        None
    };
    let cards = ledger.cards(&batch.id)?;
    manifest::write_outputs(&batch.out_dir, batch, &cards, false)?;
    let counts = ledger.counts(&batch.id)?;
    let mut exit = Exit::Success;
    let mut line = format!(
        "batch {}: {} cards, {} ready, {} active, {} failed",
        batch.id,
        counts.total(),
        counts.ready,
        counts.active,
        counts.failed
    );
    if counts.pending > 0 {
        line.push_str(&format!(", {} unfinished", counts.pending));
    }
    if let Some(r) = &report {
        line.push_str(&format!(
            " ({} requests in {:.1} s)",
            r.requests,
            r.elapsed.as_secs_f64()
        ));
    }
    say!(global, "{line}");
    say!(global, "outputs in {}", display_dir(&batch.out_dir));
    // The accounts are provisioned whatever happens to the PDF: say how to redo just that.
    match render_cards(batch, &cards, layout, printing, &batch.out_dir, "cards") {
        Ok(lines) => lines.iter().for_each(|l| say!(global, "{l}")),
        Err(e) => {
            eprintln!("error: the cards are provisioned but the PDF failed: {e}");
            eprintln!(
                "fix it and run: {}",
                global.command_for("render", &batch.id)
            );
            exit = Exit::Failure;
        }
    }
    if counts.failed > 0 || counts.pending > 0 {
        exit = Exit::Incomplete;
        for card in cards
            .iter()
            .filter(|c| c.failure.is_some() && c.state == crate::ledger::CardState::Failed)
        {
            say!(
                global,
                "  {} failed: {}",
                card.serial,
                card.failure.as_deref().unwrap_or("")
            );
        }
        if let Some(r) = &report {
            super::print_unsettled(global, r);
        }
        if let Some(reason) = report.as_ref().and_then(|r| r.stopped.as_ref()) {
            say!(global, "stopped: {reason}");
        }
        say!(
            global,
            "to finish the batch, run: {}",
            global.command_for("resume", &batch.id)
        );
    }
    global.emit(serde_json::json!({
        "batch": batch.id,
        "cards": {
            "total": counts.total(),
            "ready": counts.ready,
            "active": counts.active,
            "blocked": counts.blocked,
            "failed": counts.failed,
            "pending": counts.pending,
        },
        "failed": cards.iter().filter(|c| c.state == crate::ledger::CardState::Failed).map(|c| serde_json::json!({
            "serial": c.serial, "reason": c.failure,
        })).collect::<Vec<_>>(),
        "outputs": batch.out_dir,
        "requests": report.as_ref().map_or(0, |r| r.requests),
        "seconds": report.as_ref().map_or(0.0, |r| r.elapsed.as_secs_f64()),
        "stopped": report.as_ref().and_then(|r| r.stopped.clone()),
        "finish": (counts.failed > 0 || counts.pending > 0).then(|| global.command_for("resume", &batch.id)),
        "complete": exit == Exit::Success,
    }));
    Ok(exit)
}

fn display_dir(dir: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    cwd.and_then(|c| dir.strip_prefix(&c).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| dir.display().to_string())
}
