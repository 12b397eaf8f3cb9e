//! Root filesystems, project directories and running containers (through `/proc/PID/root`).
//!
//! A [`Rootfs`] walks a directory tree as if it were `/`: paths handed to the
//! visitor are absolute inside it (`/var/lib/dpkg/status`), symlinks are
//! reported and never followed, and every open goes through `openat2(2)` with
//! `RESOLVE_IN_ROOT` from the root's descriptor (see [`crate::sys`]), so that a
//! running container cannot make the walk read host files, even by swapping
//! paths while it runs. Pseudo filesystems (proc, sysfs, cgroup, ...) mounted
//! inside the tree are not entered.
//!
//! A [`Container`] is a [`Rootfs`] rooted at `/proc/PID/root`, found from a PID
//! or a container ID (full or a unique prefix) by the cgroup paths that podman,
//! docker, containerd, CRI-O and plain runc give their processes.
//! [`running_containers`] lists every container with a process on the host the
//! same way (ID, first process, cgroup path), for an agent's inventory.

use crate::sys::{self, Meta};
use crate::{EntryKind, EntryMeta, Limits, Source, SourceError, Visitor, Want};
use garrison_model::{Target, TargetKind, Warning};
use rustix::fs::FileType;
use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// How a tree is walked, beyond what [`Limits`] bounds.
#[derive(Debug, Clone, Default)]
pub struct RootfsOptions {
    /// Directories not to enter, as paths inside the target (`/var/lib/containers`
    /// or `var/lib/containers`); everything below them is left out.
    pub skip_dirs: Vec<String>,
}

/// A directory tree read as a root filesystem (or a project tree).
pub struct Rootfs {
    root: OwnedFd,
    host_path: PathBuf,
    target: Target,
    options: RootfsOptions,
    /// Mount points of pseudo filesystems inside the tree, from mountinfo.
    pseudo_mounts: Vec<String>,
}

impl std::fmt::Debug for Rootfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rootfs")
            .field("host_path", &self.host_path)
            .field("target", &self.target)
            .field("options", &self.options)
            .field("pseudo_mounts", &self.pseudo_mounts)
            .finish()
    }
}

/// Filesystem types (as mountinfo names them) a walk never enters.
const PSEUDO_FS_TYPES: &[&str] = &["devtmpfs"];

fn is_pseudo_type(fstype: &str) -> bool {
    PSEUDO_FS_TYPES.contains(&fstype) || sys::PSEUDO_FS_MAGIC.iter().any(|(_, n)| *n == fstype)
}

impl Rootfs {
    /// Opens the directory `path` on this host as a target of `kind`
    /// ([`TargetKind::Rootfs`] or [`TargetKind::Filesystem`]).
    pub fn open(
        path: impl AsRef<Path>,
        kind: TargetKind,
        options: RootfsOptions,
    ) -> Result<Rootfs, SourceError> {
        let path = path.as_ref();
        let root = sys::open_root(path).map_err(|e| SourceError::io("open", path, e))?;
        let pseudo_mounts = match (
            std::fs::canonicalize(path),
            std::fs::read_to_string("/proc/self/mountinfo"),
        ) {
            (Ok(canon), Ok(info)) => pseudo_mounts_in(&info, &canon.to_string_lossy()),
            _ => Vec::new(),
        };
        Ok(Rootfs {
            root,
            host_path: path.to_path_buf(),
            target: Target::new(kind, path.display().to_string()),
            options,
            pseudo_mounts,
        })
    }

    /// Replaces the walk options.
    pub fn with_options(mut self, options: RootfsOptions) -> Rootfs {
        self.options = options;
        self
    }

    /// The host path this tree was opened from (`/proc/PID/root` for containers).
    pub fn host_path(&self) -> &Path {
        &self.host_path
    }

    /// Opens the regular file `path` (inside the target) for reading, resolving
    /// symlinks as the target itself would: relative to its root, never out of it.
    pub fn open_in_root(&self, path: &str) -> io::Result<File> {
        sys::open_file_in_root(self.root.as_fd(), path.as_bytes(), true)
    }

