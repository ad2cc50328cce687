//! Text from outside (the platform's answers: destinations, names) made safe to read and to
//! export: no character that reorders or hides what is shown, no cell a spreadsheet would run.

use std::borrow::Cow;

/// Whether a character changes how text around it is shown without being seen itself:
/// bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E/F, U+061C) and every other
/// control or format character.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Text typed by a person into a field of digits (a code, a phone number), read the one way
/// both are read: hidden characters (a bidirectional mark a phone's keyboard adds, a
/// zero-width space pasted along) dropped, full-width, Arabic-Indic and Eastern Arabic-Indic
/// digits as ASCII digits, every kind of space as a space, every kind of dash as `-`, a
/// full-width plus and full stop as `+` and `.`.
pub fn typed_digits(text: &str) -> String {
    text.chars()
        .filter(|c| !hidden(*c) && *c != '\u{00AD}')
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => shifted(c, 0xFF10),
            '\u{0660}'..='\u{0669}' => shifted(c, 0x0660),
            '\u{06F0}'..='\u{06F9}' => shifted(c, 0x06F0),
            '\u{FF0B}' => '+',
            '\u{FF0E}' | '\u{3002}' => '.',
            '\u{058A}'
            | '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{2E3A}'
            | '\u{2E3B}'
            | '\u{30FC}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}'
            | '\u{FF70}' => '-',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect()
}

fn shifted(c: char, zero: u32) -> char {
    char::from_digit(u32::from(c) - zero, 10).unwrap_or(c)
}

/// The text without its hidden characters: "+44\u{202E}0987654321" reads as what it is.
pub fn visible(text: &str) -> Cow<'_, str> {
    if text.chars().any(hidden) {
        Cow::Owned(text.chars().filter(|c| !hidden(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// At most `most` characters of the visible text, with "…" when shortened.
pub fn shortened(text: &str, most: usize) -> String {
    let v = visible(text);
    if v.chars().count() <= most {
        v.into_owned()
    } else {
        let mut s: String = v.chars().take(most.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The name among `names` a mistyped `typed` most likely meant: the nearest by edit distance,
/// if at most 2 edits (and fewer than the name's length) away.
pub fn closest<'a>(typed: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                prev = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    };
    names
        .into_iter()
        .map(|n| (distance(typed, n), n))
        .filter(|(d, n)| *d <= 2 && *d < n.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// An amount as people write it, and only so: digits with at most one decimal point inside
/// them (`5`, `5.00`, `12.5`). Exponents (`1e2`), underscores (`1_000`), signs and a point
/// at either end are not amounts, though a decimal parser would take them.
pub fn plain_amount(text: &str) -> Option<rust_decimal::Decimal> {
    let well_formed = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.matches('.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    well_formed.then(|| text.parse().ok()).flatten()
}

/// A count with its noun: `1 card`, `3 cards`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An amount as money is written: at least two decimals, and no trailing zeros beyond
/// (`7.00`, `2.50`, `4.98333`), as the platform's balances and charges carry up to five.
pub fn money(amount: rust_decimal::Decimal) -> rust_decimal::Decimal {
    let mut a = amount.normalize();
    if a.scale() < 2 {
        a.rescale(2);
    }
    a
}

/// An I/O error as the person who can fix it reads it: a full disk or a file-size limit (`ulimit
/// -f`, a unit's `LimitFSIZE`) is said as such.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(27 | 28 | 122) => format!("{e} (is the disk full, or a file-size limit reached?)"),
        _ => e.to_string(),
    }
}

/// A path as a shell reads it back: as it is when plain, else in single quotes.
pub fn shell_quote(path: &std::path::Path) -> String {
    let s = path.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Choices in a sentence: `a`, `a or b`, `a, b or c`.
pub fn one_of(items: &[String]) -> String {
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Whether a file is named with this extension, in any case (`.CSV` is a `.csv`).
pub fn has_extension(path: &std::path::Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// A rate list (tariff) id: a whole number as typed, digits with an optional minus (the
/// platform has negative ids), nothing else.
pub fn tariff_id(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

/// First characters that make a spreadsheet cell a formula (or a DDE command).
pub const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell a spreadsheet will show and never run: visible, and prefixed with `'` when it
/// begins like a formula (= + - @, a tab or a return), unless it is a plain number in
/// international form (`+44 20 7946 0958`), which no spreadsheet runs.
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    let v = visible(text);
    let plain_number = v.strip_prefix('+').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == ' ')
    });
    if v.starts_with(FORMULA_STARTS) && !plain_number {
        Cow::Owned(format!("'{v}"))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn choices_read_as_a_sentence() {
        let list = |items: &[&str]| {
            super::one_of(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(list(&[".csv"]), ".csv");
        assert_eq!(list(&[".csv", ".pdf"]), ".csv or .pdf");
        assert_eq!(list(&[".csv", ".xlsx", ".html"]), ".csv, .xlsx or .html");
        assert!(super::has_extension(std::path::Path::new("r.CSV"), "csv"));
        for (code, said) in [(27, true), (28, true), (2, false)] {
            let reason = super::io_reason(&std::io::Error::from_raw_os_error(code));
            assert_eq!(reason.contains("file-size limit"), said, "{reason}");
        }
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        for (a, shown) in [
            ("7", "7.00"),
            ("2.5", "2.50"),
            ("4.983330", "4.98333"),
            ("-0.5", "-0.50"),
        ] {
            assert_eq!(super::money(d(a)).to_string(), shown);
        }
        assert!(!super::has_extension(std::path::Path::new("csv"), "csv"));
    }

    #[test]
    fn an_amount_is_digits_and_one_point_nothing_else() {
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(super::plain_amount("5"), Some(d("5")));
        assert_eq!(super::plain_amount("12.50"), Some(d("12.50")));
        // A decimal parser takes these; a reseller typing them means something else.
        for typed in [
            "1e2", "1E3", "1_000", "+5", "-5", ".5", "5.", "5.0.0", "", " 5",
        ] {
            assert_eq!(super::plain_amount(typed), None, "{typed:?}");
        }
    }

    #[test]
    fn closest_names_a_typo_and_nothing_far() {
        let names = ["brand", "support", "access_numbers"];
        assert_eq!(super::closest("brnad", names), Some("brand"));
        assert_eq!(super::closest("suport", names), Some("support"));
        assert_eq!(super::closest("greeting", names), None);
    }

    use super::*;

    #[test]
    fn digits_typed_on_any_keyboard_read_as_ascii() {
        assert_eq!(
            typed_digits(
                "\u{FF14}\u{FF10}\u{FF0D}\u{200E}\u{0661}\u{06F2}\u{3000}\u{2015}\u{200B}9"
            ),
            "40-12 -9"
        );
        assert_eq!(typed_digits("\u{FF0B}44\u{00A0}20"), "+44 20");
    }

    #[test]
    fn hidden_characters_go_and_formulas_are_not_run() {
        assert_eq!(visible("+44\u{202E}0987654321"), "+440987654321");
        assert_eq!(visible("+44\u{2067}12\u{2069}"), "+4412");
        assert_eq!(visible("+442079460958"), "+442079460958");
        assert_eq!(
            shortened(&"9".repeat(4000), 10),
            format!("{}…", "9".repeat(9))
        );
        assert_eq!(
            spreadsheet_safe("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            spreadsheet_safe("+1+cmd|' /C calc'!A0"),
            "'+1+cmd|' /C calc'!A0"
        );
        assert_eq!(spreadsheet_safe("+442079460958"), "+442079460958");
        assert_eq!(spreadsheet_safe("\u{202E}=1+1"), "'=1+1");
    }
}
