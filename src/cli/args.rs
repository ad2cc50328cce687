//! The flags several commands share, as clap groups, and their parsers: which cards, how
//! hard to drive the platform, the cards' look and printing.

use crate::batch::{Look, Print};
use crate::config::{Config, ConfigError};
use crate::error::Error;
use crate::lifecycle::Selection;
use crate::render::{Duplex, Offsets, Scratch};
use crate::runner::{KillPoint, Options};

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
    pub fn options(&self, config: &Config) -> Result<Options, Error> {
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
        let (settle_delay, warning) = config.settle_delay(flag);
        if let Some(warning) = warning {
            eprintln!("{warning}");
        }
        let kill_at = config
            .hooks
            .kill_at
            .as_deref()
            .map(KillPoint::parse)
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
    // A deduction is written with a minus (`topup CARD -2.50`); the rest as the customer
    // file's amounts are, and only so (`1e2` and `1_000` are not amounts).
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    crate::text::plain_amount(digits)
        .map(|a| if negative { -a } else { a })
        .ok_or_else(|| format!("{t}: not an amount; give digits with a decimal point, e.g. 5.00"))
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

/// Parses a rate list (tariff) id for clap ([`crate::text::tariff_id`]).
pub fn tariff(text: &str) -> Result<i64, String> {
    crate::text::tariff_id(text)
        .ok_or_else(|| format!("{text}: a rate list id is a whole number, like 3 or -2"))
}

/// How cards are laid out on paper: shared by `render`, `issue` and `preview`.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Layout")]
pub struct Layout {
    /// Card design: retail, welcome, or a path to a .toml design
    #[arg(long, value_name = "DESIGN")]
    pub template: Option<String>,
    /// Sheet layout: avery-c32011 (the default), avery-c32015, letter-8up, cr80, sra3-21up,
    /// or a path to a .toml layout
    #[arg(long, value_name = "SHEET")]
    pub sheet: Option<String>,
    /// Set a template value (brand, access_numbers, support, ...); repeatable
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = key_value)]
    pub set: Vec<(String, String)>,
    /// The scratch panel: plate (press: a spot-colour plate over the code, painted last and
    /// overprinting), sticker (office stock: an outline where a sticker goes, the code plain)
    /// or none; default: the sheet's (plate for the press sheets cr80 and sra3-21up, sticker
    /// for the office sheets)
    #[arg(long, value_enum, value_name = "HOW")]
    pub scratch: Option<Scratch>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("{k:?}: a key is letters, digits and _"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Printing options: duplex, calibration, partly used sheets.
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Printing")]
pub struct Printing {
    /// Duplex: long (backs mirrored for a long-edge flip), short, or none (fronts.pdf and backs.pdf)
    #[arg(long, value_enum, default_value_t = Duplex::Long)]
    pub duplex: Duplex,
    /// Use the calibration saved for this printer in the config file ([printers.NAME])
    #[arg(long, value_name = "NAME")]
    pub printer: Option<String>,
    /// Shift fronts right by MM (overrides the printer's)
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    pub front_offset_x: Option<f64>,
    /// Shift fronts down by MM
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    pub front_offset_y: Option<f64>,
    /// Shift backs right by MM
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    pub back_offset_x: Option<f64>,
    /// Shift backs down by MM
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    pub back_offset_y: Option<f64>,
    /// Begin on card position N of the first sheet (a partly used sheet)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub start: usize,
}

impl Default for Printing {
    fn default() -> Self {
        Printing {
            duplex: Duplex::Long,
            printer: None,
            front_offset_x: None,
            front_offset_y: None,
            back_offset_x: None,
            back_offset_y: None,
            start: 1,
        }
    }
}

impl Layout {
    /// What the flags ask of the cards' look.
    pub fn look(&self) -> Look {
        Look {
            template: self.template.clone(),
            sheet: self.sheet.clone(),
            set: self.set.clone(),
            scratch: self.scratch,
        }
    }
}

impl Printing {
    /// How the sheets go through the printer: the flags, over the calibration saved for
    /// `--printer` in the config.
    pub fn print(&self, config: &Config) -> Result<Print, Error> {
        self.print_calibrating(config, false)
    }

    /// [`Printing::print`], where `calibrating` (`render --save-printer`) takes a printer the
    /// config has no calibration for yet: its offsets come from the flags.
    pub fn print_calibrating(&self, config: &Config, calibrating: bool) -> Result<Print, Error> {
        let saved = match &self.printer {
            Some(name) => match config.printers.get(name) {
                Some(saved) => *saved,
                None if calibrating => Default::default(),
                None => {
                    return Err(Error::Usage(format!(
                        "--printer {name}: no [printers.{name}] in the config file \
                         (calibrate it with --proof --save-printer)"
                    )));
                }
            },
            None => Default::default(),
        };
        let offsets = Offsets {
            front_x: self.front_offset_x.unwrap_or(saved.front_x),
            front_y: self.front_offset_y.unwrap_or(saved.front_y),
            back_x: self.back_offset_x.unwrap_or(saved.back_x),
            back_y: self.back_offset_y.unwrap_or(saved.back_y),
        };
        if [
            offsets.front_x,
            offsets.front_y,
            offsets.back_x,
            offsets.back_y,
        ]
        .iter()
        .any(|v| !v.is_finite() || v.abs() > 20.0)
        {
            return Err(Error::Usage("offsets are at most 20 mm either way".into()));
        }
        Ok(Print {
            duplex: self.duplex,
            offsets,
            start: self.start,
        })
    }
}
