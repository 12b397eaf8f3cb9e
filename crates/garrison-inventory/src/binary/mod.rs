//! Executables that carry their own dependency list: Go binaries (build
//! information) and Rust binaries built with `cargo auditable`.
//!
//! The catalog hands every executable file to [`BinaryParser`], so it rejects
//! everything else by its magic number and section table before looking at
//! any payload; it parses the headers once for both formats.

pub mod go;
pub mod rust;

use crate::{FileRef, ParseError, Parsed, Parser};
use object::{FileKind, Object, ObjectSection};

/// Executable container formats the binary parsers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExeKind {
    Elf,
    MachO,
    Pe,
}

/// The executable format of `data` from its magic number alone.
pub(crate) fn exe_kind(data: &[u8]) -> Option<ExeKind> {
    match FileKind::parse(data).ok()? {
        FileKind::Elf32 | FileKind::Elf64 => Some(ExeKind::Elf),
        FileKind::MachO32 | FileKind::MachO64 => Some(ExeKind::MachO),
        FileKind::Pe32 | FileKind::Pe64 => Some(ExeKind::Pe),
        _ => None,
    }
}

/// Go build information and cargo-auditable dependency lists in executables.
pub struct BinaryParser;

impl Parser for BinaryParser {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.executable || file.path.ends_with(".exe")
    }

    fn has_precheck(&self) -> bool {
        true
    }

    /// Reads only the magic number and the section table: most executables
    /// carry neither Go build information nor a cargo-auditable section, and
    /// need not be read whole.
    fn worth_reading(&self, file: &mut std::fs::File) -> bool {
        let cache = object::read::ReadCache::new(file);
        let Ok(kind) = FileKind::parse(&cache) else {
            return false;
        };
        if !matches!(
            kind,
            FileKind::Elf32 | FileKind::Elf64 | FileKind::MachO32 | FileKind::MachO64
        ) {
            // PE: Go puts its build information in .data, so read it whole;
            // other formats are not parsed at all.
            return matches!(kind, FileKind::Pe32 | FileKind::Pe64);
        }
        let Ok(obj) = object::File::parse(&cache) else {
            return true; // let the full parse report what is wrong with it
        };
        let mut any_section = false;
        for section in obj.sections() {
            any_section = true;
            if let Ok(name) = section.name() {
                if matches!(
                    name,
                    ".go.buildinfo" | "__go_buildinfo" | ".dep-v0" | "__dep_v0"
                ) {
                    return true;
                }
            }
        }
        // Without a section table the build information can only be found by
        // scanning segments: read the file whole.
        !any_section
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let Some(kind) = exe_kind(content) else {
            return Ok(Parsed::default());
        };
        let obj = object::File::parse(content).map_err(|e| {
            ParseError::new(
                self.name(),
                file.path,
                format!("cannot read the executable headers: {e}"),
            )
        })?;
        let mut parsed = Parsed::default();
        match go::build_info_of(&obj, kind) {
            Ok(Some(raw)) => {
                let info = go::parse_modinfo(&raw.go_version, &raw.modinfo)
                    .map_err(|e| ParseError::new("go-binary", file.path, e))?;
                parsed.packages.extend(go::packages(&info, file.path));
            }
            Ok(None) => {}
            Err(e) => return Err(ParseError::new("go-binary", file.path, e)),
        }
        match rust::audit_info_of(&obj, kind) {
            Ok(Some(info)) => parsed.packages.extend(rust::packages(&info, file.path)),
            Ok(None) => {}
            Err(e) => return Err(ParseError::new("rust-auditable", file.path, e)),
        }
        Ok(parsed)
    }
}

pub fn parsers() -> Vec<Box<dyn crate::Parser>> {
    vec![Box::new(BinaryParser)]
}
