//! Fuzzes the `yarn.lock` parser: any bytes must give packages (each with a name
//! and a version) or an error, never a panic.
#![no_main]

use garrison_inventory::lang::yarn::YarnLock;
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = YarnLock.parse(&FileRef::new("/fuzz/yarn.lock"), data) {
        for p in &parsed.packages {
            assert!(!p.name.trim().is_empty() && !p.version.trim().is_empty());
        }
    }
});
