//! What each presenter says: the table's columns, truncation, warnings and
//! summary; the JSON round trip; the CycloneDX and SPDX fields that matter to
//! consumers (refs, properties, licenses, relationships).

mod common;

use common::{empty, fixed_opts, render, render_json, rich, DIGEST, LAYER1};
use garrison_model::Inventory;
use garrison_report::{render_sbom, RenderOptions, ReportError, SbomFormat};
use serde_json::Value;
use std::collections::HashSet;
use unicode_width::UnicodeWidthStr;

fn props(component: &Value) -> Vec<(String, String)> {
    component["properties"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_string(),
                        p["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn prop<'a>(props: &'a [(String, String)], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn component<'a>(doc: &'a Value, name: &str, location: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .and_then(|cs| {
            cs.iter().find(|c| {
                c["name"] == name && prop(&props(c), "garrison:package:location") == Some(location)
            })
        })
        .unwrap_or_else(|| panic!("no component {name} at {location}"))
}

// ---------------------------------------------------------------- table

#[test]
fn table_lists_every_package_with_its_columns() {
    let inv = rich();
    let text = render(&inv, SbomFormat::Table, &RenderOptions::default());
    let header = text
        .lines()
        .find(|l| l.contains("NAME"))
        .unwrap_or_default();
    for col in ["NAME", "VERSION", "TYPE", "SOURCE", "LOCATION", "LAYER"] {
        assert!(header.contains(col), "missing column {col} in {header:?}");
    }
    // OS package with its source package and short layer digest.
    let line = text
        .lines()
        .find(|l| l.contains("libssl3"))
        .unwrap_or_default();
    assert!(
        line.contains("3.0.11-1~deb12u2") && line.contains("openssl"),
        "{line}"
    );
    assert!(
        line.contains("deb") && line.contains("/var/lib/dpkg/status"),
        "{line}"
    );
    assert!(
        line.contains("111111111111") && !line.contains("1111111111111"),
        "{line}"
    );
    // Source version shown when it differs from the binary's.
    let line = text
        .lines()
        .find(|l| l.contains("login"))
        .unwrap_or_default();
    assert!(line.contains("shadow 1:4.13+dfsg1-1"), "{line}");
    // Names as users write them; unicode kept.
    for needle in [
        "@babel/core",
        "@types/node",
        "org.slf4j:slf4j-api",
        "日本語-パッケージ",
        "naïve",
    ] {
        assert!(text.contains(needle), "{needle} missing from the table");
    }
    // One row per package (the duplicate lodash rows too).
    let rows = text.lines().filter(|l| l.contains("lodash")).count();
    assert_eq!(rows, 3);
    // Grouped: OS packages before language packages.
    let pos = |s: &str| text.find(s).unwrap_or(usize::MAX);
    assert!(pos("libssl3") < pos("openssl-libs") && pos("openssl-libs") < pos("serde"));
    assert!(!text.contains('\x1b'), "no ANSI codes without color");
}

#[test]
fn table_has_target_header_warnings_and_summary() {
    let text = render(&rich(), SbomFormat::Table, &RenderOptions::default());
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("image registry.local:5000/app:1.2"),
        "{first}"
    );
    assert!(
        first.contains(DIGEST) && first.contains("Debian GNU/Linux 12"),
        "{first}"
    );
    assert!(text.contains("2 warnings:"));
    assert!(text.contains("  /app/yarn.lock: cannot parse yarn.lock: line 12: expected a version"));
    // A newline inside a message cannot start a forged line.
    assert!(text.contains("decompression cap; its remaining entries were skipped"));
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(last, expected_summary(&rich()));
    assert!(
        last.contains("2 warnings") && last.contains("17 files read in 1.23 s"),
        "{last}"
    );
}

fn expected_summary(inv: &Inventory) -> String {
    let parts: Vec<String> = inv
        .counts()
        .iter()
        .map(|(e, n)| format!("{n} {e}"))
        .collect();
    format!(
        "{} packages ({}), 2 warnings, 17 files read in 1.23 s",
        inv.packages.len(),
        parts.join(", ")
    )
}

