//! Typed answers of the eight remote commands, and their parsers.
//!
//! Pure: a body in, a typed answer or an [`ApiError`] out. The rules come from
//! `api-reference.md`: the **last** `<Result>` decides; getuserinfo and calloverview succeed
//! without one; customer names are compared without the `*reseller` suffix; call records are
//! attributes; amounts and balances are decimals with a point.

use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::xml::{self, Element};
use super::{ApiError, Command, Refusal, UnknownCause};

/// createcustomer succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub customer: String,
    /// `name*reseller`, when the platform sends it.
    pub login_name: Option<String>,
}

/// settransaction succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub amount: Decimal,
    /// As sent, e.g. `2014-04-22 11:51:46 (UTC)`.
    pub date_time: Option<String>,
}

/// getuserinfo: one customer as the platform sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Bare name, suffix removed.
    pub customer: String,
    /// Truncated to two decimals by the platform.
    pub balance: Decimal,
    /// Up to five decimals.
    pub specific_balance: Option<Decimal>,
    pub blocked: bool,
    pub email: Option<String>,
    /// The `GeocallCLI` numbers, in the order sent.
    pub numbers: Vec<String>,
}

impl UserInfo {
    /// The balance to the fifth decimal when the platform sends it, else the truncated one.
    pub fn exact_balance(&self) -> Decimal {
        self.specific_balance.unwrap_or(self.balance)
    }
}

/// One call record of calloverview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub call_id: u64,
    pub call_type: String,
    pub customer: String,
    /// UTC.
    pub start: NaiveDateTime,
    pub destination: String,
    pub duration_secs: u32,
    pub charge: Decimal,
}

/// One page of calloverview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPage {
    pub calls: Vec<CallRecord>,
    pub more_data: bool,
    /// The `Count` attribute, unreliable (total or rows): informative only.
    pub count: Option<u64>,
}

/// The customer name without the `*reseller` suffix.
pub fn bare_customer(name: &str) -> &str {
    name.split_once('*').map_or(name, |(bare, _)| bare)
}

fn protocol(command: Command, detail: impl Into<String>) -> ApiError {
    ApiError::Protocol {
        command,
        detail: detail.into(),
    }
}

/// Reads the body and checks the root element. A body that is not this command's XML means
/// nothing trustworthy came back: the outcome is unknown.
fn document(command: Command, body: &[u8]) -> Result<Element, ApiError> {
    let bad_body = |what: String| ApiError::UnknownOutcome {
        command,
        cause: UnknownCause::BadBody(what),
    };
    let root = xml::parse(body).map_err(|e| bad_body(e.to_string()))?;
    // An unknown command is answered under the root `Request` (a guess of the reference).
    if root.name == command.root() || root.name == "Request" {
        Ok(root)
    } else {
        Err(bad_body(format!(
            "root element <{}>, expected <{}>",
            root.name,
            command.root()
        )))
    }
}

/// What the `<Result>`s of an answer say: `None` when there is none.
fn verdict(command: Command, root: &Element) -> Result<Option<()>, ApiError> {
    let mut pairs: Vec<(&str, Option<&str>)> = Vec::new();
    for child in &root.children {
        match child.name.as_str() {
            "Result" => pairs.push((child.text.trim(), None)),
            "Reason" => {
                if let Some(pair) = pairs.last_mut().filter(|p| p.1.is_none()) {
                    pair.1 = Some(child.text.as_str());
                }
            }
            _ => {}
        }
    }
    let Some(&(last, last_reason)) = pairs.last() else {
        return Ok(None);
    };
    match last {
        "Success" => Ok(Some(())),
        "Failed" => {
            let specific = pairs
                .iter()
                .filter(|(result, _)| *result == "Failed")
                .find_map(|(_, reason)| reason.and_then(Refusal::classify));
            let reason = specific.unwrap_or_else(|| match (command, last_reason) {
                (Command::CreateCustomer, _) => Refusal::CreateFailed,
                (_, Some(text)) => Refusal::Other(text.trim().to_string()),
                (_, None) => Refusal::Other(String::new()),
            });
            Err(ApiError::Refused { command, reason })
        }
        other => Err(protocol(
            command,
            format!("<Result> is {other:?}, expected Success or Failed"),
        )),
    }
}

