//! Card sheets: read back with Rust alone (text, fonts, QR codes from a rasterised page), and
//! where they are installed with the tools a print shop would use (qpdf, pdffonts, pdftotext,
//! pdftoppm + zbarimg).

use std::collections::HashMap;

use crate::pdf::{PdfFile, tool, tools};
use crate::support::*;

fn tokens(text: &str) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for t in text.split_whitespace() {
        *counts.entry(t).or_insert(0) += 1;
    }
    counts
}

#[test]
fn a_retail_batch_prints_every_serial_and_code_exactly_once_and_checks_clean() {
    let cm = Cardmint::new();
    let out = cm.expect(
        0,
        &[
            "issue",
            "--sandbox",
            "--count",
            "23",
            "--value",
            "5.00",
            "--rate",
            "500",
        ],
    );
    assert!(
        says(&out.stdout, "23 cards on 3 sheets, 6 pages"),
        "{out:?}"
    );
    let pdf = cm.path("out/B0001/cards.pdf");
    let pdf_s = pdf.to_str().unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let check_tokens = |text: &str, with_passwords: bool| {
        let counts = tokens(text);
        for row in &rows {
            let serial = row["serial"].as_str();
            assert_eq!(counts.get(serial), Some(&1), "serial {serial}");
            let code = row["customer"].as_str();
            assert_eq!(counts.get(code), Some(&1), "code of {serial}");
            if with_passwords {
                assert_eq!(
                    counts.get(row["password"].as_str()),
                    None,
                    "a retail card does not print the password"
                );
            }
        }
    };
    // Read with Rust: every serial and code once, as the file encodes them.
    let file = PdfFile::open(&pdf);
    assert_eq!(file.page_count(), 6);
    check_tokens(&file.text(), true);
    // Both fonts embedded as subsets (a six-letter tag), with a Unicode map.
    let bytes = std::fs::read(&pdf).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    assert_eq!(raw.matches("/FontFile2").count(), 2);
    assert_eq!(raw.matches("/ToUnicode").count(), 2);
    for name in raw.split("/BaseFont/").skip(1) {
        let (tag, rest) = name.split_at(7);
        assert!(
            tag.ends_with('+') && tag[..6].bytes().all(|b| b.is_ascii_uppercase()),
            "subset tag: {name:.30}"
        );
        assert!(rest.starts_with("DejaVuSans"), "{name:.30}");
    }
    // The scratch layer and its spot colour.
    assert!(
        raw.contains("/OCG")
            && raw.contains("(ScratchOff)")
            && raw.contains("/Separation/ScratchOff"),
        "layer and spot colour"
    );
    // The QR codes on the first backs, rasterised at 300 dpi, decode to a tel: URI with each
    // card's code, each on its own card's back.
    let areas = crate::pdf::retail_backs("avery-c32011");
    let decoded = file.render(1, 300.0).qr_codes(&areas);
    for (row, got) in rows.iter().zip(&decoded) {
        let expected = format!("tel:+442079460000,,{}%23", row["customer"]);
        assert_eq!(got.as_deref(), Some(expected.as_str()), "{decoded:?}");
    }
    // The print shop's tools agree.
    if !tools("a_retail_batch_prints_every_serial_and_code_exactly_once") {
        return;
    }
    tool("qpdf", &["--check", pdf_s]);
    let fonts = tool("pdffonts", &[pdf_s]);
    let font_lines: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(font_lines.len(), 2, "{fonts}");
    for line in font_lines {
        assert!(
            line.contains("CID TrueType") && line.contains("yes yes yes"),
            "embedded, subset, unicode: {line}"
        );
    }
    // Serials and codes are digits: pdftotext reads them as they are (it joins a line ending
    // in '-' with the next, so passwords are read with Rust only).
    check_tokens(&tool("pdftotext", &[pdf_s, "-"]), false);
    let page = cm.path("back");
    tool(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-gray",
            "-f",
            "2",
            "-l",
            "2",
            pdf_s,
            page.to_str().unwrap(),
        ],
    );
    let (w, h, pixels) = crate::pdf::read_pgm(&cm.path("back-2.pgm"));
    let read = crate::pdf::zbar_areas((w, h, &pixels), 300.0, &areas, cm.dir.path());
    for (row, got) in rows.iter().zip(&read) {
        let expected = format!("tel:+442079460000,,{}%23", row["customer"]);
        assert_eq!(got, &vec![expected], "{read:?}");
    }
}

