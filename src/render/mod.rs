//! Card sheets as PDF: templates, imposition, QR codes, fonts, and the PDF writer.
//!
//! Takes card records (already formatted fields); knows nothing of the API or the ledger.
//! Page contents are built in parallel (rayon) a chunk of sheets at a time while one thread
//! streams finished pages to disk, so memory stays flat at any batch size.

pub mod assets;
pub mod draw;
pub mod font;
pub mod image;
pub mod layout;
mod pdf;
pub mod qr;
pub mod shape;
pub mod template;

pub use draw::CardFields;
pub use layout::{Duplex, Offsets, Scratch, Sheet};
pub use template::{
    CARD_FIELDS, Design, TemplateError, VALUE_FIELDS, load_design, load_sheet, load_sheet_for,
};

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use draw::{Fields, Page};
use font::Font;
use image::Image;
use layout::Placement;
use pdf::{PdfWriter, Spot};
use shape::Typesetter;
use template::Element;

/// Sheets built in parallel before they are written out.
const SHEETS_PER_CHUNK: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    Card(String),
    #[error("cannot write {path}: {}", crate::text::io_reason(source))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Pdf(String),
}

/// What to render and how.
pub struct Job<'a> {
    pub design: &'a Design,
    pub sheet: &'a Sheet,
    pub duplex: Duplex,
    pub offsets: Offsets,
    /// First position used on the first sheet (1-based).
    pub start: usize,
    /// How the scratch panel prints (`None`: the sheet's default).
    pub scratch: Option<Scratch>,
    pub cards: &'a [CardFields],
}

impl Job<'_> {
    fn style(&self) -> draw::Style {
        draw::Style {
            press: self.sheet.press,
            scratch: self.scratch.unwrap_or(self.sheet.scratch),
        }
    }
}

/// Where the pages go: one file (fronts then backs, sheet by sheet) or two.
pub enum Target {
    One(PathBuf),
    Two { fronts: PathBuf, backs: PathBuf },
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub files: Vec<(PathBuf, u64)>,
    pub pages: usize,
    pub sheets: usize,
}

/// A set of characters with an array for ASCII (most of what cards print).
#[derive(Clone)]
struct CharSet {
    ascii: [bool; 128],
    other: BTreeSet<char>,
}

impl CharSet {
    fn new() -> Self {
        CharSet {
            ascii: [false; 128],
            other: BTreeSet::new(),
        }
    }

    fn add(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\n' => {}
                c if c.is_ascii() => self.ascii[c as usize] = true,
                c => {
                    self.other.insert(c);
                }
            }
        }
    }

    fn merge(mut self, other: CharSet) -> CharSet {
        for (a, b) in self.ascii.iter_mut().zip(other.ascii) {
            *a |= b;
        }
        self.other.extend(other.other);
        self
    }

    fn into_set(self) -> BTreeSet<char> {
        let ascii = (0..128u8)
            .filter(|&i| self.ascii[i as usize])
            .map(char::from);
        ascii.chain(self.other).collect()
    }
}

/// Every character each font will draw: the literal text and the values shared by the batch
/// once, then the card fields of every card (in parallel).
fn glyph_sets(job: &Job<'_>, extra: &[String]) -> Vec<BTreeSet<char>> {
    let design = job.design;
    let n = design.fonts.len();
    let mut shared = vec![CharSet::new(); n];
    // Per font: the card fields its texts print.
    let mut card_fields: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); n];
    for (_, e) in design.front.iter().chain(&design.back) {
        if let Element::Text(t) = e {
            for segment in &t.text.0 {
                match segment {
                    template::Segment::Literal(l) => shared[t.font].add(l),
                    template::Segment::Field(f) if template::CARD_FIELDS.contains(&f.as_str()) => {
                        card_fields[t.font].insert(f.as_str());
                    }
                    template::Segment::Field(f) => {
                        shared[t.font].add(design.values.get(f).map_or("", String::as_str))
                    }
                }
            }
        }
    }
    if n > 0 {
        for s in extra {
            shared[0].add(s);
        }
    }
    let per_card = |card: &CardFields| {
        let fields = Fields {
            card,
            values: &design.values,
        };
        card_fields
            .iter()
            .map(|names| {
                let mut set = CharSet::new();
                for name in names {
                    set.add(fields.get(name));
                }
                set
            })
            .collect::<Vec<_>>()
    };
    let from_cards = job.cards.par_iter().map(per_card).reduce(
        || vec![CharSet::new(); n],
        |a, b| a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect(),
    );
    shared
        .into_iter()
        .zip(from_cards)
        .map(|(a, b)| a.merge(b).into_set())
        .collect()
}

