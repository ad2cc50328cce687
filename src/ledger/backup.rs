//! Copies of the ledger. A backup is taken while other commands and the page run: SQLite's
//! online backup API copies every page in one step under one read transaction, so the copy is
//! the ledger at one moment (in WAL mode, writers go on meanwhile). The copy is owner-only, a
//! single file (no `-wal` beside it), and checked (SQLite's full integrity check, the schema,
//! cardmint's tables) before it takes its name. A restore checks the file the same way,
//! refuses a ledger that any process has open, and keeps the ledger it replaces beside it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::store::{Ledger, LedgerError, MIGRATIONS};
use super::{Before, CardState, IntentKind, JournalEntry, NewIntent};
use crate::atomic::{AtomicFile, PRIVATE};

/// What a checked copy holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contents {
    pub schema: i64,
    pub batches: i64,
    pub cards: i64,
    /// Changes whose outcome was not known when the copy was taken: settled from the
    /// platform's evidence by `settle` or `resume` after a restore.
    pub open_changes: i64,
    pub bytes: u64,
}

/// A ledger put back from a copy.
#[derive(Debug, Clone)]
pub struct Restored {
    pub contents: Contents,
    /// Where the ledger it replaced was kept, if there was one.
    pub kept: Option<PathBuf>,
}

/// Copies the ledger at `ledger` to `out` (replacing a file there only once the copy is
/// checked), while other processes read and write it.
pub fn backup(ledger: &Path, out: &Path) -> Result<Contents, LedgerError> {
    if !ledger.is_file() {
        return Err(LedgerError::Missing(ledger.to_path_buf()));
    }
    if same_file(ledger, out) {
        return Err(LedgerError::Copy(format!(
            "--out {} is the ledger itself: give another file",
            out.display()
        )));
    }
    if let Some(folder) = out.parent()
        && !folder.as_os_str().is_empty()
        && !folder.is_dir()
    {
        return Err(LedgerError::NoCopyFolder(folder.to_path_buf()));
    }
    // Read-only: a backup never migrates, checkpoints or locks the ledger for writing.
    let source = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    source.busy_timeout(std::time::Duration::from_secs(10))?;
    let schema: i64 = source.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if schema == 0 {
        return Err(LedgerError::Foreign(ledger.to_path_buf()));
    }
    copy_checked(&source, out)
}

/// Checks a copy: SQLite's integrity check, a cardmint schema this binary knows, its tables.
pub fn check(file: &Path) -> Result<Contents, LedgerError> {
    if !file.is_file() {
        return Err(LedgerError::Missing(file.to_path_buf()));
    }
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let contents = inspect(&conn, file)?;
    Ok(Contents {
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        ..contents
    })
}

/// Puts the copy `file` back as the ledger at `ledger`. Refused while any process has the
/// ledger open or holds its lock; the ledger it replaces (and its `-wal` and `-shm`) is
/// renamed `LEDGER.before-restore-STAMP`, never deleted.
pub fn restore(file: &Path, ledger: &Path, command: &str) -> Result<Restored, LedgerError> {
    check(file)?;
    if same_file(file, ledger) {
        return Err(LedgerError::Copy(format!(
            "{} is the ledger itself: nothing to restore",
            file.display()
        )));
    }
    // Held until the ledger is in place: no cardmint command starts a change meanwhile.
    let _lock = crate::lockfile::acquire(ledger, command)?;
    let mut users = users_of(ledger);
    if crate::lockfile::in_use(ledger) {
        users.insert(0, "the page (a `cardmint portal` on this ledger)".into());
    }
    if !users.is_empty() {
        return Err(LedgerError::InUse {
            path: ledger.to_path_buf(),
            by: users.join("; "),
        });
    }
    let kept = if ledger.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        // A name no earlier restore took (two in one second keep both).
        let aside = (1..)
            .map(|n| match n {
                1 => with_suffix(ledger, &format!(".before-restore-{stamp}")),
                n => with_suffix(ledger, &format!(".before-restore-{stamp}-{n}")),
            })
            .find(|p| !p.exists())
            .expect("a free name");
        for (from, to) in [("", ""), ("-wal", "-wal"), ("-shm", "-shm")] {
            let from = with_suffix(ledger, from);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&aside, to)).map_err(|source| {
                    LedgerError::Open {
                        path: from.clone(),
                        source,
                    }
                })?;
            }
        }
        Some(aside)
    } else {
        None
    };
    let source = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let contents = copy_checked(&source, ledger)?;
    let reopened = Ledger::open(ledger)?.reopen_unfinished(file)?;
    Ok(Restored {
        contents: Contents {
            open_changes: contents.open_changes + reopened,
            ..contents
        },
        kept,
    })
}

