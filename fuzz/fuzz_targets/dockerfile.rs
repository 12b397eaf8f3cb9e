//! The Dockerfile parser and checks: any text parses or fails with an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(df) = garrison_iac::dockerfile::parse::parse(text) {
            let _ = garrison_iac::dockerfile::check(&df);
        }
    }
});
