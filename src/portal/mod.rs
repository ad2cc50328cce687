//! `cardmint portal`: the reseller's own web page for its card holders (balance, calls,
//! numbers, password, redeem a card), server-rendered, working without JavaScript, under the
//! reseller's brand. axum on hyper and tokio; maud templates; assets in the binary; TLS by
//! rustls, or plain HTTP on loopback behind a reverse proxy.
//!
//! Security as for a public site: sign-in attempts limited per client network, per code and
//! for the whole portal ([`limits`]), one message for every failed sign-in, answered at one
//! moment, server-side sessions in HttpOnly,
//! Secure, SameSite=Strict cookies ([`session`]), a CSRF token on every form, a strict
//! Content-Security-Policy, no secret in a page, a log or a URL. Every platform request goes
//! through one throttle ([`backend`]).

pub mod backend;
mod handlers;
pub mod i18n;
pub mod limits;
pub mod observe;
pub mod pages;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

pub use backend::{Backend, BackendError};
pub use pages::Look;

/// The shipped logo, shown when the config names none.
const DEFAULT_LOGO: &[u8] = include_bytes!("../../templates/images/logo.png");
const APP_CSS: &str = include_str!("assets/app.css");

/// The client's address as the portal counts it (the peer, or the proxy's `X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Everything the handlers share.
pub struct Portal {
    pub backend: Arc<Backend>,
    /// The one stylesheet: the brand's colours, then the page's rules.
    style: String,
    pub sessions: session::Sessions,
    pub limits: limits::Limiter,
    /// The global ceiling on sign-in checks a minute.
    pub ceiling: limits::Ceiling,
    /// The IPv6 prefix length a client network is counted by.
    v6_prefix: u8,
    /// When a failed sign-in is answered, after its request came.
    failure_answer: Duration,
    /// Platform reads in flight per account: one client sending many requests at once waits
    /// for its own turns, not in everyone's queue.
    turns: std::sync::Mutex<std::collections::HashMap<i64, Arc<tokio::sync::Semaphore>>>,
    pub look: Look,
    /// The languages the page speaks.
    pub languages: i18n::Languages,
    logo: Vec<u8>,
    /// Take the client's address from the last `X-Forwarded-For` entry.
    trust_forwarded_for: bool,
    /// Served over TLS by this process (adds Strict-Transport-Security).
    tls: bool,
    /// How long a page waits for a change before it says the change is being confirmed.
    change_wait: Duration,
    /// How long a client may take to send a request's body.
    body_timeout: Duration,
    /// What the page counts, for `/metrics`.
    pub metrics: observe::Metrics,
    /// How the access log is written.
    pub log_format: observe::LogFormat,
    /// Card serials by card id, for the access log.
    serials: std::sync::Mutex<std::collections::HashMap<i64, String>>,
    /// When `/health` last probed the platform.
    probed: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long a page waits for a change by default: a lost answer makes the change wait out the
/// settle delay (a minute by default), which no page should hang on (a proxy's own timeout is
/// often a minute); the change goes on meanwhile, to its end.
pub const CHANGE_WAIT: Duration = Duration::from_secs(8);

/// How the portal is set up.
pub struct Settings {
    pub look: Look,
    /// The brand's colour (red, green, blue); a dark blue by default.
    pub colour: Option<(u8, u8, u8)>,
    /// PNG bytes.
    pub logo: Option<Vec<u8>>,
    pub trust_forwarded_for: bool,
    pub session_idle: Duration,
    pub tls: bool,
    /// [`CHANGE_WAIT`], or shorter in tests.
    pub change_wait: Duration,
    /// Sign-in checks a minute ([`limits::CHECKS_PER_MINUTE`] by default).
    pub checks_per_minute: u32,
    /// The IPv6 prefix length (64 by default).
    pub v6_prefix: u8,
    /// [`FAILURE_ANSWER`], or shorter in tests.
    pub failure_answer: Duration,
    /// Where sessions and the form key are kept ([`session::store_path`]); `None`: in memory.
    pub sessions: Option<std::path::PathBuf>,
    /// How long a client may take to send a request's body (10 s; shorter in tests).
    pub body_timeout: Duration,
    /// The languages of the page: the shipped catalogs and the reseller's.
    pub languages: i18n::Languages,
    /// How the access log is written (text by default).
    pub log_format: observe::LogFormat,
}

/// When every failed sign-in is answered, after its request came: longer than the platform
/// takes to check a password, so that no failure tells whether the code exists (a check
/// that takes longer counts as failed).
pub const FAILURE_ANSWER: Duration = Duration::from_secs(1);

/// WCAG relative luminance of an sRGB colour.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let c = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b)
}

