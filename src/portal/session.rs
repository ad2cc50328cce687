//! Sessions, for signed-in holders only: a random 256-bit id in an HttpOnly, Secure,
//! SameSite=Strict cookie; the server keeps the id's SHA-256 (never the id) with the state, in
//! memory and in a small SQLite file beside the ledger (owner-only), so that sessions survive
//! a restart and a second portal on the same ledger finds them. A session ends after its idle
//! time, at its absolute end, or at sign-out; signing in makes a new id.
//!
//! A visitor who is not signed in has no session: the sign-in form carries a token signed
//! with the portal's key (HMAC-SHA-256), bound to a random cookie of the visitor's and to an
//! expiry, checked with no server state.
//!
//! Lookups are O(1) (a hash map); expired sessions leave through a queue ordered by when they
//! may expire (never a scan of the table per request).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

/// The session cookie's name.
pub const COOKIE: &str = "cardmint_session";
/// The cookie a sign-in form's token is bound to (not a session: nothing is kept for it).
pub const FORM_COOKIE: &str = "cardmint_form";
/// How long a sign-in form works.
const FORM_LIFE: Duration = Duration::from_secs(3600);
/// How often a session's last request is written down (it moves at every request).
const SEEN_EVERY_MS: i64 = 60_000;
/// How long a session found in memory is trusted before the store is asked again (another
/// portal may have ended it).
const RECHECK_MS: i64 = 10_000;

/// 32 bytes of the OS's randomness, as hex.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, compared in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The ledger's card (the account).
    pub card_id: i64,
    pub customer: String,
    /// Signed in with the access code alone (a retail card): no password to re-enter.
    pub code_only: bool,
}

/// What a request sees: the form token, and who is signed in (`None`: a visitor).
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub user: Option<SignedIn>,
}

#[derive(Debug, Clone)]
struct Kept {
    csrf: String,
    user: SignedIn,
    created_ms: i64,
    seen_ms: i64,
    /// `seen_ms` as the store has it.
    stored_seen_ms: i64,
    /// When the store was last asked about it.
    checked_ms: i64,
}

/// The sessions of a portal.
pub struct Sessions {
    map: Mutex<Inner>,
    store: Option<Mutex<Connection>>,
    key: ring::hmac::Key,
    idle: Duration,
    absolute: Duration,
}

struct Inner {
    sessions: HashMap<String, Kept>,
    /// (when it may expire, hashed id): looked at from the front when a session is made.
    expiry: BinaryHeap<Reverse<(i64, String)>>,
    purged_ms: i64,
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

fn hashed(id: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, id.as_bytes()).as_ref())
}

/// Where a ledger's portal keeps its sessions and its key: beside it.
pub fn store_path(ledger: &Path) -> PathBuf {
    crate::ledger::sessions_of(ledger)
}

impl Sessions {
    /// Sessions kept in memory only, with a key of this process (tests).
    pub fn new(idle: Duration, absolute: Duration) -> Sessions {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source");
        Sessions {
            map: Mutex::new(Inner {
                sessions: HashMap::new(),
                expiry: BinaryHeap::new(),
                purged_ms: 0,
            }),
            store: None,
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            idle,
            absolute,
        }
    }

