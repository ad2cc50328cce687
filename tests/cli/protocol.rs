//! The exactly-once protocol against a sandbox that behaves like the world: one writer per
//! ledger, changes applied late, cards in use, kills at every step, batches that remember their
//! platform. After each, the audit must find the platform equal to the ledger.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Waits (polling, bounded) until the ledger's lock file names `pid` as its holder (a lock
/// file outlives its holder: the name of a dead one stays in it until the next takes it).
fn wait_for_holder(cm: &Cardmint, pid: u32) -> String {
    let path = cm.path("cardmint.db.lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.starts_with(&format!("pid {pid},"))
        {
            return text;
        }
        assert!(Instant::now() < deadline, "no lock holder appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_writer_is_refused_with_the_holders_name_and_readers_work_alongside() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "40"]);
    let cm = Cardmint::against(&sb.url);
    let mut issue = cm
        .command(&[
            "issue",
            "--count",
            "24",
            "--value",
            "5",
            "--concurrency",
            "2",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let holder = wait_for_holder(&cm, issue.id());
    assert!(holder.contains("cardmint issue"), "{holder}");
    for args in [
        vec!["resume", "B0001"],
        vec!["activate", "B0001", "--override-consignment", "--all"],
        vec!["issue", "--count", "1", "--value", "5"],
    ] {
        let out = cm.expect(1, &args);
        assert!(
            out.stderr.contains("is in use by pid") && out.stderr.contains("cardmint issue"),
            "{out:?}"
        );
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
    // Reading the ledger works while it is held (the batch is recorded a moment after the lock
    // is taken: after the login check).
    cm.expect(0, &["batches"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while cm.run(&["show", "B0001"]).code != 0 {
        assert!(Instant::now() < deadline, "B0001 never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        issue.try_wait().unwrap(),
        None,
        "issue finished too soon for this test"
    );
    let status = issue.wait().unwrap();
    assert!(status.success());
    cm.expect(0, &["audit", "B0001"]);
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
}

#[test]
fn a_batch_remembers_its_platform_and_refuses_another_before_any_request() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    // A --sandbox batch, then the same ledger aimed at an endpoint.
    let cm = Cardmint::against(&sb.url);
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "3", "--value", "5", "-q"],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for args in [
        vec!["activate", "B0001", "--override-consignment", "--all"],
        vec!["topup", rows[0]["serial"].as_str(), "5"],
        vec!["status", "B0001"],
        vec!["audit", "B0001"],
    ] {
        let out = cm.expect(1, &args);
        assert!(
            out.stderr
                .contains("batch B0001 lives on the embedded sandbox (--sandbox)")
                && out.stderr.contains("run it with --sandbox"),
            "{out:?}"
        );
    }
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    let out = cm.expect(0, &["show", "B0001"]);
    assert!(
        out.stdout.contains("platform   the embedded sandbox"),
        "{out:?}"
    );
    // The reverse: a batch on the endpoint, then --sandbox.
    cm.expect(0, &["issue", "--count", "2", "--value", "5", "-q"]);
    let before = remote_stats(&sb.base()).total_requests();
    let out = cm.expect(
        1,
        &[
            "--sandbox",
            "activate",
            "B0002",
            "--override-consignment",
            "--all",
        ],
    );
    assert!(
        out.stderr.contains(&format!(
            "batch B0002 lives on {} as reseller {RESELLER}",
            sb.url
        )),
        "{out:?}"
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
    let out = cm.expect(0, &["batches"]);
    assert!(
        out.stdout.contains("sandbox") && out.stdout.contains(&format!("{RESELLER}@127.0.0.1")),
        "{out:?}"
    );
    cm.expect(0, &["--sandbox", "audit", "B0001"]);
    cm.expect(0, &["audit", "B0002"]);
}

/// A sandbox where a share of all requests meets `kinds`; late changes land after 700 ms.
fn world(seed: &str, rate: &str, kinds: &str, extra: &[&str]) -> SandboxProcess {
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--faults",
        rate,
        "--fault-kinds",
        kinds,
        "--late-ms",
        "700",
        "--slow-ms",
        "1500",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    SandboxProcess::spawn(&args)
}

/// The binary against `sb`, settling 1.2 s after a lost answer: after any late change landed.
fn operator(sb: &SandboxProcess) -> Cardmint {
    Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "1200")
        .env("CARDMINT_TIMEOUT_MS", "1000")
}

/// Every account's settransactions, by customer.
fn credits(base: &str) -> std::collections::HashMap<String, Vec<rust_decimal::Decimal>> {
    remote_state(base)
        .customers
        .into_iter()
        .map(|(name, c)| (name, c.transactions.iter().map(|t| t.amount).collect()))
        .collect()
}

const FAST: &[&str] = &["--rate", "400", "--concurrency", "8"];

fn with(args: &[&str], more: &[&str]) -> Vec<String> {
    args.iter().chain(more).map(|s| s.to_string()).collect()
}

fn run(cm: &Cardmint, code: i32, args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cm.expect(code, &args)
}

#[test]
fn every_changing_command_is_exactly_once_when_changes_land_late() {
    let sb = world("8", "0.2", "late", &[]);
    let cm = operator(&sb);
    run(
        &cm,
        0,
        &with(&["issue", "--count", "16", "--value", "5", "-q"], FAST),
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let s = |i: usize| rows[i]["serial"].clone();
    // Activated, then blocked as stolen: a late unblock must not undo the block.
    run(
        &cm,
        0,
        &with(
            &[
                "activate",
                "B0001",
                "--override-consignment",
                "--serials",
                &format!("{}-{}", s(0), s(7)),
            ],
            FAST,
        ),
    );
    run(
        &cm,
        0,
        &with(
            &[
                "block",
                "B0001",
                "--serials",
                &format!("{}-{}", s(4), s(9)),
                "--reason",
                "stolen",
            ],
            FAST,
        ),
    );
    for i in [0, 1, 2, 3] {
        run(&cm, 0, &with(&["topup", &s(i), "2.50"], FAST));
    }
    run(
        &cm,
        0,
        &with(&["numbers", &s(1), "--add", "+44 20 7946 0958"], FAST),
    );
    run(
        &cm,
        0,
        &with(&["numbers", &s(1), "--add", "+44 20 7946 0959"], FAST),
    );
    run(
        &cm,
        0,
        &with(&["numbers", &s(1), "--delete", "+44 20 7946 0958"], FAST),
    );
    let out = run(&cm, 0, &with(&["reset-password", &s(2)], FAST));
    assert!(out.stdout.contains("new password for"), "{out:?}");
    let stats = remote_stats(&sb.base());
    assert!(
        stats.faults.get("Late").copied().unwrap_or(0) >= 10,
        "{stats:?}"
    );
    // Everything has landed by now (the runs waited out the late changes).
    let state = remote_state(&sb.base());
    let credits = credits(&sb.base());
    for (i, row) in rows.iter().enumerate() {
        let account = &state.customers[&row["customer"]];
        let mut expected = vec![dec("5")];
        if i < 4 {
            expected.push(dec("2.50"));
        }
        assert_eq!(
            credits[&row["customer"]], expected,
            "card {i}: each credit once"
        );
        assert_eq!(account.blocked, i >= 4, "card {i}");
    }
    assert_eq!(
        state.customers[&rows[1]["customer"]].numbers,
        vec!["+442079460959"]
    );
    run(&cm, 0, &with(&["audit", "B0001"], FAST));
    assert_eq!(state.customers.len(), 16, "no account created twice");
}

#[test]
fn a_kill_at_any_step_of_provisioning_is_resumed_exactly_once() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    // Retail cards: create, block, credit. An active import with two numbers a card: create
    // (with the first number), credit, then the further number.
    let retail: &[&str] = &["--count", "6", "--value", "5"];
    let import: &[&str] = &["--from", "customers.csv", "--active"];
    for (point, source) in [
        ("create:before-send", retail),
        ("create:after-answer", retail),
        ("retail-block:before-send", retail),
        ("retail-block:after-answer", retail),
        ("credit:before-send", retail),
        ("credit:after-answer", retail),
        ("credit:after-answer", import),
        ("add-number:before-send", import),
        ("add-number:after-answer", import),
    ] {
        let cm = Cardmint::against(&sb.url);
        let tag = point.replace([':', '-'], "");
        let customers: String = (1..=6)
            .map(|n| format!("{tag}_{n},5,+44 20 7946 01{n}1|+44 20 7946 01{n}2\n"))
            .collect();
        std::fs::write(
            cm.path("customers.csv"),
            format!("customer,value,numbers\n{customers}"),
        )
        .unwrap();
        let args: Vec<&str> = ["issue", "--concurrency", "3", "-q"]
            .into_iter()
            .chain(source.iter().copied())
            .collect();
        let issue = cm.run_env(&args, &[("CARDMINT_TEST_KILL_AT", &format!("{point}#3"))]);
        assert_eq!(issue.code, -1, "{point}: killed, {issue:?}");
        // Nothing is lost: the batch is in the ledger with every code.
        let out = cm.expect(0, &["show", "B0001"]);
        assert!(out.stdout.contains("cards      6"), "{point}: {out:?}");
        cm.expect(0, &["resume", "B0001"]);
        cm.expect(0, &["audit", "B0001"]);
        let manifest = cm.path("out/B0001/manifest.csv");
        assert_platform_matches_manifest_of(&manifest, &remote_state(&sb.base()));
        let credits = credits(&sb.base());
        for row in csv_rows(&manifest) {
            assert_eq!(credits[&row["customer"]], vec![dec("5")], "{point}");
            if source == import {
                assert_eq!(row["numbers"].split_whitespace().count(), 2, "{point}");
            }
        }
    }
}

#[test]
fn a_kill_during_a_topup_never_loads_it_twice() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "2", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for (row, point) in rows.iter().zip(["topup:before-send", "topup:after-answer"]) {
        let killed = cm.run_env(
            &["topup", &row["serial"], "2.50"],
            &[("CARDMINT_TEST_KILL_AT", point)],
        );
        assert_eq!(killed.code, -1, "{point}: {killed:?}");
        // A second writer is not blocked by the dead one: the OS released its lock.
        let again = cm.expect(0, &["topup", &row["serial"], "2.50"]);
        assert!(
            says(&again.stdout, "7.50 loaded in all"),
            "{point}: {again:?}"
        );
        assert_eq!(
            credits(&sb.base())[&row["customer"]],
            vec![dec("5"), dec("2.50")],
            "{point}: loaded once"
        );
    }
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn two_operators_at_once_cannot_double_a_resume_or_a_topup() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "30"]);
    let cm = Cardmint::against(&sb.url);
    // A batch killed half way, then two resumes at once.
    let killed = cm.run_env(
        &[
            "issue",
            "--count",
            "12",
            "--value",
            "5",
            "--concurrency",
            "2",
            "-q",
        ],
        &[("CARDMINT_TEST_KILL_AT", "credit:after-answer#4")],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    let spawn = |args: &[&str]| {
        cm.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&["resume", "B0001", "--concurrency", "2"]);
    wait_for_holder(&cm, first.id());
    let second = cm.run(&["resume", "B0001"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(second.stderr.contains("is in use by pid"), "{second:?}");
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{first:?}");
    assert_platform_matches_manifest_of(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
    // Two top-ups of the same card at once: one waits for nobody, the other is refused.
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serial = rows[0]["serial"].as_str();
    let a = spawn(&["topup", serial, "3"]);
    wait_for_holder(&cm, a.id());
    let b = cm.run(&["topup", serial, "3"]);
    let a = a.wait_with_output().unwrap();
    assert!(a.status.success(), "{a:?}");
    assert_eq!(b.code, 1, "{b:?}");
    assert_eq!(
        credits(&sb.base())[&rows[0]["customer"]],
        vec![dec("5"), dec("3")]
    );
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn cards_in_use_are_topped_up_and_resumed_exactly_once() {
    // Every unblocked account with credit calls about twice a second at 0.60 a minute.
    let sb = world(
        "3",
        "0.25",
        "late",
        &["--calls-per-min", "120", "--price-per-min", "0.6"],
    );
    let cm = operator(&sb);
    std::fs::write(
        cm.path("customers.csv"),
        "customer,value\nuse_1,3\nuse_2,3\nuse_3,3\nuse_4,3\nuse_5,3\nuse_6,3\n",
    )
    .unwrap();
    // Killed after the platform took one of the credits: resume must not load it again, even
    // though the card is already spending it.
    let killed = cm.run_env(
        &[
            "issue",
            "--from",
            "customers.csv",
            "--active",
            "--concurrency",
            "2",
            "-q",
        ],
        &[
            ("CARDMINT_TEST_KILL_AT", "credit:after-answer#2"),
            ("CARDMINT_SANDBOX_FAULTS", "0"),
        ],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    std::thread::sleep(Duration::from_millis(1500)); // the card spends meanwhile
    run(&cm, 0, &with(&["resume", "B0001"], FAST));
    for n in 1..=6 {
        run(&cm, 0, &with(&["topup", &format!("use_{n}"), "2"], FAST));
    }
    let state = remote_state(&sb.base());
    let credits = credits(&sb.base());
    let mut calls = 0;
    for n in 1..=6 {
        let name = format!("use_{n}");
        assert_eq!(
            credits[&name],
            vec![dec("3"), dec("2")],
            "{name}: each credit once"
        );
        let c = &state.customers[&name];
        let charged: rust_decimal::Decimal = c.calls.iter().map(|c| c.charge).sum();
        assert_eq!(c.balance + charged, dec("5"), "{name}");
        calls += c.calls.len();
    }
    assert!(calls > 6, "the cards were in use: {calls} calls");
    run(&cm, 0, &with(&["audit", "B0001"], FAST));
}

#[test]
fn lifecycle_commands_refuse_cards_not_provisioned_and_activate_keeps_stolen_cards_blocked() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    // Killed after a create was answered: that card's create is still unconfirmed.
    let killed = cm.run_env(
        &[
            "issue",
            "--count",
            "4",
            "--value",
            "5",
            "--concurrency",
            "1",
            "-q",
        ],
        &[("CARDMINT_TEST_KILL_AT", "create:after-answer#2")],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    let unconfirmed = cardmint::codes::serial(2);
    let before = remote_stats(&sb.base()).total_requests();
    for args in [
        vec!["reset-password", unconfirmed.as_str()],
        vec!["topup", unconfirmed.as_str(), "5"],
        vec![
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            unconfirmed.as_str(),
        ],
    ] {
        let out = cm.expect(9, &args);
        assert!(out.stderr.contains("not provisioned"), "{out:?}");
    }
    assert_eq!(
        remote_stats(&sb.base()).total_requests(),
        before,
        "nothing sent"
    );
    cm.expect(0, &["resume", "B0001"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    // A card blocked as stolen stays blocked when a range that holds it is activated.
    let range = format!("{}-{}", rows[0]["serial"], rows[3]["serial"]);
    cm.expect(
        0,
        &[
            "block",
            "B0001",
            "--serials",
            &rows[2]["serial"],
            "--reason",
            "stolen",
        ],
    );
    let out = cm.expect(
        9,
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            &range,
        ],
    );
    assert!(
        out.stderr.contains("blocked: stolen") && out.stderr.contains("--include-blocked"),
        "{out:?}"
    );
    let out = cm.expect(0, &["activate", "B0001", "--override-consignment", "--all"]);
    assert!(out.stdout.contains("skipped: blocked (stolen)"), "{out:?}");
    assert!(remote_state(&sb.base()).customers[&rows[2]["customer"]].blocked);
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--override-consignment",
            "--serials",
            &rows[2]["serial"],
            "--include-blocked",
        ],
    );
    assert!(!remote_state(&sb.base()).customers[&rows[2]["customer"]].blocked);
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn an_interrupted_password_reset_is_settled_with_the_pending_password() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "2", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let killed = cm.run_env(
        &["reset-password", &rows[0]["serial"]],
        &[("CARDMINT_TEST_KILL_AT", "password:after-answer")],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    // The manifest says what the ledger knows: a pending password, not yet confirmed.
    let after_kill = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let pending = after_kill[0]["pending_password"].clone();
    assert!(!pending.is_empty(), "{after_kill:?}");
    assert_eq!(after_kill[0]["password"], rows[0]["password"]);
    let out = cm.expect(5, &["audit", "B0001"]);
    assert!(out.stdout.contains("pending password"), "{out:?}");
    let out = cm.expect(0, &["settle", "B0001"]);
    assert!(
        out.stdout.contains("set the new password: applied"),
        "{out:?}"
    );
    let settled = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(settled[0]["password"], pending);
    assert_eq!(settled[0]["pending_password"], "");
    assert_eq!(
        remote_state(&sb.base()).customers[&rows[0]["customer"]].password,
        pending
    );
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn what_evidence_cannot_settle_is_left_for_a_human_and_blocks_further_changes() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, customer) = (rows[0]["serial"].as_str(), rows[0]["customer"].as_str());
    let killed = cm.run_env(
        &["topup", serial, "2.50"],
        &[("CARDMINT_TEST_KILL_AT", "topup:after-answer")],
    );
    assert_eq!(killed.code, -1, "{killed:?}");
    // Someone loads credit behind cardmint's back: neither "applied" nor "not applied"
    // explains the balance now.
    client_with(&sb.url, credentials(), Duration::from_secs(5))
        .set_transaction(customer, dec("1"))
        .unwrap();
    let out = cm.expect(3, &["settle", serial]);
    assert!(
        out.stdout.contains("top up 2.50: unsettled")
            && out
                .stdout
                .contains("neither 2.50 applied nor not applied explains it")
            && out
                .stdout
                .contains(&format!("cardmint settle {serial} --resolve")),
        "{out:?}"
    );
    let intent = out
        .stdout
        .split_once(" #")
        .and_then(|(_, rest)| rest.split(':').next())
        .expect("the settle listing names the intent")
        .to_string();
    // No further change while it is unsettled, and nothing resent.
    let out = cm.expect(3, &["topup", serial, "1"]);
    assert!(says(&out.stdout, "1 unsettled"), "{out:?}");
    assert_eq!(
        credits(&sb.base())[customer],
        vec![dec("5"), dec("2.50"), dec("1")]
    );
    cm.expect(
        0,
        &["settle", serial, "--resolve", &format!("{intent}=applied")],
    );
    assert!(
        cm.expect(0, &["settle"])
            .stdout
            .contains("nothing to settle")
    );
    // The ledger now counts 7.50 loaded; the audit reports the 1.00 nobody recorded.
    let out = cm.expect(5, &["audit", "B0001"]);
    assert!(
        out.stdout
            .contains("balance 8.50 where the ledger loaded 7.50")
            && says(&out.stdout, "1.00 of credit the ledger does not know"),
        "{out:?}"
    );
}

#[test]
fn each_changing_command_applied_late_every_time_is_still_applied_once() {
    // Every request of one command is answered by a dropped connection and applied 500 ms
    // later; settle reads (getuserinfo, validateuser, calloverview) are answered at once.
    for command in [
        "createcustomer",
        "changeuserinfo",
        "settransaction",
        "resetpassword",
    ] {
        let sb = every_one_late(command, "500", &[]);
        let cm = Cardmint::against(&sb.url).env("CARDMINT_SETTLE_DELAY_MS", "900");
        cm.expect(0, &["issue", "--count", "3", "--value", "5", "-q"]);
        let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
        cm.expect(0, &["activate", "B0001", "--override-consignment", "--all"]);
        cm.expect(
            0,
            &[
                "block",
                "B0001",
                "--serials",
                &rows[0]["serial"],
                "--reason",
                "lost",
            ],
        );
        cm.expect(0, &["topup", &rows[1]["serial"], "2.50"]);
        cm.expect(
            0,
            &["numbers", &rows[1]["serial"], "--add", "+44 20 7946 0958"],
        );
        cm.expect(0, &["reset-password", &rows[2]["serial"]]);
        let stats = remote_stats(&sb.base());
        assert!(
            stats.faults.get("Late").copied().unwrap_or(0) >= 1,
            "{command}: {stats:?}"
        );
        assert_eq!(
            stats.requests.get(command),
            stats.faults.get("Late"),
            "{command}: all late"
        );
        let credits = credits(&sb.base());
        assert_eq!(credits.len(), 3, "{command}: no account twice");
        assert_eq!(credits[&rows[0]["customer"]], vec![dec("5")], "{command}");
        assert_eq!(
            credits[&rows[1]["customer"]],
            vec![dec("5"), dec("2.50")],
            "{command}"
        );
        let state = remote_state(&sb.base());
        let blocked: Vec<bool> = rows
            .iter()
            .map(|r| state.customers[&r["customer"]].blocked)
            .collect();
        assert_eq!(blocked, vec![true, false, false], "{command}");
        cm.expect(0, &["audit", "B0001"]);
    }
}

#[test]
fn a_platform_that_went_away_is_said_in_one_line_at_once_not_after_every_cards_retries() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "20", "--value", "5", "-q"]);
    drop(sb);
    let started = Instant::now();
    // The network: exit 7.
    let out = cm.expect(7, &["activate", "B0001", "--override-consignment", "--all"]);
    assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
    assert!(
        out.stderr.contains("not sent: connection refused")
            && out.stderr.contains("nothing was recorded or changed"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn a_late_create_or_reset_landing_between_two_settle_reads_is_still_ours() {
    // Every create and reset is answered by a dropped connection and lands right after the
    // next request about its account is answered: between the settle judgement's reads.
    let sb = every_one_late(
        "createcustomer,resetpassword",
        "600000",
        &["--late-after-reads", "1"],
    );
    let cm = Cardmint::against(&sb.url).env("CARDMINT_SETTLE_DELAY_MS", "300");
    cm.expect(0, &["issue", "--count", "3", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let out = cm.expect(0, &["reset-password", &rows[0]["serial"]]);
    assert!(out.stdout.contains("new password for"), "{out:?}");
    let stats = remote_stats(&sb.base());
    assert_eq!(stats.requests.get("createcustomer"), Some(&3), "{stats:?}");
    assert_eq!(stats.faults.get("Late"), Some(&4), "{stats:?}");
    let state = remote_state(&sb.base());
    assert_eq!(state.customers.len(), 3, "no account created twice");
    let after = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for row in &after {
        assert_eq!(
            state.customers[&row["customer"]].password, row["password"],
            "{}",
            row["serial"]
        );
    }
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn a_platform_where_every_code_is_someone_elses_fails_the_card_after_three_draws() {
    // Every account exists and no password opens it; every create "fails".
    let creates = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = creates.clone();
    let fixture = |name: &str| std::fs::read_to_string(format!("tests/fixtures/{name}")).unwrap();
    let (info, created) = (
        fixture("getuserinfo_success.xml"),
        fixture("createcustomer_failed.xml"),
    );
    let url = fake_endpoint(move |line| {
        let param = |name: &str| {
            line.split(['?', '&', ' '])
                .find_map(|p| p.strip_prefix(name))
                .unwrap_or("")
                .to_string()
        };
        let customer = param("customer=");
        match param("command=").to_ascii_lowercase().as_str() {
            "createcustomer" => {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                created.replace("TestUser04", &customer)
            }
            "validateuser" => format!(
                "<ValidateUser><Customer>{customer}</Customer><Result>Failed</Result><Reason>User/Password combination unknown</Reason></ValidateUser>"
            ),
            _ => info.replace("TestUser02*prov", &customer),
        }
    });
    let cm = Cardmint::against(&url).env("CARDMINT_SETTLE_DELAY_MS", "100");
    let out = cm.run(&["issue", "--count", "1", "--value", "5"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        says(&out.stderr, "4 codes in a row were taken by accounts")
            || says(&out.stdout, "4 codes in a row were taken by accounts"),
        "{out:?}"
    );
    assert_eq!(creates.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[test]
fn every_settle_read_comes_a_settle_delay_after_the_change_reached_the_platform() {
    // Eight workers behind a throttle of 5 requests a second: changes wait their turn for
    // about a second and a half after their intent is recorded. A quarter of the changes
    // land late; the settle delay must count from when the change could have reached the
    // platform, never from when its intent was written.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "0.25",
        "--fault-kinds",
        "late",
        "--fault-commands",
        "createcustomer,changeuserinfo,settransaction",
        "--late-ms",
        "900",
        "--seed",
        "11",
    ]);
    let cm = operator(&sb).env("CARDMINT_SETTLE_DELAY_MS", "1000");
    let issue = &[
        "issue",
        "--count",
        "16",
        "--value",
        "5",
        "--rate",
        "5",
        "--concurrency",
        "8",
        "-q",
    ];
    run(&cm, 0, &with(issue, &[]));
    let stats = remote_stats(&sb.base());
    let late: Vec<_> = stats
        .log
        .iter()
        .filter(|a| a.fault.as_deref() == Some("Late"))
        .collect();
    assert!(late.len() >= 6, "{late:?}");
    for change in &late {
        let next = stats
            .log
            .iter()
            .find(|a| a.customer == change.customer && a.ms > change.ms)
            .unwrap_or_else(|| panic!("{change:?} was never read back"));
        assert!(
            next.ms >= change.ms + 1000,
            "{} of {} arrived at {} ms, and was read {} ms later",
            change.command,
            change.customer,
            change.ms,
            next.ms - change.ms
        );
    }
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
    run(&cm, 0, &with(&["audit", "B0001"], &[]));
}

#[test]
fn a_clock_stepping_forward_between_a_killed_topup_and_its_rerun_loads_it_once() {
    // Every top-up's answer is lost and it lands 1.5 s later; the run is killed at once. The
    // machine's clock is an hour ahead when the rerun starts (before: the rerun took the hour
    // for the settle delay, read before the change landed and loaded it again).
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "late",
        "--fault-commands",
        "settransaction",
        "--late-ms",
        "1500",
    ]);
    let cm = Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "3000")
        .env("CARDMINT_TIMEOUT_MS", "1000");
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, customer) = (rows[0]["serial"].as_str(), rows[0]["customer"].as_str());
    // Killed in its settle wait, the request's departure recorded.
    let mut child = cm.command(&["topup", serial, "2.50"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(900));
    child.kill().unwrap();
    child.wait().unwrap();
    let out = cm.run_env(
        &["topup", serial, "2.50"],
        &[("CARDMINT_TEST_CLOCK_OFFSET_MS", "3600000")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(credits(&sb.base())[customer], vec![dec("5"), dec("2.50")]);
}

#[test]
fn audit_names_every_cent_a_dishonest_platform_got_wrong_and_nothing_else() {
    // Half the credits answered "success" and applied not at all, or half; the cards sold make
    // calls (5-decimal charges). Before: audit checked only "balance above loaded" and passed.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "0.5",
        "--fault-kinds",
        "unapplied,half",
        "--fault-commands",
        "settransaction",
        "--seed",
        "21",
        "--calls-per-min",
        "120",
        "--price-per-min",
        "0.6",
    ]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "8", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let sold = format!("{}-{}", rows[0]["serial"], rows[3]["serial"]);
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &sold,
            "--override-consignment",
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let log = remote_stats(&sb.base()).log;
    let fault_of = |customer: &str| {
        log.iter()
            .find(|a| a.customer == customer && a.command == "settransaction")
            .and_then(|a| a.fault.clone())
    };
    let out = cm.expect(5, &["audit", "B0001"]);
    let mut named = 0;
    for row in &rows {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&row["serial"]))
            .unwrap_or("");
        match fault_of(&row["customer"]).as_deref() {
            Some("Unapplied") => {
                named += 1;
                assert!(
                    says(line, "5.00 missing") && line.contains("applied nothing"),
                    "{}: {line}\n{out:?}",
                    row["serial"]
                );
            }
            Some("Half") => {
                named += 1;
                assert!(
                    says(line, "2.50 missing") && line.contains("half-applied"),
                    "{}: {line}\n{out:?}",
                    row["serial"]
                );
            }
            _ => assert!(line.is_empty(), "{}: {line}\n{out:?}", row["serial"]),
        }
        if !line.is_empty() {
            assert!(
                line.contains(&format!("cardmint card {}", row["serial"])),
                "{line}"
            );
        }
    }
    assert!(named >= 2, "the faults came: {out:?}");
    let calls: usize = remote_state(&sb.base())
        .customers
        .values()
        .map(|c| c.calls.len())
        .sum();
    assert!(calls > 0, "the sold cards made calls");
}

#[test]
fn audit_names_a_late_change_that_landed_after_its_settle_read() {
    // Every credit is answered by a dropped connection and applied 1 s later; the settle read
    // comes after 0.7 s, says "not applied", and the credit is sent again: both land.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "late",
        "--fault-commands",
        "settransaction",
        "--late-ms",
        "1000",
    ]);
    let cm = Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "700")
        .env("CARDMINT_TIMEOUT_MS", "400");
    let out = cm.run(&["issue", "--count", "1", "--value", "5", "-q"]);
    assert!(matches!(out.code, 0 | 3), "{out:?}");
    std::thread::sleep(Duration::from_millis(3000));
    let out = cm.expect(5, &["audit", "B0001"]);
    assert!(
        out.stdout.contains("too much") && out.stdout.contains("load the face value 5.00"),
        "{out:?}"
    );
}

#[test]
fn a_platform_clock_ahead_of_ours_never_loads_a_lost_topup_twice() {
    // Cards in use (a call every few seconds, 5-decimal charges), 30 % of the top-ups' answers
    // lost, and the platform's clock 36 s, then 2 h, ahead of ours. Before: its calls looked
    // as if they had not happened yet, the balance was unexplained, and a lost top-up could be
    // judged "not applied" and sent again.
    for offset in ["36000", "7200000"] {
        let sb = SandboxProcess::spawn(&[
            "--addr",
            "127.0.0.1:0",
            "--clock-offset-ms",
            offset,
            "--calls-per-min",
            "30",
            "--price-per-min",
            "0.6",
            "--faults",
            "0.3",
            "--fault-kinds",
            "lost",
            "--fault-commands",
            "settransaction",
            "--seed",
            "7",
        ]);
        let cm = Cardmint::against(&sb.url);
        cm.expect(
            0,
            &[
                "issue", "--count", "6", "--value", "5", "-q", "--rate", "100",
            ],
        );
        let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
        let all = format!("{}-{}", rows[0]["serial"], rows[5]["serial"]);
        cm.expect(
            0,
            &[
                "activate",
                "B0001",
                "--serials",
                &all,
                "--override-consignment",
            ],
        );
        std::thread::sleep(Duration::from_millis(1500));
        for row in &rows {
            let out = cm.run(&["topup", &row["serial"], "2.00"]);
            assert!(matches!(out.code, 0 | 3), "{offset}: {out:?}");
        }
        let state = remote_state(&sb.base());
        for row in &rows {
            let loaded: Vec<_> = state.customers[&row["customer"]]
                .transactions
                .iter()
                .filter(|t| t.amount == dec("2"))
                .collect();
            assert!(
                loaded.len() <= 1,
                "{offset}: {} topped up {} times",
                row["serial"],
                loaded.len()
            );
        }
        let lost = remote_stats(&sb.base()).faults.values().sum::<u64>();
        assert!(lost >= 1, "{offset}: the faults came");
    }
}

#[test]
fn resolve_reads_first_and_refuses_what_the_platform_contradicts() {
    // A top-up applied, its answer never recorded (killed). Before: `--resolve ID=not-applied`
    // was taken with no read, and the next top-up or resume loaded it again.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, customer) = (rows[0]["serial"].as_str(), rows[0]["customer"].as_str());
    let open_intent = |amount: &str| -> String {
        let killed = cm.run_env(
            &["topup", serial, amount],
            &[("CARDMINT_TEST_KILL_AT", "topup:after-answer")],
        );
        assert_eq!(killed.code, -1, "{killed:?}");
        let audit = cm.run(&["audit", "B0001"]);
        audit
            .stdout
            .split("waiting for evidence")
            .nth(1)
            .and_then(|rest| rest.split_once(" #"))
            .and_then(|(_, rest)| rest.split(')').next())
            .unwrap_or_else(|| panic!("the audit names the open change: {audit:?}"))
            .to_string()
    };
    let id = open_intent("2.50");
    let out = cm.run(&["settle", serial, "--resolve", &format!("{id}=not-applied")]);
    assert_eq!(out.code, 9, "refused by the evidence: {out:?}");
    assert!(
        out.stderr.contains("the platform contradicts not-applied"),
        "{out:?}"
    );
    assert!(
        cm.expect(0, &["settle"])
            .stdout
            .contains("nothing to settle")
    );
    assert_eq!(credits(&sb.base())[customer], vec![dec("5"), dec("2.50")]);
    // Without a read, only with a reason, and journaled.
    let id = open_intent("1.00");
    let out = cm.run(&[
        "settle",
        serial,
        "--resolve",
        &format!("{id}=applied"),
        "--without-read",
    ]);
    assert_eq!(out.code, 2, "--without-read needs --why: {out:?}");
    cm.expect(
        0,
        &[
            "settle",
            serial,
            "--resolve",
            &format!("{id}=applied"),
            "--without-read",
            "--why",
            "seen on the platform's panel",
        ],
    );
    cm.expect(0, &["audit", "B0001"]);
    assert_eq!(
        credits(&sb.base())[customer],
        vec![dec("5"), dec("2.50"), dec("1.00")]
    );
}

#[test]
fn a_clock_stepping_back_between_a_killed_topup_and_its_settle_still_sees_the_calls() {
    // Found by an adversary: the top-up's answer lost (it landed), the card then used up by a
    // call, and our clock five minutes behind when `settle` judged it: the call, placed on the
    // stepped clock, looked older than the read before the top-up, the evidence disagreed, and
    // `--resolve ID=not-applied` was accepted although the platform shows it applied.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "late",
        "--fault-commands",
        "settransaction",
        "--late-ms",
        "300",
    ]);
    let cm = Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "3000")
        .env("CARDMINT_TIMEOUT_MS", "1000");
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, customer) = (rows[0]["serial"].as_str(), rows[0]["customer"].as_str());
    let mut child = cm.command(&["topup", serial, "2.50"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(900));
    child.kill().unwrap();
    child.wait().unwrap();
    // A call that ends well after the top-up landed uses the card up.
    std::thread::sleep(Duration::from_secs(6));
    let start = (chrono::Utc::now() - chrono::Duration::seconds(4))
        .format("%Y-%m-%d%%20%H:%M:%S")
        .to_string();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={customer}&count=1&charge=7.50&duration_secs=1&start={start}",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let stepped = [("CARDMINT_TEST_CLOCK_OFFSET_MS", "-300000")];
    let out = cm.run_env(&["settle", serial], &stepped);
    assert_eq!(out.code, 0, "judged applied: {out:?}");
    assert_eq!(credits(&sb.base())[customer], vec![dec("5"), dec("2.50")]);
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn a_replacement_answered_created_but_missing_is_created_again_and_loaded_once() {
    // Before: the platform answered "created" for the new card's account and made none; the
    // old card's credit was deducted, the load refused ("unknown customer"), and every
    // `replace` after said "run replace again", forever.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    let state = state.to_str().unwrap();
    let honest = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--state", state]);
    let cm = Cardmint::against(&honest.url);
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let serial = rows[0]["serial"].clone();
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &serial,
            "--override-consignment",
        ],
    );
    let addr = honest
        .base()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    honest.terminate();
    let platform = |faults: &[&str]| {
        let mut args = vec!["--addr", addr.as_str(), "--state", state];
        args.extend_from_slice(faults);
        SandboxProcess::spawn(&args)
    };
    let creates_nothing = [
        "--faults",
        "1",
        "--fault-kinds",
        "unapplied",
        "--fault-commands",
        "createcustomer",
    ];
    let sb = platform(&creates_nothing);
    let out = cm.expect(3, &["replace", &serial]);
    assert!(
        out.stdout.contains("creating it again")
            && out.stdout.contains("then does not know it")
            && says(&out.stdout, "5.00 EUR stay claimed"),
        "{out:?}"
    );
    sb.terminate();
    // The platform mended: the same command creates the account and loads it, once.
    let sb = platform(&[]);
    let out = cm.expect(0, &["replace", &serial]);
    assert!(says(&out.stdout, "5.00 moved to"), "{out:?}");
    let new = csv_rows(&cm.path("out/B0002/manifest.csv"))[0]["customer"].clone();
    let s = remote_state(&sb.base());
    assert_eq!(s.customers[&new].balance, dec("5"));
    assert_eq!(s.customers[&rows[0]["customer"]].balance, dec("0"));
    cm.expect(0, &["audit", "B0001"]);
    cm.expect(0, &["audit", "B0002"]);
}
