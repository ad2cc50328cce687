//! The card holders' portal over HTTP: every page and every refusal, against a sandbox
//! process whose state the tests read (balances, numbers, transactions, requests counted).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::support::*;

/// A running `cardmint portal`, stopped on drop.
pub struct PortalProcess {
    child: Child,
    pub base: String,
    /// The lines it printed after `listening on` (the access log), as they come.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl PortalProcess {
    pub fn start(cm: &Cardmint, env: &[(&str, &str)]) -> PortalProcess {
        PortalProcess::with_args(cm, &["--rate", "200"], env)
    }

    /// `cardmint portal --addr 127.0.0.1:0 ARGS`, once it listens.
    pub fn with_args(cm: &Cardmint, args: &[&str], env: &[(&str, &str)]) -> PortalProcess {
        let mut command = vec!["portal", "--addr", "127.0.0.1:0"];
        command.extend_from_slice(args);
        let mut cmd = cm.command(&command);
        // Failed sign-ins are answered at one moment: short here, tests make many.
        cmd.env("CARDMINT_TEST_SIGNIN_ANSWER_MS", "150");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("portal said {line:?}"))
            .trim_end_matches('/')
            .to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        PortalProcess { child, base, log }
    }

    /// The access-log lines printed so far (each written once its answer has left).
    pub fn log(&self) -> Vec<String> {
        std::thread::sleep(std::time::Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

impl PortalProcess {
    /// Sends the portal a signal (`HUP`, `TERM`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, headers (lower-case names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, Vec<String>>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let key = "name=\"csrf\" value=\"";
        let at = self
            .body
            .find(key)
            .unwrap_or_else(|| panic!("no form: {}", self.body))
            + key.len();
        let len = self.body[at..].find('"').unwrap();
        self.body[at..at + len].to_string()
    }
}

/// A visitor with its cookie (no redirects followed: the tests look at them).
pub struct Visitor {
    base: String,
    agent: ureq::Agent,
    cookie: Option<String>,
    pub forwarded_for: Option<String>,
}

impl Visitor {
    /// Sends `cookie` (`name=value`) from now on.
    pub fn set_cookie(&mut self, cookie: &str) {
        self.cookie = Some(cookie.to_string());
    }

    /// The session cookie (`name=value`), once there is one.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    pub fn new(base: &str) -> Visitor {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        Visitor {
            base: base.to_string(),
            agent,
            cookie: None,
            forwarded_for: None,
        }
    }

    fn finish(
        &mut self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Answer {
        let mut response = response.unwrap();
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in response.headers() {
            headers
                .entry(k.as_str().to_ascii_lowercase())
                .or_default()
                .push(v.to_str().unwrap_or("").to_string());
        }
        for c in headers.get("set-cookie").cloned().unwrap_or_default() {
            let pair = c.split(';').next().unwrap_or("").to_string();
            if pair.ends_with('=') || c.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Answer {
            status: response.status().as_u16(),
            headers,
            body,
        }
    }

    pub fn get(&mut self, path: &str) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        if let Some(f) = &self.forwarded_for {
            req = req.header("X-Forwarded-For", f);
        }
        let r = req.call();
        self.finish(r)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        if let Some(f) = &self.forwarded_for {
            req = req.header("X-Forwarded-For", f);
        }
        let r = req.send_form(form.iter().copied());
        self.finish(r)
    }

    /// Signs in with a login (or code) and a password (empty for a retail code).
    pub fn sign_in(&mut self, login: &str, password: &str) -> Answer {
        let csrf = self.get("/signin").csrf();
        self.post(
            "/signin",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
    }

    /// A form of page `page` posted to `to` with its own CSRF token.
    pub fn submit(&mut self, page: &str, to: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.get(page).csrf();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(to, &form)
    }
}

/// Issues `n` retail cards on `sb` and sells the first `sold` of them; returns the manifest.
pub fn stock(cm: &Cardmint, n: usize, sold: usize) -> Vec<HashMap<String, String>> {
    cm.expect(
        0,
        &[
            "issue",
            "--count",
            &n.to_string(),
            "--value",
            "5",
            "-q",
            "--rate",
            "400",
        ],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    if sold > 0 {
        let range = format!("{}-{}", rows[0]["serial"], rows[sold - 1]["serial"]);
        cm.expect(
            0,
            &[
                "activate",
                "B0001",
                "--serials",
                &range,
                "--override-consignment",
                "--rate",
                "400",
            ],
        );
    }
    rows
}

fn balance_of(page: &str) -> String {
    let at = page.find("id=\"balance\">").expect("a balance") + "id=\"balance\">".len();
    page[at..].split('<').next().unwrap().to_string()
}

#[test]
fn a_card_holder_signs_in_reads_the_balance_pages_the_calls_changes_numbers_and_password() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 2, 1);
    let code = rows[0]["customer"].clone();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={code}&count=45&charge=0.02",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    // Not signed in: every page leads to the sign-in page.
    for page in [
        "/",
        "/account",
        "/calls",
        "/numbers",
        "/password",
        "/redeem",
    ] {
        let a = v.get(page);
        assert_eq!(
            (a.status, a.header("location")),
            (303, Some("/signin")),
            "{page}"
        );
    }
    let a = Visitor::new(&portal.base).get("/signin");
    assert_eq!(a.status, 200);
    let cookie = a.header("set-cookie").unwrap().to_string();
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Max-Age="] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let csp = a.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    // The retail card's code alone opens its account.
    let before = v.cookie.clone();
    let a = v.sign_in(&code, "");
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/account")),
        "{}",
        a.body
    );
    assert_ne!(v.cookie, before, "a new session id at sign-in");
    let account = v.get("/account");
    assert_eq!(account.status, 200);
    assert_eq!(
        balance_of(&account.body),
        "4.10 EUR",
        "5.00 less 45 calls at 0.02"
    );
    assert!(account.body.contains("Ready to call."));
    // Calls, 20 a page, newest first, every call once, then the CSV of all.
    let mut seen = Vec::new();
    let mut page = "/calls".to_string();
    for _ in 0..5 {
        let a = v.get(&page);
        assert_eq!(a.status, 200);
        let rows_here: Vec<String> = a
            .body
            .split("<tr><td>")
            .skip(1)
            .map(|r| r.split("</tr>").next().unwrap().to_string())
            .collect();
        assert!(rows_here.len() <= 20, "{}", rows_here.len());
        seen.extend(rows_here);
        match a.body.find("rel=\"next\"") {
            Some(_) => {
                let at = a.body.find("href=\"/calls?before=").unwrap() + "href=\"".len();
                page = a.body[at..]
                    .split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 45, "every call on some page");
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 45, "once each");
    let csv = v.get("/calls.csv");
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(csv.body.lines().count(), 46, "a header and 45 calls");
    // A number in national form with its country chosen by name, then removed.
    let form = v.get("/numbers").body;
    assert!(
        form.contains(r#"<option value="GB">United Kingdom</option>"#),
        "{form}"
    );
    let a = v.submit(
        "/numbers",
        "/numbers/add",
        &[("number", "020 7946 0958"), ("region", "GB")],
    );
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/numbers?notice=added")),
        "{}",
        a.body
    );
    assert_eq!(
        remote_state(&sb.base()).customers[&code].numbers,
        vec!["+442079460958"]
    );
    let a = v.submit(
        "/numbers",
        "/numbers/add",
        &[("number", "12"), ("region", "PL")],
    );
    assert!(
        a.body.contains("not a phone number we can read")
            && a.body.contains(r#"value="12""#)
            && a.body
                .contains(r#"<option value="PL" selected>Poland</option>"#),
        "the number and country chosen are kept: {}",
        a.body
    );
    let a = v.submit(
        "/numbers",
        "/numbers/delete",
        &[("number", "+442079460958")],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(remote_state(&sb.base()).customers[&code].numbers.is_empty());
    // A password the policy refuses never reaches the platform; a good one does.
    let a = v.submit(
        "/password",
        "/password",
        &[("new", "abc12345"), ("confirm", "abc12345")],
    );
    assert!(a.body.contains("cannot be used"), "{}", a.body);
    let a = v.submit(
        "/password",
        "/password",
        &[("new", "Kq7-wZ2m9"), ("confirm", "Kq7-wZ2x9")],
    );
    assert!(a.body.contains("differ"), "{}", a.body);
    let a = v.submit(
        "/password",
        "/password",
        &[("new", "Kq7-wZ2m9"), ("confirm", "Kq7-wZ2m9")],
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        remote_state(&sb.base()).customers[&code].password,
        "Kq7-wZ2m9"
    );
    // The ledger knows it too: the audit agrees.
    drop(portal);
    cm.expect(0, &["audit", "B0001"]);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    // Login and the new password work as well; sign out ends the session.
    let a = v.sign_in(&code, "Kq7-wZ2m9");
    assert_eq!(a.status, 303, "{}", a.body);
    let csrf = v.get("/account").csrf();
    let a = v.post("/signout", &[("csrf", &csrf)]);
    assert_eq!((a.status, a.header("location")), (303, Some("/signin")));
    assert_eq!(v.get("/account").status, 303);
    // No page, header or CSV names the platform.
    for text in [&account.body, &csv.body] {
        for name in ["voipinfocenter", "bestvoipreselling", "API/Request"] {
            assert!(
                !text.to_lowercase().contains(&name.to_lowercase()),
                "{name}"
            );
        }
    }
}

#[test]
fn every_failed_sign_in_reads_the_same_and_lockouts_keep_the_platform_out() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 3, 2);
    let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_SESSION_SECS", "2")]);
    let message = "Sign-in failed. Check the access code";
    let validations = || {
        remote_stats(&sb.base())
            .requests
            .get("validateuser")
            .copied()
            .unwrap_or(0)
    };
    let mut v = Visitor::new(&portal.base);
    // A wrong password, an unknown code, an unsold card's code, a serial: the same words.
    for (login, password) in [
        (rows[0]["customer"].as_str(), "Wrong-pass1"),
        ("999999999999", ""),
        (rows[2]["customer"].as_str(), ""),
        (rows[0]["serial"].as_str(), ""),
    ] {
        let a = v.sign_in(login, password);
        assert_eq!(a.status, 200);
        assert!(a.body.contains(message), "{login}: {}", a.body);
    }
    // One code attacked from many addresses (a trusting proxy is not set: the peer counts,
    // so use several visitors): after three failures the code is locked for everyone, and
    // the platform saw at most a handful of its validateuser requests.
    let target = rows[1]["customer"].clone();
    let before = validations();
    for i in 0..30 {
        let mut attacker = Visitor::new(&portal.base);
        let a = attacker.sign_in(&target, &format!("Guess-{i}x9"));
        assert!(
            a.body.contains(message) || a.body.contains("Too many attempts"),
            "{}",
            a.body
        );
    }
    assert!(
        validations() - before <= 4,
        "{} validateuser",
        validations() - before
    );
    // And the right code is refused while locked (the attacker cannot tell it was right).
    let mut owner = Visitor::new(&portal.base);
    let a = owner.sign_in(&target, "");
    assert!(a.body.contains("Too many attempts"), "{}", a.body);
    // A form without its token, or with another session's, is refused.
    let mut v = Visitor::new(&portal.base);
    let a = v.post(
        "/signin",
        &[("login", &rows[0]["customer"]), ("password", "")],
    );
    assert_eq!(a.status, 403);
    let other = Visitor::new(&portal.base).get("/signin").csrf();
    v.get("/signin");
    let a = v.post(
        "/signin",
        &[
            ("csrf", &other),
            ("login", &rows[0]["customer"]),
            ("password", ""),
        ],
    );
    assert_eq!(a.status, 403);
    // A session expires (here after 2 s idle).
    let a = v.sign_in(&rows[0]["customer"], "");
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(v.get("/account").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let a = v.get("/account");
    assert_eq!((a.status, a.header("location")), (303, Some("/signin")));
}

#[test]
fn many_wrong_sign_ins_from_one_address_are_locked_out() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let before = remote_stats(&sb.base())
        .requests
        .get("validateuser")
        .copied()
        .unwrap_or(0);
    let mut v = Visitor::new(&portal.base);
    let mut locked = 0;
    for i in 0..200 {
        // Another X-Forwarded-For each time: the portal trusts none (no proxy configured),
        // so the peer's address is what is counted.
        v.forwarded_for = Some(format!("10.0.{}.{}", i / 250, i % 250));
        let a = v.sign_in(&rows[0]["customer"], &format!("Pass-{i}q7"));
        if a.body.contains("Too many attempts") {
            locked += 1;
        }
    }
    let reached = remote_stats(&sb.base())
        .requests
        .get("validateuser")
        .copied()
        .unwrap_or(0)
        - before;
    assert!(reached < 20, "{reached} reached the platform");
    assert!(locked > 150, "{locked} locked out");
}

/// `n` visitors, each with its sign-in form open, posting `login` (and no password) at the
/// same moment: how many were checked ("Sign-in failed") and how many refused as locked out.
fn burst_of_sign_ins(portal: &PortalProcess, logins: Vec<String>) -> (usize, usize) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(logins.len()));
    let threads: Vec<_> = logins
        .into_iter()
        .map(|login| {
            let mut v = Visitor::new(&portal.base);
            let csrf = v.get("/signin").csrf();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                v.post(
                    "/signin",
                    &[("csrf", &csrf), ("login", &login), ("password", "")],
                )
                .body
            })
        })
        .collect();
    let bodies: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let checked = bodies
        .iter()
        .filter(|b| b.contains("Sign-in failed"))
        .count();
    let locked = bodies
        .iter()
        .filter(|b| b.contains("Too many attempts"))
        .count();
    assert_eq!(checked + locked, bodies.len(), "{bodies:?}");
    (checked, locked)
}

