//! The sandbox's HTTP server: hyper (http1, keep-alive) on a small tokio runtime of its own, on
//! a background thread, so the rest of cardmint stays blocking and simple.
//!
//! Routes: `GET /API/Request.ashx` (the platform), and the sandbox-only test endpoints under
//! `/__sandbox/` (state, stats, synthetic calls, reseller credit), documented in docs/guide/sandbox.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::NaiveDateTime;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rust_decimal::Decimal;
use serde::Serialize;

use super::faults::{Fault, FaultPlan};
use super::platform::{Apply, Params, Platform, decode_query};
use super::state::{Call, Op, State, Store, StoreError};
use super::world::{TICK, Usage, World};
use crate::config::Credentials;

/// The URL path of the platform's API.
pub const API_PATH: &str = "/API/Request.ashx";

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub addr: SocketAddr,
    /// Where the state is kept; in memory only when `None`.
    pub state_path: Option<PathBuf>,
    /// Mean added latency per API request (jitter ± 20 %).
    pub latency: Duration,
    /// Probability that an API request meets one of `fault_kinds`.
    pub fault_rate: f64,
    pub fault_kinds: Vec<Fault>,
    /// Only requests of these commands (lower case) meet faults; all when empty. Every
    /// request still draws its fate, so the draws for a seed do not change.
    pub fault_commands: Vec<String>,
    pub seed: u64,
    /// How late a `Slow` fault answers.
    pub slow: Duration,
    /// How long after the request a `Late` fault's change lands.
    pub late: Duration,
    /// When not 0, a `Late` change also lands as soon as this many further requests about the
    /// same account have been answered (whichever comes first): between two of the client's
    /// reads, the worst moment for evidence.
    pub late_after_reads: u32,
    /// A call in progress on every account as it is blocked (with credit left), billed this
    /// much when it ends after `call_at_block_reads` more answered requests about the account.
    pub call_at_block: Option<Decimal>,
    pub call_at_block_reads: u32,
    /// How far the platform's clock is ahead of the real one (negative: behind): its call
    /// records, transaction dates and HTTP `Date` headers all read that clock.
    pub clock_offset: chrono::Duration,
    /// Calls made by the holders of unblocked accounts with credit.
    pub usage: Usage,
    pub credentials: Credentials,
    /// The reseller credit of a fresh state.
    pub reseller_credit: Decimal,
}

impl SandboxOptions {
    /// Loopback, any free port, in memory, no latency, no faults.
    pub fn new(credentials: Credentials) -> Self {
        SandboxOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_path: None,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            fault_kinds: vec![Fault::LostAnswer, Fault::ErrorPage, Fault::Slow],
            fault_commands: Vec::new(),
            seed: 1,
            slow: Duration::from_secs(30),
            late: Duration::from_secs(3),
            late_after_reads: 0,
            clock_offset: chrono::Duration::zero(),
            call_at_block: None,
            call_at_block_reads: 2,
            usage: Usage::default(),
            credentials,
            reseller_credit: Decimal::from(1_000_000),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sandbox: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sandbox: {0}")]
    Request(String),
}

/// What the sandbox has seen, for tests and benchmarks.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests per command name (as sent).
    pub requests: BTreeMap<String, u64>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// Arrival time of every API request, in milliseconds since the sandbox started.
    pub arrivals_ms: Vec<u64>,
    /// Every API request about an account, in arrival order: when the evidence was read
    /// against when the change arrived.
    pub log: Vec<Arrival>,
}

/// One API request about an account, as the sandbox saw it arrive.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Arrival {
    /// Milliseconds since the sandbox started.
    pub ms: u64,
    pub command: String,
    pub customer: String,
    /// The fault it met (`Late`, `LostAnswer`, ...), if any.
    pub fault: Option<String>,
}

