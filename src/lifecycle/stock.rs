//! The stock rules, checked on the whole selection before anything is recorded or sent:
//! which cards may be consigned to a shop, taken back, or sold (by which shop, on which day).
//! Ledger only: nothing here talks to the platform.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::select::{SelectError, SoldLine};
use crate::ledger::{Card, CardState};

/// Refuses with every problem, one card a line.
fn refuse(what: &str, problems: Vec<String>) -> SelectError {
    let more = problems.len().saturating_sub(20);
    let mut lines: Vec<String> = problems.into_iter().take(20).collect();
    if more > 0 {
        lines.push(format!("... and {more} more"));
    }
    SelectError::Stock(format!(
        "{what}: nothing was recorded or sent:\n  {}",
        lines.join("\n  ")
    ))
}

/// Why a card is not unsold stock (`None`: it is).
fn not_in_stock(card: &Card) -> Option<String> {
    match (card.state, &card.block_reason) {
        _ if card.stock.sold() => Some(format!("sold{}", card.stock.sale_text())),
        (CardState::Ready, _) => None,
        (CardState::Active, _) => Some("active (sold)".into()),
        (CardState::Blocked, Some(why)) => Some(format!("blocked ({why})")),
        (CardState::Blocked, None) => Some("blocked".into()),
        (state, _) => Some(format!("not provisioned ({state})")),
    }
}

/// The days a batch's stock can have moved on: from the day it was issued to today.
#[derive(Debug, Clone, Copy)]
pub struct Days<'a> {
    pub batch: &'a str,
    /// The day the batch was issued (this machine's calendar).
    pub issued: NaiveDate,
    pub today: NaiveDate,
}

impl Days<'_> {
    /// Why `on` is not a day the stock could have moved on (`None`: it is).
    fn wrong(&self, on: NaiveDate) -> Option<String> {
        if on > self.today {
            Some(format!("{on} is in the future (today is {})", self.today))
        } else if on < self.issued {
            Some(format!(
                "{on} is before {} was issued ({})",
                self.batch, self.issued
            ))
        } else {
            None
        }
    }

    fn check(&self, what: &str, on: NaiveDate) -> Result<(), SelectError> {
        match self.wrong(on) {
            Some(why) => Err(SelectError::Date(format!(
                "{what} {why}; nothing was recorded"
            ))),
            None => Ok(()),
        }
    }
}

/// The cards to hand to `shop` (those it already holds are left out, in `already`).
pub fn consignable(
    cards: Vec<Card>,
    shop: &str,
    on: NaiveDate,
    days: Days<'_>,
    last_moved: &HashMap<i64, NaiveDate>,
) -> Result<(Vec<Card>, Vec<Card>), SelectError> {
    days.check("--date", on)?;
    let mut problems = Vec::new();
    let (mut ok, mut already) = (Vec::new(), Vec::new());
    for card in cards {
        if let Some(why) = not_in_stock(&card) {
            problems.push(format!("{}: {why}", card.serial));
        } else if let Some(last) = last_moved
            .get(&card.id)
            .filter(|last| card.stock.shop.is_none() && on < **last)
        {
            // Two shops would hold it over the same days.
            problems.push(format!(
                "{}: consigned on {on}, before its last move between shops on {last}",
                card.serial
            ));
        } else if let Some(holder) = &card.stock.shop {
            if holder.eq_ignore_ascii_case(shop) {
                already.push(card);
            } else {
                problems.push(format!(
                    "{}: consigned to {holder} since {}; take it back with `cardmint return` first",
                    card.serial,
                    card.stock
                        .consigned_on
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ));
            }
        } else {
            ok.push(card);
        }
    }
    if !problems.is_empty() {
        return Err(refuse(&format!("consign to {shop}"), problems));
    }
    Ok((ok, already))
}

/// The cards to take back on `on`: each must be on consignment (since `on` or before) and
/// unsold.
pub fn returnable(
    cards: Vec<Card>,
    on: NaiveDate,
    days: Days<'_>,
) -> Result<Vec<Card>, SelectError> {
    days.check("--date", on)?;
    let mut problems = Vec::new();
    let mut ok = Vec::new();
    for card in cards {
        match (
            &card.stock.shop,
            not_in_stock(&card),
            card.stock.consigned_on,
        ) {
            (_, Some(why), _) => problems.push(format!("{}: {why}", card.serial)),
            (None, None, _) => problems.push(format!("{}: not on consignment", card.serial)),
            (Some(shop), None, Some(since)) if on < since => problems.push(format!(
                "{}: returned on {on}, before it was consigned to {shop} on {since}",
                card.serial
            )),
            (Some(_), None, _) => ok.push(card),
        }
    }
    if !problems.is_empty() {
        return Err(refuse("return", problems));
    }
    Ok(ok)
}

