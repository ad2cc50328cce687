//! Text set as its reader expects. Text in Latin, Greek or Cyrillic that its element's font
//! covers takes the plain path: one glyph per character, from the font's `cmap` (as cards
//! always printed). Any other text is shaped: split into runs by direction (the Unicode
//! bidirectional algorithm, `unicode-bidi`), each run split where the font that has its letters
//! changes (a script's own font from the fallbacks, else the element's font, else the next
//! fallback that has it), and each piece shaped by `rustybuzz`, the Rust port of HarfBuzz
//! (Arabic letters joined, lam-alef ligated, marks placed, Devanagari reordered), in its
//! direction. The glyphs come out in visual order, left to right, with their positions.

use std::ops::Range;

use super::template::Design;

/// A character that the plain path cannot draw: its letters join or reorder (Arabic, Hebrew,
/// the Indic scripts, Thai, ...), or it controls the text's direction. Its script's name.
pub fn needs_shaping(c: char) -> Option<&'static str> {
    Some(match c as u32 {
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => "Hebrew",
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            "Arabic"
        }
        0x0700..=0x074F => "Syriac",
        0x0780..=0x07BF => "Thaana",
        0x07C0..=0x07FF => "N'Ko",
        0x0900..=0x097F | 0xA8E0..=0xA8FF => "Devanagari",
        0x0980..=0x09FF => "Bengali",
        0x0A00..=0x0DFF => "an Indic script",
        0x0E00..=0x0E7F => "Thai",
        0x0E80..=0x0FFF => "Lao or Tibetan",
        0x1000..=0x109F => "Myanmar",
        0x1780..=0x17FF => "Khmer",
        0x1800..=0x18AF => "Mongolian",
        0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => "a direction control",
        _ => return None,
    })
}

/// The scripts the shipped fallback fonts are for: (script, the font's family in its file
/// name).
const SCRIPT_FONTS: &[(&str, &str)] = &[
    ("Arabic", "NotoSansArabic"),
    ("Hebrew", "NotoSansHebrew"),
    ("Devanagari", "NotoSansDevanagari"),
];

/// The fonts shipped as fallbacks, every design has them after its own (Regular, Bold).
pub const SHIPPED_FALLBACKS: &[&str] = &[
    "NotoSansArabic-Regular.ttf",
    "NotoSansArabic-Bold.ttf",
    "NotoSansHebrew-Regular.ttf",
    "NotoSansHebrew-Bold.ttf",
    "NotoSansDevanagari-Regular.ttf",
    "NotoSansDevanagari-Bold.ttf",
];

/// One glyph set on a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    /// The design's font (index into [`Design::fonts`]).
    pub font: usize,
    /// The glyph in that font's own file.
    pub id: u16,
    /// Advance and offsets in em of that font.
    pub advance: f32,
    pub dx: f32,
    pub dy: f32,
    /// The characters of its cluster, on the first glyph of a cluster (the PDF's ToUnicode
    /// map: in reading order, or visual order in a right-to-left piece); empty on the others.
    pub text: String,
}

/// A piece of a line in one font and one direction: its characters in reading order, its
/// glyphs in visual order.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub rtl: bool,
    pub text: String,
    pub glyphs: Vec<Glyph>,
}

/// The design's fonts, ready to shape with.
pub struct Typesetter<'a> {
    design: &'a Design,
    faces: Vec<rustybuzz::Face<'a>>,
    /// Units per em of each font.
    upem: Vec<f32>,
    /// Per font, which ASCII characters it has: the plain path's test, without a lookup.
    ascii: Vec<[bool; 128]>,
}

