//! The platform's behaviour, command by command, as `api-reference.md` describes it (guesses
//! included; each guess is marked `GUESS` here and listed in docs/guide/sandbox.md).
//!
//! Input: the decoded query parameters. Output: the XML answer, and at most one [`Op`] committed
//! to the store. Knows nothing of HTTP or faults.

use std::str::FromStr;

use chrono::{NaiveDateTime, Timelike};
use rust_decimal::Decimal;

use super::state::{Call, Op, Store, StoreError};
use super::xml::Doc;

const SUCCEEDED: &str = "Request completely succeeded";
const FAILED: &str = "Request completely or partially failed.";

/// The reseller login the sandbox accepts.
pub struct Platform {
    pub username: String,
    pub password: String,
}

/// Decoded query parameters, looked up by lower-case name.
#[derive(Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes a query string the way the platform does: `%XX` escapes, and a bare `+` is a space.
pub fn decode_query(query: &str) -> Params {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
                .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
                .flatten();
            match (bytes[i], escaped) {
                (_, Some(b)) => {
                    out.push(b);
                    i += 2;
                }
                (b'+', None) => out.push(b' '),
                (b, None) => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    Params(
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(pair), String::new()),
            })
            .collect(),
    )
}

/// The platform's own password rule (as mirrored by one client, M): 4-39 characters of
/// `a-z A-Z 0-9 - _ @ .`; no run of 4 equal characters; no 4-character ascending run of
/// `abc...xyz0123456789`, case-insensitive. Descending runs pass (unknown on the platform).
pub fn platform_accepts_password(password: &str) -> bool {
    const SEQUENCE: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = password.as_bytes();
    if !(4..=39).contains(&bytes.len())
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_@.".contains(b))
    {
        return false;
    }
    let lower: Vec<u8> = bytes.iter().map(|b| b.to_ascii_lowercase()).collect();
    let position = |b: u8| SEQUENCE.iter().position(|&s| s == b);
    !lower.windows(4).any(|w| {
        let equal = w.iter().all(|&b| b == w[0]);
        let ascending = w
            .iter()
            .map(|&b| position(b))
            .collect::<Option<Vec<_>>>()
            .is_some_and(|p| p.windows(2).all(|pair| pair[1] == pair[0] + 1));
        equal || ascending
    })
}

fn valid_customer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 140
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// How much of a change the sandbox applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Whole,
    Nothing,
    Half,
}

/// Amount as the platform takes it: optional minus, digits, at most two decimals after a point,
/// at most 10 characters.
fn parse_amount(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = text.len() <= 10
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    ok.then(|| Decimal::from_str(text).ok()).flatten()
}

/// The shortest form of a decimal: `5.00` -> `5`, `2.50` -> `2.5`.
fn shortest(d: Decimal) -> String {
    d.normalize().to_string()
}

/// `Balance`: truncated (not rounded) to two decimals, trailing zeros dropped.
fn truncated_balance(d: Decimal) -> String {
    shortest(d.trunc_with_scale(2))
}

