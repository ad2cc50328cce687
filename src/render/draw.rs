//! Content streams: one card side at a placement (elements in order, clipped to its bleed),
//! crop marks, and the proof sheet. Millimetres in, PDF points out (y flipped).

use pdf_writer::types::ColorSpaceOperand;
use pdf_writer::{Content, Name, Str, TextStr};

use super::font::Font;
use super::layout::Scratch;
use super::layout::{Mark, Placement, Rect, Sheet};
use super::pdf::{ALL_NAME, LAYER_NAME, OVERPRINT_NAME, SPOT_NAME, font_name, image_name, pt};
use super::qr::{Matrix, QUIET_ZONE};
use super::shape::{self, Typesetter};
use super::template::{Align, Colour, Design, Element, Fit, Text};

/// The smallest QR module that office printers and phone cameras handle reliably.
pub const MIN_MODULE_MM: f64 = 0.4;

/// What a card prints: the card fields, and the values shared by the batch.
pub struct Fields<'a> {
    pub card: &'a CardFields,
    pub values: &'a std::collections::BTreeMap<String, String>,
}

/// The card fields of one card, formatted for print.
#[derive(Debug, Clone, Default)]
pub struct CardFields {
    pub serial: String,
    pub code: String,
    pub password: String,
    pub value: String,
    pub currency: String,
    pub batch: String,
    pub label: String,
    /// The card's CLI numbers, space-separated.
    pub numbers: String,
}

impl Fields<'_> {
    pub fn get(&self, name: &str) -> &str {
        let c = self.card;
        match name {
            "serial" => &c.serial,
            "code" => &c.code,
            "password" => &c.password,
            "value" => &c.value,
            "currency" => &c.currency,
            "batch" => &c.batch,
            "label" => &c.label,
            "numbers" => &c.numbers,
            other => self.values.get(other).map_or("", String::as_str),
        }
    }
}

/// How a page prints: for press (CMYK only, the scratch panel as a plate) or office sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub press: bool,
    pub scratch: Scratch,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            press: false,
            scratch: Scratch::Sticker,
        }
    }
}

/// A page under construction.
pub struct Page {
    pub content: Content,
    pub height: f64,
    pub style: Style,
}

impl Page {
    pub fn new(height: f64) -> Page {
        Page::styled(height, Style::default())
    }

    pub fn styled(height: f64, style: Style) -> Page {
        Page {
            content: Content::new(),
            height,
            style,
        }
    }

    /// Sets the fill colour: CMYK, or RGB on office pages (press pages get its CMYK).
    fn fill(&mut self, colour: Colour) {
        match (colour, self.style.press) {
            (Colour::Rgb([r, g, b]), false) => self.content.set_fill_rgb(r, g, b),
            _ => {
                let [c, m, y, k] = colour.to_cmyk();
                self.content.set_fill_cmyk(c, m, y, k)
            }
        };
    }

    fn stroke(&mut self, colour: Colour) {
        match (colour, self.style.press) {
            (Colour::Rgb([r, g, b]), false) => self.content.set_stroke_rgb(r, g, b),
            _ => {
                let [c, m, y, k] = colour.to_cmyk();
                self.content.set_stroke_cmyk(c, m, y, k)
            }
        };
    }

    /// Pure black ink overprints (until the enclosing `Q`): a misregistered plate cannot open
    /// a white gap around small text or QR modules, and nothing beneath is knocked out.
    fn overprint_if_black(&mut self, colour: Colour) {
        if colour.is_pure_black() {
            self.content.set_parameters(Name(OVERPRINT_NAME));
        }
    }

