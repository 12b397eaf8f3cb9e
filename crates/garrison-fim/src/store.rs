//! The baseline store: one SQLite file (rusqlite, bundled SQLite — already the
//! project's embedded database, so no new engine; indexed lookups by path and set
//! queries for added/removed entries keep memory flat on millions of rows, since
//! SQLite spills to disk), sealed with a keyed BLAKE3 MAC.
//!
//! The MAC key lives apart from the baseline (by default `/etc/garrison/fim.key`
//! as root, mode 0600; the baseline lives under the data directory). The MAC covers
//! the baseline's metadata (including the config it was built with) and every row in
//! path order; beside the key, `<key>.seal` records the last MAC written for each
//! baseline, so an older (validly sealed) copy put back in place is caught too.

use crate::attrs::{AttrSet, Kind, Record};
use crate::FimError;
use rusqlite::{params, Connection, OptionalExtension};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS baseline(
  container TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL,
  size INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
  ino INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,
  hash TEXT, target TEXT, xattrs TEXT, caps TEXT, acl TEXT,
  attrs INTEGER NOT NULL, content TEXT,
  PRIMARY KEY(container, path)) WITHOUT ROWID;
";

const COLS: &str = "container, path, kind, size, mode, uid, gid, ino, mtime, ctime, hash, target, xattrs, caps, acl, attrs, content";

/// The MAC key, kept apart from the baseline.
pub struct Key {
    bytes: [u8; 32],
    pub path: PathBuf,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.path.display())
    }
}

impl Key {
    /// `/etc/garrison/fim.key` as root, else `$XDG_CONFIG_HOME/garrison/fim.key`.
    pub fn default_path() -> Option<PathBuf> {
        if crate::sys::is_root() {
            return Some(PathBuf::from("/etc/garrison/fim.key"));
        }
        let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
        };
        Some(base.join("garrison/fim.key"))
    }

    fn err(path: &Path, reason: impl Into<String>) -> FimError {
        FimError::Key {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// Loads the key; refuses one that others can read or write.
    pub fn load(path: &Path) -> Result<Key, FimError> {
        let meta =
            std::fs::metadata(path).map_err(|e| Key::err(path, format!("cannot read: {e}")))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Key::err(
                path,
                format!(
                    "mode {:04o} lets others read or write the key: chmod 600 it (and re-run `garrison fim init` if it may have leaked)",
                    meta.permissions().mode() & 0o7777
                ),
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| Key::err(path, format!("cannot read: {e}")))?;
        let raw = hex::decode(text.trim()).map_err(|_| Key::err(path, "not 64 hex digits"))?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| Key::err(path, "not 64 hex digits"))?;
        Ok(Key {
            bytes,
            path: path.to_path_buf(),
        })
    }

    /// Loads the key, or makes a new random one (mode 0600, its directory 0700).
    pub fn load_or_create(path: &Path) -> Result<Key, FimError> {
        if path.exists() {
            return Key::load(path);
        }
        if let Some(dir) = path.parent() {
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| FimError::io("create directory", dir, e))?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| FimError::io("chmod", dir, e))?;
            }
        }
        let bytes =
            crate::sys::random_bytes(32).map_err(|e| FimError::io("read", "/dev/urandom", e))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| FimError::io("create", path, e))?;
        writeln!(f, "{}", hex::encode(&bytes)).map_err(|e| FimError::io("write", path, e))?;
        Key::load(path)
    }

    fn seal_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".seal");
        PathBuf::from(p)
    }

    /// The MAC last recorded for the baseline at `db`.
    fn recorded(&self, db: &Path) -> Option<String> {
        let text = std::fs::read_to_string(self.seal_path()).ok()?;
        let db = db.display().to_string();
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .find(|(p, _)| *p == db)
            .map(|(_, m)| m.to_string())
    }

    fn record(&self, db: &Path, mac: &str) -> Result<(), FimError> {
        let path = self.seal_path();
        let db = db.display().to_string();
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_once('\t').is_some_and(|(p, _)| p != db))
            .map(String::from)
            .collect();
        lines.push(format!("{db}\t{mac}"));
        let tmp = path.with_extension("seal.tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| FimError::io("create", &tmp, e))?;
        f.write_all((lines.join("\n") + "\n").as_bytes())
            .map_err(|e| FimError::io("write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| FimError::io("rename", &path, e))
    }
}

/// The baseline database.
pub struct Baseline {
    conn: Connection,
    pub path: PathBuf,
}

fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let kind: String = r.get(2)?;
    Ok(Record {
        container: r.get(0)?,
        path: r.get(1)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::File),
        size: r.get::<_, i64>(3)? as u64,
        mode: r.get(4)?,
        uid: r.get(5)?,
        gid: r.get(6)?,
        ino: r.get::<_, i64>(7)? as u64,
        mtime_ns: r.get(8)?,
        ctime_ns: r.get(9)?,
        hash: r.get(10)?,
        target: r.get(11)?,
        xattrs: r.get(12)?,
        caps: r.get(13)?,
        acl: r.get(14)?,
        attrs: AttrSet(r.get::<_, u16>(15)?),
        content: r.get(16)?,
    })
}

