//! `cardmint sandbox` as a newcomer runs it, and the server under many keep-alive connections.

use std::sync::Arc;
use std::time::Duration;

use cardmint::sandbox::{Sandbox, SandboxOptions};

use crate::support::*;

#[test]
fn binary_prints_its_address_and_answers_every_command_in_the_documented_format() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    assert!(sb.url.starts_with("http://127.0.0.1:"));
    assert!(sb.url.ends_with("/API/Request.ashx"));
    let login = format!(
        "{}?username=provtest%2Amain&password=Rs-Pw%2B7%26x%3DSecretValue",
        sb.url
    );
    let get = |query: &str| {
        let (status, body) = http("GET", &format!("{login}&{query}"));
        assert_eq!(status, 200, "{query}");
        body
    };
    let created = get("command=createcustomer&customer=u1&customerpassword=Xk7-mQ2p&tariffrate=2");
    assert_eq!(
        created,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE CreateAccount>\n<CreateAccount>\n  \
         <Customer>u1</Customer>\n  <CustomerLoginName>u1*provtest</CustomerLoginName>\n  \
         <Result>Success</Result>\n  <Reason>Tarifflist added</Reason>\n  \
         <Result>Success</Result>\n  <Reason>Request completely succeeded</Reason>\n\
         </CreateAccount>\n"
    );
    let t = get("command=settransaction&customer=u1&amount=5.00");
    assert!(
        t.contains("<Amount>5</Amount>") && t.contains(" (UTC)</DateTime>"),
        "{t}"
    );
    let bad = get("command=settransaction&customer=u1&amount=5%2C00");
    assert!(
        bad.contains("<Reason>Invalid format: Amount </Reason>"),
        "{bad}"
    );
    assert!(!bad.contains("<Customer>"), "{bad}");
    assert!(
        get("command=changeuserinfo&customer=u1&customerblocked=true")
            .contains("<Reason>CustomerBlocked Changed</Reason>")
    );
    assert!(
        get("command=changeuserinfo&customer=u1&geocallcli_options=add&geocallcli=%2B4420")
            .contains("<Reason>GeoCallCLI Changed</Reason>")
    );
    let info = get("command=getuserinfo&customer=u1");
    assert!(info.contains("<Customer>u1*provtest</Customer>"), "{info}");
    assert!(
        info.contains(
            "<Blocked>True</Blocked>\n  <EmailAddress />\n  <GeocallCLI>+4420</GeocallCLI>"
        ),
        "{info}"
    );
    assert!(!info.contains("<Result>"), "{info}");
    assert!(
        get("command=validateuser&customer=u1&customerpassword=Xk7-mQ2p")
            .contains("<Result>Success</Result>")
    );
    assert!(get("command=changepassword&customer=u1&oldcustomerpassword=Xk7-mQ2p&newcustomerpassword=1234")
        .contains("not secure enough"));
    assert!(
        get("command=resetpassword&customer=u1&newcustomerpassword=Hn4.rT8w")
            .contains("<Result>Success</Result>")
    );
    let empty = get("command=calloverview&customer=u1");
    assert!(
        empty.contains("<Calls Count=\"0\" />\n  <MoreData>False</MoreData>"),
        "{empty}"
    );
    let (status, _) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer=u1&count=2&charge=0.0705",
            sb.base()
        ),
    );
    assert_eq!(status, 200);
    let calls = get("command=calloverview&customer=u1&recordcount=500");
    assert!(
        calls.contains("StartTime=\"2026-01-01 00:01:00  (UTC)\""),
        "{calls}"
    );
    assert!(
        calls.contains("Charge=\"0.0705\"") && calls.contains("CallId=\""),
        "{calls}"
    );
    assert!(get("command=nosuch").contains("<Request>"));
    assert!(get("command=getuserinfo").contains("<Reason>Missing parameter: customer</Reason>"));
    let (status, _) = http("GET", &format!("{}/other", sb.base()));
    assert_eq!(status, 404);
}

#[test]
fn non_loopback_address_needs_to_be_explicit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cardmint"))
        .args(["sandbox", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");
    assert!(help.contains("Example:"), "{help}");
}

/// Regression guard for what stack-notes records of tiny_http and astra: requests left unread
/// on keep-alive connections under concurrency. 300 clients, each on its own connection,
/// 10 requests each; every one must be answered well within the client's timeout.
#[test]
fn serves_hundreds_of_concurrent_keep_alive_connections() {
    let sb = Sandbox::start(SandboxOptions {
        latency: Duration::from_millis(20),
        ..options()
    })
    .unwrap();
    let c = client(&sb);
    c.create_customer("k1", &secret("Xk7-mQ2p"), None, None)
        .unwrap();
    let url = Arc::new(sb.url());
    let threads: Vec<_> = (0..300)
        .map(|_| {
            let url = Arc::clone(&url);
            std::thread::spawn(move || {
                // One agent per thread: its own keep-alive connection.
                let c = client_with(&url, credentials(), Duration::from_secs(10));
                (0..10)
                    .map(|_| c.get_user_info("k1").map(|_| ()))
                    .collect::<Result<Vec<()>, _>>()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().expect("every request answered");
    }
    assert_eq!(sb.stats().requests["getuserinfo"], 3000);
}