/// The brand's stylesheet: its colour, and white or black text on it, whichever contrasts
/// more (WCAG contrast ratio).
fn brand_css(colour: (u8, u8, u8)) -> String {
    let l = luminance(colour);
    let on = if (1.05) / (l + 0.05) >= (l + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    };
    let (r, g, b) = colour;
    // Links on white need the colour itself dark enough (4.5:1), else the default.
    let link = if 1.05 / (l + 0.05) >= 4.5 {
        format!("#{r:02x}{g:02x}{b:02x}")
    } else {
        "#0b4f8a".into()
    };
    format!(
        ":root{{--brand:#{r:02x}{g:02x}{b:02x};--on-brand:{on};--brand-text-on-light:{link}}}\n"
    )
}

impl Portal {
    /// The language of tag `lang` (English for an unknown tag).
    pub fn lang(&self, lang: &str) -> &i18n::Language {
        self.languages
            .get(lang)
            .unwrap_or_else(|| self.languages.choose(None, None))
    }

    /// The page as the holder of `lang` sees it (English for an unknown tag).
    pub fn view(&self, lang: &str) -> pages::View<'_> {
        pages::View {
            look: &self.look,
            lang: self
                .languages
                .get(lang)
                .unwrap_or_else(|| self.languages.choose(None, None)),
            languages: &self.languages,
        }
    }

    pub fn new(backend: Arc<Backend>, settings: Settings) -> Result<Portal, String> {
        let colour = settings.colour.unwrap_or((0x1d, 0x35, 0x57));
        let absolute = Duration::from_secs(8 * 3600);
        let sessions = match &settings.sessions {
            Some(path) => session::Sessions::open(path, settings.session_idle, absolute)?,
            None => session::Sessions::new(settings.session_idle, absolute),
        };
        let style = format!("{}{APP_CSS}", brand_css(colour));
        let logo = settings.logo.unwrap_or_else(|| DEFAULT_LOGO.to_vec());
        let mut look = settings.look;
        look.assets = pages::Assets {
            css: format!("/static/app.{}.css", fingerprint(style.as_bytes())),
            logo: format!("/static/logo.{}.png", fingerprint(&logo)),
            logo_size: png_size(&logo),
        };
        Ok(Portal {
            backend,
            style,
            sessions,
            limits: limits::Limiter::default(),
            ceiling: limits::Ceiling::new(settings.checks_per_minute),
            v6_prefix: settings.v6_prefix,
            failure_answer: settings.failure_answer,
            body_timeout: settings.body_timeout,
            turns: Default::default(),
            look,
            languages: settings.languages,
            logo,
            trust_forwarded_for: settings.trust_forwarded_for,
            tls: settings.tls,
            change_wait: settings.change_wait,
            metrics: Default::default(),
            log_format: settings.log_format,
            serials: Default::default(),
            probed: Default::default(),
        })
    }

    /// The serial of card `card_id` (what its log line names), from the ledger once.
    pub async fn serial_of(&self, card_id: i64) -> Option<String> {
        if let Some(s) = self
            .serials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&card_id)
        {
            return Some(s.clone());
        }
        let backend = self.backend.clone();
        let serial = tokio::task::spawn_blocking(move || backend.card_by_id(card_id))
            .await
            .ok()?
            .ok()??
            .serial;
        let mut serials = self.serials.lock().unwrap_or_else(|e| e.into_inner());
        if serials.len() > 100_000 {
            serials.clear();
        }
        serials.insert(card_id, serial.clone());
        Some(serial)
    }

    /// Whether `/health` may probe the platform now: once every 30 s at most, whoever asks.
    pub fn take_probe_turn(&self) -> bool {
        let mut probed = self.probed.lock().unwrap_or_else(|e| e.into_inner());
        match *probed {
            Some(at) if at.elapsed() < std::time::Duration::from_secs(30) => false,
            _ => {
                *probed = Some(std::time::Instant::now());
                true
            }
        }
    }
}

