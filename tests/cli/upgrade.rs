//! Upgrades: a ledger of every earlier schema, made by the cardmint of its day (kept in
//! `tests/ledgers/`), is brought to this schema, copied first, and reads as it did; a ledger
//! newer than this cardmint is refused with the version to install.

use crate::support::*;

/// The fixtures: `tests/ledgers/schema-N/` as written by the last cardmint with schema N.
fn fixtures() -> Vec<(i64, std::path::PathBuf)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ledgers");
    let mut all: Vec<(i64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name.strip_prefix("schema-")?.parse().ok()?, e.path()))
        })
        .collect();
    all.sort();
    all
}

/// A fresh folder holding a copy of a fixture, its ledger owner-only as cardmint keeps it.
fn copied(dir: &std::path::Path) -> Cardmint {
    let cm = Cardmint::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::copy(entry.path(), cm.path(&entry.file_name().to_string_lossy())).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        cm.path("cardmint.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    cm
}

fn schema_of(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_ledger_of_every_earlier_schema_is_migrated_copied_first_and_reads_as_before() {
    let all = fixtures();
    let newest = all.iter().map(|(n, _)| *n).max().unwrap();
    // Every schema this cardmint knows before its own has a fixture.
    let (_, known) = {
        let cm = Cardmint::new();
        cm.expect(
            0,
            &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
        );
        let doc = cm.json(&["--sandbox", "doctor"]);
        let ledger = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "ledger")
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string();
        let of = ledger.split("schema ").nth(1).unwrap();
        let (found, known) = of.split_once(" of ").unwrap();
        (
            found.parse::<i64>().unwrap(),
            known.split(',').next().unwrap().parse::<i64>().unwrap(),
        )
    };
    assert_eq!(
        all.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..known).collect::<Vec<_>>(),
        "a fixture of every earlier schema"
    );
    assert!(newest < known);
    for (schema, dir) in &all {
        let cm = copied(dir);
        let ledger = cm.path("cardmint.db");
        assert_eq!(schema_of(&ledger), *schema);
        let before = std::fs::read(&ledger).unwrap();
        let out = cm.expect(0, &["batches"]);
        assert!(out.stdout.contains("B0001"), "schema {schema}: {out:?}");
        assert!(
            out.stderr.contains(&format!(
                "schema {schema} brought to {known}; the ledger as it was is kept, checked, as \
                 cardmint.db.schema-{schema}.bak"
            )),
            "schema {schema}: {out:?}"
        );
        // The copy from before is the ledger as it was, owner-only.
        let copy = cm.path(&format!("cardmint.db.schema-{schema}.bak"));
        assert_eq!(mode_of(&copy), 0o600);
        assert_eq!(schema_of(&copy), *schema);
        assert_eq!(schema_of(&ledger), known);
        assert!(before.len() > 4096);
        // Said once: the next command has nothing to migrate.
        let again = cm.expect(0, &["batches"]);
        assert!(!again.stderr.contains("brought to"), "{again:?}");
        // Its cards read as they did, and the platform agrees with them.
        let show = cm.json(&["show", "B0001"]);
        assert_eq!(show["cards"]["total"], 4, "schema {schema}: {show}");
        cm.expect(0, &["report"]);
        let audit = cm.run(&["--sandbox", "audit", "B0001"]);
        assert_eq!(audit.code, 0, "schema {schema}: {audit:?}");
        // And it works on: a new batch beside the old one.
        cm.expect(
            0,
            &["--sandbox", "issue", "--count", "2", "--value", "5", "-q"],
        );
    }
}

#[test]
fn commands_opening_an_old_ledger_at_once_migrate_it_once() {
    let (schema, dir) = fixtures().into_iter().next().unwrap();
    for round in 0..3 {
        let cm = copied(&dir);
        let runs: Vec<_> = (0..6)
            .map(|_| {
                cm.command(&["batches"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for run in runs {
            let out = run.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "schema {schema}, round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let show = cm.json(&["show", "B0001"]);
        assert_eq!(show["cards"]["total"], 4, "{show}");
    }
}

#[test]
fn a_ledger_a_page_runs_on_is_not_migrated_under_it() {
    // Before (adversary helper-15): a newer cardmint run by hand brought the ledger to its
    // schema under a running older page, whose holders then could not sign in.
    let (schema, dir) = fixtures().into_iter().last().unwrap();
    let cm = copied(&dir);
    // What a page holds while it runs: a shared lock on the ledger's users file.
    let users = std::fs::File::create(cm.path("cardmint.db.users")).unwrap();
    users.lock_shared().unwrap();
    let before = std::fs::read(cm.path("cardmint.db")).unwrap();
    let out = cm.run(&["batches"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("is in use by the page")
            && out
                .stderr
                .contains(&format!("from schema {schema} to {}", schema + 1))
            && out.stderr.contains("stop it first (nothing was changed)"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(cm.path("cardmint.db")).unwrap(), before);
    assert_eq!(schema_of(&cm.path("cardmint.db")), schema);
    // The page stopped: the next command brings it up to date.
    drop(users);
    let out = cm.expect(0, &["batches"]);
    assert!(out.stderr.contains("brought to"), "{out:?}");
    // `doctor` says when a page runs on it (before: "not in use", while restore refused).
    let users = std::fs::File::open(cm.path("cardmint.db.users")).unwrap();
    users.lock_shared().unwrap();
    let doc = cm.run(&["--sandbox", "doctor"]);
    assert!(
        doc.stdout
            .contains("in use by the page (a `cardmint portal`)"),
        "{doc:?}"
    );
}

#[test]
fn a_ledger_newer_than_this_cardmint_is_refused_with_the_version_to_install() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let ledger = cm.path("cardmint.db");
    {
        let conn = rusqlite::Connection::open(&ledger).unwrap();
        conn.execute("UPDATE meta SET value = '9.4.0' WHERE key = 'requires'", [])
            .unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        // A ledger as a restore or a copy leaves it, one file: not even its header changes.
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = std::fs::read(&ledger).unwrap();
    for args in [
        &["batches"][..],
        &["--sandbox", "issue", "--count", "1", "--value", "5"],
    ] {
        let out = cm.expect(1, args);
        assert!(
            out.stderr
                .contains("schema version 99 is newer than this cardmint")
                && out
                    .stderr
                    .contains("install cardmint 9.4.0 or newer (nothing was changed)"),
            "{out:?}"
        );
    }
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        before,
        "nothing was changed"
    );
    // Written by a later build of this very version (before a release was numbered): the
    // version alone would not help (adversary helper-15: "install cardmint 0.1.0" to 0.1.0).
    {
        let conn = rusqlite::Connection::open(&ledger).unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'requires'",
            [env!("CARGO_PKG_VERSION")],
        )
        .unwrap();
    }
    let out = cm.expect(1, &["batches"]);
    assert!(
        out.stderr
            .contains("install a later build of cardmint, one that knows schema 99"),
        "{out:?}"
    );
    // A copy from a newer cardmint is not restored either.
    std::fs::copy(&ledger, cm.path("newer.db")).unwrap();
    let out = cm.expect(1, &["--ledger", "other.db", "restore", "newer.db"]);
    assert!(out.stderr.contains("one that knows schema 99"), "{out:?}");
    assert!(!cm.path("other.db").exists());
}