    /// Metadata of `path` (inside the target), resolving symlinks as the
    /// target itself would: relative to its root, never out of it.
    pub fn stat_in_root(&self, path: &str) -> io::Result<Meta> {
        sys::stat_in_root(self.root.as_fd(), path.as_bytes())
    }

    /// The entries of the directory `path` (inside the target; symlinks on the
    /// way resolved as the target would), sorted by name, each with its own
    /// metadata (a symlink entry is reported as a symlink, not followed).
    pub fn list_in_root(&self, path: &str) -> io::Result<Vec<(String, Meta)>> {
        let dir = sys::open_dir_in_root_following(self.root.as_fd(), path.as_bytes())?;
        let listing = list(&dir)?;
        Ok(listing
            .entries
            .into_iter()
            .filter_map(|e| Some((e.name.to_string_lossy().into_owned(), e.meta?)))
            .collect())
    }
}

impl Source for Rootfs {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn walk(&mut self, visitor: &mut dyn Visitor, limits: &Limits) -> Result<(), SourceError> {
        let skip: HashSet<Vec<u8>> = self
            .options
            .skip_dirs
            .iter()
            .map(|d| normalize(d).into_bytes())
            .chain(self.pseudo_mounts.iter().map(|m| m.as_bytes().to_vec()))
            .collect();
        let root_dev = sys::stat_fd(self.root.as_fd())
            .map_err(|e| SourceError::io("stat", &self.host_path, e))?
            .dev;
        let first = sys::open_dir_in_root(self.root.as_fd(), b"/")
            .and_then(|fd| list(&fd))
            .map_err(|e| SourceError::io("read directory", &self.host_path, e))?;
        let mut walker = Walker {
            root: &self.root,
            visitor,
            limits,
            skip,
        };
        walker.run(first, root_dev);
        Ok(())
    }
}

/// One name in a directory, with what `getdents`/`fstatat` said about it.
struct Entry {
    name: CString,
    /// `None` when the entry vanished or could not be examined (reported already).
    meta: Option<Meta>,
    link: Option<Vec<u8>>,
}

/// A directory being walked: its path and the entries still to visit.
struct Frame {
    path: Vec<u8>,
    dev: u64,
    entries: std::vec::IntoIter<Entry>,
    /// Problems met while listing, reported once the frame is entered.
    errors: Vec<(Vec<u8>, io::Error)>,
}

struct Listing {
    entries: Vec<Entry>,
    errors: Vec<(CString, io::Error)>,
}

/// Reads and examines every entry of an open directory, sorted by name.
fn list(dir: &OwnedFd) -> io::Result<Listing> {
    let names = sys::read_dir(dir.as_fd())?;
    let mut entries = Vec::with_capacity(names.len());
    let mut errors = Vec::new();
    for (name, dtype) in names {
        let mut meta = None;
        let mut link = None;
        if dtype == FileType::Symlink {
            match sys::read_link_at(dir.as_fd(), &name) {
                Ok(target) => {
                    meta = Some(Meta {
                        file_type: FileType::Symlink,
                        mode: 0o777,
                        size: target.len() as u64,
                        dev: 0,
                    });
                    link = Some(target);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                // Replaced by something else since getdents: examine it afresh.
                Err(_) => meta = stat_entry(dir, &name, &mut errors),
            }
        } else {
            meta = stat_entry(dir, &name, &mut errors);
            if meta.is_some_and(|m| m.file_type == FileType::Symlink) {
                match sys::read_link_at(dir.as_fd(), &name) {
                    Ok(t) => link = Some(t),
                    Err(e) => {
                        meta = None;
                        if e.kind() != io::ErrorKind::NotFound {
                            errors.push((name.clone(), e));
                        }
                    }
                }
            }
        }
        entries.push(Entry { name, meta, link });
    }
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing { entries, errors })
}

