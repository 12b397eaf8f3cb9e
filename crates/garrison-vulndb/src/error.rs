use std::path::PathBuf;

/// Everything that can go wrong with the advisory database. Each variant names
/// the file or input it is about.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no advisory database at {path}: run `garrison db update` (or `garrison db import FILE` offline)")]
    Missing { path: PathBuf },
    #[error("the advisory database {path} is corrupt or truncated ({detail}): run `garrison db update` or `garrison db import` to rebuild it")]
    Corrupt { path: PathBuf, detail: String },
    #[error("the advisory database {path} has schema version {found}, newer than this garrison supports ({supported}): upgrade garrison or rebuild the database with `garrison db update`")]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("another update is running (pid {pid}), holding {path}")]
    Busy { path: PathBuf, pid: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {op} on {path}: {source}")]
    Sql {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("reading archive {path}: {detail}")]
    Archive { path: PathBuf, detail: String },
    #[error("reading {what} {path}: {detail}")]
    BadInput {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("downloading {url}: {detail}")]
    Download { url: String, detail: String },
    #[error("{url}: no advisory in the download parsed ({skipped} records skipped); keeping the current database")]
    EmptyDownload { url: String, skipped: u64 },
}

impl DbError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> DbError {
        let path = path.into();
        move |source| DbError::Io { op, path, source }
    }

    /// Maps an SQLite error: corruption becomes [`DbError::Corrupt`].
    pub(crate) fn sql(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(rusqlite::Error) -> DbError {
        let path = path.into();
        move |source| {
            if let rusqlite::Error::SqliteFailure(e, _) = &source {
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                ) {
                    return DbError::Corrupt {
                        path,
                        detail: source.to_string(),
                    };
                }
            }
            DbError::Sql { op, path, source }
        }
    }
}
