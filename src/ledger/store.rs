//! Opening the ledger (owner-only file, pragmas, migrations) and its write transactions.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::lockfile::{self, Lock};

/// Numbered migrations: index + 1 is the schema version stored in `user_version`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: batches, cards, retired codes, journal.
    "CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        value TEXT NOT NULL,
        currency TEXT NOT NULL,
        tariff INTEGER,
        active INTEGER NOT NULL,
        code_length INTEGER NOT NULL,
        code_prefix TEXT NOT NULL,
        password_length INTEGER NOT NULL,
        source TEXT,
        out_dir TEXT NOT NULL
    );
    CREATE TABLE cards (
        id INTEGER PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches(id),
        seq INTEGER NOT NULL UNIQUE,
        serial TEXT NOT NULL UNIQUE,
        customer TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL,
        value TEXT NOT NULL,
        tariff INTEGER,
        numbers TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL DEFAULT '',
        generated INTEGER NOT NULL,
        created INTEGER NOT NULL DEFAULT 0,
        blocked_done INTEGER NOT NULL DEFAULT 0,
        credited INTEGER NOT NULL DEFAULT 0,
        numbers_done INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending',
        failure TEXT,
        block_reason TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cards_by_batch ON cards(batch_id, seq);
    CREATE TABLE retired_codes (
        code TEXT PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES cards(id),
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        batch_id TEXT,
        card_id INTEGER,
        command TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER NOT NULL,
        attempt INTEGER NOT NULL
    );
    CREATE INDEX journal_by_card ON journal(card_id);",
    // 2: the card design and sheet layout a batch is rendered with.
    "ALTER TABLE batches ADD COLUMN template TEXT;
    ALTER TABLE batches ADD COLUMN sheet TEXT;",
    // 3: credit loaded after issue, and a new password kept until the platform confirms it.
    "ALTER TABLE cards ADD COLUMN topups TEXT NOT NULL DEFAULT '0';
    ALTER TABLE cards ADD COLUMN pending_password TEXT;",
    // 4: the platform a batch lives on (`sandbox`, or the endpoint URL and reseller login).
    "ALTER TABLE batches ADD COLUMN endpoint TEXT;
    ALTER TABLE batches ADD COLUMN reseller TEXT;",
    // 5: intents: every change the platform cannot repeat safely, recorded before it is sent.
    "CREATE TABLE intents (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES cards(id),
        batch_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT,
        before_balance TEXT,
        before_from_ms INTEGER NOT NULL,
        before_to_ms INTEGER NOT NULL,
        sent_ms INTEGER NOT NULL,
        status TEXT NOT NULL,
        evidence TEXT,
        created_at TEXT NOT NULL,
        settled_at TEXT
    );
    CREATE INDEX intents_by_card ON intents(card_id);
    CREATE INDEX intents_pending ON intents(status) WHERE status IN ('open', 'unsettled');",
    // 6: the stock: shops, consignment, sales, expiry, replacements and balances read.
    "CREATE TABLE shops (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        created_at TEXT NOT NULL
    );
    ALTER TABLE batches ADD COLUMN expiry TEXT;
    ALTER TABLE cards ADD COLUMN shop TEXT COLLATE NOCASE;
    ALTER TABLE cards ADD COLUMN consigned_on TEXT;
    ALTER TABLE cards ADD COLUMN sold_shop TEXT COLLATE NOCASE;
    ALTER TABLE cards ADD COLUMN sold_on TEXT;
    ALTER TABLE cards ADD COLUMN credit TEXT;
    ALTER TABLE cards ADD COLUMN last_balance TEXT;
    ALTER TABLE cards ADD COLUMN last_balance_at TEXT;
    CREATE TABLE card_events (
        id INTEGER PRIMARY KEY,
        card_id INTEGER NOT NULL REFERENCES cards(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        on_date TEXT,
        shop TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX card_events_by_card ON card_events(card_id);
    CREATE TABLE replacements (
        old_card INTEGER PRIMARY KEY REFERENCES cards(id),
        new_card INTEGER NOT NULL UNIQUE REFERENCES cards(id),
        amount TEXT NOT NULL,
        old_topups TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE balance_reads (
        card_id INTEGER NOT NULL REFERENCES cards(id),
        at TEXT NOT NULL,
        balance TEXT NOT NULL
    );
    CREATE INDEX balance_reads_by_card ON balance_reads(card_id, at);",
    // 7: retail cards redeemed by a card holder onto their account (the portal).
    "CREATE TABLE redemptions (
        card INTEGER PRIMARY KEY REFERENCES cards(id),
        onto INTEGER NOT NULL REFERENCES cards(id),
        amount TEXT NOT NULL,
        card_topups TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX redemptions_onto ON redemptions(onto);",
    // 8: movements of credit between cards as claims (one row per source card, written before
    // any request); replacements and redemptions become movements. One unfinished by an
    // earlier cardmint is left `legacy`, for a human.
    "CREATE TABLE movements (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        source INTEGER NOT NULL UNIQUE REFERENCES cards(id),
        target INTEGER REFERENCES cards(id),
        reason TEXT NOT NULL,
        by TEXT NOT NULL,
        measured TEXT,
        amount TEXT,
        remainder TEXT,
        state TEXT NOT NULL,
        at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX movements_by_target ON movements(target);
    CREATE UNIQUE INDEX movements_replacement ON movements(target) WHERE kind = 'replace';
    INSERT INTO movements (kind, source, target, reason, by, measured, amount, remainder, state,
        at, updated_at)
        SELECT 'replace', old_card, new_card, reason, 'cli', amount, amount, '0',
            CASE WHEN (SELECT credited FROM cards WHERE id = new_card) = 1 THEN 'done'
                ELSE 'legacy' END,
            at, at FROM replacements;
    INSERT INTO movements (kind, source, target, reason, by, measured, amount, remainder, state,
        at, updated_at)
        SELECT 'redeem', r.card, r.onto, 'redeemed', 'portal', r.amount, r.amount, '0',
            CASE WHEN EXISTS (SELECT 1 FROM intents i WHERE i.card_id = r.onto
                AND i.kind = 'redeem' AND i.status = 'applied'
                AND i.detail = r.amount || '@' || r.card) THEN 'done' ELSE 'legacy' END,
            r.at, r.at FROM redemptions r;
    DROP TABLE replacements;
    DROP TABLE redemptions;",
    // 9: what calls billed after a movement's deduction took from the source below zero (a
    // platform that lets a call in progress overdraw): the load is lowered by it.
    "ALTER TABLE movements ADD COLUMN overdrawn TEXT;",
    // 10: the platform's clock offset when an intent's read before was made: a step of our
    // clock between that read and the judgement is seen, and undone.
    "ALTER TABLE intents ADD COLUMN before_offset_lo INTEGER;
    ALTER TABLE intents ADD COLUMN before_offset_hi INTEGER;",
    // 11: the language a batch's cards print in (`issue --lang`).
    "ALTER TABLE batches ADD COLUMN lang TEXT;",
    // 12: a random token per batch, that its folder's marker names: the B0001 of another
    // ledger, created in the same second, is another batch.
    "ALTER TABLE batches ADD COLUMN token TEXT;",
    // 13: facts about the file itself: the cardmint version that brought it to its schema, that
    // an older cardmint names when it finds the ledger too new for it.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 14: the values a batch's cards printed with (the config's [values] and --set at issue, a
    // JSON object), so that a reprint prints what was printed, whatever the config says since.
    "ALTER TABLE batches ADD COLUMN printed_values TEXT;",
    // 15: a movement may be `restored` (claimed in a copy a restore put back; an older cardmint
    // would not know what to do next), and unfinished movements are found by their state; a
    // change a restore opened on a card that may have changed since the copy is marked, for a
    // human to decide.
    "CREATE INDEX movements_by_state ON movements(state);
    ALTER TABLE intents ADD COLUMN before_restored INTEGER NOT NULL DEFAULT 0;",
];

/// What to install for a ledger of schema `found`, from the version that wrote it (`requires`,
/// as the file says: shown only when it is a plain version newer than this one).
fn to_install(requires: Option<&str>, found: i64) -> String {
    // Major, minor, patch, by their leading digits (`0.2.0-rc1` is 0.2.0).
    let numbers = |v: &str| -> Vec<u64> {
        v.split('.')
            .take(3)
            .map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0)
            })
            .collect()
    };
    let plain = |v: &&str| {
        v.len() <= 40
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
    };
    match requires.filter(plain) {
        Some(v) if numbers(v) > numbers(env!("CARGO_PKG_VERSION")) => {
            format!("cardmint {v} or newer")
        }
        // A later build of this version (or of an older one, by its number).
        Some(_) => format!("a later build of cardmint, one that knows schema {found}"),
        None => format!("a cardmint that knows schema {found}"),
    }
}