fn stat_entry(
    dir: &OwnedFd,
    name: &CString,
    errors: &mut Vec<(CString, io::Error)>,
) -> Option<Meta> {
    match sys::stat_at(dir.as_fd(), name) {
        Ok(m) => Some(m),
        // Vanished between getdents and stat (a live system): not a problem.
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            errors.push((name.clone(), e));
            None
        }
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

struct Walker<'a> {
    root: &'a OwnedFd,
    visitor: &'a mut dyn Visitor,
    limits: &'a Limits,
    skip: HashSet<Vec<u8>>,
}

impl Walker<'_> {
    fn warn(&mut self, path: &[u8], message: String) {
        self.visitor
            .warning(Warning::new(String::from_utf8_lossy(path), message));
    }

    fn frame(&self, path: Vec<u8>, dev: u64, listing: Listing) -> Frame {
        let errors = listing
            .errors
            .into_iter()
            .map(|(n, e)| (join(&path, n.to_bytes()), e))
            .collect();
        Frame {
            path,
            dev,
            entries: listing.entries.into_iter(),
            errors,
        }
    }

    fn run(&mut self, first: Listing, root_dev: u64) {
        let mut stack = vec![self.frame(b"/".to_vec(), root_dev, first)];
        while let Some(top) = stack.last_mut() {
            for (p, e) in std::mem::take(&mut top.errors) {
                self.warn(&p, format!("cannot examine: {e}"));
            }
            let Some(entry) = top.entries.next() else {
                stack.pop();
                continue;
            };
            let parent_dev = top.dev;
            let path = join(&top.path, entry.name.to_bytes());
            if let Some(next) = self.visit(entry, path, parent_dev) {
                stack.push(next);
            }
        }
    }

    /// Hands one entry to the visitor; returns the frame to descend into for a
    /// directory that should be walked.
    fn visit(&mut self, entry: Entry, path: Vec<u8>, parent_dev: u64) -> Option<Frame> {
        let meta = entry.meta?;
        let shown = String::from_utf8_lossy(&path).into_owned();
        let ft = meta.file_type;
        if ft == FileType::Directory && self.skip.contains(&path) {
            tracing::debug!(path = %shown, "not entered (skipped directory or pseudo filesystem)");
            return None;
        }
        let kind = match ft {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink(
                String::from_utf8_lossy(entry.link.as_deref().unwrap_or_default()).into_owned(),
            ),
            _ => EntryKind::Other,
        };
        let em = EntryMeta {
            path: &shown,
            kind,
            size: if ft == FileType::RegularFile || ft == FileType::Symlink {
                meta.size
            } else {
                0
            },
            mode: meta.mode,
            layer: None,
        };
        if ft == FileType::Directory {
            // Open first: a directory on another filesystem may be a pseudo one.
            let fd = match sys::open_dir_in_root(self.root.as_fd(), &path) {
                Ok(fd) => fd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
                Err(e) => {
                    self.visitor.want(&em);
                    self.warn(&path, format!("cannot open directory: {e}"));
                    return None;
                }
            };
            if meta.dev != parent_dev {
                if let Some(name) = sys::fs_magic(&fd).ok().and_then(sys::pseudo_fs_name) {
                    tracing::debug!(path = %shown, fs = name, "pseudo filesystem not entered");
                    return None;
                }
            }
            self.visitor.want(&em);
            return match list(&fd) {
                Ok(listing) => {
                    drop(fd);
                    Some(self.frame(path, meta.dev, listing))
                }
                Err(e) => {
                    self.warn(&path, format!("cannot read directory: {e}"));
                    None
                }
            };
        }
        if self.visitor.want(&em) != Want::Read || ft != FileType::RegularFile {
            return None;
        }
        if meta.size > self.limits.max_file_bytes {
            self.warn(
                &path,
                format!(
                    "file is {} bytes, more than the limit of {} bytes; not read",
                    meta.size, self.limits.max_file_bytes
                ),
            );
            return None;
        }
        let file = match sys::open_file_in_root(self.root.as_fd(), &path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn(&path, format!("cannot read: {e}"));
                return None;
            }
        };
        let result = if self.visitor.wants_random_access(&em) {
            let mut file = file;
            self.visitor.file_at(&em, &mut file)
        } else {
            let mut content = Exact {
                inner: file,
                left: meta.size,
                path: &shown,
            };
            self.visitor.file(&em, &mut content)
        };
        if let Err(e) = result {
            self.warn(&path, format!("cannot read: {e}"));
        }
        None
    }
}