#[test]
fn table_fits_the_terminal_width() {
    let mut inv = rich();
    if let Some(p) = inv.packages.first_mut() {
        p.location = format!("/very/{}/long/path", "deep/".repeat(40));
    }
    for width in [60u16, 80, 120] {
        let opts = RenderOptions {
            width: Some(width),
            ..Default::default()
        };
        let text = render(&inv, SbomFormat::Table, &opts);
        let mut table_lines = 0;
        for line in text.lines() {
            // The table itself (box-drawing lines) must fit; warnings and the
            // summary are plain text the terminal wraps.
            if line.starts_with(['┌', '│', '├', '╞', '└']) {
                table_lines += 1;
                assert!(
                    line.width() <= usize::from(width),
                    "line wider than {width}: {line:?} ({})",
                    line.width()
                );
            }
        }
        assert!(
            table_lines > inv.packages.len(),
            "table missing at width {width}"
        );
        assert!(
            text.contains('…'),
            "long values are truncated with … at width {width}"
        );
    }
}

#[test]
fn table_colors_only_when_asked() {
    let opts = RenderOptions {
        color: true,
        width: Some(100),
        ..Default::default()
    };
    let text = render(&rich(), SbomFormat::Table, &opts);
    assert!(text.contains("\x1b["), "ANSI codes expected with color");
    // Input values never carry their own escapes into the terminal.
    let mut inv = rich();
    if let Some(p) = inv.packages.first_mut() {
        p.name = "evil\x1b]0;pwned\x07".into();
    }
    let text = render(&inv, SbomFormat::Table, &RenderOptions::default());
    assert!(!text.contains('\x1b') && !text.contains('\x07'));
}

#[test]
fn table_for_an_empty_inventory() {
    let text = render(&empty(), SbomFormat::Table, &RenderOptions::default());
    assert!(text.starts_with("filesystem ./empty-project\n"), "{text}");
    assert!(text.contains("No packages found."));
    assert!(
        text.contains("0 packages, 0 warnings, 0 files read in 0 ms"),
        "{text}"
    );
    assert!(!text.contains("NAME"));
}

// ---------------------------------------------------------------- json

#[test]
fn json_is_the_inventory_as_is() {
    for inv in [rich(), empty()] {
        let text = render(&inv, SbomFormat::Json, &RenderOptions::default());
        let back: Inventory = match serde_json::from_str(&text) {
            Ok(i) => i,
            Err(e) => panic!("json output does not read back: {e}"),
        };
        assert_eq!(back, inv);
    }
    let doc = render_json(&rich(), SbomFormat::Json, &RenderOptions::default());
    for key in [
        "schema_version",
        "target",
        "distro",
        "layers",
        "packages",
        "warnings",
        "stats",
    ] {
        assert!(doc.get(key).is_some(), "json output lacks {key}");
    }
    assert_eq!(doc["schema_version"], 1);
    let doc = render_json(&empty(), SbomFormat::Json, &RenderOptions::default());
    assert_eq!(doc["packages"], serde_json::json!([]));
}

/// The example in docs/json-output.md is exactly what the JSON and table
/// presenters write for it: the documentation cannot drift from the code.
#[test]
fn documented_example_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-output.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let block = |fence: &str| -> String {
        let start = doc
            .find(fence)
            .unwrap_or_else(|| panic!("no {fence:?} block in {}", path.display()))
            + fence.len();
        let len = doc[start..].find("```").unwrap_or(0);
        doc[start..start + len].to_string()
    };
    let json = block("```json\n");
    let inv: Inventory = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the documented example does not parse: {e}"));
    assert_eq!(
        render(&inv, SbomFormat::Json, &RenderOptions::default()),
        json
    );
    let table = block("default `--format table`:\n\n```\n");
    assert_eq!(
        render(&inv, SbomFormat::Table, &RenderOptions::default()),
        table
    );
}

// ---------------------------------------------------------------- cyclonedx

