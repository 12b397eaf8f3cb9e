//! Real data through every presenter: the Debian packages installed on this
//! machine (see `common/host.rs`).

mod common;

use common::host::host_inventory;
use common::{fixed_opts, render, render_json};
use garrison_report::{RenderOptions, SbomFormat};
use std::collections::HashSet;

#[test]
fn host_packages_through_every_presenter() {
    let inv = host_inventory();
    let n = inv.packages.len();

    let text = render(&inv, SbomFormat::Table, &RenderOptions::default());
    assert!(text.contains(&format!("{n} packages ({n} deb)")), "summary");
    assert!(text.lines().any(|l| l.contains("libc6")), "libc6 row");

    let cdx = render_json(&inv, SbomFormat::CycloneDx, &fixed_opts());
    let comps = cdx["components"].as_array().cloned().unwrap_or_default();
    assert_eq!(comps.len(), n + 1, "one component per package plus the OS");
    let refs: HashSet<&str> = comps.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    assert_eq!(refs.len(), comps.len(), "unique bom-refs");

    let spdx = render_json(&inv, SbomFormat::SpdxJson, &fixed_opts());
    let pkgs = spdx["packages"].as_array().cloned().unwrap_or_default();
    assert_eq!(pkgs.len(), n + 2, "root, OS, and one per package");
    let ids: HashSet<&str> = pkgs.iter().filter_map(|p| p["SPDXID"].as_str()).collect();
    assert_eq!(ids.len(), pkgs.len(), "unique SPDXIDs");
    common::assert_spdx_licenses_consistent(&spdx);
    let libc = pkgs
        .iter()
        .find(|p| p["name"] == "libc6")
        .unwrap_or_else(|| panic!("libc6 missing from SPDX"));
    assert!(libc["comment"]
        .as_str()
        .is_some_and(|c| c.contains("source package: glibc")));
}
