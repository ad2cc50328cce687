//! Customer passwords: generation, and the policy validator (stricter than the platform).
//!
//! The platform refuses runs of 4 equal characters and 4-character ascending runs of
//! `abc...xyz0123456789`. We refuse runs of 3, in both directions, over the same sequence (so
//! `yz0` and `10z` count), case-insensitively.

use std::fmt;

use super::random::{Draw, RandomError, RandomSource};
use crate::config::Secret;

/// Generated passwords use these: no look-alikes (0 O o 1 l I).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_@.";
/// The platform's run sequence.
const SEQUENCE: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub const MIN_LENGTH: usize = 4;
pub const MAX_LENGTH: usize = 39;
/// Shortest generated password we accept to make.
const MIN_GENERATED: usize = 8;

/// Why a password fails the policy. Positions are 1-based; the password itself is never part
/// of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    Length(usize),
    Character {
        position: usize,
    },
    Repeat {
        position: usize,
    },
    Sequence {
        position: usize,
    },
    /// Starts with `-` or `@`: a spreadsheet opening the manifest would run it as a formula.
    Start(char),
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyViolation::Length(n) => write!(
                f,
                "{n} characters; a password has {MIN_LENGTH} to {MAX_LENGTH}"
            ),
            PolicyViolation::Start(c) => write!(
                f,
                "it starts with {c}, which a spreadsheet would take for a formula: start it with \
                 a letter, a digit, _ or ."
            ),
            PolicyViolation::Character { position } => write!(
                f,
                "character {position} cannot be used: use letters, digits and - _ @ . only"
            ),
            PolicyViolation::Repeat { position } => write!(
                f,
                "characters {position} to {} are the same character three times",
                position + 2
            ),
            PolicyViolation::Sequence { position } => write!(
                f,
                "characters {position} to {} are three in sequence (like abc, 321 or yz0)",
                position + 2
            ),
        }
    }
}

/// The policy: 4-39 characters of `a-z A-Z 0-9 - _ @ .`, not starting with `-` or `@` (a
/// spreadsheet opening the manifest would run it), no run of three equal characters, no run of
/// three ascending or descending letters or digits (any case).
pub fn check_password(password: &str) -> Result<(), PolicyViolation> {
    // Keep the page's hint (`password-policy` in `portal/locales`) in step with every rule
    // below.
    let chars: Vec<char> = password.chars().collect();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&chars.len()) {
        return Err(PolicyViolation::Length(chars.len()));
    }
    if let Some(i) = chars
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || "-_@.".contains(*c)))
    {
        return Err(PolicyViolation::Character { position: i + 1 });
    }
    if let Some(&c) = chars
        .first()
        .filter(|c| crate::text::FORMULA_STARTS.contains(c))
    {
        return Err(PolicyViolation::Start(c));
    }
    let lower: Vec<u8> = chars.iter().map(|c| c.to_ascii_lowercase() as u8).collect();
    let rank = |b: u8| SEQUENCE.iter().position(|&s| s == b).map(|p| p as i32);
    for (i, w) in lower.windows(3).enumerate() {
        if w[0] == w[1] && w[1] == w[2] {
            return Err(PolicyViolation::Repeat { position: i + 1 });
        }
        if let (Some(a), Some(b), Some(c)) = (rank(w[0]), rank(w[1]), rank(w[2]))
            && (b - a).abs() == 1
            && c - b == b - a
        {
            return Err(PolicyViolation::Sequence { position: i + 1 });
        }
    }
    Ok(())
}

/// How long generated passwords are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordSpec {
    length: usize,
}

impl PasswordSpec {
    pub fn new(length: usize) -> Result<PasswordSpec, String> {
        if (MIN_GENERATED..=MAX_LENGTH).contains(&length) {
            Ok(PasswordSpec { length })
        } else {
            Err(format!(
                "--password-length {length}: must be between {MIN_GENERATED} and {MAX_LENGTH}"
            ))
        }
    }