    fn rect(&mut self, r: &Rect) {
        self.content.rect(
            pt(r.x),
            pt(self.height - r.y - r.height),
            pt(r.width),
            pt(r.height),
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        self.content.move_to(pt(x1), pt(self.height - y1));
        self.content.line_to(pt(x2), pt(self.height - y2));
    }
}

fn offset(r: &Rect, origin: &Rect) -> Rect {
    Rect {
        x: origin.x + r.x,
        y: origin.y + r.y,
        ..*r
    }
}

/// Draws one side of one card. Errors name the element (never the secret text).
pub fn card_side(
    page: &mut Page,
    design: &Design,
    elements: &[(String, Element)],
    at: &Placement,
    fields: &Fields<'_>,
    fonts: &[Font],
    ts: &Typesetter<'_>,
) -> Result<(), String> {
    page.content.save_state();
    page.rect(&at.clip);
    page.content.clip_nonzero();
    page.content.end_path();
    if at.turned {
        // Half a turn about the card's trim centre (the clip, set before, stays put).
        let (cx, cy) = (
            at.trim.x + at.trim.width / 2.0,
            page.height - at.trim.y - at.trim.height / 2.0,
        );
        page.content
            .transform([-1.0, 0.0, 0.0, -1.0, 2.0 * pt(cx), 2.0 * pt(cy)]);
    }
    let mut panels = Vec::new();
    for (label, element) in elements {
        match element {
            Element::Text(t) => {
                let text = t.text.render(|f| fields.get(f));
                draw_text(page, t, &text, fonts, ts, &at.trim).map_err(|e| {
                    format!(
                        "card {}: {} ({label}): {e}",
                        fields.card.serial, design.source
                    )
                })?;
            }
            Element::Rect {
                rect,
                fill,
                stroke,
                stroke_width,
            } => {
                let r = offset(rect, &at.trim);
                page.content.save_state();
                if let Some(colour) = fill {
                    // A solid black fill overprints, like black text and QR codes.
                    page.overprint_if_black(*colour);
                    page.fill(*colour);
                }
                if let Some(colour) = stroke {
                    page.stroke(*colour);
                    page.content.set_line_width(pt(*stroke_width));
                }
                page.rect(&r);
                match (fill.is_some(), stroke.is_some()) {
                    (true, true) => page.content.fill_nonzero_and_stroke(),
                    (true, false) => page.content.fill_nonzero(),
                    _ => page.content.stroke(),
                };
                page.content.restore_state();
            }
            Element::Image { rect, image } => {
                let r = offset(rect, &at.trim);
                let c = &mut page.content;
                c.save_state();
                c.transform([
                    pt(r.width),
                    0.0,
                    0.0,
                    pt(r.height),
                    pt(r.x),
                    pt(page.height - r.y - r.height),
                ]);
                c.x_object(Name(image_name(*image).as_bytes()));
                c.restore_state();
            }
            Element::Qr {
                rect,
                payload,
                color,
                level,
            } => {
                let text = payload.render(|f| fields.get(f));
                let m = Matrix::encode(&text, *level)
                    .map_err(|e| format!("card {}: {label}: {e}", fields.card.serial))?;
                let r = offset(rect, &at.trim);
                let module = r.width / m.span() as f64;
                if module < MIN_MODULE_MM {
                    return Err(format!(
                        "card {}: {label}: QR modules of {module:.2} mm, at least {MIN_MODULE_MM} \
                         mm scan reliably: enlarge the QR or shorten its payload",
                        fields.card.serial
                    ));
                }
                let quiet = QUIET_ZONE as f64 * module;
                // A white field under the symbol and its quiet zone, whatever is beneath.
                page.content.save_state();
                page.fill(Colour::Cmyk([0.0; 4]));
                page.rect(&r);
                page.content.fill_nonzero();
                page.content.restore_state();
                // Drawn in module units, y down from the symbol's corner: small integers keep
                // the content stream short, which is most of the cost of a page.
                page.content.save_state();
                page.overprint_if_black(*color);
                page.fill(*color);
                let h = page.height;
                let c = &mut page.content;
                c.transform([
                    pt(module),
                    0.0,
                    0.0,
                    -pt(module),
                    pt(r.x + quiet),
                    pt(h - r.y - quiet),
                ]);
                // Whole modules: integer operands are shorter, and quicker to write than floats.
                for (x, y, w, h) in m.rects() {
                    c.op("re")
                        .operands([x as i32, y as i32, w as i32, h as i32]);
                }
                c.fill_nonzero();
                c.restore_state();
            }
            // Painted last, whatever the design's order: over everything it must cover.
            Element::Panel { rect, .. } => panels.push(offset(rect, &at.trim)),
        }
    }
    for r in panels {
        scratch_panel(page, &r);
    }
    page.content.restore_state();
    Ok(())
}

/// The scratch panel as the page's style wants it. A plate is the spot colour at full tint,
/// overprinting, on its own layer: the separation shows solid ink over the code and the QR,
/// and the black plate keeps them. A sticker is a thin outline where the sticker goes.
fn scratch_panel(page: &mut Page, r: &Rect) {
    match page.style.scratch {
        Scratch::Plate => {
            let c = &mut page.content;
            c.begin_marked_content_with_properties(Name(b"OC"))
                .properties_named(Name(LAYER_NAME));
            c.save_state();
            c.set_parameters(Name(OVERPRINT_NAME));
            c.set_fill_color_space(ColorSpaceOperand::Named(Name(SPOT_NAME)));
            c.set_fill_color([1.0]);
            page.rect(r);
            page.content.fill_nonzero();
            page.content.restore_state();
            page.content.end_marked_content();
        }
        Scratch::Sticker => {
            page.content.save_state();
            page.stroke(Colour::Cmyk([0.0, 0.0, 0.0, 0.5]));
            page.content.set_line_width(pt(0.2));
            page.rect(r);
            page.content.stroke();
            page.content.restore_state();
        }
        Scratch::None => {}
    }
}

/// How wide a line is at a size, in points.
pub type Measure<'a> = dyn Fn(&str, f32) -> f32 + 'a;

/// Breaks each paragraph of `text` (split at `\n`) where the Unicode line breaking algorithm
/// (UAX #14, unicode-linebreak) allows, so that no line is wider than `width` points at
/// `size`: at spaces, after a hyphen, between two ideographs (CJK has no spaces); never
/// inside a phone number (a space between two digits does not break). A piece wider than the
/// line stays whole on its own line. (Thai and Lao need a dictionary to find their word
/// boundaries; without one a run of them breaks only at spaces.)
fn wrap(text: &str, width: f32, size: f32, measure: &Measure<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for piece in pieces(paragraph) {
            if line.is_empty() {
                line.push_str(piece);
                continue;
            }
            let candidate = format!("{line}{piece}");
            if measure(candidate.trim_end(), size) <= width + 0.01 {
                line = candidate;
            } else {
                lines.push(line.trim_end().to_string());
                line = piece.to_string();
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// A paragraph cut where a line may break, each piece with the spaces that follow it.
fn pieces(paragraph: &str) -> Vec<&str> {
    let bytes = paragraph.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for (at, _) in unicode_linebreak::linebreaks(paragraph) {
        if at == paragraph.len() {
            break;
        }
        // `020 7946`: the break after the space sits between two digits.
        let inside_number = at >= 2
            && bytes[at - 1] == b' '
            && bytes[at - 2].is_ascii_digit()
            && bytes[at].is_ascii_digit();
        if !inside_number {
            out.push(&paragraph[start..at]);
            start = at;
        }
    }
    out.push(&paragraph[start..]);
    out
}

/// How `text` fits the element's box: the size and the lines. It wraps onto the lines the box
/// allows first, and shrinks (down to `min_size`) only when wrapping is not enough; what
/// cannot fit is an error saying by how much.
pub fn fit_text(t: &Text, text: &str, measure: &Measure<'_>) -> Result<(f32, Vec<String>), String> {
    let (box_w, box_h) = (pt(t.rect.width), pt(t.rect.height));
    let mut size = t.size;
    loop {
        let lines = wrap(text, box_w, size, measure);
        let width = lines.iter().map(|l| measure(l, size)).fold(0.0, f32::max);
        let height = size * t.line_height * lines.len() as f32;
        if width <= box_w + 0.01 && height <= box_h + 0.01 {
            return Ok((size, lines));
        }
        if t.fit == Fit::Error || size <= t.min_size {
            return Err(format!(
                "the text needs {:.1} x {:.1} mm at {size:.1} pt ({} line(s)) and its box is {} x \
                 {} mm{}",
                width * 25.4 / 72.0,
                height * 25.4 / 72.0,
                lines.len(),
                t.rect.width,
                t.rect.height,
                if t.fit == Fit::Error {
                    " (fit = \"error\")"
                } else {
                    "; shorten it, enlarge the box or lower min_size"
                }
            ));
        }
        let scaled = size * (box_w / width).min(box_h / height).sqrt().min(1.0);
        size = (scaled.min(size - 0.1) * 10.0).floor() / 10.0;
        size = size.max(t.min_size);
    }
}

fn draw_text(
    page: &mut Page,
    t: &Text,
    text: &str,
    fonts: &[Font],
    ts: &Typesetter<'_>,
    origin: &Rect,
) -> Result<(), String> {
    let font = &fonts[t.font];
    // Latin, Greek and Cyrillic in a font that has them: a glyph per character. Any other
    // text is shaped, line by line.
    let plain = ts.is_plain(text, t.font);
    let (size, lines) = if plain {
        fit_text(t, text, &|l: &str, size: f32| font.width(l, size))?
    } else {
        fit_text(t, text, &|l: &str, size: f32| {
            ts.line_width(l, t.font, size)
        })?
    };
    let r = offset(&t.rect, origin);
    let line_h = f64::from(size * t.line_height) * 25.4 / 72.0;
    let (asc, desc) = (font.em(font.ascender), font.em(font.descender));
    let glyph_h = f64::from((asc - desc) * size) * 25.4 / 72.0;
    let block = line_h * lines.len() as f64;
    let top = r.y + (r.height - block) / 2.0;
    page.content.save_state();
    page.overprint_if_black(t.color);
    page.fill(t.color);
    let height = page.height;
    let c = &mut page.content;
    c.begin_text();
    c.set_font(Name(font_name(t.font).as_bytes()), size);
    for (i, line) in lines.iter().enumerate() {
        let shaped = if plain {
            None
        } else {
            Some(
                ts.shape_line(line, t.font, Typesetter::paragraph_rtl(line))
                    .map_err(|c| format!("no font has {c:?}"))?,
            )
        };
        let width_pt = match &shaped {
            None => font.width(line, size),
            Some(pieces) => shape::width_em(pieces) * size,
        };
        let width = f64::from(width_pt) * 25.4 / 72.0;
        let x = match t.align {
            Align::Left => r.x,
            Align::Center => r.x + (r.width - width) / 2.0,
            Align::Right => r.x + r.width - width,
        };
        let baseline = top
            + line_h * i as f64
            + (line_h - glyph_h) / 2.0
            + f64::from(asc * size) * 25.4 / 72.0;
        let Some(pieces) = shaped else {
            c.set_text_matrix([1.0, 0.0, 0.0, 1.0, pt(x), pt(height - baseline)]);
            c.show(Str(&font.encode(line)));
            continue;
        };
        // Glyphs in visual order, each placed where the shaper put it. A left-to-right piece
        // whose glyphs are reordered (Devanagari's vowel signs) carries its characters in
        // reading order for whoever extracts the text (ActualText); a right-to-left piece is
        // read back by reversing its glyphs, each mapped to its characters (ToUnicode), as
        // text extractors do.
        let mut current = t.font;
        let mut pen = 0.0_f32;
        for piece in &pieces {
            if !piece.rtl {
                c.begin_marked_content_with_properties(Name(b"Span"))
                    .properties()
                    .actual_text(TextStr(&piece.text));
            }
            for g in &piece.glyphs {
                if g.font != current {
                    c.set_font(Name(font_name(g.font).as_bytes()), size);
                    current = g.font;
                }
                let id = fonts[g.font].glyph_id(g.id).ok_or_else(|| {
                    format!("glyph {} of {} was not prepared", g.id, fonts[g.font].name)
                })?;
                let gx = pt(x) + (pen + g.dx) * size;
                let gy = pt(height - baseline) + g.dy * size;
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, gx, gy]);
                c.show(Str(&id.to_be_bytes()));
                pen += g.advance;
            }
            if !piece.rtl {
                c.end_marked_content();
            }
        }
        if current != t.font {
            c.set_font(Name(font_name(t.font).as_bytes()), size);
        }
    }
    c.end_text();
    c.restore_state();
    Ok(())
}

/// Crop marks in the registration colour (`/Separation /All`: on every plate, the scratch
/// plate included).
pub fn crop_marks(page: &mut Page, marks: &[Mark]) {
    if marks.is_empty() {
        return;
    }
    page.content
        .set_stroke_color_space(ColorSpaceOperand::Named(Name(ALL_NAME)));
    page.content.set_stroke_color([1.0]);
    page.content.set_line_width(0.25);
    for m in marks {
        page.line(m.x1, m.y1, m.x2, m.y2);
    }
    page.content.stroke();
}

/// Texts the proof sheet prints (their glyphs must be in the font subset).
pub fn proof_labels(sheet: &Sheet) -> Vec<String> {
    let mut labels: Vec<String> = (0..=((sheet.page_width.max(sheet.page_height) / 10.0) as usize))
        .map(|i| (i * 10).to_string())
        .collect();
    labels.push(format!(
        "PROOF {} front back mm trim bleed offsets x y -.0123456789",
        sheet.name
    ));
    labels
}

/// An alignment sheet: every slot's trim box (rounded corners) and bleed, a millimetre scale
/// along the top and left edges, and a caption.
pub fn proof(
    page: &mut Page,
    sheet: &Sheet,
    placements: &[Placement],
    radius: f64,
    caption: &str,
    font: &Font,
) {
    let c = &mut page.content;
    c.set_stroke_rgb(0.0, 0.0, 0.0);
    c.set_line_width(0.3);
    for p in placements {
        rounded(page, &p.trim, radius);
    }
    page.content.stroke();
    page.content.set_stroke_rgb(0.8, 0.1, 0.1);
    page.content.set_line_width(0.2);
    for p in placements {
        page.rect(&p.clip);
    }
    page.content.stroke();
    // Scale: a tick every mm, longer every 5 and 10 mm, numbered every 10.
    page.content.set_stroke_rgb(0.0, 0.0, 0.0);
    page.content.set_line_width(0.15);
    let tick = |i: usize| match (i % 10, i % 5) {
        (0, _) => 4.0,
        (_, 0) => 2.5,
        _ => 1.5,
    };
    for i in 0..=(sheet.page_width as usize) {
        page.line(i as f64, 0.0, i as f64, tick(i));
    }
    for i in 0..=(sheet.page_height as usize) {
        page.line(0.0, i as f64, tick(i), i as f64);
    }
    page.content.stroke();
    let label = |page: &mut Page, text: &str, x: f64, y: f64, size: f32| {
        let c = &mut page.content;
        c.begin_text();
        c.set_font(Name(font_name(0).as_bytes()), size);
        c.set_fill_rgb(0.0, 0.0, 0.0);
        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, pt(x), pt(page.height - y)]);
        c.show(Str(&font.encode(text)));
        c.end_text();
    };
    for i in (10..(sheet.page_width as usize)).step_by(10) {
        label(page, &i.to_string(), i as f64 + 0.5, 7.0, 5.0);
    }
    for i in (10..(sheet.page_height as usize)).step_by(10) {
        label(page, &i.to_string(), 5.0, i as f64 + 1.8, 5.0);
    }
    label(page, caption, 12.0, sheet.page_height / 2.0, 7.0);
}

