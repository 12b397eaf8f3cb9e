//! Pulls from a real registry (Debian's docker-registry) on 127.0.0.1: images
//! pushed with skopeo come back with the same digests, layers and files as
//! the archive they were pushed from; basic auth over TLS; multi-arch
//! indexes and `--platform`; clear errors for missing images and bad auth.
//!
//! Needs fixtures/registry/make.sh and the packages docker-registry and skopeo.

#[path = "image_support/mod.rs"]
mod image_support;
mod registry_support;

use garrison_source::image::archive::ArchiveImage;
use garrison_source::image::layout::LayoutImage;
use garrison_source::image::oci::PlatformSpec;
use garrison_source::image::registry::{RegistryImage, RegistryOptions};
use garrison_source::image::{Image, ImageSource};
use garrison_source::{Limits, Source, SourceError};
use image_support::{sha256, Recorder};
use registry_support::{fixture, Mode, Registry, PASSWORD, USER};

fn open(reference: &str, opts: &RegistryOptions) -> RegistryImage {
    match RegistryImage::open(reference, opts) {
        Ok(i) => i,
        Err(e) => panic!("open {reference}: {e}"),
    }
}

fn open_err(reference: &str, opts: &RegistryOptions) -> String {
    match RegistryImage::open(reference, opts) {
        Ok(i) => panic!("open {reference} succeeded: {i:?}"),
        Err(e) => {
            eprintln!("{reference}: {e}");
            e.to_string()
        }
    }
}

fn walk(source: &mut dyn Source) -> Recorder {
    let mut rec = Recorder::default();
    if let Err(e) = source.walk(&mut rec, &Limits::default()) {
        panic!("walk {}: {e}", source.target().name);
    }
    rec
}

fn archive() -> ArchiveImage {
    let path = fixture("app-oci.tar");
    ArchiveImage::open("app-oci.tar", &path, None).expect("open the fixture archive")
}

/// The pulled image has the archive's manifest digest, config digest, layers
/// and platform, every layer streams to its digest, and a walk reports
/// exactly the entries, contents and events of the archive's walk.
fn assert_same_as_archive(pulled: RegistryImage) {
    let expected = archive();
    let (t, e) = (pulled.target(), expected.target());
    assert_eq!(t.digest, e.digest);
    assert_eq!(t.image_id, e.image_id);
    assert_eq!(t.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(pulled.layers(), expected.layers());
    assert_eq!(pulled.layers().len(), 2);

    let mut pulled = pulled;
    for (i, layer) in pulled.layers().to_vec().iter().enumerate() {
        let mut got = Vec::new();
        let mut blob = pulled.open_layer(i).expect("open layer");
        std::io::copy(&mut blob, &mut got).expect("stream layer");
        drop(blob);
        assert_eq!(
            sha256(&got),
            layer.digest,
            "layer {i} streamed to its digest"
        );
        assert_eq!(Some(got.len() as u64), layer.size);
    }

    let mut from_registry = Image(pulled);
    let mut from_archive = Image(expected);
    let got = walk(&mut from_registry);
    let want = walk(&mut from_archive);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(
        got.events, want.events,
        "the pulled image walks like its archive"
    );
    let files = got.files();
    assert!(files
        .get("/var/lib/dpkg/status")
        .is_some_and(|s| String::from_utf8_lossy(s).contains("Package: libc6")));
    assert_eq!(
        files.get("/app/hello.txt").map(Vec::as_slice),
        Some(&b"hello from layer 2\n"[..])
    );
}

#[test]
fn anonymous_pull_by_tag_and_by_digest_matches_the_archive() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );

    // Default options: https is tried first and fails, then plain http (loopback only).
    let reference = format!("{}/test/app:1", registry.host());
    let pulled = open(&reference, &RegistryOptions::default());
    assert_eq!(pulled.target().name, reference);
    assert_eq!(pulled.target().tags, vec![reference.clone()]);
    let digest = pulled.target().digest.expect("manifest digest");
    assert_same_as_archive(pulled);

    let by_digest = format!("{}/test/app@{digest}", registry.host());
    let opts = RegistryOptions {
        plain_http: true,
        ..Default::default()
    };
    let pulled = open(&by_digest, &opts);
    assert_eq!(pulled.target().digest.as_deref(), Some(digest.as_str()));
    assert!(pulled.target().tags.is_empty());
    assert_same_as_archive(pulled);
}

