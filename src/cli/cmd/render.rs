//! `cardmint render BATCH`: the batch's card sheets from the ledger, with no request to the
//! platform. Also the last step of `issue` and `resume`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::{Exit, Global};
use crate::codes::parse_serial_ranges;
use crate::config::{self, ProcessEnv};
use crate::error::Error;
use crate::ledger::{Batch, Card, CardState};
use crate::render::{self, CardFields, Duplex, Job, Offsets, Scratch, Target};

/// How cards are laid out on paper: shared by `render`, `issue` and `preview`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Layout {
    /// Card design: retail, welcome, or a path to a .toml design
    #[arg(long, value_name = "T")]
    pub template: Option<String>,
    /// Sheet layout: avery-c32011 (the default), avery-c32015, letter-8up, cr80, sra3-21up,
    /// or a path to a .toml layout
    #[arg(long, value_name = "S")]
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
    /// Save the offsets as the calibration of --printer NAME in the config file
    #[arg(long, requires = "printer")]
    pub save_printer: bool,
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
            save_printer: false,
        }
    }
}

impl Printing {
    fn offsets(&self) -> Result<Offsets, Error> {
        let settings = config::render_settings(&ProcessEnv)?;
        let saved = match &self.printer {
            Some(name) => match settings.printers.get(name) {
                Some(saved) => *saved,
                // A new printer is being calibrated: its offsets come from the flags.
                None if self.save_printer => Default::default(),
                None => {
                    return Err(Error::Usage(format!(
                        "--printer {name}: no [printers.{name}] in the config file \
                         (calibrate it with --proof --save-printer)"
                    )));
                }
            },
            None => Default::default(),
        };
        let o = Offsets {
            front_x: self.front_offset_x.unwrap_or(saved.front_x),
            front_y: self.front_offset_y.unwrap_or(saved.front_y),
            back_x: self.back_offset_x.unwrap_or(saved.back_x),
            back_y: self.back_offset_y.unwrap_or(saved.back_y),
        };
        if [o.front_x, o.front_y, o.back_x, o.back_y]
            .iter()
            .any(|v| !v.is_finite() || v.abs() > 20.0)
        {
            return Err(Error::Usage("offsets are at most 20 mm either way".into()));
        }
        if let (true, Some(name)) = (self.save_printer, &self.printer) {
            let saved = config::PrinterOffsets {
                front_x: o.front_x,
                front_y: o.front_y,
                back_x: o.back_x,
                back_y: o.back_y,
            };
            let path = config::save_printer(&ProcessEnv, name, &saved)?;
            eprintln!("calibration of printer {name} saved in {}", path.display());
        }
        Ok(o)
    }
}

/// Render a batch's cards into a PDF from the ledger (no request to the platform).
///
/// Only provisioned cards (ready, active, blocked) are drawn. The file goes into the batch's
/// folder (or --out): cards.pdf, or fronts.pdf and backs.pdf with --duplex none. With --proof,
/// proof.pdf: an alignment sheet with trim outlines and a millimetre scale, to calibrate a
/// printer (save the offsets under [printers.NAME] in cardmint.toml).
///
/// Examples:
///   cardmint render B0001
///   cardmint render B0001 --serials 0000000013-0000000101 --sheet cr80 --duplex none
///   cardmint render B0001 --proof --printer office --front-offset-x 0.4 --save-printer
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The batch id
    batch: String,
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    printing: Printing,
    /// Only these serials: FIRST-LAST or single serials, comma-separated, as printed
    #[arg(long, value_name = "RANGES")]
    serials: Option<String>,
    /// Output folder (default: the batch's)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Draw the alignment sheet instead of the cards
    #[arg(long)]
    proof: bool,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    global.no_json("render")?;
    let ledger = global.open_ledger()?;
    let batch = global.batch(&ledger, &args.batch)?;
    let mut cards = ledger.cards(&batch.id)?;
    if let Some(text) = &args.serials {
        let ranges =
            parse_serial_ranges(text).map_err(|e| Error::Usage(format!("--serials: {e}")))?;
        for r in &ranges {
            if !cards.iter().any(|c| r.contains(c.seq)) {
                return Err(Error::Usage(format!(
                    "--serials: {r} has no card of batch {}",
                    batch.id
                )));
            }
        }
        cards.retain(|c| ranges.iter().any(|r| r.contains(c.seq)));
    }
    let dir = args.out.clone().unwrap_or_else(|| batch.out_dir.clone());
    // The batch's folder, or an --out folder that no other batch's outputs are in.
    crate::manifest::claim_dir(&dir, &batch.id)?;
    let layout = &args.layout;
    if args.proof {
        let (design, sheet) = load(layout, &batch)?;
        let job = Job {
            design: &design,
            sheet: &sheet,
            duplex: args.printing.duplex,
            offsets: args.printing.offsets()?,
            start: 1,
            scratch: layout.scratch,
            cards: &[],
        };
        let out = render::proof(&job, &dir.join("proof.pdf"))?;
        say!(global, "proof: {}", out.files[0].0.display());
        return Ok(Exit::Success);
    }
    // A re-print of some cards goes into its own file, never over the batch's sheets.
    let stem = match (&args.serials, cards.first(), cards.last()) {
        (Some(_), Some(first), Some(last)) => {
            let base = format!("reprint-{}-{}", first.serial, last.serial);
            (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|stem| {
                    !dir.join(format!("{stem}.pdf")).exists()
                        && !dir.join(format!("{stem}-fronts.pdf")).exists()
                })
                .expect("a free name")
        }
        _ => "cards".to_string(),
    };
    let files = render_cards(&batch, &cards, layout, &args.printing, &dir, &stem)?;
    for line in files {
        say!(global, "{line}");
    }
    Ok(Exit::Success)
}

