//! The README and the guide run as written: their ```sh blocks, in order (the README, then
//! the guide's pages in the book's order, `docs/SUMMARY.md`), in one empty folder that holds a
//! copy of `samples/` (as a clone does), against the sandbox, with the built `cardmint` first on
//! PATH. ```text blocks are synopses and are not run. Lines that drive cargo itself are left to
//! cargo: `cargo run --release --` stands for `cardmint`; `cargo install`, `cargo test` and
//! `cargo bench` are skipped (the first is what put `cardmint` on PATH, the others are this).

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Each ```sh block of `text`: the line it starts on (1-based) and its lines.
fn sh_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some((i + 1, Vec::new())),
            (Some(_), "```") => {
                let (at, lines) = current.take().unwrap();
                blocks.push((at, lines.join("\n")));
            }
            (Some((_, lines)), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unterminated ```sh block");
    blocks
}

/// The block as the test runs it.
fn runnable(block: &str) -> String {
    block
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !["cargo install", "cargo test", "cargo bench"]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .map(|l| l.replace("cargo run --release --", "cardmint"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every page of the documentation: the README, then the book's pages in its order.
fn pages() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = std::fs::read_to_string(root.join("docs/SUMMARY.md")).unwrap();
    let mut pages = vec!["README.md".to_string()];
    let mut rest = summary.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').unwrap();
        pages.push(format!("docs/{}", &after[..end]));
        rest = &after[end..];
    }
    pages
}

#[test]
fn the_readme_and_the_guide_run_as_written_in_an_empty_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut blocks = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(root.join(&page)).unwrap();
        for (line, block) in sh_blocks(&text) {
            blocks.push((format!("{page} line {line}"), block));
        }
    }
    assert!(blocks.len() >= 4, "{} ```sh blocks", blocks.len());
    let cm = Cardmint::new();
    copy_dir(&root.join("samples"), &cm.path("samples"));
    let bin = Path::new(env!("CARGO_BIN_EXE_cardmint")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for (line, block) in &blocks {
        let script = runnable(block);
        if script.trim().is_empty() {
            continue;
        }
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", &script])
            .current_dir(cm.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("CARDMINT_") {
                cmd.env_remove(k);
            }
        }
        // Settle reads wait 300 ms, as in every test against the sandbox.
        cmd.env("PATH", &path)
            .env("HOME", cm.dir.path())
            .env("CARDMINT_SETTLE_DELAY_MS", "300");
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{line}: the block fails (exit {:?}):\n{script}\n--- stdout\n{}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 3, "{ran} blocks ran");
    // What the walk-through says it makes, it made.
    for file in [
        "out/B0001/cards.pdf",
        "out/B0001/manifest.csv",
        "out/B0001/reset-0000000013/cards.pdf",
        "month-end.csv",
        "calls.csv",
        "preview.pdf",
        "out/B0001-teal/cards.pdf",
        "out/B0004/cards.pdf",
        "out/B0005/cards.pdf",
        "month-end.html",
        "months.csv",
        "B0001-status.csv",
    ] {
        assert!(cm.path(file).exists(), "{file}");
    }
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(rows.len(), 50);
    assert_eq!(
        (rows[0]["serial"].as_str(), rows[49]["serial"].as_str()),
        ("0000000013", "0000000502"),
        "the serials the README names"
    );
    let states = |state: &str| rows.iter().filter(|r| r["state"] == state).count();
    assert_eq!(
        (states("active"), states("blocked"), states("ready")),
        (18, 2, 30),
        "10 + 4 sold on the day, 5 in November; 1 lost, 1 replaced; the rest in stock"
    );
    // The replacement carries the lost card's credit (the card was loaded with 5.00).
    let replacement = csv_rows(&cm.path("out/B0005/manifest.csv"));
    assert_eq!(
        (replacement.len(), replacement[0]["state"].as_str()),
        (1, "active")
    );
    let months = csv_rows(&cm.path("months.csv"));
    let this_month = chrono::Local::now().format("%Y-%m").to_string();
    let month = months.iter().find(|r| r["month"] == this_month).unwrap();
    assert_eq!(
        month["sales"], "19",
        "10 + 4 on the day, 5 later: {months:?}"
    );
    let imported = csv_rows(&cm.path("out/B0002/manifest.csv"));
    assert_eq!(imported.len(), 3);
    assert_eq!(imported[1]["value"], "12.50", "the decimal comma of Excel");
    assert_eq!(imported[1]["numbers"], "+442079460012 +447911123456");
}

#[test]
fn every_serial_in_the_readme_and_the_help_has_its_right_check_digit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts: Vec<(String, String)> = pages()
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(root.join(&p)).unwrap();
            (p, text)
        })
        .collect();
    let cm = Cardmint::new();
    for cmd in crate::batch_cli::COMMANDS {
        texts.push((
            format!("{cmd} --help"),
            cm.expect(0, &[cmd, "--help"]).stdout,
        ));
    }
    let mut seen = 0;
    for (name, text) in &texts {
        let bytes = text.as_bytes();
        for (i, w) in bytes.windows(10).enumerate() {
            let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 10).is_none_or(|b| !b.is_ascii_digit());
            if bounded && w[0] == b'0' && w.iter().all(u8::is_ascii_digit) {
                let serial = std::str::from_utf8(w).unwrap();
                assert!(
                    cardmint::codes::parse_serial(serial).is_ok(),
                    "{name}: {serial} has a wrong check digit"
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 10, "{seen} serials checked");
}

/// The anchors of a Markdown page's headings, as GitHub and mdBook make them.
fn anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn every_link_of_the_readme_and_the_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec!["README.md".to_string(), "CHANGELOG.md".to_string()];
    for dir in ["docs", "docs/guide", "docs/reference"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") {
                docs.push(format!("{dir}/{name}"));
            }
        }
    }
    // The book lists every page of docs/.
    let book = pages();
    for doc in docs
        .iter()
        .filter(|d| d.starts_with("docs/") && *d != "docs/SUMMARY.md")
    {
        assert!(book.contains(doc), "{doc} is not in docs/SUMMARY.md");
    }
    let mut checked = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let end = after.find(')').expect("a closed link");
            let target = &after[..end];
            rest = &after[end..];
            if target.starts_with("http") {
                continue;
            }
            checked += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                root.join(doc)
            } else {
                root.join(doc).parent().unwrap().join(file)
            };
            assert!(path.exists(), "{doc}: {target} does not exist");
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    anchors(&text).iter().any(|a| a == anchor),
                    "{doc}: {target}: #{anchor} is no heading there"
                );
            }
        }
    }
    assert!(checked >= 30, "{checked} links checked");
}