/// Requires a `Success` verdict (for commands that always send `<Result>`).
fn succeeded(command: Command, root: &Element) -> Result<(), ApiError> {
    verdict(command, root)?.ok_or_else(|| protocol(command, "answer has no <Result>"))
}

fn text<'a>(command: Command, root: &'a Element, name: &str) -> Result<&'a str, ApiError> {
    root.child(name)
        .map(|e| e.text.trim())
        .ok_or_else(|| protocol(command, format!("answer has no <{name}>")))
}

fn decimal(command: Command, field: &str, value: &str) -> Result<Decimal, ApiError> {
    // Only digits, one point and a leading minus: `Decimal::from_str` alone would accept forms
    // such as `1_000`, and a comma must never be read as a point.
    let digits = value.strip_prefix('-').unwrap_or(value);
    let well_formed = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.');
    well_formed
        .then(|| Decimal::from_str(value).ok())
        .flatten()
        .ok_or_else(|| {
            protocol(
                command,
                format!("{field} {value:?} is not a decimal number"),
            )
        })
}

fn boolean(command: Command, field: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "True" => Ok(true),
        "False" => Ok(false),
        other => Err(protocol(
            command,
            format!("{field} {other:?} is not True or False"),
        )),
    }
}

/// Checks that an echoed customer name is the one asked for.
fn same_customer(command: Command, echoed: &str, asked: &str) -> Result<(), ApiError> {
    if bare_customer(echoed.trim()) == asked {
        Ok(())
    } else {
        Err(protocol(
            command,
            format!("answer is about customer {echoed:?}, not {asked:?}"),
        ))
    }
}

fn check_echo(command: Command, root: &Element, asked: &str) -> Result<(), ApiError> {
    match root.child("Customer") {
        Some(c) => same_customer(command, &c.text, asked),
        None => Ok(()),
    }
}

pub fn create_customer(body: &[u8], customer: &str) -> Result<Created, ApiError> {
    let command = Command::CreateCustomer;
    let root = document(command, body)?;
    succeeded(command, &root)?;
    let echoed = text(command, &root, "Customer")?;
    same_customer(command, echoed, customer)?;
    Ok(Created {
        customer: bare_customer(echoed).to_string(),
        login_name: root
            .child("CustomerLoginName")
            .map(|e| e.text.trim().to_string()),
    })
}

pub fn set_transaction(
    body: &[u8],
    customer: &str,
    amount: Decimal,
) -> Result<Transaction, ApiError> {
    let command = Command::SetTransaction;
    let root = document(command, body)?;
    succeeded(command, &root)?;
    check_echo(command, &root, customer)?;
    let echoed = decimal(command, "Amount", text(command, &root, "Amount")?)?;
    if echoed != amount {
        return Err(protocol(
            command,
            format!("answer confirms amount {echoed}, not {amount}"),
        ));
    }
    Ok(Transaction {
        amount: echoed,
        date_time: root.child("DateTime").map(|e| e.text.trim().to_string()),
    })
}

/// changeuserinfo, changepassword and resetpassword: a verdict and nothing else.
pub fn plain(command: Command, body: &[u8], customer: &str) -> Result<(), ApiError> {
    let root = document(command, body)?;
    succeeded(command, &root)?;
    check_echo(command, &root, customer)
}

