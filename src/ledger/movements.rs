//! Movements of credit between cards (a redeem, a replacement), as claims: one row per
//! movement, unique per source card, written in one transaction before any request. Every
//! process, session and restart finds the same row and continues it or reports it; its steps
//! (the block, the deduction, the load) are intents linked to it, and settling one of them
//! advances the row in the same transaction. The money core (`crate::money`) decides; this
//! file only keeps the facts.

use std::fmt;
use std::str::FromStr;

use rusqlite::{OptionalExtension, Row, params};
use rust_decimal::Decimal;

use super::store::{Ledger, LedgerError, LedgerTx, is_unique_violation, now};

/// What a movement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    /// A holder redeems a sold retail card onto their own account.
    Redeem,
    /// A lost card's credit goes to a new card issued in its place.
    Replace,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Redeem => "redeem",
            MovementKind::Replace => "replace",
        }
    }
}

impl FromStr for MovementKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "redeem" => Ok(MovementKind::Redeem),
            "replace" => Ok(MovementKind::Replace),
            other => Err(format!("unknown movement kind {other:?}")),
        }
    }
}

/// Where a movement stands. Each state says which step comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementState {
    /// Claimed: next, block the source card and read what it holds.
    Claimed,
    /// Claimed, or measured with no deduction in flight, in the copy a restore put back: its
    /// steps may have gone on after the copy was taken (in the ledger the restore replaced),
    /// and its amount may have been lowered since. Next, block the source and read it with its
    /// whole history: credit that left it since is the deduction the copy does not hold, and
    /// its deduction and load are opened before anything is sent (the load for a human).
    Restored,
    /// The source is blocked and its balance measured: next, deduct `amount` from it.
    Measured,
    /// Deducted from the source (its Deduct intent applied): next, load onto the target.
    Deducted,
    /// Loaded onto the target (its Move intent applied), or nothing was left to move.
    Done,
    /// Recorded by a cardmint before movements were claims, and not finished then: a human
    /// checks both cards (`cardmint card`) before anything more is sent.
    Legacy,
}

impl MovementState {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementState::Claimed => "claimed",
            MovementState::Restored => "restored",
            MovementState::Measured => "measured",
            MovementState::Deducted => "deducted",
            MovementState::Done => "done",
            MovementState::Legacy => "legacy",
        }
    }
}

impl FromStr for MovementState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "claimed" => MovementState::Claimed,
            "restored" => MovementState::Restored,
            "measured" => MovementState::Measured,
            "deducted" => MovementState::Deducted,
            "done" => MovementState::Done,
            "legacy" => MovementState::Legacy,
            other => return Err(format!("unknown movement state {other:?}")),
        })
    }
}

impl fmt::Display for MovementState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One movement of credit from a card to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub id: i64,
    pub kind: MovementKind,
    /// The card the credit leaves (blocked first).
    pub source: i64,
    /// The card it goes to: the holder's account, or the replacement (recorded once the
    /// source's balance is measured).
    pub target: Option<i64>,
    /// Why (the source's block reason).
    pub reason: String,
    /// Who claimed it: `portal` or `cli`.
    pub by: String,
    /// The source's exact balance read after its block (up to 5 decimals).
    pub measured: Option<Decimal>,
    /// Whole cents moved: the measured balance floored to the cent, lowered if calls were
    /// billed before the deduction.
    pub amount: Option<Decimal>,
    /// What stays behind on the source, under a cent.
    pub remainder: Option<Decimal>,
    pub state: MovementState,
    pub at: String,
    /// How far below zero the source stood once the deduction was applied (calls billed
    /// after the read before it, on a platform that lets a call overdraw), in whole cents
    /// rounded up; read once after the deduction, `None` before.
    pub overdrawn: Option<Decimal>,
}

impl Movement {
    /// The amount moved so far known (zero before the measure).
    pub fn amount(&self) -> Decimal {
        self.amount.unwrap_or_default()
    }

    /// What the target receives: the amount deducted less what calls billed after the
    /// deduction took from the source below zero (the holder spent it).
    pub fn loads(&self) -> Decimal {
        (self.amount() - self.overdrawn.unwrap_or_default()).max(Decimal::ZERO)
    }

    pub fn is_done(&self) -> bool {
        self.state == MovementState::Done
    }
}

