//! `pnpm-lock.yaml`, lockfile versions 5.x (`/name/1.0.0_peer@2`), 6.x
//! (`/name@1.0.0(peer@2)`) and 9.x (`name@1.0.0` in `packages`, peers in
//! `snapshots`).
//!
//! `direct` comes from the importers' dependency lists. `dev` comes from the
//! entries' `dev` flag (5.x, 6.x) or, for 9.x, which has none, from walking
//! `snapshots` from the importers' production dependencies: what they do not
//! reach is dev-only. Local (`file:`, `link:`, directory) packages are skipped.

use super::{package, split_name_at, yaml};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use serde_yaml_ng::{Mapping, Value};
use std::collections::HashSet;

const NAME: &str = "pnpm-lock";

pub struct PnpmLock;

impl Parser for PnpmLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "pnpm-lock.yaml"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = yaml(NAME, file, content)?;
        if !doc.is_mapping() {
            return Err(ParseError::new(NAME, file.path, "not a YAML mapping"));
        }
        let lockfile_version = match doc.get("lockfileVersion") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ParseError::new(NAME, file.path, "no `lockfileVersion`")),
        };
        let major: u32 = lockfile_version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| ParseError::new(NAME, file.path, format!("unreadable lockfileVersion {lockfile_version:?}")))?;
        let slash_keys = major < 6;

        let importers: Vec<&Value> = match doc.get("importers").and_then(Value::as_mapping) {
            Some(m) => m.values().collect(),
            None => vec![&doc],
        };
        let mut direct: HashSet<(String, String)> = HashSet::new();
        let mut prod_roots = Vec::new();
        for imp in &importers {
            for (kind, dev) in [("dependencies", false), ("optionalDependencies", false), ("devDependencies", true)] {
                for (name, ver) in dep_map(imp.get(kind)) {
                    let clean = strip_peers(&ver, slash_keys);
                    if clean.contains(':') {
                        continue;
                    }
                    direct.insert((name.clone(), clean.to_string()));
                    if !dev {
                        prod_roots.push(format!("{name}@{ver}"));
                    }
                }
            }
        }
        let prod_reach = doc
            .get("snapshots")
            .and_then(Value::as_mapping)
            .map(|snaps| reach(snaps, prod_roots));

        let mut parsed = Parsed::default();
        let empty = Mapping::new();
        let packages = doc.get("packages").and_then(Value::as_mapping).unwrap_or(&empty);
        let mut seen = HashSet::new();
        for (key, entry) in packages {
            let Some(key) = key.as_str() else { continue };
            if key.starts_with("file:") || key.starts_with("link:") {
                continue;
            }
            if entry.get("resolution").and_then(|r| r.get("type")).and_then(Value::as_str) == Some("directory") {
                continue;
            }
            let named = (
                entry.get("name").and_then(Value::as_str),
                entry.get("version").and_then(Value::as_str),
            );
            let (name, version) = match named {
                (Some(n), Some(v)) => (n.to_string(), v.to_string()),
                _ => match parse_key(key, slash_keys) {
                    Some((n, v)) => (n.to_string(), v.to_string()),
                    None => {
                        parsed.warnings.push(Warning::new(file.path, format!("{NAME}: cannot read package key {key:?}; skipped")));
                        continue;
                    }
                },
            };
            if name.is_empty() || version.is_empty() || version.contains(':') {
                continue;
            }
            let dev = match &prod_reach {
                Some(reached) => !reached.contains(&format!("{name}@{version}")),
                None => entry.get("dev").and_then(Value::as_bool) == Some(true),
            };
            if !seen.insert((name.clone(), version.clone())) {
                continue;
            }
            let mut p = package(Ecosystem::Npm, &name, &version, file);
            p.dev = dev;
            p.direct = Some(direct.contains(&(name, version)));
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}

/// `name -> version` pairs of an importer's dependency map (5.x: plain
/// strings; 6.x and 9.x: `{specifier, version}`).
fn dep_map(v: Option<&Value>) -> Vec<(String, String)> {
    let Some(m) = v.and_then(Value::as_mapping) else { return Vec::new() };
    m.iter()
        .filter_map(|(k, v)| {
            let ver = match v {
                Value::Mapping(_) => v.get("version")?.as_str()?,
                Value::String(s) => s.as_str(),
                _ => return None,
            };
            Some((k.as_str()?.to_string(), ver.to_string()))
        })
        .collect()
}

/// The version without its peer suffix: `1.0.0(react@18)` or (5.x) `1.0.0_react@18`.
fn strip_peers(v: &str, slash_keys: bool) -> &str {
    let v = v.split('(').next().unwrap_or(v);
    if slash_keys {
        v.split('_').next().unwrap_or(v)
    } else {
        v
    }
}

/// Name and version from a `packages` key.
fn parse_key(key: &str, slash_keys: bool) -> Option<(&str, &str)> {
    let k = key.strip_prefix('/').unwrap_or(key);
    let k = k.split('(').next()?;
    if slash_keys {
        let (name, ver) = k.rsplit_once('/')?;
        Some((name, ver.split('_').next()?))
    } else {
        split_name_at(k)
    }
}

/// 9.x: every `name@version` (peers stripped) reachable in `snapshots` from `roots`.
fn reach(snaps: &Mapping, roots: Vec<String>) -> HashSet<String> {
    let mut visited: HashSet<String> = HashSet::new();
    let mut stack = roots;
    while let Some(key) = stack.pop() {
        if !visited.insert(key.clone()) {
            continue;
        }
        let Some(snap) = snaps.get(key.as_str()) else { continue };
        for kind in ["dependencies", "optionalDependencies"] {
            for (name, ver) in dep_map(snap.get(kind)) {
                // An alias names the real package: `alias: real@1.0.0`.
                let base = ver.split('(').next().unwrap_or(&ver);
                let next = if split_name_at(base).is_some() { ver } else { format!("{name}@{ver}") };
                if !visited.contains(&next) {
                    stack.push(next);
                }
            }
        }
    }
    visited
        .iter()
        .map(|k| k.split('(').next().unwrap_or(k).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_each_version() {
        assert_eq!(parse_key("/@s/x/1.0.0_react@18.0.0", true), Some(("@s/x", "1.0.0")));
        assert_eq!(parse_key("/x/1.0.0", true), Some(("x", "1.0.0")));
        assert_eq!(parse_key("/@s/x@1.0.0(react@18.0.0)", false), Some(("@s/x", "1.0.0")));
        assert_eq!(parse_key("x@1.0.0", false), Some(("x", "1.0.0")));
        assert_eq!(parse_key("nothing", false), None);
    }

    #[test]
    fn not_a_lockfile() {
        let err = PnpmLock.parse(&FileRef::new("/p/pnpm-lock.yaml"), b"- a\n- b\n").unwrap_err();
        assert!(err.to_string().contains("/p/pnpm-lock.yaml"), "{err}");
        let err = PnpmLock.parse(&FileRef::new("/p/pnpm-lock.yaml"), b"packages: {}\n").unwrap_err();
        assert!(err.to_string().contains("lockfileVersion"), "{err}");
    }
}