#[test]
fn sign_ins_sent_together_get_no_more_checks_than_sent_one_by_one() {
    // Before: a code alone was counted after its check, so a burst of attempts all passed
    // the lockout before any was counted (12-27 checks per network, 7-28 per code).
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    // One made-up code, twenty times at once: three free failures and the one that locks.
    let (checked, _) = burst_of_sign_ins(&portal, vec!["1111 2222 3333".to_string(); 20]);
    assert!(checked <= 4, "{checked} checks of one code");
    // Thirty codes at once from one address (its connections' cap is 32): ten free failures
    // and the one that locks, less the ones the first burst counted.
    let codes = (0..30).map(|i| format!("5550{i:08}")).collect();
    let (more, _) = burst_of_sign_ins(&portal, codes);
    assert!(
        checked + more <= 11,
        "{checked} + {more} checks from one address"
    );
}

#[test]
fn a_code_typed_is_never_written_back_and_reads_on_any_keyboard() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 3, 2);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    // A wrong code: refused, and the page does not carry it (nor does a lockout page).
    for _ in 0..5 {
        let a = v.sign_in("3458 2834 1442", "");
        assert!(!a.body.contains("3458"), "{}", a.body);
    }
    let page = v.get("/signin").body;
    let field = &page[page.find("id=\"code\"").unwrap()..];
    let field = &field[..field.find('>').unwrap()];
    assert!(
        field.contains("autocomplete=\"off\"") && !field.contains("value="),
        "{field}"
    );
    // A login that is not a code comes back, for the holder to correct the password.
    let a = Visitor::new(&portal.base).sign_in("maria.k", "Wrong-pass1");
    assert!(a.body.contains("value=\"maria.k\""), "{}", a.body);
    // Typed with full-width dashes, with the marks a phone's keyboard adds: signed in.
    let code = &rows[0]["customer"];
    let typed = format!(
        "\u{200E}{}\u{FF0D}{}\u{200B}\u{FF0D}{}\u{200F}",
        &code[..4],
        &code[4..8],
        &code[8..]
    );
    let mut holder = Visitor::new(&portal.base);
    let a = holder.sign_in(&typed, "");
    assert_eq!(a.status, 303, "{}", a.body);
    // And a card to redeem, typed the same way.
    let card = &rows[1]["customer"];
    let typed = format!(
        "{}\u{2015}{}\u{FE63}{}",
        &card[..4],
        &card[4..8],
        &card[8..]
    );
    let a = holder.submit("/redeem", "/redeem", &[("code", &typed)]);
    assert!(says(&a.body, "5.00 EUR were added"), "{}", a.body);
}

