//! `ApiError`: what went wrong with one remote command, classified so that the caller decides
//! from the variant alone whether to retry, reconcile, fail one card or stop the batch.
//!
//! No variant carries a URL, a query string or a password; the texts are lowercase fragments.

use std::fmt;

use super::Command;

/// The outcome of a remote command that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request never reached the platform (no connection, DNS, TLS handshake, refused):
    /// nothing was applied, so retrying is safe.
    #[error("{command}: not sent: {cause}")]
    NotSent { command: Command, cause: String },
    /// The request was sent but no valid answer came back (timeout, reset, an HTML page, an
    /// unparsable body). The change may or may not have been applied: reconcile before retrying.
    #[error("{command}: outcome unknown: {cause}")]
    UnknownOutcome {
        command: Command,
        cause: UnknownCause,
    },
    /// The platform answered and refused.
    #[error("{command}: refused: {reason}")]
    Refused { command: Command, reason: Refusal },
    /// A well-formed answer that breaks the documented contract (a missing field, a value of the
    /// wrong form). The change may have been applied; this is not transient.
    #[error("{command}: protocol violation: {detail}")]
    Protocol { command: Command, detail: String },
    /// An argument the platform would not accept; caught before anything was sent.
    #[error("{command}: invalid {field}: {reason}")]
    InvalidArgument {
        command: Command,
        field: &'static str,
        reason: String,
    },
}

/// Why the outcome of a sent request is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownCause {
    Timeout,
    ConnectionLost(String),
    /// A status other than 200 (the platform answers 200 even for failures; other statuses come
    /// from proxies or outages).
    HttpStatus(u16),
    /// The body is not the command's XML answer (empty, HTML, truncated, garbled).
    BadBody(String),
}

impl fmt::Display for UnknownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownCause::Timeout => f.write_str("no answer before the timeout"),
            UnknownCause::ConnectionLost(kind) => write!(f, "connection lost ({kind})"),
            UnknownCause::HttpStatus(code) => write!(f, "http status {code}"),
            UnknownCause::BadBody(what) => write!(f, "unusable answer: {what}"),
        }
    }
}

/// A refusal by the platform, classified from its `<Reason>` text (compared whole, never by
/// substring, but for the reseller-login case the reference only knows a fragment of).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownCustomer,
    WrongResellerLogin,
    /// The customer's password does not match (validateuser, changepassword).
    WrongCustomerPassword,
    PasswordNotSecure,
    InvalidAmount,
    NotEnoughCredit,
    /// createcustomer's only failure answer: exists already, bad name, bad password, ...
    CreateFailed,
    UnknownCommand,
    MissingParameter(String),
    Other(String),
}

impl Refusal {
    /// Classifies one `<Reason>` text; `None` for the generic summary reason, which says nothing.
    pub(crate) fn classify(reason: &str) -> Option<Refusal> {
        let r = reason.trim();
        Some(match r {
            "Request completely or partially failed." => return None,
            "Unknown customer" | "Unable to get user info" => Refusal::UnknownCustomer,
            "User/Password combination unknown" => Refusal::WrongCustomerPassword,
            "The new password was denied because it is not secure enough" => {
                Refusal::PasswordNotSecure
            }
            "Invalid format: Amount" => Refusal::InvalidAmount,
            "Not enough credit" => Refusal::NotEnoughCredit,
            "Unknown command" => Refusal::UnknownCommand,
            // Only this fragment was ever seen of the wrong-login answer (api-reference, conf L).
            _ if r.contains("Reseller/Password") => Refusal::WrongResellerLogin,
            _ => match r.strip_prefix("Missing parameter: ") {
                Some(name) => Refusal::MissingParameter(name.to_string()),
                None => Refusal::Other(r.to_string()),
            },
        })
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownCustomer => f.write_str("unknown customer"),
            Refusal::WrongResellerLogin => f.write_str(
                "wrong reseller login (check CARDMINT_USERNAME / CARDMINT_PASSWORD or the config file)",
            ),
            Refusal::WrongCustomerPassword => f.write_str("customer password does not match"),
            Refusal::PasswordNotSecure => f.write_str("password not secure enough"),
            Refusal::InvalidAmount => f.write_str("invalid amount"),
            Refusal::NotEnoughCredit => f.write_str("not enough reseller credit"),
            Refusal::CreateFailed => f.write_str(
                "account not created (the platform gives no reason: exists already, bad name or password)",
            ),
            Refusal::UnknownCommand => f.write_str("unknown command"),
            Refusal::MissingParameter(name) => write!(f, "missing parameter {name}"),
            Refusal::Other(text) => write!(f, "{text:?}"),
        }
    }
}

impl ApiError {
    /// True when nothing can have been applied remotely, so the request may simply be resent.
    pub fn is_safe_to_retry(&self) -> bool {
        matches!(self, ApiError::NotSent { .. })
    }

    /// True when the change may have been applied: the caller must reconcile before a retry.
    pub fn may_have_applied(&self) -> bool {
        matches!(
            self,
            ApiError::UnknownOutcome { .. } | ApiError::Protocol { .. }
        )
    }

    /// True when every further request with this login would fail the same way.
    pub fn stops_everything(&self) -> bool {
        matches!(
            self,
            ApiError::Refused {
                reason: Refusal::WrongResellerLogin,
                ..
            }
        )
    }

    /// Signs the platform or a proxy in front of it is overloaded.
    pub fn is_overload(&self) -> bool {
        matches!(
            self,
            ApiError::UnknownOutcome {
                cause: UnknownCause::Timeout | UnknownCause::HttpStatus(429 | 502 | 503 | 504),
                ..
            }
        )
    }

    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            ApiError::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_compared_whole_not_by_substring() {
        assert_eq!(
            Refusal::classify("Invalid format: Amount "),
            Some(Refusal::InvalidAmount)
        );
        assert_eq!(
            Refusal::classify("Unknown customer account"),
            Some(Refusal::Other("Unknown customer account".into()))
        );
        assert_eq!(
            Refusal::classify("Request completely or partially failed."),
            None
        );
        assert_eq!(
            Refusal::classify("Reseller/Password combination unknown"),
            Some(Refusal::WrongResellerLogin)
        );
        assert_eq!(
            Refusal::classify("Missing parameter: amount"),
            Some(Refusal::MissingParameter("amount".into()))
        );
    }
}
