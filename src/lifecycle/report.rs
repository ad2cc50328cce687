//! Reading issued cards back from the platform: status (balance, usage, blocked flag, numbers),
//! call records (paged until `MoreData` is False) and the audit against the ledger.
//! Reads only: nothing here sends a change.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::api::{ApiError, CallRecord, Command, Refusal, UserInfo};
use crate::ledger::Card;
use crate::runner::{Ctx, Failure, Outcome};

/// One card's status.
#[derive(Debug, Clone)]
pub struct Status {
    pub serial: String,
    pub customer: String,
    pub loaded: Decimal,
    pub balance: Decimal,
    pub blocked: bool,
    pub numbers: Vec<String>,
    /// What differs from the ledger (empty when it matches).
    pub differences: Vec<String>,
}

impl Status {
    pub fn used(&self) -> Decimal {
        self.loaded - self.balance
    }
}

/// Compares the platform's view with the ledger's.
pub fn differences(card: &Card, info: &UserInfo) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(expected) = card.expect_blocked()
        && expected != info.blocked
    {
        out.push(format!(
            "blocked is {} on the platform, {} in the ledger (state {})",
            info.blocked, expected, card.state
        ));
    }
    let ours: BTreeSet<&String> = card.numbers.iter().collect();
    let theirs: BTreeSet<&String> = info.numbers.iter().collect();
    if ours != theirs {
        out.push(format!(
            "numbers are [{}] on the platform, [{}] in the ledger",
            info.numbers.join(" "),
            card.numbers.join(" ")
        ));
    }
    if info.exact_balance() > card.loaded() {
        out.push(format!(
            "balance {} is above the {} loaded",
            info.exact_balance(),
            card.loaded()
        ));
    }
    out
}

pub fn status(ctx: &mut Ctx<'_>, card: &Card) -> Result<Status, Outcome> {
    let info = match ctx.user_info(card).map_err(Failure::outcome)? {
        (Some(info), _) => info,
        (None, _) => return Err(Failure::Refused(unknown_customer()).outcome()),
    };
    Ok(Status {
        serial: card.serial.clone(),
        customer: card.customer.clone(),
        loaded: card.loaded(),
        balance: info.exact_balance(),
        blocked: info.blocked,
        numbers: info.numbers.clone(),
        differences: differences(card, &info),
    })
}

fn unknown_customer() -> ApiError {
    ApiError::Refused {
        command: Command::GetUserInfo,
        reason: Refusal::UnknownCustomer,
    }
}

/// Every call record of a card (see [`Ctx::calls`]).
pub fn calls(
    ctx: &mut Ctx<'_>,
    card: &Card,
    since: Option<NaiveDateTime>,
) -> Result<Vec<CallRecord>, Outcome> {
    ctx.calls(card, since).map_err(Failure::outcome)
}

/// The audit of one card: the account exists, the ledger's password opens it, and its blocked
/// flag, numbers and balance agree with the ledger.
pub fn audit(ctx: &mut Ctx<'_>, card: &Card) -> Result<Vec<String>, Outcome> {
    let info = match ctx.user_info(card).map_err(Failure::outcome)? {
        (Some(info), _) => info,
        (None, _) => return Ok(vec!["the account does not exist on the platform".into()]),
    };
    let mut problems = differences(card, &info);
    match ctx.opening_password(card).map_err(Failure::outcome)? {
        Some(p) if p == card.password => {}
        Some(_) => problems.insert(
            0,
            format!(
                "the pending password of an interrupted reset opens the account, not the \
                 ledger's: run `cardmint settle {}`",
                card.serial
            ),
        ),
        None => problems.insert(
            0,
            "the ledger's password does not open the account (changed behind cardmint's back?)"
                .into(),
        ),
    }
    Ok(problems)
}
