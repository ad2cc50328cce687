//! The two tiers of PDF checks.
//!
//! Self-contained: PDFs read with Rust alone (hayro parses, interprets and rasterises them,
//! rqrr decodes QR codes): pages, boxes, the text of every line as the file encodes it (through
//! its ToUnicode maps, so no layout guesses), the QR codes of a rasterised page.
//!
//! Print-shop tools: poppler, qpdf, zbar and Ghostscript, run by [`tools`] when they are
//! installed. Without them that tier is skipped with a line on stderr, unless
//! `CARDMINT_REQUIRE_TOOLS=1` (as `.ci/run` sets), where a missing tool fails the test.

use std::path::Path;
use std::process::Command;

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::hayro_cmap::BfString;
use hayro::hayro_interpret::kurbo::{Affine, BezPath, Rect};
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, SoftMask, interpret_page,
};
use hayro::hayro_syntax::Pdf;

/// The print shop's tools the second tier runs.
const TOOLS: &[&str] = &[
    "pdftotext",
    "pdffonts",
    "pdfinfo",
    "pdftoppm",
    "qpdf",
    "zbarimg",
    "gs",
    "hb-shape",
];

/// Whether the print-shop-tools tier runs here: true when every tool is installed. When one
/// is missing, `CARDMINT_REQUIRE_TOOLS=1` makes that a failure; otherwise the tier is skipped
/// and `test` says so on stderr.
pub fn tools(test: &str) -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CARDMINT_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{test}: the print-shop-tools tier must run, but {} are missing (apt-get install \
         poppler-utils qpdf zbar-tools ghostscript libharfbuzz-bin)",
        missing.join(", ")
    );
    eprintln!(
        "{test}: print-shop-tools checks skipped ({} not installed)",
        missing.join(", ")
    );
    false
}

/// Runs a print-shop tool, which must succeed; its standard output.
pub fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads a binary PGM (`pdftoppm -gray` writes them): width, height, pixels.
pub fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5", "{}: a binary PGM", path.display());
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[at + 1..at + 1 + w * h].to_vec())
}

