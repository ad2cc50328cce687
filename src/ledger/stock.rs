//! The reseller's stock, ledger only: shops, consignment, sales (shop and date), expiry rules,
//! replacements of lost cards, the balances last read from the platform, and the events that
//! make a card's history beside its intents.

use std::fmt;
use std::str::FromStr;

use chrono::{Months, NaiveDate};
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;

use super::store::{Ledger, LedgerError, LedgerTx, now};

/// Where a card is in the stock (all ledger facts; none of it is on the platform).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stock {
    /// The shop holding the card on consignment (cleared when it comes back).
    pub shop: Option<String>,
    pub consigned_on: Option<NaiveDate>,
    /// The shop that sold it, and when.
    pub sold_shop: Option<String>,
    pub sold_on: Option<NaiveDate>,
    /// The balance last read from the platform, and when (UTC, RFC 3339).
    pub last_balance: Option<Decimal>,
    pub last_balance_at: Option<String>,
}

impl Stock {
    pub fn sold(&self) -> bool {
        self.sold_on.is_some()
    }

    /// How the sale reads in a message: ` by SHOP on DATE` (the shop when there is one).
    pub fn sale_text(&self) -> String {
        format!(
            "{} on {}",
            self.sold_shop
                .as_deref()
                .map(|s| format!(" by {s}"))
                .unwrap_or_default(),
            self.sold_on.map(|d| d.to_string()).unwrap_or_default()
        )
    }
}

/// How long a batch's cards stay valid: some months from the sale, or until a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Counted from the day the card is sold.
    Months(u32),
    /// The last day the card can be used.
    On(NaiveDate),
}

impl Expiry {
    /// `--expires`: `12m` (months) or `1y` (years), counted from the sale.
    pub fn parse_period(text: &str) -> Result<Expiry, String> {
        let t = text.trim().to_ascii_lowercase();
        let (digits, per) = match t.char_indices().last() {
            Some((i, 'm')) => (&t[..i], 1),
            Some((i, 'y')) => (&t[..i], 12),
            _ => {
                return Err(format!(
                    "{text}: give months or years from the sale, e.g. 12m or 1y"
                ));
            }
        };
        match digits.parse::<u32>() {
            Ok(n) if (1..=120).contains(&(n * per)) => Ok(Expiry::Months(n * per)),
            Ok(_) => Err(format!(
                "{text}: a card is valid for 1 to 120 months from the sale"
            )),
            Err(_) => Err(format!(
                "{text}: give months or years from the sale, e.g. 12m or 1y"
            )),
        }
    }

    /// When a card with this rule, sold on `sold_on`, expires (`None` while unsold under a
    /// rule counted from the sale). The card can be used through that day.
    pub fn date_for(&self, sold_on: Option<NaiveDate>) -> Option<NaiveDate> {
        match self {
            Expiry::On(d) => Some(*d),
            Expiry::Months(n) => sold_on.and_then(|s| s.checked_add_months(Months::new(*n))),
        }
    }

    /// The note the card prints.
    pub fn note(&self) -> String {
        match self {
            Expiry::Months(12) => "Valid for 12 months from purchase".into(),
            Expiry::Months(n) if n % 12 == 0 => {
                format!("Valid for {} years from purchase", n / 12)
            }
            Expiry::Months(1) => "Valid for 1 month from purchase".into(),
            Expiry::Months(n) => format!("Valid for {n} months from purchase"),
            Expiry::On(d) => format!("Valid until {}", d.format("%-d %B %Y")),
        }
    }
}

/// The stored form: `12m` or `2027-12-31`.
impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::Months(n) => write!(f, "{n}m"),
            Expiry::On(d) => write!(f, "{d}"),
        }
    }
}

impl FromStr for Expiry {
    type Err = String;
    fn from_str(s: &str) -> Result<Expiry, String> {
        match NaiveDate::from_str(s) {
            Ok(d) => Ok(Expiry::On(d)),
            Err(_) => Expiry::parse_period(s),
        }
    }
}

/// A date as given on the command line or in a sold list: `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        format!(
            "{:?}: give the date as YYYY-MM-DD, e.g. 2026-12-01",
            text.trim()
        )
    })
}

/// A shop's name as the reseller chose it: 1 to 40 characters, letters, digits, spaces and
/// `- _ . & ' / # ( )`, beginning with a letter or digit (so it never starts a spreadsheet
/// formula). Runs of spaces become one. Compared without case.
pub fn shop_name(text: &str) -> Result<String, String> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let allowed = |c: char| c.is_alphanumeric() || " -_.&'/#()".contains(c);
    if name.is_empty() {
        return Err("a shop name is empty: give a name such as \"Kiosk 12\"".into());
    }
    if name.chars().count() > 40 {
        return Err(format!("shop {name:?}: at most 40 characters"));
    }
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "shop {name:?}: {c:?} is not allowed; use letters, digits, spaces and - _ . & ' / # ( )"
        ));
    }
    if !name.starts_with(char::is_alphanumeric) {
        return Err(format!("shop {name:?}: begin with a letter or a digit"));
    }
    Ok(name)
}

