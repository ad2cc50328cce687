//! The HTTP side of the client: one shared `ureq::Agent` (connection pool), explicit timeouts,
//! TLS verification always on, plain http only to loopback, every value percent-encoded.
//!
//! The request URL carries the reseller's password, so it is built here, used once and never
//! stored, logged or put in an error.

use std::fmt;
use std::net::IpAddr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

use super::answer::{self, CallPage, Created, Transaction, UserInfo};
use super::{ApiError, Command, UnknownCause};
use crate::config::{ApiSettings, ConfigError, Secret};

/// Largest `recordcount` the platform accepts.
pub const MAX_RECORD_COUNT: u32 = 500;

/// A client for one reseller login. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    username: String,
    password: Secret,
    /// The platform's clock against ours, from the narrowest `Date` header seen lately
    /// (shared by the clones of one client).
    clock: std::sync::Arc<std::sync::Mutex<Option<crate::clock::Offset>>>,
    /// What the platform's answers were like (shared by the clones of one client).
    health: std::sync::Arc<Health>,
}

/// Counts of the requests a client sent and of those the platform did not answer with a
/// readable 200 (not reached, timed out, an HTTP error status), and when each last happened:
/// what the page's `/health` and metrics say of the platform.
#[derive(Debug, Default)]
pub struct Health {
    pub requests: std::sync::atomic::AtomicU64,
    pub failures: std::sync::atomic::AtomicU64,
    /// Unix ms of the last answer read, and of the last failure (0: never).
    pub last_answer_ms: std::sync::atomic::AtomicI64,
    pub last_failure_ms: std::sync::atomic::AtomicI64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// Paging direction of calloverview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

/// The optional parameters of calloverview; `None` leaves the platform's default.
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    /// UTC; an exclusive bound.
    pub date: Option<NaiveDateTime>,
    pub call_id: Option<u64>,
    /// 1 to 500.
    pub record_count: Option<u32>,
    pub direction: Option<Direction>,
}

/// Percent-encodes everything but the unreserved characters, so `+` becomes `%2B` and a value
/// is encoded exactly once.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What an echoed secret becomes in server text.
pub const REDACTED: &str = "[redacted]";

/// `body` with every form of each secret a server could echo replaced by [`REDACTED`]: as
/// sent (percent-encoded, upper- or lower-case hex), plain, XML-escaped, and with spaces as
/// `+`. Secrets shorter than 4 characters (the platform's minimum) are left alone: they would
/// match ordinary text. An answer a secret appears in is abnormal anyway: if redacting breaks
/// its parse, it is an unknown outcome, settled on evidence like any other.
pub fn redact(body: Vec<u8>, secrets: &[&str]) -> Vec<u8> {
    let mut forms: Vec<String> = Vec::new();
    for secret in secrets.iter().filter(|s| s.chars().count() >= 4) {
        let encoded = encode(secret);
        forms.push(lowercase_hex(&encoded));
        forms.push(encoded);
        forms.push(secret.to_string());
        forms.push(
            secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&apos;"),
        );
        // A form decoder reads '+' as a space: an echo may show the spaces of a password so.
        forms.push(secret.replace(' ', "+"));
    }
    // Longest first, so that no shorter form breaks a longer one apart.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    let mut out = body;
    for form in forms.iter().filter(|f| !f.is_empty()) {
        let needle = form.as_bytes();
        if !out.windows(needle.len()).any(|w| w == needle) {
            continue;
        }
        let mut i = 0;
        let mut next = Vec::with_capacity(out.len());
        while i < out.len() {
            if out[i..].starts_with(needle) {
                next.extend_from_slice(REDACTED.as_bytes());
                i += needle.len();
            } else {
                next.push(out[i]);
                i += 1;
            }
        }
        out = next;
    }
    out
}

/// A percent-encoded string with lower-case hex digits (`%2b`), as some servers echo it.
fn lowercase_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for h in chars.by_ref().take(2) {
                out.push(h.to_ascii_lowercase());
            }
        }
    }
    out
}

