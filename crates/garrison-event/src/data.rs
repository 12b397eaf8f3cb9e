//! The event body: process context, container context and one variant per kind.

use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::fmt;
use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// The process (thread) an event belongs to. The sensor fills the kernel's view
/// (ids, credentials, cgroup, comm); the enricher fills names, paths and ancestry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Process {
    /// Thread-group id (what users call the PID), in the host's PID namespace.
    pub pid: u32,
    /// Thread id, in the host's PID namespace.
    pub tid: u32,
    /// Parent's thread-group id (host namespace). 0 when unknown.
    pub ppid: u32,
    /// The kernel's `comm` (at most 15 bytes).
    pub comm: String,
    /// Executable path (canonical; container-relative for containerized processes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Arguments, argv\[0\] first (bounded; see `args_truncated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// True when `args` was cut to the sensor's bound.
    #[serde(default, skip_serializing_if = "is_false")]
    pub args_truncated: bool,
    /// Current working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Audit login uid; `None` when unset (the kernel's `(uid_t)-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<u32>,
    /// User name of `uid` (enricher; from the process's own root for containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Group name of `gid` (enricher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Controlling terminal as the kernel's device number (`tty_nr`); 0 = none.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub tty: u32,
    /// Process start time, nanoseconds since boot (stable identity with `pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ns: Option<u64>,
    /// cgroup v2 id (inode of the process's cgroup2 directory); 1 = the root.
    #[serde(default)]
    pub cgroup_id: u64,
    /// Ancestors, parent first, bounded (enricher). `proc.aname[N]` reads `ancestors[N-1]`.
    #[serde(default, skip_serializing_if = "Ancestors::is_empty")]
    pub ancestors: Ancestors,
    /// Pid in the process's own PID namespace (1 for a container's init), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpid: Option<u32>,
    /// User name of `loginuid` (enricher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginname: Option<String>,
    /// Name of the session leader (enricher), e.g. the login shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sname: Option<String>,
    /// Effective capability set (bit mask of capabilities 0-63), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_effective: Option<u64>,
    /// Permitted capability set, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_permitted: Option<u64>,
}

/// One ancestor of a process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ancestor {
    /// Its pid.
    pub pid: u32,
    /// Its `comm`, or the executable's base name.
    pub name: String,
    /// Its executable path, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Its arguments, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

/// A process's ancestors, parent first: a shared list (cloning it is a reference
/// count), since every event of a process carries the same chain. Reads as a
/// slice; writing through it copies the list first when it is shared.
///
/// Serialized as a plain array. The NDJSON stream ([`crate::Event::write_ndjson`])
/// renders a chain's JSON once and reuses the text for every event that shares
/// the chain: a storm of one process's events escapes its ancestors' arguments
/// once, not per event.
#[derive(Debug, Clone, Default)]
pub struct Ancestors(Arc<AncestorList>);

#[derive(Debug, Clone, Default)]
struct AncestorList {
    list: Box<[Ancestor]>,
    /// The list's compact JSON, rendered on first use by the NDJSON writer
    /// (`None`: it could not be, and the list is serialized the plain way, which
    /// reports why).
    json: OnceLock<Option<Box<serde_json::value::RawValue>>>,
}

thread_local! {
    /// Set while [`crate::Event::write_ndjson`] serializes (with serde_json's
    /// compact serializer): only then is the rendered text a faithful substitute.
    static RAW_JSON: Cell<bool> = const { Cell::new(false) };
}

/// While alive, [`Ancestors`] serialize from their rendered JSON.
pub(crate) struct RawJsonScope(bool);

impl RawJsonScope {
    pub(crate) fn enter() -> Self {
        RawJsonScope(RAW_JSON.replace(true))
    }
}

impl Drop for RawJsonScope {
    fn drop(&mut self) {
        RAW_JSON.set(self.0);
    }
}

/// The process objects last rendered by the NDJSON writer on this thread, by tid.
#[derive(Default)]
struct ProcessTexts {
    by_tid: foldhash::HashMap<u32, (Process, Box<serde_json::value::RawValue>)>,
}

/// At most this many process texts are kept per writing thread.
const MAX_PROCESS_TEXTS: usize = 256;

