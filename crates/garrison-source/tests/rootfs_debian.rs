//! The walker on a real Debian 12 root filesystem (made by fixtures/debian/make.sh):
//! it sees exactly what the filesystem holds and reads the dpkg database whole.

mod rootfs_support;

use garrison_model::TargetKind;
use garrison_source::rootfs::{Rootfs, RootfsOptions};
use garrison_source::{EntryKind, Limits, Source};
use rootfs_support::{fixture_dir, Recorder};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The same tree, listed with the standard library (no symlink followed).
fn reference(root: &Path, rel: &str, out: &mut BTreeMap<String, EntryKind>) {
    let dir = root.join(rel.trim_start_matches('/'));
    for e in fs::read_dir(&dir).expect("read_dir") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{}/{}", rel.trim_end_matches('/'), name);
        let md = fs::symlink_metadata(e.path()).expect("lstat");
        let kind = if md.file_type().is_symlink() {
            EntryKind::Symlink(
                fs::read_link(e.path())
                    .expect("readlink")
                    .to_string_lossy()
                    .into_owned(),
            )
        } else if md.is_dir() {
            EntryKind::Dir
        } else if md.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let is_dir = kind == EntryKind::Dir;
        out.insert(path.clone(), kind);
        if is_dir {
            reference(root, &path, out);
        }
    }
}

#[test]
fn debian_rootfs_walk_matches_the_filesystem_and_reads_dpkg_status() {
    let dir = fixture_dir("debian");
    let rootfs = dir.join("rootfs");
    assert!(
        rootfs.join("var/lib/dpkg/status").is_file(),
        "{} is incomplete: run fixtures/debian/make.sh",
        rootfs.display()
    );
    let mut src =
        Rootfs::open(&rootfs, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    let mut rec =
        Recorder::new(|m| m.path == "/var/lib/dpkg/status" || m.path == "/usr/lib/os-release");
    src.walk(&mut rec, &Limits::default()).expect("walk");
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);

    let mut expected = BTreeMap::new();
    reference(&rootfs, "/", &mut expected);
    let got: BTreeMap<String, EntryKind> = rec
        .entries
        .iter()
        .map(|(p, (k, _, _))| (p.clone(), k.clone()))
        .collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "walk differs from the filesystem");
    // merged /usr: /bin is a symlink, reported, not entered
    assert_eq!(got["/bin"], EntryKind::Symlink("usr/bin".into()));
    assert!(!got.keys().any(|p| p.starts_with("/bin/")));

    let status = String::from_utf8(rec.contents["/var/lib/dpkg/status"].clone()).expect("utf8");
    assert_eq!(
        status,
        fs::read_to_string(rootfs.join("var/lib/dpkg/status")).expect("read")
    );
    let installed = status
        .split("\n\n")
        .filter(|s| s.lines().any(|l| l == "Status: install ok installed"))
        .count();
    let oracle = fs::read_to_string(dir.join("expected-rootfs.tsv")).expect("expected-rootfs.tsv");
    assert_eq!(installed, oracle.lines().count());
    // /etc/os-release is a symlink to ../usr/lib/os-release: only the latter is read.
    assert_eq!(
        got["/etc/os-release"],
        EntryKind::Symlink("../usr/lib/os-release".into())
    );
    assert!(String::from_utf8_lossy(&rec.contents["/usr/lib/os-release"]).contains("ID=debian"));
}