#[test]
fn every_redeem_refusal_is_answered_at_one_moment() {
    // Before: a code that does not exist was refused in 1.5 ms, an issued card that was
    // never sold in 2.8 ms: the time told which codes exist.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 3, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    for code in ["123456789012", rows[2]["customer"].as_str(), "12ab"] {
        let csrf = v.get("/redeem").csrf();
        let start = std::time::Instant::now();
        let a = v.post("/redeem", &[("csrf", &csrf), ("code", code)]);
        let took = start.elapsed();
        assert!(a.body.contains("cannot be redeemed"), "{code}: {}", a.body);
        // The tests' failure moment is 150 ms after the request.
        assert!(
            took >= std::time::Duration::from_millis(150),
            "{code}: answered in {took:?}"
        );
    }
}

#[test]
fn numbers_called_read_as_numbers_whatever_the_platform_stores() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let code = rows[0]["customer"].clone();
    let add = |destination: &str| {
        let (status, body) = http(
            "POST",
            &format!(
                "{}/__sandbox/calls?customer={code}&count=1&charge=0.01&destination={}",
                sb.base(),
                destination
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect::<String>()
            ),
        );
        assert_eq!(status, 200, "{body}");
    };
    add("+442079460958");
    add("+44\u{202E}0987654321");
    add(&"9".repeat(4000));
    add("=HYPERLINK(\"http://x.test\",\"+44\")");
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    let page = v.get("/calls").body;
    // Grouped as in its country; no hidden character reorders a number.
    assert!(page.contains(">+44 20 7946 0958<"), "{page}");
    assert!(!page.contains('\u{202E}'), "{page}");
    // Thousands of digits: shortened, with places to break.
    assert!(!page.contains(&"9".repeat(64)), "{page}");
    assert!(page.contains("<wbr>"), "{page}");
    // The download never runs a formula.
    let csv = v.get("/calls.csv").body;
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains('\u{202E}'), "{csv}");
}

#[test]
fn a_retail_card_is_redeemed_once_and_every_refusal_moves_nothing() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 4, 2);
    let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&account, "").status, 303);
    // A code the ledger never issued, the account's own code, a typo: the same refusal.
    for code in ["123456789012", account.as_str(), "12ab"] {
        let a = v.submit("/redeem", "/redeem", &[("code", code)]);
        assert!(a.body.contains("cannot be redeemed"), "{code}: {}", a.body);
    }
    let a = v.submit("/redeem", "/redeem", &[("code", &card)]);
    assert!(says(&a.body, "5.00 EUR were added"), "{}", a.body);
    let state = remote_state(&sb.base());
    assert!(
        state.customers[&card].blocked,
        "the redeemed card is used up"
    );
    let amounts = |c: &str| transactions(&sb.base(), c);
    assert_eq!(amounts(&card), vec![dec("5"), dec("-5")]);
    assert_eq!(amounts(&account), vec![dec("5"), dec("5")]);
    assert!(balance_of(&v.get("/account").body).starts_with("10.00"));
    assert!(
        v.get("/account").body.contains(&rows[1]["serial"]),
        "in purchases"
    );
    // Twice: refused, nothing moves.
    let a = v.submit("/redeem", "/redeem", &[("code", &card)]);
    assert!(a.body.contains("redeemed already"), "{}", a.body);
    // Onto another account: refused the same way as an unknown code.
    let mut other = Visitor::new(&portal.base);
    cm.expect(
        0,
        &[
            "activate",
            "B0001",
            "--serials",
            &rows[3]["serial"],
            "--override-consignment",
        ],
    );
    assert_eq!(other.sign_in(&rows[3]["customer"], "").status, 303);
    let a = other.submit("/redeem", "/redeem", &[("code", &card)]);
    assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
    assert_eq!(amounts(&card), vec![dec("5"), dec("-5")]);
    assert_eq!(amounts(&account), vec![dec("5"), dec("5")]);
    // The ledger says so in both histories; the CLI refuses a top-up of the redeemed card.
    drop(portal);
    let history = cm.json(&["card", &rows[1]["serial"]]);
    assert_eq!(history["reason"], "redeemed");
    cm.expect(9, &["topup", &rows[1]["serial"], "1.00"]);
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn a_redeem_under_lost_answers_and_late_changes_moves_the_credit_exactly_once() {
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "0.5",
        "--fault-kinds",
        "lost,late",
        "--fault-commands",
        "settransaction,changeuserinfo",
        "--late-ms",
        "400",
        "--seed",
        "5",
    ]);
    let cm = Cardmint::against(&sb.url)
        .env("CARDMINT_SETTLE_DELAY_MS", "900")
        .env("CARDMINT_TIMEOUT_MS", "700");
    let rows = {
        // Issue without faults getting in the way of the test's subject: retries do it.
        let mut tries = 0;
        loop {
            tries += 1;
            let out = cm.run(&[
                "issue", "--count", "3", "--value", "5", "-q", "--rate", "400",
            ]);
            if out.code == 0 || tries > 3 {
                break;
            }
            cm.run(&["resume", "B0001", "-q"]);
        }
        let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
        let sold = format!("{}-{}", rows[0]["serial"], rows[1]["serial"]);
        let out = cm.run(&[
            "activate",
            "B0001",
            "--serials",
            &sold,
            "--override-consignment",
        ]);
        if out.code != 0 {
            cm.expect(
                0,
                &[
                    "activate",
                    "B0001",
                    "--serials",
                    &sold,
                    "--override-consignment",
                ],
            );
        }
        rows
    };
    let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&account, "").status, 303);
    // Until the credit is there: each attempt goes on where the last one stopped.
    let mut done = false;
    for _ in 0..8 {
        let a = v.submit("/redeem", "/redeem", &[("code", &card)]);
        if a.body.contains("were added") || a.body.contains("redeemed already") {
            done = true;
            break;
        }
        assert!(a.body.contains("being confirmed"), "{}", a.body);
    }
    assert!(done);
    std::thread::sleep(std::time::Duration::from_millis(600));
    let state = remote_state(&sb.base());
    let amounts = |c: &str| -> Vec<rust_decimal::Decimal> {
        state.customers[c]
            .transactions
            .iter()
            .map(|t| t.amount)
            .collect()
    };
    assert_eq!(amounts(&card), vec![dec("5"), dec("-5")], "deducted once");
    assert_eq!(amounts(&account), vec![dec("5"), dec("5")], "loaded once");
    let faults: u64 = remote_stats(&sb.base()).faults.values().sum();
    assert!(faults >= 1, "faults came");
}

