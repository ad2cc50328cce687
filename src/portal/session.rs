//! Sessions: a random 256-bit id in an HttpOnly, Secure, SameSite=Strict cookie, the state on
//! the server. Every visitor gets one (anonymous until they sign in) so that every form, the
//! sign-in form too, carries the session's CSRF token. A session ends after its idle time, at
//! its absolute end, or at sign-out; signing in replaces the id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "cardmint_session";

/// 32 bytes of the OS's randomness, as hex.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source");
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

/// Who a session belongs to, once signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The ledger's card (the account).
    pub card_id: i64,
    pub customer: String,
    /// Signed in with the access code alone (a retail card): no password to re-enter.
    pub code_only: bool,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub user: Option<SignedIn>,
    created: Instant,
    seen: Instant,
}

/// The server's sessions.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
    absolute: Duration,
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
            absolute,
        }
    }

    /// Seconds the cookie lives.
    pub fn max_age(&self) -> u64 {
        self.absolute.as_secs()
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.seen) < self.idle && now.duration_since(s.created) < self.absolute
    }

    /// The live session of `id`, its last request moved to now.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(id) {
            Some(s) if self.alive(s, now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// A new session (anonymous, or signed in); returns its id.
    pub fn create(&self, user: Option<SignedIn>) -> (String, Session) {
        let now = Instant::now();
        let session = Session {
            csrf: token(),
            user,
            created: now,
            seen: now,
        };
        let id = token();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, s| self.alive(s, now));
        }
        // Past the sweep, the oldest anonymous sessions give way first.
        if map.len() > 100_000 {
            map.retain(|_, s| s.user.is_some());
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Ends every session of an account (after its password changed, say).
    pub fn remove_user(&self, card_id: i64, except: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|id, s| id == except || s.user.as_ref().is_none_or(|u| u.card_id != card_id));
    }

    /// Makes a session look older (tests of expiry).
    #[doc(hidden)]
    pub fn age(&self, id: &str, by: Duration) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            s.seen -= by;
            s.created -= by;
        }
    }
}

/// The `Set-Cookie` value for a session id (`max_age` 0 removes it).
pub fn cookie(id: &str, max_age: u64) -> String {
    format!("{COOKIE}={id}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

/// The session id a request's `Cookie` header carries.
pub fn from_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let s = Sessions::new(Duration::from_secs(60), Duration::from_secs(600));
        let (id, _) = s.create(None);
        assert!(s.get(&id).is_some());
        s.age(&id, Duration::from_secs(61));
        assert!(s.get(&id).is_none(), "idle");
        assert!(s.get(&id).is_none(), "and gone");
        assert_ne!(s.create(None).0, s.create(None).0);
    }

    #[test]
    fn the_cookie_is_read_only_when_well_formed() {
        let id = token();
        assert_eq!(
            from_header(&format!("a=b; {COOKIE}={id}")),
            Some(id.as_str())
        );
        assert_eq!(from_header(&format!("{COOKIE}=../etc")), None);
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
