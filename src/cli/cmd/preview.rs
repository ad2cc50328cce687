//! `cardmint preview`: one sheet of a design with sample data, for designers.

use std::path::PathBuf;

use crate::batch::{self, Print, Sheets};
use crate::cli::args::Layout;
use crate::cli::{Exit, Global};
use crate::error::Error;

/// Render one sheet of a card design with sample data (Cyrillic, Greek and accented labels
/// included), to check a design before a batch uses it. Nothing is sent or recorded.
///
/// Example:
///   cardmint preview --template retail --sheet avery-c32015 --out preview.pdf
///   cardmint preview --template my-design.toml --set brand=VoiceMint
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where to write the PDF
    #[arg(long, value_name = "FILE", default_value = "preview.pdf")]
    out: PathBuf,
    /// Duplex: long (backs mirrored for a long-edge flip), short, or none (fronts.pdf and
    /// backs.pdf). A printer's offsets and a partly used sheet are render's and issue's.
    #[arg(long, value_enum, default_value_t = crate::render::Duplex::Long)]
    duplex: crate::render::Duplex,
    #[command(flatten)]
    layout: Layout,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    global.no_json("preview")?;
    global.can_write(&args.out, &["pdf"])?;
    let config = global.config()?;
    let sheets = Sheets::for_batch(
        &config.values,
        &args.layout.look(),
        &batch::probe("PREVIEW"),
    )?;
    for line in sheets.warnings() {
        out!("{line}");
    }
    // A sheet of sample cards from its first position, without a printer's offsets.
    let print = Print {
        duplex: args.duplex,
        ..Print::default()
    };
    for (path, size) in sheets.sample(&print, &args.out)? {
        out!("{} ({} bytes)", path.display(), size);
    }
    Ok(Exit::Success)
}
