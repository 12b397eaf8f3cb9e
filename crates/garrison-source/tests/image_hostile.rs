//! Hostile and broken images, built here with the `tar` crate: `..` and
//! absolute entry paths, symlinks out of the root, hard links to missing
//! targets, device files, decompression bombs, truncated and corrupt blobs,
//! missing blobs, zstd layers. None may panic; every error names its input.

mod image_support;

use garrison_source::image::walk::walk_layers;
use garrison_source::image::{open_file_image, MemoryImage};
use garrison_source::{EntryKind, Limits, SourceError};
use image_support::{gzip, layer_tar, sha256, tar_dir, write_layout, zstd, Event, Recorder, T};

fn walk_mem(
    name: &str,
    blobs: Vec<Vec<u8>>,
    limits: &Limits,
) -> (Recorder, Result<(), SourceError>) {
    let mut image = MemoryImage::new(name, blobs);
    let mut rec = Recorder::default();
    let result = walk_layers(&mut image, &mut rec, limits);
    (rec, result)
}

fn entry_kind(rec: &Recorder, path: &str) -> Option<EntryKind> {
    rec.events.iter().find_map(|e| match e {
        Event::Entry { path: p, kind, .. } if p == path => Some(kind.clone()),
        _ => None,
    })
}

#[test]
fn dotdot_and_absolute_paths_stay_inside_the_root() {
    let layer = layer_tar(&[
        T::File("../../etc/evil", b"x"),
        T::File("/abs/file", b"y"),
        T::File("a/../../b", b"z"),
        T::File("./ok/../fine", b"w"),
        T::Dir("../"),
    ]);
    let digest = sha256(&layer);
    let (rec, result) = walk_mem("hostile-paths", vec![layer], &Limits::default());
    result.unwrap();
    let paths: Vec<(String, EntryKind)> = rec.entries_of(0);
    assert_eq!(
        paths,
        vec![
            ("/etc/evil".to_string(), EntryKind::File),
            ("/abs/file".to_string(), EntryKind::File),
            ("/b".to_string(), EntryKind::File),
            ("/fine".to_string(), EntryKind::File),
            ("/".to_string(), EntryKind::Dir),
        ]
    );
    assert_eq!(rec.files()["/etc/evil"], b"x");
    // Each climb above the root is reported, naming image, layer and entry.
    let climbs: Vec<&str> = rec.warnings.iter().map(|w| w.input.as_str()).collect();
    assert_eq!(climbs.len(), 3, "{:?}", rec.warnings);
    for (w, entry) in rec
        .warnings
        .iter()
        .zip(["../../etc/evil", "a/../../b", "../"])
    {
        assert!(
            w.input.contains("hostile-paths") && w.input.contains(&digest),
            "{w:?}"
        );
        assert!(w.input.ends_with(entry), "{w:?}");
        assert!(w.message.contains("above the image root"), "{w:?}");
    }
}

#[test]
fn symlinks_out_of_the_root_are_reported_not_followed() {
    let layer = layer_tar(&[
        T::Symlink("lib/esc", "../../../../etc/shadow"),
        T::Symlink("lib/abs", "/etc/shadow"),
        T::File("etc/shadow", b"inside"),
    ]);
    let (rec, result) = walk_mem("hostile-symlinks", vec![layer], &Limits::default());
    result.unwrap();
    assert_eq!(
        entry_kind(&rec, "/lib/esc"),
        Some(EntryKind::Symlink("../../../../etc/shadow".into()))
    );
    assert_eq!(
        entry_kind(&rec, "/lib/abs"),
        Some(EntryKind::Symlink("/etc/shadow".into()))
    );
    // Only the real file has content; the links are never read.
    assert_eq!(rec.files().keys().collect::<Vec<_>>(), ["/etc/shadow"]);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
}

