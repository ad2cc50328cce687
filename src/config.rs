//! Credentials and settings: environment, then the config file, into one validated `Config`.
//!
//! Owns the `Secret` type and the rule that a reseller login never comes from argv. Knows
//! nothing of HTTP, SQL or cards: other modules receive the validated values.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The platform's production endpoint.
pub const DEFAULT_API_URL: &str = "https://www.voipinfocenter.com/API/Request.ashx";
/// Reseller username the sandbox accepts when `CARDMINT_USERNAME` is unset.
pub const SANDBOX_USERNAME: &str = "sandbox";
/// Reseller password the sandbox accepts when `CARDMINT_PASSWORD` is unset.
pub const SANDBOX_PASSWORD: &str = "sandbox-password";

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// A value that must never be printed: `Debug` and `Display` show `***`.
///
/// The only way to the text is [`Secret::expose`], so every use is deliberate and greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The reseller's own login on the platform.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    /// The login the sandbox expects when none is configured.
    pub fn sandbox_default() -> Self {
        Credentials {
            username: SANDBOX_USERNAME.to_string(),
            password: Secret::new(SANDBOX_PASSWORD),
        }
    }
}

/// Everything the API client needs, validated.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub url: String,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {path} belongs to another user (uid {owner}); cardmint reads only its own \
         user's config, which holds the login: use your own file (CARDMINT_CONFIG)"
    )]
    NotOwned { path: PathBuf, owner: u32 },
    #[error(
        "config file {path} can be read or written by other users (mode {mode:o}); \
         run `chmod 600 {path}` and try again"
    )]
    FileTooOpen { path: PathBuf, mode: u32 },
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(
        "no reseller login: set CARDMINT_USERNAME and CARDMINT_PASSWORD, or put \
         [reseller] username and password in {hint} (or use --sandbox)"
    )]
    MissingCredentials { hint: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

/// The config file as written by the user; unknown keys are an error so typos are caught.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    reseller: FileReseller,
    #[serde(default)]
    api: FileApi,
    /// Values for card templates (brand, access_numbers, support, ...).
    #[serde(default)]
    values: BTreeMap<String, String>,
    /// Calibration per printer, in mm.
    #[serde(default)]
    printers: BTreeMap<String, PrinterOffsets>,
    /// The card holders' web page.
    #[serde(default)]
    portal: PortalSettings,
}

/// The `[portal]` table: how the card holders' page looks and where it stands.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// The main colour (`#rrggbb`): the header and the buttons.
    pub colour: Option<String>,
    /// A PNG shown in the header (default: the shipped logo).
    pub logo: Option<PathBuf>,
    /// Where the holder downloads a softphone.
    pub softphone_url: Option<String>,
    /// The region national phone numbers are read in (ISO code, e.g. GB).
    pub region: Option<String>,
    /// The time zone the page shows times in (IANA name, e.g. Europe/London; UTC by default).
    pub time_zone: Option<String>,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a
    /// reverse proxy that sets it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Minutes a signed-in session lasts without a request (default 20).
    pub session_minutes: Option<u64>,
    /// Sign-in checks a minute for the whole page, whatever the number of visitors (default
    /// 120): past it, attempts are answered as failed, later, and counted. Each check asks
    /// the platform at most one validateuser.
    pub signin_checks_per_minute: Option<u32>,
    /// The IPv6 prefix a client's network is counted by, for the sign-in limits (default 64:
    /// a home or a server is given a /64).
    pub ipv6_prefix: Option<u8>,
    /// A folder of Fluent catalogs (`TAG.ftl`) that add languages to the page or override
    /// the shipped messages.
    pub locales: Option<PathBuf>,
}

/// A printer's calibration: where its fronts and backs land, relative to where they should.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterOffsets {
    #[serde(default)]
    pub front_x: f64,
    #[serde(default)]
    pub front_y: f64,
    #[serde(default)]
    pub back_x: f64,
    #[serde(default)]
    pub back_y: f64,
}

