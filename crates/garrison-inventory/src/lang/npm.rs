//! npm: `package-lock.json` (v1 nested `dependencies`; v2/v3 `packages` keyed
//! by `node_modules/...` paths), `npm-shrinkwrap.json`, and the `package.json`
//! manifests of installed packages under `node_modules`.

use super::{json, json_licenses, jstr, package, split_name_at};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Package, Warning};
use serde_json::Value;
use std::collections::HashSet;

const LOCK: &str = "npm-lock";
const INSTALLED: &str = "npm-package-json";

/// `package-lock.json` and `npm-shrinkwrap.json`.
pub struct PackageLock;

impl Parser for PackageLock {
    fn name(&self) -> &'static str {
        LOCK
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        match file.file_name() {
            // npm ignores the package-lock.json a published package ships; the
            // installed tree is reported from its package.json files instead.
            "package-lock.json" => !file.path.contains("/node_modules/"),
            "npm-shrinkwrap.json" => true,
            _ => false,
        }
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = json(LOCK, file, content)?;
        if !doc.is_object() {
            return Err(ParseError::new(LOCK, file.path, "not a JSON object"));
        }
        if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
            return Ok(parse_packages(file, packages));
        }
        if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
            return Ok(parse_v1(file, deps));
        }
        if doc.get("lockfileVersion").is_some() {
            // A project without dependencies.
            return Ok(Parsed::default());
        }
        Err(ParseError::new(LOCK, file.path, "neither `packages` nor `dependencies` nor `lockfileVersion`"))
    }
}

/// v2/v3: the flat `packages` map.
fn parse_packages(file: &FileRef<'_>, packages: &serde_json::Map<String, Value>) -> Parsed {
    let mut parsed = Parsed::default();
    // The root project's declared dependencies: what sits directly in its node_modules.
    let mut declared: HashSet<&str> = HashSet::new();
    let root = packages.get("");
    for kind in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
        if let Some(m) = root.and_then(|r| r.get(kind)).and_then(Value::as_object) {
            declared.extend(m.keys().map(String::as_str));
        }
    }
    for (key, entry) in packages {
        // "" is the project; keys without node_modules are workspace folders
        // or the targets of `file:` links: the project's own code.
        let Some(idx) = key.rfind("node_modules/") else { continue };
        if entry.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let dir_name = key.get(idx + "node_modules/".len()..).unwrap_or_default();
        let name = jstr(entry, "name").unwrap_or(dir_name);
        let Some(version) = jstr(entry, "version") else {
            parsed.warnings.push(Warning::new(file.path, format!("{LOCK}: {key:?} has no version; skipped")));
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let mut p = package(Ecosystem::Npm, name, version, file);
        p.licenses = json_licenses(entry.get("license").or_else(|| entry.get("licenses")));
        p.dev = entry.get("dev").and_then(Value::as_bool) == Some(true);
        if root.is_some() {
            p.direct = Some(idx == 0 && declared.contains(dir_name));
        }
        parsed.packages.push(p);
    }
    parsed
}

/// v1: nested `dependencies`, walked with an explicit stack.
fn parse_v1(file: &FileRef<'_>, deps: &serde_json::Map<String, Value>) -> Parsed {
    let mut parsed = Parsed::default();
    let mut seen: HashSet<(String, String, bool)> = HashSet::new();
    let mut stack: Vec<&serde_json::Map<String, Value>> = vec![deps];
    while let Some(map) = stack.pop() {
        for (key, entry) in map {
            if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                stack.push(nested);
            }
            let Some(version) = jstr(entry, "version") else {
                parsed.warnings.push(Warning::new(file.path, format!("{LOCK}: {key:?} has no version; skipped")));
                continue;
            };
            // Local packages: `file:` and `link:` specs are the project's own code.
            if version.starts_with("file:") || version.starts_with("link:") {
                continue;
            }
            // Aliases: "npm:real-name@1.2.3".
            let (name, version) = match version.strip_prefix("npm:").and_then(split_name_at) {
                Some((n, v)) => (n, v),
                None => (key.as_str(), version),
            };
            let dev = entry.get("dev").and_then(Value::as_bool) == Some(true);
            if !seen.insert((name.to_string(), version.to_string(), dev)) {
                continue;
            }
            let mut p = package(Ecosystem::Npm, name, version, file);
            p.dev = dev;
            parsed.packages.push(p);
        }
    }
    parsed
}

