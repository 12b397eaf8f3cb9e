//! Inventories shared by the presenter tests: a rich one that exercises every
//! field and awkward value, and an empty one.

#![allow(dead_code)]

pub mod host;

use garrison_model::{
    purl_for, Distro, Ecosystem, Inventory, LayerInfo, Package, SourcePackage, Stats, Target,
    TargetKind, Warning,
};
use garrison_report::{render_sbom, RenderOptions, SbomFormat};
use std::time::{Duration, SystemTime};

pub const LAYER1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const LAYER2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub const DIGEST: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub fn debian() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        codename: Some("bookworm".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        id_like: Vec::new(),
    }
}

fn pkg(eco: Ecosystem, name: &str, version: &str, location: &str, licenses: &[&str]) -> Package {
    let mut p = Package::new(eco, name, version, location);
    p.licenses = licenses.iter().map(|s| s.to_string()).collect();
    p
}

fn os(
    eco: Ecosystem,
    name: &str,
    version: &str,
    source: Option<(&str, Option<&str>)>,
    arch: &str,
    layer: &str,
    licenses: &[&str],
) -> Package {
    let location = match eco {
        Ecosystem::Rpm => "/var/lib/rpm/rpmdb.sqlite",
        Ecosystem::Apk => "/lib/apk/db/installed",
        _ => "/var/lib/dpkg/status",
    };
    let mut p = pkg(eco, name, version, location, licenses);
    p.source = source.map(|(n, v)| SourcePackage {
        name: n.into(),
        version: v.map(Into::into),
    });
    p.arch = Some(arch.into());
    p.layer = Some(layer.into());
    p
}

