//! The report as one self-contained HTML page a reseller can open or mail: the tables, and
//! three charts drawn here as inline SVG (sales per week by shop, stock by state, credit
//! outstanding over time). No script, no font, no image from elsewhere; a Content-Security-
//! Policy that allows nothing else. Written with maud, like the card holders' page: every
//! value is escaped by the engine.

use std::collections::BTreeSet;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Report, Standing};
use crate::table::{Cell, Table};

/// Colour-blind-safe series colours (Okabe and Ito), then greys.
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#666666",
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;

/// A "nice" axis maximum at or above `max`, and its tick step.
fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0] {
        let s = step * magnitude;
        if max / s <= 5.0 {
            return ((max / s).ceil() * s, s);
        }
    }
    (max, max)
}

fn y_axis(top: f64, step: f64, plot_h: f64, label: &dyn Fn(f64) -> String) -> Markup {
    let mut ticks = Vec::new();
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        ticks.push((TOP + plot_h - v / top * plot_h, label(v)));
        v += step;
    }
    html! {
        @for (y, text) in ticks {
            line x1=(LEFT) x2=(WIDTH - 8.0) y1=(f1(y)) y2=(f1(y)) stroke="#ddd" {}
            text x=(LEFT - 6.0) y=(f1(y + 4.0)) text-anchor="end" class="tick" { (text) }
        }
    }
}

/// A coordinate to one decimal.
fn f1(v: f64) -> String {
    format!("{v:.1}")
}

fn svg(height: f64, title: &str, body: Markup) -> Markup {
    html! {
        svg viewBox=(format!("0 0 {WIDTH} {height}")) width="100%" role="img" aria-label=(title)
            xmlns="http://www.w3.org/2000/svg" { (body) }
    }
}

fn legend<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Markup {
    html! {
        ul.legend {
            @for (colour, name) in items {
                li { span.swatch style=(format!("background:{colour}")) {} (name) }
            }
        }
    }
}

/// A week's bar, one piece per shop, bottom up: (shop, cards, top edge, height).
fn stack(
    by_shop: &std::collections::BTreeMap<String, usize>,
    top: f64,
    plot_h: f64,
) -> Vec<(&str, usize, f64, f64)> {
    let mut y = TOP + plot_h;
    by_shop
        .iter()
        .map(|(shop, n)| {
            let h = *n as f64 / top * plot_h;
            y -= h;
            (shop.as_str(), *n, y, h)
        })
        .collect()
}

