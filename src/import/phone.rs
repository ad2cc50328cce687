//! Phone numbers, read with libphonenumber's data (the `phonenumber` crate) in national or
//! international form, stored as E.164.

use phonenumber::Mode;
use phonenumber::country::Id;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    #[error(
        "{0:?} is a national number: give --region (for example --region GB) or write it with +country code"
    )]
    NeedsRegion(String),
    #[error("{number:?} is not a valid number{}", region.map(|r| format!(" for region {r:?}")).unwrap_or_default())]
    Invalid { number: String, region: Option<Id> },
}

/// An E.164 number as people read it: international format with its grouping
/// (`+44 20 7946 0958`); left as it is when libphonenumber cannot read it.
pub fn for_reading(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(n) => n.format().mode(Mode::International).to_string(),
        Err(_) => e164.to_string(),
    }
}

/// Reads a region code such as `GB` (case-insensitive) for national-format numbers.
pub fn parse_region(text: &str) -> Result<Id, String> {
    use std::str::FromStr;
    Id::from_str(&text.trim().to_ascii_uppercase()).map_err(|_| {
        format!("--region {text:?}: not a known region code (use ISO codes such as GB, FR, US)")
    })
}

/// Reads one number: spaces, dots, dashes, slashes and brackets are formatting. Returns E.164.
pub fn normalize_number(text: &str, region: Option<Id>) -> Result<String, PhoneError> {
    // Digits as typed on any keyboard (full-width, Arabic-Indic, a dash of any kind).
    let cleaned: String = crate::text::typed_digits(text)
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '/' | '(' | ')' | '[' | ']'))
        .collect();
    let international = cleaned.starts_with('+');
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PhoneError::NotANumber(text.trim().to_string()));
    }
    if !international && region.is_none() {
        return Err(PhoneError::NeedsRegion(text.trim().to_string()));
    }
    let invalid = || PhoneError::Invalid {
        number: text.trim().to_string(),
        region: if international { None } else { region },
    };
    let number = phonenumber::parse(if international { None } else { region }, &cleaned)
        .map_err(|_| invalid())?;
    if !phonenumber::is_valid(&number) {
        return Err(invalid());
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_international_forms() {
        let gb = Some(Id::GB);
        assert_eq!(
            normalize_number("020 7946 0958", gb).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_number("(020) 7946-0958", gb).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_number("+44 20 7946 0958", None).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_number("0044 20 7946 0958", gb).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_number("06.12.34.56.78", Some(Id::FR)).unwrap(),
            "+33612345678"
        );
        // Typed on a phone in Arabic or a CJK input mode.
        assert_eq!(
            normalize_number("\u{FF0B}\u{FF14}\u{FF14} 20\u{FF0D}7946\u{200E} 0958", None).unwrap(),
            "+442079460958"
        );
        assert_eq!(
            normalize_number("\u{0660}\u{0662}\u{0660} 7946 0958", gb).unwrap(),
            "+442079460958"
        );
        assert!(matches!(
            normalize_number("020 7946 0958", None),
            Err(PhoneError::NeedsRegion(_))
        ));
        assert!(matches!(
            normalize_number("12ab", gb),
            Err(PhoneError::NotANumber(_))
        ));
        // The platform's own example is not a valid GB number: libphonenumber is strict.
        assert!(matches!(
            normalize_number("+4412345678", None),
            Err(PhoneError::Invalid { .. })
        ));
    }
}