/// A sale to record before the card is activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    pub card_id: i64,
    pub serial: String,
    pub shop: Option<String>,
    pub on: NaiveDate,
}

/// How the sales of an activation were given.
pub struct SaleTerms<'a> {
    /// `--shop` (already the ledger's spelling).
    pub shop: Option<&'a str>,
    /// `--sold-on`.
    pub on: Option<NaiveDate>,
    /// Per serial, what a sold list says.
    pub lines: &'a HashMap<u64, SoldLine>,
    /// `--override-consignment`: record a sale by a shop the card was not consigned to, or
    /// of a card never consigned.
    pub override_consignment: bool,
    /// The ledger's spelling of a shop (`None`: unknown).
    pub known_shop: &'a dyn Fn(&str) -> Option<String>,
    /// From the batch's issue to today.
    pub days: Days<'a>,
}

/// The sales to record for `cards`, checked all at once. A card already recorded as sold is
/// left out when nothing was said about its sale, or the same was; a different shop or date
/// is refused (a sale is recorded once).
pub fn plan_sales(cards: &[Card], terms: &SaleTerms<'_>) -> Result<Vec<Sale>, SelectError> {
    if let Some(on) = terms.on {
        terms.days.check("--sold-on", on)?;
    }
    let mut problems = Vec::new();
    let mut sales = Vec::new();
    for card in cards {
        let line = terms.lines.get(&card.seq);
        let at = |text: String| match line {
            Some(l) => format!("{} (sold list line {}): {text}", card.serial, l.line),
            None => format!("{}: {text}", card.serial),
        };
        let named = match line.and_then(|l| l.shop.as_deref()).or(terms.shop) {
            Some(name) => match (terms.known_shop)(name) {
                Some(known) => Some(known),
                None => {
                    problems.push(at(format!(
                        "no shop {name:?} in the ledger; `cardmint shops` lists them, and \
                         `cardmint consign` records a new one"
                    )));
                    continue;
                }
            },
            None => None,
        };
        let date = line.and_then(|l| l.date).or(terms.on);
        // Every problem of a card at once (a date, then its consignment): not one per run.
        let mut wrong = false;
        if let Some(why) = date.and_then(|d| terms.days.wrong(d)) {
            problems.push(at(format!("sold on {why}")));
            wrong = true;
        }
        if card.stock.sold() {
            let same_shop = named.as_ref().is_none_or(|n| {
                card.stock
                    .sold_shop
                    .as_ref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(n))
            });
            let same_day = date.is_none_or(|d| card.stock.sold_on == Some(d));
            if !(same_shop && same_day) {
                problems.push(at(format!(
                    "already recorded as sold{}; a sale is recorded once",
                    card.stock.sale_text()
                )));
            }
            continue;
        }
        let on = date.unwrap_or(terms.days.today);
        if let Some(c) = card.stock.consigned_on
            && on < c
        {
            problems.push(at(format!("sold on {on}, before it was consigned on {c}")));
            wrong = true;
        }
        let shop = match (&card.stock.shop, named) {
            (Some(holder), Some(n)) if !holder.eq_ignore_ascii_case(&n) => {
                if !terms.override_consignment {
                    problems.push(at(format!(
                        "consigned to {holder}, not {n}; add --override-consignment to record \
                         the sale by {n}"
                    )));
                    continue;
                }
                Some(n)
            }
            (Some(holder), _) => Some(holder.clone()),
            (None, n) => {
                if !terms.override_consignment {
                    problems.push(at(
                        "never consigned to a shop; consign it first (`cardmint consign`), \
                         or add --override-consignment to sell it anyway"
                            .into(),
                    ));
                    continue;
                }
                n
            }
        };
        if wrong {
            continue;
        }
        sales.push(Sale {
            card_id: card.id,
            serial: card.serial.clone(),
            shop,
            on,
        });
    }
    if !problems.is_empty() {
        return Err(refuse("activate", problems));
    }
    Ok(sales)
}
