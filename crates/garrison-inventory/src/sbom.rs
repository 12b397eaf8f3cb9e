//! Reading CycloneDX and SPDX JSON documents — Garrison's own and other tools' —
//! back into an [`Inventory`], so that `garrison scan sbom` can match them
//! without the image they describe.
//!
//! The package-url is the key: it carries the ecosystem, name, version and, for
//! OS packages, the `distro=` and `upstream=` (source package) qualifiers.
//! Properties that Garrison, Trivy and Syft write add the file location, layer
//! and source package when the purl lacks them.

use garrison_model::{
    Distro, Ecosystem, Inventory, Package, SourcePackage, Target, TargetKind, Warning,
};
use packageurl::PackageUrl;
use serde_json::Value;
use std::str::FromStr;

/// A document could not be read as an SBOM.
#[derive(Debug, thiserror::Error)]
#[error("{input}: {reason}")]
pub struct SbomError {
    pub input: String,
    pub reason: String,
}

/// Which SBOM format a document is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomKind {
    CycloneDx,
    Spdx,
}

/// Most components or packages one document may list.
const MAX_PACKAGES: usize = 2_000_000;

/// Reads a CycloneDX (1.x JSON) or SPDX (2.x JSON) document. `name` names the
/// input in messages and in the inventory's target.
pub fn read_sbom(bytes: &[u8], name: &str) -> Result<Inventory, SbomError> {
    let err = |reason: String| SbomError {
        input: name.to_string(),
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        err(format!(
            "not JSON ({e}); give a CycloneDX or SPDX document in JSON (garrison sbom --format cyclonedx|spdx-json writes one)"
        ))
    })?;
    let kind = detect(&doc).ok_or_else(|| {
        err("neither a CycloneDX document (no \"bomFormat\": \"CycloneDX\") nor an SPDX 2.x document (no \"spdxVersion\": \"SPDX-2.x\")".into())
    })?;
    let mut inv = Inventory::new(Target::new(TargetKind::Sbom, name));
    match kind {
        SbomKind::CycloneDx => read_cyclonedx(&doc, name, &mut inv).map_err(err)?,
        SbomKind::Spdx => read_spdx(&doc, name, &mut inv).map_err(err)?,
    }
    if inv.distro.is_none() {
        inv.distro = inv.packages.iter().find_map(distro_from_purl);
    }
    inv.sort();
    Ok(inv)
}

/// Which format `doc` claims to be, if any.
pub fn detect(doc: &Value) -> Option<SbomKind> {
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return Some(SbomKind::CycloneDx);
    }
    match doc.get("spdxVersion").and_then(Value::as_str) {
        Some(v) if v.starts_with("SPDX-2.") => Some(SbomKind::Spdx),
        _ => None,
    }
}

