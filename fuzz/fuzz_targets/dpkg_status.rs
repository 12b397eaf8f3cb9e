//! The dpkg status parser, as the main database and as a status.d file.
#![no_main]

use garrison_inventory::os::DpkgStatus;
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for path in ["/var/lib/dpkg/status", "/var/lib/dpkg/status.d/pkg"] {
        if let Ok(parsed) = DpkgStatus.parse(&FileRef::new(path), data) {
            for p in &parsed.packages {
                assert!(!p.name.is_empty() && !p.version.is_empty());
            }
        }
    }
});
