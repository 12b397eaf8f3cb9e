//! Fuzzes the executable readers: arbitrary bytes as an executable for the Go
//! build-info reader (magic, section table, header search, both string
//! formats, address translation) and the whole binary parser (with the
//! cargo-auditable section), as a `.dep-v0` payload, and as Go module
//! information text.
#![no_main]

use garrison_inventory::binary::go::{packages, parse_modinfo, read_build_info, stdlib_version};
use garrison_inventory::binary::{rust, BinaryParser};
use garrison_inventory::{FileRef, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(raw)) = read_build_info(data) {
        if let Ok(info) = parse_modinfo(&raw.go_version, &raw.modinfo) {
            let _ = packages(&info, "/fuzz");
        }
    }
    let file = FileRef {
        path: "/fuzz/bin",
        size: data.len() as u64,
        executable: true,
    };
    if let Err(e) = BinaryParser.parse(&file, data) {
        assert!(e.to_string().starts_with("/fuzz/bin: "));
    }
    let _ = rust::decode(data);
    let text = String::from_utf8_lossy(data);
    let _ = stdlib_version(&text);
    if let Ok(info) = parse_modinfo("go1.19.8", &text) {
        for p in packages(&info, "/fuzz") {
            assert!(!p.name.is_empty());
        }
    }
});
