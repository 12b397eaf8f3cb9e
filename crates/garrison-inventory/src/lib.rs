//! What software a target holds: OS package databases, language lockfiles and installed metadata, Go and Rust binaries, and Java archives, gathered into one [`Inventory`].
//!
//! Each format has a [`Parser`] that says from a file's path and metadata
//! whether it wants the file, and turns the file's bytes into [`Package`]s.
//! The [`Catalog`] is the [`garrison_source::Visitor`] that drives them over any
//! source, keeps track of which image layer introduced what, drops what later
//! layers deleted, and finalizes the inventory (distro, purls, order).

pub mod binary;
pub mod catalog;
pub mod java;
pub mod lang;
pub mod os;
pub mod sbom;

pub use catalog::Catalog;
pub use sbom::{read_sbom, SbomError};

use garrison_model::{Package, Warning};

/// A file offered to a parser: where it is and what it looks like, before its
/// content is read.
#[derive(Debug, Clone, Copy)]
pub struct FileRef<'a> {
    /// Absolute, normalized path inside the target.
    pub path: &'a str,
    pub size: u64,
    /// Any execute bit set.
    pub executable: bool,
}

impl<'a> FileRef<'a> {
    pub fn new(path: &'a str) -> FileRef<'a> {
        FileRef {
            path,
            size: 0,
            executable: false,
        }
    }

    /// The last path component.
    pub fn file_name(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }
}

/// What a parser found in one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub packages: Vec<Package>,
    /// Problems with parts of the file that did not stop the rest (a nested jar
    /// that is corrupt, an unparsable stanza).
    pub warnings: Vec<Warning>,
}

impl From<Vec<Package>> for Parsed {
    fn from(packages: Vec<Package>) -> Parsed {
        Parsed {
            packages,
            warnings: Vec::new(),
        }
    }
}

/// What kind of evidence a parser reads; decides how layer attribution works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParserClass {
    /// An OS package database (dpkg, apk, rpm): a package's layer is the first
    /// layer whose database lists the same version.
    OsDatabase,
    /// A lockfile, manifest, metadata file, binary or archive: a package's layer
    /// is the layer of the file.
    Other,
}

/// A file could not be parsed at all.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot parse as {parser}: {reason}")]
pub struct ParseError {
    pub parser: &'static str,
    pub path: String,
    pub reason: String,
}

impl ParseError {
    pub fn new(parser: &'static str, path: &str, reason: impl std::fmt::Display) -> ParseError {
        ParseError {
            parser,
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// One file format that yields packages.
pub trait Parser: Send + Sync {
    /// Short, stable name used in logs and errors: `dpkg-status`, `cargo-lock`.
    fn name(&self) -> &'static str;

    fn class(&self) -> ParserClass {
        ParserClass::Other
    }

    /// Cheap decision from path and metadata alone: does this parser want the file?
    fn matches(&self, file: &FileRef<'_>) -> bool;

    /// Turns the whole content of a matched file into packages. Must never
    /// panic, whatever the bytes; returns an error naming the file when nothing
    /// could be read from it.
    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError>;

    /// Whether [`Parser::worth_reading`] can rule files out from a few of their
    /// bytes (executables: headers and section names), so that sources with
    /// random access need not read every matched file whole.
    fn has_precheck(&self) -> bool {
        false
    }

    /// From random access to a matched file, whether it is worth reading whole.
    /// Only asked when [`Parser::has_precheck`] says so; when in doubt, `true`.
    fn worth_reading(&self, _file: &mut std::fs::File) -> bool {
        true
    }
}

/// Every parser Garrison knows, in a fixed order.
pub fn all_parsers() -> Vec<Box<dyn Parser>> {
    let mut v = os::parsers();
    v.extend(lang::parsers());
    v.extend(binary::parsers());
    v.extend(java::parsers());
    v
}