impl Ledger {
    /// A copy is older than the platform: a card unfinished in it may have been created and
    /// loaded after it was taken, and the ledger would send its creation and its credit again.
    /// Each such step is opened as a change of unknown outcome, settled from the platform's
    /// evidence before anything is sent (no account: neither happened; our password opens it:
    /// created; its balance: loaded or not). Blocks and numbers are harmless to send twice.
    /// Returns how many changes were opened.
    fn reopen_unfinished(&self, copy: &Path) -> Result<i64, LedgerError> {
        let open = self.pending_intents(None)?;
        let mut new = Vec::new();
        for batch in self.batches()? {
            for card in self.cards(&batch.id)? {
                if !matches!(card.state, CardState::Pending | CardState::Failed) {
                    continue;
                }
                let has = |kind: fn(&IntentKind) -> bool| {
                    open.iter().any(|i| i.card_id == card.id && kind(&i.kind))
                };
                let mut kinds = Vec::new();
                if !card.progress.created && !has(|k| *k == IntentKind::Create) {
                    kinds.push((IntentKind::Create, Before::default()));
                }
                if !card.progress.credited
                    && !card.credit().is_zero()
                    && !has(|k| matches!(k, IntentKind::Credit(_)))
                {
                    // As the engine sends it: a fresh account holds nothing.
                    let before = Before {
                        balance: Some(rust_decimal::Decimal::ZERO),
                        ..Before::default()
                    };
                    kinds.push((IntentKind::Credit(card.credit()), before));
                }
                for (kind, before) in kinds {
                    new.push(NewIntent {
                        card_id: card.id,
                        batch_id: batch.id.clone(),
                        kind,
                        before,
                    });
                }
            }
        }
        let count = new.len() as i64;
        self.write(|tx| {
            for intent in &new {
                tx.add_intent(intent)?;
            }
            tx.journal(&JournalEntry {
                batch_id: None,
                card_id: None,
                command: "restore".into(),
                outcome: "reopened".into(),
                detail: format!(
                    "restored from {}; {count} step(s) of unfinished cards opened for a settle read",
                    copy.display()
                ),
                duration_ms: 0,
                attempt: 0,
            })
        })?;
        Ok(count)
    }
}

/// Copies `source` to a temporary file beside `out`, checks it, and renames it to `out` (a
/// backup, a restore, the copy before a migration).
pub(super) fn copy_checked(source: &Connection, out: &Path) -> Result<Contents, LedgerError> {
    let io = |source| LedgerError::Open {
        path: out.to_path_buf(),
        source,
    };
    if let Some(folder) = out.parent()
        && !folder.as_os_str().is_empty()
        && !folder.is_dir()
    {
        return Err(LedgerError::NoFolder(folder.to_path_buf()));
    }
    let file = AtomicFile::create(out, PRIVATE).map_err(io)?;
    let contents = {
        let mut target = Connection::open(file.temp_path())?;
        {
            let backup = rusqlite::backup::Backup::new(source, &mut target)?;
            // All pages in one step: one read transaction, one moment of the ledger. A
            // writer between steps would make SQLite start the copy again.
            let mut tries = 0;
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ if tries < 100 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    _ => {
                        return Err(LedgerError::Copy(
                            "the ledger stayed busy for 5 s; try again".into(),
                        ));
                    }
                }
            }
        }
        // One file: the copy carries no write-ahead log beside it.
        target.pragma_update(None, "journal_mode", "DELETE")?;
        inspect(&target, out)?
    };
    let bytes = file.commit().map_err(io)?;
    Ok(Contents { bytes, ..contents })
}

/// The full integrity check, the schema and the counts of an open copy.
fn inspect(conn: &Connection, path: &Path) -> Result<Contents, LedgerError> {
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if report != ["ok"] {
        return Err(LedgerError::Damaged {
            path: path.to_path_buf(),
            report: report.join("; "),
        });
    }
    let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if schema == 0 {
        return Err(LedgerError::Foreign(path.to_path_buf()));
    }
    if schema > known {
        return Err(LedgerError::NewerSchema {
            path: path.to_path_buf(),
            found: schema,
            known,
            requires: conn
                .query_row("SELECT value FROM meta WHERE key = 'requires'", [], |r| {
                    r.get(0)
                })
                .ok(),
        });
    }
    let count = |sql: &str| -> Result<i64, LedgerError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| LedgerError::Damaged {
                path: path.to_path_buf(),
                report: format!("not a whole cardmint ledger: {e}"),
            })
    };
    Ok(Contents {
        schema,
        batches: count("SELECT count(*) FROM batches")?,
        cards: count("SELECT count(*) FROM cards")?,
        // Intents came with a later schema than the cards.
        open_changes: if count(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'intents'",
        )? == 1
        {
            count("SELECT count(*) FROM intents WHERE status IN ('open', 'unsettled')")?
        } else {
            0
        },
        bytes: 0,
    })
}

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The other processes that have the ledger (or its write-ahead log) open, from `/proc`: the
/// page keeps its connection open between changes, without the lock.
fn users_of(ledger: &Path) -> Vec<String> {
    let Ok(target) = std::fs::canonicalize(ledger) else {
        return Vec::new();
    };
    let names = [
        target.clone(),
        with_suffix(&target, "-wal"),
        with_suffix(&target, "-shm"),
    ];
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut users = Vec::new();
    for entry in procs.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let open = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|link| names.contains(&link));
        if open {
            let command = std::fs::read(entry.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .split('\0')
                        .filter(|a| !a.is_empty())
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            users.push(format!("pid {pid} ({command})"));
        }
    }
    users
}
