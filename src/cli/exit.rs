//! Named exit codes, and the one place where an error becomes a message and a code.

use std::process::ExitCode;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// The command failed (platform refused, network down, bad input, I/O error).
    Failure = 1,
    /// The command line itself is wrong (unknown flag, missing argument).
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Prints the error (never a secret: no error type carries one) and picks the exit code.
pub fn report(error: &Error) -> ExitCode {
    eprintln!("error: {error}");
    match error {
        Error::Usage(_) => Exit::Usage,
        Error::Config(_) | Error::Api(_) | Error::Sandbox(_) => Exit::Failure,
    }
    .into()
}
