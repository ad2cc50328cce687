//! The rest of the batch command line: dry runs, output folders, the guard, listing, showing,
//! and the password checker.

use crate::support::*;

#[test]
fn dry_run_writes_marked_outputs_and_sends_and_records_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let out = cm.expect(0, &["issue", "--count", "5", "--value", "5", "--dry-run"]);
    assert!(out.stdout.contains("dry run: 5 cards planned"), "{out:?}");
    let rows = csv_rows(&cm.path("out/B0001-dry-run/manifest.csv"));
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["state"] == "dry-run" && r["batch"] == "B0001-dry-run")
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
}

#[test]
fn another_batch_folder_is_never_overwritten() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "2",
            "--value",
            "1",
            "--out",
            "cards",
        ],
    );
    let manifest = std::fs::read(cm.path("cards/manifest.csv")).unwrap();
    let out = cm.expect(
        1,
        &[
            "issue",
            "--count",
            "2",
            "--value",
            "1",
            "--out",
            "cards",
            "--sandbox",
        ],
    );
    assert!(
        out.stderr.contains("holds the outputs of batch B0001"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(cm.path("cards/manifest.csv")).unwrap(),
        manifest
    );
    assert!(
        cm.expect(0, &["batches"]).stdout.lines().count() == 2,
        "no second batch recorded"
    );
}

#[test]
fn the_guard_refuses_a_code_space_too_small_and_names_a_safe_length() {
    let cm = Cardmint::new();
    let out = cm.expect(
        4,
        &[
            "issue",
            "--sandbox",
            "--count",
            "2",
            "--value",
            "1",
            "--code-length",
            "6",
        ],
    );
    assert!(
        says(
            &out.stderr,
            "2 live codes of length 6 in a space of 900000 codes"
        ),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("use --code-length 7 or longer"),
        "{out:?}"
    ); // Flags out of range are the command line's mistake, each alike (exit 2).
    for flags in [
        &["--code-length", "4"][..],
        &["--password-length", "3"],
        &["--tariff", "1.5"],
        &["--tariff", "+3"],
    ] {
        let mut args = vec!["--sandbox", "issue", "--count", "1", "--value", "1"];
        args.extend_from_slice(flags);
        cm.expect(2, &args);
    }
    std::fs::write(cm.path("t.csv"), "customer,tariff\nalice_1,3.5\n").unwrap();
    let out = cm.expect(
        4,
        &["--sandbox", "issue", "--from", "t.csv", "--value", "1"],
    );
    assert!(out.stderr.contains("is not a rate list id"), "{out:?}");
}

#[test]
fn batches_and_show() {
    let cm = Cardmint::new().env("CARDMINT_LEDGER", "my.db");
    cm.expect(
        0,
        &["issue", "--count", "3", "--value", "2.5", "--sandbox", "-q"],
    );
    let list = cm.expect(0, &["batches"]).stdout;
    assert!(list.contains("B0001") && says(&list, "2.50 EUR"), "{list}");
    let show = cm.expect(0, &["show", "B0001"]).stdout;
    assert!(show.contains("cards      3 (ready 3"), "{show}");
    assert!(show.contains("serials    0000000013-"), "{show}");
    let out = cm.expect(1, &["show", "B0002"]);
    assert!(out.stderr.contains("no batch B0002 in my.db"), "{out:?}");
    assert!(cm.path("my.db").exists() && cm.path("my.db.sandbox.json").exists());
}

#[test]
fn check_password_reads_lines_and_never_echoes_them() {
    let cm = Cardmint::new();
    let out = cm.run_with_stdin(
        &["check-password"],
        "Xk7-mQ2p\nabc123x\nHn4.rT8w\r\n\nxyz\n@Xk7mQ2p\n",
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stdout.contains("line 1: ok"));
    assert!(
        out.stdout
            .contains("line 2: characters 1 to 3 are three in sequence"),
        "{out:?}"
    );
    assert!(out.stdout.contains("line 3: ok"), "{out:?}");
    assert!(out.stdout.contains("line 5: 3 characters"), "{out:?}");
    // What a spreadsheet opening the manifest would run as a formula.
    assert!(
        out.stdout
            .contains("line 6: it starts with @, which a spreadsheet would take for a formula"),
        "{out:?}"
    );
    assert!(says(&out.stdout, "5 checked, 3 failed"), "{out:?}");
    assert!(!out.stdout.contains("abc123x") && !out.stdout.contains("xyz\n"));
    assert_eq!(cm.run_with_stdin(&["check-password"], "Xk7-mQ2p\n").code, 0);
}

