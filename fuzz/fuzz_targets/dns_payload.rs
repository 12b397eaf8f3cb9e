//! The sensor's DNS message parser (UDP and TCP framing) on any payload bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = garrison_sensor::dns::parse(data, false);
    let _ = garrison_sensor::dns::parse(data, true);
});
