//! Building, checking and updating a baseline: the walk feeds batches to a pool of
//! hashing threads (rayon); each batch is compared and written before the next, so
//! memory stays bounded by the batch size, not the tree.

use crate::attrs::{Attr, AttrChange, Kind, Record};
use crate::config::{Config, HashAlgo};
use crate::store::{Baseline, Key};
use crate::sys;
use crate::walk::{self, Entry, Item};
use crate::FimError;
use garrison_model::Severity;
use rayon::prelude::*;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use crate::walk::Problem;

const BATCH: usize = 512;
/// Baseline format; bump when rows change meaning.
pub const FORMAT: &str = "1";

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Init,
    Check,
    Update,
}

/// Per-run knobs.
#[derive(Default)]
pub struct ScanOptions<'a> {
    /// Rehash every file, even those whose inode, size, mtime and ctime are unchanged.
    pub full: bool,
    /// Hashing threads (overrides the config; 0 or `None` = the config's, else one per core).
    pub workers: Option<usize>,
    /// Called after each batch with (entries so far, bytes hashed so far).
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
    Renamed,
    Permissions,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Permissions => "permissions",
        }
    }
}

/// One change against the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub change: ChangeKind,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    pub path: String,
    /// The old path of a renamed entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub file_type: Kind,
    /// What changed (modified, renamed, permissions), old and new values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Unified diff of a small text file's (redacted) content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A container whose watched paths were read through `/proc/PID/root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    /// The name the config gives.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub pid: u32,
}

/// Counters of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Entries recorded (files, directories, links...).
    pub entries: u64,
    /// Files whose content was read and hashed.
    pub hashed: u64,
    pub hashed_bytes: u64,
    /// Files not rehashed because inode, size, mtime and ctime are unchanged (`--full` rehashes).
    pub not_rehashed: u64,
    pub problems: u64,
    pub elapsed_ms: u64,
    pub workers: usize,
}

/// The result of `init`, `check` or `update`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub mode: Mode,
    pub full: bool,
    pub baseline: PathBuf,
    pub summary: Summary,
    pub containers: Vec<ContainerInfo>,
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
}

struct Root {
    path: PathBuf,
    /// Key of its rows ("" for the host, else the configured container name).
    key: String,
    info: Option<ContainerInfo>,
}

fn roots(config: &Config, problems: &mut Vec<Problem>, skipped: &mut Vec<String>) -> Vec<Root> {
    let mut out = vec![Root {
        path: PathBuf::from("/"),
        key: String::new(),
        info: None,
    }];
    for name in &config.containers {
        match garrison_source::rootfs::Container::open(name) {
            Ok(c) => {
                use garrison_source::Source as _;
                let Some(pid) = c.pid() else { continue };
                out.push(Root {
                    path: PathBuf::from(format!("/proc/{pid}/root")),
                    key: name.clone(),
                    info: Some(ContainerInfo {
                        name: name.clone(),
                        id: c.target().container_id,
                        pid,
                    }),
                });
            }
            Err(e) => {
                problems.push(Problem {
                    container: name.clone(),
                    path: String::new(),
                    reason: format!("container not checked: {e}"),
                });
                skipped.push(name.clone());
            }
        }
    }
    out
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 1 << 20]);
}

struct Hashed {
    hash: String,
    content: Option<String>,
    bytes: u64,
}

