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

/// The files a restore may leave beside the ledger: none but the ledger's own and what it keeps.
fn strays(cm: &Cardmint) -> Vec<String> {
    std::fs::read_dir(cm.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cardmint.db") || n.starts_with(".b.db"))
        .collect()
}

#[test]
fn a_restore_killed_or_short_of_disk_leaves_the_ledger_it_was_replacing() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "60", "--value", "5", "-q"],
    );
    cm.expect(0, &["backup", "--out", "copy.db"]);
    // A batch made after the copy: in the ledger only.
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    let batches = cm.expect(0, &["batches"]).stdout;
    assert!(batches.contains("B0002"), "{batches}");
    cm.expect(0, &["backup", "--out", "with-b2.db"]);
    // A file-size limit below the copy's size: the write that passes it fails (SIGXFSZ does
    // not kill cardmint: before, it died with no word and left its temporary copy), and the
    // command says so, as for a full disk; nothing is replaced and nothing left beside.
    let blocks = std::fs::metadata(cm.path("copy.db")).unwrap().len() / 1024 / 2;
    for (args, what) in [
        (
            &["restore", "copy.db"][..],
            "ledger cardmint.db: writing the restored ledger beside it",
        ),
        (
            &["backup", "--out", "b.db"][..],
            "ledger b.db: writing the copy",
        ),
    ] {
        let full = cm.run_after(&format!("ulimit -f {blocks}"), args);
        assert_eq!(full.code, 6, "{full:?}");
        assert!(
            full.stderr.contains(&format!(
                "{what}: disk I/O error (is the disk full, or a file-size limit reached?); \
                 nothing was replaced"
            )),
            "{full:?}"
        );
        assert_eq!(cm.expect(0, &["batches"]).stdout, batches, "{full:?}");
        assert_eq!(strays(&cm), Vec::<String>::new(), "{full:?}");
    }
    assert!(!cm.path("b.db").exists());
    // What a run killed outright (kill -9, a power cut) leaves, a full copy with every code in
    // it, goes with the next backup to that file, or the next restore.
    let stale = [
        ".b.db.0123456789abcdef.tmp",
        ".cardmint.db.0123456789abcdef.tmp",
    ];
    for file in stale {
        std::fs::copy(cm.path("copy.db"), cm.path(file)).unwrap();
    }
    cm.expect(0, &["backup", "--out", "b.db"]);
    assert!(!cm.path(stale[0]).exists());
    // With room, the restore says what the copy does not have, and leaves nothing beside.
    let out = cm.expect(0, &["restore", "copy.db"]);
    assert!(
        says(
            &out.stdout,
            "the ledger it replaced has 1 batch the copy does not (B0002)"
        ),
        "{out:?}"
    );
    assert_eq!(strays(&cm), Vec::<String>::new());
    let kept: Vec<String> = std::fs::read_dir(cm.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("before-restore"))
        .collect();
    assert_eq!(kept.len(), 1, "one file, its log folded in: {kept:?}");
    let old = cm.expect(0, &["--ledger", &kept[0], "batches"]).stdout;
    assert!(old.contains("B0002"), "{old}");
    // The serials and batch ids the replaced ledger gave out are not given again: cards of
    // B0002 are printed and sold.
    let last_given = csv_rows(&cm.path("out/B0002/manifest.csv"))[1]["serial"].clone();
    let doc = cm.json(&["--sandbox", "issue", "--count", "1", "--value", "7", "-q"]);
    assert_eq!(doc["batch"], "B0003", "{doc}");
    let first = csv_rows(&cm.path("out/B0003/manifest.csv"))[0]["serial"].clone();
    assert!(first > last_given, "{first} after {last_given}");
    // A batch the other copy does not have is named.
    let out = cm.expect(0, &["restore", "with-b2.db"]);
    assert!(
        says(
            &out.stdout,
            "the ledger it replaced has 1 batch the copy does not (B0003)"
        ),
        "{out:?}"
    );
    // Two restores in a row: the ledger replaced held B0001 and B0003 (two batches, B0003 the
    // highest); the next batch is B0004 (before: B0003 again, another ledger's folder).
    let doc = cm.json(&["--sandbox", "issue", "--count", "1", "--value", "7", "-q"]);
    assert_eq!(doc["batch"], "B0004", "{doc}");
}

