//! CycloneDX 1.6 JSON.
//!
//! Written with our own serde structs rather than the `cyclonedx-bom` crate:
//! the crate (0.8.1, the newest on crates.io) models specification versions
//! 1.3 to 1.5 only, so it cannot emit the 1.6 document this presenter must
//! write (`tools` as components, `acknowledgement` on licenses, ...); it would
//! also bring in an XML stack, regex, `time` and `fluent-uri` for the handful
//! of fields we fill. The structs below cover exactly what Garrison emits; the
//! output is checked against the official 1.6 JSON schema in
//! `tests/schema_validation.rs`.
//!
//! Property names: every Garrison-specific fact is a component property in
//! the `garrison:` namespace (`garrison:package:location`, `...:layer`,
//! `...:source-name`, `...:source-version`, `...:arch`, `...:epoch`,
//! `...:type`), as the CycloneDX property taxonomy recommends for tools.

use crate::license::{self, Term};
use crate::{os_epoch, sha256_hex, target_kind_name, RenderOptions, TOOL_VERSION};
use garrison_model::{Ecosystem, Inventory, Package, TargetKind};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

pub(crate) const SPEC_VERSION: &str = "1.6";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

impl Component {
    fn new(kind: &'static str, name: impl Into<String>) -> Component {
        Component {
            kind,
            bom_ref: None,
            group: None,
            name: name.into(),
            version: None,
            description: None,
            hashes: Vec::new(),
            licenses: Vec::new(),
            purl: None,
            properties: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License {
        license: License,
    },
    Expression {
        expression: String,
        acknowledgement: &'static str,
    },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    acknowledgement: &'static str,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

fn prop(props: &mut Vec<Property>, name: &str, value: impl Into<String>) {
    props.push(Property {
        name: name.to_string(),
        value: value.into(),
    });
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// Builds the CycloneDX document for `inv`.
pub(crate) fn build(inv: &Inventory, opts: &RenderOptions) -> Bom {
    let refs = bom_refs(&inv.packages);
    let mut components = Vec::with_capacity(inv.packages.len() + 1);
    let mut taken: HashSet<String> = refs.iter().cloned().collect();

    let root_ref = unique_ref(&mut taken, "garrison:target");
    let root = root_component(inv, root_ref.clone());

    if let Some(d) = &inv.distro {
        let os_ref = unique_ref(&mut taken, &format!("garrison:os:{}", d.purl_qualifier()));
        let mut c = Component::new("operating-system", d.id.clone());
        c.bom_ref = Some(os_ref);
        c.version = d.version_id.clone();
        c.description = d.pretty_name.clone();
        if let Some(cn) = &d.codename {
            prop(&mut c.properties, "garrison:os:codename", cn.clone());
        }
        if !d.id_like.is_empty() {
            prop(
                &mut c.properties,
                "garrison:os:id-like",
                d.id_like.join(" "),
            );
        }
        components.push(c);
    }

    for (pkg, bom_ref) in inv.packages.iter().zip(refs) {
        components.push(package_component(pkg, bom_ref));
    }

    let dependencies = vec![Dependency {
        reference: root_ref,
        depends_on: components
            .iter()
            .filter_map(|c| c.bom_ref.clone())
            .collect(),
    }];

    let mut tool = Component::new("application", "garrison");
    tool.version = Some(TOOL_VERSION.to_string());

    let mut meta_props = Vec::new();
    for w in &inv.warnings {
        prop(
            &mut meta_props,
            "garrison:warning",
            format!("{}: {}", w.input, w.message),
        );
    }

    Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: format!("urn:uuid:{}", opts.document_uuid()),
        version: 1,
        metadata: Metadata {
            timestamp: opts.created_rfc3339(),
            tools: Tools {
                components: vec![tool],
            },
            component: root,
            properties: meta_props,
        },
        components,
        dependencies,
    }
}

fn root_component(inv: &Inventory, bom_ref: String) -> Component {
    let t = &inv.target;
    let kind = match t.kind {
        TargetKind::Image | TargetKind::Container => "container",
        TargetKind::Rootfs | TargetKind::Filesystem => "application",
    };
    let mut c = Component::new(kind, t.name.clone());
    c.bom_ref = Some(bom_ref);
    c.version = t.digest.clone();
    if let Some(h) = t.digest.as_deref().and_then(sha256_hex) {
        c.hashes.push(Hash {
            alg: "SHA-256",
            content: h.to_string(),
        });
    }
    let p = &mut c.properties;
    prop(p, "garrison:target:kind", target_kind_name(t.kind));
    if let Some(d) = &t.digest {
        prop(p, "garrison:image:digest", d.clone());
    }
    if let Some(id) = &t.image_id {
        prop(p, "garrison:image:id", id.clone());
    }
    for tag in &t.tags {
        prop(p, "garrison:image:tag", tag.clone());
    }
    if let Some(pl) = &t.platform {
        prop(p, "garrison:image:platform", pl.clone());
    }
    if let Some(cid) = &t.container_id {
        prop(p, "garrison:container:id", cid.clone());
    }
    if let Some(pid) = t.pid {
        prop(p, "garrison:container:pid", pid.to_string());
    }
    for l in &inv.layers {
        prop(p, "garrison:image:layer", l.digest.clone());
        if let Some(d) = &l.diff_id {
            prop(p, "garrison:image:diff-id", d.clone());
        }
    }
    c
}

fn package_component(pkg: &Package, bom_ref: String) -> Component {
    let (group, name) = match pkg.ecosystem {
        Ecosystem::Maven => (pkg.namespace.clone(), pkg.name.clone()),
        Ecosystem::Npm => match (&pkg.namespace, pkg.name.split_once('/')) {
            (Some(ns), _) => (Some(ns.clone()), pkg.name.clone()),
            (None, Some((scope, n))) if scope.starts_with('@') => {
                (Some(scope.to_string()), n.to_string())
            }
            _ => (None, pkg.name.clone()),
        },
        _ => (pkg.namespace.clone(), pkg.name.clone()),
    };
    let mut c = Component::new("library", name);
    c.bom_ref = Some(bom_ref);
    c.group = group.filter(|g| !g.is_empty());
    c.version = Some(pkg.version.clone());
    c.purl = (!pkg.purl.is_empty()).then(|| pkg.purl.clone());
    c.licenses = licenses(&pkg.licenses);

    let p = &mut c.properties;
    prop(p, "garrison:package:type", pkg.ecosystem.purl_type());
    prop(p, "garrison:package:location", pkg.location.clone());
    if let Some(l) = &pkg.layer {
        prop(p, "garrison:package:layer", l.clone());
    }
    if let Some(src) = &pkg.source {
        prop(p, "garrison:package:source-name", src.name.clone());
        let v = src.version.clone().unwrap_or_else(|| pkg.version.clone());
        prop(p, "garrison:package:source-version", v);
    }
    if let Some(a) = &pkg.arch {
        prop(p, "garrison:package:arch", a.clone());
    }
    if let Some(e) = os_epoch(pkg) {
        prop(p, "garrison:package:epoch", e);
    }
    if let Some(d) = pkg.direct {
        prop(p, "garrison:package:direct", d.to_string());
    }
    if pkg.dev {
        prop(p, "garrison:package:dev", "true");
    }
    for (k, v) in &pkg.properties {
        prop(p, &format!("garrison:package:property:{k}"), v.clone());
    }
    c
}

/// CycloneDX allows either license objects (each an SPDX id or a free-text
/// name) or exactly one SPDX expression. Single identifiers and names become
/// license objects; if every declared string is an SPDX expression and one of
/// them is compound, they become one expression joined with `AND`; in the rare
/// mix of compound expressions and free text, each string becomes a license
/// object, compound expressions as names, so that nothing is lost.
fn licenses(declared: &[String]) -> Vec<LicenseChoice> {
    let terms = license::classify_all(declared);
    let all_spdx = terms.iter().all(|t| matches!(t, Term::Spdx { .. }));
    let any_compound = terms.iter().any(|t| {
        matches!(
            t,
            Term::Spdx {
                single_id: None,
                ..
            }
        )
    });
    if all_spdx && any_compound {
        let expression = license::join_and(terms.iter().filter_map(|t| match t {
            Term::Spdx { expression, .. } => Some(expression.as_str()),
            Term::Name(_) => None,
        }));
        return vec![LicenseChoice::Expression {
            expression,
            acknowledgement: "declared",
        }];
    }
    terms
        .into_iter()
        .map(|t| {
            let (id, name) = match t {
                Term::Spdx {
                    single_id: Some(id),
                    ..
                } => (Some(id), None),
                Term::Spdx { expression, .. } => (None, Some(expression)),
                Term::Name(n) => (None, Some(n)),
            };
            LicenseChoice::License {
                license: License {
                    id,
                    name,
                    acknowledgement: "declared",
                },
            }
        })
        .collect()
}

/// A unique `bom-ref` per package: its purl when no other package has the
/// same purl, else `purl#location` (and a `#N` counter if even that repeats,
/// e.g. one lockfile listing a package twice). Packages without a purl get
/// `garrison:TYPE/NAME@VERSION` in its place.
fn bom_refs(pkgs: &[Package]) -> Vec<String> {
    let base: Vec<String> = pkgs
        .iter()
        .map(|p| {
            if p.purl.is_empty() {
                format!(
                    "garrison:{}/{}@{}",
                    p.ecosystem.purl_type(),
                    p.full_name(),
                    p.version
                )
            } else {
                p.purl.clone()
            }
        })
        .collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for b in &base {
        *counts.entry(b.as_str()).or_insert(0) += 1;
    }
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(pkgs.len());
    for (p, b) in pkgs.iter().zip(&base) {
        let candidate = if counts.get(b.as_str()).copied().unwrap_or(0) > 1 {
            format!("{b}#{}", p.location)
        } else {
            b.clone()
        };
        out.push(unique_ref(&mut taken, &candidate));
    }
    out
}

fn unique_ref(taken: &mut HashSet<String>, candidate: &str) -> String {
    if taken.insert(candidate.to_string()) {
        return candidate.to_string();
    }
    let mut n = 2usize;
    loop {
        let c = format!("{candidate}#{n}");
        if taken.insert(c.clone()) {
            return c;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_unique() {
        let mut a = Package::new(Ecosystem::Npm, "x", "1", "/a/package-lock.json");
        a.purl = "pkg:npm/x@1".into();
        let mut b = a.clone();
        b.location = "/b/package-lock.json".into();
        let c = b.clone();
        let mut d = Package::new(Ecosystem::Npm, "y", "1", "/a/package-lock.json");
        d.purl = "pkg:npm/y@1".into();
        let refs = bom_refs(&[a, b, c, d]);
        assert_eq!(
            refs,
            [
                "pkg:npm/x@1#/a/package-lock.json",
                "pkg:npm/x@1#/b/package-lock.json",
                "pkg:npm/x@1#/b/package-lock.json#2",
                "pkg:npm/y@1",
            ]
        );
    }

    #[test]
    fn license_shapes() {
        let j = |v: &[&str]| {
            serde_json::to_value(licenses(
                &v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ))
            .unwrap_or_default()
        };
        assert_eq!(
            j(&["MIT", "Custom"]),
            serde_json::json!([
                {"license": {"id": "MIT", "acknowledgement": "declared"}},
                {"license": {"name": "Custom", "acknowledgement": "declared"}}
            ])
        );
        assert_eq!(
            j(&["MIT OR Apache-2.0", "BSD-3-Clause"]),
            serde_json::json!([{"expression": "(MIT OR Apache-2.0) AND BSD-3-Clause", "acknowledgement": "declared"}])
        );
        assert_eq!(j(&[]), serde_json::json!([]));
    }
}
