//! SPDX 2.3 JSON.
//!
//! One root package stands for the target (image, root filesystem, project
//! tree or container); the document `DESCRIBES` it and it `CONTAINS` every
//! package found, and the operating system when it is known. Declared licenses
//! become a valid SPDX expression: strings that are not SPDX expressions turn
//! into `LicenseRef-...` identifiers, each explained by an entry in
//! `hasExtractedLicensingInfos` that keeps the original text.

use crate::license::{self, Term};
use crate::{os_epoch, sha256_hex, source_label, target_kind_name, RenderOptions, TOOL_VERSION};
use garrison_model::{Inventory, Package, TargetKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdxid: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    license_list_version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdxid: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    name: String,
    extracted_text: String,
    comment: &'static str,
}

/// Builds the SPDX document for `inv`.
pub(crate) fn build(inv: &Inventory, opts: &RenderOptions) -> Document {
    let mut ids = IdAllocator::default();
    let mut refs = LicenseRefs::for_packages(&inv.packages);
    let root_id = ids.take("SPDXRef-Target");
    let mut packages = Vec::with_capacity(inv.packages.len() + 2);
    let mut relationships = Vec::with_capacity(inv.packages.len() + 2);

    packages.push(root_package(inv, root_id.clone()));
    relationships.push(Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: root_id.clone(),
    });

    if let Some(d) = &inv.distro {
        let id = ids.take(&format!(
            "SPDXRef-OperatingSystem-{}",
            sanitize(&d.purl_qualifier())
        ));
        let comment = [
            d.pretty_name.as_ref().map(|p| format!("pretty name: {p}")),
            d.codename.as_ref().map(|c| format!("codename: {c}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        packages.push(SpdxPackage {
            spdxid: id.clone(),
            name: d.id.clone(),
            version_info: d.version_id.clone(),
            download_location: NOASSERTION,
            files_analyzed: false,
            checksums: Vec::new(),
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.into(),
            copyright_text: NOASSERTION,
            source_info: Some("acquired from /etc/os-release".into()),
            comment: (!comment.is_empty()).then(|| comment.join("\n")),
            external_refs: Vec::new(),
            primary_package_purpose: "OPERATING_SYSTEM",
        });
        relationships.push(contains(&root_id, id));
    }

    for pkg in &inv.packages {
        let id = ids.take(&format!(
            "SPDXRef-Package-{}-{}-{}",
            pkg.ecosystem.purl_type(),
            sanitize(&pkg.full_name()),
            sanitize(&pkg.version)
        ));
        packages.push(package(pkg, id.clone(), &mut refs));
        relationships.push(contains(&root_id, id));
    }

    let t = &inv.target;
    let uuid = opts.document_uuid();
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdxid: "SPDXRef-DOCUMENT",
        name: t.name.clone(),
        document_namespace: format!(
            "https://spdx.org/spdxdocs/garrison-{}-{}-{uuid}",
            target_kind_name(t.kind),
            namespace_part(&t.name)
        ),
        creation_info: CreationInfo {
            created: opts.created_rfc3339(),
            creators: vec![format!("Tool: garrison-{TOOL_VERSION}")],
            license_list_version: license_list_version(),
        },
        comment: (!inv.warnings.is_empty()).then(|| {
            let lines: Vec<String> = inv
                .warnings
                .iter()
                .map(|w| format!("warning: {}: {}", w.input, w.message))
                .collect();
            lines.join("\n")
        }),
        packages,
        relationships,
        has_extracted_licensing_infos: refs.into_infos(),
    }
}

/// The SPDX license list version of the `spdx` crate (`3.29.0` -> `3.29`):
/// SPDX wants `M.N`.
fn license_list_version() -> String {
    let v = spdx::identifiers::VERSION;
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => v.to_string(),
    }
}

fn contains(root: &str, id: String) -> Relationship {
    Relationship {
        spdx_element_id: root.to_string(),
        relationship_type: "CONTAINS",
        related_spdx_element: id,
    }
}

