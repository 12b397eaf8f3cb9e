//! The bearer-token flow end to end, blob redirects, and hostile or broken
//! registries, against a scripted registry on 127.0.0.1 that serves the
//! fixture's OCI layout (fixtures/registry/make.sh).

#[path = "image_support/mod.rs"]
mod image_support;
mod registry_support;

use garrison_source::image::layout::LayoutImage;
use garrison_source::image::registry::{RegistryImage, RegistryOptions};
use garrison_source::image::{Image, ImageSource};
use garrison_source::{Limits, Source, SourceError};
use image_support::Recorder;
use registry_support::{fixture, Fake, FakeAuth, Faults, PASSWORD, USER};
use std::sync::atomic::Ordering;

fn layout() -> LayoutImage {
    LayoutImage::open("app-layout", &fixture("app-layout"), Some("1"), None).expect("open layout")
}

/// The fake speaks plain HTTP only (as with `--plain-http`); the https-first
/// fallback for loopback is proven against the real registry in registry_pull.rs.
fn plain() -> RegistryOptions {
    RegistryOptions {
        plain_http: true,
        ..Default::default()
    }
}

fn creds() -> RegistryOptions {
    RegistryOptions {
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..plain()
    }
}

fn open(reference: &str, opts: &RegistryOptions) -> RegistryImage {
    match RegistryImage::open(reference, opts) {
        Ok(i) => i,
        Err(e) => panic!("open {reference}: {e}"),
    }
}

fn open_err(reference: &str, opts: &RegistryOptions) -> SourceError {
    match RegistryImage::open(reference, opts) {
        Ok(i) => panic!("open {reference} succeeded: {i:?}"),
        Err(e) => {
            eprintln!("{e}");
            e
        }
    }
}

fn walk(source: &mut dyn Source) -> Result<Recorder, SourceError> {
    let mut rec = Recorder::default();
    source.walk(&mut rec, &Limits::default())?;
    Ok(rec)
}

fn fake(auth: FakeAuth, faults: Faults) -> Fake {
    Fake::start(&fixture("app-layout"), "test/app", auth, faults)
}

/// Pulls `test/app:1` from `fake` and checks it walks like the layout it serves.
fn pull_matches_layout(fake: &Fake, opts: &RegistryOptions) {
    let reference = format!("{}/test/app:1", fake.host());
    let pulled = open(&reference, opts);
    let expected = layout();
    assert_eq!(pulled.target().digest, expected.target().digest);
    assert_eq!(pulled.target().image_id, expected.target().image_id);
    assert_eq!(pulled.layers(), expected.layers());
    let got = walk(&mut Image(pulled)).expect("walk pulled image");
    let want = walk(&mut Image(expected)).expect("walk layout");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    assert_eq!(got.events, want.events);
}

#[test]
fn bearer_token_with_credentials_and_redirected_blobs() {
    let fake = fake(
        FakeAuth::Bearer {
            need_basic: true,
            field: "token",
        },
        Faults {
            redirect_blobs: true,
            ..Default::default()
        },
    );
    pull_matches_layout(&fake, &creds());
    // One token for the whole pull (cached per scope); the blobs came from
    // the storage server, which refuses any request carrying Authorization.
    assert_eq!(fake.counters.token_requests.load(Ordering::SeqCst), 1);
    assert_eq!(fake.counters.storage_requests.load(Ordering::SeqCst), 3);
}

#[test]
fn anonymous_bearer_token_from_access_token_field() {
    let fake = fake(
        FakeAuth::Bearer {
            need_basic: false,
            field: "access_token",
        },
        Faults::default(),
    );
    pull_matches_layout(&fake, &plain());
    assert_eq!(fake.counters.token_requests.load(Ordering::SeqCst), 1);
}

#[test]
fn bearer_token_server_refusals_are_explained() {
    let fake = fake(
        FakeAuth::Bearer {
            need_basic: true,
            field: "token",
        },
        Faults::default(),
    );
    let reference = format!("{}/test/app:1", fake.host());
    let msg = open_err(&reference, &plain()).to_string();
    assert!(
        msg.contains(&reference) && msg.contains("--username"),
        "{msg}"
    );

    let wrong = RegistryOptions {
        password: Some("wrong".into()),
        ..creds()
    };
    let msg = open_err(&reference, &wrong).to_string();
    assert!(
        msg.contains("token server") && msg.contains("rejected") && msg.contains(USER),
        "{msg}"
    );
}

#[test]
fn basic_auth_on_the_fake_and_a_registry_that_rejects_everyone() {
    let fake_ok = fake(FakeAuth::Basic { reject_all: false }, Faults::default());
    pull_matches_layout(&fake_ok, &creds());

    let fake_no = fake(FakeAuth::Basic { reject_all: true }, Faults::default());
    let reference = format!("{}/test/app:1", fake_no.host());
    let msg = open_err(&reference, &creds()).to_string();
    assert!(
        msg.contains(&reference) && msg.contains("rejected"),
        "{msg}"
    );
    let msg = open_err(&reference, &plain()).to_string();
    assert!(msg.contains("--username"), "{msg}");
}

#[test]
fn a_corrupt_layer_fails_the_walk_with_its_digest() {
    let bad = layout().layers()[0].digest.clone();
    let fake = fake(
        FakeAuth::None,
        Faults {
            corrupt_blob: Some(bad.clone()),
            ..Default::default()
        },
    );
    let pulled = open(&format!("{}/test/app:1", fake.host()), &plain());
    let err = walk(&mut Image(pulled))
        .err()
        .expect("a corrupt layer must fail the walk");
    assert!(err.to_string().contains(&bad), "{err}");
}

