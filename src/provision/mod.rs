//! Provisioning: the card state machine and the per-card job that runs it (create, block,
//! credit, numbers), on the runner. Every command that changes cards runs on [`crate::runner`].
//!
//! Knows nothing of PDF or CSV output.

mod card;
pub mod machine;
pub mod plan;

use std::collections::HashMap;

use crate::ledger::{Batch, Card, CardState, Intent};
use crate::runner::{self, Report, RunError};

/// Provisions every unfinished card (pending or failed) of `batch`, and settles first every
/// change of the batch whose outcome is still open (`pending`, from the ledger). Safe to run
/// any number of times: what the ledger knows decides what is left, and open outcomes are
/// settled on evidence before anything is sent again.
pub fn provision(
    run: &runner::Run<'_>,
    batch: &Batch,
    cards: Vec<Card>,
    pending: Vec<Intent>,
) -> Result<Report, RunError> {
    let mut by_card: HashMap<i64, Vec<Intent>> = HashMap::new();
    for intent in pending {
        by_card.entry(intent.card_id).or_default().push(intent);
    }
    let jobs: Vec<card::Job> = cards
        .into_iter()
        .filter_map(|c| {
            let intents = by_card.remove(&c.id).unwrap_or_default();
            let todo = matches!(c.state, CardState::Pending | CardState::Failed);
            (todo || !intents.is_empty()).then(|| card::Job::new(c, intents))
        })
        .collect();
    run.observer
        .expect_requests(jobs.iter().map(|j| j.requests_left(batch)).sum());
    runner::run(run, jobs, |ctx, job| card::provision_step(ctx, batch, job))
}