#[test]
fn every_command_help_has_an_example() {
    let cm = Cardmint::new();
    for cmd in COMMANDS {
        let out = cm.expect(0, &[cmd, "--help"]);
        assert!(
            out.stdout.contains("Example") || out.stdout.contains("for example"),
            "{cmd}: {}",
            out.stdout
        );
    }
    // The exit codes close the top-level help.
    let out = cm.expect(0, &["--help"]);
    assert!(
        out.stdout
            .contains("\n    7  network: the platform cannot be reached"),
        "{}",
        out.stdout
    );
}

/// Every subcommand.
pub const COMMANDS: &[&str] = &[
    "issue",
    "resume",
    "batches",
    "show",
    "consign",
    "return",
    "shops",
    "card",
    "activate",
    "block",
    "topup",
    "replace",
    "reset-password",
    "numbers",
    "status",
    "expire",
    "report",
    "calls",
    "audit",
    "settle",
    "portal",
    "render",
    "preview",
    "check-password",
    "sandbox",
    "completions",
    "man",
    "config",
    "doctor",
    "backup",
    "restore",
];

#[test]
fn completions_for_every_shell_and_a_man_page_of_every_command() {
    let cm = Cardmint::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = cm.expect(0, &["completions", shell]);
        assert!(
            out.stdout.contains("cardmint") && out.stdout.contains("reset-password"),
            "{shell}: {:.200}",
            out.stdout
        );
    }
    cm.expect(2, &["completions", "tcsh"]);
    let out = cm.expect(0, &["man"]);
    assert!(
        out.stdout.starts_with(".ie") || out.stdout.contains(".TH cardmint 1"),
        "{:.300}",
        out.stdout
    );
    for cmd in COMMANDS {
        assert!(
            out.stdout.contains(&format!(".SS \"cardmint {cmd}\"")),
            "{cmd} in the man page"
        );
    }
    assert!(
        out.stdout.contains("\\-\\-sold\\-list"),
        "options are listed"
    );
    // A flag that takes a value names it, as --help does.
    for flag in [
        "\\fB\\-\\-count\\fR \\fI<N>\\fR",
        "\\fB\\-\\-template\\fR \\fI<DESIGN>\\fR",
        "\\fB\\-\\-dry\\-run\\fR\n",
    ] {
        assert!(out.stdout.contains(flag), "{flag}");
    }
    // What a manual page is read for, beside the commands (missing before).
    for section in [".SH ENVIRONMENT", ".SH FILES", ".SH \"EXIT STATUS\""] {
        assert_eq!(out.stdout.matches(section).count(), 1, "{section}");
    }
    for what in [
        "CARDMINT_PASSWORD",
        "cardmint.db.portal",
        "\\fB9\\fR\nrefused by a rule",
    ] {
        assert!(out.stdout.contains(what), "{what}");
    }
    assert!(!out.stdout.contains(".SH EXTRA"), "the exit codes once");
}

