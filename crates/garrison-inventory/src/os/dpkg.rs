//! The dpkg database: `/var/lib/dpkg/status` and the one-stanza-per-file
//! `/var/lib/dpkg/status.d/` that distroless images use. Both are deb822
//! control files (https://www.debian.org/doc/debian-policy/ch-controlfields.html).

use super::{colon, lines, text, trim, Warnings};
use crate::{FileRef, ParseError, Parsed, Parser, ParserClass};
use garrison_model::{Ecosystem, Package, SourcePackage};

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";

/// The dpkg status database (`dpkg-status`).
///
/// A package is reported when its files are on disk: the third word of its
/// `Status` is `installed`, `triggers-awaited`, `triggers-pending`,
/// `half-configured` or `unpacked` (not `not-installed`, `config-files` or
/// `half-installed`). Stanzas in `status.d/` usually have no `Status` field;
/// they are installed by definition.
#[derive(Debug, Clone, Copy, Default)]
pub struct DpkgStatus;

impl Parser for DpkgStatus {
    fn name(&self) -> &'static str {
        "dpkg-status"
    }

    fn class(&self) -> ParserClass {
        ParserClass::OsDatabase
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        if file.path == STATUS {
            return true;
        }
        match file.path.strip_prefix(STATUS_D) {
            Some(name) => {
                !name.is_empty()
                    && !name.contains('/')
                    && !name.starts_with('.')
                    && !name.ends_with(".md5sums")
            }
            None => false,
        }
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let status_d = file.path.starts_with(STATUS_D);
        Ok(parse_status(file.path, content, status_d))
    }
}

/// The fields of one stanza this parser keeps, borrowed from the content.
#[derive(Default)]
struct Stanza<'a> {
    first_line: usize,
    fields: usize,
    package: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    source: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
}

/// Parses a whole status file (or one `status.d` file); never fails, reports
/// unusable stanzas as warnings.
pub fn parse_status(path: &str, content: &[u8], status_d: bool) -> Parsed {
    let mut packages = Vec::new();
    let mut warnings = Warnings::new(path);
    let mut stanza = Stanza::default();
    let mut garbage = 0usize;
    for (n, line) in lines(content).enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim(line).is_empty() {
            finish_stanza(path, &stanza, status_d, &mut packages, &mut warnings);
            stanza = Stanza::default();
            continue;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // Continuation of a multi-line field (Description, Conffiles): none we keep.
            continue;
        }
        let Some(colon) = colon(line) else {
            garbage += 1;
            continue;
        };
        if stanza.fields == 0 {
            stanza.first_line = n + 1;
        }
        stanza.fields += 1;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let slot = if name.eq_ignore_ascii_case(b"Package") {
            &mut stanza.package
        } else if name.eq_ignore_ascii_case(b"Version") {
            &mut stanza.version
        } else if name.eq_ignore_ascii_case(b"Architecture") {
            &mut stanza.arch
        } else if name.eq_ignore_ascii_case(b"Source") {
            &mut stanza.source
        } else if name.eq_ignore_ascii_case(b"Status") {
            &mut stanza.status
        } else {
            continue;
        };
        *slot = Some(trim(value));
    }
    finish_stanza(path, &stanza, status_d, &mut packages, &mut warnings);
    if garbage > 0 {
        warnings.push(format!(
            "{garbage} lines that are neither a field nor a continuation were ignored"
        ));
    }
    Parsed {
        packages,
        warnings: warnings.finish(),
    }
}

fn finish_stanza(
    path: &str,
    s: &Stanza<'_>,
    status_d: bool,
    out: &mut Vec<Package>,
    warnings: &mut Warnings<'_>,
) {
    if s.fields == 0 {
        return;
    }
    let (Some(name), Some(version)) = (
        s.package.filter(|v| !v.is_empty()),
        s.version.filter(|v| !v.is_empty()),
    ) else {
        warnings.push(format!(
            "stanza at line {} has no {} field; skipped",
            s.first_line,
            if s.package.is_none_or(<[u8]>::is_empty) {
                "Package"
            } else {
                "Version"
            }
        ));
        return;
    };
    match s.status {
        Some(status) if !files_on_disk(status) => return,
        None if !status_d => {
            warnings.push(format!(
                "package {} at line {} has no Status field; skipped",
                text(name),
                s.first_line
            ));
            return;
        }
        _ => {}
    }
    let name = text(name);
    let mut pkg = Package::new(Ecosystem::Deb, name.clone(), text(version), path);
    pkg.arch = s.arch.filter(|a| !a.is_empty()).map(text);
    pkg.source = Some(match s.source.map(parse_source) {
        Some(Some(src)) => src,
        _ => SourcePackage {
            name,
            version: None,
        },
    });
    out.push(pkg);
}