fn read_cyclonedx(doc: &Value, name: &str, inv: &mut Inventory) -> Result<(), String> {
    let spec = doc.get("specVersion").and_then(Value::as_str).unwrap_or("");
    if !spec.starts_with("1.") {
        return Err(format!(
            "CycloneDX specVersion {spec:?} is not supported: Garrison reads CycloneDX 1.x JSON"
        ));
    }
    let components = match doc.get("components") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(_) => return Err("\"components\" is not a list".into()),
    };
    if let Some(meta) = doc.get("metadata").and_then(|m| m.get("component")) {
        describe_target(meta, inv);
    }
    // Depth-first over nested components, without recursion on hostile depth.
    let mut stack: Vec<(&Value, usize)> = components.into_iter().rev().map(|c| (c, 0)).collect();
    let mut without_purl = 0usize;
    while let Some((c, depth)) = stack.pop() {
        if inv.packages.len() >= MAX_PACKAGES {
            return Err(format!("lists more than {MAX_PACKAGES} components"));
        }
        if let Some(Value::Array(children)) = c.get("components") {
            if depth < 64 {
                stack.extend(children.iter().rev().map(|x| (x, depth + 1)));
            }
        }
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        if ty == "operating-system" {
            if let (Some(id), v) = (str_field(c, "name"), str_field(c, "version")) {
                inv.distro.get_or_insert(Distro {
                    id: id.to_ascii_lowercase(),
                    version_id: v.map(str::to_string),
                    ..Default::default()
                });
            }
            continue;
        }
        let Some(purl) = str_field(c, "purl") else {
            without_purl += 1;
            continue;
        };
        let props = cdx_properties(c);
        let prop = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        };
        let location = prop(&[
            "garrison:package:location",
            "aquasecurity:trivy:FilePath",
            "syft:location:0:path",
        ]);
        match package_from_purl(purl, location.as_deref().unwrap_or(name)) {
            Ok(mut p) => {
                p.licenses = cdx_licenses(c);
                p.layer = prop(&["garrison:package:layer", "aquasecurity:trivy:LayerDigest"]);
                if p.source.is_none() {
                    if let Some(src) =
                        prop(&["garrison:package:source-name", "aquasecurity:trivy:SrcName"])
                    {
                        let version = prop(&[
                            "garrison:package:source-version",
                            "aquasecurity:trivy:SrcVersion",
                        ]);
                        p.source = Some(SourcePackage { name: src, version });
                    }
                }
                inv.packages.push(p);
            }
            Err(e) => inv.warnings.push(Warning::new(name, e)),
        }
    }
    if without_purl > 0 {
        inv.warnings.push(Warning::new(
            name,
            format!("{without_purl} components have no package-url and cannot be matched against advisories"),
        ));
    }
    Ok(())
}

fn read_spdx(doc: &Value, name: &str, inv: &mut Inventory) -> Result<(), String> {
    let packages = match doc.get("packages") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("\"packages\" is not a list".into()),
    };
    if packages.len() > MAX_PACKAGES {
        return Err(format!("lists more than {MAX_PACKAGES} packages"));
    }
    let described: Vec<&str> = doc
        .get("documentDescribes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut without_purl = 0usize;
    for p in packages {
        let purl = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| str_field(r, "referenceType") == Some("purl"))
            })
            .and_then(|r| str_field(r, "referenceLocator"));
        let Some(purl) = purl else {
            let id = str_field(p, "SPDXID").unwrap_or("");
            let is_root = described.contains(&id)
                || str_field(p, "primaryPackagePurpose").is_some_and(|x| {
                    matches!(x, "CONTAINER" | "OPERATING_SYSTEM" | "SOURCE" | "FILE")
                });
            if !is_root {
                without_purl += 1;
            }
            continue;
        };
        match package_from_purl(purl, name) {
            Ok(mut pkg) => {
                if let Some(l) = str_field(p, "licenseDeclared")
                    .filter(|l| !matches!(*l, "NOASSERTION" | "NONE"))
                {
                    pkg.licenses = vec![l.to_string()];
                }
                inv.packages.push(pkg);
            }
            Err(e) => inv.warnings.push(Warning::new(name, e)),
        }
    }
    if without_purl > 0 {
        inv.warnings.push(Warning::new(
            name,
            format!("{without_purl} packages have no package-url and cannot be matched against advisories"),
        ));
    }
    Ok(())
}

