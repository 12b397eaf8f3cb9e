//! Fuzzes CVSS vector scoring: arbitrary bytes (as lossy UTF-8, and spliced
//! after each version prefix) must give a typed error or a base score in
//! 0.0..=10.0 whose severity is known, never a panic.
#![no_main]

use garrison_risk::{base_score, severity_from_score};
use libfuzzer_sys::fuzz_target;

fn check(vector: &str) {
    match base_score(vector) {
        Ok(s) => {
            assert!(
                (0.0..=10.0).contains(&s.base_score),
                "{vector:?} scored {}",
                s.base_score
            );
            assert_ne!(
                severity_from_score(s.base_score),
                garrison_model::Severity::Unknown
            );
        }
        Err(e) => {
            // Messages stay bounded whatever the input (two excerpts of at
            // most 100 characters, each escaped to at most 10 bytes a char).
            assert!(e.to_string().len() < 4096, "{e}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text);
    for prefix in ["CVSS:3.0/", "CVSS:3.1/", "CVSS:4.0/"] {
        check(&format!("{prefix}{text}"));
    }
    // Splice the input into a valid v4 vector after its base metrics, where
    // the threat, environmental and supplemental metrics go.
    check(&format!(
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/{text}"
    ));
});
