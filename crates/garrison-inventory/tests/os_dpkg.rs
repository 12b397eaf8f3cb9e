//! The dpkg parser on real databases: this machine's /var/lib/dpkg/status
//! (checked against dpkg-query) and a distroless-style status.d made by
//! fixtures/distroless/make.sh.

use garrison_inventory::os::DpkgStatus;
use garrison_inventory::{Catalog, FileRef, Parser};
use garrison_model::{Ecosystem, LayerInfo, Package, Target, TargetKind};
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture_dir(scenario: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out")
    });
    let dir = base.join(scenario);
    assert!(
        dir.is_dir(),
        "fixture {} is missing: run fixtures/{scenario}/make.sh first",
        dir.display()
    );
    dir
}

/// (package, version, architecture, source package, source version).
type Row = (String, String, String, String, String);

fn rows(packages: &[Package]) -> BTreeSet<Row> {
    packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem, Ecosystem::Deb);
            let src = p.source.clone().expect("dpkg packages always name a source");
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                src.name,
                src.version.unwrap_or_else(|| p.version.clone()),
            )
        })
        .collect()
}

fn tsv_rows(text: &str) -> BTreeSet<Row> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad line {l:?}");
            (f[0].into(), f[1].into(), f[2].into(), f[3].into(), f[4].into())
        })
        .collect()
}

#[test]
fn host_status_lists_what_dpkg_query_lists() {
    let content = std::fs::read("/var/lib/dpkg/status")
        .expect("this test runs on Debian and reads the host's /var/lib/dpkg/status");
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n",
        ])
        .output()
        .expect("dpkg-query must be installed (Debian)");
    assert!(out.status.success(), "dpkg-query failed: {}", String::from_utf8_lossy(&out.stderr));
    // Reported: packages whose files are on disk (second letter i, W, t, F or U).
    let expected: String = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| matches!(l.as_bytes().get(1), Some(b'i' | b'W' | b't' | b'F' | b'U')))
        .filter_map(|l| l.split_once('\t').map(|(_, rest)| format!("{rest}\n")))
        .collect();
    let expected = tsv_rows(&expected);
    assert!(expected.len() > 50, "dpkg-query lists too few packages");

    let fref = FileRef { path: "/var/lib/dpkg/status", size: content.len() as u64, executable: false };
    assert!(DpkgStatus.matches(&fref));
    let parsed = DpkgStatus.parse(&fref, &content).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(parsed.packages.len(), expected.len());
    assert_eq!(rows(&parsed.packages), expected);
}

/// Offers one file to the catalog the way a source walk does.
fn visit(catalog: &mut Catalog, path: &str, layer: Option<usize>, content: &[u8]) {
    let meta = EntryMeta { path, kind: EntryKind::File, size: content.len() as u64, mode: 0o644, layer };
    if catalog.want(&meta) == Want::Read {
        catalog.file(&meta, &mut &content[..]).unwrap();
    }
}

#[test]
fn host_rootfs_through_the_catalog_gets_distro_purls() {
    let status = std::fs::read("/var/lib/dpkg/status").unwrap();
    let os_release = std::fs::read("/etc/os-release").unwrap();
    let mut catalog = Catalog::default();
    visit(&mut catalog, "/etc/os-release", None, &os_release);
    visit(&mut catalog, "/var/lib/dpkg/status", None, &status);
    let inv = catalog.finish(Target::new(TargetKind::Rootfs, "/"));
    let distro = inv.distro.clone().expect("the host has /etc/os-release");
    assert_eq!(distro.id, "debian");
    let release = distro.version_id.clone().expect("Debian stable has VERSION_ID");
    let libc = inv.packages.iter().find(|p| p.name == "libc6").expect("libc6 is installed");
    assert!(libc.purl.starts_with("pkg:deb/debian/libc6@"), "{}", libc.purl);
    assert!(libc.purl.contains(&format!("distro=debian-{release}")), "{}", libc.purl);
    assert!(libc.purl.contains("upstream=glibc"), "{}", libc.purl);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let inside = format!("/{}", p.strip_prefix(root).unwrap().display());
            out.push((inside, p));
        }
    }
}

