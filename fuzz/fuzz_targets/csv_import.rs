//! The customer-file reader and validator on arbitrary bytes (through a file, as it reads).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = std::env::temp_dir().join(format!("cardmint-fuzz-{}.csv", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        let options = cardmint::import::ImportOptions::default();
        let _ = cardmint::import::read_customers(&path, &options, &Default::default());
    }
});
