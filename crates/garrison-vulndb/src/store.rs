//! The embedded database: one SQLite file, rebuilt into a temporary file and renamed into place.

use crate::error::DbError;
use crate::osv::{self, NormalizeStats, Record};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Version of the database layout. A database with a higher number is refused.
pub const SCHEMA_VERSION: u32 = 1;
/// File name of the database inside the database directory.
pub const DB_FILE: &str = "advisories.db";
/// File name of the update lock inside the database directory.
pub const LOCK_FILE: &str = "update.lock";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS advisories(
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    modified TEXT,
    withdrawn TEXT,
    record BLOB NOT NULL,
    vuln BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS advisories_source ON advisories(source);
CREATE TABLE IF NOT EXISTS affected(
    adv INTEGER NOT NULL,
    ecosystem TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    versions BLOB);
CREATE INDEX IF NOT EXISTS affected_key ON affected(ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_adv ON affected(adv);
CREATE TABLE IF NOT EXISTS kev(cve TEXT PRIMARY KEY, date_added TEXT, ransomware TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epss(cve TEXT PRIMARY KEY, epss REAL NOT NULL, percentile REAL NOT NULL) WITHOUT ROWID;
";

/// The default database directory: `/var/lib/garrison/db` for root, else
/// `$XDG_DATA_HOME/garrison/db` (or `~/.local/share/garrison/db`).
/// `data_dir` (from `--data-dir`) overrides both: the database lives in `<data_dir>/db`.
pub fn default_db_dir(data_dir: Option<&Path>) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    if let Some(d) = data_dir {
        return Some(d.join("db"));
    }
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if is_root {
        return Some(PathBuf::from("/var/lib/garrison/db"));
    }
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    Some(base.join("garrison/db"))
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Per-ecosystem facts `garrison db status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EcosystemStatus {
    pub name: String,
    pub advisories: u64,
}

/// Where an ecosystem's data came from, for conditional requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fetched_at: Option<String>,
}

/// What `garrison db status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DbStatus {
    pub path: PathBuf,
    pub schema_version: u32,
    /// When the database was built (RFC 3339).
    pub built_at: Option<String>,
    pub advisories: u64,
    pub withdrawn: u64,
    pub ecosystems: Vec<EcosystemStatus>,
    pub sources: Vec<SourceStatus>,
    pub kev_entries: u64,
    pub kev_date: Option<String>,
    pub epss_entries: u64,
    pub epss_model: Option<String>,
    pub file_bytes: u64,
}

/// An open advisory database (read-only).
pub struct Db {
    pub(crate) path: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) meta: BTreeMap<String, String>,
    /// Names present per ecosystem key, loaded on first use.
    pub(crate) names: Mutex<HashMap<String, std::sync::Arc<HashSet<String>>>>,
    /// One decompression context for every read (creating one per record is costly).
    unzstd: Mutex<Option<zstd::bulk::Decompressor<'static>>>,
}

/// Largest stored record accepted when decompressing.
const MAX_RECORD_BYTES: u64 = 64 << 20;

impl Db {
    pub(crate) fn unzstd(&self, blob: &[u8]) -> std::io::Result<Vec<u8>> {
        let size = match zstd::zstd_safe::get_frame_content_size(blob) {
            Ok(Some(n)) if n <= MAX_RECORD_BYTES => n as usize,
            _ => return Err(std::io::Error::other("bad zstd frame header")),
        };
        let mut guard = self
            .unzstd
            .lock()
            .map_err(|_| std::io::Error::other("decompressor poisoned"))?;
        if guard.is_none() {
            *guard = Some(zstd::bulk::Decompressor::new()?);
        }
        match guard.as_mut() {
            Some(d) => d.decompress(blob, size),
            None => Err(std::io::Error::other("no decompressor")),
        }
    }
}

/// Checks the SQLite header against the file length: a truncated file is caught
/// before SQLite reads a missing page.
fn check_header(path: &Path) -> Result<(), DbError> {
    let mut f = File::open(path).map_err(DbError::io("opening", path))?;
    let len = f
        .metadata()
        .map_err(DbError::io("reading metadata of", path))?
        .len();
    let mut header = [0u8; 100];
    let corrupt = |detail: String| DbError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    f.read_exact(&mut header)
        .map_err(|_| corrupt(format!("{len} bytes, shorter than an SQLite header")))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(corrupt("not an SQLite database".into()));
    }
    let page = u16::from_be_bytes([header[16], header[17]]);
    let page = if page == 1 { 65536u64 } else { u64::from(page) };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if page < 512 || !page.is_power_of_two() {
        return Err(corrupt(format!("bad page size {page}")));
    }
    if pages == 0 || len < page * pages {
        return Err(corrupt(format!(
            "{len} bytes but the header says {pages} pages of {page} bytes (truncated)"
        )));
    }
    Ok(())
}

fn read_meta(conn: &Connection, path: &Path) -> Result<BTreeMap<String, String>, DbError> {
    let mut stmt = conn
        .prepare("SELECT key, value FROM meta")
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(_, Some(ref m)) if m.contains("no such table") => {
                DbError::Corrupt {
                    path: path.to_path_buf(),
                    detail: "no meta table".into(),
                }
            }
            e => DbError::sql("reading meta", path)(e),
        })?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(DbError::sql("reading meta", path))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, v) = row.map_err(DbError::sql("reading meta", path))?;
        out.insert(k, v);
    }
    Ok(out)
}

