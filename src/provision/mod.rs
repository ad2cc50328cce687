//! The engine: card state machine, throttle, backoff, reconciliation of ambiguous outcomes,
//! the worker pool and the single ledger writer. Every command that changes cards on the
//! platform runs through [`engine::run`].
//!
//! Knows nothing of PDF or CSV output.

mod card;
pub mod engine;
pub mod machine;
pub mod plan;
pub mod throttle;

pub use engine::{EngineError, EngineOptions, ItemOutcome, Observer, Report, Silent};

use std::path::Path;

use crate::api::Client;
use crate::ledger::{Batch, Card, CardState};

/// Provisions every unfinished card (pending or failed) of `batch`. Safe to run any number of
/// times: cards the ledger saw created are reconciled with the platform first.
pub fn provision(
    client: &Client,
    ledger_path: &Path,
    batch: &Batch,
    cards: Vec<Card>,
    options: &EngineOptions,
    observer: &dyn Observer,
) -> Result<Report, EngineError> {
    let todo: Vec<Card> = cards
        .into_iter()
        .filter(|c| matches!(c.state, CardState::Pending | CardState::Failed))
        .collect();
    let run = engine::Run {
        client,
        ledger: ledger_path,
        batch_id: Some(&batch.id),
        options,
        observer,
    };
    engine::run(
        &run,
        todo,
        |c: &Card| c.serial.clone(),
        |ctx, card| card::provision_card(ctx, batch, card),
    )
}
