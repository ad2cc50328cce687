//! Cards: the records, their provisioning progress and lifecycle state.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::stock::Stock;
use super::store::{Ledger, LedgerError, LedgerTx, now};
use crate::codes::{CodeSpec, Draw, OsRandom};
use crate::config::Secret;

/// Where a card is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardState {
    /// Recorded; provisioning not finished.
    Pending,
    /// Provisioned and blocked: inert until sold (retail stock).
    Ready,
    /// Provisioned and usable.
    Active,
    /// Blocked after issue (lost, stolen, returned).
    Blocked,
    /// Provisioning gave up on it; `failure` says why. `resume` retries it.
    Failed,
}

impl CardState {
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Pending => "pending",
            CardState::Ready => "ready",
            CardState::Active => "active",
            CardState::Blocked => "blocked",
            CardState::Failed => "failed",
        }
    }
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CardState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => CardState::Pending,
            "ready" => CardState::Ready,
            "active" => CardState::Active,
            "blocked" => CardState::Blocked,
            "failed" => CardState::Failed,
            other => return Err(format!("unknown card state {other:?}")),
        })
    }
}

/// Which provisioning steps are known to be done on the platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub created: bool,
    /// Blocked as retail stock (or not needed: issued active).
    pub blocked: bool,
    pub credited: bool,
    /// Every CLI number beyond the first attached.
    pub numbers: bool,
}

/// A card to record. `Debug` shows the password as `***`.
#[derive(Debug)]
pub struct NewCard {
    pub customer: String,
    pub password: Secret,
    pub value: Decimal,
    pub tariff: Option<i64>,
    /// E.164.
    pub numbers: Vec<String>,
    pub label: String,
    /// The customer name is a code we drew (and may replace if it is taken).
    pub generated: bool,
    /// What provisioning loads when it is not the face value (a replacement).
    pub credit: Option<Decimal>,
}

/// A recorded card. `Debug` shows the password as `***`.
#[derive(Debug, Clone)]
pub struct Card {
    pub id: i64,
    pub batch_id: String,
    pub seq: u64,
    pub serial: String,
    /// The access code (or imported name): the customer's username on the platform.
    pub customer: String,
    pub password: Secret,
    pub value: Decimal,
    pub tariff: Option<i64>,
    pub numbers: Vec<String>,
    pub label: String,
    pub generated: bool,
    pub progress: Progress,
    pub state: CardState,
    pub failure: Option<String>,
    pub block_reason: Option<String>,
    /// Credit loaded after issue (net of deductions).
    pub topups: Decimal,
    /// A new password sent but not yet confirmed by the platform.
    pub pending_password: Option<Secret>,
    /// The credit provisioning loads when it is not the face value (a replacement card carries
    /// the lost card's remaining credit).
    pub credit: Option<Decimal>,
    /// Where the card is in the reseller's stock: consignment, sale, last balance read.
    pub stock: Stock,
}

impl Card {
    /// What provisioning loads: the face value, or the credit moved onto a replacement.
    pub fn credit(&self) -> Decimal {
        self.credit.unwrap_or(self.value)
    }

    /// Everything loaded on the card: its credit plus top-ups.
    pub fn loaded(&self) -> Decimal {
        self.credit() + self.topups
    }

    /// Whether the platform should show the account blocked, from its lifecycle state.
    pub fn expect_blocked(&self) -> Option<bool> {
        match self.state {
            CardState::Ready | CardState::Blocked => Some(true),
            CardState::Active => Some(false),
            CardState::Pending | CardState::Failed => None,
        }
    }
}

pub(super) const CARD_COLUMNS: &str = "id, batch_id, seq, serial, customer, password, value, \
    tariff, numbers, label, generated, created, blocked_done, credited, numbers_done, state, \
    failure, block_reason, topups, pending_password, credit, shop, consigned_on, sold_shop, \
    sold_on, last_balance, last_balance_at";

pub(super) fn card_from_row(row: &Row<'_>) -> rusqlite::Result<Card> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let value: String = row.get(6)?;
    let numbers: String = row.get(8)?;
    let state: String = row.get(15)?;
    let decimal = |i: usize| -> rusqlite::Result<Option<Decimal>> {
        row.get::<_, Option<String>>(i)?
            .map(|t| Decimal::from_str(&t).map_err(|e| bad(i, e.to_string())))
            .transpose()
    };
    let date = |i: usize| -> rusqlite::Result<Option<NaiveDate>> {
        row.get::<_, Option<String>>(i)?
            .map(|t| NaiveDate::from_str(&t).map_err(|e| bad(i, e.to_string())))
            .transpose()
    };
    Ok(Card {
        id: row.get(0)?,
        batch_id: row.get(1)?,
        seq: row.get::<_, i64>(2)? as u64,
        serial: row.get(3)?,
        customer: row.get(4)?,
        password: Secret::new(row.get::<_, String>(5)?),
        value: Decimal::from_str(&value).map_err(|e| bad(6, e.to_string()))?,
        tariff: row.get(7)?,
        numbers: numbers.split_whitespace().map(str::to_string).collect(),
        label: row.get(9)?,
        generated: row.get(10)?,
        progress: Progress {
            created: row.get(11)?,
            blocked: row.get(12)?,
            credited: row.get(13)?,
            numbers: row.get(14)?,
        },
        state: CardState::from_str(&state).map_err(|e| bad(15, e))?,
        failure: row.get(16)?,
        block_reason: row.get(17)?,
        topups: {
            let t: String = row.get(18)?;
            Decimal::from_str(&t).map_err(|e| bad(18, e.to_string()))?
        },
        pending_password: row.get::<_, Option<String>>(19)?.map(Secret::new),
        credit: decimal(20)?,
        stock: Stock {
            shop: row.get(21)?,
            consigned_on: date(22)?,
            sold_shop: row.get(23)?,
            sold_on: date(24)?,
            last_balance: decimal(25)?,
            last_balance_at: row.get(26)?,
        },
    })
}

