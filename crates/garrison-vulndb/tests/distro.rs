//! Debian, Ubuntu and Alpine matching on the hand-written OSV fixtures in fixtures/osv-distro.

mod common;

use garrison_model::{Distro, Ecosystem, FixState, Package, Severity, SourcePackage};
use garrison_vulndb::{import, match_packages, Db};

fn distro(id: &str, v: &str) -> Distro {
    Distro {
        id: id.into(),
        version_id: Some(v.into()),
        ..Distro::default()
    }
}

fn libssl(version: &str) -> Package {
    let mut p = Package::new(Ecosystem::Deb, "libssl3", version, "/var/lib/dpkg/status");
    p.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    p
}

fn setup() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let s = import(dir.path(), &common::distro_fixtures()).unwrap();
    assert_eq!(s.records, 6);
    assert_eq!(s.withdrawn, 1);
    assert!(s.skipped.is_empty());
    let db = Db::open(dir.path()).unwrap();
    (dir, db)
}

#[test]
fn debian_matches_by_source_package_and_release() {
    let (_d, db) = setup();
    let mut krb = Package::new(
        Ecosystem::Deb,
        "libkrb5-3",
        "1.20.1-2+deb12u1",
        "/var/lib/dpkg/status",
    );
    krb.source = Some(SourcePackage {
        name: "krb5".into(),
        version: None,
    });
    let pkgs = vec![libssl("3.0.11-1~deb12u1"), libssl("3.0.11-1~deb12u2"), krb];
    let m = match_packages(&db, &pkgs, Some(&distro("debian", "12"))).unwrap();
    let ids: Vec<(usize, &str)> = m
        .iter()
        .map(|x| (x.package, x.vulnerability.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [(0, "DSA-5532-1"), (2, "DEBIAN-CVE-2024-26461")],
        "withdrawn DSA-0000-1 never matches"
    );
    let dsa = &m[0];
    assert_eq!(
        dsa.fix,
        FixState::Fixed {
            versions: vec!["3.0.11-1~deb12u2".into()]
        }
    );
    assert_eq!(dsa.distro_urgency.as_deref(), Some("high"));
    assert_eq!(dsa.vulnerability.severity, Severity::High);
    assert_eq!(dsa.vulnerability.aliases, ["CVE-2023-5363"]);
    let f = dsa.to_finding(&pkgs[0]);
    assert_eq!(f.package.source_name.as_deref(), Some("openssl"));
    assert_eq!(f.distro_urgency.as_deref(), Some("high"));
    // Affected with no fix event: NotFixed, nothing invented.
    assert_eq!(m[1].fix, FixState::NotFixed);
    assert_eq!(m[1].distro_urgency.as_deref(), Some("unimportant"));

    // Debian 11 is another release: only the Debian:11 record applies.
    let m = match_packages(
        &db,
        &[libssl("1.1.1n-0+deb11u3")],
        Some(&distro("debian", "11.8")),
    )
    .unwrap();
    let ids: Vec<&str> = m.iter().map(|x| x.vulnerability.id.as_str()).collect();
    assert_eq!(ids, ["DLA-3325-1"]);
}

#[test]
fn purl_only_debian_package_uses_the_distro_qualifier() {
    let (_d, db) = setup();
    let mut p = libssl("3.0.11-1~deb12u1");
    p.purl = "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12".into();
    let m = match_packages(&db, std::slice::from_ref(&p), None).unwrap();
    assert_eq!(m.len(), 1);
    p.purl = "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=bookworm".into();
    assert_eq!(
        match_packages(&db, std::slice::from_ref(&p), None)
            .unwrap()
            .len(),
        1
    );
    p.purl = "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64".into();
    assert!(
        match_packages(&db, &[p], None).unwrap().is_empty(),
        "no distro, no OS match"
    );
}

#[test]
fn ubuntu_and_alpine() {
    let (_d, db) = setup();
    let ubuntu = Package::new(
        Ecosystem::Deb,
        "openssl",
        "3.0.2-0ubuntu1.10",
        "/var/lib/dpkg/status",
    );
    let m = match_packages(&db, &[ubuntu], Some(&distro("ubuntu", "22.04"))).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].vulnerability.id, "UBUNTU-CVE-2023-5363");
    assert_eq!(m[0].distro_urgency.as_deref(), Some("medium"));
    assert_eq!(
        m[0].fix,
        FixState::Fixed {
            versions: vec!["3.0.2-0ubuntu1.12".into()]
        }
    );
    assert_eq!(m[0].vulnerability.scores.len(), 2);

    let mut libcrypto = Package::new(
        Ecosystem::Apk,
        "libcrypto3",
        "3.1.3-r0",
        "/lib/apk/db/installed",
    );
    libcrypto.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    let fixed = {
        let mut p = libcrypto.clone();
        p.version = "3.1.4-r0".into();
        p
    };
    let m = match_packages(
        &db,
        &[libcrypto.clone(), fixed],
        Some(&distro("alpine", "3.18.4")),
    )
    .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].package, 0);
    assert_eq!(m[0].ecosystem, "Alpine:v3.18");
    assert_eq!(
        m[0].fix,
        FixState::Fixed {
            versions: vec!["3.1.4-r0".into()]
        }
    );
    assert!(
        match_packages(&db, &[libcrypto], Some(&distro("alpine", "3.19.1")))
            .unwrap()
            .is_empty()
    );
}
