//! Provisioning benchmark (not a test): drives an in-process sandbox with 50 ms latency.
//!
//! 1. 2,000 cards x 3 requests at --concurrency 32 --rate 1000: the target is within 15 % of
//!    2000 * 3 * 0.05 / 32 = 9.375 s.
//! 2. The same at --rate 100: at least 95 requests/s sustained, and no one-second window (as
//!    the sandbox saw the arrivals) above 100.
//! 3. A plain sequential loop of the same requests (what public clients do), on fewer cards,
//!    for the speed ratio.
//! 4. Late changes: the same 2,000 cards at --concurrency 32 --rate 1000, once without faults
//!    and once with 10 % of all requests meeting the `late` fault (answer dropped, the change
//!    lands 1.5 s later), settle delay 2 s. The target: within 1.25x the fault-free time plus
//!    one settle delay, and every card ready with exactly one credit.
//!
//! Run: `cargo bench --bench provision` (BENCH_CARDS and BENCH_SEQ_CARDS change the sizes;
//! BENCH_ONLY=late runs only the fourth).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cardmint::api::Client;
use cardmint::codes::{CodeSpec, PasswordSpec};
use cardmint::config::{ApiSettings, Credentials};
use cardmint::ledger::{Ledger, NewBatch};
use cardmint::provision::plan::{CardRequest, plan_cards};
use cardmint::provision::provision;
use cardmint::runner::{Options as EngineOptions, Run, Silent};
use cardmint::sandbox::{Sandbox, SandboxOptions};
use rust_decimal::Decimal;

const LATENCY: Duration = Duration::from_millis(50);
const LATE: Duration = Duration::from_millis(1500);
const SETTLE_DELAY: Duration = Duration::from_secs(2);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Setup {
    sandbox: Sandbox,
    client: Client,
    ledger: Ledger,
    _dir: tempfile::TempDir,
}

fn setup(pool: usize, late_faults: f64) -> Setup {
    let credentials = Credentials::sandbox_default();
    let sandbox = Sandbox::start(SandboxOptions {
        latency: LATENCY,
        fault_rate: late_faults,
        fault_kinds: vec![cardmint::sandbox::Fault::Late],
        late: LATE,
        ..SandboxOptions::new(credentials.clone())
    })
    .expect("sandbox");
    let client = Client::new(
        &ApiSettings {
            url: sandbox.url(),
            credentials,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        },
        pool,
    )
    .expect("client");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("bench.db")).unwrap();
    Setup {
        sandbox,
        client,
        ledger,
        _dir: dir,
    }
}

fn batch(
    ledger: &mut Ledger,
    cards: usize,
) -> (cardmint::ledger::Batch, Vec<cardmint::ledger::Card>) {
    let code = CodeSpec::new(12, "").unwrap();
    let requests = vec![CardRequest::retail(Decimal::from(5), None); cards];
    let new_cards = plan_cards(
        requests,
        &code,
        PasswordSpec::new(10).unwrap(),
        &HashSet::new(),
        0,
    )
    .unwrap();
    let b = ledger
        .create_batch(
            &NewBatch {
                value: Decimal::from(5),
                currency: "EUR".into(),
                tariff: None,
                active: false,
                code,
                password_length: 10,
                source: None,
                out_dir: None,
                template: None,
                sheet: None,
                platform: cardmint::ledger::Platform::Sandbox,
                expiry: None,
                lang: None,
                values: Default::default(),
            },
            &new_cards,
            |id: &str| std::path::PathBuf::from(id),
        )
        .unwrap();
    let cards = ledger.cards(&b.id).unwrap();
    (b, cards)
}

/// The most arrivals in any window of one second.
fn busiest_second(arrivals_ms: &[u64]) -> usize {
    let mut a = arrivals_ms.to_vec();
    a.sort_unstable();
    let mut best = 0;
    let mut j = 0;
    for i in 0..a.len() {
        while a[i] - a[j] >= 1000 {
            j += 1;
        }
        best = best.max(i - j + 1);
    }
    best
}