/// `http://` is accepted only for loopback hosts; everything else must be `https://`.
/// The URL as messages may show it: a login in it (`user:password@`) is never echoed.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://[login removed]@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

fn check_base_url(url: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        field: "API URL".to_string(),
        reason: format!("{:?} {reason}", shown(url)),
    };
    if url.contains('#') {
        // A fragment would silently drop the query cardmint appends.
        return Err(invalid("must not carry a #fragment"));
    }
    let authority = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = &authority[..authority.find(['/', '?']).unwrap_or(authority.len())];
    if authority.contains('@') {
        return Err(invalid(
            "must not carry a login: give it as CARDMINT_USERNAME and CARDMINT_PASSWORD or in \
             [reseller]",
        ));
    }
    let uri: ureq::http::Uri = url.parse().map_err(|_| invalid("is not a URL"))?;
    uri.host().ok_or_else(|| invalid("has no host"))?;
    // The URI type keeps a port it cannot use (99999): a port is 1 to 65535.
    if let Some(port) = uri.authority().and_then(|a| a.as_str().rsplit_once(':')) {
        let digits = port.1;
        if !digits.contains(']') && !digits.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(invalid("has a port that is not 1 to 65535"));
        }
    }
    if uri.query().is_some() {
        return Err(invalid("must not carry a query"));
    }
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(url) => Ok(()),
        Some("http") => Err(invalid("uses plain http to a non-loopback host; use https")),
        _ => Err(invalid("must start with https://")),
    }
}