/// `want flag status`: whether the package's files are on disk.
fn files_on_disk(status: &[u8]) -> bool {
    let word = status
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .nth(2);
    matches!(
        word,
        Some(
            b"installed"
                | b"triggers-awaited"
                | b"triggers-pending"
                | b"half-configured"
                | b"unpacked"
        )
    )
}

/// `Source: name` or `Source: name (version)`.
fn parse_source(value: &[u8]) -> Option<SourcePackage> {
    let value = trim(value);
    let (name, version) = match value.iter().position(|&b| b == b'(') {
        Some(open) => {
            let rest = &value[open + 1..];
            let close = rest.iter().position(|&b| b == b')').unwrap_or(rest.len());
            (&value[..open], Some(trim(&rest[..close])))
        }
        None => (value, None),
    };
    let name = trim(name);
    if name.is_empty() {
        return None;
    }
    Some(SourcePackage {
        name: text(name),
        version: version.filter(|v| !v.is_empty()).map(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Package: libssl3\r\n\
Status: install ok installed\r\n\
Architecture: amd64\r\n\
Source: openssl (3.0.11-1~deb12u2)\r\n\
Version: 3.0.11-1~deb12u2\r\n\
Description: Secure Sockets Layer toolkit\r\n a continuation\r\n .\r\n\
\r\n\
\r\n\
\r\n\
Package: old-conf\n\
Status: deinstall ok config-files\n\
Version: 1.0\n\
\n\
Package: held\n\
Status: hold ok installed\n\
Version: 2:1.0-1\n\
Architecture: all\n\
\n\
Package: noversion\n\
Status: install ok installed\n\
this line is garbage\n\
\n\
Package: half\n\
Status: install reinstreq half-installed\n\
Version: 1\n";

    #[test]
    fn sample_stanzas() {
        let parsed = parse_status(STATUS, SAMPLE.as_bytes(), false);
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("libssl3", "3.0.11-1~deb12u2", Some("amd64")),
                ("held", "2:1.0-1", Some("all"))
            ]
        );
        assert_eq!(
            parsed.packages[0].source,
            Some(SourcePackage {
                name: "openssl".into(),
                version: Some("3.0.11-1~deb12u2".into())
            })
        );
        assert_eq!(
            parsed.packages[1].source.as_ref().map(|s| s.name.as_str()),
            Some("held")
        );
        assert_eq!(parsed.warnings.len(), 2, "{:?}", parsed.warnings);
        assert!(parsed.warnings[0].message.contains("no Version"));
        assert!(parsed.warnings[0].message.contains("line 21"));
    }

    #[test]
    fn source_forms() {
        assert_eq!(
            parse_source(b"glibc"),
            Some(SourcePackage {
                name: "glibc".into(),
                version: None
            })
        );
        assert_eq!(
            parse_source(b" shadow (1:4.13+dfsg1-1) "),
            Some(SourcePackage {
                name: "shadow".into(),
                version: Some("1:4.13+dfsg1-1".into())
            })
        );
        assert_eq!(parse_source(b"(1.0)"), None);
        assert_eq!(
            parse_source(b"x (unclosed"),
            Some(SourcePackage {
                name: "x".into(),
                version: Some("unclosed".into())
            })
        );
    }

    #[test]
    fn matches_paths() {
        let p = DpkgStatus;
        assert!(p.matches(&FileRef::new("/var/lib/dpkg/status")));
        assert!(p.matches(&FileRef::new("/var/lib/dpkg/status.d/base-files")));
        assert!(!p.matches(&FileRef::new("/var/lib/dpkg/status.d/base-files.md5sums")));
        assert!(!p.matches(&FileRef::new("/var/lib/dpkg/status-old")));
        assert!(!p.matches(&FileRef::new("/var/lib/dpkg/status.d/sub/x")));
    }
}

/// The licenses a Debian `copyright` file declares: the value of every
/// `License:` field of a machine-readable (DEP-5) file, as written, without
/// duplicates, in order of appearance. Files that are not machine-readable
/// declare nothing this way and give an empty list.
pub fn copyright_licenses(content: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(content);
    if !text.lines().take(5).any(|l| l.starts_with("Format:")) {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(value) = line.strip_prefix("License:") else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() || value.len() > 200 || out.iter().any(|v| v == value) {
            continue;
        }
        out.push(value.to_string());
        if out.len() >= 32 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod copyright_tests {
    use super::copyright_licenses;

    #[test]
    fn dep5_license_fields() {
        let text = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\nFiles: *\nCopyright: 2000 A\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: BSD-3-clause or MIT\n\nLicense: GPL-2+\n On Debian systems ...\n";
        assert_eq!(
            copyright_licenses(text),
            vec!["GPL-2+", "BSD-3-clause or MIT"]
        );
        assert!(
            copyright_licenses(b"This package was debianized by ...\nLicense: GPL\n").is_empty()
        );
        assert!(copyright_licenses(&[0xff, 0xfe, 0x00]).is_empty());
    }
}
