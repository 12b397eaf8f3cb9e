//! The sensor's DNS message parser (UDP and TCP framing) on any payload bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // UDP; TCP with the whole framed message; TCP with a transfer size that lies.
    let _ = garrison_sensor::dns::parse(data, None);
    let _ = garrison_sensor::dns::parse(data, Some(data.len()));
    if let Some(&b) = data.first() {
        let _ = garrison_sensor::dns::parse(data, Some(usize::from(b)));
    }
});
