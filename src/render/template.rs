//! Card designs and sheet layouts from TOML, validated on load: unknown placeholders, elements
//! off the card, missing fonts or images, secrets outside the scratch panel, text and QR codes
//! too small are errors that name the file and the element.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::assets::{self, Source};
use super::layout::{CardGeometry, Rect, Scratch, Sheet};

/// Card fields every card has.
pub const CARD_FIELDS: [&str; 8] = [
    "value", "currency", "serial", "code", "password", "batch", "label", "numbers",
];
/// Fields that come from values (the design's `[values]`, the config file's, `--set`).
pub const VALUE_FIELDS: [&str; 6] = [
    "brand",
    "access_number",
    "access_numbers",
    "access_number_dial",
    "expiry_note",
    "support",
];
/// Claims a card makes to its holder (validity, fees): printed only from a rule of the batch
/// or the reseller's own values (config file, `--set`), never from a design's example
/// values; without one, the text that says it is left out.
const CLAIMS: [&str; 1] = ["expiry_note"];
/// The secrets: on a retail card they must lie under the scratch panel.
const SECRETS: [&str; 2] = ["code", "password"];
/// Smallest QR code we draw, quiet zone included.
pub const MIN_QR_MM: f64 = 12.0;
const DEFAULT_QR: &str = "tel:{access_number_dial},,{code}%23";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {}{reason}", element.as_ref().map(|e| format!("{e}: ")).unwrap_or_default())]
pub struct TemplateError {
    pub file: String,
    pub element: Option<String>,
    pub reason: String,
}

/// A text with `{placeholders}`; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(pub Vec<Segment>);

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Literal(String),
    Field(String),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                            Some(c) => {
                                return Err(format!(
                                    "{c:?} inside a placeholder (write {{{{ for a literal brace)"
                                ));
                            }
                            None => return Err(format!("placeholder {{{name} is never closed")),
                        }
                    }
                    if name.is_empty() {
                        return Err("empty placeholder {}".into());
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Field(name));
                }
                '}' => return Err("a lone } (write }} for a literal brace)".into()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Pattern(segments))
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(f.as_str()),
            Segment::Literal(_) => None,
        })
    }

    pub fn uses_secret(&self) -> bool {
        self.fields().any(|f| SECRETS.contains(&f))
    }

    /// Fills in the fields with `lookup`.
    pub fn render<'a>(&self, lookup: impl Fn(&str) -> &'a str) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Field(f) => out.push_str(lookup(f)),
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Sold off an open rack: secrets under the scratch panel.
    Retail,
    /// Handed to a known customer.
    Welcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Shrink the size until the text fits (down to `min_size`), else an error.
    #[default]
    Shrink,
    /// Any overflow is an error.
    Error,
}

/// RGB (0 to 1 each) as CMYK by the naive rule, with no profile: K = 1 - max(R, G, B), C = (1 -
/// R - K) / (1 - K), M and Y alike. Used for RGB colours and images on press output.
pub fn rgb_to_cmyk(r: f32, g: f32, b: f32) -> [f32; 4] {
    let k = 1.0 - r.max(g).max(b);
    if k >= 1.0 {
        return [0.0, 0.0, 0.0, 1.0];
    }
    let part = |v: f32| ((1.0 - v - k) / (1.0 - k)).clamp(0.0, 1.0);
    [part(r), part(g), part(b), k]
}

/// A colour as a design gives it: CMYK (`cmyk(C, M, Y, K)`, percentages: what press output
/// needs), or RGB (`#rrggbb`: for office sheets; converted for press output, with a warning).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colour {
    /// 0 to 1 each.
    Cmyk([f32; 4]),
    /// 0 to 1 each.
    Rgb([f32; 3]),
}

impl Colour {
    /// Black ink alone.
    pub const BLACK: Colour = Colour::Cmyk([0.0, 0.0, 0.0, 1.0]);

    /// The CMYK the colour prints as: CMYK as given; RGB by the naive rule K = 1 - max(R, G,
    /// B), C = (1 - R - K) / (1 - K) and so on (no profile: press designs should give CMYK).
    pub fn to_cmyk(self) -> [f32; 4] {
        match self {
            Colour::Cmyk(c) => c,
            Colour::Rgb([r, g, b]) => rgb_to_cmyk(r, g, b),
        }
    }

