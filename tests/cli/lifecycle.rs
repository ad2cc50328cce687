//! The life of issued cards against a sandbox with faults on: activate and block ranges, top-ups
//! exactly once, status totals, call records over several pages, the audit.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::support::*;

const MISMATCH: i32 = 5;

fn faulty(seed: &str, kinds: &str, rate: &str) -> SandboxProcess {
    SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        rate,
        "--fault-kinds",
        kinds,
        "--slow-ms",
        "1200",
        "--seed",
        seed,
    ])
}

#[test]
fn activate_and_block_change_only_the_selected_cards() {
    let sb = faulty("21", "lost,error,slow", "0.1");
    let cm = Cardmint::against(&sb.url).env("CARDMINT_TIMEOUT_MS", "600");
    cm.expect(
        0,
        &[
            "issue",
            "--count",
            "30",
            "--value",
            "5",
            "--rate",
            "400",
            "--concurrency",
            "8",
            "-q",
        ],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let range = format!(
        "{}-{},{}",
        rows[3]["serial"], rows[9]["serial"], rows[20]["serial"]
    );
    let out = cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            &range,
            "--rate",
            "400",
        ],
    );
    assert!(says(&out.stdout, "8 activated, 0 failed"), "{out:?}");
    let block = format!("{}-{}", rows[5]["serial"], rows[6]["serial"]);
    let out = cm.expect(
        0,
        &[
            "block",
            "B0001",
            "--serials",
            &block,
            "--reason",
            "box stolen",
            "--rate",
            "400",
        ],
    );
    assert!(says(&out.stdout, "2 blocked, 0 failed"), "{out:?}");
    let state = remote_state(&sb.base());
    for (i, row) in rows.iter().enumerate() {
        let active = matches!(i, 3 | 4 | 7 | 8 | 9 | 20);
        assert_eq!(
            !state.customers[&row["customer"]].blocked, active,
            "card {i}"
        );
    }
    // The ledger agrees: the manifest is brought up to date by resume, and the audit passes.
    cm.expect(0, &["resume", "B0001"]);
    let after = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(after[4]["state"], "active");
    assert_eq!(after[5]["state"], "blocked");
    assert_eq!(after[0]["state"], "ready");
    cm.expect(0, &["audit", "B0001", "--rate", "400"]);
}

#[test]
fn a_serial_with_a_wrong_check_digit_sends_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "3", "--value", "5", "-q"]);
    let before = remote_stats(&sb.base()).total_requests();
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let good = &rows[1]["serial"];
    let mut typo = good.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    for args in [
        vec![
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            typo.as_str(),
        ],
        vec!["block", "B0001", "--serials", typo.as_str()],
        vec!["status", "B0001", "--serials", typo.as_str()],
        vec!["topup", typo.as_str(), "5"],
    ] {
        let out = cm.run(&args);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("wrong check digit"), "{out:?}");
    }
    // A well-formed serial of another batch, and no selection at all, are refused too.
    let other = cardmint::codes::serial(100);
    let out = cm.expect(
        2,
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            &other,
        ],
    );
    assert!(
        out.stderr.contains("is not a serial of batch B0001"),
        "{out:?}"
    );
    let out = cm.expect(2, &["block", "B0001"]);
    assert!(out.stderr.contains("--serials RANGES"), "{out:?}");
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
}