#[test]
fn missing_repository_tag_and_blob_name_the_reference() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );

    for reference in [
        format!("{}/test/app:nope", registry.host()),
        format!("{}/test/nothing-here:1", registry.host()),
        format!("{}/test/app@sha256:{}", registry.host(), "ab".repeat(32)),
    ] {
        let msg = open_err(&reference, &RegistryOptions::default());
        assert!(msg.contains(&reference), "{msg}");
        assert!(msg.contains("does not exist"), "{msg}");
    }

    let msg = open_err(
        &format!("{}/Test/App:1", registry.host()),
        &RegistryOptions::default(),
    );
    assert!(msg.contains("invalid repository name"), "{msg}");
}

#[test]
fn basic_auth_over_tls_with_a_private_ca() {
    let registry = Registry::start(Mode::TlsBasic);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );
    let reference = format!("{}/test/app:1", registry.host());
    let ca = fixture("tls/cert.pem");

    // No credentials: the message says how to give them.
    let anonymous = RegistryOptions {
        ca_file: Some(ca.clone()),
        ..Default::default()
    };
    let msg = open_err(&reference, &anonymous);
    assert!(
        msg.contains(&reference) && msg.contains("--username"),
        "{msg}"
    );

    // Wrong password: rejected, naming the user and where it came from.
    let wrong = RegistryOptions {
        ca_file: Some(ca.clone()),
        username: Some(USER.into()),
        password: Some("not-the-password".into()),
        ..Default::default()
    };
    let msg = open_err(&reference, &wrong);
    assert!(msg.contains("rejected") && msg.contains(USER), "{msg}");

    let good = RegistryOptions {
        ca_file: Some(ca.clone()),
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    // The certificate is not trusted without the CA file, and plain http
    // fallback cannot help a TLS registry: the message points at --ca-file.
    let untrusted = RegistryOptions {
        ca_file: None,
        ..good.clone()
    };
    let msg = open_err(&reference, &untrusted);
    assert!(msg.contains("--ca-file"), "{msg}");

    assert_same_as_archive(open(&reference, &good));

    let insecure = RegistryOptions {
        insecure_skip_verify: true,
        ..untrusted
    };
    assert_same_as_archive(open(&reference, &insecure));

    // A CA file that is not PEM is reported as such.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_ca = registry_support::write_file(dir.path(), "ca.pem", b"not a certificate\n");
    let msg = open_err(
        &reference,
        &RegistryOptions {
            ca_file: Some(bad_ca),
            ..good
        },
    );
    assert!(msg.contains("ca.pem"), "{msg}");
}

#[test]
fn multi_arch_index_and_platform_selection() {
    let registry = Registry::start(Mode::Anonymous);
    let layout = fixture("multi-layout");
    registry.push(&format!("oci:{}:1", layout.display()), "test/multi:1", true);
    let reference = format!("{}/test/multi:1", registry.host());

    for (platform, want_platform, marker) in [
        (None, "linux/amd64", "amd64\n"),
        (Some("linux/amd64"), "linux/amd64", "amd64\n"),
        (Some("linux/arm64"), "linux/arm64/v8", "arm64\n"),
        (Some("linux/arm64/v8"), "linux/arm64/v8", "arm64\n"),
    ] {
        let opts = RegistryOptions {
            platform: platform.map(str::to_string),
            ..Default::default()
        };
        let pulled = open(&reference, &opts);
        assert_eq!(pulled.target().platform.as_deref(), Some(want_platform));

        // Same image as the layout resolves for that platform.
        let spec = platform.map(|p| PlatformSpec::parse(p).expect("platform"));
        let from_layout =
            LayoutImage::open("multi-layout", &layout, Some("1"), spec.as_ref()).expect("layout");
        assert_eq!(pulled.target().digest, from_layout.target().digest);
        assert_eq!(pulled.layers(), from_layout.layers());

        let rec = walk(&mut Image(pulled));
        assert_eq!(
            rec.files().get("/etc/garrison-arch").map(Vec::as_slice),
            Some(marker.as_bytes()),
            "platform {platform:?}"
        );
    }

    let opts = RegistryOptions {
        platform: Some("linux/s390x".into()),
        ..Default::default()
    };
    let msg = open_err(&reference, &opts);
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );

    let opts = RegistryOptions {
        platform: Some("linux".into()),
        ..Default::default()
    };
    let msg = open_err(&reference, &opts);
    assert!(msg.contains("os/arch"), "{msg}");

    // A single-platform manifest is checked against a requested platform.
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );
    let opts = RegistryOptions {
        platform: Some("linux/arm64".into()),
        ..Default::default()
    };
    let msg = open_err(&format!("{}/test/app:1", registry.host()), &opts);
    assert!(
        msg.contains("linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

#[test]
fn missing_blob_in_a_real_registry_is_reported_by_digest() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );
    let reference = format!("{}/test/app:1", registry.host());
    let pulled = open(&reference, &RegistryOptions::default());
    let layer = pulled.layers()[1].digest.clone();
    // Delete the layer blob through the registry's API (deletes are enabled).
    let url = format!("http://{}/v2/test/app/blobs/{layer}", registry.host());
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    let status = agent.delete(&url).call().map(|r| r.status().as_u16());
    assert!(matches!(status, Ok(202)), "DELETE {url}: {status:?}");
    let mut pulled = open(&reference, &RegistryOptions::default());
    let err = match pulled.open_layer(1) {
        Ok(_) => panic!("a deleted blob streamed"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, SourceError::MissingBlob { digest, input } if *digest == layer && input.contains("test/app")),
        "{err}"
    );
    let mut rec = Recorder::default();
    let err = Image(pulled)
        .walk(&mut rec, &Limits::default())
        .expect_err("walk with a missing blob");
    assert!(err.to_string().contains(&layer), "{err}");
}

