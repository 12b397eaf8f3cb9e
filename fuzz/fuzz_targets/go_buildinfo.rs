//! Fuzzes the Go build-info reader: arbitrary bytes as an executable (magic,
//! section table, header search, both string formats, address translation),
//! and arbitrary text as module information.
#![no_main]

use garrison_inventory::binary::go::{packages, parse_modinfo, read_build_info, stdlib_version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(raw)) = read_build_info(data) {
        if let Ok(info) = parse_modinfo(&raw.go_version, &raw.modinfo) {
            let _ = packages(&info, "/fuzz");
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = stdlib_version(&text);
    if let Ok(info) = parse_modinfo("go1.19.8", &text) {
        for p in packages(&info, "/fuzz") {
            assert!(!p.name.is_empty());
        }
    }
});
