//! Fault injection: the client reports an unknown outcome when the answer is lost or late, and
//! the sandbox's state shows whether the change was applied.

use std::str::FromStr;
use std::time::Duration;

use cardmint::api::{ApiError, UnknownCause};
use cardmint::sandbox::{Fault, Sandbox};
use rust_decimal::Decimal;

use crate::support::*;

/// A sandbox whose state holds customer `f1`, then restarted with every request faulted.
fn faulty_sandbox(kind: Fault, dir: &std::path::Path) -> Sandbox {
    let state = dir.join("state.json");
    let clean = Sandbox::start(cardmint::sandbox::SandboxOptions {
        state_path: Some(state.clone()),
        ..options()
    })
    .unwrap();
    client(&clean)
        .create_customer("f1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    clean.stop().unwrap();
    Sandbox::start(faulty(kind, &state)).unwrap()
}

fn cause(err: ApiError) -> UnknownCause {
    assert!(err.may_have_applied(), "{err:?}");
    assert!(!err.is_safe_to_retry(), "{err:?}");
    match err {
        ApiError::UnknownOutcome { cause, .. } => cause,
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[test]
fn lost_answer_is_unknown_outcome_and_the_credit_was_applied() {
    let dir = tempfile::tempdir().unwrap();
    let sb = faulty_sandbox(Fault::LostAnswer, dir.path());
    let c = client(&sb);
    let err = c.set_transaction("f1", Decimal::from(5)).unwrap_err();
    assert!(matches!(cause(err), UnknownCause::ConnectionLost(_)));
    let state = sb.state();
    assert_eq!(state.customers["f1"].transactions.len(), 1);
    assert_eq!(state.customers["f1"].balance, Decimal::from(5));
    // A lost create also happened.
    let err = c
        .create_customer("f2", &secret("Xk7-mQ2p"), None, None)
        .unwrap_err();
    assert!(matches!(cause(err), UnknownCause::ConnectionLost(_)));
    assert!(sb.state().customers.contains_key("f2"));
    assert_eq!(sb.stats().faults.get("LostAnswer"), Some(&2));
}

#[test]
fn error_page_is_unknown_outcome_and_nothing_was_applied() {
    let dir = tempfile::tempdir().unwrap();
    let sb = faulty_sandbox(Fault::ErrorPage, dir.path());
    let c = client(&sb);
    let err = c.set_transaction("f1", Decimal::from(5)).unwrap_err();
    assert_eq!(cause(err.clone()), UnknownCause::HttpStatus(503));
    assert!(err.is_overload());
    assert!(sb.state().customers["f1"].transactions.is_empty());
}

#[test]
fn slow_answer_times_out_as_unknown_outcome_and_was_applied() {
    let dir = tempfile::tempdir().unwrap();
    let sb = faulty_sandbox(Fault::Slow, dir.path());
    let c = client_with(&sb.url(), credentials(), Duration::from_millis(400));
    let err = c.set_blocked("f1", true).unwrap_err();
    assert_eq!(cause(err), UnknownCause::Timeout);
    assert!(sb.state().customers["f1"].blocked);
}

#[test]
fn sandbox_binary_with_faults_loses_answers_after_applying() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sb.json");
    let state = state.to_str().unwrap();
    let clean = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--state", state]);
    let c = client_with(&clean.url, credentials(), Duration::from_secs(5));
    c.create_customer("g1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    clean.terminate();
    let faulty = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--state",
        state,
        "--faults",
        "1",
        "--fault-kinds",
        "lost",
        "--seed",
        "42",
    ]);
    let c = client_with(&faulty.url, credentials(), Duration::from_secs(5));
    let err = c
        .set_transaction("g1", Decimal::from_str("2.50").unwrap())
        .unwrap_err();
    assert!(matches!(cause(err), UnknownCause::ConnectionLost(_)));
    let (status, body) = http("GET", &format!("{}/__sandbox/state", faulty.base()));
    assert_eq!(status, 200);
    let state: cardmint::sandbox::State = serde_json::from_str(&body).unwrap();
    let g1 = &state.customers["g1"];
    assert_eq!(g1.transactions.len(), 1);
    assert_eq!(g1.balance, Decimal::from_str("2.5").unwrap());
}

/// Polls `done` on the sandbox's state until it holds (bounded): the world moves on a ticker.
fn eventually(sb: &Sandbox, what: &str, done: impl Fn(&cardmint::sandbox::State) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done(&sb.state()) {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_late_change_is_not_there_when_the_client_gives_up_and_lands_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    drop(faulty_sandbox(Fault::LostAnswer, dir.path()));
    let sb = Sandbox::start(cardmint::sandbox::SandboxOptions {
        late: Duration::from_millis(400),
        ..faulty(Fault::Late, &state)
    })
    .unwrap();
    let c = client(&sb);
    let err = c.set_transaction("f1", Decimal::from(5)).unwrap_err();
    assert!(matches!(cause(err), UnknownCause::ConnectionLost(_)));
    let err = c.set_blocked("f1", true).unwrap_err();
    assert!(matches!(cause(err), UnknownCause::ConnectionLost(_)));
    // The client has its answer (none); the platform has not applied anything yet.
    let f1 = &sb.state().customers["f1"];
    assert!(f1.transactions.is_empty() && !f1.blocked);
    eventually(&sb, "the late changes land", |s| {
        s.customers["f1"].transactions.len() == 1 && s.customers["f1"].blocked
    });
    assert_eq!(sb.stats().faults.get("Late"), Some(&2));
    // A change still waiting when the sandbox stops lands before its state is saved.
    c.set_transaction("f1", Decimal::from(2)).unwrap_err();
    sb.stop().unwrap();
    let sb = Sandbox::start(cardmint::sandbox::SandboxOptions {
        state_path: Some(state),
        ..options()
    })
    .unwrap();
    assert_eq!(sb.state().customers["f1"].balance, Decimal::from(7));
}

#[test]
fn card_holders_call_on_unblocked_accounts_with_credit_and_the_charges_add_up() {
    let sb = Sandbox::start(cardmint::sandbox::SandboxOptions {
        usage: cardmint::sandbox::Usage {
            calls_per_min: 600.0,
            price_per_min: Decimal::from_str("0.5").unwrap(),
        },
        ..options()
    })
    .unwrap();
    let c = client(&sb);
    for name in ["u1", "u2", "u3"] {
        c.create_customer(name, &secret("Xk7-mQ2p"), None, None)
            .unwrap();
    }
    c.set_transaction("u1", Decimal::from(5)).unwrap();
    c.set_transaction("u2", Decimal::from(5)).unwrap();
    c.set_blocked("u2", true).unwrap();
    eventually(&sb, "u1 calls", |s| s.customers["u1"].calls.len() >= 3);
    let s = sb.state();
    // Blocked or empty accounts make no calls.
    assert!(s.customers["u2"].calls.is_empty() && s.customers["u3"].calls.is_empty());
    let u1 = &s.customers["u1"];
    let charged: Decimal = u1.calls.iter().map(|c| c.charge).sum();
    assert_eq!(u1.balance + charged, Decimal::from(5));
    assert!(u1.balance >= Decimal::ZERO);
    // The calls are what calloverview shows.
    let page = c
        .call_overview(
            "u1",
            &cardmint::api::CallQuery {
                record_count: Some(500),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(page.calls.len() >= 3);
    let info = c.get_user_info("u1").unwrap();
    assert!(info.exact_balance() <= u1.balance);
}
