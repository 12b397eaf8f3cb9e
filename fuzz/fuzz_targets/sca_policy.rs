//! Wazuh SCA policy parsing (rules, OS_Regex and PCRE2 patterns): any text loads or
//! fails with an error naming the file, check and rule.
#![no_main]
use garrison_compliance::{Origin, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let origin = Origin {
            path: "fuzz.yml".into(),
            trusted: false,
        };
        let _ = Policy::parse(text, origin);
    }
});
