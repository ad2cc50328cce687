//! `cardmint preview`: one sheet of a design with sample data, for designers.

use std::path::PathBuf;

use super::render::{Layout, Printing};
use crate::cli::{Exit, Global};
use crate::config::{self, ProcessEnv};
use crate::error::Error;
use crate::render::{self, Job, Target};

/// Render one sheet of a card design with sample data (Cyrillic, Greek and accented labels
/// included), to check a design before a batch uses it. Nothing is sent or recorded.
///
/// Example:
///   cardmint preview --template templates/cards/retail.toml --sheet avery-c32015 --out preview.pdf
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    layout: Layout,
    #[command(flatten)]
    printing: Printing,
    /// Where to write the PDF
    #[arg(long, value_name = "FILE", default_value = "preview.pdf")]
    out: PathBuf,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    global.no_json("preview")?;
    let mut values = config::render_settings(&ProcessEnv)?.values;
    values.extend(args.layout.set.iter().cloned());
    let design = render::load_design(args.layout.template.as_deref().unwrap_or("retail"), &values)?;
    let sheet = render::load_sheet_for(
        args.layout
            .sheet
            .as_deref()
            .unwrap_or(super::render::DEFAULT_SHEET),
        &design,
    )?;
    for line in sheet
        .warnings(&design.card)
        .into_iter()
        .chain(render::press_warnings(&design, &sheet))
    {
        out!("{line}");
    }
    let cards = render::sample_cards(sheet.per_sheet());
    let job = Job {
        design: &design,
        sheet: &sheet,
        duplex: args.printing.duplex,
        offsets: Default::default(),
        start: 1,
        scratch: args.layout.scratch,
        cards: &cards,
    };
    let target = match args.printing.duplex {
        render::Duplex::None => Target::Two {
            fronts: args.out.with_extension("fronts.pdf"),
            backs: args.out.with_extension("backs.pdf"),
        },
        _ => Target::One(args.out.clone()),
    };
    let out = render::render(&job, &target)?;
    for (path, size) in out.files {
        out!("{} ({} bytes)", path.display(), size);
    }
    Ok(Exit::Success)
}