/// Yields exactly `left` bytes of a file, failing (naming the file) when it
/// turns out shorter, e.g. because it shrank while being read.
struct Exact<'a> {
    inner: File,
    left: u64,
    path: &'a str,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: file ended {} bytes early (changed while being read?)",
                    self.path, self.left
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `dir` as an absolute path inside the target, without `.`/`..`/empty parts.
fn normalize(dir: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in dir.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            if let Some(oct) = b.get(i + 1..i + 4) {
                if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                    let v = oct
                        .iter()
                        .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                    if let Ok(byte) = u8::try_from(v) {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points of pseudo filesystems (proc, sysfs, devtmpfs, cgroup, ...)
/// strictly below `root`, from the text of a `/proc/*/mountinfo` file, as
/// paths inside `root` (`/proc`). `root` is the host path the tree was opened
/// from, or `/` for a process's own view (`/proc/PID/mountinfo`).
pub fn pseudo_mounts_in(mountinfo: &str, root: &str) -> Vec<String> {
    let root = root.trim_end_matches('/');
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let Some(fstype) = right.split(' ').next() else {
            continue;
        };
        if !is_pseudo_type(fstype) {
            continue;
        }
        let mp = unescape_mountinfo(mount_point);
        let inside = if root.is_empty() {
            mp.as_str()
        } else if let Some(rest) = mp.strip_prefix(root) {
            if !rest.starts_with('/') {
                continue;
            }
            rest
        } else {
            continue;
        };
        let inside = normalize(inside);
        if inside != "/" && !out.contains(&inside) {
            out.push(inside);
        }
    }
    out
}

/// Prefixes container engines put before a container ID in a cgroup path
/// component (`libpod-<id>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`,
/// `crio-<id>.scope`).
const CGROUP_ID_PREFIXES: &[&str] = &["libpod-", "docker-", "cri-containerd-", "crio-"];

fn is_container_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The container ID in the text of a `/proc/PID/cgroup` file, if the process
/// runs in a container: a 64-hex component of a cgroup path, bare (`/docker/<id>`,
/// runc's `/<id>`, kubepods) or wrapped by podman (`libpod-<id>`), docker
/// (`docker-<id>.scope`), containerd (`cri-containerd-<id>.scope`) or CRI-O
/// (`crio-<id>.scope`). Engine helpers (`libpod-conmon-<id>`) do not count.
pub fn container_id_in_cgroup(cgroup: &str) -> Option<String> {
    for line in cgroup.lines() {
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        for comp in path.split('/').rev() {
            let c = comp.strip_suffix(".scope").unwrap_or(comp);
            let c = CGROUP_ID_PREFIXES
                .iter()
                .find_map(|p| c.strip_prefix(p))
                .unwrap_or(c);
            if is_container_id(c) {
                return Some(c.to_string());
            }
        }
    }
    None
}

/// The parent PID from the text of `/proc/PID/stat`.
fn ppid_in_stat(stat: &str) -> Option<u32> {
    // The command name may hold spaces and parentheses; fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process under `proc` (the host's `/proc`) that runs in a container, by
/// container ID, with the cgroup path that names the container (first seen).
fn container_processes_in(
    proc: &Path,
) -> Result<BTreeMap<String, (String, Vec<u32>)>, SourceError> {
    let mut map: BTreeMap<String, (String, Vec<u32>)> = BTreeMap::new();
    let rd = std::fs::read_dir(proc).map_err(|e| SourceError::io("read directory", proc, e))?;
    for ent in rd.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // Processes exit while we look: a missing file is no error.
        let Ok(text) = std::fs::read_to_string(proc.join(pid.to_string()).join("cgroup")) else {
            continue;
        };
        if let Some(id) = container_id_in_cgroup(&text) {
            let path = text
                .lines()
                .filter_map(|l| l.splitn(3, ':').nth(2))
                .find(|p| p.contains(id.as_str()))
                .unwrap_or_default()
                .to_string();
            map.entry(id)
                .or_insert_with(|| (path, Vec::new()))
                .1
                .push(pid);
        }
    }
    Ok(map)
}

/// Every process on the host that runs in a container, by container ID.
fn container_processes() -> Result<BTreeMap<String, Vec<u32>>, SourceError> {
    Ok(container_processes_in(Path::new("/proc"))?
        .into_iter()
        .map(|(id, (_, pids))| (id, pids))
        .collect())
}

/// The container's first process: the one whose parent is outside the
/// container (lowest PID among those, to be deterministic).
fn init_pid(pids: &[u32]) -> Option<u32> {
    init_pid_in(Path::new("/proc"), pids)
}

fn init_pid_in(proc: &Path, pids: &[u32]) -> Option<u32> {
    let set: HashSet<u32> = pids.iter().copied().collect();
    let mut roots: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|p| {
            std::fs::read_to_string(proc.join(p.to_string()).join("stat"))
                .ok()
                .and_then(|s| ppid_in_stat(&s))
                .is_some_and(|pp| !set.contains(&pp))
        })
        .collect();
    roots.sort_unstable();
    roots
        .first()
        .copied()
        .or_else(|| pids.iter().min().copied())
}

/// A container with at least one process on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningContainer {
    /// Container ID (64 hex digits).
    pub id: String,
    /// Its first process (parent outside the container): `/proc/PID/root` is
    /// the container's root filesystem.
    pub pid: u32,
    /// The cgroup path that names it (its naming tells the runtime).
    pub cgroup: String,
}

