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

/// Decodes the file, and says where it is not what `encoding` says: invalid UTF-8 is read
/// as U+FFFD and reported with its line, so that every other problem of the file is reported
/// with it.
pub fn decode(bytes: &[u8], encoding: Encoding) -> (String, Vec<Problem>) {
    match encoding {
        Encoding::Utf8 => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let mut problems: Vec<Problem> = Vec::new();
            let mut text = String::with_capacity(bytes.len());
            let mut line = 1u64;
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                line += chunk.valid().bytes().filter(|&b| b == b'\n').count() as u64;
                if !chunk.invalid().is_empty() {
                    text.push('\u{FFFD}');
                    if problems.last().is_none_or(|p| p.line != line) {
                        problems.push(Problem {
                            line,
                            column: None,
                            reason: "the file is not UTF-8 here; if it comes from Excel on \
                                     Windows, add --encoding windows-1252"
                                .into(),
                        });
                    }
                }
            }
            (text, problems)
        }
        Encoding::Windows1252 => (
            bytes
                .iter()
                .map(|&b| match b {
                    0x80..=0x9F => CP1252_HIGH[(b - 0x80) as usize],
                    _ => char::from(b),
                })
                .collect(),
            Vec::new(),
        ),
    }
}

/// A spreadsheet's CSV made plain for the csv reader: line ends `\n` (Excel writes `\r\n`,
/// which the reader's line numbers count apart), Excel's `sep=;` first line read for its
/// delimiter and taken out, else the delimiter that occurs most in the header line (`,` on a
/// tie).
#[derive(Debug, PartialEq, Eq)]
pub struct Plain {
    pub text: String,
    pub delimiter: u8,
    /// Lines of the file before `text` (the `sep=` line): add it to the reader's lines.
    pub skipped: u64,
}

pub fn plain(text: &str) -> Plain {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let first = text.lines().next().unwrap_or("");
    if let Some(sep) = first.trim().strip_prefix("sep=")
        && let [d @ (b',' | b';' | b'\t' | b'|')] = sep.as_bytes()
    {
        let delimiter = *d;
        let rest = text.split_once('\n').map_or("", |(_, r)| r).to_string();
        return Plain {
            text: rest,
            delimiter,
            skipped: 1,
        };
    }
    let count = |d: char| first.chars().filter(|&c| c == d).count();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (count(d as char), d == b','))
        .unwrap_or(b',');
    Plain {
        text,
        delimiter,
        skipped: 0,
    }
}

/// Whether a record is one of the blank rows a spreadsheet leaves (`;;;`).
pub fn blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|f| f.trim().is_empty())
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
        assert_eq!(decode(b"\xEF\xBB\xBFa,b", Encoding::Utf8).0, "a,b");
        assert_eq!(decode(b"Ren\xE9 \x80", Encoding::Windows1252).0, "René €");
        let (text, problems) = decode(b"a\nb\xE9\nRen\xE9", Encoding::Utf8);
        assert_eq!(text, "a\nb\u{FFFD}\nRen\u{FFFD}");
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3]);
        assert!(problems[0].reason.contains("windows-1252"));
    }

    #[test]
    fn delimiters() {
        let d = |t: &str| plain(t).delimiter;
        assert_eq!(d("customer;numbers;value\n1,2;3"), b';');
        assert_eq!(d("customer\tnumbers\n"), b'\t');
        assert_eq!(d("customer,numbers\n"), b',');
        assert_eq!(d("customer\n"), b',');
        // Excel's hint wins, and its line is counted.
        let p = plain("sep=;\r\ncustomer,x;value\r\n");
        assert_eq!((p.delimiter, p.skipped), (b';', 1));
        assert_eq!(p.text, "customer,x;value\n");
    }

    #[test]
    fn crlf_lines_are_numbered_as_in_the_file() {
        let p = plain("customer;value\r\na;5\r\n;;\r\nb;x\r\n");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(p.delimiter)
            .flexible(true)
            .from_reader(p.text.as_bytes());
        let lines: Vec<(u64, bool)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r.position().unwrap().line(), blank(&r))
            })
            .collect();
        assert_eq!(lines, vec![(2, false), (3, true), (4, false)]);
    }

    #[test]
    fn quotes() {
        assert_eq!(unterminated_quote("a,\"b\nc\"\nd"), None);
        assert_eq!(unterminated_quote("a\nb,\"c\"\"d\ne\n"), Some(2));
    }
}
