//! End to end: the built `garrison` binary inventories a real Debian 12 system
//! in every shape it comes in (root filesystem, docker-archive, OCI archive, OCI
//! layout, a two-layer image whose second layer purges a package, a running
//! container), and the deb packages it reports equal what `dpkg-query -W` says.
//! The material is made by fixtures/debian/make.sh.

use garrison_model::{Ecosystem, Inventory, TargetKind};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const MAKE: &str = "fixtures/debian/make.sh";
const IMAGE: &str = "localhost/garrison-debian:12";

/// `<workspace>/fixtures/out/debian` (or `$GARRISON_FIXTURES/debian`).
fn fixtures() -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    base.join("debian")
}

/// A generated fixture file; panics naming the script that makes it.
fn fixture(name: &str) -> PathBuf {
    let p = fixtures().join(name);
    assert!(
        p.exists(),
        "fixture {} is missing: run {MAKE} (as root) first",
        p.display()
    );
    p
}

/// The oracle: `name<TAB>version` lines from dpkg-query.
fn expected(name: &str) -> BTreeSet<(String, String)> {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let set: BTreeSet<(String, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
            (n.to_string(), v.to_string())
        })
        .collect();
    assert!(
        set.len() > 50,
        "{}: only {} packages; remake it with {MAKE}",
        path.display(),
        set.len()
    );
    set
}

/// Runs `garrison sbom ARGS --format json` and parses the inventory.
fn sbom(args: &[&str]) -> Inventory {
    let out = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("sbom")
        .args(args)
        .args(["--format", "json", "--quiet"])
        .output()
        .expect("run garrison");
    assert!(
        out.status.success(),
        "garrison sbom {args:?} exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "garrison sbom {args:?} printed no inventory JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The deb packages of an inventory as (name, version), checking that none is listed twice.
fn debs(inv: &Inventory) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for p in inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
    {
        assert!(
            set.insert((p.name.clone(), p.version.clone())),
            "{} {} listed twice",
            p.name,
            p.version
        );
        assert_eq!(p.location, "/var/lib/dpkg/status", "{}", p.name);
        assert!(
            p.purl.starts_with("pkg:deb/debian/") && p.purl.contains("distro=debian-12"),
            "{}: purl {}",
            p.name,
            p.purl
        );
    }
    set
}

/// Asserts two package sets are equal, listing the differences.
fn assert_same(what: &str, got: &BTreeSet<(String, String)>, want: &BTreeSet<(String, String)>) {
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} packages missing {missing:?}, {} not in dpkg-query {extra:?}",
        missing.len(),
        extra.len()
    );
}

/// Licenses come from the machine-readable `/usr/share/doc/PKG/copyright` files
/// (dpkg's database has none): bash declares GPL-3+.
fn assert_deb_licenses(inv: &Inventory) {
    let bash = inv
        .packages
        .iter()
        .find(|p| p.name == "bash" && p.ecosystem == Ecosystem::Deb)
        .expect("bash is in every Debian system");
    assert!(
        bash.licenses.iter().any(|l| l == "GPL-3+"),
        "bash licenses: {:?}",
        bash.licenses
    );
}

fn assert_debian_12(inv: &Inventory) {
    let d = inv.distro.as_ref().expect("distro identified");
    assert_eq!(
        (d.id.as_str(), d.version_id.as_deref()),
        ("debian", Some("12"))
    );
}

/// For images: every package carries the digest of a layer of the image.
fn assert_layers(inv: &Inventory, layers: usize) {
    assert_eq!(inv.layers.len(), layers, "layers: {:?}", inv.layers);
    let first = &inv.layers[0].digest;
    assert!(first.starts_with("sha256:"), "{first}");
    for p in &inv.packages {
        // Nothing the dpkg database lists changed in a later layer, so every
        // package was introduced by the base layer.
        assert_eq!(
            p.layer.as_ref(),
            Some(first),
            "{}: layer {:?}",
            p.name,
            p.layer
        );
    }
}

#[test]
fn rootfs_inventory_equals_dpkg_query() {
    let rootfs = fixture("rootfs");
    let inv = sbom(&["rootfs", &rootfs.display().to_string()]);
    assert_eq!(inv.target.kind, TargetKind::Rootfs);
    assert_debian_12(&inv);
    assert_same("rootfs", &debs(&inv), &expected("expected-rootfs.tsv"));
    assert!(inv.packages.iter().all(|p| p.layer.is_none()));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    assert_deb_licenses(&inv);
}

fn image_test(arg: &str, oracle: &str, layers: usize) -> Inventory {
    let inv = sbom(&["image", arg]);
    assert_eq!(inv.target.kind, TargetKind::Image);
    assert_debian_12(&inv);
    assert_same(arg, &debs(&inv), &expected(oracle));
    assert_layers(&inv, layers);
    assert!(inv.warnings.is_empty(), "{arg}: {:?}", inv.warnings);
    assert_deb_licenses(&inv);
    inv
}

#[test]
fn docker_archive_inventory_equals_dpkg_query() {
    image_test(
        &fixture("debian-docker.tar").display().to_string(),
        "expected-rootfs.tsv",
        1,
    );
}

#[test]
fn oci_archive_inventory_equals_dpkg_query() {
    image_test(
        &fixture("debian-oci.tar").display().to_string(),
        "expected-rootfs.tsv",
        1,
    );
}

#[test]
fn oci_layout_inventory_equals_dpkg_query() {
    let layout = fixture("oci-layout").display().to_string();
    image_test(&format!("oci:{layout}:12"), "expected-rootfs.tsv", 1);
    // Without a tag the layout's only image is taken.
    image_test(&format!("oci:{layout}"), "expected-rootfs.tsv", 1);
}

#[test]
fn two_layer_image_does_not_report_the_purged_package() {
    let removed =
        std::fs::read_to_string(fixture("removed-package.txt")).expect("removed-package.txt");
    let removed = removed.trim();
    assert!(
        expected("expected-rootfs.tsv")
            .iter()
            .any(|(n, _)| n == removed),
        "{removed} should be in the base image"
    );
    for archive in ["purged-docker.tar", "purged-oci.tar"] {
        let inv = image_test(
            &fixture(archive).display().to_string(),
            "expected-purged.tsv",
            2,
        );
        assert!(
            !inv.packages.iter().any(|p| p.name == removed),
            "{archive}: {removed} was purged in the second layer but is reported"
        );
    }
}

/// A container running `sleep`, removed on drop.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.0])
            .output();
    }
}

fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn running_container_inventory_equals_dpkg_query_by_id_and_by_pid() {
    let want = expected("expected-rootfs.tsv");
    let exists = Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        exists,
        "podman image {IMAGE} is missing: run {MAKE} (as root) first"
    );
    let c = Running(podman(&[
        "run",
        "-d",
        "--network=none",
        IMAGE,
        "sleep",
        "600",
    ]));
    let pid = podman(&["inspect", "-f", "{{.State.Pid}}", &c.0]);
    for arg in [c.0.as_str(), &c.0[..12], pid.as_str()] {
        let inv = sbom(&["container", arg]);
        assert_eq!(inv.target.kind, TargetKind::Container);
        assert_eq!(
            inv.target.container_id.as_deref(),
            Some(c.0.as_str()),
            "{arg}"
        );
        assert_eq!(
            inv.target.pid.map(|p| p.to_string()),
            Some(pid.clone()),
            "{arg}"
        );
        assert_debian_12(&inv);
        assert_same(&format!("container {arg}"), &debs(&inv), &want);
    }
}