/// Whether the URL's host is this machine (the sandbox): never reached through a proxy.
fn is_loopback(url: &str) -> bool {
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Client {
    /// A client whose pool keeps up to `pool_size` idle connections (one per worker).
    pub fn new(settings: &ApiSettings, pool_size: usize) -> Result<Client, ConfigError> {
        check_base_url(&settings.url)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(false)
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.timeout))
            .max_idle_connections(pool_size.max(1) * 2)
            .max_idle_connections_per_host(pool_size.max(1))
            .user_agent(concat!("cardmint/", env!("CARGO_PKG_VERSION")))
            // HTTP_PROXY and friends apply to the platform, never to the loopback sandbox.
            .proxy(if is_loopback(&settings.url) {
                None
            } else {
                ureq::Proxy::try_from_env()
            })
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            BeforeSendingConnector(DefaultConnector::default()),
            BeforeSendingResolver(DefaultResolver::default()),
        );
        Ok(Client {
            agent,
            base: settings.url.clone(),
            username: settings.credentials.username.clone(),
            password: settings.credentials.password.clone(),
            clock: Default::default(),
            health: Default::default(),
        })
    }

    /// How far the platform's clock is from ours, as its answers' `Date` headers show
    /// ([`crate::clock::Offset::UNMEASURED`] before any answer carried one).
    pub fn clock(&self) -> crate::clock::Offset {
        self.clock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(crate::clock::Offset::UNMEASURED)
    }

    /// Keeps the offset an answer's `Date` header shows: the narrower of it and the last one,
    /// unless they do not overlap (the platform's clock stepped): then the new one.
    fn saw_date(&self, date: &str, sent_ms: i64, recv_ms: i64) {
        let Some(date_ms) = crate::clock::http_date_ms(date) else {
            return;
        };
        let new = crate::clock::Offset::from_date(date_ms, sent_ms, recv_ms);
        let mut clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        *clock = Some(match *clock {
            Some(old) if old.lo_ms <= new.hi_ms && new.lo_ms <= old.hi_ms => crate::clock::Offset {
                lo_ms: old.lo_ms.max(new.lo_ms),
                hi_ms: old.hi_ms.min(new.hi_ms),
            },
            _ => new,
        });
    }

    /// What the platform's answers have been like.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// One harmless read that tells whether the platform answers and takes the reseller's
    /// login: the user information of a customer that does not exist (no such customer is
    /// the answer of a platform that took the login).
    pub fn check_login_once(&self) -> Result<(), ApiError> {
        match self.get_user_info("cardmint_login_check") {
            Ok(_)
            | Err(ApiError::Refused {
                reason: super::Refusal::UnknownCustomer,
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The reseller's username (not secret).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Sends one command and returns the raw body of a 200 answer.
    fn send(&self, command: Command, params: &[(&str, &str)]) -> Result<Vec<u8>, ApiError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.health.requests.fetch_add(1, Relaxed);
        let answer = self.send_counted(command, params);
        let field = if answer.is_ok() {
            &self.health.last_answer_ms
        } else {
            self.health.failures.fetch_add(1, Relaxed);
            &self.health.last_failure_ms
        };
        field.store(crate::clock::now_ms(), Relaxed);
        answer
    }

    fn send_counted(&self, command: Command, params: &[(&str, &str)]) -> Result<Vec<u8>, ApiError> {
        let mut url = format!(
            "{}?command={}&username={}&password={}",
            self.base,
            command.wire_name(),
            encode(&self.username),
            encode(self.password.expose())
        );
        for (name, value) in params {
            url.push('&');
            url.push_str(name);
            url.push('=');
            url.push_str(&encode(value));
        }
        let sent_ms = crate::clock::now_ms();
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| classify(command, e))?;
        if let Some(date) = response.headers().get("date").and_then(|v| v.to_str().ok()) {
            self.saw_date(date, sent_ms, crate::clock::now_ms());
        }
        // Read the body whatever the status, so the connection goes back to the pool.
        let body = response
            .body_mut()
            .with_config()
            .limit(super::xml::MAX_BODY as u64)
            .read_to_vec()
            .map_err(|e| match classify(command, e) {
                // The request was sent: whatever failed while reading, its outcome is unknown.
                ApiError::NotSent { cause, .. } => ApiError::UnknownOutcome {
                    command,
                    cause: UnknownCause::ConnectionLost(cause),
                },
                other => other,
            })?;
        // Redaction at the boundary: an answer that echoes the request (a proxy's error page, a
        // debugging backend) must not carry a password into errors, the journal or the outputs.
        let mut secrets = vec![self.password.expose()];
        secrets.extend(
            params
                .iter()
                .filter(|(name, _)| name.contains("password"))
                .map(|(_, value)| *value),
        );
        let body = redact(body, &secrets);
        let status = response.status().as_u16();
        if status != 200 {
            return Err(ApiError::UnknownOutcome {
                command,
                cause: UnknownCause::HttpStatus(status),
            });
        }
        Ok(body)
    }

    pub fn create_customer(
        &self,
        customer: &str,
        password: &Secret,
        cli: Option<&str>,
        tariff: Option<i64>,
    ) -> Result<Created, ApiError> {
        let command = Command::CreateCustomer;
        check_customer(command, customer)?;
        check_password(command, password)?;
        let tariff = tariff.map(|t| t.to_string());
        let mut params = vec![
            ("customer", customer),
            ("customerpassword", password.expose()),
        ];
        if let Some(cli) = cli {
            check_number(command, cli)?;
            params.push(("geocallcli", cli));
        }
        if let Some(t) = &tariff {
            params.push(("tariffrate", t));
        }
        let body = self.send(command, &params)?;
        answer::create_customer(&body, customer)
    }

    /// Loads (positive) or deducts (negative) credit. **Not idempotent**: after an unknown
    /// outcome read the balance before sending again.
    pub fn set_transaction(
        &self,
        customer: &str,
        amount: Decimal,
    ) -> Result<Transaction, ApiError> {
        let command = Command::SetTransaction;
        check_customer(command, customer)?;
        let wire = format_amount(amount).map_err(|reason| ApiError::InvalidArgument {
            command,
            field: "amount",
            reason,
        })?;
        let body = self.send(command, &[("customer", customer), ("amount", &wire)])?;
        answer::set_transaction(&body, customer, amount)
    }

    pub fn set_blocked(&self, customer: &str, blocked: bool) -> Result<(), ApiError> {
        let command = Command::ChangeUserInfo;
        check_customer(command, customer)?;
        let flag = if blocked { "true" } else { "false" };
        let body = self.send(
            command,
            &[("customer", customer), ("customerblocked", flag)],
        )?;
        answer::plain(command, &body, customer)
    }

    /// Attaches a CLI number (E.164). Adding a number that is already there succeeds.
    pub fn add_number(&self, customer: &str, number: &str) -> Result<(), ApiError> {
        self.change_number(customer, "add", number)
    }

    pub fn delete_number(&self, customer: &str, number: &str) -> Result<(), ApiError> {
        self.change_number(customer, "delete", number)
    }

    fn change_number(&self, customer: &str, option: &str, number: &str) -> Result<(), ApiError> {
        let command = Command::ChangeUserInfo;
        check_customer(command, customer)?;
        check_number(command, number)?;
        let body = self.send(
            command,
            &[
                ("customer", customer),
                ("geocallcli_options", option),
                ("geocallcli", number),
            ],
        )?;
        answer::plain(command, &body, customer)
    }

    pub fn change_password(
        &self,
        customer: &str,
        old: &Secret,
        new: &Secret,
    ) -> Result<(), ApiError> {
        let command = Command::ChangePassword;
        check_customer(command, customer)?;
        check_password(command, new)?;
        let body = self.send(
            command,
            &[
                ("customer", customer),
                ("oldcustomerpassword", old.expose()),
                ("newcustomerpassword", new.expose()),
            ],
        )?;
        answer::plain(command, &body, customer)
    }

    /// `true` when `password` is this customer's password.
    pub fn validate_user(&self, customer: &str, password: &Secret) -> Result<bool, ApiError> {
        let command = Command::ValidateUser;
        check_customer(command, customer)?;
        let body = self.send(
            command,
            &[
                ("customer", customer),
                ("customerpassword", password.expose()),
            ],
        )?;
        answer::validate_user(&body, customer)
    }

    pub fn get_user_info(&self, customer: &str) -> Result<UserInfo, ApiError> {
        let command = Command::GetUserInfo;
        check_customer(command, customer)?;
        let body = self.send(command, &[("customer", customer)])?;
        answer::get_user_info(&body, customer)
    }

    pub fn call_overview(&self, customer: &str, query: &CallQuery) -> Result<CallPage, ApiError> {
        let command = Command::CallOverview;
        check_customer(command, customer)?;
        let date = query
            .date
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
        let call_id = query.call_id.map(|c| c.to_string());
        let count = match query.record_count {
            Some(n @ 1..=MAX_RECORD_COUNT) => Some(n.to_string()),
            Some(n) => {
                return Err(ApiError::InvalidArgument {
                    command,
                    field: "recordcount",
                    reason: format!("{n} is not between 1 and {MAX_RECORD_COUNT}"),
                });
            }
            None => None,
        };
        let mut params = vec![("customer", customer)];
        if let Some(d) = &date {
            params.push(("date", d));
        }
        if let Some(c) = &call_id {
            params.push(("callid", c));
        }
        if let Some(n) = &count {
            params.push(("recordcount", n));
        }
        match query.direction {
            Some(Direction::Forward) => params.push(("direction", "forward")),
            Some(Direction::Backward) => params.push(("direction", "backward")),
            None => {}
        }
        let body = self.send(command, &params)?;
        answer::call_overview(&body)
    }

    pub fn reset_password(&self, customer: &str, new: &Secret) -> Result<(), ApiError> {
        let command = Command::ResetPassword;
        check_customer(command, customer)?;
        check_password(command, new)?;
        let body = self.send(
            command,
            &[
                ("customer", customer),
                ("newcustomerpassword", new.expose()),
            ],
        )?;
        answer::plain(command, &body, customer)
    }
}

/// Amounts go out with a point and exactly two decimals, at most 10 characters.
pub fn format_amount(amount: Decimal) -> Result<String, String> {
    if amount.normalize().scale() > 2 {
        return Err(format!("{amount} has more than two decimals"));
    }
    let wire = format!("{:.2}", amount);
    if wire.len() > 10 {
        return Err(format!("{wire} is longer than 10 characters"));
    }
    Ok(wire)
}

fn check_customer(command: Command, customer: &str) -> Result<(), ApiError> {
    let ok = !customer.is_empty()
        && customer.len() <= 140
        && customer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidArgument {
            command,
            field: "customer",
            reason: format!("{customer:?} must be 1 to 140 characters of A-Z a-z 0-9 _"),
        })
    }
}

