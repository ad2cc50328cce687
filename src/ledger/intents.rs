//! Intents: a change the platform cannot repeat safely, recorded before its request leaves and
//! settled later, on evidence from the platform. Settling an intent as applied carries out its
//! effect on the card (progress, state, top-ups, numbers, password) in the same transaction, so
//! the ledger never says a change happened without saying what it did, or the reverse.

use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::cards::{CARD_COLUMNS, Card, CardState, card_from_row};
use super::store::{Ledger, LedgerError, LedgerTx, now};

/// What an intent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentKind {
    /// createcustomer (provisioning).
    Create,
    /// settransaction of the face value (provisioning).
    Credit(Decimal),
    /// settransaction after issue (negative: a deduction).
    Topup(Decimal),
    /// settransaction loading the credit of another card (its id) redeemed onto this one, as
    /// recorded before movements were claims (read, never written now).
    Redeem { amount: Decimal, from: i64 },
    /// settransaction of `-amount`: a movement's deduction from the card it leaves.
    Deduct { amount: Decimal, movement: i64 },
    /// settransaction of `amount`: a movement's load onto the card it goes to.
    Move { amount: Decimal, movement: i64 },
    /// changeuserinfo customerblocked=true for retail stock (provisioning).
    RetailBlock,
    /// changeuserinfo customerblocked=true after issue (lost, stolen, returned), with the reason.
    Block(Option<String>),
    /// changeuserinfo customerblocked=false: activation.
    Unblock,
    /// changeuserinfo customerblocked=false for a sale: the sale (by the shop, on the day) is
    /// recorded when, and only when, the account is unblocked.
    Sell {
        shop: Option<String>,
        on: chrono::NaiveDate,
    },
    /// changeuserinfo geocallcli add.
    AddNumber(String),
    /// changeuserinfo geocallcli delete.
    DeleteNumber(String),
    /// resetpassword to the card's pending password.
    Password,
}

impl IntentKind {
    /// The stored name (also used by the kill points of tests).
    pub fn name(&self) -> &'static str {
        match self {
            IntentKind::Create => "create",
            IntentKind::Credit(_) => "credit",
            IntentKind::Topup(_) => "topup",
            IntentKind::Redeem { .. } => "redeem",
            IntentKind::Deduct { .. } => "deduct",
            IntentKind::Move { .. } => "move",
            IntentKind::RetailBlock => "retail-block",
            IntentKind::Block(_) => "block",
            IntentKind::Unblock => "unblock",
            IntentKind::Sell { .. } => "sell",
            IntentKind::AddNumber(_) => "add-number",
            IntentKind::DeleteNumber(_) => "delete-number",
            IntentKind::Password => "password",
        }
    }

    /// The amount a credit, top-up or movement step sends (negative: a deduction).
    pub fn amount(&self) -> Option<Decimal> {
        match self {
            IntentKind::Credit(a) | IntentKind::Topup(a) => Some(*a),
            IntentKind::Redeem { amount, .. } | IntentKind::Move { amount, .. } => Some(*amount),
            IntentKind::Deduct { amount, .. } => Some(-*amount),
            _ => None,
        }
    }

    /// The movement this change is a step of.
    pub fn movement(&self) -> Option<i64> {
        match self {
            IntentKind::Deduct { movement, .. } | IntentKind::Move { movement, .. } => {
                Some(*movement)
            }
            _ => None,
        }
    }

    /// The blocked flag this change sets, if it is one.
    pub fn blocked(&self) -> Option<bool> {
        match self {
            IntentKind::RetailBlock | IntentKind::Block(_) => Some(true),
            IntentKind::Unblock | IntentKind::Sell { .. } => Some(false),
            _ => None,
        }
    }

    /// The `detail` column: amount, number or block reason.
    fn detail(&self) -> Option<String> {
        match self {
            IntentKind::Credit(a) | IntentKind::Topup(a) => Some(a.to_string()),
            IntentKind::Redeem { amount, from } => Some(format!("{amount}@{from}")),
            IntentKind::Deduct { amount, movement } | IntentKind::Move { amount, movement } => {
                Some(format!("{amount}@{movement}"))
            }
            IntentKind::AddNumber(n) | IntentKind::DeleteNumber(n) => Some(n.clone()),
            IntentKind::Block(reason) => reason.clone(),
            IntentKind::Sell { shop, on } => {
                Some(format!("{on}@{}", shop.as_deref().unwrap_or("")))
            }
            _ => None,
        }
    }

    fn from_columns(name: &str, detail: Option<String>) -> Result<IntentKind, String> {
        let amount = || -> Result<Decimal, String> {
            let d = detail.clone().ok_or("intent without its amount")?;
            Decimal::from_str(&d).map_err(|e| e.to_string())
        };
        let number = || {
            detail
                .clone()
                .ok_or("intent without its number".to_string())
        };
        let step = || -> Result<(Decimal, i64), String> {
            let d = detail.clone().ok_or("movement step without its amount")?;
            let (amount, movement) = d.split_once('@').ok_or("movement step without its id")?;
            Ok((
                Decimal::from_str(amount).map_err(|e| e.to_string())?,
                movement
                    .parse()
                    .map_err(|_| format!("movement {movement:?}"))?,
            ))
        };
        Ok(match name {
            "create" => IntentKind::Create,
            "deduct" => {
                let (amount, movement) = step()?;
                IntentKind::Deduct { amount, movement }
            }
            "move" => {
                let (amount, movement) = step()?;
                IntentKind::Move { amount, movement }
            }
            "credit" => IntentKind::Credit(amount()?),
            "topup" => IntentKind::Topup(amount()?),
            "redeem" => {
                let d = detail.clone().ok_or("redeem intent without its amount")?;
                let (amount, from) = d.split_once('@').ok_or("redeem intent without its card")?;
                IntentKind::Redeem {
                    amount: Decimal::from_str(amount).map_err(|e| e.to_string())?,
                    from: from.parse().map_err(|_| format!("redeem from {from:?}"))?,
                }
            }
            "retail-block" => IntentKind::RetailBlock,
            "block" => IntentKind::Block(detail),
            "unblock" => IntentKind::Unblock,
            "sell" => {
                let d = detail.clone().ok_or("sale without its date")?;
                let (on, shop) = d.split_once('@').ok_or("sale without its shop")?;
                IntentKind::Sell {
                    on: on.parse().map_err(|_| format!("sale date {on:?}"))?,
                    shop: (!shop.is_empty()).then(|| shop.to_string()),
                }
            }
            "add-number" => IntentKind::AddNumber(number()?),
            "delete-number" => IntentKind::DeleteNumber(number()?),
            "password" => IntentKind::Password,
            other => return Err(format!("unknown intent kind {other:?}")),
        })
    }
}

