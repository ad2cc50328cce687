//! Shared test scaffolding: in-process sandboxes on 127.0.0.1:0, clients pointed at them, and
//! the real binary run in a fresh temporary directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cardmint::api::Client;
use cardmint::config::{ApiSettings, Credentials, Secret};
use cardmint::sandbox::{Fault, Sandbox, SandboxOptions};

pub const RESELLER: &str = "provtest*main";
pub const RESELLER_PASSWORD: &str = "Rs-Pw+7&x=SecretValue";

pub fn credentials() -> Credentials {
    Credentials {
        username: RESELLER.to_string(),
        password: Secret::new(RESELLER_PASSWORD),
    }
}

pub fn options() -> SandboxOptions {
    SandboxOptions::new(credentials())
}

pub fn faulty(kind: Fault, state: &Path) -> SandboxOptions {
    SandboxOptions {
        fault_rate: 1.0,
        fault_kinds: vec![kind],
        slow: Duration::from_millis(1500),
        state_path: Some(state.to_path_buf()),
        ..options()
    }
}

pub fn sandbox() -> Sandbox {
    Sandbox::start(options()).expect("sandbox starts")
}

pub fn settings(url: &str, credentials: Credentials, timeout: Duration) -> ApiSettings {
    ApiSettings {
        url: url.to_string(),
        credentials,
        connect_timeout: timeout,
        timeout,
    }
}

pub fn client_with(url: &str, credentials: Credentials, timeout: Duration) -> Client {
    Client::new(&settings(url, credentials, timeout), 8).expect("valid settings")
}

pub fn client(sandbox: &Sandbox) -> Client {
    client_with(&sandbox.url(), credentials(), Duration::from_secs(10))
}

/// A decimal from its text (test data is always valid).
pub fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

pub fn secret(s: &str) -> Secret {
    Secret::new(s)
}

/// `cardmint sandbox ...` as a child process, killed on drop.
pub struct SandboxProcess {
    child: Child,
    pub url: String,
}

impl SandboxProcess {
    pub fn spawn(args: &[&str]) -> SandboxProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cardmint"))
            .arg("sandbox")
            .args(args)
            .env("CARDMINT_USERNAME", RESELLER)
            .env("CARDMINT_PASSWORD", RESELLER_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        SandboxProcess { child, url }
    }

    /// The sandbox-only endpoint base (`http://ADDR`).
    pub fn base(&self) -> String {
        self.url
            .trim_end_matches(cardmint::sandbox::API_PATH)
            .to_string()
    }

    /// Stops it with SIGTERM and waits, so it saves its state.
    pub fn terminate(mut self) {
        // The shell's own kill: no procps needed on a fresh machine.
        let pid = self.child.id();
        Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "sandbox exited with {status}");
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET returning status and body (for sandbox-only endpoints and raw answers).
pub fn http(method: &str, url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = match method {
        "POST" => agent.post(url).send_empty(),
        _ => agent.get(url).call(),
    }
    .expect("request succeeds");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}

/// The outcome of one run of the binary.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// The real binary in a fresh temporary directory, with an environment of our choosing (no
/// CARDMINT_* variables inherited, HOME inside the directory).
pub struct Cardmint {
    pub dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl Cardmint {
    /// Settle reads wait 300 ms: the faults of most tests apply a change at once (lost, slow)
    /// or never (error); the tests of late changes set a delay of their own.
    pub fn new() -> Cardmint {
        Cardmint {
            dir: tempfile::tempdir().unwrap(),
            envs: vec![("CARDMINT_SETTLE_DELAY_MS".into(), "300".into())],
        }
    }

    /// Points the binary at an external sandbox with the test reseller login.
    pub fn against(url: &str) -> Cardmint {
        Cardmint::new()
            .env("CARDMINT_API_URL", url)
            .env("CARDMINT_USERNAME", RESELLER)
            .env("CARDMINT_PASSWORD", RESELLER_PASSWORD)
    }

    pub fn env(mut self, key: &str, value: &str) -> Cardmint {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cardmint"));
        cmd.args(args);
        self.environment(cmd)
    }

    /// Runs the binary from `sh` after `prelude` (limits, ignored signals: what a shell sets
    /// is what the binary inherits).
    pub fn run_after(&self, prelude: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{prelude}\nexec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_cardmint"))
            .args(args);
        let out = self.environment(cmd).output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            command: format!("{prelude}; cardmint {}", args.join(" ")),
        }
    }

