//! The enricher owns the user-space view of runtime events: the process tree
//! (ancestry, executable, arguments, working directory, start time, executable
//! hashes), user and group names from each process's own root, and the container
//! and Kubernetes pod a cgroup belongs to.
//!
//! A sensor fills the kernel's view of an [`Event`] (ids, credentials, cgroup id);
//! [`Enricher::enrich`] fills the rest in place. The enricher is fed every event in
//! order, so fork, exec and exit events keep its tree current; it is seeded from
//! /proc at start so processes older than the agent are known, and reads /proc
//! lazily for any process it has not seen. Everything it reads sits under
//! configurable roots ([`Config`]), so it is tested without root on a fake /proc.

pub mod cgroup;
pub mod procfs;
pub mod runtime;
pub mod tree;
pub mod users;

use cgroup::{parse_cgroup_path, CgroupMap};
use garrison_event::{Ancestor, Ancestors, Container, Event, EventData};
use procfs::ProcFs;
use runtime::{RuntimeState, StateDirs};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
// the per-event maps (pid, cgroup id keys): foldhash, a fraction of SipHash's cost
use foldhash::HashMap as FastMap;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tree::{ArgBounds, ProcEntry, ProcessTree, TreeStats};
use users::{IdKind, UserDb};

/// Where the enricher reads from, and its bounds.
#[derive(Debug, Clone)]
pub struct Config {
    /// The procfs (`/proc`).
    pub procfs: PathBuf,
    /// The host's root directory (`/`): its etc/passwd names host users.
    pub host_root: PathBuf,
    /// The cgroup2 mount; `None` finds it in `<procfs>/self/mountinfo`.
    pub cgroup2: Option<PathBuf>,
    /// Where container runtimes keep their state.
    pub state: StateDirs,
    /// The most processes cached.
    pub max_processes: usize,
    /// How long exited processes stay resolvable.
    pub exit_grace: Duration,
    /// The most ancestors put on an event.
    pub max_ancestors: usize,
    /// Bounds on cached arguments.
    pub args: ArgBounds,
    /// The most arguments copied onto each ancestor.
    pub ancestor_args: usize,
    /// The most executable hashes cached.
    pub max_hashes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            procfs: PathBuf::from("/proc"),
            host_root: PathBuf::from("/"),
            cgroup2: None,
            state: StateDirs::default(),
            max_processes: 16_384,
            exit_grace: Duration::from_secs(5),
            max_ancestors: 8,
            args: ArgBounds {
                max_args: 64,
                max_bytes: 4096,
            },
            ancestor_args: 8,
            max_hashes: 4096,
        }
    }
}

/// A failure the enricher reports (enrichment itself never fails: what cannot be
/// read stays empty).
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// Reading a file failed.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Counters, for the agent's status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnricherStats {
    /// The process tree.
    pub tree: TreeStats,
    /// Processes read from /proc (seed and misses).
    pub proc_reads: u64,
    /// Walks of the cgroup2 hierarchy.
    pub cgroup_scans: u64,
    /// Cgroups known to hold a container.
    pub containers: usize,
    /// passwd/group files read.
    pub user_db_reloads: u64,
    /// Runtime state files read.
    pub runtime_state_reloads: u64,
    /// Executable hashes computed.
    pub hashes: u64,
}

/// What one cgroup id resolved to.
#[derive(Debug, Clone)]
struct CgroupInfo {
    container: Option<Arc<Container>>,
    /// Runtime state lookups left while the state does not name the container yet.
    meta_tries: u8,
}

/// An ancestor chain as built, with the tree entries (pid, version) it was built
/// from.
#[derive(Debug)]
struct Chain {
    ppid: u32,
    links: Vec<(u32, u64)>,
    ancestors: Ancestors,
}

/// Fills the user-space view of events.
#[derive(Debug)]
pub struct Enricher {
    config: Config,
    procfs: ProcFs,
    tree: ProcessTree,
    users: UserDb,
    cgroups: CgroupMap,
    cgroup_info: FastMap<u64, CgroupInfo>,
    last_rescan: Option<Instant>,
    missed: HashSet<u64>,
    runtime: RuntimeState,
    host_root_key: Option<(u64, u64)>,
    /// Recent pids per root, to read its files after the pid of an event is gone.
    root_witness: HashMap<(u64, u64), Vec<u32>>,
    hashes: HashMap<(u64, u64, i64, i64), String>,
    /// Each process's ancestor chain as last built ([`Enricher::ancestors_of`]).
    chains: FastMap<u32, Chain>,
    proc_reads: u64,
    hashes_done: u64,
}

