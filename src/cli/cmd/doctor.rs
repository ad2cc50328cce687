//! `cardmint doctor`: is this machine ready to issue cards? One line per check.

use std::net::ToSocketAddrs;
use std::path::Path;
use std::time::Instant;

use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::ledger::Ledger;
use crate::render;

/// Check the config file and its permissions, the reseller login (one harmless read that tells
/// a wrong login from a right one), the endpoint (name resolution, TLS, latency), the ledger
/// (integrity, schema, who holds its lock), the designs and fonts, and the print shop's tools.
/// One line each: ok, or the problem and its fix. Exits 1 when there is a problem.
///
/// Examples:
///   cardmint doctor
///   cardmint --sandbox doctor --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    /// Worth knowing, not in the way (an optional tool missing, no ledger yet).
    Note,
    Problem,
}

#[derive(Debug, serde::Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    detail: String,
}

fn check(name: &'static str, result: Result<(Status, String), String>) -> Check {
    match result {
        Ok((status, detail)) => Check {
            check: name,
            status,
            detail,
        },
        Err(detail) => Check {
            check: name,
            status: Status::Problem,
            detail,
        },
    }
}

pub fn run(global: &Global, _args: Args) -> Result<Exit, Error> {
    let checks = vec![
        check("config", config_file(global)),
        check("endpoint", endpoint(global)),
        check("login", login(global)),
        check("ledger", ledger(&global.ledger_path())),
        check("designs", designs(global)),
        check("tools", tools()),
    ];
    let ok = checks.iter().all(|c| c.status != Status::Problem);
    if global.json {
        global.emit(serde_json::json!({ "ok": ok, "checks": checks }));
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok     ",
                Status::Note => "note   ",
                Status::Problem => "PROBLEM",
            };
            out!("{tag} {:<9} {}", c.check, c.detail);
        }
    }
    Ok(if ok { Exit::Success } else { Exit::Failure })
}

fn config_file(global: &Global) -> Result<(Status, String), String> {
    match global.config().map(|c| c.path.as_ref()) {
        Ok(Some(path)) => Ok((
            Status::Ok,
            format!("{} (owner-only, reads cleanly)", path.display()),
        )),
        Ok(None) => Ok((
            Status::Note,
            "no config file (the login can come from CARDMINT_USERNAME and CARDMINT_PASSWORD; \
             `cardmint config init` writes an example)"
                .into(),
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The endpoint's name resolves; with --sandbox, the embedded one.
fn endpoint(global: &Global) -> Result<(Status, String), String> {
    if global.sandbox {
        return Ok((Status::Ok, "the embedded sandbox (--sandbox)".into()));
    }
    // The address alone: a missing login is the login check's to say.
    let url = global.config().map_err(|e| e.to_string())?.endpoint();
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| format!("{url}: not a URL; fix [api] url or CARDMINT_API_URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let with_port = if host_port.contains(':') && !host_port.ends_with(']') {
        host_port.to_string()
    } else if url.starts_with("https") {
        format!("{host_port}:443")
    } else {
        format!("{host_port}:80")
    };
    let started = Instant::now();
    let addrs: Vec<_> = with_port
        .to_socket_addrs()
        .map_err(|e| {
            format!("{host_port} does not resolve ({e}): check the network, the DNS, or [api] url")
        })?
        .collect();
    Ok((
        Status::Ok,
        format!(
            "{host_port} resolves to {} address(es) in {} ms",
            addrs.len(),
            started.elapsed().as_millis()
        ),
    ))
}

/// One harmless read with the reseller login: connection, TLS, the login, the latency.
fn login(global: &Global) -> Result<(Status, String), String> {
    let connection = global
        .connect(&crate::runner::Options {
            concurrency: 1,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    connection.check_login().map_err(|e| e.to_string())?;
    Ok((
        Status::Ok,
        format!(
            "the login works on {} (a read answered in {} ms)",
            connection.platform,
            started.elapsed().as_millis()
        ),
    ))
}

fn ledger(path: &Path) -> Result<(Status, String), String> {
    let holder = crate::lockfile::holder_of(path);
    if !path.exists() {
        return Ok((
            Status::Note,
            format!(
                "no ledger at {} yet (the first `issue` creates it)",
                path.display()
            ),
        ));
    }
    let ledger = Ledger::open(path).map_err(|e| e.to_string())?;
    let integrity = ledger.integrity().map_err(|e| e.to_string())?;
    if integrity != "ok" {
        return Err(format!(
            "{}: damaged ({integrity}); restore it from a backup, and keep the damaged file",
            path.display()
        ));
    }
    let (found, known) = ledger.schema().map_err(|e| e.to_string())?;
    let batches = ledger.batches().map_err(|e| e.to_string())?.len();
    let page = crate::lockfile::page_runs(path).then_some("the page (a `cardmint portal`)");
    let users: Vec<String> = holder.into_iter().chain(page.map(String::from)).collect();
    let lock = match users.is_empty() {
        true => "; not in use".into(),
        false => format!("; in use by {}", users.join(" and ")),
    };
    Ok((
        Status::Ok,
        format!(
            "{}: intact, schema {found} of {known}, {batches} batch(es){lock}",
            path.display()
        ),
    ))
}

/// The shipped designs load with the config's values, on every shipped sheet, with their fonts.
fn designs(global: &Global) -> Result<(Status, String), String> {
    let values = &global.config().map_err(|e| e.to_string())?.values;
    let mut designs = Vec::new();
    for (name, _) in render::assets::DESIGNS {
        let design = render::load_design(name, values).map_err(|e| e.to_string())?;
        for (sheet, _) in render::assets::SHEETS {
            render::load_sheet_for(sheet, &design).map_err(|e| e.to_string())?;
        }
        designs.push(format!("{name} ({} fonts)", design.fonts.len()));
    }
    Ok((
        Status::Ok,
        format!(
            "{} load on the {} sheets",
            designs.join(", "),
            render::assets::SHEETS.len()
        ),
    ))
}

/// The print shop's tools, which the second test tier and a preflight use: optional.
fn tools() -> Result<(Status, String), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |tool: &str| {
        std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    };
    let missing: Vec<&str> = ["gs", "pdftotext", "pdfinfo", "pdftoppm", "qpdf", "zbarimg"]
        .into_iter()
        .filter(|t| !found(t))
        .collect();
    if missing.is_empty() {
        Ok((
            Status::Ok,
            "Ghostscript, poppler, qpdf and zbar are installed (for checking PDFs as a print \
             shop does)"
                .into(),
        ))
    } else {
        Ok((
            Status::Note,
            format!(
                "not installed: {} (optional, to check PDFs as a print shop does: apt-get \
                 install ghostscript poppler-utils qpdf zbar-tools)",
                missing.join(", ")
            ),
        ))
    }
}
