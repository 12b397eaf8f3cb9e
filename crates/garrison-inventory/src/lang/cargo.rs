//! `Cargo.lock`, all four formats (v1 with `[metadata]` checksums and
//! source-qualified dependency strings, v2, v3, v4).
//!
//! Packages without a `source` are the workspace's own crates (path
//! dependencies and members): like `cargo metadata`'s "non-registry" packages
//! they are not reported, since they are the project itself and a local crate
//! that shares a crates.io name would be matched against the wrong advisories.
//! Their dependency lists mark which packages are direct dependencies.

use super::{package, toml_table, tstr};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use std::collections::HashSet;

const NAME: &str = "cargo-lock";
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

pub struct CargoLock;

impl Parser for CargoLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "Cargo.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = toml_table(NAME, file, content)?;
        if let Some(v) = doc.get("version") {
            if !matches!(v.as_integer(), Some(1..=4)) {
                return Err(ParseError::new(NAME, file.path, format!("unknown lockfile version {v}")));
            }
        }
        let mut entries: Vec<&toml::Table> = Vec::new();
        if let Some(root) = doc.get("root").and_then(toml::Value::as_table) {
            entries.push(root);
        }
        match doc.get("package") {
            Some(toml::Value::Array(a)) => entries.extend(a.iter().filter_map(toml::Value::as_table)),
            Some(_) => return Err(ParseError::new(NAME, file.path, "`package` is not an array of tables")),
            None if entries.is_empty() => {
                return Err(ParseError::new(NAME, file.path, "no [[package]] entries"))
            }
            None => {}
        }

        // (name, version or "" when the dependency string gives none) named by local crates.
        let mut direct: HashSet<(String, String)> = HashSet::new();
        let mut any_local = false;
        for e in &entries {
            if e.get("source").is_some() {
                continue;
            }
            any_local = true;
            let deps = e.get("dependencies").and_then(toml::Value::as_array);
            for d in deps.into_iter().flatten().filter_map(toml::Value::as_str) {
                let mut parts = d.split_whitespace();
                let name = parts.next().unwrap_or_default().to_string();
                let version = parts.next().unwrap_or_default().to_string();
                direct.insert((name, version));
            }
        }

        let mut parsed = Parsed::default();
        for (i, e) in entries.iter().enumerate() {
            let (Some(name), Some(version)) = (tstr(e, "name"), tstr(e, "version")) else {
                parsed.warnings.push(Warning::new(
                    file.path,
                    format!("{NAME}: package entry {i} has no name or version; skipped"),
                ));
                continue;
            };
            let Some(source) = tstr(e, "source") else { continue };
            let mut p = package(Ecosystem::Cargo, name, version, file);
            if any_local {
                p.direct = Some(
                    direct.contains(&(name.to_string(), version.to_string()))
                        || direct.contains(&(name.to_string(), String::new())),
                );
            }
            if source != CRATES_IO {
                p.properties.insert("cargo.source".into(), source.to_string());
            }
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let err = CargoLock
            .parse(&FileRef::new("/x/Cargo.lock"), b"[[package]\nname=")
            .unwrap_err();
        assert!(err.to_string().starts_with("/x/Cargo.lock: cannot parse as cargo-lock"), "{err}");
        let err = CargoLock.parse(&FileRef::new("/Cargo.lock"), b"version = 9\n").unwrap_err();
        assert!(err.to_string().contains("unknown lockfile version 9"), "{err}");
    }

    #[test]
    fn git_source_is_kept_as_property() {
        let lock = br#"
version = 3
[[package]]
name = "me"
version = "0.1.0"
dependencies = ["dep"]
[[package]]
name = "dep"
version = "0.0.1"
source = "git+https://example.invalid/dep#abc"
[[package]]
name = "bad"
"#;
        let p = CargoLock.parse(&FileRef::new("/Cargo.lock"), lock).unwrap();
        assert_eq!(p.packages.len(), 1);
        assert_eq!(p.packages[0].direct, Some(true));
        assert_eq!(p.packages[0].properties["cargo.source"], "git+https://example.invalid/dep#abc");
        assert_eq!(p.warnings.len(), 1);
    }
}