impl fmt::Display for IntentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Amounts as money is written: at least two decimals (5.00, 4.98333).
        let money = |a: &Decimal| crate::text::money(a.abs());
        match self {
            IntentKind::Create => f.write_str("create the account"),
            IntentKind::Credit(a) => write!(f, "load the face value {}", money(a)),
            IntentKind::Topup(a) if a.is_sign_negative() => write!(f, "deduct {}", money(a)),
            IntentKind::Topup(a) => write!(f, "top up {}", money(a)),
            IntentKind::Redeem { amount, .. } => {
                write!(f, "load {} from a redeemed card", money(amount))
            }
            IntentKind::Deduct { amount, movement } => {
                write!(f, "deduct {} (movement #{movement})", money(amount))
            }
            IntentKind::Move { amount, movement } => {
                write!(f, "load {} (movement #{movement})", money(amount))
            }
            IntentKind::RetailBlock => f.write_str("block (retail stock)"),
            IntentKind::Block(_) => f.write_str("block"),
            IntentKind::Unblock => f.write_str("unblock (activate)"),
            IntentKind::Sell { shop, on } => write!(
                f,
                "unblock (sold{} on {on})",
                shop.as_deref()
                    .map(|s| format!(" by {s}"))
                    .unwrap_or_default()
            ),
            IntentKind::AddNumber(n) => write!(f, "add number {n}"),
            IntentKind::DeleteNumber(n) => write!(f, "delete number {n}"),
            IntentKind::Password => f.write_str("set the new password"),
        }
    }
}

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    /// Recorded, maybe sent; no answer or evidence yet.
    Open,
    /// The platform applied it (its answer, or evidence read after the settle delay).
    Applied,
    /// The platform did not apply it (refused, never sent, or evidence).
    NotApplied,
    /// The evidence stayed ambiguous: a human decides (`cardmint settle`).
    Unsettled,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::Open => "open",
            IntentStatus::Applied => "applied",
            IntentStatus::NotApplied => "not-applied",
            IntentStatus::Unsettled => "unsettled",
        }
    }

    /// Still waiting for evidence or for a human.
    pub fn is_pending(self) -> bool {
        matches!(self, IntentStatus::Open | IntentStatus::Unsettled)
    }
}

