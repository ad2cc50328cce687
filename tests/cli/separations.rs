//! Press output judged as a print shop judges it: Ghostscript's separations (`tiffsep`, one
//! greyscale plate per ink, dark = ink) and zbar, in the print-shop-tools tier; and a
//! structural reading of the content streams, boxes and colour spaces with Rust alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::pdf::{tool, tools};
use crate::support::*;

/// One separation: width, height, and one byte a pixel (0 = full ink, 255 = none).
struct Plate {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Plate {
    /// Reads an uncompressed 8-bit greyscale TIFF as Ghostscript's tiffsep writes it.
    fn read(path: &Path) -> Plate {
        let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let le = &b[0..2] == b"II";
        let u16_at = |o: usize| {
            let v = [b[o], b[o + 1]];
            if le {
                u16::from_le_bytes(v)
            } else {
                u16::from_be_bytes(v)
            }
        };
        let u32_at = |o: usize| {
            let v = [b[o], b[o + 1], b[o + 2], b[o + 3]];
            if le {
                u32::from_le_bytes(v)
            } else {
                u32::from_be_bytes(v)
            }
        };
        let ifd = u32_at(4) as usize;
        let mut tags = BTreeMap::new();
        for i in 0..u16_at(ifd) as usize {
            let e = ifd + 2 + i * 12;
            let (tag, kind, count) = (u16_at(e), u16_at(e + 2), u32_at(e + 4));
            let value = if kind == 3 && count == 1 {
                u16_at(e + 8) as u32
            } else {
                u32_at(e + 8)
            };
            tags.insert(tag, (kind, count, value));
        }
        let width = tags[&256].2 as usize;
        let height = tags[&257].2 as usize;
        assert_eq!(tags[&259].2, 1, "{}: uncompressed", path.display());
        assert_eq!(tags.get(&258).map_or(8, |t| t.2), 8, "8 bits a sample");
        let (kind, count, value) = tags[&273];
        let offsets: Vec<usize> = if count == 1 {
            vec![value as usize]
        } else {
            (0..count as usize)
                .map(|i| {
                    let at = value as usize + i * if kind == 3 { 2 } else { 4 };
                    if kind == 3 {
                        u16_at(at) as usize
                    } else {
                        u32_at(at) as usize
                    }
                })
                .collect()
        };
        let rows_per_strip = tags.get(&278).map_or(height, |t| t.2 as usize);
        let mut pixels = Vec::with_capacity(width * height);
        for (i, o) in offsets.iter().enumerate() {
            let rows = rows_per_strip.min(height - i * rows_per_strip);
            pixels.extend_from_slice(&b[*o..*o + rows * width]);
        }
        assert_eq!(pixels.len(), width * height);
        Plate {
            width,
            height,
            pixels,
        }
    }

    /// The share of pixels inside `area` (mm, from the page's top-left corner) that carry at
    /// least half ink.
    fn inked(&self, area: [f64; 4], dpi: f64) -> f64 {
        let px = |mm: f64| (mm / 25.4 * dpi).round() as usize;
        let (x0, y0) = (px(area[0]), px(area[1]));
        let (x1, y1) = (
            px(area[0] + area[2]).min(self.width),
            px(area[1] + area[3]).min(self.height),
        );
        let mut ink = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                if self.pixels[y * self.width + x] < 128 {
                    ink += 1;
                }
            }
        }
        ink as f64 / ((x1 - x0) * (y1 - y0)) as f64
    }
}

