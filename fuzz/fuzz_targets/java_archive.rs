//! Fuzzes the Java archive reader (zip parsing, pom.properties, manifests,
//! nested archives) with small limits, and the pom.xml reader.
#![no_main]

use garrison_inventory::java::{ArchiveLimits, JavaArchiveParser, PomParser};
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parser = JavaArchiveParser::with_limits(ArchiveLimits {
        max_depth: 3,
        max_nested_bytes: 1 << 20,
        max_metadata_bytes: 64 << 10,
        max_total_bytes: 4 << 20,
        max_entries: 10_000,
    });
    let file = FileRef::new("/fuzz/app-1.0.war");
    if let Ok(parsed) = parser.parse(&file, data) {
        for p in &parsed.packages {
            assert!(p.location.starts_with("/fuzz/app-1.0.war"));
        }
    }
    let _ = PomParser.parse(&FileRef::new("/fuzz/pom.xml"), data);
});
