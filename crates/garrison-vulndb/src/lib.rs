//! Garrison's advisory store: it owns reading OSV advisories (JSON or YAML), the embedded database they are kept in, its import and update, and matching packages to advisories.
//!
//! The database is one SQLite file (`advisories.db`) in the database directory
//! (see [`default_db_dir`]). Every change builds a new file next to it and renames
//! it into place, so a failed or interrupted import or update leaves the previous
//! database working; [`UpdateLock`] keeps two updates from running at once.

mod error;
mod import;
mod matching;
pub mod osv;
mod store;
mod update;

pub use error::DbError;
pub use import::{import, import_epss, import_kev, import_with, ZipLimits};
pub use matching::{
    match_packages, match_packages_with_warnings, purl_distro, vulnerability_of, Match,
    MatchWarning,
};
pub use store::{
    default_db_dir, Db, DbStatus, EcosystemStatus, EpssScore, ImportSummary, KevEntry,
    SourceStatus, UpdateLock, DB_FILE, LOCK_FILE, SCHEMA_VERSION,
};
pub use update::{
    update, update_with, EcosystemUpdate, UpdateOptions, UpdateSummary, DEFAULT_BASE_URL,
};