#[test]
fn the_same_batch_renders_to_identical_bytes() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "issue",
            "--sandbox",
            "--count",
            "12",
            "--value",
            "5",
            "--rate",
            "500",
            "-q",
        ],
    );
    cm.expect(0, &["render", "B0001", "--out", "a"]);
    cm.expect(0, &["render", "B0001", "--out", "b"]);
    let a = std::fs::read(cm.path("a/cards.pdf")).unwrap();
    assert_eq!(a, std::fs::read(cm.path("b/cards.pdf")).unwrap());
    assert_eq!(a, std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap());
}

#[test]
fn welcome_cards_keep_cyrillic_greek_and_accents() {
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("c.csv"),
        "customer,label,numbers\nivan_p,Иван Петров,+44 20 7946 0001\nzoi,Ζωή Παπαδοπούλου,+44 20 7946 0002\nrenee,Renée Dubois,+44 20 7946 0003\n",
    )
    .unwrap();
    let out = cm.expect(
        0,
        &[
            "issue",
            "--sandbox",
            "--from",
            "c.csv",
            "--value",
            "10",
            "--active",
            "--sheet",
            "cr80",
            "--duplex",
            "none",
        ],
    );
    assert!(says(&out.stdout, "3 cards on 3 sheets, 6 pages"), "{out:?}");
    let fronts = cm.path("out/B0001/fronts.pdf");
    let fronts_pdf = PdfFile::open(&fronts);
    let text = fronts_pdf.text();
    for label in ["Иван Петров", "Ζωή Παπαδοπούλου", "Renée Dubois"] {
        assert!(
            text.contains(&format!("Welcome, {label}")),
            "{label} in {text}"
        );
    }
    // Every password exactly as the file encodes it, whatever its last character.
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    for row in &rows {
        let line = format!("Password: {}", row["password"]);
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    let backs = PdfFile::open(&cm.path("out/B0001/backs.pdf")).text();
    assert!(backs.contains(&format!("Serial {}", rows[2]["serial"])));
    // The welcome card leads to the account page (printed and as the QR), names the softphone,
    // and prints numbers for reading.
    assert!(backs.contains("https://account.example.com") && backs.contains("softphone"));
    assert!(text.contains("Your numbers: +44 20 7946 0001"), "{text}");
    // One card per page, the page the card plus its bleed: 91.6 x 59.98 mm.
    assert_eq!(fronts_pdf.page_count(), 3);
    let (w, h) = fronts_pdf.page_size(0);
    assert!(
        (w - 259.654).abs() < 0.01 && (h - 170.022).abs() < 0.01,
        "{w} x {h}"
    );
}

