//! The Debian packages installed on this machine, as `dpkg-query` lists them
//! (names such as `libstdc++6`, versions with epochs and tildes, source
//! packages with their own versions), with the license short names their
//! `/usr/share/doc/*/copyright` files declare (DEP-5 names such as `GPL-2+`,
//! `BSD-3-clause`, `public-domain`): real data for the presenters.
//!
//! Needs `dpkg-query` (Debian and derivatives); fails, not skips, without it.

use garrison_model::{
    purl_for, Distro, Ecosystem, Inventory, Package, SourcePackage, Target, TargetKind,
};
use std::collections::BTreeSet;
use std::process::Command;

fn os_release() -> Distro {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_else(|e| panic!("cannot read /etc/os-release: {e}"));
    let mut d = Distro::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim_matches('"').to_string();
        match k {
            "ID" => d.id = v,
            "VERSION_ID" => d.version_id = Some(v),
            "VERSION_CODENAME" => d.codename = Some(v),
            "PRETTY_NAME" => d.pretty_name = Some(v),
            _ => {}
        }
    }
    d
}

/// The distinct `License:` short names in a DEP-5 copyright file.
fn copyright_licenses(pkg: &str) -> Vec<String> {
    let path = format!("/usr/share/doc/{pkg}/copyright");
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("License:") {
            let v = v.trim();
            if !v.is_empty() {
                seen.insert(v.to_string());
            }
        }
    }
    seen.into_iter().collect()
}

pub fn host_inventory() -> Inventory {
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs dpkg-query (a Debian machine, as CI is): {e}")
        });
    assert!(
        out.status.success(),
        "dpkg-query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let distro = os_release();
    let mut inv = Inventory::new(Target::new(TargetKind::Rootfs, "/"));
    inv.distro = Some(distro.clone());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [status, name, version, arch, src, src_version] = f.as_slice() else {
            panic!("unexpected dpkg-query line {line:?}");
        };
        if !status.starts_with("ii") {
            continue;
        }
        let mut p = Package::new(Ecosystem::Deb, *name, *version, "/var/lib/dpkg/status");
        p.arch = Some(arch.to_string());
        p.source = Some(SourcePackage {
            name: src.to_string(),
            version: (src_version != version).then(|| src_version.to_string()),
        });
        p.licenses = copyright_licenses(name);
        p.purl = purl_for(&p, Some(&distro))
            .unwrap_or_else(|e| panic!("purl for host package {name}: {e}"));
        inv.packages.push(p);
    }
    inv.sort();
    assert!(
        inv.packages.len() > 50,
        "expected a real Debian system with more than 50 packages, found {}",
        inv.packages.len()
    );
    inv
}
