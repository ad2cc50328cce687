//! The command line: clap definitions (one file per subcommand under `cmd/`), exit codes, and
//! how results are shown. No logic of its own: each subcommand is a short recipe calling the
//! stage modules.

mod cmd;
mod exit;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use exit::Exit;

/// Issue and manage prepaid calling cards on the voipinfocenter reseller platform.
///
/// The reseller login comes from CARDMINT_USERNAME / CARDMINT_PASSWORD or from cardmint.toml,
/// never from the command line.
#[derive(Parser, Debug)]
#[command(name = "cardmint", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Sandbox(cmd::sandbox::Args),
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    let result = match cli.command {
        Command::Sandbox(args) => cmd::sandbox::run(args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => exit::report(&e),
    }
}