/// Separates `pdf` at `dpi`; returns the plates of page `page` (1-based) by ink name.
fn separations(
    pdf: &Path,
    dir: &Path,
    dpi: u32,
) -> impl Fn(usize) -> BTreeMap<String, Plate> + use<> {
    let out = Command::new("gs")
        .args([
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=tiffsep",
            "-sCompression=none",
            &format!("-r{dpi}"),
            &format!("-sOutputFile={}/p%02d.tif", dir.display()),
        ])
        .arg(pdf)
        .output()
        .unwrap_or_else(|e| {
            panic!("ghostscript is needed by this test (.ci/run installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = dir.to_path_buf();
    move |page| {
        let prefix = format!("p{page:02}(");
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let ink = name
                    .strip_prefix(&prefix)?
                    .strip_suffix(").tif")?
                    .to_string();
                Some((ink, Plate::read(&dir.join(&name))))
            })
            .collect()
    }
}

/// Where the retail design's code text and QR lie on a cr80 page (mm from the page corner).
fn secret_boxes() -> Vec<[f64; 4]> {
    use cardmint::render::template::Element;
    let design = cardmint::render::load_design("retail", &Default::default()).unwrap();
    let bleed = design.card.bleed;
    design
        .back
        .iter()
        .filter_map(|(_, e)| match e {
            Element::Text(t) if t.text.uses_secret() => Some(t.rect),
            Element::Qr { rect, .. } => Some(*rect),
            _ => None,
        })
        .map(|r| [r.x + bleed, r.y + bleed, r.width, r.height])
        .collect()
}

#[test]
fn the_scratch_plate_is_solid_over_every_code_and_qr_and_the_code_is_black_only() {
    if !tools("the_scratch_plate_is_solid_over_every_code_and_qr") {
        return;
    }
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "2",
            "--value",
            "5",
            "--sheet",
            "cr80",
            "-q",
        ],
    );
    let plates = separations(&cm.path("out/B0001/cards.pdf"), cm.dir.path(), 150);
    let boxes = secret_boxes();
    assert_eq!(boxes.len(), 2, "the code and its QR");
    // Pages: front, back, front, back.
    for back in [2, 4] {
        let p = plates(back);
        let scratch = &p["ScratchOff"];
        for b in &boxes {
            assert_eq!(
                scratch.inked(*b, 150.0),
                1.0,
                "page {back}: scratch ink over {b:?}"
            );
            let black = p["Black"].inked(*b, 150.0);
            assert!(
                black > 0.05,
                "page {back}: the code and QR print in black: {black}"
            );
            for ink in ["Cyan", "Magenta", "Yellow"] {
                assert_eq!(
                    p[ink].inked(*b, 150.0),
                    0.0,
                    "page {back}: no {ink} under {b:?}"
                );
            }
        }
    }
    // A front carries no scratch plate.
    assert!(!plates(1).contains_key("ScratchOff"));
    // The QR reads from the black plate alone (what is under the scratched panel).
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for (back, row) in [2, 4].into_iter().zip(&rows) {
        let black = cm.dir.path().join(format!("p{back:02}(Black).tif"));
        let read = zbar(&black);
        assert_eq!(read.len(), 1, "page {back}: {read:?}");
        assert!(
            read[0].contains(&format!(",,{}%23", row["customer"])),
            "{read:?}"
        );
    }
}

/// What zbarimg reads in an image, one payload a line.
fn zbar(image: &Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("zbarimg is needed by this test (.ci/run installs it): {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_qr_of_a_whole_office_sheet_reads_at_150_dpi_and_from_the_black_plate() {
    if !tools("every_qr_of_a_whole_office_sheet_reads_at_150_dpi") {
        return;
    }
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "10", "--value", "5", "-q"],
    );
    let pdf = cm.path("out/B0001/cards.pdf");
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    // Each card of the sheet's backs, scanned on its own.
    let areas = crate::pdf::retail_backs("avery-c32011");
    let expect_all = |read: Vec<Vec<String>>, what: &str| {
        for (row, got) in rows.iter().zip(&read) {
            let want = format!("tel:+442079460000,,{}%23", row["customer"]);
            assert_eq!(got, &vec![want], "{what}: {read:?}");
        }
    };
    let page = cm.path("sheet");
    tool(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-gray",
            "-f",
            "2",
            "-l",
            "2",
            pdf.to_str().unwrap(),
            page.to_str().unwrap(),
        ],
    );
    let (w, h, pixels) = crate::pdf::read_pgm(&cm.path("sheet-2.pgm"));
    expect_all(
        crate::pdf::zbar_areas((w, h, &pixels), 150.0, &areas, cm.dir.path()),
        "the A4 backs at 150 dpi",
    );
    let plates = separations(&pdf, cm.dir.path(), 150);
    let p = plates(2);
    assert!(!p.contains_key("ScratchOff"), "no plate on office sheets");
    let black = &p["Black"];
    expect_all(
        crate::pdf::zbar_areas(
            (black.width, black.height, &black.pixels),
            150.0,
            &areas,
            cm.dir.path(),
        ),
        "the black plate at 150 dpi",
    );
}