#[test]
fn hard_links_are_checked_against_this_and_lower_layers() {
    let l0 = layer_tar(&[T::File("data/f", b"f"), T::File("data/g", b"g")]);
    let l1 = layer_tar(&[
        T::Hardlink("data/f2", "data/f"),
        T::Hardlink("data/missing", "data/nothere"),
        T::File("data/.wh.g", b""),
    ]);
    let l2 = layer_tar(&[
        T::Hardlink("data/g2", "./data/g"),
        T::Hardlink("esc", "../../data/f"),
    ]);
    let d1 = sha256(&l1);
    let (rec, result) = walk_mem("hostile-links", vec![l0, l1, l2], &Limits::default());
    result.unwrap();
    assert_eq!(
        entry_kind(&rec, "/data/f2"),
        Some(EntryKind::Hardlink("/data/f".into()))
    );
    assert_eq!(
        entry_kind(&rec, "/data/missing"),
        Some(EntryKind::Hardlink("/data/nothere".into()))
    );
    let links: Vec<&Event> = rec
        .events
        .iter()
        .filter(|e| matches!(e, Event::Hardlink(..)))
        .collect();
    assert_eq!(
        links,
        [
            &Event::Hardlink("/data/f2".into(), "/data/f".into()),
            &Event::Hardlink("/esc".into(), "/data/f".into()),
        ]
    );
    assert_eq!(rec.removals(), [("/data/g".to_string(), 1)]);
    let missing: Vec<_> = rec
        .warnings
        .iter()
        .filter(|w| w.message.contains("hard link to missing target"))
        .collect();
    assert_eq!(missing.len(), 2, "{:?}", rec.warnings);
    assert!(missing[0].input.contains(&d1) && missing[0].input.ends_with("/data/missing"));
    assert!(missing[0].message.contains("/data/nothere"));
    // The whited-out /data/g is gone by layer 2.
    assert!(missing[1].input.ends_with("/data/g2"), "{:?}", missing[1]);
    assert!(rec
        .warnings
        .iter()
        .any(|w| w.message.contains("hard link target climbs")));
}

#[test]
fn devices_and_fifos_are_other_and_never_read() {
    let layer = layer_tar(&[
        T::CharDev("dev/null"),
        T::Fifo("run/pipe"),
        T::File("etc/x", b"x"),
    ]);
    let (rec, result) = walk_mem("hostile-devices", vec![layer], &Limits::default());
    result.unwrap();
    assert_eq!(entry_kind(&rec, "/dev/null"), Some(EntryKind::Other));
    assert_eq!(entry_kind(&rec, "/run/pipe"), Some(EntryKind::Other));
    assert_eq!(rec.files().keys().collect::<Vec<_>>(), ["/etc/x"]);
}

#[test]
fn whiteouts_become_removals_and_cleared_dirs() {
    let l0 = layer_tar(&[
        T::File("a/x", b"1"),
        T::File("b/y", b"2"),
        T::File("top", b"3"),
    ]);
    let l1 = layer_tar(&[
        T::File("a/.wh.x", b""),
        T::File("b/.wh..wh..opq", b""),
        T::File("b/z", b"new"),
        T::File(".wh.top", b""),
        T::File(".wh..wh..opq", b""),
        T::File("c/.wh..wh.plnk", b""),
        T::File("c/.wh.", b""),
    ]);
    let (rec, result) = walk_mem("whiteouts", vec![l0, l1], &Limits::default());
    result.unwrap();
    assert_eq!(
        rec.removals(),
        [("/a/x".to_string(), 1), ("/top".to_string(), 1)]
    );
    assert_eq!(rec.cleared(), [("/b".to_string(), 1), ("/".to_string(), 1)]);
    assert_eq!(rec.entries_of(1), [("/b/z".to_string(), EntryKind::File)]);
    assert_eq!(rec.warnings.len(), 1, "{:?}", rec.warnings);
    assert!(rec.warnings[0].message.contains("malformed whiteout"));
}

