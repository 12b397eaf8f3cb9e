//! File integrity monitoring: baselines of watched paths (hashes and attributes in a
//! tamper-evident embedded database), checks of the present state against them, and
//! real-time change reports that name the process behind each change.
//!
//! The flow: [`Config`] names watched paths and what to record of them; [`Baseline`]
//! is the SQLite store, sealed with a keyed BLAKE3 MAC whose key lives apart from it;
//! [`scan`] walks the watched paths (streaming, bounded memory) and hashes in
//! parallel; the [`Report`] lists added, removed, modified, renamed and
//! permission-changed entries, each with a severity from its path class.

pub mod attrs;
pub mod config;
pub mod realtime;
pub mod redact;
pub mod scan;
pub mod schedule;
pub mod store;
pub mod sys;
pub mod walk;

pub use attrs::{Attr, AttrSet, Kind, Record};
pub use config::{Config, HashAlgo, Watch};
pub use realtime::FimDetector;
pub use scan::{Change, ChangeKind, Mode, Problem, Report, ScanOptions, Summary};
pub use store::{Baseline, Key};

use std::path::PathBuf;

/// Why a FIM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FimError {
    #[error("cannot read the FIM config {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid FIM config: {reason}")]
    Config { path: String, reason: String },
    #[error("baseline {path}: {op}: {source}")]
    Db {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no baseline at {path}: run `garrison fim init` first")]
    NoBaseline { path: PathBuf },
    #[error("baseline {path} is TAMPERED: {reason}")]
    Tampered { path: PathBuf, reason: String },
    #[error("baseline key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("container {name}: {reason}")]
    Container { name: String, reason: String },
    #[error("{path}: not in the baseline and not under a watched path")]
    NotWatched { path: String },
}

impl FimError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FimError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
