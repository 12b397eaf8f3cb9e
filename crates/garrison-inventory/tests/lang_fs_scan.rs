//! The language parsers driven by the catalog over real project trees walked by
//! garrison-source, as `garrison sbom fs` does.

mod lang_support;
use garrison_inventory::{lang, Catalog};
use garrison_model::{Inventory, TargetKind};
use garrison_source::rootfs::{Rootfs, RootfsOptions};
use garrison_source::{Limits, Source};
use lang_support::*;
use std::collections::BTreeMap;
use std::path::Path;

fn scan(dir: &Path) -> Inventory {
    let mut src = Rootfs::open(dir, TargetKind::Filesystem, RootfsOptions::default()).unwrap();
    let mut cat = Catalog::new(lang::parsers());
    src.walk(&mut cat, &Limits::default()).unwrap();
    cat.finish(src.target())
}

#[test]
fn every_committed_lockfile_is_found_and_read() {
    let inv = scan(&workspace_root().join("fixtures/lockfiles"));
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &inv.packages {
        *per_file.entry(p.location.as_str()).or_default() += 1;
        assert!(p.purl.starts_with("pkg:"), "{} has no purl", p.name);
    }
    let expected: BTreeMap<&str, usize> = [
        ("/cargo/v1/Cargo.lock", 4),
        ("/cargo/v2/Cargo.lock", 4),
        ("/cargo/v3/Cargo.lock", 4),
        ("/cargo/v4/Cargo.lock", 4),
        ("/go/go.mod", 7),
        ("/npm/pnpm-v5/pnpm-lock.yaml", 12),
        ("/npm/pnpm-v6/pnpm-lock.yaml", 12),
        ("/npm/pnpm-v9/pnpm-lock.yaml", 12),
        ("/npm/shrinkwrap/npm-shrinkwrap.json", 12),
        ("/npm/v1/package-lock.json", 12),
        ("/npm/v2/package-lock.json", 12),
        ("/npm/v3/package-lock.json", 12),
        ("/npm/yarn-berry/yarn.lock", 12),
        ("/npm/yarn-v1/yarn.lock", 12),
        ("/other/dotnet/packages.lock.json", 4),
        ("/other/php/composer.lock", 4),
        ("/other/ruby/Gemfile.lock", 8),
        ("/python/pipfile/Pipfile.lock", 5),
        ("/python/poetry/poetry.lock", 6),
        ("/python/requirements/requirements-dev.txt", 4),
        ("/python/requirements/requirements.txt", 6),
        ("/python/uv/uv.lock", 6),
    ]
    .into_iter()
    .collect();
    assert_eq!(per_file, expected);
    // Only the two includes of requirements-dev.txt are worth a note.
    let warned: Vec<&str> = inv.warnings.iter().map(|w| w.input.as_str()).collect();
    assert_eq!(
        warned, ["/python/requirements/requirements-dev.txt"; 2],
        "{:?}",
        inv.warnings
    );
}

#[test]
fn installed_trees_are_found_and_read() {
    let npm = generated("lockfiles/npm/project", "fixtures/lockfiles/npm/make.sh");
    let inv = scan(&npm);
    // node_modules/.package-lock.json (npm's hidden lockfile) is not read:
    // the installed manifests say the same thing.
    let from_manifests = inv
        .packages
        .iter()
        .filter(|p| {
            p.location.starts_with("/node_modules/") && p.location.ends_with("/package.json")
        })
        .count();
    assert_eq!(
        from_manifests,
        12,
        "{:?}",
        inv.packages.iter().map(|p| &p.location).collect::<Vec<_>>()
    );
    assert_eq!(inv.packages.len(), 12);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);

    let site = generated("lockfiles/python/site", "fixtures/lockfiles/python/make.sh");
    let inv = scan(&site);
    assert_eq!(inv.packages.len(), 6);
    let purls: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
    assert!(
        purls.contains(&"pkg:pypi/charset-normalizer@3.3.2"),
        "{purls:?}"
    );
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}