    /// Sessions kept in `path` too (created owner-only), with the key kept there: sessions and
    /// forms outlive a restart, and portals on one ledger share them.
    pub fn open(path: &Path, idle: Duration, absolute: Duration) -> Result<Sessions, String> {
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        if !path.exists() {
            crate::atomic::write(path, b"", crate::atomic::PRIVATE).map_err(|e| fail(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| fail(&e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS key (k BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS sessions (
                 id_hash TEXT PRIMARY KEY,
                 csrf TEXT NOT NULL,
                 card_id INTEGER NOT NULL,
                 customer TEXT NOT NULL,
                 code_only INTEGER NOT NULL,
                 created_ms INTEGER NOT NULL,
                 seen_ms INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS sessions_seen ON sessions(seen_ms);
             CREATE INDEX IF NOT EXISTS sessions_card ON sessions(card_id);",
        )
        .map_err(|e| fail(&e))?;
        let key: Option<Vec<u8>> = conn
            .query_row("SELECT k FROM key", [], |r| r.get(0))
            .optional()
            .map_err(|e| fail(&e))?;
        let key = match key {
            Some(k) if k.len() == 32 => k,
            _ => {
                let mut k = vec![0u8; 32];
                getrandom::fill(&mut k).map_err(|e| fail(&e))?;
                conn.execute("DELETE FROM key", []).map_err(|e| fail(&e))?;
                conn.execute("INSERT INTO key (k) VALUES (?1)", [&k])
                    .map_err(|e| fail(&e))?;
                k
            }
        };
        let mut s = Sessions::new(idle, absolute);
        s.key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
        s.store = Some(Mutex::new(conn));
        Ok(s)
    }

    /// Seconds the cookie lives.
    pub fn max_age(&self) -> u64 {
        self.absolute.as_secs()
    }

    fn deadline(&self, k: &Kept) -> i64 {
        (k.seen_ms + self.idle.as_millis() as i64)
            .min(k.created_ms + self.absolute.as_millis() as i64)
    }

    fn with_store<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        let store = self.store.as_ref()?;
        let conn = store.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).ok()
    }

    /// The session as the store has it (`None` without a store, or not there).
    fn stored(&self, hash: &str, now: i64) -> Option<Kept> {
        self.with_store(|c| {
            c.query_row(
                "SELECT csrf, card_id, customer, code_only, created_ms, seen_ms FROM sessions \
                 WHERE id_hash = ?1",
                [hash],
                |r| {
                    Ok(Kept {
                        csrf: r.get(0)?,
                        user: SignedIn {
                            card_id: r.get(1)?,
                            customer: r.get(2)?,
                            code_only: r.get(3)?,
                        },
                        created_ms: r.get(4)?,
                        seen_ms: r.get(5)?,
                        stored_seen_ms: r.get(5)?,
                        checked_ms: now,
                    })
                },
            )
            .optional()
        })
        .flatten()
    }

    /// The live session of `id`, its last request moved to now.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = now_ms();
        let hash = hashed(id);
        let mut inner = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = inner
            .sessions
            .get(&hash)
            .is_some_and(|k| self.store.is_none() || now - k.checked_ms < RECHECK_MS);
        if !fresh {
            match self.stored(&hash, now) {
                Some(k) => {
                    inner
                        .expiry
                        .push(Reverse((self.deadline(&k), hash.clone())));
                    inner.sessions.insert(hash.clone(), k);
                }
                None if self.store.is_some() => {
                    inner.sessions.remove(&hash);
                }
                None => {}
            }
        }
        let k = inner.sessions.get_mut(&hash)?;
        if self.deadline(k) <= now {
            inner.sessions.remove(&hash);
            drop(inner);
            self.with_store(|c| c.execute("DELETE FROM sessions WHERE id_hash = ?1", [&hash]));
            return None;
        }
        k.seen_ms = now;
        let session = Session {
            csrf: k.csrf.clone(),
            user: Some(k.user.clone()),
        };
        if now - k.stored_seen_ms >= SEEN_EVERY_MS {
            k.stored_seen_ms = now;
            drop(inner);
            self.with_store(|c| {
                c.execute(
                    "UPDATE sessions SET seen_ms = ?2 WHERE id_hash = ?1",
                    params![hash, now],
                )
            });
        }
        Some(session)
    }

    /// A new session of a signed-in holder; returns its id.
    pub fn create(&self, user: SignedIn) -> (String, Session) {
        let now = now_ms();
        let id = token();
        let hash = hashed(&id);
        let kept = Kept {
            csrf: token(),
            user,
            created_ms: now,
            seen_ms: now,
            stored_seen_ms: now,
            checked_ms: now,
        };
        self.with_store(|c| {
            c.execute(
                "INSERT INTO sessions (id_hash, csrf, card_id, customer, code_only, created_ms, \
                 seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![
                    hash,
                    kept.csrf,
                    kept.user.card_id,
                    kept.user.customer,
                    kept.user.code_only,
                    now
                ],
            )
        });
        let session = Session {
            csrf: kept.csrf.clone(),
            user: Some(kept.user.clone()),
        };
        let mut inner = self.map.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .expiry
            .push(Reverse((self.deadline(&kept), hash.clone())));
        inner.sessions.insert(hash, kept);
        self.purge(&mut inner, now);
        (id, session)
    }

    /// Lets expired sessions go: from the front of the queue, as far as they are due (one
    /// whose last request moved goes back in the queue at its new time).
    fn purge(&self, inner: &mut Inner, now: i64) {
        while let Some(Reverse((due, hash))) = inner.expiry.peek().cloned() {
            if due > now {
                break;
            }
            inner.expiry.pop();
            if let Some(k) = inner.sessions.get(&hash) {
                let deadline = self.deadline(k);
                if deadline > now {
                    inner.expiry.push(Reverse((deadline, hash)));
                } else {
                    inner.sessions.remove(&hash);
                }
            }
        }
        if now - inner.purged_ms > 300_000 {
            inner.purged_ms = now;
            let idle = self.idle.as_millis() as i64;
            let absolute = self.absolute.as_millis() as i64;
            self.with_store(|c| {
                c.execute(
                    "DELETE FROM sessions WHERE seen_ms < ?1 OR created_ms < ?2",
                    params![now - idle, now - absolute],
                )
            });
        }
    }

    pub fn remove(&self, id: &str) {
        let hash = hashed(id);
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sessions
            .remove(&hash);
        self.with_store(|c| c.execute("DELETE FROM sessions WHERE id_hash = ?1", [&hash]));
    }

    /// Ends every session of an account but `except` (after its password changed, say).
    pub fn remove_user(&self, card_id: i64, except: &str) {
        let keep = hashed(except);
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sessions
            .retain(|h, s| *h == keep || s.user.card_id != card_id);
        self.with_store(|c| {
            c.execute(
                "DELETE FROM sessions WHERE card_id = ?1 AND id_hash != ?2",
                params![card_id, keep],
            )
        });
    }

    /// The sessions held in memory now (tests: none for visitors).
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sessions
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A sign-in form's token for the visitor whose form cookie is `form`: its expiry and the
    /// key's signature of both.
    pub fn form_token(&self, form: &str) -> String {
        let expires = (now_ms() + FORM_LIFE.as_millis() as i64) / 1000;
        let tag = ring::hmac::sign(&self.key, format!("signin|{form}|{expires}").as_bytes());
        format!("{expires:x}.{}", hex(tag.as_ref()))
    }

    /// Whether `token` is a live sign-in token of the visitor with form cookie `form`.
    pub fn form_token_ok(&self, form: &str, token: &str) -> bool {
        let Some((expires, tag)) = token.split_once('.') else {
            return false;
        };
        let Ok(expires) = i64::from_str_radix(expires, 16) else {
            return false;
        };
        if expires * 1000 <= now_ms() || tag.len() != 64 {
            return false;
        }
        let expected = ring::hmac::sign(&self.key, format!("signin|{form}|{expires}").as_bytes());
        same(&hex(expected.as_ref()), tag)
    }

    /// Makes a session look older (tests of expiry).
    #[doc(hidden)]
    pub fn age(&self, id: &str, by: Duration) {
        let by = by.as_millis() as i64;
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sessions
            .get_mut(&hashed(id))
        {
            s.seen_ms -= by;
            s.created_ms -= by;
        }
    }
}

/// The `Set-Cookie` value for a session id (`max_age` 0 removes it).
pub fn cookie(id: &str, max_age: u64) -> String {
    format!("{COOKIE}={id}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// The `Set-Cookie` value of a visitor's form cookie.
pub fn form_cookie(value: &str) -> String {
    format!(
        "{FORM_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        FORM_LIFE.as_secs()
    )
}

/// The value of cookie `name` a request's `Cookie` header carries, when it is a token.
pub fn from_header<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> SignedIn {
        SignedIn {
            card_id: 1,
            customer: "c".into(),
            code_only: true,
        }
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let (id, _) = s.create(holder());
        assert!(s.get(&id).is_some());
        s.age(&id, Duration::from_secs(61));
        assert!(s.get(&id).is_none(), "idle");
        assert!(s.get(&id).is_none(), "and gone");
        assert_ne!(s.create(holder()).0, s.create(holder()).0);
    }

    #[test]
    fn sessions_outlive_a_restart_and_are_kept_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cardmint.db.portal");
        let day = Duration::from_secs(86_400);
        let (id, token) = {
            let s = Sessions::open(&path, day, day).unwrap();
            let (id, _) = s.create(holder());
            (id, s.form_token(&"a".repeat(64)))
        };
        let s = Sessions::open(&path, day, day).unwrap();
        assert_eq!(s.get(&id).unwrap().user, Some(holder()));
        assert!(s.form_token_ok(&"a".repeat(64), &token), "the key is kept");
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&id), "the id itself is never stored");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
        s.remove(&id);
        assert!(Sessions::open(&path, day, day).unwrap().get(&id).is_none());
    }

    #[test]
    fn a_form_token_is_the_visitors_own_and_expires() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let (mine, theirs) = (token(), token());
        let t = s.form_token(&mine);
        assert!(s.form_token_ok(&mine, &t));
        assert!(
            !s.form_token_ok(&theirs, &t),
            "bound to the visitor's cookie"
        );
        let (expires, tag) = t.split_once('.').unwrap();
        let later = i64::from_str_radix(expires, 16).unwrap() + 3600;
        assert!(
            !s.form_token_ok(&mine, &format!("{later:x}.{tag}")),
            "signed expiry"
        );
        assert!(!s.form_token_ok(&mine, "1.00"));
        assert!(!s.form_token_ok(&mine, &format!("1.{tag}")), "expired");
        assert!(s.is_empty(), "no session for a visitor");
    }

    #[test]
    fn the_cookie_is_read_only_when_well_formed() {
        let id = token();
        assert_eq!(
            from_header(&format!("a=b; {COOKIE}={id}"), COOKIE),
            Some(id.as_str())
        );
        assert_eq!(from_header(&format!("{COOKIE}=../etc"), COOKIE), None);
        assert!(same(&id, &id.clone()) && !same(&id, &token()));
        let c = cookie(&id, 60);
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Max-Age=60",
            "Path=/",
        ] {
            assert!(c.contains(part), "{part}");
        }
    }
}
