//! Real images made by podman, buildah and skopeo (fixtures/images-small/make.sh):
//! docker-archive, OCI archive, OCI layout (gzip and zstd) and a multi-platform
//! index, each walked with whiteouts applied.

mod image_support;

use garrison_source::image::archive::{ArchiveFormat, ArchiveImage};
use garrison_source::image::open_file_image;
use garrison_source::{EntryKind, Limits};
use image_support::{fixture, Event, Recorder};
use std::collections::BTreeMap;

const SCENARIO: &str = "images-small";

fn walk(spec: &str, platform: Option<&str>) -> (garrison_model::Target, Recorder) {
    let mut source = open_file_image(spec, platform).unwrap_or_else(|e| panic!("{spec}: {e}"));
    let mut rec = Recorder::default();
    source
        .walk(&mut rec, &Limits::default())
        .unwrap_or_else(|e| panic!("{spec}: {e}"));
    (source.target(), rec)
}

fn sorted(mut v: Vec<(String, EntryKind)>) -> Vec<(String, EntryKind)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn dir(p: &str) -> (String, EntryKind) {
    (p.to_string(), EntryKind::Dir)
}
fn file(p: &str) -> (String, EntryKind) {
    (p.to_string(), EntryKind::File)
}

/// What every format of the two-layer image must yield.
fn check_two_layer(spec: &str, rec: &Recorder) {
    assert!(rec.warnings.is_empty(), "{spec}: {:?}", rec.warnings);
    let layers: Vec<usize> = rec
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Layer(i, _) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(layers, [0, 1], "{spec}");

    // Layer 0: the imported base. podman stores the hard-linked pair in
    // directory order, so either name may be the file and the other the link.
    let mut base = sorted(rec.entries_of(0));
    let keep_pair: Vec<(String, EntryKind)> = base
        .iter()
        .filter(|(p, _)| p == "/etc/keep.txt" || p == "/etc/keep-hard")
        .cloned()
        .collect();
    base.retain(|(p, _)| p != "/etc/keep.txt" && p != "/etc/keep-hard");
    assert_eq!(
        base,
        vec![
            dir("/"),
            dir("/bin"),
            file("/bin/tool"),
            dir("/etc"),
            file("/etc/os-release"),
            dir("/lib"),
            (
                "/lib/link".into(),
                EntryKind::Symlink("../etc/keep.txt".into())
            ),
            dir("/opt"),
            dir("/opt/data"),
            file("/opt/data/a.txt"),
            file("/opt/data/b.txt"),
            dir("/opt/data/sub"),
            file("/opt/data/sub/c.txt"),
            dir("/var"),
            dir("/var/lib"),
            file("/var/lib/gone.txt"),
        ],
        "{spec}"
    );
    let (link, target) = match keep_pair.as_slice() {
        [(a, EntryKind::File), (b, EntryKind::Hardlink(t))]
        | [(b, EntryKind::Hardlink(t)), (a, EntryKind::File)] => {
            assert_eq!(t, a, "{spec}");
            (b.clone(), a.clone())
        }
        other => panic!("{spec}: hard-linked pair is {other:?}"),
    };
    assert!(
        rec.events
            .contains(&Event::Hardlink(link.clone(), target.clone())),
        "{spec}: no hardlink call for {link}"
    );

    // Layer 1: a whiteout, an opaque directory, two new files.
    assert_eq!(
        sorted(rec.entries_of(1)),
        vec![
            dir("/etc"),
            file("/etc/added.txt"),
            dir("/opt"),
            dir("/opt/data"),
            file("/opt/data/new.txt"),
            dir("/var"),
            dir("/var/lib"),
        ],
        "{spec}"
    );
    assert_eq!(
        rec.removals(),
        [("/var/lib/gone.txt".to_string(), 1)],
        "{spec}"
    );
    assert_eq!(rec.cleared(), [("/opt/data".to_string(), 1)], "{spec}");

    // Contents and modes as written by make.sh.
    let files = rec.files();
    assert_eq!(files["/etc/added.txt"], b"added\n", "{spec}");
    assert_eq!(files["/bin/tool"], b"#!/bin/sh\necho tool\n", "{spec}");
    assert!(rec.events.iter().any(|e| matches!(e,
        Event::Entry { path, mode, .. } if path == "/bin/tool" && *mode == 0o755)));

    // The merged view: what a consumer applying the whiteouts ends up with.
    let merged = rec.merged();
    let merged_files: BTreeMap<&str, &[u8]> = merged
        .iter()
        .filter(|(_, n)| n.kind == EntryKind::File)
        .map(|(p, n)| (p.as_str(), n.content.as_deref().unwrap_or_default()))
        .collect();
    let hard = if target == "/etc/keep.txt" {
        "/etc/keep.txt"
    } else {
        "/etc/keep-hard"
    };
    let mut expected: BTreeMap<&str, &[u8]> = BTreeMap::from([
        ("/bin/tool", &b"#!/bin/sh\necho tool\n"[..]),
        ("/etc/added.txt", b"added\n"),
        ("/etc/os-release", b"ID=garrison-test\nVERSION_ID=\"1\"\n"),
        ("/opt/data/new.txt", b"new\n"),
    ]);
    expected.insert(hard, b"keep\n");
    assert_eq!(merged_files, expected, "{spec}");
    assert!(merged.contains_key("/opt/data"), "{spec}");
    assert!(!merged.contains_key("/opt/data/sub"), "{spec}");
    assert!(!merged.contains_key("/var/lib/gone.txt"), "{spec}");
}

