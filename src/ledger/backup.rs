//! Copies of the ledger. A backup is taken while other commands and the page run: SQLite's
//! online backup API copies every page in one step under one read transaction, so the copy is
//! the ledger at one moment (in WAL mode, writers go on meanwhile). The copy is owner-only, a
//! single file (no `-wal` beside it), and checked (SQLite's full integrity check, the schema,
//! cardmint's tables) before it takes its name. A restore checks the file the same way,
//! refuses a ledger that any process has open, and keeps the ledger it replaces beside it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::store::{Ledger, LedgerError};
use super::{Before, CardState, IntentKind, JournalEntry, MovementState, NewIntent};
use crate::atomic::{AtomicFile, PRIVATE, folder_of};

/// What a checked copy holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Contents {
    pub schema: i64,
    pub batches: i64,
    pub cards: i64,
    /// Changes whose outcome was not known when the copy was taken: settled from the
    /// platform's evidence by `settle` or `resume` after a restore.
    pub open_changes: i64,
    /// Movements of credit under way (claimed and not done): continued by `settle`.
    pub moving: i64,
    pub bytes: u64,
}

/// A ledger put back from a copy.
#[derive(Debug, Clone)]
pub struct Restored {
    pub contents: Contents,
    /// The steps of cards unfinished in the copy opened for a settle read (counted in
    /// `contents.open_changes` too).
    pub reopened: i64,
    /// Where the ledger it replaced was kept, if there was one.
    pub kept: Option<PathBuf>,
    /// Batches in the ledger replaced that the copy does not have (made after it was taken).
    pub lost: Vec<String>,
    /// The page's sessions were ended (holders sign in again).
    pub signed_out: bool,
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
    // Beside the name given and beside the file it leads to (a link).
    let real = std::fs::canonicalize(ledger).unwrap_or_else(|_| ledger.to_path_buf());
    if let Some(live) = LIVE_SIBLINGS
        .iter()
        .find(|s| same_name(out, &with_suffix(ledger, s)) || same_name(out, &with_suffix(&real, s)))
    {
        return Err(LedgerError::Copy(format!(
            "--out {} is the ledger's own {live} file, which SQLite or cardmint uses while it \
             runs: give another file (nothing was written)",
            out.display()
        )));
    }
    match std::fs::symlink_metadata(out) {
        Ok(m) if !m.is_file() => {
            return Err(LedgerError::Copy(format!(
                "--out {} is {}, not a file: give a file name (nothing was written)",
                out.display(),
                if m.is_dir() {
                    "a folder"
                } else if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "a device or a pipe"
                }
            )));
        }
        _ => {}
    }
    if out.is_file() {
        replaceable(out, ledger)?;
    }
    // A backup killed on the way (its copy holds every code) left its temporary file: gone.
    remove_stale_copies(out);
    // Read-only: a backup never migrates, checkpoints or locks the ledger for writing.
    let source = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    source.busy_timeout(std::time::Duration::from_secs(10))?;
    let schema: i64 = source.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if schema == 0 {
        return Err(LedgerError::Foreign(ledger.to_path_buf()));
    }
    copy_checked(&source, out)
}