/// Hashes a regular file, streaming; keeps its text when `keep` bytes or fewer.
fn hash_file(host: &Path, ino: u64, algo: HashAlgo, keep: Option<u64>) -> std::io::Result<Hashed> {
    let mut file = sys::open_regular(host, ino)?;
    let mut kept: Option<Vec<u8>> = keep.map(|_| Vec::new());
    let limit = keep.unwrap_or(0) as usize;
    let mut b3 = blake3::Hasher::new();
    let mut s2 = <sha2::Sha256 as sha2::Digest>::new();
    let bytes = BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        sys::read_chunks(&mut file, &mut buf, |chunk| {
            match algo {
                HashAlgo::Blake3 => {
                    b3.update(chunk);
                }
                HashAlgo::Sha256 => sha2::Digest::update(&mut s2, chunk),
            }
            if let Some(k) = kept.as_mut() {
                if k.len() + chunk.len() <= limit {
                    k.extend_from_slice(chunk);
                } else {
                    kept = None;
                }
            }
        })
    })?;
    let hash = match algo {
        HashAlgo::Blake3 => format!("blake3:{}", b3.finalize().to_hex()),
        HashAlgo::Sha256 => format!("sha256:{}", hex::encode(sha2::Digest::finalize(s2))),
    };
    let content = kept
        .filter(|k| !k.contains(&0))
        .and_then(|k| String::from_utf8(k).ok())
        .map(|t| crate::redact::redact(&t));
    Ok(Hashed {
        hash,
        content,
        bytes,
    })
}

struct Built {
    record: Option<Record>,
    problems: Vec<Problem>,
    hashed: bool,
    reused: bool,
    bytes: u64,
}

/// The record of one walked entry; `old` (its baseline row) lets an unchanged
/// file keep its hash without being read again, unless `full`.
fn build(config: &Config, key: &str, e: &Entry, old: Option<&Record>, full: bool) -> Built {
    let w = &config.watches[e.watch];
    let st = &e.stat;
    let mut out = Built {
        record: None,
        problems: Vec::new(),
        hashed: false,
        reused: false,
        bytes: 0,
    };
    let problem = |reason: String| Problem {
        container: key.to_string(),
        path: e.path.clone(),
        reason,
    };
    let mut rec = Record {
        container: key.to_string(),
        path: e.path.clone(),
        kind: st.kind,
        size: st.size,
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        ino: st.ino,
        mtime_ns: st.mtime_ns,
        ctime_ns: st.ctime_ns,
        hash: None,
        target: None,
        xattrs: None,
        caps: None,
        acl: None,
        attrs: w.attrs,
        content: None,
    };
    if st.kind == Kind::Symlink {
        match sys::read_link(&e.host) {
            Ok(t) => rec.target = Some(t),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                out.problems
                    .push(problem("vanished while being scanned: skipped".into()));
                return out;
            }
            Err(err) => out
                .problems
                .push(problem(format!("cannot read link: {err}"))),
        }
    }
    if w.attrs.has(Attr::Xattrs) || w.attrs.has(Attr::Caps) || w.attrs.has(Attr::Acl) {
        match sys::xattrs(&e.host) {
            Ok(x) => {
                if w.attrs.has(Attr::Xattrs) {
                    rec.xattrs = x.other;
                }
                if w.attrs.has(Attr::Caps) {
                    rec.caps = x.caps;
                }
                if w.attrs.has(Attr::Acl) {
                    rec.acl = x.acl;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                out.problems
                    .push(problem("vanished while being scanned: skipped".into()));
                return out;
            }
            Err(err) => out
                .problems
                .push(problem(format!("cannot read extended attributes: {err}"))),
        }
    }
    if st.kind == Kind::File && w.attrs.has(Attr::Hash) {
        let prefix = format!("{}:", w.hash.as_str());
        let unchanged = old.filter(|o| {
            o.kind == Kind::File
                && o.ino == st.ino
                && o.size == st.size
                && o.mtime_ns == st.mtime_ns
                && o.ctime_ns == st.ctime_ns
                && o.hash.as_deref().is_some_and(|h| h.starts_with(&prefix))
        });
        match unchanged {
            Some(o) if !full => {
                rec.hash = o.hash.clone();
                rec.content = o.content.clone();
                out.reused = true;
            }
            _ => {
                let keep = (st.size <= config.content_max
                    && st.mode & 0o004 != 0
                    && config.keeps_content(&e.path))
                .then_some(config.content_max);
                match hash_file(&e.host, st.ino, w.hash, keep) {
                    Ok(h) => {
                        rec.hash = Some(h.hash);
                        rec.content = h.content;
                        out.hashed = true;
                        out.bytes = h.bytes;
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        out.problems
                            .push(problem("vanished while being hashed: skipped".into()));
                        return out;
                    }
                    Err(err) => out.problems.push(problem(format!(
                        "content not hashed ({err}); its other attributes are recorded"
                    ))),
                }
            }
        }
    }
    out.record = Some(rec);
    out
}

