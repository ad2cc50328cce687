//! Portal benchmark (not a test): the card holders' page in-process, against an in-process
//! sandbox answering after 50 ms.
//!
//! 1. 200 concurrent signed-in sessions browse (account, calls, numbers, in turn, with a
//!    think time of 0.5 to 1.5 s between pages, as people do) for BENCH_SECONDS (20): p50 and
//!    p99 page times. The goal: p99 under 1 s at the default rate.
//! 2. The same with no think time at all (every session asking as fast as it can): the
//!    throttle's queue shows in the times.
//! 3. 10,000 wrong sign-ins from one address (16 clients at once, real logins with wrong
//!    passwords): how many validateuser requests reached the platform. The goal: fewer than 20.
//!
//! The portal runs at the default --rate 10 and --concurrency (BENCH_RATE=1000 for another
//! rate), every platform request through that one throttle; the cards are provisioned at
//! rate 1000 first. Run: `cargo bench --bench portal`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cardmint::api::Client;
use cardmint::codes::{CodeSpec, PasswordSpec};
use cardmint::config::{ApiSettings, Credentials};
use cardmint::ledger::{Ledger, NewBatch, Platform};
use cardmint::portal::{self, Backend, Look, Portal, Settings};
use cardmint::provision::plan::{CardRequest, plan_cards};
use cardmint::runner::{Options, Silent};
use cardmint::sandbox::{Sandbox, SandboxOptions};
use rust_decimal::Decimal;

const SESSIONS: usize = 200;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_idle_connections_per_host(4)
        .build()
        .new_agent()
}

