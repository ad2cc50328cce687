//! What a changing run did, said the same way by every command: the summary lines, the
//! cards left out, the changes left unsettled with the command that settles each, and the
//! run's JSON document.

use crate::cli::Exit;
use crate::runner::Report;

/// Says which selected cards are left out, and why.
pub fn print_skipped(global: &crate::cli::Global, skipped: &[crate::ledger::Card]) {
    for c in skipped {
        match (&c.state, &c.block_reason) {
            (crate::ledger::CardState::Blocked, Some(why)) => {
                say!(global, "  {} skipped: blocked ({why})", c.serial)
            }
            (crate::ledger::CardState::Blocked, None) => {
                say!(global, "  {} skipped: blocked", c.serial)
            }
            (state, _) => say!(global, "  {} skipped: not provisioned ({state})", c.serial),
        }
    }
}

/// Prints what a changing run did (and its JSON document) and picks the exit code.
pub fn summarize(global: &crate::cli::Global, report: &Report, done: &str) -> Exit {
    global.emit(report_json(global, report, done));
    summary_lines(global, report, done)
}

/// The lines of [`summarize`], for a command whose JSON document is its own.
pub fn summary_lines(global: &crate::cli::Global, report: &Report, done: &str) -> Exit {
    let mut line = format!("{} {done}, {} failed", report.done, report.failed.len());
    if !report.unsettled.is_empty() {
        line.push_str(&format!(", {} unsettled", report.unsettled.len()));
    }
    say!(global, "{line}");
    for (serial, reason) in &report.failed {
        say!(global, "  {serial} failed: {reason}");
    }
    print_unsettled(global, report);
    if let Some(reason) = &report.stopped {
        say!(global, "stopped: {reason}");
    }
    if report.complete() {
        Exit::Success
    } else {
        if !report.failed.is_empty() || report.unfinished > 0 {
            say!(
                global,
                "run the same command again for the cards that did not change (it is safe)"
            );
        }
        Exit::Incomplete
    }
}

/// A run's report as the JSON document of the lifecycle commands:
/// `{"action", "done", "failed": [{"serial", "reason"}], "unsettled": [{"serial", "reason",
/// "settle"}], "unfinished", "stopped", "complete", "requests", "seconds"}`.
pub fn report_json(
    global: &crate::cli::Global,
    report: &Report,
    action: &str,
) -> serde_json::Value {
    serde_json::json!({
        "action": action,
        "done": report.done,
        "failed": report.failed.iter().map(|(serial, reason)| serde_json::json!({
            "serial": serial, "reason": reason.to_string(),
        })).collect::<Vec<_>>(),
        "unsettled": report.unsettled.iter().map(|(serial, reason)| serde_json::json!({
            "serial": serial,
            "reason": reason.to_string(),
            "settle": global.command_for("settle", serial),
        })).collect::<Vec<_>>(),
        "unfinished": report.unfinished,
        "stopped": report.stopped,
        "complete": report.complete(),
        "requests": report.requests,
        "seconds": report.elapsed.as_secs_f64(),
    })
}

/// Lists the changes left unsettled, each with the command that settles it later.
pub fn print_unsettled(global: &crate::cli::Global, report: &Report) {
    for (serial, why) in &report.unsettled {
        say!(global, "  {serial} unsettled: {why}");
        say!(
            global,
            "    settle it later with: {}",
            global.command_for("settle", serial)
        );
    }
}
