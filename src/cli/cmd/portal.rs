//! `cardmint portal`: the card holders' web page.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::args::EngineArgs;
use crate::cli::{Exit, Global};
use crate::error::Error;
use crate::portal::{self, Backend, Look, Portal, Settings};

/// Run the card holders' web page: sign in (the access code alone for the retail cards this
/// ledger issued, or login and password), balance, calls (and a CSV of them), phone numbers,
/// password, and redeeming a new card onto the account, under your brand (`[values]` brand
/// and support, `[portal]` colour, logo, softphone_url, region).
///
/// Plain HTTP only on a loopback address, behind a reverse proxy that adds TLS (set
/// `[portal] trust_forwarded_for = true` there, so that limits count the visitors' addresses);
/// with --tls-cert and --tls-key it serves HTTPS itself, on any address. Every request to the
/// platform goes through the throttle (--rate, --concurrency). Prints `listening on URL` when
/// ready, then one access-log line per request (--log-format); Ctrl-C stops it. `/health`
/// answers an uptime monitor (200, or 503 when the platform fails or the ledger does not
/// open); --metrics-addr serves Prometheus counters on a loopback address.
///
/// Examples:
///   cardmint --sandbox portal
///   cardmint portal --addr 0.0.0.0:443 --tls-cert fullchain.pem --tls-key privkey.pem
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address and port to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// TLS certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here, and send every request to the HTTPS address (with
    /// --tls-cert; e.g. 0.0.0.0:80)
    #[arg(long, value_name = "IP:PORT", requires = "tls_cert")]
    redirect_http: Option<SocketAddr>,
    /// The access log on standard output: a text line per request, a JSON object per line, or
    /// off
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    log_format: portal::observe::LogFormat,
    /// Serve Prometheus metrics at http://IP:PORT/metrics (a loopback address: the counts are
    /// the reseller's, e.g. 127.0.0.1:9464)
    #[arg(long, value_name = "IP:PORT")]
    metrics_addr: Option<SocketAddr>,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(global: &Global, args: Args) -> Result<Exit, Error> {
    let options = args.engine.options(global.config()?)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(
            portal::Certificate::load(cert, key).map_err(Error::Usage)?,
        )),
        _ => None,
    };
    if let Some(metrics) = args.metrics_addr
        && !metrics.ip().to_canonical().is_loopback()
    {
        return Err(Error::Usage(format!(
            "--metrics-addr {metrics}: metrics are for this machine's monitoring: give a loopback \
             address (127.0.0.1:9464), and let the monitor reach it through its own agent"
        )));
    }
    if tls.is_none() && !args.addr.ip().to_canonical().is_loopback() {
        return Err(Error::Usage(format!(
            "--addr {}: plain HTTP only on a loopback address (behind a reverse proxy that adds \
             TLS); give --tls-cert and --tls-key to serve {} yourself",
            args.addr, args.addr
        )));
    }
    let config = global.config()?;
    let settings = &config.portal;
    let logo = settings.logo()?;
    let ledger = global.open_ledger()?;
    drop(ledger);
    let connection = global.connect(&options)?;
    connection.check_login()?;
    // Held while the page runs: a restore refuses to replace the ledger under it (the page
    // opens the ledger for each request, so no open file says it is there).
    let _users =
        crate::lockfile::use_shared(&global.ledger_path()).map_err(|e| Error::Ledger(e.into()))?;
    let hooks = &config.hooks;
    let change_wait = hooks
        .change_wait_ms
        .map_or(crate::portal::CHANGE_WAIT, Duration::from_millis);
    let backend = Arc::new(
        Backend::new(
            connection.client.clone(),
            connection.throttle.clone(),
            connection.platform.clone(),
            global.ledger_path(),
            options,
        )
        .fresh_for(
            hooks
                .fresh_ms
                .map_or(crate::portal::backend::FRESH, Duration::from_millis),
        )
        // A change that never got the lock must be answered before the page's wait runs out.
        .lock_wait_for(crate::portal::backend::LOCK_WAIT.min(change_wait / 2)),
    );
    match backend.finish_unfinished() {
        Ok(0) => {}
        Ok(n) => eprintln!("{n} redeem(s) left unfinished by an earlier run: finished"),
        Err(e) => eprintln!("redeems left unfinished by an earlier run: not finished yet ({e})"),
    }
    // A redeem stopped at a step (its answer lost, the ledger busy) is finished in the
    // background too: the page told its holder the credit would follow.
    backend.clone().keep_finishing();
    let portal = Arc::new(
        Portal::new(
            backend,
            Settings {
                look: Look {
                    brand: config
                        .values
                        .get("brand")
                        .cloned()
                        .unwrap_or_else(|| "Your account".into()),
                    support: config.values.get("support").cloned(),
                    softphone_url: settings.softphone_url.clone(),
                    region: settings.region.clone(),
                    time_zone: settings.time_zone,
                    assets: Default::default(),
                },
                colour: settings.colour,
                logo,
                trust_forwarded_for: settings.trust_forwarded_for,
                session_idle: hooks
                    .session_secs
                    .map_or(settings.session_idle, Duration::from_secs),
                tls: tls.is_some(),
                change_wait,
                checks_per_minute: settings
                    .signin_checks_per_minute
                    .unwrap_or(crate::portal::limits::CHECKS_PER_MINUTE),
                v6_prefix: settings.ipv6_prefix,
                failure_answer: hooks
                    .signin_answer_ms
                    .map_or(crate::portal::FAILURE_ANSWER, Duration::from_millis),
                sessions: Some(crate::portal::session::store_path(&global.ledger_path())),
                log_format: args.log_format,
                languages: crate::portal::i18n::Languages::load(settings.locales.as_deref())
                    .map_err(Error::Usage)?,
                body_timeout: hooks
                    .body_timeout_ms
                    .map_or(Duration::from_secs(10), Duration::from_millis),
            },
        )
        .map_err(|e| Error::Io {
            what: "keep the portal's sessions".into(),
            source: std::io::Error::other(e),
        })?,
    );
    let (room, fd_limit) = portal::connection_room();
    if room < 1000 {
        eprintln!(
            "the file-descriptor limit is {fd_limit}: the page serves at most {room} visitors' \
             connections at once (more wait); raise it for a busy page (systemd: \
             LimitNOFILE=65536 in the unit; a shell: ulimit -n 65536)"
        );
    }
    let capacity = portal::Capacity {
        total: room,
        // Behind a proxy, every connection comes from the proxy's address.
        per_network: (!settings.trust_forwarded_for).then_some(portal::CONNECTIONS_PER_NETWORK),
        v6_prefix: settings.ipv6_prefix,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::io("start the web server".to_string()))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(Error::io(format!("listen on {}", args.addr)))?;
        let bound = listener
            .local_addr()
            .map_err(Error::io(format!("listen on {}", args.addr)))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        say!(global, "listening on {scheme}://{bound}/");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let stop = {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            }
        };
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            let _ = stopping.send(true);
        });
        if let Some(cert) = tls.clone() {
            // A renewed certificate is taken on SIGHUP, or within a minute of its files
            // changing; connections open keep theirs.
            tokio::spawn(async move {
                let mut hup =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
                loop {
                    let asked = tokio::select! {
                        _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending().await } } => true,
                        _ = tokio::time::sleep(Duration::from_secs(60)) => false,
                    };
                    let tried = if asked {
                        Some(cert.reload())
                    } else {
                        cert.reload_if_changed()
                    };
                    match tried {
                        Some(Ok(())) => eprintln!("portal: certificate reloaded"),
                        Some(Err(e)) => {
                            eprintln!("portal: certificate not reloaded, the old one stays: {e}")
                        }
                        None => {}
                    }
                }
            });
        }
        if let Some(plain) = args.redirect_http {
            let listener = tokio::net::TcpListener::bind(plain)
                .await
                .map_err(Error::io(format!("listen on {plain}")))?;
            let https_port = bound.port();
            let mut stopped = stopped.clone();
            tokio::spawn(portal::redirect_to_https(listener, https_port, async move {
                let _ = stopped.wait_for(|s| *s).await;
            }));
        }
        if let Some(addr) = args.metrics_addr {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(Error::io(format!("listen on {addr}")))?;
            let mut stopped = stopped.clone();
            tokio::spawn(portal::observe::serve_metrics(
                listener,
                portal.clone(),
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            ));
        }
        portal::serve(listener, portal::router(portal), tls, capacity, stop).await;
        Ok::<(), Error>(())
    })?;
    drop(connection);
    Ok(Exit::Success)
}
