//! A sheet's TOML, parsed, checked and laid out (every slot, front and back, the marks).
#![no_main]
use cardmint::render::layout::{Duplex, Offsets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = std::env::temp_dir().join(format!("cardmint-fuzz-{}-sheet.toml", std::process::id()));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let card = Default::default();
    if let Ok(sheet) = cardmint::render::load_sheet(path.to_str().unwrap(), &card) {
        let o = Offsets::default();
        let fronts: Vec<_> = (0..sheet.per_sheet()).map(|s| sheet.front(&card, s, &o)).collect();
        for s in 0..sheet.per_sheet() {
            let _ = sheet.back(&card, s, Duplex::Short, &o);
        }
        let _ = sheet.crop_marks(&fronts);
        let _ = sheet.warnings(&card);
    }
});
