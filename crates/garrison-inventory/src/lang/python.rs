//! Python: pip `requirements*.txt` (pinned `==`/`===` lines only),
//! `poetry.lock`, `Pipfile.lock`, `uv.lock`, and the metadata of installed
//! distributions (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, and
//! `*.egg-info` files).

use super::{json, package, text, toml_table, tstr};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Warning};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// pip requirements files. `-r`/`-c` includes are not followed (the included
/// file is found and parsed on its own when it is in the target); each is
/// reported as a warning so a reader knows the list may be partial.
pub struct Requirements;

const REQS: &str = "pip-requirements";

impl Parser for Requirements {
    fn name(&self) -> &'static str {
        REQS
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        let n = file.file_name();
        n.starts_with("requirements") && n.ends_with(".txt")
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let s = text(REQS, file, content)?;
        let mut parsed = Parsed::default();
        let mut logical = String::new();
        let mut start = 0;
        for (i, raw) in s.lines().enumerate() {
            if logical.is_empty() {
                start = i + 1;
            }
            // A comment starts at `#` at the line's start or after whitespace.
            let line = strip_comment(raw);
            if let Some(cont) = line.strip_suffix('\\') {
                logical.push_str(cont);
                logical.push(' ');
                continue;
            }
            logical.push_str(line);
            let l = std::mem::take(&mut logical);
            requirement_line(file, &mut parsed, l.trim(), start);
        }
        if !logical.trim().is_empty() {
            requirement_line(file, &mut parsed, logical.trim(), start);
        }
        Ok(parsed)
    }
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && bytes.get(i - 1).is_some_and(|c| c.is_ascii_whitespace()) {
            return line.get(..i).unwrap_or(line).trim_end();
        }
    }
    line.trim_end()
}

fn requirement_line(file: &FileRef<'_>, parsed: &mut Parsed, line: &str, lineno: usize) {
    if line.is_empty() {
        return;
    }
    if line.starts_with('-') {
        let mut words = line.split_whitespace();
        let opt = words.next().unwrap_or_default();
        let (flag, arg) = match opt.split_once('=') {
            Some((f, a)) => (f, Some(a)),
            None => (opt, words.next()),
        };
        if matches!(flag, "-r" | "--requirement" | "-c" | "--constraint") {
            parsed.warnings.push(Warning::new(
                file.path,
                format!("{REQS}: line {lineno}: includes {:?}, which is not followed", arg.unwrap_or_default()),
            ));
        }
        return;
    }
    // Drop environment markers and per-requirement options (`--hash=...`).
    let req = line.split(';').next().unwrap_or_default();
    let req: String = req.split_whitespace().take_while(|t| !t.starts_with('-')).collect();
    let (name, version) = if let Some((n, v)) = req.split_once("===") {
        (n, v)
    } else if let Some((n, v)) = req.split_once("==") {
        (n, v)
    } else {
        return;
    };
    // Extras: `name[a,b]`.
    let name = name.split('[').next().unwrap_or(name);
    let valid_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let pinned = !version.is_empty() && !version.contains(['*', ',', '<', '>', '!', '=', '@', '/']);
    if valid_name && pinned {
        parsed.packages.push(package(Ecosystem::PyPI, name, version, file));
    }
}

/// `poetry.lock`: `[[package]]` entries; dev when the package is only in
/// non-main groups (lock 2.1: `groups`) or in category `dev` (poetry < 1.5).
/// Packages from a local `directory` or `file` source are skipped.
pub struct PoetryLock;

const POETRY: &str = "poetry-lock";

