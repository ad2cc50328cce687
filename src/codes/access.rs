//! Access codes (the customer's username on the platform) and the guess-risk guard.
//!
//! A code is `length` digits: an optional fixed prefix, then uniform random digits. Its first
//! digit is never 0 (spreadsheets and keypads eat leading zeros).

use super::random::{Draw, RandomError, RandomSource};

/// The largest acceptable chance that one random guess hits a live code: 1 in 1,000,000.
pub const GUESS_RISK_BOUND: u128 = 1_000_000;

const MIN_LENGTH: usize = 6;
const MAX_LENGTH: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("--code-length {0}: must be between {MIN_LENGTH} and {MAX_LENGTH}")]
    Length(usize),
    #[error("--prefix {0:?}: must be digits not starting with 0")]
    Prefix(String),
    #[error("--prefix {prefix:?} leaves no random digits in a code of length {length}")]
    PrefixTooLong { prefix: String, length: usize },
    #[error(
        "refusing to issue: {live} live codes of length {length}{prefix} in a space of {space} \
         codes make a random guess hit one with a chance of 1 in {odds}, worse than the bound of \
         1 in {bound}; use --code-length {safe_length} or longer"
    )]
    GuessRisk {
        live: u128,
        space: u128,
        length: usize,
        prefix: String,
        odds: u128,
        bound: u128,
        safe_length: usize,
    },
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// The shape of the codes of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpec {
    length: usize,
    prefix: String,
}

impl CodeSpec {
    pub fn new(length: usize, prefix: &str) -> Result<CodeSpec, CodeError> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            return Err(CodeError::Length(length));
        }
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.starts_with('0') {
            return Err(CodeError::Prefix(prefix.to_string()));
        }
        if prefix.len() >= length {
            return Err(CodeError::PrefixTooLong {
                prefix: prefix.to_string(),
                length,
            });
        }
        Ok(CodeSpec {
            length,
            prefix: prefix.to_string(),
        })
    }

    pub fn length(&self) -> usize {
        self.length
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many distinct codes this shape allows.
    pub fn space(&self) -> u128 {
        space(self.length, &self.prefix)
    }

    /// True when `code` has this shape (length and prefix, digits only, no leading 0).
    pub fn matches(&self, code: &str) -> bool {
        code.len() == self.length
            && code.starts_with(&self.prefix)
            && code.bytes().all(|b| b.is_ascii_digit())
            && !code.starts_with('0')
    }

    /// Draws one code.
    pub fn generate<R: RandomSource>(&self, draw: &mut Draw<R>) -> Result<String, CodeError> {
        let mut code = String::with_capacity(self.length);
        code.push_str(&self.prefix);
        if code.is_empty() {
            code.push(char::from(b'1' + draw.below(9)? as u8));
        }
        while code.len() < self.length {
            code.push(char::from(b'0' + draw.below(10)? as u8));
        }
        Ok(code)
    }
}

fn space(length: usize, prefix: &str) -> u128 {
    let random = (length - prefix.len()) as u32;
    if prefix.is_empty() {
        9 * 10u128.pow(random - 1)
    } else {
        10u128.pow(random)
    }
}

/// Refuses when `live` codes (already live plus about to be issued) of this shape make one
/// random guess succeed with a chance worse than 1 in [`GUESS_RISK_BOUND`].
pub fn check_guess_risk(spec: &CodeSpec, live: u128) -> Result<(), CodeError> {
    let space = spec.space();
    if live.saturating_mul(GUESS_RISK_BOUND) <= space {
        return Ok(());
    }
    let safe_length = (spec.length + 1..=MAX_LENGTH + 10)
        .find(|&l| live.saturating_mul(GUESS_RISK_BOUND) <= space_for(l, &spec.prefix))
        .unwrap_or(MAX_LENGTH);
    Err(CodeError::GuessRisk {
        live,
        space,
        length: spec.length,
        prefix: if spec.prefix.is_empty() {
            String::new()
        } else {
            format!(" with prefix {}", spec.prefix)
        },
        odds: space / live.max(1),
        bound: GUESS_RISK_BOUND,
        safe_length,
    })
}

fn space_for(length: usize, prefix: &str) -> u128 {
    if length > 38 {
        return u128::MAX;
    }
    space(length, prefix)
}