fn classify(attrs: &[AttrChange]) -> ChangeKind {
    let perm = |a: &AttrChange| Attr::parse(a.attribute).is_some_and(|x| x.is_permission());
    if attrs.iter().any(perm) && attrs.iter().all(|a| perm(a) || a.attribute == "ctime") {
        ChangeKind::Permissions
    } else {
        ChangeKind::Modified
    }
}

fn content_diff(old: &Record, new: &Record) -> Option<String> {
    match (&old.content, &new.content) {
        (Some(a), Some(b)) if a != b => Some(crate::redact::unified_diff(a, b)),
        _ => None,
    }
}

struct Run<'a> {
    config: &'a Config,
    db: &'a Baseline,
    mode: Mode,
    full: bool,
    pool: rayon::ThreadPool,
    summary: Summary,
    changes: Vec<Change>,
    problems: Vec<Problem>,
    progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl Run<'_> {
    fn batch(&mut self, root: &Root, items: Vec<Item>) -> Result<(), FimError> {
        let mut entries = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Entry(e) => entries.push(e),
                Item::Problem(p) => self.problems.push(p),
            }
        }
        let olds: Vec<Option<Record>> = if self.mode == Mode::Init {
            vec![None; entries.len()]
        } else {
            entries
                .iter()
                .map(|e| self.db.lookup(&root.key, &e.path))
                .collect::<Result<_, _>>()?
        };
        let (config, full, key) = (self.config, self.full, root.key.as_str());
        let built: Vec<Built> = self.pool.install(|| {
            entries
                .par_iter()
                .zip(olds.par_iter())
                .map(|(e, old)| build(config, key, e, old.as_ref(), full))
                .collect()
        });
        let scan = self.mode != Mode::Init;
        for (b, old) in built.into_iter().zip(olds) {
            self.problems.extend(b.problems);
            self.summary.hashed += u64::from(b.hashed);
            self.summary.not_rehashed += u64::from(b.reused);
            self.summary.hashed_bytes += b.bytes;
            let Some(rec) = b.record else { continue };
            self.summary.entries += 1;
            if let Some(old) = old {
                let attrs = old.diff(&rec);
                if !attrs.is_empty() {
                    self.changes.push(Change {
                        change: classify(&attrs),
                        severity: self.config.severity(&rec.path),
                        container: root.info.clone(),
                        path: rec.path.clone(),
                        from: None,
                        file_type: rec.kind,
                        diff: content_diff(&old, &rec),
                        attributes: attrs,
                    });
                }
            }
            self.db.insert(&rec, scan)?;
        }
        if let Some(p) = self.progress {
            p(self.summary.entries, self.summary.hashed_bytes);
        }
        Ok(())
    }

    fn walk_all(&mut self, skipped: &mut Vec<String>) -> Result<Vec<ContainerInfo>, FimError> {
        let roots = roots(self.config, &mut self.problems, skipped);
        let config = self.config;
        for root in &roots {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Item>>(4);
            let container = root.key.clone();
            let path = root.path.clone();
            let result = std::thread::scope(|s| {
                s.spawn(move || {
                    let mut batch = Vec::with_capacity(BATCH);
                    walk::walk(config, &path, &container, &mut |item| {
                        batch.push(item);
                        if batch.len() >= BATCH {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            // The receiver stops only on a database error; the walk then ends quietly.
                            let _ = tx.send(full);
                        }
                    });
                    let _ = tx.send(batch);
                });
                self.db.begin()?;
                for items in rx.iter() {
                    self.batch(root, items)?;
                }
                self.db.commit()
            });
            result?;
        }
        Ok(roots.into_iter().filter_map(|r| r.info).collect())
    }

    /// Added, removed and renamed entries, from the scan and the baseline.
    fn set_changes(
        &mut self,
        skipped: &[String],
        containers: &[ContainerInfo],
    ) -> Result<(), FimError> {
        let mut removed = Vec::new();
        self.db.missing(true, skipped, &mut |r| removed.push(r))?;
        let mut added = Vec::new();
        self.db.missing(false, skipped, &mut |r| added.push(r))?;
        let info = |key: &str| containers.iter().find(|c| c.name == key).cloned();
        let mut by_ino: HashMap<(String, u64, &'static str), usize> = HashMap::new();
        let mut by_hash: HashMap<(String, String), usize> = HashMap::new();
        for (i, r) in removed.iter().enumerate() {
            by_ino.insert((r.container.clone(), r.ino, r.kind.as_str()), i);
            if let (Some(h), true) = (&r.hash, r.size > 0) {
                by_hash.entry((r.container.clone(), h.clone())).or_insert(i);
            }
        }
        let mut taken = vec![false; removed.len()];
        for a in added {
            // Same inode is a rename only with the same content or mtime (a rename
            // keeps both); otherwise the inode number was reused by a new file.
            let m = by_ino
                .get(&(a.container.clone(), a.ino, a.kind.as_str()))
                .copied()
                .filter(|i| !taken[*i])
                .filter(|i| {
                    let o = &removed[*i];
                    o.mtime_ns == a.mtime_ns || (o.hash.is_some() && o.hash == a.hash)
                })
                .or_else(|| {
                    a.hash
                        .as_ref()
                        .filter(|_| a.size > 0)
                        .and_then(|h| by_hash.get(&(a.container.clone(), h.clone())).copied())
                        .filter(|i| !taken[*i])
                });
            let severity = self.config.severity(&a.path);
            match m {
                Some(i) => {
                    taken[i] = true;
                    let old = &removed[i];
                    let attrs: Vec<AttrChange> = old
                        .diff(&a)
                        .into_iter()
                        .filter(|c| c.attribute != "ctime" || old.ino != a.ino)
                        .collect();
                    self.changes.push(Change {
                        change: ChangeKind::Renamed,
                        severity: severity.max(self.config.severity(&old.path)),
                        container: info(&a.container),
                        path: a.path.clone(),
                        from: Some(old.path.clone()),
                        file_type: a.kind,
                        diff: content_diff(old, &a),
                        attributes: attrs,
                    });
                }
                None => self.changes.push(Change {
                    change: ChangeKind::Added,
                    severity,
                    container: info(&a.container),
                    path: a.path,
                    from: None,
                    file_type: a.kind,
                    attributes: Vec::new(),
                    diff: None,
                }),
            }
        }
        for (i, r) in removed.into_iter().enumerate() {
            if !taken[i] {
                self.changes.push(Change {
                    change: ChangeKind::Removed,
                    severity: self.config.severity(&r.path),
                    container: info(&r.container),
                    path: r.path,
                    from: None,
                    file_type: r.kind,
                    attributes: Vec::new(),
                    diff: None,
                });
            }
        }
        self.changes.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.path.cmp(&b.path))
        });
        Ok(())
    }
}

