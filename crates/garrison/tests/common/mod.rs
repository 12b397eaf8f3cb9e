//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

pub mod up;

use std::path::PathBuf;
use std::process::Command;

/// Whether podman's image store has `image`.
pub fn podman_image_exists(image: &str) -> bool {
    Command::new("podman")
        .args(["image", "exists", image])
        .status()
        .unwrap()
        .success()
}

/// Makes sure podman's store has `image`: else loads it from `archive`, a path
/// under the fixtures (`fixtures/out`, or `$GARRISON_FIXTURES`) that the script
/// `make` saves (named in the failure when the archive is missing).
pub fn load_fixture_image(image: &str, archive: &str, make: &str) {
    if podman_image_exists(image) {
        return;
    }
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    let archive = base.join(archive);
    assert!(
        archive.exists(),
        "{} is missing: run {make} (as root) first",
        archive.display()
    );
    let out = Command::new("podman")
        .arg("load")
        .arg("-i")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(podman_image_exists(image), "podman load gave no {image}");
}

/// A podman container (by name), removed when dropped.
pub struct PodmanGuard(pub String);

impl Drop for PodmanGuard {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.0])
            .output();
    }
}

/// The OSV advisories under ../shared/data (or `$GARRISON_SHARED_DATA`).
pub fn shared_osv() -> PathBuf {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join("osv");
    assert!(p.is_dir(), "shared advisories missing at {}", p.display());
    p
}
