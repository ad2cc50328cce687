//! `cardmint report`: the stock and the money across every batch.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::{CardState, parse_date};
use crate::lifecycle;
use crate::report::{self, COLUMNS, Cell, GroupBy, Item, Period};

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

fn format_of(path: &Path) -> Result<Format, Error> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some("html" | "htm") => Ok(Format::Html),
        _ => Err(Error::Usage(format!(
            "--out {}: name a .csv, .xlsx or .html file",
            path.display()
        ))),
    }
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options()?;
    let format = args.out.as_deref().map(format_of).transpose()?;
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
        today: super::consign::today(),
    };
    let made = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let report = report::build(&items, &ledger.balance_reads()?, args.by, period);
    let json_row = |r: &report::Row| {
        let mut m = serde_json::Map::new();
        for (k, cell) in COLUMNS.iter().zip(r.cells()) {
            let v = match cell {
                Cell::Text(t) => t.into(),
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
        "run": run_report.as_ref().map(|r| super::report_json(global, r, "read")),
    }));
    print_table(global, &report, args.by);
    if let (Some(path), Some(format)) = (&args.out, format) {
        let bytes = match format {
            Format::Csv => csv_bytes(&report, args.by)?,
            Format::Xlsx => xlsx_bytes(&report, args.by).map_err(|e| Error::Io {
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
        Some(r) if !r.failed.is_empty() => super::summary_lines(global, r, "read"),
        _ => Exit::Success,
    })
}

fn print_table(global: &Global, report: &report::Report, by: GroupBy) {
    let shown = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16];
    let names = [
        by.name(),
        "cur",
        "cards",
        "stock",
        "consigned",
        "sold",
        "active",
        "blocked",
        "expired",
        "face value",
        "loaded",
        "outstanding",
        "sales",
        "sales value",
        "expiring",
    ];
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .chain(&report.totals)
        .map(|r| {
            let cells = r.cells();
            shown.iter().map(|i| cells[*i].to_string()).collect()
        })
        .collect();
    let widths: Vec<usize> = (0..names.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([names[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let w = widths[i];
                if i < 2 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    say!(global, "{}", line(&names));
    for r in &rows {
        say!(
            global,
            "{}",
            line(&r.iter().map(String::as_str).collect::<Vec<_>>())
        );
    }
    let unread: usize = report.totals.iter().map(|t| t.unread).sum();
    if unread > 0 {
        say!(
            global,
            "{unread} active cards never read from the platform count at what was loaded; \
             --live reads every balance now"
        );
    }
    if !report.expiring.is_empty() {
        say!(
            global,
            "{} active cards expire in the next 30 days:",
            report.expiring.len()
        );
        for (serial, batch, d) in report.expiring.iter().take(20) {
            say!(global, "  {batch} {serial} valid through {d}");
        }
        if report.expiring.len() > 20 {
            say!(global, "  ... (the full list is in --json and --out)");
        }
    }
}

fn header(by: GroupBy) -> Vec<&'static str> {
    let mut h = COLUMNS.to_vec();
    h[0] = by.name();
    h
}

fn csv_bytes(report: &report::Report, by: GroupBy) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Io {
        what: "write the report".into(),
        source: e.into(),
    };
    w.write_record(header(by)).map_err(err)?;
    for r in report.rows.iter().chain(&report.totals) {
        w.write_record(r.cells().iter().map(ToString::to_string))
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::io("write the report".to_string())(e.into_error()))
}

/// Text cells for names, number cells for counts and amounts (two decimals shown); never a
/// formula.
fn xlsx_bytes(report: &report::Report, by: GroupBy) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_decimal::prelude::ToPrimitive;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("report")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let money = rust_xlsxwriter::Format::new().set_num_format("0.00");
    let total_money = money.clone().set_bold();
    for (col, name) in header(by).iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold)?;
    }
    let body = report.rows.iter().map(|r| (r, false));
    let totals = report.totals.iter().map(|r| (r, true));
    for (i, (row, total)) in body.chain(totals).enumerate() {
        let at = i as u32 + 1;
        for (col, cell) in row.cells().into_iter().enumerate() {
            let col = col as u16;
            match (cell, total) {
                (Cell::Text(t), false) => sheet.write_string(at, col, t)?,
                (Cell::Text(t), true) => sheet.write_string_with_format(at, col, t, &bold)?,
                (Cell::Count(n), _) => sheet.write_number(at, col, n as f64)?,
                (Cell::Amount(a), t) => sheet.write_number_with_format(
                    at,
                    col,
                    a.to_f64().unwrap_or(0.0),
                    if t { &total_money } else { &money },
                )?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    book.save_to_buffer()
}