fn root_package(inv: &Inventory, id: String) -> SpdxPackage {
    let t = &inv.target;
    let purpose = match t.kind {
        TargetKind::Image | TargetKind::Container => "CONTAINER",
        TargetKind::Rootfs => "OPERATING_SYSTEM",
        TargetKind::Filesystem => "SOURCE",
    };
    let mut lines = vec![format!("target kind: {}", target_kind_name(t.kind))];
    if let Some(v) = &t.image_id {
        lines.push(format!("image id: {v}"));
    }
    for tag in &t.tags {
        lines.push(format!("tag: {tag}"));
    }
    if let Some(p) = &t.platform {
        lines.push(format!("platform: {p}"));
    }
    if let Some(c) = &t.container_id {
        lines.push(format!("container id: {c}"));
    }
    if let Some(p) = t.pid {
        lines.push(format!("pid: {p}"));
    }
    for l in &inv.layers {
        lines.push(format!("layer: {}", l.digest));
    }
    SpdxPackage {
        spdxid: id,
        name: t.name.clone(),
        version_info: t.digest.clone(),
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: t
            .digest
            .as_deref()
            .and_then(sha256_hex)
            .map(|h| Checksum {
                algorithm: "SHA256",
                checksum_value: h.to_string(),
            })
            .into_iter()
            .collect(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.into(),
        copyright_text: NOASSERTION,
        source_info: None,
        comment: Some(lines.join("\n")),
        external_refs: Vec::new(),
        primary_package_purpose: purpose,
    }
}

fn package(pkg: &Package, id: String, refs: &mut LicenseRefs) -> SpdxPackage {
    let source_info = match &pkg.layer {
        Some(l) => format!("acquired package info from {} in layer {l}", pkg.location),
        None => format!("acquired package info from {}", pkg.location),
    };
    let mut lines = vec![format!("type: {}", pkg.ecosystem.purl_type())];
    if let Some(s) = source_label(pkg) {
        lines.push(format!("source package: {s}"));
    }
    if let Some(a) = &pkg.arch {
        lines.push(format!("arch: {a}"));
    }
    if let Some(e) = os_epoch(pkg) {
        lines.push(format!("epoch: {e}"));
    }
    lines.push(format!("location: {}", pkg.location));
    if let Some(l) = &pkg.layer {
        lines.push(format!("layer: {l}"));
    }
    if let Some(d) = pkg.direct {
        lines.push(format!("direct: {d}"));
    }
    if pkg.dev {
        lines.push("dev: true".into());
    }
    for (k, v) in &pkg.properties {
        lines.push(format!("{k}: {v}"));
    }
    SpdxPackage {
        spdxid: id,
        name: pkg.full_name(),
        version_info: Some(pkg.version.clone()),
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: refs.declared(&pkg.licenses),
        copyright_text: NOASSERTION,
        source_info: Some(source_info),
        comment: Some(lines.join("\n")),
        external_refs: (!pkg.purl.is_empty())
            .then(|| ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: pkg.purl.clone(),
            })
            .into_iter()
            .collect(),
        primary_package_purpose: "LIBRARY",
    }
}

/// SPDX identifiers allow `[A-Za-z0-9.-]` only: anything else becomes `-`,
/// runs of `-` collapse, and an empty result becomes `x`.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The target's name as it appears in the document namespace URI:
/// `./app.tar` -> `app.tar`.
fn namespace_part(name: &str) -> String {
    let s = sanitize(name);
    let t = s.trim_matches(['.', '-']);
    if t.is_empty() {
        "x".to_string()
    } else {
        t.to_string()
    }
}

/// Hands out unique SPDX identifiers: the first request for a base gets it as
/// is, later ones get `-2`, `-3`, ...
#[derive(Default)]
struct IdAllocator {
    taken: HashSet<String>,
}

impl IdAllocator {
    fn take(&mut self, base: &str) -> String {
        if self.taken.insert(base.to_string()) {
            return base.to_string();
        }
        let mut n = 2usize;
        loop {
            let c = format!("{base}-{n}");
            if self.taken.insert(c.clone()) {
                return c;
            }
            n += 1;
        }
    }
}

/// The `LicenseRef-` identifiers of a document: those packages declare in
/// their own SPDX expressions (reserved first, so that no generated one can
/// take their name), and those given to free-text license strings, one per
/// distinct text. Each gets a `hasExtractedLicensingInfos` entry.
#[derive(Default)]
struct LicenseRefs {
    by_text: BTreeMap<String, String>,
    declared_refs: BTreeMap<String, ()>,
    ids: IdAllocator,
}

