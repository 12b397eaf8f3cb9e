//! The rpm parsers on real databases: rpm 4.18 wrote the sqlite one, db5.3_load
//! the Berkeley DB ones (proved by rpm's own bdb_ro reader), export.py the ndb
//! one; all made by fixtures/rpmdb/make.sh. Each must list exactly what
//! `rpm -qa` says (expected.tsv).

use garrison_inventory::os::{RpmBdb, RpmNdb, RpmSqlite};
use garrison_inventory::{Catalog, FileRef, Parser};
use garrison_model::{Ecosystem, Package, Target, TargetKind};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixture_dir(scenario: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out")
    });
    let dir = base.join(scenario);
    assert!(
        dir.is_dir(),
        "fixture {} is missing: run fixtures/{scenario}/make.sh (as root) first",
        dir.display()
    );
    dir
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; rerun fixtures/rpmdb/make.sh", path.display()))
}

/// (name, version, arch, license, source name, source version) per `rpm -qa`.
type Row = (String, String, String, String, String, String);

fn expected() -> BTreeSet<Row> {
    let text = String::from_utf8(read(&fixture_dir("rpmdb").join("expected.tsv"))).unwrap();
    let rows: BTreeSet<Row> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 6, "bad expected.tsv line {l:?}");
            let (name, epoch, vr, arch, license, srpm) = (f[0], f[1], f[2], f[3], f[4], f[5]);
            // Versions carry the epoch only when it is not zero, as advisories write them.
            let version = if epoch == "0" { vr.to_string() } else { format!("{epoch}:{vr}") };
            let stem = srpm.strip_suffix(".src.rpm").unwrap();
            let (rest, rel) = stem.rsplit_once('-').unwrap();
            let (src, ver) = rest.rsplit_once('-').unwrap();
            let src_version = if epoch == "0" {
                format!("{ver}-{rel}")
            } else {
                format!("{epoch}:{ver}-{rel}")
            };
            (name.into(), version, arch.into(), license.into(), src.into(), src_version)
        })
        .collect();
    assert!(rows.len() >= 5, "expected.tsv lists too few packages: {rows:?}");
    rows
}

fn rows(packages: &[Package]) -> BTreeSet<Row> {
    packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem, Ecosystem::Rpm);
            assert_eq!(p.licenses.len(), 1, "{p:?}");
            let src = p.source.clone().expect("every fixture package has a SOURCERPM");
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.licenses[0].clone(),
                src.name,
                src.version.unwrap_or_default(),
            )
        })
        .collect()
}

fn parse_with(parser: &dyn Parser, inside: &str, file: PathBuf) -> Vec<Package> {
    let content = read(&file);
    let fref = FileRef { path: inside, size: content.len() as u64, executable: false };
    assert!(parser.matches(&fref), "{} does not match {inside}", parser.name());
    let parsed = parser
        .parse(&fref, &content)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(parsed.warnings.is_empty(), "{}: {:?}", file.display(), parsed.warnings);
    assert_eq!(parsed.packages.len(), rows(&parsed.packages).len(), "duplicates");
    for p in &parsed.packages {
        assert_eq!(p.location, inside);
        assert_ne!(p.name, "gpg-pubkey", "gpg-pubkey pseudo-packages must be skipped");
    }
    parsed.packages
}

#[test]
fn sqlite_lists_what_rpm_lists() {
    let dir = fixture_dir("rpmdb");
    let pkgs = parse_with(&RpmSqlite, "/var/lib/rpm/rpmdb.sqlite", dir.join("sqlite/rpmdb.sqlite"));
    assert_eq!(rows(&pkgs), expected());
}

#[test]
fn berkeley_db_lists_what_rpm_lists_in_both_byte_orders_and_page_sizes() {
    let dir = fixture_dir("rpmdb");
    for variant in ["bdb", "bdb-be", "bdb-16k"] {
        let pkgs = parse_with(&RpmBdb, "/var/lib/rpm/Packages", dir.join(variant).join("Packages"));
        assert_eq!(rows(&pkgs), expected(), "{variant}");
    }
}

#[test]
fn ndb_lists_what_rpm_lists() {
    let dir = fixture_dir("rpmdb");
    let pkgs = parse_with(&RpmNdb, "/usr/lib/sysimage/rpm/Packages.db", dir.join("ndb/Packages.db"));
    assert_eq!(rows(&pkgs), expected());
}

