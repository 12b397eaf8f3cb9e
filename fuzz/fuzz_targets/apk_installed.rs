//! The apk installed-database parser.
#![no_main]

use garrison_inventory::os::ApkInstalled;
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = ApkInstalled.parse(&FileRef::new("/lib/apk/db/installed"), data) {
        for p in &parsed.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
        }
    }
});
