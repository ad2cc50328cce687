//! Serial numbers: printed in the clear, sequential, fixed width, with a Damm check digit.
//!
//! Damm catches every single-digit error and every adjacent transposition (Luhn misses
//! 09 <-> 90). A serial is 9 digits of sequence number plus the check digit.

use std::fmt;

/// Digits in a printed serial, check digit included.
pub const SERIAL_WIDTH: usize = 10;
const MAX_SEQ: u64 = 999_999_999;

/// The Damm quasigroup of order 10 (weakly totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: &[u8]) -> u8 {
    digits
        .iter()
        .fold(0, |interim, &d| DAMM[interim as usize][(d - b'0') as usize])
}

/// The printed serial of sequence number `seq` (1 to 999,999,999).
pub fn serial(seq: u64) -> String {
    assert!(seq <= MAX_SEQ, "serial sequence {seq} exceeds 9 digits");
    let body = format!("{seq:09}");
    let check = damm(body.as_bytes());
    format!("{body}{check}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    #[error("serial {0:?} must be {SERIAL_WIDTH} digits")]
    Shape(String),
    #[error("serial {0} has a wrong check digit (a typo?)")]
    CheckDigit(String),
    #[error("range {0}: the first serial comes after the last")]
    Reversed(String),
    #[error("empty serial list")]
    Empty,
}

/// Checks a printed serial and returns its sequence number.
pub fn parse_serial(text: &str) -> Result<u64, SerialError> {
    let t = text.trim();
    if t.len() != SERIAL_WIDTH || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SerialError::Shape(t.to_string()));
    }
    if damm(t.as_bytes()) != 0 {
        return Err(SerialError::CheckDigit(t.to_string()));
    }
    Ok(t[..SERIAL_WIDTH - 1].parse().expect("nine digits"))
}

/// An inclusive range of sequence numbers, as selected by printed serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialRange {
    pub first: u64,
    pub last: u64,
}

impl SerialRange {
    pub fn contains(&self, seq: u64) -> bool {
        (self.first..=self.last).contains(&seq)
    }
}

impl fmt::Display for SerialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", serial(self.first))
        } else {
            write!(f, "{}-{}", serial(self.first), serial(self.last))
        }
    }
}

/// Parses `0000120007-0000180005,0000200002`: serials exactly as printed, single or
/// `FIRST-LAST`, comma-separated.
pub fn parse_serial_ranges(text: &str) -> Result<Vec<SerialRange>, SerialError> {
    let ranges = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let (first, last) = (parse_serial(first)?, parse_serial(last)?);
            if first > last {
                return Err(SerialError::Reversed(part.trim().to_string()));
            }
            Ok(SerialRange { first, last })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ranges.is_empty() {
        return Err(SerialError::Empty);
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // The classic Damm example: 572 has check digit 4.
        assert_eq!(damm(b"572"), 4);
        assert_eq!(damm(b"5724"), 0);
        assert_eq!(serial(1), "0000000013");
        assert_eq!(parse_serial("0000000013"), Ok(1));
        assert!(matches!(
            parse_serial("0000000012"),
            Err(SerialError::CheckDigit(_))
        ));
        assert!(matches!(
            parse_serial("000000013"),
            Err(SerialError::Shape(_))
        ));
    }

    #[test]
    fn ranges_as_printed() {
        let a = serial(120);
        let b = serial(180);
        let c = serial(200);
        let r = parse_serial_ranges(&format!("{a}-{b}, {c}")).unwrap();
        assert_eq!(
            r,
            vec![
                SerialRange {
                    first: 120,
                    last: 180
                },
                SerialRange {
                    first: 200,
                    last: 200
                }
            ]
        );
        assert_eq!(r[0].to_string(), format!("{a}-{b}"));
        assert!(matches!(
            parse_serial_ranges(&format!("{b}-{a}")),
            Err(SerialError::Reversed(_))
        ));
        assert_eq!(parse_serial_ranges(" , "), Err(SerialError::Empty));
    }

    proptest! {
        #[test]
        fn every_single_digit_error_is_caught(seq in 1u64..=MAX_SEQ, pos in 0usize..SERIAL_WIDTH, delta in 1u8..10) {
            let mut s = serial(seq).into_bytes();
            s[pos] = b'0' + (s[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(s).unwrap();
            prop_assert!(parse_serial(&typo).is_err());
        }

        #[test]
        fn every_adjacent_transposition_is_caught(seq in 1u64..=MAX_SEQ, pos in 0usize..SERIAL_WIDTH - 1) {
            let mut s = serial(seq).into_bytes();
            prop_assume!(s[pos] != s[pos + 1]);
            s.swap(pos, pos + 1);
            let typo = String::from_utf8(s).unwrap();
            prop_assert!(parse_serial(&typo).is_err());
        }

        #[test]
        fn serials_round_trip_and_keep_their_order(a in 1u64..=MAX_SEQ, b in 1u64..=MAX_SEQ) {
            prop_assert_eq!(parse_serial(&serial(a)), Ok(a));
            prop_assert_eq!(a.cmp(&b), serial(a).cmp(&serial(b)));
        }
    }

    #[test]
    fn exhaustive_transpositions_of_09_and_90() {
        // What Luhn misses.
        for seq in [9u64, 90, 909, 90_909_090] {
            let s = serial(seq);
            let bytes = s.as_bytes();
            for i in 0..SERIAL_WIDTH - 1 {
                if bytes[i] != bytes[i + 1] {
                    let mut t = bytes.to_vec();
                    t.swap(i, i + 1);
                    assert!(parse_serial(std::str::from_utf8(&t).unwrap()).is_err());
                }
            }
        }
    }
}