#[test]
fn office_sheets_print_registration_marks_on_every_plate() {
    if !tools("office_sheets_print_registration_marks_on_every_plate") {
        return;
    }
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "3",
            "--value",
            "5",
            "--sheet",
            "letter-8up",
            "-q",
        ],
    );
    let plates = separations(&cm.path("out/B0001/cards.pdf"), cm.dir.path(), 150);
    // The Letter sheet's first crop mark: left of the first card's top edge, outside the bleed.
    let sheet = cardmint::render::load_sheet("letter-8up", &Default::default()).unwrap();
    let mark = [sheet.origin_x - 8.0, sheet.origin_y - 0.3, 4.0, 0.6];
    for page in [1, 2] {
        let p = plates(page);
        assert!(
            !p.contains_key("ScratchOff"),
            "page {page}: no plate on office sheets"
        );
        for ink in ["Cyan", "Magenta", "Yellow", "Black"] {
            assert!(
                p[ink].inked(mark, 150.0) > 0.2,
                "page {page}: mark on {ink}"
            );
        }
    }
}

#[test]
fn press_pages_paint_the_panel_last_overprinting_and_use_no_rgb() {
    // The same rules read from the PDF itself, with Rust alone.
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--sheet",
            "cr80",
            "-q",
        ],
    );
    let pdf = std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap();
    let streams = content_streams(&pdf);
    let back = streams
        .iter()
        .find(|s| s.contains("/CS0 cs"))
        .expect("a page paints the scratch plate");
    let panel = back.rfind("/CS0 cs").unwrap();
    let last_text = back.rfind("ET").unwrap();
    assert!(panel > last_text, "the panel comes after every text");
    assert!(
        back[..panel].ends_with("q\n/GSop gs\n"),
        "the panel overprints: {}",
        &back[panel.saturating_sub(40)..panel]
    );
    for s in &streams {
        for op in [" rg", " RG"] {
            assert!(
                !s.contains(&format!("{op}\n")) && !s.contains(&format!("{op} ")),
                "RGB in press output"
            );
        }
    }
    // Every text is CMYK, and the black ones overprint.
    assert!(back.contains("0 0 0 1 k"));
    // The logo is CMYK, flattened onto the background: no RGB image, no soft mask.
    assert!(find(&pdf, b"/DeviceCMYK").is_some());
    assert!(find(&pdf, b"/DeviceRGB").is_none(), "an RGB colour space");
    assert!(
        find(&pdf, b"/SMask").is_none(),
        "a soft mask (transparency)"
    );
    // Every page: a TrimBox round the card and a BleedBox 3 mm outside it.
    let text = String::from_utf8_lossy(&pdf);
    let boxes = |name: &str| -> Vec<Vec<f64>> {
        text.split(&format!("/{name}["))
            .skip(1)
            .map(|rest| {
                let numbers = rest.split(']').next().unwrap();
                numbers
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect()
            })
            .collect()
    };
    let (trims, bleeds) = (boxes("TrimBox"), boxes("BleedBox"));
    let pages = text.matches("/Type/Page/").count();
    assert!(
        pages == 2 && trims.len() == pages && bleeds.len() == pages,
        "{pages} {trims:?}"
    );
    let three_mm = 3.0 * 72.0 / 25.4;
    for (t, b) in trims.iter().zip(&bleeds) {
        let outward = [t[0] - b[0], t[1] - b[1], b[2] - t[2], b[3] - t[3]];
        assert!(
            outward.iter().all(|d| (d - three_mm).abs() < 0.01),
            "{t:?} {b:?}"
        );
    }
}