/// The tables a ledger of this schema has, each with its columns: the migrations up to it,
/// run on an empty database.
pub(super) fn tables_at(schema: i64) -> Result<Vec<(String, Vec<String>)>, LedgerError> {
    let conn = Connection::open_in_memory()?;
    for sql in MIGRATIONS.iter().take(schema.max(0) as usize) {
        conn.execute_batch(sql)?;
    }
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tables
        .into_iter()
        .map(|t| Ok((t.clone(), columns_of(&conn, &t)?)))
        .collect()
}

/// The columns of a table, by name.
pub(super) fn columns_of(conn: &Connection, table: &str) -> Result<Vec<String>, LedgerError> {
    Ok(conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {}", crate::text::io_reason(source))]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "ledger {path} can be read or written by other users (mode {mode:o}); it holds card \
         secrets: run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "ledger {path}: schema version {found} is newer than this cardmint ({}) knows ({known}); \
         install {} (nothing was changed)",
        env!("CARGO_PKG_VERSION"),
        to_install(requires.as_deref(), *found)
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
        /// The cardmint version that brought the ledger to its schema, as the ledger says.
        requires: Option<String>,
    },
    #[error("{0} is a folder, not a ledger file: give --ledger FOLDER/cardmint.db")]
    Directory(PathBuf),
    #[error("{0} is not a regular file (a device or a pipe): give --ledger a file's path")]
    NotAFile(PathBuf),
    /// The folder the ledger would be in does not exist: a mistyped path would otherwise
    /// start a second, empty ledger.
    #[error(
        "the ledger's folder {0} does not exist: create it (`mkdir -p {0}`), or give --ledger a \
         path in an existing folder"
    )]
    NoFolder(PathBuf),
    #[error("no ledger at {0}: give --ledger PATH (or CARDMINT_LEDGER), or run in its folder")]
    Missing(PathBuf),
    #[error("{path} is in use by {by}: stop it first (nothing was changed)")]
    InUse { path: PathBuf, by: String },
    #[error("{path} is damaged ({report}); it cannot be used as a ledger")]
    Damaged { path: PathBuf, report: String },
    #[error("{0}")]
    Copy(String),
    #[error(
        "{path} is not a cardmint ledger ({why}): give a ledger, or a copy that `cardmint \
         backup` wrote"
    )]
    NotALedger { path: PathBuf, why: String },
    #[error(
        "--out: the folder {0} does not exist: create it (`mkdir -p -m 700 {0}`: the copy holds \
         every code)"
    )]
    NoCopyFolder(PathBuf),
    #[error(
        "{0} is an SQLite database but not a cardmint ledger (it has tables of its own); \
         cardmint does not touch it: give another --ledger"
    )]
    Foreign(PathBuf),
    #[error("ledger: {}", sql_reason(.0))]
    Sql(#[from] rusqlite::Error),
    #[error("ledger: customer {0:?} is already in the ledger")]
    DuplicateCustomer(String),
    #[error("ledger: {0}")]
    Corrupt(String),
    #[error("ledger: {0}")]
    Code(#[from] crate::codes::CodeError),
    /// Another process holds the ledger for changes.
    #[error("ledger {0}")]
    Locked(#[from] crate::lockfile::LockError),
}

/// An open ledger.
pub struct Ledger {
    pub(super) conn: Connection,
    path: PathBuf,
    /// Held by a ledger opened for changes: one writer per ledger.
    lock: Option<Lock>,
    /// Set when this open migrated the ledger: its schema before, and the copy made first.
    migrated: Option<(i64, PathBuf)>,
}

/// A write transaction; dropped without [`Ledger::write`] returning Ok, it rolls back.
pub struct LedgerTx<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
}

pub(super) fn now() -> String {
    crate::clock::stamp(chrono::Utc::now())
}

/// An SQLite error as the person who can fix it reads it: a write the disk (or a file-size
/// limit) refused is said as such.
pub(super) fn sql_reason(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DiskFull | SystemIoFailure) => {
            format!("{e} (is the disk full, or a file-size limit reached?)")
        }
        _ => e.to_string(),
    }
}

