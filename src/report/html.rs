//! The report as one self-contained HTML page a reseller can open or mail: the tables, and
//! three charts drawn here as inline SVG (sales per week by shop, stock by state, credit
//! outstanding over time). No script, no font, no image from elsewhere; a Content-Security-
//! Policy that allows nothing else.

use std::collections::BTreeSet;
use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{COLUMNS, Report, Row, Standing};

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

fn y_axis(svg: &mut String, top: f64, step: f64, plot_h: f64, label: &dyn Fn(f64) -> String) {
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let y = TOP + plot_h - v / top * plot_h;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0,
            escape(&label(v))
        );
        v += step;
    }
}

fn svg_open(title: &str) -> String {
    format!(
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title)
    )
}

/// Stacked bars: cards sold per week, one colour per shop.
fn sales_chart(report: &Report) -> String {
    let weeks: Vec<_> = report.weekly_sales.iter().collect();
    if weeks.is_empty() {
        return "<p>No sales in this period.</p>".into();
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
    let mut svg = svg_open("Cards sold per week, by shop");
    y_axis(&mut svg, top, step, plot_h, &|v| format!("{v:.0}"));
    let label_every = weeks.len().div_ceil(12);
    for (i, (week, by_shop)) in weeks.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for (shop, n) in by_shop.iter() {
            let h = *n as f64 / top * plot_h;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{}: {n} sold in the week of {week}</title></rect>"#,
                colour(shop),
                escape(shop)
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
                x + bar / 2.0,
                HEIGHT - BOTTOM + 16.0,
                week.format("%d %b")
            );
        }
    }
    svg.push_str("</svg>");
    let legend: String = shops
        .iter()
        .map(|s| {
            format!(
                r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
                colour(s),
                escape(s)
            )
        })
        .collect();
    format!(r#"{svg}<ul class="legend">{legend}</ul>"#)
}

/// Horizontal bars: cards in each state.
fn stock_chart(report: &Report) -> String {
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
    let mut svg = format!(
        r#"<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="Cards by state" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (standing, n)) in bars.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let w = *n as f64 / max * plot_w;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="20" fill="{}"/><text x="{:.1}" y="{:.1}">{n}</text>"#,
            label_w - 8.0,
            y + 15.0,
            standing.name(),
            PALETTE[i % PALETTE.len()],
            label_w + w + 6.0,
            y + 15.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Lines: credit outstanding at the end of each week, one per currency.
fn outstanding_chart(report: &Report) -> String {
    let series = &report.outstanding_by_week;
    let points: Vec<&(chrono::NaiveDate, Decimal)> = series.values().flatten().collect();
    if points.is_empty() {
        return "<p>No card sold yet.</p>".into();
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
    let mut svg = svg_open("Credit outstanding on sold cards, at the end of each week");
    y_axis(&mut svg, top, step, plot_h, &|v| format!("{v:.0}"));
    for (i, (currency, line)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = line
            .iter()
            .map(|(d, v)| format!("{:.1},{:.1}", x_of(*d), y_of(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{}"/>"#,
            path.join(" ")
        );
        for (d, v) in line {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{d}: {v:.2} {}</title></circle>"#,
                x_of(*d),
                y_of(*v),
                escape(currency)
            );
        }
    }
    for d in [first, last] {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            x_of(d).clamp(LEFT + 30.0, WIDTH - 40.0),
            HEIGHT - BOTTOM + 16.0,
            d
        );
    }
    svg.push_str("</svg>");
    let legend: String = series
        .keys()
        .enumerate()
        .map(|(i, c)| {
            format!(
                r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
                PALETTE[i % PALETTE.len()],
                escape(c)
            )
        })
        .collect();
    format!(r#"{svg}<ul class="legend">{legend}</ul>"#)
}

fn table(rows: &[Row], totals: &[Row], first: &str) -> String {
    let mut t = String::from("<table><thead><tr>");
    for (i, c) in COLUMNS.iter().enumerate() {
        let name = if i == 0 { first } else { c };
        let _ = write!(
            t,
            r#"<th scope="col">{}</th>"#,
            escape(&name.replace('_', " "))
        );
    }
    t.push_str("</tr></thead><tbody>");
    for (class, row) in rows
        .iter()
        .map(|r| ("", r))
        .chain(totals.iter().map(|r| (r#" class="total""#, r)))
    {
        let _ = write!(t, "<tr{class}>");
        for (i, cell) in row.cells().iter().enumerate() {
            let num = if i >= 2 { r#" class="num""# } else { "" };
            let _ = write!(t, "<td{num}>{}</td>", escape(&cell.to_string()));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
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
    let expiring = if report.expiring.is_empty() {
        "<p>No active card expires in the next 30 days.</p>".to_string()
    } else {
        let items: String = report
            .expiring
            .iter()
            .take(200)
            .map(|(serial, batch, d)| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{d}</td></tr>",
                    escape(serial),
                    escape(batch)
                )
            })
            .collect();
        format!(
            r#"<p>{} active cards expire in the next 30 days.</p><table><thead><tr><th scope="col">serial</th><th scope="col">batch</th><th scope="col">valid through</th></tr></thead><tbody>{items}</tbody></table>"#,
            report.expiring.len()
        )
    };
    let unread: usize = report.totals.iter().map(|t| t.unread).sum();
    let note = if unread > 0 {
        format!(
            "<p>{unread} active cards were never read from the platform: they count at what \
             was loaded. <code>cardmint report --live</code> reads every balance now.</p>"
        )
    } else {
        String::new()
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Card stock report</title><style>{STYLE}</style></head>
<body><main>
<h1>Card stock report</h1>
<p>By {by}, {period}; made {generated_at}. Outstanding credit is what sold, active cards
hold: the balance last read from the platform.</p>
<h2>Totals</h2><div class="wrap">{totals}</div>{note}
<h2>By {by}</h2><div class="wrap">{rows}</div>
<h2>Sales per week, by shop</h2>{sales}
<h2>Stock by state</h2>{stock}
<h2>Outstanding credit over time</h2>{outstanding}
<h2>Expiring in the next 30 days</h2>{expiring}
</main></body></html>
"#,
        by = report.by.name(),
        totals = table(&[], &report.totals, "total"),
        rows = table(&report.rows, &[], report.by.name()),
        sales = sales_chart(report),
        stock = stock_chart(report),
        outstanding = outstanding_chart(report),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;"
        );
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis(7.0), (8.0, 2.0));
        assert_eq!(axis(100.0), (100.0, 20.0));
        assert_eq!(axis(0.0), (1.0, 1.0));
        let (top, step) = axis(1234.5);
        assert!(top >= 1234.5 && top / step <= 5.0);
    }
}