/// A shop and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub name: String,
    /// The day of its first consignment (as `consign --date` gave it), else of its record.
    pub since: String,
    /// Cards on consignment there now (unsold).
    pub consigned: usize,
    /// Cards it sold.
    pub sold: usize,
}

/// A ledger fact in a card's history (the changes sent to the platform are its intents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: String,
    /// `consigned`, `returned`, `sold`, `replaced-by`, `replaces`.
    pub kind: String,
    /// The business date (consignment, sale), when it has one.
    pub on_date: Option<NaiveDate>,
    pub shop: Option<String>,
    pub detail: String,
}

impl Ledger {
    /// The shop's name as first recorded, if the ledger knows it (any case).
    pub fn shop(&self, name: &str) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT name FROM shops WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Every shop, by name, with what it holds and what it sold (a replacement card takes over
    /// its old card's sale: it is not another sale, as the report counts it).
    pub fn shops(&self) -> Result<Vec<Shop>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.name, \
             COALESCE((SELECT min(e.on_date) FROM card_events e \
                       WHERE e.shop = s.name AND e.kind = 'consigned'), \
                      substr(s.created_at, 1, 10)), \
             (SELECT count(*) FROM cards c WHERE c.shop = s.name AND c.sold_on IS NULL), \
             (SELECT count(*) FROM cards c WHERE c.sold_shop = s.name AND c.id NOT IN \
                (SELECT target FROM movements WHERE kind = 'replace' AND target IS NOT NULL)) \
             FROM shops s ORDER BY s.name COLLATE NOCASE",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Shop {
                    name: r.get(0)?,
                    since: r.get(1)?,
                    consigned: r.get::<_, i64>(2)? as usize,
                    sold: r.get::<_, i64>(3)? as usize,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The last day a card went to a shop or came back from one, if it ever did: a new
    /// consignment is not dated before it.
    pub fn last_stock_move(&self, card_id: i64) -> Result<Option<NaiveDate>, LedgerError> {
        let day: Option<String> = self.conn.query_row(
            "SELECT max(on_date) FROM card_events WHERE card_id = ?1 \
             AND kind IN ('consigned', 'returned')",
            [card_id],
            |r| r.get(0),
        )?;
        Ok(day.and_then(|d| NaiveDate::from_str(&d).ok()))
    }

    /// A card's ledger events, oldest first.
    pub fn events(&self, card_id: i64) -> Result<Vec<Event>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, kind, on_date, shop, detail FROM card_events WHERE card_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([card_id], |r| {
                let on: Option<String> = r.get(2)?;
                Ok(Event {
                    at: r.get(0)?,
                    kind: r.get(1)?,
                    on_date: on.and_then(|d| NaiveDate::from_str(&d).ok()),
                    shop: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn card_by_id(&self, id: i64) -> Result<Option<super::Card>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {} FROM cards WHERE id = ?1",
                    super::cards::CARD_COLUMNS
                ),
                [id],
                super::cards::card_from_row,
            )
            .optional()?)
    }

    /// Every balance read of every card, oldest first: `(card id, when, balance)`.
    pub fn balance_reads(&self) -> Result<Vec<(i64, String, Decimal)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT card_id, at, balance FROM balance_reads ORDER BY at")?;
        let rows = stmt
            .query_map([], |r| {
                let b: String = r.get(2)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    Decimal::from_str(&b).unwrap_or_default(),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl LedgerTx<'_> {
    /// Records a shop on first use; returns its name as first recorded.
    pub fn add_shop(&self, name: &str) -> Result<String, LedgerError> {
        self.exec(
            "INSERT OR IGNORE INTO shops (name, created_at) VALUES (?1, ?2)",
            params![name, now()],
        )?;
        Ok(self
            .tx
            .query_row("SELECT name FROM shops WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
    }

    fn event(
        &self,
        card_id: i64,
        kind: &str,
        on: Option<NaiveDate>,
        shop: Option<&str>,
        detail: &str,
    ) -> Result<(), LedgerError> {
        self.exec(
            "INSERT INTO card_events (card_id, at, kind, on_date, shop, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                card_id,
                now(),
                kind,
                on.map(|d| d.to_string()),
                shop,
                detail
            ],
        )?;
        Ok(())
    }

    /// Hands a card to a shop on `on`.
    pub fn consign(&self, card_id: i64, shop: &str, on: NaiveDate) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET shop = ?2, consigned_on = ?3, updated_at = ?4 WHERE id = ?1",
            params![card_id, shop, on.to_string(), now()],
        )?;
        self.event(card_id, "consigned", Some(on), Some(shop), "")
    }

    /// Takes an unsold card back from the shop holding it.
    pub fn take_back(&self, card_id: i64, shop: &str, on: NaiveDate) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET shop = NULL, consigned_on = NULL, updated_at = ?2 WHERE id = ?1",
            params![card_id, now()],
        )?;
        self.event(card_id, "returned", Some(on), Some(shop), "")
    }

