//! `cardmint sandbox`: run the platform simulator in the foreground.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::cli::Exit;
use crate::config::{Credentials, Env, ProcessEnv, Secret};
use crate::error::Error;
use crate::sandbox::{Fault, Sandbox, SandboxOptions, Usage};

/// Run a local server that behaves like the reseller platform (for tests and demos).
///
/// It accepts the reseller login from CARDMINT_USERNAME / CARDMINT_PASSWORD, or
/// `sandbox` / `sandbox-password` when they are unset. Stop it with Ctrl-C; its state is saved
/// to --state.
///
/// Example:
///   cardmint sandbox --addr 127.0.0.1:8080 --state sandbox.json --latency-ms 50 --faults 0.05 --seed 7
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on; loopback unless you name another interface explicitly
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Keep the accounts in this file (JSON snapshot plus FILE.log), so they survive restarts
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Mean latency added to every API answer, in milliseconds (jitter ±20%)
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Probability (0 to 1) that an API request meets a fault
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    faults: f64,
    /// Which faults to inject: lost (answer dropped after the change), error (HTML 503 before
    /// it), slow (answer after --slow-ms), late (answer dropped, the change lands --late-ms
    /// later); a dishonest platform: unapplied (success answered, nothing applied), half
    /// (success answered, half of a transaction applied)
    #[arg(long, value_name = "KINDS", default_value = "lost,error,slow", value_parser = Fault::parse_list)]
    fault_kinds: std::vec::Vec<Fault>,
    /// A call in progress on every account as it is blocked (with credit left), billed this
    /// amount when it ends (after --call-at-block-reads more requests about the account)
    #[arg(long, value_name = "AMOUNT")]
    call_at_block: Option<rust_decimal::Decimal>,
    /// How many answered requests about a blocked account before its call in progress ends
    #[arg(long, value_name = "N", default_value_t = 2)]
    call_at_block_reads: u32,
    /// How far the platform's clock runs ahead of the real one, in milliseconds (negative:
    /// behind): call records, transaction dates and the HTTP Date header read it
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    clock_offset_ms: i64,
    /// How late a slow answer comes, in milliseconds
    #[arg(long, value_name = "N", default_value_t = 30_000)]
    slow_ms: u64,
    /// Only these commands meet faults (comma-separated, e.g. settransaction); all by default
    #[arg(long, value_name = "COMMANDS", value_delimiter = ',')]
    fault_commands: Vec<String>,
    /// How long after the request a late change lands, in milliseconds
    #[arg(long, value_name = "N", default_value_t = 3_000)]
    late_ms: u64,
    /// Land a late change as soon as N further requests about its account have been answered,
    /// if that comes before --late-ms (0: off): between two of the client's reads
    #[arg(long, value_name = "N", default_value_t = 0)]
    late_after_reads: u32,
    /// Calls per minute made by the holder of each unblocked account with credit (0: none)
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = rate)]
    calls_per_min: f64,
    /// What a minute of those calls costs
    #[arg(long, value_name = "AMOUNT", default_value = "0.05")]
    price_per_min: Decimal,
    /// Seed of the fault and latency draws
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Reseller credit of a fresh state
    #[arg(long, value_name = "AMOUNT", default_value = "1000000")]
    credit: Decimal,
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=600.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "{s:?} is not a number of calls per minute between 0 and 600"
        )),
    }
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let env = ProcessEnv;
    let credentials = match (env.var("CARDMINT_USERNAME"), env.var("CARDMINT_PASSWORD")) {
        (Some(username), Some(password)) => Credentials {
            username,
            password: Secret::new(password),
        },
        (None, None) => Credentials::sandbox_default(),
        _ => {
            return Err(Error::Usage(
                "set both CARDMINT_USERNAME and CARDMINT_PASSWORD, or neither".into(),
            ));
        }
    };
    if !args.addr.ip().is_loopback() {
        eprintln!(
            "warning: the sandbox listens on {} and is reachable from other machines",
            args.addr
        );
    }
    let fault_commands = crate::sandbox::parse_fault_commands(&args.fault_commands.join(","))
        .map_err(|reason| Error::Usage(format!("--fault-commands: {reason}")))?;
    let options = SandboxOptions {
        addr: args.addr,
        state_path: args.state,
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.faults,
        fault_kinds: args.fault_kinds,
        fault_commands,
        seed: args.seed,
        slow: Duration::from_millis(args.slow_ms),
        clock_offset: chrono::Duration::milliseconds(args.clock_offset_ms),
        call_at_block: args.call_at_block,
        call_at_block_reads: args.call_at_block_reads,
        late: Duration::from_millis(args.late_ms),
        late_after_reads: args.late_after_reads,
        usage: Usage {
            calls_per_min: args.calls_per_min,
            price_per_min: args.price_per_min,
        },
        credentials,
        reseller_credit: args.credit,
    };
    let sandbox = Sandbox::start(options)?;
    out!("listening on {}", sandbox.url());
    let _ = std::io::stdout().flush();
    wait_for_signal().map_err(Error::io("wait for signals"))?;
    sandbox.stop()?;
    Ok(Exit::Success)
}

/// Blocks until Ctrl-C or SIGTERM.
fn wait_for_signal() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    })
}