/// validateuser: `true` when the password is the customer's, `false` when the platform says
/// the pair is unknown.
pub fn validate_user(body: &[u8], customer: &str) -> Result<bool, ApiError> {
    let command = Command::ValidateUser;
    match plain(command, body, customer) {
        Ok(()) => Ok(true),
        Err(ApiError::Refused {
            reason: Refusal::WrongCustomerPassword | Refusal::UnknownCustomer,
            ..
        }) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn get_user_info(body: &[u8], customer: &str) -> Result<UserInfo, ApiError> {
    let command = Command::GetUserInfo;
    let root = document(command, body)?;
    verdict(command, &root)?;
    let echoed = text(command, &root, "Customer")?;
    same_customer(command, echoed, customer)?;
    let balance = decimal(command, "Balance", text(command, &root, "Balance")?)?;
    let specific_balance = root
        .child("SpecificBalance")
        .map(|e| decimal(command, "SpecificBalance", e.text.trim()))
        .transpose()?;
    let blocked = boolean(command, "Blocked", text(command, &root, "Blocked")?)?;
    let email = root
        .child("EmailAddress")
        .map(|e| e.text.trim().to_string())
        .filter(|e| !e.is_empty());
    let numbers = root
        .children_named("GeocallCLI")
        .map(|e| e.text.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    Ok(UserInfo {
        customer: bare_customer(echoed).to_string(),
        balance,
        specific_balance,
        blocked,
        email,
        numbers,
    })
}

pub fn call_overview(body: &[u8]) -> Result<CallPage, ApiError> {
    let command = Command::CallOverview;
    let root = document(command, body)?;
    verdict(command, &root)?;
    let calls_el = root
        .child("Calls")
        .ok_or_else(|| protocol(command, "answer has no <Calls>"))?;
    let more_data = boolean(command, "MoreData", text(command, &root, "MoreData")?)?;
    let count = calls_el
        .attribute("Count")
        .map(|c| {
            c.trim()
                .parse::<u64>()
                .map_err(|_| protocol(command, format!("Count {c:?} is not a number")))
        })
        .transpose()?;
    let calls = calls_el
        .children_named("Call")
        .map(|call| call_record(command, call))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallPage {
        calls,
        more_data,
        count,
    })
}

fn call_record(command: Command, call: &Element) -> Result<CallRecord, ApiError> {
    let attr = |name: &str| {
        call.attribute(name)
            .ok_or_else(|| protocol(command, format!("<Call> has no {name} attribute")))
    };
    let call_id = attr("CallId")?;
    let call_id = call_id
        .trim()
        .parse::<u64>()
        .map_err(|_| protocol(command, format!("CallId {call_id:?} is not a number")))?;
    Ok(CallRecord {
        call_id,
        call_type: attr("CallType")?.to_string(),
        customer: attr("Customer")?.to_string(),
        start: parse_start_time(attr("StartTime")?)
            .ok_or_else(|| protocol(command, "StartTime is not `YYYY-MM-DD hh:mm:ss (UTC)`"))?,
        destination: attr("Destination")?.to_string(),
        duration_secs: parse_duration(attr("Duration")?)
            .ok_or_else(|| protocol(command, "Duration is not HH:MM:SS"))?,
        charge: decimal(command, "Charge", attr("Charge")?.trim())?,
    })
}

/// `2013-12-24 18:05:26  (UTC)`: the platform puts two spaces before `(UTC)`; one is accepted.
pub fn parse_start_time(value: &str) -> Option<NaiveDateTime> {
    let stamp = value.trim().strip_suffix("(UTC)")?.trim_end();
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()
}

/// `HH:MM:SS` (hours may exceed 23) to seconds.
pub fn parse_duration(value: &str) -> Option<u32> {
    let mut parts = value.trim().split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || [h, m, s]
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?);
    (m < 60 && s < 60).then(|| h.checked_mul(3600)?.checked_add(m * 60 + s))?
}

impl FromStr for Command {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL
            .into_iter()
            .find(|c| c.wire_name() == s)
            .ok_or_else(|| format!("unknown command {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_start_times() {
        assert_eq!(parse_duration("00:02:21"), Some(141));
        assert_eq!(parse_duration("25:00:00"), Some(90_000));
        assert_eq!(parse_duration("00:61:00"), None);
        assert_eq!(parse_duration("1:2"), None);
        assert_eq!(parse_duration("-1:00:00"), None);
        let t = parse_start_time("2013-12-24 18:05:26  (UTC)").unwrap();
        assert_eq!(t.to_string(), "2013-12-24 18:05:26");
        assert!(parse_start_time("2013-12-24 18:05:26 (UTC)").is_some());
        assert!(parse_start_time("2013-12-24 18:05:26").is_none());
    }

    #[test]
    fn decimals_need_a_point_never_a_comma() {
        let c = Command::GetUserInfo;
        assert_eq!(decimal(c, "x", "975").unwrap(), Decimal::from(975));
        assert_eq!(decimal(c, "x", "-1.5").unwrap().to_string(), "-1.5");
        for bad in ["1,86", "", "1.", ".5", "1_000", "1e3", "1.2.3", "--1"] {
            assert!(decimal(c, "x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suffix_is_removed() {
        assert_eq!(bare_customer("TestUser02*prov"), "TestUser02");
        assert_eq!(bare_customer("TestUser02"), "TestUser02");
    }
}