/// Saves a printer's calibration in the config file (`./cardmint.toml` when there is none yet):
/// its `[printers.NAME]` table is replaced, or appended; every other line stays as it was. The
/// file is written atomically and owner-only. Returns the file's path.
pub fn save_printer(
    config: &Config,
    name: &str,
    offsets: &PrinterOffsets,
) -> Result<PathBuf, ConfigError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::Invalid {
            field: "--printer".into(),
            reason: format!("{name:?}: a printer name is letters, digits, - and _"),
        });
    }
    let path = config
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("cardmint.toml"));
    let text = if path.exists() {
        read_file(&path)?; // refuses a file others can read, and a broken one
        std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?
    } else {
        String::new()
    };
    let updated = with_printer(&text, name, offsets);
    // The result must still be a valid config with these offsets.
    let parsed: FileConfig = toml::from_str(&updated).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: describe_toml_error(&updated, &e),
    })?;
    debug_assert_eq!(parsed.printers.get(name), Some(offsets));
    crate::atomic::write(&path, updated.as_bytes(), crate::atomic::PRIVATE).map_err(|source| {
        ConfigError::Read {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

/// The config text with `[printers.NAME]` set to `offsets`.
fn with_printer(text: &str, name: &str, o: &PrinterOffsets) -> String {
    let header = format!("[printers.{name}]");
    let table = format!(
        "{header}\nfront_x = {}\nfront_y = {}\nback_x = {}\nback_y = {}\n",
        o.front_x, o.front_y, o.back_x, o.back_y
    );
    let mut out = String::new();
    let mut skipping = false;
    let mut replaced = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed == header;
            if skipping {
                out.push_str(&table);
                replaced = true;
                continue;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&table);
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileReseller {
    username: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileApi {
    url: Option<String>,
    timeout_secs: Option<f64>,
    connect_timeout_secs: Option<f64>,
    /// How long a settle read waits after a change whose outcome is unknown.
    settle_delay_secs: Option<f64>,
}

/// Where settings come from; a seam so tests can supply an environment without touching the
/// process's own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Where the ledger is: `--ledger`, else `CARDMINT_LEDGER`, else `./cardmint.db`.
pub fn ledger_path(flag: Option<&Path>, env: &dyn Env) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| env.var("CARDMINT_LEDGER").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("cardmint.db"))
}

/// The embedded sandbox's state file: beside the ledger, named after it.
pub fn sandbox_state_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(".sandbox.json");
    PathBuf::from(name)
}

/// Test and demo knobs of the embedded sandbox (`--sandbox`), from the environment:
/// `CARDMINT_SANDBOX_LATENCY_MS`, `CARDMINT_SANDBOX_FAULTS` (0 to 1),
/// `CARDMINT_SANDBOX_FAULT_KINDS`, `CARDMINT_SANDBOX_LATE_MS`,
/// `CARDMINT_SANDBOX_LATE_AFTER_READS`, `CARDMINT_SANDBOX_CALLS_PER_MIN`,
/// `CARDMINT_SANDBOX_PRICE_PER_MIN`, `CARDMINT_SANDBOX_SEED`.
#[derive(Debug, Clone, Default)]
pub struct SandboxKnobs {
    pub latency_ms: u64,
    pub faults: f64,
    /// `CARDMINT_SANDBOX_FAULT_KINDS` (`lost,error,slow,late`), as given; `None`: the default.
    pub fault_kinds: Option<String>,
    /// `CARDMINT_SANDBOX_FAULT_COMMANDS`: only these commands meet faults (all when unset), as
    /// given.
    pub fault_commands: Option<String>,
    /// `CARDMINT_SANDBOX_LATE_MS`: how long after the request a late change lands.
    pub late_ms: Option<u64>,
    /// `CARDMINT_SANDBOX_LATE_AFTER_READS`: a late change also lands once this many requests
    /// about its account were answered (0: off).
    pub late_after_reads: u32,
    /// `CARDMINT_SANDBOX_CALLS_PER_MIN`: calls per minute on each unblocked account with credit.
    pub calls_per_min: f64,
    /// `CARDMINT_SANDBOX_PRICE_PER_MIN`: what a minute of those calls costs.
    pub price_per_min: Option<rust_decimal::Decimal>,
    pub seed: u64,
}

fn sandbox_knobs(env: &dyn Env) -> Result<SandboxKnobs, ConfigError> {
    fn parse<T: std::str::FromStr>(
        env: &dyn Env,
        name: &str,
        default: T,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T, ConfigError> {
        match env.var(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .ok()
                .filter(|x| ok(x))
                .ok_or_else(|| ConfigError::Invalid {
                    field: name.to_string(),
                    reason: format!("{v:?} is not valid"),
                }),
        }
    }
    Ok(SandboxKnobs {
        latency_ms: parse(env, "CARDMINT_SANDBOX_LATENCY_MS", 0, |_| true)?,
        faults: parse(env, "CARDMINT_SANDBOX_FAULTS", 0.0, |p: &f64| {
            (0.0..=1.0).contains(p)
        })?,
        fault_kinds: env.var("CARDMINT_SANDBOX_FAULT_KINDS"),
        fault_commands: env.var("CARDMINT_SANDBOX_FAULT_COMMANDS"),
        late_ms: env
            .var("CARDMINT_SANDBOX_LATE_MS")
            .map(|_| parse(env, "CARDMINT_SANDBOX_LATE_MS", 0, |_| true))
            .transpose()?,
        late_after_reads: parse(env, "CARDMINT_SANDBOX_LATE_AFTER_READS", 0, |_| true)?,
        calls_per_min: parse(env, "CARDMINT_SANDBOX_CALLS_PER_MIN", 0.0, |r: &f64| {
            (0.0..=600.0).contains(r)
        })?,
        price_per_min: env
            .var("CARDMINT_SANDBOX_PRICE_PER_MIN")
            .map(|_| {
                parse(
                    env,
                    "CARDMINT_SANDBOX_PRICE_PER_MIN",
                    rust_decimal::Decimal::ZERO,
                    |p| !p.is_sign_negative(),
                )
            })
            .transpose()?,
        seed: parse(env, "CARDMINT_SANDBOX_SEED", 1, |_| true)?,
    })
}

/// The environment variables cardmint reads, with what each does (the manual page's
/// ENVIRONMENT; a test checks that every `CARDMINT_` name this file reads is here, test hooks
/// apart).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "CARDMINT_USERNAME",
        "the reseller login (overrides [reseller] username)",
    ),
    (
        "CARDMINT_PASSWORD",
        "the reseller password (overrides [reseller] password)",
    ),
    (
        "CARDMINT_CONFIG",
        "the config file (else ./cardmint.toml, else $XDG_CONFIG_HOME/cardmint/cardmint.toml)",
    ),
    (
        "CARDMINT_LEDGER",
        "the ledger file (else ./cardmint.db); --ledger overrides it",
    ),
    (
        "CARDMINT_API_URL",
        "the platform's API address (overrides [api] url)",
    ),
    (
        "CARDMINT_TIMEOUT_MS",
        "a whole request's timeout in milliseconds (overrides [api] timeout_secs)",
    ),
    (
        "CARDMINT_SETTLE_DELAY_MS",
        "the wait before a lost answer is judged (overrides [api] settle_delay_secs)",
    ),
    (
        "CARDMINT_SANDBOX_LATENCY_MS",
        "--sandbox: latency added to every answer",
    ),
    (
        "CARDMINT_SANDBOX_FAULTS",
        "--sandbox: probability (0 to 1) that a request meets a fault",
    ),
    (
        "CARDMINT_SANDBOX_FAULT_KINDS",
        "--sandbox: which faults (as `cardmint sandbox --fault-kinds`)",
    ),
    (
        "CARDMINT_SANDBOX_FAULT_COMMANDS",
        "--sandbox: the commands faults are limited to",
    ),
    (
        "CARDMINT_SANDBOX_LATE_MS",
        "--sandbox: how late a late change lands",
    ),
    (
        "CARDMINT_SANDBOX_LATE_AFTER_READS",
        "--sandbox: land a late change after this many reads",
    ),
    (
        "CARDMINT_SANDBOX_CALLS_PER_MIN",
        "--sandbox: calls a minute made by every account with credit",
    ),
    (
        "CARDMINT_SANDBOX_PRICE_PER_MIN",
        "--sandbox: the price of a minute of those calls",
    ),
    (
        "CARDMINT_SANDBOX_SEED",
        "--sandbox: the seed of its faults and calls",
    ),
    (
        "XDG_CONFIG_HOME, HOME",
        "where the user's config file is looked for",
    ),
];

/// [`ENVIRONMENT`] as the Markdown table of `docs/reference/environment.md` (a test checks
/// the page against it).
pub fn environment_table() -> String {
    let mut text = String::from("| variable | what it does |\n| --- | --- |\n");
    for (name, what) in ENVIRONMENT {
        text.push_str(&format!("| `{name}` | {what} |\n"));
    }
    text
}

/// The config file to read: `CARDMINT_CONFIG`, else `./cardmint.toml`, else
/// `$XDG_CONFIG_HOME/cardmint/cardmint.toml` (or `~/.config/...`), the first that exists.
fn config_path(env: &dyn Env) -> Option<PathBuf> {
    if let Some(p) = env.var("CARDMINT_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let local = PathBuf::from("cardmint.toml");
    if local.exists() {
        return Some(local);
    }
    let base = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env.var("HOME").map(|h| Path::new(&h).join(".config")))?;
    let user = base.join("cardmint").join("cardmint.toml");
    user.exists().then_some(user)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::FileTooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    // A file someone else owns could point the login at their endpoint.
    if let Some(me) = crate::lockfile::current_uid() {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != me {
            return Err(ConfigError::NotOwned {
                path: path.to_path_buf(),
                owner: meta.uid(),
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // toml's message names the line and column and quotes the offending line; that line may
    // hold the password, so only the first line of the message (the position and what was
    // wrong) is kept.
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: describe_toml_error(&text, &e),
    })
}

fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let reason = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start].matches('\n').count() + 1;
            let column = span.start - text[..span.start].rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {reason}")
        }
        None => reason,
    }
}

