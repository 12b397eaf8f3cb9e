//! The `.garrisonignore` file: findings a team has decided to accept, each
//! with a reason and an optional expiry date.
//!
//! ```yaml
//! ignore:
//!   - id: CVE-2023-12345            # a finding ID or any of its aliases
//!     reason: not reachable from our code (ticket SEC-42)
//!     expires: 2027-03-31           # optional; expired entries warn and no longer apply
//!   - purl: pkg:npm/lodash          # every version of a package ...
//!     reason: replaced next sprint
//!   - purl: pkg:pypi/requests@2.19.0  # ... or one version
//!     id: GHSA-x84v-xcm2-53pg       # fields combine: all given must match
//!     reason: vendored copy, patched
//!   - path: /opt/legacy/**          # a glob on the finding's file path
//!     reason: scheduled for removal
//! ```

use crate::GateError;
use garrison_model::Warning;
use globset::{Glob, GlobMatcher};
use jiff::civil::Date;
use serde::Deserialize;
use std::path::Path;

/// Looked for in the working directory when `--ignorefile` is not given.
pub const DEFAULT_IGNORE_FILE: &str = ".garrisonignore";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    ignore: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    purl: Option<String>,
    path: Option<String>,
    reason: Option<String>,
    expires: Option<String>,
}

/// One accepted finding (or family of findings).
#[derive(Debug, Clone)]
pub struct IgnoreEntry {
    pub id: Option<String>,
    pub purl: Option<String>,
    pub path: Option<String>,
    path_glob: Option<GlobMatcher>,
    pub reason: String,
    pub expires: Option<Date>,
}

/// What a finding offers to be matched on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    /// The finding's ID and aliases.
    pub ids: &'a [&'a str],
    pub purl: Option<&'a str>,
    pub path: Option<&'a str>,
}

/// A parsed ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    /// Where it came from, for messages.
    pub source: String,
    pub entries: Vec<IgnoreEntry>,
}

impl IgnoreFile {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<IgnoreFile, GateError> {
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        IgnoreFile::parse(&text, &path.display().to_string())
    }

    /// Parses and validates ignore-file text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<IgnoreFile, GateError> {
        let raw: RawFile = if text.trim().is_empty() {
            RawFile { ignore: Vec::new() }
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| GateError::Parse {
                path: source.to_string(),
                reason: format!("{e} (expected a top-level `ignore:` list of entries with id, purl or path, a reason and an optional expires date)"),
            })?
        };
        let mut entries = Vec::with_capacity(raw.ignore.len());
        for (i, e) in raw.ignore.into_iter().enumerate() {
            let err = |reason: String| GateError::Entry {
                path: source.to_string(),
                index: i + 1,
                reason,
            };
            let non_empty = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let (id, purl, path) = (non_empty(e.id), non_empty(e.purl), non_empty(e.path));
            if id.is_none() && purl.is_none() && path.is_none() {
                return Err(err("names nothing to ignore: give an id, a purl or a path".into()));
            }
            let reason = non_empty(e.reason)
                .ok_or_else(|| err("has no reason: every ignored finding needs one".into()))?;
            if let Some(p) = &purl {
                if !p.starts_with("pkg:") {
                    return Err(err(format!("purl {p:?} is not a package-url (pkg:TYPE/NAME[@VERSION])")));
                }
            }
            let expires = match non_empty(e.expires) {
                Some(d) => Some(
                    d.parse::<Date>()
                        .map_err(|x| err(format!("expires {d:?} is not a date like 2027-03-31: {x}")))?,
                ),
                None => None,
            };
            let path_glob = match &path {
                Some(p) => Some(
                    Glob::new(p)
                        .map_err(|x| err(format!("path {p:?} is not a valid glob: {x}")))?
                        .compile_matcher(),
                ),
                None => None,
            };
            entries.push(IgnoreEntry {
                id,
                purl,
                path,
                path_glob,
                reason,
                expires,
            });
        }
        Ok(IgnoreFile {
            source: source.to_string(),
            entries,
        })
    }

    /// The first entry in force on `today` that matches `subject`.
    pub fn matching(&self, subject: &Subject<'_>, today: Date) -> Option<&IgnoreEntry> {
        self.entries
            .iter()
            .filter(|e| e.expires.is_none_or(|d| d >= today))
            .find(|e| e.matches(subject))
    }

    /// One warning per entry that has expired by `today`.
    pub fn expired(&self, today: Date) -> Vec<Warning> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let d = e.expires.filter(|d| *d < today)?;
                Some(Warning::new(
                    format!("{} entry {}", self.source, i + 1),
                    format!(
                        "expired on {d} and no longer applies ({}); renew it with a new date or remove it",
                        e.describe()
                    ),
                ))
            })
            .collect()
    }
}

