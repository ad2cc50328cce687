//! What every subcommand shares: the global flags, turned once into a ledger and a client
//! (the platform, or an embedded sandbox beside the ledger).

use std::path::PathBuf;

use crate::api::Client;
use crate::config::{self, Config, ProcessEnv};
use crate::error::Error;
use crate::ledger::{Batch, Card, Ledger, Platform};
use crate::runner::{Options, Run, RunError};
use crate::sandbox::{Fault, Sandbox, SandboxOptions, Usage};

use super::progress::Progress;

/// The global flags.
#[derive(Debug, Clone)]
pub struct Global {
    pub ledger: Option<PathBuf>,
    pub sandbox: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// The result as one JSON document on stdout; lines for the user go to stderr.
    pub json: bool,
    /// This process's command line, to name it as the ledger's lock holder.
    pub command_line: String,
    /// The environment and the config file, read at the first use and never again.
    pub config: std::sync::OnceLock<Config>,
}

/// A client and, with `--sandbox`, the sandbox it talks to (stopped and saved on drop).
pub struct Connection {
    pub client: Client,
    /// What the client talks to, as a batch records it.
    pub platform: Platform,
    /// The login check passed on this connection.
    checked: std::sync::OnceLock<()>,
    /// The one throttle of every request on this connection: the login check and the runs.
    pub throttle: std::sync::Arc<crate::runner::throttle::Throttle>,
    _sandbox: Option<Shared>,
}

/// An embedded sandbox this process runs, with the file that tells other `--sandbox` commands
/// on the same ledger where it listens (removed when it stops).
struct Shared {
    sandbox: Sandbox,
    url_file: std::path::PathBuf,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.url_file);
        let _ = &self.sandbox;
    }
}

/// Where a running embedded sandbox writes its address: beside its state file.
fn url_file(state: &std::path::Path) -> std::path::PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".url");
    std::path::PathBuf::from(name)
}

/// The address of the embedded sandbox another cardmint runs on this state file (a `--sandbox
/// portal`, say), if it answers.
fn running_sandbox(state: &std::path::Path) -> Option<String> {
    let url = std::fs::read_to_string(url_file(state)).ok()?;
    let url = url.trim().to_string();
    let host = url
        .strip_prefix("http://")?
        .split('/')
        .next()?
        .parse::<std::net::SocketAddr>()
        .ok()?;
    host.ip().is_loopback().then_some(())?;
    std::net::TcpStream::connect_timeout(&host, std::time::Duration::from_secs(1)).ok()?;
    Some(url)
}

impl Connection {
    /// One harmless read (getuserinfo of a name no card uses), sent once: proves that the
    /// endpoint resolves, connects, speaks TLS with a valid certificate, answers like the
    /// platform, and accepts the reseller login. Nothing is changed.
    pub fn check_login(&self) -> Result<(), Error> {
        use crate::api::ApiError;
        if self.checked.get().is_some() {
            return Ok(());
        }
        let fail = |cause: ApiError| {
            Err(Error::Unreachable {
                platform: self.platform.clone(),
                cause,
            })
        };
        // A read is safe to repeat: a lost or garbled answer is asked again (an endpoint that
        // loses some answers can still take a batch); one that is not reached fails at once.
        let mut tries = 0;
        loop {
            tries += 1;
            // Through the throttle like every other request: no window above --rate.
            let permit = self.throttle.acquire();
            let answer = self.client.check_login_once();
            self.throttle.release(
                permit,
                answer.as_ref().err().is_some_and(ApiError::is_overload),
            );
            match answer {
                Ok(()) => {
                    let _ = self.checked.set(());
                    return Ok(());
                }
                Err(ApiError::UnknownOutcome { .. }) if tries < 6 => {
                    std::thread::sleep(std::time::Duration::from_millis(100 * tries));
                }
                Err(e) => return fail(e),
            }
        }
    }

    /// Refuses a batch that lives on another platform, before any request.
    pub fn check_batch(&self, batch: &Batch) -> Result<(), Error> {
        match &batch.platform {
            Some(recorded) if *recorded != self.platform => Err(Error::OtherPlatform {
                batch: batch.id.clone(),
                recorded: recorded.clone(),
                current: self.platform.clone(),
            }),
            _ => Ok(()),
        }
    }
}

impl Global {
    /// Refuses `--json` for a command that prints no JSON document (rather than ignoring it).
    pub fn no_json(&self, command: &str) -> Result<(), Error> {
        if self.json {
            return Err(Error::Usage(format!(
                "--json: `cardmint {command}` has no JSON document to print; leave --json out"
            )));
        }
        Ok(())
    }

    /// Prints the command's result document when `--json` asked for it.
    pub fn emit(&self, doc: serde_json::Value) {
        if self.json {
            out!("{doc}");
        }
    }

