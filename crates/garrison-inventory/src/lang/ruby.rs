//! Bundler's `Gemfile.lock`: the gems under `specs:` of the `GEM` and `GIT`
//! sections (4-space indented `name (version[-platform])` lines; the platform
//! suffix is dropped). `PATH` gems are the project's own and are skipped.
//! `DEPENDENCIES` marks what is direct.

use super::{package, text};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use std::collections::HashSet;

const NAME: &str = "gemfile-lock";

pub struct GemfileLock;

impl Parser for GemfileLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        matches!(file.file_name(), "Gemfile.lock" | "gems.locked")
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let s = text(NAME, file, content)?;
        let mut section = "";
        let mut in_specs = false;
        let mut gems: Vec<(&str, &str, usize)> = Vec::new();
        let mut direct: HashSet<&str> = HashSet::new();
        let mut sections = 0;
        for (i, line) in s.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                section = line.trim();
                sections += 1;
                in_specs = false;
                continue;
            }
            let indent = line.len() - line.trim_start_matches(' ').len();
            match section {
                "GEM" | "GIT" => {
                    if indent == 2 {
                        in_specs = line.trim() == "specs:";
                    } else if indent == 4 && in_specs {
                        let spec = line.trim();
                        let (name, version) = match spec.split_once(" (") {
                            Some((n, v)) => (n, v.strip_suffix(')').unwrap_or(v)),
                            None => (spec, ""),
                        };
                        gems.push((name, version, i + 1));
                    }
                }
                "DEPENDENCIES" if indent == 2 => {
                    let dep = line.trim();
                    let name = dep.split([' ', '!']).next().unwrap_or(dep);
                    direct.insert(name);
                }
                _ => {}
            }
        }
        if sections == 0 {
            return Err(ParseError::new(NAME, file.path, "no sections (GEM, DEPENDENCIES, ...)"));
        }
        let mut parsed = Parsed::default();
        let mut seen = HashSet::new();
        for (name, version, lineno) in gems {
            // Platform-specific gems: `1.16.5-x86_64-linux`.
            let version = version.split('-').next().unwrap_or(version);
            if name.is_empty() || version.is_empty() {
                parsed.warnings.push(Warning::new(file.path, format!("{NAME}: line {lineno}: a spec without a version; skipped")));
                continue;
            }
            if !seen.insert((name, version)) {
                continue;
            }
            let mut p = package(Ecosystem::RubyGems, name, version, file);
            if !direct.is_empty() {
                p.direct = Some(direct.contains(name));
            }
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}
