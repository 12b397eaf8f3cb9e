//! Java archives (JAR, WAR, EAR and the plugin/service variants): which Maven
//! artifacts they are and contain.
//!
//! Evidence, most authoritative first: every `META-INF/maven/**/pom.properties`
//! (one package each: shaded jars carry several); without any, the
//! `META-INF/MANIFEST.MF` attributes, completed from the file name; without a
//! manifest version, the file name (`name-1.2.3.jar`). Which one was used is
//! recorded in the `maven.evidence` property. Archives inside archives
//! (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`, EAR modules) are read
//! recursively up to a depth limit; their packages are located at
//! `outer.war!/WEB-INF/lib/x.jar`. Decompression is capped per entry and in
//! total, and the number of entries is capped, so a zip bomb stops with a
//! warning. A corrupt nested archive is a warning; the rest goes on.

use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Package, Warning};
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use zip::ZipArchive;

/// File name endings of Java archives (lowercase).
pub const ARCHIVE_EXTENSIONS: [&str; 7] = [".jar", ".war", ".ear", ".par", ".sar", ".jpi", ".hpi"];

/// Caps on what one top-level archive may make the parser do. Nested
/// archives are held in memory while they are read, so `max_total_bytes`
/// also bounds the memory one archive can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// How deep archives nest inside the top-level one (the top level is 0).
    pub max_depth: usize,
    /// Largest uncompressed nested archive read into memory.
    pub max_nested_bytes: u64,
    /// Largest uncompressed metadata file (`pom.properties`, `MANIFEST.MF`).
    pub max_metadata_bytes: u64,
    /// Total uncompressed bytes read, over all nesting levels.
    pub max_total_bytes: u64,
    /// Total archive entries, over all nesting levels.
    pub max_entries: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 4,
            max_nested_bytes: 128 << 20,
            max_metadata_bytes: 1 << 20,
            max_total_bytes: 512 << 20,
            max_entries: 1_000_000,
        }
    }
}

/// Why (part of) an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a readable zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("cannot read entry {entry}: {source}")]
    Entry {
        entry: String,
        source: std::io::Error,
    },
    #[error("entry {entry} is larger than {limit} bytes uncompressed; not read (zip bomb?)")]
    EntryTooLarge { entry: String, limit: u64 },
    #[error("more than {0} bytes uncompressed in total; stopped reading (zip bomb?)")]
    TotalTooLarge(u64),
    #[error("more than {0} archive entries in total; stopped reading (zip bomb?)")]
    TooManyEntries(u64),
}

/// Reads Maven coordinates out of Java archives.
#[derive(Debug, Default, Clone)]
pub struct JavaArchiveParser {
    pub limits: ArchiveLimits,
}

impl JavaArchiveParser {
    pub fn with_limits(limits: ArchiveLimits) -> JavaArchiveParser {
        JavaArchiveParser { limits }
    }
}

/// Whether a file name is a Java archive name.
pub fn is_archive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ARCHIVE_EXTENSIONS.iter().any(|e| lower.ends_with(e)) && lower.len() > 4
}

impl Parser for JavaArchiveParser {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        is_archive_name(file.file_name())
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let mut walk = Walk {
            limits: self.limits,
            bytes: 0,
            entries: 0,
            parsed: Parsed::default(),
        };
        walk.archive(content, file.path, file.file_name(), 0)
            .map_err(|e| ParseError::new(self.name(), file.path, e))?;
        Ok(walk.parsed)
    }
}

struct Walk {
    limits: ArchiveLimits,
    bytes: u64,
    entries: u64,
    parsed: Parsed,
}

