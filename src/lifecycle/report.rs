//! Reading issued cards back from the platform: status (balance, usage, blocked flag, numbers),
//! call records (paged until `MoreData` is False) and the audit against the ledger.
//! Reads only: nothing here sends a change.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::api::{ApiError, CallRecord, Command, Refusal, UserInfo};
use crate::ledger::{Card, Intent, IntentStatus, Movement};
use crate::runner::{Ctx, Failure, Outcome, evidence};

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

/// The audit of one card: the account exists, the ledger's password opens it, its blocked
/// flag and numbers agree with the ledger, and every cent of its balance is accounted for:
/// the balance equals what the ledger loaded (face value, top-ups, movements) less the
/// charges of every call the platform records (paged in full). `intents`: the card's
/// intents, to name a difference by the change that explains it.
/// `moved`: the movement the card's credit left by, if any: what it leaves behind is known.
pub fn audit(
    ctx: &mut Ctx<'_>,
    card: &Card,
    intents: &[Intent],
    moved: Option<&Movement>,
) -> Result<Vec<String>, Outcome> {
    let (info, read_at) = match ctx.user_info(card).map_err(Failure::outcome)? {
        (Some(info), at) => (info, at),
        (None, _) => return Ok(vec!["the account does not exist on the platform".into()]),
    };
    let mut problems = differences(card, &info);
    // The balance against the ledger: reconciled below, to the cent.
    problems.retain(|p| !p.starts_with("balance "));
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
    let calls = ctx
        .calls(card, Some(NaiveDateTime::default()))
        .map_err(Failure::outcome)?;
    // Only the calls charged by the time the balance was read: those that ended near the read
    // may be in it or not, and one that ended after it is not in it.
    let (charged, near) =
        evidence::charged_by(&evidence::charges(&calls), read_at, ctx.client.clock());
    if let Some(why) = reconcile(
        card,
        info.exact_balance(),
        charged,
        &near,
        calls.len(),
        intents,
    ) {
        problems.push(why);
    }
    if let Some(why) = moved.and_then(|m| overdrawn_after(card, m, info.exact_balance())) {
        problems.push(why);
    }
    Ok(problems)
}

/// A card whose credit moved stands lower than the movement left it (below zero by more than
/// it recorded): calls billed after the read that followed the deduction, on a platform that
/// lets a call in progress overdraw. The card that received the credit got that much more
/// than this one held; cardmint cannot take it back.
fn overdrawn_after(card: &Card, m: &Movement, balance: Decimal) -> Option<String> {
    let left = -m.overdrawn.unwrap_or_default();
    let below = left - balance;
    (m.is_done() && balance < Decimal::ZERO && below >= Decimal::new(1, 2)).then(|| {
        format!(
            "below zero by {} after its credit moved ({} #{}): a call billed after the \
             movement's last read; the card that received the credit got {} more than this \
             one held; see `cardmint card {}`",
            (-balance).normalize(),
            m.kind.as_str(),
            m.id,
            below.normalize(),
            card.serial
        )
    })
}

