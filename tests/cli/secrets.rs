//! The reseller's password (and a customer's) must never appear in an error's text or `Debug`.

use std::str::FromStr;
use std::time::Duration;

use cardmint::api::ApiError;
use cardmint::config::{Credentials, Secret};
use cardmint::sandbox::{Fault, Sandbox};
use rust_decimal::Decimal;

use crate::support::*;

const CUSTOMER_PASSWORD: &str = "Cu5t-Pw.Zq9";

fn assert_clean(what: &str, text: &str) {
    for secret in [RESELLER_PASSWORD, CUSTOMER_PASSWORD, "Wrong-Reseller-Pw"] {
        let encoded: String = secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert!(!text.contains(secret), "{what} leaks a password: {text}");
        assert!(
            !text.contains(&encoded),
            "{what} leaks an encoded password: {text}"
        );
    }
}

fn check(errors: Vec<ApiError>) {
    assert!(!errors.is_empty());
    for e in errors {
        assert_clean("Display", &e.to_string());
        assert_clean("Debug", &format!("{e:?}"));
        assert_clean("error", &cardmint::error::Error::from(e).to_string());
    }
}

#[test]
fn no_error_or_debug_output_carries_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let sb = Sandbox::start(cardmint::sandbox::SandboxOptions {
        state_path: Some(state.clone()),
        ..options()
    })
    .unwrap();
    let c = client(&sb);
    assert_clean("client Debug", &format!("{c:?}"));
    assert_clean("credentials Debug", &format!("{:?}", credentials()));
    c.create_customer("s1", &Secret::new(CUSTOMER_PASSWORD), None, None)
        .unwrap();
    let mut errors = vec![
        c.create_customer("s1", &Secret::new(CUSTOMER_PASSWORD), None, None)
            .unwrap_err(),
        c.reset_password("s1", &Secret::new("aaaa")).unwrap_err(),
        c.change_password(
            "s1",
            &Secret::new("Xq-2wrong"),
            &Secret::new(CUSTOMER_PASSWORD),
        )
        .unwrap_err(),
        c.create_customer("bad name", &Secret::new(CUSTOMER_PASSWORD), None, None)
            .unwrap_err(),
        c.create_customer("s2", &Secret::new("bad password!"), None, None)
            .unwrap_err(),
    ];
    let wrong = Credentials {
        username: RESELLER.into(),
        password: Secret::new("Wrong-Reseller-Pw"),
    };
    let cw = client_with(&sb.url(), wrong, Duration::from_secs(5));
    assert_clean("client Debug", &format!("{cw:?}"));
    errors.push(
        cw.validate_user("s1", &Secret::new(CUSTOMER_PASSWORD))
            .unwrap_err(),
    );
    sb.stop().unwrap();
    // Transport failures: nothing listening, lost answers, error pages, timeouts.
    errors.push(
        c.validate_user("s1", &Secret::new(CUSTOMER_PASSWORD))
            .unwrap_err(),
    );
    for kind in [Fault::LostAnswer, Fault::ErrorPage, Fault::Slow] {
        let sb = Sandbox::start(faulty(kind, &state)).unwrap();
        let c = client_with(&sb.url(), credentials(), Duration::from_millis(300));
        errors.push(
            c.validate_user("s1", &Secret::new(CUSTOMER_PASSWORD))
                .unwrap_err(),
        );
        errors.push(
            c.set_transaction("s1", Decimal::from_str("1").unwrap())
                .unwrap_err(),
        );
    }
    check(errors);
}