#[test]
fn the_portal_serves_https_with_its_own_certificate_and_plain_http_only_on_loopback() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 0);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (cert, key) = (
        fixtures.join("portal-test-cert.pem"),
        fixtures.join("portal-test-key.pem"),
    );
    // The key as a checkout leaves it (readable by all) is refused; owner-only it serves.
    let open = cm.path("open-key.pem");
    std::fs::copy(&key, &open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = cm.run(&[
        "portal",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        open.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("chmod 600"), "{out:?}");
    let private = cm.path("portal-key.pem");
    std::fs::copy(&key, &private).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let key = private;
    let out = cm.run(&["portal", "--addr", "0.0.0.0:0"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("loopback"), "{out:?}");
    let out = cm.run(&[
        "portal",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        "missing.pem",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    let portal = PortalProcess::with_args(
        &cm,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let base = portal.base.clone();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    // A test CA (tests/fixtures/portal-test-ca.pem) signed the portal's certificate.
    let pem = std::fs::read(fixtures.join("portal-test-ca.pem")).unwrap();
    let root = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[root]))
                .build(),
        )
        .build()
        .new_agent();
    let answer = agent.get(format!("{base}/signin")).call().unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(answer.headers().get("strict-transport-security").is_some());
    // An endpoint whose certificate no trusted CA signed: cardmint's client refuses it before
    // anything is recorded, in one line, as not sent.
    let elsewhere = Cardmint::against(&format!("{base}/API/Request.ashx"));
    let issue: Vec<&str> = ["issue", "--count", "2", "--value", "5"]
        .into_iter()
        .chain(OWN_VALUES.iter().copied())
        .collect();
    let out = elsewhere.expect(7, &issue);
    assert!(
        out.stderr
            .contains("not sent: tls handshake failed: invalid peer certificate")
            && out.stderr.contains("nothing was recorded"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        elsewhere
            .expect(0, &["batches"])
            .stdout
            .contains("no batches")
    );
}

#[test]
fn a_change_whose_answer_is_lost_is_confirmed_after_the_page_has_answered() {
    // Every changeuserinfo is late (its answer dropped, the change landing 1 s later); the
    // settle delay is 3 s, and a page waits 0.3 s for a change.
    let sb = every_one_late("changeuserinfo", "1000", &[]);
    let cm = Cardmint::against(&sb.url).env("CARDMINT_SETTLE_DELAY_MS", "3000");
    let rows = stock(&cm, 1, 1);
    let (code, serial) = (rows[0]["customer"].clone(), rows[0]["serial"].clone());
    let before = remote_stats(&sb.base()).requests["changeuserinfo"];
    let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_CHANGE_WAIT_MS", "300")]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    let a = v.submit(
        "/numbers",
        "/numbers/add",
        &[("number", "+44 20 7946 0958"), ("region", "")],
    );
    assert!(a.body.contains("being confirmed"), "{}", a.body);
    // The page answered before the change was settled; it goes on, and lands in the ledger.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = cm.expect(0, &["numbers", &serial]);
        if out.stdout.contains("+44 20 7946 0958") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{out:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        remote_stats(&sb.base()).requests["changeuserinfo"],
        before + 1,
        "sent once"
    );
    assert_eq!(
        remote_state(&sb.base()).customers[&code].numbers,
        vec!["+442079460958"]
    );
    // While a command of the reseller holds the ledger, a change is not even sent, and the
    // page says so.
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(cm.path("cardmint.db.lock"))
        .unwrap();
    held.try_lock().unwrap();
    // Even on a page that waits only 0.3 s for a change, a change that never got the lock
    // (nothing claimed, nothing sent) says "busy", never "being confirmed" (found by an
    // adversarial test: the lock was waited for 5 s whatever the page's wait).
    let a = v.submit(
        "/numbers",
        "/numbers/delete",
        &[("number", "+442079460958")],
    );
    assert!(a.body.contains("busy right now"), "{}", a.body);
    // (A portal that waits the usual 8 s.)
    let patient = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&patient.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    let a = v.submit(
        "/numbers",
        "/numbers/delete",
        &[("number", "+442079460958")],
    );
    assert!(a.body.contains("busy right now"), "{}", a.body);
    drop(held);
    assert_eq!(
        remote_stats(&sb.base()).requests["changeuserinfo"],
        before + 1,
        "nothing sent while the ledger was held"
    );
    let page = v.get("/numbers");
    assert!(
        page.body.contains("+44 20 7946 0958") || page.body.contains("+442079460958"),
        "{}",
        page.body
    );
}

/// A visitor signed in with `login` on `portal`.
fn signed_in(portal: &PortalProcess, login: &str) -> Visitor {
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(login, "").status, 303);
    v
}

#[test]
fn only_a_sold_card_is_redeemed_and_a_used_one_moves_in_whole_cents() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 4, 2);
    cm.expect(
        0,
        &[
            "consign",
            "B0001",
            "--serials",
            &rows[3]["serial"],
            "--shop",
            "Kiosk 12",
        ],
    );
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = signed_in(&portal, &rows[0]["customer"]);
    // Stock never sold (ready at the reseller, consigned at a shop): the same refusal, and
    // nothing moves (before: its credit was taken and the shop's later sale refused).
    for unsold in [&rows[2], &rows[3]] {
        let a = v.submit("/redeem", "/redeem", &[("code", &unsold["customer"])]);
        assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
        assert_eq!(
            transactions(&sb.base(), &unsold["customer"]),
            vec![dec("5")]
        );
        assert!(remote_state(&sb.base()).customers[&unsold["customer"]].blocked);
    }
    cm.expect(0, &["activate", "B0001", "--serials", &rows[3]["serial"]]);
    // A used card: 4.98333 left, 4.98 moves (before: refused as an invalid amount after the
    // card was blocked: "contact support", the credit stuck).
    spend(&sb, &rows[1]["customer"], 1, "0.01667");
    let a = v.submit("/redeem", "/redeem", &[("code", &rows[1]["customer"])]);
    assert!(says(&a.body, "4.98 EUR were added"), "{}", a.body);
    // What stays behind is said, as `replace` says it (it was recorded and not said).
    assert!(
        a.body
            .contains("(0.00333 EUR, less than a cent, cannot be moved and stays on the card.)"),
        "{}",
        a.body
    );
    assert_eq!(
        transactions(&sb.base(), &rows[1]["customer"]),
        vec![dec("5"), dec("-4.98")]
    );
    assert_eq!(
        transactions(&sb.base(), &rows[0]["customer"]),
        vec![dec("5"), dec("4.98")]
    );
    drop(portal);
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn two_portals_on_one_ledger_redeem_a_code_once_and_tell_one_holder_it_was_added() {
    // A restart overlapping the old process, or two behind a load balancer: one holder
    // submits a code on both at once (before: deducted or loaded twice, both told "added").
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "60"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 4, 4);
    let first = PortalProcess::start(&cm, &[]);
    let second = PortalProcess::start(&cm, &[]);
    let account = rows[0]["customer"].clone();
    for card in &rows[1..] {
        let code = card["customer"].clone();
        let mut a = signed_in(&first, &account);
        let mut b = signed_in(&second, &account);
        let (ca, cb) = (a.get("/redeem").csrf(), b.get("/redeem").csrf());
        let (code_a, code_b) = (code.clone(), code.clone());
        let ta =
            std::thread::spawn(move || a.post("/redeem", &[("csrf", &ca), ("code", &code_a)]).body);
        let tb =
            std::thread::spawn(move || b.post("/redeem", &[("csrf", &cb), ("code", &code_b)]).body);
        let pages = [ta.join().unwrap(), tb.join().unwrap()];
        let added = pages.iter().filter(|p| p.contains("were added")).count();
        assert_eq!(added, 1, "one holder is told it was added: {pages:?}");
        assert!(
            pages
                .iter()
                .any(|p| p.contains("redeemed already") || p.contains("busy")),
            "{pages:?}"
        );
        assert_eq!(transactions(&sb.base(), &code), vec![dec("5"), dec("-5")]);
    }
    assert_eq!(
        transactions(&sb.base(), &account),
        vec![dec("5"), dec("5"), dec("5"), dec("5")]
    );
    drop((first, second));
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn a_redeem_killed_at_any_step_is_finished_by_the_next_portal() {
    for point in [
        "block:after-answer",
        "deduct:before-send",
        "deduct:after-answer",
        "move:before-send",
        "move:after-answer",
    ] {
        let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
        let cm = Cardmint::against(&sb.url).env("CARDMINT_SETTLE_DELAY_MS", "300");
        let rows = stock(&cm, 2, 2);
        let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
        {
            let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_KILL_AT", point)]);
            let mut v = signed_in(&portal, &account);
            let csrf = v.get("/redeem").csrf();
            // The process dies under the request: no answer.
            let agent = ureq::Agent::new_with_defaults();
            let _ = agent
                .post(format!("{}/redeem", portal.base))
                .header("Cookie", v.cookie().unwrap())
                .send_form([("csrf", csrf.as_str()), ("code", card.as_str())]);
        }
        // The next portal finishes it at start; the holder's page says it is there.
        let portal = PortalProcess::start(&cm, &[]);
        let mut v = signed_in(&portal, &account);
        let page = v.get("/account").body;
        assert!(balance_of(&page).starts_with("10.00"), "{point}: {page}");
        assert_eq!(
            transactions(&sb.base(), &card),
            vec![dec("5"), dec("-5")],
            "{point}"
        );
        assert_eq!(
            transactions(&sb.base(), &account),
            vec![dec("5"), dec("5")],
            "{point}"
        );
        let a = v.submit("/redeem", "/redeem", &[("code", &card)]);
        assert!(a.body.contains("redeemed already"), "{point}: {}", a.body);
    }
}