/// A code as a holder types it from the card: digits grouped by spaces, dashes or dots as
/// printed, full-width digits from a CJK or Arabic keyboard's Latin mode, Arabic-Indic digits.
/// The digits alone, or `None` when the text is anything else (a login, a name).
pub fn as_typed(text: &str) -> Option<String> {
    let mut digits = String::new();
    for c in crate::text::typed_digits(text).trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_typed_as_printed_reads_as_its_digits() {
        for typed in [
            "402052233546",
            "4020 5223 3546",
            " 4020-5223-3546 ",
            "4020\u{00A0}5223\u{2013}3546",
            "\u{FF14}\u{FF10}\u{FF12}\u{FF10}\u{3000}5223 3546",
            "\u{0664}\u{0660}\u{0662}\u{0660}52233546",
            "4020\u{FF0D}5223\u{FF0D}3546",
            "\u{200E}4020\u{200B} 5223\u{2015}3546\u{200F}",
            "4020\u{FE63}5223\u{2212}3546",
        ] {
            assert_eq!(
                as_typed(typed).as_deref(),
                Some("402052233546"),
                "{typed:?}"
            );
        }
        for other in ["", " - ", "ana.popescu", "4020x5223", "12/34"] {
            assert_eq!(as_typed(other), None, "{other:?}");
        }
    }
    use crate::codes::random::{OsRandom, tests::Scripted};
    use proptest::prelude::*;

    #[test]
    fn shapes() {
        assert!(CodeSpec::new(12, "").is_ok());
        assert_eq!(CodeSpec::new(5, ""), Err(CodeError::Length(5)));
        assert!(matches!(CodeSpec::new(12, "0"), Err(CodeError::Prefix(_))));
        assert!(matches!(CodeSpec::new(12, "1a"), Err(CodeError::Prefix(_))));
        assert!(matches!(
            CodeSpec::new(6, "123456"),
            Err(CodeError::PrefixTooLong { .. })
        ));
        assert_eq!(CodeSpec::new(12, "").unwrap().space(), 900_000_000_000);
        assert_eq!(CodeSpec::new(12, "44").unwrap().space(), 10_000_000_000);
    }

    #[test]
    fn first_digit_is_never_zero_even_when_the_source_says_zero() {
        let spec = CodeSpec::new(8, "").unwrap();
        let mut draw = Draw::new(Scripted(vec![0], 0));
        assert_eq!(spec.generate(&mut draw).unwrap(), "10000000");
        let spec = CodeSpec::new(8, "7").unwrap();
        assert_eq!(spec.generate(&mut draw).unwrap(), "70000000");
    }

    #[test]
    fn guard_gives_the_numbers_and_a_safe_length() {
        let spec = CodeSpec::new(8, "").unwrap(); // 90,000,000 codes
        assert!(check_guess_risk(&spec, 90).is_ok());
        let err = check_guess_risk(&spec, 91).unwrap_err();
        let CodeError::GuessRisk {
            safe_length, odds, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*safe_length, 9);
        assert_eq!(*odds, 989_010);
        let msg = err.to_string();
        assert!(msg.contains("91 live codes of length 8"), "{msg}");
        assert!(msg.contains("--code-length 9"), "{msg}");
        let spec = CodeSpec::new(12, "44").unwrap();
        let err = check_guess_risk(&spec, 20_000).unwrap_err().to_string();
        assert!(
            err.contains("with prefix 44") && err.contains("--code-length 13"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn generated_codes_have_the_shape(length in 6usize..=20, prefix in "([1-9][0-9]{0,3})?") {
            prop_assume!(prefix.len() < length);
            let spec = CodeSpec::new(length, &prefix).unwrap();
            let mut draw = Draw::new(OsRandom);
            for _ in 0..20 {
                let code = spec.generate(&mut draw).unwrap();
                prop_assert!(spec.matches(&code), "{}", code);
            }
        }
    }

    #[test]
    fn digits_are_uniform() {
        // 200,000 digits from the OS source: each of the ten within 5 % of its share.
        let spec = CodeSpec::new(21, "1").unwrap();
        let mut draw = Draw::new(OsRandom);
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            for b in spec.generate(&mut draw).unwrap()[1..].bytes() {
                counts[(b - b'0') as usize] += 1;
            }
        }
        for c in counts {
            assert!((19_000..=21_000).contains(&c), "{counts:?}");
        }
    }
}
