//! The rpm database in its three storage formats — sqlite `rpmdb.sqlite`
//! (RHEL 9, Fedora 33+), Berkeley DB hash `Packages` (RHEL 8 and older,
//! CentOS 7, Amazon Linux 2) and ndb `Packages.db` (openSUSE, SLE 15) — all of
//! which store one rpm header blob per installed package.

pub mod bdb;
pub mod header;
pub mod ndb;

use super::Warnings;
use crate::{FileRef, ParseError, Parsed, Parser, ParserClass};
use garrison_model::{Ecosystem, Package, SourcePackage};
use header::Header;
use std::io::Write;

pub use header::HeaderError;

/// Directories rpm keeps its database in.
const DIRS: [&str; 2] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"];

fn in_rpm_dir(path: &str, file_name: &str) -> bool {
    DIRS.iter().any(|d| {
        path.strip_prefix(d) == Some(file_name)
    })
}

/// The package a header describes; `Ok(None)` for `gpg-pubkey` pseudo-packages.
pub fn package_from_header(blob: &[u8], location: &str) -> Result<Option<Package>, String> {
    let h = Header::parse(blob).map_err(|e| e.to_string())?;
    let name = h
        .string(header::TAG_NAME)
        .filter(|s| !s.is_empty())
        .ok_or("header has no NAME")?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = h
        .string(header::TAG_VERSION)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("header of {name} has no VERSION"))?;
    let release = h.string(header::TAG_RELEASE).filter(|s| !s.is_empty());
    let epoch = h.int32(header::TAG_EPOCH);
    let mut evr = String::new();
    if let Some(e) = epoch.filter(|&e| e != 0) {
        evr.push_str(&format!("{e}:"));
    }
    evr.push_str(&version);
    if let Some(r) = &release {
        evr.push('-');
        evr.push_str(r);
    }
    let mut pkg = Package::new(Ecosystem::Rpm, name, evr, location);
    pkg.arch = h.string(header::TAG_ARCH).filter(|s| !s.is_empty());
    if let Some(l) = h.string(header::TAG_LICENSE).filter(|s| !s.is_empty()) {
        pkg.licenses.push(l);
    }
    pkg.source = h
        .string(header::TAG_SOURCERPM)
        .and_then(|s| parse_source_rpm(&s, epoch));
    if let Some(e) = epoch {
        pkg.properties.insert("rpm.epoch".into(), e.to_string());
    }
    if let Some(m) = h.string(header::TAG_MODULARITYLABEL).filter(|s| !s.is_empty()) {
        pkg.properties.insert("rpm.modularitylabel".into(), m);
    }
    if let Some(v) = h.string(header::TAG_VENDOR).filter(|s| !s.is_empty()) {
        pkg.properties.insert("rpm.vendor".into(), v);
    }
    Ok(Some(pkg))
}

/// `openssl-3.0.7-27.el9.src.rpm` -> `openssl` at `3.0.7-27.el9` (with the
/// binary package's nonzero epoch in front: a source rpm's file name has none,
/// and rpm gives both the same epoch).
pub fn parse_source_rpm(file: &str, epoch: Option<u32>) -> Option<SourcePackage> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    let version = match epoch.filter(|&e| e != 0) {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    Some(SourcePackage {
        name: name.to_string(),
        version: Some(version),
    })
}

/// Turns header blobs into packages, one warning per unreadable blob.
fn packages_from<'b>(
    path: &str,
    blobs: impl IntoIterator<Item = std::borrow::Cow<'b, [u8]>>,
    problems: Vec<String>,
) -> Parsed {
    let mut warnings = Warnings::new(path);
    for p in problems {
        warnings.push(p);
    }
    let mut packages = Vec::new();
    for (i, blob) in blobs.into_iter().enumerate() {
        match package_from_header(&blob, path) {
            Ok(Some(p)) => packages.push(p),
            Ok(None) => {}
            Err(e) => warnings.push(format!("package record {}: {e}", i + 1)),
        }
    }
    Parsed {
        packages,
        warnings: warnings.finish(),
    }
}

/// The sqlite rpm database (`rpm-sqlite`): `rpmdb.sqlite`, table `Packages(hnum, blob)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmSqlite;