fn seconds(field: &str, value: Option<f64>, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 && v <= 600.0 => Ok(Duration::from_secs_f64(v)),
        Some(v) => Err(ConfigError::Invalid {
            field: field.to_string(),
            reason: format!("{v}: give a number of seconds above 0, at most 600"),
        }),
    }
}

/// The whole-request timeout: `CARDMINT_TIMEOUT_MS`, else `[api] timeout_secs`, else 20 s.
fn request_timeout(env: &dyn Env, file: &FileConfig) -> Result<Duration, ConfigError> {
    let mut timeout = seconds("api.timeout_secs", file.api.timeout_secs, DEFAULT_TIMEOUT)?;
    if let Some(ms) = env.var("CARDMINT_TIMEOUT_MS") {
        timeout = ms
            .parse::<u64>()
            .ok()
            .filter(|ms| (1..=600_000).contains(ms))
            .map(Duration::from_millis)
            .ok_or_else(|| ConfigError::Invalid {
                field: "CARDMINT_TIMEOUT_MS".to_string(),
                reason: format!("{ms:?} is not a number of milliseconds between 1 and 600000"),
            })?;
    }
    Ok(timeout)
}

/// Everything a command takes from the environment and the config file, read and validated
/// once ([`Config::load`]) and passed down: nothing reads either again, so a file edited
/// while a command runs changes nothing it does (the cards it checked before sending are the
/// cards it prints).
#[derive(Debug, Clone)]
pub struct Config {
    /// The file read (none: no file, every default).
    pub path: Option<PathBuf>,
    username: Option<String>,
    password: Option<Secret>,
    api_url: Option<String>,
    /// A whole request's timeout (`CARDMINT_TIMEOUT_MS`, else `[api] timeout_secs`, else 20 s).
    pub timeout: Duration,
    /// The connection's timeout (`[api] connect_timeout_secs`, at most the request's).
    pub connect_timeout: Duration,
    /// `CARDMINT_SETTLE_DELAY_MS` (the tests' override).
    settle_delay_env: Option<Duration>,
    /// `[api] settle_delay_secs`.
    settle_delay_file: Option<Duration>,
    /// Values for the card designs (`[values]`: brand, access_numbers, support, ...).
    pub values: BTreeMap<String, String>,
    /// Calibration per printer (`[printers.NAME]`), in mm.
    pub printers: BTreeMap<String, PrinterOffsets>,
    /// The card holders' page (`[portal]`), checked.
    pub portal: Portal,
    /// The embedded sandbox's knobs (`CARDMINT_SANDBOX_*`).
    pub sandbox: SandboxKnobs,
    /// The tests' hooks (`CARDMINT_TEST_*`).
    pub hooks: TestHooks,
}