/// An image inventory with OS packages (source, arch, epoch, distro), npm
/// scoped packages, maven, go, pypi, cargo, gem, composer and nuget packages,
/// one package found in two locations (and one listed twice in one file),
/// weird license strings and unicode names.
pub fn rich() -> Inventory {
    let mut target = Target::new(TargetKind::Image, "registry.local:5000/app:1.2");
    target.digest = Some(DIGEST.into());
    target.image_id =
        Some("sha256:3333333333333333333333333333333333333333333333333333333333333333".into());
    target.tags = vec!["registry.local:5000/app:1.2".into()];
    target.platform = Some("linux/amd64".into());
    let mut inv = Inventory::new(target);
    let distro = debian();
    inv.distro = Some(distro.clone());
    inv.layers = vec![
        LayerInfo {
            digest: LAYER1.into(),
            diff_id: Some(
                "sha256:4444444444444444444444444444444444444444444444444444444444444444".into(),
            ),
            media_type: Some("application/vnd.oci.image.layer.v1.tar+gzip".into()),
            size: Some(29_123_456),
            created_by: Some("/bin/sh -c #(nop) ADD file:abc in /".into()),
        },
        LayerInfo {
            digest: LAYER2.into(),
            diff_id: None,
            media_type: Some("application/vnd.oci.image.layer.v1.tar+zstd".into()),
            size: None,
            created_by: Some("RUN npm ci".into()),
        },
    ];

    let mut pkgs = vec![
        os(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            Some(("openssl", None)),
            "amd64",
            LAYER1,
            &["Apache-2.0", "GPL-2+"],
        ),
        os(
            Ecosystem::Deb,
            "login",
            "1:4.13+dfsg1-1+b1",
            Some(("shadow", Some("1:4.13+dfsg1-1"))),
            "amd64",
            LAYER1,
            &["GPL-2.0-or-later", "BSD-3-clause"],
        ),
        os(
            Ecosystem::Deb,
            "libc6",
            "2.36-9+deb12u4",
            Some(("glibc", None)),
            "amd64",
            LAYER1,
            &[
                "LGPL-2.1+",
                "GPL-2.0-or-later WITH GCC-exception-3.1",
                "public-domain",
            ],
        ),
        os(
            Ecosystem::Rpm,
            "openssl-libs",
            "1:3.0.7-27.el9",
            Some(("openssl", Some("3.0.7-27.el9"))),
            "x86_64",
            LAYER2,
            &["ASL 2.0"],
        ),
    ];

    let mut babel = pkg(
        Ecosystem::Npm,
        "@babel/core",
        "7.23.0",
        "/app/package-lock.json",
        &["MIT"],
    );
    babel.direct = Some(true);
    babel.layer = Some(LAYER2.into());
    pkgs.push(babel);
    let mut types_node = pkg(
        Ecosystem::Npm,
        "node",
        "20.10.0",
        "/app/package-lock.json",
        &["MIT"],
    );
    types_node.namespace = Some("@types".into());
    types_node.dev = true;
    pkgs.push(types_node);
    // The same package in two places, and listed twice in one lockfile.
    pkgs.push(pkg(
        Ecosystem::Npm,
        "lodash",
        "4.17.21",
        "/app/package-lock.json",
        &["MIT"],
    ));
    pkgs.push(pkg(
        Ecosystem::Npm,
        "lodash",
        "4.17.21",
        "/app/node_modules/lodash/package.json",
        &["MIT"],
    ));
    pkgs.push(pkg(
        Ecosystem::Npm,
        "lodash",
        "4.17.21",
        "/app/node_modules/lodash/package.json",
        &["MIT"],
    ));
    pkgs.push(pkg(
        Ecosystem::Npm,
        "日本語-パッケージ",
        "1.0.0-β",
        "/app/package-lock.json",
        &["許可証 ©2024", "SEE LICENSE IN LICENSE.md"],
    ));
    pkgs.push(pkg(
        Ecosystem::Npm,
        "left-pad",
        "1.3.0",
        "/app/package-lock.json",
        &["WTFPL", "  ", "NOASSERTION", "(MIT AND Zlib)"],
    ));

    let mut slf4j = pkg(
        Ecosystem::Maven,
        "slf4j-api",
        "1.7.36",
        "/app/app.war!/WEB-INF/lib/slf4j-api-1.7.36.jar",
        &["The Apache Software License, Version 2.0"],
    );
    slf4j.namespace = Some("org.slf4j".into());
    slf4j
        .properties
        .insert("maven.source".into(), "pom.properties".into());
    pkgs.push(slf4j);

    let mut mux = pkg(
        Ecosystem::Go,
        "github.com/gorilla/mux",
        "v1.8.0",
        "/usr/local/bin/server",
        &["BSD-3-Clause"],
    );
    mux.properties
        .insert("go.toolchain".into(), "go1.21.5".into());
    pkgs.push(mux);

    pkgs.push(pkg(
        Ecosystem::PyPI,
        "Django",
        "4.2.7",
        "/usr/lib/python3/dist-packages/Django-4.2.7.dist-info/METADATA",
        &["BSD License", "BSD-3-Clause"],
    ));
    pkgs.push(pkg(
        Ecosystem::PyPI,
        "requests",
        "2.31.0",
        "/srv/requirements.txt",
        &["Apache 2.0", "MIT\nwith a newline"],
    ));
    pkgs.push(pkg(
        Ecosystem::Cargo,
        "serde",
        "1.0.193",
        "/src/Cargo.lock",
        &["MIT OR Apache-2.0", "MIT/Apache-2.0"],
    ));
    pkgs.push(pkg(
        Ecosystem::Cargo,
        "naïve",
        "0.1.0",
        "/src/Cargo.lock",
        &[],
    ));
    // A LicenseRef the package declares itself, free text that would sanitize
    // to the same identifier, and a reference into another SPDX document.
    pkgs.push(pkg(
        Ecosystem::Npm,
        "acme-sdk",
        "2.0.0",
        "/app/package-lock.json",
        &["LicenseRef-Acme-Proprietary"],
    ));
    pkgs.push(pkg(
        Ecosystem::Npm,
        "acme-cli",
        "2.0.0",
        "/app/package-lock.json",
        &[
            "Acme Proprietary",
            "DocumentRef-acme:LicenseRef-EULA OR MIT",
        ],
    ));
    pkgs.push(pkg(
        Ecosystem::RubyGems,
        "rails",
        "7.1.2",
        "/app/Gemfile.lock",
        &["MIT"],
    ));
    pkgs.push(pkg(
        Ecosystem::Packagist,
        "symfony/console",
        "v6.4.0",
        "/app/composer.lock",
        &["MIT"],
    ));
    pkgs.push(pkg(
        Ecosystem::NuGet,
        "Newtonsoft.Json",
        "13.0.3",
        "/app/packages.lock.json",
        &["MIT"],
    ));

    for p in &mut pkgs {
        p.purl = purl_for(p, Some(&distro)).unwrap_or_default();
    }
    // A package whose purl could not be formed is still rendered.
    pkgs.push(pkg(
        Ecosystem::Npm,
        "no-purl",
        "0.0.1",
        "/app/package-lock.json",
        &[],
    ));

    inv.packages = pkgs;
    inv.sort();
    inv.warnings = vec![
        Warning::new(
            "/app/yarn.lock",
            "cannot parse yarn.lock: line 12: expected a version",
        ),
        Warning::new(
            "sha256:5555555555555555555555555555555555555555555555555555555555555555",
            "layer exceeds the 4 GiB decompression cap;\nits remaining entries were skipped",
        ),
    ];
    inv.stats = Stats {
        files_seen: 12_345,
        files_read: 17,
        bytes_read: 4_567_890,
        duration_ms: 1_234,
    };
    inv
}

