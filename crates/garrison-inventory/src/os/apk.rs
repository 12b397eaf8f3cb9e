//! The apk installed database, `/lib/apk/db/installed` (and `/usr/lib/apk/db/installed`
//! for apk-tools that moved it): records of `K:value` lines separated by blank
//! lines (https://wiki.alpinelinux.org/wiki/Apk_spec).

use super::{lines, text, trim, Warnings};
use crate::{FileRef, ParseError, Parsed, Parser, ParserClass};
use garrison_model::{Ecosystem, Package, SourcePackage};

const PATHS: [&str; 2] = ["/lib/apk/db/installed", "/usr/lib/apk/db/installed"];

/// The apk installed database (`apk-installed`). Keeps `P:` name, `V:` version,
/// `A:` arch, `L:` license and `o:` origin (the source package).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApkInstalled;

impl Parser for ApkInstalled {
    fn name(&self) -> &'static str {
        "apk-installed"
    }

    fn class(&self) -> ParserClass {
        ParserClass::OsDatabase
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        PATHS.contains(&file.path)
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        Ok(parse_installed(file.path, content))
    }
}

#[derive(Default)]
struct Record<'a> {
    first_line: usize,
    fields: usize,
    name: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    license: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
}

/// Parses a whole installed database; never fails, reports unusable records
/// as warnings.
pub fn parse_installed(path: &str, content: &[u8]) -> Parsed {
    let mut packages = Vec::new();
    let mut warnings = Warnings::new(path);
    let mut rec = Record::default();
    let mut garbage = 0usize;
    for (n, line) in lines(content).enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim(line).is_empty() {
            finish_record(path, &rec, &mut packages, &mut warnings);
            rec = Record::default();
            continue;
        }
        let (key, value) = match line {
            [key, b':', value @ ..] => (*key, value),
            _ => {
                garbage += 1;
                continue;
            }
        };
        if rec.fields == 0 {
            rec.first_line = n + 1;
        }
        rec.fields += 1;
        let slot = match key {
            b'P' => &mut rec.name,
            b'V' => &mut rec.version,
            b'A' => &mut rec.arch,
            b'L' => &mut rec.license,
            b'o' => &mut rec.origin,
            _ => continue,
        };
        *slot = Some(trim(value));
    }
    finish_record(path, &rec, &mut packages, &mut warnings);
    if garbage > 0 {
        warnings.push(format!(
            "{garbage} lines that are not `K:value` fields were ignored"
        ));
    }
    Parsed {
        packages,
        warnings: warnings.finish(),
    }
}

fn nonempty(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|v| !v.is_empty())
}

fn finish_record(path: &str, r: &Record<'_>, out: &mut Vec<Package>, warnings: &mut Warnings<'_>) {
    if r.fields == 0 {
        return;
    }
    let (Some(name), Some(version)) = (nonempty(r.name), nonempty(r.version)) else {
        warnings.push(format!(
            "record at line {} has no {} field; skipped",
            r.first_line,
            if nonempty(r.name).is_none() { "P: (name)" } else { "V: (version)" }
        ));
        return;
    };
    let name = text(name);
    let mut pkg = Package::new(Ecosystem::Apk, name.clone(), text(version), path);
    pkg.arch = nonempty(r.arch).map(text);
    if let Some(l) = nonempty(r.license) {
        pkg.licenses.push(text(l));
    }
    pkg.source = Some(SourcePackage {
        name: nonempty(r.origin).map(text).unwrap_or(name),
        version: None,
    });
    out.push(pkg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_bad_ones() {
        let db = b"C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nF:lib\nR:libcrypto.so.3\n\n\
P:busybox\r\nV:1.36.1-r15\r\n\r\n\
P:novers\n\n\nV:1.0\nnonsense\n";
        let parsed = parse_installed(PATHS[0], db);
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.source.as_ref().map(|s| s.name.as_str())))
            .collect();
        assert_eq!(
            got,
            [("libcrypto3", "3.1.4-r5", Some("openssl")), ("busybox", "1.36.1-r15", Some("busybox"))]
        );
        assert_eq!(parsed.packages[0].licenses, ["Apache-2.0"]);
        assert_eq!(parsed.packages[0].arch.as_deref(), Some("x86_64"));
        let msgs: Vec<_> = parsed.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("line 13") && msgs[0].contains("V:"), "{msgs:?}");
        assert!(msgs[1].contains("line 16") && msgs[1].contains("P:"), "{msgs:?}");
        assert!(msgs[2].contains("1 lines"), "{msgs:?}");
    }
}