impl Parser for PoetryLock {
    fn name(&self) -> &'static str {
        POETRY
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "poetry.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = toml_table(POETRY, file, content)?;
        let mut parsed = Parsed::default();
        let entries = match doc.get("package") {
            Some(toml::Value::Array(a)) => a,
            Some(_) => return Err(ParseError::new(POETRY, file.path, "`package` is not an array of tables")),
            None => return Ok(parsed),
        };
        for (i, e) in entries.iter().enumerate() {
            let Some(t) = e.as_table() else { continue };
            let (Some(name), Some(version)) = (tstr(t, "name"), tstr(t, "version")) else {
                parsed.warnings.push(Warning::new(file.path, format!("{POETRY}: package entry {i} has no name or version; skipped")));
                continue;
            };
            let source_type = t.get("source").and_then(toml::Value::as_table).and_then(|s| tstr(s, "type"));
            if matches!(source_type, Some("directory" | "file")) {
                continue;
            }
            let mut p = package(Ecosystem::PyPI, name, version, file);
            p.dev = match t.get("groups").and_then(toml::Value::as_array) {
                Some(groups) => !groups.iter().any(|g| g.as_str() == Some("main")),
                None => tstr(t, "category") == Some("dev"),
            };
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}

/// `Pipfile.lock`: `default` and `develop` (dev) sections.
pub struct PipfileLock;

const PIPFILE: &str = "pipfile-lock";

impl Parser for PipfileLock {
    fn name(&self) -> &'static str {
        PIPFILE
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "Pipfile.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = json(PIPFILE, file, content)?;
        if doc.get("default").is_none() && doc.get("develop").is_none() {
            return Err(ParseError::new(PIPFILE, file.path, "neither `default` nor `develop` section"));
        }
        let mut parsed = Parsed::default();
        let mut prod: HashSet<String> = HashSet::new();
        for (section, dev) in [("default", false), ("develop", true)] {
            let Some(map) = doc.get(section).and_then(Value::as_object) else { continue };
            for (name, entry) in map {
                // Git, path and editable entries have no `version`.
                let Some(version) = entry.get("version").and_then(Value::as_str) else { continue };
                let version = version.trim_start_matches("===").trim_start_matches("==");
                if dev && prod.contains(name) {
                    continue;
                }
                if !dev {
                    prod.insert(name.clone());
                }
                let mut p = package(Ecosystem::PyPI, name, version, file);
                p.dev = dev;
                parsed.packages.push(p);
            }
        }
        Ok(parsed)
    }
}

/// `uv.lock`: registry, git and URL packages; the project's own packages
/// (`virtual`, `editable`, `directory`, `path` sources) are skipped and are the
/// roots from which `direct` and `dev` are worked out.
pub struct UvLock;

const UV: &str = "uv-lock";

impl Parser for UvLock {
    fn name(&self) -> &'static str {
        UV
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "uv.lock"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let doc = toml_table(UV, file, content)?;
        let entries: Vec<&toml::Table> = match doc.get("package") {
            Some(toml::Value::Array(a)) => a.iter().filter_map(toml::Value::as_table).collect(),
            Some(_) => return Err(ParseError::new(UV, file.path, "`package` is not an array of tables")),
            None if doc.contains_key("version") => Vec::new(),
            None => return Err(ParseError::new(UV, file.path, "no `version` and no [[package]] entries")),
        };
        let is_local = |t: &toml::Table| {
            let src = t.get("source").and_then(toml::Value::as_table);
            src.is_none_or(|s| ["virtual", "editable", "directory", "path"].iter().any(|k| s.contains_key(*k)))
        };
        // name -> dependency names, for the reachability walk.
        let mut graph: HashMap<&str, Vec<&str>> = HashMap::new();
        let (mut prod_roots, mut dev_roots) = (Vec::new(), Vec::new());
        for t in &entries {
            let Some(name) = tstr(t, "name") else { continue };
            let mut deps = names(t.get("dependencies"));
            let optional: Vec<&str> = t
                .get("optional-dependencies")
                .and_then(toml::Value::as_table)
                .map(|o| o.values().flat_map(|v| names(Some(v))).collect())
                .unwrap_or_default();
            if is_local(t) {
                prod_roots.extend(deps.iter().copied());
                prod_roots.extend(optional.iter().copied());
                if let Some(groups) = t.get("dev-dependencies").and_then(toml::Value::as_table) {
                    dev_roots.extend(groups.values().flat_map(|v| names(Some(v))));
                }
            }
            deps.extend(optional);
            graph.entry(name).or_default().extend(deps);
        }
        let walk = |roots: &[&str]| -> HashSet<String> {
            let mut seen: HashSet<String> = HashSet::new();
            let mut stack: Vec<&str> = roots.to_vec();
            while let Some(n) = stack.pop() {
                if seen.insert(n.to_string()) {
                    stack.extend(graph.get(n).into_iter().flatten().copied());
                }
            }
            seen
        };
        let prod = walk(&prod_roots);
        let direct: HashSet<&str> = prod_roots.iter().chain(dev_roots.iter()).copied().collect();
        let has_roots = !direct.is_empty();

        let mut parsed = Parsed::default();
        for (i, t) in entries.iter().enumerate() {
            let (Some(name), Some(version)) = (tstr(t, "name"), tstr(t, "version")) else {
                if !is_local(t) {
                    parsed.warnings.push(Warning::new(file.path, format!("{UV}: package entry {i} has no name or version; skipped")));
                }
                continue;
            };
            if is_local(t) {
                continue;
            }
            let mut p = package(Ecosystem::PyPI, name, version, file);
            if has_roots {
                p.direct = Some(direct.contains(name));
                p.dev = !prod.contains(name);
            }
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}

/// The `name`s of a uv dependency list.
fn names(v: Option<&toml::Value>) -> Vec<&str> {
    v.and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(|d| d.get("name").and_then(toml::Value::as_str)).collect())
        .unwrap_or_default()
}

