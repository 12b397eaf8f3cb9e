//! `yarn.lock`: yarn 1's own indented format, and yarn 2+ ("berry") YAML,
//! told apart by berry's `__metadata` entry.
//!
//! Only packages fetched from a registry are reported: entries resolved through
//! `workspace:`, `file:`, `link:`, `portal:` (the project's own code) or
//! `patch:` (a patched copy of an npm package that the lockfile also lists
//! unpatched) are skipped, as are git and tarball URLs in berry, which have no
//! registry version.

use super::{package, split_name_at, text, yaml};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use serde_yaml_ng::Value;
use std::collections::HashSet;

const NAME: &str = "yarn-lock";

/// Protocols that point at the project's own code or a patched duplicate.
const LOCAL_PROTOCOLS: [&str; 5] = ["workspace:", "file:", "link:", "portal:", "patch:"];

pub struct YarnLock;

impl Parser for YarnLock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "yarn.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let s = text(NAME, file, content)?;
        let berry = s.lines().any(|l| l.starts_with("__metadata:") || l.starts_with("\"__metadata\":"));
        if berry {
            parse_berry(file, content)
        } else {
            parse_v1(file, s)
        }
    }
}

fn is_local(range: &str) -> bool {
    LOCAL_PROTOCOLS.iter().any(|p| range.starts_with(p))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// yarn 1: blocks of `spec[, spec...]:` followed by indented `key value` lines.
fn parse_v1(file: &FileRef<'_>, s: &str) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    let mut seen = HashSet::new();
    // The current block: its first spec and the line it started on.
    let mut block: Option<(&str, usize)> = None;
    let mut blocks = 0usize;
    let mut finish = |parsed: &mut Parsed, spec: &str, line: usize, version: Option<&str>| {
        let Some((name, range)) = split_name_at(spec) else {
            parsed.warnings.push(Warning::new(file.path, format!("{NAME}: line {line}: cannot read {spec:?}; skipped")));
            return;
        };
        if is_local(range) {
            return;
        }
        // Aliases: `alias@npm:real@^1.0.0` installs `real`.
        let name = match range.strip_prefix("npm:").and_then(split_name_at) {
            Some((real, _)) => real,
            None => name,
        };
        let Some(version) = version else {
            parsed.warnings.push(Warning::new(file.path, format!("{NAME}: line {line}: {spec:?} has no version; skipped")));
            return;
        };
        if seen.insert((name.to_string(), version.to_string())) {
            parsed.packages.push(package(Ecosystem::Npm, name, version, file));
        }
    };
    let mut version: Option<&str> = None;
    for (i, line) in s.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some((spec, at)) = block.take() {
                finish(&mut parsed, spec, at, version.take());
            }
            let Some(head) = line.trim_end().strip_suffix(':') else {
                return Err(ParseError::new(NAME, file.path, format!("line {lineno}: expected `spec:`, found {line:?}")));
            };
            let first = head.split(", ").next().map(unquote).unwrap_or_default();
            block = Some((first, lineno));
            version = None;
            blocks += 1;
        } else if let Some(v) = line.strip_prefix("  version ") {
            if block.is_some() {
                version = Some(unquote(v));
            }
        }
    }
    if let Some((spec, at)) = block.take() {
        finish(&mut parsed, spec, at, version.take());
    }
    if blocks == 0 && !s.contains("yarn lockfile v1") {
        return Err(ParseError::new(NAME, file.path, "no package entries and no `yarn lockfile v1` header"));
    }
    Ok(parsed)
}

/// yarn berry: a YAML map from descriptor lists to entries with a `resolution`.
fn parse_berry(file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
    let doc = yaml(NAME, file, content)?;
    let Value::Mapping(map) = doc else {
        return Err(ParseError::new(NAME, file.path, "not a YAML mapping"));
    };
    let mut parsed = Parsed::default();
    let mut seen = HashSet::new();
    for (key, entry) in &map {
        let key = key.as_str().unwrap_or_default();
        if key == "__metadata" {
            continue;
        }
        let resolution = entry.get("resolution").and_then(Value::as_str);
        let Some((name, reference)) = resolution.and_then(split_name_at) else {
            parsed.warnings.push(Warning::new(file.path, format!("{NAME}: {key:?} has no readable `resolution`; skipped")));
            continue;
        };
        let Some(npm_version) = reference.strip_prefix("npm:") else {
            // workspace:, file:, link:, portal:, patch:, git and tarball URLs.
            continue;
        };
        let version = match entry.get("version") {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => npm_version.to_string(),
        };
        if seen.insert((name.to_string(), version.clone())) {
            parsed.packages.push(package(Ecosystem::Npm, name, &version, file));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_aliases_and_unquoted_versions() {
        let lock = b"# yarn lockfile v1\n\nfoo@npm:bar@^1, foo@npm:bar@1.2:\n  version 1.2.0\n\n\"@s/x@^2\":\n  version \"2.0.1\"\n  dependencies:\n    y \"1\"\n";
        let p = YarnLock.parse(&FileRef::new("/yarn.lock"), lock).unwrap();
        let got: Vec<_> = p.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(got, [("bar", "1.2.0"), ("@s/x", "2.0.1")]);
    }

    #[test]
    fn v1_garbage_is_an_error() {
        let err = YarnLock.parse(&FileRef::new("/a/yarn.lock"), b"hello world\n").unwrap_err();
        assert!(err.to_string().contains("/a/yarn.lock") && err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn berry_skips_patches_and_workspaces() {
        let lock = br#"__metadata:
  version: 6
"resolve@npm:^1.0.0":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
"resolve@patch:resolve@npm%3A^1.0.0#~builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
"#;
        let p = YarnLock.parse(&FileRef::new("/yarn.lock"), lock).unwrap();
        assert_eq!(p.packages.len(), 1);
        assert_eq!((p.packages[0].name.as_str(), p.packages[0].version.as_str()), ("resolve", "1.22.8"));
    }

    #[test]
    fn berry_alias_bomb_is_an_error() {
        let mut doc = String::from("__metadata:\n  version: 8\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            doc.push_str(&format!("{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = c;
        }
        let err = YarnLock.parse(&FileRef::new("/bomb/yarn.lock"), doc.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("/bomb/yarn.lock") && err.to_string().contains("repetition limit"), "{err}");
    }
}
