//! The client's parser against the platform's own sample answers (`tests/fixtures/`).

use cardmint::api::answer;
use cardmint::api::{ApiError, Command, Refusal, UnknownCause};

use crate::support::dec;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn refusal(result: Result<impl std::fmt::Debug, ApiError>) -> Refusal {
    match result {
        Err(ApiError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn unknown_cause(result: Result<impl std::fmt::Debug, ApiError>) -> UnknownCause {
    match result {
        Err(ApiError::UnknownOutcome { cause, .. }) => cause,
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[test]
fn create_success_has_three_results_and_the_last_decides() {
    let created =
        answer::create_customer(&fixture("createcustomer_success.xml"), "TestUser06").unwrap();
    assert_eq!(created.customer, "TestUser06");
    assert_eq!(created.login_name.as_deref(), Some("TestUser06*prov"));
}

#[test]
fn create_failure_says_nothing_specific() {
    let body = fixture("createcustomer_failed.xml");
    assert_eq!(
        refusal(answer::create_customer(&body, "TestUser04")),
        Refusal::CreateFailed
    );
}

#[test]
fn last_result_decides_not_the_first() {
    // A sub-step succeeded, the summary failed: a client reading the first <Result> would
    // think the account is complete.
    let body = b"<CreateAccount><Customer>u1</Customer><Result>Success</Result>\
        <Reason>GeoCall added</Reason><Result>Failed</Result>\
        <Reason>Request completely or partially failed.</Reason></CreateAccount>";
    assert_eq!(
        refusal(answer::create_customer(body, "u1")),
        Refusal::CreateFailed
    );
    // And the other way round: an earlier failed pair does not spoil a successful summary.
    let body = b"<ChangeUserInfo><Customer>u1*r</Customer><Result>Failed</Result>\
        <Reason>Unknown customer</Reason><Result>Success</Result>\
        <Reason>Request completely succeeded</Reason></ChangeUserInfo>";
    answer::plain(Command::ChangeUserInfo, body, "u1").unwrap();
}

#[test]
fn transaction_success_echoes_the_amount_in_shortest_form() {
    let body = fixture("settransaction_success.xml");
    let t = answer::set_transaction(&body, "aboyoussef", dec("5.00")).unwrap();
    assert_eq!(t.amount, dec("5"));
    assert_eq!(t.date_time.as_deref(), Some("2014-04-22 11:51:46 (UTC)"));
    // An answer that confirms another amount is not a success for ours.
    assert!(matches!(
        answer::set_transaction(&body, "aboyoussef", dec("50.00")),
        Err(ApiError::Protocol { .. })
    ));
}

#[test]
fn invalid_amount_reason_has_a_trailing_space() {
    let body = fixture("settransaction_invalid_amount.xml");
    assert!(String::from_utf8_lossy(&body).contains("Amount </Reason>"));
    assert_eq!(
        refusal(answer::set_transaction(&body, "x", dec("5"))),
        Refusal::InvalidAmount
    );
}

#[test]
fn changeuserinfo_success_and_unknown_customer_with_suffix() {
    answer::plain(
        Command::ChangeUserInfo,
        &fixture("changeuserinfo_blocked.xml"),
        "TestUser05",
    )
    .unwrap();
    let body = fixture("changeuserinfo_unknown_customer.xml");
    assert_eq!(
        refusal(answer::plain(Command::ChangeUserInfo, &body, "TestUser03")),
        Refusal::UnknownCustomer
    );
}

#[test]
fn an_answer_about_another_customer_is_a_protocol_violation() {
    let body = fixture("changeuserinfo_blocked.xml");
    assert!(matches!(
        answer::plain(Command::ChangeUserInfo, &body, "TestUser0"),
        Err(ApiError::Protocol { .. })
    ));
}

#[test]
fn validateuser_without_doctype_or_declaration() {
    let body = fixture("validateuser_success.xml");
    assert!(answer::validate_user(&body, "foo").unwrap());
    let wrong = b"<ValidateUser><Customer>foo*p</Customer><Result>Failed</Result>\
        <Reason>User/Password combination unknown</Reason></ValidateUser>";
    assert!(!answer::validate_user(wrong, "foo").unwrap());
}

#[test]
fn getuserinfo_succeeds_without_result_with_repeated_numbers() {
    let info = answer::get_user_info(&fixture("getuserinfo_success.xml"), "TestUser02").unwrap();
    assert_eq!(info.customer, "TestUser02");
    assert_eq!(info.balance, dec("1.86"));
    assert_eq!(info.specific_balance, Some(dec("1.86828")));
    assert!(!info.blocked);
    assert_eq!(info.email, None);
    assert_eq!(info.numbers, vec!["+4412345678", "+4412345679"]);
}

#[test]
fn getuserinfo_without_numbers_and_integer_balance() {
    let info = answer::get_user_info(&fixture("getuserinfo_no_numbers.xml"), "TestUser02").unwrap();
    assert!(info.numbers.is_empty());
    assert_eq!(info.balance, dec("975"));
    assert!(info.blocked);
}

#[test]
fn getuserinfo_unknown_customer() {
    let body = fixture("getuserinfo_unknown_customer.xml");
    assert_eq!(
        refusal(answer::get_user_info(&body, "x")),
        Refusal::UnknownCustomer
    );
}

#[test]
fn getuserinfo_with_a_comma_balance_is_a_protocol_violation() {
    let body = b"<GetUserInfo><Customer>a*r</Customer><Balance>1,86</Balance>\
        <Blocked>False</Blocked></GetUserInfo>";
    assert!(matches!(
        answer::get_user_info(body, "a"),
        Err(ApiError::Protocol { .. })
    ));
    let body = b"<GetUserInfo><Customer>a*r</Customer><Balance>1</Balance>\
        <Blocked>false</Blocked></GetUserInfo>";
    assert!(matches!(
        answer::get_user_info(body, "a"),
        Err(ApiError::Protocol { .. })
    ));
}

#[test]
fn calloverview_reads_attributes_callid_and_the_double_space() {
    let page = answer::call_overview(&fixture("calloverview_two_calls.xml")).unwrap();
    assert!(!page.more_data);
    assert_eq!(page.count, Some(2));
    assert_eq!(page.calls.len(), 2);
    let first = &page.calls[0];
    assert_eq!(first.call_id, 1234567890);
    assert_eq!(first.call_type, "PSTNOutSip");
    assert_eq!(first.customer, "this account");
    assert_eq!(first.start.to_string(), "2013-12-24 18:05:26");
    assert_eq!(first.destination, "+32123456788");
    assert_eq!(first.duration_secs, 141);
    assert_eq!(first.charge, dec("0.0705"));
    assert_eq!(page.calls[1].charge, dec("0.10734"));
    assert_eq!(page.calls[1].duration_secs, 161);
}

#[test]
fn calloverview_empty_and_unknown_customer() {
    let page = answer::call_overview(&fixture("calloverview_empty.xml")).unwrap();
    assert!(page.calls.is_empty());
    assert!(!page.more_data);
    let body = fixture("calloverview_unknown_customer.xml");
    assert_eq!(
        refusal(answer::call_overview(&body)),
        Refusal::UnknownCustomer
    );
}

#[test]
fn resetpassword_not_secure_enough() {
    let body = fixture("resetpassword_not_secure.xml");
    assert_eq!(
        refusal(answer::plain(Command::ResetPassword, &body, "a")),
        Refusal::PasswordNotSecure
    );
}

#[test]
fn wrong_login_unknown_command_and_missing_parameter() {
    let body = b"<GetUserInfo><Result>Failed</Result>\
        <Reason>Reseller/Password combination unknown</Reason></GetUserInfo>";
    let err = answer::get_user_info(body, "a").unwrap_err();
    assert!(err.stops_everything());
    let body = b"<Request><Result>Failed</Result><Reason>Unknown command</Reason></Request>";
    assert_eq!(
        refusal(answer::get_user_info(body, "a")),
        Refusal::UnknownCommand
    );
    let body = b"<Transaction><Result>Failed</Result><Reason>Missing parameter: amount</Reason></Transaction>";
    assert_eq!(
        refusal(answer::set_transaction(body, "a", dec("1"))),
        Refusal::MissingParameter("amount".into())
    );
}

#[test]
fn html_empty_and_truncated_bodies_are_unknown_outcomes() {
    for name in [
        "html_error_page.html",
        "empty_body.xml",
        "truncated_getuserinfo.xml",
    ] {
        let body = fixture(name);
        let cause = unknown_cause(answer::get_user_info(&body, "TestUser02"));
        assert!(
            matches!(cause, UnknownCause::BadBody(_)),
            "{name}: {cause:?}"
        );
        // Never a credit: a settransaction with such a body is not a success.
        let cause = unknown_cause(answer::set_transaction(&body, "TestUser02", dec("5")));
        assert!(
            matches!(cause, UnknownCause::BadBody(_)),
            "{name}: {cause:?}"
        );
    }
    // Well-formed XHTML is no better.
    let xhtml = b"<html><body><p>OK</p></body></html>";
    assert!(matches!(
        unknown_cause(answer::set_transaction(xhtml, "a", dec("5"))),
        UnknownCause::BadBody(_)
    ));
}

#[test]
fn a_result_other_than_success_or_failed_is_a_protocol_violation() {
    let body = b"<ResetPassword><Customer>a*r</Customer><Result>OK</Result></ResetPassword>";
    assert!(matches!(
        answer::plain(Command::ResetPassword, body, "a"),
        Err(ApiError::Protocol { .. })
    ));
    // "Valid" is not "Invalid", and "Success" is matched whole.
    let body =
        b"<ResetPassword><Customer>a*r</Customer><Result>Successful</Result></ResetPassword>";
    assert!(answer::plain(Command::ResetPassword, body, "a").is_err());
}
