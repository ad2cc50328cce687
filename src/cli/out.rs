//! Standard output, written one way: every line a command prints goes through here. A reader
//! that goes away (`cardmint status | head -2`) is not a failure: what is left to print is
//! dropped and the command goes on to its end (a batch piped into `head` still finishes), its
//! exit code its work's. Any other failure to write (a full disk under `> file`) is kept and
//! turns a successful exit into [`super::Exit::Io`] at the end.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The reader of standard output went away.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The first failure to write other than a closed pipe.
static FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Prints bytes to standard output as they are.
pub fn bytes(data: &[u8]) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(data).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
        } else {
            let mut failed = FAILED.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| e.to_string());
            CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Prints one line to standard output.
pub fn line(args: std::fmt::Arguments<'_>) {
    bytes(format!("{args}\n").as_bytes());
}

/// Why standard output could not be written, if it failed other than by its reader leaving.
pub fn failure() -> Option<String> {
    FAILED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_closed_pipe_is_not_a_failure() {
        // The test harness's stdout is open: nothing failed.
        super::line(format_args!("a line"));
        assert_eq!(super::failure(), None);
    }
}