    /// Solid black ink only (100 % K, nothing else): printed overprinting, so that
    /// misregistration cannot open white gaps around small text and QR modules.
    pub fn is_pure_black(self) -> bool {
        self.to_cmyk() == [0.0, 0.0, 0.0, 1.0]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub text: Pattern,
    /// The text in other languages, by tag (`texts.ar`, `texts.es`): what a batch in that
    /// language prints instead.
    pub texts: BTreeMap<String, Pattern>,
    pub rect: Rect,
    /// Points.
    pub size: f32,
    pub min_size: f32,
    /// Index into [`Design::fonts`].
    pub font: usize,
    pub color: Colour,
    pub align: Align,
    pub fit: Fit,
    /// Line height as a multiple of the size (text lines are split at `\n`).
    pub line_height: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Text(Text),
    Rect {
        rect: Rect,
        fill: Option<Colour>,
        stroke: Option<Colour>,
        /// Millimetres, like every length of a design.
        stroke_width: f64,
    },
    /// Index into [`Design::images`].
    Image {
        rect: Rect,
        image: usize,
    },
    Qr {
        rect: Rect,
        payload: Pattern,
        color: Colour,
        /// Error correction: Q by default (a scratched panel leaves marks on the symbol).
        level: super::qr::Level,
    },
    Panel {
        rect: Rect,
        margin: f64,
    },
}

/// A validated card design.
#[derive(Debug, Clone)]
pub struct Design {
    pub source: String,
    pub kind: Kind,
    pub card: CardGeometry,
    /// Values for the value fields (defaults; the caller may override).
    pub values: BTreeMap<String, String>,
    /// (element label, element) per side.
    pub front: Vec<(String, Element)>,
    pub back: Vec<(String, Element)>,
    /// (file name, bytes): the elements' fonts, then the fallbacks.
    pub fonts: Vec<(String, Vec<u8>)>,
    /// The design's own fallback fonts (`fallback = [...]`), indices into `fonts`: for text
    /// its elements' fonts lack (CJK, Thai, Bengali...).
    pub fallback: Vec<usize>,
    /// The shipped fallbacks (Arabic, Hebrew, Devanagari), indices into `fonts`.
    pub fallback_shipped: Vec<usize>,
    pub images: Vec<(String, Vec<u8>)>,
    /// The scratch panel's spot colour name and its CMYK stand-in.
    pub spot: String,
    pub spot_cmyk: [f32; 4],
    /// Value keys whose value comes from the design file itself (not the config file or
    /// `--set`), and whether that file is one of the shipped designs (whose values are demos).
    pub from_design: BTreeSet<String>,
    pub built_in: bool,
    /// `secrets_exempt` as the design says (checked again for each language).
    pub secrets_exempt: bool,
}

/// Reserved for drama and documentation (Ofcom's ranges in the UK, 555-01xx in North America,
/// ARCEP's 01 99 00 in France): digits of the E.164 form they begin with.
const FICTIONAL_NUMBERS: &[&str] = &[
    "442079460",
    "441134960",
    "441144960",
    "441154960",
    "441164960",
    "441174960",
    "441184960",
    "441214960",
    "441314960",
    "441414960",
    "441514960",
    "441614960",
    "441914980",
    "442896496",
    "442920180",
    "447700900",
    "441632960",
    "1555010",
    "33199",
];

/// The shipped designs' values that only make sense for a demo: whose brand, help line and
/// access numbers they are.
const DEMO_KEYS: &[&str] = &["brand", "support", "access_numbers", "portal"];

impl Design {
    /// The languages its texts are given in besides its own (`texts.TAG`).
    pub fn languages(&self) -> BTreeSet<String> {
        self.front
            .iter()
            .chain(&self.back)
            .filter_map(|(_, e)| match e {
                Element::Text(t) => Some(t.texts.keys().cloned()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Every placeholder its elements fill in, in any language (`{brand}`, `{serial}`), and the
    /// values read through another (`access_numbers` gives `access_number`, `qr` the QR's
    /// payload).
    pub fn fields_used(&self) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        for (_, e) in self.front.iter().chain(&self.back) {
            let Some(p) = patterns(e) else { continue };
            let others = match e {
                Element::Text(t) => t.texts.values().collect(),
                _ => Vec::new(),
            };
            for pattern in std::iter::once(p).chain(others) {
                used.extend(pattern.fields().map(str::to_string));
            }
            if matches!(e, Element::Qr { .. }) {
                used.insert("qr".into());
            }
        }
        if used.contains("access_number") || used.contains("access_number_dial") {
            used.insert("access_numbers".into());
        }
        used
    }

    /// The design with its texts in `lang` where it gives them (its own texts elsewhere),
    /// checked again as a whole (a secret outside the scratch panel, in any language, is
    /// refused).
    pub fn in_language(mut self, lang: &str) -> Result<Design, TemplateError> {
        // A language written right to left reads from the right edge of each text's box.
        let rtl = crate::portal::i18n::is_rtl(lang);
        for (_, e) in self.front.iter_mut().chain(self.back.iter_mut()) {
            if let Element::Text(t) = e
                && let Some(p) = t.texts.get(lang)
            {
                t.text = p.clone();
                if rtl {
                    t.align = match t.align {
                        Align::Left => Align::Right,
                        Align::Right => Align::Left,
                        Align::Center => Align::Center,
                    };
                    // A value set inside right-to-left text keeps its own order: a phone
                    // number's groups, a Latin login (each value a first-strong isolate).
                    t.text = Pattern(
                        t.text
                            .0
                            .iter()
                            .flat_map(|segment| match segment {
                                Segment::Field(_) => vec![
                                    Segment::Literal("\u{2068}".into()),
                                    segment.clone(),
                                    Segment::Literal("\u{2069}".into()),
                                ],
                                literal => vec![literal.clone()],
                            })
                            .collect(),
                    );
                }
            }
        }
        check(&self, self.secrets_exempt).map_err(|(element, reason)| TemplateError {
            file: self.source.clone(),
            element,
            reason: format!("in {lang}: {reason}"),
        })?;
        Ok(self)
    }

    /// Values the cards would print that are demos: the shipped designs' own brand, support
    /// line and access numbers, and any
    /// value of the design file holding an example.com/.org/.net address or a number from a
    /// fictional range. Values set in the config file or with `--set` are the reseller's.
    /// (key, value, why), for the fields the design's elements print.
    pub fn demo_values(&self) -> Vec<(String, String, &'static str)> {
        let mut used = BTreeSet::new();
        for (_, e) in self.front.iter().chain(&self.back) {
            if let Some(p) = patterns(e) {
                used.extend(p.fields().map(str::to_string));
            }
        }
        // A derived value is a demo when what it is derived from is.
        if used.contains("access_number") || used.contains("access_number_dial") {
            used.insert("access_numbers".into());
        }
        used.into_iter()
            .filter(|k| self.from_design.contains(k))
            .filter_map(|k| {
                let v = self.values.get(&k)?.clone();
                let lower = v.to_ascii_lowercase();
                let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                let why = if ["example.com", "example.org", "example.net"]
                    .iter()
                    .any(|d| lower.contains(d))
                {
                    "an example.com address"
                } else if v
                    .split('|')
                    .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>())
                    .any(|n| FICTIONAL_NUMBERS.iter().any(|f| n.starts_with(f)))
                    || FICTIONAL_NUMBERS.iter().any(|f| digits.starts_with(f))
                {
                    "a number from a fictional range"
                } else if self.built_in && DEMO_KEYS.contains(&k.as_str()) {
                    "the shipped design's demo value"
                } else {
                    return None;
                };
                Some((k, v, why))
            })
            .collect()
    }
}

// ---- TOML shapes ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    kind: Kind,
    #[serde(default)]
    secrets_exempt: bool,
    #[serde(default)]
    font: Option<String>,
    /// Fonts for the characters the elements' fonts lack, tried in order.
    #[serde(default)]
    fallback: Vec<String>,
    #[serde(default)]
    card: RawCard,
    #[serde(default)]
    values: BTreeMap<String, String>,
    #[serde(default)]
    spot: Option<String>,
    #[serde(default)]
    spot_cmyk: Option<Vec<f32>>,
    #[serde(default)]
    front: Vec<RawElement>,
    #[serde(default)]
    back: Vec<RawElement>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCard {
    width: Option<f64>,
    height: Option<f64>,
    bleed: Option<f64>,
    corner_radius: Option<f64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawElement {
    Text {
        text: String,
        /// The text in other languages: `texts = { ar = "...", es = "..." }`.
        #[serde(default)]
        texts: BTreeMap<String, String>,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        size: f32,
        min_size: Option<f32>,
        font: Option<String>,
        color: Option<String>,
        #[serde(default)]
        align: Align,
        #[serde(default)]
        fit: Fit,
        line_height: Option<f32>,
    },
    Rect {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        fill: Option<String>,
        stroke: Option<String>,
        stroke_width: Option<f64>,
    },
    Image {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        file: String,
    },
    Qr {
        x: f64,
        y: f64,
        size: f64,
        payload: Option<String>,
        color: Option<String>,
        /// "L", "M", "Q" (default) or "H".
        level: Option<super::qr::Level>,
    },
    Panel {
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        margin: Option<f64>,
    },
}

/// A rect's outline when the design gives no `stroke_width`, in mm.
const STROKE_MM: f64 = 0.1;
/// The most ink a colour may lay down, all four inks together, in percent: what coated stock
/// on an offset press takes (FOGRA39's limit is 330 %; printers ask 300 to 320 %).
pub const INK_LIMIT: f32 = 320.0;

fn color(text: &str) -> Result<Colour, String> {
    let bad = || format!("colour {text:?} is not cmyk(C, M, Y, K) (percentages) or #rrggbb");
    let t = text.trim();
    if let Some(inner) = t
        .strip_prefix("cmyk(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let parts: Vec<f32> = inner
            .split(',')
            .map(|p| p.trim().trim_end_matches('%').parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if parts.len() != 4 || parts.iter().any(|p| !(0.0..=100.0).contains(p)) {
            return Err(bad());
        }
        let total: f32 = parts.iter().sum();
        if total > INK_LIMIT {
            return Err(format!(
                "colour {text:?} lays down {total} % of ink in all; a press takes at most \
                 {INK_LIMIT} %: lower C, M or Y (a rich black is cmyk(60, 40, 40, 100))"
            ));
        }
        return Ok(Colour::Cmyk([
            parts[0] / 100.0,
            parts[1] / 100.0,
            parts[2] / 100.0,
            parts[3] / 100.0,
        ]));
    }
    let hex = t.strip_prefix('#').unwrap_or("");
    let ok = hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(bad());
    }
    let channel =
        |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex checked") as f32 / 255.0;
    Ok(Colour::Rgb([channel(0), channel(2), channel(4)]))
}

/// What a design is checked against: the value fields that have a value, and where files are.
pub struct Context<'a> {
    pub values: &'a BTreeMap<String, String>,
    pub dir: Option<&'a Path>,
}

/// Loads a design by name or path; `extra` values (config file, `--set`) override its own.
pub fn load_design(name: &str, extra: &BTreeMap<String, String>) -> Result<Design, TemplateError> {
    let source = assets::find("design", name, assets::DESIGNS).map_err(|reason| TemplateError {
        file: name.to_string(),
        element: None,
        reason,
    })?;
    parse_design(&source, extra)
}

pub fn parse_design(
    source: &Source,
    extra: &BTreeMap<String, String>,
) -> Result<Design, TemplateError> {
    let file = source.label.clone();
    let fail = |element: Option<String>, reason: String| TemplateError {
        file: file.clone(),
        element,
        reason,
    };
    let raw: RawDesign = toml::from_str(&source.text).map_err(|e| {
        fail(
            None,
            e.message().to_string() + &span(&source.text, e.span()),
        )
    })?;
    let default = CardGeometry::default();
    let card = CardGeometry {
        width: raw.card.width.unwrap_or(default.width),
        height: raw.card.height.unwrap_or(default.height),
        bleed: raw.card.bleed.unwrap_or(default.bleed),
        radius: raw.card.corner_radius.unwrap_or(default.radius),
    };
    if !(card.width > 10.0 && card.height > 10.0 && card.bleed >= 0.0 && card.bleed <= 10.0) {
        return Err(fail(
            Some("[card]".into()),
            "width and height must exceed 10 mm and bleed be 0 to 10 mm".into(),
        ));
    }
    let mut values = raw.values.clone();
    values.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    derive_access_numbers(&mut values);
    let from_design: BTreeSet<String> = values
        .keys()
        .filter(|k| !extra.contains_key(*k))
        .filter(|k| {
            // Derived from access_numbers: the user's when access_numbers is.
            !(matches!(k.as_str(), "access_number" | "access_number_dial")
                && extra.contains_key("access_numbers"))
        })
        .cloned()
        .collect();
    for claim in CLAIMS {
        if from_design.contains(claim) {
            values.remove(claim);
        }
    }
    let mut design = Design {
        source: file.clone(),
        kind: raw.kind,
        card,
        values,
        front: Vec::new(),
        back: Vec::new(),
        fonts: Vec::new(),
        fallback: Vec::new(),
        fallback_shipped: Vec::new(),
        images: Vec::new(),
        spot: raw.spot.unwrap_or_else(|| "ScratchOff".into()),
        spot_cmyk: match raw.spot_cmyk.as_deref() {
            None => [0.0, 0.0, 0.0, 0.25],
            Some(&[c, m, y, k]) => [c, m, y, k],
            Some(other) => {
                return Err(fail(
                    None,
                    format!(
                        "spot_cmyk has {} numbers: give four fractions from 0 to 1 (C, M, Y, \
                         K), like [0.0, 0.0, 0.0, 0.25]",
                        other.len()
                    ),
                ));
            }
        },
        from_design,
        built_in: source.dir.is_none(),
        secrets_exempt: raw.secrets_exempt,
    };
    if design.spot_cmyk.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(fail(
            None,
            format!(
                "spot_cmyk {:?} must be four fractions from 0 to 1 (0.25 is 25 % of an ink), \
                 like [0.0, 0.0, 0.0, 0.25]",
                design.spot_cmyk
            ),
        ));
    }
    if 100.0 * design.spot_cmyk.iter().sum::<f32>() > INK_LIMIT {
        return Err(fail(
            None,
            format!(
                "spot_cmyk {:?} lays down {} % of ink in all; a press takes at most {INK_LIMIT} %",
                design.spot_cmyk,
                100.0 * design.spot_cmyk.iter().sum::<f32>()
            ),
        ));
    }
    if design.spot.is_empty()
        || !design
            .spot
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(fail(
            None,
            format!(
                "spot colour name {:?} must be letters, digits, - or _",
                design.spot
            ),
        ));
    }
    let default_font = raw.font.unwrap_or_else(|| "DejaVuSans.ttf".into());
    let dir = source.dir.clone();
    // Every element's problem at once (an ink limit broken on two elements is said for both).
    let mut refused: Vec<(String, String)> = Vec::new();
    for (side, elements) in [("front", raw.front), ("back", raw.back)] {
        let mut out = Vec::new();
        for (i, raw) in elements.into_iter().enumerate() {
            let label = format!("{side} element {} ({})", i + 1, raw.type_name());
            let el = match convert(raw, &mut design, &default_font, dir.as_deref()) {
                Ok(el) => el,
                Err(reason) => {
                    refused.push((label, reason));
                    continue;
                }
            };
            let unbacked_claim = patterns(&el).is_some_and(|p| {
                p.fields()
                    .any(|f| CLAIMS.contains(&f) && !design.values.contains_key(f))
            });
            if unbacked_claim {
                continue;
            }
            out.push((label, el));
        }
        if side == "front" {
            design.front = out;
        } else {
            design.back = out;
        }
    }
    match refused.len() {
        0 => {}
        1 => {
            let (label, reason) = refused.remove(0);
            return Err(fail(Some(label), reason));
        }
        n => {
            return Err(fail(
                None,
                format!(
                    "{n} elements refused:\n{}",
                    refused
                        .iter()
                        .map(|(label, reason)| format!("  {label}: {reason}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            ));
        }
    }
    for name in &raw.fallback {
        let i = index_of(&mut design.fonts, name, dir.as_deref(), "font")
            .map_err(|r| fail(None, format!("fallback: {r}")))?;
        ttf_parser::Face::parse(&design.fonts[i].1, 0).map_err(|e| {
            fail(
                None,
                format!("fallback: font {name:?} is not a usable TrueType font: {e}"),
            )
        })?;
        design.fallback.push(i);
    }
    for name in super::shape::SHIPPED_FALLBACKS {
        let i = index_of(&mut design.fonts, name, None, "font").map_err(|r| fail(None, r))?;
        design.fallback_shipped.push(i);
    }
    check(&design, raw.secrets_exempt).map_err(|(element, reason)| fail(element, reason))?;
    Ok(design)
}

fn span(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| format!(" (line {})", text[..s.start].matches('\n').count() + 1))
        .unwrap_or_default()
}

/// `access_number` and `access_number_dial` from `access_numbers` (`|`-separated) when absent.
fn derive_access_numbers(values: &mut BTreeMap<String, String>) {
    if let Some(list) = values.get("access_numbers").cloned() {
        let numbers: Vec<&str> = list
            .split('|')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        values.insert("access_numbers".into(), numbers.join("  ·  "));
        if let Some(first) = numbers.first() {
            values
                .entry("access_number".into())
                .or_insert_with(|| first.to_string());
        }
    }
    if let Some(first) = values.get("access_number").cloned() {
        let dial: String = first
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        values.entry("access_number_dial".into()).or_insert(dial);
    }
}

impl RawElement {
    fn type_name(&self) -> &'static str {
        match self {
            RawElement::Text { .. } => "text",
            RawElement::Rect { .. } => "rect",
            RawElement::Image { .. } => "image",
            RawElement::Qr { .. } => "qr",
            RawElement::Panel { .. } => "panel",
        }
    }
}

fn index_of(
    list: &mut Vec<(String, Vec<u8>)>,
    name: &str,
    dir: Option<&Path>,
    what: &str,
) -> Result<usize, String> {
    if let Some(i) = list.iter().position(|(n, _)| n == name) {
        return Ok(i);
    }
    let bytes = assets::load_file(dir, name).ok_or_else(|| {
        format!(
            "{what} {name:?} not found (beside the template, in ../fonts or ../images, or shipped)"
        )
    })?;
    list.push((name.to_string(), bytes));
    Ok(list.len() - 1)
}

fn convert(
    raw: RawElement,
    design: &mut Design,
    default_font: &str,
    dir: Option<&Path>,
) -> Result<Element, String> {
    let rect = |x: f64, y: f64, width: f64, height: f64| -> Result<Rect, String> {
        if !(width > 0.0 && height > 0.0) {
            return Err("width and height must be more than 0".into());
        }
        Ok(Rect {
            x,
            y,
            width,
            height,
        })
    };
    Ok(match raw {
        RawElement::Text {
            text,
            texts,
            x,
            y,
            width,
            height,
            size,
            min_size,
            font,
            color: c,
            align,
            fit,
            line_height,
        } => {
            let font_name = font.unwrap_or_else(|| default_font.to_string());
            let font = index_of(&mut design.fonts, &font_name, dir, "font")?;
            ttf_parser::Face::parse(&design.fonts[font].1, 0)
                .map_err(|e| format!("font {font_name:?} is not a usable TrueType font: {e}"))?;
            let min_size = min_size.unwrap_or(5.0).min(size);
            if !(3.0..=200.0).contains(&size) || min_size < 3.0 {
                return Err(format!(
                    "size {size} pt: must be 3 to 200 pt (and min_size at least 3)"
                ));
            }
            let texts = texts
                .iter()
                .map(|(lang, t)| {
                    Pattern::parse(t)
                        .map(|p| (lang.clone(), p))
                        .map_err(|e| format!("texts.{lang}: {e}"))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            Element::Text(Text {
                text: Pattern::parse(&text)?,
                texts,
                rect: rect(x, y, width, height)?,
                size,
                min_size,
                font,
                color: c
                    .as_deref()
                    .map(color)
                    .transpose()?
                    .unwrap_or(Colour::BLACK),
                align,
                fit,
                line_height: line_height.unwrap_or(1.2),
            })
        }
        RawElement::Rect {
            x,
            y,
            width,
            height,
            fill,
            stroke,
            stroke_width,
        } => {
            let fill = fill.as_deref().map(color).transpose()?;
            let stroke = stroke.as_deref().map(color).transpose()?;
            if fill.is_none() && stroke.is_none() {
                return Err("a rect needs fill or stroke (or both)".into());
            }
            Element::Rect {
                rect: rect(x, y, width, height)?,
                fill,
                stroke,
                stroke_width: match stroke_width.unwrap_or(STROKE_MM) {
                    w if w > 0.0 && w <= 5.0 => w,
                    w => {
                        return Err(format!(
                            "stroke_width = {w}: give millimetres, more than 0 and at most 5 \
                             (like every length of a design; 0.1 is a hairline)"
                        ));
                    }
                },
            }
        }
        RawElement::Image {
            x,
            y,
            width,
            height,
            file,
        } => {
            let image = index_of(&mut design.images, &file, dir, "image")?;
            super::image::Image::decode(&design.images[image].1)
                .map_err(|e| format!("image {file:?}: {e}"))?;
            Element::Image {
                rect: rect(x, y, width, height)?,
                image,
            }
        }
        RawElement::Qr {
            x,
            y,
            size,
            payload,
            color: c,
            level,
        } => {
            if size < MIN_QR_MM {
                return Err(format!(
                    "QR code of {size} mm: at least {MIN_QR_MM} mm (quiet zone included) scans reliably"
                ));
            }
            let payload = payload
                .or_else(|| design.values.get("qr").cloned())
                .unwrap_or_else(|| DEFAULT_QR.to_string());
            Element::Qr {
                rect: rect(x, y, size, size)?,
                payload: Pattern::parse(&payload)?,
                color: c
                    .as_deref()
                    .map(color)
                    .transpose()?
                    .unwrap_or(Colour::BLACK),
                level: level.unwrap_or(super::qr::Level::Q),
            }
        }
        RawElement::Panel {
            x,
            y,
            width,
            height,
            margin,
        } => Element::Panel {
            rect: rect(x, y, width, height)?,
            margin: margin.unwrap_or(1.5).max(0.0),
        },
    })
}

pub(crate) fn element_rect(e: &Element) -> Rect {
    match e {
        Element::Text(t) => t.rect,
        Element::Rect { rect, .. }
        | Element::Image { rect, .. }
        | Element::Qr { rect, .. }
        | Element::Panel { rect, .. } => *rect,
    }
}

fn patterns(e: &Element) -> Option<&Pattern> {
    match e {
        Element::Text(t) => Some(&t.text),
        Element::Qr { payload, .. } => Some(payload),
        _ => None,
    }
}

/// The whole-design rules.
fn check(design: &Design, secrets_exempt: bool) -> Result<(), (Option<String>, String)> {
    if secrets_exempt && design.kind == Kind::Retail {
        return Err((
            None,
            "a retail design cannot be secrets_exempt: its cards are sold off an open rack".into(),
        ));
    }
    let c = &design.card;
    let bleed_box = Rect {
        x: -c.bleed,
        y: -c.bleed,
        width: c.width + 2.0 * c.bleed,
        height: c.height + 2.0 * c.bleed,
    };
    let panels: Vec<(&str, &String, Rect, f64)> =
        [("front", &design.front), ("back", &design.back)]
            .into_iter()
            .flat_map(|(side, els)| {
                els.iter().filter_map(move |(label, e)| match e {
                    Element::Panel { rect, margin } => Some((side, label, *rect, *margin)),
                    _ => None,
                })
            })
            .collect();
    if panels.len() > 1 {
        return Err((
            Some(panels[1].1.clone()),
            "a design has at most one scratch panel".into(),
        ));
    }
    for (side, elements) in [("front", &design.front), ("back", &design.back)] {
        let panel = panels.iter().find(|p| p.0 == side);
        let mut after_panel = false;
        for (label, e) in elements.iter() {
            let r = element_rect(e);
            if !bleed_box.contains(&r) {
                return Err((
                    Some(label.clone()),
                    format!(
                        "lies off the card: {} x {} mm at ({}, {}) is outside the card and its {} mm bleed",
                        r.width, r.height, r.x, r.y, c.bleed
                    ),
                ));
            }
            if let Some(p) = patterns(e) {
                for f in p.fields() {
                    if CARD_FIELDS.contains(&f) || design.values.contains_key(f) {
                        continue;
                    }
                    let reason = if VALUE_FIELDS.contains(&f) {
                        format!(
                            "placeholder {{{f}}} has no value: give it in the design's [values], the config file's [values] or --set {f}=..."
                        )
                    } else {
                        format!(
                            "unknown placeholder {{{f}}}; the fields are {}, {} and any key of [values]",
                            CARD_FIELDS.join(", "),
                            VALUE_FIELDS.join(", ")
                        )
                    };
                    return Err((Some(label.clone()), reason));
                }
            }
            let secret = patterns(e).is_some_and(Pattern::uses_secret);
            if matches!(e, Element::Panel { .. }) {
                after_panel = true;
                continue;
            }
            if design.kind == Kind::Retail && secret {
                let under = panel.is_some_and(|p| after_panel && p.2.contains(&r));
                if !under {
                    return Err((Some(label.clone()), "shows the code or password outside the scratch panel: on a retail card every secret (text or QR) must lie inside the panel and come after it".into()));
                }
            } else if let (Some(p), true) = (panel, after_panel)
                && p.2.grow(p.3, p.3).intersects(&r)
                && !p.2.contains(&r)
            {
                return Err((
                    Some(label.clone()),
                    format!("overlaps the scratch panel or its {} mm clear margin", p.3),
                ));
            }
        }
    }
    Ok(())
}

/// Sheet layouts in TOML.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSheet {
    name: String,
    /// One card per page, the page the card plus its bleed (card printers).
    #[serde(default)]
    single_card: bool,
    page_width: Option<f64>,
    page_height: Option<f64>,
    rows: Option<usize>,
    columns: Option<usize>,
    origin_x: Option<f64>,
    origin_y: Option<f64>,
    pitch_x: Option<f64>,
    pitch_y: Option<f64>,
    #[serde(default)]
    crop_marks: bool,
    /// Press output (default for single cards) or an office sheet (default otherwise).
    press: Option<bool>,
    /// The registered print condition of press output (default FOGRA39).
    output_condition: Option<String>,
    /// How the scratch panel prints by default: `plate` (press: a spot-colour plate over the
    /// code) or `sticker` (office stock: an outline where a scratch-off sticker goes); by
    /// default a plate on press output and a sticker on office sheets.
    scratch: Option<Scratch>,
    /// The stock's cards as its maker cuts them, where they differ from the design's card:
    /// origin and pitch are then the stock's published ones.
    card_width: Option<f64>,
    card_height: Option<f64>,
}

/// Loads a sheet layout by name or path and fits it to `card`.
pub fn load_sheet(name: &str, card: &CardGeometry) -> Result<Sheet, TemplateError> {
    let source = assets::find("sheet", name, assets::SHEETS).map_err(|reason| TemplateError {
        file: name.into(),
        element: None,
        reason,
    })?;
    let fail = |reason: String| TemplateError {
        file: source.label.clone(),
        element: None,
        reason,
    };
    let raw: RawSheet = toml::from_str(&source.text)
        .map_err(|e| fail(e.message().to_string() + &span(&source.text, e.span())))?;
    let sheet = if raw.single_card {
        Sheet {
            name: raw.name,
            page_width: card.width + 2.0 * card.bleed,
            page_height: card.height + 2.0 * card.bleed,
            rows: 1,
            columns: 1,
            origin_x: card.bleed,
            origin_y: card.bleed,
            pitch_x: card.width,
            pitch_y: card.height,
            crop_marks: false,
            press: raw.press.unwrap_or(true),
            output_condition: raw
                .output_condition
                .clone()
                .unwrap_or_else(|| "FOGRA39".into()),
            scratch: raw.scratch.unwrap_or(Scratch::Plate),
            stock: None,
        }
    } else {
        let need = |v: Option<f64>, field: &str| {
            v.ok_or_else(|| fail(format!("{field} is required (or single_card = true)")))
        };
        Sheet {
            name: raw.name,
            page_width: need(raw.page_width, "page_width")?,
            page_height: need(raw.page_height, "page_height")?,
            rows: raw.rows.ok_or_else(|| fail("rows is required".into()))?,
            columns: raw
                .columns
                .ok_or_else(|| fail("columns is required".into()))?,
            origin_x: need(raw.origin_x, "origin_x")?,
            origin_y: need(raw.origin_y, "origin_y")?,
            pitch_x: need(raw.pitch_x, "pitch_x")?,
            pitch_y: need(raw.pitch_y, "pitch_y")?,
            crop_marks: raw.crop_marks,
            press: raw.press.unwrap_or(false),
            output_condition: raw
                .output_condition
                .clone()
                .unwrap_or_else(|| "FOGRA39".into()),
            scratch: raw.scratch.unwrap_or(if raw.press == Some(true) {
                Scratch::Plate
            } else {
                Scratch::Sticker
            }),
            stock: match (raw.card_width, raw.card_height) {
                (None, None) => None,
                (w, h) => Some((w.unwrap_or(card.width), h.unwrap_or(card.height))),
            },
        }
    };
    sheet.check(card).map_err(|e| fail(e.to_string()))?;
    Ok(sheet)
}

/// Loads a sheet layout for `design`: its geometry checked against the design's card, the
/// design's content checked against the stock's cut (text, codes, images and the panel stay
/// on the stock's card when it is smaller than the design's), and on press output its images
/// checked to convert to CMYK without transparency.
pub fn load_sheet_for(name: &str, design: &Design) -> Result<Sheet, TemplateError> {
    let sheet = load_sheet(name, &design.card)?;
    if sheet.press {
        super::press_images(design)?;
    }
    let (cx, cy) = sheet.cut_off(&design.card);
    if cx == 0.0 && cy == 0.0 {
        return Ok(sheet);
    }
    let c = &design.card;
    let keep = Rect {
        x: cx,
        y: cy,
        width: c.width - 2.0 * cx,
        height: c.height - 2.0 * cy,
    };
    for elements in [&design.front, &design.back] {
        for (label, e) in elements {
            if matches!(e, Element::Rect { .. }) {
                continue; // backgrounds and frames may run into the cut like into the bleed
            }
            if !keep.contains(&element_rect(e)) {
                return Err(TemplateError {
                    file: design.source.clone(),
                    element: Some(label.clone()),
                    reason: format!(
                        "it reaches into what the stock of {} cuts off the card's edges \
                         ({cx:.2} mm left and right, {cy:.2} mm top and bottom): keep it inside \
                         x {cx:.2}..{:.2}, y {cy:.2}..{:.2}, or choose another sheet",
                        sheet.name,
                        keep.right(),
                        keep.bottom()
                    ),
                });
            }
        }
    }
    Ok(sheet)
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Retail => "retail",
            Kind::Welcome => "welcome",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::image;

    fn design(body: &str) -> Result<Design, TemplateError> {
        let source = Source {
            label: "t.toml".into(),
            text: body.into(),
            dir: None,
        };
        parse_design(&source, &BTreeMap::new())
    }

    const PANEL: &str = "[[back]]\ntype = \"panel\"\nx = 5\ny = 20\nwidth = 60\nheight = 20\n";

    #[test]
    fn patterns_parse_fields_and_escapes() {
        let p = Pattern::parse("Code: {code} {{x}}").unwrap();
        assert_eq!(
            p.0,
            vec![
                Segment::Literal("Code: ".into()),
                Segment::Field("code".into()),
                Segment::Literal(" {x}".into())
            ]
        );
        assert!(p.uses_secret());
        assert!(Pattern::parse("{code").is_err());
        assert!(Pattern::parse("a } b").is_err());
        assert_eq!(p.render(|_| "123"), "Code: 123 {x}");
    }

    #[test]
    fn the_shipped_designs_and_sheets_load() {
        for (name, _) in assets::DESIGNS {
            let d = load_design(name, &BTreeMap::new()).unwrap();
            for (sheet, _) in assets::SHEETS {
                load_sheet_for(sheet, &d).unwrap();
            }
        }
        // Batches recorded before the sheets were named after their stock still render.
        let old = load_sheet("a4-10up", &CardGeometry::default()).unwrap();
        assert!(old.name.contains("C32011"), "{}", old.name);
    }

    #[test]
    fn press_output_flattens_an_image_onto_one_plain_colour_or_refuses_it() {
        let logo = |x: f64, extra: &str| {
            format!(
                r#"
kind = "welcome"
[[front]]
type = "rect"
x = -3
y = -3
width = 91.6
height = 59.98
fill = "cmyk(67, 39, 0, 66)"
{extra}
[[front]]
type = "image"
file = "logo.png"
x = {x}
y = 6
width = 12
height = 12
"#
            )
        };
        // On the navy background: flattened onto it, no soft mask left.
        let d = design(&logo(6.0, "")).unwrap();
        let images = crate::render::press_images(&d).unwrap();
        let image::ImageData::Raw {
            samples,
            components: 4,
            alpha: None,
        } = &images[0].data
        else {
            panic!()
        };
        assert_eq!(
            &samples[..4],
            &[171, 99, 0, 168],
            "the corner shows the navy"
        );
        // Over text as well as the background: more than one colour beneath.
        let text = "[[front]]\ntype = \"text\"\ntext = \"x\"\nx = 5\ny = 10\nwidth = 20\nheight = 5\nsize = 8\n";
        let e = crate::render::press_images(&design(&logo(6.0, text)).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("front element 3 (image)")
                && e.contains("front element 2 (text) lies beneath"),
            "{e}"
        );
        // The same file on the navy front and on a white back.
        let twice = logo(6.0, "")
            + "[[back]]\ntype = \"image\"\nfile = \"logo.png\"\nx = 6\ny = 6\nwidth = 12\nheight = 12\n";
        let e = crate::render::press_images(&design(&twice).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("over another colour"), "{e}");
    }

    #[test]
    fn content_must_stay_off_the_strip_the_stock_cuts_off() {
        let d = design(
            r#"
kind = "welcome"
[[front]]
type = "text"
text = "edge to edge"
x = 0.1
y = 10
width = 85.4
height = 5
size = 8
"#,
        )
        .unwrap();
        let e = load_sheet_for("avery-c32011", &d).unwrap_err().to_string();
        assert!(
            e.contains("t.toml: front element 1") && e.contains("x 0.30..85.30"),
            "{e}"
        );
        load_sheet_for("letter-8up", &d).unwrap();
    }

    #[test]
    fn errors_name_the_file_and_the_element() {
        let err = design("kind = \"welcome\"\n[[front]]\ntype = \"text\"\ntext = \"{cod}\"\nx = 1\ny = 1\nwidth = 20\nheight = 5\nsize = 8\n").unwrap_err();
        assert_eq!(err.file, "t.toml");
        assert_eq!(err.element.as_deref(), Some("front element 1 (text)"));
        assert!(err.reason.contains("unknown placeholder {cod}"), "{err}");
        let err = design("kind = \"welcome\"\n[[front]]\ntype = \"text\"\ntext = \"{brand}\"\nx = 1\ny = 1\nwidth = 20\nheight = 5\nsize = 8\n").unwrap_err();
        assert!(err.reason.contains("{brand} has no value"), "{err}");
        let err = design("kind = \"welcome\"\n[[back]]\ntype = \"rect\"\nx = 80\ny = 1\nwidth = 20\nheight = 5\nfill = \"#000000\"\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("back element 1 (rect): lies off the card"),
            "{err}"
        );
        let err = design("kind = \"welcome\"\n[[back]]\ntype = \"image\"\nx = 1\ny = 1\nwidth = 20\nheight = 5\nfile = \"nope.png\"\n").unwrap_err();
        assert!(err.reason.contains("image \"nope.png\" not found"), "{err}");
        let err = design("kind = \"welcome\"\n[[back]]\ntype = \"text\"\ntext = \"x\"\nfont = \"Missing.ttf\"\nx = 1\ny = 1\nwidth = 20\nheight = 5\nsize = 8\n").unwrap_err();
        assert!(
            err.reason.contains("font \"Missing.ttf\" not found"),
            "{err}"
        );
        let err = design("kind = \"welcome\"\n[[back]]\ntype = \"qr\"\nx = 1\ny = 1\nsize = 10\npayload = \"{code}\"\n").unwrap_err();
        assert!(err.reason.contains("at least 12 mm"), "{err}");
        let err = design("kind = \"welcome\"\nbogus = 1\n").unwrap_err();
        assert!(err.reason.contains("bogus"), "{err}");
    }

    #[test]
    fn retail_secrets_must_lie_inside_the_panel() {
        let code_in = "[[back]]\ntype = \"text\"\ntext = \"{code}\"\nx = 6\ny = 22\nwidth = 40\nheight = 6\nsize = 10\n";
        assert!(design(&format!("kind = \"retail\"\n{PANEL}{code_in}")).is_ok());
        let code_out = "[[back]]\ntype = \"text\"\ntext = \"{code}\"\nx = 6\ny = 2\nwidth = 40\nheight = 6\nsize = 10\n";
        let err = design(&format!("kind = \"retail\"\n{PANEL}{code_out}")).unwrap_err();
        assert!(err.reason.contains("outside the scratch panel"), "{err}");
        // Before the panel is drawn it would be under the foil's paint, not on the panel.
        let err = design(&format!("kind = \"retail\"\n{code_in}{PANEL}")).unwrap_err();
        assert!(err.reason.contains("outside the scratch panel"), "{err}");
        let qr_out =
            "[[front]]\ntype = \"qr\"\nx = 6\ny = 2\nsize = 14\npayload = \"tel:1,,{code}\"\n";
        assert!(design(&format!("kind = \"retail\"\n{PANEL}{qr_out}")).is_err());
        // A welcome card may show them anywhere.
        assert!(
            design(&format!(
                "kind = \"welcome\"\nsecrets_exempt = true\n{code_out}"
            ))
            .is_ok()
        );
        assert!(design("kind = \"retail\"\nsecrets_exempt = true\n").is_err());
        // Other elements keep clear of the panel's margin.
        let near = "[[back]]\ntype = \"text\"\ntext = \"x\"\nx = 6\ny = 40.5\nwidth = 40\nheight = 5\nsize = 8\n";
        let err = design(&format!("kind = \"retail\"\n{PANEL}{near}")).unwrap_err();
        assert!(err.reason.contains("clear margin"), "{err}");
    }

    #[test]
    fn access_numbers_give_the_first_and_its_dial_string() {
        let mut v = BTreeMap::from([(
            "access_numbers".to_string(),
            "+44 20 7946 0000 | +33 1 23 45 67 89".to_string(),
        )]);
        derive_access_numbers(&mut v);
        assert_eq!(v["access_number"], "+44 20 7946 0000");
        assert_eq!(v["access_number_dial"], "+442079460000");
    }
}