/// The `[portal]` table, every key checked.
#[derive(Debug, Clone)]
pub struct Portal {
    /// The main colour, as red, green, blue.
    pub colour: Option<(u8, u8, u8)>,
    /// A PNG for the header: checked by [`Portal::logo`] (read when the page starts).
    pub logo: Option<PathBuf>,
    /// Where the holder downloads a softphone (https).
    pub softphone_url: Option<String>,
    /// The region national phone numbers are read in (an ISO code, checked).
    pub region: Option<String>,
    pub time_zone: chrono_tz::Tz,
    pub trust_forwarded_for: bool,
    /// How long a signed-in session lasts without a request.
    pub session_idle: Duration,
    /// Sign-in checks a minute for the whole page.
    pub signin_checks_per_minute: Option<u32>,
    /// The IPv6 prefix a client's network is counted by.
    pub ipv6_prefix: u8,
    /// The reseller's own catalogs (`[portal] locales`).
    pub locales: Option<PathBuf>,
}

impl Portal {
    /// The logo's bytes: a PNG of at most 1 MB, or `None` for the shipped one.
    pub fn logo(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = &self.logo else {
            return Ok(None);
        };
        let bytes = std::fs::read(path)
            .map_err(|e| invalid("[portal] logo", format!("{}: {e}", path.display())))?;
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() > 1 << 20 {
            return Err(invalid(
                "[portal] logo",
                format!("{}: give a PNG file of at most 1 MB", path.display()),
            ));
        }
        Ok(Some(bytes))
    }
}