    pub fn length(&self) -> usize {
        self.length
    }

    /// Draws uniformly among the passwords of this length that pass the policy: whole
    /// passwords that fail are drawn again, which keeps the draw uniform over the valid ones.
    pub fn generate<R: RandomSource>(&self, draw: &mut Draw<R>) -> Result<Secret, RandomError> {
        loop {
            let mut p = String::with_capacity(self.length);
            for _ in 0..self.length {
                p.push(char::from(
                    ALPHABET[draw.below(ALPHABET.len() as u16)? as usize],
                ));
            }
            if check_password(&p).is_ok() {
                return Ok(Secret::new(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::random::OsRandom;
    use proptest::prelude::*;

    #[test]
    fn alphabet_has_no_look_alikes() {
        assert_eq!(ALPHABET.len(), 60);
        for c in b"0Oo1lI" {
            assert!(!ALPHABET.contains(c));
        }
    }

    #[test]
    fn policy_examples() {
        for ok in ["Xk7-mQ2p", "abd1", "a.b.c.", "acegik", "aab9", "Hn4.rT8w"] {
            assert_eq!(check_password(ok), Ok(()), "{ok}");
        }
        let long = "xy.Z@".repeat(8);
        let cases = [
            ("abc", PolicyViolation::Length(3)),
            (long.as_str(), PolicyViolation::Length(40)),
            ("ab cd", PolicyViolation::Character { position: 3 }),
            ("abédf", PolicyViolation::Character { position: 3 }),
            ("x1aAa", PolicyViolation::Repeat { position: 3 }),
            ("Q.aBc", PolicyViolation::Sequence { position: 3 }),
            ("Q.CbA", PolicyViolation::Sequence { position: 3 }),
            ("k9321", PolicyViolation::Sequence { position: 3 }),
            ("k.yz0", PolicyViolation::Sequence { position: 3 }),
            ("k.10z", PolicyViolation::Sequence { position: 3 }),
        ];
        for (p, v) in &cases {
            assert_eq!(check_password(p), Err(v.clone()), "{p}");
            assert!(!v.to_string().contains(p));
        }
    }

    #[test]
    fn lengths_of_generated_passwords() {
        assert!(PasswordSpec::new(7).is_err());
        assert!(PasswordSpec::new(40).is_err());
        assert_eq!(PasswordSpec::new(10).unwrap().length(), 10);
    }

    proptest! {
        #[test]
        fn every_generated_password_passes_the_policy(length in MIN_GENERATED..=MAX_LENGTH) {
            let spec = PasswordSpec::new(length).unwrap();
            let mut draw = Draw::new(OsRandom);
            for _ in 0..20 {
                let p = spec.generate(&mut draw).unwrap();
                prop_assert_eq!(p.expose().len(), length);
                prop_assert!(check_password(p.expose()).is_ok());
                prop_assert!(p.expose().bytes().all(|b| ALPHABET.contains(&b)));
                prop_assert!(!p.expose().starts_with(['-', '@', '=', '+']), "no formula cell");
            }
        }

        #[test]
        fn the_validator_is_stricter_than_the_platform(p in "[a-zA-Z0-9._@-]{4,39}") {
            // Whatever we accept, the platform's own rule accepts too.
            if check_password(&p).is_ok() {
                prop_assert!(platform_rule(&p), "{}", p);
            }
        }
    }

    /// The platform's rule as `api-reference.md` records it, written out independently.
    fn platform_rule(p: &str) -> bool {
        let l: Vec<u8> = p.bytes().map(|b| b.to_ascii_lowercase()).collect();
        !l.windows(4).any(|w| {
            let eq = w.iter().all(|&b| b == w[0]);
            let pos: Vec<Option<usize>> = w
                .iter()
                .map(|b| SEQUENCE.iter().position(|s| s == b))
                .collect();
            let asc = pos.iter().all(Option::is_some)
                && pos.windows(2).all(|x| x[1].unwrap() == x[0].unwrap() + 1);
            eq || asc
        })
    }
}