#[test]
fn rough_edges_get_messages_that_say_what_to_do() {
    let cm = Cardmint::new();
    // Reading creates no ledger.
    let out = cm.expect(0, &["batches"]);
    assert!(
        out.stdout.contains("no batches: there is no ledger at"),
        "{out:?}"
    );
    let out = cm.expect(1, &["show", "B0001"]);
    assert!(
        out.stderr.contains("no ledger at") && out.stderr.contains("--ledger"),
        "{out:?}"
    );
    cm.expect(1, &["status", "B0001"]);
    assert!(
        !cm.path("cardmint.db").exists(),
        "no ledger was created by reading"
    );
    // A ledger in a folder that does not exist (a mistyped path) is an I/O error that says
    // how to fix it; no second, empty ledger is started elsewhere.
    let out = cm.expect(
        6,
        &[
            "--sandbox",
            "--ledger",
            "no/such/dir/cardmint.db",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
        ],
    );
    assert!(
        out.stderr.contains(
            "the ledger's folder no/such/dir does not exist: create it (`mkdir -p no/such/dir`)"
        ),
        "{out:?}"
    );
    assert!(!cm.path("no").exists());
    // A negative count and a decimal comma are told what is wrong, not mistaken.
    let out = cm.expect(2, &["--sandbox", "issue", "--count", "-3", "--value", "5"]);
    assert!(
        out.stderr.contains("-3: the count must be at least 1"),
        "{out:?}"
    );
    let out = cm.expect(
        2,
        &["--sandbox", "issue", "--count", "2", "--value", "5,50"],
    );
    assert!(
        out.stderr.contains("decimal point, not a comma: 5.50"),
        "{out:?}"
    );
    let out = cm.expect(2, &["--sandbox", "topup", "0000000013", "5,00"]);
    assert!(
        out.stderr.contains("decimal point, not a comma: 5.00"),
        "{out:?}"
    );
    // Unknown batches and cards point to the listings.
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let out = cm.expect(1, &["show", "B0009"]);
    assert!(out.stderr.contains("`cardmint batches` lists"), "{out:?}");
    let out = cm.expect(1, &["numbers", "nobody"]);
    assert!(
        out.stderr.contains("`cardmint status BATCH` lists"),
        "{out:?}"
    );
    // `numbers CARD` alone lists the card's numbers.
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serial = rows[0]["serial"].as_str();
    let out = cm.expect(0, &["numbers", serial]);
    assert!(out.stdout.contains("no numbers"), "{out:?}");
    cm.expect(
        0,
        &[
            "--sandbox",
            "numbers",
            serial,
            "--add",
            "+44 20 7946 0958",
            "-q",
        ],
    );
    let out = cm.expect(0, &["numbers", serial]);
    assert_eq!(out.stdout.trim(), "+44 20 7946 0958");
}

#[test]
fn config_init_writes_a_commented_owner_only_example_and_never_over_a_file() {
    let cm = Cardmint::new();
    let out = cm.expect(0, &["config", "init", "--path", "conf/cardmint.toml"]);
    assert!(out.stdout.contains("owner-only"), "{out:?}");
    let path = cm.path("conf/cardmint.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&path).unwrap();
    for section in ["[reseller]", "[api]", "[values]", "[printers.office]"] {
        assert!(text.contains(section), "{section}");
    }
    // cardmint reads it as it is, and a second init leaves it alone.
    std::fs::write(
        &path,
        text.replace("# brand = \"VoiceMint\"", "brand = \"VoiceMint\""),
    )
    .unwrap();
    let cm = cm.env("CARDMINT_CONFIG", path.to_str().unwrap());
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let out = cm.expect(1, &["config", "init", "--path", "conf/cardmint.toml"]);
    assert!(out.stderr.contains("does not write over"), "{out:?}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("\nbrand = \"VoiceMint\"")
    );
}

#[test]
fn doctor_says_what_is_ready_and_what_is_not_one_line_each() {
    let cm = Cardmint::new();
    let out = cm.expect(0, &["--sandbox", "doctor"]);
    for check in ["config", "endpoint", "login", "ledger", "designs", "tools"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(check)),
            "{check}: {out:?}"
        );
    }
    assert!(!cm.path("cardmint.db").exists(), "doctor creates no ledger");
    let json: serde_json::Value =
        serde_json::from_str(&cm.expect(0, &["--sandbox", "doctor", "--json"]).stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["checks"].as_array().unwrap().len(), 6);
    // A wrong login is told from a right one, and a damaged ledger is found.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let wrong = Cardmint::against(&sb.url).env("CARDMINT_PASSWORD", "not-the-password");
    std::fs::write(
        wrong.path("cardmint.db"),
        b"SQLite format 3\0 but not really",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        wrong.path("cardmint.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = wrong.expect(1, &["doctor"]);
    let line = |check: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("{check}: {out:?}"))
            .to_string()
    };
    assert!(
        line("login").starts_with("PROBLEM") && line("login").contains("wrong reseller login"),
        "{out:?}"
    );
    assert!(line("ledger").starts_with("PROBLEM"), "{out:?}");
    assert!(line("endpoint").starts_with("ok"), "{out:?}");
    assert!(
        !out.stdout.contains("not-the-password"),
        "never the password"
    );
    let right = Cardmint::against(&sb.url);
    let out = right.expect(0, &["doctor"]);
    assert!(out.stdout.contains("the login works on"), "{out:?}");
}

