//! Rendering benchmark (not a test): the retail design, A4 10-up (Avery C32011), duplex, a QR on every card.
//!
//! For 1,000, 10,000 and 100,000 cards: wall time, peak memory (VmHWM, each size in a fresh
//! process so peaks do not carry over), and bytes per card.
//!
//! Run: `cargo bench --bench render` (BENCH_RENDER_SIZES=1000,10000 to choose sizes;
//! BENCH_RENDER_LABELS=arabic for welcome cards greeting an Arabic name each: shaped text).

use std::process::Command;
use std::time::Instant;

use cardmint::render::{self, Duplex, Job, Target};

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn one(count: usize) {
    let arabic = std::env::var("BENCH_RENDER_LABELS").is_ok_and(|v| v == "arabic");
    let design = render::load_design(
        if arabic { "welcome" } else { "retail" },
        &Default::default(),
    )
    .unwrap();
    // Arabic names, each card its own (a name and a number written in Arabic-Indic digits).
    let names = ["محمد علي", "فاطمة الزهراء", "عبد الله سلام", "ليلى حسن"];
    let digits = |n: usize| -> String {
        n.to_string()
            .chars()
            .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
            .collect()
    };
    let sheet = render::load_sheet_for("avery-c32011", &design).unwrap();
    let cards: Vec<_> = (0..count)
        .map(|i| render::CardFields {
            serial: cardmint::codes::serial(i as u64 + 1),
            code: format!(
                "{}",
                100_000_000_000u64 + (i as u64).wrapping_mul(7_919_777) % 899_999_999_999
            ),
            password: "Xk7-mQ2p".into(),
            value: "5.00".into(),
            currency: "EUR".into(),
            batch: "B0001".into(),
            label: if arabic {
                format!("{} {}", names[i % names.len()], digits(i))
            } else {
                String::new()
            },
            ..Default::default()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cards.pdf");
    let before = peak_kib();
    let started = Instant::now();
    let job = Job {
        design: &design,
        sheet: &sheet,
        duplex: Duplex::Long,
        offsets: Default::default(),
        start: 1,
        scratch: None,
        cards: &cards,
    };
    let out = render::render(&job, &Target::One(path)).unwrap();
    let elapsed = started.elapsed();
    let size = out.files[0].1;
    println!(
        "{count:>7} cards: {:>7.3} s, {:>6.0} cards/s, {} pages, {:.1} MB ({:.0} bytes/card), peak memory {:.1} MiB (card data alone {:.1} MiB before rendering)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        out.pages,
        size as f64 / 1e6,
        size as f64 / count as f64,
        peak_kib() as f64 / 1024.0,
        before as f64 / 1024.0,
    );
}

fn main() {
    if let Ok(n) = std::env::var("BENCH_RENDER_ONE") {
        one(n.parse().unwrap());
        return;
    }
    let sizes = std::env::var("BENCH_RENDER_SIZES").unwrap_or_else(|_| "1000,10000,100000".into());
    println!("rayon threads: {}", rayon::current_num_threads());
    // This machine's speed drifts between runs (a shared VM): small sizes run five times, so
    // the spread shows; read the median.
    for n in sizes.split(',') {
        let repeat = if n.trim().parse::<usize>().unwrap_or(0) <= 10_000 {
            5
        } else {
            1
        };
        for _ in 0..repeat {
            let status = Command::new(std::env::current_exe().unwrap())
                .env("BENCH_RENDER_ONE", n.trim())
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
}
