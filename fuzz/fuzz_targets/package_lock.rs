//! Fuzzes the `package-lock.json` parser: any bytes must give packages or an error, never a panic.
#![no_main]

use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = garrison_inventory::lang::npm::PackageLock
        .parse(&FileRef::new("/fuzz/package-lock.json"), data);
});