impl FromStr for IntentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "open" => IntentStatus::Open,
            "applied" => IntentStatus::Applied,
            "not-applied" => IntentStatus::NotApplied,
            "unsettled" => IntentStatus::Unsettled,
            other => return Err(format!("unknown intent status {other:?}")),
        })
    }
}

/// What the card looked like on the platform just before the change: the evidence a settle
/// read is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Before {
    /// The exact balance, for credits and top-ups.
    pub balance: Option<Decimal>,
    /// When that was true: the read's departure and arrival (Unix ms). For a balance the
    /// ledger knows without a read (a fresh account holds 0), both are the intent's time.
    pub from_ms: i64,
    pub to_ms: i64,
    /// How far the platform's clock was from ours when that read was made (its answers'
    /// `Date`); `None` for intents recorded without it.
    pub offset: Option<crate::clock::Offset>,
    /// Opened by a restore on a card that may have taken changes the copy does not hold (a
    /// top-up, a correction, another redeem, after the copy was taken): its history suggests
    /// an outcome but cannot decide it, since a change of the same amount would read alike. A
    /// human decides (`cardmint settle --resolve`).
    pub restored: bool,
}

impl Before {
    /// When the read was made, on our clock as it stands now (`now`: the platform's offset
    /// measured now). Our clock may have stepped since (an NTP correction, a machine
    /// restored): when the two offsets cannot both hold, the read's moment is moved by the
    /// step, through the platform's clock, which did not step; its window widened by both
    /// uncertainties. Else the read's own times.
    pub fn window_on(&self, now: crate::clock::Offset) -> (i64, i64) {
        match self.offset {
            Some(then) if then.hi_ms < now.lo_ms || now.hi_ms < then.lo_ms => (
                self.from_ms + then.lo_ms - now.hi_ms,
                self.to_ms + then.hi_ms - now.lo_ms,
            ),
            _ => (self.from_ms, self.to_ms),
        }
    }
}

impl Before {
    /// Nothing read: the state the ledger knows, as of now.
    pub fn now() -> Before {
        let now = chrono::Utc::now().timestamp_millis();
        Before {
            balance: None,
            from_ms: now,
            to_ms: now,
            offset: None,
            restored: false,
        }
    }
}

impl NewIntent {
    /// A step of a movement that a restore found unfinished (the copy may be older than the
    /// platform), opened with no balance read before: the card's whole history judges it. The
    /// source cannot have changed since the copy but by this movement (its claim refuses every
    /// other change); the target can (a top-up, another redeem), so its history only suggests
    /// and a human decides ([`Before::restored`]).
    pub fn restored_step(card: &super::Card, kind: IntentKind) -> NewIntent {
        let restored = matches!(kind, IntentKind::Move { .. });
        NewIntent {
            card_id: card.id,
            batch_id: card.batch_id.clone(),
            kind,
            before: Before {
                restored,
                ..Before::default()
            },
        }
    }
}

/// A change to record before its request leaves.
#[derive(Debug, Clone)]
pub struct NewIntent {
    pub card_id: i64,
    pub batch_id: String,
    pub kind: IntentKind,
    pub before: Before,
}

/// A recorded intent.
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: i64,
    pub card_id: i64,
    pub batch_id: String,
    pub kind: IntentKind,
    pub before: Before,
    pub status: IntentStatus,
    /// What settled it, or why it stays unsettled.
    pub evidence: Option<String>,
    pub created_at: String,
}

const INTENT_COLUMNS: &str = "id, card_id, batch_id, kind, detail, before_balance, before_from_ms, \
    before_to_ms, sent_ms, status, evidence, created_at, before_offset_lo, before_offset_hi, \
    before_restored";