#[test]
fn a_character_the_font_lacks_names_the_card_and_the_fix() {
    let cm = Cardmint::new();
    std::fs::write(cm.path("c.csv"), "customer,label\nwang,王小明\n").unwrap();
    // Found when the batch is planned: nothing is provisioned that cannot be printed.
    let out = cm.expect(
        4,
        &[
            "issue",
            "--sandbox",
            "--from",
            "c.csv",
            "--value",
            "10",
            "--active",
        ],
    );
    assert!(
        out.stderr.contains("c.csv line 2") && out.stderr.contains("has no glyph"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("nothing was sent or recorded"),
        "{out:?}"
    );
    assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
}

#[test]
fn render_selects_serials_and_refuses_a_typo_before_drawing() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &[
            "issue",
            "--sandbox",
            "--count",
            "15",
            "--value",
            "5",
            "--rate",
            "500",
            "-q",
        ],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let range = format!(
        "{}-{},{}",
        rows[2]["serial"], rows[4]["serial"], rows[9]["serial"]
    );
    let out = cm.expect(
        0,
        &[
            "render",
            "B0001",
            "--serials",
            &range,
            "--out",
            "sel",
            "--start",
            "9",
        ],
    );
    assert!(says(&out.stdout, "4 cards on 2 sheets"), "{out:?}");
    // A re-print goes into a file of its own, named after the serials.
    let reprint = cm.path(&format!(
        "sel/reprint-{}-{}.pdf",
        rows[2]["serial"], rows[9]["serial"]
    ));
    let text = PdfFile::open(&reprint).text();
    let counts = tokens(&text);
    for (i, row) in rows.iter().enumerate() {
        let want = usize::from([2, 3, 4, 9].contains(&i));
        assert_eq!(
            counts.get(row["serial"].as_str()).copied().unwrap_or(0),
            want,
            "{i}"
        );
    }
    let mut typo = rows[2]["serial"].clone();
    typo.replace_range(9..10, if typo.ends_with('0') { "1" } else { "0" });
    let out = cm.expect(2, &["render", "B0001", "--serials", &typo]);
    assert!(out.stderr.contains("wrong check digit"), "{out:?}");
    // Into the batch's own folder: beside cards.pdf, which stays as it was; a second re-print
    // of the same cards gets a name of its own.
    let sheets = std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap();
    let one = rows[5]["serial"].as_str();
    cm.expect(0, &["render", "B0001", "--serials", one]);
    cm.expect(0, &["render", "B0001", "--serials", one]);
    assert_eq!(
        std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap(),
        sheets
    );
    assert!(
        cm.path(&format!("out/B0001/reprint-{one}-{one}.pdf"))
            .exists()
    );
    assert!(
        cm.path(&format!("out/B0001/reprint-{one}-{one}-2.pdf"))
            .exists()
    );
    // No render writes into another batch's folder.
    cm.expect(
        0,
        &["issue", "--sandbox", "--count", "1", "--value", "5", "-q"],
    );
    let out = cm.expect(1, &["render", "B0002", "--out", "out/B0001"]);
    assert!(
        out.stderr.contains("holds the outputs of batch B0001"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(cm.path("out/B0001/cards.pdf")).unwrap(),
        sheets
    );
}

#[test]
fn preview_proof_and_template_errors() {
    let cm = Cardmint::new();
    let out = cm.expect(
        0,
        &[
            "preview",
            "--template",
            "welcome",
            "--sheet",
            "letter-8up",
            "--out",
            "p.pdf",
        ],
    );
    assert!(out.stdout.contains("p.pdf"), "{out:?}");
    let text = PdfFile::open(&cm.path("p.pdf")).text();
    assert!(text.contains("Иван Петров"));
    cm.expect(
        0,
        &["issue", "--sandbox", "--count", "2", "--value", "5", "-q"],
    );
    cm.expect(
        0,
        &[
            "render",
            "B0001",
            "--proof",
            "--printer",
            "office",
            "--front-offset-x",
            "0.5",
            "--save-printer",
        ],
    );
    assert!(
        std::fs::read_to_string(cm.path("cardmint.toml"))
            .unwrap()
            .contains("[printers.office]\nfront_x = 0.5")
    );
    std::fs::remove_file(cm.path("out/B0001/proof.pdf")).unwrap();
    cm.expect(0, &["render", "B0001", "--proof", "--printer", "office"]);
    let proof = PdfFile::open(&cm.path("out/B0001/proof.pdf")).text();
    assert!(
        proof.contains(
            "PROOF Avery C32011 (A4, 10 business cards 85 x 54 mm) front offsets x 0.50 y 0.00 mm"
        ),
        "{proof}"
    );
    let bad = "kind = \"retail\"\n[[back]]\ntype = \"text\"\ntext = \"{code}\"\nx = 5\ny = 5\nwidth = 40\nheight = 6\nsize = 9\n";
    std::fs::write(cm.path("bad.toml"), bad).unwrap();
    let out = cm.expect(4, &["preview", "--template", "bad.toml"]);
    assert!(
        out.stderr.contains(
            "bad.toml: back element 1 (text): shows the code or password outside the scratch panel"
        ),
        "{out:?}"
    );
}

#[test]
fn text_that_cannot_fit_is_an_input_error_before_anything_is_sent_or_recorded() {
    let sb = SandboxProcess::spawn(&["--addr", "127.0.0.1:0"]);
    let cm = Cardmint::against(&sb.url);
    let brand = format!("brand={}", "Supercalifragilistic ".repeat(30));
    let out = cm.expect(
        4,
        &["issue", "--count", "3", "--value", "5", "--set", &brand],
    );
    assert!(
        out.stderr.contains("nothing was sent or recorded")
            && out.stderr.contains("(and 2 more alike)")
            && out.stderr.contains("front element 3 (text)"),
        "{out:?}"
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
    // A label of an imported customer names its row.
    std::fs::write(
        cm.path("c.csv"),
        format!(
            "customer,label\nalice_1,Alice\nbob_2,{}\n",
            "Bartholomew ".repeat(16).trim()
        ),
    )
    .unwrap();
    let out = cm.expect(4, &["issue", "--from", "c.csv", "--value", "5"]);
    assert!(out.stderr.contains("c.csv line 3:"), "{out:?}");
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    // A file with a bad number on one row and a label too long on another says both at once
    // (before, the label was said only on the run after the number was fixed).
    std::fs::write(
        cm.path("both.csv"),
        format!(
            "customer,label,numbers\nalice_1,Alice,+44 20 7946 0958\nbob_2,{},\ncarol_3,Carol,notaphone\n",
            "Bartholomew ".repeat(16).trim()
        ),
    )
    .unwrap();
    let out = cm.expect(4, &["issue", "--from", "both.csv", "--value", "5"]);
    assert!(
        out.stderr
            .contains("both.csv: 2 problems, nothing was sent")
            && out.stderr.contains("both.csv: line 3: cannot print: ")
            && out
                .stderr
                .contains("both.csv: line 4, column 3 (numbers): number 1: \"notaphone\""),
        "{out:?}"
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    // One row with both: its bad number and its label that cannot print, at once.
    std::fs::write(
        cm.path("one.csv"),
        format!(
            "customer,label,numbers\nalice_1,Alice,+44 20 7946 0958\nbob_2,{},notaphone\n",
            "Bartholomew ".repeat(16).trim()
        ),
    )
    .unwrap();
    let out = cm.expect(4, &["issue", "--from", "one.csv", "--value", "5"]);
    assert!(
        out.stderr.contains("one.csv: 2 problems, nothing was sent")
            && out.stderr.contains("one.csv: line 3: cannot print: ")
            && out
                .stderr
                .contains("one.csv: line 3, column 3 (numbers): number 1: \"notaphone\""),
        "{out:?}"
    );
    assert_eq!(remote_stats(&sb.base()).total_requests(), 0);
    // Wrapped onto two lines, a long brand that fits is printed.
    let fits = format!("brand={}", "Supercalifragilistic ".repeat(3));
    cm.expect(
        0,
        &[
            "issue", "--count", "1", "--value", "5", "--set", &fits, "-q",
        ],
    );
}

#[test]
fn cards_for_the_real_platform_refuse_demo_values_unless_the_config_sets_them() {
    // An https endpoint is the real platform; the refusal comes before any request (this one
    // could not be reached anyway).
    let cm = Cardmint::new()
        .env(
            "CARDMINT_API_URL",
            "https://no-such-host.invalid/API/Request.ashx",
        )
        .env("CARDMINT_USERNAME", RESELLER)
        .env("CARDMINT_PASSWORD", RESELLER_PASSWORD);
    let out = cm.expect(4, &["issue", "--count", "2", "--value", "5"]);
    for key in [
        "brand = \"cardmint demo\"",
        "support = ",
        "access_numbers = ",
    ] {
        assert!(out.stderr.contains(key), "{key}: {out:?}");
    }
    assert!(out.stderr.contains("an example.com address"), "{out:?}");
    assert!(
        out.stderr.contains("[values] table of cardmint.toml"),
        "{out:?}"
    );
    // Set by the reseller, the values pass (and the unreachable endpoint is what stops it).
    let config = cm.path("cardmint.toml");
    std::fs::write(
        &config,
        "[values]\nbrand = \"VoiceMint\"\nsupport = \"Help: +44 330 088 1234\"\naccess_numbers = \"+44 330 088 1000\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = cm.expect(7, &["issue", "--count", "2", "--value", "5"]);
    assert!(out.stderr.contains("does not resolve"), "{out:?}");
    // A sandbox batch prints the demo values as before.
    std::fs::remove_file(&config).unwrap();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
}

#[test]
fn a_mistyped_value_is_named_with_what_it_likely_meant() {
    let cm = Cardmint::new();
    // A --set the design never prints is refused before anything is drawn.
    let out = cm.expect(2, &["preview", "--out", "p.pdf", "--set", "suport=Help"]);
    assert!(
        out.stderr.contains(
            "--set suport=...: built-in design retail prints no {suport} (did you mean support?)"
        ),
        "{out:?}"
    );
    assert!(!cm.path("p.pdf").exists());
    // A card's own field is not a value: --set code=... would print nothing of it.
    for (set, from) in [
        ("code=123", "drawn or numbered for each card"),
        ("value=9", "the batch's --value and --currency"),
    ] {
        let out = cm.expect(
            2,
            &[
                "--sandbox",
                "issue",
                "--count",
                "1",
                "--value",
                "5",
                "--set",
                set,
            ],
        );
        let key = set.split('=').next().unwrap();
        assert!(
            out.stderr.contains(&format!(
                "--set {key}=...: {{{key}}} is each card's own ({from}); it cannot be set"
            )),
            "{out:?}"
        );
    }
    assert!(cm.expect(0, &["batches"]).stdout.contains("no batches"));
    // In the config, a value may be another design's (greeting is the welcome card's): only a
    // near miss of a value this design prints is said.
    let config = cm.path("cardmint.toml");
    std::fs::write(
        &config,
        "[values]\nbrnad = \"VoiceMint\"\ngreeting = \"Hi\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = cm.expect(0, &["preview", "--out", "p.pdf"]);
    assert!(
        out.stdout.contains(
            "[values] brnad in the config is not printed by built-in design retail (did you mean brand?)"
        ),
        "{out:?}"
    );
    assert!(!out.stdout.contains("greeting"), "{out:?}");
}

#[test]
fn a_replacement_card_shows_what_the_card_holds_now_and_greets_someone() {
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let rows = csv_rows(&cm.path("out/B0001/manifest.csv"));
    let (serial, code) = (rows[0]["serial"].as_str(), rows[0]["customer"].as_str());
    cm.expect(0, &["--sandbox", "topup", serial, "10"]);
    cm.expect(0, &["--sandbox", "reset-password", serial, "--print"]);
    let pdf = cm.path(&format!("out/B0001/reset-{serial}/cards.pdf"));
    // The folder holds a password: owner-only, as every folder cardmint makes (was 0755).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(pdf.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    let text = PdfFile::open(&pdf).text();
    assert!(says(&text, "15.00 EUR"), "{text}");
    assert!(text.contains(&format!("Welcome, {code}")), "{text}");
}

#[test]
fn a_card_claims_a_validity_only_from_a_rule_or_the_resellers_own_note() {
    // Before: every retail card without a rule printed the shipped design's example note
    // "Valid for 12 months from the first call".
    let cm = Cardmint::new();
    cm.expect(
        0,
        &["--sandbox", "issue", "--count", "1", "--value", "5", "-q"],
    );
    let text = PdfFile::open(&cm.path("out/B0001/cards.pdf")).text();
    assert!(!text.contains("Valid"), "no rule, no note: {text}");
    // The batch's rule is printed.
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--expires",
            "6m",
            "-q",
        ],
    );
    let text = PdfFile::open(&cm.path("out/B0002/cards.pdf")).text();
    assert!(text.contains("Valid for 6 months from purchase"), "{text}");
    // The reseller's own note, when it gives one.
    cm.expect(
        0,
        &[
            "--sandbox",
            "render",
            "B0001",
            "--set",
            "expiry_note=Valid 90 days after first use",
        ],
    );
    let text = PdfFile::open(&cm.path("out/B0001/cards.pdf")).text();
    assert!(text.contains("Valid 90 days after first use"), "{text}");
}

#[test]
fn a_short_edge_back_is_turned_so_the_cut_card_reads_as_a_long_edge_one() {
    // Before: with --duplex short every back was drawn upright, so each cut card's back was
    // upside down against its front (turned over like a page), unlike --duplex long.
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
    let back = |duplex: &str| {
        let dir = format!("out-{duplex}");
        cm.expect(
            0,
            &[
                "render", "B0001", "--sheet", "cr80", "--duplex", duplex, "--out", &dir,
            ],
        );
        PdfFile::open(&cm.path(&format!("{dir}/cards.pdf"))).render(1, 100.0)
    };
    let (long, short) = (back("long"), back("short"));
    assert_eq!((long.width, long.height), (short.width, short.height));
    // One card a page, the page its size: the short-edge back is the long-edge one turned
    // half a turn (pixel for pixel, up to antialiasing and rounding).
    let n = long.data.len();
    let differing = |b: &[u8]| {
        long.data
            .iter()
            .zip(b)
            .filter(|(a, b)| a.abs_diff(**b) > 48)
            .count()
    };
    let turned: Vec<u8> = (0..n).map(|i| short.data[n - 1 - i]).collect();
    // (Measured: 2.4 % of pixels differ turned, at the edges of a half-pixel shift; 44 %
    // without the turn.)
    assert!(differing(&turned) * 20 < n, "{} of {n}", differing(&turned));
    assert!(differing(&short.data) * 5 > n, "the back is not symmetric");
}

#[test]
fn a_config_edited_during_a_run_changes_nothing_the_run_prints() {
    // The values the cards were checked with before anything was sent are the ones printed:
    // the config is read once per command. (It was read again for the PDF, so an edit during
    // the run gave "the cards are provisioned but the PDF failed".)
    use std::os::unix::fs::PermissionsExt;
    let cm = Cardmint::new().env("CARDMINT_SANDBOX_LATENCY_MS", "150");
    let config = cm.path("cardmint.toml");
    std::fs::write(&config, "[values]\nbrand = \"Before Edit\"\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let child = cm
        .command(&[
            "--sandbox",
            "issue",
            "--count",
            "4",
            "--value",
            "5",
            "--concurrency",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Provisioning takes seconds (4 cards, several requests each, 150 ms apiece): edit the
    // file once the batch is recorded.
    let started = std::time::Instant::now();
    while !cm.path("out/B0001").exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let too_long = format!(
        "[values]\nbrand = \"{}\"\n",
        "Supercalifragilistic ".repeat(30)
    );
    std::fs::write(&config, too_long).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let text = PdfFile::open(&cm.path("out/B0001/cards.pdf")).text();
    assert!(text.contains("Before Edit"), "{text}");
}

#[test]
fn a_label_that_cannot_fit_is_named_by_its_line_in_the_file_every_one_at_once() {
    // Excel's blank rows (`;`) are no cards: the error must name the file's own lines, not
    // the card's rank, and every row that cannot print at once.
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("c.csv"),
        format!(
            "customer;label\nalice_1;Alice\n;\nbob_2;{}\n;\ncarol_3;{}\n",
            "Bartholomew ".repeat(16).trim(),
            "Carolina".repeat(24)
        ),
    )
    .unwrap();
    let out = cm.expect(
        4,
        &["--sandbox", "issue", "--from", "c.csv", "--value", "5"],
    );
    assert!(out.stderr.contains("c.csv line 4:"), "{out:?}");
    assert!(out.stderr.contains("c.csv line 6:"), "{out:?}");
    assert!(!out.stderr.contains("data row"), "{out:?}");
}

#[test]
fn a_character_no_font_has_is_named_on_its_own_line_every_one_at_once() {
    // A missing glyph was reported on the first card whatever its row, and only the first.
    let cm = Cardmint::new();
    std::fs::write(
        cm.path("c.csv"),
        "customer,label\nalice_1,Alice\nwang_2,王小明\nmohammed_3,محمد\nli_4,李四\n",
    )
    .unwrap();
    let out = cm.expect(
        4,
        &["--sandbox", "issue", "--from", "c.csv", "--value", "5"],
    );
    for line in [3, 5] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&format!("c.csv line {line}:")) && l.contains("no glyph")),
            "line {line}: {out:?}"
        );
    }
    assert!(out.stderr.contains("fallback = ["), "{out:?}");
    assert!(!out.stderr.contains("c.csv line 2:") && !out.stderr.contains("c.csv line 4:"));
    assert!(
        cm.expect(0, &["--sandbox", "batches"])
            .stdout
            .contains("no batches")
    );
}

#[test]
fn a_reprint_prints_the_values_the_batch_was_issued_with() {
    let cm = Cardmint::new();
    let config = |support: &str| {
        let path = cm.path("cardmint.toml");
        std::fs::write(&path, format!("[values]\nsupport = \"Help: {support}\"\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    config("+44 330 088 1234");
    cm.expect(
        0,
        &[
            "--sandbox",
            "issue",
            "--count",
            "1",
            "--value",
            "5",
            "--set",
            "brand=Nightjar",
            "-q",
        ],
    );
    // The support line changes in the config afterwards: the batch's reprint keeps its own,
    // and says how to print the new one.
    config("+44 330 088 9999");
    let out = cm.expect(0, &["render", "B0001", "--out", "again"]);
    assert!(
        out.stdout.contains(
            "note: B0001 prints {support} as it was issued; the config's [values] support \
             changed since: give --set support=... to print another"
        ),
        "{out:?}"
    );
    let text = crate::pdf::PdfFile::open(&cm.path("again/cards.pdf")).text();
    assert!(
        text.contains("+44 330 088 1234") && text.contains("Nightjar"),
        "{text}"
    );
    assert!(!text.contains("9999"), "{text}");
    // --set prints another for this render.
    cm.expect(
        0,
        &[
            "render",
            "B0001",
            "--out",
            "newer",
            "--set",
            "support=Help: +44 330 088 5555",
        ],
    );
    let text = crate::pdf::PdfFile::open(&cm.path("newer/cards.pdf")).text();
    assert!(text.contains("5555") && text.contains("Nightjar"), "{text}");
    // A value the batch was issued without (it printed the design's own) is said too.
    let path = cm.path("cardmint.toml");
    std::fs::write(
        &path,
        "[values]\nsupport = \"Help: +44 330 088 1234\"\naccess_numbers = \"+44 20 7946 0000\"\n",
    )
    .unwrap();
    let out = cm.expect(0, &["render", "B0001", "--out", "third"]);
    assert!(
        out.stdout.contains(
            "note: B0001 was issued without [values] access_numbers; the config's, set since, \
             is printed now"
        ),
        "{out:?}"
    );
}