/// What every card's texts need, found in one pass over the cards: the cards that cannot
/// be drawn (a character no font of the design has: its elements' fonts, its fallbacks, the
/// shipped ones), by index; and per font, the glyphs of every text that is shaped (not drawn
/// a glyph per character), with their clusters' characters, laid out line by line as
/// drawing will.
struct Survey {
    undrawable: Vec<(usize, String)>,
    shaped: Vec<BTreeMap<u16, String>>,
}

fn survey(job: &Job<'_>, ts: &Typesetter<'_>) -> Survey {
    let design = job.design;
    let n = design.fonts.len();
    type Found = (Vec<(usize, String)>, Vec<BTreeMap<u16, String>>);
    // The same glyph from several clusters: one text for it, whatever the order.
    let keep = |slot: &mut String, text: String| {
        if slot.is_empty() || (!text.is_empty() && text < *slot) {
            *slot = text;
        }
    };
    let merge = |mut a: Found, b: Found| {
        a.0.extend(b.0);
        for (x, y) in a.1.iter_mut().zip(b.1) {
            for (g, t) in y {
                keep(x.entry(g).or_default(), t);
            }
        }
        a
    };
    let (mut undrawable, shaped) = job
        .cards
        .par_iter()
        .enumerate()
        .map(|(i, card)| {
            let fields = Fields {
                card,
                values: &design.values,
            };
            let mut found: Found = (Vec::new(), vec![BTreeMap::new(); n]);
            for (label, e) in design.front.iter().chain(&design.back) {
                let Element::Text(t) = e else { continue };
                let text = t.text.render(|f| fields.get(f));
                if ts.is_plain(&text, t.font) {
                    continue;
                }
                if let Some(c) = ts.missing(&text, t.font) {
                    if found.0.is_empty() {
                        // A secret is never quoted in an error.
                        let what = if t.text.uses_secret() {
                            String::new()
                        } else {
                            format!(" {c:?} (U+{:04X})", c as u32)
                        };
                        found.0.push((
                            i,
                            format!(
                                "card {}: {} ({label}): the font {} has no glyph for a \
                                 character{what}, nor has any fallback font: name a font that \
                                 has it in the design's `fallback = [\"...ttf\"]`",
                                card.serial, design.source, design.fonts[t.font].0
                            ),
                        ));
                    }
                    continue;
                }
                let Ok((_, lines)) = draw::fit_text(t, &text, &|l: &str, size: f32| {
                    ts.line_width(l, t.font, size)
                }) else {
                    continue; // the layout check names it
                };
                for line in &lines {
                    let Ok(pieces) = ts.shape_line(line, t.font, Typesetter::paragraph_rtl(line))
                    else {
                        continue;
                    };
                    for g in pieces.into_iter().flat_map(|p| p.glyphs) {
                        keep(found.1[g.font].entry(g.id).or_default(), g.text);
                    }
                }
            }
            found
        })
        .reduce(|| (Vec::new(), vec![BTreeMap::new(); n]), merge);
    undrawable.sort_by_key(|(i, _)| *i);
    Survey { undrawable, shaped }
}

fn load_fonts(job: &Job<'_>, survey: Survey, extra: &[String]) -> Result<Vec<Font>, RenderError> {
    if let Some((_, why)) = survey.undrawable.into_iter().next() {
        return Err(RenderError::Card(why));
    }
    let sets = glyph_sets(job, extra);
    let shaped = survey.shaped;
    job.design
        .fonts
        .iter()
        .zip(sets)
        .zip(shaped)
        .map(|(((name, data), chars), shaped)| {
            Font::new(name, data.clone(), &chars, &shaped).map_err(RenderError::Card)
        })
        .collect()
}

fn spot(design: &Design) -> Spot {
    Spot {
        colour: design.spot.clone(),
        cmyk: design.spot_cmyk,
        layer: "ScratchOff".into(),
    }
}

