//! The top-level error: one variant per module's own error enum, rendered in one place
//! (`cli::exit`), which also maps each to an exit code.

use crate::api::ApiError;
use crate::config::ConfigError;
use crate::sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A flag or argument that clap accepted but that makes no sense.
    #[error("{0}")]
    Usage(String),
}