/// The least time between two full walks of the cgroup hierarchy on misses.
const RESCAN_EVERY: Duration = Duration::from_millis(250);

impl Enricher {
    /// An enricher reading from `config`'s roots (nothing is read yet; call
    /// [`Enricher::seed`]).
    pub fn new(config: Config) -> Self {
        let procfs = ProcFs::new(&config.procfs);
        let cgroup2 = config.cgroup2.clone().or_else(|| {
            std::fs::read_to_string(config.procfs.join("self/mountinfo"))
                .ok()
                .and_then(|t| cgroup::cgroup2_mount(&t))
        });
        let host_root_key = std::fs::metadata(&config.host_root)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        Enricher {
            tree: ProcessTree::new(config.max_processes, config.exit_grace),
            runtime: RuntimeState::new(config.state.clone()),
            procfs,
            users: UserDb::default(),
            cgroups: CgroupMap::new(cgroup2),
            cgroup_info: FastMap::default(),
            last_rescan: None,
            missed: HashSet::new(),
            host_root_key,
            root_witness: HashMap::new(),
            hashes: HashMap::new(),
            chains: FastMap::default(),
            proc_reads: 0,
            hashes_done: 0,
            config,
        }
    }

    /// Reads every process in /proc and the cgroup hierarchy; returns how many
    /// processes are known.
    pub fn seed(&mut self) -> usize {
        for pid in self.procfs.pids() {
            self.load(pid);
        }
        self.cgroups.rescan();
        self.last_rescan = Some(Instant::now());
        self.tree.stats().entries
    }

    /// The cgroup2 mount in use.
    pub fn cgroup2_mount(&self) -> Option<&Path> {
        self.cgroups.root()
    }

    /// Reads a process from /proc into the tree.
    fn load(&mut self, pid: u32) -> bool {
        let Some(snap) = self.procfs.read(pid, self.config.args.max_args) else {
            return false;
        };
        self.proc_reads += 1;
        let mut entry = ProcEntry::from_snapshot(snap, self.config.args);
        entry.root_key = self.procfs.root_key(pid);
        if let Some(k) = entry.root_key {
            self.witness(k, pid);
        }
        self.tree.insert(entry)
    }

    /// The entry of a pid, reading /proc when the tree does not know it.
    fn entry(&mut self, pid: u32) -> Option<&ProcEntry> {
        if pid == 0 {
            return None;
        }
        if self.tree.get(pid).is_none() && !self.load(pid) {
            return None;
        }
        self.tree.get(pid)
    }

    /// Fills the user-space view of `event`, and updates the tree from it.
    pub fn enrich(&mut self, event: &mut Event) {
        let now = Instant::now();
        self.tree.evict_expired(now);
        let pid = event.process.pid;
        let ok = event.result.is_none_or(|r| r >= 0);
        match &event.data {
            EventData::Fork {
                child_pid,
                thread: false,
                ..
            } if ok && *child_pid != 0 => {
                let child_pid = *child_pid;
                let parent = self.entry(pid).cloned().unwrap_or_else(|| ProcEntry {
                    pid,
                    comm: event.process.comm.clone(),
                    ..ProcEntry::default()
                });
                // A child's pid in its namespace is known only when the parent
                // lives in the host's PID namespace (its pid there is its own).
                let vpid = (parent.vpid == Some(parent.pid)).then_some(child_pid);
                self.tree.insert(ProcEntry {
                    pid: child_pid,
                    ppid: pid,
                    exited: None,
                    start_ns: None,
                    vpid,
                    ..parent
                });
            }
            EventData::Exec {
                filename,
                argv,
                argv_truncated,
                ..
            } if ok => {
                let mut args = argv.clone();
                let cut = self.config.args.apply(&mut args);
                let exe = filename.path.clone();
                let parent_root = self.tree.get(event.process.ppid).and_then(|p| p.root_key);
                let root_key = self.procfs.root_key(pid);
                let known = self.entry(pid).is_some();
                if !known {
                    self.tree.insert(ProcEntry {
                        pid,
                        ppid: event.process.ppid,
                        ..ProcEntry::default()
                    });
                }
                // An exec may change the capabilities (file caps, setuid root) and
                // follows a setsid: read them again while the process is there.
                let extra = self.procfs.status_extra(pid);
                let sid = self.procfs.session(pid);
                if let Some(e) = self.tree.get_mut(pid) {
                    if let Some(x) = extra {
                        e.vpid = x.vpid.or(e.vpid);
                        e.cap_effective = x.cap_effective.or(e.cap_effective);
                        e.cap_permitted = x.cap_permitted.or(e.cap_permitted);
                    }
                    if sid.is_some() {
                        e.sid = sid;
                    }
                    e.comm = event.process.comm.clone();
                    e.exe = Some(exe);
                    e.args = args;
                    e.args_truncated = cut || *argv_truncated;
                    if event.process.cwd.is_some() {
                        e.cwd = event.process.cwd.clone();
                    }
                    if event.process.ppid != 0 {
                        e.ppid = event.process.ppid;
                    }
                    // The root may have changed before exec (a container's init
                    // pivots into its root after the fork).
                    if root_key.is_some() {
                        e.root_key = root_key;
                    } else if e.root_key.is_none() {
                        // Gone already: its parent's root (exec does not change it).
                        e.root_key = parent_root;
                    }
                }
                if let Some(k) = root_key {
                    self.witness(k, pid);
                }
            }
            _ => {}
        }
        self.fill_process(event);
        self.fill_container(event, now);
        self.fill_names(event);
        if let EventData::Exit { .. } = event.data {
            self.tree.mark_exited(pid, now);
            self.chains.remove(&pid);
        }
    }