    /// The configuration, read and checked once per command (the first call reads it; an
    /// error is an error of the command).
    pub fn config(&self) -> Result<&Config, Error> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let loaded = Config::load(&ProcessEnv)?;
        Ok(self.config.get_or_init(|| loaded))
    }

    pub fn ledger_path(&self) -> PathBuf {
        config::ledger_path(self.ledger.as_deref(), &ProcessEnv)
    }

    /// The ledger for reading (commands that change no card).
    /// A command that only reads never creates one: a missing ledger is an error that says
    /// where cardmint looked.
    pub fn open_ledger(&self) -> Result<Ledger, Error> {
        let path = self.ledger_path();
        if !path.exists() {
            return Err(Error::NotFound(format!(
                "no ledger at {}: no batch was issued with it; run the command in the folder of \
                 your batches, or give --ledger PATH (or CARDMINT_LEDGER)",
                path.display()
            )));
        }
        Ok(self.said_migration(Ledger::open(&path)?))
    }

    /// Says once that opening the ledger brought it to this cardmint's schema, and where the
    /// copy from before is.
    fn said_migration(&self, ledger: Ledger) -> Ledger {
        if let Some((from, copy)) = ledger.migrated()
            && !self.quiet
        {
            let to = ledger.schema().map(|(found, _)| found).unwrap_or_default();
            eprintln!(
                "ledger {}: schema {from} brought to {to}; the ledger as it was is kept, checked, \
                 as {}",
                ledger.path().display(),
                copy.display()
            );
        }
        ledger
    }

    /// The ledger for a command that sends changes or changes cards: locked for this process
    /// until it ends, so a second one is refused with the holder's name.
    pub fn open_ledger_for_changes(&self) -> Result<Ledger, Error> {
        // From here on, Ctrl-C stops the run cleanly instead of ending the process mid-way.
        crate::runner::interrupt::install();
        Ok(self.said_migration(Ledger::open_for_changes(
            &self.ledger_path(),
            &self.command_line,
        )?))
    }

    /// An output file (`--out`) can be written, and is named for what is written into it
    /// (`kinds`: its extensions, the first named in the message): checked before anything is
    /// read or sent.
    pub fn can_write(&self, out: &std::path::Path, kinds: &[&str]) -> Result<(), Error> {
        if !kinds.iter().any(|k| crate::text::has_extension(out, k)) {
            let named: Vec<String> = kinds.iter().map(|k| format!(".{k}")).collect();
            return Err(Error::Usage(format!(
                "--out {}: name a {} file",
                out.display(),
                crate::text::one_of(&named)
            )));
        }
        crate::atomic::can_write(out).map_err(Error::io(format!("write {}", out.display())))
    }

    /// The platform a command would talk to, its settings checked, without a request: the
    /// real one, or `None` for the sandbox (a dry run judges what it would send by this).
    pub fn platform(&self) -> Result<Option<Platform>, Error> {
        if self.sandbox {
            return Ok(None);
        }
        let settings = self.config()?.api_settings(None)?;
        // The address and the TLS settings are checked as the client is made.
        Client::new(&settings, 1)?;
        Ok(Some(endpoint(&settings)))
    }

    pub fn connect(&self, options: &Options) -> Result<Connection, Error> {
        let pool = options.concurrency;
        let throttle = std::sync::Arc::new(crate::runner::throttle::Throttle::new(
            options.rate,
            options.burst,
            options.concurrency,
        ));
        let config = self.config()?;
        if !self.sandbox {
            let settings = config.api_settings(None)?;
            return Ok(Connection {
                client: Client::new(&settings, pool)?,
                platform: endpoint(&settings),
                checked: Default::default(),
                throttle,
                _sandbox: None,
            });
        }
        let mut settings = config.api_settings(Some("http://127.0.0.1/"))?;
        let knobs = &config.sandbox;
        let defaults = SandboxOptions::new(settings.credentials.clone());
        let fault_kinds = match &knobs.fault_kinds {
            Some(kinds) => {
                Fault::parse_list(kinds).map_err(|reason| config::ConfigError::Invalid {
                    field: "CARDMINT_SANDBOX_FAULT_KINDS".into(),
                    reason,
                })?
            }
            None => defaults.fault_kinds.clone(),
        };
        let state_path = config::sandbox_state_path(&self.ledger_path());
        let started = Sandbox::start(SandboxOptions {
            state_path: Some(state_path.clone()),
            latency: std::time::Duration::from_millis(knobs.latency_ms),
            fault_rate: knobs.faults,
            fault_kinds,
            fault_commands: crate::sandbox::parse_fault_commands(
                knobs.fault_commands.as_deref().unwrap_or(""),
            )
            .map_err(|reason| config::ConfigError::Invalid {
                field: "CARDMINT_SANDBOX_FAULT_COMMANDS".into(),
                reason,
            })?,
            seed: knobs.seed,
            slow: settings.timeout + std::time::Duration::from_secs(1),
            // Past the client's timeout by default: the client has given up when it lands.
            late: knobs.late_ms.map_or(
                settings.timeout + std::time::Duration::from_millis(500),
                std::time::Duration::from_millis,
            ),
            late_after_reads: knobs.late_after_reads,
            usage: Usage {
                calls_per_min: knobs.calls_per_min,
                price_per_min: knobs.price_per_min.unwrap_or(defaults.usage.price_per_min),
            },
            ..defaults
        });
        let shared = match started {
            Ok(sandbox) => {
                settings.url = sandbox.url();
                let url_file = url_file(&state_path);
                // Owner-only, as the state beside it; a write that fails only keeps other
                // commands from sharing this sandbox.
                let _ = crate::atomic::write(
                    &url_file,
                    settings.url.as_bytes(),
                    crate::atomic::PRIVATE,
                );
                Some(Shared { sandbox, url_file })
            }
            // Another cardmint runs the sandbox of this ledger (a `--sandbox portal`): this
            // command talks to it (its fault settings are that process's).
            Err(crate::sandbox::SandboxError::Store(crate::sandbox::StoreError::Locked(e))) => {
                match running_sandbox(&state_path) {
                    Some(url) => {
                        settings.url = url;
                        None
                    }
                    None => {
                        return Err(crate::sandbox::SandboxError::Store(
                            crate::sandbox::StoreError::Locked(e),
                        )
                        .into());
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Connection {
            client: Client::new(&settings, pool)?,
            platform: Platform::Sandbox,
            checked: Default::default(),
            throttle,
            _sandbox: shared,
        })
    }

    pub fn batch(&self, ledger: &Ledger, id: &str) -> Result<Batch, Error> {
        ledger.batch(id)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no batch {id} in {}; `cardmint batches` lists the batches it holds",
                ledger.path().display()
            ))
        })
    }

    /// A card by serial (check digit verified first) or by customer name.
    pub fn card(&self, ledger: &Ledger, key: &str) -> Result<Card, Error> {
        let key = key.trim();
        let looks_like_serial =
            key.len() == crate::codes::SERIAL_WIDTH && key.bytes().all(|b| b.is_ascii_digit());
        if looks_like_serial
            && let Err(e) = crate::codes::parse_serial(key)
            && ledger.find_card(key)?.is_none()
        {
            return Err(Error::Usage(e.to_string()));
        }
        ledger.find_card(key)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no card with serial or customer {key:?} in {}; `cardmint status BATCH` lists a \
                 batch's cards (`cardmint batches` the batches)",
                ledger.path().display()
            ))
        })
    }

    /// Runs `f` through the engine against the platform (or `--sandbox`), with progress.
    pub fn run_engine<T>(
        &self,
        ledger: &Ledger,
        batch_id: Option<&str>,
        items: usize,
        options: &Options,
        f: impl FnOnce(&Run<'_>) -> Result<T, RunError>,
    ) -> Result<T, Error> {
        crate::runner::interrupt::install();
        let connection = self.connect(options)?;
        self.run_engine_with(&connection, ledger, batch_id, items, options, f)
    }

    /// [`Global::run_engine`] on a connection already made.
    pub fn run_engine_with<T>(
        &self,
        connection: &Connection,
        ledger: &Ledger,
        batch_id: Option<&str>,
        items: usize,
        options: &Options,
        f: impl FnOnce(&Run<'_>) -> Result<T, RunError>,
    ) -> Result<T, Error> {
        if let Some(id) = batch_id {
            connection.check_batch(&self.batch(ledger, id)?)?;
        }
        // An endpoint that cannot be reached, or a wrong login, is said in one line at once,
        // not after every card's retries.
        connection.check_login()?;
        let progress = Progress::new(batch_id.unwrap_or("cards"), items, self.quiet, self.verbose);
        let run = Run {
            client: &connection.client,
            ledger: ledger.path(),
            batch_id,
            options,
            observer: &progress,
            throttle: Some(&connection.throttle),
        };
        let result = f(&run);
        progress.finish();
        Ok(result?)
    }

    /// The command line that repeats a batch command with the same ledger and target.
    pub fn command_for(&self, subcommand: &str, batch: &str) -> String {
        let mut line = String::from("cardmint");
        if let Some(l) = &self.ledger {
            line.push_str(&format!(" --ledger {}", crate::text::shell_quote(l)));
        }
        if self.sandbox {
            line.push_str(" --sandbox");
        }
        line.push_str(&format!(" {subcommand} {batch}"));
        line
    }
}

/// The platform of a reseller login at an address.
fn endpoint(settings: &crate::config::ApiSettings) -> Platform {
    Platform::Endpoint {
        url: settings.url.clone(),
        reseller: settings.credentials.username.clone(),
    }
}