#[test]
fn zstd_and_multi_member_gzip_layers() {
    let tar = layer_tar(&[T::Dir("usr"), T::File("usr/z", b"zstd content")]);
    let (rec, result) = walk_mem("zstd", vec![zstd(&tar)], &Limits::default());
    result.unwrap();
    assert_eq!(rec.files()["/usr/z"], b"zstd content");

    // A gzip stream of two members (as `pigz` or concatenation writes).
    let (a, b) = tar.split_at(700);
    let mut two = gzip(a);
    two.extend(gzip(b));
    let (rec, result) = walk_mem("multigz", vec![two], &Limits::default());
    result.unwrap();
    assert_eq!(rec.files()["/usr/z"], b"zstd content");
}

#[test]
fn decompression_bombs_are_stopped_and_named() {
    let limits = Limits {
        max_layer_bytes: 1 << 20,
        max_file_bytes: 512 << 20,
    };
    // A tar holding one 8 MiB file of zeros, gzipped to a few KiB.
    let zeros = vec![0u8; 8 << 20];
    let big = gzip(&layer_tar(&[T::File("zeros", &zeros)]));
    assert!(big.len() < 64 << 10);
    // Plain zeros: the tar ends at once, the rest must still be read and capped.
    let raw = gzip(&zeros);
    for (name, blob) in [("bomb-file", big), ("bomb-zeros", raw)] {
        let digest = sha256(&blob);
        let (_, result) = walk_mem(name, vec![blob], &limits);
        match result {
            Err(e @ SourceError::DecompressionBomb { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(name) && msg.contains(&digest), "{msg}");
                assert!(msg.contains("1048576"), "{msg}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn files_over_the_file_limit_are_skipped_with_a_warning() {
    let limits = Limits {
        max_layer_bytes: 1 << 30,
        max_file_bytes: 10,
    };
    let layer = layer_tar(&[
        T::File("big", b"more than ten bytes"),
        T::File("small", b"ok"),
    ]);
    let (rec, result) = walk_mem("file-limit", vec![layer], &limits);
    result.unwrap();
    assert_eq!(rec.files().keys().collect::<Vec<_>>(), ["/small"]);
    assert_eq!(rec.warnings.len(), 1);
    assert!(rec.warnings[0].input.ends_with("/big"));
    assert!(rec.warnings[0].message.contains("not read"));
}

#[test]
fn truncated_layers_fail_naming_image_and_layer() {
    let content = vec![7u8; 100_000];
    let tar = layer_tar(&[
        T::File("a", b"a"),
        T::File("big", &content),
        T::File("c", b"c"),
    ]);
    let gz = gzip(&tar);
    let cases = [
        ("truncated-gzip", gz[..gz.len() / 2].to_vec()),
        ("truncated-gzip-trailer", gz[..gz.len() - 4].to_vec()),
        ("truncated-tar", tar[..60_000].to_vec()),
        ("truncated-zstd", {
            let z = zstd(&tar);
            z[..z.len() - 3].to_vec()
        }),
        ("garbage-gzip", {
            let mut g = gz.clone();
            for b in g.iter_mut().skip(20).take(40) {
                *b ^= 0x5a;
            }
            g
        }),
    ];
    for (name, blob) in cases {
        let digest = sha256(&blob);
        let (_, result) = walk_mem(name, vec![blob], &Limits::default());
        let err = result.expect_err(name);
        let msg = err.to_string();
        assert!(
            matches!(err, SourceError::InvalidImage { .. }),
            "{name}: {err:?}"
        );
        assert!(msg.contains(name) && msg.contains(&digest), "{name}: {msg}");
    }
}

#[test]
fn corrupt_blob_is_a_digest_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let layer = layer_tar(&[T::File("etc/f", b"original")]);
    let digests = write_layout(dir.path(), &[layer], "t", &[]);
    // Change the content (same length, tar still valid) behind the digest.
    let blob = dir.path().join("blobs/sha256").join(&digests[0][7..]);
    let mut bytes = std::fs::read(&blob).unwrap();
    let at = bytes.windows(8).position(|w| w == b"original").unwrap();
    bytes[at..at + 8].copy_from_slice(b"tampered");
    std::fs::write(&blob, &bytes).unwrap();

    let spec = format!("oci:{}:t", dir.path().display());
    let mut source = open_file_image(&spec, None).unwrap();
    let mut rec = Recorder::default();
    let err = source.walk(&mut rec, &Limits::default()).unwrap_err();
    match &err {
        SourceError::DigestMismatch { digest, actual, .. } => {
            assert_eq!(digest, &digests[0]);
            assert_eq!(actual, &sha256(&bytes));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains(&spec), "{err}");
}

#[test]
fn missing_blobs_in_layout_and_archives() {
    let l0 = gzip(&layer_tar(&[T::File("a", b"a")]));
    let l1 = gzip(&layer_tar(&[T::File("b", b"b")]));
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let digests = write_layout(&layout, &[l0, l1], "t", &[1]);

    let spec = format!("oci:{}:t", layout.display());
    match open_file_image(&spec, None) {
        Err(SourceError::MissingBlob { input, digest }) => {
            assert_eq!(input, spec);
            assert_eq!(digest, digests[1]);
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("missing blob accepted"),
    }

    let archive = dir.path().join("oci.tar");
    tar_dir(&layout, &archive);
    let spec = archive.to_str().unwrap();
    match open_file_image(spec, None) {
        Err(e @ SourceError::MissingBlob { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(spec) && msg.contains(&digests[1]), "{msg}");
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("missing blob accepted"),
    }
}

#[test]
fn docker_archive_missing_layer_and_zstd_layer() {
    let dir = tempfile::tempdir().unwrap();
    let plain = layer_tar(&[T::File("etc/plain", b"p")]);
    let packed = zstd(&layer_tar(&[T::File("etc/zstd", b"z")]));
    let diff_ids = [
        sha256(&plain),
        sha256(&layer_tar(&[T::File("etc/zstd", b"z")])),
    ];
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "one"}, {"created_by": "two"}],
    }))
    .unwrap();
    let build = |with_second: bool, out: &std::path::Path| {
        let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        };
        add("cfg.json", &config);
        add("l1/layer.tar", &plain);
        if with_second {
            add("l2/layer.tar", &packed);
        }
        add(
            "manifest.json",
            br#"[{"Config":"cfg.json","RepoTags":["t:1"],"Layers":["l1/layer.tar","l2/layer.tar"]}]"#,
        );
        b.finish().unwrap();
    };
    let good = dir.path().join("good.tar");
    build(true, &good);
    let mut source = open_file_image(good.to_str().unwrap(), None).unwrap();
    let mut rec = Recorder::default();
    source.walk(&mut rec, &Limits::default()).unwrap();
    assert_eq!(
        rec.files().keys().collect::<Vec<_>>(),
        ["/etc/plain", "/etc/zstd"]
    );
    assert_eq!(source.target().tags, ["t:1"]);
    // The zstd layer's digest was computed from its stored bytes.
    assert!(rec.events.contains(&Event::Layer(1, sha256(&packed))));
    assert!(rec.events.contains(&Event::Layer(0, diff_ids[0].clone())));

    let bad = dir.path().join("bad.tar");
    build(false, &bad);
    match open_file_image(bad.to_str().unwrap(), None) {
        Err(e @ SourceError::MissingBlob { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("bad.tar") && msg.contains("l2/layer.tar"),
                "{msg}"
            );
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("missing layer accepted"),
    }
}

#[test]
fn truncated_and_garbage_archives_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let big = gzip(&layer_tar(&[T::File("x", &vec![1u8; 200_000])]));
    write_layout(&layout, &[big], "t", &[]);
    let archive = dir.path().join("full.tar");
    tar_dir(&layout, &archive);
    let bytes = std::fs::read(&archive).unwrap();
    let cases = [
        ("cut.tar", bytes[..bytes.len() / 2].to_vec()),
        (
            "garbage.tar",
            b"this is not a tar archive at all".repeat(40),
        ),
        ("empty.tar", Vec::new()),
        ("gzipped.tar.gz", gzip(&bytes)),
    ];
    for (name, data) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &data).unwrap();
        let err = open_file_image(p.to_str().unwrap(), None)
            .err()
            .expect(name);
        assert!(err.to_string().contains(name), "{name}: {err}");
        if name == "gzipped.tar.gz" {
            assert!(err.to_string().contains("decompress it first"), "{err}");
        }
    }
    let err = open_file_image("/nonexistent/image.tar", None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/image.tar"), "{err}");
    let err = open_file_image("oci:", None).err().unwrap();
    assert!(err.to_string().contains("oci:"), "{err}");
}

