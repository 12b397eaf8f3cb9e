//! Hostile and broken input never panics: every prefix of every corpus file,
//! and byte-level corruptions of them, go through the loader and the k8s
//! analyzer, which return findings, notes or errors — nothing else.

use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Analyzer, Catalog, Context, FileKind, Options, SourceFile};
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/k8s");
    let mut out = Vec::new();
    for dir in ["risky", "hardened", "bad"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    out
}

fn analyze(name: &str, text: String) {
    // A small node limit keeps the alias-bomb prefixes quick.
    let mut options = Options::default();
    options.limits.max_nodes = 20_000;
    let ctx = Context {
        catalog: Catalog::builtin().unwrap(),
        options: &options,
    };
    let file = SourceFile {
        name: name.into(),
        path: name.into(),
        text,
        kind: FileKind::K8s,
    };
    match K8sAnalyzer.analyze(&file, &ctx) {
        Ok(r) => {
            for e in &r.errors {
                assert!(e.to_string().starts_with(name), "{e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with(name), "{e}"),
    }
}

#[test]
fn prefixes_and_corruptions_never_panic() {
    let mut runs = 0;
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            if let Ok(prefix) = std::str::from_utf8(&bytes[..cut]) {
                analyze(&name, prefix.to_string());
                runs += 1;
            }
        }
        // Replace one byte at a time with characters YAML gives meaning to.
        for (i, c) in (0..bytes.len()).step_by(11).zip(
            [b'&', b'*', b':', b'[', b'{', b'-', b'|', b'\t', b'!', b'"']
                .iter()
                .cycle(),
        ) {
            let mut b = bytes.to_vec();
            b[i] = *c;
            if let Ok(t) = String::from_utf8(b) {
                analyze(&name, t);
                runs += 1;
            }
        }
    }
    assert!(runs > 1000, "{runs}");
}
