//! The card state machine, pure: which provisioning step comes next, from what the ledger
//! knows is done.

use crate::ledger::Progress;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