#[test]
fn json_gives_one_document_on_stdout_for_every_command_that_prints_a_result() {
    let cm = Cardmint::new();
    let doc = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["--sandbox", "--json"];
        full.extend_from_slice(args);
        let out = cm.run(&full);
        assert!(matches!(out.code, 0 | 3 | 5), "{out:?}");
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: one JSON document, got {:?}", out.stdout))
    };
    let issued = doc(&["issue", "--count", "3", "--value", "5"]);
    assert_eq!(
        (issued["batch"].as_str(), issued["cards"]["ready"].as_u64()),
        (Some("B0001"), Some(3))
    );
    assert_eq!(issued["complete"], true);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serial = rows[0]["serial"].as_str();
    assert_eq!(doc(&["batches"])["batches"][0]["batch"], "B0001");
    assert_eq!(doc(&["show", "B0001"])["cards"]["total"], 3);
    assert_eq!(doc(&["resume", "B0001"])["complete"], true);
    assert_eq!(
        doc(&[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            serial
        ])["done"],
        1
    );
    assert_eq!(doc(&["topup", serial, "2.50"])["done"], 1);
    let reset = doc(&["reset-password", serial]);
    assert_eq!(reset["serial"], serial);
    assert!(reset["password"].as_str().is_some_and(|p| p.len() >= 8));
    assert_eq!(
        doc(&["numbers", serial, "--add", "+44 20 7946 0958"])["done"],
        1
    );
    assert_eq!(doc(&["numbers", serial])["numbers"][0], "+442079460958");
    let status = doc(&["status", "B0001"]);
    assert_eq!(status["cards"].as_array().unwrap().len(), 3);
    assert_eq!(status["totals"]["sold"], 1);
    assert_eq!(
        doc(&["calls", "B0001"])["calls"].as_array().unwrap().len(),
        0
    );
    assert_eq!(
        doc(&["audit", "B0001"])["mismatches"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(doc(&["settle", "B0001"])["complete"], true);
    assert_eq!(
        doc(&["block", "B0001", "--serials", serial, "--reason", "lost"])["done"],
        1
    );
    assert_eq!(doc(&["doctor"])["ok"], true);
}

#[test]
fn every_json_document_has_the_shape_its_reference_page_gives() {
    // The reference (docs/reference/json.md) is what scripts are written against: each
    // command's document has exactly the keys the page lists, at every level it spells out.
    let cm = Cardmint::new();
    let mut seen: Vec<(&str, serde_json::Value)> = Vec::new();
    let mut doc = |label: &'static str, args: &[&str]| {
        let mut full = vec!["--sandbox", "--json"];
        full.extend_from_slice(args);
        let out = cm.run(&full);
        assert!(matches!(out.code, 0 | 3 | 5), "{out:?}");
        let value: serde_json::Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: got {:?}", out.stdout));
        seen.push((label, value.clone()));
        value
    };
    doc(
        "issue",
        &["issue", "--count", "4", "--value", "5", "--dry-run"],
    );
    doc("issue", &["issue", "--count", "4", "--value", "5"]);
    let serial = csv_rows(&cm.path("out/B0001/manifest.csv"))[0]["serial"].clone();
    let other = csv_rows(&cm.path("out/B0001/manifest.csv"))[1]["serial"].clone();
    let (serial, other) = (serial.as_str(), other.as_str());
    doc("resume", &["resume", "B0001"]);
    doc("batches", &["batches"]);
    doc("show", &["show", "B0001"]);
    doc(
        "consign",
        &["consign", "B0001", "--serials", other, "--shop", "Kiosk 3"],
    );
    doc("return", &["return", "B0001", "--serials", other]);
    doc("shops", &["shops"]);
    doc(
        "activate",
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            serial,
        ],
    );
    doc("topup", &["topup", serial, "2.50"]);
    doc("reset-password", &["reset-password", serial]);
    doc(
        "numbers --add/--delete",
        &["numbers", serial, "--add", "+44 20 7946 0958"],
    );
    doc("numbers CARD", &["numbers", serial]);
    doc("status", &["status", "B0001"]);
    doc("card", &["card", serial]);
    doc("report", &["report"]);
    doc("calls", &["calls", "B0001"]);
    doc("audit", &["audit", "B0001"]);
    doc("settle", &["settle", "B0001"]);
    doc("expire", &["expire", "--dry-run"]);
    doc("replace", &["replace", serial]);
    doc(
        "block",
        &["block", "B0001", "--serials", other, "--reason", "lost"],
    );
    doc("doctor", &["doctor"]);
    doc("backup", &["backup", "--out", "copy.db"]);
    doc("restore", &["restore", "copy.db"]);
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference/json.md"),
    )
    .unwrap();
    let shapes = json_shapes(&page);
    for (label, _) in &shapes {
        assert!(
            seen.iter().any(|(l, _)| l == label),
            "{label}: documented, and run by this test"
        );
    }
    for (label, value) in &seen {
        let alternatives = &shapes
            .iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("{label}: a document the reference does not give"))
            .1;
        let fits: Vec<String> = alternatives
            .iter()
            .map(|shape| fits(value, shape, label))
            .collect();
        assert!(
            fits.iter().any(String::is_empty),
            "{label}: {}\n{value:#}",
            fits.join("\n  or: ")
        );
    }
}

