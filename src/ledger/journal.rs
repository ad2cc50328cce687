//! The journal: one row per request sent (command, card, outcome, duration). Never a password:
//! entries carry only what the engine puts in `outcome` and `detail`, built from error classes.

use rusqlite::params;

use super::store::{Ledger, LedgerError, LedgerTx, now};

#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub batch_id: Option<String>,
    pub card_id: Option<i64>,
    pub command: String,
    /// `ok`, `refused`, `unknown`, `not-sent`, `protocol`, `invalid`, or an engine note such as
    /// `reconciled` or `code-retired`.
    pub outcome: String,
    pub detail: String,
    pub duration_ms: u64,
    pub attempt: u32,
}

impl LedgerTx<'_> {
    pub fn journal(&self, e: &JournalEntry) -> Result<(), LedgerError> {
        self.exec(
            "INSERT INTO journal (at, batch_id, card_id, command, outcome, detail, duration_ms, attempt) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                now(),
                e.batch_id,
                e.card_id,
                e.command,
                e.outcome,
                e.detail,
                e.duration_ms as i64,
                e.attempt
            ],
        )?;
        Ok(())
    }
}

impl Ledger {
    /// The journal rows of a batch, oldest first.
    pub fn journal(&self, batch_id: &str) -> Result<Vec<JournalEntry>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT batch_id, card_id, command, outcome, detail, duration_ms, attempt \
             FROM journal WHERE batch_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([batch_id], |r| {
                Ok(JournalEntry {
                    batch_id: r.get(0)?,
                    card_id: r.get(1)?,
                    command: r.get(2)?,
                    outcome: r.get(3)?,
                    detail: r.get(4)?,
                    duration_ms: r.get::<_, i64>(5)? as u64,
                    attempt: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