impl Baseline {
    fn db_err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> FimError + '_ {
        move |source| FimError::Db {
            path: self.path.clone(),
            op,
            source,
        }
    }

    /// A new, empty baseline at `path` (replacing nothing: the caller renames it
    /// into place when it is complete and sealed).
    pub fn create(path: &Path) -> Result<Baseline, FimError> {
        let _ = std::fs::remove_file(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FimError::io("create directory", dir, e))?;
        }
        let conn = Connection::open(path).map_err(|source| FimError::Db {
            path: path.to_path_buf(),
            op: "create",
            source,
        })?;
        let b = Baseline {
            conn,
            path: path.to_path_buf(),
        };
        // A half-written new baseline is thrown away, never used: no journal needed.
        b.conn
            .execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
            .map_err(b.db_err("set pragmas"))?;
        b.conn
            .execute_batch(SCHEMA)
            .map_err(b.db_err("create schema"))?;
        b.prepare_scan()?;
        Ok(b)
    }

    /// Opens an existing baseline (not yet verified: call [`Baseline::verify`]).
    pub fn open(path: &Path) -> Result<Baseline, FimError> {
        if !path.exists() {
            return Err(FimError::NoBaseline {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open(path).map_err(|source| FimError::Db {
            path: path.to_path_buf(),
            op: "open",
            source,
        })?;
        let b = Baseline {
            conn,
            path: path.to_path_buf(),
        };
        let tables: i64 = b
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('meta','baseline')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| FimError::Tampered {
                path: path.to_path_buf(),
                reason: format!("not a readable baseline database ({e})"),
            })?;
        if tables != 2 {
            return Err(FimError::Tampered {
                path: path.to_path_buf(),
                reason: "its tables are missing".into(),
            });
        }
        b.prepare_scan()?;
        Ok(b)
    }

    /// The temporary `scan` table a check fills (never written to the baseline file).
    fn prepare_scan(&self) -> Result<(), FimError> {
        self.conn
            .execute_batch(
                "PRAGMA temp_store=FILE;
                 CREATE TEMP TABLE IF NOT EXISTS scan AS SELECT * FROM main.baseline WHERE 0;
                 CREATE UNIQUE INDEX IF NOT EXISTS temp.scan_pk ON scan(container, path);
                 DELETE FROM temp.scan;",
            )
            .map_err(self.db_err("create scan table"))
    }

    pub fn begin(&self) -> Result<(), FimError> {
        self.conn
            .execute_batch("BEGIN")
            .map_err(self.db_err("begin"))
    }
    pub fn commit(&self) -> Result<(), FimError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(self.db_err("commit"))
    }

    /// Writes a record into `baseline` (`scan == false`) or the check's scan table.
    pub fn insert(&self, rec: &Record, scan: bool) -> Result<(), FimError> {
        let table = if scan { "temp.scan" } else { "main.baseline" };
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO {table}({COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
            ))
            .map_err(self.db_err("prepare insert"))?;
        st.execute(params![
            rec.container,
            rec.path,
            rec.kind.as_str(),
            rec.size as i64,
            rec.mode,
            rec.uid,
            rec.gid,
            rec.ino as i64,
            rec.mtime_ns,
            rec.ctime_ns,
            rec.hash,
            rec.target,
            rec.xattrs,
            rec.caps,
            rec.acl,
            rec.attrs.0,
            rec.content,
        ])
        .map_err(self.db_err("insert"))?;
        Ok(())
    }

    pub fn lookup(&self, container: &str, path: &str) -> Result<Option<Record>, FimError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM main.baseline WHERE container = ?1 AND path = ?2"
            ))
            .map_err(self.db_err("prepare lookup"))?;
        st.query_row(params![container, path], row_to_record)
            .optional()
            .map_err(self.db_err("lookup"))
    }

    /// Baseline rows absent from the scan (`removed`), or scan rows absent from the
    /// baseline (`!removed`: added), streamed to `f`. Containers in `skip` are left out.
    pub fn missing(
        &self,
        removed: bool,
        skip: &[String],
        f: &mut dyn FnMut(Record),
    ) -> Result<(), FimError> {
        let (a, b) = if removed {
            ("main.baseline", "temp.scan")
        } else {
            ("temp.scan", "main.baseline")
        };
        let cols: Vec<String> = COLS.split(", ").map(|c| format!("x.{c}")).collect();
        let sql = format!(
            "SELECT {} FROM {a} x WHERE NOT EXISTS (SELECT 1 FROM {b} y WHERE y.container = x.container AND y.path = x.path) ORDER BY x.container, x.path",
            cols.join(", ")
        );
        let mut st = self
            .conn
            .prepare(&sql)
            .map_err(self.db_err("prepare set query"))?;
        let rows = st
            .query_map([], row_to_record)
            .map_err(self.db_err("query"))?;
        for r in rows {
            let r = r.map_err(self.db_err("read row"))?;
            if !skip.contains(&r.container) {
                f(r);
            }
        }
        Ok(())
    }

    /// Replaces the baseline rows with the scan's (for `update`); containers in
    /// `keep` (not checked this time) keep their old rows.
    pub fn accept_scan(&self, keep: &[String]) -> Result<(), FimError> {
        self.begin()?;
        {
            let mut del = self
                .conn
                .prepare("DELETE FROM main.baseline WHERE container = ?1")
                .map_err(self.db_err("prepare delete"))?;
            let containers: Vec<String> = {
                let mut st = self
                    .conn
                    .prepare("SELECT DISTINCT container FROM main.baseline")
                    .map_err(self.db_err("prepare"))?;
                let rows = st
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(self.db_err("list containers"))?;
                rows.collect::<Result<_, _>>()
                    .map_err(self.db_err("list containers"))?
            };
            for c in containers.iter().filter(|c| !keep.contains(c)) {
                del.execute([c]).map_err(self.db_err("delete"))?;
            }
        }
        self.conn
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO main.baseline({COLS}) SELECT {COLS} FROM temp.scan"
                ),
                [],
            )
            .map_err(self.db_err("copy scan"))?;
        self.commit()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), FimError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(self.db_err("write meta"))?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, FimError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.db_err("read meta"))
    }

    pub fn count(&self) -> Result<u64, FimError> {
        self.conn
            .query_row("SELECT count(*) FROM main.baseline", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(self.db_err("count"))
    }

    /// The MAC over metadata (but the MAC itself) and every row in path order.
    fn compute_mac(&self, key: &Key) -> Result<String, FimError> {
        let mut h = blake3::Hasher::new_keyed(&key.bytes);
        h.update(b"garrison-fim-baseline-v1\0");
        let field = |h: &mut blake3::Hasher, v: &[u8]| {
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v);
        };
        {
            let mut st = self
                .conn
                .prepare("SELECT key, value FROM meta WHERE key != 'mac' ORDER BY key")
                .map_err(self.db_err("prepare"))?;
            let mut rows = st.query([]).map_err(self.db_err("read meta"))?;
            while let Some(r) = rows.next().map_err(self.db_err("read meta"))? {
                let k: String = r.get(0).map_err(self.db_err("read meta"))?;
                let v: String = r.get(1).map_err(self.db_err("read meta"))?;
                field(&mut h, k.as_bytes());
                field(&mut h, v.as_bytes());
            }
        }
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLS} FROM main.baseline ORDER BY container, path"
            ))
            .map_err(self.db_err("prepare"))?;
        let mut rows = st.query([]).map_err(self.db_err("read rows"))?;
        while let Some(r) = rows.next().map_err(self.db_err("read rows"))? {
            h.update(b"\x01");
            for i in 0..17 {
                let v = r.get_ref(i).map_err(self.db_err("read rows"))?;
                match v {
                    rusqlite::types::ValueRef::Null => {
                        h.update(b"n");
                    }
                    rusqlite::types::ValueRef::Integer(n) => {
                        h.update(b"i");
                        h.update(&n.to_le_bytes());
                    }
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        h.update(b"t");
                        field(&mut h, t);
                    }
                    rusqlite::types::ValueRef::Real(f) => {
                        h.update(b"r");
                        h.update(&f.to_le_bytes());
                    }
                }
            }
        }
        Ok(h.finalize().to_hex().to_string())
    }

    /// Seals the baseline with `key` (after every write), recording the MAC beside the key.
    /// `final_path` is where the file will live (init writes a temporary file first).
    pub fn seal(&self, key: &Key, final_path: &Path) -> Result<(), FimError> {
        self.conn
            .execute("DELETE FROM meta WHERE key = 'mac'", [])
            .map_err(self.db_err("seal"))?;
        let mac = self.compute_mac(key)?;
        self.set_meta("mac", &mac)?;
        key.record(&canonical(final_path), &mac)
    }

    /// Checks the seal; a mismatch is [`FimError::Tampered`].
    pub fn verify(&self, key: &Key) -> Result<(), FimError> {
        let tampered = |reason: String| FimError::Tampered {
            path: self.path.clone(),
            reason,
        };
        let stored = self
            .meta("mac")
            .map_err(|e| tampered(format!("cannot read its seal ({e})")))?
            .ok_or_else(|| tampered("its seal (MAC) is missing".into()))?;
        let mac = self
            .compute_mac(key)
            .map_err(|e| tampered(format!("cannot read it whole ({e})")))?;
        if mac != stored {
            return Err(tampered(format!(
                "its content does not match its MAC under the key {} (rows or settings were changed outside Garrison)",
                key.path.display()
            )));
        }
        if let Some(recorded) = key.recorded(&canonical(&self.path)) {
            if recorded != mac {
                return Err(tampered(format!(
                    "it is not the baseline last written with the key {} (an older or foreign copy was put in its place)",
                    key.path.display()
                )));
            }
        }
        Ok(())
    }

    /// Moves a finished baseline file into place.
    pub fn persist(self, to: &Path) -> Result<Baseline, FimError> {
        let from = self.path.clone();
        drop(self);
        std::fs::rename(&from, to).map_err(|e| FimError::io("rename", to, e))?;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| FimError::io("chmod", to, e))?;
        Baseline::open(to)
    }
}

fn canonical(p: &Path) -> PathBuf {
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .map(|d| d.join(name))
        .unwrap_or_else(|_| p.to_path_buf()),
        _ => p.to_path_buf(),
    }
}
