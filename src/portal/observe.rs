//! What the page tells the reseller who runs it: one access-log line per request, `/health`
//! for an uptime monitor, and counters as Prometheus metrics on a separate loopback address.
//! Never a secret: the path is logged without its query (and a path no route knows is not
//! logged at all: a holder may type a code into the address bar), the client as the network
//! the limits count, the account by its card's serial (printed on the card, not its code).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Peer, Portal};

/// How access-log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-12-04T10:00:00.123Z GET /account 200 12ms client=203.0.113.5 account=0000000013`
    #[default]
    Text,
    /// One JSON object a line: time, method, path, status, ms, client, account.
    Json,
    /// No access log.
    Off,
}

tokio::task_local! {
    /// The card signed in for the request being answered, set when its session is read.
    static SIGNED_IN: Cell<Option<i64>>;
}

/// Notes that the request being answered is signed in to `card_id` (for its log line).
pub fn signed_in(card_id: i64) {
    let _ = SIGNED_IN.try_with(|c| c.set(Some(card_id)));
}

/// What the page counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answers by status class: 1xx .. 5xx.
    answers: [AtomicU64; 5],
    pub signins: AtomicU64,
    pub signin_failures: AtomicU64,
    /// Sign-in or redeem attempts refused because their client, login or code is locked out.
    pub lockouts: AtomicU64,
    pub redeems: AtomicU64,
    pub redeem_failures: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// The Prometheus text exposition of the counters, with the platform's and the sessions'.
    pub fn render(&self, platform: &crate::api::Health, sessions: usize) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in lines {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        metric(
            "cardmint_portal_responses_total",
            "counter",
            "Answers the page gave, by status class.",
            (0..5)
                .map(|i| {
                    (
                        format!("{{class=\"{}xx\"}}", i + 1),
                        self.answers[i].load(Relaxed),
                    )
                })
                .collect(),
        );
        let one = |c: &AtomicU64| vec![(String::new(), c.load(Relaxed))];
        metric(
            "cardmint_portal_signins_total",
            "counter",
            "Sign-ins that opened a session.",
            one(&self.signins),
        );
        metric(
            "cardmint_portal_signin_failures_total",
            "counter",
            "Sign-ins refused: a wrong code or password, or no answer in time.",
            one(&self.signin_failures),
        );
        metric(
            "cardmint_portal_lockouts_total",
            "counter",
            "Sign-in and redeem attempts refused because their client, login or code is locked out.",
            one(&self.lockouts),
        );
        metric(
            "cardmint_portal_redeems_total",
            "counter",
            "Cards redeemed onto an account (credit moved).",
            one(&self.redeems),
        );
        metric(
            "cardmint_portal_redeem_failures_total",
            "counter",
            "Redeems refused or failed (a wrong or used code, the platform).",
            one(&self.redeem_failures),
        );
        metric(
            "cardmint_platform_requests_total",
            "counter",
            "Requests the page sent to the platform.",
            one(&platform.requests),
        );
        metric(
            "cardmint_platform_errors_total",
            "counter",
            "Requests the platform did not answer with a readable 200 (not reached, timed out, an HTTP error).",
            one(&platform.failures),
        );
        metric(
            "cardmint_portal_sessions",
            "gauge",
            "Sessions the page holds (signed in, and visitors' forms).",
            vec![(String::new(), sessions as u64)],
        );
        out
    }
}

/// Marks an answer as given by one of the page's routes, with the route's pattern
/// (`/static/{file}`): what the log writes, never the path as the client sent it.
#[derive(Clone)]
struct Routed(String);

/// The innermost layer of every route: marks its answers [`Routed`].
pub async fn routed(request: Request, next: Next) -> Response {
    let pattern = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut response = next.run(request).await;
    if let Some(pattern) = pattern {
        response.extensions_mut().insert(Routed(pattern));
    }
    response
}

/// A method as the log writes it: the standard ones by name, any other token as `OTHER`.
fn method_name(method: &axum::http::Method) -> &str {
    match method.as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS" | "PATCH" | "CONNECT"
        | "TRACE") => m,
        _ => "OTHER",
    }
}