thread_local! {
    static PROCESS_TEXTS: std::cell::RefCell<ProcessTexts> =
        std::cell::RefCell::new(ProcessTexts::default());
}

/// Serializes an event's process: inside the NDJSON writer, from the text last
/// rendered for an identical process context of the same thread (rendered and
/// kept otherwise); elsewhere as usual.
pub(crate) fn process_json<S: serde::Serializer>(p: &Process, s: S) -> Result<S::Ok, S::Error> {
    if !RAW_JSON.get() {
        return p.serialize(s);
    }
    PROCESS_TEXTS.with_borrow_mut(|texts| {
        if let Some((cached, raw)) = texts.by_tid.get(&p.tid) {
            if cached == p {
                return raw.serialize(s);
            }
        }
        // (a process that cannot be rendered is serialized the plain way, which
        // reports why)
        let Ok(raw) = serde_json::value::to_raw_value(p) else {
            return p.serialize(s);
        };
        let out = raw.serialize(s);
        if texts.by_tid.len() >= MAX_PROCESS_TEXTS {
            texts.by_tid.clear();
        }
        texts.by_tid.insert(p.tid, (p.clone(), raw));
        out
    })
}

impl Ancestors {
    /// Whether there are none (what `skip_serializing_if` asks).
    pub fn is_empty(&self) -> bool {
        self.0.list.is_empty()
    }

    /// Keeps the first `n` ancestors.
    pub fn truncate(&mut self, n: usize) {
        if n < self.0.list.len() {
            *self = self.0.list.iter().take(n).cloned().collect();
        }
    }

    /// Whether both share one list (the same chain handed to several events).
    pub fn ptr_eq(a: &Ancestors, b: &Ancestors) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl PartialEq for Ancestors {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.list == other.0.list
    }
}

impl Deref for Ancestors {
    type Target = [Ancestor];
    fn deref(&self) -> &[Ancestor] {
        &self.0.list
    }
}

impl DerefMut for Ancestors {
    fn deref_mut(&mut self) -> &mut [Ancestor] {
        let inner = Arc::make_mut(&mut self.0);
        // the text no longer says what the list will hold
        inner.json = OnceLock::new();
        &mut inner.list
    }
}

impl From<Vec<Ancestor>> for Ancestors {
    fn from(v: Vec<Ancestor>) -> Self {
        Ancestors(Arc::new(AncestorList {
            list: v.into_boxed_slice(),
            json: OnceLock::new(),
        }))
    }
}

impl FromIterator<Ancestor> for Ancestors {
    fn from_iter<I: IntoIterator<Item = Ancestor>>(iter: I) -> Self {
        Ancestors::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl Serialize for Ancestors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if RAW_JSON.get() {
            let raw = self
                .0
                .json
                .get_or_init(|| serde_json::value::to_raw_value(&self.0.list).ok());
            if let Some(raw) = raw {
                return raw.serialize(s);
            }
        }
        self.0.list.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ancestors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<Ancestor>::deserialize(d).map(Ancestors::from)
    }
}

/// The container a process runs in (enricher).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// Full container id (64 hex digits for podman/docker/containerd/CRI-O).
    pub id: String,
    /// The runtime that named the cgroup.
    pub runtime: Runtime,
    /// Container name, when the runtime's state gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Image reference (`repository:tag`), when the runtime's state gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image id or digest, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Kubernetes pod, when the cgroup path says the container belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Pod>,
    /// The container runs privileged (from the runtime's state), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// When the container started, nanoseconds since the Unix epoch, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ns: Option<u64>,
}

/// Container runtimes recognized from cgroup paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// podman / libpod (`libpod-<id>`).
    Podman,
    /// Docker (`docker-<id>.scope`, `/docker/<id>`).
    Docker,
    /// containerd (`cri-containerd-<id>.scope`, `/containerd/...`).
    Containerd,
    /// CRI-O (`crio-<id>.scope`).
    Crio,
    /// A plain runc container (`/<id>`).
    Runc,
    /// A container whose runtime the path does not say.
    #[default]
    Unknown,
}