/// Whether SQLite failed for want of disk, a file it could not open or write: the machine's
/// fault, not the ledger's (exit 6, "input/output").
pub fn disk_failure(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(DiskFull | SystemIoFailure | CannotOpen | ReadOnly | PermissionDenied)
    )
}

/// Refuses a ledger whose schema is newer than this cardmint knows, naming the version that
/// brought it there.
pub(super) fn newer(conn: &Connection, path: &Path, version: i64) -> Result<(), LedgerError> {
    let known = MIGRATIONS.len() as i64;
    if version <= known {
        return Ok(());
    }
    Err(LedgerError::NewerSchema {
        path: path.to_path_buf(),
        found: version,
        known,
        requires: conn
            .query_row("SELECT value FROM meta WHERE key = 'requires'", [], |r| {
                r.get(0)
            })
            .ok(),
    })
}

/// The ledger's folder exists, and the path is a file (or nothing yet): not a folder, a device
/// or a pipe.
fn check_path(path: &Path) -> Result<(), LedgerError> {
    check_folder(path)?;
    if path.is_dir() {
        return Err(LedgerError::Directory(path.to_path_buf()));
    }
    if path.exists() && !path.is_file() {
        return Err(LedgerError::NotAFile(path.to_path_buf()));
    }
    Ok(())
}