impl IgnoreEntry {
    fn matches(&self, s: &Subject<'_>) -> bool {
        let id_ok = self
            .id
            .as_deref()
            .is_none_or(|id| s.ids.iter().any(|x| x.eq_ignore_ascii_case(id)));
        let purl_ok = self
            .purl
            .as_deref()
            .is_none_or(|p| s.purl.is_some_and(|sp| purl_matches(p, sp)));
        let path_ok = self
            .path_glob
            .as_ref()
            .is_none_or(|g| s.path.is_some_and(|sp| g.is_match(sp)));
        id_ok && purl_ok && path_ok
    }

    /// `id CVE-1, purl pkg:npm/x` for messages.
    pub fn describe(&self) -> String {
        [("id", &self.id), ("purl", &self.purl), ("path", &self.path)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `pattern` without a version matches every version of the package; with a
/// version, that version. Qualifiers and subpaths are not compared.
fn purl_matches(pattern: &str, purl: &str) -> bool {
    let strip = |s: &str| -> String {
        let s = s.split(['?', '#']).next().unwrap_or(s);
        s.to_string()
    };
    let (pattern, purl) = (strip(pattern), strip(purl));
    if pattern.contains('@') {
        pattern == purl
    } else {
        purl.split('@').next() == Some(pattern.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    const FILE: &str = r#"
ignore:
  - id: CVE-2023-1
    reason: not reachable
    expires: 2027-01-31
  - purl: pkg:npm/lodash
    reason: replaced soon
  - purl: pkg:pypi/requests@2.19.0
    id: GHSA-x
    reason: vendored
  - path: /opt/legacy/**
    reason: going away
"#;

    #[test]
    fn matches_by_id_purl_path_and_combinations() {
        let f = IgnoreFile::parse(FILE, ".garrisonignore").unwrap();
        let today = day("2026-12-04");
        let s = |ids: &'static [&'static str], purl: Option<&'static str>, path: Option<&'static str>| Subject { ids, purl, path };
        assert_eq!(f.matching(&s(&["GHSA-a", "cve-2023-1"], None, None), today).unwrap().reason, "not reachable");
        assert!(f.matching(&s(&["X"], Some("pkg:npm/lodash@4.17.20"), None), today).is_some());
        assert!(f.matching(&s(&["X"], Some("pkg:npm/lodash-es@4.17.20"), None), today).is_none());
        // both fields must match
        assert!(f.matching(&s(&["GHSA-x"], Some("pkg:pypi/requests@2.19.0"), None), today).is_some());
        assert!(f.matching(&s(&["GHSA-x"], Some("pkg:pypi/requests@2.20.0"), None), today).is_none());
        assert!(f.matching(&s(&["X"], None, Some("/opt/legacy/lib/a.jar")), today).is_some());
        assert!(f.matching(&s(&["X"], None, Some("/opt/new/a.jar")), today).is_none());
    }

    #[test]
    fn expired_entries_warn_and_stop_applying() {
        let f = IgnoreFile::parse(FILE, ".garrisonignore").unwrap();
        let later = day("2027-02-01");
        assert!(f.matching(&Subject { ids: &["CVE-2023-1"], ..Default::default() }, later).is_none());
        let w = f.expired(later);
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("expired on 2027-01-31"), "{w:?}");
        assert!(f.expired(day("2027-01-31")).is_empty());
    }

    #[test]
    fn bad_files_name_file_and_entry() {
        let e = IgnoreFile::parse("ignore:\n  - id: X\n", "a.yml").unwrap_err().to_string();
        assert!(e.contains("a.yml") && e.contains("entry 1") && e.contains("reason"), "{e}");
        let e = IgnoreFile::parse("ignore:\n  - reason: r\n", "a.yml").unwrap_err().to_string();
        assert!(e.contains("names nothing"), "{e}");
        let e = IgnoreFile::parse("ignore:\n  - id: X\n    reason: r\n    expires: soon\n", "a.yml").unwrap_err().to_string();
        assert!(e.contains("not a date"), "{e}");
        let e = IgnoreFile::parse("ignore:\n  - id: X\n    reason: r\n    colour: red\n", "a.yml").unwrap_err().to_string();
        assert!(e.contains("a.yml") && e.contains("colour"), "{e}");
        let e = IgnoreFile::parse("ignore:\n  - purl: lodash\n    reason: r\n", "a.yml").unwrap_err().to_string();
        assert!(e.contains("package-url"), "{e}");
        let e = IgnoreFile::parse("ignore: [", "a.yml").unwrap_err().to_string();
        assert!(e.contains("a.yml"), "{e}");
        assert!(IgnoreFile::parse("", "empty").unwrap().entries.is_empty());
    }
}
