//! The PDF plumbing, on pdf-writer: objects are written to the file as they are finished (so a
//! batch of any size renders in flat memory), their offsets recorded, and the fonts, shared
//! resources, page tree, catalog and cross-reference table written at the end under ids
//! reserved up front. Knows PDF, not cards.

use std::io::Write;

use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Filter, Finish, Name, Rect, Ref, Settings, Str};

use super::font::Font;
use super::image::{Image, ImageData};

/// Zlib level for content streams and fonts. miniz's level 1 is its fast path: measured on
/// 10,000 cards, 1.8 CPU-s and 1.2 KB a card, against 2.4 CPU-s and 0.7 KB at level 3; the
/// 1 s / 1.5 KB budget of the renderer asks for speed first.
const DEFLATE_LEVEL: u8 = 1;

pub fn deflate(data: &[u8]) -> Vec<u8> {
    compress_to_vec_zlib(data, DEFLATE_LEVEL)
}

/// Names under which pages refer to the shared resources.
pub fn font_name(i: usize) -> String {
    format!("F{i}")
}
pub fn image_name(i: usize) -> String {
    format!("Im{i}")
}
pub const SPOT_NAME: &[u8] = b"CS0";
/// The registration colour: every plate.
pub const ALL_NAME: &[u8] = b"CSall";
pub const LAYER_NAME: &[u8] = b"OC0";
/// Graphics state: overprint on, nonzero overprint mode (a 0 component leaves the plate).
pub const OVERPRINT_NAME: &[u8] = b"GSop";

/// The scratch-off layer and its spot colour.
pub struct Spot {
    pub colour: String,
    pub cmyk: [f32; 4],
    pub layer: String,
}

/// A PDF being written to `out`.
pub struct PdfWriter<W: Write> {
    out: W,
    written: usize,
    offsets: Vec<(i32, usize)>,
    next_id: i32,
    catalog: Ref,
    pages: Ref,
    resources: Ref,
    page_refs: Vec<Ref>,
    /// Recently written content streams: a page with the same content points at the same
    /// stream (retail fronts are all alike).
    recent: std::collections::VecDeque<(std::sync::Arc<Vec<u8>>, Ref)>,
    /// The registered print condition of press output (an OutputIntent), if any.
    output_condition: Option<String>,
}

fn chunk() -> Chunk {
    Chunk::with_settings(Settings { pretty: false })
}

