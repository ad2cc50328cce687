//! Every command of the client against the sandbox on 127.0.0.1:0: success and each failure.

use std::time::Duration;

use cardmint::api::{ApiError, CallQuery, Direction, Refusal};
use cardmint::config::{Credentials, Secret};
use cardmint::sandbox::SyntheticCalls;
use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::support::*;

fn refusal<T: std::fmt::Debug>(r: Result<T, ApiError>) -> Refusal {
    match r {
        Err(ApiError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn create_with_number_and_tariff_then_read_it_back() {
    let sb = sandbox();
    let c = client(&sb);
    let created = c
        .create_customer(
            "card0001",
            &secret("Xk7-mQ2p"),
            Some("+442071234567"),
            Some(-3),
        )
        .unwrap();
    assert_eq!(created.customer, "card0001");
    assert_eq!(
        created.login_name.as_deref(),
        Some("card0001*provtest"),
        "suffix is the reseller name up to its first *"
    );
    let info = c.get_user_info("card0001").unwrap();
    assert_eq!(info.customer, "card0001");
    assert_eq!(info.balance, Decimal::ZERO);
    assert!(!info.blocked);
    // `+` went out as %2B: the platform would have read a bare + as a space.
    assert_eq!(info.numbers, vec!["+442071234567"]);
    let state = sb.state();
    let stored = &state.customers["card0001"];
    assert_eq!(stored.password, "Xk7-mQ2p");
    assert_eq!(stored.tariff, Some(-3));
}

#[test]
fn create_twice_is_refused_without_a_reason() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("dup", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    assert_eq!(
        refusal(c.create_customer("dup", &secret("Xk7-mQ2p"), None, None)),
        Refusal::CreateFailed
    );
    // A password the platform finds weak fails the same way.
    assert_eq!(
        refusal(c.create_customer("weak", &secret("abcd1234"), None, None)),
        Refusal::CreateFailed
    );
}

#[test]
fn transactions_load_deduct_and_refuse() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("t1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    let t = c.set_transaction("t1", dec("5.00")).unwrap();
    assert_eq!(t.amount, dec("5"));
    assert!(t.date_time.unwrap().ends_with(" (UTC)"));
    c.set_transaction("t1", dec("-1.25")).unwrap();
    assert_eq!(c.get_user_info("t1").unwrap().balance, dec("3.75"));
    assert_eq!(
        refusal(c.set_transaction("nobody", dec("1"))),
        Refusal::UnknownCustomer
    );
    assert_eq!(
        refusal(c.set_transaction("t1", dec("-10"))),
        Refusal::NotEnoughCredit
    );
    assert!(matches!(
        c.set_transaction("t1", dec("1.005")),
        Err(ApiError::InvalidArgument { .. })
    ));
    let state = sb.state();
    assert_eq!(state.customers["t1"].transactions.len(), 2);
    assert_eq!(state.reseller_credit, dec("999996.25"));
}

#[test]
fn reseller_credit_runs_out() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("t2", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    let (status, _) = http(
        "POST",
        &format!("http://{}/__sandbox/credit?amount=4", sb.addr()),
    );
    assert_eq!(status, 200);
    assert_eq!(
        refusal(c.set_transaction("t2", dec("5"))),
        Refusal::NotEnoughCredit
    );
}

#[test]
fn block_unblock_and_numbers() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("b1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    c.set_blocked("b1", true).unwrap();
    assert!(c.get_user_info("b1").unwrap().blocked);
    c.set_blocked("b1", false).unwrap();
    assert!(!c.get_user_info("b1").unwrap().blocked);
    c.add_number("b1", "+31201234567").unwrap();
    c.add_number("b1", "+31201234567").unwrap(); // idempotent
    c.add_number("b1", "+31201234568").unwrap();
    assert_eq!(
        c.get_user_info("b1").unwrap().numbers,
        vec!["+31201234567", "+31201234568"]
    );
    c.delete_number("b1", "+31201234567").unwrap();
    assert_eq!(c.get_user_info("b1").unwrap().numbers, vec!["+31201234568"]);
    assert_eq!(
        refusal(c.set_blocked("nobody", true)),
        Refusal::UnknownCustomer
    );
    assert!(matches!(
        c.add_number("b1", "0201234567"),
        Err(ApiError::InvalidArgument { .. })
    ));
}

#[test]
fn passwords_validate_change_and_reset() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("p1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    assert!(c.validate_user("p1", &secret("Xk7-mQ2p")).unwrap());
    assert!(!c.validate_user("p1", &secret("Wrong-9x")).unwrap());
    assert!(!c.validate_user("nobody", &secret("Xk7-mQ2p")).unwrap());
    assert_eq!(
        refusal(c.change_password("p1", &secret("Wrong-9x"), &secret("Hn4.rT8w"))),
        Refusal::WrongCustomerPassword
    );
    c.change_password("p1", &secret("Xk7-mQ2p"), &secret("Hn4.rT8w"))
        .unwrap();
    assert!(c.validate_user("p1", &secret("Hn4.rT8w")).unwrap());
    assert_eq!(
        refusal(c.reset_password("p1", &secret("aaaa9x"))),
        Refusal::PasswordNotSecure
    );
    c.reset_password("p1", &secret("Zq2_mV7c")).unwrap();
    assert_eq!(sb.state().customers["p1"].password, "Zq2_mV7c");
    assert_eq!(
        refusal(c.reset_password("nobody", &secret("Zq2_mV7c"))),
        Refusal::UnknownCustomer
    );
}

#[test]
fn call_records_page_backward_and_forward_without_loss_or_repeat() {
    let sb = sandbox();
    let c = client(&sb);
    c.create_customer("c1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    c.set_transaction("c1", dec("50")).unwrap();
    let start = NaiveDateTime::parse_from_str("2026-03-01 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    // Several calls share each second, so a date-only cursor would lose some.
    sb.add_calls(
        "c1",
        &SyntheticCalls {
            count: 25,
            first_start: start,
            spacing: Duration::from_secs(0),
            duration_secs: 75,
            charge: dec("0.01234"),
            destination: None,
        },
    )
    .unwrap();
    sb.add_calls(
        "c1",
        &SyntheticCalls {
            count: 12,
            first_start: start + Duration::from_secs(60),
            spacing: Duration::from_secs(1),
            duration_secs: 3601,
            charge: dec("0.1"),
            destination: None,
        },
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut query = CallQuery {
        record_count: Some(10),
        ..CallQuery::default()
    };
    loop {
        let page = c.call_overview("c1", &query).unwrap();
        let last = page.calls.last().cloned();
        seen.extend(page.calls);
        if !page.more_data {
            break;
        }
        let last = last.expect("more data after a non-empty page");
        query.date = Some(last.start);
        query.call_id = Some(last.call_id);
    }
    assert_eq!(seen.len(), 37);
    let mut ids: Vec<u64> = seen.iter().map(|c| c.call_id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    ids.dedup();
    assert_eq!(ids.len(), 37);
    assert_eq!(seen[0].duration_secs, 3601);
    assert_eq!(seen[36].charge, dec("0.01234"));
    // Balance: 50 - 25 * 0.01234 - 12 * 0.1 = 48.4915, truncated to 48.49.
    let info = c.get_user_info("c1").unwrap();
    assert_eq!(info.balance, dec("48.49"));
    assert_eq!(info.specific_balance, Some(dec("48.4915")));
    // Forward from before the first call.
    let page = c
        .call_overview(
            "c1",
            &CallQuery {
                date: Some(start - Duration::from_secs(1)),
                record_count: Some(500),
                direction: Some(Direction::Forward),
                ..CallQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.calls.len(), 37);
    assert!(!page.more_data);
    assert_eq!(page.calls[0].start, start);
    assert_eq!(
        refusal(c.call_overview("nobody", &CallQuery::default())),
        Refusal::UnknownCustomer
    );
    assert!(matches!(
        c.call_overview(
            "c1",
            &CallQuery {
                record_count: Some(501),
                ..CallQuery::default()
            }
        ),
        Err(ApiError::InvalidArgument { .. })
    ));
}

#[test]
fn wrong_reseller_login_stops_everything() {
    let sb = sandbox();
    let wrong = Credentials {
        username: RESELLER.to_string(),
        password: Secret::new("not-the-password"),
    };
    let c = client_with(&sb.url(), wrong, Duration::from_secs(5));
    let err = c.get_user_info("anyone").unwrap_err();
    assert_eq!(err.refusal(), Some(&Refusal::WrongResellerLogin));
    assert!(err.stops_everything());
    let err = c
        .create_customer("x1", &secret("Xk7-mQ2p"), None, None)
        .unwrap_err();
    assert!(err.stops_everything());
    assert!(sb.state().customers.is_empty());
}

#[test]
fn nothing_listening_is_not_sent_and_safe_to_retry() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/API/Request.ashx");
    let c = client_with(&url, credentials(), Duration::from_secs(2));
    let err = c.set_transaction("x", dec("5")).unwrap_err();
    assert!(matches!(err, ApiError::NotSent { .. }), "{err:?}");
    assert!(err.is_safe_to_retry());
    assert!(!err.may_have_applied());
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let s = settings(
        "http://www.voipinfocenter.com/API/Request.ashx",
        credentials(),
        Duration::from_secs(1),
    );
    assert!(cardmint::api::Client::new(&s, 1).is_err());
}