/// The `LicenseRef-...` identifiers an SPDX expression uses, and whether it
/// refers to another document (`DocumentRef-...:LicenseRef-...`), which this
/// document cannot define.
fn refs_in(expression: &str) -> (Vec<String>, bool) {
    let mode = spdx::ParseMode {
        allow_deprecated: true,
        ..spdx::ParseMode::STRICT
    };
    let Ok(expr) = spdx::Expression::parse_mode(expression, mode) else {
        return (Vec::new(), false);
    };
    let mut refs = Vec::new();
    let mut external = false;
    for req in expr.requirements() {
        if let spdx::LicenseItem::Other(r) = &req.req.license {
            if r.doc_ref.is_some() {
                external = true;
            } else {
                refs.push(r.to_string());
            }
        }
    }
    (refs, external)
}

impl LicenseRefs {
    /// Reserves the `LicenseRef-` identifiers the packages declare themselves.
    fn for_packages(pkgs: &[Package]) -> LicenseRefs {
        let mut this = LicenseRefs::default();
        for p in pkgs {
            for t in license::classify_all(&p.licenses) {
                if let Term::Spdx { expression, .. } = t {
                    let (refs, external) = refs_in(&expression);
                    if !external {
                        for r in refs {
                            this.ids.taken.insert(r.clone());
                            this.declared_refs.insert(r, ());
                        }
                    }
                }
            }
        }
        this
    }

    /// The `licenseDeclared` value for a package's declared strings.
    fn declared(&mut self, licenses: &[String]) -> String {
        let terms = license::classify_all(licenses);
        if terms.is_empty() {
            return NOASSERTION.into();
        }
        let exprs: Vec<String> = terms
            .into_iter()
            .map(|t| match t {
                Term::Spdx { expression, .. } => {
                    // An expression naming another SPDX document's license
                    // cannot be resolved here: keep it as text.
                    if refs_in(&expression).1 {
                        self.reference(&expression)
                    } else {
                        expression
                    }
                }
                Term::Name(text) => self.reference(&text),
            })
            .collect();
        license::join_and(exprs.iter().map(String::as_str))
    }

    fn reference(&mut self, text: &str) -> String {
        if let Some(id) = self.by_text.get(text) {
            return id.clone();
        }
        let id = self.ids.take(&format!("LicenseRef-{}", sanitize(text)));
        self.by_text.insert(text.to_string(), id.clone());
        id
    }

    fn into_infos(self) -> Vec<ExtractedLicense> {
        let mut infos: Vec<ExtractedLicense> = self
            .by_text
            .into_iter()
            .map(|(text, id)| ExtractedLicense {
                license_id: id,
                name: text.clone(),
                extracted_text: text,
                comment: "the license as the package declares it; not an SPDX license expression",
            })
            .chain(self.declared_refs.into_keys().map(|id| ExtractedLicense {
                name: id.clone(),
                extracted_text: format!(
                    "{id}: the package declares this license reference; its text is not part of the inventory"
                ),
                license_id: id,
                comment: "a LicenseRef declared by the package itself",
            }))
            .collect();
        infos.sort_by(|a, b| a.license_id.cmp(&b.license_id));
        infos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_ids() {
        assert_eq!(sanitize("@babel/core"), "babel-core");
        assert_eq!(sanitize("1:2.36-9+deb12u4"), "1-2.36-9-deb12u4");
        assert_eq!(sanitize("日本語"), "x");
        assert_eq!(sanitize("naïve"), "na-ve");
    }

    #[test]
    fn license_refs() {
        let mut r = LicenseRefs::default();
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(r.declared(&l(&[])), "NOASSERTION");
        assert_eq!(r.declared(&l(&["MIT"])), "MIT");
        assert_eq!(
            r.declared(&l(&["GPL-2+", "MIT OR Apache-2.0"])),
            "LicenseRef-GPL-2 AND (MIT OR Apache-2.0)"
        );
        // Same text, same ref; different text that sanitizes the same, new ref.
        assert_eq!(r.declared(&l(&["GPL-2+"])), "LicenseRef-GPL-2");
        assert_eq!(r.declared(&l(&["GPL 2"])), "LicenseRef-GPL-2-2");
        let infos = r.into_infos();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[0].extracted_text, "GPL-2+");
    }
}