/// Signs in with a retail code, as a client at address `from` behind the page's proxy;
/// returns the session cookie.
fn sign_in(
    agent: &ureq::Agent,
    base: &str,
    from: &str,
    login: &str,
    password: &str,
) -> Option<String> {
    let mut page = agent
        .get(format!("{base}/signin"))
        .header("X-Forwarded-For", from)
        .call()
        .ok()?;
    let cookie = page
        .headers()
        .get("set-cookie")?
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .to_string();
    let body = page.body_mut().read_to_string().ok()?;
    let key = "name=\"csrf\" value=\"";
    let at = body.find(key)? + key.len();
    let csrf = body[at..at + body[at..].find('"')?].to_string();
    let answer = agent
        .post(format!("{base}/signin"))
        .header("Cookie", &cookie)
        .header("X-Forwarded-For", from)
        .send_form([
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ])
        .ok()?;
    let signed = answer.status().as_u16() == 303;
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    if signed { cookie } else { None }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn browse(base: &str, codes: &[String], seconds: u64, think: bool) -> Vec<Duration> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    // Pages that said "being fetched" (the platform's answer not there within 0.8 s).
    let waiting = Arc::new(Mutex::new(0usize));
    // Of those, pages the session had already seen with content (past the first reads).
    let waiting_again = Arc::new(Mutex::new(0usize));
    // Pages that showed an older read, saying how old ("As of ...").
    let older = Arc::new(Mutex::new(0usize));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    std::thread::scope(|scope| {
        for (i, code) in codes.iter().enumerate() {
            let times = times.clone();
            let failures = failures.clone();
            let waiting = waiting.clone();
            let waiting_again = waiting_again.clone();
            let older = older.clone();
            scope.spawn(move || {
                let agent = agent();
                // Each holder from an address of its own (the limits count per address).
                let from = format!("10.0.{}.{}", i / 250, i % 250 + 1);
                let Some(cookie) = sign_in(&agent, base, &from, code, "") else {
                    *failures.lock().unwrap() += 1;
                    return;
                };
                let pages = ["/account", "/calls", "/numbers"];
                let mut n = i;
                let mut seen = [false; 3];
                let mut seed = i as u64 * 2_654_435_761 + 1;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    let ok = agent
                        .get(format!("{base}{}", pages[n % pages.len()]))
                        .header("Cookie", &cookie)
                        .header("X-Forwarded-For", &from)
                        .call()
                        .ok()
                        .and_then(|mut r| {
                            let body = r.body_mut().read_to_string().unwrap_or_default();
                            let kind = n % pages.len();
                            if body.contains("being fetched") {
                                *waiting.lock().unwrap() += 1;
                                if seen[kind] {
                                    *waiting_again.lock().unwrap() += 1;
                                }
                            } else {
                                seen[kind] = true;
                            }
                            if body.contains("As of ") {
                                *older.lock().unwrap() += 1;
                            }
                            (r.status().as_u16() == 200).then_some(())
                        })
                        .is_some();
                    let took = started.elapsed();
                    if ok {
                        times.lock().unwrap().push(took);
                    } else {
                        *failures.lock().unwrap() += 1;
                    }
                    n += 1;
                    if think {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        let ms = 500 + (seed >> 33) % 1000;
                        std::thread::sleep(Duration::from_millis(ms));
                    }
                }
            });
        }
    });
    let failed = *failures.lock().unwrap();
    if failed > 0 {
        println!("  {failed} pages or sign-ins failed");
    }
    println!(
        "  {} of the pages said \"being fetched\" (answered after 0.8 s, loading again), {} of \
         them on a page its session had seen with content; {} showed an older read with its age",
        *waiting.lock().unwrap(),
        *waiting_again.lock().unwrap(),
        *older.lock().unwrap()
    );
    let mut t = times.lock().unwrap().clone();
    t.sort_unstable();
    t
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let credentials = Credentials::sandbox_default();
    let sandbox = Sandbox::start(SandboxOptions {
        latency: Duration::from_millis(50),
        ..SandboxOptions::new(credentials.clone())
    })
    .expect("sandbox");
    let settings = ApiSettings {
        url: sandbox.url(),
        credentials,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(20),
    };
    let client = Client::new(&settings, 64).expect("client");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portal.db");
    let mut ledger = Ledger::open(&path).unwrap();
    let code = CodeSpec::new(12, "").unwrap();
    let cards = plan_cards(
        vec![CardRequest::retail(Decimal::from(5), None); SESSIONS],
        &code,
        PasswordSpec::new(10).unwrap(),
        &HashSet::new(),
        0,
    )
    .unwrap();
    let batch = ledger
        .create_batch(
            &NewBatch {
                value: Decimal::from(5),
                currency: "EUR".into(),
                tariff: None,
                active: true,
                code,
                password_length: 10,
                source: None,
                out_dir: None,
                template: None,
                sheet: None,
                platform: Platform::Sandbox,
                expiry: None,
                lang: None,
                values: Default::default(),
            },
            &cards,
            |id: &str| dir.path().join(id),
        )
        .unwrap();
    let options = Options {
        concurrency: 64,
        rate: 1000.0,
        burst: 10,
        ..Options::default()
    };
    let run = cardmint::runner::Run {
        client: &client,
        ledger: &path,
        batch_id: Some(&batch.id),
        options: &options,
        observer: &Silent,
        throttle: None,
    };
    cardmint::provision::provision(&run, &batch, ledger.cards(&batch.id).unwrap(), Vec::new())
        .unwrap();
    let cards = ledger.cards(&batch.id).unwrap();
    let codes: Vec<String> = cards.iter().map(|c| c.customer.clone()).collect();
    // The page's throttle: the default rate (10 a second) unless BENCH_RATE says otherwise,
    // and the default concurrency and burst.
    let rate: f64 = std::env::var("BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(Options::default().rate);
    let page_options = Options {
        rate,
        ..Options::default()
    };
    let backend = Arc::new(Backend::new(
        client,
        Arc::new(cardmint::runner::throttle::Throttle::new(
            page_options.rate,
            page_options.burst,
            page_options.concurrency,
        )),
        Platform::Sandbox,
        path.clone(),
        page_options,
    ));
    let state = Arc::new(
        Portal::new(
            backend,
            Settings {
                look: Look {
                    brand: "Bench".into(),
                    support: None,
                    softphone_url: None,
                    region: None,
                    time_zone: chrono_tz::UTC,
                    assets: Default::default(),
                },
                colour: None,
                logo: None,
                // Behind a proxy: each session's address comes in X-Forwarded-For (200
                // holders from one address would be stopped by the per-address limit).
                trust_forwarded_for: true,
                session_idle: Duration::from_secs(1200),
                tls: false,
                change_wait: cardmint::portal::CHANGE_WAIT,
                // Every session signs in at once (each from its own address, below).
                checks_per_minute: 100_000,
                v6_prefix: 64,
                failure_answer: cardmint::portal::FAILURE_ANSWER,
                sessions: None,
                body_timeout: Duration::from_secs(10),
                languages: cardmint::portal::i18n::Languages::load(None).unwrap(),
                log_format: cardmint::portal::observe::LogFormat::Off,
            },
        )
        .unwrap(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = portal::router(state);
    runtime.spawn(portal::serve(
        listener,
        router,
        None,
        portal::Capacity {
            total: portal::connection_room().0,
            // Every session comes from 127.0.0.1.
            per_network: None,
            v6_prefix: 64,
        },
        std::future::pending(),
    ));

    println!(
        "portal benchmark: {SESSIONS} sessions, sandbox latency 50 ms, {seconds} s each, \
         --rate {rate}{}",
        if std::env::var("BENCH_RATE").is_ok() {
            ""
        } else {
            " (the default)"
        }
    );
    for (think, what) in [
        (true, "browsing, 0.5-1.5 s between pages"),
        (false, "no think time"),
    ] {
        let t = browse(&base, &codes, seconds, think);
        println!(
            "  {what}: {} pages, {:.0} pages/s, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            t.len(),
            t.len() as f64 / seconds as f64,
            percentile(&t, 0.50).as_secs_f64() * 1000.0,
            percentile(&t, 0.99).as_secs_f64() * 1000.0,
            t.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        );
    }

    let before = sandbox
        .stats()
        .requests
        .get("validateuser")
        .copied()
        .unwrap_or(0);
    let started = Instant::now();
    let attempts = 10_000;
    let refused = Arc::new(Mutex::new(0usize));
    std::thread::scope(|scope| {
        for t in 0..16 {
            let (base, codes, refused) = (&base, &codes, refused.clone());
            scope.spawn(move || {
                let agent = agent();
                for i in (t..attempts).step_by(16) {
                    let login = &codes[i % codes.len()];
                    if sign_in(&agent, base, "203.0.113.7", login, &format!("Wrong-{i}x")).is_none()
                    {
                        *refused.lock().unwrap() += 1;
                    }
                }
            });
        }
    });
    let reached = sandbox
        .stats()
        .requests
        .get("validateuser")
        .copied()
        .unwrap_or(0)
        - before;
    println!(
        "  {attempts} wrong sign-ins from one address in {:.1} s: {} refused, {reached} validateuser reached the platform",
        started.elapsed().as_secs_f64(),
        refused.lock().unwrap()
    );
}