#[test]
fn docker_archive_from_podman_save() {
    let path = fixture(SCENARIO, "two-docker.tar");
    let spec = path.to_str().unwrap();
    let archive = ArchiveImage::open(spec, &path, None).unwrap();
    assert_eq!(archive.format(), ArchiveFormat::Docker);
    let (target, rec) = walk(spec, None);
    check_two_layer(spec, &rec);
    assert_eq!(target.tags, ["localhost/garrison-small-two:1"]);
    assert_eq!(target.platform.as_deref(), Some("linux/amd64"));
    // docker-archive layers are stored uncompressed: their digest is the diff_id.
    let source = ArchiveImage::open(spec, &path, None).unwrap();
    use garrison_source::image::ImageSource;
    for l in source.layers() {
        assert_eq!(Some(&l.digest), l.diff_id.as_ref());
    }
    assert_eq!(
        source.layers()[1].created_by.as_deref(),
        Some("garrison fixture: delete gone.txt, replace /opt/data")
    );
}

#[test]
fn oci_archive_from_podman_save() {
    let path = fixture(SCENARIO, "two-oci.tar");
    let spec = path.to_str().unwrap();
    assert_eq!(
        ArchiveImage::open(spec, &path, None).unwrap().format(),
        ArchiveFormat::Oci
    );
    let (target, rec) = walk(spec, None);
    check_two_layer(spec, &rec);
    assert!(target
        .digest
        .as_deref()
        .is_some_and(|d| d.starts_with("sha256:")));
}

#[test]
fn oci_layout_gzip_and_zstd() {
    let mut ids = Vec::new();
    for name in ["two-layout", "two-zstd-layout"] {
        let dir = fixture(SCENARIO, name);
        let spec = format!("oci:{}:two", dir.display());
        let (target, rec) = walk(&spec, None);
        check_two_layer(&spec, &rec);
        assert_eq!(target.tags, ["two"]);
        ids.push(target.image_id.clone().unwrap());
        // Without a tag the only image is taken.
        let (_, rec) = walk(&format!("oci:{}", dir.display()), None);
        check_two_layer(&spec, &rec);
    }
    // Same config in every format.
    let docker = fixture(SCENARIO, "two-docker.tar");
    let (target, _) = walk(docker.to_str().unwrap(), None);
    ids.push(target.image_id.unwrap());
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
}