#[test]
fn a_sold_list_activates_its_serials_and_a_bad_line_sends_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "6", "--value", "5", "-q"]);
    backdate(&cm, "B0001", "2026-10-01");
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serials = format!("{}-{}", rows[0]["serial"], rows[5]["serial"]);
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &serials,
            "--shop",
            "Kiosk 12",
            "--date",
            "2026-11-02",
        ],
    );
    // Columns in any order, the shop in any case, a date per line.
    std::fs::write(
        cm.path("sold.csv"),
        format!(
            "date;Serial;shop;price\n2026-11-20;{};kiosk 12;5\n;{};;5\n",
            rows[1]["serial"], rows[4]["serial"]
        ),
    )
    .unwrap();
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--sold-list",
            "sold.csv",
            "--sold-on",
            "2026-11-21",
        ],
    );
    let state = remote_state(&sb.base());
    let active: Vec<bool> = rows
        .iter()
        .map(|r| !state.customers[&r["customer"]].blocked)
        .collect();
    assert_eq!(active, vec![false, true, false, false, true, false]);
    let doc = cm.json(&["card", &rows[1]["serial"]]);
    assert_eq!(doc["sold_on"], "2026-11-20", "{doc}");
    assert_eq!(doc["sold_by"], "Kiosk 12", "{doc}");
    assert_eq!(
        cm.json(&["card", &rows[4]["serial"]])["sold_on"],
        "2026-11-21"
    );
    let before = remote_stats(&sb.base()).total_requests();
    // Every bad line is named, with its column; nothing is sent.
    std::fs::write(cm.path("bad.csv"), format!("{}\n123\n", rows[0]["serial"])).unwrap();
    let out = cm.expect(4, &["activate", "B0001", "--sold-list", "bad.csv"]);
    assert!(
        out.stderr.contains("line 2, column serial:") && out.stderr.contains("nothing was sent"),
        "{out:?}"
    );
    std::fs::write(
        cm.path("bad.csv"),
        format!("serial,date\n{},30/11/2026\n", rows[0]["serial"]),
    )
    .unwrap();
    let out = cm.expect(4, &["activate", "B0001", "--sold-list", "bad.csv"]);
    assert!(
        out.stderr.contains("line 2, column date:") && out.stderr.contains("YYYY-MM-DD"),
        "{out:?}"
    );
    std::fs::write(
        cm.path("bad.csv"),
        format!("{},Kiosk 12\n", rows[0]["serial"]),
    )
    .unwrap();
    let out = cm.expect(4, &["activate", "B0001", "--sold-list", "bad.csv"]);
    assert!(out.stderr.contains("needs a header"), "{out:?}");
    // A sale dated in the future is a wrong date of the file, said with its other problems
    // (it was exit 9, from the stock rules, on a second run).
    std::fs::write(
        cm.path("bad.csv"),
        format!(
            "serial,date
{},2999-01-01
123,2026-11-30
",
            rows[0]["serial"]
        ),
    )
    .unwrap();
    let out = cm.expect(4, &["activate", "B0001", "--sold-list", "bad.csv"]);
    assert!(
        out.stderr
            .contains("line 2, column date: 2999-01-01 is in the future")
            && out.stderr.contains("line 3, column serial:"),
        "{out:?}"
    );
    // A shop the card was not consigned to, or an unknown shop, is refused before sending.
    std::fs::write(
        cm.path("other.csv"),
        format!("serial,shop\n{},Kiosk 9\n", rows[0]["serial"]),
    )
    .unwrap();
    let out = cm.expect(9, &["activate", "B0001", "--sold-list", "other.csv"]);
    assert!(out.stderr.contains("no shop \"Kiosk 9\""), "{out:?}");
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
}