/// The design and sheet for a batch: as asked, else as recorded with the batch, else retail
/// for drawn codes and welcome for imported customers, on A4 10-up.
fn load(layout: &Layout, batch: &Batch) -> Result<(render::Design, render::Sheet), Error> {
    let mut values: BTreeMap<String, String> = config::render_settings(&ProcessEnv)?.values;
    values.extend(layout.set.iter().cloned());
    // A batch with an expiry rule prints that rule, whatever the configured note says.
    if let Some(rule) = &batch.expiry {
        values.insert("expiry_note".into(), rule.note());
    }
    let default = if batch.source.is_some() {
        "welcome"
    } else {
        "retail"
    };
    let template = layout
        .template
        .as_deref()
        .or(batch.template.as_deref())
        .unwrap_or(default);
    let design = render::load_design(template, &values)?;
    let sheet_name = layout
        .sheet
        .as_deref()
        .or(batch.sheet.as_deref())
        .unwrap_or(DEFAULT_SHEET);
    let sheet = render::load_sheet_for(sheet_name, &design)?;
    Ok((design, sheet))
}

/// The sheet a batch prints on unless it names one: A4 pre-cut card stock.
pub const DEFAULT_SHEET: &str = "avery-c32011";

/// A batch-to-be with id `id`, as far as choosing its design needs.
pub fn probe_batch(id: &str) -> Batch {
    Batch {
        id: id.to_string(),
        created_at: String::new(),
        value: Default::default(),
        currency: String::new(),
        tariff: None,
        active: false,
        code: crate::codes::CodeSpec::new(12, "").expect("valid"),
        password_length: 10,
        source: None,
        out_dir: PathBuf::new(),
        template: None,
        sheet: None,
        platform: None,
        expiry: None,
    }
}

/// Lays out every planned card of a batch-to-be with its design and sheet, before anything is
/// recorded or sent: a text that cannot fit (after wrapping and shrinking), a character the
/// font lacks or a QR too dense is an input error naming the card (or the customer file's
/// row) and the element.
/// Returns the design, for the checks that follow.
pub fn check_planned(
    layout: &Layout,
    batch: &Batch,
    cards: &[Card],
) -> Result<render::Design, Error> {
    let (design, sheet) = load(layout, batch)?;
    // The very fields the cards will print with.
    let printable: Vec<CardFields> = cards.iter().map(|c| fields(batch, c)).collect();
    let job = Job {
        design: &design,
        sheet: &sheet,
        duplex: Duplex::Long,
        offsets: Offsets::default(),
        start: 1,
        scratch: layout.scratch,
        cards: &printable,
    };
    render::check_cards(&job, usize::MAX).map_err(|problems| {
        let source = batch.source.as_deref();
        // One line a problem; a shared value (a brand too long) fails every card alike.
        let mut lines: Vec<(String, String, usize)> = Vec::new();
        for (i, why) in problems {
            let what = why.split_once(": ").map_or(why.as_str(), |(_, rest)| rest);
            let at = match source {
                Some(file) => format!("{file} data row {}", i + 1),
                None => format!("card {}", printable[i].serial),
            };
            match lines.iter_mut().find(|(_, w, _)| w == what) {
                Some(line) => line.2 += 1,
                None => lines.push((at, what.to_string(), 0)),
            }
        }
        let text: Vec<String> = lines
            .into_iter()
            .take(20)
            .map(|(at, what, more)| match more {
                0 => format!("{at}: {what}"),
                n => format!("{at} (and {n} more alike): {what}"),
            })
            .collect();
        Error::Unprintable(text.join("\n  "))
    })?;
    Ok(design)
}

