//! An exclusive OS lock on a file, with its holder named for whoever finds it taken.
//!
//! The lock is `flock`-style (std's `File::try_lock`) on a separate `NAME.lock` file beside the
//! file it guards: the OS releases it when the holding process ends, however it ends (kill -9
//! included), so there is nothing to clean up by hand. The holder writes its pid, its command
//! line and the time into the lock file, so a second process can say who holds it.
//!
//! Knows nothing of what the guarded file is (the ledger, the sandbox's state).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("{guarded} is in use by {holder}; wait for it to finish (nothing was done)")]
    Held { guarded: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The user this process runs as, from `/proc/self` (owned by the process's user); `None`
/// where there is no `/proc`.
pub fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The lock file that guards `guarded`: `guarded` + `.lock`, beside the file the path leads to
/// (symbolic links and `..` resolved), so that two names of one file take one lock. The file
/// need not exist yet; its folder is resolved then.
pub fn lock_path(guarded: &Path) -> PathBuf {
    beside(guarded, ".lock")
}

/// `guarded` + `suffix`, beside the file the path leads to (see [`lock_path`]).
fn beside(guarded: &Path, suffix: &str) -> PathBuf {
    let resolved = std::fs::canonicalize(guarded).ok().or_else(|| {
        let name = guarded.file_name()?;
        let parent = crate::atomic::folder_of(guarded);
        Some(std::fs::canonicalize(parent).ok()?.join(name))
    });
    let mut name = resolved
        .unwrap_or_else(|| guarded.to_path_buf())
        .into_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens (creating owner-only if missing) the lock file at `path`, for reading and writing.
fn open_lock_file(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Takes the exclusive lock on `guarded` for `command` (a description of this process, e.g.
/// its command line), without waiting: a held lock is [`LockError::Held`] naming the holder.
pub fn acquire(guarded: &Path, command: &str) -> Result<Lock, LockError> {
    let path = lock_path(guarded);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                guarded: guarded.to_path_buf(),
                holder: holder(&mut file),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let since = crate::clock::stamp(chrono::Utc::now());
    let line = format!(
        "pid {}, `{}`, since {since}\n",
        std::process::id(),
        one_line(command)
    );
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(line.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(Lock { _file: file, path })
}

/// The file a long-running user of `guarded` (the page) holds a shared lock on for as long as
/// it runs: `guarded` + `.users`, beside it.
pub fn users_path(guarded: &Path) -> PathBuf {
    beside(guarded, ".users")
}

/// Marks this process as using `guarded` while the returned lock lives (a shared lock: any
/// number of users at once), so that nothing replaces the file under it.
pub fn use_shared(guarded: &Path) -> Result<Lock, LockError> {
    let path = users_path(guarded);
    let file = open_lock_file(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Lock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(LockError::Held {
            guarded: guarded.to_path_buf(),
            holder: "a `cardmint restore` replacing it".into(),
        }),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
    }
}

/// Holds `guarded` against every user ([`use_shared`]) while the returned lock lives: a page
/// running on it is [`LockError::Held`], and a page starting meanwhile is refused.
pub fn exclude_users(guarded: &Path) -> Result<Lock, LockError> {
    let path = users_path(guarded);
    let file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(LockError::Held {
            guarded: guarded.to_path_buf(),
            holder: "the page (a `cardmint portal` on this ledger)".into(),
        }),
        Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
    }
}

/// Like [`exclude_users`], for a file nobody may have used yet: `None` when no `.users` file
/// is there (no page ever ran on it), and none is made (one made by root would lock the page's
/// user out of it).
pub fn exclude_users_if_any(guarded: &Path) -> Result<Option<Lock>, LockError> {
    if !users_path(guarded).exists() {
        return Ok(None);
    }
    exclude_users(guarded).map(Some)
}

/// Whether a page runs on `guarded` now (holds its users lock), without taking the lock.
pub fn page_runs(guarded: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).open(users_path(guarded)) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Who holds the lock on `guarded` now, without taking it: `None` when nobody does.
pub fn holder_of(guarded: &Path) -> Option<String> {
    let mut file = OpenOptions::new()
        .read(true)
        .open(lock_path(guarded))
        .ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(_) => Some(holder(&mut file)),
    }
}

/// What the holder wrote, or a plain description while it has not written yet.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        "another process (it has not said which yet)".to_string()
    } else {
        text.to_string()
    }
}

/// The command on one line, at most 200 characters (it goes into messages).
fn one_line(command: &str) -> String {
    let flat: String = command
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("cardmint.db");
        let first = acquire(&guarded, "cardmint resume B0001").unwrap();
        let err = acquire(&guarded, "cardmint topup X 5").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("`cardmint resume B0001`"), "{msg}");
        assert!(msg.contains("since 20"), "{msg}");
        drop(first);
        let again = acquire(&guarded, "cardmint topup X 5").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(again.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn two_names_of_one_file_take_one_lock() {
        let dir = tempfile::tempdir().unwrap();
        let guarded = dir.path().join("cardmint.db");
        std::fs::write(&guarded, b"").unwrap();
        let link = dir.path().join("other-name.db");
        std::os::unix::fs::symlink(&guarded, &link).unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let _first = acquire(&guarded, "cardmint resume B0001").unwrap();
        for name in [link, sub.join("../cardmint.db")] {
            let err = acquire(&name, "cardmint topup X 5").unwrap_err();
            assert!(
                matches!(err, LockError::Held { .. }),
                "{}: {err}",
                name.display()
            );
        }
        // A file not created yet: its folder is resolved.
        let fresh = sub.join("../new.db");
        let _held = acquire(&fresh, "cardmint issue").unwrap();
        assert!(acquire(&dir.path().join("new.db"), "cardmint issue").is_err());
    }
}
