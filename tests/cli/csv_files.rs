//! Bad customer files: every kind is reported with its line and column, and nothing is sent.

use crate::support::*;

const INVALID_INPUT: i32 = 4;

/// (name, file contents, what the error must say)
type Case = (&'static str, Vec<u8>, Vec<&'static str>);

fn cases() -> Vec<Case> {
    vec![
        (
            "unknown column",
            b"customer,nmbers\nalice,+442079460958\n".to_vec(),
            vec!["line 1, column 2 (nmbers): unknown column"],
        ),
        (
            "duplicate column",
            b"customer,Customer\na,b\n".to_vec(),
            vec!["line 1, column 2 (Customer): column \"customer\" appears twice"],
        ),
        (
            "invalid number",
            b"customer,numbers\nalice,+4412345678\n".to_vec(),
            vec!["line 2, column 2 (numbers): number 1: \"+4412345678\" is not a valid number"],
        ),
        (
            "national number without region",
            b"customer;numbers\nalice;020 7946 0958\n".to_vec(),
            vec!["line 2, column 2 (numbers)", "--region"],
        ),
        (
            "weak password",
            b"customer,password\nalice,abc123x\n".to_vec(),
            vec![
                "line 2, column 2 (password): the password fails the policy: characters 1 to 3 are three in sequence",
            ],
        ),
        (
            "bad customer name",
            b"customer\nal ice\n".to_vec(),
            vec!["line 2, column 1 (customer)"],
        ),
        (
            "duplicate customer",
            b"customer\nalice\nbob\nalice\n".to_vec(),
            vec!["line 4, column 1 (customer): customer \"alice\" is also on line 2"],
        ),
        (
            "bad value",
            b"customer,value\nalice,5.001\nbob,\xe2\x82\xac5\n".to_vec(),
            vec!["line 2, column 2 (value)", "line 3, column 2 (value)"],
        ),
        (
            "no value anywhere",
            b"customer\nalice\n".to_vec(),
            vec!["line 2: no value on this row and no --value given"],
        ),
        (
            "bad tariff",
            b"customer,tariff\nalice,3.5\n".to_vec(),
            vec!["line 2, column 2 (tariff)"],
        ),
        (
            "field count",
            b"customer,label\nalice,a,b\nbob,x\n".to_vec(),
            vec!["line 2: 3 fields, but the header has 2"],
        ),
        (
            "unterminated quote",
            b"customer,label\nalice,\"open\nbob,x\n".to_vec(),
            vec!["line 2: a quoted field starts here and is never closed"],
        ),
        (
            "not utf-8",
            b"customer,label\nalice,Ren\xe9\n".to_vec(),
            vec!["line 2: the file is not UTF-8", "--encoding windows-1252"],
        ),
        (
            "header only",
            b"customer,label\n".to_vec(),
            vec!["the file has a header but no rows"],
        ),
        (
            // Excel's line ends: the lines are those of the file (they were one too low).
            "crlf line numbers",
            b"customer;value\r\nalice;5\r\nbob;5.001\r\n".to_vec(),
            vec!["line 3, column 2 (value)"],
        ),
        (
            // The encoding's problem is reported with the others, not alone before them.
            "not utf-8 among others",
            b"customer,label\nalice,Ren\xe9\nbob,x,y\n".to_vec(),
            vec![
                "line 2: the file is not UTF-8",
                "line 3: 3 fields, but the header has 2",
            ],
        ),
    ]
}

