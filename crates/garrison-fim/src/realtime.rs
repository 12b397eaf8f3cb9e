//! Real-time FIM in the agent: the sensor's file events (write-intent opens,
//! unlink, rename, chmod, chown, link, symlink, mkdir) on watched paths become
//! alerts naming the process, pid, executable, user, login uid and container.
//!
//! Bursts are coalesced: the first change of a path by a process is alerted at
//! once; further changes of it by the same process within the window are counted
//! and summed up in one follow-up alert when the window closes. Changes by the
//! package manager (dpkg, apt and their children) are not alerted one by one: at the
//! end of its burst one alert lists them, each verified against the MD5 sum dpkg
//! records for it (`/var/lib/dpkg/info/*.md5sums`): a file that differs from what
//! its package shipped raises the alert's priority.

use crate::config::Config;
use garrison_agent::detect::{Alert, Detector, Reloaded};
use garrison_event::{Event, EventData, EventKind, FilePath, Interest};
use garrison_model::Severity;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Rule name of a real-time FIM alert.
pub const RULE: &str = "FIM: watched file changed";
/// Rule name of a package manager's coalesced changes.
pub const RULE_PACKAGE: &str = "FIM: package manager changed watched files";
/// Rule name of a change found by a scheduled re-check of the baseline.
pub const SCHEDULED_RULE: &str = "FIM: scheduled check found a change";
/// Rule name of a scheduled re-check that could not run (tampered baseline, bad key).
pub const FAILED_RULE: &str = "FIM: scheduled check failed";

const PACKAGE_MANAGERS: &[&str] = &[
    "dpkg",
    "dpkg-deb",
    "apt",
    "apt-get",
    "aptitude",
    "unattended-upgr",
    "unattended-upgrade",
    "rpm",
    "dnf",
    "yum",
    "apk",
];

/// Most paths a package burst lists (the count stays exact).
const MAX_PACKAGE_PATHS: usize = 20_000;
/// Most coalescing entries held; beyond it the oldest are flushed.
const MAX_PENDING: usize = 10_000;

struct Burst {
    first_ns: u64,
    last_ns: u64,
    ops: BTreeSet<&'static str>,
    more: u64,
    ev: Event,
    container: String,
}

struct PackageBurst {
    manager: String,
    first_ns: u64,
    last_ns: u64,
    paths: BTreeMap<String, BTreeSet<&'static str>>,
    changes: u64,
    ev: Event,
    root: PathBuf,
}

/// The FIM detector.
pub struct FimDetector {
    config: Config,
    config_path: Option<PathBuf>,
    window_ns: u64,
    pending: HashMap<(u32, String, String), Burst>,
    packages: HashMap<u32, PackageBurst>,
    dpkg_info: PathBuf,
    alerts: u64,
    coalesced: u64,
    package_changes: u64,
    recheck: Option<crate::schedule::Recheck>,
}

/// What happened to a path, from one event: (operation, path).
fn changes(ev: &Event) -> Vec<(&'static str, &FilePath)> {
    match &ev.data {
        EventData::Open {
            path,
            flag_names,
            created,
            ..
        } => {
            let has = |f: &str| flag_names.iter().any(|n| n == f);
            if *created == Some(true) {
                vec![("create", path)]
            } else if has("O_TRUNC") {
                vec![("truncate", path)]
            } else if has("O_WRONLY") || has("O_RDWR") || has("O_CREAT") || has("O_APPEND") {
                vec![("write", path)]
            } else {
                Vec::new()
            }
        }
        EventData::Unlink { path, directory } => {
            vec![(if *directory { "rmdir" } else { "unlink" }, path)]
        }
        EventData::Rename { from, to, .. } => vec![("rename-from", from), ("rename-to", to)],
        EventData::Chmod { path, .. } => vec![("chmod", path)],
        EventData::Chown { path, .. } => vec![("chown", path)],
        EventData::Link { path, .. } => vec![("link", path)],
        EventData::Symlink { path, .. } => vec![("symlink", path)],
        EventData::Mkdir { path, .. } => vec![("mkdir", path)],
        _ => Vec::new(),
    }
}

fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::High => "ERROR",
        Severity::Medium => "WARNING",
        Severity::Low => "NOTICE",
        Severity::Info | Severity::Unknown => "INFORMATIONAL",
    }
}

fn base_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// The package manager behind `ev`: the process itself or an ancestor.
fn package_manager(ev: &Event) -> Option<String> {
    let p = &ev.process;
    let is = |name: &str| PACKAGE_MANAGERS.contains(&name);
    if is(&p.comm) {
        return Some(p.comm.clone());
    }
    if let Some(exe) = p.exe.as_deref().map(base_name).filter(|n| is(n)) {
        return Some(exe.to_string());
    }
    p.ancestors
        .iter()
        .find(|a| is(&a.name) || a.exe.as_deref().map(base_name).is_some_and(is))
        .map(|a| a.name.clone())
}

fn who(ev: &Event) -> String {
    let p = &ev.process;
    let mut s = format!(
        "{} (pid {}, exe {}, user {}",
        p.comm,
        p.pid,
        p.exe.as_deref().unwrap_or("?"),
        p.user.clone().unwrap_or_else(|| p.uid.to_string())
    );
    if let Some(l) = p.loginuid {
        s.push_str(&format!(
            ", loginuid {l}{}",
            p.loginname
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
    }
    s.push(')');
    if let Some(c) = &ev.container {
        s.push_str(&format!(
            " in container {}",
            c.name.as_deref().unwrap_or(&c.id[..c.id.len().min(12)])
        ));
    }
    s
}

impl FimDetector {
    /// A detector for the watched paths of `config` (the file it came from, if any,
    /// is re-read on SIGHUP).
    pub fn new(config: Config, config_path: Option<PathBuf>) -> FimDetector {
        FimDetector {
            config,
            config_path,
            window_ns: 2_000_000_000,
            pending: HashMap::new(),
            packages: HashMap::new(),
            dpkg_info: PathBuf::from("var/lib/dpkg/info"),
            alerts: 0,
            coalesced: 0,
            package_changes: 0,
            recheck: None,
        }
    }

    /// Also re-checks the sealed baseline on a schedule (see [`crate::schedule`]);
    /// its changes and failures become alerts on the next tick.
    pub fn with_recheck(mut self, recheck: crate::schedule::Recheck) -> FimDetector {
        self.recheck = Some(recheck);
        self
    }

    fn scheduled_alerts(&mut self, now_ns: u64, emit: &mut dyn FnMut(Alert)) {
        let Some(recheck) = &mut self.recheck else {
            return;
        };
        for outcome in recheck.drain() {
            match outcome {
                crate::schedule::Outcome::Checked(report) => {
                    for c in &report.changes {
                        let mut fields = BTreeMap::new();
                        fields.insert("fim.path".to_string(), c.path.clone());
                        fields.insert("fim.change".to_string(), c.change.as_str().to_string());
                        fields.insert("fim.severity".to_string(), c.severity.to_string());
                        if let Some(from) = &c.from {
                            fields.insert("fim.from".to_string(), from.clone());
                        }
                        if let Some(k) = &c.container {
                            fields.insert("fim.container".to_string(), k.name.clone());
                        }
                        let attrs: Vec<String> = c
                            .attributes
                            .iter()
                            .map(|a| format!("{}: {} -> {}", a.attribute, a.old, a.new))
                            .collect();
                        if !attrs.is_empty() {
                            fields.insert("fim.attributes".to_string(), attrs.join("; "));
                        }
                        let output = format!(
                            "scheduled check: {} {}{}{}",
                            c.path,
                            c.change.as_str(),
                            c.from
                                .as_ref()
                                .map(|f| format!(" from {f}"))
                                .unwrap_or_default(),
                            if attrs.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", attrs.join("; "))
                            }
                        );
                        self.alerts += 1;
                        emit(Alert::from_detector(
                            SCHEDULED_RULE,
                            priority(c.severity),
                            output,
                            vec!["fim".into(), "filesystem".into(), "T1565.001".into()],
                            now_ns,
                            None,
                            fields,
                        ));
                    }
                }
                crate::schedule::Outcome::Failed(why) => {
                    let mut fields = BTreeMap::new();
                    fields.insert("fim.error".to_string(), why.clone());
                    self.alerts += 1;
                    emit(Alert::from_detector(
                        FAILED_RULE,
                        "CRITICAL",
                        format!("scheduled check could not run: {why}"),
                        vec!["fim".into(), "T1565.001".into(), "T1070".into()],
                        now_ns,
                        None,
                        fields,
                    ));
                }
            }
        }
    }

    /// Coalescing window (default 2 s).
    pub fn with_window(mut self, window: std::time::Duration) -> FimDetector {
        self.window_ns = window.as_nanos() as u64;
        self
    }

    /// Where dpkg's records are, relative to the root of the writing process
    /// (default `var/lib/dpkg/info`).
    pub fn with_dpkg_info(mut self, dir: impl Into<PathBuf>) -> FimDetector {
        self.dpkg_info = dir.into();
        self
    }

    /// The configured container name an event's container matches, `""` for the
    /// host, `None` for a container that is not watched.
    fn container_key(&self, ev: &Event) -> Option<String> {
        let Some(c) = &ev.container else {
            return Some(String::new());
        };
        self.config
            .containers
            .iter()
            .find(|want| {
                c.name.as_deref() == Some(want.as_str())
                    || (want.len() >= 6 && c.id.starts_with(want.as_str()))
            })
            .cloned()
    }

    /// Whether `path` (inside the writer's root `root`) is watched.
    fn watched(&self, path: &str, root: &Path) -> bool {
        let Some(w) = self.config.watch_for(path) else {
            return false;
        };
        if w.excluded(path) || !w.included(path) {
            return false;
        }
        if !w.recursive && path != w.path {
            let parent = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            if parent != w.path {
                return false;
            }
        }
        if w.executables_only {
            let host = crate::walk::host_path(root, path);
            return crate::sys::lstat(&host)
                .is_ok_and(|s| s.kind == crate::Kind::File && s.mode & 0o111 != 0);
        }
        true
    }

    fn alert(
        &mut self,
        ev: &Event,
        op: &str,
        path: &str,
        container: &str,
        emit: &mut dyn FnMut(Alert),
    ) {
        let severity = self.config.severity(path);
        let mut fields = BTreeMap::new();
        fields.insert("fim.path".to_string(), path.to_string());
        fields.insert("fim.op".to_string(), op.to_string());
        fields.insert("fim.severity".to_string(), severity.to_string());
        if !container.is_empty() {
            fields.insert("fim.container".to_string(), container.to_string());
        }
        let output = format!("{path} changed ({op}) by {}", who(ev));
        self.alerts += 1;
        emit(Alert::from_detector(
            RULE,
            priority(severity),
            output,
            vec!["fim".into(), "filesystem".into(), "T1565.001".into()],
            ev.time_ns,
            Some(ev),
            fields,
        ));
    }

    fn flush_burst(&mut self, b: Burst, path: &str, emit: &mut dyn FnMut(Alert)) {
        if b.more == 0 {
            return;
        }
        let severity = self.config.severity(path);
        let ops: Vec<&str> = b.ops.iter().copied().collect();
        let mut fields = BTreeMap::new();
        fields.insert("fim.path".to_string(), path.to_string());
        fields.insert("fim.op".to_string(), ops.join(","));
        fields.insert("fim.severity".to_string(), severity.to_string());
        fields.insert("fim.coalesced".to_string(), b.more.to_string());
        if !b.container.is_empty() {
            fields.insert("fim.container".to_string(), b.container.clone());
        }
        let secs = (b.last_ns.saturating_sub(b.first_ns)) as f64 / 1e9;
        let output = format!(
            "{path}: {} more changes ({}) within {secs:.1}s by {}",
            b.more,
            ops.join(", "),
            who(&b.ev)
        );
        self.alerts += 1;
        emit(Alert::from_detector(
            RULE,
            priority(severity),
            output,
            vec!["fim".into(), "filesystem".into(), "T1565.001".into()],
            b.last_ns,
            Some(&b.ev),
            fields,
        ));
    }

    fn flush_package(&mut self, b: PackageBurst, emit: &mut dyn FnMut(Alert)) {
        let info = b.root.join(&self.dpkg_info);
        let paths: BTreeSet<String> = b.paths.keys().cloned().collect();
        let verdicts = verify_dpkg(&paths, &info, &b.root);
        let mut verified = 0u64;
        let mut mismatched = Vec::new();
        let mut unowned = Vec::new();
        let mut removed = 0u64;
        for p in &paths {
            match verdicts.get(p) {
                Some(Verdict::Verified) => verified += 1,
                Some(Verdict::Mismatch(pkg)) => mismatched.push(format!("{p} ({pkg})")),
                Some(Verdict::Gone) => removed += 1,
                None => unowned.push(p.clone()),
            }
        }
        let worst = paths
            .iter()
            .map(|p| self.config.severity(p))
            .max()
            .unwrap_or(Severity::Info);
        // Verified package files are routine; a file that differs from what its package
        // shipped keeps the path's own severity.
        let severity = if mismatched.is_empty() {
            Severity::Low
        } else {
            worst
        };
        let mut fields = BTreeMap::new();
        fields.insert("fim.package_manager".to_string(), b.manager.clone());
        fields.insert("fim.changes".to_string(), b.changes.to_string());
        fields.insert("fim.paths".to_string(), paths.len().to_string());
        fields.insert("fim.dpkg_verified".to_string(), verified.to_string());
        fields.insert(
            "fim.dpkg_mismatch".to_string(),
            mismatched.len().to_string(),
        );
        fields.insert(
            "fim.not_in_dpkg_md5sums".to_string(),
            unowned.len().to_string(),
        );
        fields.insert("fim.removed".to_string(), removed.to_string());
        fields.insert("fim.severity".to_string(), severity.to_string());
        let sample: Vec<&String> = paths.iter().take(20).collect();
        fields.insert(
            "fim.path".to_string(),
            sample
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        if !mismatched.is_empty() {
            fields.insert("fim.mismatched".to_string(), mismatched.join(","));
        }
        let secs = b.last_ns.saturating_sub(b.first_ns) as f64 / 1e9;
        let output = format!(
            "package manager {} changed {} watched paths ({} changes in {secs:.1}s) [{}]: {verified} match dpkg's md5sums, {} differ{}, {} not in dpkg's md5sums (conffiles, generated files), {removed} removed",
            b.manager,
            paths.len(),
            b.changes,
            who(&b.ev),
            mismatched.len(),
            if mismatched.is_empty() {
                String::new()
            } else {
                format!(" ({})", mismatched.join(", "))
            },
            unowned.len(),
        );
        self.alerts += 1;
        emit(Alert::from_detector(
            RULE_PACKAGE,
            priority(severity),
            output,
            vec!["fim".into(), "filesystem".into(), "package_manager".into()],
            b.last_ns,
            Some(&b.ev),
            fields,
        ));
    }
}

/// The outcome of checking one path against dpkg's records.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Verified,
    Mismatch(String),
    Gone,
}

/// Checks `paths` against every `*.md5sums` in `info` (one pass over the records),
/// reading the files under `root`. Paths no record names are left out.
fn verify_dpkg(paths: &BTreeSet<String>, info: &Path, root: &Path) -> HashMap<String, Verdict> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(info) else {
        return out;
    };
    for ent in dir.flatten() {
        let name = ent.file_name();
        let Some(pkg) = name.to_str().and_then(|n| n.strip_suffix(".md5sums")) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(ent.path()) else {
            continue;
        };
        for line in text.lines() {
            let Some((sum, rel)) = line.split_once("  ") else {
                continue;
            };
            let path = format!("/{}", rel.trim_start_matches('/'));
            if !paths.contains(&path) {
                continue;
            }
            let host = crate::walk::host_path(root, &path);
            let verdict = match md5_file(&host) {
                Ok(got) if got.eq_ignore_ascii_case(sum.trim()) => Verdict::Verified,
                Ok(_) => Verdict::Mismatch(pkg.split(':').next().unwrap_or(pkg).to_string()),
                Err(_) => Verdict::Gone,
            };
            out.insert(path, verdict);
        }
    }
    out
}

