//! Imports all of the shared OSV data and checks real findings.

mod common;

use garrison_model::{Distro, Ecosystem, FixState, Package, SourcePackage};
use garrison_vulndb::{import_with, match_packages, Db, ImportSummary, Match, ZipLimits};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

struct Imported {
    _dir: tempfile::TempDir,
    path: PathBuf,
    summary: ImportSummary,
}

fn imported() -> &'static Imported {
    static DB: OnceLock<Imported> = OnceLock::new();
    DB.get_or_init(|| {
        let data = common::osv_data();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let inputs: Vec<PathBuf> = ["AlmaLinux", "Go", "PyPI-yaml", "crates.io"]
            .iter()
            .map(|e| data.join(e))
            .collect();
        let refs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
        let summary = import_with(&path, &refs, ZipLimits::default()).unwrap();
        Imported {
            _dir: dir,
            path,
            summary,
        }
    })
}

fn db() -> Db {
    Db::open(&imported().path).unwrap()
}

/// Independent count: distinct `affected[].package.ecosystem` per record, and GIT ranges.
fn expected_counts() -> (u64, BTreeMap<String, u64>, u64, u64) {
    let mut files = 0;
    let mut per = BTreeMap::new();
    let mut git = 0;
    let mut withdrawn = 0;
    for p in common::files_in(&common::osv_data()) {
        let name = p.to_string_lossy().to_string();
        let v: serde_json::Value = if name.ends_with(".json") {
            serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
        } else if name.ends_with(".yaml") {
            serde_yaml_ng::from_slice(&std::fs::read(&p).unwrap()).unwrap()
        } else {
            continue;
        };
        files += 1;
        if v.get("withdrawn").is_some() {
            withdrawn += 1;
        }
        let mut ecos: Vec<String> = Vec::new();
        for a in v["affected"].as_array().into_iter().flatten() {
            if let Some(e) = a["package"]["ecosystem"].as_str() {
                if !ecos.iter().any(|x| x == e) {
                    ecos.push(e.to_string());
                }
            }
            for r in a["ranges"].as_array().into_iter().flatten() {
                if r["type"] == "GIT" {
                    git += 1;
                }
            }
        }
        for e in ecos {
            *per.entry(e).or_insert(0) += 1;
        }
    }
    (files, per, git, withdrawn)
}

#[test]
fn imports_every_record_with_counts() {
    let s = &imported().summary;
    let (files, per, git, withdrawn) = expected_counts();
    assert!(s.skipped.is_empty(), "skipped: {:?}", s.skipped);
    assert_eq!(s.records, files);
    assert_eq!(s.records, 1783 + 4291 + 2661 + 1206);
    assert_eq!(s.per_ecosystem, per);
    assert_eq!(s.per_ecosystem.get("crates.io"), Some(&1206));
    assert_eq!(s.per_ecosystem.get("Go"), Some(&4291));
    assert_eq!(s.git_ranges, git);
    assert!(
        s.git_ranges > 1000,
        "PyPA data carries GIT ranges: {}",
        s.git_ranges
    );
    assert_eq!(s.withdrawn, withdrawn);
    assert!(
        s.withdrawn >= 17 + 13,
        "Go and crates.io alone carry 30 withdrawn records"
    );

    let st = db().status().unwrap();
    assert_eq!(st.schema_version, garrison_vulndb::SCHEMA_VERSION);
    assert_eq!(st.advisories, files);
    assert_eq!(st.withdrawn, withdrawn);
    assert!(st.built_at.is_some());
    let crates = st
        .ecosystems
        .iter()
        .find(|e| e.name == "crates.io")
        .unwrap();
    // Withdrawn records are not indexed, so the index counts fewer.
    assert_eq!(crates.advisories, 1206 - 13);
    let rec = db().record("PYSEC-2018-104").unwrap().unwrap();
    assert_eq!(rec.aliases, ["CVE-2017-2592", "GHSA-xcp8-hh74-f6mc"]);
}

fn find<'a>(matches: &'a [Match], pkg: usize, id: &str) -> Option<&'a Match> {
    matches
        .iter()
        .find(|m| m.package == pkg && m.vulnerability.id == id)
}