/// The tests' hooks, from `CARDMINT_TEST_*` variables (never documented for resellers).
#[derive(Debug, Clone, Default)]
pub struct TestHooks {
    /// `CARDMINT_TEST_SESSION_SECS`: the portal's session idle time in seconds (tests of
    /// expiry cannot wait the minutes `[portal] session_minutes` counts in).
    pub session_secs: Option<u64>,
    /// `CARDMINT_TEST_SIGNIN_ANSWER_MS`: when a failed sign-in is answered (tests make many).
    pub signin_answer_ms: Option<u64>,
    /// `CARDMINT_TEST_BODY_TIMEOUT_MS`: how long the portal waits for a request's body.
    pub body_timeout_ms: Option<u64>,
    /// `CARDMINT_TEST_CHANGE_WAIT_MS`: how long a portal page waits for a change before it
    /// says the change is being confirmed.
    pub change_wait_ms: Option<u64>,
    /// `CARDMINT_TEST_FRESH_MS`: how long the portal shows a read again before it reads anew.
    pub fresh_ms: Option<u64>,
    /// `CARDMINT_TEST_KILL_AT` (`KIND:before-send`, `KIND:after-answer`, `#N`), as given; the
    /// runner parses it.
    pub kill_at: Option<String>,
}

fn invalid(field: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason,
    }
}

/// Checks a `#rrggbb` colour.
pub fn parse_colour(text: &str) -> Result<(u8, u8, u8), String> {
    let hex = text.trim().strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{text:?}: give a colour as #rrggbb"));
    }
    let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    Ok((v(0), v(2), v(4)))
}

