//! Fonts: metrics and glyph lookup from the TrueType file, the subset actually used (glyph ids
//! renumbered in sorted order, so the output does not depend on drawing order), widths and the
//! ToUnicode map that keeps text extractable.

use std::collections::{BTreeMap, BTreeSet};

use subsetter::GlyphRemapper;

/// One font of a document, with the glyphs of every character it will draw.
pub struct Font {
    pub name: String,
    pub data: Vec<u8>,
    pub units_per_em: f32,
    pub ascender: f32,
    pub descender: f32,
    pub cap_height: f32,
    pub bbox: [f32; 4],
    pub italic_angle: f32,
    /// char -> (new glyph id in the subset, advance in font units)
    glyphs: BTreeMap<char, (u16, u16)>,
    /// Glyphs of shaped text: the font's own id -> the characters of its cluster (the
    /// ToUnicode map; empty for a glyph that is not the first of its cluster).
    shaped: BTreeMap<u16, String>,
    /// The same for ASCII, by code: the hot path of measuring and encoding.
    ascii: [Option<(u16, u16)>; 128],
    remapper: GlyphRemapper,
    /// new glyph id -> advance in font units
    advances: Vec<u16>,
}

impl Font {
    /// Prepares `data` for drawing `chars` one glyph each, and the glyphs of shaped text
    /// (`shaped`: the font's own glyph ids, with their clusters' characters). A character the
    /// font lacks is left out: the typesetter draws it with another font, or refused the text
    /// before (it would print as an empty box).
    pub fn new(
        file: &str,
        data: Vec<u8>,
        chars: &BTreeSet<char>,
        shaped: &BTreeMap<u16, String>,
    ) -> Result<Font, String> {
        let face = ttf_parser::Face::parse(&data, 0).map_err(|e| format!("font {file}: {e}"))?;
        let mut old: BTreeMap<char, u16> = BTreeMap::new();
        for &c in chars {
            if let Some(gid) = face.glyph_index(c).filter(|_| c != '\n') {
                old.insert(c, gid.0);
            }
        }
        let mut gids: Vec<u16> = old.values().chain(shaped.keys()).copied().collect();
        gids.sort_unstable();
        gids.dedup();
        let remapper = GlyphRemapper::new_from_glyphs_sorted(&gids);
        let advance = |gid: u16| {
            face.glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0)
        };
        let glyphs: BTreeMap<char, (u16, u16)> = old
            .iter()
            .map(|(&c, &g)| (c, (remapper.get(g).expect("remapped"), advance(g))))
            .collect();
        let advances = remapper.remapped_gids().map(advance).collect();
        let b = face.global_bounding_box();
        let name = file
            .trim_end_matches(".ttf")
            .trim_end_matches(".otf")
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "");
        let (units_per_em, ascender, descender) = (
            face.units_per_em() as f32,
            face.ascender() as f32,
            face.descender() as f32,
        );
        let cap_height = face.capital_height().unwrap_or(face.ascender()) as f32;
        let italic_angle = face.italic_angle();
        Ok(Font {
            name,
            units_per_em,
            ascender,
            descender,
            cap_height,
            bbox: [
                b.x_min as f32,
                b.y_min as f32,
                b.x_max as f32,
                b.y_max as f32,
            ],
            italic_angle,
            ascii: std::array::from_fn(|i| glyphs.get(&char::from(i as u8)).copied()),
            glyphs,
            shaped: shaped
                .iter()
                .map(|(&g, t)| (remapper.get(g).expect("remapped"), t.clone()))
                .collect(),
            remapper,
            advances,
            data,
        })
    }

    /// Width of `text` at `size`, in points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .filter_map(|c| self.glyph(c))
            .map(|g| u32::from(g.1))
            .sum();
        units as f32 * size / self.units_per_em
    }

    /// The bytes that show `text` (two-byte glyph ids of the subset, Identity-H).
    pub fn encode(&self, text: &str) -> Vec<u8> {
        text.chars()
            .filter_map(|c| self.glyph(c))
            .flat_map(|g| g.0.to_be_bytes())
            .collect()
    }

    fn glyph(&self, c: char) -> Option<(u16, u16)> {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.glyphs.get(&c).copied()
        }
    }

    /// The subset's id of the font's own glyph `id` (prepared by [`Font::new`]).
    pub fn glyph_id(&self, id: u16) -> Option<u16> {
        self.remapper.get(id)
    }

    /// No glyph to draw: the font is left out of the document.
    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty() && self.shaped.is_empty()
    }

    /// True when every character of `text` has a glyph here.
    pub fn covers(&self, text: &str) -> bool {
        text.chars()
            .all(|c| c == '\n' || self.glyphs.contains_key(&c))
    }

    /// The subset font file.
    pub fn subset(&self) -> Result<Vec<u8>, String> {
        subsetter::subset(&self.data, 0, &self.remapper)
            .map_err(|e| format!("font {}: subsetting failed: {e}", self.name))
    }

    /// Widths per new glyph id, in 1/1000 em.
    pub fn pdf_widths(&self) -> Vec<f32> {
        self.advances
            .iter()
            .map(|&a| a as f32 * 1000.0 / self.units_per_em)
            .collect()
    }

    /// (new glyph id, characters) pairs for the ToUnicode map: a character drawn alone, or a
    /// shaped cluster's characters on its first glyph (a glyph drawn both ways keeps its
    /// character).
    pub fn unicode_pairs(&self) -> Vec<(u16, String)> {
        let mut pairs: BTreeMap<u16, String> = self
            .shaped
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .map(|(&g, t)| (g, t.clone()))
            .collect();
        for (&c, &(g, _)) in &self.glyphs {
            pairs.insert(g, c.to_string());
        }
        pairs.into_iter().collect()
    }

    /// `ABCDEF+Name`: the six letters come from a hash of the glyph set, as subsets must differ
    /// in name when their glyphs differ.
    pub fn subset_name(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (c, (g, _)) in &self.glyphs {
            for b in (*c as u32).to_le_bytes().into_iter().chain(g.to_le_bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        for g in self.shaped.keys() {
            for b in g.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        let tag: String = (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
            .collect();
        format!("{tag}+{}", self.name)
    }

    /// Font units to a fraction of the size.
    pub fn em(&self, units: f32) -> f32 {
        units / self.units_per_em
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dejavu(chars: &str) -> Result<Font, String> {
        let data = include_bytes!("../../templates/fonts/DejaVuSans.ttf").to_vec();
        Font::new(
            "DejaVuSans.ttf",
            data,
            &chars.chars().collect(),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn greek_cyrillic_and_accents_have_glyphs_in_a_sorted_subset() {
        let f = dejavu("Ωμέγα Привет café 0123 Wi").unwrap();
        assert!(f.covers("Привет"));
        assert_eq!(f.encode("a").len(), 2);
        let gids: Vec<u16> = "0123"
            .chars()
            .map(|c| u16::from_be_bytes(f.encode(&c.to_string()).try_into().unwrap()))
            .collect();
        assert!(
            gids.windows(2).all(|w| w[0] < w[1]),
            "sorted remap keeps glyph order"
        );
        assert!(f.width("WWW", 10.0) > f.width("iii", 10.0));
        assert!(
            f.subset_name()
                .starts_with(|c: char| c.is_ascii_uppercase())
                && f.subset_name().ends_with("+DejaVuSans")
        );
        assert!(!f.subset().unwrap().is_empty());
    }

    #[test]
    fn a_character_the_font_lacks_is_left_to_another_font() {
        let f = dejavu("a中").unwrap();
        assert!(f.covers("a") && !f.covers("中"));
        assert_eq!(f.unicode_pairs().len(), 1);
    }
}
