//! `cardmint issue` and `resume` end to end against a sandbox: faults, a killed batch, a wrong
//! login, and bad customer files that must send nothing.

use std::time::{Duration, Instant};

use crate::support::*;

const INCOMPLETE: i32 = 3;

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
    assert!(
        out.stdout.contains("21 cards, 0 ready, 21 active"),
        "{out:?}"
    );
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
    assert!(out.stdout.contains("150 cards, 150 ready"), "{out:?}");
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
fn a_wrong_reseller_login_stops_the_batch_after_the_first_answer() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url).env("CARDMINT_PASSWORD", "not-the-password");
    let out = cm.expect(
        INCOMPLETE,
        &[
            "issue",
            "--count",
            "40",
            "--value",
            "5",
            "--concurrency",
            "4",
        ],
    );
    assert!(
        out.stdout
            .contains("stopped: createcustomer: refused: wrong reseller login"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("to finish the batch, run: cardmint resume B0001"),
        "{out:?}"
    );
    assert!(out.stdout.contains("40 unfinished"), "{out:?}");
    assert!(!out.stdout.contains("not-the-password") && !out.stderr.contains("not-the-password"));
    // At most one request per worker went out before the stop.
    assert!(remote_stats(&sb.base()).total_requests() <= 4);
    assert!(remote_state(&sb.base()).customers.is_empty());
    // With the right login, resume finishes it.
    let out = cm.run_env(
        &["resume", "B0001"],
        &[("CARDMINT_PASSWORD", RESELLER_PASSWORD)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
}
