//! `cardmint backup` and `restore`: a copy taken while a batch runs, put back after the batch
//! was killed, resumed and audited exactly; a ledger in use is never replaced.

use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn a_backup_taken_during_a_run_is_restored_resumed_and_audited_exactly() {
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
        "11",
    ]);
    let cm = Cardmint::against(&sb.url);
    let mut child = cm
        .command(&[
            "issue",
            "--count",
            "120",
            "--value",
            "3",
            "--rate",
            "60",
            "--concurrency",
            "4",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while remote_stats(&sb.base()).total_requests() < 60 {
        assert!(Instant::now() < deadline, "the batch never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The copy is taken while the batch writes to the ledger.
    let out = cm.expect(0, &["backup", "--out", "copy.db"]);
    assert!(says(&out.stdout, "copy.db written and checked"), "{out:?}");
    assert_eq!(mode_of(&cm.path("copy.db")), 0o600);
    assert!(!cm.path("copy.db-wal").exists(), "one file");
    // The run goes on after the copy, then dies.
    let after = remote_stats(&sb.base()).total_requests() + 60;
    while remote_stats(&sb.base()).total_requests() < after {
        assert!(Instant::now() < deadline, "the batch stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = remote_state(&sb.base()).customers.len();
    assert!(partial > 0 && partial < 120, "{partial} accounts");
    // The disk is lost: the ledger comes back from the copy, older than the platform.
    std::fs::remove_file(cm.path("cardmint.db")).unwrap();
    let _ = std::fs::remove_file(cm.path("cardmint.db-wal"));
    let _ = std::fs::remove_file(cm.path("cardmint.db-shm"));
    let out = cm.expect(0, &["restore", "copy.db"]);
    assert!(
        says(&out.stdout, "copy.db restored to cardmint.db"),
        "{out:?}"
    );
    assert_eq!(mode_of(&cm.path("cardmint.db")), 0o600);
    // The cards done after the copy are found on the platform, never created or loaded twice.
    let out = cm.expect(
        0,
        &["resume", "B0001", "--rate", "200", "--concurrency", "8"],
    );
    assert!(says(&out.stdout, "120 cards, 120 ready"), "{out:?}");
    assert_platform_matches_manifest(
        &cm.path("out/B0001/manifest.csv"),
        &remote_state(&sb.base()),
    );
    let out = cm.expect(0, &["audit", "B0001"]);
    assert!(
        says(&out.stdout, "120 cards audited, 0 mismatches"),
        "{out:?}"
    );
}

#[test]
fn a_ledger_in_use_is_never_replaced_and_a_bad_copy_never_restored() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    cm.expect(0, &["backup", "--out", "copy.db"]);
    // Another process has the ledger open (the page keeps its connection between changes).
    let mut reader = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec 3<cardmint.db; exec sleep 30")
        .current_dir(cm.path(""))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = cm.expect(1, &["restore", "copy.db"]);
    assert!(
        out.stderr.contains("cardmint.db is in use by pid")
            && out.stderr.contains("nothing was changed"),
        "{out:?}"
    );
    reader.kill().unwrap();
    reader.wait().unwrap();
    // The page opens the ledger for each request and holds no file between them: it says it
    // is there for as long as it runs.
    let page = crate::portal::PortalProcess::with_args(&cm, &["--sandbox"], &[]);
    let out = cm.expect(1, &["restore", "copy.db"]);
    assert!(
        out.stderr
            .contains("cardmint.db is in use by the page (a `cardmint portal` on this ledger)"),
        "{out:?}"
    );
    drop(page);
    // A file that is not a whole ledger is refused before anything is touched.
    std::fs::write(cm.path("junk.db"), b"not a database at all, just bytes").unwrap();
    let out = cm.expect(1, &["restore", "junk.db"]);
    assert!(!out.stderr.is_empty(), "{out:?}");
    let mut damaged = std::fs::read(cm.path("copy.db")).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 4096].fill(0x5a);
    std::fs::write(cm.path("damaged.db"), &damaged).unwrap();
    let out = cm.expect(1, &["restore", "damaged.db"]);
    assert!(out.stderr.contains("damaged.db"), "{out:?}");
    assert!(cm.expect(0, &["batches"]).stdout.contains("B0001"));
    // Restored over the ledger, the old one is kept beside it.
    let out = cm.expect(0, &["restore", "copy.db"]);
    assert!(
        out.stdout
            .contains("the ledger it replaced is kept as cardmint.db.before-restore-"),
        "{out:?}"
    );
    // Twice in one second: both ledgers replaced are kept.
    cm.expect(0, &["restore", "copy.db"]);
    let kept = std::fs::read_dir(cm.path(""))
        .unwrap()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("cardmint.db.before-restore-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .count();
    assert_eq!(kept, 2);
    // A copy of the ledger onto itself is refused; a folder that does not exist is said.
    cm.expect(1, &["backup", "--out", "cardmint.db"]);
    let out = cm.expect(6, &["backup", "--out", "nope/copy.db"]);
    assert!(
        out.stderr
            .contains("the folder nope does not exist: create it (`mkdir -p -m 700 nope`"),
        "{out:?}"
    );
}