    fn fill_process(&mut self, event: &mut Event) {
        let p = &mut event.process;
        if self.entry(p.pid).is_none() {
            return;
        }
        // The kernel's parent is current: a process whose parent exited has been
        // reparented (to init or a subreaper) since the tree last saw it.
        // (Only when it changed: a change gives the entry a new version, which ends
        // the cached chains of its descendants.)
        if p.ppid != 0 && self.tree.get(p.pid).is_some_and(|e| e.ppid != p.ppid) {
            if let Some(e) = self.tree.get_mut(p.pid) {
                e.ppid = p.ppid;
            }
        }
        let Some(e) = self.tree.get(p.pid) else {
            return;
        };
        if p.exe.is_none() {
            p.exe.clone_from(&e.exe);
        }
        if p.args.is_empty() {
            p.args.clone_from(&e.args);
            p.args_truncated = e.args_truncated;
        }
        if p.cwd.is_none() {
            p.cwd.clone_from(&e.cwd);
        }
        if p.ppid == 0 {
            p.ppid = e.ppid;
        }
        if p.start_ns.is_none() {
            p.start_ns = e.start_ns;
        }
        if p.comm.is_empty() {
            p.comm.clone_from(&e.comm);
        }
        if p.vpid.is_none() {
            p.vpid = e.vpid;
        }
        if p.cap_effective.is_none() {
            p.cap_effective = e.cap_effective;
        }
        if p.cap_permitted.is_none() {
            p.cap_permitted = e.cap_permitted;
        }
        let sid = e.sid;
        let (pid, ppid) = (p.pid, p.ppid);
        event.process.ancestors = self.ancestors_of(pid, ppid);
        // The session leader: the login shell, sshd's child, a container's init.
        if event.process.sname.is_none() {
            if let Some(sid) = sid.filter(|s| *s != 0) {
                if sid == event.process.pid {
                    event.process.sname = Some(event.process.comm.clone());
                } else {
                    if self.tree.get(sid).is_none() {
                        self.load(sid);
                    }
                    event.process.sname = self.tree.get(sid).map(|l| l.comm.clone());
                }
            }
        }
    }