fn check_schema(meta: &BTreeMap<String, String>, path: &Path) -> Result<u32, DbError> {
    let found: u32 = meta
        .get("schema_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| DbError::Corrupt {
            path: path.to_path_buf(),
            detail: "meta has no schema_version".into(),
        })?;
    if found > SCHEMA_VERSION {
        return Err(DbError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

impl Db {
    /// Opens the database in `dir` read-only.
    pub fn open(dir: &Path) -> Result<Db, DbError> {
        let path = dir.join(DB_FILE);
        if !path.exists() {
            return Err(DbError::Missing { path });
        }
        Db::open_file(&path)
    }

    /// Opens a database file read-only.
    pub fn open_file(path: &Path) -> Result<Db, DbError> {
        check_header(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(DbError::sql("opening", path))?;
        // Reads through a memory map; the file is only ever replaced by rename, never
        // rewritten in place, so mapped pages stay valid while this connection lives.
        conn.execute_batch("PRAGMA mmap_size=268435456; PRAGMA cache_size=-32768;")
            .map_err(DbError::sql("configuring", path))?;
        let meta = read_meta(&conn, path)?;
        check_schema(&meta, path)?;
        Ok(Db {
            path: path.to_path_buf(),
            conn,
            meta,
            names: Mutex::new(HashMap::new()),
            unzstd: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside one read transaction (one lock check instead of one per query).
    pub(crate) fn read_txn<T>(&self, f: impl FnOnce() -> Result<T, DbError>) -> Result<T, DbError> {
        let began = self.conn.execute_batch("BEGIN").is_ok();
        let out = f();
        if began {
            let _ = self.conn.execute_batch("COMMIT");
        }
        out
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }

    fn count(&self, sql: &str) -> Result<u64, DbError> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(DbError::sql("counting", &self.path))
    }

    /// Everything `garrison db status` shows.
    pub fn status(&self) -> Result<DbStatus, DbError> {
        let mut ecosystems = Vec::new();
        let mut sources: BTreeMap<String, SourceStatus> = BTreeMap::new();
        for (k, v) in &self.meta {
            if let Some(e) = k.strip_prefix("count:") {
                ecosystems.push(EcosystemStatus {
                    name: e.to_string(),
                    advisories: v.parse().unwrap_or(0),
                });
            } else if let Some((field, name)) = k.split_once(':') {
                let s = sources
                    .entry(name.to_string())
                    .or_insert_with(|| SourceStatus {
                        name: name.to_string(),
                        ..SourceStatus::default()
                    });
                match field {
                    "etag" => s.etag = Some(v.clone()),
                    "last_modified" => s.last_modified = Some(v.clone()),
                    "fetched_at" => s.fetched_at = Some(v.clone()),
                    _ => {}
                }
            }
        }
        sources
            .retain(|_, s| s.etag.is_some() || s.last_modified.is_some() || s.fetched_at.is_some());
        Ok(DbStatus {
            path: self.path.clone(),
            schema_version: self
                .meta("schema_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            built_at: self.meta("built_at").map(str::to_string),
            advisories: self.count("SELECT count(*) FROM advisories")?,
            withdrawn: self.count("SELECT count(*) FROM advisories WHERE withdrawn IS NOT NULL")?,
            ecosystems,
            sources: sources.into_values().collect(),
            kev_entries: self.count("SELECT count(*) FROM kev")?,
            kev_date: self.meta("kev_date").map(str::to_string),
            epss_entries: self.count("SELECT count(*) FROM epss")?,
            epss_model: self.meta("epss_model").map(str::to_string),
            file_bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// The full stored record of an advisory.
    pub fn record(&self, id: &str) -> Result<Option<Record>, DbError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT record FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(DbError::sql("reading an advisory", &self.path))?;
        blob.map(|b| decode_record(self, &b, id)).transpose()
    }

    /// Whether a CVE is in CISA's Known Exploited Vulnerabilities catalog, and since when.
    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>, DbError> {
        self.conn
            .prepare_cached("SELECT date_added, ransomware FROM kev WHERE cve = ?1")
            .and_then(|mut s| {
                s.query_row([cve], |r| {
                    Ok(KevEntry {
                        cve: cve.to_string(),
                        date_added: r.get(0)?,
                        ransomware: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(DbError::sql("reading KEV", &self.path))
    }

    /// The EPSS probability and percentile of a CVE.
    pub fn epss(&self, cve: &str) -> Result<Option<EpssScore>, DbError> {
        self.conn
            .prepare_cached("SELECT epss, percentile FROM epss WHERE cve = ?1")
            .and_then(|mut s| {
                s.query_row([cve], |r| {
                    Ok(EpssScore {
                        epss: r.get(0)?,
                        percentile: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(DbError::sql("reading EPSS", &self.path))
    }

    /// Names present in an ecosystem (cached per `Db`).
    pub(crate) fn names_in(
        &self,
        ecosystem: &str,
    ) -> Result<std::sync::Arc<HashSet<String>>, DbError> {
        if let Ok(map) = self.names.lock() {
            if let Some(s) = map.get(ecosystem) {
                return Ok(s.clone());
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT name FROM affected WHERE ecosystem = ?1")
            .map_err(DbError::sql("reading the index", &self.path))?;
        let rows = stmt
            .query_map([ecosystem], |r| r.get::<_, String>(0))
            .map_err(DbError::sql("reading the index", &self.path))?;
        let mut set = HashSet::new();
        for r in rows {
            set.insert(r.map_err(DbError::sql("reading the index", &self.path))?);
        }
        let set = std::sync::Arc::new(set);
        if let Ok(mut map) = self.names.lock() {
            map.insert(ecosystem.to_string(), set.clone());
        }
        Ok(set)
    }

    /// The affected entries stored for one (ecosystem key, normalized name), with
    /// each entry's `versions` list as stored JSON (checked without parsing it).
    pub(crate) fn affected_for(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> Result<Vec<AffectedRow>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT adv, data, versions FROM affected WHERE ecosystem = ?1 AND name = ?2",
            )
            .map_err(DbError::sql("reading the index", &self.path))?;
        let rows = stmt
            .query_map([ecosystem, name], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .map_err(DbError::sql("reading the index", &self.path))?;
        let mut out = Vec::new();
        for r in rows {
            let (adv, data, versions) = r.map_err(DbError::sql("reading the index", &self.path))?;
            let parsed: osv::StoredAffected =
                serde_json::from_slice(&data).map_err(|e| DbError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("affected entry of {ecosystem}/{name}: {e}"),
                })?;
            out.push((adv, parsed, versions));
        }
        Ok(out)
    }

    /// The report view of an advisory, built at import time.
    pub(crate) fn vulnerability_by_rowid(
        &self,
        rowid: i64,
    ) -> Result<garrison_model::Vulnerability, DbError> {
        let blob: Vec<u8> = self
            .conn
            .prepare_cached("SELECT vuln FROM advisories WHERE rowid = ?1")
            .and_then(|mut s| s.query_row([rowid], |r| r.get(0)))
            .map_err(DbError::sql("reading an advisory", &self.path))?;
        let json = self.unzstd(&blob).map_err(|e| DbError::Corrupt {
            path: self.path.clone(),
            detail: format!("advisory row {rowid}: {e}"),
        })?;
        serde_json::from_slice(&json).map_err(|e| DbError::Corrupt {
            path: self.path.clone(),
            detail: format!("advisory row {rowid}: {e}"),
        })
    }
}

/// One stored `affected[]` entry: advisory row, matching data, `versions` JSON.
pub(crate) type AffectedRow = (i64, osv::StoredAffected, Option<Vec<u8>>);

/// A CISA KEV catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KevEntry {
    pub cve: String,
    pub date_added: Option<String>,
    /// `knownRansomwareCampaignUse` (`Known` / `Unknown`).
    pub ransomware: Option<String>,
}

/// An EPSS score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpssScore {
    pub epss: f64,
    pub percentile: f64,
}

fn decode_record(db: &Db, blob: &[u8], what: &str) -> Result<Record, DbError> {
    let path = &db.path;
    let json = db.unzstd(blob).map_err(|e| DbError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("advisory {what}: {e}"),
    })?;
    serde_json::from_slice(&json).map_err(|e| DbError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("advisory {what}: {e}"),
    })
}

/// The exclusive update lock of a database directory, held until dropped.
#[derive(Debug)]
pub struct UpdateLock {
    _file: File,
    path: PathBuf,
}

impl UpdateLock {
    /// Takes the lock, or fails at once with [`DbError::Busy`] naming the holder's pid.
    pub fn acquire(dir: &Path) -> Result<UpdateLock, DbError> {
        std::fs::create_dir_all(dir).map_err(DbError::io("creating", dir))?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(DbError::io("opening", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(DbError::Busy {
                    path,
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(DbError::io("locking", &path)(e)),
        }
        file.set_len(0).map_err(DbError::io("writing", &path))?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(DbError::io("writing", &path))?;
        Ok(UpdateLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Counts of one import run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Records stored (withdrawn ones included).
    pub records: u64,
    /// Records that replaced one with the same ID.
    pub replaced: u64,
    pub withdrawn: u64,
    /// Records per ecosystem key (a record counts once per ecosystem it names).
    pub per_ecosystem: BTreeMap<String, u64>,
    /// Malformed records, skipped: (input name, error).
    pub skipped: Vec<(String, String)>,
    /// GIT ranges skipped (Garrison evaluates versions, not commits).
    pub git_ranges: u64,
    /// Ranges of an unknown type, and events with no or several keys, skipped.
    pub unknown_ranges: u64,
    pub bad_events: u64,
}

impl ImportSummary {
    pub(crate) fn merge(&mut self, other: ImportSummary) {
        self.records += other.records;
        self.replaced += other.replaced;
        self.withdrawn += other.withdrawn;
        for (k, v) in other.per_ecosystem {
            *self.per_ecosystem.entry(k).or_default() += v;
        }
        self.skipped.extend(other.skipped);
        self.git_ranges += other.git_ranges;
        self.unknown_ranges += other.unknown_ranges;
        self.bad_events += other.bad_events;
    }
}

/// A new database being built in a temporary file next to the live one.
pub(crate) struct Builder {
    zstd: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>>,
    tmp: tempfile::NamedTempFile,
    pub(crate) conn: Connection,
    dir: PathBuf,
}

impl Builder {
    /// Starts from a copy of the current database when it is healthy, else from empty.
    pub(crate) fn begin(dir: &Path) -> Result<Builder, DbError> {
        std::fs::create_dir_all(dir).map_err(DbError::io("creating", dir))?;
        let live = dir.join(DB_FILE);
        let tmp = tempfile::Builder::new()
            .prefix(".advisories-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(DbError::io("creating a temporary file in", dir))?;
        let tmp_path = tmp.path().to_path_buf();
        if live.exists() {
            match Db::open_file(&live) {
                Ok(db) => {
                    drop(db);
                    std::fs::copy(&live, &tmp_path)
                        .map_err(DbError::io("copying the database to", &tmp_path))?;
                }
                Err(e @ DbError::NewerSchema { .. }) => return Err(e),
                Err(e) => tracing::warn!("not reusing the current database: {e}"),
            }
        }
        let conn = Connection::open(&tmp_path).map_err(DbError::sql("creating", &tmp_path))?;
        conn.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
            .and_then(|_| conn.execute_batch(SCHEMA))
            .and_then(|_| conn.execute_batch("BEGIN"))
            .map_err(DbError::sql("creating the schema in", &tmp_path))?;
        Ok(Builder {
            zstd: std::cell::RefCell::new(None),
            tmp,
            conn,
            dir: dir.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    /// Compresses with one reused context.
    fn zstd(&self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut c = self.zstd.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(3)?);
        }
        match c.as_mut() {
            Some(c) => c.compress(data),
            None => Err(std::io::Error::other("no compressor")),
        }
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .map(|_| ())
            .map_err(DbError::sql("writing meta", self.path()))
    }

    /// Drops every advisory that came from `source`.
    pub(crate) fn clear_source(&self, source: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "DELETE FROM affected WHERE adv IN (SELECT rowid FROM advisories WHERE source = ?1)",
                [source],
            )
            .and_then(|_| self.conn.execute("DELETE FROM advisories WHERE source = ?1", [source]))
            .map(|_| ())
            .map_err(DbError::sql("clearing old advisories in", self.path()))
    }

    /// Stores one record (replacing one with the same ID).
    pub(crate) fn insert(
        &self,
        record: &Record,
        source: &str,
        summary: &mut ImportSummary,
    ) -> Result<(), DbError> {
        let p = self.path();
        let sql = DbError::sql("writing an advisory", &p);
        let old: Option<i64> = self
            .conn
            .prepare_cached("SELECT rowid FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row([&record.id], |r| r.get(0)).optional())
            .map_err(DbError::sql("writing an advisory", &p))?;
        if let Some(old) = old {
            self.conn
                .prepare_cached("DELETE FROM affected WHERE adv = ?1")
                .and_then(|mut s| s.execute([old]))
                .and_then(|_| {
                    self.conn
                        .prepare_cached("DELETE FROM advisories WHERE rowid = ?1")
                })
                .and_then(|mut s| s.execute([old]))
                .map_err(DbError::sql("writing an advisory", &p))?;
            summary.replaced += 1;
        }
        let json = serde_json::to_vec(record).map_err(|e| DbError::BadInput {
            what: "advisory",
            path: PathBuf::from(&record.id),
            detail: e.to_string(),
        })?;
        let blob = self
            .zstd(&json)
            .map_err(DbError::io("compressing an advisory for", &p))?;
        let vuln =
            serde_json::to_vec(&crate::matching::vulnerability_of(record, None)).map_err(|e| {
                DbError::BadInput {
                    what: "advisory",
                    path: PathBuf::from(&record.id),
                    detail: e.to_string(),
                }
            })?;
        let vuln = self
            .zstd(&vuln)
            .map_err(DbError::io("compressing an advisory for", &p))?;
        self.conn
            .prepare_cached(
                "INSERT INTO advisories(id, source, modified, withdrawn, record, vuln) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| s.execute(params![record.id, source, record.modified, record.withdrawn, blob, vuln]))
            .map_err(sql)?;
        let rowid = self.conn.last_insert_rowid();
        let mut stats = NormalizeStats::default();
        let entries = osv::index_entries(record, &mut stats);
        summary.git_ranges += stats.git_ranges;
        summary.unknown_ranges += stats.unknown_ranges;
        summary.bad_events += stats.bad_events;
        let mut seen = HashSet::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "INSERT INTO affected(adv, ecosystem, name, data, versions) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(DbError::sql("writing an advisory", &p))?;
            for mut e in entries {
                let versions = std::mem::take(&mut e.data.versions);
                let versions = if versions.is_empty() {
                    None
                } else {
                    serde_json::to_vec(&versions).ok()
                };
                let data = serde_json::to_vec(&e.data).map_err(|err| DbError::BadInput {
                    what: "advisory",
                    path: PathBuf::from(&record.id),
                    detail: err.to_string(),
                })?;
                stmt.execute(params![rowid, e.ecosystem, e.name, data, versions])
                    .map_err(DbError::sql("writing an advisory", &p))?;
                seen.insert(e.ecosystem);
            }
        }
        if record.withdrawn.is_some() {
            summary.withdrawn += 1;
            for a in &record.affected {
                if let Some(pkg) = &a.package {
                    seen.insert(osv::ecosystem_key(&pkg.ecosystem));
                }
            }
        }
        for e in seen {
            *summary.per_ecosystem.entry(e).or_default() += 1;
        }
        summary.records += 1;
        Ok(())
    }

    /// Writes the summary meta, commits, syncs and renames the file over the live database.
    pub(crate) fn commit(self) -> Result<PathBuf, DbError> {
        let p = self.path();
        self.conn
            .execute("DELETE FROM meta WHERE key LIKE 'count:%'", [])
            .map_err(DbError::sql("writing meta", &p))?;
        {
            let mut stmt = self
                .conn
                .prepare(
                    "INSERT INTO meta(key, value) SELECT 'count:' || ecosystem, CAST(count(DISTINCT adv) AS TEXT) \
                     FROM affected GROUP BY ecosystem",
                )
                .map_err(DbError::sql("writing meta", &p))?;
            stmt.execute([]).map_err(DbError::sql("writing meta", &p))?;
        }
        self.set_meta("schema_version", &SCHEMA_VERSION.to_string())?;
        self.set_meta("built_at", &now_rfc3339())?;
        self.conn
            .execute_batch("COMMIT; PRAGMA optimize;")
            .map_err(DbError::sql("committing", &p))?;
        let Builder { tmp, conn, dir, .. } = self;
        conn.close()
            .map_err(|(_, e)| DbError::sql("closing", &p)(e))?;
        tmp.as_file()
            .sync_all()
            .map_err(DbError::io("syncing", &p))?;
        let live = dir.join(DB_FILE);
        tmp.persist(&live)
            .map_err(|e| DbError::io("renaming the new database to", &live)(e.error))?;
        if let Ok(d) = File::open(&dir) {
            d.sync_all().map_err(DbError::io("syncing", &dir))?;
        }
        Ok(live)
    }
}
