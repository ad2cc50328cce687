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

/// One card's [`Reckoning`]; no account is refused as `status` refuses it.
pub fn reckoning(ctx: &mut Ctx<'_>, card: &Card) -> Result<Reckoning, Outcome> {
    match Reckoning::read(ctx, card)? {
        Some((_, reckoning)) => Ok(reckoning),
        None => Err(Failure::Refused(unknown_customer()).outcome()),
    }
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
    let Some((info, reckoning)) = Reckoning::read(ctx, card)? else {
        return Ok(vec!["the account does not exist on the platform".into()]);
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
    if let Some(why) = reckoning.reconcile(&card.serial, intents) {
        problems.push(why);
    }
    if let Some(why) = moved.and_then(|m| overdrawn_after(card, m, reckoning.balance)) {
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
            crate::text::money(-balance),
            m.kind.as_str(),
            m.id,
            crate::text::money(below),
            card.serial
        )
    })
}

/// A card's balance read with its whole history: what the ledger loaded on it, and the charges
/// of every call the platform records by that read (for certain, and those that ended near it,
/// which may be in the balance or not). The balance should be the loaded less the charges.
#[derive(Debug, Clone)]
pub struct Reckoning {
    pub balance: Decimal,
    loaded: Decimal,
    charged: Decimal,
    near: Vec<Decimal>,
    calls: usize,
}

/// What credit left a card that its history does not explain ([`Reckoning::left`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left {
    /// The history explains the balance: nothing left the card unknown to the ledger.
    Nothing,
    /// This many whole cents left it (a deduction the ledger does not hold).
    Cents(Decimal),
    /// Calls ended too close to the read to tell: read again when the card is idle.
    TooNear(String),
    /// No whole-cent deduction explains the balance (credit added, or taken in part).
    Unexplained(String),
}

impl Reckoning {
    /// Reads the account, then every call it ever made (`None`: no such account). Only the
    /// calls charged by the time the balance was read count: those that ended near the read
    /// may be in it or not, and one that ended after it is not in it.
    pub fn read(ctx: &mut Ctx<'_>, card: &Card) -> Result<Option<(UserInfo, Self)>, Outcome> {
        let (info, read_at) = match ctx.user_info(card).map_err(Failure::outcome)? {
            (Some(info), at) => (info, at),
            (None, _) => return Ok(None),
        };
        let calls = ctx
            .calls(card, Some(NaiveDateTime::default()))
            .map_err(Failure::outcome)?;
        let (charged, near) =
            evidence::charged_by(&evidence::charges(&calls), read_at, ctx.client.clock());
        let reckoning = Reckoning {
            balance: info.exact_balance(),
            loaded: card.loaded(),
            charged,
            near,
            calls: calls.len(),
        };
        Ok(Some((info, reckoning)))
    }

    /// The platform's rounding: a hundred-thousandth per call.
    fn rounding(&self) -> Decimal {
        Decimal::new(1, 5) * Decimal::from(self.calls.max(1))
    }

    /// Too many calls ended near the read to try every split of them.
    fn too_near(&self) -> Option<String> {
        (self.near.len() > 12).then(|| {
            format!(
                "{} calls ended too close to the balance read to reconcile it",
                self.near.len()
            )
        })
    }

