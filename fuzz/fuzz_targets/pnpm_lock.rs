//! Fuzzes the `pnpm-lock.yaml` parser: any bytes must give packages or an error, never a panic.
#![no_main]

use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ =
        garrison_inventory::lang::pnpm::PnpmLock.parse(&FileRef::new("/fuzz/pnpm-lock.yaml"), data);
});