/// The first 12 hex digits of a file's SHA-256: its name changes when it does, so it can be
/// cached for a year.
fn fingerprint(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PNG's width and height (from its IHDR), shown at most 40 px high as the stylesheet does.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |at: usize| {
        png.get(at..at + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (w, h) = (be(16), be(20));
    if w == 0 || h == 0 {
        return (40, 40);
    }
    (((w as u64 * 40) / h as u64).max(1) as u32, 40)
}

/// Platform reads one account may have in flight at once.
const READS_PER_ACCOUNT: usize = 2;

impl Portal {
    /// A turn for one platform read of an account's pages: at most [`READS_PER_ACCOUNT`] at
    /// once per account, so that the throttle's queue is shared fairly between holders.
    pub async fn turn(&self, card_id: i64) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = {
            let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            if turns.len() > 10_000 {
                turns.retain(|_, s| Arc::strong_count(s) > 1);
            }
            turns
                .entry(card_id)
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(READS_PER_ACCOUNT)))
                .clone()
        };
        semaphore.acquire_owned().await.ok()
    }
}

/// The routes.
pub fn router(portal: Arc<Portal>) -> Router {
    use handlers::*;
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/account", get(account))
        .route("/calls", get(calls))
        .route("/calls.csv", get(calls_csv))
        .route("/numbers", get(numbers))
        .route("/numbers/add", post(number_add))
        .route("/numbers/delete", post(number_delete))
        .route("/password", get(password_page).post(password))
        .route("/redeem", get(redeem_page).post(redeem))
        .route("/static/{file}", get(asset))
        .route("/favicon.ico", get(favicon))
        .route("/robots.txt", get(robots))
        .route("/lang", get(choose_language))
        .route("/health", get(observe::health))
        // On the routes only, inside the headers' layer: a body too large or too slow is
        // answered with them too, and its path is one of ours (a path no route answers is
        // answered 404 without its body being read).
        .route_layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            handlers::whole_body,
        ))
        .route_layer(axum::middleware::from_fn(observe::routed))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(handlers::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            handlers::headers,
        ))
        .layer(axum::middleware::from_fn(handlers::compressed))
        // Outermost: every answer is logged as it leaves, whatever answered it.
        .layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            observe::access_log,
        ))
        .with_state(portal)
}

/// Serves a plain-HTTP listener that sends every request to the same host and path over
/// HTTPS (301), until `stop` resolves. A `Host` that is no host name is answered 400.
pub async fn redirect_to_https(
    listener: tokio::net::TcpListener,
    https_port: u16,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let router = Router::new().fallback(
        move |headers: axum::http::HeaderMap, uri: axum::http::Uri| async move {
            use axum::response::IntoResponse;
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
                .filter(|h| {
                    !h.is_empty()
                        && h.len() <= 253
                        && h.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                });
            let Some(host) = host else {
                return (axum::http::StatusCode::BAD_REQUEST, "no host name\n").into_response();
            };
            let port = if https_port == 443 {
                String::new()
            } else {
                format!(":{https_port}")
            };
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::permanent(&format!("https://{host}{port}{path}"))
                .into_response()
        },
    );
    let _ = axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await;
}

/// How many connections one client network may hold open at once (not counted behind a
/// trusted proxy, whose own address every connection comes from).
pub const CONNECTIONS_PER_NETWORK: usize = 32;

/// The connections a portal serves at once: below the file-descriptor limit, which must leave
/// room for the ledger, the platform's connections and the process's own files.
pub struct Capacity {
    pub total: usize,
    /// Per client network, when the peer is the client (no trusted proxy).
    pub per_network: Option<usize>,
    /// The IPv6 prefix a network is counted by.
    pub v6_prefix: u8,
}

/// File descriptors kept out of the connection cap: the ledger, the platform's pool, logs.
const RESERVED_FDS: u64 = 64;

/// Raises the soft file-descriptor limit to the hard one, and says how many connections fit
/// under it: `(connections, limit)`.
pub fn connection_room() -> (usize, u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (now.current, now.maximum)
        && cur < max
    {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(max),
                maximum: Some(max),
            },
        );
    }
    // Unlimited reads as none: a million is plenty.
    let limit = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
    let room = limit.saturating_sub(RESERVED_FDS).min(1 << 20) as usize;
    (room, limit)
}