/// The inflated streams of a PDF that look like page content.
fn content_streams(pdf: &[u8]) -> Vec<String> {
    // Each stream by its dictionary's /Length, so that no byte of its (compressed, random)
    // data is ever read as a keyword: searching for "stream" in the file flaked once in a
    // few hundred runs.
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find(&pdf[at..], b"/Length ") {
        let digits_at = at + i + b"/Length ".len();
        let len: usize = pdf[digits_at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0, |n, b| n * 10 + usize::from(b - b'0'));
        let Some(k) = find(&pdf[digits_at..], b"stream") else {
            break;
        };
        let start = digits_at + k + b"stream".len();
        let start = start + if pdf[start] == b'\r' { 2 } else { 1 };
        let end = (start + len).min(pdf.len());
        if let Ok(raw) = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[start..end]) {
            let text = String::from_utf8_lossy(&raw).into_owned();
            if text.contains(" re") || text.contains("BT") {
                out.push(text);
            }
        }
        at = end;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_press_sheet_keeps_full_bleed_double_cuts_boxes_an_output_intent_and_marks_on_every_plate() {
    let cm = Cardmint::new();
    let out = cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "4",
            "--value",
            "5",
            "--sheet",
            "sra3-21up",
            "-q",
        ],
    );
    // What a preflight would flag in the shipped logo is said, not hidden.
    for flag in [
        "logo.png is RGB",
        "logo.png has transparency",
        "logo.png prints at 203 ppi",
    ] {
        assert!(out.stdout.contains(flag), "{flag}: {out:?}");
    }
    let pdf = cm.path("out/B0001/cards.pdf");
    // The print condition is named, and PDF/X is not claimed.
    let bytes = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("GTS_PDFX") && text.contains("FOGRA39"),
        "an OutputIntent"
    );
    assert!(!text.contains("GTS_PDFXVersion"));
    if !tools("a_press_sheet_keeps_full_bleed_double_cuts") {
        return;
    }
    // Every page: TrimBox round the grid, BleedBox 3 mm outside it.
    let out = Command::new("pdfinfo")
        .args(["-box", "-f", "1", "-l", "2"])
        .arg(&pdf)
        .output()
        .unwrap_or_else(|e| panic!("pdfinfo is needed by this test (.ci/run installs it): {e}"));
    let info = String::from_utf8_lossy(&out.stdout);
    let boxes = |page: usize, name: &str| -> Vec<f64> {
        let line = info
            .lines()
            .find(|l| l.starts_with(&format!("Page    {page} {name}:")))
            .unwrap_or_else(|| panic!("page {page} has no {name}: {info}"));
        line.split_whitespace()
            .skip(3)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    for page in [1, 2] {
        let (trim, bleed) = (boxes(page, "TrimBox"), boxes(page, "BleedBox"));
        let three_mm = 3.0 * 72.0 / 25.4;
        for i in 0..4 {
            let outward = if i < 2 {
                trim[i] - bleed[i]
            } else {
                bleed[i] - trim[i]
            };
            assert!(
                (outward - three_mm).abs() < 0.05,
                "page {page}: {trim:?} {bleed:?}"
            );
        }
    }
    // The marks of the cut lines are on the scratch plate too.
    let plates = separations(&pdf, cm.dir.path(), 150);
    let sheet = cardmint::render::load_sheet("sra3-21up", &Default::default()).unwrap();
    let mark = [sheet.origin_x - 8.0, sheet.origin_y - 0.3, 4.0, 0.6];
    let p = plates(2);
    for ink in ["Cyan", "Magenta", "Yellow", "Black", "ScratchOff"] {
        assert!(p[ink].inked(mark, 150.0) > 0.2, "a mark on {ink}");
    }
}