fn stamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn duration(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// An answer, and the change to commit before sending it.
pub struct Reply {
    pub xml: String,
    pub op: Option<Op>,
}

fn reply(doc: Doc) -> Reply {
    Reply {
        xml: doc.finish(),
        op: None,
    }
}

fn failed(root: &'static str, reason: &str) -> Reply {
    reply(Doc::new(root).result(false, reason))
}

impl Platform {
    fn login_name(&self, customer: &str) -> String {
        let reseller = self.username.split('*').next().unwrap_or("");
        format!("{customer}*{reseller}")
    }

    /// Handles one API request: validates, commits at most one op, returns the answer.
    pub fn handle(
        &self,
        store: &mut Store,
        params: &Params,
        now: NaiveDateTime,
    ) -> Result<String, StoreError> {
        self.handle_as(store, params, now, Apply::Whole)
    }

    /// Answers the request and applies `how` much of its change (a dishonest platform's
    /// faults answer success for what they do not apply).
    pub fn handle_as(
        &self,
        store: &mut Store,
        params: &Params,
        now: NaiveDateTime,
        how: Apply,
    ) -> Result<String, StoreError> {
        let now = now.with_nanosecond(0).unwrap_or(now);
        let reply = self.answer(store, params, now);
        let op = match (how, reply.op) {
            (Apply::Whole, op) => op,
            (Apply::Nothing, _) => None,
            (
                Apply::Half,
                Some(Op::Transaction {
                    customer,
                    amount,
                    at,
                }),
            ) => Some(Op::Transaction {
                customer,
                amount: (amount / Decimal::from(2))
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero),
                at,
            }),
            (Apply::Half, op) => op,
        };
        if let Some(op) = op {
            store.commit(op)?;
        }
        Ok(reply.xml)
    }

    fn answer(&self, store: &Store, params: &Params, now: NaiveDateTime) -> Reply {
        let command = params.get("command").unwrap_or("").to_ascii_lowercase();
        let root = match command.as_str() {
            "createcustomer" => "CreateAccount",
            "settransaction" => "Transaction",
            "changeuserinfo" => "ChangeUserInfo",
            "changepassword" => "ChangePassword",
            "validateuser" => "ValidateUser",
            "getuserinfo" => "GetUserInfo",
            "calloverview" => "CallOverview",
            "resetpassword" => "ResetPassword",
            // GUESS: an unknown command is answered under the root `Request`.
            _ => return failed("Request", "Unknown command"),
        };
        // GUESS: the wrong-login reason text.
        if params.get("username") != Some(self.username.as_str())
            || params.get("password") != Some(self.password.as_str())
        {
            return failed(root, "Reseller/Password combination unknown");
        }
        // GUESS: the missing-parameter answer.
        let required: &[&str] = match command.as_str() {
            "createcustomer" | "validateuser" => &["customer", "customerpassword"],
            "settransaction" => &["customer", "amount"],
            "changepassword" => &["customer", "oldcustomerpassword", "newcustomerpassword"],
            "resetpassword" => &["customer", "newcustomerpassword"],
            _ => &["customer"],
        };
        if let Some(missing) = required.iter().find(|p| params.get(p).is_none()) {
            return failed(root, &format!("Missing parameter: {missing}"));
        }
        let customer = params.get("customer").unwrap_or("");
        let state = store.state();
        let existing = state.customers.get(customer);
        match command.as_str() {
            "createcustomer" => self.create(store, params, customer, now),
            "settransaction" => {
                let Some(amount) = params.get("amount").and_then(parse_amount) else {
                    // The platform's reason carries a trailing space.
                    return failed(root, "Invalid format: Amount ");
                };
                let Some(c) = existing else {
                    return failed(root, "Unknown customer"); // GUESS
                };
                let short = if amount.is_sign_positive() {
                    state.reseller_credit < amount
                } else {
                    c.balance < -amount
                };
                if short {
                    return failed(root, "Not enough credit"); // GUESS
                }
                Reply {
                    xml: Doc::new(root)
                        .element("Customer", customer)
                        .element("Amount", &shortest(amount))
                        .element("DateTime", &format!("{} (UTC)", stamp(now)))
                        .element("Result", "Success")
                        .finish(),
                    op: Some(Op::Transaction {
                        customer: customer.to_string(),
                        amount,
                        at: now,
                    }),
                }
            }
            "changeuserinfo" => {
                let doc = Doc::new(root).element("Customer", &self.login_name(customer));
                if existing.is_none() {
                    return reply(doc.result(false, "Unknown customer").result(false, FAILED));
                }
                let customer = customer.to_string();
                let (reason, op) = if let Some(flag) = params.get("customerblocked") {
                    let blocked = match flag.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return reply(
                                doc.result(false, "Invalid format: CustomerBlocked")
                                    .result(false, FAILED),
                            );
                        }
                    };
                    (
                        "CustomerBlocked Changed",
                        Op::SetBlocked { customer, blocked },
                    )
                } else if let Some(option) = params.get("geocallcli_options") {
                    let number = params.get("geocallcli").unwrap_or("").to_string();
                    if number.is_empty() || number.len() > 23 {
                        return reply(
                            doc.result(false, "Invalid format: GeoCallCLI")
                                .result(false, FAILED),
                        );
                    }
                    match option.to_ascii_lowercase().as_str() {
                        "add" => ("GeoCallCLI Changed", Op::AddNumber { customer, number }),
                        // GUESS: delete answers like add, also for a number not attached.
                        "delete" => ("GeoCallCLI Changed", Op::DeleteNumber { customer, number }),
                        _ => {
                            return reply(
                                doc.result(false, "Invalid format: GeoCallCLI_Options")
                                    .result(false, FAILED),
                            );
                        }
                    }
                } else {
                    return failed(root, "Missing parameter: customerblocked");
                };
                Reply {
                    xml: doc.result(true, reason).result(true, SUCCEEDED).finish(),
                    op: Some(op),
                }
            }
            "changepassword" | "resetpassword" => {
                let doc = Doc::new(root).element("Customer", &self.login_name(customer));
                let Some(c) = existing else {
                    return reply(doc.result(false, "Unknown customer")); // GUESS
                };
                if command == "changepassword"
                    && params.get("oldcustomerpassword") != Some(c.password.as_str())
                {
                    return reply(doc.result(false, "User/Password combination unknown"));
                }
                let new = params.get("newcustomerpassword").unwrap_or("");
                if !platform_accepts_password(new) {
                    return reply(doc.result(
                        false,
                        "The new password was denied because it is not secure enough",
                    ));
                }
                Reply {
                    // GUESS: the success answer.
                    xml: doc.element("Result", "Success").finish(),
                    op: Some(Op::SetPassword {
                        customer: customer.to_string(),
                        password: new.to_string(),
                    }),
                }
            }
            "validateuser" => {
                let doc = Doc::new(root).element("Customer", &self.login_name(customer));
                let matches = existing
                    .is_some_and(|c| params.get("customerpassword") == Some(c.password.as_str()));
                if matches {
                    reply(doc.element("Result", "Success"))
                } else {
                    reply(doc.result(false, "User/Password combination unknown")) // GUESS
                }
            }
            "getuserinfo" => {
                let doc = Doc::new(root).element("Customer", &self.login_name(customer));
                let Some(c) = existing else {
                    return reply(doc.result(false, "Unable to get user info"));
                };
                // GUESS: a wrong optional customer password fails like validateuser.
                if params
                    .get("customerpassword")
                    .is_some_and(|p| p != c.password)
                {
                    return reply(doc.result(false, "User/Password combination unknown"));
                }
                let mut doc = doc
                    .element("Balance", &truncated_balance(c.balance))
                    .element("SpecificBalance", &shortest(c.balance))
                    .element("Blocked", if c.blocked { "True" } else { "False" })
                    .element("EmailAddress", "");
                for n in &c.numbers {
                    doc = doc.element("GeocallCLI", n);
                }
                reply(doc)
            }
            "calloverview" => {
                let Some(c) = existing else {
                    return failed(root, "Unable to get user info");
                };
                match call_page(&c.calls, params, now) {
                    Ok((rows, more)) => reply(
                        Doc::new(root)
                            .attribute_list(
                                "Calls",
                                &[("Count", rows.len().to_string())],
                                "Call",
                                &rows.iter().map(|c| call_attributes(c)).collect::<Vec<_>>(),
                            )
                            .element("MoreData", if more { "True" } else { "False" }),
                    ),
                    Err(field) => failed(root, &format!("Invalid format: {field}")), // GUESS
                }
            }
            _ => unreachable!("command matched above"),
        }
    }

    fn create(&self, store: &Store, params: &Params, customer: &str, now: NaiveDateTime) -> Reply {
        let root = "CreateAccount";
        let password = params.get("customerpassword").unwrap_or("");
        let cli = params.get("geocallcli").filter(|c| !c.is_empty());
        let tariff = params.get("tariffrate").map(|t| t.parse::<i64>());
        // The platform gives one answer for every failure, "exists already" included.
        let ok = valid_customer_name(customer)
            && !store.state().customers.contains_key(customer)
            && platform_accepts_password(password)
            && cli.is_none_or(|c| c.len() <= 23)
            && !matches!(tariff, Some(Err(_)));
        if !ok {
            return reply(
                Doc::new(root)
                    .element("Customer", customer)
                    .result(false, FAILED),
            );
        }
        let tariff = tariff.and_then(Result::ok);
        let mut doc = Doc::new(root)
            .element("Customer", customer)
            .element("CustomerLoginName", &self.login_name(customer));
        if cli.is_some() {
            doc = doc.result(true, "GeoCall added"); // GUESS: present only with geocallcli
        }
        if tariff.is_some() {
            doc = doc.result(true, "Tarifflist added");
        }
        Reply {
            xml: doc.result(true, SUCCEEDED).finish(),
            op: Some(Op::Create {
                customer: customer.to_string(),
                password: password.to_string(),
                cli: cli.map(str::to_string),
                tariff,
                at: now,
            }),
        }
    }
}