#[test]
fn a_restore_keeps_the_ledgers_owner_and_refuses_links_and_folders() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
    );
    cm.expect(0, &["backup", "--out", "copy.db"]);
    // Run as root (a restore on a server), the ledger stays the page's user's.
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if root {
        std::os::unix::fs::chown(cm.path("cardmint.db"), Some(4242), Some(4343)).unwrap();
        // Refused (a reader has it open): the lock files it made are the owner's all the same.
        for file in ["cardmint.db.lock", "cardmint.db.users"] {
            let _ = std::fs::remove_file(cm.path(file));
        }
        let mut reader = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<cardmint.db; exec sleep 30")
            .current_dir(cm.path(""))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        cm.expect(1, &["restore", "copy.db"]);
        reader.kill().unwrap();
        reader.wait().unwrap();
        for file in ["cardmint.db.lock", "cardmint.db.users"] {
            let meta = std::fs::metadata(cm.path(file)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "refused: {file}");
        }
        cm.expect(0, &["restore", "copy.db"]);
        // The ledger and its lock files: the page's user can open and lock it after.
        for file in ["cardmint.db", "cardmint.db.lock", "cardmint.db.users"] {
            let meta = std::fs::metadata(cm.path(file)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "{file}");
        }
        std::os::unix::fs::chown(cm.path("cardmint.db"), Some(0), Some(0)).unwrap();
    }
    // A link is replaced by a rename, not what it leads to: refused, named.
    std::os::unix::fs::symlink("cardmint.db", cm.path("link.db")).unwrap();
    // Nor is a copy written over the ledger's own files through a link to it.
    let said = cm.expect(
        1,
        &["--ledger", "link.db", "backup", "--out", "cardmint.db-wal"],
    );
    assert!(said.stderr.contains("is the ledger's own"), "{said:?}");
    let out = cm.expect(1, &["--ledger", "link.db", "restore", "copy.db"]);
    assert!(
        out.stderr
            .contains("--ledger link.db is a symbolic link: give the file it leads to"),
        "{out:?}"
    );
    // A ledger with another name would go on under that name: refused.
    std::fs::hard_link(cm.path("cardmint.db"), cm.path("hard.db")).unwrap();
    let out = cm.expect(1, &["restore", "copy.db"]);
    assert!(
        out.stderr.contains("has other names (hard links)"),
        "{out:?}"
    );
    std::fs::remove_file(cm.path("hard.db")).unwrap();
    std::fs::create_dir(cm.path("folder.db")).unwrap();
    let out = cm.expect(1, &["--ledger", "folder.db", "restore", "copy.db"]);
    assert!(out.stderr.contains("folder.db is a folder"), "{out:?}");
    // A copy never lands on a file the ledger is using, or on a device.
    std::fs::write(cm.path("cardmint.db-wal"), b"").unwrap();
    for out in [
        "cardmint.db-wal",
        "cardmint.db.lock",
        "./cardmint.db.portal",
    ] {
        let said = cm.expect(1, &["backup", "--out", out]);
        assert!(
            said.stderr.contains("is the ledger's own"),
            "{out}: {said:?}"
        );
    }
    let said = cm.expect(1, &["backup", "--out", "/dev/null"]);
    assert!(said.stderr.contains("a device or a pipe"), "{said:?}");
    // Not a ledger: named as what it is.
    std::fs::write(cm.path("empty.db"), b"").unwrap();
    std::fs::write(cm.path("junk.db"), b"just bytes, no database").unwrap();
    for (file, why) in [
        ("empty.db", "an empty database"),
        ("junk.db", "not an SQLite database"),
    ] {
        let out = cm.expect(1, &["restore", file]);
        assert!(
            out.stderr
                .contains(&format!("{file} is not a cardmint ledger ({why})")),
            "{out:?}"
        );
    }
    // A copy missing a table is named so (before: "ledger: no such table: intents"), or a
    // column (before: restored, "checked", and then `card` failed on it).
    for (cut, why) in [
        ("DROP TABLE intents", "its table intents is missing"),
        (
            "ALTER TABLE card_events DROP COLUMN detail",
            "the column detail of its table card_events is missing",
        ),
    ] {
        cm.expect(0, &["backup", "--out", "part.db"]);
        rusqlite::Connection::open(cm.path("part.db"))
            .unwrap()
            .execute_batch(cut)
            .unwrap();
        let out = cm.expect(1, &["restore", "part.db"]);
        assert!(
            out.stderr.contains("part.db is damaged") && out.stderr.contains(why),
            "{out:?}"
        );
    }
    // A backup replaces only an older copy (adversary helper-17: the config, a manifest, the
    // copies cardmint keeps, a ledger copied live, all replaced without a word).
    std::fs::write(cm.path("cardmint.toml.bak"), "secret = 1\n").unwrap();
    std::fs::copy(
        cm.path("copy.db"),
        cm.path("cardmint.db.before-restore-20261204T000000Z"),
    )
    .unwrap();
    std::fs::copy(cm.path("copy.db"), cm.path("cardmint.db.schema-7.bak")).unwrap();
    std::fs::copy(cm.path("cardmint.db"), cm.path("live.db")).unwrap();
    for (file, why) in [
        (
            "cardmint.toml.bak",
            "is not a copy of a ledger (not an SQLite database)",
        ),
        (
            "cardmint.db.before-restore-20261204T000000Z",
            "is a copy cardmint keeps of the ledger",
        ),
        (
            "cardmint.db.schema-7.bak",
            "is a copy cardmint keeps of the ledger",
        ),
        ("live.db", "write-ahead-log mode"),
    ] {
        let before = std::fs::read(cm.path(file)).unwrap();
        let said = cm.expect(1, &["backup", "--out", file]);
        assert!(
            said.stderr.contains(why)
                && said.stderr.contains("a backup replaces only an older copy"),
            "{file}: {said:?}"
        );
        assert_eq!(std::fs::read(cm.path(file)).unwrap(), before, "{file}");
    }
    // An older copy is replaced.
    cm.expect(0, &["backup", "--out", "copy.db"]);
    // Another ledger, in use (a page's, say: its lock beside it), is never replaced by a copy
    // (adversary helper-15: `backup --out` over a live ledger swapped it without a word).
    let other = Cardmint::new();
    other.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let live = other.path("cardmint.db");
    let before = std::fs::read(&live).unwrap();
    let said = cm.expect(1, &["backup", "--out", live.to_str().unwrap()]);
    assert!(
        said.stderr.contains("is a ledger in use")
            && said.stderr.contains("a backup replaces only an older copy"),
        "{said:?}"
    );
    assert_eq!(std::fs::read(&live).unwrap(), before);
}

