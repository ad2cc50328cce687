//! The top-level error: one variant per module's own error enum, rendered in one place
//! (`cli::exit`), which also maps each to an exit code.

use crate::api::ApiError;
use crate::codes::CodeError;
use crate::config::ConfigError;
use crate::import::ImportError;
use crate::ledger::{LedgerError, Platform};
use crate::lifecycle::SelectError;
use crate::manifest::ManifestError;
use crate::provision::plan::PlanError;
use crate::render::{RenderError, TemplateError};
use crate::runner::RunError;
use crate::sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Money(Box<crate::money::MoneyError>),
    /// A batch or card the ledger does not have.
    #[error("{0}")]
    NotFound(String),
    /// A command on a batch aimed at another platform than the batch's own.
    #[error(
        "batch {batch} lives on {recorded}, but this command would talk to {current}: nothing \
         was sent; {}",
        platform_hint(recorded)
    )]
    OtherPlatform {
        batch: String,
        recorded: Platform,
        current: Platform,
    },
    /// The check before a run (and before a batch is recorded) failed: nothing was recorded
    /// or changed.
    #[error("{platform}: {cause}; nothing was recorded or changed")]
    Unreachable { platform: Platform, cause: ApiError },
    /// Planned cards that could not be printed: nothing was sent or recorded.
    #[error("the cards cannot be printed as planned; nothing was sent or recorded:\n  {0}")]
    Unprintable(String),
    /// Cards for the real platform would print demo values.
    #[error(
        "these cards are for the real platform but would print demo values; set them in the \
         [values] table of cardmint.toml (or with --set KEY=VALUE), nothing was sent or \
         recorded:\n  {0}"
    )]
    DemoValues(String),
    /// A file cardmint will not write over.
    #[error("{0}")]
    Exists(String),
    /// A decision by hand (`settle --resolve`) that the platform's evidence contradicts.
    #[error("{0}")]
    Contradicted(String),
    /// The platform could not be read for evidence; nothing was recorded.
    #[error("{0}")]
    Unread(String),
    /// A flag or argument that clap accepted but that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// The machine failed us: a file or folder that cannot be read or written, the disk full,
    /// standard input unreadable, signals unavailable.
    #[error("cannot {what}: {}", crate::text::io_reason(source))]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// The operating system's random source failed: nothing was generated.
    #[error("the system's random source failed ({0}); nothing was generated or sent")]
    Random(#[from] crate::codes::RandomError),
}

impl Error {
    /// An I/O failure while doing `what` ("write calls.csv", "read standard input").
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// How to reach the platform a batch lives on.
fn platform_hint(recorded: &Platform) -> String {
    match recorded {
        Platform::Sandbox => "run it with --sandbox".to_string(),
        Platform::Endpoint { url, reseller } => format!(
            "run it without --sandbox, with CARDMINT_API_URL (or [api] url) {url} and the \
             login of reseller {reseller}"
        ),
    }
}

impl From<crate::money::MoneyError> for Error {
    fn from(e: crate::money::MoneyError) -> Error {
        Error::Money(Box::new(e))
    }
}