/// A PDF being written through the one atomic writer (owner-only: the pages carry the codes),
/// buffered.
struct PendingFile {
    file: crate::atomic::AtomicFile,
    path: PathBuf,
}

impl PendingFile {
    fn create(path: &Path) -> Result<(PendingFile, BufWriter<std::fs::File>), RenderError> {
        let io = |source| RenderError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file =
            crate::atomic::AtomicFile::create(path, crate::atomic::PRIVATE).map_err(io)?;
        let out = file.file().try_clone().map_err(io)?;
        Ok((
            PendingFile {
                file,
                path: path.to_path_buf(),
            },
            BufWriter::with_capacity(1 << 20, out),
        ))
    }

    fn commit(self, writer: BufWriter<std::fs::File>) -> Result<(PathBuf, u64), RenderError> {
        let io = |source| RenderError::Io {
            path: self.path.clone(),
            source,
        };
        writer.into_inner().map_err(|e| io(e.into_error()))?;
        let size = self.file.commit().map_err(io)?;
        Ok((self.path, size))
    }
}

/// A deflated content stream, shared when pages repeat one.
type Stream = Arc<Vec<u8>>;

/// The last front page built and its deflated stream: a retail batch's fronts are all alike,
/// so most are deflated once.
type FrontCache = Mutex<Option<(Vec<u8>, Stream)>>;

fn deflate_front(cache: &FrontCache, raw: Vec<u8>) -> Stream {
    if let Some((known, stream)) = &*cache.lock().unwrap_or_else(|e| e.into_inner())
        && *known == raw
    {
        return Arc::clone(stream);
    }
    let stream = Arc::new(pdf::deflate(&raw));
    *cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((raw, Arc::clone(&stream)));
    stream
}

/// One sheet's pages, deflated: front and back.
fn build_sheet(
    job: &Job<'_>,
    fonts: &[Font],
    ts: &Typesetter<'_>,
    slots: &[(usize, &CardFields)],
    cache: &FrontCache,
) -> Result<(Stream, Stream), RenderError> {
    let (design, sheet) = (job.design, job.sheet);
    let mut front = Page::styled(sheet.page_height, job.style());
    let mut back = Page::styled(sheet.page_height, job.style());
    let mut placed: Vec<Placement> = Vec::with_capacity(slots.len());
    let mut placed_backs: Vec<Placement> = Vec::with_capacity(slots.len());
    for (slot, card) in slots {
        let fields = Fields {
            card,
            values: &design.values,
        };
        let f = sheet.front(&design.card, *slot, &job.offsets);
        draw::card_side(&mut front, design, &design.front, &f, &fields, fonts, ts)
            .map_err(RenderError::Card)?;
        placed.push(f);
        let b = sheet.back(&design.card, *slot, job.duplex, &job.offsets);
        draw::card_side(&mut back, design, &design.back, &b, &fields, fonts, ts)
            .map_err(RenderError::Card)?;
        placed_backs.push(b);
    }
    // Marks on both sides: the backs (and the scratch plate) register against them too.
    draw::crop_marks(&mut front, &sheet.crop_marks(&placed));
    draw::crop_marks(&mut back, &sheet.crop_marks(&placed_backs));
    Ok((
        deflate_front(cache, front.content.finish().into_vec()),
        Arc::new(pdf::deflate(&back.content.finish())),
    ))
}