const COLUMNS: &str =
    "id, kind, source, target, reason, by, measured, amount, remainder, state, at, overdrawn";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Movement> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let dec = |i: usize| -> rusqlite::Result<Option<Decimal>> {
        let t: Option<String> = r.get(i)?;
        t.map(|t| Decimal::from_str(&t).map_err(|e| bad(i, e.to_string())))
            .transpose()
    };
    let kind: String = r.get(1)?;
    let state: String = r.get(9)?;
    Ok(Movement {
        id: r.get(0)?,
        kind: kind.parse().map_err(|e| bad(1, e))?,
        source: r.get(2)?,
        target: r.get(3)?,
        reason: r.get(4)?,
        by: r.get(5)?,
        measured: dec(6)?,
        amount: dec(7)?,
        remainder: dec(8)?,
        state: state.parse().map_err(|e| bad(9, e))?,
        at: r.get(10)?,
        overdrawn: dec(11)?,
    })
}

/// What claiming found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This call wrote the claim: it is the claimant.
    New(Movement),
    /// The card was claimed already (by this movement): continue it or report it.
    Existing(Movement),
}

impl LedgerTx<'_> {
    /// A card as this transaction sees it.
    pub fn card(&self, id: i64) -> Result<super::Card, LedgerError> {
        Ok(self.query_one(
            &format!(
                "SELECT {} FROM cards WHERE id = ?1",
                super::cards::CARD_COLUMNS
            ),
            [id],
            super::cards::card_from_row,
        )?)
    }

    /// Claims `source` for a movement: one row, unique per source card, in this transaction.
    /// A card already claimed gives the existing claim, whatever its kind.
    pub fn claim_movement(
        &self,
        kind: MovementKind,
        source: i64,
        target: Option<i64>,
        reason: &str,
        by: &str,
    ) -> Result<Claim, LedgerError> {
        if let Some(m) = self.movement_of_card(source)? {
            return Ok(Claim::Existing(m));
        }
        let at = now();
        let inserted = self.exec(
            "INSERT INTO movements (kind, source, target, reason, by, state, at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'claimed', ?6, ?6)",
            params![kind.as_str(), source, target, reason, by, at],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                let m = self.movement_of_card(source)?.ok_or_else(|| {
                    LedgerError::Corrupt(format!("movement of card {source} vanished"))
                })?;
                return Ok(Claim::Existing(m));
            }
            Err(e) => return Err(e.into()),
        }
        let id = self.tx.last_insert_rowid();
        self.movement(id)?
            .map(Claim::New)
            .ok_or_else(|| LedgerError::Corrupt(format!("movement {id} vanished after insert")))
    }

    /// The movement a card's credit leaves by, if it is claimed.
    pub fn movement_of_card(&self, source: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM movements WHERE source = ?1"),
                [source],
                from_row,
            )
            .optional()?)
    }

    /// An unfinished movement whose credit is on its way onto `card`, if any.
    pub fn unfinished_onto(&self, card: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .query_one(
                &format!(
                    "SELECT {COLUMNS} FROM movements WHERE target = ?1 \
                     AND state NOT IN ('done') ORDER BY id LIMIT 1"
                ),
                [card],
                from_row,
            )
            .optional()?)
    }

    pub(super) fn movement(&self, id: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM movements WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// Records what the source holds after its block, and the whole cents to move: the
    /// movement is measured. Only from `claimed` or `restored` (a second measure changes
    /// nothing).
    pub fn measure_movement(
        &self,
        id: i64,
        measured: Decimal,
        amount: Decimal,
        remainder: Decimal,
    ) -> Result<(), LedgerError> {
        let state = if amount.is_zero() { "done" } else { "measured" };
        self.exec(
            "UPDATE movements SET measured = ?2, amount = ?3, remainder = ?4, state = ?5, \
             updated_at = ?6 WHERE id = ?1 AND state IN ('claimed', 'restored')",
            params![
                id,
                measured.to_string(),
                amount.to_string(),
                remainder.to_string(),
                state,
                now()
            ],
        )?;
        Ok(())
    }

    /// Lowers the amount still to deduct (calls were billed since the measure), before the
    /// deduction is sent; nothing left: the movement is done.
    pub fn lower_movement(
        &self,
        id: i64,
        amount: Decimal,
        remainder: Decimal,
    ) -> Result<(), LedgerError> {
        let state = if amount.is_zero() { "done" } else { "measured" };
        self.exec(
            "UPDATE movements SET amount = ?2, remainder = ?3, state = ?4, updated_at = ?5 \
             WHERE id = ?1 AND state = 'measured'",
            params![id, amount.to_string(), remainder.to_string(), state, now()],
        )?;
        Ok(())
    }

    /// Records how far below zero the source stood after the deduction (read once, from
    /// `deducted`); nothing left to load ends the movement.
    pub fn record_overdraft(&self, id: i64, overdrawn: Decimal) -> Result<(), LedgerError> {
        let Some(m) = self.movement(id)? else {
            return Err(LedgerError::Corrupt(format!("no movement {id}")));
        };
        let state = if m.amount() <= overdrawn {
            MovementState::Done
        } else {
            m.state
        };
        let changed = self.exec(
            "UPDATE movements SET overdrawn = ?2, state = ?3, updated_at = ?4 \
             WHERE id = ?1 AND state = 'deducted' AND overdrawn IS NULL",
            params![id, overdrawn.to_string(), state.as_str(), now()],
        )?;
        if changed > 0 && !overdrawn.is_zero() {
            let lowered = Movement {
                overdrawn: Some(overdrawn),
                ..m.clone()
            };
            self.lower_restored_load(id, m.loads(), lowered.loads())?;
        }
        Ok(())
    }

    /// Marks a movement `restored` (a restore put back a copy holding it before its deduction
    /// was sent): its measure is read again, with the source's history.
    pub fn set_restored(&self, id: i64) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE movements SET state = 'restored' WHERE id = ?1 \
             AND state IN ('claimed', 'measured')",
            [id],
        )?;
        Ok(())
    }

    /// Records the card a movement goes to (a replacement, recorded once measured).
    pub fn set_movement_target(&self, id: i64, target: i64) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE movements SET target = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, target, now()],
        )?;
        Ok(())
    }

    /// A step of the movement was applied on the platform (settled with its intent).
    pub(super) fn advance_movement(
        &self,
        id: i64,
        from: MovementState,
        to: MovementState,
    ) -> Result<(), LedgerError> {
        self.exec(
            "UPDATE movements SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
            params![id, from.as_str(), to.as_str(), now()],
        )?;
        Ok(())
    }
}