/// Stacked bars: cards sold per week, one colour per shop.
fn sales_chart(report: &Report) -> Markup {
    let weeks: Vec<_> = report.weekly_sales.iter().collect();
    if weeks.is_empty() {
        return html! { p { "No sales in this period." } };
    }
    let shops: Vec<String> = report
        .weekly_sales
        .values()
        .flat_map(|m| m.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let colour =
        |shop: &str| PALETTE[shops.iter().position(|s| s == shop).unwrap_or(0) % PALETTE.len()];
    let max = weeks
        .iter()
        .map(|(_, m)| m.values().sum::<usize>())
        .max()
        .unwrap_or(1) as f64;
    let (top, step) = axis(max);
    let step = step.max(1.0);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - 8.0;
    let slot = plot_w / weeks.len() as f64;
    let bar = (slot * 0.7).min(48.0);
    let label_every = weeks.len().div_ceil(12);
    let body = html! {
        (y_axis(top, step, plot_h, &|v| format!("{v:.0}")))
        @for (i, (week, by_shop)) in weeks.iter().enumerate() {
            @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
            @for (shop, n, y, h) in stack(by_shop, top, plot_h) {
                rect x=(f1(x)) y=(f1(y)) width=(f1(bar)) height=(f1(h)) fill=(colour(shop)) {
                    title { (shop) ": " (n) " sold in the week of " (week) }
                }
            }
            @if i % label_every == 0 {
                text x=(f1(x + bar / 2.0)) y=(f1(HEIGHT - BOTTOM + 16.0)) text-anchor="middle" class="tick" {
                    (week.format("%d %b"))
                }
            }
        }
    };
    html! {
        (svg(HEIGHT, "Cards sold per week, by shop", body))
        (legend(shops.iter().map(|s| (colour(s), s.as_str()))))
    }
}

/// Horizontal bars: cards in each state.
fn stock_chart(report: &Report) -> Markup {
    let count = |s: Standing| -> usize {
        report
            .totals
            .iter()
            .map(|t| match s {
                Standing::InStock => t.in_stock,
                Standing::Consigned => t.consigned,
                Standing::Active => t.active,
                Standing::Blocked => t.blocked,
                Standing::Expired => t.expired,
                Standing::Unfinished => t.unfinished,
            })
            .sum()
    };
    let bars: Vec<(Standing, usize)> = Standing::ALL.iter().map(|s| (*s, count(*s))).collect();
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let row_h = 30.0;
    let height = TOP + row_h * bars.len() as f64 + 8.0;
    let label_w = 96.0;
    let plot_w = WIDTH - label_w - 60.0;
    let body = html! {
        @for (i, (standing, n)) in bars.iter().enumerate() {
            @let y = TOP + row_h * i as f64;
            @let w = *n as f64 / max * plot_w;
            text x=(f1(label_w - 8.0)) y=(f1(y + 15.0)) text-anchor="end" { (standing.name()) }
            rect x=(label_w) y=(f1(y)) width=(f1(w)) height="20" fill=(PALETTE[i % PALETTE.len()]) {}
            text x=(f1(label_w + w + 6.0)) y=(f1(y + 15.0)) { (n) }
        }
    };
    svg(height, "Cards by state", body)
}

/// Lines: credit outstanding at the end of each week, one per currency.
fn outstanding_chart(report: &Report) -> Markup {
    let series = &report.outstanding_by_week;
    let points: Vec<&(chrono::NaiveDate, Decimal)> = series.values().flatten().collect();
    if points.is_empty() {
        return html! { p { "No card sold yet." } };
    }
    let first = points.iter().map(|p| p.0).min().unwrap_or_default();
    let last = points.iter().map(|p| p.0).max().unwrap_or_default();
    let days = ((last - first).num_days()).max(1) as f64;
    let max = points
        .iter()
        .map(|p| p.1.to_f64().unwrap_or(0.0))
        .fold(0.0, f64::max);
    let (top, step) = axis(max);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - 8.0;
    let x_of = |d: chrono::NaiveDate| LEFT + (d - first).num_days() as f64 / days * plot_w;
    let y_of = |v: Decimal| TOP + plot_h - v.to_f64().unwrap_or(0.0) / top * plot_h;
    let body = html! {
        (y_axis(top, step, plot_h, &|v| format!("{v:.0}")))
        @for (i, (currency, line)) in series.iter().enumerate() {
            @let colour = PALETTE[i % PALETTE.len()];
            @let path: Vec<String> = line
                .iter()
                .map(|(d, v)| format!("{:.1},{:.1}", x_of(*d), y_of(*v)))
                .collect();
            polyline fill="none" stroke=(colour) stroke-width="2.5" points=(path.join(" ")) {}
            @for (d, v) in line {
                circle cx=(f1(x_of(*d))) cy=(f1(y_of(*v))) r="3.5" fill=(colour) {
                    title { (d) ": " (format!("{v:.2}")) " " (currency) }
                }
            }
        }
        @for d in [first, last] {
            text x=(f1(x_of(d).clamp(LEFT + 30.0, WIDTH - 40.0))) y=(f1(HEIGHT - BOTTOM + 16.0))
                text-anchor="middle" class="tick" { (d) }
        }
    };
    html! {
        (svg(HEIGHT, "Credit outstanding on sold cards, at the end of each week", body))
        (legend(series.keys().enumerate().map(|(i, c)| (PALETTE[i % PALETTE.len()], c.as_str()))))
    }
}

/// A table of the report's (`rows` of it), every column, figures right-aligned.
fn table(table: &Table, rows: std::ops::Range<usize>) -> Markup {
    let first_total = table.rows.len() - table.totals;
    html! {
        table {
            thead { tr { @for name in &table.header { th scope="col" { (name.replace('_', " ")) } } } }
            tbody {
                @for i in rows {
                    tr class=[(i >= first_total).then_some("total")] {
                        @for cell in &table.rows[i] {
                            td class=[(!matches!(cell, Cell::Text(_))).then_some("num")] { (cell) }
                        }
                    }
                }
            }
        }
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;\
color:#1b1b1b;margin:0 auto;max-width:1100px;padding:16px}h1{font-size:1.5em}\
h2{font-size:1.15em;margin-top:2em}table{border-collapse:collapse;width:100%;font-size:13px}\
th,td{border-bottom:1px solid #ccc;padding:4px 6px;text-align:left}td:first-child{white-space:nowrap}td.num{text-align:right;\
font-variant-numeric:tabular-nums}tr.total td{font-weight:bold;border-top:2px solid #333}\
.tick{font-size:11px;fill:#444}svg text{font-size:12px;fill:#222}.legend{list-style:none;\
padding:0;display:flex;flex-wrap:wrap;gap:12px}.swatch{display:inline-block;width:12px;\
height:12px;margin-right:4px;vertical-align:-1px}.wrap{overflow-x:auto}";

/// The page.
pub fn page(report: &Report, generated_at: &str) -> String {
    let p = &report.period;
    let period = match (p.since, p.until) {
        (None, None) => "all sales".to_string(),
        (Some(s), None) => format!("sales from {s}"),
        (None, Some(u)) => format!("sales through {u}"),
        (Some(s), Some(u)) => format!("sales from {s} through {u}"),
    };
    let unread: usize = report.totals.iter().map(|t| t.unread).sum();
    let by = report.by.name();
    let all = report.table();
    let body_rows = 0..all.rows.len() - all.totals;
    let total_rows = all.rows.len() - all.totals..all.rows.len();
    let mut totals_header = all.clone();
    totals_header.header[0] = "total".into();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                title { "Card stock report" }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                h1 { "Card stock report" }
                p {
                    "By " (by) ", " (period) "; made " (generated_at) ". Outstanding credit is \
                     what sold, active cards hold: the balance last read from the platform."
                }
                h2 { "Totals" }
                div.wrap { (table(&totals_header, total_rows)) }
                @if unread > 0 {
                    p {
                        (unread) " active cards were never read from the platform: they count \
                         at what was loaded. " code { "cardmint report --live" } " reads every \
                         balance now."
                    }
                }
                h2 { "By " (by) }
                div.wrap { (table(&all, body_rows)) }
                h2 { "Sales per week, by shop" }
                (sales_chart(report))
                h2 { "Stock by state" }
                (stock_chart(report))
                h2 { "Outstanding credit over time" }
                (outstanding_chart(report))
                h2 { "Expiring in the next 30 days" }
                @if report.expiring.is_empty() {
                    p { "No active card expires in the next 30 days." }
                } @else {
                    p { (report.expiring.len()) " active cards expire in the next 30 days." }
                    table {
                        thead { tr {
                            th scope="col" { "serial" }
                            th scope="col" { "batch" }
                            th scope="col" { "valid through" }
                        } }
                        tbody {
                            @for (serial, batch, d) in report.expiring.iter().take(200) {
                                tr { td { (serial) } td { (batch) } td { (d) } }
                            }
                        }
                    }
                }
            } }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis(7.0), (8.0, 2.0));
        assert_eq!(axis(100.0), (100.0, 20.0));
        assert_eq!(axis(0.0), (1.0, 1.0));
        let (top, step) = axis(1234.5);
        assert!(top >= 1234.5 && top / step <= 5.0);
    }
}
