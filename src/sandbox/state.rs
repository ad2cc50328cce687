//! The sandbox's accounts, and how they survive a restart.
//!
//! Every change is an [`Op`], applied to the in-memory [`State`] and appended as one JSON line
//! to `FILE.log` in a single write, so even a killed process loses nothing. The state file is a
//! snapshot written atomically (temporary file, then rename); ops carry a sequence number, so a
//! log left behind by a crash between snapshot and truncation is never applied twice.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Snapshot after this many logged ops, so the log stays short.
const OPS_PER_SNAPSHOT: u64 = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The reseller's own credit; loading a customer draws on it.
    pub reseller_credit: Decimal,
    /// Keyed by bare customer name.
    pub customers: BTreeMap<String, Customer>,
    pub next_call_id: u64,
    /// Sequence number of the last op applied.
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The sandbox is a test double: it keeps passwords in the clear so tests can compare.
    pub password: String,
    pub blocked: bool,
    /// Up to five decimals, like the platform's `SpecificBalance`.
    pub balance: Decimal,
    pub numbers: Vec<String>,
    pub tariff: Option<i64>,
    pub created_at: NaiveDateTime,
    /// Every settransaction applied, in order.
    pub transactions: Vec<TransactionRecord>,
    pub calls: Vec<Call>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRecord {
    pub amount: Decimal,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub call_id: u64,
    pub call_type: String,
    pub start: NaiveDateTime,
    pub destination: String,
    pub duration_secs: u32,
    pub charge: Decimal,
}

/// One change to the state. Validation happens before an op is made; applying never fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Create {
        customer: String,
        password: String,
        cli: Option<String>,
        tariff: Option<i64>,
        at: NaiveDateTime,
    },
    Transaction {
        customer: String,
        amount: Decimal,
        at: NaiveDateTime,
    },
    SetBlocked {
        customer: String,
        blocked: bool,
    },
    AddNumber {
        customer: String,
        number: String,
    },
    DeleteNumber {
        customer: String,
        number: String,
    },
    SetPassword {
        customer: String,
        password: String,
    },
    /// Synthetic call records (sandbox-only); their charges are taken from the balance.
    AddCalls {
        customer: String,
        calls: Vec<Call>,
    },
    SetResellerCredit {
        credit: Decimal,
    },
}

impl State {
    pub fn new(reseller_credit: Decimal) -> Self {
        State {
            reseller_credit,
            customers: BTreeMap::new(),
            next_call_id: 1_000_000_001,
            seq: 0,
        }
    }

    fn apply(&mut self, op: &Op) {
        self.seq += 1;
        match op {
            Op::Create {
                customer,
                password,
                cli,
                tariff,
                at,
            } => {
                self.customers.insert(
                    customer.clone(),
                    Customer {
                        password: password.clone(),
                        blocked: false,
                        balance: Decimal::ZERO,
                        numbers: cli.iter().cloned().collect(),
                        tariff: *tariff,
                        created_at: *at,
                        transactions: Vec::new(),
                        calls: Vec::new(),
                    },
                );
            }
            Op::Transaction {
                customer,
                amount,
                at,
            } => {
                self.reseller_credit -= *amount;
                let c = self.customer(customer);
                c.balance += *amount;
                c.transactions.push(TransactionRecord {
                    amount: *amount,
                    at: *at,
                });
            }
            Op::SetBlocked { customer, blocked } => self.customer(customer).blocked = *blocked,
            Op::AddNumber { customer, number } => {
                let c = self.customer(customer);
                if !c.numbers.contains(number) {
                    c.numbers.push(number.clone());
                }
            }
            Op::DeleteNumber { customer, number } => {
                self.customer(customer).numbers.retain(|n| n != number)
            }
            Op::SetPassword { customer, password } => {
                self.customer(customer).password = password.clone()
            }
            Op::AddCalls { customer, calls } => {
                if let Some(last) = calls.iter().map(|c| c.call_id).max() {
                    self.next_call_id = self.next_call_id.max(last + 1);
                }
                let c = self.customer(customer);
                for call in calls {
                    c.balance -= call.charge;
                    c.calls.push(call.clone());
                }
            }
            Op::SetResellerCredit { credit } => self.reseller_credit = *credit,
        }
    }

    fn customer(&mut self, name: &str) -> &mut Customer {
        // Ops are only made for customers that exist (validated first); a log that says
        // otherwise is corrupt, and going on would silently diverge.
        self.customers
            .get_mut(name)
            .unwrap_or_else(|| panic!("sandbox op for unknown customer {name:?}"))
    }
}

#[derive(Serialize, Deserialize)]
struct LoggedOp {
    seq: u64,
    #[serde(flatten)]
    op: Op,
}