/// Refuses to print demo values (the shipped designs' own brand, support line and numbers, an
/// example.com address, a fictional number) on cards for the real platform, naming the
/// `[values]` keys to set.
pub fn check_demo_values(
    design: &render::Design,
    platform: Option<&crate::ledger::Platform>,
) -> Result<(), Error> {
    if !platform.is_some_and(crate::ledger::Platform::is_real) {
        return Ok(());
    }
    let demo = design.demo_values();
    if demo.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = demo
        .iter()
        .map(|(k, v, why)| format!("{k} = {v:?} ({why})"))
        .collect();
    Err(Error::DemoValues(lines.join("\n  ")))
}

fn fields(batch: &Batch, card: &Card) -> CardFields {
    CardFields {
        serial: card.serial.clone(),
        code: card.customer.clone(),
        password: card.password.expose().to_string(),
        // What the card holds now: the face value and every top-up since.
        value: format!("{:.2}", card.loaded()),
        currency: batch.currency.clone(),
        batch: batch.id.clone(),
        // Never an empty greeting: the login stands in for a name.
        label: if card.label.trim().is_empty() {
            card.customer.clone()
        } else {
            card.label.clone()
        },
        numbers: card
            .numbers
            .iter()
            .map(|n| crate::import::for_reading(n))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Renders the provisioned cards among `cards` into `dir` as `STEM.pdf` (or `fronts.pdf` and
/// `backs.pdf`, `STEM-fronts.pdf` and `STEM-backs.pdf` for another stem, with --duplex none);
/// returns lines for the user.
pub fn render_cards(
    batch: &Batch,
    cards: &[Card],
    layout: &Layout,
    printing: &Printing,
    dir: &std::path::Path,
    stem: &str,
) -> Result<Vec<String>, Error> {
    let (design, sheet) = load(layout, batch)?;
    check_demo_values(&design, batch.platform.as_ref())?;
    let printable: Vec<CardFields> = cards
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                CardState::Ready | CardState::Active | CardState::Blocked
            )
        })
        .map(|c| fields(batch, c))
        .collect();
    let mut lines = sheet.warnings(&design.card);
    lines.extend(render::press_warnings(&design, &sheet));
    let skipped = cards.len() - printable.len();
    if skipped > 0 {
        lines.push(format!(
            "{skipped} card(s) not provisioned (failed or pending) are left out of the PDF"
        ));
    }
    if printable.is_empty() {
        lines.push("no provisioned card to render".into());
        return Ok(lines);
    }
    if printing.start == 0 || printing.start > sheet.per_sheet() {
        return Err(Error::Usage(format!(
            "--start {}: a {} sheet has positions 1 to {}",
            printing.start,
            sheet.name,
            sheet.per_sheet()
        )));
    }
    let job = Job {
        design: &design,
        sheet: &sheet,
        duplex: printing.duplex,
        offsets: printing.offsets()?,
        start: printing.start,
        scratch: layout.scratch,
        cards: &printable,
    };
    let target = match (printing.duplex, stem) {
        (Duplex::None, "cards") => Target::Two {
            fronts: dir.join("fronts.pdf"),
            backs: dir.join("backs.pdf"),
        },
        (Duplex::None, _) => Target::Two {
            fronts: dir.join(format!("{stem}-fronts.pdf")),
            backs: dir.join(format!("{stem}-backs.pdf")),
        },
        _ => Target::One(dir.join(format!("{stem}.pdf"))),
    };
    let out = render::render(&job, &target)?;
    lines.push(format!(
        "{} cards on {} sheet(s), {} pages: {}",
        printable.len(),
        out.sheets,
        out.pages,
        out.files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(lines)
}
