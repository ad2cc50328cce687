//! The ledger: one SQLite file (bundled), the source of truth for batches, cards and the
//! journal of every request. Owner-only, WAL, numbered migrations.
//!
//! Knows nothing of HTTP or PDF; the provisioning engine writes to it through one writer.

mod backup;
mod batches;
mod cards;
mod intents;
mod journal;
mod movements;
mod stock;
mod store;

pub use backup::{Contents, Restored, backup, check as check_copy, restore, sessions_of};
pub use batches::{Batch, BatchCounts, NewBatch, Platform, value_text};
pub use cards::{Card, CardState, NewCard, Progress};
pub use intents::{Before, Intent, IntentKind, IntentStatus, NewIntent};
pub use journal::JournalEntry;
pub use movements::{Claim, Movement, MovementKind, MovementState};
pub use stock::{Event, Expiry, Shop, Stock, parse_date, shop_name};
pub use store::{Ledger, LedgerError, LedgerTx, disk_failure};
