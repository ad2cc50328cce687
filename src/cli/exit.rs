//! Named exit codes, and the one place where an error becomes a message and a code.

use std::process::ExitCode;

use crate::api::ApiError;
use crate::error::Error;
use crate::ledger::LedgerError;
use crate::lifecycle::SelectError;
use crate::manifest::ManifestError;
use crate::provision::plan::PlanError;
use crate::render::RenderError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// The command failed for another reason (unknown batch or card, the ledger in use by
    /// another process, a batch of another platform, a bad config file, an output folder of
    /// another batch).
    Failure = 1,
    /// The command line itself is wrong (unknown flag, missing or contradictory arguments).
    Usage = 2,
    /// The run finished with cards failed or left unfinished: see the summary and resume.
    Incomplete = 3,
    /// An input file or value failed validation; nothing was sent.
    InvalidInput = 4,
    /// The audit found cards whose platform account differs from the ledger.
    Mismatch = 5,
    /// The machine failed: a file that cannot be read or written, the disk full, standard
    /// input, the random source.
    Io = 6,
    /// The platform could not be reached, or its answer was lost or malformed.
    Network = 7,
    /// The platform answered and refused (a wrong reseller login, not enough credit, ...).
    Refused = 8,
    /// A rule of the stock or the ledger refuses it (a card consigned to another shop, sold
    /// already, blocked as lost, not provisioned, being moved); nothing was sent.
    Rule = 9,
    /// Stopped by Ctrl-C (or SIGTERM): what was in flight is recorded; the message says how to
    /// finish.
    Interrupted = 130,
}

/// Every exit code with what it means: the one list that `--help`, the manual page and
/// `docs/reference/exit-codes.md` (checked by a test) give.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "done"),
    (
        1,
        "failed for another reason: an unknown batch or card, the ledger in use by another \
         process, a ledger newer than this cardmint, a damaged copy, a batch of another \
         platform, a bad config file, an output folder of another batch",
    ),
    (
        2,
        "bad command line, including a serial with a wrong check digit",
    ),
    (
        3,
        "the run ended with failed, unfinished or unsettled cards (the summary lists them and \
         prints the exact command to finish or settle)",
    ),
    (
        4,
        "an input (customer file, sold list, password list, template, code-space guard, a value \
         the platform would refuse) failed validation; nothing was sent",
    ),
    (5, "the audit found a mismatch"),
    (
        6,
        "I/O: a file or folder that cannot be read or written, the disk full, standard input, \
         the random source",
    ),
    (
        7,
        "network: the platform cannot be reached, or its answer was lost or malformed",
    ),
    (
        8,
        "refused by the platform (a wrong reseller login, not enough credit, ...)",
    ),
    (
        9,
        "refused by a rule of the stock or the ledger (a card consigned to another shop, sold \
         already, blocked as lost, not provisioned, being replaced), or a `settle --resolve` \
         decision the platform's evidence contradicts; nothing was sent",
    ),
    (130, "interrupted (Ctrl-C or SIGTERM)"),
];

/// [`EXIT_CODES`] as the end of `cardmint --help`.
pub fn exit_codes_help() -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("\n  {code:>3}  {meaning}"));
    }
    text
}

/// [`EXIT_CODES`] as the Markdown table of `docs/reference/exit-codes.md` (the test that
/// checks the page).
#[cfg(test)]
pub fn exit_codes_table() -> String {
    let mut text = String::from("| code | meaning |\n| --- | --- |\n");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("| {code} | {meaning} |\n"));
    }
    text
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Prints the error (never a secret: no error type carries one) and picks the exit code.
pub fn report(error: &Error) -> ExitCode {
    eprintln!("error: {error}");
    code(error).into()
}

/// The exit code of an error, by what kind of failure it is.
pub fn code(error: &Error) -> Exit {
    match error {
        Error::Usage(_) => Exit::Usage,
        // A customer file that cannot be read is I/O, as the table says; one that reads
        // wrong is invalid input.
        Error::Import(crate::import::ImportError::Read { .. }) => Exit::Io,
        Error::Import(_)
        | Error::Code(_)
        | Error::Template(_)
        | Error::Plan(PlanError::Code(_))
        | Error::Unprintable(_)
        | Error::DemoValues(_)
        | Error::Select(SelectError::SoldList { .. } | SelectError::Date(_))
        | Error::Api(ApiError::InvalidArgument { .. }) => Exit::InvalidInput,
        // A selection that names no card, or a typo'd serial.
        Error::Select(SelectError::Serials(_) | SelectError::Nothing) => Exit::Usage,
        Error::Select(
            SelectError::Stock(_) | SelectError::NotProvisioned(_) | SelectError::Blocked(_),
        ) => Exit::Rule,
        Error::Money(e) if matches!(**e, crate::money::MoneyError::Refused(_)) => Exit::Rule,
        Error::Contradicted(_) => Exit::Rule,
        Error::Unread(_) => Exit::Network,
        Error::Api(e) | Error::Unreachable { cause: e, .. } => api(e),
        Error::Io { .. }
        | Error::Random(_)
        | Error::Ledger(
            LedgerError::Open { .. } | LedgerError::NoFolder(_) | LedgerError::NoCopyFolder(_),
        )
        | Error::Select(SelectError::Read { .. })
        | Error::Manifest(ManifestError::Io { .. })
        | Error::Render(RenderError::Io { .. }) => Exit::Io,
        Error::Ledger(LedgerError::Sql(e))
        | Error::Run(crate::runner::RunError::Ledger(LedgerError::Sql(e)))
            if crate::ledger::disk_failure(e) =>
        {
            Exit::Io
        }
        Error::Config(_)
        | Error::Sandbox(_)
        | Error::Ledger(_)
        | Error::Plan(_)
        | Error::Manifest(_)
        | Error::Run(_)
        | Error::Money(_)
        | Error::Render(_)
        | Error::OtherPlatform { .. }
        | Error::NotFound(_)
        | Error::Exists(_) => Exit::Failure,
    }
}

fn api(e: &ApiError) -> Exit {
    match e {
        ApiError::Refused { .. } => Exit::Refused,
        ApiError::InvalidArgument { .. } => Exit::InvalidInput,
        ApiError::NotSent { .. } | ApiError::UnknownOutcome { .. } | ApiError::Protocol { .. } => {
            Exit::Network
        }
    }
}
