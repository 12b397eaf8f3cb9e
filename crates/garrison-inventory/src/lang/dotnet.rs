//! NuGet's `packages.lock.json`: per target framework, `Direct`,
//! `Transitive` and `CentralTransitive` packages with their `resolved`
//! version (`Project` references are the solution's own code). A package
//! locked for several frameworks is reported once; it is direct when any
//! framework has it as `Direct`.

use super::{json, jstr, package};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use serde_json::Value;
use std::collections::BTreeMap;

const NAME: &str = "nuget-lock";

pub struct NugetLock;

impl Parser for NugetLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "packages.lock.json"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = json(NAME, file, content)?;
        let Some(frameworks) = doc.get("dependencies").and_then(Value::as_object) else {
            return Err(ParseError::new(NAME, file.path, "no `dependencies` object"));
        };
        let mut parsed = Parsed::default();
        // (name, version) -> direct; names compared case-insensitively as NuGet does.
        let mut found: BTreeMap<(String, String), (String, bool)> = BTreeMap::new();
        for (fw, deps) in frameworks {
            let Some(deps) = deps.as_object() else { continue };
            for (name, entry) in deps {
                let kind = jstr(entry, "type").unwrap_or_default();
                if kind.eq_ignore_ascii_case("Project") {
                    continue;
                }
                let Some(version) = jstr(entry, "resolved") else {
                    parsed.warnings.push(Warning::new(file.path, format!("{NAME}: {fw}/{name} has no `resolved` version; skipped")));
                    continue;
                };
                let key = (name.to_ascii_lowercase(), version.to_string());
                let direct = kind.eq_ignore_ascii_case("Direct");
                let slot = found.entry(key).or_insert_with(|| (name.clone(), false));
                slot.1 |= direct;
            }
        }
        for ((_, version), (name, direct)) in found {
            let mut p = package(Ecosystem::NuGet, &name, &version, file);
            p.direct = Some(direct);
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}