/// What zbarimg reads in each area ([x, y, width, height] in mm from the top-left corner) of
/// a gray picture at `dpi`, one card at a time (as a card is scanned; a whole sheet in one
/// picture also tests zbar's way of telling ten symbols apart). `dir` takes the crops.
pub fn zbar_areas(
    (width, height, pixels): (usize, usize, &[u8]),
    dpi: f64,
    areas: &[[f64; 4]],
    dir: &Path,
) -> Vec<Vec<String>> {
    let px = |mm: f64| ((mm / 25.4) * dpi).round().max(0.0) as usize;
    areas
        .iter()
        .enumerate()
        .map(|(i, &[x, y, w, h])| {
            let (x0, y0) = (px(x).min(width), px(y).min(height));
            let (x1, y1) = (px(x + w).min(width), px(y + h).min(height));
            let mut pgm = format!("P5 {} {} 255\n", x1 - x0, y1 - y0).into_bytes();
            for row in y0..y1 {
                pgm.extend_from_slice(&pixels[row * width + x0..row * width + x1]);
            }
            let path = dir.join(format!("area-{i}.pgm"));
            std::fs::write(&path, pgm).unwrap();
            let out = Command::new("zbarimg")
                .args(["-q", "--raw"])
                .arg(&path)
                .output()
                .unwrap_or_else(|e| panic!("zbarimg: {e}"));
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Where the backs of a sheet's cards lie on its back page (long-edge duplex), for the retail
/// design: [x, y, width, height] in mm from the page's top-left corner, slot by slot.
pub fn retail_backs(sheet: &str) -> Vec<[f64; 4]> {
    let design = cardmint::render::load_design("retail", &Default::default()).unwrap();
    let sheet = cardmint::render::load_sheet_for(sheet, &design).unwrap();
    (0..sheet.per_sheet())
        .map(|slot| {
            let p = sheet.back(
                &design.card,
                slot,
                cardmint::render::Duplex::Long,
                &Default::default(),
            );
            [p.trim.x, p.trim.y, p.trim.width, p.trim.height]
        })
        .collect()
}

/// A PDF file, parsed.
pub struct PdfFile {
    pdf: Pdf,
}

impl PdfFile {
    pub fn open(path: &Path) -> PdfFile {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let pdf =
            Pdf::new(bytes).unwrap_or_else(|e| panic!("{}: not a PDF: {e:?}", path.display()));
        PdfFile { pdf }
    }

    pub fn page_count(&self) -> usize {
        self.pdf.pages().len()
    }

    /// The MediaBox of page `page` (0-based): width and height in points.
    pub fn page_size(&self, page: usize) -> (f64, f64) {
        let b = self.pdf.pages()[page].media_box();
        (b.width(), b.height())
    }

    /// The text of every text-showing operation of page `page` (0-based), in painting order:
    /// one line of a card each. A glyph without a Unicode mapping shows as U+FFFD.
    pub fn lines(&self, page: usize) -> Vec<String> {
        let page = &self.pdf.pages()[page];
        let cache = InterpreterCache::new();
        let mut context = Context::new(
            Affine::IDENTITY,
            Rect::new(0.0, 0.0, 1.0, 1.0),
            &cache,
            self.pdf.xref(),
            InterpreterSettings::default(),
        );
        let mut text = TextLines::default();
        interpret_page(page, &mut context, &mut text);
        text.lines
    }

    /// Every line of every page, a line each.
    pub fn text(&self) -> String {
        (0..self.page_count())
            .flat_map(|p| self.lines(p))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Page `page` (0-based) rasterised at `dpi`, as 8-bit gray.
    pub fn render(&self, page: usize, dpi: f32) -> Gray {
        let pages = hayro::render_pdf(
            &self.pdf,
            dpi / 72.0,
            InterpreterSettings::default(),
            &hayro::RenderSettings::default(),
            Some(page..=page),
        )
        .expect("the page renders");
        let pixmap = &pages[0];
        let data = pixmap
            .data_as_u8_slice()
            .chunks_exact(4)
            .map(|px| {
                // Premultiplied on an opaque white background: plain luma.
                ((u32::from(px[0]) * 299 + u32::from(px[1]) * 587 + u32::from(px[2]) * 114) / 1000)
                    as u8
            })
            .collect();
        Gray {
            width: pixmap.width() as usize,
            height: pixmap.height() as usize,
            dpi,
            data,
        }
    }
}

/// A rasterised page.
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub dpi: f32,
    pub data: Vec<u8>,
}

impl Gray {
    /// The QR codes decoded inside each area ([x, y, width, height] in mm from the page's
    /// top-left corner), one entry per area: its payload, or `None` when none decodes.
    pub fn qr_codes(&self, areas: &[[f64; 4]]) -> Vec<Option<String>> {
        let px = |mm: f64| ((mm / 25.4) * f64::from(self.dpi)).round().max(0.0) as usize;
        areas
            .iter()
            .map(|&[x, y, w, h]| {
                let (x0, y0) = (px(x).min(self.width), px(y).min(self.height));
                let (x1, y1) = (px(x + w).min(self.width), px(y + h).min(self.height));
                let mut img =
                    rqrr::PreparedImage::prepare_from_greyscale(x1 - x0, y1 - y0, |cx, cy| {
                        self.data[(y0 + cy) * self.width + x0 + cx]
                    });
                img.detect_grids()
                    .iter()
                    .find_map(|g| g.decode().ok().map(|(_, payload)| payload))
            })
            .collect()
    }
}

/// Collects the text of each glyph run.
#[derive(Default)]
struct TextLines {
    lines: Vec<String>,
}

impl Device<'_> for TextLines {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'_>, _: &DrawMode) {}
    fn push_clip_path(&mut self, _: &ClipPath) {}
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'_>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, '_>, _: DrawProps<'_>, _: &DrawMode) {
        let line = run
            .glyphs()
            .iter()
            .map(|g| match g.as_unicode() {
                Some(BfString::Char(c)) => c.to_string(),
                Some(BfString::String(s)) => s,
                None => '\u{fffd}'.to_string(),
            })
            .collect();
        self.lines.push(line);
    }
    fn draw_image(&mut self, _: Image<'_, '_>, _: ImageDrawProps<'_>) {}
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}
