//! The exactly-once protocol against a sandbox that behaves like the world: one writer per
//! ledger, changes applied late, cards in use, kills at every step, batches that remember their
//! platform. After each, the audit must find the platform equal to the ledger.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// Waits (polling, bounded) until the ledger's lock file names a holder.
fn wait_for_holder(cm: &Cardmint) -> String {
    let path = cm.path("cardmint.db.lock");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.starts_with("pid ")
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
    let holder = wait_for_holder(&cm);
    assert!(holder.contains(&format!("pid {}", issue.id())), "{holder}");
    for args in [
        vec!["resume", "B0001"],
        vec!["activate", "B0001", "--all"],
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
        vec!["activate", "B0001", "--all"],
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
    let out = cm.expect(1, &["--sandbox", "activate", "B0002", "--all"]);
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
