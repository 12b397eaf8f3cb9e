//! Fuzzes the remaining language parsers: the first byte picks the file name,
//! the rest is the content; any bytes must give packages (each with a name
//! and a version) or an error, never a panic.
#![no_main]

use garrison_inventory::FileRef;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 10] = [
    "/fuzz/requirements.txt",
    "/fuzz/poetry.lock",
    "/fuzz/Pipfile.lock",
    "/fuzz/uv.lock",
    "/fuzz/site/x-1.0.dist-info/METADATA",
    "/fuzz/go.mod",
    "/fuzz/Gemfile.lock",
    "/fuzz/composer.lock",
    "/fuzz/packages.lock.json",
    "/fuzz/node_modules/x/package.json",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(pick) % PATHS.len()];
    let file = FileRef::new(path);
    for parser in garrison_inventory::lang::parsers() {
        if parser.matches(&file) {
            if let Ok(parsed) = parser.parse(&file, content) {
                for p in &parsed.packages {
                    assert!(!p.name.trim().is_empty() && !p.version.trim().is_empty());
                }
            }
        }
    }
});
