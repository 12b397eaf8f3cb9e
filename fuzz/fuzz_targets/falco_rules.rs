//! The Falco-compatible rules loader and condition compiler: any text compiles or
//! fails with errors naming file, line and rule.
#![no_main]
use garrison_rules::{LoadOptions, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let sources = [("fuzz.yaml".to_string(), text.to_string())];
        let _ = RuleSet::from_sources(&sources, LoadOptions { lenient: true });
    }
});
