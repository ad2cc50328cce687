//! `cardmint backup` and `cardmint restore`: a checked copy of the ledger, and putting one back.

use std::path::PathBuf;

use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{self, Contents};

/// Copy the ledger to FILE while other commands and the page go on (SQLite's online backup:
/// the copy is the ledger at one moment). The copy is owner-only, one file, and checked
/// (integrity, schema, tables) before it takes its name; a file already at FILE is replaced
/// only then. Keep copies off this machine: the ledger holds every live code and password.
///
/// Examples:
///   cardmint backup --out /var/backups/cardmint/$(date +%F).db
///   cardmint --ledger /var/lib/cardmint/cardmint.db backup --out nightly.db
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BackupArgs {
    /// The copy to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Put a copy made by `backup` back as the ledger (--ledger PATH). Refused while any process
/// (a command, the page) has the ledger open; the file is checked first, and the ledger it
/// replaces is kept beside it as PATH.before-restore-TIME; the page's sessions are ended. Then
/// `cardmint settle` settles the changes that were in flight when the copy was taken (and the
/// steps of unfinished cards and of credit that was moving), from the platform's evidence.
///
/// Example:
///   cardmint restore /var/backups/cardmint/2026-12-03.db --ledger /var/lib/cardmint/cardmint.db
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RestoreArgs {
    /// The copy to restore
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn backup(global: &Global, args: BackupArgs) -> Result<Exit, Error> {
    let path = global.ledger_path();
    let contents = ledger::backup(&path, &args.out)?;
    say!(
        global,
        "{} written and checked: {}",
        args.out.display(),
        summary(&contents)
    );
    global.emit(serde_json::json!({
        "ledger": path,
        "out": args.out,
        "contents": contents,
    }));
    Ok(Exit::Success)
}

pub fn restore(global: &Global, args: RestoreArgs) -> Result<Exit, Error> {
    let path = global.ledger_path();
    let restored = ledger::restore(&args.file, &path, &global.command_line)?;
    // Opened as every command opens it: an older schema is brought up to date here.
    let schema = global.open_ledger()?.schema()?.0;
    say!(
        global,
        "{} restored to {}: {}",
        args.file.display(),
        path.display(),
        summary(&restored.contents)
    );
    if let Some(kept) = &restored.kept {
        say!(
            global,
            "the ledger it replaced is kept as {}",
            kept.display()
        );
    }
    if restored.signed_out {
        say!(
            global,
            "the page's sessions were ended: card holders sign in again"
        );
    }
    if !restored.lost.is_empty() {
        say!(
            global,
            "the ledger it replaced has {} the copy does not ({}): made after the copy was \
             taken, their cards are on the platform and in the kept ledger only; keep it",
            crate::text::count(restored.lost.len(), "batch", "batches"),
            restored.lost.join(", ")
        );
    }
    // What the copy cannot know: the platform decides, by an audit, before the page opens.
    if restored.contents.batches > 0 {
        say!(
            global,
            "what happened after the copy to cards it holds as finished (a block, a top-up, a \
             sale, a redeem) is not in it: run `{}` for each batch before the page opens again",
            global.command_for("audit", "BATCH").trim_end()
        );
    }
    if restored.contents.open_changes > 0 || restored.contents.moving > 0 {
        say!(
            global,
            "{} and {} to settle from the platform's evidence before anything is sent (those in \
             flight when the copy was taken, and the creation and credit of every card \
             unfinished in it, which may have happened since): run `{}`, or `resume` each \
             unfinished batch",
            crate::text::count(restored.contents.open_changes as usize, "change", "changes"),
            crate::text::count(
                restored.contents.moving as usize,
                "movement of credit",
                "movements of credit"
            ),
            global.command_for("settle", "").trim_end()
        );
    }
    global.emit(serde_json::json!({
        "ledger": path,
        "from": args.file,
        "contents": restored.contents,
        "schema": schema,
        "kept": restored.kept,
        "reopened": restored.reopened,
        "batches_not_in_copy": restored.lost,
    }));
    Ok(Exit::Success)
}

fn summary(c: &Contents) -> String {
    format!(
        "schema {}, {}, {}, {} open, {} under way, {} bytes",
        c.schema,
        crate::text::count(c.batches as usize, "batch", "batches"),
        crate::text::count(c.cards as usize, "card", "cards"),
        crate::text::count(c.open_changes as usize, "change", "changes"),
        crate::text::count(c.moving as usize, "movement", "movements"),
        c.bytes
    )
}
