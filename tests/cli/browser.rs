//! The portal in a real browser: headless Chromium driven through ChromeDriver's WebDriver
//! API (plain HTTP, JSON). Part of the tools tier: skipped where Chromium is not installed,
//! required under `CARDMINT_REQUIRE_TOOLS=1` (`.ci/run` installs it). Screenshots of every
//! step are saved under `target/tmp/browser/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::portal::{PortalProcess, stock};
use crate::support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tier can run here (and must, under CARDMINT_REQUIRE_TOOLS=1).
fn browser(test: &str) -> bool {
    let present = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(DRIVER).exists();
    if !present {
        assert!(
            std::env::var("CARDMINT_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{test}: the browser tier must run, but Chromium is missing (apt-get install \
             chromium chromium-driver)"
        );
        eprintln!("{test}: browser checks skipped (chromium, chromium-driver not installed)");
    }
    present
}

struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=412,915",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut d = Driver {
            child,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let answer = d.call("POST", "/session", Some(caps));
        d.session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if response.status().as_u16() >= 400 {
            panic!("{method} {path}: {text}");
        }
        v.get("value").cloned().unwrap_or(v)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }

    fn exists(&self, css: &str) -> bool {
        let v = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array().is_some_and(|a| !a.is_empty())
    }

    /// Waits (bounded) until an element matches: a click that submits a form returns before
    /// the next page has loaded.
    fn wait(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.exists(css) {
            assert!(
                Instant::now() < deadline,
                "{css} never appeared at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) until the address ends with `suffix` (or contains it).
    fn wait_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.url().contains(part) {
            assert!(Instant::now() < deadline, "never at {part}: {}", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self, css: &str) -> String {
        self.wait(css);
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), None);
    }

    /// Runs a script in the page and gives its value.
    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    /// The page as it looks now, saved as `target/tmp/browser/NAME.png`; it must fit the
    /// phone's width (nothing to scroll sideways).
    fn screenshot(&self, name: &str) {
        let widths =
            self.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert!(
            widths[0].as_i64() <= widths[1].as_i64(),
            "{name}: the page is wider than the phone ({widths}) at {}",
            self.url()
        );
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64(b64.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (what WebDriver screenshots are).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | d << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64("aGVsbG8="), b"hello");
    assert_eq!(base64("aGk="), b"hi");
    assert_eq!(base64("YWJj"), b"abc");
}

#[test]
fn a_card_holder_does_everything_in_a_real_browser() {
    if !browser("a_card_holder_does_everything_in_a_real_browser") {
        return;
    }
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 3, 2);
    let code = rows[0]["customer"].clone();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={code}&count=30&charge=0.01",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let portal = PortalProcess::start(&cm, &[]);
    let d = Driver::start();
    d.go(&format!("{}/", portal.base));
    assert!(d.url().ends_with("/signin"), "{}", d.url());
    d.screenshot("1-signin");
    // Typed as printed on the card, in groups of four.
    let printed = format!("{} {} {}", &code[..4], &code[4..8], &code[8..]);
    d.type_into("#code", &printed);
    d.click("button[type=submit]");
    d.wait_url("/account");
    assert_eq!(d.text("#balance"), "4.70 EUR");
    d.screenshot("2-account");
    // The calls, and the next page.
    d.click("nav a[href='/calls']");
    d.wait_url("/calls");
    d.wait("a[rel=next]");
    d.screenshot("3-calls");
    // On a phone's width no date, time or group of a number is broken across lines.
    let broken = d.script(
        "const bad = [];
         for (const td of document.querySelectorAll('tbody td')) {
           for (const node of td.childNodes) {
             if (node.nodeType !== 3) continue;
             let at = 0;
             for (const word of node.textContent.split(' ')) {
               if (word) {
                 const r = document.createRange();
                 r.setStart(node, at);
                 r.setEnd(node, at + word.length);
                 if (r.getClientRects().length > 1) bad.push(word);
               }
               at += word.length + 1;
             }
           }
         }
         return bad;",
    );
    assert_eq!(broken, json!([]), "broken across lines");
    assert!(d.text("tbody td.number").starts_with("+32 "), "grouped");
    d.click("a[rel=next]");
    d.wait_url("/calls?before=");
    assert!(!d.exists("a[rel=next]"), "the last page");
    // A number.
    d.click("nav a[href='/numbers']");
    d.wait("#number");
    // Written as dialled in its country, the country chosen by name.
    d.type_into("#number", "020 7946 0958");
    d.click("#region option[value=GB]");
    d.click("form[action='/numbers/add'] button");
    d.wait_url("notice=added");
    assert!(d.text("[role=status]").contains("added"), "{}", d.url());
    assert!(d.text("ul.numbers").contains("+44 20 7946 0958"));
    d.screenshot("4-numbers");
    assert_eq!(
        remote_state(&sb.base()).customers[&code].numbers,
        vec!["+442079460958"]
    );
    // The password.
    d.click("nav a[href='/password']");
    d.wait("#confirm");
    d.type_into("#new", "Kq7-wZ2m9");
    d.type_into("#confirm", "Kq7-wZ2m9");
    d.click("form[action='/password'] button");
    d.wait_url("notice=password");
    assert!(d.text("[role=status]").contains("changed"));
    assert_eq!(
        remote_state(&sb.base()).customers[&code].password,
        "Kq7-wZ2m9"
    );
    // Redeem a new card.
    d.click("nav a[href='/redeem']");
    d.wait("#code");
    d.type_into("#code", &rows[1]["customer"]);
    d.click("form[action='/redeem'] button");
    assert!(says(&d.text("[role=status]"), "5.00 EUR were added"));
    d.screenshot("5-redeemed");
    d.click("nav a[href='/account']");
    d.wait_url("/account");
    d.wait("#balance");
    assert_eq!(d.text("#balance"), "9.70 EUR");
    d.screenshot("6-account-after");
    // Sign out: the account is closed to this browser.
    d.click("nav form[action='/signout'] button");
    d.wait_url("/signin");
    d.go(&format!("{}/account", portal.base));
    assert!(d.url().ends_with("/signin"));
}

#[test]
fn every_page_fits_a_phone_in_a_language_40_percent_longer_and_in_arabic() {
    if !browser("every_page_fits_a_phone_in_a_language_40_percent_longer_and_in_arabic") {
        return;
    }
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 2, 2);
    let code = rows[0]["customer"].clone();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={code}&count=25&charge=0.01",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let portal = PortalProcess::start(&cm, &[]);
    let d = Driver::start();
    // Nothing is cut off: no element that hides its overflow holds more than it shows.
    let clipped = "const bad = [];
        for (const el of document.body.querySelectorAll('*')) {
          const style = getComputedStyle(el);
          const hides = ['hidden', 'clip'].includes(style.overflowX)
            || ['hidden', 'clip'].includes(style.overflowY);
          if (hides && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
            bad.push(el.tagName + '.' + el.className);
        }
        return bad;";
    for (lang, dir) in [("en-XA", "ltr"), ("ar", "rtl")] {
        d.go(&format!("{}/lang?to={lang}", portal.base));
        d.wait_url("/signin");
        assert_eq!(
            d.script("return [document.documentElement.lang, document.documentElement.dir];"),
            json!([lang, dir])
        );
        d.screenshot(&format!("{lang}-1-signin"));
        d.type_into("#code", &code);
        d.click("button[type=submit]");
        d.wait_url("/account");
        d.wait("#balance");
        for (n, page) in ["account", "calls", "numbers", "password", "redeem"]
            .iter()
            .enumerate()
        {
            d.go(&format!("{}/{page}", portal.base));
            d.wait("main h1");
            assert_eq!(d.script(clipped), json!([]), "{lang} {page}: clipped");
            d.screenshot(&format!("{lang}-{}-{page}", n + 2));
        }
        d.click("nav form[action='/signout'] button");
        d.wait_url("/signin");
    }
}

/// Lighthouse's command (`CARDMINT_LIGHTHOUSE`, or `lighthouse` on the PATH), if the tier can
/// run here (and must, under CARDMINT_REQUIRE_TOOLS=1: `.ci/run` installs it from npm).
fn lighthouse() -> Option<String> {
    let command = std::env::var("CARDMINT_LIGHTHOUSE").unwrap_or_else(|_| "lighthouse".into());
    let present = Command::new(&command)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && std::path::Path::new(CHROMIUM).exists();
    if !present {
        assert!(
            std::env::var("CARDMINT_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "the Lighthouse tier must run, but {command} or Chromium is missing (npm install \
             lighthouse@12; set CARDMINT_LIGHTHOUSE to its bin/lighthouse)"
        );
        eprintln!("Lighthouse checks skipped ({command} or chromium not found)");
    }
    present.then_some(command)
}

#[test]
fn every_page_scores_100_in_lighthouse_for_accessibility_best_practices_and_seo() {
    let Some(command) = lighthouse() else {
        return;
    };
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let rows = stock(&cm, 2, 1);
    let code = rows[0]["customer"].clone();
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={code}&count=25&charge=0.01",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
    let portal = PortalProcess::start(&cm, &[]);
    let mut v = crate::portal::Visitor::new(&portal.base);
    assert_eq!(v.sign_in(&code, "").status, 303);
    let cookie = v.cookie().unwrap().to_string();
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lighthouse");
    std::fs::create_dir_all(&out).unwrap();
    let mut scores = Vec::new();
    for (page, signed_in) in [
        ("/signin", false),
        ("/account", true),
        ("/calls", true),
        ("/numbers", true),
        ("/password", true),
        ("/redeem", true),
    ] {
        let report = out.join(format!("{}.json", page.trim_start_matches('/')));
        let headers = if signed_in {
            json!({ "Cookie": cookie }).to_string()
        } else {
            "{}".to_string()
        };
        let run = Command::new(&command)
            .arg(format!("{}{page}", portal.base))
            .args([
                "--quiet",
                "--only-categories=accessibility,best-practices,seo",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
                "--output=json",
            ])
            .arg(format!("--output-path={}", report.display()))
            .arg(format!("--extra-headers={headers}"))
            .env("CHROME_PATH", CHROMIUM)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "lighthouse {page}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(
            report["finalDisplayedUrl"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches('/'),
            format!("{}{page}", portal.base),
            "{page}: Lighthouse was sent elsewhere (signed out?)"
        );
        for category in ["accessibility", "best-practices", "seo"] {
            let score = report["categories"][category]["score"].as_f64();
            if score != Some(1.0) {
                let failing: Vec<String> = report["audits"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(_, a)| a["score"].as_f64().is_some_and(|s| s < 1.0))
                    .map(|(id, a)| format!("{id}: {}", a["title"]))
                    .collect();
                scores.push(format!("{page} {category} {score:?}: {failing:?}"));
            }
        }
    }
    assert!(scores.is_empty(), "below 100: {scores:#?}");
}