/// A file-system inventory with nothing in it.
pub fn empty() -> Inventory {
    Inventory::new(Target::new(TargetKind::Filesystem, "./empty-project"))
}

/// Options that make CycloneDX and SPDX output reproducible.
pub fn fixed_opts() -> RenderOptions {
    RenderOptions {
        color: false,
        width: None,
        created: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_806_400)),
        document_id: Some([0x5a; 16]),
    }
}

pub fn render(inv: &Inventory, format: SbomFormat, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    if let Err(e) = render_sbom(inv, format, opts, &mut out) {
        panic!("rendering {format} failed: {e}");
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => panic!("{format} output is not UTF-8: {e}"),
    }
}

pub fn render_json(inv: &Inventory, format: SbomFormat, opts: &RenderOptions) -> serde_json::Value {
    let text = render(inv, format, opts);
    match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{format} output is not JSON: {e}\n{text}"),
    }
}

/// Every `licenseDeclared` of an SPDX document is `NOASSERTION` or a strict
/// SPDX expression (deprecated ids allowed), and the `LicenseRef-`s used are
/// exactly those `hasExtractedLicensingInfos` defines, each once.
pub fn assert_spdx_licenses_consistent(doc: &serde_json::Value) {
    use std::collections::HashSet;
    let infos = doc["hasExtractedLicensingInfos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let defined: HashSet<String> = infos
        .iter()
        .filter_map(|i| i["licenseId"].as_str().map(String::from))
        .collect();
    assert_eq!(defined.len(), infos.len(), "a LicenseRef defined twice");
    let mode = spdx::ParseMode {
        allow_deprecated: true,
        ..spdx::ParseMode::STRICT
    };
    let mut used = HashSet::new();
    for p in doc["packages"].as_array().cloned().unwrap_or_default() {
        let decl = p["licenseDeclared"].as_str().unwrap_or_default();
        if decl == "NOASSERTION" {
            continue;
        }
        let expr = spdx::Expression::parse_mode(decl, mode)
            .unwrap_or_else(|e| panic!("licenseDeclared {decl:?} is not SPDX: {e}"));
        for req in expr.requirements() {
            if let spdx::LicenseItem::Other(r) = &req.req.license {
                used.insert(r.to_string());
            }
        }
    }
    assert_eq!(used, defined, "LicenseRefs used vs defined");
}