fn rounded(page: &mut Page, r: &Rect, radius: f64) {
    let k = 0.552_284_8 * radius;
    let (x0, y0, x1, y1) = (r.x, r.y, r.right(), r.bottom());
    let h = page.height;
    let p = |x: f64, y: f64| (pt(x), pt(h - y));
    let c = &mut page.content;
    let (sx, sy) = p(x0 + radius, y0);
    c.move_to(sx, sy);
    let (ex, ey) = p(x1 - radius, y0);
    c.line_to(ex, ey);
    let corners = [
        (
            (x1 - radius + k, y0),
            (x1, y0 + radius - k),
            (x1, y0 + radius),
            (x1, y1 - radius),
        ),
        (
            (x1, y1 - radius + k),
            (x1 - radius + k, y1),
            (x1 - radius, y1),
            (x0 + radius, y1),
        ),
        (
            (x0 + radius - k, y1),
            (x0, y1 - radius + k),
            (x0, y1 - radius),
            (x0, y0 + radius),
        ),
        (
            (x0, y0 + radius - k),
            (x0 + radius - k, y0),
            (x0 + radius, y0),
            (x0 + radius, y0),
        ),
    ];
    for (a, b, end, next) in corners {
        let (a, b, end, next) = (p(a.0, a.1), p(b.0, b.1), p(end.0, end.1), p(next.0, next.1));
        c.cubic_to(a.0, a.1, b.0, b.1, end.0, end.1);
        c.line_to(next.0, next.1);
    }
    c.close_path();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::template::{Fit, Pattern};

    fn text(width: f64, fit: Fit) -> Text {
        Text {
            text: Pattern::parse("x").unwrap(),
            texts: Default::default(),
            rect: Rect {
                x: 0.0,
                y: 0.0,
                width,
                height: 6.0,
            },
            size: 12.0,
            min_size: 6.0,
            font: 0,
            color: Colour::BLACK,
            align: Align::Left,
            fit,
            line_height: 1.2,
        }
    }

    fn font() -> Font {
        let data = include_bytes!("../../templates/fonts/DejaVuSans.ttf").to_vec();
        let chars = "0123456789abcdefghijklmnopqrstuvwxyzC+ ";
        Font::new(
            "DejaVuSans.ttf",
            data,
            &chars.chars().collect(),
            &Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn text_shrinks_to_fit_or_is_an_error_never_clipped() {
        let f = font();
        let line = "123456789012";
        // 12 digits at 12 pt are about 34 mm wide.
        assert_eq!(
            fit_text(&text(50.0, Fit::Shrink), line, &|l: &str, size: f32| f
                .width(l, size))
            .unwrap()
            .0,
            12.0
        );
        let (size, lines) = fit_text(&text(25.0, Fit::Shrink), line, &|l: &str, size: f32| {
            f.width(l, size)
        })
        .unwrap();
        assert!((6.0..12.0).contains(&size), "{size}");
        assert_eq!(lines, vec![line]);
        assert!(f.width(line, size) <= pt(25.0) + 0.01);
        assert!(
            fit_text(&text(10.0, Fit::Shrink), line, &|l: &str, size: f32| f
                .width(l, size))
            .unwrap_err()
            .contains("enlarge the box")
        );
        assert!(
            fit_text(&text(25.0, Fit::Error), line, &|l: &str, size: f32| f
                .width(l, size))
            .unwrap_err()
            .contains("fit = \"error\"")
        );
    }

    #[test]
    fn text_wraps_onto_the_lines_its_box_allows_before_it_shrinks() {
        let f = font();
        // Two words: too wide for 25 mm on one line at 12 pt, not on two; the box is tall
        // enough for two lines of 12 pt.
        let mut t = text(25.0, Fit::Shrink);
        t.rect.height = 12.0;
        let (size, lines) = fit_text(&t, "abcdefg hijklmn", &|l: &str, size: f32| {
            f.width(l, size)
        })
        .unwrap();
        assert_eq!(
            (size, lines),
            (12.0, vec!["abcdefg".to_string(), "hijklmn".to_string()])
        );
        // A phone number is not broken at its spaces.
        t.rect.height = 12.0;
        t.rect.width = 30.0;
        let (_, lines) = fit_text(&t, "Call +44 20 7946 0000", &|l: &str, size: f32| {
            f.width(l, size)
        })
        .unwrap();
        assert!(
            lines.iter().any(|l| l.contains("+44 20 7946 0000")),
            "{lines:?}"
        );
        // One line of height only: it shrinks instead.
        t.rect.height = 6.0;
        t.rect.width = 25.0;
        let (size, lines) = fit_text(&t, "abcdefg hijklmn", &|l: &str, size: f32| {
            f.width(l, size)
        })
        .unwrap();
        assert!(size < 12.0 && lines.len() == 1, "{size} {lines:?}");
    }

    #[test]
    fn lines_break_where_unicode_allows_not_only_at_spaces() {
        // A fixed-width measure: 10 points a character.
        let measure = |l: &str, _size: f32| 10.0 * l.chars().count() as f32;
        // Chinese has no spaces: a line may break between any two ideographs (before, the
        // whole name was one word that could only shrink).
        assert_eq!(
            super::wrap("欢迎使用电话卡", 40.0, 10.0, &measure),
            vec!["欢迎使用", "电话卡"]
        );
        // After a hyphen, and at spaces with the space left at the end of the line.
        assert_eq!(
            super::wrap("pay-as-you-go credit", 80.0, 10.0, &measure),
            vec!["pay-as-", "you-go", "credit"]
        );
        // Never inside a phone number; a paragraph break is kept.
        assert_eq!(
            super::wrap("Call +44 20 7946\nnow", 110.0, 10.0, &measure),
            vec!["Call", "+44 20 7946", "now"]
        );
    }
}