/// A Kubernetes pod (from the cgroup path: pod UID and QoS; name and namespace when
/// the runtime's state gives them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    /// Pod UID.
    pub uid: String,
    /// Pod name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// QoS class from the cgroup path (`guaranteed`, `burstable`, `besteffort`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
}

/// A path an event names, with how it was made canonical.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilePath {
    /// The canonical path as the process sees it (inside its container's root).
    pub path: String,
    /// The same file as the host sees it, when it differs (containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    /// How `path` was obtained.
    pub resolution: Resolution,
    /// The string the process passed, when it differs from `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl FilePath {
    /// A path taken as given, unresolved.
    pub fn raw(path: impl Into<String>) -> Self {
        FilePath {
            path: path.into(),
            host_path: None,
            resolution: Resolution::Unresolved,
            raw: None,
        }
    }
}

/// How an event's path was made canonical.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// From the kernel's `struct file`/dentry of the object itself: no symlink or
    /// `..` in the argument can change it.
    Kernel,
    /// The argument joined to the process's cwd (or dirfd) and root, and made
    /// canonical; the final component is the argument's own (not followed).
    Joined,
    /// The argument as passed (the sensor could not resolve it).
    #[default]
    Unresolved,
}

/// What an open, socket or standard fd refers to (Falco's `fd.typechar` idea).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FdType {
    /// Not open.
    #[default]
    None,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A pipe or FIFO.
    Pipe,
    /// A socket (on fds 0-2, the mark of a reverse shell).
    Socket,
    /// A character device (a terminal, /dev/null, ...).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// An anonymous inode (eventfd, epoll, memfd...).
    Anon,
    /// Something else.
    Other,
}

/// A socket address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum SockAddr {
    /// AF_INET.
    Inet {
        /// Address.
        ip: IpAddr,
        /// Port (host order).
        port: u16,
    },
    /// AF_INET6.
    Inet6 {
        /// Address.
        ip: IpAddr,
        /// Port (host order).
        port: u16,
    },
    /// AF_UNIX: a path, or an abstract name shown as `@name`.
    Unix {
        /// Path or `@abstract`.
        path: String,
    },
    /// Another family, by number.
    Other {
        /// `sa_family`.
        number: u16,
    },
}

impl SockAddr {
    /// The IP address, for inet families.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            SockAddr::Inet { ip, .. } | SockAddr::Inet6 { ip, .. } => Some(*ip),
            _ => None,
        }
    }

    /// The port, for inet families.
    pub fn port(&self) -> Option<u16> {
        match self {
            SockAddr::Inet { port, .. } | SockAddr::Inet6 { port, .. } => Some(*port),
            _ => None,
        }
    }
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (SOCK_STREAM on inet).
    Tcp,
    /// UDP (SOCK_DGRAM on inet).
    Udp,
    /// A unix stream/dgram socket, or other.
    #[default]
    Other,
}

/// One DNS resource record from an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// Owner name.
    pub name: String,
    /// Record type (`A`, `AAAA`, `CNAME`, ... or `TYPE<n>`).
    pub rtype: String,
    /// Data in presentation form (an address, a name, ...).
    pub data: String,
    /// TTL in seconds.
    pub ttl: u32,
}

