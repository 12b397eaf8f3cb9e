//! Fuzzes the OSV record parser (JSON and YAML) and the normalization that
//! feeds the index and the report: never a panic, whatever the bytes.
#![no_main]

use garrison_vulndb::osv::{self, Format, NormalizeStats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Json, Format::Yaml] {
        if let Ok(record) = osv::parse_record(data, format) {
            let mut stats = NormalizeStats::default();
            let entries = osv::index_entries(&record, &mut stats);
            for e in &entries {
                let _ = osv::normalize_name(&e.ecosystem, &e.name);
            }
            let _ = garrison_vulndb::vulnerability_of(
                &record,
                entries.first().and_then(|e| e.data.urgency.as_deref()),
            );
        }
    }
});