impl Ledger {
    pub fn movement(&self, id: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM movements WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// The movement a card's credit left by (redeemed or replaced), if any.
    pub fn movement_of(&self, source: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM movements WHERE source = ?1"),
                [source],
                from_row,
            )
            .optional()?)
    }

    /// The movements that load onto a card (redeems onto an account; the replacement it was
    /// issued as), newest first.
    pub fn movements_onto(&self, target: i64) -> Result<Vec<Movement>, LedgerError> {
        self.movements_where("target = ?1 ORDER BY id DESC", [target])
    }

    /// Every movement not done, oldest first.
    pub fn unfinished_movements(&self) -> Result<Vec<Movement>, LedgerError> {
        self.movements_where("state NOT IN ('done', 'legacy') ORDER BY id", [])
    }

    /// Every movement, oldest first.
    pub fn movements(&self) -> Result<Vec<Movement>, LedgerError> {
        self.movements_where("1 ORDER BY id", [])
    }

    fn movements_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        p: P,
    ) -> Result<Vec<Movement>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM movements WHERE {clause}"))?;
        let rows = stmt.query_map(p, from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The replacement of a lost card (its movement), if it was replaced.
    pub fn replacement_of(&self, old: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .movement_of(old)?
            .filter(|m| m.kind == MovementKind::Replace))
    }

    /// The replacement a card was issued as, if it is one.
    pub fn replaced_by_card(&self, new: i64) -> Result<Option<Movement>, LedgerError> {
        Ok(self
            .movements_onto(new)?
            .into_iter()
            .find(|m| m.kind == MovementKind::Replace))
    }

    /// The ids of every card issued as a replacement.
    pub fn replacement_cards(&self) -> Result<std::collections::HashSet<i64>, LedgerError> {
        Ok(self
            .movements_where("kind = 'replace' AND target IS NOT NULL", [])?
            .into_iter()
            .filter_map(|m| m.target)
            .collect())
    }
}