/// A backup only ever replaces an older copy: a file `backup` wrote (a cardmint ledger of one
/// file, in rollback mode, nothing beside it, open in no process), and not one of the copies
/// cardmint keeps of the ledger (before a restore, before a migration). A ledger in use, a
/// ledger copied by hand while live (its header in WAL mode), the config, a manifest or a PDF
/// named by mistake is refused, with nothing written.
fn replaceable(out: &Path, ledger: &Path) -> Result<(), LedgerError> {
    let refuse = |what: String| {
        Err(LedgerError::Copy(format!(
            "--out {} {what}: a backup replaces only an older copy; give another file \
             (nothing was written)",
            out.display()
        )))
    };
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    if let (Some(kept), Some(of)) = (name(out), name(ledger))
        && std::fs::canonicalize(folder_of(out)).ok()
            == std::fs::canonicalize(folder_of(ledger)).ok()
        && (kept.starts_with(&format!("{of}.before-restore-"))
            || (kept.starts_with(&format!("{of}.schema-")) && kept.ends_with(".bak")))
    {
        return refuse(
            "is a copy cardmint keeps of the ledger (the one a restore replaced, or the one \
             before a migration)"
                .into(),
        );
    }
    if let Some(side) = LIVE_SIBLINGS
        .iter()
        .map(|s| with_suffix(out, s))
        .find(|s| s.exists())
    {
        return refuse(format!(
            "is a ledger in use ({} is beside it), not a copy; put a copy in a ledger's place \
             with `cardmint restore`",
            side.display()
        ));
    }
    let users = users_of(out);
    if !users.is_empty() {
        return refuse(format!("is open in {}", users.join(", ")));
    }
    let mut header = [0u8; 100];
    let read = std::fs::File::open(out).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut header)
    });
    if read.is_err() || &header[..16] != b"SQLite format 3\0" {
        return refuse("exists and is not a copy of a ledger (not an SQLite database)".into());
    }
    if header[18] == 2 || header[19] == 2 {
        return refuse(
            "is a ledger in write-ahead-log mode, as a live ledger is (a copy `backup` wrote is \
             not)"
                .into(),
        );
    }
    let schema = Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
        .unwrap_or(0);
    if schema == 0 {
        return refuse("exists and is not a copy of a ledger (another database)".into());
    }
    Ok(())
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
/// ledger open or holds its lock. The restored ledger is made whole beside the old one first
/// (copied, checked, brought to this schema, its unfinished cards' steps opened for a settle
/// read, one file), then takes the ledger's name in one rename: a kill or a full disk at any
/// moment leaves the old ledger or the restored one at `ledger`, never neither, and never the
/// copy without its reopened steps. The ledger it replaces is kept as
/// `LEDGER.before-restore-STAMP` (its write-ahead log folded into it first), never deleted.
pub fn restore(file: &Path, ledger: &Path, command: &str) -> Result<Restored, LedgerError> {
    check(file)?;
    target_is_a_file(ledger)?;
    if same_file(file, ledger) {
        return Err(LedgerError::Copy(format!(
            "{} is the ledger itself: nothing to restore",
            file.display()
        )));
    }
    // Held until the ledger is in place: no cardmint command starts a change meanwhile, and
    // no page starts on it.
    // The lock files this run makes belong to the ledger's owner however it ends (a refusal,
    // a full disk): a restore run as root never leaves a page's user unable to lock.
    let _owned = LocksOwned(ledger);
    let _lock = crate::lockfile::acquire(ledger, command)?;
    let _users = crate::lockfile::exclude_users(ledger).map_err(|e| match e {
        crate::lockfile::LockError::Held { holder, .. } => LedgerError::InUse {
            path: ledger.to_path_buf(),
            by: holder,
        },
        e => e.into(),
    })?;
    nobody_has_open(ledger)?;
    remove_stale_copies(ledger);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LedgerError::Open { path, source }
    };
    // The name the old ledger is kept under (a name no earlier restore took: two in one
    // second keep both); the restored ledger names it, for what only the old one holds.
    let aside = ledger.exists().then(|| {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        (1..)
            .map(|n| match n {
                1 => with_suffix(ledger, &format!(".before-restore-{stamp}")),
                n => with_suffix(ledger, &format!(".before-restore-{stamp}-{n}")),
            })
            .find(|p| !p.exists())
            .expect("a free name")
    });
    // 1. The restored ledger, whole, under a temporary name beside the old one.
    let prepared = AtomicFile::create(ledger, PRIVATE).map_err(io(ledger))?;
    let temp = prepared.temp_path().to_path_buf();
    let _leftovers = Leftovers(temp.clone());
    let prepare = || -> Result<(i64, Contents), LedgerError> {
        {
            let source = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let mut target = Connection::open(&temp)?;
            copy_pages(&source, &mut target)?;
        }
        let restored = Ledger::open_restoring(&temp)?;
        let reopened = restored.reopen_unfinished(file)?;
        // Serials and batch ids the ledger replaced gave out (cards printed and sold since
        // the copy) are never given again.
        if let Some((serials, batches)) = given_in(ledger) {
            restored.write(|tx| tx.at_least_given(serials, batches))?;
        }
        // Named in full: a command printed later runs from anywhere.
        let named = aside
            .as_deref()
            .map(|a| std::path::absolute(a).unwrap_or(a.to_path_buf()));
        restored.write(|tx| tx.set_replaced(named.as_deref()))?;
        // One file again: the log of the steps just written folded into it.
        restored
            .conn
            .pragma_update(None, "journal_mode", "DELETE")?;
        drop(restored);
        let conn = Connection::open_with_flags(&temp, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok((reopened, inspect(&conn, file)?))
    };
    let (reopened, contents) = prepare().map_err(short_of_disk(
        ledger,
        "writing the restored ledger beside it",
    ))?;
    give_to_owner(&temp, ledger)?;
    // Again: a reader (`batches`, `show`) may have opened it while the copy was prepared.
    nobody_has_open(ledger)?;
    // 2. The old ledger, one file (its log folded in), linked under the name it is kept as:
    // until the rename below, it is still the ledger too.
    let kept = if let Some(aside) = aside {
        fold_log(ledger)?;
        if std::fs::hard_link(ledger, &aside).is_err() {
            // A file system without hard links: a copy, owner-only like the ledger.
            crate::atomic::write(&aside, &std::fs::read(ledger).map_err(io(ledger))?, PRIVATE)
                .map_err(io(&aside))?;
        }
        Some(aside)
    } else {
        None
    };
    let lost = kept
        .as_deref()
        .map(|k| batches_only_in(k, file))
        .unwrap_or_default();
    // 3. One rename: the restored ledger takes the name.
    let bytes = prepared.commit().map_err(io(ledger))?;
    // The page's sessions name cards by their id in the ledger replaced; the restored one may
    // give those ids to other cards. Every holder signs in again.
    let sessions = sessions_of(ledger);
    let signed_out = sessions.exists();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&sessions, suffix));
    }
    Ok(Restored {
        contents: Contents { bytes, ..contents },
        reopened,
        kept,
        lost,
        signed_out,
    })
}