fn pool(config: &Config, opts: &ScanOptions<'_>) -> Result<rayon::ThreadPool, FimError> {
    let n = opts.workers.filter(|n| *n > 0).unwrap_or(config.workers);
    let n = if n == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        n
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("fim-hash-{i}"))
        .build()
        .map_err(|e| FimError::io("start hashing threads", "rayon", std::io::Error::other(e)))
}

fn now() -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let t = crate::attrs::fmt_time(ns);
    format!("{}Z", &t[..19])
}

/// Builds a new baseline at `db_path` from `config`, sealed with `key`. The old
/// baseline (if any) stays in place until the new one is complete.
pub fn init(
    config: &Config,
    db_path: &Path,
    key: &Key,
    opts: &ScanOptions<'_>,
) -> Result<Report, FimError> {
    let start = Instant::now();
    let mut tmp = db_path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let db = Baseline::create(&tmp)?;
    let pool = pool(config, opts)?;
    let workers = pool.current_num_threads();
    let mut run = Run {
        config,
        db: &db,
        mode: Mode::Init,
        full: true,
        pool,
        summary: Summary::default(),
        changes: Vec::new(),
        problems: Vec::new(),
        progress: opts.progress,
    };
    let mut skipped = Vec::new();
    let containers = run.walk_all(&mut skipped)?;
    let (mut summary, problems) = (run.summary, run.problems);
    db.set_meta("format", FORMAT)?;
    db.set_meta("config", &config.source)?;
    db.set_meta("created", &now())?;
    db.set_meta("updated", &now())?;
    db.set_meta("generation", "1")?;
    db.seal(key, db_path)?;
    db.persist(db_path)?;
    summary.problems = problems.len() as u64;
    summary.elapsed_ms = start.elapsed().as_millis() as u64;
    summary.workers = workers;
    Ok(Report {
        schema: 1,
        mode: Mode::Init,
        full: true,
        baseline: db_path.to_path_buf(),
        summary,
        containers,
        changes: Vec::new(),
        problems,
    })
}

