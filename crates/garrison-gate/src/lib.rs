//! What a run reports and whether it fails: the `.garrisonignore` file, severity filters and exit codes that `scan` and `check` share.

mod gate;
mod ignore;

pub use gate::{exit, Gate};
pub use ignore::{IgnoreEntry, IgnoreFile, Subject, DEFAULT_IGNORE_FILE};
pub use jiff::civil::Date;

/// A gate or ignore file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("cannot read the ignore file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid ignore file: {reason}")]
    Parse { path: String, reason: String },
    #[error("{path}: entry {index}: {reason}")]
    Entry {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("{0}")]
    Severity(String),
}

/// Today's date in the local time zone, for expiry checks.
pub fn today() -> jiff::civil::Date {
    jiff::ZonedDateTime::now().date()
}