impl PortalSettings {
    /// Every key checked, defaults filled in.
    fn checked(self) -> Result<Portal, ConfigError> {
        let colour = self
            .colour
            .as_deref()
            .map(parse_colour)
            .transpose()
            .map_err(|r| invalid("[portal] colour", r))?;
        if let Some(url) = &self.softphone_url
            && !url.starts_with("https://")
        {
            return Err(invalid(
                "[portal] softphone_url",
                format!("{url:?}: give an https:// address"),
            ));
        }
        let ipv6_prefix = self.ipv6_prefix.unwrap_or(64);
        if !(16..=128).contains(&ipv6_prefix) {
            return Err(invalid(
                "[portal] ipv6_prefix",
                format!(
                    "{ipv6_prefix}: give a prefix length from 16 to 128 (64 counts a home or \
                     server)"
                ),
            ));
        }
        if self.session_minutes == Some(0) {
            return Err(invalid(
                "[portal] session_minutes",
                "0: give at least 1 (every holder would be signed out at once)".into(),
            ));
        }
        if self.signin_checks_per_minute == Some(0) {
            return Err(invalid(
                "[portal] signin_checks_per_minute",
                "0: give at least 1 (nobody could sign in)".into(),
            ));
        }
        let time_zone = match &self.time_zone {
            None => chrono_tz::UTC,
            Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
                invalid(
                    "[portal] time_zone",
                    format!(
                        "{name:?}: not a time zone name; give one of the IANA database, such \
                         as Europe/London or Asia/Karachi"
                    ),
                )
            })?,
        };
        if let Some(r) = &self.region {
            crate::import::parse_region(r).map_err(|e| invalid("[portal] region", e))?;
        }
        Ok(Portal {
            colour,
            logo: self.logo,
            softphone_url: self.softphone_url,
            region: self.region,
            time_zone,
            trust_forwarded_for: self.trust_forwarded_for,
            session_idle: Duration::from_secs(
                60 * self.session_minutes.unwrap_or(20).clamp(1, 24 * 60),
            ),
            signin_checks_per_minute: self.signin_checks_per_minute,
            ipv6_prefix,
            locales: self.locales,
        })
    }
}

impl Config {
    /// Reads the environment and the config file (`CARDMINT_CONFIG`, else `./cardmint.toml`,
    /// else the user's) once, and checks every value.
    pub fn load(env: &dyn Env) -> Result<Config, ConfigError> {
        let path = config_path(env);
        let file = match &path {
            Some(p) if p.exists() || env.var("CARDMINT_CONFIG").is_some() => read_file(p)?,
            _ => FileConfig::default(),
        };
        let path = path.filter(|p| p.exists());
        let timeout = request_timeout(env, &file)?;
        let connect_timeout = seconds(
            "api.connect_timeout_secs",
            file.api.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
        )?
        .min(timeout);
        let settle_delay_env = env
            .var("CARDMINT_SETTLE_DELAY_MS")
            .map(|ms| {
                ms.parse::<u64>()
                    .ok()
                    .filter(|ms| *ms <= 3_600_000)
                    .map(Duration::from_millis)
                    .ok_or_else(|| {
                        invalid(
                            "CARDMINT_SETTLE_DELAY_MS",
                            format!("{ms:?} is not a number of milliseconds up to 3600000"),
                        )
                    })
            })
            .transpose()?;
        let settle_delay_file = file
            .api
            .settle_delay_secs
            .map(|secs| seconds("api.settle_delay_secs", Some(secs), DEFAULT_TIMEOUT))
            .transpose()?;
        let number = |name: &str| env.var(name).and_then(|v| v.parse().ok());
        Ok(Config {
            path,
            username: env.var("CARDMINT_USERNAME").or(file.reseller.username),
            password: env
                .var("CARDMINT_PASSWORD")
                .or(file.reseller.password)
                .map(Secret::new),
            api_url: env.var("CARDMINT_API_URL").or(file.api.url),
            timeout,
            connect_timeout,
            settle_delay_env,
            settle_delay_file,
            values: file.values,
            printers: file.printers,
            portal: file.portal.checked()?,
            sandbox: sandbox_knobs(env)?,
            hooks: TestHooks {
                session_secs: number("CARDMINT_TEST_SESSION_SECS"),
                signin_answer_ms: number("CARDMINT_TEST_SIGNIN_ANSWER_MS"),
                body_timeout_ms: number("CARDMINT_TEST_BODY_TIMEOUT_MS"),
                change_wait_ms: number("CARDMINT_TEST_CHANGE_WAIT_MS"),
                fresh_ms: number("CARDMINT_TEST_FRESH_MS"),
                kill_at: env.var("CARDMINT_TEST_KILL_AT"),
            },
        })
    }

