//! Composer's `composer.lock`: `packages`, and `packages-dev` (dev), with
//! their `license` arrays.

use super::{json, json_licenses, jstr, package};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use serde_json::Value;

const NAME: &str = "composer-lock";

pub struct ComposerLock;

impl Parser for ComposerLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "composer.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = json(NAME, file, content)?;
        if doc.get("packages").is_none() && doc.get("packages-dev").is_none() {
            return Err(ParseError::new(NAME, file.path, "neither `packages` nor `packages-dev`"));
        }
        let mut parsed = Parsed::default();
        for (section, dev) in [("packages", false), ("packages-dev", true)] {
            let list = match doc.get(section) {
                Some(Value::Array(a)) => a,
                None | Some(Value::Null) => continue,
                Some(_) => return Err(ParseError::new(NAME, file.path, format!("`{section}` is not an array"))),
            };
            for (i, entry) in list.iter().enumerate() {
                let (Some(name), Some(version)) = (jstr(entry, "name"), jstr(entry, "version")) else {
                    parsed.warnings.push(Warning::new(file.path, format!("{NAME}: {section}[{i}] has no name or version; skipped")));
                    continue;
                };
                let mut p = package(Ecosystem::Packagist, name, version, file);
                p.licenses = json_licenses(entry.get("license"));
                p.dev = dev;
                parsed.packages.push(p);
            }
        }
        Ok(parsed)
    }
}