#[test]
fn catalog_gives_rpm_purls_with_epoch_and_upstream() {
    let dir = fixture_dir("rpmdb");
    let content = read(&dir.join("sqlite/rpmdb.sqlite"));
    let mut catalog = Catalog::default();
    catalog.add_file(&FileRef::new("/var/lib/rpm/rpmdb.sqlite"), None, &content);
    let inv = catalog.finish(Target::new(TargetKind::Rootfs, "/"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let hello = inv.packages.iter().find(|p| p.name == "hello-garrison").unwrap();
    assert_eq!(hello.version, "2:1.2.3-4.fc39");
    assert_eq!(hello.properties.get("rpm.epoch").map(String::as_str), Some("2"));
    assert_eq!(hello.properties.get("rpm.vendor").map(String::as_str), Some("Garrison fixtures"));
    assert_eq!(hello.purl, "pkg:rpm/hello-garrison@1.2.3-4.fc39?arch=noarch&epoch=2&upstream=hello-garrison");
    let devel = inv.packages.iter().find(|p| p.name == "libfoo-devel").unwrap();
    assert_eq!(devel.purl, "pkg:rpm/libfoo-devel@0.9.1-1.el9?arch=x86_64&upstream=libfoo");
}

#[test]
fn truncated_and_foreign_files_are_errors_naming_the_file() {
    let dir = fixture_dir("rpmdb");
    let sqlite = read(&dir.join("sqlite/rpmdb.sqlite"));
    let path = "/var/lib/rpm/rpmdb.sqlite";
    let fref = FileRef::new(path);
    // sqlite finds a database cut to its first page unreadable.
    let err = RpmSqlite.parse(&fref, &sqlite[..4096]).unwrap_err().to_string();
    assert!(err.contains(path) && err.contains("rpm-sqlite"), "{err}");
    let err = RpmSqlite.parse(&fref, b"not a database").unwrap_err().to_string();
    assert!(err.contains("not an SQLite 3 database"), "{err}");
    let bdb_path = "/var/lib/rpm/Packages";
    let err = RpmBdb.parse(&FileRef::new(bdb_path), &sqlite).unwrap_err().to_string();
    assert!(err.contains(bdb_path) && err.contains("not a Berkeley DB hash"), "{err}");
    let ndb_path = "/var/lib/rpm/Packages.db";
    let err = RpmNdb.parse(&FileRef::new(ndb_path), &sqlite).unwrap_err().to_string();
    assert!(err.contains(ndb_path) && err.contains("not an rpm ndb"), "{err}");
}

#[test]
fn damaged_records_become_warnings_and_the_rest_is_kept() {
    let dir = fixture_dir("rpmdb");
    let all = expected().len();
    // Berkeley DB cut short: the records whose pages are gone are reported.
    let bdb = read(&dir.join("bdb/Packages"));
    let parsed = RpmBdb.parse(&FileRef::new("/var/lib/rpm/Packages"), &bdb[..bdb.len() / 2]).unwrap();
    assert!(parsed.packages.len() < all);
    assert!(!parsed.warnings.is_empty());
    // ndb with one byte of one blob flipped: its checksum fails, the others stay.
    let mut ndb = read(&dir.join("ndb/Packages.db"));
    let first_blob = 4096 + 100;
    ndb[first_blob] ^= 0xff;
    let parsed = RpmNdb.parse(&FileRef::new("/var/lib/rpm/Packages.db"), &ndb).unwrap();
    assert_eq!(parsed.packages.len(), all - 1);
    assert!(
        parsed.warnings.iter().any(|w| w.message.contains("adler-32")),
        "{:?}",
        parsed.warnings
    );
}

/// Deterministic byte mutations of the real databases: no panic, whatever the damage.
#[test]
fn mutated_databases_never_panic() {
    let dir = fixture_dir("rpmdb");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let cases: [(&dyn Parser, &str, &str); 3] = [
        (&RpmBdb, "bdb/Packages", "/var/lib/rpm/Packages"),
        (&RpmBdb, "bdb-be/Packages", "/var/lib/rpm/Packages"),
        (&RpmNdb, "ndb/Packages.db", "/var/lib/rpm/Packages.db"),
    ];
    for (parser, file, inside) in cases {
        let original = read(&dir.join(file));
        for round in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..(1 + round % 8) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            if round % 50 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
            let _ = parser.parse(&FileRef::new(inside), &bytes);
        }
    }
}