fn fixed(v: &[&str]) -> FixState {
    FixState::Fixed {
        versions: v.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn language_packages_match_real_advisories() {
    let db = db();
    let pkgs = vec![
        Package::new(Ecosystem::Cargo, "wasmtime", "5.0.0", "/app/Cargo.lock"),
        Package::new(Ecosystem::Cargo, "wasmtime", "5.0.1", "/app/Cargo.lock"),
        Package::new(
            Ecosystem::Go,
            "github.com/coder/coder/v2",
            "v2.14.0",
            "/app/go.mod",
        ),
        Package::new(
            Ecosystem::Go,
            "github.com/coder/coder",
            "v0.9.0",
            "/app/go.mod",
        ),
        Package::new(
            Ecosystem::PyPI,
            "Oslo_Middleware",
            "3.19.0",
            "/app/requirements.txt",
        ),
        Package::new(
            Ecosystem::PyPI,
            "py",
            "1.11.0",
            "/venv/py.dist-info/METADATA",
        ),
        Package::new(Ecosystem::Go, "stdlib", "go1.16.0", "/app/server"),
        Package::new(
            Ecosystem::Go,
            "github.com/gravitational/teleport",
            "v1.0.0",
            "/app/go.mod",
        ),
    ];
    let m = match_packages(&db, &pkgs, None).unwrap();

    let w = find(&m, 0, "RUSTSEC-2023-0090").expect("wasmtime 5.0.0 is affected");
    assert_eq!(w.fix, fixed(&["5.0.1"]));
    assert_eq!(
        w.vulnerability.aliases.first().map(String::as_str),
        Some("CVE-2023-26489")
    );
    assert_eq!(w.vulnerability.scores[0].kind, "CVSS_V3");
    assert!(
        find(&m, 1, "RUSTSEC-2023-0090").is_none(),
        "5.0.1 is the fix"
    );

    let c = find(&m, 2, "GO-2024-3228").expect("coder v2.14.0 is affected");
    assert_eq!(c.fix, fixed(&["2.14.4"]));
    let c0 = find(&m, 3, "GO-2024-3228").expect("coder v1 module: introduced 0, no fix");
    assert_eq!(c0.fix, FixState::NotFixed);

    let o =
        find(&m, 4, "PYSEC-2018-104").expect("oslo.middleware 3.19.0 (PEP 503 name) is affected");
    assert_eq!(o.fix, fixed(&["3.19.1"]));
    let f = o.to_finding(&pkgs[4]);
    assert_eq!(f.vulnerability.cve(), Some("CVE-2017-2592"));
    assert!(f.risk.fix_available);

    let p = find(&m, 5, "PYSEC-2022-42969").expect("py 1.11.0 is last_affected");
    assert_eq!(p.fix, FixState::NotFixed);

    let g = find(&m, 6, "GO-2021-0067").expect("Go stdlib go1.16.0 is affected");
    assert_eq!(g.fix, fixed(&["1.16.1"]));

    assert!(
        find(&m, 7, "GO-2024-2442").is_none(),
        "withdrawn advisories never match"
    );
}

#[test]
fn almalinux_rpm_matches_by_name_and_source() {
    let db = db();
    let alma = Distro {
        id: "almalinux".into(),
        version_id: Some("9.0".into()),
        ..Distro::default()
    };
    let mut libs = Package::new(
        Ecosystem::Rpm,
        "openssl-libs",
        "1:3.0.1-40.el9_0",
        "/var/lib/rpm/rpm.sqlite",
    );
    libs.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    let openssl = Package::new(
        Ecosystem::Rpm,
        "openssl",
        "1:3.0.1-40.el9_0",
        "/var/lib/rpm/rpm.sqlite",
    );
    let newer = Package::new(
        Ecosystem::Rpm,
        "openssl",
        "1:3.0.1-41.el9_0",
        "/var/lib/rpm/rpm.sqlite",
    );
    let pkgs = vec![libs, openssl, newer];
    let m = match_packages(&db, &pkgs, Some(&alma)).unwrap();
    for i in [0, 1] {
        let a = find(&m, i, "ALSA-2022:6224")
            .unwrap_or_else(|| panic!("package {i} matches ALSA-2022:6224"));
        assert_eq!(a.fix, fixed(&["1:3.0.1-41.el9_0"]));
        assert_eq!(a.ecosystem, "AlmaLinux:9");
        assert_eq!(
            a.vulnerability
                .severity_source
                .as_deref()
                .map(|s| s.starts_with("advisory rating")),
            Some(true)
        );
    }
    assert!(find(&m, 2, "ALSA-2022:6224").is_none());
    assert_eq!(
        m.iter()
            .filter(|x| x.package == 1 && x.vulnerability.id == "ALSA-2022:6224")
            .count(),
        1
    );

    // The same package known only by its purl (from an SBOM): the distro qualifier decides.
    let mut by_purl = Package::new(Ecosystem::Rpm, "openssl", "1:3.0.1-40.el9_0", "sbom.json");
    by_purl.purl = "pkg:rpm/almalinux/openssl@3.0.1-40.el9_0?epoch=1&distro=almalinux-9.0".into();
    let m = match_packages(&db, &[by_purl.clone()], None).unwrap();
    assert!(find(&m, 0, "ALSA-2022:6224").is_some());
    // AlmaLinux 8 is another release: no AlmaLinux:9 advisory applies.
    by_purl.purl = "pkg:rpm/almalinux/openssl@3.0.1-40.el9_0?epoch=1&distro=almalinux-8.9".into();
    let m = match_packages(&db, &[by_purl], None).unwrap();
    assert!(find(&m, 0, "ALSA-2022:6224").is_none());
}