    /// How long a settle read waits after a change whose outcome is unknown, so that a
    /// change the platform applies late has landed: `CARDMINT_SETTLE_DELAY_MS` (the tests'),
    /// else `--settle-delay` (`flag`), else `[api] settle_delay_secs`, else three times the
    /// request timeout, counted from when the client gave up on the answer (a change that
    /// lands later than that is beyond what waiting can cover; docs/guide/exactly-once.md says so). With it,
    /// the warning for a flag or config key shorter than the request timeout (such a settle
    /// read may come before a late change lands, and the change be sent again); never for
    /// the tests' override or the default.
    pub fn settle_delay(&self, flag: Option<Duration>) -> (Duration, Option<String>) {
        if flag.is_none()
            && let Some(delay) = self.settle_delay_env
        {
            return (delay, None);
        }
        let (delay, named) = match (flag, self.settle_delay_file) {
            (Some(delay), _) => (delay, "--settle-delay"),
            (None, Some(delay)) => (delay, "[api] settle_delay_secs"),
            (None, None) => return (self.timeout * 3, None),
        };
        let warning = (delay < self.timeout).then(|| {
            format!(
                "warning: {named} {:.1} s is shorter than the request timeout ({:.1} s): a \
                 change the platform applies after cardmint gave up on its answer may land \
                 after the settle read and be sent again",
                delay.as_secs_f64(),
                self.timeout.as_secs_f64()
            )
        });
        (delay, warning)
    }

    /// The API settings. With `sandbox_url` the embedded sandbox is the target and its
    /// default login stands in when none is configured.
    /// The platform's API address: `[api] url`, `CARDMINT_API_URL`, else the platform's own.
    pub fn endpoint(&self) -> &str {
        self.api_url.as_deref().unwrap_or(DEFAULT_API_URL)
    }