fn intent_from_row(row: &Row<'_>) -> rusqlite::Result<Intent> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let kind: String = row.get(3)?;
    let balance: Option<String> = row.get(5)?;
    let status: String = row.get(9)?;
    Ok(Intent {
        id: row.get(0)?,
        card_id: row.get(1)?,
        batch_id: row.get(2)?,
        kind: IntentKind::from_columns(&kind, row.get(4)?).map_err(|e| bad(3, e))?,
        before: Before {
            balance: balance
                .map(|b| Decimal::from_str(&b).map_err(|e| bad(5, e.to_string())))
                .transpose()?,
            from_ms: row.get(6)?,
            to_ms: row.get(7)?,
            offset: match (
                row.get::<_, Option<i64>>(12)?,
                row.get::<_, Option<i64>>(13)?,
            ) {
                (Some(lo_ms), Some(hi_ms)) => Some(crate::clock::Offset { lo_ms, hi_ms }),
                _ => None,
            },
            restored: row.get(14)?,
        },
        status: IntentStatus::from_str(&status).map_err(|e| bad(9, e))?,
        evidence: row.get(10)?,
        created_at: row.get(11)?,
    })
}

impl Intent {
    /// What the change does to the card's record once applied. Pure: the same rule serves the
    /// ledger (in [`LedgerTx::settle_intent`]) and a worker's copy of the card.
    pub fn apply_to(&self, card: &mut Card) {
        match &self.kind {
            IntentKind::Create => card.progress.created = true,
            IntentKind::Credit(_) => card.progress.credited = true,
            IntentKind::Topup(a)
            | IntentKind::Redeem { amount: a, .. }
            | IntentKind::Move { amount: a, .. } => card.topups += *a,
            IntentKind::Deduct { amount, .. } => card.topups -= *amount,
            IntentKind::RetailBlock => card.progress.blocked = true,
            IntentKind::Block(reason) => {
                card.state = CardState::Blocked;
                card.block_reason = reason.clone();
            }
            IntentKind::Unblock | IntentKind::Sell { .. } => {
                card.state = CardState::Active;
                card.block_reason = None;
            }
            IntentKind::AddNumber(n) => {
                if !card.numbers.contains(n) {
                    card.numbers.push(n.clone());
                }
            }
            IntentKind::DeleteNumber(n) => card.numbers.retain(|x| x != n),
            IntentKind::Password => {
                if let Some(new) = card.pending_password.take() {
                    card.password = new;
                }
            }
        }
    }

    /// What not applying it means for the card: a pending password that did not take is
    /// dropped (the ledger must not keep a password the account does not have).
    pub fn reject_on(&self, card: &mut Card) {
        if self.kind == IntentKind::Password {
            card.pending_password = None;
        }
    }
}