impl Walk {
    fn archive(
        &mut self,
        data: &[u8],
        location: &str,
        file_name: &str,
        depth: usize,
    ) -> Result<(), ArchiveError> {
        let mut zip = ZipArchive::new(Cursor::new(data))?;
        self.entries += zip.len() as u64;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries(self.limits.max_entries));
        }
        let mut poms = Vec::new();
        let mut manifest = None;
        let mut nested = Vec::new();
        for i in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(i) else {
                continue;
            };
            if is_pom_properties(&name) {
                poms.push((i, name.into_owned()));
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest = Some(i);
            } else if is_archive_name(&name) && !name.ends_with('/') {
                nested.push((i, name.into_owned()));
            }
        }
        let max_meta = self.limits.max_metadata_bytes;
        let attrs = match manifest {
            Some(i) => match self.read_entry(&mut zip, i, "META-INF/MANIFEST.MF", max_meta) {
                Ok(b) => parse_manifest(&String::from_utf8_lossy(&b)),
                Err(e @ ArchiveError::TotalTooLarge(_)) => return Err(e),
                Err(e) => {
                    self.warn(location, e);
                    BTreeMap::new()
                }
            },
            None => BTreeMap::new(),
        };
        // OSGi `Bundle-License`: the archive's own license, so it goes to the
        // archive's package, not to what a shaded jar bundles.
        let license: Vec<String> = attrs
            .get("Bundle-License")
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .map(|l| vec![l.to_string()])
            .unwrap_or_default();
        let single_pom = poms.len() == 1;
        let mut found = 0;
        for (i, name) in poms {
            let text = match self.read_entry(&mut zip, i, &name, max_meta) {
                Ok(b) => b,
                Err(e @ ArchiveError::TotalTooLarge(_)) => return Err(e),
                Err(e) => {
                    self.warn(location, e);
                    continue;
                }
            };
            let props = parse_properties(&String::from_utf8_lossy(&text));
            let (Some(g), Some(a), Some(v)) = (
                props.get("groupId"),
                props.get("artifactId"),
                props.get("version"),
            ) else {
                self.warn(
                    location,
                    format!("{name} lacks groupId, artifactId or version; ignored"),
                );
                continue;
            };
            let mut p = maven_package(Some(g), a, v, location, "pom.properties");
            p.properties
                .insert("maven.pom_properties".to_string(), name.clone());
            if single_pom {
                p.licenses = license.clone();
            }
            self.parsed.packages.push(p);
            found += 1;
        }
        if found == 0 {
            if let Some(mut p) = package_from_manifest_or_name(&attrs, file_name, location) {
                p.licenses = license;
                self.parsed.packages.push(p);
            } else {
                tracing::debug!(archive = location, "no Maven coordinates found");
            }
        }
        for (i, name) in nested {
            let inner_location = format!("{location}!/{name}");
            let inner_name = name.rsplit('/').next().unwrap_or(&name).to_string();
            if depth + 1 > self.limits.max_depth {
                self.warn(
                    &inner_location,
                    format!(
                        "nested more than {} archives deep; not read",
                        self.limits.max_depth
                    ),
                );
                continue;
            }
            let bytes = match self.read_entry(&mut zip, i, &name, self.limits.max_nested_bytes) {
                Ok(b) => b,
                Err(e @ ArchiveError::TotalTooLarge(_)) => return Err(e),
                Err(e) => {
                    self.warn(&inner_location, e);
                    continue;
                }
            };
            match self.archive(&bytes, &inner_location, &inner_name, depth + 1) {
                Ok(()) => {}
                Err(e @ (ArchiveError::TotalTooLarge(_) | ArchiveError::TooManyEntries(_))) => {
                    return Err(e)
                }
                Err(e) => self.warn(&inner_location, e),
            }
        }
        Ok(())
    }

    /// Reads one entry, stopping at `limit` bytes and at the total budget,
    /// whatever sizes the archive claims.
    fn read_entry(
        &mut self,
        zip: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        name: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ArchiveError> {
        let entry = zip.by_index(index)?;
        let remaining = self.limits.max_total_bytes.saturating_sub(self.bytes);
        let cap = limit.min(remaining);
        let mut buf = Vec::with_capacity(entry.size().min(cap).min(16 << 20) as usize);
        entry
            .take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|source| ArchiveError::Entry {
                entry: name.to_string(),
                source,
            })?;
        self.bytes += buf.len() as u64;
        if buf.len() as u64 > cap {
            if cap < limit {
                return Err(ArchiveError::TotalTooLarge(self.limits.max_total_bytes));
            }
            return Err(ArchiveError::EntryTooLarge {
                entry: name.to_string(),
                limit,
            });
        }
        Ok(buf)
    }

    fn warn(&mut self, input: &str, message: impl ToString) {
        self.parsed
            .warnings
            .push(Warning::new(input, message.to_string()));
    }
}

/// `META-INF/maven/<groupId>/<artifactId>/pom.properties`.
fn is_pom_properties(name: &str) -> bool {
    name.strip_prefix("META-INF/maven/")
        .and_then(|r| r.strip_suffix("/pom.properties"))
        .is_some_and(|ga| ga.split('/').count() == 2)
}

fn maven_package(
    group: Option<&str>,
    artifact: &str,
    version: &str,
    location: &str,
    evidence: &str,
) -> Package {
    let mut p = Package::new(Ecosystem::Maven, artifact, version, location);
    p.namespace = group.filter(|g| !g.is_empty()).map(str::to_string);
    p.properties
        .insert("maven.evidence".to_string(), evidence.to_string());
    p
}

/// Java `.properties` text: `key=value`, `key: value` or `key value` lines,
/// `#`/`!` comments, backslash line continuations and the common escapes.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        if entry.trim().is_empty() {
            continue;
        }
        let mut key = String::new();
        let mut chars = entry.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        key.push(unescape(n));
                    }
                }
                '=' | ':' => break,
                c if c.is_whitespace() => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                    if chars.peek().is_some_and(|&c| c == '=' || c == ':') {
                        chars.next();
                    }
                    break;
                }
                c => key.push(c),
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    value.push(unescape(n));
                }
            } else {
                value.push(c);
            }
        }
        out.insert(key, value);
    }
    out
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'f' => '\x0c',
        c => c,
    }
}

