//! `cardmint issue` and `resume` end to end against a sandbox: faults, a killed batch, a wrong
//! login, and bad customer files that must send nothing.

use std::time::{Duration, Instant};

use crate::support::*;

/// A sandbox process with faults: lost answers, error pages and answers slower than the
/// client's timeout (set with CARDMINT_TIMEOUT_MS below).
fn faulty_sandbox(seed: &str) -> SandboxProcess {
    SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "0.1",
        "--slow-ms",
        "1200",
        "--seed",
        seed,
    ])
}

#[test]
fn every_card_ready_under_faults_and_the_platform_matches_the_manifest() {
    let sb = faulty_sandbox("7");
    let cm = Cardmint::against(&sb.url).env("CARDMINT_TIMEOUT_MS", "600");
    let out = cm.expect(
        0,
        &[
            "issue",
            "--count",
            "60",
            "--value",
            "5.00",
            "--rate",
            "400",
            "--concurrency",
            "16",
        ],
    );
    assert!(
        out.stdout.contains("batch B0001: 60 cards, 60 ready"),
        "{out:?}"
    );
    assert!(out.stdout.contains("outputs in out/B0001"), "{out:?}");
    let stats = remote_stats(&sb.base());
    assert!(
        stats.faults.values().sum::<u64>() > 5,
        "faults were injected: {:?}",
        stats.faults
    );
    let manifest = cm.path("out/B0001/manifest.csv");
    assert_platform_matches_manifest(&manifest, &remote_state(&sb.base()));
    let rows = csv_rows(&manifest);
    assert!(
        rows.iter()
            .all(|r| r["state"] == "ready" && r["customer"].len() == 12)
    );
    // Serials are sequential in the order of the rows.
    let serials: Vec<&str> = rows.iter().map(|r| r["serial"].as_str()).collect();
    let mut sorted = serials.clone();
    sorted.sort();
    assert_eq!(serials, sorted);
    // Secrets stay owner-only; the inventory has none.
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "out/B0001/manifest.csv",
        "out/B0001/manifest.xlsx",
        "cardmint.db",
    ] {
        let mode = std::fs::metadata(cm.path(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let inventory = std::fs::read_to_string(cm.path("out/B0001/inventory.csv")).unwrap();
    assert!(inventory.starts_with("batch,serial,value,currency,state\n"));
    assert!(!inventory.contains(&rows[0]["password"]) && !inventory.contains(&rows[0]["customer"]));
    // Running resume on a finished batch changes nothing.
    cm.expect(0, &["resume", "B0001", "--rate", "400"]);
    assert_platform_matches_manifest(&manifest, &remote_state(&sb.base()));
}

#[test]
fn a_customer_file_with_numbers_issued_active_under_faults() {
    let sb = faulty_sandbox("11");
    let cm = Cardmint::against(&sb.url).env("CARDMINT_TIMEOUT_MS", "600");
    // Excel-style: BOM, semicolons, national numbers, a quoted label with a newline.
    let mut csv = String::from("\u{feff}Customer;Numbers;Value;Label;Password\n");
    for i in 0..20 {
        csv.push_str(&format!(
            "shop_{i};020 7946 {:04} | +33 6 12 34 {:02} {:02};{},50;\"Shop {i}\nback office\";\n",
            1000 + i,
            i,
            i + 10,
            i + 1
        ));
    }
    csv.push_str("shop_x;(020) 7946-0958;2;;Hn4.rT8w\n");
    std::fs::write(cm.path("customers.csv"), csv).unwrap();
    let out = cm.expect(
        0,
        &[
            "issue",
            "--from",
            "customers.csv",
            "--region",
            "GB",
            "--active",
            "--tariff",
            "-3",
            "--rate",
            "400",
            "--concurrency",
            "8",
        ],
    );
    assert!(says(&out.stdout, "21 cards, 0 ready, 21 active"), "{out:?}");
    let manifest = cm.path("out/B0001/manifest.csv");
    let state = remote_state(&sb.base());
    assert_platform_matches_manifest(&manifest, &state);
    let shop3 = &state.customers["shop_3"];
    assert_eq!(shop3.numbers, vec!["+442079461003", "+33612340313"]);
    assert_eq!(shop3.tariff, Some(-3));
    assert_eq!(shop3.balance.to_string(), "4.50");
    assert_eq!(state.customers["shop_x"].password, "Hn4.rT8w");
    let rows = csv_rows(&manifest);
    assert_eq!(rows[3]["label"], "Shop 3\nback office");
}

#[test]
fn a_killed_batch_is_resumed_to_exactly_the_same_result() {
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--latency-ms",
        "20",
        "--faults",
        "0.05",
        "--fault-kinds",
        "lost,error",
        "--seed",
        "5",
    ]);
    let cm = Cardmint::against(&sb.url);
    let mut child = cm
        .command(&[
            "issue",
            "--count",
            "150",
            "--value",
            "3",
            "--rate",
            "100",
            "--concurrency",
            "4",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while remote_stats(&sb.base()).total_requests() < 120 {
        assert!(Instant::now() < deadline, "the batch never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = remote_state(&sb.base()).customers.len();
    assert!(
        partial > 0 && partial < 150,
        "killed mid-run: {partial} accounts"
    );
    let out = cm.expect(
        0,
        &["resume", "B0001", "--rate", "200", "--concurrency", "8"],
    );
    assert!(says(&out.stdout, "150 cards, 150 ready"), "{out:?}");
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
    // And again: nothing left to do, nothing sent twice.
    let before = remote_stats(&sb.base()).total_requests();
    cm.expect(0, &["resume", "B0001"]);
    assert_eq!(remote_stats(&sb.base()).total_requests(), before);
}

#[test]
fn a_wrong_reseller_login_records_nothing_and_says_so_in_one_line() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url).env("CARDMINT_PASSWORD", "not-the-password");
    // Refused by the platform: exit 8.
    let out = cm.expect(8, &["issue", "--count", "40", "--value", "5"]);
    assert!(
        out.stderr.contains("wrong reseller login") && out.stderr.contains("nothing was recorded"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(!out.stdout.contains("not-the-password") && !out.stderr.contains("not-the-password"));
    // One harmless read went out, and nothing was recorded.
    assert_eq!(remote_stats(&sb.base()).total_requests(), 1);
    assert!(remote_state(&sb.base()).customers.is_empty());
    let out = cm.expect(0, &["batches"]);
    assert!(out.stdout.contains("no batches"), "{out:?}");
    // With the right login the batch is B0001.
    let out = cm.run_env(
        &["issue", "--count", "3", "--value", "5", "-q"],
        &[("CARDMINT_PASSWORD", RESELLER_PASSWORD)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
}

#[test]
fn an_endpoint_that_does_not_resolve_connect_or_speak_tls_records_nothing_within_seconds() {
    // A port nobody listens on, a plain-http server spoken to with TLS, a name that does not
    // resolve: each is "not sent", said in one line, and records nothing.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let tls_to_plain = sb.url.replace("http://", "https://");
    let cases = [
        (
            format!("http://{closed}/API/Request.ashx"),
            "not sent: connection refused",
        ),
        (tls_to_plain, "not sent: tls handshake failed"),
        (
            "https://no-such-host.invalid/API/Request.ashx".to_string(),
            "not sent: the host name does not resolve",
        ),
    ];
    for (url, expected) in cases {
        let cm = Cardmint::against(&url);
        let started = std::time::Instant::now();
        // The reseller's own values (an https endpoint). The network: exit 7.
        let issue: Vec<&str> = ["issue", "--count", "5", "--value", "5"]
            .into_iter()
            .chain(OWN_VALUES.iter().copied())
            .collect();
        let out = cm.expect(7, &issue);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{out:?}"
        );
        assert!(
            out.stderr.contains(expected) && out.stderr.contains("nothing was recorded"),
            "{out:?}"
        );
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(!out.stderr.contains(RESELLER_PASSWORD), "{out:?}");
        assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
    }
}

/// Sends SIGINT to a child, `times` times 50 ms apart.
fn interrupt(child: &std::process::Child, times: usize) {
    for _ in 0..times {
        let ok = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -INT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_stops_sending_records_what_was_in_flight_and_says_how_to_finish() {
    for presses in [1, 2] {
        let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "60"]);
        let cm = Cardmint::against(&sb.url);
        let child = cm
            .command(&["issue", "--count", "80", "--value", "3", "--rate", "40"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while remote_stats(&sb.base()).total_requests() < 30 {
            assert!(Instant::now() < deadline, "the batch never got going");
            std::thread::sleep(Duration::from_millis(10));
        }
        interrupt(&child, presses);
        let stopped_at = Instant::now();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(130),
            "{presses}: {stdout}\n{stderr}"
        );
        assert!(
            stopped_at.elapsed() < Duration::from_secs(10),
            "stops promptly"
        );
        // Nothing more is sent once it has stopped.
        let sent = remote_stats(&sb.base()).total_requests();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(remote_stats(&sb.base()).total_requests(), sent);
        if presses == 1 {
            assert!(
                stdout.contains("stopped: interrupted (Ctrl-C)")
                    && stdout.contains("to finish the batch, run: cardmint resume B0001"),
                "{stdout}"
            );
        } else {
            assert!(
                stderr.contains("interrupted again: stopping at once"),
                "{stderr}"
            );
        }
        // The batch finishes exactly once.
        let out = cm.expect(0, &["resume", "B0001", "--rate", "200"]);
        assert!(says(&out.stdout, "80 cards, 80 ready"), "{out:?}");
        assert_platform_matches_manifest(
            &cm.path("out/B0001/manifest.csv"),
            &remote_state(&sb.base()),
        );
    }
}

#[test]
fn a_disk_that_fills_up_stops_the_batch_naming_it_and_the_resume_command() {
    let cm = Cardmint::new();
    // The ledger may grow to 300 KB (a file-size limit the kernel enforces as a full disk
    // would): room for the batch and part of its journal.
    let inner = cm.command(&[
        "--sandbox",
        "issue",
        "--count",
        "300",
        "--value",
        "5",
        "-q",
        "--rate",
        "1000",
    ]);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -f 600; exec "$0" "$@""#)
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(cm.path(""));
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "I/O: {stderr}");
    assert!(
        stderr.contains("batch B0001 stopped")
            && stderr.contains("run: cardmint --sandbox resume B0001"),
        "{stderr}"
    );
    // With room again, the resume finishes it: every account once.
    cm.expect(0, &["--sandbox", "resume", "B0001", "-q", "--rate", "1000"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| r["state"] == "ready"));
    cm.expect(0, &["--sandbox", "audit", "B0001", "--rate", "1000"]);
}

#[test]
fn sigterm_ends_a_settle_wait_at_once_with_the_intent_left_open() {
    // Every credit's answer lost; the settle delay is 30 s. Before: SIGTERM waited it out.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "lost",
        "--fault-commands",
        "settransaction",
    ]);
    let cm = Cardmint::against(&sb.url).env("CARDMINT_SETTLE_DELAY_MS", "30000");
    let child = cm
        .command(&["issue", "--count", "2", "--value", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while remote_stats(&sb.base())
        .requests
        .get("settransaction")
        .copied()
        .unwrap_or(0)
        < 2
    {
        assert!(Instant::now() < deadline, "the credits were never sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Instant::now();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM");
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "ended {:?} after SIGTERM, inside a 30 s settle wait",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    // The credits stay open for settle (the answer was lost: nothing is assumed).
    let listed = cm.run(&["--json", "show", "B0001"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let settle = cm.expect(0, &["settle", "B0001"]);
    assert!(settle.stdout.contains("applied"), "{settle:?}");
}

#[test]
fn the_login_check_rides_the_throttle_no_second_holds_more_than_the_rate() {
    // Before: the check left outside the throttle, one request above --rate at the start.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    cm.expect(
        0,
        &[
            "issue",
            "--count",
            "12",
            "--value",
            "5",
            "-q",
            "--rate",
            "8",
            "--concurrency",
            "8",
        ],
    );
    let mut arrivals = remote_stats(&sb.base()).arrivals_ms;
    arrivals.sort_unstable();
    let busiest = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|a| **a < arrivals[i] + 1000)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        busiest <= 8,
        "{busiest} requests in one second at --rate 8: {arrivals:?}"
    );
}

#[test]
fn a_dry_run_for_the_real_platform_refuses_what_the_run_would_without_a_request() {
    // An https endpoint is the real platform: the shipped demo values are refused there.
    let cm = Cardmint::against("https://no-such-host.invalid/API/Request.ashx");
    let out = cm.expect(4, &["issue", "--count", "2", "--value", "5", "--dry-run"]);
    assert!(out.stderr.contains("example"), "{out:?}");
    let dry: Vec<&str> = ["issue", "--count", "2", "--value", "5", "--dry-run"]
        .into_iter()
        .chain(OWN_VALUES.iter().copied())
        .collect();
    cm.expect(0, &dry);
    // A setting the run would refuse (an address that is no URL) is refused too.
    let cm = Cardmint::against("not a url");
    let out = cm.expect(1, &dry);
    assert!(out.stderr.contains("not a url"), "{out:?}");
    let cm = Cardmint::against("https://127.0.0.1:99999/API/Request.ashx");
    let out = cm.expect(1, &dry);
    assert!(
        out.stderr.contains("has a port that is not 1 to 65535"),
        "{out:?}"
    );
    assert!(!cm.path("out").join("B0001-dry-run").exists());
}
