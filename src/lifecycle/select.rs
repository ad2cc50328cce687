//! Which cards a lifecycle command acts on: serial ranges as printed (check digits and batch
//! membership checked), `--all`, or a shop's list of sold serials. An impossible selection is an
//! error before anything is sent.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

use crate::codes::{SerialRange, parse_serial, parse_serial_ranges};
use crate::ledger::{Card, CardState};

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("--serials: {0}")]
    Serials(String),
    #[error("{path}: {problems}")]
    SoldList { path: String, problems: String },
    /// The sold list cannot be read (missing, unreadable): the machine's matter, as a
    /// customer file's is.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("no card selected: give --serials RANGES, --sold-list FILE or --all")]
    Nothing,
    /// Selected cards that were never provisioned: nothing to change on the platform.
    #[error(
        "{0} not provisioned (pending or failed): nothing was sent; finish the batch with \
         `cardmint resume` first, or leave them out of --serials"
    )]
    NotProvisioned(String),
    /// A stock rule refuses the selection (consigned elsewhere, already sold, ...).
    #[error("{0}")]
    Stock(String),
    /// A date given for a sale, consignment or return that cannot be (in the future).
    #[error("{0}")]
    Date(String),
    /// `activate` on cards blocked after issue (lost, stolen, returned).
    #[error(
        "{0}: activating would re-enable a card blocked as lost or stolen; nothing was sent; \
         add --include-blocked if that is what you mean"
    )]
    Blocked(String),
}

/// How cards are chosen.
pub enum Selection<'a> {
    All,
    Ranges(&'a str),
    SoldList(&'a Path),
}

/// The selected cards of a batch (`cards` in serial order).
pub fn select(
    cards: Vec<Card>,
    batch_id: &str,
    how: Selection<'_>,
) -> Result<Vec<Card>, SelectError> {
    let wanted: BTreeSet<u64> = match how {
        Selection::All => return Ok(cards),
        Selection::Ranges(text) => {
            let ranges =
                parse_serial_ranges(text).map_err(|e| SelectError::Serials(e.to_string()))?;
            check_ranges(&cards, batch_id, &ranges)?;
            cards
                .iter()
                .filter(|c| ranges.iter().any(|r| r.contains(c.seq)))
                .map(|c| c.seq)
                .collect()
        }
        Selection::SoldList(path) => read_sold_list(path, &cards, batch_id)?
            .into_iter()
            .map(|l| l.seq)
            .collect(),
    };
    if wanted.is_empty() {
        return Err(SelectError::Nothing);
    }
    Ok(cards
        .into_iter()
        .filter(|c| wanted.contains(&c.seq))
        .collect())
}

/// Both ends of every range must be cards of this batch.
fn check_ranges(cards: &[Card], batch_id: &str, ranges: &[SerialRange]) -> Result<(), SelectError> {
    let has = |seq: u64| cards.iter().any(|c| c.seq == seq);
    for r in ranges {
        for end in [r.first, r.last] {
            if !has(end) {
                return Err(SelectError::Serials(format!(
                    "{} is not a serial of batch {batch_id} (its serials are {}-{})",
                    crate::codes::serial(end),
                    cards.first().map_or("", |c| c.serial.as_str()),
                    cards.last().map_or("", |c| c.serial.as_str()),
                )));
            }
        }
    }
    Ok(())
}

/// One line of a shop's sold list: a serial, and the shop and sale date when it says them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoldLine {
    pub seq: u64,
    /// Line number in the file (1-based), for messages.
    pub line: usize,
    pub shop: Option<String>,
    pub date: Option<NaiveDate>,
}