fn describe_target(component: &Value, inv: &mut Inventory) {
    if let Some(n) = str_field(component, "name") {
        inv.target.name = match str_field(component, "version") {
            Some(v) if !v.is_empty() => format!("{n}:{v}"),
            _ => n.to_string(),
        };
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn cdx_properties(c: &Value) -> Vec<(String, String)> {
    c.get("properties")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        str_field(p, "name")?.to_string(),
                        str_field(p, "value")?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cdx_licenses(c: &Value) -> Vec<String> {
    let Some(list) = c.get("licenses").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|l| {
            if let Some(e) = str_field(l, "expression") {
                return Some(e.to_string());
            }
            let lic = l.get("license")?;
            str_field(lic, "id")
                .or_else(|| str_field(lic, "name"))
                .map(str::to_string)
        })
        .collect()
}

/// Builds a package from a package-url, the way Garrison's own parsers name things.
pub fn package_from_purl(purl: &str, location: &str) -> Result<Package, String> {
    let p = PackageUrl::from_str(purl).map_err(|e| format!("invalid package-url {purl:?}: {e}"))?;
    let ecosystem = match p.ty() {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "cargo" => Ecosystem::Cargo,
        "npm" => Ecosystem::Npm,
        "pypi" => Ecosystem::PyPI,
        "golang" => Ecosystem::Go,
        "maven" => Ecosystem::Maven,
        "gem" => Ecosystem::RubyGems,
        "composer" => Ecosystem::Packagist,
        "nuget" => Ecosystem::NuGet,
        other => {
            return Err(format!(
                "package-url {purl:?}: type {other:?} is not one Garrison matches"
            ))
        }
    };
    let version = p
        .version()
        .ok_or_else(|| format!("package-url {purl:?} has no version"))?
        .to_string();
    let ns = p.namespace().map(str::to_string);
    let name = p.name().to_string();
    let qualifier = |k: &str| {
        p.qualifiers()
            .iter()
            .find(|(q, _)| q.as_ref() == k)
            .map(|(_, v)| v.to_string())
    };
    let (name, namespace) = match ecosystem {
        Ecosystem::Npm | Ecosystem::Go | Ecosystem::Packagist => match ns {
            Some(ns) => (format!("{ns}/{name}"), None),
            None => (name, None),
        },
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => (name, None),
        _ => (name, ns),
    };
    let version = match (ecosystem, qualifier("epoch")) {
        (Ecosystem::Rpm, Some(e)) if e != "0" && !version.contains(':') => format!("{e}:{version}"),
        _ => version,
    };
    let mut pkg = Package::new(ecosystem, name, version, location);
    pkg.namespace = namespace;
    pkg.purl = purl.to_string();
    if ecosystem.is_os() {
        pkg.arch = qualifier("arch");
        if let Some(up) = qualifier("upstream") {
            let (n, v) = match up.split_once('@') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (up.clone(), None),
            };
            // rpm purls carry the source rpm file name (openssl-3.0.7-27.el9.src.rpm).
            let n = if ecosystem == Ecosystem::Rpm && n.ends_with(".src.rpm") {
                srpm_name(&n).unwrap_or(n)
            } else {
                n
            };
            pkg.source = Some(SourcePackage {
                name: n,
                version: v,
            });
        }
    }
    Ok(pkg)
}

/// `openssl-3.0.7-27.el9.src.rpm` -> `openssl`.
fn srpm_name(file: &str) -> Option<String> {
    let base = file.strip_suffix(".src.rpm")?;
    let (rest, _release) = base.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    Some(name.to_string())
}

/// The distro an OS package's purl names (`distro=debian-12`, or Trivy's `distro=3.19.1` with the namespace).
fn distro_from_purl(p: &Package) -> Option<Distro> {
    if !p.ecosystem.is_os() {
        return None;
    }
    let purl = PackageUrl::from_str(&p.purl).ok()?;
    let ns = purl.namespace()?.to_ascii_lowercase();
    let q = purl
        .qualifiers()
        .iter()
        .find(|(k, _)| k.as_ref() == "distro")?
        .1
        .to_string();
    let version = match q.strip_prefix(&format!("{ns}-")) {
        Some(v) => v.to_string(),
        None if q.chars().next().is_some_and(|c| c.is_ascii_digit()) => q,
        None => {
            // `distro=bookworm` style: keep the codename, no version.
            return Some(Distro {
                id: ns,
                codename: Some(q),
                ..Default::default()
            });
        }
    };
    Some(Distro {
        id: ns,
        version_id: Some(version),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_become_packages_like_the_parsers_make_them() {
        let p = package_from_purl(
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
            "/x",
        )
        .unwrap();
        assert_eq!(
            (p.ecosystem, p.name.as_str(), p.version.as_str()),
            (Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2")
        );
        assert_eq!(p.source.as_ref().unwrap().name, "openssl");
        assert_eq!(
            distro_from_purl(&p).unwrap().osv_ecosystem().as_deref(),
            Some("Debian:12")
        );
        let p = package_from_purl("pkg:npm/%40babel/core@7.0.0", "/x").unwrap();
        assert_eq!(p.name, "@babel/core");
        let p = package_from_purl("pkg:golang/github.com/gorilla/mux@v1.8.0", "/x").unwrap();
        assert_eq!(p.name, "github.com/gorilla/mux");
        let p = package_from_purl("pkg:maven/org.slf4j/slf4j-api@1.7.36", "/x").unwrap();
        assert_eq!(
            (p.namespace.as_deref(), p.name.as_str()),
            (Some("org.slf4j"), "slf4j-api")
        );
        let p = package_from_purl("pkg:rpm/almalinux/openssl-libs@3.0.7-27.el9?epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=almalinux-9.4", "/x").unwrap();
        assert_eq!(p.version, "1:3.0.7-27.el9");
        assert_eq!(p.source.unwrap().name, "openssl");
        let p = package_from_purl("pkg:apk/alpine/musl@1.2.4-r2?distro=3.19.1", "/x").unwrap();
        assert_eq!(
            distro_from_purl(&p).unwrap().osv_ecosystem().as_deref(),
            Some("Alpine:v3.19")
        );
        assert!(package_from_purl("pkg:npm/left-pad", "/x")
            .unwrap_err()
            .contains("no version"));
        assert!(package_from_purl("pkg:generic/x@1", "/x")
            .unwrap_err()
            .contains("not one Garrison matches"));
        assert!(package_from_purl("not a purl", "/x").is_err());
    }

    #[test]
    fn documents_that_are_not_what_they_claim() {
        let e = read_sbom(b"hello", "a.json").unwrap_err().to_string();
        assert!(e.starts_with("a.json: not JSON"), "{e}");
        let e = read_sbom(br#"{"bomFormat":"SomethingElse"}"#, "a.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither a CycloneDX"), "{e}");
        let e = read_sbom(
            br#"{"bomFormat":"CycloneDX","specVersion":"2.0"}"#,
            "a.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("specVersion"), "{e}");
        let e = read_sbom(
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":{}}"#,
            "a.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a list"), "{e}");
        let e = read_sbom(br#"{"spdxVersion":"SPDX-2.3","packages":"x"}"#, "a.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a list"), "{e}");
    }

    #[test]
    fn other_tools_cyclonedx() {
        // The shape Trivy writes: distro only in the purl, source package in properties.
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
          {"type":"operating-system","name":"debian","version":"12.4"},
          {"type":"library","name":"libssl3","version":"3.0.11-1~deb12u2",
           "purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.4",
           "properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"},
                         {"name":"aquasecurity:trivy:SrcVersion","value":"3.0.11-1~deb12u2"}]},
          {"type":"library","name":"nopurl"},
          {"type":"application","name":"app","components":[
             {"type":"library","name":"requests","version":"2.19.0","purl":"pkg:pypi/requests@2.19.0",
              "licenses":[{"license":{"id":"Apache-2.0"}}]}]}]}"#;
        let inv = read_sbom(doc, "trivy.cdx.json").unwrap();
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(
            inv.distro.as_ref().unwrap().osv_ecosystem().as_deref(),
            Some("Debian:12")
        );
        let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source.as_ref().unwrap().name, "openssl");
        let req = inv.packages.iter().find(|p| p.name == "requests").unwrap();
        assert_eq!(req.licenses, vec!["Apache-2.0"]);
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    }
}