/// Every container that has a process under `proc` (the host's `/proc`), found by
/// the cgroup paths podman, Docker, containerd, CRI-O and plain runc give their
/// processes; sorted by ID. Processes that exit while this runs are skipped.
pub fn running_containers(proc: &Path) -> Result<Vec<RunningContainer>, SourceError> {
    Ok(container_processes_in(proc)?
        .into_iter()
        .filter_map(|(id, (cgroup, pids))| {
            Some(RunningContainer {
                pid: init_pid_in(proc, &pids)?,
                id,
                cgroup,
            })
        })
        .collect())
}

/// Where podman (containers/storage) records its containers.
const PODMAN_CONTAINERS_JSON: &[&str] = &[
    "/var/lib/containers/storage/overlay-containers/containers.json",
    "/var/lib/containers/storage/vfs-containers/containers.json",
];

/// What containers/storage says about a container: its ID, names, image.
#[derive(Debug, Default)]
struct PodmanRecord {
    id: String,
    names: Vec<String>,
    image_id: Option<String>,
    image_name: Option<String>,
}

fn podman_records() -> Vec<PodmanRecord> {
    let mut out = Vec::new();
    for path in PODMAN_CONTAINERS_JSON {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&text) else {
            tracing::debug!(
                path,
                "podman's container list is not the JSON array expected"
            );
            continue;
        };
        for item in items {
            let Some(id) = item.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            let names = item
                .get("names")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let image_id = item
                .get("image")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if s.contains(':') {
                        s.to_string()
                    } else {
                        format!("sha256:{s}")
                    }
                });
            let image_name = item
                .get("metadata")
                .and_then(|v| v.as_str())
                .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
                .and_then(|m| {
                    m.get("image-name")
                        .and_then(|v| v.as_str())
                        .map(String::from)
                });
            out.push(PodmanRecord {
                id: id.to_string(),
                names,
                image_id,
                image_name,
            });
        }
    }
    out
}

/// A running container, read through `/proc/PID/root`.
#[derive(Debug)]
pub struct Container {
    rootfs: Rootfs,
}