/// The state of the ledger's movement and whether any change is open, read beside the writer.
fn movement_state(cm: &Cardmint) -> Option<(String, i64)> {
    let conn = rusqlite::Connection::open_with_flags(
        cm.path("cardmint.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?;
    // A replacement's deduction comes once its new card is recorded: wait for that.
    let state: String = conn
        .query_row(
            "SELECT state FROM movements WHERE target IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .ok()?;
    let open: i64 = conn
        .query_row(
            "SELECT count(*) FROM intents WHERE status IN ('open', 'unsettled')",
            [],
            |r| r.get(0),
        )
        .ok()?;
    Some((state, open))
}

#[test]
fn a_copy_taken_while_credit_moves_never_moves_it_twice_after_a_restore() {
    // Before: a copy holding a replacement between its steps (deducted, the load not yet
    // claimed) was restored and settled, and the new card was loaded a second time. Then
    // (adversary helper-16): a copy at "measured" whose deduction was lowered after it (a
    // call billed at the block) reopened the copy's amount, and 0.50 was created or lost.
    for (at, call, moved) in [
        ("measured", None, "5.00"),
        ("deducted", None, "5.00"),
        ("measured", Some("0.50"), "4.50"),
    ] {
        let mut args = vec!["--addr", "127.0.0.1:0", "--latency-ms", "700"];
        if let Some(call) = call {
            args.extend(["--call-at-block", call, "--call-at-block-reads", "2"]);
        }
        let sb = SandboxProcess::spawn(&args);
        let cm = Cardmint::against(&sb.url);
        cm.expect(
            0,
            &["issue", "--count", "1", "--value", "5", "--active", "-q"],
        );
        let serial = csv_rows(&cm.path("out/B0001/manifest.csv"))[0]["serial"].clone();
        let mut replace = cm
            .command(&["replace", &serial, "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if movement_state(&cm).is_some_and(|(s, open)| s == at && open == 0) {
                break;
            }
            assert!(Instant::now() < deadline, "never {at} with nothing open");
            std::thread::sleep(Duration::from_millis(10));
        }
        cm.expect(0, &["backup", "--out", "copy.db"]);
        assert!(replace.wait().unwrap().success());
        let loaded = |state: &cardmint::sandbox::State| -> Vec<String> {
            state
                .customers
                .values()
                .filter(|c| !c.blocked)
                .flat_map(|c| c.transactions.iter().map(|t| t.amount.to_string()))
                .collect()
        };
        assert_eq!(loaded(&remote_state(&sb.base())), [moved], "{at}");
        // The copy, older than the platform, comes back; everything open is settled but the
        // load onto the new card, which a human decides (the card may have taken changes
        // since the copy that a change of the same amount would look like).
        let out = cm.expect(0, &["restore", "copy.db"]);
        assert!(says(&out.stdout, "to settle"), "{at}: {out:?}");
        // What the copy holds goes on (the new card provisioned, the deduction found in the
        // old card's history) up to the load.
        cm.run(&["settle"]);
        cm.run(&["replace", &serial]);
        let out = cm.expect(3, &["settle"]);
        assert!(out.stdout.contains("a human decides"), "{at}: {out:?}");
        resolve_as_applied(&cm, &out.stdout);
        let out = cm.run(&["replace", &serial]);
        // A new card the copy held unfinished is finished as every unfinished batch is.
        cm.run(&["resume", "B0002"]);
        assert_eq!(
            loaded(&remote_state(&sb.base())),
            [moved],
            "{at}: loaded once: {out:?}"
        );
        let audit = cm.run(&["audit", "B0002"]);
        assert!(
            says(&audit.stdout, "1 card audited, 0 mismatches"),
            "{at}: {audit:?}"
        );
    }
}

/// Runs the `settle --resolve` that a settle's output gives a human, deciding "applied".
fn resolve_as_applied(cm: &Cardmint, said: &str) {
    let out = cm.expect(0, &resolve_command(said));
    assert!(says(&out.stdout, "applied"), "{out:?}");
}

/// The `settle --resolve ID=applied` a settle's output gives a human (without `cardmint`).
fn resolve_command(said: &str) -> Vec<&str> {
    let line = said
        .lines()
        .find(|l| l.contains("--resolve"))
        .unwrap_or_else(|| panic!("no command for a human: {said}"));
    let command = line
        .split("record what you find: cardmint ")
        .nth(1)
        .and_then(|rest| rest.split(" (or").next())
        .unwrap_or_else(|| panic!("{line}"));
    command.split(' ').collect()
}

/// The state of the ledger's first movement, read beside the writer.
fn first_movement(cm: &Cardmint) -> Option<String> {
    rusqlite::Connection::open_with_flags(
        cm.path("cardmint.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .ok()?
    .query_row("SELECT state FROM movements ORDER BY id LIMIT 1", [], |r| {
        r.get(0)
    })
    .ok()
}

/// Waits until the ledger's first movement is only claimed (before its measure), then backs up.
fn backup_while_claimed(cm: &Cardmint) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while first_movement(cm).as_deref() != Some("claimed") {
        assert!(Instant::now() < deadline, "never claimed");
        std::thread::sleep(Duration::from_millis(5));
    }
    cm.expect(0, &["backup", "--out", "copy.db"]);
}

#[test]
fn a_redeem_only_claimed_in_the_copy_is_finished_from_the_history_after_a_restore() {
    // Before: a copy taken between a redeem's claim and its measure, restored after the redeem
    // went to its end, was settled as "done, 0.00 moved": nothing loaded twice, but the ledger
    // missed the deduction and the load, and `audit` flagged both cards. Then (adversary
    // helper-14): a correction of the same amount on the account after the copy made its
    // history read "not loaded", and the credit was loaded again.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "700"]);
    let cm = Cardmint::against(&sb.url);
    let rows = crate::portal::stock(&cm, 3, 3);
    let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    let page = crate::portal::PortalProcess::start(&cm, &[]);
    let mut v = crate::portal::Visitor::new(&page.base);
    assert_eq!(v.sign_in(&account, "").status, 303);
    let redeem = std::thread::spawn({
        let card = card.clone();
        move || v.submit("/redeem", "/redeem", &[("code", &card)]).body
    });
    backup_while_claimed(&cm);
    let body = redeem.join().unwrap();
    assert!(says(&body, "5.00 EUR were added"), "{body}");
    drop(page);
    let amounts = |c: &str| transactions(&sb.base(), c);
    // After the copy, the reseller takes 5.00 back off the account (a correction).
    cm.expect(0, &["topup", &rows[0]["serial"], "-5.00", "--yes", "-q"]);
    let out = cm.expect(0, &["restore", "copy.db"]);
    assert!(
        says(&out.stdout, "1 movement of credit to settle"),
        "{out:?}"
    );
    // The deduction is found in the card's history (nothing else could leave it); the load
    // reads "not applied" on the account, whose correction the copy does not hold: a human
    // decides, with the command to run.
    let out = cm.expect(3, &["settle"]);
    assert!(out.stdout.contains("a human decides"), "{out:?}");
    assert_eq!(amounts(&card), [dec("5"), dec("-5")], "deducted once");
    assert_eq!(
        amounts(&account),
        [dec("5"), dec("5"), dec("-5")],
        "not loaded again"
    );
    // Meanwhile the holder redeems another card: refused while the first one's credit is on
    // its way (before, its card was blocked and emptied, its credit waiting behind the first).
    let page = crate::portal::PortalProcess::start(&cm, &[]);
    let mut v = crate::portal::Visitor::new(&page.base);
    assert_eq!(v.sign_in(&account, "").status, 303);
    let a = v.submit("/redeem", "/redeem", &[("code", &rows[2]["customer"])]);
    assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
    assert_eq!(amounts(&rows[2]["customer"]), [dec("5")]);
    drop(page);
    // The history suggests "not loaded" (the correction): no read can tell, so the human
    // says what they looked at (adversary helper-16: a decision against the history was
    // taken as it came and loaded the credit twice; helper-18: likewise with no suggestion).
    let resolve = resolve_command(&out.stdout);
    let plain = &resolve[..4];
    let refused = cm.run(plain);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("was opened by a restore")
            && refused.stderr.contains("--without-read --why TEXT"),
        "{refused:?}"
    );
    let mut knowing = plain.to_vec();
    knowing.extend([
        "--without-read",
        "--why",
        "the kept ledger shows a correction of 5.00 after the copy",
    ]);
    cm.expect(0, &knowing);
    let out = cm.expect(0, &["settle"]);
    assert!(says(&out.stdout, "nothing to settle"), "{out:?}");
    assert_eq!(amounts(&account), [dec("5"), dec("5"), dec("-5")]);
    // The ledger knows both steps of the movement; the audit names what only the replaced
    // ledger holds (the correction), and nothing else.
    let audit = cm.run(&["audit", "B0001"]);
    assert!(
        says(&audit.stdout, "3 cards audited, 1 mismatch")
            && audit.stdout.contains(&rows[0]["serial"])
            && audit.stdout.contains("5.00 missing"),
        "{audit:?}"
    );
    let history = cm.json(&["card", &rows[1]["serial"]]);
    assert_eq!(history["reason"], "redeemed", "{history}");
}

#[test]
fn a_replacement_only_claimed_in_the_copy_stops_for_a_human_after_a_restore() {
    // Its new card was recorded after the copy, in the ledger the restore replaced: the credit
    // that left the old card is on a card the restored ledger does not hold. Nothing is moved
    // again (before, the movement was settled "done, 0.00 moved" and forgotten; and a copy
    // measured before the new card was recorded issued a second new card carrying 0.00).
    for at in ["claimed", "measured"] {
        let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "700"]);
        let cm = Cardmint::against(&sb.url);
        cm.expect(
            0,
            &["issue", "--count", "1", "--value", "5", "--active", "-q"],
        );
        let serial = csv_rows(&cm.path("out/B0001/manifest.csv"))[0]["serial"].clone();
        if at == "claimed" {
            let mut replace = cm
                .command(&["replace", &serial, "-q"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            backup_while_claimed(&cm);
            assert!(replace.wait().unwrap().success());
        } else {
            // The new card's folder cannot be used: the replace stops once measured, before
            // the new card is recorded; the copy is taken then, and the replace finished.
            use std::os::unix::fs::PermissionsExt;
            let folder = cm.path("out/B0002");
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
            let out = cm.run(&["replace", &serial]);
            assert_ne!(out.code, 0, "{out:?}");
            assert_eq!(first_movement(&cm).as_deref(), Some("measured"));
            cm.expect(0, &["backup", "--out", "copy.db"]);
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
            cm.expect(0, &["replace", &serial, "-q"]);
        }
        let loads = || -> usize {
            remote_state(&sb.base())
                .customers
                .values()
                .filter(|c| !c.blocked)
                .map(|c| c.transactions.len())
                .sum()
        };
        assert_eq!(loads(), 1, "{at}");
        let out = cm.expect(0, &["restore", "copy.db"]);
        assert!(
            says(&out.stdout, "B0002"),
            "{at}: the batch it lacks: {out:?}"
        );
        let kept = out
            .stdout
            .split("kept as ")
            .nth(1)
            .and_then(|r| r.lines().next())
            .unwrap()
            .to_string();
        for args in [&["settle"][..], &["replace", &serial]] {
            let out = cm.expect(3, args);
            assert!(
                out.stdout.contains(&format!(
                    "for a human: 5.00 left card {serial} after the restored copy was taken"
                )) && out.stdout.contains(&format!(
                    "`cardmint --ledger {} card {serial}`",
                    cm.path(&kept).display()
                )),
                "{at}: {args:?}: {out:?}"
            );
        }
        assert_eq!(loads(), 1, "{at}: nothing loaded again");
        assert!(!cm.path("out/B0003").exists(), "{at}: no second new card");
    }
}

#[test]
fn a_session_from_before_a_restore_reaches_no_card() {
    // Before: a session kept across a restore reached the card that took its id in the
    // restored ledger (another holder's balance, and numbers added to it).
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--active",
            "-q",
        ],
    );
    cm.expect(0, &["backup", "--out", "copy.db"]);
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--active",
            "-q",
        ],
    );
    let holder = csv_rows(&cm.path("out/B0002/manifest.csv"))[0].clone();
    let page = crate::portal::PortalProcess::with_args(&cm, &["--sandbox"], &[]);
    let mut v = crate::portal::Visitor::new(&page.base);
    assert_eq!(
        v.sign_in(&holder["customer"], &holder["password"]).status,
        303
    );
    let cookie = v.cookie().unwrap().to_string();
    drop(page);
    let out = cm.expect(0, &["restore", "copy.db"]);
    assert!(
        says(&out.stdout, "the page's sessions were ended"),
        "{out:?}"
    );
    // A new card takes the id the holder's card had.
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "9",
            "--active",
            "--out",
            "again",
            "-q",
        ],
    );
    let page = crate::portal::PortalProcess::with_args(&cm, &["--sandbox"], &[]);
    let mut v = crate::portal::Visitor::new(&page.base);
    v.set_cookie(&cookie);
    let account = v.get("/account");
    assert_eq!(account.status, 303, "signed out: {account:?}");
    assert!(!account.body.contains("9.00"), "{}", account.body);
}

