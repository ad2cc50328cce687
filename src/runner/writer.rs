//! The one ledger writer of a run: workers send it what they learn over a channel; it commits
//! in small grouped transactions. An intent is committed at once and the worker waits for the
//! commit, because its request must not leave before the intent is durable; the intents that
//! other workers queue meanwhile are committed together in the next transaction (group
//! commit: one fsync for whatever is waiting).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use crate::codes::CodeSpec;
use crate::ledger::{
    CardState, IntentStatus, JournalEntry, Ledger, LedgerError, NewIntent, Progress,
};

/// A change for the ledger writer.
pub(crate) enum Update {
    Progress(i64, Progress),
    State(i64, CardState, Option<String>),
    Journal(JournalEntry),
    /// A balance read from the platform (the last one is what reports count as outstanding).
    Balance(i64, rust_decimal::Decimal),
    /// Settle an intent (and carry out its effect on the card).
    Settle {
        intent: i64,
        status: IntentStatus,
        evidence: String,
    },
    /// Record an intent; the reply (its id) comes after the commit.
    Intent {
        new: NewIntent,
        reply: SyncSender<Result<i64, String>>,
    },
    /// Record a card's new password as pending (before a reset is sent); replied after commit.
    PendingPassword {
        card_id: i64,
        password: crate::config::Secret,
        reply: SyncSender<Result<i64, String>>,
    },
    /// Lower the amount a movement still has to deduct (before its deduction is sent);
    /// replied after the commit.
    LowerMovement {
        movement: i64,
        amount: rust_decimal::Decimal,
        remainder: rust_decimal::Decimal,
        reply: SyncSender<Result<i64, String>>,
    },
    /// Retire a card's code and draw a new one; the reply comes after the commit.
    ReplaceCode {
        card_id: i64,
        spec: CodeSpec,
        reason: String,
        reply: SyncSender<Result<String, String>>,
    },
}

impl Update {
    /// Someone waits for this one: commit without waiting for more.
    fn urgent(&self) -> bool {
        matches!(
            self,
            Update::Intent { .. }
                | Update::PendingPassword { .. }
                | Update::LowerMovement { .. }
                | Update::ReplaceCode { .. }
        )
    }
}

/// How long the writer waits to group more updates into one transaction.
const GROUP_WINDOW: Duration = Duration::from_millis(20);
const GROUP_MAX: usize = 1000;

enum Reply {
    Id(SyncSender<Result<i64, String>>, i64),
    Code(SyncSender<Result<String, String>>, String),
}

/// Commits updates in small groups until every sender is gone.
pub(crate) fn write_updates(path: PathBuf, rx: Receiver<Update>) -> Result<(), LedgerError> {
    let ledger = Ledger::open(&path)?;
    while let Ok(first) = rx.recv() {
        let mut urgent = first.urgent();
        let mut group = vec![first];
        let deadline = Instant::now() + GROUP_WINDOW;
        while group.len() < GROUP_MAX {
            // Group commit: whatever is waiting now joins this transaction, so the intents of
            // every worker that queued one during the last commit share one fsync.
            match rx.try_recv() {
                Ok(u) => {
                    urgent |= u.urgent();
                    group.push(u);
                    continue;
                }
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) if urgent => break,
                Err(TryRecvError::Empty) => {}
            }
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(u) => {
                    urgent |= u.urgent();
                    group.push(u);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let mut replies = Vec::new();
        let written = ledger.write(|w| {
            for update in &group {
                match update {
                    Update::Progress(id, p) => w.set_progress(*id, *p)?,
                    Update::State(id, s, why) => w.set_state(*id, *s, why.as_deref())?,
                    Update::Journal(e) => w.journal(e)?,
                    Update::Balance(id, b) => w.record_balance(*id, *b)?,
                    Update::Settle {
                        intent,
                        status,
                        evidence,
                    } => w.settle_intent(*intent, *status, evidence)?,
                    Update::Intent { new, reply } => {
                        replies.push(Reply::Id(reply.clone(), w.add_intent(new)?));
                    }
                    Update::PendingPassword {
                        card_id,
                        password,
                        reply,
                    } => {
                        w.set_pending_password(*card_id, password)?;
                        replies.push(Reply::Id(reply.clone(), *card_id));
                    }
                    Update::LowerMovement {
                        movement,
                        amount,
                        remainder,
                        reply,
                    } => {
                        w.lower_movement(*movement, *amount, *remainder)?;
                        replies.push(Reply::Id(reply.clone(), *movement));
                    }
                    Update::ReplaceCode {
                        card_id,
                        spec,
                        reason,
                        reply,
                    } => {
                        let code = w.replace_code(*card_id, spec, reason)?;
                        replies.push(Reply::Code(reply.clone(), code));
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = written {
            // Whoever waits must not send its request: tell them, then stop.
            let why = e.to_string();
            for update in group {
                match update {
                    Update::Intent { reply, .. }
                    | Update::PendingPassword { reply, .. }
                    | Update::LowerMovement { reply, .. } => {
                        let _ = reply.send(Err(why.clone()));
                    }
                    Update::ReplaceCode { reply, .. } => {
                        let _ = reply.send(Err(why.clone()));
                    }
                    _ => {}
                }
            }
            return Err(e);
        }
        for reply in replies {
            match reply {
                Reply::Id(to, id) => {
                    let _ = to.send(Ok(id));
                }
                Reply::Code(to, code) => {
                    let _ = to.send(Ok(code));
                }
            }
        }
    }
    Ok(())
}