/// Opens and verifies a baseline and reads the config it was built with.
pub fn open_verified(db_path: &Path, key: &Key) -> Result<(Baseline, Config), FimError> {
    let db = Baseline::open(db_path)?;
    db.verify(key)?;
    let text = db.meta("config")?.ok_or_else(|| FimError::Tampered {
        path: db_path.to_path_buf(),
        reason: "it holds no config".into(),
    })?;
    let config = Config::parse(&text, &format!("{} (stored config)", db_path.display()))?;
    Ok((db, config))
}

/// Compares the present state with the baseline (`update` then accepts it).
pub fn check(
    db: &Baseline,
    config: &Config,
    mode: Mode,
    opts: &ScanOptions<'_>,
    key: &Key,
) -> Result<Report, FimError> {
    let start = Instant::now();
    let pool = pool(config, opts)?;
    let workers = pool.current_num_threads();
    let mut run = Run {
        config,
        db,
        mode,
        full: opts.full,
        pool,
        summary: Summary::default(),
        changes: Vec::new(),
        problems: Vec::new(),
        progress: opts.progress,
    };
    let mut skipped = Vec::new();
    let containers = run.walk_all(&mut skipped)?;
    run.set_changes(&skipped, &containers)?;
    if mode == Mode::Update {
        db.accept_scan(&skipped)?;
        let generation = db
            .meta("generation")?
            .and_then(|g| g.parse::<u64>().ok())
            .unwrap_or(1);
        db.set_meta("generation", &(generation + 1).to_string())?;
        db.set_meta("updated", &now())?;
        db.seal(key, &db.path)?;
    }
    let mut summary = run.summary;
    summary.problems = run.problems.len() as u64;
    summary.elapsed_ms = start.elapsed().as_millis() as u64;
    summary.workers = workers;
    Ok(Report {
        schema: 1,
        mode,
        full: opts.full,
        baseline: db.path.clone(),
        summary,
        containers,
        changes: run.changes,
        problems: run.problems,
    })
}

/// What changed in one file (host path), rehashing it.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub in_baseline: bool,
    pub exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    pub problems: Vec<Problem>,
}