#[test]
fn invalid_digests_in_a_manifest_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_layout(
        dir.path(),
        &[gzip(&layer_tar(&[T::File("a", b"a")]))],
        "t",
        &[],
    );
    let index = std::fs::read_to_string(dir.path().join("index.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    let digest = v["manifests"][0]["digest"].as_str().unwrap().to_string();
    let hostile = index.replace(&digest, "sha256:../../../../etc/passwd");
    std::fs::write(dir.path().join("index.json"), hostile).unwrap();
    let spec = format!("oci:{}", dir.path().display());
    let err = open_file_image(&spec, None)
        .err()
        .expect("path-trick digest accepted");
    let msg = err.to_string();
    assert!(
        msg.contains(&spec) && msg.contains("not a sha256 digest"),
        "{msg}"
    );
}

/// Entries with a GNU long name, a long hard link, a pax header overriding
/// the next entry's size, and a plain entry; no end-of-archive blocks.
fn tricky_entries() -> (Vec<u8>, String, String) {
    let long = format!("usr/{}/file", "d".repeat(150));
    let link = format!("usr/{}/link", "l".repeat(120));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"long"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, &link, &long).unwrap();
    // A pax header that overrides the next entry's size.
    b.append_pax_extensions([("size", &b"3"[..]), ("path", b"etc/pax-named")])
        .unwrap();
    // Its header says 0 bytes; the 3 bytes of data follow as the pax size says.
    let mut h = tar::Header::new_ustar();
    h.set_path("etc/ustar-name").unwrap();
    h.set_size(0);
    h.set_mode(0o600);
    h.set_cksum();
    b.get_mut().extend_from_slice(h.as_bytes());
    b.get_mut().extend_from_slice(b"pax");
    b.get_mut().extend(std::iter::repeat_n(0u8, 509));
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    b.append_data(&mut h, "after", &b"after"[..]).unwrap();
    (b.get_ref().clone(), long, link)
}