/// A shop's sold list: one serial per line, or a CSV whose header names a `serial` column and
/// may name `shop` and `date` (YYYY-MM-DD) columns, in any order (other columns are ignored).
/// Comma, semicolon or tab separated. Every bad line is reported, naming its line and column.
pub fn read_sold_list(
    path: &Path,
    cards: &[Card],
    batch_id: &str,
) -> Result<Vec<SoldLine>, SelectError> {
    let fail = |problems: String| SelectError::SoldList {
        path: path.display().to_string(),
        problems,
    };
    let bytes = std::fs::read(path).map_err(|source| SelectError::Read {
        path: path.display().to_string(),
        source,
    })?;
    // Read as every file from a spreadsheet is (`crate::import::reader`); every problem,
    // the encoding's among them, is reported together.
    use crate::import::reader::{Encoding, blank, decode, plain};
    let (text, undecoded) = decode(&bytes, Encoding::Utf8);
    let mut problems: Vec<String> = undecoded
        .iter()
        .map(|p| format!("line {}: {}", p.line, p.reason))
        .collect();
    let plain = plain(&text);
    let skipped = plain.skipped as usize;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(plain.delimiter)
        .from_reader(plain.text.as_bytes());
    let mut records = reader.records().peekable();
    let mut columns = Columns {
        serial: 0,
        shop: None,
        date: None,
    };
    if let Some(Ok(header)) = records.peek() {
        let mut names: Vec<String> = header
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        // Excel saves the empty cells right of the table as empty columns (`;;`).
        while names.last().is_some_and(String::is_empty) {
            names.pop();
        }
        let find = |n: &str| names.iter().position(|h| h == n);
        match find("serial") {
            Some(serial) => {
                columns = Columns {
                    serial,
                    shop: find("shop"),
                    date: find("date"),
                };
                records.next();
            }
            None if names.len() > 1 => {
                return Err(fail(format!(
                    "line {}: a sold list of several columns needs a header naming them \
                     (serial, and shop and date if it has them); nothing was sent",
                    1 + skipped
                )));
            }
            None => {}
        }
    }
    let mut lines = Vec::new();
    let mut seen = BTreeSet::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize) + skipped;
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if blank(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line() as usize) + skipped;
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|f| !f.is_empty())
        };
        let Some(serial) = field(Some(columns.serial)) else {
            if record.iter().any(|f| !f.trim().is_empty()) {
                problems.push(format!("line {line}, column serial: empty"));
            }
            continue;
        };
        let seq = match parse_serial(serial) {
            Ok(seq) if cards.iter().any(|c| c.seq == seq) => seq,
            Ok(_) => {
                problems.push(format!(
                    "line {line}, column serial: {serial} is not a serial of batch {batch_id}"
                ));
                continue;
            }
            Err(e) => {
                problems.push(format!("line {line}, column serial: {e}"));
                continue;
            }
        };
        let shop = match field(columns.shop).map(crate::ledger::shop_name) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                problems.push(format!("line {line}, column shop: {e}"));
                continue;
            }
            None => None,
        };
        let date = match field(columns.date).map(crate::ledger::parse_date) {
            // A sale in the future is a wrong date in the file, said with the file's other
            // problems (it was refused later, by the stock rules, once the rest was fixed).
            Some(Ok(d)) if d > crate::clock::today() => {
                problems.push(format!(
                    "line {line}, column date: {d} is in the future (today is {})",
                    crate::clock::today()
                ));
                continue;
            }
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                problems.push(format!("line {line}, column date: {e}"));
                continue;
            }
            None => None,
        };
        if !seen.insert(seq) {
            problems.push(format!(
                "line {line}, column serial: {serial} is listed twice"
            ));
            continue;
        }
        lines.push(SoldLine {
            seq,
            line,
            shop,
            date,
        });
    }
    if !problems.is_empty() {
        // By line, the encoding's among the others.
        problems.sort_by_key(|p| {
            p.split([' ', ',', ':'])
                .nth(1)
                .and_then(|n| n.parse::<usize>().ok())
        });
        let more = problems.len().saturating_sub(50);
        let mut shown: Vec<String> = problems.into_iter().take(50).collect();
        if more > 0 {
            shown.push(format!("... and {more} more"));
        }
        return Err(fail(format!("nothing was sent:\n  {}", shown.join("\n  "))));
    }
    Ok(lines)
}

/// Which columns of a sold list hold what.
struct Columns {
    serial: usize,
    shop: Option<usize>,
    date: Option<usize>,
}

/// Splits off the cards that are not provisioned (nothing to change on the platform).
pub fn provisioned(cards: Vec<Card>) -> (Vec<Card>, Vec<Card>) {
    cards
        .into_iter()
        .partition(|c| !matches!(c.state, CardState::Pending | CardState::Failed))
}

/// The cards a changing command acts on: provisioned ones only, refused (naming them) when
/// chosen by serial, skipped (and listed in `skipped`) with `--all`.
/// One card for a single-card change: it must be provisioned.
pub fn changeable_one(card: Card) -> Result<Card, SelectError> {
    let mut cards = changeable(vec![card], false, &mut Vec::new())?;
    Ok(cards.remove(0))
}

pub fn changeable(
    cards: Vec<Card>,
    all: bool,
    skipped: &mut Vec<Card>,
) -> Result<Vec<Card>, SelectError> {
    let (ok, not) = provisioned(cards);
    if !not.is_empty() && !all {
        return Err(SelectError::NotProvisioned(name_cards(&not)));
    }
    skipped.extend(not);
    Ok(ok)
}

/// Cards blocked after issue are left out of an activation: refused when chosen by serial,
/// skipped with `--all`; both unless `include` (`--include-blocked`).
pub fn unless_blocked(
    cards: Vec<Card>,
    all: bool,
    include: bool,
    skipped: &mut Vec<Card>,
) -> Result<Vec<Card>, SelectError> {
    if include {
        return Ok(cards);
    }
    let (blocked, ok): (Vec<Card>, Vec<Card>) = cards
        .into_iter()
        .partition(|c| c.state == CardState::Blocked);
    if !blocked.is_empty() && !all {
        return Err(SelectError::Blocked(name_cards(&blocked)));
    }
    skipped.extend(blocked);
    Ok(ok)
}

/// "card 0000000013 (pending)" or "3 cards (0000000013 blocked: lost, ...)".
fn name_cards(cards: &[Card]) -> String {
    let one = |c: &Card| match (&c.state, &c.block_reason) {
        (CardState::Blocked, Some(why)) => format!("{} blocked: {why}", c.serial),
        (state, _) => format!("{} {state}", c.serial),
    };
    let listed: Vec<String> = cards.iter().take(5).map(one).collect();
    let more = if cards.len() > 5 { ", ..." } else { "" };
    if cards.len() == 1 {
        format!("card {}", listed[0])
    } else {
        format!("{} cards ({}{more})", cards.len(), listed.join(", "))
    }
}
