//! npm, yarn and pnpm lockfiles and an installed node_modules tree, against what
//! `npm ls --all` reports for the same project (fixtures/lockfiles/npm/make.sh).

mod lang_support;
use garrison_inventory::lang::npm::{NodeModulesPackage, PackageLock};
use garrison_inventory::lang::pnpm::PnpmLock;
use garrison_inventory::lang::yarn::YarnLock;
use garrison_inventory::Parsed;
use garrison_model::{purl_for, Ecosystem};
use lang_support::*;

const SCRIPT: &str = "fixtures/lockfiles/npm/make.sh";

fn expected() -> Vec<String> {
    let e = expected_lines("npm/expected.txt");
    assert_eq!(e.len(), 12, "npm ls lists twelve registry packages for the fixture project");
    e
}

/// `name version prod|dev` for every package.
fn with_dev(p: &Parsed) -> Vec<String> {
    let mut v: Vec<String> = p
        .packages
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.version, if p.dev { "dev" } else { "prod" }))
        .collect();
    v.sort();
    v
}

fn find<'a>(p: &'a Parsed, name: &str, version: &str) -> &'a garrison_model::Package {
    p.packages
        .iter()
        .find(|p| p.name == name && p.version == version)
        .unwrap_or_else(|| panic!("{name} {version} not found"))
}

#[test]
fn package_lock_every_version_and_shrinkwrap() {
    let expected = expected();
    for rel in [
        "npm/v1/package-lock.json",
        "npm/v2/package-lock.json",
        "npm/v3/package-lock.json",
        "npm/shrinkwrap/npm-shrinkwrap.json",
    ] {
        let p = parse(&PackageLock, rel);
        assert_eq!(with_dev(&p), expected, "{rel}");
        assert!(p.warnings.is_empty(), "{rel}: {:?}", p.warnings);
        assert!(p.packages.iter().all(|p| p.ecosystem == Ecosystem::Npm && p.location == format!("/{rel}")));
    }
}

#[test]
fn package_lock_v3_direct_flags_and_licenses() {
    let p = parse(&PackageLock, "npm/v3/package-lock.json");
    for (name, version, direct) in [
        ("debug", "2.6.9", true),
        ("ms", "2.1.3", true),
        ("ms", "2.0.0", false),
        ("semver", "7.6.0", true),
        ("react-dom", "18.3.1", true),
        ("scheduler", "0.23.2", false),
        ("@sindresorhus/is", "4.6.0", true),
    ] {
        assert_eq!(find(&p, name, version).direct, Some(direct), "{name} {version}");
    }
    assert_eq!(find(&p, "semver", "7.6.0").licenses, ["ISC"]);
    assert_eq!(find(&p, "debug", "2.6.9").licenses, ["MIT"]);
    let is = find(&p, "@sindresorhus/is", "4.6.0");
    assert_eq!(purl_for(is, None).unwrap(), "pkg:npm/%40sindresorhus/is@4.6.0");
    // The `file:` package and its link are the project's own code.
    assert!(!p.packages.iter().any(|p| p.name == "local-lib"));
}

#[test]
fn yarn_v1_and_berry() {
    let expected = fields(&expected(), 2);
    for rel in ["npm/yarn-v1/yarn.lock", "npm/yarn-berry/yarn.lock"] {
        let p = parse(&YarnLock, rel);
        assert_eq!(name_versions(&p), expected, "{rel}");
        assert!(p.warnings.is_empty(), "{rel}: {:?}", p.warnings);
    }
}

#[test]
fn pnpm_lockfile_versions_5_6_9() {
    let expected = expected();
    for rel in ["npm/pnpm-v5/pnpm-lock.yaml", "npm/pnpm-v6/pnpm-lock.yaml", "npm/pnpm-v9/pnpm-lock.yaml"] {
        let p = parse(&PnpmLock, rel);
        assert_eq!(with_dev(&p), expected, "{rel}");
        assert!(p.warnings.is_empty(), "{rel}: {:?}", p.warnings);
        assert_eq!(find(&p, "react-dom", "18.3.1").direct, Some(true), "{rel}");
        assert_eq!(find(&p, "semver", "7.6.0").direct, Some(true), "{rel}");
        assert_eq!(find(&p, "ms", "2.0.0").direct, Some(false), "{rel}");
        assert_eq!(find(&p, "yallist", "4.0.0").direct, Some(false), "{rel}");
    }
}

#[test]
fn installed_node_modules_match_npm_ls() {
    let dir = generated("lockfiles/npm/project/node_modules", SCRIPT);
    let dir = dir.parent().unwrap();
    let p = parse_tree(&NodeModulesPackage, dir);
    assert_eq!(name_versions(&p), fields(&expected(), 2));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let nested = find(&p, "ms", "2.0.0");
    assert_eq!(nested.location, "/node_modules/debug/node_modules/ms/package.json");
    assert_eq!(nested.licenses, ["MIT"]);
    let scoped = find(&p, "@sindresorhus/is", "4.6.0");
    assert_eq!(scoped.location, "/node_modules/@sindresorhus/is/package.json");
    assert_eq!(find(&p, "semver", "7.6.0").licenses, ["ISC"]);
}