/// The ledger's folder exists (the ledger itself may not yet).
pub(super) fn check_folder(path: &Path) -> Result<(), LedgerError> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            Err(LedgerError::NoFolder(folder.to_path_buf()))
        }
        _ => Ok(()),
    }
}

impl Ledger {
    /// Opens (creating owner-only if missing) and migrates the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_with(path, true)
    }

    /// Opens a ledger that must already be there (a reader: `/health`, the access log): a
    /// missing file is [`LedgerError::Missing`], never a new empty ledger.
    pub fn open_existing(path: &Path) -> Result<Ledger, LedgerError> {
        check_path(path)?;
        if !path.is_file() {
            return Err(LedgerError::Missing(path.to_path_buf()));
        }
        // An empty file is no ledger to read (opened as one, it would become a new one).
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(LedgerError::NotALedger {
                path: path.to_path_buf(),
                why: "an empty file".into(),
            });
        }
        Ledger::open(path)
    }

    /// Opens a ledger being restored, under its temporary name: the copy it was made from is
    /// its copy from before any migration.
    pub(super) fn open_restoring(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_with(path, false)
    }

    fn open_with(path: &Path, copy_before_migrating: bool) -> Result<Ledger, LedgerError> {
        let open_err = |source| LedgerError::Open {
            path: path.to_path_buf(),
            source,
        };
        check_path(path)?;
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path)
                    .map_err(open_err)?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode & 0o077 != 0 {
                    return Err(LedgerError::TooOpen {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
            }
            Err(e) => return Err(open_err(e)),
        }
        let conn = Connection::open(path)?;
        // Before any pragma writes to it: a database with tables but no cardmint schema
        // version is someone else's, and is left exactly as it is.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if version == 0 && tables > 0 {
            return Err(LedgerError::Foreign(path.to_path_buf()));
        }
        // Before any pragma writes to it either: a newer ledger is left exactly as it is.
        newer(&conn, path, version)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an intent committed before its request must survive a power cut, not only a
        // killed process (the ledger holds money and secrets; the cost is measured in the
        // provisioning benchmark).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut ledger = Ledger {
            conn,
            path: path.to_path_buf(),
            lock: None,
            migrated: None,
        };
        ledger.migrate(copy_before_migrating)?;
        Ok(ledger)
    }

    /// Opens the ledger for a command that sends changes or changes cards: takes the exclusive
    /// lock first (held until the ledger is dropped or the process ends), so one process at a
    /// time writes it. A second process gets [`LedgerError::Locked`] naming the holder.
    /// `command` describes this process for that message.
    pub fn open_for_changes(path: &Path, command: &str) -> Result<Ledger, LedgerError> {
        // Before the lock: a device or a folder gets no lock file beside it.
        check_path(path)?;
        let lock = lockfile::acquire(path, command)?;
        let mut ledger = Ledger::open(path)?;
        ledger.lock = Some(lock);
        Ok(ledger)
    }

    /// Whether this process holds the ledger's lock.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    fn migrate(&mut self, copy_first: bool) -> Result<(), LedgerError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        // A newer schema was refused as the ledger was opened, before any pragma.
        if version == known {
            return Ok(());
        }
        // A page running on it (an older cardmint's, whose package did not stop it) would go on
        // reading a schema it does not know: it stops first. Held while the schema changes.
        let _users = lockfile::exclude_users_if_any(&self.path).map_err(|e| match e {
            lockfile::LockError::Held { .. } => LedgerError::InUse {
                path: self.path.clone(),
                by: format!(
                    "the page (a `cardmint portal`, maybe of an older cardmint); this cardmint \
                     brings the ledger from schema {version} to {known}, which that page may \
                     not know"
                ),
            },
            e => e.into(),
        })?;
        // A ledger with content is copied, checked, before its schema changes: a migration
        // that goes wrong (or a cardmint that turns out too new to go back from) leaves the
        // ledger as it was beside it.
        let mut copy = None;
        if version > 0 && copy_first {
            let path = super::backup::with_suffix(&self.path, &format!(".schema-{version}.bak"));
            super::backup::copy_checked(&self.conn, &path)?;
            copy = Some((version, path));
        }
        // Every step in one transaction: the ledger is at its old schema or at the new one,
        // never between (a kill, a full disk), and each page is written once. The version is
        // read again under the write lock: two commands opening an old ledger at once migrate
        // it once (the second finds it done).
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version >= known {
            return Ok(());
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('requires', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [env!("CARGO_PKG_VERSION")],
        )?;
        tx.commit()?;
        self.migrated = copy;
        Ok(())
    }

    /// The schema the ledger had before this open migrated it, and where its copy from before
    /// the migration is.
    pub fn migrated(&self) -> Option<&(i64, PathBuf)> {
        self.migrated.as_ref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the ledger this one was last restored over is kept, if it was.
    pub fn replaced_ledger(&self) -> Result<Option<PathBuf>, LedgerError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'replaced_ledger'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(PathBuf::from))
    }

    /// SQLite's own check of the file (`PRAGMA quick_check`): `ok`, or what is damaged.
    pub fn integrity(&self) -> Result<String, LedgerError> {
        let rows: Vec<String> = self
            .conn
            .prepare("PRAGMA quick_check")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows.join("; "))
    }

    /// Reads the first and the last row of each main table: cheap whatever the ledger's size,
    /// and an error where their pages are damaged.
    pub fn touch(&self) -> Result<(), LedgerError> {
        for table in ["batches", "cards", "intents", "movements"] {
            for order in ["ASC", "DESC"] {
                self.conn
                    .prepare(&format!(
                        "SELECT * FROM {table} ORDER BY rowid {order} LIMIT 1"
                    ))?
                    .query([])?
                    .next()?;
            }
        }
        Ok(())
    }

    /// The schema version the file carries, and the newest this cardmint knows.
    pub fn schema(&self) -> Result<(i64, i64), LedgerError> {
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok((found, MIGRATIONS.len() as i64))
    }

    /// Runs `f` in one transaction, committed when it returns Ok.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&LedgerTx<'_>) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        // Immediate: the write lock is taken at BEGIN, so what the transaction reads (a claim,
        // a card's state) cannot change before it writes.
        let tx = LedgerTx {
            tx: rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?,
        };
        let value = f(&tx)?;
        tx.tx.commit()?;
        Ok(value)
    }
}