/// The state plus where it is kept.
pub struct Store {
    state: State,
    path: Option<PathBuf>,
    log: Option<File>,
    ops_since_snapshot: u64,
    /// One sandbox per state file: two would overwrite each other's snapshots.
    lock: Option<crate::lockfile::Lock>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sandbox state {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sandbox state {path}: line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("sandbox state {0}")]
    Locked(#[from] crate::lockfile::LockError),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn log_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

impl Store {
    /// An in-memory store.
    pub fn memory(reseller_credit: Decimal) -> Self {
        Store {
            state: State::new(reseller_credit),
            path: None,
            log: None,
            ops_since_snapshot: 0,
            lock: None,
        }
    }

    /// Loads the snapshot and replays its log, then starts a fresh snapshot and log.
    pub fn open(path: &Path, reseller_credit: Decimal) -> Result<Self, StoreError> {
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        let lock = crate::lockfile::acquire(path, &command)?;
        let mut state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.to_path_buf(),
                line: e.line(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::new(reseller_credit),
            Err(e) => return Err(io_err(path)(e)),
        };
        let log = log_path(path);
        match File::open(&log) {
            Ok(file) => replay(&mut state, &log, file)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&log)(e)),
        }
        let mut store = Store {
            state,
            path: Some(path.to_path_buf()),
            log: None,
            ops_since_snapshot: 0,
            lock: Some(lock),
        };
        store.snapshot()?;
        Ok(store)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Applies one change and makes it durable in the log.
    pub fn commit(&mut self, op: Op) -> Result<(), StoreError> {
        self.state.apply(&op);
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(&LoggedOp {
            seq: self.state.seq,
            op,
        })
        .expect("ops serialize");
        line.push(b'\n');
        if let Some(log) = &mut self.log {
            // One write per op: a kill leaves at most a partial last line, skipped on replay.
            log.write_all(&line).map_err(io_err(&log_path(path)))?;
        }
        self.ops_since_snapshot += 1;
        if self.ops_since_snapshot >= OPS_PER_SNAPSHOT {
            self.snapshot()?;
        }
        Ok(())
    }

    /// Saves the state and lets go of the state file: the sandbox has stopped serving, so
    /// another may open it at once (tasks of the old runtime may outlive the stop briefly).
    pub fn close(&mut self) -> Result<(), StoreError> {
        self.snapshot()?;
        self.lock = None;
        Ok(())
    }

    /// Writes the whole state atomically and starts an empty log.
    pub fn snapshot(&mut self) -> Result<(), StoreError> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(&self.state).expect("state serializes");
        crate::atomic::write(&path, &bytes, crate::atomic::PRIVATE).map_err(io_err(&path))?;
        let log = log_path(&path);
        self.log = Some(owner_only(&log, true).map_err(io_err(&log))?);
        self.ops_since_snapshot = 0;
        Ok(())
    }
}

fn owner_only(path: &Path, truncate: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
}

fn replay(state: &mut State, path: &Path, file: File) -> Result<(), StoreError> {
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io_err(path))?;
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<LoggedOp>(line) {
            Ok(logged) if logged.seq <= state.seq => {}
            Ok(logged) => state.apply(&logged.op),
            // A kill mid-write can leave the last line partial; that op never answered.
            Err(_) if i + 1 == last => {}
            Err(e) => {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn survives_a_kill_and_a_crash_between_snapshot_and_log_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut store = Store::open(&path, Decimal::from(100)).unwrap();
        store
            .commit(Op::Create {
                customer: "a".into(),
                password: "pw".into(),
                cli: None,
                tariff: None,
                at: at(),
            })
            .unwrap();
        store
            .commit(Op::Transaction {
                customer: "a".into(),
                amount: Decimal::from(5),
                at: at(),
            })
            .unwrap();
        // A kill: no snapshot, the log holds the ops (plus a torn last line).
        let log = log_path(&path);
        let saved_log = std::fs::read(&log).unwrap();
        OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"{\"seq\":3,\"op\":\"set_bl")
            .unwrap();
        drop(store);
        let store = Store::open(&path, Decimal::from(100)).unwrap();
        let a = &store.state().customers["a"];
        assert_eq!(a.balance, Decimal::from(5));
        assert_eq!(store.state().reseller_credit, Decimal::from(95));
        // A crash after the snapshot was renamed but before the log was emptied.
        std::fs::write(&log, &saved_log).unwrap();
        drop(store);
        let store = Store::open(&path, Decimal::from(100)).unwrap();
        assert_eq!(store.state().customers["a"].transactions.len(), 1);
        let mode = std::fs::metadata(&path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }
}