#[test]
fn a_corrupt_config_is_a_digest_mismatch() {
    let config = layout().target().image_id.expect("config digest");
    let fake = fake(
        FakeAuth::None,
        Faults {
            corrupt_blob: Some(config.clone()),
            ..Default::default()
        },
    );
    let err = open_err(&format!("{}/test/app:1", fake.host()), &plain());
    assert!(
        matches!(&err, SourceError::DigestMismatch { digest, input, .. } if *digest == config && input.contains("test/app")),
        "{err}"
    );
}

#[test]
fn manifests_that_do_not_match_their_digest_are_refused() {
    let fake_header = fake(
        FakeAuth::None,
        Faults {
            wrong_digest_header: true,
            ..Default::default()
        },
    );
    let err = open_err(&format!("{}/test/app:1", fake_header.host()), &plain());
    assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err}");

    let digest = layout().target().digest.expect("manifest digest");
    let fake_body = fake(
        FakeAuth::None,
        Faults {
            wrong_manifest_for_digest: true,
            ..Default::default()
        },
    );
    let err = open_err(&format!("{}/test/app@{digest}", fake_body.host()), &plain());
    assert!(
        matches!(&err, SourceError::DigestMismatch { digest: d, .. } if *d == digest),
        "{err}"
    );
}

#[test]
fn an_oversized_manifest_is_refused() {
    let fake = fake(
        FakeAuth::None,
        Faults {
            oversized_manifest: true,
            ..Default::default()
        },
    );
    let reference = format!("{}/test/app:1", fake.host());
    let msg = open_err(&reference, &plain()).to_string();
    assert!(
        msg.contains(&reference) && msg.contains("larger than"),
        "{msg}"
    );
}

#[test]
fn missing_blobs_and_blobs_of_the_wrong_length() {
    let layers = layout().layers().to_vec();
    let reference = |f: &Fake| format!("{}/test/app:1", f.host());

    let missing = fake(
        FakeAuth::None,
        Faults {
            missing_blob: Some(layers[1].digest.clone()),
            ..Default::default()
        },
    );
    let pulled = open(&reference(&missing), &plain());
    let err = walk(&mut Image(pulled)).err().expect("missing blob");
    assert!(
        matches!(&err, SourceError::MissingBlob { digest, .. } if *digest == layers[1].digest),
        "{err}"
    );

    let config = layout().target().image_id.expect("config digest");
    let missing_config = fake(
        FakeAuth::None,
        Faults {
            missing_blob: Some(config.clone()),
            ..Default::default()
        },
    );
    let err = open_err(&reference(&missing_config), &plain());
    assert!(
        matches!(&err, SourceError::MissingBlob { digest, .. } if *digest == config),
        "{err}"
    );

    // Declared length differs from the manifest's size: refused before reading.
    let lie = fake(
        FakeAuth::None,
        Faults {
            blob_length_lie: Some(layers[0].digest.clone()),
            ..Default::default()
        },
    );
    let mut pulled = open(&reference(&lie), &plain());
    let msg = match pulled.open_layer(0) {
        Ok(_) => panic!("a blob of the wrong length was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(
        msg.contains(&layers[0].digest) && msg.contains("bytes"),
        "{msg}"
    );

    // A chunked body that runs past the manifest's size is cut off with an error.
    let longer = fake(
        FakeAuth::None,
        Faults {
            longer_blob: Some(layers[0].digest.clone()),
            ..Default::default()
        },
    );
    let mut pulled = open(&reference(&longer), &plain());
    let mut blob = pulled.open_layer(0).expect("open layer");
    let err = registry_support::read_all(&mut blob).expect_err("an over-long blob must fail");
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[test]
fn a_blob_cut_short_fails_the_walk() {
    let layer = layout().layers()[0].digest.clone();
    let fake = fake(
        FakeAuth::None,
        Faults {
            shorter_blob: Some(layer.clone()),
            ..Default::default()
        },
    );
    let mut pulled = open(&format!("{}/test/app:1", fake.host()), &plain());
    let mut blob = pulled.open_layer(0).expect("open layer");
    let err = registry_support::read_all(&mut blob).expect_err("a short blob must fail");
    assert!(err.to_string().contains("short"), "{err}");
    drop(blob);
    let err = walk(&mut Image(pulled))
        .err()
        .expect("a short blob fails the walk");
    assert!(err.to_string().contains(&layer), "{err}");
}

#[test]
fn an_index_naming_an_invalid_digest_is_refused() {
    for bad in [
        "sha256:../../../v2/other/blobs/x".to_string(),
        format!("sha512:{}", "ab".repeat(64)),
        "sha256:ABC".to_string(),
    ] {
        let fake = fake(
            FakeAuth::None,
            Faults {
                index_entry_digest: Some(bad.clone()),
                ..Default::default()
            },
        );
        let reference = format!("{}/test/app:1", fake.host());
        let msg = open_err(&reference, &plain()).to_string();
        assert!(
            msg.contains(&reference) && msg.contains("index"),
            "{bad}: {msg}"
        );
    }
}

#[test]
fn an_unreachable_loopback_registry_is_reported() {
    // Bind and close a port so that nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let reference = format!("127.0.0.1:{port}/test/app:1");
    let msg = open_err(&reference, &RegistryOptions::default()).to_string();
    assert!(
        msg.contains(&reference) && msg.contains("https://") && msg.contains("plain http"),
        "{msg}"
    );
}