impl Stats {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// Synthetic call records one request may add.
pub const MAX_SYNTHETIC_CALLS: u32 = 100_000;

/// What a test may ask for: synthetic call records for one customer.
#[derive(Debug, Clone)]
pub struct SyntheticCalls {
    pub count: u32,
    /// Start of the first call; the others follow at `spacing`.
    pub first_start: NaiveDateTime,
    pub spacing: Duration,
    pub duration_secs: u32,
    pub charge: Decimal,
    /// The number every call went to, as a platform may store it (any text: a right-to-left
    /// override, thousands of digits, a formula); by default `+3212345NNNN`.
    pub destination: Option<String>,
}

struct Shared {
    platform: Platform,
    store: Mutex<Store>,
    faults: Mutex<FaultPlan>,
    stats: Mutex<Stats>,
    slow: Duration,
    late: Duration,
    late_after_reads: u32,
    clock_offset: chrono::Duration,
    call_at_block: Option<(Decimal, u32)>,
    fault_commands: Vec<String>,
    world: World,
    started: Instant,
}

impl Shared {
    /// Now on the platform's clock (UTC).
    fn now(&self) -> NaiveDateTime {
        chrono::Utc::now().naive_utc() + self.clock_offset
    }

    /// An API answer, dated by the platform's clock as a real server dates its answers.
    fn answer(&self, xml: String) -> Response<Full<Bytes>> {
        let mut response = text(StatusCode::OK, "text/xml; charset=utf-8", xml);
        let date = self
            .now()
            .and_utc()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        if let Ok(value) = hyper::header::HeaderValue::from_str(&date) {
            response.headers_mut().insert(hyper::header::DATE, value);
        }
        response
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Moves the world on: late changes that are due land, card holders make calls. At
    /// shutdown (`everything`) every late change lands: the platform does not forget them.
    fn tick(&self, everything: bool) -> Result<(), StoreError> {
        let now = Instant::now();
        let wall = self.now();
        let due = self.world.due(now, everything);
        let mut store = lock(&self.store);
        for params in due {
            self.platform.handle(&mut store, &params, wall)?;
        }
        for op in self.world.calls(store.state(), now, wall) {
            store.commit(op)?;
        }
        Ok(())
    }

    fn add_calls(&self, customer: &str, spec: &SyntheticCalls) -> Result<(u64, u64), String> {
        let mut store = lock(&self.store);
        let state = store.state();
        let c = state
            .customers
            .get(customer)
            .ok_or_else(|| format!("unknown customer {customer:?}"))?;
        let total = spec.charge * Decimal::from(spec.count);
        if total > c.balance {
            return Err(format!(
                "the calls cost {total}, more than the balance {}",
                c.balance
            ));
        }
        let first = state.next_call_id;
        let calls: Vec<Call> = (0..spec.count)
            .map(|i| Call {
                call_id: first + u64::from(i),
                call_type: "PSTNOutSip".to_string(),
                start: spec.first_start + spec.spacing * i,
                destination: spec
                    .destination
                    .clone()
                    .unwrap_or_else(|| format!("+3212345{:04}", i % 10_000)),
                duration_secs: spec.duration_secs,
                charge: spec.charge,
            })
            .collect();
        let last = first + u64::from(spec.count.max(1)) - 1;
        store
            .commit(Op::AddCalls {
                customer: customer.to_string(),
                calls,
            })
            .map_err(|e| e.to_string())?;
        Ok((first, last))
    }
}

/// A running sandbox. Stops (and saves its state) when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    /// Binds the address (so it accepts connections when this returns) and starts serving.
    pub fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let store = match &options.state_path {
            Some(path) => Store::open(path, options.reseller_credit)?,
            None => Store::memory(options.reseller_credit),
        };
        let bind = |source| SandboxError::Bind {
            addr: options.addr,
            source,
        };
        let listener = std::net::TcpListener::bind(options.addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let shared = Arc::new(Shared {
            platform: Platform {
                username: options.credentials.username.clone(),
                password: options.credentials.password.expose().to_string(),
            },
            store: Mutex::new(store),
            faults: Mutex::new(FaultPlan::new(
                options.fault_rate,
                options.fault_kinds.clone(),
                options.latency,
                options.seed,
            )),
            stats: Mutex::new(Stats::default()),
            slow: options.slow,
            late: options.late,
            late_after_reads: options.late_after_reads,
            clock_offset: options.clock_offset,
            call_at_block: options
                .call_at_block
                .map(|c| (c, options.call_at_block_reads)),
            fault_commands: options.fault_commands.clone(),
            world: World::new(options.usage.clone(), options.seed),
            started: Instant::now(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sandbox")
            .enable_all()
            .build()
            .map_err(SandboxError::Runtime)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sandbox-accept".into())
            .spawn(move || runtime.block_on(serve(listener, serving, rx)))
            .map_err(SandboxError::Runtime)?;
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}{API_PATH}", self.addr)
    }

    /// A copy of the whole state.
    pub fn state(&self) -> State {
        lock(&self.shared.store).state().clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Adds synthetic call records to a customer (charges come off the balance); returns the
    /// first and last call ids.
    pub fn add_calls(
        &self,
        customer: &str,
        calls: &SyntheticCalls,
    ) -> Result<(u64, u64), SandboxError> {
        self.shared
            .add_calls(customer, calls)
            .map_err(SandboxError::Request)
    }

    /// Stops serving and saves the state.
    pub fn stop(mut self) -> Result<(), SandboxError> {
        self.shutdown_now()
    }

    fn shutdown_now(&mut self) -> Result<(), SandboxError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            self.shared.tick(true)?;
            lock(&self.shared.store).close()?;
        }
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_now() {
            eprintln!("{e}");
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sandbox: {e}");
            return;
        }
    };
    let world = Arc::clone(&shared);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = world.tick(false) {
                eprintln!("sandbox: {e}");
            }
        }
    });
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        let service = service_fn(move |req| respond(Arc::clone(&shared), req));
                        // A connection ends with an error when a fault drops it on purpose.
                        let _ = http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors or similar: wait a moment, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DroppedAnswer;

