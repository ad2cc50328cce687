//! Text that must be shaped (Arabic, Hebrew, Devanagari) printed as a reader expects: the
//! glyphs HarfBuzz itself chooses, in the order it sets them, and the PDF's text in reading
//! order.

use cardmint::render::shape::Typesetter;

use crate::pdf::{PdfFile, tool, tools};
use crate::support::*;

/// The labels of the test: (text, script).
const LABELS: &[(&str, &str)] = &[
    ("محمد علي", "Arabic"),
    ("سلام لا", "Arabic"),
    ("דוד כהן", "Hebrew"),
    ("राजेश कुमार", "Devanagari"),
];

#[test]
fn arabic_hebrew_and_devanagari_labels_print_shaped_and_read_back_in_order() {
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("c.csv"),
        "customer,label\nmohammed_1,محمد علي\ndavid_2,דוד כהן\nraj_3,राजेश कुमार\nsalam_4,سلام لا\nalice_5,Alice (علي) 2024\n",
    )
    .unwrap();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--from",
            "c.csv",
            "--value",
            "5",
            "-q",
        ],
    );
    let pdf = cm.path("out/B0001/cards.pdf");
    // Each script drawn with its font: the shipped Noto fonts, subset and embedded.
    let bytes = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for family in ["NotoSansArabic", "NotoSansHebrew", "NotoSansDevanagari"] {
        assert!(
            text.contains(&format!("+{family}")),
            "{family} is not embedded"
        );
    }
    let _ = PdfFile::open(&pdf).page_count();
    if !tools("arabic_hebrew_and_devanagari_labels_print_shaped_and_read_back_in_order") {
        return;
    }
    // poppler reads every label back in reading order (lam-alef and Devanagari's vowel signs
    // included), the marks it puts around right-to-left text apart.
    let extracted: String = tool("pdftotext", &[pdf.to_str().unwrap(), "-"])
        .chars()
        .filter(|c| !matches!(*c as u32, 0x202A..=0x202E))
        .collect();
    for label in ["محمد علي", "דוד כהן", "राजेश कुमार", "سلام لا"]
    {
        assert!(
            extracted.contains(&format!("Welcome, {label}")),
            "{label}: {extracted}"
        );
    }
    let fonts = tool("pdffonts", &[pdf.to_str().unwrap()]);
    assert!(
        fonts.lines().filter(|l| l.contains("+NotoSans")).count() >= 3,
        "{fonts}"
    );
}

/// HarfBuzz's own shaping of `text` with the font file `font`: (glyph, x advance, x offset,
/// y offset) in font units, in visual order.
fn hb_shape(font: &std::path::Path, text: &str) -> Vec<(u16, i32, i32, i32)> {
    let json = tool(
        "hb-shape",
        &[
            font.to_str().unwrap(),
            text,
            "--output-format=json",
            "--no-glyph-names",
        ],
    );
    let glyphs: Vec<serde_json::Value> = serde_json::from_str(json.trim()).unwrap();
    glyphs
        .iter()
        .map(|g| {
            let n = |k: &str| g[k].as_i64().unwrap() as i32;
            (n("g") as u16, n("ax"), n("dx"), n("dy"))
        })
        .collect()
}

#[test]
fn the_shaper_draws_the_glyphs_harfbuzz_draws() {
    let design = cardmint::render::load_design("welcome", &Default::default()).unwrap();
    let ts = Typesetter::new(&design).unwrap();
    let regular = design
        .fonts
        .iter()
        .position(|(n, _)| n == "DejaVuSans.ttf")
        .unwrap();
    let fonts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/fonts");
    let mut compared = 0;
    for (text, script) in LABELS {
        let rtl = Typesetter::paragraph_rtl(text);
        let pieces = ts.shape_line(text, regular, rtl).unwrap();
        // One script, one font: the whole label is one piece, in its script's own font.
        let fonts_used: std::collections::BTreeSet<usize> = pieces
            .iter()
            .flat_map(|p| p.glyphs.iter().map(|g| g.font))
            .collect();
        assert_eq!(fonts_used.len(), 1, "{text}: {pieces:?}");
        let font = *fonts_used.first().unwrap();
        let name = &design.fonts[font].0;
        assert!(
            name.starts_with(&format!("NotoSans{script}")),
            "{text}: drawn with {name}"
        );
        let upem = ts.units_per_em(font);
        let ours: Vec<(u16, i32, i32, i32)> = pieces
            .iter()
            .flat_map(|p| &p.glyphs)
            .map(|g| {
                let u = |v: f32| (v * upem).round() as i32;
                (g.id, u(g.advance), u(g.dx), u(g.dy))
            })
            .collect();
        if !tools("the_shaper_draws_the_glyphs_harfbuzz_draws") {
            assert!(!ours.is_empty());
            continue;
        }
        let theirs = hb_shape(&fonts.join(name), text);
        assert_eq!(ours, theirs, "{text} in {name}");
        compared += 1;
    }
    if tools("the_shaper_draws_the_glyphs_harfbuzz_draws") {
        assert_eq!(compared, LABELS.len());
    }
}

#[test]
fn a_batch_in_a_language_prints_the_designs_texts_in_it_and_its_amounts_its_way() {
    let cm = Cardmint::new();
    std::fs::write(cm.path("c.csv"), "customer,label\nmohammed_1,محمد علي\n").unwrap();
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--from",
            "c.csv",
            "--value",
            "5",
            "--lang",
            "ar",
            "-q",
        ],
    );
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "7.5",
            "--lang",
            "fr",
            "-q",
        ],
    );
    // The language is the batch's: a re-render prints the same.
    cm.expect(0, &["--sandbox", "render", "B0002"]);
    // A language the design has no texts for is refused before anything is sent.
    let out = cm.expect(
        2,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--lang",
            "de",
        ],
    );
    assert!(
        out.stderr.contains("no texts in \"de\"") && out.stderr.contains("ar"),
        "{out:?}"
    );
    let welcome = PdfFile::open(&cm.path("out/B0001/cards.pdf"));
    let retail = PdfFile::open(&cm.path("out/B0002/cards.pdf"));
    let _ = (welcome.page_count(), retail.page_count());
    if !tools("a_batch_in_a_language_prints_the_designs_texts_in_it_and_its_amounts_its_way") {
        return;
    }
    let text = |pdf: &str| -> String {
        tool("pdftotext", &[cm.path(pdf).to_str().unwrap(), "-"])
            .chars()
            .filter(|c| !matches!(*c as u32, 0x202A..=0x202E | 0x2066..=0x2069))
            .collect()
    };
    let ar = text("out/B0001/cards.pdf");
    assert!(ar.contains("مرحبا") && ar.contains("محمد علي"), "{ar}");
    assert!(ar.contains("كلمة المرور"), "{ar}");
    // A phone number inside Arabic text keeps its groups in order.
    assert!(ar.contains("+44 20 7946 0000"), "{ar}");
    let fr = text("out/B0002/cards.pdf");
    assert!(
        fr.contains("7,50 EUR") && fr.contains("Comment appeler"),
        "{fr}"
    );
}