    /// Records a sale: by `shop` (if known) on `on`.
    pub fn record_sale(
        &self,
        card_id: i64,
        shop: Option<&str>,
        on: NaiveDate,
    ) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET sold_shop = ?2, sold_on = ?3, updated_at = ?4 WHERE id = ?1",
            params![card_id, shop, on.to_string(), now()],
        )?;
        self.event(card_id, "sold", Some(on), shop, "")
    }

    /// Both histories name the other card of a movement (a redeem or a replacement).
    pub fn movement_events(
        &self,
        kind: super::MovementKind,
        source: (i64, &str),
        target: (i64, &str),
        amount: Decimal,
    ) -> Result<(), LedgerError> {
        let (out, into) = match kind {
            super::MovementKind::Redeem => ("redeemed-onto", "redeemed"),
            super::MovementKind::Replace => ("replaced-by", "replaces"),
        };
        let detail = |serial: &str| format!("{serial}, credit {amount:.2} moved");
        self.event(source.0, out, None, None, &detail(target.1))?;
        self.event(target.0, into, None, None, &detail(source.1))
    }

    /// A balance read from the platform just now.
    pub fn record_balance(&self, card_id: i64, balance: Decimal) -> Result<(), LedgerError> {
        let at = now();
        self.exec(
            "UPDATE cards SET last_balance = ?2, last_balance_at = ?3 WHERE id = ?1",
            params![card_id, balance.to_string(), at],
        )?;
        self.exec(
            "INSERT INTO balance_reads (card_id, at, balance) VALUES (?1, ?2, ?3)",
            params![card_id, at, balance.to_string()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rules_parse_print_and_count_from_the_sale() {
        assert_eq!(Expiry::parse_period("12m"), Ok(Expiry::Months(12)));
        assert_eq!(Expiry::parse_period("2Y"), Ok(Expiry::Months(24)));
        assert!(Expiry::parse_period("0m").is_err());
        assert!(Expiry::parse_period("12").is_err());
        assert!(Expiry::parse_period("121m").is_err());
        let d = |s: &str| NaiveDate::from_str(s).unwrap();
        assert_eq!("12m".parse::<Expiry>(), Ok(Expiry::Months(12)));
        assert_eq!(
            "2027-12-31".parse::<Expiry>(),
            Ok(Expiry::On(d("2027-12-31")))
        );
        let rule = Expiry::Months(12);
        assert_eq!(rule.date_for(None), None);
        assert_eq!(rule.date_for(Some(d("2026-02-28"))), Some(d("2027-02-28")));
        assert_eq!(
            Expiry::Months(1).date_for(Some(d("2026-01-31"))),
            Some(d("2026-02-28"))
        );
        assert_eq!(rule.note(), "Valid for 12 months from purchase");
        assert_eq!(Expiry::Months(24).note(), "Valid for 2 years from purchase");
        assert_eq!(
            Expiry::On(d("2027-12-31")).note(),
            "Valid until 31 December 2027"
        );
        assert_eq!(rule.to_string().parse::<Expiry>(), Ok(rule));
    }

    #[test]
    fn shop_names_are_tidied_and_refused_with_the_reason() {
        assert_eq!(shop_name("  Kiosk   12 ").unwrap(), "Kiosk 12");
        assert_eq!(shop_name("Café Müller & Co.").unwrap(), "Café Müller & Co.");
        assert!(shop_name("").unwrap_err().contains("empty"));
        assert!(shop_name("=HYPERLINK(1)").unwrap_err().contains("'='"));
        assert!(shop_name("-shop").unwrap_err().contains("begin with"));
        assert!(shop_name(&"x".repeat(41)).unwrap_err().contains("40"));
        assert!(shop_name("a\tb").is_ok(), "tabs are whitespace, collapsed");
        assert!(shop_name("a;b").is_err());
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(
            parse_date(" 2026-12-01 ").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert!(parse_date("01/12/2026").unwrap_err().contains("YYYY-MM-DD"));
    }
}