/// The kind-specific part of an event, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventData {
    /// execve/execveat. On success the process context is the new program's.
    Exec {
        /// The executable, canonical (resolved from the loaded binary's file).
        filename: FilePath,
        /// Arguments (bounded).
        argv: Vec<String>,
        /// True when argv was cut.
        #[serde(default, skip_serializing_if = "is_false")]
        argv_truncated: bool,
        /// Device number of the executable's filesystem.
        exe_dev: u64,
        /// Inode of the executable.
        exe_ino: u64,
        /// The executable is a memfd (fileless execution).
        exe_memfd: bool,
        /// The executable was deleted from disk (nlink 0).
        exe_deleted: bool,
        /// The executable lives in an overlayfs upper (writable) layer, i.e. was
        /// written in the container after it started rather than shipped in its image.
        exe_upper_layer: bool,
        /// What fds 0, 1 and 2 refer to.
        stdio: [FdType; 3],
    },
    /// fork/vfork/clone/clone3: a new process or thread.
    Fork {
        /// The child's pid (thread-group id).
        child_pid: u32,
        /// The child's tid.
        child_tid: u32,
        /// True when the child is a thread of the parent.
        thread: bool,
    },
    /// A process exited (the last thread of a thread group).
    Exit {
        /// Exit code (0-255) when it exited normally.
        code: i32,
        /// Signal that killed it, when it was killed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        /// It dumped core.
        #[serde(default, skip_serializing_if = "is_false")]
        core_dumped: bool,
    },
    /// open/openat/openat2/creat with write, create or truncate intent (or a read
    /// of a path the interest maps ask for).
    Open {
        /// The file, canonical from the new fd's `struct file` when the call succeeded.
        path: FilePath,
        /// Open flags as passed (`O_*`).
        flags: u32,
        /// Creation mode.
        mode: u32,
        /// Flags by name (`O_WRONLY`, `O_CREAT`, `O_TRUNC`, ...).
        flag_names: Vec<String>,
        /// The file was created by this call (O_CREAT and it did not exist), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created: Option<bool>,
    },
    /// unlink/unlinkat/rmdir.
    Unlink {
        /// The removed path.
        path: FilePath,
        /// A directory removal (rmdir or AT_REMOVEDIR).
        #[serde(default, skip_serializing_if = "is_false")]
        directory: bool,
    },
    /// rename/renameat/renameat2.
    Rename {
        /// Old path.
        from: FilePath,
        /// New path.
        to: FilePath,
        /// renameat2 flags.
        #[serde(default, skip_serializing_if = "is_zero_u32")]
        flags: u32,
    },
    /// chmod/fchmod/fchmodat.
    Chmod {
        /// The file.
        path: FilePath,
        /// New mode (permission and setuid/setgid/sticky bits).
        mode: u32,
    },
    /// chown/fchown/lchown/fchownat.
    Chown {
        /// The file.
        path: FilePath,
        /// New owner (`u32::MAX` = unchanged).
        uid: u32,
        /// New group (`u32::MAX` = unchanged).
        gid: u32,
    },
    /// link/linkat (hard link).
    Link {
        /// The existing file.
        target: FilePath,
        /// The new name.
        path: FilePath,
    },
    /// symlink/symlinkat.
    Symlink {
        /// The link's content, as given (not resolved: it may dangle).
        target: String,
        /// The new link's path.
        path: FilePath,
    },
    /// mkdir/mkdirat.
    Mkdir {
        /// The new directory.
        path: FilePath,
        /// Mode.
        mode: u32,
    },
    /// connect.
    Connect {
        /// Transport.
        protocol: Protocol,
        /// Local address after the call, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local: Option<SockAddr>,
        /// The address connected to.
        remote: SockAddr,
    },
    /// accept/accept4.
    Accept {
        /// Transport.
        protocol: Protocol,
        /// Listening address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local: Option<SockAddr>,
        /// Peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remote: Option<SockAddr>,
    },
    /// bind.
    Bind {
        /// Transport.
        protocol: Protocol,
        /// The address bound.
        local: SockAddr,
    },
    /// listen.
    Listen {
        /// Transport.
        protocol: Protocol,
        /// The listening address, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local: Option<SockAddr>,
        /// Backlog.
        backlog: i32,
    },
    /// A DNS message parsed from a port-53 payload (query sent or response received).
    Dns {
        /// `query` (sent by the process) or `response` (received).
        direction: DnsDirection,
        /// Transport.
        protocol: Protocol,
        /// The server's address.
        server: SockAddr,
        /// DNS message id.
        id: u16,
        /// Queried name (first question).
        query: String,
        /// Query type (`A`, `AAAA`, ...).
        qtype: String,
        /// Response code (`NOERROR`, `NXDOMAIN`, ...) for responses.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rcode: Option<String>,
        /// Answer records, for responses.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        answers: Vec<DnsRecord>,
    },
    /// setuid/setgid/setreuid/setregid/setresuid/setresgid/setfsuid/setfsgid.
    /// Only the ids the call sets are present (`-1` arguments are omitted).
    SetId {
        /// New real uid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<u32>,
        /// New effective uid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        euid: Option<u32>,
        /// New saved uid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suid: Option<u32>,
        /// New fs uid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fsuid: Option<u32>,
        /// New real gid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gid: Option<u32>,
        /// New effective gid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        egid: Option<u32>,
        /// New saved gid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sgid: Option<u32>,
        /// New fs gid.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fsgid: Option<u32>,
    },
    /// capset.
    Capset {
        /// Target pid (0 = self).
        target_pid: i32,
        /// Effective set (bit mask, capabilities 0-63).
        effective: u64,
        /// Permitted set.
        permitted: u64,
        /// Inheritable set.
        inheritable: u64,
    },
    /// ptrace.
    Ptrace {
        /// Request number.
        request: i64,
        /// Request name (`PTRACE_ATTACH`, `PTRACE_TRACEME`, ...).
        request_name: String,
        /// Target pid.
        target_pid: i32,
    },
    /// init_module/finit_module/delete_module.
    Module {
        /// `load` or `delete`.
        op: ModuleOp,
        /// Module name (delete_module) or none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The module file (finit_module), when resolved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<FilePath>,
    },
    /// mount/fsmount/move_mount.
    Mount {
        /// Source (device or path) as given.
        source: String,
        /// Mount point.
        target: FilePath,
        /// Filesystem type as given.
        fstype: String,
        /// Mount flags.
        flags: u64,
    },
    /// umount/umount2.
    Umount {
        /// Mount point.
        target: FilePath,
        /// Flags.
        flags: u32,
    },
    /// unshare.
    Unshare {
        /// `CLONE_*` flags.
        flags: u64,
        /// Namespaces by name (`mnt`, `pid`, `net`, `user`, `uts`, `ipc`, `cgroup`, `time`).
        namespaces: Vec<String>,
    },
    /// setns.
    Setns {
        /// The namespace fd.
        fd: i32,
        /// `nstype` argument (0 = any).
        nstype: u64,
        /// Namespaces by name, from `nstype`.
        namespaces: Vec<String>,
    },
    /// memfd_create.
    MemfdCreate {
        /// The name given.
        name: String,
        /// Flags.
        flags: u32,
    },
    /// bpf().
    Bpf {
        /// Command number.
        cmd: i32,
        /// Command name (`BPF_PROG_LOAD`, `BPF_MAP_CREATE`, ...).
        cmd_name: String,
    },
    /// kill/tkill/tgkill.
    Kill {
        /// Target pid (may be 0 or negative: process groups).
        target_pid: i32,
        /// Signal number.
        signal: i32,
        /// Signal name (`SIGKILL`, ...).
        signal_name: String,
    },
}