#[test]
fn long_names_and_pax_headers_are_read() {
    let (mut layer, long, link) = tricky_entries();
    layer.extend(std::iter::repeat_n(0u8, 1024));
    let (rec, result) = walk_mem("long-names", vec![gzip(&layer)], &Limits::default());
    result.unwrap();
    let files = rec.files();
    assert_eq!(files[&format!("/{long}")], b"long");
    assert_eq!(files["/etc/pax-named"], b"pax");
    assert_eq!(files["/after"], b"after");
    assert!(rec
        .events
        .contains(&Event::Hardlink(format!("/{link}"), format!("/{long}"))));
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
}

#[test]
fn oversized_tar_metadata_is_refused_before_it_is_buffered() {
    // A GNU long name (and a pax header) claiming 4 MiB: the tar crate would
    // read it whole into memory, so the walker refuses it.
    // The third case comes after entries whose sizes the walker must follow
    // exactly (pax size override, long names) to find the hostile header.
    for (name, kind, after_tricky) in [
        ("longname-bomb", tar::EntryType::GNULongName, false),
        ("pax-bomb", tar::EntryType::XHeader, false),
        ("late-longname-bomb", tar::EntryType::GNULongName, true),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(4 << 20);
        h.set_cksum();
        let mut layer = if after_tricky {
            tricky_entries().0
        } else {
            Vec::new()
        };
        layer.extend_from_slice(h.as_bytes());
        layer.extend(std::iter::repeat_n(b'a', 4 << 20));
        layer.extend(layer_tar(&[T::File("x", b"x")]));
        let blob = gzip(&layer);
        let digest = sha256(&blob);
        let (rec, result) = walk_mem(name, vec![blob], &Limits::default());
        let err = result.expect_err(name);
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains(&digest), "{msg}");
        assert!(
            msg.contains("larger than the 1048576 bytes allowed"),
            "{msg}"
        );
        assert_eq!(rec.files().len(), if after_tricky { 3 } else { 0 });
    }
}

