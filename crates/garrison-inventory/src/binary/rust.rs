//! Rust binaries built with `cargo auditable`: the dependency list that tool
//! embeds as zlib-compressed JSON in the `.dep-v0` section (`__dep_v0` in
//! Mach-O).
//!
//! Only crates whose source is crates.io become packages: the root crate and
//! other local, git or alternate-registry crates cannot be matched against
//! crates.io advisories under their name, so they are left out.

use super::ExeKind;
use garrison_model::{Ecosystem, Package};
use object::{Object, ObjectSection};
use serde::Deserialize;
use std::io::Read;

/// Largest decompressed dependency list accepted.
pub const MAX_JSON: u64 = 8 << 20;

/// Why an embedded dependency list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read the {section} section: {reason}")]
    Section {
        section: &'static str,
        reason: String,
    },
    #[error("cannot decompress the {section} section: {0}", section = SECTION_ELF)]
    Inflate(std::io::Error),
    #[error("the decompressed dependency list is larger than {MAX_JSON} bytes")]
    TooLarge,
    #[error("the dependency list is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

const SECTION_ELF: &str = ".dep-v0";
const SECTION_MACHO: &str = "__dep_v0";

/// The JSON cargo-auditable writes (the `auditable-serde` `VersionInfo` shape).
#[derive(Debug, Deserialize)]
pub struct VersionInfo {
    pub packages: Vec<AuditPackage>,
}

#[derive(Debug, Deserialize)]
pub struct AuditPackage {
    pub name: String,
    pub version: String,
    /// `crates.io`, `local`, `git`, `registry`, or another string.
    pub source: String,
    /// `runtime` (the default) or `build`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub root: bool,
}

/// The embedded dependency list of a cargo-auditable binary, or `None` when
/// the section is absent.
pub(crate) fn audit_info_of(
    file: &object::File<'_>,
    kind: ExeKind,
) -> Result<Option<VersionInfo>, AuditError> {
    let name = match kind {
        ExeKind::MachO => SECTION_MACHO,
        ExeKind::Elf | ExeKind::Pe => SECTION_ELF,
    };
    let Some(section) = file.section_by_name(name) else {
        return Ok(None);
    };
    let data = section.data().map_err(|e| AuditError::Section {
        section: name,
        reason: e.to_string(),
    })?;
    decode(data).map(Some)
}

/// Inflates and parses a `.dep-v0` payload, refusing more than [`MAX_JSON`] bytes.
pub fn decode(compressed: &[u8]) -> Result<VersionInfo, AuditError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(AuditError::Inflate)?;
    if json.len() as u64 > MAX_JSON {
        return Err(AuditError::TooLarge);
    }
    Ok(serde_json::from_slice(&json)?)
}

/// Packages for the crates.io crates of a dependency list.
pub fn packages(info: &VersionInfo, location: &str) -> Vec<Package> {
    info.packages
        .iter()
        .filter(|p| p.source == "crates.io" && !p.root)
        .map(|p| {
            let mut pkg = Package::new(Ecosystem::Cargo, &p.name, &p.version, location);
            let kind = p.kind.as_deref().unwrap_or("runtime");
            pkg.properties
                .insert("cargo.dependency_kind".to_string(), kind.to_string());
            pkg.properties
                .insert("cargo.evidence".to_string(), "cargo-auditable".to_string());
            pkg
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_and_keeps_crates_io_only() {
        let json = br#"{"packages":[
            {"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},
            {"name":"smallvec","version":"1.6.0","source":"crates.io"},
            {"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"},
            {"name":"forked","version":"0.2.0","source":"git"}]}"#;
        let info = decode(&zlib(json)).unwrap();
        let pkgs = packages(&info, "/bin/app");
        let got: Vec<(&str, &str, &str)> = pkgs
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.properties["cargo.dependency_kind"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("smallvec", "1.6.0", "runtime"), ("cc", "1.0.0", "build")]
        );
    }

    #[test]
    fn bombs_and_garbage_are_errors() {
        let big = vec![b' '; (MAX_JSON + 10) as usize];
        assert!(matches!(decode(&zlib(&big)), Err(AuditError::TooLarge)));
        assert!(matches!(decode(b"not zlib"), Err(AuditError::Inflate(_))));
        assert!(matches!(
            decode(&zlib(b"{\"packages\":3}")),
            Err(AuditError::Json(_))
        ));
    }
}