/// Refuses while another process has the ledger (or its log) open.
fn nobody_has_open(ledger: &Path) -> Result<(), LedgerError> {
    let users = users_of(ledger);
    if users.is_empty() {
        return Ok(());
    }
    Err(LedgerError::InUse {
        path: ledger.to_path_buf(),
        by: users.join("; "),
    })
}

/// The ledger a restore writes: a file (or nothing yet) in an existing folder; not a folder,
/// a link or a device, where a rename would replace the link and not what it leads to.
fn target_is_a_file(ledger: &Path) -> Result<(), LedgerError> {
    super::store::check_folder(ledger)?;
    match std::fs::symlink_metadata(ledger) {
        Ok(m) if m.is_dir() => Err(LedgerError::Directory(ledger.to_path_buf())),
        Ok(m) if m.file_type().is_symlink() => Err(LedgerError::Copy(format!(
            "--ledger {} is a symbolic link: give the file it leads to{}",
            ledger.display(),
            std::fs::canonicalize(ledger)
                .map(|p| format!(" ({})", p.display()))
                .unwrap_or_default()
        ))),
        Ok(m) if !m.is_file() => Err(LedgerError::Copy(format!(
            "--ledger {} is not a regular file: give the ledger's file",
            ledger.display()
        ))),
        Ok(m) if other_names(ledger, &m) > 0 => Err(LedgerError::Copy(format!(
            "--ledger {} has other names (hard links): a restore replaces this one, and \
             whatever uses another would go on with the old ledger; remove the other names \
             first (`find / -samefile {0}`)",
            ledger.display()
        ))),
        _ => Ok(()),
    }
}

/// How many names the ledger's file has besides `ledger` and the copies restores kept of it
/// (`.before-restore-`: a restore stopped between keeping and replacing leaves one).
fn other_names(ledger: &Path, meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() <= 1 {
        return 0;
    }
    let kept = std::fs::read_dir(folder_of(ledger))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
                .filter(|e| {
                    e.metadata()
                        .is_ok_and(|k| (k.dev(), k.ino()) == (meta.dev(), meta.ino()))
                })
                .count() as u64
        })
        .unwrap_or(0);
    meta.nlink().saturating_sub(1 + kept)
}

