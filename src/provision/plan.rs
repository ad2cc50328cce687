//! From a request (N cards, or the rows of a customer file) to card records ready for the
//! ledger: codes and passwords drawn where none were given, uniqueness and the guess-risk
//! bound checked. Nothing is sent and nothing is written here.

use std::collections::HashSet;

use rust_decimal::Decimal;

use crate::codes::{
    CodeError, CodeSpec, Draw, OsRandom, PasswordSpec, RandomError, check_guess_risk,
};
use crate::config::Secret;
use crate::ledger::NewCard;

/// One card to issue, as asked for.
#[derive(Debug, Clone)]
pub struct CardRequest {
    /// The customer name, or `None` to draw an access code.
    pub customer: Option<String>,
    /// The password, or `None` to draw one.
    pub password: Option<Secret>,
    /// E.164 CLI numbers; the first goes with createcustomer.
    pub numbers: Vec<String>,
    pub value: Decimal,
    pub tariff: Option<i64>,
    pub label: String,
    /// The line of the customer file the card comes from (none for `--count`).
    pub line: Option<u64>,
}

impl CardRequest {
    /// A retail card: everything drawn.
    pub fn retail(value: Decimal, tariff: Option<i64>) -> Self {
        CardRequest {
            customer: None,
            password: None,
            numbers: Vec::new(),
            value,
            tariff,
            label: String::new(),
            line: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Draws what is missing. `known` holds every customer name the ledger has used; `live` is the
/// number of live codes of this shape already in the ledger.
pub fn plan_cards(
    requests: Vec<CardRequest>,
    code: &CodeSpec,
    password: PasswordSpec,
    known: &HashSet<String>,
    live: u128,
) -> Result<Vec<NewCard>, PlanError> {
    let drawn_codes = requests.iter().filter(|r| r.customer.is_none()).count() as u128;
    if drawn_codes > 0 {
        check_guess_risk(code, live + drawn_codes)?;
    }
    let mut draw = Draw::new(OsRandom);
    let mut taken: HashSet<String> = HashSet::new();
    let mut cards = Vec::with_capacity(requests.len());
    for r in requests {
        let (customer, generated) = match r.customer {
            Some(c) => (c, false),
            None => loop {
                let c = code.generate(&mut draw)?;
                if !known.contains(&c) && !taken.contains(&c) {
                    break (c, true);
                }
            },
        };
        taken.insert(customer.clone());
        let password = match r.password {
            Some(p) => p,
            None => password.generate(&mut draw)?,
        };
        cards.push(NewCard {
            customer,
            password,
            value: r.value,
            tariff: r.tariff,
            numbers: r.numbers,
            label: r.label,
            generated,
            credit: None,
        });
    }
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::check_password;

    #[test]
    fn draws_unique_codes_and_valid_passwords_and_keeps_given_ones() {
        let code = CodeSpec::new(8, "").unwrap();
        let known: HashSet<String> = (10_000_000..10_000_050).map(|n| n.to_string()).collect();
        let mut requests = vec![CardRequest::retail(Decimal::from(5), None); 40];
        requests.push(CardRequest {
            customer: Some("alice_1".into()),
            password: Some(Secret::new("Hn4.rT8w")),
            ..CardRequest::retail(Decimal::from(7), Some(3))
        });
        let cards = plan_cards(requests, &code, PasswordSpec::new(10).unwrap(), &known, 0).unwrap();
        let names: HashSet<&str> = cards.iter().map(|c| c.customer.as_str()).collect();
        assert_eq!(names.len(), 41);
        assert!(
            cards[..40]
                .iter()
                .all(|c| c.generated && code.matches(&c.customer) && !known.contains(&c.customer))
        );
        assert!(
            cards[..40]
                .iter()
                .all(|c| check_password(c.password.expose()).is_ok())
        );
        let alice = &cards[40];
        assert!(!alice.generated);
        assert_eq!(alice.password.expose(), "Hn4.rT8w");
        assert_eq!((alice.value, alice.tariff), (Decimal::from(7), Some(3)));
    }

    #[test]
    fn the_guard_counts_live_codes_and_the_new_ones() {
        let code = CodeSpec::new(8, "").unwrap(); // 90,000,000
        let p = PasswordSpec::new(10).unwrap();
        let none = HashSet::new();
        assert!(
            plan_cards(
                vec![CardRequest::retail(Decimal::ONE, None); 10],
                &code,
                p,
                &none,
                80
            )
            .is_ok()
        );
        let err = plan_cards(
            vec![CardRequest::retail(Decimal::ONE, None); 11],
            &code,
            p,
            &none,
            80,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            PlanError::Code(CodeError::GuessRisk { live: 91, .. })
        ));
    }
}
