//! Validating a customer file row by row into card requests. Every problem is collected; the
//! caller gets either every row, valid, or every problem.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use phonenumber::country::Id;
use rust_decimal::Decimal;

use super::phone::normalize_number;
use super::reader::{Encoding, blank, decode, plain, unterminated_quote};
use super::{ImportError, Problem};
use crate::codes::check_password;
use crate::config::Secret;
use crate::provision::plan::CardRequest;

/// The columns a customer file may have (any order, any case, all optional).
const COLUMNS: [&str; 6] = [
    "customer", "password", "numbers", "value", "tariff", "label",
];
const MAX_LABEL: usize = 200;
use crate::text::FORMULA_STARTS;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub encoding: Encoding,
    /// Region for national-format numbers.
    pub region: Option<Id>,
    /// Face value of rows without a `value`.
    pub value: Option<Decimal>,
    /// Tariff of rows without a `tariff`.
    pub tariff: Option<i64>,
}

/// Reads and validates `path`. `known` holds every customer name the ledger has used.
pub fn read_customers(
    path: &Path,
    options: &ImportOptions,
    known: &HashSet<String>,
) -> Result<Vec<CardRequest>, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |problems: Vec<Problem>| ImportError::Invalid {
        path: path.to_path_buf(),
        problems,
        rows: Vec::new(),
    };
    // Every problem of the file is reported together, the encoding's among them.
    let (text, mut problems) = decode(&bytes, options.encoding);
    let plain = plain(&text);
    let skipped = plain.skipped;
    if let Some(line) = unterminated_quote(&plain.text) {
        problems.push(Problem {
            line: line + skipped,
            column: None,
            reason: "a quoted field starts here and is never closed".into(),
        });
        return Err(invalid(problems));
    }
    let delimiter = plain.delimiter;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(plain.text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(csv_problem(&e, skipped));
            return Err(invalid(problems));
        }
    };
    // Excel saves the empty cells right of the table as empty columns (`;;`).
    let width = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.trim().is_empty())
        .last()
        .map_or(0, |(i, _)| i + 1);
    let columns = match header_columns(&header, width, skipped) {
        Ok(c) => c,
        Err(more) => {
            problems.extend(more);
            return Err(invalid(problems));
        }
    };
    let mut rows = Vec::new();
    let mut partial = Vec::new();
    let mut seen_customers: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(&e, skipped));
                continue;
            }
        };
        // The blank rows a spreadsheet leaves (`;;;`) are no rows.
        if blank(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line()) + skipped;
        let beyond = record.iter().skip(width).any(|f| !f.trim().is_empty());
        if record.len() < width || beyond {
            problems.push(Problem {
                line,
                column: None,
                reason: format!(
                    "{} fields, but the header has {width} (a stray delimiter or a missing one?)",
                    record.len()
                ),
            });
            continue;
        }
        let row = Row {
            line,
            record: &record,
            columns: &columns,
            delimiter,
            problems: &mut problems,
        };
        let request = match row.parse(options) {
            Parsed::Whole(request) => request,
            Parsed::Partial(request) => {
                partial.push(request);
                continue;
            }
        };
        {
            if let Some(customer) = &request.customer {
                if let Some(first) = seen_customers.get(customer) {
                    problems.push(columns.problem(
                        line,
                        "customer",
                        format!("customer {customer:?} is also on line {first}"),
                    ));
                } else if known.contains(customer) {
                    problems.push(columns.problem(
                        line,
                        "customer",
                        format!("customer {customer:?} is already in the ledger"),
                    ));
                }
                seen_customers.entry(customer.clone()).or_insert(line);
            }
            rows.push(request);
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(Problem {
            line: 1 + skipped,
            column: None,
            reason: "the file has a header but no rows".into(),
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        problems.sort_by_key(|p| (p.line, p.column.as_ref().map(|c| c.0)));
        rows.extend(partial);
        Err(ImportError::Invalid {
            path: path.to_path_buf(),
            problems,
            rows,
        })
    }
}

fn csv_problem(e: &csv::Error, skipped: u64) -> Problem {
    Problem {
        line: e.position().map_or(0, |p| p.line()) + skipped,
        column: None,
        reason: format!("unreadable CSV: {e}"),
    }
}

/// Column positions by name.
struct Columns(HashMap<&'static str, (usize, String)>);

impl Columns {
    fn problem(&self, line: u64, name: &str, reason: String) -> Problem {
        Problem {
            line,
            column: self.0.get(name).map(|(i, h)| (i + 1, h.clone())),
            reason,
        }
    }
}

/// The columns of the header's first `width` cells (the header is on line `1 + skipped`).
fn header_columns(
    header: &csv::StringRecord,
    width: usize,
    skipped: u64,
) -> Result<Columns, Vec<Problem>> {
    let mut columns = HashMap::new();
    let mut problems = Vec::new();
    for (i, raw) in header.iter().take(width).enumerate() {
        let name = raw.trim().to_ascii_lowercase();
        let column = Some((i + 1, raw.trim().to_string()));
        match COLUMNS.iter().find(|c| **c == name) {
            Some(known) if columns.contains_key(known) => problems.push(Problem {
                line: 1 + skipped,
                column,
                reason: format!("column {known:?} appears twice"),
            }),
            Some(known) => {
                columns.insert(*known, (i, raw.trim().to_string()));
            }
            None => problems.push(Problem {
                line: 1 + skipped,
                column,
                reason: format!(
                    "unknown column {:?}; the columns are {} (any order, any case)",
                    raw.trim(),
                    COLUMNS.join(", ")
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(Columns(columns))
    } else {
        Err(problems)
    }
}

struct Row<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    columns: &'a Columns,
    delimiter: u8,
    problems: &'a mut Vec<Problem>,
}

impl Row<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        let (i, _) = self.columns.0.get(name)?;
        self.record.get(*i)
    }

    fn trimmed(&self, name: &str) -> Option<&str> {
        self.field(name).map(str::trim).filter(|v| !v.is_empty())
    }

    fn problem(&mut self, name: &str, reason: String) {
        let p = self.columns.problem(self.line, name, reason);
        self.problems.push(p);
    }

    /// The row's request, or after recording its problems the card as far as it reads.
    fn parse(mut self, options: &ImportOptions) -> Parsed {
        let before = self.problems.len();
        let customer = self.trimmed("customer").map(str::to_string);
        if let Some(c) = &customer {
            let ok = c.len() <= 140 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                self.problem(
                    "customer",
                    format!("{c:?} must be 1 to 140 characters of A-Z a-z 0-9 _"),
                );
            }
        }
        let password = self
            .field("password")
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        if let Some(p) = &password
            && let Err(v) = check_password(p)
        {
            // The password itself is never repeated back.
            self.problem("password", format!("the password fails the policy: {v}"));
        }
        let mut numbers: Vec<String> = Vec::new();
        if let Some(field) = self.field("numbers").map(str::to_string) {
            for (i, piece) in field
                .split('|')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .enumerate()
            {
                match normalize_number(piece, options.region) {
                    Ok(n) if !numbers.contains(&n) => numbers.push(n),
                    Ok(_) => {}
                    Err(e) => self.problem("numbers", format!("number {}: {e}", i + 1)),
                }
            }
        }
        let value = match self.trimmed("value").map(str::to_string) {
            Some(v) => match parse_value(&v, self.delimiter) {
                Ok(v) => Some(v),
                Err(reason) => {
                    self.problem("value", reason);
                    None
                }
            },
            None if options.value.is_none() => {
                self.problem("value", "no value on this row and no --value given".into());
                None
            }
            None => options.value,
        };
        let tariff = match self.trimmed("tariff").map(str::to_string) {
            Some(t) => match crate::text::tariff_id(&t) {
                Some(t) => Some(t),
                None => {
                    self.problem(
                        "tariff",
                        format!("{t:?} is not a rate list id (a whole number, like 3 or -2)"),
                    );
                    None
                }
            },
            None => options.tariff,
        };
        let label = self.trimmed("label").unwrap_or("").to_string();
        let before_label = self.problems.len();
        if label.chars().count() > MAX_LABEL {
            self.problem("label", format!("longer than {MAX_LABEL} characters"));
        }
        // A spreadsheet opening the manifest would run it as a formula.
        if let Some(c) = label.chars().next().filter(|c| FORMULA_STARTS.contains(c)) {
            self.problem(
                "label",
                format!(
                    "starts with {c:?}, which a spreadsheet opening the manifest would run as a \
                     formula: start it with a letter or a digit"
                ),
            );
        }
        // Line breaks are the label's own lines; other control characters are refused.
        if label
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            self.problem("label", "holds a control character (a tab?)".into());
        }
        match value {
            Some(value) if self.problems.len() == before => Parsed::Whole(CardRequest {
                customer,
                password: password.map(Secret::new),
                numbers,
                value,
                tariff,
                label,
                line: Some(self.line),
            }),
            // Its card as far as it reads, to lay out: a label that cannot print is said with
            // the field problems, not on the next run.
            value => {
                let label_ok = self.problems.len() == before_label;
                Parsed::Partial(CardRequest {
                    customer: None,
                    password: None,
                    numbers,
                    value: value.or(options.value).unwrap_or(Decimal::ONE),
                    tariff,
                    label: if label_ok { label } else { String::new() },
                    line: Some(self.line),
                })
            }
        }
    }
}

/// What a row reads as.
enum Parsed {
    /// Every field good: the row's request.
    Whole(CardRequest),
    /// Some field refused: the card as far as it reads (no customer or password, a default
    /// value), laid out only, so that what it could not print is said with the rest.
    Partial(CardRequest),
}

/// A face value: digits with a decimal point (or a decimal comma when the delimiter is not a
/// comma and the comma can only be decimal), more than 0, at most two decimals.
pub fn parse_value(text: &str, delimiter: u8) -> Result<Decimal, String> {
    let normalized = match text.split_once(',') {
        Some((int, frac))
            if delimiter != b','
                && !text.contains('.')
                && (1..=2).contains(&frac.len())
                && !frac.contains(',') =>
        {
            format!("{int}.{frac}")
        }
        _ => text.to_string(),
    };
    let value = crate::text::plain_amount(&normalized)
        .ok_or_else(|| format!("{text:?} is not an amount like 5.00"))?;
    if value <= Decimal::ZERO {
        return Err(format!("{text:?}: the value must be more than 0"));
    }
    if value.normalize().scale() > 2 {
        return Err(format!("{text:?} has more than two decimals"));
    }
    if value >= Decimal::from(10_000_000) {
        return Err(format!("{text:?} is too large"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("5.00", b',').unwrap(), Decimal::from(5));
        assert_eq!(parse_value("2,5", b';').unwrap().to_string(), "2.5");
        assert!(parse_value("2,5", b',').is_err());
        assert!(parse_value("1,000", b';').is_err(), "ambiguous thousands");
        assert!(parse_value("0", b',').is_err());
        assert!(parse_value("-5", b',').is_err());
        assert!(parse_value("5.001", b',').is_err());
        assert!(parse_value("€5", b',').is_err());
    }
}