#[test]
fn a_change_that_never_left_says_nothing_was_changed() {
    // Every password reset and number change meets an HTML error page (nothing applied).
    // Before: "That password cannot be used" for a change that never reached the platform.
    let sb = SandboxProcess::spawn(&[
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "error",
        "--fault-commands",
        "resetpassword",
    ]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = signed_in(&portal, &rows[0]["customer"]);
    let a = v.submit(
        "/password",
        "/password",
        &[("new", "Kq7-wZ2m9"), ("confirm", "Kq7-wZ2m9")],
    );
    assert!(a.body.contains("was not changed"), "{}", a.body);
    assert!(!a.body.contains("cannot be used"), "{}", a.body);
    assert_eq!(
        remote_state(&sb.base()).customers[&rows[0]["customer"]].password,
        rows[0]["password"]
    );
}

#[test]
fn settle_finishes_a_redeem_whose_portal_died_with_no_portal_running() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 2, 2);
    let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    {
        let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_KILL_AT", "deduct:after-answer")]);
        let mut v = signed_in(&portal, &account);
        let csrf = v.get("/redeem").csrf();
        let _ = ureq::Agent::new_with_defaults()
            .post(format!("{}/redeem", portal.base))
            .header("Cookie", v.cookie().unwrap())
            .send_form([("csrf", csrf.as_str()), ("code", card.as_str())]);
    }
    assert_eq!(transactions(&sb.base(), &account), vec![dec("5")]);
    let out = cm.expect(0, &["settle"]);
    assert!(out.stdout.contains("(redeem): done, 5.00 moved"), "{out:?}");
    assert_eq!(transactions(&sb.base(), &card), vec![dec("5"), dec("-5")]);
    assert_eq!(transactions(&sb.base(), &account), vec![dec("5"), dec("5")]);
    assert!(
        cm.expect(0, &["settle"])
            .stdout
            .contains("nothing to settle")
    );
    cm.expect(0, &["audit", "B0001"]);
}

#[test]
fn an_account_with_credit_on_its_way_is_not_replaced_until_it_arrives() {
    // A redeem onto B stopped before its load; then B is replaced. Before: the replacement
    // took B's 5.00 and the redeem's 5.00 landed later on B, blocked, stranded (found by an
    // adversarial test).
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 2, 2);
    let (account, card) = (rows[0]["customer"].clone(), rows[1]["customer"].clone());
    {
        let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_KILL_AT", "move:before-send")]);
        let mut v = signed_in(&portal, &account);
        let csrf = v.get("/redeem").csrf();
        let _ = ureq::Agent::new_with_defaults()
            .post(format!("{}/redeem", portal.base))
            .header("Cookie", v.cookie().unwrap())
            .send_form([("csrf", csrf.as_str()), ("code", card.as_str())]);
    }
    let out = cm.run(&["replace", &rows[0]["serial"]]);
    assert_eq!(out.code, 9, "{out:?}");
    assert!(
        out.stderr.contains("credit is still moving onto it"),
        "{out:?}"
    );
    cm.expect(0, &["settle"]);
    cm.expect(0, &["replace", &rows[0]["serial"]]);
    let new = cm.json(&["card", &rows[0]["serial"]])["replaced_by"]
        .as_str()
        .unwrap()
        .to_string();
    let new_customer = cm.json(&["card", &new])["customer"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        transactions(&sb.base(), &account),
        vec![dec("5"), dec("5"), dec("-10")]
    );
    assert_eq!(transactions(&sb.base(), &new_customer), vec![dec("10")]);
    cm.expect(0, &["audit", "B0001"]);
}

/// Writes `cardmint.toml` (owner-only) with `text` and points cardmint at it.
fn with_config(cm: Cardmint, text: &str) -> Cardmint {
    use std::os::unix::fs::PermissionsExt;
    let path = cm.path("cardmint.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = path.to_str().unwrap().to_string();
    cm.env("CARDMINT_CONFIG", &path)
}

#[test]
fn no_failed_sign_in_tells_whether_the_code_exists_or_the_platform_is_up() {
    // Before: a wrong password on an existing login took ~95 ms (the platform's check), on a
    // made-up one 4 ms; with the platform down, existing logins read "service busy".
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "60"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 3, 2);
    let answer = std::time::Duration::from_millis(700);
    let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_SIGNIN_ANSWER_MS", "700")]);
    let attempt = |login: &str, password: &str| {
        let mut v = Visitor::new(&portal.base);
        let csrf = v.get("/signin").csrf();
        let start = std::time::Instant::now();
        let a = v.post(
            "/signin",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        );
        (start.elapsed(), a)
    };
    let mut seen = Vec::new();
    for (login, password) in [
        (rows[0]["customer"].as_str(), "Wrong-pass1"),
        ("999999999999", "Wrong-pass1"),
        ("999999999999", ""),
        (rows[2]["customer"].as_str(), ""),
        ("someone_else", "Wrong-pass1"),
    ] {
        seen.push((login.to_string(), attempt(login, password)));
    }
    // The platform goes away: an existing login reads and waits as any other.
    drop(sb);
    seen.push((
        "existing, platform down".into(),
        attempt(rows[1]["customer"].as_str(), "Wrong-pass1"),
    ));
    // The page but for the values of its fields (the form's token, what was typed).
    let plain = |body: &str| {
        let mut out = String::new();
        let mut rest = body;
        while let Some(at) = rest.find("value=\"") {
            out.push_str(&rest[..at + 7]);
            rest = &rest[at + 7..];
            rest = &rest[rest.find('"').unwrap()..];
        }
        out + rest
    };
    let first = plain(&seen[0].1.1.body);
    let message = "Sign-in failed. Check the access code";
    for (login, (took, a)) in &seen {
        assert_eq!(a.status, 200, "{login}");
        assert!(a.body.contains(message), "{login}: {}", a.body);
        assert_eq!(plain(&a.body), first, "{login}: the same page");
        assert!(
            *took >= answer && *took < answer + std::time::Duration::from_millis(250),
            "{login}: answered in {took:?}"
        );
    }
}

#[test]
fn a_code_typed_as_printed_signs_in_and_the_page_never_shows_it() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let code = rows[0]["customer"].clone();
    let grouped = format!("{} {}-{}", &code[..4], &code[4..8], &code[8..]);
    let wide: String = code
        .chars()
        .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    for typed in [grouped.as_str(), wide.as_str()] {
        let mut v = Visitor::new(&portal.base);
        let a = v.sign_in(typed, "");
        assert_eq!(a.status, 303, "{typed}: {}", a.body);
        let page = v.get("/account");
        assert!(
            !page.body.contains(&code),
            "the code is on the page: {}",
            page.body
        );
        assert!(page.body.contains(&rows[0]["serial"]), "{}", page.body);
    }
    // The sign-in page asks the code with a numeric keyboard.
    let page = Visitor::new(&portal.base).get("/signin");
    assert!(
        page.body
            .contains(r#"id="code" name="login" type="text" inputmode="numeric""#)
    );
}

#[test]
fn a_welcome_card_with_a_drawn_login_needs_its_password() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    std::fs::write(cm.path("welcome.csv"), "label,value\nAna Popescu,10.00\n").unwrap();
    cm.expect(0, &["issue", "--from", "welcome.csv", "--active", "-q"]);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (login, password) = (rows[0]["customer"].clone(), rows[0]["password"].clone());
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    let a = v.sign_in(&login, "");
    assert_eq!(
        a.status,
        200,
        "the login alone opened it: {:?}",
        a.header("location")
    );
    let a = v.sign_in(&login, &password);
    assert_eq!(a.status, 303, "{}", a.body);
    let page = v.get("/account");
    assert!(
        page.body.contains(&format!("Account {login}")),
        "{}",
        page.body
    );
    // Nor can anyone redeem it by its login onto another account.
    let other = stock_more(&cm);
    let mut holder = Visitor::new(&portal.base);
    assert_eq!(holder.sign_in(&other, "").status, 303);
    let a = holder.submit("/redeem", "/redeem", &[("code", &login)]);
    assert!(a.body.contains("cannot be redeemed"), "{}", a.body);
    assert_eq!(transactions(&sb.base(), &login), vec![dec("10")]);
}

/// One more retail card, sold: its code.
fn stock_more(cm: &Cardmint) -> String {
    cm.expect(0, &["issue", "--count", "1", "--value", "5", "-q"]);
    let rows = csv_rows(&cm.path("out/B0002/manifest.csv"));
    cm.expect(
        0,
        &[
            "activate",
            "B0002",
            "--serials",
            &rows[0]["serial"],
            "--override-consignment",
        ],
    );
    rows[0]["customer"].clone()
}