fn call_attributes(c: &Call) -> Vec<(&'static str, String)> {
    vec![
        ("CallType", c.call_type.clone()),
        ("Customer", "this account".to_string()),
        // Two spaces before (UTC), as the platform writes it.
        ("StartTime", format!("{}  (UTC)", stamp(c.start))),
        ("Destination", c.destination.clone()),
        ("Duration", duration(c.duration_secs)),
        ("Charge", shortest(c.charge)),
        ("CallId", c.call_id.to_string()),
    ]
}

/// Selects one page of call records. GUESS (L): `date` is an exclusive bound; with a non-zero
/// `callid`, the bound is the pair (date, callid), so records sharing the boundary second are
/// neither lost nor repeated.
fn call_page<'a>(
    calls: &'a [Call],
    params: &Params,
    now: NaiveDateTime,
) -> Result<(Vec<&'a Call>, bool), &'static str> {
    let date = match params.get("date") {
        Some(d) => NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").map_err(|_| "date")?,
        None => now,
    };
    let call_id = match params.get("callid") {
        Some(c) => c.parse::<u64>().map_err(|_| "callid")?,
        None => 0,
    };
    let count = match params.get("recordcount") {
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or("recordcount")?,
        None => 10,
    };
    let forward = match params
        .get("direction")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("backward") => false,
        Some("forward") => true,
        Some(_) => return Err("direction"),
    };
    let bound = (date, call_id);
    let mut selected: Vec<&Call> = calls
        .iter()
        .filter(|c| {
            let key = (c.start, if call_id == 0 { 0 } else { c.call_id });
            if forward { key > bound } else { key < bound }
        })
        .collect();
    selected.sort_by_key(|c| (c.start, c.call_id));
    if !forward {
        selected.reverse();
    }
    let more = selected.len() > count;
    selected.truncate(count);
    Ok((selected, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_password_rule() {
        for ok in ["Ab3-x9Kq", "abd1", "dcba", "aaa1", "zyx9"] {
            assert!(platform_accepts_password(ok), "{ok}");
        }
        for bad in [
            "abc",
            "aaaa1",
            "xAbCd",
            "xyz0",
            "1234",
            "a b1",
            &"a1".repeat(20),
        ] {
            assert!(!platform_accepts_password(bad), "{bad}");
        }
    }

    #[test]
    fn amounts_and_balances() {
        assert_eq!(parse_amount("5.00"), Some(Decimal::from(5)));
        assert_eq!(
            parse_amount("-2.5"),
            Some(Decimal::from_str("-2.5").unwrap())
        );
        for bad in [
            "250,00",
            "2.505",
            "",
            "1.",
            ".5",
            "+5",
            "12345678.00",
            "1e2",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(shortest(Decimal::from_str("5.00").unwrap()), "5");
        let b = |s: &str| truncated_balance(Decimal::from_str(s).unwrap());
        assert_eq!(b("1.86828"), "1.86");
        assert_eq!(b("975.00000"), "975");
        assert_eq!(b("1.80"), "1.8");
        assert_eq!(duration(3 * 3600 + 61), "03:01:01");
    }

    #[test]
    fn query_decoding_reads_plus_as_space() {
        let p = decode_query("a=%2B44&b=+44&c=%zz&d");
        assert_eq!(p.get("a"), Some("+44"));
        assert_eq!(p.get("b"), Some(" 44"));
        assert_eq!(p.get("c"), Some("%zz"));
        assert_eq!(p.get("d"), Some(""));
    }
}