#[test]
fn a_file_as_excel_saves_it_is_read_as_excel_means_it() {
    // Excel's `sep=;` line, CRLF, empty cells right of the table saved as `;;`, and blank
    // rows `;;;`: all refused before.
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("excel.csv"),
        b"sep=;\r\ncustomer;value;label;;\r\nalice;5;A, B;;\r\n;;;;\r\nbob;7;x;;\r\n;;;;\r\n",
    )
    .unwrap();
    cm.expect(0, &["--sandbox", "issue", "--from", "excel.csv", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["customer"].as_str(), r["value"].as_str()))
        .collect();
    assert_eq!(got, vec![("alice", "5.00"), ("bob", "7.00")]);
    // The sep line counts: a problem names the file's own line.
    std::fs::write(
        cm.path("bad.csv"),
        b"sep=;\r\ncustomer;value;;\r\ncarol;5;;\r\n;;;\r\ndave;5.001;;\r\n",
    )
    .unwrap();
    // A file that cannot be read is I/O (6), as the exit codes say; one that reads wrong is
    // invalid input (4). (A missing file exited 4.)
    let missing = cm.expect(6, &["--sandbox", "issue", "--from", "no-such.csv"]);
    assert!(
        missing.stderr.contains("cannot read no-such.csv"),
        "{missing:?}"
    );
    let out = cm.expect(4, &["--sandbox", "issue", "--from", "bad.csv"]);
    assert!(out.stderr.contains("line 5, column 2 (value)"), "{out:?}");
}

#[test]
fn every_bad_file_is_reported_whole_and_sends_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    for (name, bytes, expected) in cases() {
        std::fs::write(cm.path("bad.csv"), &bytes).unwrap();
        let mut args = vec!["issue", "--from", "bad.csv"];
        if name != "no value anywhere" {
            args.extend(["--value", "5"]);
        }
        let out = cm.run(&args);
        assert_eq!(out.code, INVALID_INPUT, "{name}: {out:?}");
        for e in expected {
            assert!(
                out.stderr.contains(e),
                "{name}: expected {e:?} in\n{}",
                out.stderr
            );
        }
        assert!(
            out.stderr.contains("bad.csv:"),
            "{name}: the file is named: {}",
            out.stderr
        );
        assert!(out.stderr.contains("nothing was sent"), "{name}");
        assert!(
            !out.stderr.contains("abc123x"),
            "{name}: a password was echoed"
        );
    }
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
}

#[test]
fn a_customer_already_in_the_ledger_is_refused() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    std::fs::write(cm.path("a.csv"), "customer,value\nalice,5\n").unwrap();
    cm.expect(
        0,
        &["issue", "--from", "a.csv", "--active", "--out", "first"],
    );
    let before = remote_stats(&sb.base()).total_requests();
    std::fs::write(cm.path("b.csv"), "customer,value\nbob,5\nalice,5\n").unwrap();
    let out = cm.expect(INVALID_INPUT, &["issue", "--from", "b.csv", "--active"]);
    assert!(
        out.stderr
            .contains("line 3, column 1 (customer): customer \"alice\" is already in the ledger"),
        "{out:?}"
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
}

#[test]
fn windows_1252_files_read_with_the_flag() {
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("w.csv"),
        b"customer\tlabel\ttariff\nrene\tRen\xe9 \x80 shop\t-2\n",
    )
    .unwrap();
    let out = cm.expect(
        0,
        &[
            "issue",
            "--sandbox",
            "--from",
            "w.csv",
            "--value",
            "5",
            "--encoding",
            "windows-1252",
            "--active",
        ],
    );
    assert!(says(&out.stdout, "1 card, 0 ready, 1 active"), "{out:?}");
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(rows[0]["label"], "René € shop");
    assert_eq!(rows[0]["tariff"], "-2");
}

#[test]
fn labels_that_a_spreadsheet_would_run_as_formulas_are_refused_with_line_and_column() {
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("c.csv"),
        "customer,label\nann,=HYPERLINK(\"http://x\")\nbob,@SUM(A1)\ncat,+cmd|' /C calc'!A0\ndan,Dan Smith\n",
    )
    .unwrap();
    let out = cm.expect(
        4,
        &["--sandbox", "issue", "--from", "c.csv", "--value", "5"],
    );
    for line in [2, 3, 4] {
        assert!(
            out.stderr
                .contains(&format!("line {line}, column 2 (label)")),
            "{line}: {out:?}"
        );
    }
    assert!(out.stderr.contains("formula"), "{out:?}");
    assert!(!out.stderr.contains("line 5"), "{out:?}");
    assert!(
        !cm.path("cardmint.db").exists()
            || cm.expect(0, &["batches"]).stdout.contains("no batches")
    );
}