/// Removes what restores or backups killed on the way left beside `ledger` (the ledger, or a
/// backup's `--out`): their temporary copies (`.NAME.<16 hex>.tmp`, owner-only, every code in
/// them) and SQLite's files beside those. A restore calls it under the ledger's lock; two
/// backups to one file at once would see the second's copy fail, never a wrong file.
fn remove_stale_copies(ledger: &Path) {
    let Some(name) = ledger.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(folder_of(ledger)) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let stem = ["-journal", "-wal", "-shm"]
            .iter()
            .find_map(|s| rest.strip_suffix(s))
            .unwrap_or(rest);
        let stale = stem
            .strip_suffix(".tmp")
            .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The restored ledger belongs to whoever owned the ledger it replaces (or the folder): a
/// restore run as root leaves a file the page's user can still open.
fn give_to_owner(temp: &Path, ledger: &Path) -> Result<(), LedgerError> {
    let Some((uid, gid)) = owner_for(ledger) else {
        return Ok(());
    };
    std::os::unix::fs::chown(temp, Some(uid), Some(gid)).map_err(|source| LedgerError::Open {
        path: temp.to_path_buf(),
        source,
    })
}

/// The owner a file beside `ledger` should have when this process (root) makes it: the
/// ledger's, else its folder's. `None` when this process is not root, or they are root's.
fn owner_for(ledger: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    if crate::lockfile::current_uid() != Some(0) {
        return None;
    }
    let owner = std::fs::metadata(ledger)
        .or_else(|_| std::fs::metadata(folder_of(ledger)))
        .ok()?;
    // Root makes its files root's: nothing to give.
    ((owner.uid(), owner.gid()) != (0, 0)).then_some((owner.uid(), owner.gid()))
}

/// Gives a restore's lock files to the ledger's owner when the restore ends, however it ends.
struct LocksOwned<'a>(&'a Path);

impl Drop for LocksOwned<'_> {
    fn drop(&mut self) {
        let Some((uid, gid)) = owner_for(self.0) else {
            return;
        };
        for file in [
            crate::lockfile::lock_path(self.0),
            crate::lockfile::users_path(self.0),
        ] {
            if file.exists() {
                let _ = std::os::unix::fs::chown(&file, Some(uid), Some(gid));
            }
        }
    }
}

/// Folds a ledger's write-ahead log into its file and takes it out of WAL mode (a ledger
/// nobody has open): the file alone is then the whole ledger, to keep or to link, and opening
/// it later to read leaves no `-wal` or `-shm` beside it.
fn fold_log(ledger: &Path) -> Result<(), LedgerError> {
    let log = with_suffix(ledger, "-wal");
    let fold = || -> rusqlite::Result<()> {
        let conn = Connection::open(ledger)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "DELETE")
    };
    match fold() {
        Ok(()) => {}
        // Not a database (what a restore replaces may be anything): nothing to fold.
        Err(_) if !log.exists() => {}
        Err(e) => {
            return Err(LedgerError::Copy(format!(
                "the ledger {} has a write-ahead log ({}) that SQLite could not fold into it \
                 ({e}); nothing was changed. A process this user cannot see may hold it open \
                 (Litestream, sqlite3, a command run as another user): stop it and restore \
                 again. Only when nothing holds it: move {0}, {1} and {0}-shm aside yourself, \
                 then restore",
                ledger.display(),
                log.display()
            )));
        }
    }
    let _ = std::fs::remove_file(with_suffix(ledger, "-shm"));
    Ok(())
}

/// The batches the ledger at `kept` has and the copy `file` does not: made after the copy was
/// taken, their cards are on the platform and in the kept ledger only. Told apart by their
/// token (a batch made after the copy may have an id the copy gives another batch).
fn batches_only_in(kept: &Path, file: &Path) -> Vec<String> {
    let ids = |path: &Path| -> Vec<(String, Option<String>)> {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                // Schemas before 12 have no token: the id alone then.
                let token = if c.prepare("SELECT token FROM batches LIMIT 0").is_ok() {
                    "token"
                } else {
                    "NULL"
                };
                c.prepare(&format!("SELECT id, {token} FROM batches ORDER BY id"))?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .unwrap_or_default()
    };
    let copied = ids(file);
    ids(kept)
        .into_iter()
        .filter(|b| !copied.contains(b))
        .map(|(id, _)| id)
        .collect()
}