impl LedgerTx<'_> {
    /// Records that serials up to `serials` and `batches` batch ids were given out already (by
    /// a ledger this one was restored over): the next card and batch come after them.
    pub(super) fn at_least_given(&self, serials: i64, batches: i64) -> Result<(), LedgerError> {
        for (key, n) in [("serials_given", serials), ("batches_given", batches)] {
            self.exec(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET \
                 value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                rusqlite::params![key, n.to_string()],
            )?;
        }
        Ok(())
    }

    /// Records where the ledger this one was restored over is kept (`None`: there was none).
    pub(super) fn set_replaced(&self, kept: Option<&Path>) -> Result<(), LedgerError> {
        match kept {
            Some(kept) => self.exec(
                "INSERT INTO meta (key, value) VALUES ('replaced_ledger', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [kept.to_string_lossy()],
            )?,
            None => self.exec("DELETE FROM meta WHERE key = 'replaced_ledger'", [])?,
        };
        Ok(())
    }

    /// Runs one statement, prepared once per connection and cached: the writer runs the same
    /// few thousands of times a batch (SQL parsing was a tenth of a batch's CPU).
    pub(super) fn exec<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    /// One row of a cached statement.
    pub(super) fn query_one<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.tx.prepare_cached(sql)?.query_row(params, f)
    }
}

/// True for a UNIQUE constraint violation.
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_owner_only_with_wal_and_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::open(&path).unwrap();
        let mode: String = ledger
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(ledger);
        let ledger = Ledger::open(&path).unwrap();
        let version: i64 = ledger
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        for f in ["l.db", "l.db-wal", "l.db-shm"] {
            let p = dir.path().join(f);
            if p.exists() {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
    }

    #[test]
    fn refuses_a_ledger_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        drop(Ledger::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Ledger::open(&path),
            Err(LedgerError::TooOpen { .. })
        ));
    }
}