#[test]
fn large_layers_are_verified_too() {
    // Over the size from which the digest is computed on a helper thread.
    let content: Vec<u8> = (0..6u32 << 20).map(|i| (i * 7 + i / 4093) as u8).collect();
    let layer = layer_tar(&[T::File("big", &content), T::File("after", b"after")]);
    for packed in [layer.clone(), gzip(&layer)] {
        let (rec, result) = walk_mem("large", vec![packed.clone()], &Limits::default());
        result.unwrap();
        assert_eq!(rec.files()["/big"], content);
        assert_eq!(rec.files()["/after"], b"after");

        let mut image = MemoryImage::new("large-bad", vec![packed]);
        let wrong = format!("sha256:{}", "0".repeat(64));
        assert_ne!(wrong, sha256(&image.blobs[0]));
        image.layers[0].digest = wrong.clone();
        let mut rec = Recorder::default();
        match walk_layers(&mut image, &mut rec, &Limits::default()) {
            Err(SourceError::DigestMismatch {
                input,
                digest,
                actual,
            }) => {
                assert!(input.contains("large-bad"));
                assert_eq!(digest, wrong);
                assert_eq!(actual, sha256(&image.blobs[0]));
            }
            other => panic!("{other:?}"),
        }
    }
}

/// `docker save` from Docker 25 on: an OCI layout whose manifest.json names
/// layers and config by blob path. Read as a docker-archive (it carries the
/// tags), with digests taken from the paths.
#[test]
fn docker25_archive_with_blob_paths() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let layer = layer_tar(&[T::Dir("etc"), T::File("etc/hello", b"hi")]);
    let digests = write_layout(&layout, std::slice::from_ref(&layer), "t", &[]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(&manifest_digest[7..])).unwrap(),
    )
    .unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let docker_manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", &config_digest[7..]),
        "RepoTags": ["hello:25"],
        "Layers": [format!("blobs/sha256/{}", &digests[0][7..])],
        "LayerSources": {digests[0].clone(): {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": layer.len(), "digest": digests[0]}},
    }]);
    std::fs::write(
        layout.join("manifest.json"),
        serde_json::to_vec(&docker_manifest).unwrap(),
    )
    .unwrap();
    let archive = dir.path().join("docker25.tar");
    tar_dir(&layout, &archive);

    let image =
        garrison_source::image::archive::ArchiveImage::open("docker25", &archive, None).unwrap();
    assert_eq!(
        image.format(),
        garrison_source::image::archive::ArchiveFormat::Docker
    );
    let mut source = open_file_image(archive.to_str().unwrap(), None).unwrap();
    assert_eq!(source.target().tags, ["hello:25"]);
    assert_eq!(source.target().image_id.as_deref(), Some(config_digest));
    let mut rec = Recorder::default();
    source.walk(&mut rec, &Limits::default()).unwrap();
    assert_eq!(rec.events[0], Event::Layer(0, digests[0].clone()));
    assert_eq!(rec.files()["/etc/hello"], b"hi");
}
