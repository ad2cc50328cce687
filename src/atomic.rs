//! The one way cardmint writes an output file: into a temporary file beside it, created
//! exclusively under an unpredictable name (so a file or symlink planted under that name is
//! never written through), with its final mode from the moment it exists (owner-only for
//! anything holding a code or a password), flushed to disk and renamed over the final name, the
//! folder then flushed too. A reader sees the old file or the new one, never half of one; a
//! write that fails leaves no temporary file behind.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Owner read and write only: files with access codes or passwords.
pub const PRIVATE: u32 = 0o600;
/// Readable by all: files with nothing secret in them.
pub const PUBLIC: u32 = 0o644;

/// A file being written; [`AtomicFile::commit`] puts it in place.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Starts writing `path` with permissions `mode`.
    pub fn create(path: &Path, mode: u32) -> io::Result<AtomicFile> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut last = None;
        for _ in 0..8 {
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
            let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
            let tmp = path.with_file_name(format!(".{name}.{suffix}.tmp"));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&tmp)
            {
                Ok(file) => {
                    // The umask may have taken bits away, never added them; make it exact.
                    use std::os::unix::fs::PermissionsExt;
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                    return Ok(AtomicFile {
                        tmp,
                        path: path.to_path_buf(),
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no temporary name")))
    }

    /// The temporary file's path, for a writer that opens it by name (SQLite).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The file to write into.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until committed")
    }

    /// Flushes the file to disk and renames it over the final name; its size.
    pub fn commit(mut self) -> io::Result<u64> {
        let file = self.file.take().expect("open until committed");
        file.sync_all()?;
        let size = file.metadata()?.len();
        drop(file);
        std::fs::rename(&self.tmp, &self.path)?;
        {
            let dir = folder_of(&self.path);
            // The rename itself reaches the disk with the folder.
            File::open(dir)?.sync_all()?;
        }
        self.tmp = PathBuf::new();
        Ok(size)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The folder a path names a file in: its parent, or `.` for a bare name.
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(f) if !f.as_os_str().is_empty() => f,
        _ => Path::new("."),
    }
}

/// Whether a file can be written at `path` later: its folder exists and the path is no folder.
/// Checked before a command reads or sends anything, so that an output named wrong fails first.
pub fn can_write(path: &Path) -> io::Result<()> {
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "the folder {} does not exist: create it first (`mkdir -p {0}`)",
                folder.display()
            ),
        ));
    }
    if path.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "that is a folder: name a file in it",
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically with permissions `mode`.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = AtomicFile::create(path, mode)?;
    f.file().write_all(bytes)?;
    f.commit().map(|_| ())
}

/// Creates `dir` and its missing parents owner-only (0700): every folder cardmint makes may
/// come to hold a secret.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_planted_file_or_symlink_is_never_written_through_and_modes_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "untouched").unwrap();
        // Whatever names an attacker plants, the temporary name is not among them.
        for i in 0..50 {
            let _ = std::os::unix::fs::symlink(&target, dir.path().join(format!(".m.csv.{i}.tmp")));
        }
        let path = dir.path().join("m.csv");
        write(&path, b"secret", PRIVATE).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Rewriting a world-readable file leaves it owner-only.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, b"again", PRIVATE).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A write abandoned halfway leaves nothing behind.
        let mut f = AtomicFile::create(&dir.path().join("half.pdf"), PRIVATE).unwrap();
        f.file().write_all(b"%PDF").unwrap();
        drop(f);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("half"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }
}