impl Parser for RpmSqlite {
    fn name(&self) -> &'static str {
        "rpm-sqlite"
    }

    fn class(&self) -> ParserClass {
        ParserClass::OsDatabase
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        in_rpm_dir(file.path, "rpmdb.sqlite")
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let err = |what: &str, e: &dyn std::fmt::Display| {
            ParseError::new(self.name(), file.path, format!("{what}: {e}"))
        };
        if !content.starts_with(b"SQLite format 3\0") {
            return Err(ParseError::new(
                self.name(),
                file.path,
                "not an SQLite 3 database (bad magic)",
            ));
        }
        // sqlite reads files, not memory: copy to a private temporary file and
        // open it immutable (no locks, no journal, no WAL side files).
        let mut tmp = tempfile::Builder::new()
            .prefix("garrison-rpmdb-")
            .suffix(".sqlite")
            .tempfile()
            .map_err(|e| err("creating a temporary copy", &e))?;
        tmp.write_all(content)
            .and_then(|()| tmp.flush())
            .map_err(|e| err("writing a temporary copy", &e))?;
        let uri = format!("file:{}?immutable=1", uri_escape(&tmp.path().to_string_lossy()));
        let conn = rusqlite::Connection::open_with_flags(
            uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_URI
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| err("opening", &e))?;
        let mut stmt = conn
            .prepare("SELECT blob FROM Packages ORDER BY hnum")
            .map_err(|e| err("reading table Packages", &e))?;
        let rows = stmt
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .map_err(|e| err("reading table Packages", &e))?;
        let mut blobs = Vec::new();
        let mut problems = Vec::new();
        for (i, row) in rows.enumerate() {
            match row {
                Ok(b) => blobs.push(std::borrow::Cow::Owned(b)),
                Err(e) => problems.push(format!("row {}: {e}", i + 1)),
            }
        }
        Ok(packages_from(file.path, blobs, problems))
    }
}

/// Percent-escapes the characters that would end the path part of an sqlite URI.
fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The Berkeley DB rpm database (`rpm-bdb`): `Packages`, a hash database.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmBdb;

impl Parser for RpmBdb {
    fn name(&self) -> &'static str {
        "rpm-bdb"
    }

    fn class(&self) -> ParserClass {
        ParserClass::OsDatabase
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        in_rpm_dir(file.path, "Packages")
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let v = bdb::values(content).map_err(|e| ParseError::new(self.name(), file.path, e))?;
        Ok(packages_from(file.path, v.values, v.problems))
    }
}

/// The ndb rpm database (`rpm-ndb`): `Packages.db`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmNdb;

impl Parser for RpmNdb {
    fn name(&self) -> &'static str {
        "rpm-ndb"
    }

    fn class(&self) -> ParserClass {
        ParserClass::OsDatabase
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        in_rpm_dir(file.path, "Packages.db")
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let b = ndb::blobs(content).map_err(|e| ParseError::new(self.name(), file.path, e))?;
        let blobs = b.blobs.into_iter().map(std::borrow::Cow::Borrowed);
        Ok(packages_from(file.path, blobs, b.problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            parse_source_rpm("openssl-3.0.7-27.el9.src.rpm", None),
            Some(SourcePackage { name: "openssl".into(), version: Some("3.0.7-27.el9".into()) })
        );
        assert_eq!(
            parse_source_rpm("openssl-3.0.7-27.el9.src.rpm", Some(1)),
            Some(SourcePackage { name: "openssl".into(), version: Some("1:3.0.7-27.el9".into()) })
        );
        assert_eq!(
            parse_source_rpm("python3-pip-wheel-21.3.1-1.el9.nosrc.rpm", Some(0)),
            Some(SourcePackage { name: "python3-pip-wheel".into(), version: Some("21.3.1-1.el9".into()) })
        );
        assert_eq!(parse_source_rpm("(none)", None), None);
        assert_eq!(parse_source_rpm("-1-2.src.rpm", None), None);
    }

    #[test]
    fn matches_paths() {
        assert!(RpmSqlite.matches(&FileRef::new("/var/lib/rpm/rpmdb.sqlite")));
        assert!(RpmSqlite.matches(&FileRef::new("/usr/lib/sysimage/rpm/rpmdb.sqlite")));
        assert!(RpmBdb.matches(&FileRef::new("/var/lib/rpm/Packages")));
        assert!(RpmNdb.matches(&FileRef::new("/usr/lib/sysimage/rpm/Packages.db")));
        assert!(!RpmBdb.matches(&FileRef::new("/var/lib/rpm/Packages.db")));
        assert!(!RpmSqlite.matches(&FileRef::new("/var/lib/rpm/x/rpmdb.sqlite")));
    }
}
