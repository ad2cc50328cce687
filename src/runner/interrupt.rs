//! Ctrl-C (SIGINT) and SIGTERM during a run. The first stops sending: the workers finish the
//! request in hand, record it, and take no new one; jobs waiting for a settle read end
//! unfinished with their intents open in the ledger; the command prints what was done and the
//! command that finishes it, and exits 130. A second one exits at once: everything the ledger
//! holds was committed before its request left, so nothing recorded is lost (an answer in
//! flight is lost, and `resume` or `settle` judges it on evidence).

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The signal that came first: 0 none, 2 SIGINT, 15 SIGTERM.
static SIGNAL: AtomicU8 = AtomicU8::new(0);

/// What stopped the run, for its messages: "Ctrl-C" or "SIGTERM".
pub fn cause() -> &'static str {
    match SIGNAL.load(Ordering::SeqCst) {
        15 => "SIGTERM",
        _ => "Ctrl-C",
    }
}

/// Whether Ctrl-C (or SIGTERM) came.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Starts listening for Ctrl-C and SIGTERM (once per process). Without it, the signals end the
/// process at once as they always do.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(|| {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    use tokio::signal::unix::{SignalKind, signal};
                    let Ok(mut term) = signal(SignalKind::terminate()) else {
                        return;
                    };
                    let Ok(mut int) = signal(SignalKind::interrupt()) else {
                        return;
                    };
                    loop {
                        let number = tokio::select! {
                            _ = int.recv() => 2,
                            _ = term.recv() => 15,
                        };
                        let _ =
                            SIGNAL.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
                        if INTERRUPTED.swap(true, Ordering::SeqCst) {
                            eprintln!(
                                "\ninterrupted again: stopping at once; the ledger keeps \
                                 everything it recorded (resume or settle finishes the rest)"
                            );
                            std::process::exit(130);
                        }
                        eprintln!(
                            "\ninterrupted ({}): no new request is sent; finishing the ones in \
                             flight (a second signal stops at once)",
                            cause()
                        );
                    }
                });
            });
        // Without the listener the default applies: the signal ends the process.
        drop(spawned);
    });
}

/// A write past the file-size limit (`ulimit -f`, a unit's `LimitFSIZE`) raises SIGXFSZ, which
/// by default kills the process on the spot: no message, nothing cleaned up (a backup's or a
/// restore's temporary copy, every code in it, left beside). With a handler installed the write
/// fails instead (EFBIG), and the command reports it as it reports a full disk. The handler
/// stays for the life of the process; the signal is otherwise ignored.
pub fn survive_file_size_limit() {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    else {
        return;
    };
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let _ = signal(SignalKind::from_raw(libc::SIGXFSZ));
    });
}