impl Container {
    /// Finds a running container by PID (any process of it), container ID
    /// (full, or a prefix that matches one container only) or, for podman, its
    /// name. An all-digit argument is a PID when such a process exists.
    pub fn open(id_or_pid: &str) -> Result<Container, SourceError> {
        let arg = id_or_pid.trim();
        let fail = |reason: String| SourceError::Other {
            input: format!("container {arg}"),
            reason,
        };
        if arg.is_empty() {
            return Err(fail("no container ID or PID given".into()));
        }
        let as_pid = arg
            .parse::<u32>()
            .ok()
            .filter(|p| Path::new(&format!("/proc/{p}")).exists());
        let (pid, id) = match as_pid {
            Some(pid) => {
                let id = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                    .ok()
                    .and_then(|t| container_id_in_cgroup(&t));
                (pid, id)
            }
            None => {
                let running = container_processes()?;
                let wanted = arg.to_ascii_lowercase();
                let mut ids: Vec<&String> = running
                    .keys()
                    .filter(|id| id.starts_with(&wanted))
                    .collect();
                if ids.is_empty() {
                    // Perhaps a podman container name.
                    let by_name: Vec<String> = podman_records()
                        .into_iter()
                        .filter(|r| r.names.iter().any(|n| n == arg))
                        .map(|r| r.id)
                        .collect();
                    ids = running.keys().filter(|id| by_name.contains(id)).collect();
                }
                match ids.as_slice() {
                    [] => {
                        return Err(fail(
                            "no running container has this ID, ID prefix or name, and no process has this PID".into(),
                        ))
                    }
                    [id] => {
                        let pids = running.get(*id).map(Vec::as_slice).unwrap_or_default();
                        let pid = init_pid(pids)
                            .ok_or_else(|| fail(format!("container {id} has no process left")))?;
                        (pid, Some((*id).clone()))
                    }
                    many => {
                        let list: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                        return Err(fail(format!(
                            "the prefix matches {} running containers ({}); give more of the ID",
                            many.len(),
                            list.join(", ")
                        )));
                    }
                }
            }
        };
        Container::at_pid(pid, id, arg)
    }

    /// Opens a container [`running_containers`] listed, checking once its root is
    /// open that the PID still belongs to it (a PID freed and reused meanwhile is
    /// an error, never another container's or the host's files).
    pub fn open_running(c: &RunningContainer) -> Result<Container, SourceError> {
        let opened = Container::at_pid(c.pid, Some(c.id.clone()), &c.id)?;
        let now = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid))
            .ok()
            .and_then(|t| container_id_in_cgroup(&t));
        if now.as_deref() != Some(c.id.as_str()) {
            return Err(SourceError::Other {
                input: format!("container {}", c.id),
                reason: format!("process {} left the container (it exited)", c.pid),
            });
        }
        Ok(opened)
    }

    fn at_pid(pid: u32, id: Option<String>, arg: &str) -> Result<Container, SourceError> {
        let root_path = PathBuf::from(format!("/proc/{pid}/root"));
        let root =
            sys::open_root(&root_path).map_err(|e| SourceError::io("open", &root_path, e))?;
        let pseudo_mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
            .map(|info| pseudo_mounts_in(&info, "/"))
            .unwrap_or_default();
        let mut target = Target::new(TargetKind::Container, arg);
        target.pid = Some(pid);
        if let Some(id) = &id {
            if let Some(rec) = podman_records().into_iter().find(|r| &r.id == id) {
                target.image_id = rec.image_id;
                target.tags.extend(rec.image_name);
            }
        }
        target.container_id = id;
        Ok(Container {
            rootfs: Rootfs {
                root,
                host_path: root_path,
                target,
                options: RootfsOptions::default(),
                pseudo_mounts,
            },
        })
    }

    /// Replaces the walk options.
    pub fn with_options(mut self, options: RootfsOptions) -> Container {
        self.rootfs.options = options;
        self
    }

    /// The PID whose root is read.
    pub fn pid(&self) -> Option<u32> {
        self.rootfs.target.pid
    }

    /// The container's tree, e.g. to open single files in it.
    pub fn rootfs(&self) -> &Rootfs {
        &self.rootfs
    }
}

impl Source for Container {
    fn target(&self) -> Target {
        self.rootfs.target()
    }

    fn walk(&mut self, visitor: &mut dyn Visitor, limits: &Limits) -> Result<(), SourceError> {
        self.rootfs.walk(visitor, limits)
    }
}
