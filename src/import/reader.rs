//! Bytes to CSV records: encoding (UTF-8 with or without BOM, or Windows-1252), delimiter
//! detection (`,` `;` or tab, from the header line), and quoted fields with newlines.

use super::Problem;

/// The text encoding of a customer file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    #[value(name = "utf-8")]
    Utf8,
    /// What Excel on Windows writes in western locales.
    #[value(name = "windows-1252")]
    Windows1252,
}

/// Windows-1252's 0x80..=0x9F; the five unassigned bytes map to the C1 controls, as in the
/// WHATWG encoding standard.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// Decodes the file. Invalid UTF-8 is reported with its line.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, Problem> {
    match encoding {
        Encoding::Utf8 => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                Problem {
                    line: line as u64,
                    column: None,
                    reason: "the file is not UTF-8 here; if it comes from Excel on Windows, \
                             add --encoding windows-1252"
                        .into(),
                }
            })
        }
        Encoding::Windows1252 => Ok(bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => CP1252_HIGH[(b - 0x80) as usize],
                _ => char::from(b),
            })
            .collect()),
    }
}

/// Picks the delimiter that occurs most in the header line (`,` on a tie).
pub fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |d: char| header.chars().filter(|&c| c == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d as char), d == b','))
        .unwrap_or(b',')
}

/// Finds a quoted field that is never closed (the csv reader would swallow the rest of the
/// file into it).
pub fn unterminated_quote(text: &str) -> Option<u64> {
    let mut line = 1u64;
    let mut opened_at = None;
    for c in text.chars() {
        match c {
            '"' => {
                opened_at = if opened_at.is_some() {
                    None
                } else {
                    Some(line)
                }
            }
            '\n' => line += 1,
            _ => {}
        }
    }
    opened_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b", Encoding::Utf8).unwrap(), "a,b");
        assert_eq!(
            decode(b"Ren\xE9 \x80", Encoding::Windows1252).unwrap(),
            "René €"
        );
        let err = decode(b"a\nb\nRen\xE9", Encoding::Utf8).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("windows-1252"));
    }

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("customer;numbers;value\n1,2;3"), b';');
        assert_eq!(detect_delimiter("customer\tnumbers\n"), b'\t');
        assert_eq!(detect_delimiter("customer,numbers\n"), b',');
        assert_eq!(detect_delimiter("customer\n"), b',');
    }

    #[test]
    fn quotes() {
        assert_eq!(unterminated_quote("a,\"b\nc\"\nd"), None);
        assert_eq!(unterminated_quote("a\nb,\"c\"\"d\ne\n"), Some(2));
    }
}