/// The highest serial number and batch number the ledger at `ledger` has given out, with
/// what ledgers it replaced had (`None`: there is no readable ledger there).
fn given_in(ledger: &Path) -> Option<(i64, i64)> {
    let conn = Connection::open_with_flags(ledger, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let given = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).ok();
    Some((
        given(super::batches::SERIALS_GIVEN)?,
        given(super::batches::BATCHES_GIVEN)?,
    ))
}

/// Removes what SQLite leaves beside a temporary ledger when its preparation stops half way.
struct Leftovers(PathBuf);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for suffix in ["-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(with_suffix(&self.0, suffix));
        }
    }
}

impl Ledger {
    /// A copy is older than the platform: a card unfinished in it may have been created and
    /// loaded after it was taken, and the ledger would send its creation and its credit again.
    /// Each such step is opened as a change of unknown outcome, settled from the platform's
    /// evidence before anything is sent (no account: neither happened; our password opens it:
    /// created; its balance: loaded or not). Blocks and numbers are harmless to send twice.
    /// Returns how many changes were opened and claims marked `restored`.
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
        // A movement the copy holds before its load may have gone on since (in the ledger
        // the restore replaced). One whose deduction was not in flight in the copy is measured
        // again, from the source's whole history (`restored`, see `money::advance`): the copy's
        // amount may not be what left the card (a deduction lowered since, or sent and
        // applied). One whose deduction was in flight is settled on that change's own
        // evidence. Its load, not already open, is opened for a human: the target's history
        // may lack changes made since the copy.
        let mut restored = Vec::new();
        for m in self.unfinished_movements()? {
            let has = |card: i64, kind: fn(&IntentKind) -> bool| {
                open.iter().any(|i| i.card_id == card && kind(&i.kind))
            };
            let deducting = has(m.source, |k| matches!(k, IntentKind::Deduct { .. }));
            match m.state {
                MovementState::Claimed => restored.push(m.id),
                MovementState::Measured if !deducting => restored.push(m.id),
                MovementState::Measured | MovementState::Deducted => {
                    if let Some(target) = m.target
                        && !has(target, |k| matches!(k, IntentKind::Move { .. }))
                        && let Some(card) = self.card_by_id(target)?
                    {
                        let kind = IntentKind::Move {
                            amount: m.loads(),
                            movement: m.id,
                        };
                        new.push(NewIntent::restored_step(&card, kind));
                    }
                }
                _ => {}
            }
        }
        self.write(|tx| {
            for intent in &new {
                tx.add_intent(intent)?;
            }
            for id in &restored {
                tx.set_restored(*id)?;
            }
            let count = (new.len() + restored.len()) as i64;
            tx.journal(&JournalEntry {
                batch_id: None,
                card_id: None,
                command: "restore".into(),
                outcome: "reopened".into(),
                detail: format!(
                    "restored from {}; {count} step(s) of unfinished cards and movements opened \
                     for a settle read",
                    copy.display()
                ),
                duration_ms: 0,
                attempt: 0,
            })?;
            Ok(count)
        })
    }
}

/// Copies `source` to a temporary file beside `out`, checks it, and renames it to `out` (a
/// backup, a restore, the copy before a migration).
pub(super) fn copy_checked(source: &Connection, out: &Path) -> Result<Contents, LedgerError> {
    let io = |source| LedgerError::Open {
        path: out.to_path_buf(),
        source,
    };
    super::store::check_folder(out)?;
    let file = AtomicFile::create(out, PRIVATE).map_err(io)?;
    let _leftovers = Leftovers(file.temp_path().to_path_buf());
    let copy = || -> Result<Contents, LedgerError> {
        let mut target = Connection::open(file.temp_path())?;
        copy_pages(source, &mut target)?;
        // One file: the copy carries no write-ahead log beside it.
        target.pragma_update(None, "journal_mode", "DELETE")?;
        inspect(&target, out)
    };
    let contents = copy().map_err(short_of_disk(out, "writing the copy"))?;
    let bytes = file.commit().map_err(io)?;
    Ok(Contents { bytes, ..contents })
}

