//! The typed platform client: one method per remote command, XML answers parsed into typed
//! values, and [`ApiError`] classes that tell a caller what it may do next.
//!
//! Knows nothing of the ledger or of cards: it speaks the protocol of `api-reference.md`.

pub mod answer;
mod client;
mod error;
pub mod paging;
mod xml;

pub use answer::{CallPage, CallRecord, Created, Transaction, UserInfo};
pub use client::{CallQuery, Client, Direction, Health, MAX_RECORD_COUNT};
pub use error::{ApiError, Refusal, UnknownCause};

use std::fmt;

/// The eight remote commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    CreateCustomer,
    SetTransaction,
    ChangeUserInfo,
    ChangePassword,
    ValidateUser,
    GetUserInfo,
    CallOverview,
    ResetPassword,
}

impl Command {
    pub const ALL: [Command; 8] = [
        Command::CreateCustomer,
        Command::SetTransaction,
        Command::ChangeUserInfo,
        Command::ChangePassword,
        Command::ValidateUser,
        Command::GetUserInfo,
        Command::CallOverview,
        Command::ResetPassword,
    ];

    /// The `command=` value, lower case as the platform expects.
    pub fn wire_name(self) -> &'static str {
        match self {
            Command::CreateCustomer => "createcustomer",
            Command::SetTransaction => "settransaction",
            Command::ChangeUserInfo => "changeuserinfo",
            Command::ChangePassword => "changepassword",
            Command::ValidateUser => "validateuser",
            Command::GetUserInfo => "getuserinfo",
            Command::CallOverview => "calloverview",
            Command::ResetPassword => "resetpassword",
        }
    }

    /// The root element of the command's answer.
    pub fn root(self) -> &'static str {
        match self {
            Command::CreateCustomer => "CreateAccount",
            Command::SetTransaction => "Transaction",
            Command::ChangeUserInfo => "ChangeUserInfo",
            Command::ChangePassword => "ChangePassword",
            Command::ValidateUser => "ValidateUser",
            Command::GetUserInfo => "GetUserInfo",
            Command::CallOverview => "CallOverview",
            Command::ResetPassword => "ResetPassword",
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}
