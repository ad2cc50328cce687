//! Customer CSV files: reading (encoding, delimiter, quoting) and validating every row into
//! card requests, before anything is sent. A file with any bad row yields every problem, with
//! its line and column, and no request at all.
//!
//! Knows nothing of the API.

mod phone;
pub mod reader;
mod validate;

pub use phone::{PhoneError, for_reading, normalize_number, parse_region};
pub use reader::Encoding;
pub use validate::{ImportOptions, read_customers};

use std::fmt;
use std::path::PathBuf;

/// One problem in a customer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// 1-based column number and header name.
    pub column: Option<(usize, String)>,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some((n, name)) => write!(
                f,
                "line {}, column {n} ({name}): {}",
                self.line, self.reason
            ),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {}, nothing was sent:\n{}", crate::text::count(problems.len(), "problem", "problems"), list(problems, path))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
        /// The rows that read well, for the checks that come after reading (the layout of
        /// their cards), so every problem of the file is said at once.
        rows: Vec<crate::provision::plan::CardRequest>,
    },
}

fn list(problems: &[Problem], path: &std::path::Path) -> String {
    problems
        .iter()
        .map(|p| format!("  {}: {p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}