#[test]
fn zstd_layout_layers_are_zstd() {
    use garrison_source::image::layout::LayoutImage;
    use garrison_source::image::ImageSource;
    let dir = fixture(SCENARIO, "two-zstd-layout");
    let image = LayoutImage::open("zstd", &dir, Some("two"), None).unwrap();
    for l in image.layers() {
        assert_eq!(
            l.media_type.as_deref(),
            Some("application/vnd.oci.image.layer.v1.tar+zstd")
        );
    }
}

#[test]
fn oci_layout_unknown_tag_names_the_tags() {
    let dir = fixture(SCENARIO, "two-layout");
    let spec = format!("oci:{}:nope", dir.display());
    let err = open_file_image(&spec, None)
        .err()
        .expect("unknown tag accepted")
        .to_string();
    assert!(
        err.contains(&spec) && err.contains("\"nope\"") && err.contains("two"),
        "{err}"
    );
}

#[test]
fn multi_platform_index_selects_by_platform() {
    let dir = fixture(SCENARIO, "multi-layout");
    let spec = format!("oci:{}:multi", dir.display());
    let (target, rec) = walk(&spec, None);
    assert_eq!(target.platform.as_deref(), Some("linux/amd64"));
    check_two_layer(&spec, &rec);

    for p in ["linux/arm64/v8", "linux/arm64"] {
        let (target, rec) = walk(&spec, Some(p));
        assert_eq!(target.platform.as_deref(), Some("linux/arm64/v8"), "{p}");
        assert!(rec.removals().is_empty());
        assert!(rec.entries_of(1).is_empty());
        assert!(rec.files().contains_key("/var/lib/gone.txt"));
    }

    let err = open_file_image(&spec, Some("linux/s390x"))
        .err()
        .expect("s390x accepted")
        .to_string();
    assert!(
        err.contains(&spec) && err.contains("linux/s390x") && err.contains("linux/arm64/v8"),
        "{err}"
    );
    let err = open_file_image(&spec, Some("s390x"))
        .err()
        .expect("bad platform accepted")
        .to_string();
    assert!(err.contains("os/arch"), "{err}");
}

/// GNU tar's sparse entries carry their map in extension blocks after the
/// header; the walker must read them and stay in step with the tar stream.
#[test]
fn gnu_sparse_layer_from_gnu_tar() {
    use garrison_source::image::walk::walk_layers;
    use garrison_source::image::MemoryImage;
    use garrison_source::SourceError;

    let tar = std::fs::read(fixture(SCENARIO, "sparse.tar")).unwrap();
    let mut image = MemoryImage::new("sparse", vec![tar.clone()]);
    let mut rec = Recorder::default();
    walk_layers(&mut image, &mut rec, &Limits::default()).unwrap();
    let files = rec.files();
    let sparse = &files["/sparse.bin"];
    assert_eq!(sparse.len(), 1 << 20);
    for i in 0..12 {
        let at = i * 65536;
        let want = format!("chunk{i}");
        assert_eq!(&sparse[at..at + want.len()], want.as_bytes(), "region {i}");
    }
    assert_eq!(sparse.iter().filter(|b| **b != 0).count(), 12 * 6 + 2);
    assert_eq!(files["/after.txt"], b"after\n");

    // A hostile long-name header after the sparse entry is still found.
    let end = tar.iter().rposition(|b| *b != 0).unwrap() + 1;
    let mut hostile = tar[..end.div_ceil(512) * 512].to_vec();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(4 << 20);
    h.set_cksum();
    hostile.extend_from_slice(h.as_bytes());
    hostile.extend(std::iter::repeat_n(b'a', 4 << 20));
    let mut image = MemoryImage::new("sparse-then-bomb", vec![hostile]);
    let mut rec = Recorder::default();
    match walk_layers(&mut image, &mut rec, &Limits::default()) {
        Err(e @ SourceError::InvalidImage { .. }) => {
            assert!(
                e.to_string()
                    .contains("larger than the 1048576 bytes allowed"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(rec.files().contains_key("/after.txt"));
}