#[test]
fn a_design_keeps_to_the_ink_limit_lengths_in_mm_and_black_fills_overprint() {
    // Before: a design could fill 400 % of ink, gave stroke_width in points (every other
    // length is in mm), and a 100 % black fill knocked out what lay beneath.
    let cm = Cardmint::new();
    let design = |fill: &str, stroke_width: &str| {
        format!(
            "kind = \"welcome\"\n\
             [[front]]\ntype = \"rect\"\nx = 10\ny = 10\nwidth = 20\nheight = 10\nfill = \"{fill}\"\n\
             [[front]]\ntype = \"text\"\ntext = \"{{code}} {{password}}\"\nx = 5\ny = 30\nwidth = 70\nheight = 8\nsize = 8\n\
             [[back]]\ntype = \"rect\"\nx = 5\ny = 5\nwidth = 10\nheight = 10\nstroke = \"cmyk(0, 0, 0, 100)\"\nstroke_width = {stroke_width}\n"
        )
    };
    std::fs::write(cm.path("c.csv"), "customer\nalice\n").unwrap();
    std::fs::write(cm.path("d.toml"), design("cmyk(0, 0, 0, 100)", "0.5")).unwrap();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--from",
            "c.csv",
            "--value",
            "5",
            "--template",
            "d.toml",
            "--sheet",
            "cr80",
            "-q",
        ],
    );
    let pdf = std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap();
    let streams = content_streams(&pdf);
    let front = streams
        .iter()
        .find(|s| s.contains(" re\nf"))
        .expect("the fill");
    let fill = front.find("0 0 0 1 k").expect("a black fill");
    assert!(
        front[..fill].ends_with("/GSop gs\n"),
        "the black fill overprints: {}",
        &front[fill.saturating_sub(40)..fill + 20]
    );
    // 0.5 mm is 1.417 pt.
    assert!(
        streams.iter().any(|s| says(s, "1.4173229 w")),
        "the stroke is 0.5 mm: {streams:?}"
    );
    let fraction = format!(
        "spot_cmyk = [0, 0, 0, 25]\n{}",
        design("cmyk(0, 0, 0, 100)", "0.5")
    );
    for (text, says) in [
        (
            design("cmyk(100, 100, 100, 100)", "0.5"),
            "lays down 400 % of ink",
        ),
        (
            design("cmyk(0, 0, 0, 100)", "12"),
            "stroke_width = 12: give millimetres",
        ),
        // Both at once, not one per run.
        (
            design("cmyk(100, 100, 100, 100)", "12"),
            "2 elements refused:\n  front element 1 (rect): colour",
        ),
        (fraction, "must be four fractions from 0 to 1"),
        (
            format!(
                "spot_cmyk = [0, 0, 0, 0.25, 0.9]\n{}",
                design("cmyk(0, 0, 0, 100)", "0.5")
            ),
            "spot_cmyk has 5 numbers",
        ),
    ] {
        std::fs::write(cm.path("e.toml"), text).unwrap();
        let out = cm.expect(
            4,
            &[
                "render",
                "B0001",
                "--template",
                "e.toml",
                "--sheet",
                "cr80",
                "--out",
                "o",
            ],
        );
        assert!(out.stderr.contains(says), "{out:?}");
    }
}

#[test]
fn an_arabic_label_prints_on_the_plates_a_latin_one_does() {
    if !tools("an_arabic_label_prints_on_the_plates_a_latin_one_does") {
        return;
    }
    // Two welcome cards on CR80, one greeting a Latin name, one an Arabic name in an Arabic
    // batch: the greeting's box is inked on the same plates, black text on black only.
    let cm = Cardmint::new();
    std::fs::write(cm.path("latin.csv"), "customer,label\nana_1,Ana Popescu\n").unwrap();
    std::fs::write(
        cm.path("arabic.csv"),
        "customer,label\nmohammed_2,محمد علي\n",
    )
    .unwrap();
    for (file, lang) in [("latin.csv", "en"), ("arabic.csv", "ar")] {
        cm.expect(
            0,
            &[
                "--sandbox",
                "issue",
                "--from",
                file,
                "--value",
                "5",
                "--sheet",
                "cr80",
                "--lang",
                lang,
                "-q",
            ],
        );
    }
    let design = cardmint::render::load_design("welcome", &Default::default()).unwrap();
    let bleed = design.card.bleed;
    let greeting = design
        .front
        .iter()
        .find_map(|(_, e)| match e {
            cardmint::render::template::Element::Text(t)
                if t.text.fields().any(|f| f == "label") =>
            {
                Some([
                    t.rect.x + bleed,
                    t.rect.y + bleed,
                    t.rect.width,
                    t.rect.height,
                ])
            }
            _ => None,
        })
        .unwrap();
    let inked = |batch: &str| -> Vec<(String, bool)> {
        let dir = cm.dir.path().join(format!("sep-{batch}"));
        std::fs::create_dir_all(&dir).unwrap();
        let plates = separations(&cm.path(&format!("out/{batch}/cards.pdf")), &dir, 300);
        plates(1)
            .into_iter()
            .map(|(ink, plate)| (ink, plate.inked(greeting, 300.0) > 0.01))
            .collect()
    };
    let (latin, arabic) = (inked("B0001"), inked("B0002"));
    assert_eq!(latin, arabic, "latin {latin:?}, arabic {arabic:?}");
    assert!(
        arabic.iter().any(|(ink, on)| ink == "Black" && *on),
        "{arabic:?}"
    );
    for (ink, on) in &arabic {
        assert!(
            ink == "Black" || !on,
            "{ink} under the greeting: {arabic:?}"
        );
    }
}