/// `MANIFEST.MF` main section attributes (continuation lines begin with a space).
pub fn parse_manifest(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = current.as_mut() {
                v.push_str(cont);
            }
            continue;
        }
        if let Some((k, v)) = current.take() {
            out.entry(k).or_insert(v);
        }
        if line.is_empty() {
            // The main section ends at the first blank line.
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            current = Some((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some((k, v)) = current {
        out.entry(k).or_insert(v);
    }
    out
}

/// Splits `name-1.2.3.jar` into (`name`, `1.2.3`): the version starts at the
/// last `-` followed by a digit and a dot-separated number.
pub fn split_file_name(file_name: &str) -> Option<(&str, &str)> {
    let stem = match file_name.rfind('.') {
        Some(i) if is_archive_name(file_name) => &file_name[..i],
        _ => file_name,
    };
    let bytes = stem.as_bytes();
    let mut best = None;
    for (i, _) in stem.match_indices('-') {
        let rest = &bytes[i + 1..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0
            && rest.get(digits) == Some(&b'.')
            && rest.get(digits + 1).is_some_and(u8::is_ascii_digit)
        {
            best = Some(i);
        }
    }
    let i = best?;
    let (name, version) = (&stem[..i], &stem[i + 1..]);
    (!name.is_empty()).then_some((name, version))
}

/// A package from manifest attributes, completed from (or, without a manifest
/// version, taken from) the file name.
fn package_from_manifest_or_name(
    attrs: &BTreeMap<String, String>,
    file_name: &str,
    location: &str,
) -> Option<Package> {
    let get = |k: &str| attrs.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let symbolic = get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or(s).trim());
    let from_name = split_file_name(file_name);
    let manifest_version = get("Implementation-Version")
        .or_else(|| get("Bundle-Version"))
        .or_else(|| get("Specification-Version"));
    let title = get("Implementation-Title").filter(|t| !t.contains(char::is_whitespace));
    let artifact = from_name
        .map(|(n, _)| n)
        .or(title)
        .or_else(|| symbolic.map(|s| s.rsplit('.').next().unwrap_or(s)))?;
    let group = get("Implementation-Vendor-Id")
        .or_else(|| symbolic.and_then(|s| s.rsplit_once('.')).map(|(g, _)| g));
    let (version, evidence) = match (manifest_version, from_name) {
        (Some(v), _) => (v, "manifest"),
        (None, Some((_, v))) => (v, "filename"),
        (None, None) => return None,
    };
    let evidence = if evidence == "filename" && group.is_some() {
        "manifest+filename"
    } else {
        evidence
    };
    Some(maven_package(group, artifact, version, location, evidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            split_file_name("commons-lang3-3.12.0.jar"),
            Some(("commons-lang3", "3.12.0"))
        );
        assert_eq!(
            split_file_name("log4j-1.2-api-2.17.1.jar"),
            Some(("log4j-1.2-api", "2.17.1"))
        );
        assert_eq!(
            split_file_name("guava-31.1-jre.jar"),
            Some(("guava", "31.1-jre"))
        );
        assert_eq!(
            split_file_name("app-1.0-SNAPSHOT.war"),
            Some(("app", "1.0-SNAPSHOT"))
        );
        assert_eq!(split_file_name("tools.jar"), None);
        assert_eq!(split_file_name("-1.0.jar"), None);
        assert_eq!(split_file_name("x-1.jar"), None);
    }

    #[test]
    fn properties_format() {
        let p = parse_properties(
            "#Generated by Maven\n! also a comment\ngroupId=org.example\nartifactId : demo\nversion 1.\\\n   2.3\nname=a\\=b\\n\n\n",
        );
        assert_eq!(p["groupId"], "org.example");
        assert_eq!(p["artifactId"], "demo");
        assert_eq!(p["version"], "1.2.3");
        assert_eq!(p["name"], "a=b\n");
    }

    #[test]
    fn manifest_format() {
        let m = parse_manifest(
            "Manifest-Version: 1.0\r\nBundle-SymbolicName: org.apache.commons.lang\r\n 3;singleton:=true\r\nImplementation-Version: 3.12.0\r\n\r\nName: x/\r\nImplementation-Version: 9\r\n",
        );
        assert_eq!(
            m["Bundle-SymbolicName"],
            "org.apache.commons.lang3;singleton:=true"
        );
        assert_eq!(m["Implementation-Version"], "3.12.0");
        let p = package_from_manifest_or_name(&m, "lang.jar", "/x/lang.jar").unwrap();
        assert_eq!(
            (p.namespace.as_deref(), p.name.as_str(), p.version.as_str()),
            (Some("org.apache.commons"), "lang3", "3.12.0")
        );
        assert_eq!(p.properties["maven.evidence"], "manifest");
        let p =
            package_from_manifest_or_name(&BTreeMap::new(), "x-2.0.1.jar", "/x-2.0.1.jar").unwrap();
        assert_eq!(
            (p.namespace, p.name.as_str(), p.version.as_str()),
            (None, "x", "2.0.1")
        );
        assert!(package_from_manifest_or_name(&BTreeMap::new(), "x.jar", "/x.jar").is_none());
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let file = FileRef {
            path: "/a/b.jar",
            size: 3,
            executable: false,
        };
        let e = JavaArchiveParser::default()
            .parse(&file, b"PK\x03")
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/a/b.jar: cannot parse as java-archive: not a readable zip archive"),
            "{e}"
        );
    }
}
