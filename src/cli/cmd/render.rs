//! `cardmint render BATCH`: the batch's card sheets from the ledger, with no request to the
//! platform; and the flags of the cards' look and printing that `issue`, `resume`,
//! `replace` and `preview` share.

use std::path::PathBuf;

use crate::batch::Sheets;
use crate::cli::args::{Layout, Printing};
use crate::cli::{Exit, Global};
use crate::codes::parse_serial_ranges;
use crate::config;
use crate::error::Error;

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
    /// Only these serials: FIRST-LAST or single serials, comma-separated, as printed
    #[arg(long, value_name = "RANGES")]
    serials: Option<String>,
    /// Output folder (default: the batch's)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Draw the alignment sheet instead of the cards
    #[arg(long)]
    proof: bool,
    // The groups after the command's own flags: each under its heading in the help.
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    printing: Printing,
    /// Save the offsets as the calibration of --printer NAME in the config file
    #[arg(long, requires = "printer", help_heading = "Printing")]
    save_printer: bool,
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
    crate::manifest::claim_dir(&dir, &batch)?;
    let config = global.config()?;
    let sheets = Sheets::for_batch(&config.values, &args.layout.look(), &batch)?;
    let print = args.printing.print_calibrating(config, args.save_printer)?;
    if let (true, Some(name)) = (args.save_printer, &args.printing.printer) {
        let saved = config::PrinterOffsets {
            front_x: print.offsets.front_x,
            front_y: print.offsets.front_y,
            back_x: print.offsets.back_x,
            back_y: print.offsets.back_y,
        };
        let path = config::save_printer(config, name, &saved)?;
        eprintln!("calibration of printer {name} saved in {}", path.display());
    }
    if args.proof {
        let path = sheets.proof(&print, &dir.join("proof.pdf"))?;
        say!(global, "proof: {}", path.display());
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
    let files = sheets.render(&batch, &cards, &print, &dir, &stem)?;
    for line in files {
        say!(global, "{line}");
    }
    Ok(Exit::Success)
}