    /// The ancestor chain of `pid` whose parent is `ppid`: the cached one while
    /// every entry it was built from is unchanged (most events of a process carry
    /// the same chain; cloning it is a reference count), else walked anew.
    fn ancestors_of(&mut self, pid: u32, ppid: u32) -> Ancestors {
        if let Some(c) = self.chains.get(&pid) {
            if c.ppid == ppid
                && c.links
                    .iter()
                    .all(|&(a, v)| self.tree.version(a) == Some(v))
            {
                return c.ancestors.clone();
            }
        }
        let max_anc = self.config.max_ancestors;
        let anc_args = self.config.ancestor_args;
        let mut ancestors = Vec::with_capacity(max_anc.min(8));
        let mut links = Vec::with_capacity(max_anc.min(8));
        // a chain that names an ancestor /proc could not give is not kept: the next
        // event tries /proc again
        let mut complete = true;
        let mut next = ppid;
        let mut seen = [0u32; 64];
        seen[0] = pid;
        let mut n_seen = 1;
        while ancestors.len() < max_anc && next != 0 && !seen[..n_seen].contains(&next) {
            if n_seen < seen.len() {
                seen[n_seen] = next;
                n_seen += 1;
            }
            if self.tree.get(next).is_none() {
                self.load(next);
            }
            let (Some(a), Some(version)) = (self.tree.get(next), self.tree.version(next)) else {
                ancestors.push(Ancestor {
                    pid: next,
                    ..Ancestor::default()
                });
                complete = false;
                break;
            };
            let name = if a.comm.is_empty() {
                a.exe
                    .as_deref()
                    .and_then(|x| x.rsplit('/').next())
                    .unwrap_or_default()
                    .to_string()
            } else {
                a.comm.clone()
            };
            ancestors.push(Ancestor {
                pid: a.pid,
                name,
                exe: a.exe.clone(),
                args: a.args.iter().take(anc_args).cloned().collect(),
            });
            links.push((a.pid, version));
            next = a.ppid;
        }
        let ancestors = Ancestors::from(ancestors);
        if complete {
            if self.chains.len() >= self.config.max_processes {
                self.chains.clear();
            }
            self.chains.insert(
                pid,
                Chain {
                    ppid,
                    links,
                    ancestors: ancestors.clone(),
                },
            );
        } else {
            self.chains.remove(&pid);
        }
        ancestors
    }

    /// The cgroup path of a cgroup id.
    fn cgroup_path(&mut self, id: u64, pid: u32, now: Instant) -> Option<String> {
        if let Some(p) = self.cgroups.cached(id) {
            return Some(p.to_string());
        }
        // The process's own cgroup file, when it is still there.
        if let Some(path) = self.procfs.cgroup(pid) {
            if self.cgroups.id_of(&path) == Some(id) {
                return Some(path);
            }
        }
        // A cgroup id never looked for gets a walk at once; ids already looked
        // for (gone, or not cgroup2) at most one walk per RESCAN_EVERY.
        let first_miss = self.missed.insert(id);
        if self.missed.len() > 4096 {
            self.missed.clear();
        }
        if first_miss
            || self
                .last_rescan
                .is_none_or(|t| now.saturating_duration_since(t) >= RESCAN_EVERY)
        {
            self.cgroups.rescan();
            self.last_rescan = Some(now);
        }
        self.cgroups.cached(id).map(str::to_string)
    }

    fn fill_container(&mut self, event: &mut Event, now: Instant) {
        let pid = event.process.pid;
        if event.process.cgroup_id == 0 {
            // A source without the kernel's cgroup id (the degraded ones).
            if let Some(path) = self.procfs.cgroup(pid) {
                if let Some(id) = self.cgroups.id_of(&path) {
                    event.process.cgroup_id = id;
                }
            }
        }
        let id = event.process.cgroup_id;
        if id == 0 {
            return;
        }
        let info = match self.cgroup_info.get(&id) {
            Some(i) if i.meta_tries == 0 || i.container.is_none() => i.clone(),
            _ => {
                let Some(path) = self.cgroup_path(id, pid, now) else {
                    return;
                };
                let retry = self.cgroup_info.get(&id).map(|i| i.meta_tries);
                let info = self.resolve_container(&path, retry);
                if self.cgroup_info.len() > 65_536 {
                    self.cgroup_info.clear();
                }
                self.cgroup_info.insert(id, info.clone());
                info
            }
        };
        event.container = info.container.map(|c| (*c).clone());
    }

    fn resolve_container(&mut self, path: &str, retry: Option<u8>) -> CgroupInfo {
        let Some(parsed) = parse_cgroup_path(path) else {
            return CgroupInfo {
                container: None,
                meta_tries: 0,
            };
        };
        let meta = self.runtime.lookup(parsed.runtime, &parsed.id);
        let tries = match (&meta, retry) {
            (Some(_), _) => 0,
            (None, None) => 16,
            (None, Some(n)) => n.saturating_sub(1),
        };
        let mut pod = parsed.pod();
        let meta = meta.unwrap_or_default();
        if let (Some(name), Some(p)) = (&meta.pod_name, pod.as_mut()) {
            p.name = Some(name.clone());
            p.namespace = meta.pod_namespace.clone();
        }
        CgroupInfo {
            container: Some(Arc::new(Container {
                id: parsed.id,
                runtime: parsed.runtime,
                name: meta.name,
                image: meta.image,
                image_id: meta.image_id,
                pod,
                privileged: meta.privileged,
                ..Container::default()
            })),
            meta_tries: tries,
        }
    }

