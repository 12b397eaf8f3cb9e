//! The apk parser on an installed database written to the published format by
//! fixtures/apk/make.sh (committed: fixtures/apk/installed and expected.tsv).

use garrison_inventory::os::ApkInstalled;
use garrison_inventory::{Catalog, FileRef, Parser};
use garrison_model::{Ecosystem, Target, TargetKind};
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn committed(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apk").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; fixtures/apk/make.sh makes it", path.display()))
}

type Row = (String, String, String, String, String);

fn expected() -> BTreeSet<Row> {
    let text = String::from_utf8(committed("expected.tsv")).unwrap();
    let rows: BTreeSet<Row> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad line {l:?}");
            (f[0].into(), f[1].into(), f[2].into(), f[3].into(), f[4].into())
        })
        .collect();
    assert!(rows.len() >= 10);
    rows
}

#[test]
fn installed_db_lists_every_package_at_both_paths() {
    let db = committed("installed");
    for path in ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"] {
        let f = FileRef::new(path);
        assert!(ApkInstalled.matches(&f));
        let parsed = ApkInstalled.parse(&f, &db).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let got: BTreeSet<Row> = parsed
            .packages
            .iter()
            .map(|p| {
                assert_eq!(p.ecosystem, Ecosystem::Apk);
                assert_eq!(p.location, path);
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.arch.clone().unwrap_or_default(),
                    p.licenses.join(" "),
                    p.source.clone().map(|s| s.name).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(parsed.packages.len(), got.len());
        assert_eq!(got, expected());
    }
    assert!(!ApkInstalled.matches(&FileRef::new("/lib/apk/db/installed.new")));
}

fn visit(catalog: &mut Catalog, path: &str, content: &[u8]) {
    let meta = EntryMeta { path, kind: EntryKind::File, size: content.len() as u64, mode: 0o644, layer: None };
    if catalog.want(&meta) == Want::Read {
        catalog.file(&meta, &mut &content[..]).unwrap();
    }
}

#[test]
fn alpine_rootfs_gets_alpine_purls() {
    let mut catalog = Catalog::default();
    visit(
        &mut catalog,
        "/etc/os-release",
        b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    );
    visit(&mut catalog, "/lib/apk/db/installed", &committed("installed"));
    let inv = catalog.finish(Target::new(TargetKind::Rootfs, "alpine"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_eq!(inv.packages.len(), expected().len());
    let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
    assert_eq!(
        ssl.purl,
        "pkg:apk/alpine/libssl3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    );
}

#[test]
fn damaged_db_keeps_what_it_can() {
    let db = committed("installed");
    let p = "/lib/apk/db/installed";
    // Cut in the middle of a record: the records before it are all there.
    let cut = &db[..db.len() / 2];
    let parsed = ApkInstalled.parse(&FileRef::new(p), cut).unwrap();
    assert!(!parsed.packages.is_empty() && parsed.packages.len() < expected().len());
    // CRLF line ends (a file edited on Windows) parse the same.
    let crlf: Vec<u8> = String::from_utf8(db.clone()).unwrap().replace('\n', "\r\n").into_bytes();
    let parsed = ApkInstalled.parse(&FileRef::new(p), &crlf).unwrap();
    assert_eq!(parsed.packages.len(), expected().len());
    // Mutations never panic.
    let mut state: u64 = 0xdead_beef_cafe_f00d;
    for round in 0..300 {
        let mut bytes = db.clone();
        for _ in 0..(1 + round % 16) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = [b'\n', b':', b'P', b'V', 0xc3][(state >> 40) as usize % 5];
        }
        let _ = ApkInstalled.parse(&FileRef::new(p), &bytes);
    }
}
