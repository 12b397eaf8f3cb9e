//! Errors of policy loading and evaluation, each naming the input that failed.

use std::path::PathBuf;

/// A policy file could not be used. Every variant names the file; check and
/// rule problems also name the check id and the rule as written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid SCA policy: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("{}: check {id}: {reason}", path.display())]
    Check {
        path: PathBuf,
        id: String,
        reason: String,
    },
    #[error("{}: {place}: rule `{rule}`: {reason}", path.display())]
    Rule {
        path: PathBuf,
        /// `check 1234` or `requirements`.
        place: String,
        rule: String,
        reason: String,
    },
    #[error("{}: check id {id} is used twice (also in {})", path.display(), other.display())]
    DuplicateId {
        path: PathBuf,
        id: u64,
        other: PathBuf,
    },
    #[error("{}: policy id {id:?} is used twice (also in {})", path.display(), other.display())]
    DuplicatePolicy {
        path: PathBuf,
        id: String,
        other: PathBuf,
    },
}

/// A target could not be opened for checking.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Source(#[from] garrison_source::SourceError),
    #[error("{input}: {reason}")]
    Other { input: String, reason: String },
}