/// Core metadata of an installed distribution (email-header format):
/// `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, or an `*.egg-info` file.
pub struct PythonMetadata;

const META: &str = "python-metadata";

impl Parser for PythonMetadata {
    fn name(&self) -> &'static str {
        META
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        let mut parts = file.path.rsplit('/');
        let (Some(name), Some(dir)) = (parts.next(), parts.next()) else { return false };
        (name == "METADATA" && dir.ends_with(".dist-info"))
            || (name == "PKG-INFO" && dir.ends_with(".egg-info"))
            || (name.ends_with(".egg-info") && name.len() > ".egg-info".len())
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        super::check_size(META, file, content)?;
        let s = String::from_utf8_lossy(content);
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in s.lines() {
            if line.is_empty() {
                break; // the body (long description) follows
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = fields.last_mut() {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                return Err(ParseError::new(META, file.path, format!("not a metadata header line: {:?}", truncate(line))));
            };
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        let (Some(name), Some(version)) = (get("name"), get("version")) else {
            return Err(ParseError::new(META, file.path, "no `Name` or `Version` header"));
        };
        if name.is_empty() || version.is_empty() {
            return Err(ParseError::new(META, file.path, "empty `Name` or `Version`"));
        }
        let mut p = package(Ecosystem::PyPI, name, version, file);
        if let Some(expr) = get("license-expression").filter(|v| !v.is_empty()) {
            p.licenses.push(expr.to_string());
        } else if let Some(lic) = get("license").filter(|v| usable_license(v)) {
            p.licenses.push(lic.to_string());
        } else {
            for (k, v) in &fields {
                if k == "classifier" {
                    if let Some(rest) = v.strip_prefix("License ::") {
                        let last = rest.rsplit("::").next().unwrap_or(rest).trim();
                        if !last.is_empty() && last != "OSI Approved" {
                            p.licenses.push(last.to_string());
                        }
                    }
                }
            }
        }
        Ok(Parsed::from(vec![p]))
    }
}

/// A `License:` value that names a license rather than pasting its text.
fn usable_license(v: &str) -> bool {
    !v.is_empty() && !v.contains('\n') && v.len() <= 128 && !v.eq_ignore_ascii_case("UNKNOWN")
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_licenses() {
        let f = FileRef::new("/site/x-1.0.dist-info/METADATA");
        assert!(PythonMetadata.matches(&f));
        let p = PythonMetadata
            .parse(&f, b"Metadata-Version: 2.4\nName: x\nVersion: 1.0\nLicense-Expression: MIT OR Apache-2.0\nLicense: ignored\n\nbody: no\n")
            .unwrap();
        assert_eq!(p.packages[0].licenses, ["MIT OR Apache-2.0"]);
        let p = PythonMetadata
            .parse(&f, b"Name: x\nVersion: 1.0\nLicense: Copyright (c) me\n        Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\n")
            .unwrap();
        assert_eq!(p.packages[0].licenses, ["MIT License"]);
        let err = PythonMetadata.parse(&f, b"Name: x\n").unwrap_err();
        assert!(err.to_string().contains("/site/x-1.0.dist-info/METADATA"), "{err}");
        assert!(PythonMetadata.parse(&f, b"\x00\xff garbage").is_err());
    }

    #[test]
    fn metadata_paths() {
        for yes in ["/a/b.dist-info/METADATA", "/a/b.egg-info/PKG-INFO", "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"] {
            assert!(PythonMetadata.matches(&FileRef::new(yes)), "{yes}");
        }
        for no in ["/a/METADATA", "/a/b/PKG-INFO", "/a/.egg-info", "/a/b.dist-info/RECORD"] {
            assert!(!PythonMetadata.matches(&FileRef::new(no)), "{no}");
        }
    }

    #[test]
    fn pipfile_sections() {
        let f = FileRef::new("/Pipfile.lock");
        let p = PipfileLock
            .parse(&f, br#"{"default":{"a":{"version":"==1.0"},"g":{"git":"x"}},"develop":{"a":{"version":"==1.0"},"b":{"version":"==2.0"}}}"#)
            .unwrap();
        let got: Vec<_> = p.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.dev)).collect();
        assert_eq!(got, [("a", "1.0", false), ("b", "2.0", true)]);
        assert!(PipfileLock.parse(&f, b"{}").is_err());
    }
}