    fn fill_names(&mut self, event: &mut Event) {
        let pid = event.process.pid;
        let ppid = event.process.ppid;
        let key = self
            .tree
            .get(pid)
            .and_then(|e| e.root_key)
            .or_else(|| self.procfs.root_key(pid))
            .or_else(|| self.tree.get(ppid).and_then(|e| e.root_key))
            .or(self.host_root_key);
        let Some(key) = key else {
            return;
        };
        // The directories are built only when a file must be (re)read.
        let procfs = &self.procfs;
        let witnesses = self.root_witness.get(&key);
        let host = (Some(key) == self.host_root_key).then_some(&self.config.host_root);
        let dirs = || {
            let mut roots = vec![procfs.path(pid, "root")];
            for w in witnesses.into_iter().flatten().rev().filter(|w| **w != pid) {
                roots.push(procfs.path(*w, "root"));
            }
            roots.extend(host.cloned());
            roots
        };
        let (uid, gid) = (event.process.uid, event.process.gid);
        event.process.user = self.users.lookup(key, &dirs, IdKind::User, uid);
        event.process.group = self.users.lookup(key, &dirs, IdKind::Group, gid);
        // The login uid is the host's (set at login, inherited into containers).
        if let (Some(login), Some(host_key)) = (event.process.loginuid, self.host_root_key) {
            let host_root = self.config.host_root.clone();
            let host_dirs = || vec![host_root.clone()];
            event.process.loginname = self.users.lookup(host_key, &host_dirs, IdKind::User, login);
        }
    }

    /// Remembers `pid` as a recent process of root `key`.
    fn witness(&mut self, key: (u64, u64), pid: u32) {
        if self.root_witness.len() > 4096 {
            self.root_witness.clear();
        }
        let list = self.root_witness.entry(key).or_default();
        list.retain(|p| *p != pid);
        list.push(pid);
        if list.len() > 4 {
            list.remove(0);
        }
    }

    /// The SHA-256 of a process's executable (hex), cached by the file's device,
    /// inode and modification time.
    pub fn exe_sha256(&mut self, pid: u32) -> Result<String, EnrichError> {
        let path = self.procfs.path(pid, "exe");
        let io = |operation, source| EnrichError::Io {
            operation,
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&path).map_err(|e| io("open executable", e))?;
        let m = file.metadata().map_err(|e| io("stat executable", e))?;
        let key = (m.dev(), m.ino(), m.mtime(), m.mtime_nsec());
        if let Some(h) = self.hashes.get(&key) {
            return Ok(h.clone());
        }
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(|e| io("read executable", e))?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        let hex = hex::encode(hasher.finalize());
        if self.hashes.len() >= self.config.max_hashes {
            self.hashes.clear();
        }
        self.hashes.insert(key, hex.clone());
        self.hashes_done += 1;
        Ok(hex)
    }

    /// The tree's entry of a pid, if cached (for detectors and tests).
    pub fn process(&self, pid: u32) -> Option<&ProcEntry> {
        self.tree.get(pid)
    }

    /// Drops live entries whose process is gone from /proc (missed exits: a lost
    /// event, or a source that does not see exits). Returns how many were marked.
    pub fn prune(&mut self) -> usize {
        let now = Instant::now();
        let mut n = 0;
        for pid in self.tree.live_pids() {
            if !self.procfs.path(pid, "stat").exists() {
                self.tree.mark_exited(pid, now);
                self.chains.remove(&pid);
                n += 1;
            }
        }
        n
    }

    /// Counters.
    pub fn stats(&self) -> EnricherStats {
        EnricherStats {
            tree: self.tree.stats(),
            proc_reads: self.proc_reads,
            cgroup_scans: self.cgroups.scans,
            containers: self
                .cgroup_info
                .values()
                .filter(|i| i.container.is_some())
                .count(),
            user_db_reloads: self.users.reloads,
            runtime_state_reloads: self.runtime.reloads,
            hashes: self.hashes_done,
        }
    }
}
