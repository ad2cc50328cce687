//! One module per subcommand: its clap arguments and its recipe.

pub mod batches;
pub mod check_password;
pub mod issue;
pub mod preview;
pub mod render;
pub mod resume;
pub mod sandbox;
pub mod show;

use crate::error::Error;
use crate::provision::EngineOptions;

/// How hard to drive the platform: shared by every command that sends requests.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Requests per second, never exceeded in any one-second window
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    rate: f64,
    /// Requests in flight at most (worker threads)
    #[arg(long, value_name = "C", default_value_t = 8)]
    concurrency: usize,
}

impl EngineArgs {
    pub fn options(&self) -> Result<EngineOptions, Error> {
        if !(self.rate > 0.0 && self.rate <= 10_000.0) {
            return Err(Error::Usage(format!(
                "--rate {}: must be more than 0 and at most 10000 requests per second",
                self.rate
            )));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(Error::Usage(format!(
                "--concurrency {}: must be between 1 and 256",
                self.concurrency
            )));
        }
        Ok(EngineOptions {
            concurrency: self.concurrency,
            rate: self.rate,
            burst: (self.rate / 10.0).clamp(1.0, 10.0) as u32,
            ..EngineOptions::default()
        })
    }
}