/// A shape of the reference page: the keys of an object, each with the shape of its value
/// where the page spells it out; `open` when the page leaves some keys unnamed (`BY`, `...`).
#[derive(Debug, Clone, Default)]
struct Shape {
    keys: Vec<(String, Option<Shape>)>,
    open: bool,
}

/// Each row of the reference's table: the commands it names (`issue`, `numbers CARD`) and the
/// shapes their documents may have ("the run" is activate's).
fn json_shapes(page: &str) -> Vec<(String, Vec<Shape>)> {
    let rows: Vec<(Vec<String>, String)> = page
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').splitn(2, " | ").collect();
            let commands = cells[0]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            (commands, cells[1].trim_end_matches(" |").replace('`', ""))
        })
        .collect();
    let objects = |text: &str| -> Vec<Shape> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let (shape, used) = parse_object(&rest[start..]);
            found.push(shape);
            rest = &rest[start + used..];
        }
        found
    };
    let run = rows
        .iter()
        .find(|(c, _)| c.iter().any(|c| c == "activate"))
        .map(|(_, text)| objects(text)[0].clone())
        .expect("the run's shape is given with activate");
    rows.iter()
        .flat_map(|(commands, text)| {
            let mut shapes = objects(text);
            if text.starts_with("the run") {
                let mut the_run = run.clone();
                if let Some(plus) = text.split(" plus ").nth(1) {
                    let added = plus.split('(').next().unwrap_or("");
                    for name in added.split('"').skip(1).step_by(2) {
                        the_run.keys.push((name.to_string(), None));
                    }
                    shapes.retain(|_| false);
                }
                shapes.insert(0, the_run);
            }
            if text.starts_with("the new card's batch as issue") {
                shapes = objects(&rows.iter().find(|(c, _)| c[0] == "issue").unwrap().1);
                shapes.insert(0, run.clone());
            }
            commands
                .iter()
                .map(|c| (c.clone(), shapes.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Parses `{"a", "b": {...}, "c": [{...}], BY}` from the start of `text`: the shape and the
/// bytes it took.
fn parse_object(text: &str) -> (Shape, usize) {
    let bytes = text.as_bytes();
    let mut shape = Shape::default();
    let mut i = 1;
    let mut item = String::new();
    let mut nested: Option<Shape> = None;
    let finish = |item: &mut String, nested: &mut Option<Shape>, shape: &mut Shape| {
        let t = item.trim();
        if let Some(name) = t.strip_prefix('"').and_then(|r| r.split('"').next()) {
            shape.keys.push((name.to_string(), nested.take()));
        } else if !t.is_empty() {
            shape.open = true;
        }
        nested.take();
        item.clear();
    };
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                let (inner, used) = parse_object(&text[i..]);
                nested = Some(inner);
                i += used;
                continue;
            }
            b'}' => {
                finish(&mut item, &mut nested, &mut shape);
                return (shape, i + 1);
            }
            b',' => finish(&mut item, &mut nested, &mut shape),
            b'[' | b']' => {}
            c => item.push(c as char),
        }
        i += 1;
    }
    (shape, i)
}

/// Where `value` departs from `shape` (empty when it fits).
fn fits(value: &serde_json::Value, shape: &Shape, at: &str) -> String {
    let Some(object) = value.as_object() else {
        return format!("{at}: not an object");
    };
    let documented: std::collections::BTreeSet<&str> =
        shape.keys.iter().map(|(k, _)| k.as_str()).collect();
    let actual: std::collections::BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let missing: Vec<_> = documented.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&documented).collect();
    if !missing.is_empty() || (!shape.open && !extra.is_empty()) {
        return format!("{at}: missing {missing:?}, undocumented {extra:?}");
    }
    for (key, inner) in &shape.keys {
        let Some(inner) = inner else { continue };
        let child = match &object[key] {
            serde_json::Value::Array(items) => match items.first() {
                Some(first) => first,
                None => continue,
            },
            serde_json::Value::Null => continue,
            other => other,
        };
        if child.is_object() {
            let why = fits(child, inner, &format!("{at}.{key}"));
            if !why.is_empty() {
                return why;
            }
        }
    }
    String::new()
}