impl std::fmt::Display for DroppedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped by fault injection")
    }
}

impl std::error::Error for DroppedAnswer {}

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

fn json(value: &impl Serialize) -> Response<Full<Bytes>> {
    text(
        StatusCode::OK,
        "application/json",
        serde_json::to_vec(value).expect("serializable"),
    )
}

async fn respond(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedAnswer> {
    let path = req.uri().path().to_string();
    let params = decode_query(req.uri().query().unwrap_or(""));
    let method = req.method().clone();
    if path.eq_ignore_ascii_case(API_PATH) {
        return api(&shared, params).await;
    }
    let not_found = || text(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    let bad = |msg: String| text(StatusCode::BAD_REQUEST, "text/plain", msg + "\n");
    Ok(match (method.as_str(), path.as_str()) {
        ("GET", "/__sandbox/state") => json(lock(&shared.store).state()),
        ("GET", "/__sandbox/stats") => json(&*lock(&shared.stats)),
        ("POST", "/__sandbox/calls") => match synthetic_calls(&params) {
            Ok(spec) => match shared.add_calls(params.get("customer").unwrap_or(""), &spec) {
                Ok((first, last)) => json(&serde_json::json!({
                    "added": spec.count, "first_call_id": first, "last_call_id": last
                })),
                Err(e) => bad(e),
            },
            Err(e) => bad(e),
        },
        ("POST", "/__sandbox/credit") => {
            match params.get("amount").and_then(|a| a.parse::<Decimal>().ok()) {
                Some(credit) => {
                    let result = lock(&shared.store).commit(Op::SetResellerCredit { credit });
                    match result {
                        Ok(()) => json(&serde_json::json!({ "reseller_credit": credit })),
                        Err(e) => text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "text/plain",
                            e.to_string(),
                        ),
                    }
                }
                None => bad("amount: a decimal number is required".into()),
            }
        }
        _ => not_found(),
    })
}

fn synthetic_calls(params: &Params) -> Result<SyntheticCalls, String> {
    fn field<T: std::str::FromStr>(params: &Params, name: &str, default: T) -> Result<T, String> {
        match params.get(name) {
            Some(v) => v.parse().map_err(|_| format!("{name}: {v:?} is not valid")),
            None => Ok(default),
        }
    }
    let start = match params.get("start") {
        Some(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .map_err(|_| format!("start: {s:?} is not YYYY-MM-DD hh:mm:ss"))?,
        None => NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")
            .expect("constant date"),
    };
    let count: u32 = field(params, "count", 1u32)?;
    if !(1..=MAX_SYNTHETIC_CALLS).contains(&count) {
        return Err(format!(
            "count: {count} is not between 1 and {MAX_SYNTHETIC_CALLS} (add more in several requests)"
        ));
    }
    Ok(SyntheticCalls {
        count,
        first_start: start,
        spacing: Duration::from_secs(field(params, "spacing_secs", 60u64)?),
        duration_secs: field(params, "duration_secs", 60u32)?,
        charge: field(params, "charge", Decimal::new(1, 2))?,
        destination: params.get("destination").map(str::to_string),
    })
}

async fn api(shared: &Shared, params: Params) -> Result<Response<Full<Bytes>>, DroppedAnswer> {
    let (fault, latency) = lock(&shared.faults).next();
    let name = params.get("command").unwrap_or("").to_ascii_lowercase();
    let fault =
        fault.filter(|_| shared.fault_commands.is_empty() || shared.fault_commands.contains(&name));
    {
        let mut stats = lock(&shared.stats);
        *stats.requests.entry(name.clone()).or_default() += 1;
        let ms = shared.started.elapsed().as_millis() as u64;
        stats.arrivals_ms.push(ms);
        if let Some(f) = fault {
            *stats.faults.entry(format!("{f:?}")).or_default() += 1;
        }
        if let Some(customer) = params.get("customer") {
            stats.log.push(Arrival {
                ms,
                command: name.clone(),
                customer: customer.to_string(),
                fault: fault.map(|f| format!("{f:?}")),
            });
        }
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fault == Some(Fault::ErrorPage) {
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html",
            "<html><head><title>Service Unavailable</title></head>\
             <body><h1>Service Unavailable</h1></body></html>",
        ));
    }
    if fault == Some(Fault::Late) {
        shared.world.land_later(
            Instant::now() + shared.late,
            shared.late_after_reads,
            params,
        );
        return Err(DroppedAnswer);
    }
    let now = shared.now();
    let result = {
        let mut store = lock(&shared.store);
        let how = match fault {
            Some(Fault::Unapplied) => Apply::Nothing,
            Some(Fault::Half) => Apply::Half,
            _ => Apply::Whole,
        };
        let customer = params.get("customer").unwrap_or("").to_string();
        let held = store.state().customers.get(&customer).map(|c| c.balance);
        let result = shared.platform.handle_as(&mut store, &params, now, how);
        if let (Some((charge, reads)), Some(balance)) = (shared.call_at_block, held)
            && name == "changeuserinfo"
            && params.get("customerblocked") == Some("true")
            && balance > Decimal::ZERO
            && store
                .state()
                .customers
                .get(&customer)
                .is_some_and(|c| c.blocked)
        {
            shared.world.call_in_progress(&customer, reads, charge);
        }
        // Changes waiting for this account's next reads land right after this answer, before
        // the client can send its next request; so do calls in progress that end now.
        let mut landed = Ok(());
        for late in shared.world.answered(&customer) {
            landed = landed.and(shared.platform.handle(&mut store, &late, now).map(drop));
        }
        for charge in shared.world.calls_ending(&customer) {
            let next = store.state().next_call_id;
            landed = landed.and(
                store
                    .commit(Op::AddCalls {
                        customer: customer.clone(),
                        calls: vec![Call {
                            call_id: next,
                            call_type: "PSTNOutSip".to_string(),
                            start: now - chrono::Duration::seconds(60),
                            destination: "+3212345678".to_string(),
                            duration_secs: 60,
                            charge,
                        }],
                    })
                    .map(drop),
            );
        }
        landed.and(result)
    };
    let xml = match result {
        Ok(xml) => xml,
        Err(e) => {
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                e.to_string(),
            ));
        }
    };
    match fault {
        Some(Fault::LostAnswer) => Err(DroppedAnswer),
        Some(Fault::Slow) => {
            tokio::time::sleep(shared.slow).await;
            Ok(shared.answer(xml))
        }
        _ => Ok(shared.answer(xml)),
    }
}
