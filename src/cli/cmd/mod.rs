//! One module per subcommand: its clap arguments and its recipe.

pub mod activate;
pub mod audit;
pub mod batches;
pub mod block;
pub mod calls;
pub mod card;
pub mod check_password;
pub mod completions;
pub mod config_init;
pub mod consign;
pub mod doctor;
pub mod expire;
pub mod issue;
pub mod numbers;
pub mod portal;
pub mod preview;
pub mod render;
pub mod replace;
pub mod report;
pub mod reset_password;
pub mod resume;
pub mod sandbox;
pub mod settle;
pub mod show;
pub mod status;
pub mod topup;

use crate::cli::Exit;
use crate::config::{self, ConfigError, ProcessEnv};
use crate::error::Error;
use crate::lifecycle::Selection;
use crate::runner::{KillPoint, Options, Report};

/// Which cards of a batch: shared by the commands that change many cards.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Which cards")]
pub struct SelectArgs {
    /// Serials as printed: single or FIRST-LAST, comma-separated
    #[arg(long, value_name = "RANGES")]
    serials: Option<String>,
    /// Every card of the batch
    #[arg(long, conflicts_with = "serials")]
    all: bool,
}

impl SelectArgs {
    /// The selection; `None` when neither flag was given.
    pub fn selection(&self) -> Option<Selection<'_>> {
        match (&self.serials, self.all) {
            (Some(r), _) => Some(Selection::Ranges(r)),
            (None, true) => Some(Selection::All),
            (None, false) => None,
        }
    }
}

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

/// One card for a single-card change: it must be provisioned.
pub fn changeable_card(card: crate::ledger::Card) -> Result<crate::ledger::Card, Error> {
    let mut skipped = Vec::new();
    let mut cards = crate::lifecycle::changeable(vec![card], false, &mut skipped)?;
    Ok(cards.remove(0))
}

/// Brings a batch's manifest and inventory up to date after its cards changed.
pub fn refresh_outputs(ledger: &crate::ledger::Ledger, batch_id: &str) -> Result<(), Error> {
    if let Some(batch) = ledger.batch(batch_id)? {
        let cards = ledger.cards(batch_id)?;
        crate::manifest::write_outputs(&batch.out_dir, &batch, &cards, false)?;
    }
    Ok(())
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

/// How hard to drive the platform: shared by every command that sends requests.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Talking to the platform")]
pub struct EngineArgs {
    /// Requests per second, never exceeded in any one-second window
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    rate: f64,
    /// Requests in flight at most (worker threads)
    #[arg(long, value_name = "C", default_value_t = 8)]
    concurrency: usize,
    /// Seconds a settle read waits after a change whose answer was lost, so that a change the
    /// platform applies late has landed (default: [api] settle_delay_secs, else three times
    /// the request timeout)
    #[arg(long, value_name = "SECS")]
    settle_delay: Option<f64>,
}

impl EngineArgs {
    pub fn options(&self) -> Result<Options, Error> {
        if !(self.rate > 0.0 && self.rate <= 10_000.0) {
            return Err(Error::Usage(format!(
                "--rate {}: must be more than 0 and at most 10000 requests per second",
                self.rate
            )));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(Error::Usage(format!(
                "--concurrency {}: must be between 1 and 256",
                self.concurrency
            )));
        }
        let flag = match self.settle_delay {
            Some(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => {
                Some(std::time::Duration::from_secs_f64(s))
            }
            Some(s) => {
                return Err(Error::Usage(format!(
                    "--settle-delay {s}: give a number of seconds between 0 and 3600"
                )));
            }
            None => None,
        };
        let (settle_delay, warning) = config::settle_delay(&ProcessEnv, flag)?;
        if let Some(warning) = warning {
            eprintln!("{warning}");
        }
        let kill_at = config::kill_at(&ProcessEnv)
            .map(|k| KillPoint::parse(&k))
            .transpose()
            .map_err(|reason| ConfigError::Invalid {
                field: "CARDMINT_TEST_KILL_AT".into(),
                reason,
            })?;
        Ok(Options {
            concurrency: self.concurrency,
            rate: self.rate,
            burst: (self.rate / 10.0).clamp(1.0, 10.0) as u32,
            settle_delay,
            kill_at,
            ..Options::default()
        })
    }
}

/// Parses an amount for clap: digits with a decimal point. A decimal comma (`5,00`), which a
/// spreadsheet would show, is told how to write it.
pub fn amount(text: &str) -> Result<rust_decimal::Decimal, String> {
    let t = text.trim();
    if t.contains(',') && !t.contains('.') {
        return Err(format!(
            "{t}: write amounts with a decimal point, not a comma: {}",
            t.replace(',', ".")
        ));
    }
    t.parse()
        .map_err(|_| format!("{t}: not an amount; give digits with a decimal point, e.g. 5.00"))
}

/// Parses a block reason for clap: one line of at most 200 characters that does not begin a
/// spreadsheet formula (it goes into the manifest and the status CSV).
pub fn reason(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("the reason is empty; say why, e.g. \"lost\"".into());
    }
    if t.chars().count() > 200 {
        return Err("the reason is longer than 200 characters".into());
    }
    if t.chars().any(char::is_control) {
        return Err("the reason must be one line, without control characters".into());
    }
    if t.starts_with(['=', '+', '-', '@']) {
        return Err(format!(
            "{t:?}: begins like a spreadsheet formula (= + - @); begin with a word"
        ));
    }
    Ok(t.to_string())
}

/// The most cards one batch may hold (the ledger, the manifest and the PDF of a batch are
/// built in memory).
pub const MAX_BATCH: usize = 1_000_000;

/// Parses a count of cards for clap: a whole number of at least 1 (a negative one is told so,
/// not mistaken for a flag).
pub fn count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n > MAX_BATCH as i64 => Err(format!(
            "{n}: a batch has at most {MAX_BATCH} cards; issue several batches"
        )),
        Ok(n) if n >= 1 => usize::try_from(n).map_err(|e| e.to_string()),
        Ok(n) => Err(format!("{n}: the count must be at least 1")),
        Err(_) => Err(format!("{text}: not a whole number")),
    }
}