#[test]
fn limits_count_a_v6_network_and_the_proxys_own_entry_only() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = with_config(
        Cardmint::against(&sb.url),
        "[portal]\ntrust_forwarded_for = true\n",
    );
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    // A new address of one /64 at every guess, each on another made-up code (so that no
    // per-code limit helps): the network is locked out after its ten free failures.
    let mut locked = 0;
    for i in 0..20 {
        let mut v = Visitor::new(&portal.base);
        v.forwarded_for = Some(format!("2001:db8:7:7:{i:x}::1"));
        let a = v.sign_in(&format!("9{:011}", i), "");
        if a.body.contains("Too many attempts") {
            locked += 1;
        }
    }
    assert!(locked >= 9, "{locked} of 20 locked out");
    // Another /64 is another network: not locked.
    let mut v = Visitor::new(&portal.base);
    v.forwarded_for = Some("2001:db8:7:8::1".into());
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    // A client choosing what the limits count is refused: the last entry is the proxy's,
    // and it must be an address.
    for forged in ["198.51.100.7, 203.0.113.5:4711", "198.51.100.7, unknown"] {
        let mut v = Visitor::new(&portal.base);
        v.forwarded_for = Some(forged.into());
        let csrf = v.get("/signin").csrf();
        let a = v.post(
            "/signin",
            &[("csrf", &csrf), ("login", "1"), ("password", "")],
        );
        assert_eq!(a.status, 400, "{forged}: {}", a.body);
    }
}

/// A raw HTTP/1.1 request from `from` (a loopback address) to the portal: the first line of
/// its answer, or `None` when the connection is closed without one within `wait`.
fn raw_first_line(
    base: &str,
    from: &str,
    request: &[u8],
    wait: std::time::Duration,
) -> Option<String> {
    raw_head(base, from, request, wait).and_then(|head| head.lines().next().map(str::to_string))
}

/// The head of the answer to a raw request (status line and headers), as `raw_first_line`.
fn raw_head(base: &str, from: &str, request: &[u8], wait: std::time::Duration) -> Option<String> {
    use std::io::{Read, Write};
    let to: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &format!("{from}:0")
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.connect(&to.into()).unwrap();
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).to_string();
    (!text.is_empty()).then(|| text.split("\r\n\r\n").next().unwrap_or("").to_string())
}

#[test]
fn slow_bodies_and_many_connections_from_one_network_leave_room_for_everyone() {
    // Before: no body timeout and no cap per address, so slow-body connections piled up
    // until every visitor's request timed out.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_BODY_TIMEOUT_MS", "1000")]);
    let slow = b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: \
        application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncsrf=";
    let second = std::time::Duration::from_secs(1);
    // One slow body is answered 408 once its time is up, not held; with the page's security
    // headers, like every answer.
    let start = std::time::Instant::now();
    let head = raw_head(&portal.base, "127.0.0.1", slow, 5 * second).unwrap();
    assert!(head.starts_with("HTTP/1.1 408 Request Timeout"), "{head}");
    assert!(start.elapsed() < 3 * second, "{:?}", start.elapsed());
    let big = b"POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: \
        application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\ncsrf=";
    let head_413 = raw_head(&portal.base, "127.0.0.1", big, 5 * second).unwrap();
    assert!(head_413.starts_with("HTTP/1.1 413 "), "{head_413}");
    for head in [&head, &head_413] {
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("x-frame-options: deny")
                && lower.contains("content-security-policy: default-src 'none'"),
            "{head}"
        );
    }
    // Forty slow bodies at once from one address: past 32, closed at once.
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let base = portal.base.clone();
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                let line = raw_first_line(&base, "127.0.0.1", slow, 5 * second);
                (line, start.elapsed())
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Meanwhile another address is served.
    let line = raw_first_line(
        &portal.base,
        "127.0.0.2",
        b"GET /signin HTTP/1.1\r\nHost: x\r\n\r\n",
        5 * second,
    );
    assert_eq!(line.as_deref(), Some("HTTP/1.1 200 OK"));
    let ends: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let closed_at_once = ends
        .iter()
        .filter(|(line, took)| line.is_none() && *took < std::time::Duration::from_millis(800))
        .count();
    let timed_out = ends
        .iter()
        .filter(|(line, _)| line.as_deref() == Some("HTTP/1.1 408 Request Timeout"))
        .count();
    assert!(closed_at_once >= 8, "{ends:?}");
    assert!(timed_out <= 32, "{ends:?}");
}

#[test]
fn the_sandbox_page_leaves_every_other_sandbox_command_usable() {
    // Before: `--sandbox portal` held the embedded sandbox's state, and every other
    // `--sandbox` command was refused until the page stopped.
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let portal = PortalProcess::with_args(&cm, &["--sandbox", "--rate", "200"], &[]);
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let rows = csv_rows(&cm.path("out/B0002/manifest.csv"));
    cm.expect(
        0,
        &[
            "--sandbox",
            "activate",
            "B0002",
            "--serials",
            &rows[0]["serial"],
            "--override-consignment",
        ],
    );
    // The page sees the card the command made: one platform.
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    assert!(v.get("/account").body.contains("5.00"));
    cm.expect(0, &["--sandbox", "audit", "B0002"]);
    drop(portal);
    // The page gone, a command runs its own sandbox again, on the same state.
    cm.expect(0, &["--sandbox", "audit", "B0002"]);
}

#[test]
fn visitors_make_no_session_and_a_signed_in_one_outlives_a_restart() {
    // Before: every cookie-less visit made a session (and past 10,000 each new one scanned
    // the table), and a restart signed every holder out.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    for _ in 0..200 {
        let a = Visitor::new(&portal.base).get("/signin");
        assert_eq!(a.status, 200);
        assert!(
            !a.header("set-cookie")
                .unwrap_or("")
                .contains("cardmint_session"),
            "a visitor gets no session"
        );
    }
    let kept = || {
        let db = rusqlite::Connection::open(cm.path("cardmint.db.portal")).unwrap();
        db.query_row("SELECT count(*) FROM sessions", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(kept(), 0);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    assert_eq!(kept(), 1);
    let cookie = v.cookie().unwrap().to_string();
    let id = cookie.split_once('=').unwrap().1.to_string();
    let db = std::fs::read(cm.path("cardmint.db.portal")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains(&id),
        "the id is kept hashed"
    );
    // A second portal on the ledger knows the session; so does a restarted one.
    let second = PortalProcess::start(&cm, &[]);
    let mut there = Visitor::new(&second.base);
    there.set_cookie(&cookie);
    assert_eq!(there.get("/account").status, 200);
    drop(portal);
    drop(second);
    let restarted = PortalProcess::start(&cm, &[]);
    let mut back = Visitor::new(&restarted.base);
    back.set_cookie(&cookie);
    assert_eq!(back.get("/account").status, 200, "still signed in");
    // Signing out ends it everywhere.
    let a = back.submit("/account", "/signout", &[]);
    assert_eq!(a.status, 303);
    let mut again = Visitor::new(&restarted.base);
    again.set_cookie(&cookie);
    assert_eq!(again.get("/account").status, 303);
    assert_eq!(kept(), 0);
}

#[test]
fn pages_read_an_account_once_in_a_while_and_afresh_after_a_change() {
    // Before: one platform read per page, so 200 holders browsing at the default rate of 10
    // requests a second waited seconds for each page.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    let reads = || {
        remote_stats(&sb.base())
            .requests
            .get("getuserinfo")
            .copied()
            .unwrap_or(0)
    };
    let before = reads();
    for _ in 0..5 {
        assert_eq!(v.get("/account").status, 200);
        assert_eq!(v.get("/numbers").status, 200);
    }
    assert_eq!(reads() - before, 1, "ten pages, one read");
    // A change made here is on the next page at once.
    let a = v.submit("/numbers", "/numbers/add", &[("number", "+442079460958")]);
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(v.get("/numbers").body.contains("+44 20 7946 0958"));
}

