//! The command line: clap definitions (one file per subcommand under `cmd/`), exit codes, and
//! how results and progress are shown. No logic of its own: each subcommand is a short recipe
//! calling the stage modules.

/// A line for the user: on stdout, or on stderr under `--json` (where stdout carries the one
/// JSON document).
macro_rules! say {
    ($global:expr, $($arg:tt)*) => {
        if $global.json {
            eprintln!($($arg)*)
        } else {
            $crate::cli::out::line(format_args!($($arg)*))
        }
    };
}

/// A line on standard output, through its one owner ([`out`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::line(format_args!($($arg)*))
    };
}

mod args;
mod cmd;
mod context;
mod exit;
mod finish;
pub(crate) mod out;
mod progress;
mod summary;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub use context::Global;
pub use exit::Exit;

/// Issue and manage prepaid calling cards on the voipinfocenter reseller platform.
///
/// The reseller login comes from CARDMINT_USERNAME / CARDMINT_PASSWORD or from cardmint.toml,
/// never from the command line. Try everything with --sandbox first: it runs against a local
/// simulator of the platform whose accounts are kept beside the ledger.
#[derive(Parser, Debug)]
#[command(
    name = "cardmint",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = exit::exit_codes_help()
)]
struct Cli {
    /// The ledger file (default: CARDMINT_LEDGER, else ./cardmint.db)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Every command"
    )]
    ledger: Option<PathBuf>,
    /// Run against an embedded sandbox (state kept beside the ledger) instead of the platform
    #[arg(long, global = true, help_heading = "Every command")]
    sandbox: bool,
    /// Print nothing but errors and the final result
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Every command"
    )]
    quiet: bool,
    /// Print more detail (retries, reconciliations); never a secret
    #[arg(short, long, global = true, help_heading = "Every command")]
    verbose: bool,
    /// Print the result as one JSON document on stdout (`cardmint help json` gives the
    /// shapes); every other line goes to stderr
    #[arg(long, global = true, help_heading = "Every command")]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Issue(cmd::issue::Args),
    Resume(cmd::resume::Args),
    Batches(cmd::batches::Args),
    Show(cmd::show::Args),
    Card(cmd::card::Args),
    Consign(cmd::consign::ConsignArgs),
    Return(cmd::consign::ReturnArgs),
    Shops(cmd::consign::ShopsArgs),
    Activate(cmd::activate::Args),
    Block(cmd::block::Args),
    Topup(cmd::topup::Args),
    Replace(cmd::replace::Args),
    ResetPassword(cmd::reset_password::Args),
    Numbers(cmd::numbers::Args),
    Status(cmd::status::Args),
    Expire(cmd::expire::Args),
    Report(cmd::report::Args),
    Calls(cmd::calls::Args),
    Audit(cmd::audit::Args),
    Settle(cmd::settle::Args),
    Portal(cmd::portal::Args),
    Render(cmd::render::Args),
    Preview(cmd::preview::Args),
    CheckPassword(cmd::check_password::Args),
    Sandbox(cmd::sandbox::Args),
    Completions(cmd::completions::Args),
    Man(cmd::completions::ManArgs),
    Config(cmd::config_init::Args),
    Help(cmd::help::Args),
    Doctor(cmd::doctor::Args),
    Backup(cmd::backup::BackupArgs),
    Restore(cmd::backup::RestoreArgs),
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Named as the holder of the ledger's lock; credentials never come from argv.
    let command_line = std::iter::once("cardmint".to_string())
        .chain(
            args.iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect::<Vec<_>>()
        .join(" ");
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
    crate::runner::interrupt::survive_file_size_limit();
    let global = Global {
        ledger: cli.ledger,
        sandbox: cli.sandbox,
        quiet: cli.quiet,
        verbose: cli.verbose,
        json: cli.json,
        command_line,
        config: Default::default(),
    };
    let result = match cli.command {
        Command::Issue(args) => cmd::issue::run(&global, args),
        Command::Resume(args) => cmd::resume::run(&global, args),
        Command::Batches(args) => cmd::batches::run(&global, args),
        Command::Show(args) => cmd::show::run(&global, args),
        Command::Card(args) => cmd::card::run(&global, args),
        Command::Consign(args) => cmd::consign::consign(&global, args),
        Command::Return(args) => cmd::consign::take_back(&global, args),
        Command::Shops(args) => cmd::consign::shops(&global, args),
        Command::Activate(args) => cmd::activate::run(&global, args),
        Command::Block(args) => cmd::block::run(&global, args),
        Command::Topup(args) => cmd::topup::run(&global, args),
        Command::Replace(args) => cmd::replace::run(&global, args),
        Command::ResetPassword(args) => cmd::reset_password::run(&global, args),
        Command::Numbers(args) => cmd::numbers::run(&global, args),
        Command::Status(args) => cmd::status::run(&global, args),
        Command::Expire(args) => cmd::expire::run(&global, args),
        Command::Report(args) => cmd::report::run(&global, args),
        Command::Calls(args) => cmd::calls::run(&global, args),
        Command::Audit(args) => cmd::audit::run(&global, args),
        Command::Settle(args) => cmd::settle::run(&global, args),
        Command::Portal(args) => global
            .no_json("portal")
            .and_then(|()| cmd::portal::run(&global, args)),
        Command::Render(args) => cmd::render::run(&global, args),
        Command::Preview(args) => cmd::preview::run(&global, args),
        Command::CheckPassword(args) => cmd::check_password::run(&global, args),
        Command::Sandbox(args) => global
            .no_json("sandbox")
            .and_then(|()| cmd::sandbox::run(args)),
        Command::Completions(args) => global
            .no_json("completions")
            .and_then(|()| cmd::completions::completions(Cli::command(), args)),
        Command::Man(args) => global
            .no_json("man")
            .and_then(|()| cmd::completions::man(Cli::command(), args)),
        Command::Config(args) => cmd::config_init::run(&global, args),
        Command::Help(args) => global
            .no_json("help")
            .and_then(|()| cmd::help::run(Cli::command(), args)),
        Command::Doctor(args) => cmd::doctor::run(&global, args),
        Command::Backup(args) => cmd::backup::backup(&global, args),
        Command::Restore(args) => cmd::backup::restore(&global, args),
    };
    let code = match result {
        Ok(Exit::Success) if out::failure().is_some() => {
            eprintln!(
                "error: write standard output: {}",
                out::failure().unwrap_or_default()
            );
            Exit::Io.into()
        }
        Ok(exit) => exit.into(),
        Err(e) => exit::report(&e),
    };
    if crate::runner::interrupt::interrupted() {
        return Exit::Interrupted.into();
    }
    code
}