impl<W: Write> PdfWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        let header = b"%PDF-1.7\n%\x80\x80\x80\x80\n";
        out.write_all(header)?;
        let mut w = PdfWriter {
            out,
            written: header.len(),
            offsets: Vec::new(),
            next_id: 1,
            catalog: Ref::new(1),
            pages: Ref::new(1),
            resources: Ref::new(1),
            page_refs: Vec::new(),
            recent: std::collections::VecDeque::new(),
            output_condition: None,
        };
        w.catalog = w.alloc();
        w.pages = w.alloc();
        w.resources = w.alloc();
        Ok(w)
    }

    fn alloc(&mut self) -> Ref {
        let r = Ref::new(self.next_id);
        self.next_id += 1;
        r
    }

    /// Writes one chunk holding the object `id`.
    fn put(&mut self, id: Ref, chunk: &Chunk) -> std::io::Result<()> {
        self.offsets.push((id.get(), self.written));
        self.out.write_all(chunk.as_bytes())?;
        self.written += chunk.len();
        Ok(())
    }

    /// Names the registered print condition the file is made for (press output): written as
    /// an OutputIntent by its identifier in the ICC registry, without an embedded profile and
    /// without claiming PDF/X.
    pub fn output_intent(&mut self, condition: &str) {
        self.output_condition = Some(condition.to_string());
    }

    /// Adds a page whose content stream is already deflated; `boxes` are the TrimBox and the
    /// BleedBox (x, y, width, height in mm from the top-left corner).
    pub fn page(
        &mut self,
        width_mm: f64,
        height_mm: f64,
        boxes: Option<([f64; 4], [f64; 4])>,
        deflated: &std::sync::Arc<Vec<u8>>,
    ) -> std::io::Result<()> {
        let page_id = self.alloc();
        let known = self
            .recent
            .iter()
            .find(|(bytes, _)| std::sync::Arc::ptr_eq(bytes, deflated) || **bytes == **deflated)
            .map(|(_, r)| *r);
        let content_id = match known {
            Some(r) => r,
            None => {
                let id = self.alloc();
                let mut c = chunk();
                c.stream(id, deflated).filter(Filter::FlateDecode);
                self.put(id, &c)?;
                if self.recent.len() == 4 {
                    self.recent.pop_front();
                }
                self.recent.push_back((std::sync::Arc::clone(deflated), id));
                id
            }
        };
        let mut c = chunk();
        let mut page = c.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, pt(width_mm), pt(height_mm)))
            .parent(self.pages)
            .contents(content_id);
        if let Some((trim, bleed)) = boxes {
            // PDF boxes are bottom-up.
            let pdf_box = |[x, y, w, h]: [f64; 4]| {
                Rect::new(pt(x), pt(height_mm - y - h), pt(x + w), pt(height_mm - y))
            };
            page.trim_box(pdf_box(trim));
            page.bleed_box(pdf_box(bleed));
        }
        page.pair(Name(b"Resources"), self.resources);
        page.finish();
        self.put(page_id, &c)?;
        self.page_refs.push(page_id);
        Ok(())
    }

    pub fn page_count(&self) -> usize {
        self.page_refs.len()
    }

    /// Writes fonts, images, the shared resources, page tree, catalog, xref and trailer.
    pub fn finish(mut self, fonts: &[Font], images: &[Image], spot: &Spot) -> Result<W, String> {
        let io = |e: std::io::Error| e.to_string();
        // A font with nothing to draw (a fallback no text needed) is left out; the others
        // keep their names.
        let mut font_refs = Vec::new();
        for (i, font) in fonts.iter().enumerate() {
            if !font.is_empty() {
                font_refs.push((i, self.write_font(font).map_err(io).and_then(|r| r)?));
            }
        }
        let mut image_refs = Vec::new();
        for image in images {
            image_refs.push(self.write_image(image).map_err(io)?);
        }
        let layer = self.alloc();
        let mut c = chunk();
        c.indirect(layer)
            .dict()
            .pair(Name(b"Type"), Name(b"OCG"))
            .pair(Name(b"Name"), Str(spot.layer.as_bytes()));
        self.put(layer, &c).map_err(io)?;

        let mut c = chunk();
        let mut res = c.indirect(self.resources).dict();
        let mut f = res.insert(Name(b"Font")).dict();
        for (i, r) in &font_refs {
            f.pair(Name(font_name(*i).as_bytes()), *r);
        }
        f.finish();
        let mut x = res.insert(Name(b"XObject")).dict();
        for (i, r) in image_refs.iter().enumerate() {
            x.pair(Name(image_name(i).as_bytes()), *r);
        }
        x.finish();
        let mut cs = res.insert(Name(b"ColorSpace")).dict();
        {
            let mut sep = cs
                .insert(Name(SPOT_NAME))
                .start::<pdf_writer::writers::ColorSpace>()
                .separation(Name(spot.colour.as_bytes()));
            sep.alternate_color_space().device_cmyk();
            sep.tint_exponential()
                .domain([0.0, 1.0])
                .c0([0.0, 0.0, 0.0, 0.0])
                .c1(spot.cmyk)
                .n(1.0);
        }
        {
            let mut all = cs
                .insert(Name(ALL_NAME))
                .start::<pdf_writer::writers::ColorSpace>()
                .separation(Name(b"All"));
            all.alternate_color_space().device_cmyk();
            all.tint_exponential()
                .domain([0.0, 1.0])
                .c0([0.0, 0.0, 0.0, 0.0])
                .c1([1.0, 1.0, 1.0, 1.0])
                .n(1.0);
        }
        cs.finish();
        res.insert(Name(b"ExtGState"))
            .dict()
            .insert(Name(OVERPRINT_NAME))
            .dict()
            .pair(Name(b"Type"), Name(b"ExtGState"))
            .pair(Name(b"OP"), true)
            .pair(Name(b"op"), true)
            .pair(Name(b"OPM"), 1);
        res.insert(Name(b"Properties"))
            .dict()
            .pair(Name(LAYER_NAME), layer);
        res.finish();
        let resources = self.resources;
        self.put(resources, &c).map_err(io)?;

        let mut c = chunk();
        c.pages(self.pages)
            .kids(self.page_refs.iter().copied())
            .count(self.page_refs.len() as i32);
        let pages = self.pages;
        self.put(pages, &c).map_err(io)?;

        let mut c = chunk();
        let mut cat = c
            .indirect(self.catalog)
            .start::<pdf_writer::writers::Catalog>();
        cat.pages(self.pages);
        if let Some(condition) = &self.output_condition {
            cat.insert(Name(b"OutputIntents"))
                .array()
                .push()
                .dict()
                .pair(Name(b"Type"), Name(b"OutputIntent"))
                .pair(Name(b"S"), Name(b"GTS_PDFX"))
                .pair(
                    Name(b"OutputConditionIdentifier"),
                    Str(condition.as_bytes()),
                )
                .pair(Name(b"RegistryName"), Str(b"http://www.color.org"))
                .pair(Name(b"Info"), Str(condition.as_bytes()));
        }
        let mut ocp = cat.insert(Name(b"OCProperties")).dict();
        ocp.insert(Name(b"OCGs")).array().item(layer);
        let mut d = ocp.insert(Name(b"D")).dict();
        d.insert(Name(b"Order")).array().item(layer);
        d.insert(Name(b"ON")).array().item(layer);
        d.finish();
        ocp.finish();
        cat.finish();
        let catalog = self.catalog;
        self.put(catalog, &c).map_err(io)?;

        self.offsets.sort_unstable();
        let count = self.next_id;
        if self.offsets.len() != (count - 1) as usize {
            return Err(format!(
                "internal: {} objects allocated, {} written",
                count - 1,
                self.offsets.len()
            ));
        }
        let mut xref = format!("xref\n0 {count}\n0000000000 65535 f \n");
        for (_, offset) in &self.offsets {
            xref.push_str(&format!("{offset:010} 00000 n \n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {count} /Root {} 0 R >>\nstartxref\n{}\n%%EOF\n",
            self.catalog.get(),
            self.written
        ));
        self.out.write_all(xref.as_bytes()).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }

    fn write_font(&mut self, font: &Font) -> std::io::Result<Result<Ref, String>> {
        let subset = match font.subset() {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let (type0, cid, descriptor, file, cmap) = (
            self.alloc(),
            self.alloc(),
            self.alloc(),
            self.alloc(),
            self.alloc(),
        );
        let name = font.subset_name();
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };

        let mut c = chunk();
        c.type0_font(type0)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        self.put(type0, &c)?;

        let mut c = chunk();
        let mut cf = c.cid_font(cid);
        cf.subtype(CidFontType::Type2)
            .base_font(Name(name.as_bytes()))
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cf.widths().consecutive(0, font.pdf_widths());
        cf.finish();
        self.put(cid, &c)?;

        let em = |v: f32| font.em(v) * 1000.0;
        let mut c = chunk();
        c.font_descriptor(descriptor)
            .name(Name(name.as_bytes()))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                em(font.bbox[0]),
                em(font.bbox[1]),
                em(font.bbox[2]),
                em(font.bbox[3]),
            ))
            .italic_angle(font.italic_angle)
            .ascent(em(font.ascender))
            .descent(em(font.descender))
            .cap_height(em(font.cap_height))
            .stem_v(80.0)
            .font_file2(file);
        self.put(descriptor, &c)?;

        let deflated = deflate(&subset);
        let mut c = chunk();
        c.stream(file, &deflated)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), subset.len() as i32);
        self.put(file, &c)?;

        let mut map = UnicodeCmap::new(Name(b"Custom"), system);
        for (gid, text) in font.unicode_pairs() {
            map.pair_with_multiple(gid, text.chars());
        }
        let map = map.finish();
        let mut c = chunk();
        c.cmap(cmap, map.as_slice())
            .name(Name(b"Custom"))
            .system_info(system);
        self.put(cmap, &c)?;
        Ok(Ok(type0))
    }

    fn write_image(&mut self, image: &Image) -> std::io::Result<Ref> {
        let id = self.alloc();
        match &image.data {
            ImageData::Jpeg { bytes, components } => {
                let mut c = chunk();
                let mut x = c.image_xobject(id, bytes);
                x.filter(Filter::DctDecode);
                x.width(image.width as i32)
                    .height(image.height as i32)
                    .bits_per_component(8);
                match components {
                    1 => x.color_space().device_gray(),
                    4 => x.color_space().device_cmyk(),
                    _ => x.color_space().device_rgb(),
                };
                x.finish();
                self.put(id, &c)?;
            }
            ImageData::Raw {
                samples,
                components,
                alpha,
            } => {
                let mask = match alpha {
                    Some(a) => {
                        let mid = self.alloc();
                        let data = deflate(a);
                        let mut c = chunk();
                        let mut m = c.image_xobject(mid, &data);
                        m.filter(Filter::FlateDecode);
                        m.width(image.width as i32)
                            .height(image.height as i32)
                            .bits_per_component(8);
                        m.color_space().device_gray();
                        m.finish();
                        self.put(mid, &c)?;
                        Some(mid)
                    }
                    None => None,
                };
                let data = deflate(samples);
                let mut c = chunk();
                let mut x = c.image_xobject(id, &data);
                x.filter(Filter::FlateDecode);
                x.width(image.width as i32)
                    .height(image.height as i32)
                    .bits_per_component(8);
                match components {
                    1 => x.color_space().device_gray(),
                    4 => x.color_space().device_cmyk(),
                    _ => x.color_space().device_rgb(),
                };
                if let Some(m) = mask {
                    x.s_mask(m);
                }
                x.finish();
                self.put(id, &c)?;
            }
        }
        Ok(id)
    }
}

/// Millimetres to points.
pub fn pt(mm: f64) -> f32 {
    (mm * 72.0 / 25.4) as f32
}