#[test]
fn a_topup_is_loaded_exactly_once_when_answers_are_lost() {
    // A quarter of all answers lost: at 40 %, a card of the issue step itself sometimes met
    // eight losses in a row and was (rightly) given up, which made this test flaky.
    let sb = faulty("33", "lost", "0.25");
    let cm = Cardmint::against(&sb.url);
    cm.expect(
        0,
        &[
            "issue", "--count", "5", "--value", "5", "--rate", "400", "-q",
        ],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for row in &rows {
        let out = cm.run(&["topup", &row["serial"], "2.50", "--rate", "400"]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let out = cm.expect(
        0,
        &[
            "topup",
            &rows[0]["customer"],
            "-1.25",
            "--yes",
            "--rate",
            "400",
        ],
    );
    assert!(says(&out.stdout, "6.25 loaded in all"), "{out:?}");
    // Amounts as people write them, and only so: an exponent or an underscore is refused
    // before anything is sent (a decimal parser read 1e2 as 100).
    for typed in ["1e2", "1_000", "1E3"] {
        let out = cm.run(&["--sandbox", "topup", "B0001", typed]);
        assert_eq!(out.code, 2, "{typed}: {out:?}");
        assert!(out.stderr.contains("not an amount"), "{typed}: {out:?}");
    }
    let stats = remote_stats(&sb.base());
    assert!(
        stats.faults.get("LostAnswer").copied().unwrap_or(0) > 3,
        "answers were lost: {:?}",
        stats.faults
    );
    let state = remote_state(&sb.base());
    for (i, row) in rows.iter().enumerate() {
        let amounts: Vec<Decimal> = state.customers[&row["customer"]]
            .transactions
            .iter()
            .map(|t| t.amount)
            .collect();
        let mut expected = vec![dec("5"), dec("2.50")];
        if i == 0 {
            expected.push(dec("-1.25"));
        }
        assert_eq!(amounts, expected, "card {i}: every credit exactly once");
    }
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn status_totals_follow_the_calls_made() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "4", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            &format!("{}-{}", rows[0]["serial"], rows[1]["serial"]),
        ],
    );
    for (row, count, charge) in [(&rows[0], 10, "0.12"), (&rows[1], 3, "0.5")] {
        let (status, body) = http(
            "POST",
            &format!(
                "{}/__sandbox/calls?customer={}&count={count}&charge={charge}",
                sb.base(),
                row["customer"]
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    let out = cm.expect(0, &["status", "B0001", "--out", "status.csv"]);
    assert!(
        out.stdout.contains(
            "4 cards: 2 sold (active), credit used 2.70 EUR, credit left on sold cards 7.30 EUR \
             (unsold stock holds 10.00 EUR, blocked cards 0.00 EUR)"
        ),
        "{out:?}"
    );
    let mut status = csv_rows(&cm.path("status.csv"));
    assert_eq!(
        mode_of(&cm.path("status.csv")),
        0o600,
        "it lists access codes"
    );
    let total = status.pop().unwrap();
    assert_eq!(
        (total["batch"].as_str(), total["value"].as_str()),
        ("total", "20.00")
    );
    assert_eq!(
        (total["balance"].as_str(), total["used"].as_str()),
        ("17.30", "2.70")
    );
    assert_eq!(status[0]["balance"], "3.80");
    assert_eq!(status[0]["used"], "1.20");
    assert_eq!(status[1]["used"], "1.50");
    assert_eq!(status[2]["used"], "0.00");
    assert_eq!(status[0]["blocked"], "false");
    assert_eq!(status[3]["blocked"], "true");
    assert_eq!(status[0]["state"], "active");
    assert_eq!(status[3]["state"], "ready");
    assert_eq!(status[0]["batch"], "B0001");
    assert!(
        status.iter().all(|r| r["matches_ledger"] == "yes"),
        "{status:?}"
    );
    // The table shows the same columns, and the totals row.
    let table = cm.expect(0, &["status", "B0001"]).stdout;
    let head = table.lines().next().unwrap();
    for column in [
        "batch", "serial", "state", "reason", "shop", "value", "balance",
    ] {
        assert!(head.contains(column), "{table}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("total") && l.contains("17.30")),
        "{table}"
    );
}

#[test]
fn every_call_record_of_a_card_with_1200_calls_comes_once() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "2", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    // Ten calls share every second, so a cursor on the date alone would lose some.
    for i in 0..120 {
        let start = format!("2026-10-01%20{:02}:{:02}:00", i / 60, i % 60);
        let (status, body) = http(
            "POST",
            &format!(
                "{}/__sandbox/calls?customer={}&count=10&spacing_secs=0&charge=0.001&start={start}",
                sb.base(),
                rows[0]["customer"]
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    let before = remote_stats(&sb.base())
        .requests
        .get("calloverview")
        .copied()
        .unwrap_or(0);
    let out = cm.expect(0, &["calls", &rows[0]["serial"], "--out", "calls.csv"]);
    assert!(says(&out.stdout, "1200 call records of 1 card"), "{out:?}");
    assert_eq!(
        mode_of(&cm.path("calls.csv")),
        0o600,
        "it names access codes"
    );
    let pages = remote_stats(&sb.base()).requests["calloverview"] - before;
    assert_eq!(pages, 3, "500 per request: three pages");
    let calls = csv_rows(&cm.path("calls.csv"));
    assert_eq!(calls.len(), 1200);
    let ids: std::collections::HashSet<&str> =
        calls.iter().map(|c| c["call_id"].as_str()).collect();
    assert_eq!(ids.len(), 1200, "none twice");
    assert!(calls.iter().all(|c| c["serial"] == rows[0]["serial"]
        && c["start_utc"].ends_with('Z')
        && c["duration_seconds"] == "60"));
    // Forward from a date: the later half only.
    let out = cm.expect(
        0,
        &[
            "calls",
            "B0001",
            "--since",
            "2026-10-01 01:00:00",
            "--out",
            "late.csv",
        ],
    );
    assert!(says(&out.stdout, "590 call records of 2 cards"), "{out:?}");
}

#[test]
fn the_audit_catches_changes_made_behind_cardmints_back() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    std::fs::write(cm.path("c.csv"), "customer,numbers\nann,+44 20 7946 0001|+44 20 7946 0002\nbob,+44 20 7946 0003\ncid,+44 20 7946 0004\ndee,+44 20 7946 0005\n").unwrap();
    cm.expect(
        0,
        &["issue", "--from", "c.csv", "--value", "5", "--active", "-q"],
    );
    let out = cm.expect(0, &["audit", "B0001"]);
    assert!(
        says(&out.stdout, "4 cards audited, 0 mismatches"),
        "{out:?}"
    );
    let c = client_with(&sb.url, credentials(), Duration::from_secs(5));
    c.set_blocked("ann", true).unwrap();
    c.reset_password("bob", &secret("Zq2_mV7c")).unwrap();
    c.delete_number("cid", "+442079460004").unwrap();
    let out = cm.expect(MISMATCH, &["audit", "B0001"]);
    assert!(
        out.stdout
            .contains("ann: blocked is true on the platform, false in the ledger"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("bob: the ledger's password does not open the account"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("cid: numbers are [] on the platform, [+442079460004] in the ledger"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("dee:"), "{out:?}");
    assert!(
        says(&out.stdout, "4 cards audited, 3 mismatches"),
        "{out:?}"
    );
    // Putting things right through cardmint clears them.
    cm.expect(
        0,
        &["numbers", "cid", "--add", "020 7946 0004", "--region", "GB"],
    );
    cm.expect(0, &["activate", "B0001", "--override-consignment", "--all"]);
    let out = cm.expect(0, &["reset-password", "bob"]);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("new password for"))
        .unwrap();
    let new = line.rsplit(' ').next().unwrap();
    assert_eq!(remote_state(&sb.base()).customers["bob"].password, new);
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn a_sold_list_from_excel_names_the_files_own_lines() {
    // CRLF, Excel's `sep=` line, empty trailing columns and blank rows; the bad serial is on
    // line 5 of the file (it was named line 4 and earlier).
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    std::fs::write(
        cm.path("sold.csv"),
        format!(
            "sep=;\r\nserial;;\r\n{};;\r\n;;\r\n0000000099;;\r\n",
            rows[0]["serial"]
        ),
    )
    .unwrap();
    let out = cm.expect(
        4,
        &["--sandbox", "activate", "B0001", "--sold-list", "sold.csv"],
    );
    assert!(
        out.stderr.contains("line 5, column serial")
            && !out.stderr.contains("line 4")
            && !out.stderr.contains("line 2"),
        "{out:?}"
    );
    std::fs::write(
        cm.path("sold.csv"),
        format!("sep=;\r\nserial;;\r\n{};;\r\n;;\r\n", rows[0]["serial"]),
    )
    .unwrap();
    cm.expect(
        0,
        &[
            "--sandbox",
            "activate",
            "B0001",
            "--sold-list",
            "sold.csv",
            "--override-consignment",
        ],
    );
}
