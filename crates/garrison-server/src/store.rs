//! Storage: one logical schema on SQLite (a file in the data directory, WAL) or
//! PostgreSQL, reached through sqlx's `Any` driver so every query is written once
//! (`$N` placeholders work on both). Migrations are per backend
//! (`migrations/sqlite`, `migrations/postgres`); `tests/schema.rs` proves them
//! equivalent. All SQL of the crate lives in this module and its children.

use crate::error::StoreError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

mod notify;
mod overview;
mod policy;
mod query;
pub use notify::*;
pub use overview::*;
pub use policy::StoredPolicy;
pub use query::*;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, one file in the data directory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The migrations of one backend: (version, SQL).
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../migrations/sqlite/0002_notifications.sql"),
    ),
    (3, include_str!("../migrations/sqlite/0003_policy.sql")),
    (
        4,
        include_str!("../migrations/sqlite/0004_workload_gone.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_alerts_batch_item.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_notifications.sql"),
    ),
    (3, include_str!("../migrations/postgres/0003_policy.sql")),
    (
        4,
        include_str!("../migrations/postgres/0004_workload_gone.sql"),
    ),
    (
        5,
        include_str!("../migrations/postgres/0005_alerts_batch_item.sql"),
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 5;

/// The store: a connection pool plus, on SQLite, one writer at a time (SQLite
/// allows one; queuing writers here instead of in SQLite avoids `SQLITE_BUSY`).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    writer: Arc<Mutex<()>>,
    /// Wakes the notification worker when deliveries were queued.
    deliveries_queued: Arc<tokio::sync::Notify>,
    /// Alert batches waiting for the group commit (`query::ingest_alerts`).
    alert_queue: Arc<std::sync::Mutex<std::collections::VecDeque<query::PendingAlerts>>>,
    /// One alert group commit at a time (PostgreSQL; SQLite uses `writer`).
    alert_committer: Arc<Mutex<()>>,
    /// Alert groups committed so far (the checkpointer runs after new ones).
    alert_commits: Arc<std::sync::atomic::AtomicU64>,
}

static DRIVERS: Once = Once::new();

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Opens (creating when missing) the SQLite database `garrison.db` in `data_dir`.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store, StoreError> {
        let file = data_dir.join("garrison.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        Store::connect(&url, Backend::Sqlite, 8).await
    }

    /// Opens a database by URL: `postgres://...` / `postgresql://...` or `sqlite://FILE`.
    pub async fn open_url(url: &str) -> Result<Store, StoreError> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Url {
                url: redact(url),
                reason: "expected postgres://, postgresql:// or sqlite:".into(),
            });
        };
        Store::connect(url, backend, 16).await
    }

    async fn connect(url: &str, backend: Backend, max: u32) -> Result<Store, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let mut opts = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::raw_sql(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                         PRAGMA foreign_keys=ON; PRAGMA busy_timeout=15000; \
                         PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=65536; \
                         PRAGMA journal_size_limit=67108864;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(url).await.map_err(|e| StoreError::Connect {
            url: redact(url),
            source: e,
        })?;
        let store = Store {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
            deliveries_queued: Arc::new(tokio::sync::Notify::new()),
            alert_queue: Arc::default(),
            alert_committer: Arc::new(Mutex::new(())),
            alert_commits: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the schema test and maintenance.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// SQLite: copies the write-ahead log into the database without waiting
    /// for (or blocking) the writer, so the writer's commits seldom do it
    /// themselves (their own automatic checkpoint, at 256 MiB of log, is the
    /// safety net). A no-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::Query {
                op: "checkpoint the write-ahead log".into(),
                source: e,
            })?;
        Ok(())
    }

    /// How many alert groups have been committed (see [`Store::checkpoint`]).
    pub fn alert_commits(&self) -> u64 {
        self.alert_commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn note_alert_commit(&self) {
        self.alert_commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits for the writer slot (SQLite only; PostgreSQL has row locks).
    pub(crate) async fn write_slot(&self) -> Option<MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Applies the migrations not yet applied, each in its own transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        let _w = self.write_slot().await;
        let (ddl, list) = match self.backend {
            Backend::Sqlite => (
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                SQLITE_MIGRATIONS,
            ),
            Backend::Postgres => (
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                POSTGRES_MIGRATIONS,
            ),
        };
        fn op(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
            move |e| StoreError::Query {
                op: format!("migrate: {what}"),
                source: e,
            }
        }
        sqlx::raw_sql(ddl)
            .execute(&self.pool)
            .await
            .map_err(op("create schema_migrations"))?;
        for (version, sql) in list {
            let mut tx = self.pool.begin().await.map_err(op("begin"))?;
            if self.backend == Backend::Postgres {
                // Several server replicas may start at once: one migrates.
                sqlx::raw_sql("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await
                    .map_err(op("lock"))?;
            }
            let done: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|r: AnyRow| r.try_get("n"))
                    .map_err(op("read"))?;
            if done > 0 {
                tx.commit().await.map_err(op("commit"))?;
                continue;
            }
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Query {
                    op: format!("migrate: apply version {version}"),
                    source: e,
                })?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(op("record"))?;
            tx.commit().await.map_err(op("commit"))?;
        }
        let newest: i64 = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .and_then(|r: AnyRow| r.try_get("v"))
            .map_err(op("read version"))?;
        if newest > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found: newest,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }
}

/// A database URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact("postgres://garrison:s3cret@127.0.0.1:5432/g"),
            "postgres://garrison:***@127.0.0.1:5432/g"
        );
        assert_eq!(redact("sqlite:///x/y.db"), "sqlite:///x/y.db");
    }
}
