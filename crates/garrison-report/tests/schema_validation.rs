//! CycloneDX output must validate against the official CycloneDX 1.6 JSON
//! schema, and SPDX output against the official SPDX 2.3 JSON schema.
//!
//! The schemas are installed by `scripts/fetch-schemas` into
//! `<workspace>/.tools/schemas` (override: env `GARRISON_SCHEMAS`). Validation
//! is offline: the schemas that `bom-1.6.schema.json` references are served
//! from those local files by a retriever that refuses every other URI, and
//! the `jsonschema` crate is built without its HTTP resolver.

mod common;

use common::{empty, fixed_opts, render_json, rich};
use garrison_model::{Inventory, TargetKind};
use garrison_report::{RenderOptions, SbomFormat};
use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    match std::env::var_os("GARRISON_SCHEMAS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/schemas"),
    }
}

fn load(rel: &str) -> Value {
    let path = schema_dir().join(rel);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!(
            "schema {} is missing ({e}): run scripts/fetch-schemas to install the official \
             CycloneDX and SPDX JSON schemas",
            path.display()
        ),
    };
    match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!(
            "schema {} is not JSON ({e}): run scripts/fetch-schemas again",
            path.display()
        ),
    }
}

/// Serves the schemas `bom-1.6.schema.json` refers to from local files, and
/// refuses everything else: the test never touches the network.
struct LocalSchemas(HashMap<String, Value>);

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.get(uri.as_str()).cloned().ok_or_else(|| {
            format!(
                "{} is not a local schema; refusing to fetch it",
                uri.as_str()
            )
            .into()
        })
    }
}

fn validator(main: &str, refs: &[(&str, &str)]) -> Validator {
    let schema = load(main);
    let local = LocalSchemas(
        refs.iter()
            .map(|(uri, rel)| (uri.to_string(), load(rel)))
            .collect(),
    );
    match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .with_retriever(local)
        .build(&schema)
    {
        Ok(v) => v,
        Err(e) => panic!("cannot compile schema {main}: {e}"),
    }
}

fn cyclonedx_validator() -> Validator {
    validator(
        "cyclonedx/bom-1.6.schema.json",
        &[
            (
                "http://cyclonedx.org/schema/spdx.schema.json",
                "cyclonedx/spdx.schema.json",
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                "cyclonedx/jsf-0.82.schema.json",
            ),
        ],
    )
}

fn spdx_validator() -> Validator {
    validator("spdx/spdx-2.3.schema.json", &[])
}

fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("  at {}: {}", e.instance_path(), e))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n{}\n\ndocument:\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
}

#[test]
fn cyclonedx_rich_inventory_validates() {
    let v = cyclonedx_validator();
    let doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    assert_valid(&v, &doc, "CycloneDX for the rich inventory");
    // And with a fresh random serial number and the current time.
    let doc = render_json(&rich(), SbomFormat::CycloneDx, &RenderOptions::default());
    assert_valid(
        &v,
        &doc,
        "CycloneDX for the rich inventory (default options)",
    );
}

#[test]
fn cyclonedx_empty_inventory_validates() {
    let doc = render_json(&empty(), SbomFormat::CycloneDx, &fixed_opts());
    assert_valid(
        &cyclonedx_validator(),
        &doc,
        "CycloneDX for the empty inventory",
    );
}

#[test]
fn spdx_rich_inventory_validates() {
    let v = spdx_validator();
    let doc = render_json(&rich(), SbomFormat::SpdxJson, &fixed_opts());
    assert_valid(&v, &doc, "SPDX for the rich inventory");
    let doc = render_json(&rich(), SbomFormat::SpdxJson, &RenderOptions::default());
    assert_valid(&v, &doc, "SPDX for the rich inventory (default options)");
}

#[test]
fn spdx_empty_inventory_validates() {
    let doc = render_json(&empty(), SbomFormat::SpdxJson, &fixed_opts());
    assert_valid(&spdx_validator(), &doc, "SPDX for the empty inventory");
}