#[test]
fn the_page_serves_one_fingerprinted_stylesheet_compressed_and_plain_errors() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    let page = v.get("/signin");
    // One stylesheet, named by its content and cached for a year; a sized logo; a
    // description; a favicon; a robots.txt.
    assert_eq!(page.body.matches("rel=\"stylesheet\"").count(), 1);
    let href = |key: &str| {
        let at = page.body.find(key).unwrap() + key.len();
        page.body[at..at + page.body[at..].find('"').unwrap()].to_string()
    };
    let css = href("rel=\"stylesheet\" href=\"");
    assert!(
        css.starts_with("/static/app.") && css.ends_with(".css"),
        "{css}"
    );
    let a = v.get(&css);
    assert_eq!(a.status, 200);
    assert!(a.header("cache-control").unwrap().contains("immutable"));
    assert!(a.body.contains("--brand:"), "the brand's colours are in it");
    let logo = href("<img src=\"");
    assert_eq!(v.get(&logo).status, 200);
    assert!(page.body.contains("width=\"") && page.body.contains("height=\"40\""));
    assert!(page.body.contains("<meta name=\"description\""));
    assert_eq!(v.get("/favicon.ico").status, 200);
    let robots = v.get("/robots.txt");
    assert!(
        robots.body.contains("User-agent: *\nAllow: /\n"),
        "{}",
        robots.body
    );
    assert_eq!(
        v.get("/static/app.css").status,
        404,
        "only the fingerprinted name"
    );
    // Compressed for a client that takes it.
    let raw = ureq::get(format!("{}/signin", portal.base))
        .header("Accept-Encoding", "deflate")
        .call()
        .unwrap();
    assert_eq!(
        raw.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("deflate")
    );
    // A query string of the wrong shape: a page in plain words.
    let mut signed = Visitor::new(&portal.base);
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    assert_eq!(signed.sign_in(&rows[0]["customer"], "").status, 303);
    let a = signed.get("/calls?id=notanumber&before=x");
    assert_eq!(a.status, 400);
    assert!(!a.body.contains("deserialize"), "{}", a.body);
    assert!(a.body.contains("<html"), "{}", a.body);
}

#[test]
fn the_password_hint_is_the_policy_that_checks_it() {
    // Before: the hint said "letters and digits, with at least one of each", which the policy
    // never asked, and left out the runs it refuses.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    let page = v.get("/password");
    let languages = cardmint::portal::i18n::Languages::load(None).unwrap();
    let english = languages.get("en").unwrap();
    let hint = cardmint::portal::pages::policy_hint(english);
    assert!(
        hint.starts_with("8 to 39 characters") && page.body.contains(&hint),
        "{}",
        page.body
    );
    assert!(page.body.contains("sign in with the code of your card"));
    let a = v.submit(
        "/password",
        "/password",
        &[("new", "Kq7-abc-9x"), ("confirm", "Kq7-abc-9x")],
    );
    assert!(
        a.body.contains("characters 5 to 7 are three in sequence"),
        "{}",
        a.body
    );
}

#[test]
fn a_renewed_certificate_is_taken_without_a_restart_and_plain_http_is_sent_to_https() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 0);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (cert, key) = (cm.path("cert.pem"), cm.path("key.pem"));
    std::fs::copy(fixtures.join("portal-test-cert.pem"), &cert).unwrap();
    std::fs::copy(fixtures.join("portal-test-key.pem"), &key).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_addr = plain.local_addr().unwrap();
    drop(plain);
    let portal = PortalProcess::with_args(
        &cm,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--redirect-http",
            &plain_addr.to_string(),
        ],
        &[],
    );
    let pem = std::fs::read(fixtures.join("portal-test-ca.pem")).unwrap();
    let root = ureq::tls::Certificate::from_pem(&pem).unwrap();
    let fresh_agent = || {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(std::slice::from_ref(
                        &root,
                    )))
                    .build(),
            )
            .build()
            .new_agent()
    };
    let served = || {
        fresh_agent()
            .get(format!("{}/signin", portal.base))
            .call()
            .map(|a| a.status().as_u16())
    };
    assert_eq!(served().unwrap(), 200);
    // A broken renewal is not taken: the certificate in use stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    portal.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(served().unwrap(), 200, "still served with the old one");
    // A good one is taken on SIGHUP, with no restart.
    std::fs::copy(fixtures.join("portal-test-cert.pem"), &cert).unwrap();
    portal.signal("HUP");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(served().unwrap(), 200);
    // Plain HTTP goes to the same host and path over HTTPS.
    let port = portal.base.rsplit(':').next().unwrap().to_string();
    let answer = fresh_agent()
        .get(format!("http://{plain_addr}/calls?x=1"))
        .header("Host", "account.example.com")
        .call()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 308);
    assert_eq!(
        answer.headers().get("location").unwrap().to_str().unwrap(),
        format!("https://account.example.com:{port}/calls?x=1")
    );
}

#[test]
fn a_page_never_hangs_on_a_slow_platform() {
    // Before: a page waited for the platform however long it took (a queue at the default
    // rate, a slow backend): 200 holders browsing saw p99 46 s.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0", "--latency-ms", "1500"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    let start = std::time::Instant::now();
    let a = v.get("/account");
    assert!(
        start.elapsed() < std::time::Duration::from_millis(1200),
        "{:?}",
        start.elapsed()
    );
    assert!(a.body.contains("being fetched"), "{}", a.body);
    assert!(a.body.contains(r#"http-equiv="refresh""#), "{}", a.body);
    // The read went on: once it is in, the page shows the balance at once.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let start = std::time::Instant::now();
    let a = v.get("/account");
    assert!(start.elapsed() < std::time::Duration::from_millis(500));
    assert_eq!(balance_of(&a.body), "5.00 EUR", "{}", a.body);
}

#[test]
fn a_stale_read_is_shown_with_its_age_while_a_new_one_is_fetched() {
    // A busy platform at the default rate cannot read 200 holders' accounts every 10 s: past
    // fresh, the last read is shown at once, saying how old it is, and read again behind it.
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[("CARDMINT_TEST_FRESH_MS", "1500")]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&rows[0]["customer"], "").status, 303);
    let a = v.get("/account");
    assert_eq!(balance_of(&a.body), "5.00 EUR", "{}", a.body);
    assert!(!a.body.contains("As of"), "{}", a.body);
    let calls = v.get("/calls");
    assert!(!calls.body.contains("As of"), "{}", calls.body);
    // The balance changes behind the page's back (a top-up from the command line).
    cm.expect(0, &["topup", &rows[0]["serial"], "2.50", "-q"]);
    let a = v.get("/account");
    assert_eq!(
        balance_of(&a.body),
        "5.00 EUR",
        "fresh reads are shown again"
    );
    std::thread::sleep(std::time::Duration::from_millis(1600));
    let a = v.get("/account");
    assert_eq!(balance_of(&a.body), "5.00 EUR", "{}", a.body);
    assert!(a.body.contains("As of 1 s ago"), "{}", a.body);
    let calls = v.get("/calls");
    assert!(calls.body.contains("As of "), "{}", calls.body);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let a = v.get("/account");
    assert_eq!(balance_of(&a.body), "7.50 EUR", "{}", a.body);
    assert!(!a.body.contains("As of"), "{}", a.body);
}

