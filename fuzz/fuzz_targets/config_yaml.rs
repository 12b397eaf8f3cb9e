//! The position-keeping YAML loader of `garrison check config`: any bytes give
//! documents or an error naming the input, never a panic or an unbounded expansion.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let limits = garrison_misconfig::yaml::Limits::default();
        let _ = garrison_misconfig::yaml::load("fuzz.yaml", text, &limits);
    }
});