#[test]
fn a_card_blocked_after_the_copy_is_not_redeemed_after_a_restore() {
    // Before: the reseller blocked a stolen card, the ledger came back from an older copy
    // (the card sold and unblocked in it), and a thief redeemed it onto their own account.
    // Likewise an account blocked after the copy took the credit of a card redeemed onto it,
    // where it could not be used (adversary helper-14).
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = crate::portal::stock(&cm, 4, 4);
    let (thief, stolen) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    let (lost, bought) = (rows[2]["customer"].clone(), rows[3]["customer"].clone());
    cm.expect(0, &["backup", "--out", "copy.db"]);
    for (serial, why) in [(&rows[1]["serial"], "stolen"), (&rows[2]["serial"], "lost")] {
        cm.expect(0, &["block", "B0001", "--serials", serial, "--reason", why]);
    }
    cm.expect(0, &["restore", "copy.db"]);
    let page = crate::portal::PortalProcess::start(&cm, &[]);
    let mut v = crate::portal::Visitor::new(&page.base);
    assert_eq!(v.sign_in(&thief, "").status, 303);
    let a = v.submit("/redeem", "/redeem", &[("code", &stolen)]);
    assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
    let mut v = crate::portal::Visitor::new(&page.base);
    assert_eq!(v.sign_in(&lost, "").status, 303);
    let a = v.submit("/redeem", "/redeem", &[("code", &bought)]);
    assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
    let state = remote_state(&sb.base());
    for c in [&stolen, &thief, &lost, &bought] {
        assert_eq!(state.customers[c].balance.to_string(), "5.00", "{c}");
    }
    // No claim was made: once the reseller has looked (audit), the card is theirs to deal with.
    drop(page);
    let audit = cm.run(&["audit", "B0001"]);
    assert_eq!(audit.code, 5, "{audit:?}");
    let conn = rusqlite::Connection::open(cm.path("cardmint.db")).unwrap();
    let movements: i64 = conn
        .query_row("SELECT count(*) FROM movements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(movements, 0);
}
