//! cargo-auditable dependency lists read from a real binary, checked against
//! the Cargo.lock cargo wrote for it (made by fixtures/rustaudit/make.sh).

use garrison_inventory::binary::{rust, BinaryParser};
use garrison_inventory::{all_parsers, Catalog, FileRef, Parser};
use garrison_model::{Ecosystem, Target, TargetKind};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    let dir = match std::env::var_os("GARRISON_FIXTURES") {
        Some(d) => PathBuf::from(d).join("rustaudit"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out/rustaudit"),
    };
    assert!(
        dir.join("auditable-app").is_file(),
        "missing cargo-auditable fixtures in {}: run fixtures/rustaudit/make.sh",
        dir.display()
    );
    dir
}

/// crates.io packages of a Cargo.lock (its published TOML shape).
fn lock_registry_packages(text: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(&format!("{k} = \""))
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        };
        if field("source").as_deref()
            == Some("registry+https://github.com/rust-lang/crates.io-index")
        {
            out.insert((field("name").unwrap(), field("version").unwrap()));
        }
    }
    out
}

fn parse(path: &Path, content: &[u8]) -> garrison_inventory::Parsed {
    let file = FileRef {
        path: path.to_str().unwrap(),
        size: content.len() as u64,
        executable: true,
    };
    BinaryParser
        .parse(&file, content)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn auditable_binary_matches_cargo_lock() {
    let dir = fixtures();
    let want = lock_registry_packages(&std::fs::read_to_string(dir.join("Cargo.lock")).unwrap());
    assert_eq!(want.len(), 3, "smallvec, itoa, autocfg");
    let bin = dir.join("auditable-app");
    let parsed = parse(&bin, &std::fs::read(&bin).unwrap());
    let got: BTreeSet<(String, String)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(parsed.packages.len(), want.len());
    for p in &parsed.packages {
        assert_eq!(p.ecosystem, Ecosystem::Cargo);
        let kind = if p.name == "autocfg" {
            "build"
        } else {
            "runtime"
        };
        assert_eq!(p.properties["cargo.dependency_kind"], kind, "{}", p.name);
        assert_eq!(p.properties["cargo.evidence"], "cargo-auditable");
    }
}

#[test]
fn catalog_gives_purls_for_auditable_crates() {
    let dir = fixtures();
    let content = std::fs::read(dir.join("auditable-app")).unwrap();
    let mut catalog = Catalog::new(all_parsers());
    let file = FileRef {
        path: "/usr/local/bin/app",
        size: content.len() as u64,
        executable: true,
    };
    catalog.add_file(&file, None, &content);
    let inv = catalog.finish(Target::new(TargetKind::Rootfs, "/"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let purls: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
    assert_eq!(
        purls,
        vec![
            "pkg:cargo/autocfg@1.1.0",
            "pkg:cargo/itoa@1.0.9",
            "pkg:cargo/smallvec@1.6.0"
        ]
    );
    assert!(inv
        .packages
        .iter()
        .all(|p| p.location == "/usr/local/bin/app"));
}

#[test]
fn plain_build_has_no_list() {
    let bin = fixtures().join("plain-app");
    assert!(parse(&bin, &std::fs::read(&bin).unwrap())
        .packages
        .is_empty());
}

#[test]
fn corrupt_section_is_an_error_naming_the_file() {
    let dir = fixtures();
    let content = std::fs::read(dir.join("auditable-app")).unwrap();
    // Find the section payload: a zlib stream that inflates to the JSON.
    let obj = object::File::parse(&*content).unwrap();
    use object::{Object, ObjectSection};
    let sec = obj.section_by_name(".dep-v0").unwrap();
    let (off, size) = sec.file_range().unwrap();
    assert!(rust::decode(sec.data().unwrap()).is_ok());
    let mut bad = content.clone();
    for b in &mut bad[off as usize + 2..(off + size) as usize] {
        *b ^= 0x5a;
    }
    let file = FileRef {
        path: "/opt/app",
        size: bad.len() as u64,
        executable: true,
    };
    let err = BinaryParser.parse(&file, &bad).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("/opt/app: cannot parse as rust-auditable"),
        "{msg}"
    );
    // Every truncation of the binary: no panic.
    for cut in (0..content.len()).step_by(content.len() / 101) {
        let _ = BinaryParser.parse(&file, &content[..cut]);
    }
}