/// The validators are not vacuous: documents that break the schemas' rules
/// are rejected.
#[test]
fn validators_reject_broken_documents() {
    let cdx = cyclonedx_validator();
    let mut doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    doc["serialNumber"] = Value::from("not-a-urn");
    assert!(!cdx.is_valid(&doc), "a bad serialNumber must fail");

    let mut doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    // A license id that is not on the SPDX list (checked through the
    // referenced spdx.schema.json).
    doc["components"][1]["licenses"] = serde_json::json!([{"license": {"id": "Not-A-License"}}]);
    assert!(!cdx.is_valid(&doc), "an unknown SPDX id must fail");

    let mut doc = render_json(&rich(), SbomFormat::CycloneDx, &fixed_opts());
    doc["metadata"]["timestamp"] = Value::from("yesterday");
    assert!(
        !cdx.is_valid(&doc),
        "a timestamp that is not date-time must fail"
    );

    let spdx = spdx_validator();
    let mut doc = render_json(&rich(), SbomFormat::SpdxJson, &fixed_opts());
    doc["packages"][1]["primaryPackagePurpose"] = Value::from("GADGET");
    assert!(!spdx.is_valid(&doc), "an unknown package purpose must fail");
    let mut doc = render_json(&rich(), SbomFormat::SpdxJson, &fixed_opts());
    if let Some(o) = doc.as_object_mut() {
        o.remove("creationInfo");
    }
    assert!(
        !spdx.is_valid(&doc),
        "a document without creationInfo must fail"
    );
}

/// The rich inventory as each kind of target (the root component's type and
/// purpose depend on it).
fn every_kind() -> Vec<Inventory> {
    [
        TargetKind::Image,
        TargetKind::Rootfs,
        TargetKind::Filesystem,
        TargetKind::Container,
    ]
    .into_iter()
    .map(|k| {
        let mut inv = rich();
        inv.target.kind = k;
        if k == TargetKind::Container {
            inv.target.container_id = Some("4f9c1e2a7b3d".into());
            inv.target.pid = Some(4242);
        }
        inv
    })
    .collect()
}

#[test]
fn every_target_kind_validates() {
    let cdx = cyclonedx_validator();
    let spdx = spdx_validator();
    for inv in every_kind() {
        let what = format!("{:?} target", inv.target.kind);
        let doc = render_json(&inv, SbomFormat::CycloneDx, &fixed_opts());
        assert_valid(&cdx, &doc, &format!("CycloneDX for a {what}"));
        let doc = render_json(&inv, SbomFormat::SpdxJson, &fixed_opts());
        assert_valid(&spdx, &doc, &format!("SPDX for a {what}"));
    }
}

#[test]
fn host_packages_validate() {
    let inv = common::host::host_inventory();
    let doc = render_json(&inv, SbomFormat::CycloneDx, &fixed_opts());
    assert_valid(
        &cyclonedx_validator(),
        &doc,
        "CycloneDX for this machine's packages",
    );
    let doc = render_json(&inv, SbomFormat::SpdxJson, &fixed_opts());
    assert_valid(&spdx_validator(), &doc, "SPDX for this machine's packages");
}

/// Every identifier on the `spdx` crate's license list, declared as a
/// package's license, still validates: the presenter never writes a
/// `license.id` the CycloneDX schema's list lacks. Guards against the crate's
/// list moving ahead of the schemas (update scripts/fetch-schemas then).
#[test]
fn every_known_license_id_validates() {
    let mut inv = empty();
    for (i, l) in spdx::identifiers::LICENSES.iter().enumerate() {
        let mut p = garrison_model::Package::new(
            garrison_model::Ecosystem::Npm,
            format!("pkg-{i}"),
            "1.0.0",
            "/package-lock.json",
        );
        p.licenses = vec![l.name.to_string()];
        p.purl = format!("pkg:npm/pkg-{i}@1.0.0");
        inv.packages.push(p);
    }
    assert!(
        inv.packages.len() > 500,
        "the spdx crate lists its licenses"
    );
    let doc = render_json(&inv, SbomFormat::CycloneDx, &fixed_opts());
    assert_valid(
        &cyclonedx_validator(),
        &doc,
        &format!(
            "CycloneDX with every SPDX {} license id",
            spdx::identifiers::VERSION
        ),
    );
    let doc = render_json(&inv, SbomFormat::SpdxJson, &fixed_opts());
    assert_valid(&spdx_validator(), &doc, "SPDX with every license id");
}