#[test]
fn every_topic_of_help_prints_its_page_and_a_command_its_help() {
    let cm = Cardmint::new();
    let list = cm.expect(0, &["help"]).stdout;
    for topic in [
        "issuing",
        "portal",
        "config",
        "environment",
        "json",
        "exit-codes",
    ] {
        assert!(list.contains(&format!("\n  {topic} ")), "{topic}: {list}");
        let page = cm.expect(0, &["help", topic]).stdout;
        // A topic named like a command says where that command's flags are first.
        let page = page
            .strip_prefix(&format!(
                "(The command's flags: cardmint {topic} --help.)\n\n"
            ))
            .unwrap_or(&page);
        assert!(page.starts_with("# "), "{topic}: {page}");
        assert!(!page.contains("<!-- "), "{topic}: {page}");
    }
    assert!(
        cm.expect(0, &["help", "portal"])
            .stdout
            .starts_with("(The command's flags: cardmint portal --help.)")
    );
    assert!(
        cm.expect(0, &["help", "exit-codes"])
            .stdout
            .contains("| 9 | refused by a rule of the stock or the ledger")
    );
    let topup = cm.expect(0, &["help", "topup"]).stdout;
    assert!(topup.starts_with("Load credit"), "{topup}");
    // As `cardmint topup --help` says it: its name, and the flags every command takes.
    assert!(
        topup.contains("Usage: cardmint topup") && topup.contains("--ledger"),
        "{topup}"
    );
    let out = cm.expect(2, &["help", "nonsense"]);
    assert!(out.stderr.contains("`cardmint help` lists them"), "{out:?}");
}