#[test]
fn times_are_shown_in_the_resellers_time_zone_and_named() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = with_config(
        Cardmint::against(&sb.url),
        "[portal]\ntime_zone = \"Asia/Kolkata\"\n",
    );
    let rows = stock(&cm, 1, 1);
    let code = rows[0]["customer"].clone();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={code}&count=1&charge=0.02",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    let csv = v.get("/calls.csv").body;
    let utc = csv.lines().nth(1).unwrap().split(',').next().unwrap();
    let utc = chrono::DateTime::parse_from_rfc3339(utc).unwrap();
    // In the holder's language: "3 Dec 2026, 14:05" (before: 2026-12-03 14:05 whatever the
    // language).
    let local = (utc + chrono::Duration::minutes(330)).naive_utc();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    use chrono::Datelike;
    let said = format!(
        "{} {} {}, {}",
        local.day(),
        months[local.month0() as usize],
        local.year(),
        local.format("%H:%M")
    );
    let page = v.get("/calls").body;
    assert!(page.contains("times in Asia/Kolkata time (IST)"), "{page}");
    assert!(page.contains(&format!("<td>{said}</td>")), "{said}: {page}");
    // A name the time-zone database does not know is refused before the page starts.
    let bad = with_config(
        Cardmint::against(&sb.url),
        "[portal]\ntime_zone = \"Europe/Londn\"\n",
    );
    let out = bad.expect(1, &["portal", "--addr", "127.0.0.1:0"]);
    assert!(
        out.stderr.contains("[portal] time_zone")
            && out.stderr.contains("Europe/Londn")
            && out.stderr.contains("Europe/London"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_page_speaks_the_holders_language_and_remembers_the_choice() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    stock(&cm, 1, 1);
    let portal = PortalProcess::start(&cm, &[]);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = agent.get(format!("{}{path}", portal.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut answer = req.call().unwrap();
        let cookie = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("lang="))
            .map(|c| c.split(';').next().unwrap().to_string());
        (answer.body_mut().read_to_string().unwrap(), cookie)
    };
    // The browser's language, by quality.
    let (page, _) = get("/signin", &[("Accept-Language", "es-MX,es;q=0.9,en;q=0.5")]);
    assert!(
        page.contains("<html lang=\"es\" dir=\"ltr\">") && page.contains("Código de acceso"),
        "{page}"
    );
    let (page, _) = get("/signin", &[("Accept-Language", "ar")]);
    assert!(
        page.contains("<html lang=\"ar\" dir=\"rtl\">") && page.contains("رمز الدخول"),
        "{page}"
    );
    let (page, _) = get("/signin", &[("Accept-Language", "de-DE, *;q=0.1")]);
    assert!(page.contains("<html lang=\"en\" dir=\"ltr\">"), "{page}");
    // Every language in its own name, linked to the switch.
    for (tag, name) in [
        ("en", "English"),
        ("es", "Español"),
        ("fr", "Français"),
        ("pl", "Polski"),
        ("ar", "العربية"),
    ] {
        assert!(
            page.contains(&format!(
                "href=\"/lang?to={tag}\" lang=\"{tag}\" hreflang=\"{tag}\""
            )),
            "{tag}"
        );
        assert!(page.contains(name), "{name}");
    }
    assert!(
        !page.contains("en-XA"),
        "the pseudo-language is not offered"
    );
    // The choice is remembered, over the browser's.
    let (_, cookie) = get("/lang?to=pl", &[]);
    let cookie = cookie.expect("the choice is kept in a cookie");
    assert_eq!(cookie, "lang=pl");
    let (page, _) = get("/signin", &[("Accept-Language", "es"), ("Cookie", &cookie)]);
    assert!(
        page.contains("<html lang=\"pl\"") && page.contains("Kod dostępu"),
        "{page}"
    );
    // An unknown language changes nothing.
    assert_eq!(get("/lang?to=xx-YY", &[]).1, None);
}

#[test]
fn every_request_is_logged_with_its_account_serial_and_never_a_secret() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let (code, serial) = (rows[0]["customer"].clone(), rows[0]["serial"].clone());
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    assert_eq!(v.get("/account?notice=added").status, 200);
    // A holder who types the code into the address bar: not found, and not written.
    assert_eq!(v.get(&format!("/{code}")).status, 404);
    // Nor with a body too large for the page: answered before anything reads it.
    for path in [
        format!("/{code}"),
        "/signin".into(),
        format!("/static/{code}"),
    ] {
        let big = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\ncsrf="
        );
        let second = std::time::Duration::from_secs(1);
        raw_head(&portal.base, "127.0.0.1", big.as_bytes(), 5 * second).unwrap();
    }
    let odd = format!("F{code} /static/{code} HTTP/1.1\r\nHost: x\r\n\r\n");
    raw_head(
        &portal.base,
        "127.0.0.1",
        odd.as_bytes(),
        std::time::Duration::from_secs(5),
    );
    let mut stranger = Visitor::new(&portal.base);
    assert_eq!(
        stranger.sign_in("999999999999", "wrong-password").status,
        200
    );
    let log = portal.log();
    let line = |start: &str| {
        log.iter()
            .find(|l| l.contains(&format!(" {start} ")))
            .unwrap_or_else(|| panic!("{start}: {log:#?}"))
            .clone()
    };
    let account = line("GET /account");
    assert!(
        account.contains(" 200 ")
            && account.ends_with(&format!("client=127.0.0.1 account={serial}")),
        "{account}"
    );
    assert!(!account.contains("notice"), "no query: {account}");
    assert!(
        line("POST /signin").contains(&format!("account={serial}")),
        "{log:#?}"
    );
    assert!(line("GET (unknown path)").contains(" 404 "), "{log:#?}");
    assert!(line("POST (unknown path)").contains(" 404 "), "{log:#?}");
    assert!(
        log.iter().any(|l| l.contains(" POST /signin 413 ")),
        "{log:#?}"
    );
    // A route with a part of its own is written as its pattern; an odd method as OTHER.
    assert!(
        log.iter().any(|l| l.contains(" POST /static/{file} ")),
        "{log:#?}"
    );
    for l in &log {
        assert!(!l.contains(&code), "a code in the log: {l}");
        assert!(
            !l.contains("wrong-password") && !l.contains("999999999999"),
            "{l}"
        );
    }
    // The last POST /signin is the stranger's: signed in to nothing.
    let failed = log
        .iter()
        .rev()
        .find(|l| l.contains(" POST /signin "))
        .unwrap();
    assert!(failed.ends_with("account=-"), "{failed}");
    drop(portal);
    // As JSON lines.
    let portal = PortalProcess::with_args(&cm, &["--rate", "200", "--log-format", "json"], &[]);
    let mut v = Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    assert_eq!(v.get("/calls").status, 200);
    let entries: Vec<serde_json::Value> = portal
        .log()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let calls = entries.iter().find(|e| e["path"] == "/calls").unwrap();
    assert_eq!(
        (
            &calls["method"],
            &calls["status"],
            &calls["account"],
            &calls["client"]
        ),
        (
            &"GET".into(),
            &200.into(),
            &serial.as_str().into(),
            &"127.0.0.1".into()
        ),
        "{calls}"
    );
    assert!(calls["ms"].is_u64() && calls["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn health_says_when_the_platform_fails_and_metrics_count_on_loopback_only() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 1, 1);
    let code = rows[0]["customer"].clone();
    // Metrics are for this machine only.
    let out = cm.expect(
        2,
        &[
            "portal",
            "--addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "0.0.0.0:9464",
        ],
    );
    assert!(out.stderr.contains("give a loopback"), "{out:?}");
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let portal = PortalProcess::with_args(&cm, &["--rate", "200", "--metrics-addr", &metrics], &[]);
    let mut v = Visitor::new(&portal.base);
    let health = v.get("/health");
    assert_eq!(health.status, 200, "{health:?}");
    let doc: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(
        (
            &doc["status"],
            &doc["platform"]["state"],
            &doc["ledger"]["state"]
        ),
        (&"ok".into(), &"answering".into(), &"ok".into()),
        "{doc}"
    );
    assert_eq!(v.sign_in(&code, "").status, 303);
    let mut stranger = Visitor::new(&portal.base);
    stranger.sign_in("999999999999", "nope");
    let (status, text) = http("GET", &format!("http://{metrics}/metrics"));
    assert_eq!(status, 200, "{text}");
    for want in [
        "cardmint_portal_signins_total 1",
        "cardmint_portal_signin_failures_total 1",
        "cardmint_portal_lockouts_total 0",
        "# TYPE cardmint_platform_errors_total counter",
    ] {
        assert!(text.lines().any(|l| l == want), "{want}: {text}");
    }
    // The platform goes away: the page's next read fails, and health says so (503).
    sb.terminate();
    let _ = v.get("/account");
    let health = v.get("/health");
    assert_eq!(health.status, 503, "{health:?}");
    let doc: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(doc["platform"]["state"], "failing", "{doc}");
    let (_, text) = http("GET", &format!("http://{metrics}/metrics"));
    let errors: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("cardmint_platform_errors_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(errors >= 1, "{text}");
    // A ledger that does not open is said, without its path or SQLite's words (the page is
    // public): those go to the page's log.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        cm.path("cardmint.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let health = v.get("/health");
    assert_eq!(health.status, 503, "{health:?}");
    let doc: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(
        doc["ledger"],
        serde_json::json!({"state": "failing"}),
        "{doc}"
    );
    assert!(!health.body.contains("cardmint.db"), "{}", health.body);
    // A ledger gone (moved away under the page) is failing too, and never made anew.
    std::fs::set_permissions(
        cm.path("cardmint.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::rename(cm.path("cardmint.db"), cm.path("moved.db")).unwrap();
    let health = v.get("/health");
    assert_eq!(health.status, 503, "{health:?}");
    let _ = v.get("/account");
    assert!(!cm.path("cardmint.db").exists(), "the page made a ledger");
    // Nor is an empty file made one.
    std::fs::write(cm.path("cardmint.db"), b"").unwrap();
    std::fs::set_permissions(
        cm.path("cardmint.db"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(v.get("/health").status, 503);
    let _ = v.get("/account");
    assert_eq!(std::fs::metadata(cm.path("cardmint.db")).unwrap().len(), 0);
}