fn md5_file(path: &Path) -> std::io::Result<String> {
    use md5::Digest;
    let meta = crate::sys::lstat(path)?;
    let mut f = crate::sys::open_regular(path, meta.ino)?;
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    crate::sys::read_chunks(&mut f, &mut buf, |c| h.update(c))?;
    Ok(hex::encode(h.finalize()))
}

impl Detector for FimDetector {
    fn name(&self) -> &str {
        "fim"
    }

    fn interest(&self) -> Interest {
        let mut i = Interest::kinds([
            EventKind::Open,
            EventKind::Unlink,
            EventKind::Rename,
            EventKind::Chmod,
            EventKind::Chown,
            EventKind::Link,
            EventKind::Symlink,
            EventKind::Mkdir,
        ]);
        // Read-only opens are not changes: none asked for.
        i.read_prefixes.clear();
        // Keep the default pseudo-filesystem filter unless a watch lies under it.
        i.ignore_prefixes.retain(|ignored| {
            !self
                .config
                .watches
                .iter()
                .any(|w| w.path.starts_with(ignored.as_str()) || ignored.starts_with(&w.path))
        });
        i
    }

    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        if ev.result.is_some_and(|r| r < 0) {
            return;
        }
        let list = changes(ev);
        if list.is_empty() {
            return;
        }
        let Some(container) = self.container_key(ev) else {
            return;
        };
        let root = if container.is_empty() {
            PathBuf::from("/")
        } else {
            PathBuf::from(format!("/proc/{}/root", ev.process.pid))
        };
        let manager = package_manager(ev);
        for (op, fp) in list {
            // dpkg unpacks to PATH.dpkg-new and renames it over PATH.
            let path = fp
                .path
                .strip_suffix(".dpkg-new")
                .or_else(|| fp.path.strip_suffix(".dpkg-tmp"))
                .unwrap_or(&fp.path)
                .to_string();
            if !self.watched(&path, &root) {
                continue;
            }
            if let Some(m) = &manager {
                self.package_changes += 1;
                let b = self
                    .packages
                    .entry(ev.process.pid)
                    .or_insert_with(|| PackageBurst {
                        manager: m.clone(),
                        first_ns: ev.time_ns,
                        last_ns: ev.time_ns,
                        paths: BTreeMap::new(),
                        changes: 0,
                        ev: ev.clone(),
                        root: root.clone(),
                    });
                b.last_ns = ev.time_ns;
                b.changes += 1;
                if b.paths.len() < MAX_PACKAGE_PATHS || b.paths.contains_key(&path) {
                    b.paths.entry(path).or_default().insert(op);
                }
                continue;
            }
            let key = (ev.process.pid, container.clone(), path.clone());
            if let Some(b) = self.pending.get_mut(&key) {
                if ev.time_ns.saturating_sub(b.last_ns) < self.window_ns {
                    b.more += 1;
                    b.ops.insert(op);
                    b.last_ns = ev.time_ns;
                    self.coalesced += 1;
                    continue;
                }
                if let Some(old) = self.pending.remove(&key) {
                    self.flush_burst(old, &path, emit);
                }
            }
            self.alert(ev, op, &path, &container, emit);
            if self.pending.len() >= MAX_PENDING {
                if let Some(oldest) = self
                    .pending
                    .iter()
                    .min_by_key(|(_, b)| b.last_ns)
                    .map(|(k, _)| k.clone())
                {
                    if let Some(b) = self.pending.remove(&oldest) {
                        self.flush_burst(b, &oldest.2, emit);
                    }
                }
            }
            self.pending.insert(
                key,
                Burst {
                    first_ns: ev.time_ns,
                    last_ns: ev.time_ns,
                    ops: BTreeSet::from([op]),
                    more: 0,
                    ev: ev.clone(),
                    container: container.clone(),
                },
            );
        }
    }

    fn tick(&mut self, now_ns: u64, emit: &mut dyn FnMut(Alert)) {
        self.scheduled_alerts(now_ns, emit);
        let window = self.window_ns;
        let done: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, b)| now_ns.saturating_sub(b.last_ns) >= window)
            .map(|(k, _)| k.clone())
            .collect();
        for k in done {
            if let Some(b) = self.pending.remove(&k) {
                self.flush_burst(b, &k.2, emit);
            }
        }
        let done: Vec<u32> = self
            .packages
            .iter()
            .filter(|(_, b)| now_ns.saturating_sub(b.last_ns) >= window)
            .map(|(k, _)| *k)
            .collect();
        for pid in done {
            if let Some(b) = self.packages.remove(&pid) {
                self.flush_package(b, emit);
            }
        }
    }

    fn reload(&mut self) -> Reloaded {
        let Some(path) = &self.config_path else {
            return Reloaded::Unchanged;
        };
        match Config::load(path) {
            Ok(c) => {
                let n = c.watches.len();
                self.config = c;
                Reloaded::Applied(format!("{n} watched paths from {}", path.display()))
            }
            Err(e) => Reloaded::Kept(e.to_string()),
        }
    }

    fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "watched_paths": self.config.watches.iter().map(|w| w.path.clone()).collect::<Vec<_>>(),
            "containers": self.config.containers,
            "alerts": self.alerts,
            "coalesced": self.coalesced,
            "package_manager_changes": self.package_changes,
            "pending": self.pending.len() + self.packages.len(),
            "recheck": self.recheck.as_ref().map(|r| r.status()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_event::{Process, Resolution};

    fn fp(p: &str) -> FilePath {
        FilePath {
            path: p.to_string(),
            host_path: None,
            resolution: Resolution::Kernel,
            raw: None,
        }
    }

    fn open_ev(pid: u32, comm: &str, path: &str, t: u64, flags: &[&str]) -> Event {
        Event {
            schema: 1,
            seq: t,
            time_ns: t,
            source: "test".into(),
            syscall: "openat".into(),
            result: Some(3),
            errno: None,
            process: Process {
                pid,
                tid: pid,
                comm: comm.into(),
                exe: Some(format!("/usr/bin/{comm}")),
                uid: 1000,
                user: Some("alice".into()),
                loginuid: Some(1000),
                ..Default::default()
            },
            container: None,
            data: EventData::Open {
                path: fp(path),
                flags: 1,
                mode: 0o644,
                flag_names: flags.iter().map(|s| s.to_string()).collect(),
                created: None,
            },
        }
    }

    fn detector(dir: &Path) -> FimDetector {
        let cfg = Config::parse(
            &format!(
                "[[watch]]\npath = \"{d}\"\nexclude = [\"{d}/tmp/**\"]\nseverity = \"HIGH\"\n[[class]]\nglob = \"{d}/passwd\"\nseverity = \"CRITICAL\"\n",
                d = dir.display()
            ),
            "t",
        )
        .unwrap();
        FimDetector::new(cfg, None).with_dpkg_info(dir.join("info"))
    }

    #[test]
    fn a_write_is_alerted_with_who_data_and_bursts_are_coalesced() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = detector(dir.path());
        let passwd = format!("{}/passwd", dir.path().display());
        let mut alerts = Vec::new();
        let s = 1_000_000_000u64;
        d.on_event(
            &open_ev(42, "vipw", &passwd, s, &["O_WRONLY", "O_TRUNC"]),
            &mut |a| alerts.push(a),
        );
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.rule, RULE);
        assert_eq!(a.priority, "CRITICAL");
        assert_eq!(a.process.pid, 42);
        assert_eq!(a.process.user.as_deref(), Some("alice"));
        assert_eq!(a.process.loginuid, Some(1000));
        assert_eq!(a.fields["fim.op"], "truncate");
        assert!(
            a.output
                .contains("by vipw (pid 42, exe /usr/bin/vipw, user alice, loginuid 1000)"),
            "{}",
            a.output
        );
        // 50 more writes within the window: no alert now, one summary after it.
        for i in 1..=50 {
            d.on_event(
                &open_ev(42, "vipw", &passwd, s + i * 1_000_000, &["O_WRONLY"]),
                &mut |a| alerts.push(a),
            );
        }
        assert_eq!(alerts.len(), 1);
        d.tick(s + 100_000_000, &mut |a| alerts.push(a));
        assert_eq!(alerts.len(), 1);
        d.tick(s + 5 * 1_000_000_000, &mut |a| alerts.push(a));
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[1].fields["fim.coalesced"], "50");
        // Reads, failures, excluded and unwatched paths raise nothing.
        let mut quiet = Vec::new();
        d.on_event(&open_ev(7, "cat", &passwd, s, &["O_RDONLY"]), &mut |a| {
            quiet.push(a)
        });
        let mut failed = open_ev(7, "sh", &passwd, s, &["O_WRONLY"]);
        failed.result = Some(-13);
        d.on_event(&failed, &mut |a| quiet.push(a));
        d.on_event(
            &open_ev(
                7,
                "sh",
                &format!("{}/tmp/x", dir.path().display()),
                s,
                &["O_WRONLY"],
            ),
            &mut |a| quiet.push(a),
        );
        d.on_event(
            &open_ev(7, "sh", "/elsewhere/x", s, &["O_WRONLY"]),
            &mut |a| quiet.push(a),
        );
        assert!(quiet.is_empty(), "{quiet:?}");
        let i = d.interest();
        assert!(i.kinds.contains(&EventKind::Open) && i.kinds.contains(&EventKind::Rename));
        assert!(i.read_prefixes.is_empty());
    }

    #[test]
    fn package_manager_writes_are_labelled_and_verified_against_dpkg_md5sums() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("info")).unwrap();
        let good = dir.path().join("good");
        let bad = dir.path().join("bad");
        std::fs::write(&good, "shipped\n").unwrap();
        std::fs::write(&bad, "tampered\n").unwrap();
        use md5::Digest;
        let sum = |t: &str| hex::encode(md5::Md5::digest(t.as_bytes()));
        let rel = |p: &Path| p.display().to_string().trim_start_matches('/').to_string();
        std::fs::write(
            dir.path().join("info/demo:amd64.md5sums"),
            format!(
                "{}  {}\n{}  {}\n",
                sum("shipped\n"),
                rel(&good),
                sum("shipped\n"),
                rel(&bad)
            ),
        )
        .unwrap();
        let mut d = detector(dir.path());
        let mut alerts = Vec::new();
        let t = 1_000_000_000u64;
        let new = format!("{}.dpkg-new", good.display());
        d.on_event(
            &open_ev(99, "dpkg", &new, t, &["O_WRONLY", "O_CREAT"]),
            &mut |a| alerts.push(a),
        );
        d.on_event(
            &open_ev(99, "dpkg", &bad.display().to_string(), t + 1, &["O_WRONLY"]),
            &mut |a| alerts.push(a),
        );
        d.on_event(
            &open_ev(
                99,
                "dpkg",
                &format!("{}/conffile", dir.path().display()),
                t + 2,
                &["O_WRONLY"],
            ),
            &mut |a| alerts.push(a),
        );
        assert!(
            alerts.is_empty(),
            "package writes are summed up, not alerted one by one"
        );
        d.tick(t + 10_000_000_000, &mut |a| alerts.push(a));
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.rule, RULE_PACKAGE);
        assert_eq!(a.fields["fim.package_manager"], "dpkg");
        assert_eq!(a.fields["fim.dpkg_verified"], "1");
        assert_eq!(a.fields["fim.dpkg_mismatch"], "1");
        assert_eq!(a.fields["fim.not_in_dpkg_md5sums"], "1");
        assert!(
            a.fields["fim.mismatched"].contains("bad (demo)"),
            "{:?}",
            a.fields
        );
        assert_eq!(
            a.priority, "ERROR",
            "a mismatch keeps the path's severity (HIGH)"
        );
    }
}