#[test]
fn cyclonedx_document_fields() {
    let inv = rich();
    let doc = render_json(&inv, SbomFormat::CycloneDx, &fixed_opts());
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["version"], 1);
    assert_eq!(
        doc["serialNumber"],
        "urn:uuid:5a5a5a5a-5a5a-4a5a-9a5a-5a5a5a5a5a5a"
    );
    assert_eq!(doc["metadata"]["timestamp"], "2025-12-04T00:00:00Z");
    let tool = &doc["metadata"]["tools"]["components"][0];
    assert_eq!(tool["name"], "garrison");
    assert_eq!(tool["version"], env!("CARGO_PKG_VERSION"));

    let root = &doc["metadata"]["component"];
    assert_eq!(root["type"], "container");
    assert_eq!(root["name"], "registry.local:5000/app:1.2");
    assert_eq!(root["version"], DIGEST);
    assert_eq!(root["hashes"][0]["alg"], "SHA-256");
    let rp = props(root);
    assert_eq!(prop(&rp, "garrison:image:platform"), Some("linux/amd64"));
    assert_eq!(
        rp.iter()
            .filter(|(n, _)| n == "garrison:image:layer")
            .count(),
        2
    );

    // One component per package plus the operating system.
    let comps = doc["components"].as_array().cloned().unwrap_or_default();
    assert_eq!(comps.len(), inv.packages.len() + 1);
    let os = &comps[0];
    assert_eq!(os["type"], "operating-system");
    assert_eq!(os["name"], "debian");
    assert_eq!(os["version"], "12");
    assert!(comps[1..].iter().all(|c| c["type"] == "library"));

    // Unique bom-refs; duplicates discriminated by location.
    let refs: Vec<&str> = comps.iter().filter_map(|c| c["bom-ref"].as_str()).collect();
    assert_eq!(refs.len(), comps.len());
    assert_eq!(refs.iter().collect::<HashSet<_>>().len(), refs.len());
    let lodash: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|r| r.contains("lodash"))
        .collect();
    assert_eq!(
        lodash,
        [
            "pkg:npm/lodash@4.17.21#/app/node_modules/lodash/package.json",
            "pkg:npm/lodash@4.17.21#/app/node_modules/lodash/package.json#2",
            "pkg:npm/lodash@4.17.21#/app/package-lock.json",
        ]
    );
    // A unique purl is its own bom-ref.
    assert!(refs.contains(&"pkg:cargo/serde@1.0.193"));

    // The metadata component depends on everything.
    let deps = doc["dependencies"].as_array().cloned().unwrap_or_default();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["ref"], root["bom-ref"]);
    let on: Vec<&str> = deps[0]["dependsOn"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(on, refs);

    // Warnings travel in the metadata.
    let mp = props(&doc["metadata"]);
    assert!(prop(&mp, "garrison:warning").is_some_and(|w| w.starts_with("/app/yarn.lock: ")));
}

