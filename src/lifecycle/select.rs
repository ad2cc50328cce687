//! Which cards a lifecycle command acts on: serial ranges as printed (check digits and batch
//! membership checked), `--all`, or a shop's list of sold serials. An impossible selection is an
//! error before anything is sent.

use std::collections::BTreeSet;
use std::path::Path;

use crate::codes::{SerialRange, parse_serial, parse_serial_ranges};
use crate::ledger::{Card, CardState};

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("--serials: {0}")]
    Serials(String),
    #[error("{path}: {problems}")]
    SoldList { path: String, problems: String },
    #[error("no card selected: give --serials RANGES, --sold-list FILE or --all")]
    Nothing,
    /// Selected cards that were never provisioned: nothing to change on the platform.
    #[error(
        "{0} not provisioned (pending or failed): nothing was sent; finish the batch with \
         `cardmint resume` first, or leave them out of --serials"
    )]
    NotProvisioned(String),
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
        Selection::SoldList(path) => sold_list(path, &cards, batch_id)?,
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

/// A CSV with a `serial` column, or one serial per line; every bad line is reported.
fn sold_list(path: &Path, cards: &[Card], batch_id: &str) -> Result<BTreeSet<u64>, SelectError> {
    let fail = |problems: String| SelectError::SoldList {
        path: path.display().to_string(),
        problems,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().enumerate().peekable();
    let delimiter = [',', ';', '\t']
        .into_iter()
        .max_by_key(|d| text.lines().next().unwrap_or("").matches(*d).count())
        .unwrap_or(',');
    let mut column = 0;
    if let Some((_, first)) = lines.peek() {
        let header: Vec<String> = first
            .split(delimiter)
            .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        if let Some(i) = header.iter().position(|h| h == "serial") {
            column = i;
            lines.next();
        }
    }
    let mut seqs = BTreeSet::new();
    let mut problems = Vec::new();
    for (i, line) in lines {
        let field = line
            .split(delimiter)
            .nth(column)
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if field.is_empty() {
            continue;
        }
        match parse_serial(field) {
            Ok(seq) if cards.iter().any(|c| c.seq == seq) => {
                seqs.insert(seq);
            }
            Ok(_) => problems.push(format!(
                "line {}: {field} is not a serial of batch {batch_id}",
                i + 1
            )),
            Err(e) => problems.push(format!("line {}: {e}", i + 1)),
        }
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "nothing was sent:\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(seqs)
}

/// Splits off the cards that are not provisioned (nothing to change on the platform).
pub fn provisioned(cards: Vec<Card>) -> (Vec<Card>, Vec<Card>) {
    cards
        .into_iter()
        .partition(|c| !matches!(c.state, CardState::Pending | CardState::Failed))
}

/// The cards a changing command acts on: provisioned ones only, refused (naming them) when
/// chosen by serial, skipped (and listed in `skipped`) with `--all`.
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