/// Direction of a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsDirection {
    /// Sent by the process.
    Query,
    /// Received by the process.
    Response,
}

/// Module operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModuleOp {
    /// init_module / finit_module.
    Load,
    /// delete_module.
    Delete,
}

impl EventData {
    /// The coarse kind of this data.
    pub fn kind(&self) -> EventKind {
        match self {
            EventData::Exec { .. } => EventKind::Exec,
            EventData::Fork { .. } => EventKind::Fork,
            EventData::Exit { .. } => EventKind::Exit,
            EventData::Open { .. } => EventKind::Open,
            EventData::Unlink { .. } => EventKind::Unlink,
            EventData::Rename { .. } => EventKind::Rename,
            EventData::Chmod { .. } => EventKind::Chmod,
            EventData::Chown { .. } => EventKind::Chown,
            EventData::Link { .. } => EventKind::Link,
            EventData::Symlink { .. } => EventKind::Symlink,
            EventData::Mkdir { .. } => EventKind::Mkdir,
            EventData::Connect { .. } => EventKind::Connect,
            EventData::Accept { .. } => EventKind::Accept,
            EventData::Bind { .. } => EventKind::Bind,
            EventData::Listen { .. } => EventKind::Listen,
            EventData::Dns { .. } => EventKind::Dns,
            EventData::SetId { .. } => EventKind::SetId,
            EventData::Capset { .. } => EventKind::Capset,
            EventData::Ptrace { .. } => EventKind::Ptrace,
            EventData::Module { .. } => EventKind::Module,
            EventData::Mount { .. } => EventKind::Mount,
            EventData::Umount { .. } => EventKind::Umount,
            EventData::Unshare { .. } => EventKind::Unshare,
            EventData::Setns { .. } => EventKind::Setns,
            EventData::MemfdCreate { .. } => EventKind::MemfdCreate,
            EventData::Bpf { .. } => EventKind::Bpf,
            EventData::Kill { .. } => EventKind::Kill,
        }
    }
}

