//! A card design's TOML, parsed and validated, then laid out on a sheet.
#![no_main]
use cardmint::render::assets::Source;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let source = Source { label: "fuzz.toml".into(), text: text.into(), dir: None };
    if let Ok(design) = cardmint::render::template::parse_design(&source, &Default::default()) {
        let _ = cardmint::render::load_sheet_for("avery-c32011", &design);
    }
});