    pub fn api_settings(&self, sandbox_url: Option<&str>) -> Result<ApiSettings, ConfigError> {
        let credentials = match (&self.username, &self.password) {
            (Some(username), Some(password)) => Credentials {
                username: username.clone(),
                password: password.clone(),
            },
            (None, None) if sandbox_url.is_some() => Credentials::sandbox_default(),
            _ => {
                return Err(ConfigError::MissingCredentials {
                    hint: self
                        .path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "cardmint.toml".to_string()),
                });
            }
        };
        let url = sandbox_url.unwrap_or(self.endpoint()).to_string();
        Ok(ApiSettings {
            url,
            credentials,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, String>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    #[test]
    fn every_variable_read_here_is_in_the_manual() {
        let source = include_str!("config.rs");
        let mut read: Vec<&str> = source
            .split('"')
            .filter(|s| s.len() > "CARDMINT_".len() && s.starts_with("CARDMINT_"))
            .filter(|s| !s.starts_with("CARDMINT_TEST_"))
            .filter(|s| s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .collect();
        read.sort_unstable();
        read.dedup();
        for name in read {
            assert!(
                ENVIRONMENT.iter().any(|(n, _)| *n == name),
                "{name} is read but not in ENVIRONMENT"
            );
        }
    }

    #[test]
    fn every_key_config_init_writes_is_one_cardmint_reads() {
        // `config init` writes every key, commented; uncommented, the file must load (unknown
        // keys are refused), and it names every section a reseller may need, [portal] too.
        let example = include_str!("../templates/config/cardmint.toml");
        let uncommented: String = example
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                        }) =>
                {
                    rest.to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: FileConfig =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        for section in ["[reseller]", "[api]", "[values]", "[portal]", "[printers."] {
            assert!(example.contains(section), "{section}");
        }
        let portal = parsed.portal;
        assert!(portal.time_zone.is_some() && portal.ipv6_prefix.is_some());
    }

    fn env_with_file(dir: &Path, text: &str, mode: u32) -> MapEnv {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("cardmint.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        MapEnv(HashMap::from([(
            "CARDMINT_CONFIG",
            path.display().to_string(),
        )]))
    }

    #[test]
    fn a_settle_delay_shorter_than_the_timeout_is_warned_of_and_the_default_is_three_timeouts() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_file(
            dir.path(),
            "[api]\ntimeout_secs = 10\nsettle_delay_secs = 4\n",
            0o600,
        );
        let (delay, warning) = Config::load(&env).unwrap().settle_delay(None);
        assert_eq!(delay, Duration::from_secs(4));
        let warning = warning.unwrap();
        assert!(
            warning.contains(
                "[api] settle_delay_secs 4.0 s is shorter than the request timeout (10.0 s)"
            ),
            "{warning}"
        );
        let config = Config::load(&env).unwrap();
        let flag = config.settle_delay(Some(Duration::from_secs(2))).1.unwrap();
        assert!(flag.starts_with("warning: --settle-delay 2.0 s"), "{flag}");
        assert_eq!(
            config.settle_delay(Some(Duration::from_secs(10))),
            (Duration::from_secs(10), None)
        );
        // The default: three request timeouts, never warned of.
        let env = env_with_file(dir.path(), "[api]\ntimeout_secs = 10\n", 0o600);
        assert_eq!(
            Config::load(&env).unwrap().settle_delay(None),
            (Duration::from_secs(30), None)
        );
    }

    #[test]
    fn a_printer_is_saved_without_touching_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# mine\n[reseller]\nusername = \"r\"\npassword = \"p\"\n\n[printers.office]\nfront_x = 1\n\n[values]\nbrand = \"B\"\n";
        let env = env_with_file(dir.path(), text, 0o600);
        let o = PrinterOffsets {
            front_x: 0.4,
            front_y: -0.2,
            back_x: 0.0,
            back_y: 1.5,
        };
        let path = save_printer(&Config::load(&env).unwrap(), "office", &o).unwrap();
        save_printer(
            &Config::load(&env).unwrap(),
            "lab",
            &PrinterOffsets::default(),
        )
        .unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(
            saved.starts_with("# mine\n[reseller]\nusername = \"r\"\npassword = \"p\"\n"),
            "{saved}"
        );
        assert!(
            saved.contains("[values]\nbrand = \"B\"") && saved.contains("[printers.lab]"),
            "{saved}"
        );
        assert_eq!(saved.matches("[printers.office]").count(), 1);
        let settings = Config::load(&env).unwrap();
        assert_eq!(settings.printers["office"], o);
        assert_eq!(settings.values["brand"], "B");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(save_printer(&settings, "bad name", &o).is_err());
    }

    #[test]
    fn zero_where_zero_means_nothing_is_refused_in_plain_words() {
        let dir = tempfile::tempdir().unwrap();
        for (text, field, says) in [
            (
                "[portal]\nsession_minutes = 0\n",
                "[portal] session_minutes",
                "at least 1",
            ),
            (
                "[api]\ntimeout_secs = 0\n",
                "api.timeout_secs",
                "above 0, at most 600",
            ),
        ] {
            let env = env_with_file(dir.path(), text, 0o600);
            let err = Config::load(&env).unwrap_err().to_string();
            assert!(err.starts_with(field) && err.contains(says), "{err}");
        }
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let c = Credentials {
            username: "r".into(),
            password: s,
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn refuses_config_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_file(
            dir.path(),
            "[reseller]\nusername = \"r\"\npassword = \"p\"\n",
            0o644,
        );
        let err = Config::load(&env).unwrap_err();
        assert!(matches!(err, ConfigError::FileTooOpen { mode: 0o644, .. }));
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn reads_owner_only_config() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_file(
            dir.path(),
            "[reseller]\nusername = \"r\"\npassword = \"p\"\n[api]\ntimeout_secs = 3\n",
            0o600,
        );
        let s = Config::load(&env).unwrap().api_settings(None).unwrap();
        assert_eq!(s.credentials.username, "r");
        assert_eq!(s.credentials.password.expose(), "p");
        assert_eq!(s.url, DEFAULT_API_URL);
        assert_eq!(s.timeout, Duration::from_secs(3));
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn config_errors_name_the_line_and_hide_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_file(
            dir.path(),
            "[reseller]\nusername = \"r\"\npasword = \"topsecret\"\n",
            0o600,
        );
        let msg = Config::load(&env).unwrap_err().to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("pasword"), "{msg}");
        assert!(!msg.contains("topsecret"), "{msg}");
    }

    #[test]
    fn environment_overrides_file_and_sandbox_has_a_default_login() {
        let env = MapEnv(HashMap::from([("HOME", "/nonexistent".to_string())]));
        let config = Config::load(&env).unwrap();
        assert!(matches!(
            config.api_settings(None),
            Err(ConfigError::MissingCredentials { .. })
        ));
        let s = config
            .api_settings(Some("http://127.0.0.1:1/API/Request.ashx"))
            .unwrap();
        assert_eq!(s.credentials.username, SANDBOX_USERNAME);
    }
}