impl<'a> Typesetter<'a> {
    pub fn new(design: &'a Design) -> Result<Typesetter<'a>, String> {
        let faces = design
            .fonts
            .iter()
            .map(|(name, data)| {
                rustybuzz::Face::from_slice(data, 0)
                    .ok_or_else(|| format!("font {name} is not a usable TrueType font"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let upem = faces.iter().map(|f| f.units_per_em() as f32).collect();
        let ascii = faces
            .iter()
            .map(|f| std::array::from_fn(|b| f.glyph_index(char::from(b as u8)).is_some()))
            .collect();
        Ok(Typesetter {
            design,
            faces,
            upem,
            ascii,
        })
    }

    /// The font's units per em (glyph positions are in em).
    pub fn units_per_em(&self, font: usize) -> f32 {
        self.upem[font]
    }

    fn covers(&self, font: usize, c: char) -> bool {
        self.faces[font].glyph_index(c).is_some()
    }

    /// True when `text` takes the plain path in `font`: no character to shape, every one in
    /// the font.
    pub fn is_plain(&self, text: &str, font: usize) -> bool {
        let ascii = &self.ascii[font];
        text.chars().all(|c| {
            if c.is_ascii() {
                c == '\n' || ascii[c as usize]
            } else {
                needs_shaping(c).is_none() && self.covers(font, c)
            }
        })
    }

    /// The fallbacks of the element font `font`, in order: the design's own, then the
    /// shipped ones of the same weight, then the other weight.
    fn fallbacks(&self, font: usize) -> Vec<usize> {
        let bold = self.design.fonts[font].0.contains("Bold");
        let mut list: Vec<usize> = self.design.fallback.clone();
        let shipped = |want_bold: bool| {
            self.design
                .fallback_shipped
                .iter()
                .copied()
                .filter(move |&i| self.design.fonts[i].0.contains("Bold") == want_bold)
        };
        list.extend(shipped(bold));
        list.extend(shipped(!bold));
        list
    }

    /// The font that draws `c` in an element of `font`, after `previous` (which keeps a
    /// space, a digit or a mark in the run it stands in): `None` when no font has it.
    fn font_for(
        &self,
        c: char,
        font: usize,
        previous: Option<usize>,
        fallbacks: &[usize],
    ) -> Option<usize> {
        if let Some(script) = needs_shaping(c)
            && let Some((_, family)) = SCRIPT_FONTS.iter().find(|(s, _)| *s == script)
            && let Some(&own) = fallbacks
                .iter()
                .find(|&&i| self.design.fonts[i].0.starts_with(family) && self.covers(i, c))
        {
            return Some(own);
        }
        if needs_shaping(c).is_none()
            && let Some(p) = previous
            && self.covers(p, c)
        {
            return Some(p);
        }
        if self.covers(font, c) {
            return Some(font);
        }
        fallbacks.iter().copied().find(|&i| self.covers(i, c))
    }

    /// The first character of `text` no font of the element `font` has (with its fallbacks).
    pub fn missing(&self, text: &str, font: usize) -> Option<char> {
        let fallbacks = self.fallbacks(font);
        text.chars()
            .filter(|c| !c.is_control() && !is_default_ignorable(*c))
            .find(|&c| self.font_for(c, font, None, &fallbacks).is_none())
    }

    /// Whether the paragraph `text` reads right to left (its first strong character).
    pub fn paragraph_rtl(text: &str) -> bool {
        unicode_bidi::ParagraphBidiInfo::new(text, None)
            .paragraph_level
            .is_rtl()
    }

    /// The width of a shaped line at `size`, in points (0 when a character has no font: the
    /// text was refused before).
    pub fn line_width(&self, line: &str, font: usize, size: f32) -> f32 {
        self.shape_line(line, font, Self::paragraph_rtl(line))
            .map_or(0.0, |p| width_em(&p) * size)
    }

    /// Shapes one line of a paragraph whose direction is `rtl`: its pieces in visual order.
    /// A character no font has is the error.
    pub fn shape_line(&self, line: &str, font: usize, rtl: bool) -> Result<Vec<Piece>, char> {
        let base = if rtl {
            unicode_bidi::Level::rtl()
        } else {
            unicode_bidi::Level::ltr()
        };
        let bidi = unicode_bidi::ParagraphBidiInfo::new(line, Some(base));
        let (levels, runs) = bidi.visual_runs(0..line.len());
        let fallbacks = self.fallbacks(font);
        let mut out = Vec::new();
        for run in runs {
            let rtl_run = levels[run.start].is_rtl();
            let mut pieces = self.pieces(line, run, font, &fallbacks)?;
            if rtl_run {
                pieces.reverse();
            }
            for (range, piece_font) in pieces {
                let mut glyphs = Vec::new();
                let text = line[range.clone()].to_string();
                self.shape_piece(line, range, piece_font, rtl_run, &mut glyphs);
                out.push(Piece {
                    rtl: rtl_run,
                    text,
                    glyphs,
                });
            }
        }
        Ok(out)
    }

    /// `run` of `line` cut where the font that draws it changes, in logical order.
    fn pieces(
        &self,
        line: &str,
        run: Range<usize>,
        font: usize,
        fallbacks: &[usize],
    ) -> Result<Vec<(Range<usize>, usize)>, char> {
        let mut pieces: Vec<(Range<usize>, usize)> = Vec::new();
        for (i, c) in line[run.clone()].char_indices() {
            let at = run.start + i;
            let previous = pieces.last().map(|p| p.1);
            let chosen = if c.is_control() || is_default_ignorable(c) {
                // A direction control or a joiner is shaped with what stands before it.
                previous.unwrap_or(font)
            } else {
                self.font_for(c, font, previous, fallbacks).ok_or(c)?
            };
            match pieces.last_mut() {
                Some((range, f)) if *f == chosen => range.end = at + c.len_utf8(),
                _ => pieces.push((at..at + c.len_utf8(), chosen)),
            }
        }
        Ok(pieces)
    }

    fn shape_piece(
        &self,
        line: &str,
        range: Range<usize>,
        font: usize,
        rtl: bool,
        out: &mut Vec<Glyph>,
    ) {
        let text = &line[range];
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        buffer.set_direction(if rtl {
            rustybuzz::Direction::RightToLeft
        } else {
            rustybuzz::Direction::LeftToRight
        });
        let shaped = rustybuzz::shape(&self.faces[font], &[], buffer);
        let em = self.upem[font];
        let infos = shaped.glyph_infos();
        let positions = shaped.glyph_positions();
        // Cluster starts in logical order, to give each cluster its characters.
        let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut seen = std::collections::HashSet::new();
        for (info, pos) in infos.iter().zip(positions) {
            let start = info.cluster as usize;
            let end = starts
                .iter()
                .find(|&&s| s > start)
                .copied()
                .unwrap_or(text.len());
            let first = seen.insert(start);
            out.push(Glyph {
                font,
                id: info.glyph_id as u16,
                advance: pos.x_advance as f32 / em,
                dx: pos.x_offset as f32 / em,
                dy: pos.y_offset as f32 / em,
                // Text extractors read a right-to-left line by reversing what its glyphs map
                // to, character by character (poppler, pdf.js): a ligature's characters
                // (lam-alef) are given in visual order so that they come back in reading
                // order.
                text: match (first, rtl) {
                    (false, _) => String::new(),
                    (true, false) => text[start..end].to_string(),
                    (true, true) => text[start..end].chars().rev().collect(),
                },
            });
        }
    }
}

/// Characters drawn as nothing (joiners, marks of direction, variation selectors).
fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32, 0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0xFE00..=0xFE0F | 0xFEFF)
}

/// The width of a shaped line in em.
pub fn width_em(pieces: &[Piece]) -> f32 {
    pieces
        .iter()
        .flat_map(|p| &p.glyphs)
        .map(|g| g.advance)
        .sum()
}