/// Lays out every card of the job as rendering would (fonts, every text fitted, every QR
/// encoded and sized) without writing anything: what would fail, by card index (at most
/// `limit` problems, in card order). Run before a batch is recorded, so that no card is
/// provisioned that cannot be printed.
pub fn check_cards(job: &Job<'_>, limit: usize) -> Result<(), Vec<(usize, String)>> {
    let ts = Typesetter::new(job.design).map_err(|e| vec![(0, e)])?;
    let mut found = survey(job, &ts);
    if !found.undrawable.is_empty() {
        found.undrawable.truncate(limit);
        return Err(found.undrawable);
    }
    let fonts = load_fonts(job, found, &[]).map_err(|e| vec![(0, e.to_string())])?;
    let (design, sheet) = (job.design, job.sheet);
    let mut problems: Vec<(usize, String)> = job
        .cards
        .par_iter()
        .enumerate()
        .filter_map(|(i, card)| {
            let fields = Fields {
                card,
                values: &design.values,
            };
            let mut page = Page::styled(sheet.page_height, job.style());
            let f = sheet.front(&design.card, 0, &job.offsets);
            let b = sheet.back(&design.card, 0, job.duplex, &job.offsets);
            draw::card_side(&mut page, design, &design.front, &f, &fields, &fonts, &ts)
                .and_then(|()| {
                    draw::card_side(&mut page, design, &design.back, &b, &fields, &fonts, &ts)
                })
                .err()
                .map(|e| (i, e))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort_by_key(|(i, _)| *i);
    problems.truncate(limit);
    Err(problems)
}

/// What a print shop's preflight would flag in a design on press output, and what press output
/// does about it: RGB colours and images are converted by the naive rule, transparent images
/// flattened onto the colour beneath; images below 300 ppi at their printed size print as they
/// are. One line each.
pub fn press_warnings(design: &Design, sheet: &Sheet) -> Vec<String> {
    if !sheet.press {
        return Vec::new();
    }
    let mut out = Vec::new();
    for elements in [&design.front, &design.back] {
        for (label, e) in elements {
            let colours = match e {
                Element::Text(t) => vec![t.color],
                Element::Rect { fill, stroke, .. } => fill.iter().chain(stroke).copied().collect(),
                Element::Qr { color, .. } => vec![*color],
                _ => Vec::new(),
            };
            if let Some(rgb) = colours
                .iter()
                .find(|c| matches!(c, template::Colour::Rgb(_)))
            {
                let [c, m, y, k] = rgb.to_cmyk().map(|v| (v * 100.0).round());
                out.push(format!(
                    "warning: {label} is RGB: press output prints it as cmyk({c}, {m}, \
                     {y}, {k}) by the naive rule; give cmyk(...) in the design to choose the inks"
                ));
            }
        }
    }
    for (_, e) in design.front.iter().chain(&design.back) {
        let Element::Image { rect, image } = e else {
            continue;
        };
        let (name, bytes) = &design.images[*image];
        let Ok(img) = Image::decode(bytes) else {
            continue;
        };
        let ppi = f64::from(img.width) / (rect.width / 25.4);
        let (rgb, mask) = match &img.data {
            image::ImageData::Raw {
                components, alpha, ..
            } => (*components == 3, alpha.is_some()),
            image::ImageData::Jpeg { components, .. } => (*components == 3, false),
        };
        if rgb {
            out.push(format!(
                "warning: image {name} is RGB: press output prints it as CMYK by the naive rule; \
                 give a CMYK image to choose the inks"
            ));
        }
        if mask {
            out.push(format!(
                "warning: image {name} has transparency: press output flattens it onto the \
                 colour beneath it"
            ));
        }
        if ppi < 300.0 {
            out.push(format!(
                "warning: image {name} prints at {ppi:.0} ppi, below the 300 ppi press wants"
            ));
        }
    }
    out
}

/// The design's images as press output prints them ([`Image::for_press`]): CMYK or gray, each
/// transparent one flattened onto the plain colour beneath it. An image whose transparent
/// pixels would lie over more than one colour (another image, text, a fill that does not cover
/// it), or that is used over two different colours, is refused with the element named.
pub fn press_images(design: &Design) -> Result<Vec<Image>, TemplateError> {
    let fail = |label: &str, reason: String| TemplateError {
        file: design.source.clone(),
        element: Some(label.to_string()),
        reason,
    };
    let mut backdrops: Vec<Option<(String, [f32; 4])>> = vec![None; design.images.len()];
    for elements in [&design.front, &design.back] {
        for (i, (label, e)) in elements.iter().enumerate() {
            let Element::Image { rect, image } = e else {
                continue;
            };
            let under = backdrop(&elements[..i], rect).map_err(|why| {
                fail(
                    label,
                    format!(
                        "on press output its transparency is flattened onto the plain colour \
                         beneath it, but {why}: flatten the image yourself, or put it on one \
                         filled rect"
                    ),
                )
            })?;
            match &backdrops[*image] {
                Some((first, other)) if *other != under => {
                    return Err(fail(
                        label,
                        format!(
                            "uses the image of {first} over another colour: on press output \
                             each transparent image is flattened onto one colour; give each use \
                             its own file"
                        ),
                    ));
                }
                _ => backdrops[*image] = Some((label.clone(), under)),
            }
        }
    }
    design
        .images
        .iter()
        .zip(&backdrops)
        .map(|((name, bytes), under)| {
            let img = Image::decode(bytes).map_err(|e| TemplateError {
                file: design.source.clone(),
                element: None,
                reason: format!("image {name}: {e}"),
            })?;
            img.for_press(under.as_ref().map_or([0.0; 4], |(_, c)| *c))
                .map_err(|e| TemplateError {
                    file: design.source.clone(),
                    element: under.as_ref().map(|(l, _)| l.clone()),
                    reason: format!("image {name} {e}"),
                })
        })
        .collect()
}

/// The plain CMYK colour beneath `rect`, given the elements painted before it: the paper when
/// nothing is, or the last filled rect that covers it all when only that (and what it covers)
/// is; anything else is why not.
fn backdrop(below: &[(String, Element)], rect: &layout::Rect) -> Result<[f32; 4], String> {
    for (label, e) in below.iter().rev() {
        let r = template::element_rect(e);
        if !r.intersects(rect) {
            continue;
        }
        return match e {
            Element::Rect {
                fill: Some(fill),
                rect: r,
                ..
            } if r.contains(rect) => Ok(fill.to_cmyk()),
            _ => Err(format!("{label} lies beneath part of it")),
        };
    }
    Ok([0.0; 4])
}

/// Renders every card of the job into `target`.
pub fn render(job: &Job<'_>, target: &Target) -> Result<Rendered, RenderError> {
    let ts = Typesetter::new(job.design).map_err(RenderError::Card)?;
    let fonts = load_fonts(job, survey(job, &ts), &[])?;
    let images: Vec<Image> = if job.sheet.press {
        press_images(job.design)?
    } else {
        job.design
            .images
            .iter()
            .map(|(name, bytes)| {
                Image::decode(bytes).map_err(|e| RenderError::Pdf(format!("image {name}: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let per_sheet = job.sheet.per_sheet();
    let assignment = layout::assign(job.cards.len(), job.start, per_sheet);
    let sheet_count = assignment.last().map_or(0, |a| a.0 + 1);
    let mut sheets: Vec<Vec<(usize, &CardFields)>> = vec![Vec::new(); sheet_count];
    for ((sheet, slot), card) in assignment.into_iter().zip(job.cards) {
        sheets[sheet].push((slot, card));
    }
    let (w, h) = (job.sheet.page_width, job.sheet.page_height);
    // TrimBox and BleedBox: the card's on single cards, the grid's on a press sheet.
    let boxes = (per_sheet == 1 || job.sheet.press).then(|| {
        let all: Vec<Placement> = (0..per_sheet)
            .map(|slot| job.sheet.front(&job.design.card, slot, &Offsets::default()))
            .collect();
        let bound = |r: fn(&Placement) -> layout::Rect| {
            let x0 = all.iter().map(|p| r(p).x).fold(f64::MAX, f64::min);
            let y0 = all.iter().map(|p| r(p).y).fold(f64::MAX, f64::min);
            let x1 = all.iter().map(|p| r(p).right()).fold(f64::MIN, f64::max);
            let y1 = all.iter().map(|p| r(p).bottom()).fold(f64::MIN, f64::max);
            [x0, y0, x1 - x0, y1 - y0]
        };
        (bound(|p| p.trim), bound(|p| p.clip))
    });
    let pdf_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io {
            path: path.clone(),
            source,
        }
    };
    let (first_path, second_path) = match target {
        Target::One(p) => (p.clone(), None),
        Target::Two { fronts, backs } => (fronts.clone(), Some(backs.clone())),
    };
    let (first_file, first_out) = PendingFile::create(&first_path)?;
    let mut first = PdfWriter::new(first_out).map_err(pdf_err(&first_path))?;
    let mut second = match &second_path {
        Some(p) => {
            let (file, out) = PendingFile::create(p)?;
            Some((file, PdfWriter::new(out).map_err(pdf_err(p))?))
        }
        None => None,
    };
    // Sheets are drawn in parallel a chunk at a time while a writer thread streams the
    // previous chunk's pages out, so the cores do not wait for the disk.
    let cache = FrontCache::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Stream, Stream)>>(1);
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<(), RenderError> {
            for pages in rx {
                for (front, back) in pages {
                    first
                        .page(w, h, boxes, &front)
                        .map_err(pdf_err(&first_path))?;
                    match &mut second {
                        Some((_, backs)) => backs.page(w, h, boxes, &back),
                        None => first.page(w, h, boxes, &back),
                    }
                    .map_err(pdf_err(second_path.as_ref().unwrap_or(&first_path)))?;
                }
            }
            Ok(())
        });
        let built = (|| {
            for chunk in sheets.chunks(SHEETS_PER_CHUNK) {
                let pages: Vec<(Stream, Stream)> = chunk
                    .par_iter()
                    .map(|slots| build_sheet(job, &fonts, &ts, slots, &cache))
                    .collect::<Result<_, _>>()?;
                if tx.send(pages).is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Ok::<(), RenderError>(())
        })();
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(RenderError::Pdf("the PDF writer thread panicked".into())));
        built.and(written)
    });
    written?;
    let spot = spot(job.design);
    if job.sheet.press {
        first.output_intent(&job.sheet.output_condition);
        if let Some((_, backs)) = &mut second {
            backs.output_intent(&job.sheet.output_condition);
        }
    }
    let mut pages = first.page_count();
    let mut files = vec![
        first_file.commit(
            first
                .finish(&fonts, &images, &spot)
                .map_err(RenderError::Pdf)?,
        )?,
    ];
    if let Some((file, backs)) = second {
        pages += backs.page_count();
        files.push(
            file.commit(
                backs
                    .finish(&fonts, &images, &spot)
                    .map_err(RenderError::Pdf)?,
            )?,
        );
    }
    Ok(Rendered {
        files,
        pages,
        sheets: sheet_count,
    })
}

/// An alignment sheet for `job.sheet` with its offsets: front and back (mirrored per duplex).
pub fn proof(job: &Job<'_>, path: &Path) -> Result<Rendered, RenderError> {
    let sheet = job.sheet;
    let labels = draw::proof_labels(sheet);
    let ts = Typesetter::new(job.design).map_err(RenderError::Card)?;
    let fonts = load_fonts(job, survey(job, &ts), &labels)?;
    let font = fonts
        .first()
        .ok_or_else(|| RenderError::Pdf("the design has no font for the proof's labels".into()))?;
    let card = &job.design.card;
    let o = &job.offsets;
    let mut pages = Vec::new();
    for (side, placements) in [
        (
            "front",
            (0..sheet.per_sheet())
                .map(|s| sheet.front(card, s, o))
                .collect::<Vec<_>>(),
        ),
        (
            "back",
            (0..sheet.per_sheet())
                .map(|s| sheet.back(card, s, job.duplex, o))
                .collect::<Vec<_>>(),
        ),
    ] {
        let mut page = Page::new(sheet.page_height);
        let (dx, dy) = if side == "front" {
            (o.front_x, o.front_y)
        } else {
            (o.back_x, o.back_y)
        };
        let caption = format!("PROOF {} {side} offsets x {dx:.2} y {dy:.2} mm", sheet.name);
        draw::proof(&mut page, sheet, &placements, card.radius, &caption, font);
        pages.push(Arc::new(pdf::deflate(&page.content.finish())));
    }
    let (file, out) = PendingFile::create(path)?;
    let io = |source| RenderError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut w = PdfWriter::new(out).map_err(io)?;
    for p in &pages {
        w.page(sheet.page_width, sheet.page_height, None, p)
            .map_err(io)?;
    }
    let count = w.page_count();
    let out = w
        .finish(&fonts, &[], &spot(job.design))
        .map_err(RenderError::Pdf)?;
    Ok(Rendered {
        files: vec![file.commit(out)?],
        pages: count,
        sheets: 1,
    })
}

/// Sample cards for `cardmint preview`: one sheet's worth.
pub fn sample_cards(count: usize) -> Vec<CardFields> {
    (0..count)
        .map(|i| CardFields {
            serial: crate::codes::serial(i as u64 + 1),
            code: format!("{}", 482_913_605_117u64 + i as u64 * 7_919),
            password: "Xk7-mQ2p".into(),
            value: "5.00".into(),
            currency: "EUR".into(),
            batch: "PREVIEW".into(),
            label: ["Иван Петров", "Ζωή Παπαδοπούλου", "Renée Dubois", "Shop 12"][i % 4].into(),
            numbers: "+442079460958".into(),
        })
        .collect()
}
