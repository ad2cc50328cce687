//! The card state machine, pure: which step comes next, and what the platform's view of an
//! account says about the steps already done (reconciliation after an unknown outcome).

use rust_decimal::Decimal;

use crate::api::UserInfo;
use crate::ledger::{Card, Progress};

/// The next provisioning step of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// createcustomer, with the first CLI number and the tariff.
    Create,
    /// changeuserinfo customerblocked=true: retail stock is inert until sold.
    Block,
    /// settransaction of the face value. Never sent twice: an unknown outcome is reconciled
    /// against the balance first.
    Credit,
    /// changeuserinfo add for every further CLI number.
    AddNumbers,
    Done,
}

/// Steps in order: create, block (unless issued active), credit, further numbers.
pub fn next_step(progress: &Progress, active: bool) -> Step {
    if !progress.created {
        Step::Create
    } else if !progress.blocked && !active {
        Step::Block
    } else if !progress.credited {
        Step::Credit
    } else if !progress.numbers {
        Step::AddNumbers
    } else {
        Step::Done
    }
}

/// What reconciliation concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// The steps the platform shows as done, and the CLI numbers still to add.
    Progress(Progress, Vec<String>),
    /// The account exists and our password does not open it: the code is someone else's.
    NotOurs,
    /// The account is in a state cardmint must not guess about.
    Conflict(String),
}

/// Derives progress from the platform's view. `info` is `None` when the account does not
/// exist; `ours` is the validateuser answer when it was asked (only before the ledger has seen
/// the account created by us).
pub fn reconcile(
    card: &Card,
    active: bool,
    info: Option<&UserInfo>,
    ours: Option<bool>,
) -> Reconciled {
    let Some(info) = info else {
        return Reconciled::Progress(
            Progress::default(),
            card.numbers.iter().skip(1).cloned().collect(),
        );
    };
    if ours == Some(false) {
        return Reconciled::NotOurs;
    }
    // A fresh account holds nothing until we credit it, so its balance is 0 or the face value.
    let balance = info.exact_balance();
    let credited = if balance == Decimal::ZERO {
        false
    } else if balance == card.value {
        true
    } else {
        return Reconciled::Conflict(format!(
            "the platform shows a balance of {balance} on account {}, neither 0 nor the face \
             value {}: check it by hand before resuming (cardmint will not load credit twice)",
            card.customer, card.value
        ));
    };
    let missing: Vec<String> = card
        .numbers
        .iter()
        .filter(|n| !info.numbers.contains(n))
        .cloned()
        .collect();
    Reconciled::Progress(
        Progress {
            created: true,
            blocked: active || info.blocked,
            credited,
            numbers: missing.is_empty(),
        },
        missing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::ledger::CardState;

    fn card() -> Card {
        Card {
            id: 1,
            batch_id: "B0001".into(),
            seq: 1,
            serial: "0000000013".into(),
            customer: "123456789012".into(),
            password: Secret::new("Xk7-mQ2p"),
            value: Decimal::from(5),
            tariff: None,
            numbers: vec!["+441".into(), "+442".into()],
            label: String::new(),
            generated: true,
            progress: Progress::default(),
            state: CardState::Pending,
            failure: None,
            block_reason: None,
            topups: Decimal::ZERO,
            pending_password: None,
        }
    }

    fn info(balance: &str, blocked: bool, numbers: &[&str]) -> UserInfo {
        UserInfo {
            customer: "123456789012".into(),
            balance: balance.parse().unwrap(),
            specific_balance: Some(balance.parse().unwrap()),
            blocked,
            email: None,
            numbers: numbers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn steps_go_in_order_and_active_cards_skip_the_block() {
        let mut p = Progress::default();
        assert_eq!(next_step(&p, false), Step::Create);
        p.created = true;
        assert_eq!(next_step(&p, false), Step::Block);
        assert_eq!(next_step(&p, true), Step::Credit);
        p.blocked = true;
        assert_eq!(next_step(&p, false), Step::Credit);
        p.credited = true;
        assert_eq!(next_step(&p, false), Step::AddNumbers);
        p.numbers = true;
        assert_eq!(next_step(&p, false), Step::Done);
    }

    #[test]
    fn reconciliation_reads_each_step_from_the_platform() {
        let c = card();
        assert_eq!(
            reconcile(&c, false, None, None),
            Reconciled::Progress(Progress::default(), vec!["+442".into()])
        );
        assert_eq!(
            reconcile(&c, false, Some(&info("0", false, &[])), Some(false)),
            Reconciled::NotOurs
        );
        // Created and blocked, the credit's answer lost but applied: never credit again.
        let Reconciled::Progress(p, missing) =
            reconcile(&c, false, Some(&info("5", true, &["+441"])), Some(true))
        else {
            panic!()
        };
        assert_eq!(
            p,
            Progress {
                created: true,
                blocked: true,
                credited: true,
                numbers: false
            }
        );
        assert_eq!(missing, vec!["+442"]);
        assert_eq!(next_step(&p, false), Step::AddNumbers);
        // Credit not applied: credit.
        let Reconciled::Progress(p, _) =
            reconcile(&c, false, Some(&info("0", true, &["+441", "+442"])), None)
        else {
            panic!()
        };
        assert_eq!(next_step(&p, false), Step::Credit);
        assert!(p.numbers);
        // Anything else is for a human.
        assert!(matches!(
            reconcile(&c, false, Some(&info("2.5", true, &[])), None),
            Reconciled::Conflict(_)
        ));
    }
}