impl Ledger {
    /// The cards of a batch in serial order.
    pub fn cards(&self, batch_id: &str) -> Result<Vec<Card>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CARD_COLUMNS} FROM cards WHERE batch_id = ?1 ORDER BY seq"
        ))?;
        let cards = stmt
            .query_map([batch_id], card_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(cards)
    }

    /// One card by serial or customer name.
    pub fn find_card(&self, key: &str) -> Result<Option<Card>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CARD_COLUMNS} FROM cards WHERE serial = ?1 OR customer = ?1"),
                [key],
                card_from_row,
            )
            .optional()?)
    }

    /// Every customer name the ledger has ever used (cards and retired codes).
    pub fn known_customers(&self) -> Result<HashSet<String>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT customer FROM cards UNION SELECT code FROM retired_codes")?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(names)
    }

    /// Live codes of this shape: every recorded card whose customer name has it. Failed cards
    /// count too: their account may exist on the platform.
    pub fn live_codes(&self, spec: &CodeSpec) -> Result<u128, LedgerError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM cards WHERE length(customer) = ?1 AND customer GLOB ?2 \
             AND customer NOT GLOB '*[^0-9]*' AND customer NOT GLOB '0*'",
            params![spec.length() as i64, format!("{}*", spec.prefix())],
            |r| r.get(0),
        )?;
        Ok(n as u128)
    }
}

/// Whether a card is retail stock: a code drawn for a batch of cards to sell (not a welcome
/// card of an import, whose login is no secret and opens nothing without its password).
const RETAIL: &str = "SELECT c.generated = 1 AND b.source IS NULL FROM cards c \
     JOIN batches b ON b.id = c.batch_id WHERE c.id = ?1";

impl Ledger {
    /// Whether the card is retail stock (its code alone is its key): see [`Card::carries_value`].
    pub fn is_retail(&self, card_id: i64) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row(RETAIL, [card_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false))
    }
}

impl Card {
    /// The one rule for a code that opens credit by itself: a retail card (its code drawn for
    /// sale, see [`Ledger::is_retail`]) that was sold (active). Sign-in with the code alone
    /// and redeem both ask it.
    pub fn carries_value(&self, retail: bool) -> bool {
        retail && self.generated && self.state == CardState::Active
    }
}

impl LedgerTx<'_> {
    /// As [`Ledger::is_retail`], in this transaction.
    pub fn is_retail(&self, card_id: i64) -> Result<bool, LedgerError> {
        Ok(self
            .tx
            .query_row(RETAIL, [card_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false))
    }

    pub fn set_progress(&self, card_id: i64, p: Progress) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET created = ?2, blocked_done = ?3, credited = ?4, numbers_done = ?5, \
             updated_at = ?6 WHERE id = ?1",
            params![card_id, p.created, p.blocked, p.credited, p.numbers, now()],
        )?;
        Ok(())
    }

    /// Sets the lifecycle state; `failure` is kept for `Failed` and cleared otherwise.
    pub fn set_state(
        &self,
        card_id: i64,
        state: CardState,
        failure: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET state = ?2, failure = ?3, updated_at = ?4 WHERE id = ?1",
            params![card_id, state.as_str(), failure, now()],
        )?;
        Ok(())
    }

    pub fn set_pending_password(&self, card_id: i64, password: &Secret) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE cards SET pending_password = ?2, updated_at = ?3 WHERE id = ?1",
            params![card_id, password.expose(), now()],
        )?;
        Ok(())
    }

    /// Retires a card's code (it belongs to an account that is not ours) and gives the card a
    /// fresh one of the same shape, unique across the ledger. Returns the new code.
    pub fn replace_code(
        &self,
        card_id: i64,
        spec: &CodeSpec,
        reason: &str,
    ) -> Result<String, LedgerError> {
        let old: String =
            self.tx
                .query_row("SELECT customer FROM cards WHERE id = ?1", [card_id], |r| {
                    r.get(0)
                })?;
        self.exec(
            "INSERT INTO retired_codes (code, card_id, reason, at) VALUES (?1, ?2, ?3, ?4)",
            params![old, card_id, reason, now()],
        )?;
        let mut draw = Draw::new(OsRandom);
        loop {
            let code = spec.generate(&mut draw)?;
            let taken: bool = self.query_one(
                "SELECT EXISTS(SELECT 1 FROM cards WHERE customer = ?1) \
                 OR EXISTS(SELECT 1 FROM retired_codes WHERE code = ?1)",
                [&code],
                |r| r.get(0),
            )?;
            if !taken {
                self.exec(
                    "UPDATE cards SET customer = ?2, created = 0, blocked_done = 0, credited = 0, \
                     numbers_done = 0, updated_at = ?3 WHERE id = ?1",
                    params![card_id, code, now()],
                )?;
                return Ok(code);
            }
        }
    }
}