impl LedgerTx<'_> {
    /// Records an intent (status open) and returns its id.
    pub fn add_intent(&self, new: &NewIntent) -> Result<i64, LedgerError> {
        self.exec(
            "INSERT INTO intents (card_id, batch_id, kind, detail, before_balance, before_from_ms, \
             before_to_ms, sent_ms, status, created_at, before_offset_lo, before_offset_hi, \
             before_restored) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open', ?9, ?10, ?11, ?12)",
            params![
                new.card_id,
                new.batch_id,
                new.kind.name(),
                new.kind.detail(),
                new.before.balance.map(|b| b.to_string()),
                new.before.from_ms,
                new.before.to_ms,
                // `sent_ms`, of schema 5: no longer written (a settle delay counts on the
                // monotonic clock of the run that waits, never from a stored wall time).
                0,
                now(),
                new.before.offset.map(|o| o.lo_ms),
                new.before.offset.map(|o| o.hi_ms),
                new.before.restored,
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// The load a restore opened for a movement whose overdraft was not read yet carries the
    /// whole amount; once the overdraft lowers what the movement loads, so does the load
    /// waiting for a human (the history is then read for the amount that was sent).
    pub(super) fn lower_restored_load(
        &self,
        movement: i64,
        from: Decimal,
        to: Decimal,
    ) -> Result<(), LedgerError> {
        let detail = |amount| IntentKind::Move { amount, movement }.detail();
        self.exec(
            "UPDATE intents SET detail = ?1 WHERE kind = 'move' AND detail = ?2 \
             AND before_restored = 1 AND status IN ('open', 'unsettled')",
            params![detail(to), detail(from)],
        )?;
        Ok(())
    }

    /// Settles an intent and carries out what that means for its card, in this transaction.
    /// Settling one that is already applied or not applied changes nothing (a second worker's
    /// or process's conclusion never undoes the first).
    pub fn settle_intent(
        &self,
        id: i64,
        status: IntentStatus,
        evidence: &str,
    ) -> Result<(), LedgerError> {
        let intent = self
            .query_one(
                &format!("SELECT {INTENT_COLUMNS} FROM intents WHERE id = ?1"),
                [id],
                intent_from_row,
            )
            .optional()?
            .ok_or_else(|| LedgerError::Corrupt(format!("no intent {id}")))?;
        if !intent.status.is_pending() {
            return Ok(());
        }
        self.exec(
            "UPDATE intents SET status = ?2, evidence = ?3, settled_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), evidence, now()],
        )?;
        if !matches!(status, IntentStatus::Applied | IntentStatus::NotApplied) {
            return Ok(());
        }
        let mut card = self.query_one(
            &format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = ?1"),
            [intent.card_id],
            card_from_row,
        )?;
        if status == IntentStatus::Applied {
            // The balance last read, when read before this change was recorded, does not hold
            // it: it stands at that read plus the change (a replacement's card read at 0.00
            // before its load counted 0.00 outstanding where the platform held 5.00).
            // (The read is this change's own read before when it says what that read said
            // and is no later than the change's record, to the second.)
            if let (Some(amount), Some(read), Some(at)) = (
                intent.kind.amount(),
                card.stock.last_balance,
                card.stock.last_balance_at.as_deref(),
            ) && at <= intent.created_at.as_str()
                && intent.before.balance == Some(read)
            {
                self.exec(
                    "UPDATE cards SET last_balance = ?2 WHERE id = ?1",
                    params![card.id, (read + amount).to_string()],
                )?;
            }
            intent.apply_to(&mut card);
            // A movement's step: its claim says so in this same transaction.
            use super::movements::MovementState::{Deducted, Done, Measured};
            match intent.kind {
                IntentKind::Deduct { movement, .. } => {
                    self.advance_movement(movement, Measured, Deducted)?
                }
                // From Measured too: a load found applied (a ledger restored from a copy taken
                // before its deduction was settled) was sent after its deduction, and the
                // movement is done whatever order the two are settled in.
                IntentKind::Move { movement, .. } => {
                    self.advance_movement(movement, Measured, Done)?;
                    self.advance_movement(movement, Deducted, Done)?
                }
                // The sale is a fact once the card is unblocked for it, not before.
                IntentKind::Sell { ref shop, on } => {
                    self.record_sale(intent.card_id, shop.as_deref(), on)?
                }
                _ => {}
            }
        } else {
            intent.reject_on(&mut card);
        }
        self.exec(
            "UPDATE cards SET created = ?2, blocked_done = ?3, credited = ?4, state = ?5, \
             block_reason = ?6, topups = ?7, numbers = ?8, password = ?9, pending_password = ?10, \
             updated_at = ?11 WHERE id = ?1",
            params![
                card.id,
                card.progress.created,
                card.progress.blocked,
                card.progress.credited,
                card.state.as_str(),
                card.block_reason,
                card.topups.to_string(),
                card.numbers.join(" "),
                card.password.expose(),
                card.pending_password
                    .as_ref()
                    .map(|p| p.expose().to_string()),
                now(),
            ],
        )?;
        Ok(())
    }
}

impl Ledger {
    /// Intents still waiting (open or unsettled), oldest first: of one batch, or all.
    pub fn pending_intents(&self, batch_id: Option<&str>) -> Result<Vec<Intent>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INTENT_COLUMNS} FROM intents WHERE status IN ('open', 'unsettled') \
             AND (?1 IS NULL OR batch_id = ?1) ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([batch_id], intent_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Intents still waiting (open or unsettled) of these cards, oldest first.
    pub fn pending_intents_of(&self, card_ids: &[i64]) -> Result<Vec<Intent>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INTENT_COLUMNS} FROM intents WHERE card_id = ?1 \
             AND status IN ('open', 'unsettled') ORDER BY id"
        ))?;
        let mut rows = Vec::new();
        for id in card_ids {
            for intent in stmt.query_map([id], intent_from_row)? {
                rows.push(intent?);
            }
        }
        rows.sort_by_key(|i| i.id);
        Ok(rows)
    }

    /// Every intent of one card, oldest first.
    pub fn card_intents(&self, card_id: i64) -> Result<Vec<Intent>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {INTENT_COLUMNS} FROM intents WHERE card_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([card_id], intent_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One intent by id.
    pub fn intent(&self, id: i64) -> Result<Option<Intent>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {INTENT_COLUMNS} FROM intents WHERE id = ?1"),
                [id],
                intent_from_row,
            )
            .optional()?)
    }
}
