//! Reading issued cards back from the platform: status (balance, usage, blocked flag, numbers),
//! call records (paged until `MoreData` is False) and the audit against the ledger.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::api::{CallQuery, CallRecord, Command, Direction, Refusal, UserInfo};
use crate::ledger::Card;
use crate::provision::engine::{Ctx, Failure, ItemOutcome};

/// Reads with retries: reads change nothing, so an unknown outcome is simply asked again.
pub(super) fn read<T>(
    ctx: &mut Ctx<'_>,
    card: &Card,
    command: Command,
    f: &dyn Fn(&crate::api::Client) -> Result<T, crate::api::ApiError>,
) -> Result<T, ItemOutcome> {
    let max = ctx.options().max_attempts;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ctx.request(Some(card.id), command, f) {
            Ok(v) => return Ok(v),
            Err(Failure::Stopped) => return Err(ItemOutcome::Stopped),
            Err(Failure::Refused(e)) => return Err(ItemOutcome::Failed(e.to_string())),
            Err(Failure::Unknown(e) | Failure::GaveUp(e)) if attempt >= max => {
                return Err(ItemOutcome::Failed(format!(
                    "gave up after {attempt} attempts: {e}"
                )));
            }
            Err(Failure::Unknown(_) | Failure::GaveUp(_)) => ctx.back_off(attempt),
        }
    }
}

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

pub fn status(ctx: &mut Ctx<'_>, card: &Card) -> Result<Status, ItemOutcome> {
    let customer = card.customer.clone();
    let info = read(ctx, card, Command::GetUserInfo, &move |c| {
        c.get_user_info(&customer)
    })?;
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

/// Every call record of a card: backward from now, or forward from `since`, 500 a page, until
/// `MoreData` is False. Records are keyed by call id, so none is listed twice even if the
/// platform repeats one across pages.
pub fn calls(
    ctx: &mut Ctx<'_>,
    card: &Card,
    since: Option<NaiveDateTime>,
) -> Result<Vec<CallRecord>, ItemOutcome> {
    let mut query = CallQuery {
        date: since,
        call_id: None,
        record_count: Some(crate::api::MAX_RECORD_COUNT),
        direction: Some(if since.is_some() {
            Direction::Forward
        } else {
            Direction::Backward
        }),
    };
    let mut seen = BTreeSet::new();
    let mut records = Vec::new();
    loop {
        let customer = card.customer.clone();
        let q = query.clone();
        let page = read(ctx, card, Command::CallOverview, &move |c| {
            c.call_overview(&customer, &q)
        })?;
        let mut new = 0;
        let last = page.calls.last().cloned();
        for call in page.calls {
            if seen.insert(call.call_id) {
                records.push(call);
                new += 1;
            }
        }
        if !page.more_data {
            break;
        }
        let Some(last) = last.filter(|_| new > 0) else {
            return Err(ItemOutcome::Failed(
                "calloverview says there is more data but sent nothing new: stopping rather than looping".into(),
            ));
        };
        query.date = Some(last.start);
        query.call_id = Some(last.call_id);
    }
    records.sort_by_key(|c| (c.start, c.call_id));
    Ok(records)
}

/// The audit of one card: the account exists, the ledger's password opens it, and its blocked
/// flag, numbers and balance agree with the ledger.
pub fn audit(ctx: &mut Ctx<'_>, card: &Card) -> Result<Vec<String>, ItemOutcome> {
    let customer = card.customer.clone();
    let info = match read(ctx, card, Command::GetUserInfo, &move |c| {
        c.get_user_info(&customer)
    }) {
        Ok(info) => info,
        Err(ItemOutcome::Failed(reason))
            if reason.contains(&Refusal::UnknownCustomer.to_string()) =>
        {
            return Ok(vec!["the account does not exist on the platform".into()]);
        }
        Err(other) => return Err(other),
    };
    let mut problems = differences(card, &info);
    let (customer, password) = (card.customer.clone(), card.password.clone());
    if !read(ctx, card, Command::ValidateUser, &move |c| {
        c.validate_user(&customer, &password)
    })? {
        problems.insert(
            0,
            "the ledger's password does not open the account (changed behind cardmint's back?)"
                .into(),
        );
    }
    Ok(problems)
}
