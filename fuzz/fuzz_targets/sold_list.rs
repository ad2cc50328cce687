//! A shop's sold list (a CSV with a serial column, or one serial a line), selected against
//! a batch of no cards.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = std::env::temp_dir().join(format!("cardmint-fuzz-{}-sold.csv", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        let _ = cardmint::lifecycle::select(
            Vec::new(),
            "B0001",
            cardmint::lifecycle::Selection::SoldList(&path),
        );
    }
});