    /// What the calls may have charged by the read: one figure per split of those that ended
    /// near it, the splits with fewer of them in the balance first.
    fn candidates(&self) -> Vec<Decimal> {
        (0u32..1 << self.near.len())
            .map(|mask| {
                self.charged
                    + self
                        .near
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, c)| *c)
                        .sum::<Decimal>()
            })
            .collect()
    }

    /// How far the balance stands from the history with these charges (above it: positive).
    fn gap(&self, charged: Decimal) -> Decimal {
        self.balance - (self.loaded - charged)
    }

    fn seen(&self, charged: Decimal) -> String {
        format!(
            "balance {} where the ledger loaded {} and the calls charged {} ({} expected)",
            crate::text::money(self.balance),
            crate::text::money(self.loaded),
            crate::text::money(charged),
            crate::text::money(self.loaded - charged)
        )
    }

    fn reconciles(&self) -> bool {
        let rounding = self.rounding();
        self.candidates()
            .iter()
            .any(|c| self.gap(*c).abs() <= rounding)
    }

    /// What a balance that does not reconcile says, or `None` when it does, within the
    /// platform's rounding. A difference is named by the change that would explain it (one the
    /// ledger counts as applied and the platform does not show, or shows half of, or shows
    /// twice; one still open), else as credit or a debit the ledger does not know; each with
    /// the command that investigates it.
    pub fn reconcile(&self, serial: &str, intents: &[Intent]) -> Option<String> {
        if let Some(why) = self.too_near() {
            return Some(format!(
                "{why}: run `cardmint audit` again when the card is idle"
            ));
        }
        if self.reconciles() {
            return None;
        }
        let rounding = self.rounding();
        let look = format!("see `cardmint card {serial}` and `cardmint calls {serial}`");
        // Most calls near the read ended before it: the splits with more of them in the
        // balance are tried first.
        let candidates = self.candidates();
        for charged in candidates.iter().rev() {
            if let Some(why) = named(serial, self.gap(*charged), rounding, intents) {
                return Some(format!("{}: {why}; {look}", self.seen(*charged)));
            }
        }
        let charged = candidates.last().copied().unwrap_or(self.charged);
        let diff = self.gap(charged);
        Some(if diff > Decimal::ZERO {
            format!(
                "{}: {} of credit the ledger does not know (an unknown transaction, or a change \
                 made outside cardmint); {look}",
                self.seen(charged),
                crate::text::money(diff)
            )
        } else {
            format!(
                "{}: {} missing that no call or change of the ledger explains (an unknown \
                 deduction); {look}",
                self.seen(charged),
                crate::text::money(-diff)
            )
        })
    }

    /// The credit that left the card beyond what the ledger knows, in whole cents: what a
    /// movement claimed in a restored copy finds when its deduction was applied after the copy
    /// was taken. Judged by the same rule as the audit's reconciliation.
    pub fn left(&self) -> Left {
        if let Some(why) = self.too_near() {
            return Left::TooNear(why);
        }
        if self.reconciles() {
            return Left::Nothing;
        }
        let rounding = self.rounding();
        let candidates = self.candidates();
        let cents: BTreeSet<Decimal> = candidates
            .iter()
            .filter_map(|charged| {
                let left = -self.gap(*charged);
                let cents = left.round_dp(2);
                (cents > Decimal::ZERO && (left - cents).abs() <= rounding)
                    .then(|| cents.normalize())
            })
            .collect();
        let mut cents = cents.into_iter();
        match (cents.next(), cents.next()) {
            (Some(left), None) => Left::Cents(left),
            (Some(_), Some(_)) => Left::TooNear(
                "calls ended too close to the balance read to tell what left the card".into(),
            ),
            (None, _) => {
                let charged = candidates.last().copied().unwrap_or(self.charged);
                Left::Unexplained(format!(
                    "{}: no deduction in whole cents explains it",
                    self.seen(charged)
                ))
            }
        }
    }
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
        let shown = crate::text::money(a.abs());
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
                        crate::text::money((a / Decimal::from(2)).abs())
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
        crate::text::money(diff.abs()),
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

    fn reckoning(balance: &str, loaded: &str, charged: &str, near: &[&str]) -> Reckoning {
        Reckoning {
            balance: d(balance),
            loaded: d(loaded),
            charged: d(charged),
            near: near.iter().map(|n| d(n)).collect(),
            calls: 1 + near.len(),
        }
    }

    #[test]
    fn what_left_a_card_beyond_its_history_is_found_in_whole_cents() {
        // Calls charged 0.01667 of 5: 4.98333 held, 4.98 deducted, 0.00333 stays.
        assert_eq!(
            reckoning("0.00333", "5", "0.01667", &[]).left(),
            Left::Cents(d("4.98"))
        );
        // Within the platform's rounding of a hundred-thousandth per call.
        assert_eq!(
            reckoning("0.00334", "5", "0.01667", &[]).left(),
            Left::Cents(d("4.98"))
        );
        assert_eq!(
            reckoning("4.98333", "5", "0.01667", &[]).left(),
            Left::Nothing
        );
        // A call near the read: the split that leaves whole cents is the one.
        assert_eq!(
            reckoning("0.00333", "5", "0", &["0.01667"]).left(),
            Left::Cents(d("4.98"))
        );
        // Two splits that both leave whole cents: read again later.
        assert!(matches!(
            reckoning("0", "5", "0", &["0.50"]).left(),
            Left::TooNear(_)
        ));
        // Not whole cents, or credit the ledger never loaded: for a human.
        assert!(matches!(
            reckoning("0.005", "5", "0", &[]).left(),
            Left::Unexplained(_)
        ));
        assert!(matches!(
            reckoning("7", "5", "0", &[]).left(),
            Left::Unexplained(_)
        ));
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
        assert!(why.starts_with("7.50 missing"), "{why}");
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