/// What a balance that does not reconcile says, or `None` when it does: balance = loaded -
/// charges, within the platform's rounding (a hundred-thousandth per call). A difference is
/// named by the change that would explain it (one the ledger counts as applied and the
/// platform does not show, or shows half of, or shows twice; one still open), else as credit
/// or a debit the ledger does not know; each with the command that investigates it.
pub fn reconcile(
    card: &Card,
    balance: Decimal,
    charged: Decimal,
    near: &[Decimal],
    calls: usize,
    intents: &[Intent],
) -> Option<String> {
    if near.len() > 12 {
        return Some(format!(
            "{} calls ended too close to the balance read to reconcile it: run `cardmint audit` \
             again when the card is idle",
            near.len()
        ));
    }
    let loaded = card.loaded();
    let rounding = Decimal::new(1, 5) * Decimal::from(calls.max(1));
    // A call that ended near the read may be on either side of it: every split is a candidate
    // for what the balance holds.
    let candidates: Vec<Decimal> = (0u32..1 << near.len())
        .map(|mask| {
            charged
                + near
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, c)| *c)
                    .sum::<Decimal>()
        })
        .collect();
    if candidates
        .iter()
        .any(|c| (balance - (loaded - c)).abs() <= rounding)
    {
        return None;
    }
    let look = format!(
        "see `cardmint card {}` and `cardmint calls {}`",
        card.serial, card.serial
    );
    let seen = |charged: Decimal| {
        format!(
            "balance {} where the ledger loaded {} and the calls charged {} ({} expected)",
            balance.normalize(),
            loaded.normalize(),
            charged.normalize(),
            (loaded - charged).normalize()
        )
    };
    // Most calls near the read ended before it: the splits with more of them in the balance
    // are tried first.
    for charged in candidates.iter().rev() {
        let diff = balance - (loaded - charged);
        if let Some(why) = named(&card.serial, diff, rounding, intents) {
            return Some(format!("{}: {why}; {look}", seen(*charged)));
        }
    }
    let charged = candidates.last().copied().unwrap_or(charged);
    let diff = balance - (loaded - charged);
    Some(if diff > Decimal::ZERO {
        format!(
            "{}: {} of credit the ledger does not know (an unknown transaction, or a change \
             made outside cardmint); {look}",
            seen(charged),
            diff.normalize()
        )
    } else {
        format!(
            "{}: {} missing that no call or change of the ledger explains (an unknown \
             deduction); {look}",
            seen(charged),
            (-diff).normalize()
        )
    })
}

/// A balance difference named by the changes of the ledger that explain it: one change if one
/// does, else two (a card can meet two faults). Each change may be off in one way: still open
/// and shown, answered as applied and showing nothing or half, settled "not applied" and
/// landed later, or shown twice; the ways are tried in that order of likelihood, so that a
/// change applied nothing is not taken for another doubled.
fn named(serial: &str, diff: Decimal, rounding: Decimal, intents: &[Intent]) -> Option<String> {
    let near = |a: Decimal, b: Decimal| (a - b).abs() <= rounding;
    // (rank of likelihood, effect on the balance, explanation)
    let mut ways: Vec<(u8, Decimal, String)> = Vec::new();
    for i in intents {
        let Some(a) = i.kind.amount() else { continue };
        let named = format!("{} (#{})", i.kind, i.id);
        let shown = a.abs().normalize();
        match i.status {
            IntentStatus::Open | IntentStatus::Unsettled => ways.push((
                0,
                a,
                format!(
                    "{named} is still {} and the platform shows it: run `cardmint settle {}`",
                    i.status.as_str(),
                    serial
                ),
            )),
            IntentStatus::Applied => {
                ways.push((
                    1,
                    -a,
                    format!(
                        "the platform does not show {named} ({shown}), though it answered \
                         success (applied nothing)"
                    ),
                ));
                ways.push((
                    2,
                    -a / Decimal::from(2),
                    format!(
                        "the platform shows only half of {named} ({} of {shown}: half-applied)",
                        (a / Decimal::from(2)).abs().normalize()
                    ),
                ));
            }
            IntentStatus::NotApplied => ways.push((
                3,
                a,
                format!(
                    "the platform shows {named} ({shown}), settled as not applied (it landed \
                     after its settle read)"
                ),
            )),
        }
        if i.status == IntentStatus::Applied {
            ways.push((
                4,
                a,
                format!(
                    "the platform shows {named} ({shown}) twice (doubled: a late change landed \
                     after its settle read?)"
                ),
            ));
        }
    }
    ways.sort_by_key(|(rank, _, _)| *rank);
    let amount = format!(
        "{} {}",
        diff.abs().normalize(),
        if diff < Decimal::ZERO {
            "missing"
        } else {
            "too much"
        }
    );
    // Half of an odd number of cents is applied rounded either way.
    let half_cent = Decimal::new(5, 3);
    if let Some((_, _, why)) = ways.iter().find(|(rank, effect, _)| {
        near(diff, *effect) || (*rank == 2 && (diff - *effect).abs() <= rounding + half_cent)
    }) {
        return Some(format!("{amount}: {why}"));
    }
    // A change sent again and again while its earlier sends landed late: several settled "not
    // applied", all shown. Before two unrelated faults, which are less likely.
    let landed: Vec<&Intent> = intents
        .iter()
        .filter(|i| i.status == IntentStatus::NotApplied && i.kind.amount().is_some())
        .collect();
    let mut sum = Decimal::ZERO;
    for (k, i) in landed.iter().enumerate() {
        sum += i.kind.amount().unwrap_or_default();
        if k >= 1 && near(diff, sum) {
            let ids: Vec<String> = landed[..=k].iter().map(|i| format!("#{}", i.id)).collect();
            return Some(format!(
                "{amount}: the platform shows {} changes settled as not applied ({}: {}); they \
                 landed after their settle reads",
                k + 1,
                landed[0].kind,
                ids.join(", ")
            ));
        }
    }
    for (n, (_, first, why)) in ways.iter().enumerate() {
        if let Some((_, _, other)) = ways[n + 1..]
            .iter()
            .find(|(_, second, w)| !same_change(why, w) && near(diff, *first + *second))
        {
            return Some(format!("{amount}: {why}; and {other}"));
        }
    }
    None
}

