//! `cardmint report`: the stock and the money across every batch.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{CardState, parse_date};
use crate::lifecycle;
use crate::report::{self, COLUMNS, GroupBy, Item, Period};
use crate::table::Cell;

/// Report the stock and the money across every batch, grouped by shop, batch or month of
/// sale: cards in stock, consigned, sold, active, blocked, expired; face value; credit
/// loaded; credit outstanding on sold cards (your liability: from the balances last read, or
/// read now with --live); sales in the period; cards expiring in the next 30 days; totals per
/// currency. --out writes CSV, XLSX or a self-contained HTML page with charts, by extension.
///
/// Examples:
///   cardmint report
///   cardmint report --by month --since 2026-11-01 --until 2026-11-30 --out november.html
///   cardmint --sandbox report --by batch --live --out stock.xlsx
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// How rows are grouped
    #[arg(long, value_enum, default_value_t = GroupBy::Shop)]
    by: GroupBy,
    /// Count sales from this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    since: Option<NaiveDate>,
    /// Count sales through this day (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    until: Option<NaiveDate>,
    /// Write the report here: FILE.csv, FILE.xlsx or FILE.html
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Read every active card's balance from the platform now (through the throttle)
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Xlsx,
    Html,
}

/// What a report is written as, by the extension of `--out`.
const FORMATS: [(&str, Format); 4] = [
    ("csv", Format::Csv),
    ("xlsx", Format::Xlsx),
    ("html", Format::Html),
    ("htm", Format::Html),
];

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let format = match &args.out {
        Some(out) => {
            global.can_write(out, &FORMATS.map(|(ext, _)| ext))?;
            FORMATS
                .iter()
                .find(|(ext, _)| crate::text::has_extension(out, ext))
                .map(|(_, f)| *f)
        }
        None => None,
    };
    if let (Some(s), Some(u)) = (args.since, args.until)
        && s > u
    {
        return Err(Error::Usage(format!(
            "--since {s} is after --until {u}: nothing could be counted"
        )));
    }
    let ledger = global.open_ledger()?;
    let mut run_report = None;
    if args.live {
        let connection = global.connect(&options)?;
        let mut total = crate::runner::Report::default();
        for batch in ledger.batches()? {
            let active: Vec<_> = ledger
                .cards(&batch.id)?
                .into_iter()
                .filter(|c| c.state == CardState::Active)
                .collect();
            if active.is_empty() {
                continue;
            }
            let n = active.len();
            let (_, r) = global.run_engine_with(
                &connection,
                &ledger,
                Some(&batch.id),
                n,
                &options,
                |run| lifecycle::status(run, active),
            )?;
            total.absorb(r);
        }
        run_report = Some(total);
    }
    let batches = ledger.batches()?;
    let cards: Vec<Vec<crate::ledger::Card>> = batches
        .iter()
        .map(|b| ledger.cards(&b.id))
        .collect::<Result<_, _>>()?;
    let replacements = ledger.replacement_cards()?;
    let items: Vec<Item<'_>> = batches
        .iter()
        .zip(&cards)
        .flat_map(|(b, cs)| {
            let replacements = &replacements;
            cs.iter().map(move |c| Item {
                batch: b,
                card: c,
                expires_on: lifecycle::expires_on(b, c),
                replacement: replacements.contains(&c.id),
            })
        })
        .collect();
    let period = Period {
        since: args.since,
        until: args.until,
        today: crate::clock::today(),
    };
    let made = crate::clock::stamp(chrono::Utc::now());
    let report = report::build(&items, &ledger.balance_reads()?, args.by, period);
    let json_row = |r: &report::Row| {
        let mut m = serde_json::Map::new();
        for (k, cell) in COLUMNS.iter().zip(r.cells()) {
            let v = match cell {
                Cell::Text(t) | Cell::Figure(t) => t.into(),
                Cell::Count(n) => n.into(),
                Cell::Amount(a) => format!("{a:.2}").into(),
            };
            m.insert(
                if *k == "group" {
                    args.by.name().into()
                } else {
                    (*k).into()
                },
                v,
            );
        }
        serde_json::Value::Object(m)
    };
    global.emit(serde_json::json!({
        "by": args.by.name(),
        "since": args.since.map(|d| d.to_string()),
        "until": args.until.map(|d| d.to_string()),
        "today": period.today.to_string(),
        "rows": report.rows.iter().map(json_row).collect::<Vec<_>>(),
        "totals": report.totals.iter().map(json_row).collect::<Vec<_>>(),
        "expiring": report.expiring.iter().map(|(s, b, d)| serde_json::json!({
            "serial": s, "batch": b, "expires_on": d.to_string(),
        })).collect::<Vec<_>>(),
        // The chart of credit outstanding, week by week (its last point is today's, or
        // --until's).
        "outstanding_by_week": report.outstanding_by_week.iter().map(|(currency, points)| {
            (currency.clone(), points.iter().map(|(d, v)| serde_json::json!({
                "week_end": d.to_string(), "outstanding": format!("{v:.2}"),
            })).collect::<serde_json::Value>())
        }).collect::<serde_json::Map<_, _>>(),
        "out": args.out,
        "run": run_report.as_ref().map(|r| crate::cli::summary::report_json(global, r, "read")),
    }));
    print_table(global, &report);
    if let (Some(path), Some(format)) = (&args.out, format) {
        let bytes = match format {
            Format::Csv => report.table().csv(),
            Format::Xlsx => report.table().xlsx("report").map_err(|e| Error::Io {
                what: format!("write {}", path.display()),
                source: std::io::Error::other(e.to_string()),
            })?,
            Format::Html => report::html::page(&report, &made).into_bytes(),
        };
        // No secrets (no code or password): readable like the inventory.
        crate::atomic::write(path, &bytes, crate::atomic::PUBLIC)
            .map_err(Error::io(format!("write {}", path.display())))?;
        say!(global, "report in {}", path.display());
    }
    Ok(match &run_report {
        Some(r) if !r.failed.is_empty() => crate::cli::summary::summary_lines(global, r, "read"),
        _ => Exit::Success,
    })
}

fn print_table(global: &Global, report: &report::Report) {
    // The columns a terminal has room for; the files have every one.
    let mut table = report.table();
    for (i, short) in [
        (1, "cur"),
        (3, "stock"),
        (10, "face value"),
        (15, "sales value"),
    ] {
        table.header[i] = short.into();
    }
    table.header[16] = "expiring".into();
    for line in table.text(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16]) {
        say!(global, "{line}");
    }
    // What the HTML page says under its totals, the terminal says too.
    let unread: usize = report.totals.iter().map(|t| t.unread).sum();
    if unread > 0 {
        say!(
            global,
            "{unread} active card(s) never read from the platform count at what was loaded; \
             `cardmint report --live` reads every balance now"
        );
    }
}