/// The coarse kinds of events: what `--events` selects and what the interest maps
/// switch on and off in the kernel. The names are the `"type"` tags of [`EventData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Program execution.
    Exec,
    /// Process/thread creation.
    Fork,
    /// Process exit.
    Exit,
    /// File opens (write/create/truncate intent, and reads the interest asks for).
    Open,
    /// unlink/rmdir.
    Unlink,
    /// rename.
    Rename,
    /// chmod.
    Chmod,
    /// chown.
    Chown,
    /// Hard links.
    Link,
    /// Symbolic links.
    Symlink,
    /// mkdir.
    Mkdir,
    /// connect.
    Connect,
    /// accept.
    Accept,
    /// bind.
    Bind,
    /// listen.
    Listen,
    /// DNS queries and answers.
    Dns,
    /// setuid/setgid family.
    SetId,
    /// capset.
    Capset,
    /// ptrace.
    Ptrace,
    /// Kernel module load/unload.
    Module,
    /// mount.
    Mount,
    /// umount.
    Umount,
    /// unshare.
    Unshare,
    /// setns.
    Setns,
    /// memfd_create.
    MemfdCreate,
    /// bpf().
    Bpf,
    /// kill family.
    Kill,
}

impl EventKind {
    /// Every kind, in schema order.
    pub const ALL: [EventKind; 27] = [
        EventKind::Exec,
        EventKind::Fork,
        EventKind::Exit,
        EventKind::Open,
        EventKind::Unlink,
        EventKind::Rename,
        EventKind::Chmod,
        EventKind::Chown,
        EventKind::Link,
        EventKind::Symlink,
        EventKind::Mkdir,
        EventKind::Connect,
        EventKind::Accept,
        EventKind::Bind,
        EventKind::Listen,
        EventKind::Dns,
        EventKind::SetId,
        EventKind::Capset,
        EventKind::Ptrace,
        EventKind::Module,
        EventKind::Mount,
        EventKind::Umount,
        EventKind::Unshare,
        EventKind::Setns,
        EventKind::MemfdCreate,
        EventKind::Bpf,
        EventKind::Kill,
    ];

    /// The kind's name as it appears in `"type"` and in `--events`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Fork => "fork",
            EventKind::Exit => "exit",
            EventKind::Open => "open",
            EventKind::Unlink => "unlink",
            EventKind::Rename => "rename",
            EventKind::Chmod => "chmod",
            EventKind::Chown => "chown",
            EventKind::Link => "link",
            EventKind::Symlink => "symlink",
            EventKind::Mkdir => "mkdir",
            EventKind::Connect => "connect",
            EventKind::Accept => "accept",
            EventKind::Bind => "bind",
            EventKind::Listen => "listen",
            EventKind::Dns => "dns",
            EventKind::SetId => "set_id",
            EventKind::Capset => "capset",
            EventKind::Ptrace => "ptrace",
            EventKind::Module => "module",
            EventKind::Mount => "mount",
            EventKind::Umount => "umount",
            EventKind::Unshare => "unshare",
            EventKind::Setns => "setns",
            EventKind::MemfdCreate => "memfd_create",
            EventKind::Bpf => "bpf",
            EventKind::Kill => "kill",
        }
    }

    /// Parses a `--events` list: `all`, or comma-separated kind names.
    pub fn parse_list(list: &str) -> Result<Vec<EventKind>, UnknownKind> {
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "all" {
                return Ok(EventKind::ALL.to_vec());
            }
            let kind = item.parse::<EventKind>()?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Ok(out)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An event kind name that is not in the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}: use `all` or a comma-separated list of {list}", list = kind_names())]
pub struct UnknownKind(pub String);

fn kind_names() -> String {
    EventKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for EventKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}