#[test]
fn distroless_status_d_lists_every_stanza_and_skips_md5sums() {
    let dir = fixture_dir("distroless");
    let expected = tsv_rows(&std::fs::read_to_string(dir.join("expected.tsv")).unwrap());
    let root = dir.join("rootfs");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    assert!(files.iter().any(|(p, _)| p.ends_with(".md5sums")));
    let mut catalog = Catalog::default();
    let mut matched = 0;
    for (inside, path) in &files {
        let f = FileRef::new(inside);
        let is_md5 = inside.ends_with(".md5sums");
        assert_eq!(DpkgStatus.matches(&f), !is_md5, "{inside}");
        if !is_md5 {
            matched += 1;
            catalog.add_file(&f, None, &std::fs::read(path).unwrap());
        }
    }
    assert_eq!(matched, expected.len());
    let inv = catalog.finish(Target::new(TargetKind::Rootfs, root.display().to_string()));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(rows(&inv.packages), expected);
    for p in &inv.packages {
        assert_eq!(p.location, format!("/var/lib/dpkg/status.d/{}", p.name));
    }
}

fn layer(n: usize) -> LayerInfo {
    LayerInfo {
        digest: format!("sha256:{n:064}"),
        diff_id: None,
        media_type: None,
        size: None,
        created_by: None,
    }
}

#[test]
fn each_package_is_attributed_to_the_layer_that_brought_its_version() {
    let l0 = b"Package: a\nStatus: install ok installed\nVersion: 1\n\n\
Package: b\nStatus: install ok installed\nVersion: 1\n";
    let l1 = b"Package: a\nStatus: install ok installed\nVersion: 1\n\n\
Package: b\nStatus: install ok installed\nVersion: 2\n\n\
Package: c\nStatus: install ok installed\nVersion: 1\n";
    let one = b"Package: d\nVersion: 3\n";
    let mut catalog = Catalog::default();
    let path = "/var/lib/dpkg/status";
    catalog.layer_start(0, &layer(0));
    visit(&mut catalog, path, Some(0), l0);
    visit(&mut catalog, "/var/lib/dpkg/status.d/d", Some(0), one);
    catalog.layer_start(1, &layer(1));
    visit(&mut catalog, path, Some(1), l1);
    // A whiteout in layer 1 removes the status.d file, and its package with it.
    catalog.remove("/var/lib/dpkg/status.d/d", 1);
    let inv = catalog.finish(Target::new(TargetKind::Image, "test"));
    let got: Vec<(&str, &str, Option<&str>)> = inv
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.layer.as_deref()))
        .collect();
    let (d0, d1) = (layer(0).digest, layer(1).digest);
    assert_eq!(
        got,
        [("a", "1", Some(d0.as_str())), ("b", "2", Some(d1.as_str())), ("c", "1", Some(d1.as_str()))]
    );
}

#[test]
fn odd_inputs_give_warnings_not_failures() {
    let p = "/var/lib/dpkg/status";
    let parse = |b: &[u8]| DpkgStatus.parse(&FileRef::new(p), b).unwrap();
    assert_eq!(parse(b""), Default::default());
    assert_eq!(parse(b"\n\n\r\n  \n"), Default::default());
    let garbage = parse(&[0xff, 0xfe, 0, 1, 2, b'\n', 0x80]);
    assert!(garbage.packages.is_empty());
    assert_eq!(garbage.warnings.len(), 1, "{:?}", garbage.warnings);
    assert_eq!(garbage.warnings[0].input, p);
    // Non-UTF-8 bytes in kept fields survive lossily; the package is still listed.
    let latin1 = parse(b"Package: caf\xe9\nStatus: install ok installed\nVersion: 1\n");
    assert_eq!(latin1.packages[0].name, "caf\u{fffd}");
    // A stanza without Status in the main database is reported, not listed.
    let no_status = parse(b"Package: x\nVersion: 1\n");
    assert!(no_status.packages.is_empty());
    assert!(no_status.warnings[0].message.contains("no Status"));
    // Thousands of broken stanzas: the warnings are capped.
    let many = "Version: 1\n\n".repeat(5000);
    let capped = parse(many.as_bytes());
    assert!(capped.warnings.len() <= 51, "{}", capped.warnings.len());
    assert!(capped.warnings.last().unwrap().message.contains("more problems"));
}

/// Deterministic byte mutations of the host's real status file: never a panic.
#[test]
fn mutated_status_never_panics() {
    let original = std::fs::read("/var/lib/dpkg/status").unwrap();
    let original = &original[..original.len().min(64 << 10)];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..200 {
        let mut bytes = original.to_vec();
        for _ in 0..(1 + round % 32) {
            let at = (next() as usize) % bytes.len();
            bytes[at] = [b'\n', b':', b' ', b'\r', 0xff, next() as u8][(next() % 6) as usize];
        }
        let _ = DpkgStatus.parse(&FileRef::new("/var/lib/dpkg/status"), &bytes);
        let _ = DpkgStatus.parse(&FileRef::new("/var/lib/dpkg/status.d/x"), &bytes);
    }
}