    fn environment(&self, mut cmd: Command) -> Command {
        cmd.current_dir(self.dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("CARDMINT_") {
                cmd.env_remove(k);
            }
        }
        // The developer's own configuration never leaks in: HOME and XDG_CONFIG_HOME are
        // this test's folder (a config there used to turn exit 0 into 4).
        cmd.env("HOME", self.dir.path());
        cmd.env("XDG_CONFIG_HOME", self.dir.path().join(".config"));
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.run_full(args, stdin, &[])
    }

    /// Runs with some variables overridden for this run only.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_full(args, "", env)
    }

    fn run_full(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        use std::io::Write;
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            command: format!("cardmint {}", args.join(" ")),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    /// Runs with `--json`, expects exit 0, and returns the document.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut with = vec!["--json"];
        with.extend_from_slice(args);
        let out = self.expect(0, &with);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    }

    /// Runs and asserts the exit code, printing everything when it differs.
    pub fn expect(&self, code: i32, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(out.code, code, "{out:?}");
        out
    }
}

/// The rows of a CSV file as maps from header to value.
pub fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// The sandbox state through its test endpoint.
pub fn remote_state(base: &str) -> cardmint::sandbox::State {
    let (status, body) = http("GET", &format!("{base}/__sandbox/state"));
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

pub fn remote_stats(base: &str) -> cardmint::sandbox::Stats {
    let (status, body) = http("GET", &format!("{base}/__sandbox/stats"));
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

/// The invariant of a finished batch: every manifest row is an account on the platform with
/// the manifest's password, exactly one credit of the face value, the manifest's numbers and
/// the blocked flag of its state; and the platform has no account the manifest lacks.
pub fn assert_platform_matches_manifest(manifest: &Path, state: &cardmint::sandbox::State) {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    let rows = csv_rows(manifest);
    assert!(!rows.is_empty());
    for row in &rows {
        let customer = &row["customer"];
        let account = state
            .customers
            .get(customer)
            .unwrap_or_else(|| panic!("no account for {customer} ({})", row["serial"]));
        assert_eq!(&account.password, &row["password"], "{customer}");
        let value = Decimal::from_str(&row["value"]).unwrap();
        let credits: Vec<Decimal> = account.transactions.iter().map(|t| t.amount).collect();
        assert_eq!(
            credits,
            vec![value],
            "{customer}: exactly one credit of the face value"
        );
        let numbers: Vec<&str> = row["numbers"].split_whitespace().collect();
        assert_eq!(account.numbers, numbers, "{customer}");
        let blocked = match row["state"].as_str() {
            "ready" | "blocked" => true,
            "active" => false,
            other => panic!("{customer}: state {other}"),
        };
        assert_eq!(account.blocked, blocked, "{customer}");
    }
    let known: std::collections::HashSet<&str> =
        rows.iter().map(|r| r["customer"].as_str()).collect();
    for name in state.customers.keys() {
        assert!(
            known.contains(name.as_str()),
            "account {name} is not in the manifest"
        );
    }
}

/// The invariant of a finished batch whose cards were not changed since: see
/// [`assert_platform_matches_manifest`]; accounts of other batches are allowed.
pub fn assert_platform_matches_manifest_of(manifest: &Path, state: &cardmint::sandbox::State) {
    let rows = csv_rows(manifest);
    let mine: std::collections::HashSet<&str> =
        rows.iter().map(|r| r["customer"].as_str()).collect();
    let mut only = state.clone();
    only.customers
        .retain(|name, _| mine.contains(name.as_str()));
    assert_platform_matches_manifest(manifest, &only);
}

/// The cells of the first sheet of an .xlsx file: `(reference, type attribute, formula?)`.
pub fn xlsx_cells(path: &Path) -> Vec<(String, String, bool)> {
    use std::io::Read;
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let attr = |tag: &str, name: &str| -> String {
        let key = format!(" {name}=\"");
        tag.find(&key)
            .map(|i| {
                let rest = &tag[i + key.len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .unwrap_or_default()
    };
    let mut cells = Vec::new();
    for piece in xml.split("<c ").skip(1) {
        let end = piece
            .find("</c>")
            .or(piece.find("/>"))
            .unwrap_or(piece.len());
        let body = &piece[..end];
        let tag = &body[..body.find('>').unwrap_or(body.len())];
        let tag = format!(" {tag}");
        cells.push((attr(&tag, "r"), attr(&tag, "t"), body.contains("<f")));
    }
    cells
}

/// A file's permission bits.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A bare HTTP endpoint on loopback: each connection's request line goes to `answer`, whose
/// text comes back as a 200 answer; one thread a connection, so workers meet it together.
pub fn fake_endpoint(answer: impl Fn(&str) -> String + Send + Sync + 'static) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/API/Request.ashx", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                        break;
                    }
                }
                let body = answer(&line);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

/// A reseller's own printed values: an https endpoint is the real platform, where the shipped
/// demo values are refused before any request.
pub const OWN_VALUES: &[&str] = &[
    "--set",
    "brand=VoiceMint",
    "--set",
    "support=Help: +44 330 088 1234",
    "--set",
    "access_numbers=+44 330 088 1000",
];

/// A sandbox where every request of `commands` is late: its answer dropped, its change landing
/// `late_ms` later.
pub fn every_one_late(commands: &str, late_ms: &str, extra: &[&str]) -> SandboxProcess {
    let mut args = vec![
        "--addr",
        "127.0.0.1:0",
        "--faults",
        "1",
        "--fault-kinds",
        "late",
        "--fault-commands",
        commands,
        "--late-ms",
        late_ms,
    ];
    args.extend_from_slice(extra);
    SandboxProcess::spawn(&args)
}

/// Makes `count` calls of `charge` each on the sandbox account `customer`, now.
pub fn spend(sb: &SandboxProcess, customer: &str, count: u32, charge: &str) {
    let (status, body) = http(
        "POST",
        &format!(
            "{}/__sandbox/calls?customer={customer}&count={count}&charge={charge}",
            sb.base()
        ),
    );
    assert_eq!(status, 200, "{body}");
}

/// Every settransaction of a sandbox account, in order.
pub fn transactions(base: &str, customer: &str) -> Vec<rust_decimal::Decimal> {
    remote_state(base).customers[customer]
        .transactions
        .iter()
        .map(|t| t.amount)
        .collect()
}

/// `phrase` is in `text` as words of their own: not preceded or followed by a letter or a digit
/// ("8 activated" is not said by "18 activated").
pub fn says(text: &str, phrase: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(phrase).any(|(i, _)| {
        !word(text[..i].chars().next_back()) && !word(text[i + phrase.len()..].chars().next())
    })
}

#[test]
fn says_finds_whole_words_only() {
    assert!(says("done: 8 activated, 0 failed", "8 activated, 0 failed"));
    assert!(!says(
        "done: 18 activated, 0 failed",
        "8 activated, 0 failed"
    ));
    assert!(!says("8 activated, 0 failed2", "8 activated, 0 failed"));
}

/// Makes a batch look issued on `day` (YYYY-MM-DD), as if the walk-through began weeks ago:
/// its stock may then move on any day since.
pub fn backdate(cm: &Cardmint, batch: &str, day: &str) {
    let conn = rusqlite::Connection::open(cm.path("cardmint.db")).unwrap();
    let changed = conn
        .execute(
            "UPDATE batches SET created_at = ?1 WHERE id = ?2",
            [format!("{day}T12:00:00Z"), batch.to_string()],
        )
        .unwrap();
    assert_eq!(changed, 1, "no batch {batch}");
}