/// The walk's events without the layer digests, for images whose layers were
/// recompressed (same files, other blobs).
fn entries_only(rec: &Recorder) -> Vec<image_support::Event> {
    rec.events
        .iter()
        .filter(|e| !matches!(e, image_support::Event::Layer(..)))
        .cloned()
        .collect()
}

#[test]
fn docker_schema2_manifest_and_manifest_list() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push_with(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:v2s2",
        false,
        &["--format", "v2s2"],
    );
    let opts = RegistryOptions {
        plain_http: true,
        ..Default::default()
    };
    let pulled = open(&format!("{}/test/app:v2s2", registry.host()), &opts);
    let expected = archive();
    for layer in pulled.layers() {
        assert_eq!(
            layer.media_type.as_deref(),
            Some("application/vnd.docker.image.rootfs.diff.tar.gzip")
        );
    }
    let digests = |layers: &[garrison_model::LayerInfo]| -> Vec<String> {
        layers.iter().map(|l| l.digest.clone()).collect()
    };
    assert_eq!(digests(pulled.layers()), digests(expected.layers()));
    assert_ne!(pulled.target().digest, expected.target().digest);
    let got = walk(&mut Image(pulled));
    let want = walk(&mut Image(expected));
    assert_eq!(got.events, want.events);

    // A Docker manifest list made from the multi-arch layout.
    let layout = fixture("multi-layout");
    registry.push_with(
        &format!("oci:{}:1", layout.display()),
        "test/multi:v2s2",
        true,
        &["--format", "v2s2"],
    );
    let arm = RegistryOptions {
        platform: Some("linux/arm64".into()),
        ..opts
    };
    let pulled = open(&format!("{}/test/multi:v2s2", registry.host()), &arm);
    assert_eq!(pulled.target().platform.as_deref(), Some("linux/arm64/v8"));
    let rec = walk(&mut Image(pulled));
    assert_eq!(
        rec.files().get("/etc/garrison-arch").map(Vec::as_slice),
        Some(&b"arm64\n"[..])
    );
}

#[test]
fn zstd_layers_stream_from_the_registry() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push_with(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:zstd",
        false,
        &["--dest-compress-format", "zstd", "--dest-compress"],
    );
    let pulled = open(
        &format!("{}/test/app:zstd", registry.host()),
        &RegistryOptions::default(),
    );
    for layer in pulled.layers() {
        assert_eq!(
            layer.media_type.as_deref(),
            Some("application/vnd.oci.image.layer.v1.tar+zstd")
        );
    }
    let got = walk(&mut Image(pulled));
    let want = walk(&mut Image(archive()));
    assert_eq!(entries_only(&got), entries_only(&want));
}

#[test]
fn ipv6_loopback_registry() {
    let registry = Registry::start(Mode::Anonymous);
    let archive_path = fixture("app-oci.tar");
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "test/app:1",
        false,
    );
    let registry = registry.move_to("::1");
    let reference = format!("{}/test/app:1", registry.host());
    assert!(reference.starts_with("[::1]:"));
    assert_same_as_archive(open(&reference, &RegistryOptions::default()));
}