/// Writes the access log: one line per request.
pub async fn access_log(State(app): State<Arc<Portal>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let client = super::handlers::client_network(
        &app,
        request.headers(),
        request.extensions().get::<Peer>(),
    )
    .unwrap_or_else(|_| "(X-Forwarded-For without an address)".into());
    let (response, account) = SIGNED_IN
        .scope(Cell::new(None), async {
            let response = next.run(request).await;
            (response, SIGNED_IN.with(Cell::get))
        })
        .await;
    let status = response.status().as_u16();
    if let Some(counter) = app
        .metrics
        .answers
        .get(usize::from(status / 100).wrapping_sub(1))
    {
        Metrics::add(counter);
    }
    if app.log_format == LogFormat::Off {
        return response;
    }
    let serial = match account {
        Some(card_id) => app.serial_of(card_id).await,
        None => None,
    };
    // A path no route answers may be anything a client typed (a code): not written; a route's
    // path is written as its pattern.
    let path = match response.extensions().get::<Routed>() {
        Some(Routed(pattern)) if status != 404 => pattern.as_str(),
        _ => "(unknown path)",
    };
    let method = method_name(&method);
    let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let ms = started.elapsed().as_millis();
    let line = match app.log_format {
        LogFormat::Json => serde_json::json!({
            "time": time.to_string(),
            "method": method,
            "path": path,
            "status": status,
            "ms": ms as u64,
            "client": client,
            "account": serial,
        })
        .to_string(),
        _ => format!(
            "{time} {method} {path} {status} {ms}ms client={client} account={}",
            serial.as_deref().unwrap_or("-")
        ),
    };
    crate::cli::out::line(format_args!("{line}"));
    response
}

/// How long a probe of the platform stands for `/health` before it is made again.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// `/health`: 200 when the platform answers and the ledger opens, else 503; a JSON body an
/// uptime monitor can show. The platform is judged by the page's own requests, or, when it
/// sent none lately, by one harmless read at most every 30 s.
pub async fn health(State(app): State<Arc<Portal>>) -> Response {
    let platform = app.backend.client_health();
    let now = crate::clock::now_ms();
    let (answer, failure) = (
        platform.last_answer_ms.load(Relaxed),
        platform.last_failure_ms.load(Relaxed),
    );
    let recent = |at: i64| at > 0 && now - at < PROBE_EVERY.as_millis() as i64;
    if !recent(answer) && !recent(failure) && app.take_probe_turn() {
        let backend = app.backend.clone();
        let _ = tokio::task::spawn_blocking(move || backend.probe()).await;
    }
    let (answer, failure) = (
        platform.last_answer_ms.load(Relaxed),
        platform.last_failure_ms.load(Relaxed),
    );
    let platform_state = match (answer, failure) {
        (0, 0) => "unknown",
        (a, f) if a >= f => "answering",
        _ => "failing",
    };
    let backend = app.backend.clone();
    let ledger = tokio::task::spawn_blocking(move || backend.ledger_state())
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let ok = platform_state != "failing" && ledger.is_ok();
    let ago = |at: i64| (at > 0).then(|| (now - at).max(0) / 1000);
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "failing" },
        "platform": {
            "state": platform_state,
            "last_answer_seconds_ago": ago(answer),
            "last_failure_seconds_ago": ago(failure),
        },
        "ledger": match &ledger {
            Ok((schema, open)) => serde_json::json!({
                "state": "ok", "schema": schema, "open_changes": open,
            }),
            // The page is public: the reason (paths, SQLite's words) goes to the log only.
            Err(why) => {
                eprintln!("portal: /health: the ledger does not open: {why}");
                serde_json::json!({ "state": "failing" })
            }
        },
    });
    let mut response = (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        format!("{body}\n"),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Serves `/metrics` (Prometheus text) on `listener`, which must be a loopback address, until
/// `stop` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    app: Arc<Portal>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(app): State<Arc<Portal>>| async move {
                let text = app
                    .metrics
                    .render(app.backend.client_health(), app.sessions.len());
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; version=0.0.4"),
                    )],
                    text,
                )
            }),
        )
        .with_state(app);
    let _ = axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await;
}
