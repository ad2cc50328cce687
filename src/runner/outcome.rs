//! How a job ended, typed: the journal, the summary and the exit code all read this, never a
//! message text.

use std::fmt;
use std::time::Duration;

use crate::api::ApiError;

/// How one job (one card) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The card failed; the run goes on with the others.
    Failed(CardFailure),
    /// A change whose outcome the evidence could not settle: the card gets no further change
    /// until `cardmint settle` (or a human) settles it.
    Unsettled(String),
    /// Not finished because the run was stopped.
    Stopped,
}

impl Outcome {
    /// Its name in the journal.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed(_) => "failed",
            Outcome::Unsettled(_) => "unsettled",
            Outcome::Stopped => "stopped",
        }
    }
}

/// Why a card failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardFailure {
    /// The platform refused a change or a read.
    Refused(ApiError),
    /// Tried until the attempts ran out.
    GaveUp { attempts: u32, error: ApiError },
    /// createcustomer failed and no account exists: the platform gives no reason.
    CreateRefused,
    /// An imported customer name is an account that our password does not open.
    NotOurs { customer: String },
    /// The change was sent this many times and each time the evidence showed it not applied:
    /// nothing was changed.
    NeverApplied { times: u32 },
    /// The account exists but not as cardmint left it (say, credit nobody in the ledger
    /// loaded): cardmint does not guess.
    Conflict(String),
}

impl CardFailure {
    /// The platform refused this card's new password as not secure enough.
    pub fn is_password_refused(&self) -> bool {
        matches!(
            self,
            CardFailure::Refused(ApiError::Refused {
                reason: crate::api::Refusal::PasswordNotSecure,
                ..
            })
        )
    }
}

impl fmt::Display for CardFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardFailure::Refused(e) => write!(f, "{e}"),
            CardFailure::GaveUp { attempts, error } => {
                write!(f, "gave up after {attempts} attempts: {error}")
            }
            CardFailure::CreateRefused => f.write_str(
                "the platform refused to create the account and gives no reason (bad number or \
                 tariff?)",
            ),
            CardFailure::NotOurs { customer } => write!(
                f,
                "customer {customer} already exists on the platform and is not ours"
            ),
            CardFailure::NeverApplied { times } => {
                write!(
                    f,
                    "sent {times} times and never applied: nothing was changed"
                )
            }
            CardFailure::Conflict(why) => f.write_str(why),
        }
    }
}

/// The summary of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub done: usize,
    /// (card label, why), in the order they failed.
    pub failed: Vec<(String, CardFailure)>,
    /// (card label, what stays ambiguous): changes left for `cardmint settle`.
    pub unsettled: Vec<(String, String)>,
    /// Jobs not finished because the run stopped.
    pub unfinished: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    pub requests: u64,
    pub elapsed: Duration,
}

impl Report {
    /// Every job finished well.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.unsettled.is_empty() && self.unfinished == 0
    }

    /// Adds another run's results to this one (a command that runs once per batch).
    pub fn absorb(&mut self, other: Report) {
        self.done += other.done;
        self.failed.extend(other.failed);
        self.unsettled.extend(other.unsettled);
        self.unfinished += other.unfinished;
        self.stopped = self.stopped.take().or(other.stopped);
        self.requests += other.requests;
        self.elapsed += other.elapsed;
    }
}
