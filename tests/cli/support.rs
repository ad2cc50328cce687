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
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
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