/// A write that failed for want of disk (or a file-size limit) named as such, with the file it
/// was for: SQLite alone says only "disk I/O error".
fn short_of_disk(path: &Path, doing: &'static str) -> impl Fn(LedgerError) -> LedgerError {
    move |e| match e {
        LedgerError::Sql(e) if super::store::disk_failure(&e) => LedgerError::Open {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!(
                "{doing}: {}; nothing was replaced",
                super::store::sql_reason(&e)
            )),
        },
        e => e,
    }
}

/// Every page of `source` into `target`, in one step: one read transaction, one moment of the
/// ledger (a writer between steps would make SQLite start the copy again).
fn copy_pages(source: &Connection, target: &mut Connection) -> Result<(), LedgerError> {
    let backup = rusqlite::backup::Backup::new(source, target)?;
    let mut tries = 0;
    loop {
        match backup.step(-1)? {
            rusqlite::backup::StepResult::Done => return Ok(()),
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

/// The full integrity check, the schema and the counts of an open copy.
fn inspect(conn: &Connection, path: &Path) -> Result<Contents, LedgerError> {
    let not_a_ledger = |why: String| LedgerError::NotALedger {
        path: path.to_path_buf(),
        why,
    };
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                not_a_ledger("not an SQLite database".into())
            }
            e => LedgerError::Sql(e),
        })?;
    if report != ["ok"] {
        return Err(LedgerError::Damaged {
            path: path.to_path_buf(),
            report: report.join("; "),
        });
    }
    let schema: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if schema == 0 {
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        return Err(match tables {
            0 => not_a_ledger("an empty database".into()),
            _ => LedgerError::Foreign(path.to_path_buf()),
        });
    }
    super::store::newer(conn, path, schema)?;
    let damaged = |report: String| LedgerError::Damaged {
        path: path.to_path_buf(),
        report: format!("not a whole cardmint ledger: {report}"),
    };
    let count = |sql: &str| -> Result<i64, LedgerError> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| damaged(e.to_string()))
    };
    // Every table its schema has, with every column (a copy missing one is no whole ledger).
    let tables = super::store::tables_at(schema)?;
    for (table, columns) in &tables {
        let found = super::store::columns_of(conn, table)?;
        if found.is_empty() {
            return Err(damaged(format!(
                "its table {table} is missing (schema {schema} has {})",
                tables
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(column) = columns.iter().find(|c| !found.contains(c)) {
            return Err(damaged(format!(
                "the column {column} of its table {table} is missing"
            )));
        }
    }
    let has = |table: &str| tables.iter().any(|(t, _)| t == table);
    Ok(Contents {
        schema,
        batches: count("SELECT count(*) FROM batches")?,
        cards: count("SELECT count(*) FROM cards")?,
        // Intents and movements came with later schemas than the cards.
        open_changes: match has("intents") {
            true => count("SELECT count(*) FROM intents WHERE status IN ('open', 'unsettled')")?,
            false => 0,
        },
        moving: match has("movements") {
            true => count("SELECT count(*) FROM movements WHERE state NOT IN ('done', 'legacy')")?,
            false => 0,
        },
        bytes: 0,
    })
}

pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Where the page keeps a ledger's sessions and its key: beside it.
pub fn sessions_of(ledger: &Path) -> PathBuf {
    with_suffix(ledger, ".portal")
}

/// The files beside a ledger that are part of it while it is used: SQLite's log and shared
/// memory, cardmint's locks, the page's sessions, the sandbox's state.
const LIVE_SIBLINGS: [&str; 12] = [
    "-wal",
    "-shm",
    "-journal",
    ".lock",
    ".users",
    ".portal",
    ".portal-wal",
    ".portal-shm",
    ".sandbox.json",
    ".sandbox.json.lock",
    ".sandbox.json.log",
    ".sandbox.json.url",
];

/// Whether two paths name the same entry of the same folder (neither need exist).
fn same_name(a: &Path, b: &Path) -> bool {
    let place = |p: &Path| {
        Some((
            std::fs::canonicalize(folder_of(p)).ok()?,
            p.file_name()?.to_owned(),
        ))
    };
    matches!((place(a), place(b)), (Some(a), Some(b)) if a == b)
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