fn check_password(command: Command, password: &Secret) -> Result<(), ApiError> {
    let p = password.expose();
    let ok = (4..=39).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'@' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidArgument {
            command,
            field: "customer password",
            reason: "must be 4 to 39 characters of a-z A-Z 0-9 - _ @ .".to_string(),
        })
    }
}

fn check_number(command: Command, number: &str) -> Result<(), ApiError> {
    let digits = number.strip_prefix('+').unwrap_or("");
    let ok = number.len() <= 23 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidArgument {
            command,
            field: "geocallcli",
            reason: format!("{number:?} is not an international number (+ and up to 22 digits)"),
        })
    }
}

/// A failure while a new connection was being made (name resolution, TCP connect, TLS
/// handshake): no byte of the request has left, so it is certainly not sent. The resolver and
/// the connector below wrap their errors in it, because ureq's own errors do not say in which
/// phase they happened (a DNS failure is a plain `Io` error, like a reset after sending).
#[derive(Debug)]
struct BeforeSending(String);

impl fmt::Display for BeforeSending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BeforeSending {}

/// Describes a connect-phase error without its URL (ureq's texts do not carry the query, but
/// only the error's kind and the OS or TLS text are kept, to be sure).
fn before_sending(phase: &str, error: ureq::Error) -> ureq::Error {
    let detail = match &error {
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            format!("tls handshake failed: {e}")
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::Io(e) => format!("{phase} failed: {e}"),
        ureq::Error::Tls(e) => format!("tls handshake failed: {e}"),
        ureq::Error::Rustls(e) => format!("tls handshake failed: {e}"),
        ureq::Error::Timeout(_) => format!("{phase} timed out"),
        ureq::Error::HostNotFound => "the host name does not resolve".to_string(),
        _ => format!("{phase} failed"),
    };
    ureq::Error::Other(Box::new(BeforeSending(detail)))
}