fn engine_run(
    cards: usize,
    concurrency: usize,
    rate: f64,
    late_faults: f64,
) -> (Duration, u64, usize, f64) {
    let mut s = setup(concurrency, late_faults);
    let (b, todo) = batch(&mut s.ledger, cards);
    let options = EngineOptions {
        concurrency,
        rate,
        burst: (rate / 10.0).clamp(1.0, 10.0) as u32,
        settle_delay: SETTLE_DELAY,
        ..EngineOptions::default()
    };
    let started = Instant::now();
    let run = Run {
        client: &s.client,
        ledger: s.ledger.path(),
        batch_id: Some(&b.id),
        options: &options,
        observer: &Silent,
        throttle: None,
    };
    let report = provision(&run, &b, todo, Vec::new()).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.done, cards, "every card provisioned: {report:?}");
    let state = s.sandbox.state();
    assert_eq!(state.customers.len(), cards);
    assert!(
        state
            .customers
            .values()
            .all(|c| c.transactions.len() == 1 && c.blocked),
        "every card blocked with exactly one credit"
    );
    let stats = s.sandbox.stats();
    let mut arrivals = stats.arrivals_ms.clone();
    arrivals.sort_unstable();
    if std::env::var("BENCH_DEBUG").is_ok() {
        let k = (rate.floor() as usize).min(arrivals.len() - 1);
        let gaps: Vec<u64> = arrivals.windows(k + 1).map(|w| w[k] - w[0]).collect();
        let mut sorted = gaps.clone();
        sorted.sort_unstable();
        eprintln!(
            "gaps between arrival i and i+{k}: min {} p1 {} median {}",
            sorted[0],
            sorted[sorted.len() / 100],
            sorted[sorted.len() / 2]
        );
    }
    let span = (arrivals.last().unwrap() - arrivals.first().unwrap()) as f64 / 1000.0;
    let sustained = (arrivals.len() - 1) as f64 / span;
    (
        elapsed,
        report.requests,
        busiest_second(&arrivals),
        sustained,
    )
}

fn sequential(cards: usize) -> (Duration, u64) {
    let mut s = setup(1, 0.0);
    let (_, todo) = batch(&mut s.ledger, cards);
    let started = Instant::now();
    let mut requests = 0;
    for card in &todo {
        s.client
            .create_customer(&card.customer, &card.password, None, None)
            .unwrap();
        s.client.set_blocked(&card.customer, true).unwrap();
        s.client
            .set_transaction(&card.customer, card.value)
            .unwrap();
        requests += 3;
    }
    (started.elapsed(), requests)
}

fn main() {
    let cards = env_usize("BENCH_CARDS", 2000);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("late") {
        return late(cards);
    }
    let seq_cards = env_usize("BENCH_SEQ_CARDS", 200);
    let ideal = cards as f64 * 3.0 * LATENCY.as_secs_f64() / 32.0;

    let (elapsed, requests, busiest, _) = engine_run(cards, 32, 1000.0, 0.0);
    let fast = requests as f64 / elapsed.as_secs_f64();
    println!(
        "concurrency 32, rate 1000: {cards} cards, {requests} requests in {:.2} s ({fast:.0} req/s); \
         ideal {ideal:.3} s, {:+.1} % off; busiest second {busiest}",
        elapsed.as_secs_f64(),
        (elapsed.as_secs_f64() / ideal - 1.0) * 100.0
    );

    let (elapsed, requests, busiest, sustained) = engine_run(cards, 32, 100.0, 0.0);
    println!(
        "concurrency 32, rate 100: {requests} requests in {:.2} s, sustained {sustained:.1} req/s \
         (first to last arrival); busiest one-second window {busiest}",
        elapsed.as_secs_f64()
    );

    let (elapsed, requests) = sequential(seq_cards);
    let slow = requests as f64 / elapsed.as_secs_f64();
    println!(
        "sequential loop: {seq_cards} cards, {requests} requests in {:.2} s ({slow:.1} req/s); \
         the engine at rate 1000 is {:.1}x faster",
        elapsed.as_secs_f64(),
        fast / slow
    );

    late(cards);
}

fn late(cards: usize) {
    let (clean, clean_requests, _, _) = engine_run(cards, 32, 1000.0, 0.0);
    let (late, late_requests, _, _) = engine_run(cards, 32, 1000.0, 0.1);
    let target = clean.as_secs_f64() * 1.25 + SETTLE_DELAY.as_secs_f64();
    println!(
        "late changes: fault-free {:.2} s ({clean_requests} requests); 10 % late (landing after \
         {:.1} s, settle delay {:.1} s) {:.2} s ({late_requests} requests); target <= {target:.2} s: {}",
        clean.as_secs_f64(),
        LATE.as_secs_f64(),
        SETTLE_DELAY.as_secs_f64(),
        late.as_secs_f64(),
        if late.as_secs_f64() <= target {
            "met"
        } else {
            "MISSED"
        }
    );
}
