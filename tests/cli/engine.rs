//! The engine through the library: codes that turn out to be taken on the platform.

use std::collections::HashSet;
use std::path::PathBuf;

use cardmint::codes::{CodeSpec, PasswordSpec};
use cardmint::ledger::{CardState, Ledger, NewBatch};
use cardmint::provision::plan::{CardRequest, plan_cards};
use cardmint::provision::provision;
use cardmint::runner::{CardFailure, Options, Run, Silent};
use rust_decimal::Decimal;

use crate::support::*;

fn new_batch(active: bool) -> NewBatch {
    NewBatch {
        value: Decimal::from(5),
        currency: "EUR".into(),
        tariff: None,
        active,
        code: CodeSpec::new(12, "").unwrap(),
        password_length: 10,
        source: None,
        out_dir: None,
        template: None,
        sheet: None,
        platform: cardmint::ledger::Platform::Sandbox,
        expiry: None,
        lang: None,
        values: Default::default(),
    }
}

#[test]
fn a_code_taken_by_someone_else_is_retired_and_replaced() {
    let sb = sandbox();
    let c = client(&sb);
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
    let cards = plan_cards(
        vec![CardRequest::retail(Decimal::from(5), None); 3],
        &CodeSpec::new(12, "").unwrap(),
        PasswordSpec::new(10).unwrap(),
        &HashSet::new(),
        0,
    )
    .unwrap();
    let batch = ledger
        .create_batch(&new_batch(false), &cards, |id: &str| PathBuf::from(id))
        .unwrap();
    let recorded = ledger.cards(&batch.id).unwrap();
    let taken = recorded[1].customer.clone();
    // Someone else's account with that name, made behind our back.
    c.create_customer(&taken, &secret("Other-9xQ"), None, None)
        .unwrap();
    let report = provision_all(&c, &ledger, &batch, recorded);
    assert_eq!(report.done, 3, "{report:?}");
    let after = ledger.cards(&batch.id).unwrap();
    assert_ne!(after[1].customer, taken);
    assert!(CodeSpec::new(12, "").unwrap().matches(&after[1].customer));
    assert!(after.iter().all(|c| c.state == CardState::Ready));
    assert!(
        ledger.known_customers().unwrap().contains(&taken),
        "the old code stays retired"
    );
    let state = sb.state();
    let other = &state.customers[&taken];
    assert_eq!(other.password, "Other-9xQ");
    assert!(
        other.transactions.is_empty() && !other.blocked,
        "the other account was left alone"
    );
    let mine = &state.customers[&after[1].customer];
    assert_eq!(mine.password, after[1].password.expose());
    assert_eq!(mine.transactions.len(), 1);
    let journal = ledger.journal(&batch.id).unwrap();
    assert!(
        journal
            .iter()
            .any(|e| e.outcome == "code-retired" && e.card_id == Some(after[1].id))
    );
}

#[test]
fn an_imported_name_taken_by_someone_else_fails_that_card_only() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("alice", &secret("Other-9xQ"), None, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
    let requests = ["alice", "bob"]
        .iter()
        .map(|n| CardRequest {
            customer: Some(n.to_string()),
            ..CardRequest::retail(Decimal::from(5), None)
        })
        .collect();
    let cards = plan_cards(
        requests,
        &CodeSpec::new(12, "").unwrap(),
        PasswordSpec::new(10).unwrap(),
        &HashSet::new(),
        0,
    )
    .unwrap();
    let batch = ledger
        .create_batch(&new_batch(true), &cards, |id: &str| PathBuf::from(id))
        .unwrap();
    let todo = ledger.cards(&batch.id).unwrap();
    let report = provision_all(&c, &ledger, &batch, todo);
    assert_eq!(report.done, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0].1,
        CardFailure::NotOurs {
            customer: "alice".into()
        }
    );
    let after = ledger.cards(&batch.id).unwrap();
    assert_eq!(after[0].state, CardState::Failed);
    assert_eq!(after[1].state, CardState::Active);
    assert!(sb.state().customers["alice"].transactions.is_empty());
}

/// Provisions `cards` of `batch` with the default options and no observer.
fn provision_all(
    client: &cardmint::api::Client,
    ledger: &Ledger,
    batch: &cardmint::ledger::Batch,
    cards: Vec<cardmint::ledger::Card>,
) -> cardmint::runner::Report {
    let options = Options::default();
    let run = Run {
        client,
        ledger: ledger.path(),
        batch_id: Some(&batch.id),
        options: &options,
        observer: &Silent,
        throttle: None,
    };
    provision(&run, batch, cards, Vec::new()).unwrap()
}