#[derive(Debug)]
struct BeforeSendingConnector(DefaultConnector);

impl Connector<()> for BeforeSendingConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0
            .connect(details, chained)
            .map_err(|e| before_sending("connect", e))
    }
}

#[derive(Debug)]
struct BeforeSendingResolver(DefaultResolver);

impl Resolver for BeforeSendingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|e| match e {
            ureq::Error::Io(io) => ureq::Error::Other(Box::new(BeforeSending(format!(
                "the host name does not resolve ({io})"
            )))),
            other => before_sending("name resolution", other),
        })
    }
}

/// Maps a ureq error to our classes. Only failures that certainly happened before the request
/// left are `NotSent`; everything else is an unknown outcome. The ureq error's own text is not
/// kept: it may quote the URL, which carries passwords.
fn classify(command: Command, error: ureq::Error) -> ApiError {
    use ureq::Timeout;
    let not_sent = |cause: &str| ApiError::NotSent {
        command,
        cause: cause.to_string(),
    };
    let unknown = |cause: UnknownCause| ApiError::UnknownOutcome { command, cause };
    match error {
        ureq::Error::HostNotFound => not_sent("host not found"),
        ureq::Error::ConnectionFailed => not_sent("connection failed"),
        ureq::Error::Timeout(Timeout::Resolve) => not_sent("name resolution timed out"),
        ureq::Error::Timeout(Timeout::Connect) => not_sent("connect timed out"),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            not_sent("tls handshake failed")
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => not_sent("invalid request"),
        ureq::Error::Other(e) if e.is::<BeforeSending>() => not_sent(&e.to_string()),
        ureq::Error::Timeout(_) => unknown(UnknownCause::Timeout),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => not_sent("connection refused"),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                unknown(UnknownCause::Timeout)
            }
            kind => unknown(UnknownCause::ConnectionLost(kind.to_string())),
        },
        ureq::Error::Protocol(_) => unknown(UnknownCause::BadBody("malformed http".into())),
        ureq::Error::BodyExceedsLimit(n) => {
            unknown(UnknownCause::BadBody(format!("body larger than {n} bytes")))
        }
        _ => unknown(UnknownCause::ConnectionLost("transport error".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_secrets_are_redacted_in_every_form() {
        let reseller = "p@ss w+rd&<1>";
        let card = "Xk7-mQ2p";
        let body = format!(
            "<R><Reason>got password={} customerpassword={} {} {} {} {}</Reason></R>",
            encode(reseller),
            encode(card),
            lowercase_hex(&encode(reseller)),
            reseller,
            "p@ss w+rd&amp;&lt;1&gt;",
            "p@ss+w+rd&<1>",
        );
        let out = String::from_utf8(redact(body.into_bytes(), &[reseller, card])).unwrap();
        assert_eq!(out.matches(REDACTED).count(), 6, "{out}");
        for leak in ["p@ss", "Xk7-mQ2p", "w%2Brd", "w%2brd"] {
            assert!(!out.contains(leak), "{leak} in {out}");
        }
        // Short strings are left alone (they would match ordinary text).
        assert_eq!(redact(b"abc".to_vec(), &["abc"]), b"abc");
    }

    #[test]
    fn api_urls_with_a_login_or_a_fragment_are_refused_without_echoing_the_login() {
        let e = check_base_url("https://bob:hunter22@example.net/API/Request.ashx")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must not carry a login") && !e.contains("hunter22"),
            "{e}"
        );
        let e = check_base_url("https://example.net/API/Request.ashx#x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("#fragment"), "{e}");
        assert!(check_base_url("https://example.net/API/Request.ashx").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/API/Request.ashx").is_ok());
        assert!(check_base_url("http://example.net/API/Request.ashx").is_err());
        assert!(is_loopback("http://[::1]:9/x") && !is_loopback("https://example.net/"));
    }

    #[test]
    fn encodes_plus_once() {
        assert_eq!(encode("+4412 34"), "%2B4412%2034");
        assert_eq!(encode("a%2B"), "a%252B");
        assert_eq!(encode("Ab9-._~"), "Ab9-._~");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn amounts_use_a_point_and_two_decimals() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(format_amount(d("5")).unwrap(), "5.00");
        assert_eq!(format_amount(d("2.5")).unwrap(), "2.50");
        assert_eq!(format_amount(d("-2.50")).unwrap(), "-2.50");
        assert_eq!(format_amount(d("2.500")).unwrap(), "2.50");
        assert!(format_amount(d("2.505")).is_err());
        assert!(format_amount(d("12345678.00")).is_err());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_base_url("https://www.voipinfocenter.com/API/Request.ashx").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/API/Request.ashx").is_ok());
        assert!(check_base_url("http://localhost/API/Request.ashx").is_ok());
        assert!(check_base_url("http://[::1]:9/API/Request.ashx").is_ok());
        assert!(check_base_url("http://www.voipinfocenter.com/API/Request.ashx").is_err());
        assert!(check_base_url("http://10.0.0.1/API/Request.ashx").is_err());
        assert!(check_base_url("ftp://127.0.0.1/x").is_err());
        assert!(check_base_url("https://h/x?password=1").is_err());
    }
}