/// The `package.json` of a package installed in a `node_modules` folder
/// (`node_modules/x/package.json` or `node_modules/@scope/x/package.json`).
pub struct NodeModulesPackage;

impl NodeModulesPackage {
    fn is_manifest(path: &str) -> bool {
        let mut parts = path.rsplit('/');
        if parts.next() != Some("package.json") {
            return false;
        }
        let (Some(dir), Some(parent)) = (parts.next(), parts.next()) else { return false };
        if dir.is_empty() || dir.starts_with('.') || dir.starts_with('@') {
            return false;
        }
        if parent == "node_modules" {
            return true;
        }
        parent.len() > 1 && parent.starts_with('@') && parts.next() == Some("node_modules")
    }
}

impl Parser for NodeModulesPackage {
    fn name(&self) -> &'static str {
        INSTALLED
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        Self::is_manifest(file.path)
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = json(INSTALLED, file, content)?;
        if !doc.is_object() {
            return Err(ParseError::new(INSTALLED, file.path, "not a JSON object"));
        }
        let (Some(name), Some(version)) = (jstr(&doc, "name"), jstr(&doc, "version")) else {
            return Err(ParseError::new(INSTALLED, file.path, "no `name` or `version`"));
        };
        if name.is_empty() || version.is_empty() {
            return Err(ParseError::new(INSTALLED, file.path, "empty `name` or `version`"));
        }
        let mut p: Package = package(Ecosystem::Npm, name, version, file);
        p.licenses = json_licenses(doc.get("license").or_else(|| doc.get("licenses")));
        Ok(Parsed::from(vec![p]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths() {
        for yes in [
            "/app/node_modules/x/package.json",
            "/app/node_modules/@s/x/package.json",
            "/app/node_modules/a/node_modules/b/package.json",
        ] {
            assert!(NodeModulesPackage::is_manifest(yes), "{yes}");
        }
        for no in [
            "/app/package.json",
            "/app/node_modules/package.json",
            "/app/node_modules/@s/package.json",
            "/app/node_modules/x/lib/package.json",
            "/app/node_modules/.bin/package.json",
            "/app/node_modules/@s/x/esm/package.json",
            "/app/@s/x/package.json",
        ] {
            assert!(!NodeModulesPackage::is_manifest(no), "{no}");
        }
    }

    #[test]
    fn manifest_license_shapes() {
        let f = FileRef::new("/n/node_modules/a/package.json");
        let p = NodeModulesPackage
            .parse(&f, br#"{"name":"a","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"GPL-2.0"}]}"#)
            .unwrap();
        assert_eq!(p.packages[0].licenses, ["MIT", "GPL-2.0"]);
        let p = NodeModulesPackage
            .parse(&f, br#"{"name":"a","version":"1.0.0","license":{"type":"ISC","url":"u"}}"#)
            .unwrap();
        assert_eq!(p.packages[0].licenses, ["ISC"]);
        let err = NodeModulesPackage.parse(&f, br#"{"name":"a"}"#).unwrap_err();
        assert!(err.to_string().contains("/n/node_modules/a/package.json"), "{err}");
        assert!(NodeModulesPackage.parse(&f, b"[1]").is_err());
    }

    #[test]
    fn v1_alias_and_missing_version() {
        let f = FileRef::new("/package-lock.json");
        let lock = br#"{"lockfileVersion":1,"dependencies":{
            "b":{"version":"npm:real@2.0.0"},
            "c":{"integrity":"x"},
            "d":{"version":"1.0.0","dev":true,"dependencies":{"e":{"version":"3.0.0","dev":true}}}}}"#;
        let p = PackageLock.parse(&f, lock).unwrap();
        let mut got: Vec<_> = p.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.dev)).collect();
        got.sort();
        assert_eq!(got, [("d", "1.0.0", true), ("e", "3.0.0", true), ("real", "2.0.0", false)]);
        assert_eq!(p.warnings.len(), 1);
    }
}