/// Live connections per client network.
#[derive(Default)]
struct Networks(std::sync::Mutex<std::collections::HashMap<String, usize>>);

impl Networks {
    /// Takes a place for `net`, if it has one left.
    fn enter(&self, net: &str, most: usize) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(net.to_string()).or_insert(0);
        if *n >= most {
            return false;
        }
        *n += 1;
        true
    }

    fn leave(&self, net: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(net) {
            *n -= 1;
            if *n == 0 {
                m.remove(net);
            }
        }
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `stop` resolves. Each
/// connection's peer address goes into its requests ([`Peer`]); a client gets 10 s to send
/// its headers (and the router's [`handlers::whole_body`] gives one for a body); at most `capacity.total` connections
/// are served at once (more wait in the kernel's queue), and at most `per_network` from one
/// client network (more are closed at once).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<Certificate>>,
    capacity: Capacity,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    tokio::pin!(stop);
    let slots = Arc::new(tokio::sync::Semaphore::new(capacity.total.max(1)));
    let networks = Arc::new(Networks::default());
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let net = limits::network(peer.ip(), capacity.v6_prefix);
        if let Some(most) = capacity.per_network
            && !networks.enter(&net, most)
        {
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let networks = networks.clone();
        let counted = capacity.per_network.is_some();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(Peer(peer));
                    let mut router = router.clone();
                    async move { <Router as tower::Service<_>>::call(&mut router, request).await }
                },
            );
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(true);
            match tls.map(|c| c.acceptor()) {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
            }
            if counted {
                networks.leave(&net);
            }
        });
    }
}

/// The certificate the portal serves, from its files, replaced when they change: on SIGHUP,
/// or when [`Certificate::reload_if_changed`] finds them newer. A connection takes the
/// certificate current when it comes; those open keep theirs.
pub struct Certificate {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    current: std::sync::RwLock<(tokio_rustls::TlsAcceptor, Option<std::time::SystemTime>)>,
}

fn modified(paths: [&std::path::Path; 2]) -> Option<std::time::SystemTime> {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
}

impl Certificate {
    pub fn load(cert: &std::path::Path, key: &std::path::Path) -> Result<Certificate, String> {
        let acceptor = tls_acceptor(cert, key)?;
        Ok(Certificate {
            current: std::sync::RwLock::new((acceptor, modified([cert, key]))),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Reads the files again; on an error the certificate in use stays (and the error is
    /// returned, for the log).
    pub fn reload(&self) -> Result<(), String> {
        let acceptor = tls_acceptor(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            (acceptor, modified([&self.cert, &self.key]));
        Ok(())
    }

    /// Reloads when either file changed since it was read: `Some(result)` when it tried.
    pub fn reload_if_changed(&self) -> Option<Result<(), String>> {
        let now = modified([&self.cert, &self.key]);
        let seen = self.current.read().unwrap_or_else(|e| e.into_inner()).1;
        (now.is_some() && now != seen).then(|| self.reload())
    }
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in it (PEM, BEGIN CERTIFICATE)",
            cert.display()
        ));
    }
    // The key is a secret as the config is: other users must not read it.
    if let Ok(meta) = std::fs::metadata(key) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "--tls-key {}: other users can read it (mode {mode:o}); run `chmod 600 {}`",
                key.display(),
                key.display()
            ));
        }
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: {e} (a PEM private key)", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brand_colour_gets_the_text_colour_that_contrasts() {
        assert!(
            brand_css(crate::config::parse_colour("#1d3557").unwrap())
                .contains("--on-brand:#ffffff")
        );
        assert!(
            brand_css(crate::config::parse_colour("#ffd166").unwrap())
                .contains("--on-brand:#000000")
        );
        assert!(
            brand_css(crate::config::parse_colour("#ffd166").unwrap())
                .contains("--brand-text-on-light:#0b4f8a"),
            "a light colour is no link colour on white"
        );
        assert!(crate::config::parse_colour("red").is_err());
        assert!(crate::config::parse_colour("#12345g").is_err());
    }
}
