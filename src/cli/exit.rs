//! Named exit codes, and the one place where an error becomes a message and a code.

use std::process::ExitCode;

use crate::error::Error;
use crate::lifecycle::SelectError;
use crate::provision::plan::PlanError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// The command failed (platform refused, network down, unknown batch, I/O error).
    Failure = 1,
    /// The command line itself is wrong (unknown flag, missing or contradictory arguments).
    Usage = 2,
    /// The run finished with cards failed or left unfinished: see the summary and resume.
    Incomplete = 3,
    /// An input file or value failed validation; nothing was sent.
    InvalidInput = 4,
    /// The audit found cards whose platform account differs from the ledger.
    Mismatch = 5,
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
        Error::Import(_)
        | Error::Code(_)
        | Error::Template(_)
        | Error::Plan(PlanError::Code(_))
        | Error::Unprintable(_)
        | Error::DemoValues(_)
        | Error::Select(SelectError::SoldList { .. }) => Exit::InvalidInput,
        Error::Select(_) => Exit::Usage,
        Error::Config(_)
        | Error::Api(_)
        | Error::Sandbox(_)
        | Error::Ledger(_)
        | Error::Plan(_)
        | Error::Manifest(_)
        | Error::Run(_)
        | Error::Render(_)
        | Error::OtherPlatform { .. }
        | Error::Unreachable { .. }
        | Error::NotFound(_) => Exit::Failure,
    }
    .into()
}
