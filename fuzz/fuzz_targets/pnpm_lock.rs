//! Fuzzes the `pnpm-lock.yaml` parser: any bytes must give packages (each with a name
//! and a version) or an error, never a panic.
#![no_main]

use garrison_inventory::lang::pnpm::PnpmLock;
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = PnpmLock.parse(&FileRef::new("/fuzz/pnpm-lock.yaml"), data) {
        for p in &parsed.packages {
            assert!(!p.name.trim().is_empty() && !p.version.trim().is_empty());
        }
    }
});
