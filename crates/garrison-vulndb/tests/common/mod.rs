#![allow(dead_code)]
//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<workspace root>/../shared/data/osv` (override: `GARRISON_SHARED_DATA`).
pub fn osv_data() -> PathBuf {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"));
    let p = base.join("osv");
    assert!(
        p.join("Go").is_dir(),
        "shared OSV data missing at {} (set GARRISON_SHARED_DATA to the shared data directory)",
        p.display()
    );
    p
}

/// The committed distro fixtures.
pub fn distro_fixtures() -> PathBuf {
    let p = workspace_root().join("fixtures/osv-distro");
    assert!(
        p.join("DSA-5532-1.json").is_file(),
        "fixtures/osv-distro is missing"
    );
    p
}

/// Writes an osv.dev-style zip (records at the root) of the given files.
pub fn make_zip(out: &Path, files: &[PathBuf]) {
    let f = std::fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        zip.start_file(name, opts).unwrap();
        zip.write_all(&std::fs::read(p).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

/// All files of a directory (sorted), recursively.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
