//! `cardmint completions SHELL` and `cardmint man`: generated from the clap definitions, so they
//! never drift from the commands.

use std::io::Write;

use crate::cli::Exit;
use crate::error::Error;

/// Print a shell completion script for cardmint on standard output.
///
/// Install it where your shell looks, for example:
///   cardmint completions bash > ~/.local/share/bash-completion/completions/cardmint
///   cardmint completions zsh > ~/.zfunc/_cardmint      # with fpath+=~/.zfunc in ~/.zshrc
///   cardmint completions fish > ~/.config/fish/completions/cardmint.fish
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// bash, zsh, fish, powershell or elvish
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn completions(mut command: clap::Command, args: Args) -> Result<Exit, Error> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "cardmint", &mut out);
    print(&out)
}

/// Print cardmint's manual page (roff) on standard output.
///
/// Install it for man(1), for example:
///   mkdir -p ~/.cargo/share/man/man1    # man looks beside ~/.cargo/bin, on the PATH
///   cardmint man > ~/.cargo/share/man/man1/cardmint.1
///   man cardmint
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {}

/// The manual page's FILES.
const FILES: &[(&str, &str)] = &[
    (
        "cardmint.toml",
        "the config file (ENVIRONMENT says where it is looked for); owner-only: it holds the \
         reseller login",
    ),
    (
        "cardmint.db",
        "the ledger (SQLite), owner-only: every batch, card, code, password, change and \
         movement of credit",
    ),
    (
        "cardmint.db.lock, cardmint.db.users",
        "who changes the ledger now (one process at a time), and that the page runs on it \
         (a restore waits for neither: it refuses)",
    ),
    (
        "cardmint.db.schema-N.bak, cardmint.db.before-restore-TIME",
        "the ledger as it was before a migration to a newer schema, and before a restore; \
         owner-only",
    ),
    (
        "cardmint.db.portal",
        "the page's sessions (hashed) and form key, owner-only",
    ),
    (
        "cardmint.db.sandbox.json",
        "the embedded sandbox's accounts (--sandbox)",
    ),
    (
        "out/BATCH/",
        "a batch's manifest, card sheets and reports, owner-only",
    ),
];

pub fn man(command: clap::Command, _args: ManArgs) -> Result<Exit, Error> {
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(&mut out)
        .and_then(|()| page.render_name_section(&mut out))
        .and_then(|()| page.render_synopsis_section(&mut out))
        .and_then(|()| page.render_description_section(&mut out))
        .and_then(|()| page.render_options_section(&mut out))
        .map_err(Error::io("render the manual page"))?;
    // One section per command, with its own options, so the page documents them all.
    writeln!(out, ".SH COMMANDS").map_err(Error::io("render the manual page"))?;
    for sub in command.get_subcommands() {
        let name = sub.get_name();
        writeln!(out, ".SS \"cardmint {name}\"").map_err(Error::io("render the manual page"))?;
        // The long text begins with the short one; examples keep their lines.
        if let Some(text) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, ".nf\n{}\n.fi", roff_escape(&text.to_string()))
                .map_err(Error::io("render the manual page"))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            // Every hyphen a minus sign, so that a flag copied from the page types as it reads.
            let long = arg.get_long().map(|l| l.replace('-', "\\-"));
            let flag = match (arg.get_short(), long) {
                (Some(s), Some(l)) => format!("\\-{s}, \\-\\-{l}"),
                (None, Some(l)) => format!("\\-\\-{l}"),
                (Some(s), None) => format!("\\-{s}"),
                (None, None) => arg.get_id().to_string().to_uppercase(),
            };
            // A flag that takes a value names it, as --help does (`--count <N>`).
            let value = match (arg.get_action().takes_values(), arg.get_value_names()) {
                (true, Some(names)) if arg.get_long().is_some() || arg.get_short().is_some() => {
                    names
                        .iter()
                        .map(|n| format!(" \\fI<{}>\\fR", roff_escape(n)))
                        .collect()
                }
                (true, None) if arg.get_long().is_some() || arg.get_short().is_some() => {
                    format!(" \\fI<{}>\\fR", arg.get_id().as_str().to_uppercase())
                }
                _ => String::new(),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            writeln!(out, ".TP\n\\fB{flag}\\fR{value}\n{}", roff_escape(&help))
                .map_err(Error::io("render the manual page"))?;
        }
    }
    let mut extra = String::from(".SH ENVIRONMENT\n");
    for (name, what) in crate::config::ENVIRONMENT {
        extra.push_str(&format!(".TP\n\\fB{name}\\fR\n{}\n", roff_escape(what)));
    }
    extra.push_str(".SH FILES\n");
    for (name, what) in FILES {
        extra.push_str(&format!(".TP\n\\fI{name}\\fR\n{}\n", roff_escape(what)));
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in super::super::exit::EXIT_CODES {
        extra.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_escape(meaning)));
    }
    out.extend_from_slice(extra.as_bytes());
    // (The extra section is --help's after-help: the exit codes, given above.)
    page.render_version_section(&mut out)
        .map_err(Error::io("render the manual page"))?;
    print(&out)
}

/// Text for roff: backslashes doubled, and a line that would start with `.` or `'` (a roff
/// request) protected.
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\\\").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn print(bytes: &[u8]) -> Result<Exit, Error> {
    crate::cli::out::bytes(bytes);
    Ok(Exit::Success)
}
