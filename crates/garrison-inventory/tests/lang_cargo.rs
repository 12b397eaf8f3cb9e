//! Cargo.lock v1-v4 against what `cargo metadata` resolved (fixtures/lockfiles/cargo/make.sh).

mod lang_support;
use garrison_inventory::lang::cargo::CargoLock;
use garrison_inventory::{Catalog, FileRef};
use garrison_model::{Ecosystem, Target, TargetKind};
use lang_support::*;

#[test]
fn every_lockfile_version_lists_the_resolved_registry_crates() {
    let expected = expected_lines("cargo/expected.txt");
    assert_eq!(expected.len(), 4, "the fixture workspace resolves four registry crates");
    for v in ["v1", "v2", "v3", "v4"] {
        let rel = format!("cargo/{v}/Cargo.lock");
        let parsed = parse(&CargoLock, &rel);
        assert_eq!(name_versions(&parsed), expected, "{rel}");
        assert!(parsed.warnings.is_empty(), "{rel}: {:?}", parsed.warnings);
        for p in &parsed.packages {
            assert_eq!(p.ecosystem, Ecosystem::Cargo);
            assert_eq!(p.location, format!("/{rel}"));
            // app depends on itoa 1, memchr, ryu (dev); the member helper on itoa 0.4.
            assert_eq!(p.direct, Some(true), "{rel}: {}", p.name);
            assert!(p.properties.is_empty(), "crates.io packages carry no source property");
        }
        // The workspace's own crates (no `source`) are not packages.
        assert!(!parsed.packages.iter().any(|p| p.name == "app" || p.name == "helper"), "{rel}");
    }
}

#[test]
fn catalog_gives_cargo_purls() {
    let rel = "cargo/v4/Cargo.lock";
    let content = std::fs::read(committed(rel)).unwrap();
    let mut cat = Catalog::new(garrison_inventory::lang::parsers());
    cat.add_file(&FileRef::new("/src/Cargo.lock"), None, &content);
    let inv = cat.finish(Target::new(TargetKind::Filesystem, "/src"));
    let purls: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
    assert!(purls.contains(&"pkg:cargo/itoa@0.4.8"), "{purls:?}");
    assert!(purls.contains(&"pkg:cargo/ryu@1.0.18"), "{purls:?}");
    assert_eq!(inv.packages.len(), 4);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}
