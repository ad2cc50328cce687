//! The end of a batch's run, for `issue`, `resume` and `replace`: provision what is left,
//! write the outputs, print the summary.

use std::path::Path;

use crate::batch::{self, Print, Sheets};
use crate::cli::context::Connection;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{Batch, Ledger};
use crate::provision;
use crate::runner::Options;

/// Provisions the unfinished cards of `batch` (over `connection` when the caller already made
/// one), writes its outputs and prints the summary.
pub fn finish_batch(
    global: &Global,
    ledger: &Ledger,
    batch: &Batch,
    options: &Options,
    sheets: &Sheets,
    print: &Print,
    connection: Option<&Connection>,
) -> Result<Exit, Error> {
    let batch::Unfinished {
        cards,
        pending,
        todo,
    } = batch::unfinished(ledger, batch)?;
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
    let batch::Outputs {
        cards,
        counts,
        sheets,
    } = batch::write_outputs(ledger, batch, sheets, print)?;
    let mut exit = Exit::Success;
    let mut line = format!(
        "batch {}: {}, {} ready, {} active, {} failed",
        batch.id,
        crate::text::count(counts.total(), "card", "cards"),
        counts.ready,
        counts.active,
        counts.failed
    );
    if counts.pending > 0 {
        line.push_str(&format!(", {} unfinished", counts.pending));
    }
    if let Some(r) = &report {
        line.push_str(&format!(
            " ({} in {:.1} s)",
            crate::text::count(r.requests as usize, "request", "requests"),
            r.elapsed.as_secs_f64()
        ));
    }
    say!(global, "{line}");
    say!(global, "outputs in {}", display_dir(&batch.out_dir));
    // The accounts are provisioned whatever happens to the PDF: say how to redo just that.
    match sheets {
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
            super::summary::print_unsettled(global, r);
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