/// Whether two explanations are about the same change (its `(#id)`).
fn same_change(a: &str, b: &str) -> bool {
    let id = |s: &str| {
        s.split("(#")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_string)
    };
    id(a).is_some() && id(a) == id(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Before, IntentKind};

    fn intent(id: i64, kind: IntentKind) -> Intent {
        Intent {
            id,
            card_id: 1,
            batch_id: "B0001".into(),
            kind,
            before: Before::default(),
            status: IntentStatus::Applied,
            evidence: None,
            created_at: String::new(),
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn two_faults_on_one_card_are_both_named() {
        // Face value 5, two redeems of 5 loaded onto it: one applied nothing, one half.
        let intents = [
            intent(1, IntentKind::Credit(d("5"))),
            intent(
                2,
                IntentKind::Move {
                    amount: d("5"),
                    movement: 1,
                },
            ),
            intent(
                3,
                IntentKind::Move {
                    amount: d("5"),
                    movement: 2,
                },
            ),
        ];
        let why = named("0000000013", d("-7.5"), d("0.00001"), &intents).unwrap();
        assert!(why.starts_with("7.5 missing"), "{why}");
        assert!(
            why.contains("applied nothing") && why.contains("half-applied"),
            "{why}"
        );
        // A deduction that applied nothing is not the face value doubled.
        let intents = [
            intent(1, IntentKind::Credit(d("5"))),
            intent(
                2,
                IntentKind::Deduct {
                    amount: d("5"),
                    movement: 1,
                },
            ),
        ];
        let why = named("0000000013", d("5"), d("0.00001"), &intents).unwrap();
        assert!(
            why.contains("deduct 5.00") && why.contains("applied nothing"),
            "{why}"
        );
    }

    #[test]
    fn a_change_sent_again_and_again_that_landed_each_time_is_named_as_such() {
        // Found by an adversary: a top-up of 1.00 sent five times (four settled not applied,
        // one applied), all five landed: 4 too much was blamed on two unrelated faults.
        let mut intents = vec![intent(6, IntentKind::Credit(d("5")))];
        for id in 13..18 {
            let mut i = intent(id, IntentKind::Topup(d("1")));
            if id < 17 {
                i.status = IntentStatus::NotApplied;
            }
            intents.push(i);
        }
        for (diff, count) in [("4", "4 changes"), ("3", "3 changes")] {
            let why = named("0000000013", d(diff), d("0.00005"), &intents).unwrap();
            assert!(why.contains(count) && why.contains("#13"), "{why}");
        }
        // Half of an odd number of cents, applied rounded.
        let intents = [
            intent(1, IntentKind::Credit(d("5"))),
            intent(
                2,
                IntentKind::Deduct {
                    amount: d("4.49"),
                    movement: 1,
                },
            ),
        ];
        let why = named("0000000013", d("2.25"), d("0.00001"), &intents).unwrap();
        assert!(why.contains("half-applied"), "{why}");
    }
}
