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

/// An endpoint that echoes each request line (the whole query, passwords included) in the
/// answer's reason, as a debugging backend or a proxy's error page might. getuserinfo answers
/// "unknown customer", so the login check passes and the batch goes on to echoed failures.
fn echoing_endpoint() -> String {
    fake_endpoint(|line| {
        if line.contains("command=getuserinfo") && line.contains("cardmint_login_check") {
            "<?xml version=\"1.0\"?>\n<GetUserInfo><Result>Failed</Result><Reason>Unable to get user info</Reason></GetUserInfo>".to_string()
        } else {
            let echoed = line.trim().replace('&', "&amp;").replace('<', "&lt;");
            format!(
                "<?xml version=\"1.0\"?>\n<CreateAccount><Result>Failed</Result><Reason>echo {echoed}</Reason></CreateAccount>"
            )
        }
    })
}

#[test]
fn an_endpoint_that_echoes_the_request_never_gets_a_password_into_output_journal_or_files() {
    let url = echoing_endpoint();
    let cm = Cardmint::against(&url);
    let out = cm.run(&["issue", "--count", "2", "--value", "5", "-v"]);
    assert_ne!(out.code, 0, "{out:?}");
    let manifest = std::fs::read_to_string(cm.path("out/B0001/manifest.csv")).unwrap_or_default();
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let passwords: Vec<String> = rows.iter().map(|r| r["password"].clone()).collect();
    let ledger = rusqlite::Connection::open(cm.path("cardmint.db")).unwrap();
    let journal: Vec<String> = ledger
        .prepare("SELECT detail FROM journal")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let failures: Vec<String> = rows.iter().map(|r| r["failure"].clone()).collect();
    let texts = [
        ("stdout", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
        ("journal", journal.join("\n")),
        ("failures", failures.join("\n")),
    ];
    let mut forms = vec![RESELLER_PASSWORD.to_string(), urlencode(RESELLER_PASSWORD)];
    for p in &passwords {
        forms.push(p.clone());
        forms.push(urlencode(p));
    }
    for (name, text) in &texts {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{name} holds a password: {text}"
            );
        }
    }
    assert!(
        texts.iter().any(|(_, t)| t.contains("[redacted]")),
        "the echo was seen, redacted: {texts:?}"
    );
    assert!(!manifest.is_empty());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_folder_a_foreign_database_and_a_foreign_config_are_refused_as_such() {
    let cm = Cardmint::new();
    std::fs::create_dir(cm.path("db")).unwrap();
    let out = cm.expect(
        1,
        &[
            "--ledger",
            "db",
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
        ],
    );
    assert!(
        out.stderr.contains("is a folder, not a ledger file"),
        "{out:?}"
    );
    // An SQLite file of another program is left as it was.
    let other = cm.path("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE invoices (id INTEGER);")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = std::fs::read(&other).unwrap();
    let out = cm.expect(1, &["--ledger", "other.db", "batches"]);
    assert!(out.stderr.contains("not a cardmint ledger"), "{out:?}");
    assert!(
        std::fs::read(&other).unwrap() == before,
        "the file was changed"
    );
    // A config file owned by another user is not read (checked where this test may chown).
    let config = cm.path("cardmint.toml");
    std::fs::write(
        &config,
        "[api]\nurl = \"https://attacker.example/API/Request.ashx\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    if std::os::unix::fs::chown(&config, Some(65534), None).is_ok() {
        let out = cm.expect(1, &["doctor"]);
        assert!(out.stdout.contains("belongs to another user"), "{out:?}");
    }
    // A URL with a login is refused without echoing it.
    std::fs::remove_file(&config).unwrap();
    let out = cm.run_env(
        &["issue", "--count", "1", "--value", "5"],
        &[
            (
                "CARDMINT_API_URL",
                "https://bob:hunter22@example.net/API/Request.ashx",
            ),
            ("CARDMINT_USERNAME", "bob"),
            ("CARDMINT_PASSWORD", "secret-pass"),
        ],
    );
    assert_ne!(out.code, 0);
    assert!(
        !out.stderr.contains("hunter22") && out.stderr.contains("must not carry a login"),
        "{out:?}"
    );
}

#[test]
fn inputs_that_size_an_allocation_are_bounded_with_a_clear_message() {
    let cm = Cardmint::new();
    let out = cm.expect(
        2,
        &[
            "--sandbox",
            "issue",
            "--count",
            "4000000000",
            "--value",
            "5",
        ],
    );
    assert!(out.stderr.contains("at most 1000000 cards"), "{out:?}");
    std::fs::write(
        cm.path("huge.toml"),
        "name = \"huge\"\npage_width = 210\npage_height = 297\ncolumns = 100000\nrows = 100000\norigin_x = 0\norigin_y = 0\npitch_x = 0.001\npitch_y = 0.001\n",
    )
    .unwrap();
    let out = cm.run(&["preview", "--sheet", "huge.toml"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("huge.toml") && out.stderr.contains("at most 50"),
        "{out:?}"
    );
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let (status, body) = http(
        "POST",
        &format!("{}/__sandbox/calls?customer=x&count=4000000000", sb.base()),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("count"), "{body}");
}

#[test]
fn a_shared_or_foreign_output_folder_is_refused_for_secret_files() {
    use std::os::unix::fs::PermissionsExt;
    let cm = Cardmint::new();
    std::fs::create_dir(cm.path("shared")).unwrap();
    std::fs::set_permissions(cm.path("shared"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = cm.expect(
        1,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--out",
            "shared",
        ],
    );
    assert!(
        out.stderr
            .contains("can be written by other users (mode 777)"),
        "{out:?}"
    );
    assert!(
        cm.expect(0, &["batches"]).stdout.contains("no batches"),
        "nothing recorded"
    );
    if std::os::unix::fs::chown(cm.path("shared"), Some(65534), None).is_ok() {
        std::fs::set_permissions(cm.path("shared"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let out = cm.expect(
            1,
            &[
                "--sandbox",
                "issue",
                "--count",
                "1",
                "--value",
                "5",
                "--out",
                "shared",
            ],
        );
        assert!(out.stderr.contains("belongs to another user"), "{out:?}");
    }
    // A folder cardmint makes is owner-only.
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let mode = std::fs::metadata(cm.path("out/B0001"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn huge_answers_are_an_unknown_outcome_not_a_crash() {
    // 4 MB of elements in one well-formed answer, to every request, several at once.
    let body = format!(
        "<?xml version=\"1.0\"?>\n<GetUserInfo>{}</GetUserInfo>",
        "<a/>".repeat(1 << 20)
    );
    let url = fake_endpoint(move |_| body.clone());
    let cm = Cardmint::against(&url);
    let out = cm.run(&[
        "issue",
        "--count",
        "20",
        "--value",
        "5",
        "--concurrency",
        "8",
    ]);
    assert_eq!(out.code, 7, "the network, never an abort: {out:?}");
    assert!(
        out.stderr.contains("outcome unknown") && out.stderr.contains("nothing was recorded"),
        "{out:?}"
    );
}