pub fn diff_file(db: &Baseline, config: &Config, path: &str) -> Result<FileDiff, FimError> {
    let old = db.lookup("", path)?;
    let watch = config
        .watches
        .iter()
        .position(|w| config.watch_for(path).is_some_and(|m| std::ptr::eq(m, w)));
    if old.is_none() && watch.is_none() {
        return Err(FimError::NotWatched {
            path: path.to_string(),
        });
    }
    let host = PathBuf::from(path);
    let stat = match sys::lstat(&host) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(FimError::io("stat", host, e)),
    };
    let mut problems = Vec::new();
    let now = match (stat, watch) {
        (Some(stat), Some(w)) => {
            let b = build(
                config,
                "",
                &Entry {
                    path: path.to_string(),
                    host,
                    stat,
                    watch: w,
                },
                old.as_ref(),
                true,
            );
            problems = b.problems;
            b.record
        }
        _ => None,
    };
    let severity = config.severity(path);
    let change = match (&old, &now) {
        (None, None) => None,
        (None, Some(n)) => Some(Change {
            change: ChangeKind::Added,
            severity,
            container: None,
            path: path.to_string(),
            from: None,
            file_type: n.kind,
            attributes: Vec::new(),
            diff: None,
        }),
        (Some(o), None) => Some(Change {
            change: ChangeKind::Removed,
            severity,
            container: None,
            path: path.to_string(),
            from: None,
            file_type: o.kind,
            attributes: Vec::new(),
            diff: None,
        }),
        (Some(o), Some(n)) => {
            let attrs = o.diff(n);
            (!attrs.is_empty()).then(|| Change {
                change: classify(&attrs),
                severity,
                container: None,
                path: path.to_string(),
                from: None,
                file_type: n.kind,
                diff: content_diff(o, n),
                attributes: attrs,
            })
        }
    };
    Ok(FileDiff {
        path: path.to_string(),
        in_baseline: old.is_some(),
        exists: stat.is_some(),
        change,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_for(dir: &Path) -> Config {
        Config::parse(
            &format!("[[watch]]\npath = \"{}\"\n", dir.display()),
            "test",
        )
        .unwrap()
    }

    fn entry(path: &Path, watch: usize) -> Entry {
        Entry {
            path: path.display().to_string(),
            host: path.to_path_buf(),
            stat: sys::lstat(path).unwrap(),
            watch,
        }
    }

    #[test]
    fn a_file_that_vanishes_before_hashing_is_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("gone");
        std::fs::write(&f, "x").unwrap();
        let e = entry(&f, 0);
        std::fs::remove_file(&f).unwrap();
        let b = build(&config_for(dir.path()), "", &e, None, true);
        assert!(b.record.is_none());
        assert_eq!(b.problems.len(), 1);
        assert!(
            b.problems[0].reason.contains("vanished"),
            "{:?}",
            b.problems
        );
    }

    #[test]
    fn a_fifo_swapped_in_after_the_listing_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("swap");
        std::fs::write(&f, "x").unwrap();
        let e = entry(&f, 0);
        std::fs::remove_file(&f).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &f,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let b = build(&config_for(dir.path()), "", &e, None, true);
        let rec = b.record.expect("metadata is still recorded");
        assert_eq!(rec.hash, None);
        assert!(
            b.problems[0].reason.contains("no longer a regular file"),
            "{:?}",
            b.problems
        );
    }

    #[test]
    fn a_file_replaced_by_another_inode_is_not_hashed_as_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("swap");
        std::fs::write(&f, "old").unwrap();
        let e = entry(&f, 0);
        let other = dir.path().join("other");
        std::fs::write(&other, "new").unwrap();
        std::fs::rename(&other, &f).unwrap();
        let b = build(&config_for(dir.path()), "", &e, None, true);
        assert!(
            b.problems[0]
                .reason
                .contains("replaced while being scanned"),
            "{:?}",
            b.problems
        );
    }
}