/// Runs a command whose standard output is closed before it writes (`... | head -0`):
/// its exit code and standard error.
fn into_a_closed_pipe(cm: &Cardmint, args: &[&str]) -> (i32, String) {
    let mut child = cm
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_goes_away_is_not_a_failure_and_the_work_still_ends() {
    // Before: `status | head -2` panicked with exit 101 ("failed printing to stdout: Broken
    // pipe"), `completions bash | head -1` exited 6.
    let cm = Cardmint::new();
    let (code, err) =
        into_a_closed_pipe(&cm, &["--sandbox", "issue", "--count", "3", "--value", "5"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The batch was issued whole although nobody read what it said.
    let doc = cm.json(&["show", "B0001"]);
    assert_eq!(doc["cards"]["ready"], 3, "{doc}");
    for args in [
        &["--sandbox", "status", "B0001"][..],
        &["batches"],
        &["--json", "show", "B0001"],
        &["completions", "bash"],
        &["man"],
    ] {
        let (code, err) = into_a_closed_pipe(&cm, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn json_is_refused_where_a_command_has_none_never_ignored() {
    // Before: render, preview, check-password and config init took --json and ignored it.
    let cm = Cardmint::new();
    for args in [
        &["--json", "render", "B0001"][..],
        &["--json", "preview"],
        &["--json", "check-password"],
        &["--json", "config", "init", "--path", "c.toml"],
        &["--json", "completions", "bash"],
        &["--json", "man"],
        &["--json", "sandbox"],
        &["--json", "portal"],
    ] {
        let out = cm.expect(2, args);
        assert!(
            out.stderr.contains("has no JSON document") && out.stdout.is_empty(),
            "{args:?}: {out:?}"
        );
    }
    assert!(!cm.path("c.toml").exists(), "nothing done");
}

#[test]
fn a_batch_of_mixed_values_says_so() {
    // Before: `show` and `batches` gave a customer-file batch its first row's value.
    let cm = Cardmint::new();
    std::fs::write(cm.path("c.csv"), "customer,value\nalice,5\nbob,7\n").unwrap();
    cm.expect(0, &["--sandbox", "issue", "--from", "c.csv", "-q"]);
    let show = cm.json(&["show", "B0001"]);
    assert_eq!(
        (&show["value"], &show["value_min"], &show["value_max"]),
        (&serde_json::Value::Null, &"5.00".into(), &"7.00".into()),
        "{show}"
    );
    assert!(
        cm.expect(0, &["show", "B0001"])
            .stdout
            .contains("value      5.00-7.00 EUR")
    );
    let list = cm.json(&["batches"]);
    assert_eq!(list["batches"][0]["value_max"], "7.00", "{list}");
    // A range is wider than a single value: the columns after it stay aligned.
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let text = cm.expect(0, &["batches"]).stdout;
    assert!(text.contains("5.00-7.00 EUR"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[0].find("platform");
    assert!(
        lines[1..].iter().all(|l| l.find("sandbox") == header),
        "{text}"
    );
}

#[test]
fn help_groups_options_under_headings() {
    // Before: `issue --help` was one list of 156 lines, the global flags mixed in.
    let cm = Cardmint::new();
    let help = cm.expect(0, &["issue", "--help"]).stdout;
    let at = |h: &str| help.find(h).unwrap_or_else(|| panic!("{h} in {help}"));
    let (engine, printing, every) = (
        at("\nTalking to the platform:\n"),
        at("\nPrinting:\n"),
        at("\nEvery command:\n"),
    );
    assert!(at("--rate") > engine && at("--duplex") > printing && at("--ledger") > every);
    let help = cm.expect(0, &["block", "--help"]).stdout;
    assert!(help.contains("\nWhich cards:\n"), "{help}");
}

#[test]
fn a_second_ledger_in_the_folder_never_writes_into_the_first_ones_batch_folder() {
    // Both ledgers number their first batch B0001: the folder out/B0001 holds the first one's
    // codes and passwords and must not be taken by the second (it was, silently).
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let before = std::fs::read(cm.path("out/B0001/manifest.csv")).unwrap();
    let out = cm.expect(
        1,
        &[
            "--sandbox",
            "--ledger",
            "l2.db",
            "issue",
            "--count",
            "2",
            "--value",
            "5",
        ],
    );
    assert!(out.stderr.contains("out/B0001"), "{out:?}");
    assert_eq!(
        std::fs::read(cm.path("out/B0001/manifest.csv")).unwrap(),
        before
    );
    // Its own folder is fine; the first ledger's batch still renders into its own.
    cm.expect(
        0,
        &[
            "--sandbox",
            "--ledger",
            "l2.db",
            "issue",
            "--count",
            "2",
            "--value",
            "5",
            "--out",
            "l2-out",
            "-q",
        ],
    );
    cm.expect(0, &["--sandbox", "render", "B0001"]);
    cm.expect(
        1,
        &[
            "--sandbox",
            "--ledger",
            "l2.db",
            "render",
            "B0001",
            "--out",
            "out/B0001",
        ],
    );
}

#[test]
fn an_output_in_a_missing_folder_fails_before_anything_is_read_or_sent() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "2", "--value", "5", "-q"]);
    let before = remote_stats(&sb.base()).total_requests();
    for args in [
        &["status", "B0001", "--out", "nodir/s.csv"][..],
        &["calls", "B0001", "--out", "nodir/c.csv"],
        &["report", "--live", "--out", "nodir/r.csv"],
        &["preview", "--out", "nodir/p.pdf"],
    ] {
        let out = cm.expect(6, args);
        assert!(
            out.stdout.is_empty()
                && out.stderr.contains(
                    "the folder nodir does not exist: create it first (`mkdir -p nodir`)"
                ),
            "{out:?}"
        );
    }
    // Named for what goes in it: a CSV is no .txt, a PDF no .png.
    for args in [
        &["status", "B0001", "--out", "s.txt"][..],
        &["calls", "B0001", "--out", "c.pdf"],
        &["preview", "--out", "p.png"],
    ] {
        let out = cm.expect(2, args);
        assert!(out.stderr.contains(": name a ."), "{out:?}");
    }
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
    // A device is no ledger: said so, not "chmod 600 /dev/null".
    let out = cm.expect(1, &["--ledger", "/dev/null", "batches"]);
    assert!(
        out.stderr
            .contains("/dev/null is not a regular file (a device or a pipe)"),
        "{out:?}"
    );
    // Nor does a command that changes cards leave a lock file beside one (a pipe here).
    assert!(
        std::process::Command::new("mkfifo")
            .arg(cm.path("pipe.db"))
            .status()
            .unwrap()
            .success()
    );
    let out = cm.expect(
        1,
        &[
            "--ledger",
            "pipe.db",
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
        ],
    );
    assert!(out.stderr.contains("not a regular file"), "{out:?}");
    assert!(!cm.path("pipe.db.lock").exists());
}

#[test]
fn audit_progress_counts_the_three_reads_of_each_card() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let out = cm.expect(0, &["--sandbox", "audit", "B0001"]);
    assert!(
        out.stderr.contains("B0001: 2/2 cards, 6/6 requests"),
        "{out:?}"
    );
}

#[test]
fn a_flag_every_line_of_a_sold_list_overrides_is_refused() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let serial = csv_rows(&cm.path("out/B0001/manifest.csv"))[0]["serial"].clone();
    let today = chrono::Local::now().date_naive().to_string();
    std::fs::write(
        cm.path("sold.csv"),
        format!("serial,date,shop\n{serial},{today},Kiosk\n"),
    )
    .unwrap();
    for (flag, value) in [("--sold-on", today.as_str()), ("--shop", "Kiosk")] {
        let out = cm.expect(
            2,
            &[
                "--sandbox",
                "activate",
                "B0001",
                "--sold-list",
                "sold.csv",
                flag,
                value,
                "--override-consignment",
            ],
        );
        assert!(
            out.stderr.contains("and every line gives its own: drop"),
            "{out:?}"
        );
    }
    // A list that is not there is the machine's matter, like a customer file (exit 6).
    let out = cm.expect(
        6,
        &["--sandbox", "activate", "B0001", "--sold-list", "no.csv"],
    );
    assert!(out.stderr.contains("cannot read no.csv"), "{out:?}");
}