#[test]
fn cyclonedx_os_package_properties() {
    let doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    let c = component(&doc, "libssl3", "/var/lib/dpkg/status");
    assert_eq!(
        c["purl"],
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    let p = props(c);
    assert_eq!(prop(&p, "garrison:package:source-name"), Some("openssl"));
    assert_eq!(
        prop(&p, "garrison:package:source-version"),
        Some("3.0.11-1~deb12u2")
    );
    assert_eq!(prop(&p, "garrison:package:arch"), Some("amd64"));
    assert_eq!(prop(&p, "garrison:package:layer"), Some(LAYER1));
    assert_eq!(prop(&p, "garrison:package:type"), Some("deb"));
    assert_eq!(prop(&p, "garrison:package:epoch"), None);
    assert_eq!(
        c["licenses"],
        serde_json::json!([
            {"license": {"id": "Apache-2.0", "acknowledgement": "declared"}},
            {"license": {"name": "GPL-2+", "acknowledgement": "declared"}}
        ])
    );

    let c = component(&doc, "login", "/var/lib/dpkg/status");
    let p = props(c);
    assert_eq!(prop(&p, "garrison:package:epoch"), Some("1"));
    assert_eq!(prop(&p, "garrison:package:source-name"), Some("shadow"));
    assert_eq!(
        prop(&p, "garrison:package:source-version"),
        Some("1:4.13+dfsg1-1")
    );
    assert_eq!(c["version"], "1:4.13+dfsg1-1+b1");

    let c = component(&doc, "openssl-libs", "/var/lib/rpm/rpmdb.sqlite");
    assert_eq!(prop(&props(c), "garrison:package:epoch"), Some("1"));
    assert_eq!(prop(&props(c), "garrison:package:arch"), Some("x86_64"));
}

#[test]
fn cyclonedx_language_packages() {
    let doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    let c = component(
        &doc,
        "slf4j-api",
        "/app/app.war!/WEB-INF/lib/slf4j-api-1.7.36.jar",
    );
    assert_eq!(c["group"], "org.slf4j");
    assert_eq!(c["purl"], "pkg:maven/org.slf4j/slf4j-api@1.7.36");
    assert_eq!(
        prop(&props(c), "garrison:package:property:maven.source"),
        Some("pom.properties")
    );
    let c = component(&doc, "core", "/app/package-lock.json");
    assert_eq!(c["group"], "@babel");
    assert_eq!(c["purl"], "pkg:npm/%40babel/core@7.23.0");
    assert_eq!(prop(&props(c), "garrison:package:direct"), Some("true"));
    let c = component(&doc, "node", "/app/package-lock.json");
    assert_eq!(c["group"], "@types");
    assert_eq!(prop(&props(c), "garrison:package:dev"), Some("true"));
    let c = component(&doc, "github.com/gorilla/mux", "/usr/local/bin/server");
    assert_eq!(c["purl"], "pkg:golang/github.com/gorilla/mux@v1.8.0");
    assert!(c.get("group").is_none());
    // Two strings that are the same expression collapse into one.
    let c = component(&doc, "serde", "/src/Cargo.lock");
    assert_eq!(
        c["licenses"],
        serde_json::json!([{"expression": "MIT OR Apache-2.0", "acknowledgement": "declared"}])
    );
    // Placeholders and blanks dropped; a compound expression among single ids.
    let c = component(&doc, "left-pad", "/app/package-lock.json");
    assert_eq!(
        c["licenses"],
        serde_json::json!([{"expression": "WTFPL AND (MIT AND Zlib)", "acknowledgement": "declared"}])
    );
    let c = component(&doc, "日本語-パッケージ", "/app/package-lock.json");
    assert_eq!(c["licenses"][0]["license"]["name"], "許可証 ©2024");
    // No purl: still a component, with a synthesized bom-ref and no purl field.
    let c = component(&doc, "no-purl", "/app/package-lock.json");
    assert!(c.get("purl").is_none());
    assert_eq!(c["bom-ref"], "garrison:npm/no-purl@0.0.1");
}

#[test]
fn cyclonedx_serial_numbers_are_random_by_default() {
    let a = render_json(&empty(), SbomFormat::CycloneDx, &RenderOptions::default());
    let b = render_json(&empty(), SbomFormat::CycloneDx, &RenderOptions::default());
    assert_ne!(a["serialNumber"], b["serialNumber"]);
    let s = a["serialNumber"].as_str().unwrap_or_default();
    // urn:uuid: + version 4 + RFC 4122 variant.
    assert_eq!(s.len(), 45, "{s}");
    assert_eq!(&s[23..24], "4", "{s}");
    assert!(matches!(&s[28..29], "8" | "9" | "a" | "b"), "{s}");
    // The empty inventory: a file-system application with no components.
    assert_eq!(a["metadata"]["component"]["type"], "application");
    assert_eq!(a["components"], serde_json::json!([]));
}

// ---------------------------------------------------------------- spdx

#[test]
fn spdx_document_fields() {
    let inv = rich();
    let doc = render_json(&inv, SbomFormat::SpdxJson, &fixed_opts());
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert_eq!(doc["name"], "registry.local:5000/app:1.2");
    assert_eq!(
        doc["documentNamespace"],
        "https://spdx.org/spdxdocs/garrison-image-registry.local-5000-app-1.2-5a5a5a5a-5a5a-4a5a-9a5a-5a5a5a5a5a5a"
    );
    assert_eq!(doc["creationInfo"]["created"], "2025-12-04T00:00:00Z");
    assert_eq!(
        doc["creationInfo"]["creators"],
        serde_json::json!([format!("Tool: garrison-{}", env!("CARGO_PKG_VERSION"))])
    );

    let pkgs = doc["packages"].as_array().cloned().unwrap_or_default();
    // Root, operating system, then one per package.
    assert_eq!(pkgs.len(), inv.packages.len() + 2);
    assert_eq!(pkgs[0]["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(pkgs[0]["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(pkgs[1]["primaryPackagePurpose"], "OPERATING_SYSTEM");

    let ids: Vec<&str> = pkgs.iter().filter_map(|p| p["SPDXID"].as_str()).collect();
    assert_eq!(ids.len(), pkgs.len());
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "SPDXIDs unique"
    );
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap_or_default();
        assert!(
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "bad SPDXID {id}"
        );
    }
    for p in &pkgs {
        assert_eq!(p["downloadLocation"], "NOASSERTION");
        assert_eq!(p["filesAnalyzed"], false);
        assert_eq!(p["licenseConcluded"], "NOASSERTION");
    }

    // DOCUMENT DESCRIBES root; root CONTAINS everything else.
    let rels = doc["relationships"].as_array().cloned().unwrap_or_default();
    assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(rels[0]["relatedSpdxElement"], ids[0]);
    let contained: Vec<&str> = rels[1..]
        .iter()
        .inspect(|r| {
            assert_eq!(r["spdxElementId"], ids[0]);
            assert_eq!(r["relationshipType"], "CONTAINS");
        })
        .filter_map(|r| r["relatedSpdxElement"].as_str())
        .collect();
    assert_eq!(contained, ids[1..]);
}

#[test]
fn spdx_packages_and_licenses() {
    let doc = render_json(&rich(), SbomFormat::SpdxJson, &fixed_opts());
    let pkgs = doc["packages"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| {
        pkgs.iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no SPDX package {name}"))
    };

    let ssl = find("libssl3");
    assert_eq!(ssl["versionInfo"], "3.0.11-1~deb12u2");
    assert_eq!(
        ssl["externalRefs"][0]["referenceCategory"],
        "PACKAGE-MANAGER"
    );
    assert_eq!(ssl["externalRefs"][0]["referenceType"], "purl");
    assert!(ssl["externalRefs"][0]["referenceLocator"]
        .as_str()
        .is_some_and(|s| s.starts_with("pkg:deb/debian/libssl3@")));
    assert_eq!(ssl["licenseDeclared"], "Apache-2.0 AND LicenseRef-GPL-2");
    assert_eq!(
        ssl["sourceInfo"],
        format!("acquired package info from /var/lib/dpkg/status in layer {LAYER1}")
    );
    let comment = ssl["comment"].as_str().unwrap_or_default();
    assert!(comment.contains("source package: openssl"), "{comment}");
    assert!(comment.contains("arch: amd64"), "{comment}");
    assert_eq!(ssl["primaryPackagePurpose"], "LIBRARY");

    let login = find("login");
    let comment = login["comment"].as_str().unwrap_or_default();
    assert!(
        comment.contains("source package: shadow 1:4.13+dfsg1-1"),
        "{comment}"
    );
    assert!(comment.contains("epoch: 1"), "{comment}");
    assert_eq!(
        login["licenseDeclared"],
        "GPL-2.0-or-later AND LicenseRef-BSD-3-clause"
    );

    assert_eq!(find("@babel/core")["licenseDeclared"], "MIT");
    assert_eq!(
        find("org.slf4j:slf4j-api")["licenseDeclared"],
        "LicenseRef-The-Apache-Software-License-Version-2.0"
    );
    assert_eq!(find("serde")["licenseDeclared"], "MIT OR Apache-2.0");
    assert_eq!(find("naïve")["licenseDeclared"], "NOASSERTION");
    assert!(find("no-purl").get("externalRefs").is_none());

    common::assert_spdx_licenses_consistent(&doc);
    let infos = doc["hasExtractedLicensingInfos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        find("acme-sdk")["licenseDeclared"],
        "LicenseRef-Acme-Proprietary"
    );
    assert_eq!(
        find("acme-cli")["licenseDeclared"],
        "LicenseRef-Acme-Proprietary-2 AND LicenseRef-DocumentRef-acme-LicenseRef-EULA-OR-MIT"
    );
    let texts: Vec<&str> = infos
        .iter()
        .filter_map(|i| i["extractedText"].as_str())
        .collect();
    for t in [
        "GPL-2+",
        "許可証 ©2024",
        "SEE LICENSE IN LICENSE.md",
        "MIT\nwith a newline",
        "ASL 2.0",
    ] {
        assert!(
            texts.contains(&t),
            "{t:?} not kept as extracted text: {texts:?}"
        );
    }
}

#[test]
fn spdx_empty_inventory_and_fresh_namespaces() {
    let a = render_json(&empty(), SbomFormat::SpdxJson, &RenderOptions::default());
    let b = render_json(&empty(), SbomFormat::SpdxJson, &RenderOptions::default());
    assert_ne!(a["documentNamespace"], b["documentNamespace"]);
    let pkgs = a["packages"].as_array().cloned().unwrap_or_default();
    assert_eq!(pkgs.len(), 1);
    assert_eq!(pkgs[0]["primaryPackagePurpose"], "SOURCE");
    assert_eq!(a["relationships"].as_array().map(Vec::len), Some(1));
    assert!(a.get("hasExtractedLicensingInfos").is_none());
}

// ---------------------------------------------------------------- errors

struct Broken;
impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "pipe closed",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_failures_are_typed_errors() {
    for format in SbomFormat::ALL {
        let err = render_sbom(&rich(), format, &RenderOptions::default(), &mut Broken);
        match err {
            Err(ReportError::Write { format: f, source }) => {
                assert_eq!(f, format.name());
                assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
            }
            other => panic!("{format}: expected a write error, got {other:?}"),
        }
    }
}
