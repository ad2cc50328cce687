//! `cardmint help [TOPIC|COMMAND]`: the guide and the reference, the same pages as `docs/`
//! (built into the binary, so they match the version you run), or a command's `--help`.

use crate::cli::Exit;
use crate::error::Error;

/// Print a page of the guide or the reference, or a command's help.
///
/// Without a topic, lists the topics and the commands.
///
/// Examples:
///   cardmint help issuing
///   cardmint help exit-codes
///   cardmint help topup
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A topic (see the list) or a command
    topic: Option<String>,
}

/// Every page: its topic, what it is about, its text (`docs/`, where the same pages are read
/// as a book).
pub const TOPICS: &[(&str, &str, &str)] = &[
    (
        "issuing",
        "issuing a batch: codes, customer files, outputs",
        include_str!("../../../docs/guide/issuing.md"),
    ),
    (
        "life",
        "the life of the cards: selling, blocking, top-ups, lost cards",
        include_str!("../../../docs/guide/life.md"),
    ),
    (
        "shops",
        "a month at the shops: consignment, sales, expiry, the report",
        include_str!("../../../docs/guide/shops.md"),
    ),
    (
        "exactly-once",
        "exactly once, and what cardmint cannot know",
        include_str!("../../../docs/guide/exactly-once.md"),
    ),
    (
        "card-sheets",
        "card sheets: designs, sheets, printing, press files",
        include_str!("../../../docs/guide/card-sheets.md"),
    ),
    (
        "portal",
        "the card holders' page, and running it for real",
        include_str!("../../../docs/guide/portal.md"),
    ),
    (
        "running",
        "running it for real: backups, restores, the package and services, logs",
        include_str!("../../../docs/guide/running.md"),
    ),
    (
        "sandbox",
        "the sandbox: a simulator of the platform, its faults and usage",
        include_str!("../../../docs/guide/sandbox.md"),
    ),
    (
        "config",
        "the config file and the reseller's credentials, every key",
        include_str!("../../../docs/reference/config.md"),
    ),
    (
        "environment",
        "the environment variables cardmint reads",
        include_str!("../../../docs/reference/environment.md"),
    ),
    (
        "json",
        "the JSON document of each command (--json)",
        include_str!("../../../docs/reference/json.md"),
    ),
    (
        "exit-codes",
        "what each exit code means",
        include_str!("../../../docs/reference/exit-codes.md"),
    ),
];

pub fn run(mut command: clap::Command, args: Args) -> Result<Exit, Error> {
    // Global flags and the binary's name reach every subcommand's help.
    command.build();
    let Some(topic) = args.topic.as_deref() else {
        out!("Topics (cardmint help TOPIC):");
        for (name, about, _) in TOPICS {
            out!("  {name:<13} {about}");
        }
        out!("");
        out!("Commands (cardmint help COMMAND, or cardmint COMMAND --help):");
        for sub in command.get_subcommands() {
            let about = sub
                .get_about()
                .map(|a| a.to_string().replace('\n', " "))
                .unwrap_or_default();
            // The first sentence (a list of characters such as "- _ @ ." ends none).
            let first = about
                .match_indices(". ")
                .map(|(i, _)| &about[..i])
                .find(|head| !head.trim_end().ends_with(" @"))
                .unwrap_or(&about)
                .trim_end_matches('.');
            out!("  {:<15} {first}", sub.get_name());
        }
        return Ok(Exit::Success);
    };
    if let Some((_, _, text)) = TOPICS.iter().find(|(name, _, _)| *name == topic) {
        // A topic that is also a command's name says where the command's flags are.
        if command.find_subcommand(topic).is_some() {
            out!("(The command's flags: cardmint {topic} --help.)\n");
        }
        // The page as written, without the marks of its generated tables.
        for line in text.lines().filter(|l| !l.starts_with("<!-- ")) {
            out!("{line}");
        }
        return Ok(Exit::Success);
    }
    match command.find_subcommand_mut(topic) {
        Some(sub) => {
            let help = sub.render_long_help().to_string();
            crate::cli::out::bytes(help.as_bytes());
            Ok(Exit::Success)
        }
        None => Err(Error::Usage(format!(
            "help {topic}: no such topic or command; `cardmint help` lists them"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's generated block (between `<!-- generated from SOURCE -->` and
    /// `<!-- end -->`) is `generated`; with `CARDMINT_BLESS_DOCS=1` the page is rewritten so.
    fn check_generated(page: &str, source: &str, generated: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
        let text = std::fs::read_to_string(&path).unwrap();
        let open = format!("<!-- generated from {source} -->\n");
        let start = text.find(&open).expect("the generated block's marker") + open.len();
        let end = start + text[start..].find("<!-- end -->").expect("its end marker");
        if text[start..end] == *generated {
            return;
        }
        if std::env::var("CARDMINT_BLESS_DOCS").is_ok_and(|v| v == "1") {
            let new = format!("{}{generated}{}", &text[..start], &text[end..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        panic!(
            "{page} is not what {source} gives: run `CARDMINT_BLESS_DOCS=1 cargo test --lib \
             reference` to rewrite it; it should read:\n{generated}"
        );
    }

    #[test]
    fn the_reference_pages_are_the_code_s_lists() {
        check_generated(
            "docs/reference/exit-codes.md",
            "cli::exit::EXIT_CODES",
            &crate::cli::exit::exit_codes_table(),
        );
        check_generated(
            "docs/reference/environment.md",
            "config::ENVIRONMENT",
            &crate::config::environment_table(),
        );
        // The config page shows the example `config init` writes, as written.
        let config = TOPICS.iter().find(|t| t.0 == "config").unwrap().2;
        assert!(config.contains(&format!(
            "```toml\n{}```",
            include_str!("../../../templates/config/cardmint.toml")
        )));
    }

    #[test]
    fn every_topic_is_a_chapter_of_the_book() {
        let summary = include_str!("../../../docs/SUMMARY.md");
        for (name, _, text) in TOPICS {
            let title = text.lines().next().unwrap().trim_start_matches("# ");
            assert!(
                summary.contains(&format!("[{title}](")),
                "{name}: \"{title}\" is not in docs/SUMMARY.md"
            );
        }
    }
}
