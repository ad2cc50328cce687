//! Every table cardmint writes, in one shape, with one writer per format: CSV (the manifest,
//! the inventory, the report, `status --out`, `calls`, the page's calls.csv), XLSX (the
//! manifest, the report) and aligned text for a terminal (the report, `status`). Text that
//! comes from outside is made safe for a spreadsheet by whoever makes its cell
//! ([`crate::text::spreadsheet_safe`]); a writer never turns a cell into a formula.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, left-aligned; a text cell in XLSX (codes and serials keep their leading zeros).
    Text(String),
    /// A figure shown as given (an amount that may be missing), right-aligned; text in XLSX.
    Figure(String),
    /// A count: a number cell in XLSX.
    Count(u64),
    /// An amount, two decimals: a number cell shown `0.00` in XLSX.
    Amount(Decimal),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Text(t) | Cell::Figure(t) => f.write_str(t),
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Amount(a) => write!(f, "{a:.2}"),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_string())
    }
}

/// A header and rows; the last `totals` rows are totals (bold in XLSX).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: usize,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            totals: 0,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.header.len());
        self.rows.push(row);
    }

    /// The table as CSV (RFC 4180: comma, quotes where needed, `\n` line ends).
    pub fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing into memory cannot fail but for memory itself.
        let _ = w.write_record(&self.header);
        for row in &self.rows {
            let _ = w.write_record(row.iter().map(ToString::to_string));
        }
        w.into_inner().unwrap_or_default()
    }

    /// The table as an XLSX workbook of one sheet named `sheet`: the header bold and frozen,
    /// text as text, counts and amounts as numbers, totals bold.
    pub fn xlsx(&self, sheet: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name(sheet)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let money = rust_xlsxwriter::Format::new().set_num_format("0.00");
        let total_money = money.clone().set_bold();
        for (col, name) in self.header.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, name, &bold)?;
        }
        let first_total = self.rows.len() - self.totals.min(self.rows.len());
        for (i, row) in self.rows.iter().enumerate() {
            let at = i as u32 + 1;
            let total = i >= first_total;
            for (col, cell) in row.iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Text(t) | Cell::Figure(t) if total => {
                        ws.write_string_with_format(at, col, t, &bold)?
                    }
                    Cell::Text(t) | Cell::Figure(t) => ws.write_string(at, col, t)?,
                    Cell::Count(n) if total => {
                        ws.write_number_with_format(at, col, *n as f64, &bold)?
                    }
                    Cell::Count(n) => ws.write_number(at, col, *n as f64)?,
                    Cell::Amount(a) => ws.write_number_with_format(
                        at,
                        col,
                        a.to_f64().unwrap_or(0.0),
                        if total { &total_money } else { &money },
                    )?,
                };
            }
        }
        ws.set_freeze_panes(1, 0)?;
        book.save_to_buffer()
    }

    /// The table as lines for a terminal: columns two spaces apart, text left-aligned and
    /// figures right-aligned, the last column unpadded; the columns in `shown` only (all when
    /// empty).
    pub fn text(&self, shown: &[usize]) -> Vec<String> {
        let all: Vec<usize> = (0..self.header.len()).collect();
        let shown = if shown.is_empty() { &all[..] } else { shown };
        let rows: Vec<Vec<(String, bool)>> = self
            .rows
            .iter()
            .map(|r| {
                shown
                    .iter()
                    .map(|&i| (r[i].to_string(), !matches!(r[i], Cell::Text(_))))
                    .collect()
            })
            .collect();
        // A column of figures has its header right-aligned too.
        let right: Vec<bool> = (0..shown.len())
            .map(|c| rows.first().is_some_and(|r| r[c].1))
            .collect();
        let widths: Vec<usize> = (0..shown.len())
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].0.chars().count())
                    .chain([self.header[shown[c]].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| -> String {
            let last = cells.len().saturating_sub(1);
            let mut out = String::new();
            for (c, cell) in cells.into_iter().enumerate() {
                let w = widths[c];
                let pad = w.saturating_sub(cell.chars().count());
                match (c == last, right[c]) {
                    (_, true) => out.push_str(&format!("{}{cell}", " ".repeat(pad))),
                    (true, false) => out.push_str(cell),
                    (false, false) => out.push_str(&format!("{cell}{}", " ".repeat(pad))),
                }
                if c != last {
                    out.push_str("  ");
                }
            }
            out.trim_end().to_string()
        };
        let mut lines = vec![line(
            shown.iter().map(|&i| self.header[i].as_str()).collect(),
        )];
        for r in &rows {
            lines.push(line(r.iter().map(|(t, _)| t.as_str()).collect()));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["shop", "cards", "value"]);
        t.push(vec![
            "Kiosk, 3".into(),
            Cell::Count(12),
            Cell::Amount(Decimal::new(6000, 2)),
        ]);
        t.push(vec![
            "total".into(),
            Cell::Count(12),
            Cell::Amount(Decimal::new(6000, 2)),
        ]);
        t.totals = 1;
        t
    }

    #[test]
    fn csv_quotes_and_keeps_two_decimals() {
        assert_eq!(
            String::from_utf8(sample().csv()).unwrap(),
            "shop,cards,value\n\"Kiosk, 3\",12,60.00\ntotal,12,60.00\n"
        );
    }

    #[test]
    fn text_aligns_figures_right_and_names_left() {
        assert_eq!(
            sample().text(&[]),
            [
                "shop      cards  value",
                "Kiosk, 3     12  60.00",
                "total        12  60.00"
            ]
        );
        assert_eq!(
            sample().text(&[0, 2]),
            ["shop      value", "Kiosk, 3  60.00", "total     60.00"]
        );
    }

    #[test]
    fn xlsx_is_a_workbook() {
        let bytes = sample().xlsx("report").unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
