//! The field registry: every field a condition or an output may name, its type, its
//! meaning, and how it is read from an [`Event`] without allocating.

use garrison_event::{Event, EventData, FdType, FilePath, Protocol, SockAddr};
use std::fmt::Write as _;
use std::net::IpAddr;

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text.
    Str,
    /// A (signed 64-bit) number.
    Num,
    /// true/false.
    Bool,
    /// An IP address (compares with addresses and CIDR networks).
    Ip,
    /// An event argument: text, compared as a number when both sides are numbers.
    Dyn,
}

impl FieldType {
    /// Name used in docs and errors.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "string",
            FieldType::Num => "number",
            FieldType::Bool => "bool",
            FieldType::Ip => "ip",
            FieldType::Dyn => "argument",
        }
    }
}

/// What goes between a field's brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSpec {
    /// No argument.
    None,
    /// An optional index (`proc.aname[2]`); without it the field means "any".
    Index,
    /// A required key (`evt.arg[flags]`, also written `evt.arg.flags`).
    Key,
}

/// A field's identity (what the extractor matches on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FieldId {
    EvtType,
    EvtDir,
    EvtNum,
    EvtTime,
    EvtTimeText,
    EvtDatetime,
    EvtTimeIso,
    EvtRes,
    EvtRawRes,
    EvtFailed,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtHostname,
    EvtSource,
    EvtArg,
    ProcPid,
    ProcTid,
    ProcPpid,
    ProcName,
    ProcExe,
    ProcExePath,
    ProcCmdline,
    ProcArgs,
    ProcCwd,
    ProcTty,
    ProcPName,
    ProcPExe,
    ProcPExePath,
    ProcPCmdline,
    ProcAName,
    ProcAPid,
    ProcAExe,
    ProcAExePath,
    ProcIsExeUpperLayer,
    ProcIsExeFromMemfd,
    ProcIsExeDeleted,
    ProcExeIno,
    ProcStdinType,
    ProcStdoutType,
    ProcStderrType,
    UserUid,
    UserEuid,
    UserName,
    UserLoginUid,
    GroupGid,
    GroupName,
    ContainerId,
    ContainerName,
    ContainerImage,
    ContainerImageRepository,
    ContainerImageTag,
    ContainerImageId,
    ContainerType,
    K8sNsName,
    K8sPodName,
    K8sPodUid,
    FdNum,
    FdName,
    FdNameRaw,
    FdDirectory,
    FdFilename,
    FdTypeChar,
    FdType,
    FdRip,
    FdRport,
    FdLip,
    FdLport,
    FdSip,
    FdSport,
    FdCip,
    FdCport,
    FdIp,
    FdPort,
    FdL4Proto,
    FdSockFamily,
    FdTypes,
    FdNet,
    FdSnet,
    FdRnet,
    FdLnet,
    FdCnet,
    FdConnected,
    FdNameChanged,
    ProcDuration,
    EvtArgs,
    ProcVpid,
    ProcSname,
    UserLoginName,
    ThreadCapEffective,
    ThreadCapPermitted,
    ContainerPrivileged,
    ContainerStartTs,
    FsPathName,
    FsPathSource,
    FsPathTarget,
    DnsQuery,
}

/// One registered field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// The name conditions use.
    pub name: &'static str,
    /// Identity.
    pub id: FieldId,
    /// Value type.
    pub ty: FieldType,
    /// Bracket argument.
    pub arg: ArgSpec,
    /// What it means.
    pub doc: &'static str,
}

macro_rules! f {
    ($name:literal, $id:ident, $ty:ident, $arg:ident, $doc:literal) => {
        FieldDef {
            name: $name,
            id: FieldId::$id,
            ty: FieldType::$ty,
            arg: ArgSpec::$arg,
            doc: $doc,
        }
    };
}

/// Every field, in documentation order.
pub const FIELDS: &[FieldDef] = &[
    f!("evt.type", EvtType, Str, None, "the syscall name, as Falco's rules use it (`execve`, `openat`, `connect`, ...; `procexit` for exit)"),
    f!("evt.dir", EvtDir, Str, None, "`<`: every Garrison event is a syscall's exit (so `evt.dir = >` never holds)"),
    f!("evt.num", EvtNum, Num, None, "the source's sequence number"),
    f!("evt.rawtime", EvtTime, Num, None, "time in nanoseconds since the Unix epoch"),
    f!("evt.time", EvtTimeText, Str, None, "time of day, UTC (`14:03:07.123456789`)"),
    f!("evt.datetime", EvtDatetime, Str, None, "date and time, UTC (`2025-10-09T14:03:07.123456789`)"),
    f!("evt.time.iso8601", EvtTimeIso, Str, None, "RFC 3339 time, UTC (`2025-10-09T14:03:07.123456789Z`)"),
    f!("evt.res", EvtRes, Str, None, "`SUCCESS`, or the errno name of a failed call (`EACCES`)"),
    f!("evt.rawres", EvtRawRes, Num, None, "the syscall's return value (`-errno` on failure)"),
    f!("evt.failed", EvtFailed, Bool, None, "the call failed"),
    f!("evt.is_open_read", EvtIsOpenRead, Bool, None, "an open for reading (`O_RDONLY` or `O_RDWR`)"),
    f!("evt.is_open_write", EvtIsOpenWrite, Bool, None, "an open for writing (`O_WRONLY` or `O_RDWR`)"),
    f!("evt.is_open_exec", EvtIsOpenExec, Bool, None, "an open that creates an executable file (mode has an x bit and `O_CREAT`)"),
    f!("evt.hostname", EvtHostname, Str, None, "the host's name"),
    f!("evt.source", EvtSource, Str, None, "`syscall` (Falco's source name for kernel events)"),
    f!("evt.args", EvtArgs, Str, None, "all arguments as `name=value` pairs"),
    f!("evt.arg", EvtArg, Dyn, Key, "an argument by name: `evt.arg.flags` or `evt.arg[flags]` (names below the table)"),
    f!("proc.pid", ProcPid, Num, None, "process id (thread-group id, host namespace)"),
    f!("thread.tid", ProcTid, Num, None, "thread id"),
    f!("proc.ppid", ProcPpid, Num, None, "parent's pid"),
    f!("proc.vpid", ProcVpid, Num, None, "pid in the process's own PID namespace (1: a container's init)"),
    f!("proc.duration", ProcDuration, Num, None, "nanoseconds since the process started"),
    f!("proc.sname", ProcSname, Str, None, "name of the session leader"),
    f!("proc.name", ProcName, Str, None, "process name (the kernel's `comm`)"),
    f!("proc.exe", ProcExe, Str, None, "first argument (`argv[0]`)"),
    f!("proc.exepath", ProcExePath, Str, None, "full executable path"),
    f!("proc.cmdline", ProcCmdline, Str, None, "`proc.name` and the arguments after `argv[0]`, space separated"),
    f!("proc.args", ProcArgs, Str, None, "the arguments after `argv[0]`, space separated"),
    f!("proc.cwd", ProcCwd, Str, None, "current working directory"),
    f!("proc.tty", ProcTty, Num, None, "controlling terminal device number; 0 when none"),
    f!("proc.pname", ProcPName, Str, None, "parent's name"),
    f!("proc.pexe", ProcPExe, Str, None, "parent's `argv[0]`"),
    f!("proc.pexepath", ProcPExePath, Str, None, "parent's executable path"),
    f!("proc.pcmdline", ProcPCmdline, Str, None, "parent's command line"),
    f!("proc.aname", ProcAName, Str, Index, "ancestor's name: `[0]` the process, `[1]` the parent, ...; without an index, any ancestor"),
    f!("proc.apid", ProcAPid, Num, Index, "ancestor's pid (index as `proc.aname`)"),
    f!("proc.aexe", ProcAExe, Str, Index, "ancestor's `argv[0]` (index as `proc.aname`)"),
    f!("proc.aexepath", ProcAExePath, Str, Index, "ancestor's executable path (index as `proc.aname`)"),
    f!("proc.is_exe_upper_layer", ProcIsExeUpperLayer, Bool, None, "the executable lives in an overlayfs upper layer (written after the container started: drift)"),
    f!("proc.is_exe_from_memfd", ProcIsExeFromMemfd, Bool, None, "the executable is a memfd (fileless execution)"),
    f!("proc.is_exe_deleted", ProcIsExeDeleted, Bool, None, "Garrison: the executable's file was deleted"),
    f!("proc.exe_ino", ProcExeIno, Num, None, "inode of the executable"),
    f!("proc.stdin.type", ProcStdinType, Str, None, "type of fd 0: `file`, `directory`, `pipe`, `socket`, `char`, `block`, `anon`, `other`, `none`"),
    f!("proc.stdout.type", ProcStdoutType, Str, None, "type of fd 1 (as `proc.stdin.type`)"),
    f!("proc.stderr.type", ProcStderrType, Str, None, "type of fd 2 (as `proc.stdin.type`)"),
    f!("user.uid", UserUid, Num, None, "real user id"),
    f!("user.euid", UserEuid, Num, None, "Garrison: effective user id"),
    f!("user.name", UserName, Str, None, "name of the real user id (from the process's own root)"),
    f!("user.loginuid", UserLoginUid, Num, None, "audit login uid; -1 when unset"),
    f!("user.loginname", UserLoginName, Str, None, "name of the login uid"),
    f!("thread.cap_effective", ThreadCapEffective, Str, None, "effective capabilities by name, space separated (`CAP_SYS_ADMIN CAP_NET_ADMIN`)"),
    f!("thread.cap_permitted", ThreadCapPermitted, Str, None, "permitted capabilities by name"),
    f!("group.gid", GroupGid, Num, None, "real group id"),
    f!("group.name", GroupName, Str, None, "name of the real group id"),
    f!("container.id", ContainerId, Str, None, "container id, 12 hex digits; `host` outside containers"),
    f!("container.name", ContainerName, Str, None, "container name; `host` outside containers"),
    f!("container.image", ContainerImage, Str, None, "image reference (`repository:tag`)"),
    f!("container.image.repository", ContainerImageRepository, Str, None, "image repository (reference without tag or digest)"),
    f!("container.image.tag", ContainerImageTag, Str, None, "image tag"),
    f!("container.image.id", ContainerImageId, Str, None, "image id or digest"),
    f!("container.type", ContainerType, Str, None, "runtime: `podman`, `docker`, `containerd`, `cri-o`, `runc`, `unknown`"),
    f!("container.privileged", ContainerPrivileged, Bool, None, "the container runs privileged"),
    f!("container.start_ts", ContainerStartTs, Num, None, "container start time, ns since the epoch"),
    f!("k8s.ns.name", K8sNsName, Str, None, "Kubernetes namespace"),
    f!("k8s.pod.name", K8sPodName, Str, None, "Kubernetes pod name"),
    f!("k8s.pod.uid", K8sPodUid, Str, None, "Kubernetes pod UID"),
    f!("fd.num", FdNum, Num, None, "the new fd of a successful open"),
    f!("fd.name", FdName, Str, None, "file path (opens) or `lip:lport->rip:rport` (sockets), unix socket path"),
    f!("fd.nameraw", FdNameRaw, Str, None, "the path as the process passed it"),
    f!("fd.directory", FdDirectory, Str, None, "directory of `fd.name` (files)"),
    f!("fd.filename", FdFilename, Str, None, "base name of `fd.name` (files)"),
    f!("fd.typechar", FdTypeChar, Str, None, "`f` file, `4` IPv4 socket, `6` IPv6 socket, `u` unix socket"),
    f!("fd.type", FdType, Str, None, "`file`, `ipv4`, `ipv6`, `unix`"),
    f!("fd.rip", FdRip, Ip, None, "remote IP"),
    f!("fd.rport", FdRport, Num, None, "remote port"),
    f!("fd.lip", FdLip, Ip, None, "local IP"),
    f!("fd.lport", FdLport, Num, None, "local port"),
    f!("fd.sip", FdSip, Ip, None, "server IP (remote for connect, local for accept, bind, listen)"),
    f!("fd.sport", FdSport, Num, None, "server port"),
    f!("fd.cip", FdCip, Ip, None, "client IP (local for connect, remote for accept)"),
    f!("fd.cport", FdCport, Num, None, "client port"),
    f!("fd.ip", FdIp, Ip, None, "either IP (matches when one does)"),
    f!("fd.port", FdPort, Num, None, "either port (matches when one does)"),
    f!("fd.l4proto", FdL4Proto, Str, None, "`tcp` or `udp`"),
    f!("fd.sockfamily", FdSockFamily, Str, None, "`ip` or `unix`"),
    f!("fd.types", FdTypes, Str, Index, "types of fds 0-2 (exec): `[N]` one, without an index any of them (as `proc.stdin.type`)"),
    f!("fd.net", FdNet, Ip, None, "either IP, compared with CIDR networks (`fd.net in (10.0.0.0/8)`)"),
    f!("fd.snet", FdSnet, Ip, None, "server IP, for CIDR comparisons"),
    f!("fd.cnet", FdCnet, Ip, None, "client IP, for CIDR comparisons"),
    f!("fd.rnet", FdRnet, Ip, None, "remote IP, for CIDR comparisons"),
    f!("fd.lnet", FdLnet, Ip, None, "local IP, for CIDR comparisons"),
    f!("fd.name_changed", FdNameChanged, Bool, None, "the event gave the fd its name: true for connect and accept (they set the socket's tuple)"),
    f!("fd.connected", FdConnected, Bool, None, "the socket is connected (a connect or accept that succeeded)"),
    f!("fs.path.name", FsPathName, Str, None, "the path a filesystem syscall operates on, canonical"),
    f!("fs.path.source", FsPathSource, Str, None, "source path of rename, link, symlink"),
    f!("fs.path.target", FsPathTarget, Str, None, "target (new) path of rename, link, symlink"),
    f!("dns.query", DnsQuery, Str, None, "Garrison: the queried name of a DNS message"),
];

/// A resolved field argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// No argument.
    None,
    /// `[N]`.
    Index(usize),
    /// `[key]` / `.key`.
    Key(ArgKey),
}

/// Event argument names (`evt.arg.NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ArgKey {
    Name,
    Path,
    Filename,
    OldPath,
    NewPath,
    Target,
    LinkPath,
    Flags,
    Mode,
    Request,
    Pid,
    Sig,
    Uid,
    Gid,
    Euid,
    Egid,
    Cmd,
    Fd,
    Res,
    Dev,
    Dir,
    Type,
    NsType,
    Tuple,
    Query,
    Backlog,
    CapEffective,
    CapPermitted,
}

/// Argument names and what they read, for docs and parsing.
pub const ARG_KEYS: &[(&str, ArgKey, &str)] = &[
    ("name", ArgKey::Name, "open/unlink path, memfd or module name, umount target"),
    ("path", ArgKey::Path, "the path of open, unlink, chmod, chown, mkdir, finit_module"),
    ("pathname", ArgKey::Path, "same as `path`"),
    ("filename", ArgKey::Filename, "execve's file; chmod's path"),
    ("oldpath", ArgKey::OldPath, "rename's and link's existing path"),
    ("newpath", ArgKey::NewPath, "rename's and link's new path"),
    ("target", ArgKey::Target, "symlink's content; mount's target"),
    ("linkpath", ArgKey::LinkPath, "symlink's new path"),
    ("flags", ArgKey::Flags, "open flags (`O_WRONLY|O_CREAT`), unshare/clone namespaces (`CLONE_NEWNS|CLONE_NEWUSER`), numbers otherwise"),
    ("mode", ArgKey::Mode, "mode bits by name (`S_ISUID|S_IRWXU|...`), for open, chmod, mkdir"),
    ("request", ArgKey::Request, "ptrace request name (`PTRACE_ATTACH`)"),
    ("pid", ArgKey::Pid, "target pid of ptrace, kill"),
    ("sig", ArgKey::Sig, "kill's signal name (`SIGKILL`)"),
    ("uid", ArgKey::Uid, "setuid family: the real (else effective) uid set; chown's uid"),
    ("gid", ArgKey::Gid, "setgid family: the real (else effective) gid set; chown's gid"),
    ("euid", ArgKey::Euid, "setresuid/setreuid's effective uid"),
    ("egid", ArgKey::Egid, "setresgid/setregid's effective gid"),
    ("cmd", ArgKey::Cmd, "bpf's command name (`BPF_PROG_LOAD`)"),
    ("fd", ArgKey::Fd, "setns's fd; open's new fd"),
    ("res", ArgKey::Res, "the return value"),
    ("dev", ArgKey::Dev, "mount's source"),
    ("source", ArgKey::Dev, "mount's source"),
    ("dir", ArgKey::Dir, "mount's and umount's mount point"),
    ("type", ArgKey::Type, "mount's filesystem type"),
    ("nstype", ArgKey::NsType, "setns's namespaces (`CLONE_NEWNET|...`)"),
    ("tuple", ArgKey::Tuple, "a socket's `lip:lport->rip:rport`"),
    ("addr", ArgKey::Tuple, "same as `tuple`"),
    ("query", ArgKey::Query, "a DNS message's queried name"),
    ("backlog", ArgKey::Backlog, "listen's backlog"),
    ("cap_effective", ArgKey::CapEffective, "capset's effective set (number)"),
    ("cap_permitted", ArgKey::CapPermitted, "capset's permitted set (number)"),
];

/// Looks a field up by name; `evt.arg.NAME` is `evt.arg` with key `NAME`.
pub fn lookup(name: &str) -> Option<(&'static FieldDef, Option<String>)> {
    if let Some(key) = name.strip_prefix("evt.arg.") {
        let def = FIELDS.iter().find(|f| f.id == FieldId::EvtArg)?;
        return Some((def, Some(key.to_string())));
    }
    if let Some(key) = name.strip_prefix("evt.rawarg.") {
        let def = FIELDS.iter().find(|f| f.id == FieldId::EvtArg)?;
        return Some((def, Some(key.to_string())));
    }
    FIELDS.iter().find(|f| f.name == name).map(|f| (f, None))
}

/// Resolves an argument key name.
pub fn arg_key(name: &str) -> Option<ArgKey> {
    ARG_KEYS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, k, _)| *k)
}

/// One extracted value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    /// Text.
    Str(&'a str),
    /// A number.
    Num(i64),
    /// A boolean.
    Bool(bool),
    /// An IP address.
    Ip(IpAddr),
    /// The event does not carry this field.
    Missing,
}

impl Val<'_> {
    /// Whether the value is present.
    pub fn present(&self) -> bool {
        !matches!(self, Val::Missing)
    }
}

/// Which derived strings the compiled rules need (set at compile time so that the
/// per-event preparation does only the work some rule can use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `proc.cmdline` / `proc.args`.
    pub cmdline: bool,
    /// `proc.pcmdline`.
    pub pcmdline: bool,
    /// Socket `fd.name` / `evt.arg.tuple`.
    pub sockname: bool,
    /// `evt.arg.flags` / `evt.arg.mode` / `evt.arg.nstype` renderings.
    pub args: bool,
    /// `thread.cap_*` renderings.
    pub caps: bool,
    /// `evt.args`.
    pub all_args: bool,
    /// `evt.time` and its text forms.
    pub time: bool,
}

impl Needs {
    /// Everything (for rendering outputs and tests).
    pub const ALL: Needs = Needs {
        cmdline: true,
        pcmdline: true,
        sockname: true,
        args: true,
        caps: true,
        all_args: true,
        time: true,
    };

    /// Everything either needs.
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            cmdline: self.cmdline || o.cmdline,
            pcmdline: self.pcmdline || o.pcmdline,
            sockname: self.sockname || o.sockname,
            args: self.args || o.args,
            caps: self.caps || o.caps,
            all_args: self.all_args || o.all_args,
            time: self.time || o.time,
        }
    }

    /// Adds what a field needs.
    pub fn add(&mut self, id: FieldId) {
        match id {
            FieldId::ProcCmdline | FieldId::ProcArgs => self.cmdline = true,
            FieldId::ProcPCmdline | FieldId::ProcAName => self.pcmdline = true,
            FieldId::FdName => self.sockname = true,
            FieldId::EvtArg => {
                self.args = true;
                self.sockname = true;
            }
            FieldId::EvtArgs => {
                self.args = true;
                self.sockname = true;
                self.all_args = true;
            }
            FieldId::ThreadCapEffective | FieldId::ThreadCapPermitted => self.caps = true,
            FieldId::EvtTimeText | FieldId::EvtDatetime | FieldId::EvtTimeIso => self.time = true,
            _ => {}
        }
    }
}

/// Per-event scratch: derived strings built once per event in reused buffers, so
/// that evaluation does not allocate once the buffers have grown.
#[derive(Debug, Default)]
pub struct Ctx {
    /// The host's name (`evt.hostname`).
    pub hostname: String,
    /// Boot time, ns since the epoch (for `proc.duration`); 0 when unknown.
    pub boot_ns: u64,
    cmdline: String,
    args_start: usize,
    pcmdline: String,
    sockname: String,
    flags: String,
    mode: String,
    nstype: String,
    container_short: String,
    cap_effective: String,
    cap_permitted: String,
    all_args: String,
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`; the other forms are slices of it.
    iso_time: String,
}

/// Writes ns since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
fn write_iso(out: &mut String, ns: u64) {
    let secs = ns / 1_000_000_000;
    let nanos = ns % 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
}

/// Capability names by number.
pub const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn push_caps(out: &mut String, mask: Option<u64>) {
    out.clear();
    if let Some(mask) = mask {
        for (i, name) in CAPS.iter().enumerate() {
            if mask & (1u64 << i) != 0 {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(name);
            }
        }
    }
}

fn args_of(ev: &Event) -> &[String] {
    match &ev.data {
        EventData::Exec { argv, .. } if ev.process.args.is_empty() => argv,
        _ => &ev.process.args,
    }
}

const MODE_BITS: [(u32, &str); 12] = [
    (0o4000, "S_ISUID"),
    (0o2000, "S_ISGID"),
    (0o1000, "S_ISVTX"),
    (0o400, "S_IRUSR"),
    (0o200, "S_IWUSR"),
    (0o100, "S_IXUSR"),
    (0o040, "S_IRGRP"),
    (0o020, "S_IWGRP"),
    (0o010, "S_IXGRP"),
    (0o004, "S_IROTH"),
    (0o002, "S_IWOTH"),
    (0o001, "S_IXOTH"),
];

fn ns_flag(name: &str) -> &str {
    match name {
        "mnt" => "CLONE_NEWNS",
        "pid" => "CLONE_NEWPID",
        "net" => "CLONE_NEWNET",
        "user" => "CLONE_NEWUSER",
        "uts" => "CLONE_NEWUTS",
        "ipc" => "CLONE_NEWIPC",
        "cgroup" => "CLONE_NEWCGROUP",
        "time" => "CLONE_NEWTIME",
        other => other,
    }
}

fn push_joined<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(item);
    }
}

fn write_addr(out: &mut String, addr: &SockAddr) {
    match addr {
        SockAddr::Inet { ip, port } | SockAddr::Inet6 { ip, port } => {
            let _ = write!(out, "{ip}:{port}");
        }
        SockAddr::Unix { path } => out.push_str(path),
        SockAddr::Other { number } => {
            let _ = write!(out, "family{number}");
        }
    }
}

/// The (local, remote, protocol) of a socket event.
fn sock(ev: &Event) -> Option<(Option<&SockAddr>, Option<&SockAddr>, Protocol)> {
    match &ev.data {
        EventData::Connect {
            protocol,
            local,
            remote,
        } => Some((local.as_ref(), Some(remote), *protocol)),
        EventData::Accept {
            protocol,
            local,
            remote,
        } => Some((local.as_ref(), remote.as_ref(), *protocol)),
        EventData::Bind { protocol, local } => Some((Some(local), None, *protocol)),
        EventData::Listen {
            protocol, local, ..
        } => Some((local.as_ref(), None, *protocol)),
        _ => None,
    }
}

/// The family-bearing address of a socket event.
fn sock_family(ev: &Event) -> Option<&SockAddr> {
    let (l, r, _) = sock(ev)?;
    r.or(l)
}

impl Ctx {
    /// A context for a host named `hostname` (boot time read from `/proc/stat`).
    pub fn new(hostname: impl Into<String>) -> Self {
        Ctx {
            hostname: hostname.into(),
            boot_ns: boot_time_ns().unwrap_or(0),
            ..Ctx::default()
        }
    }

    /// Builds the derived strings `needs` asks for, reusing the buffers.
    pub fn prepare(&mut self, ev: &Event, needs: Needs) {
        if needs.cmdline {
            self.cmdline.clear();
            self.cmdline.push_str(&ev.process.comm);
            self.args_start = self.cmdline.len();
            for arg in args_of(ev).iter().skip(1) {
                self.cmdline.push(' ');
                self.cmdline.push_str(arg);
            }
        }
        if needs.pcmdline {
            self.pcmdline.clear();
            if let Some(parent) = ev.process.ancestors.first() {
                self.pcmdline.push_str(&parent.name);
                for arg in parent.args.iter().skip(1) {
                    self.pcmdline.push(' ');
                    self.pcmdline.push_str(arg);
                }
            }
        }
        if needs.sockname {
            self.sockname.clear();
            if let Some((local, remote, _)) = sock(ev) {
                match (local, remote) {
                    (Some(SockAddr::Unix { path }), _) if !path.is_empty() => {
                        self.sockname.push_str(path)
                    }
                    (_, Some(SockAddr::Unix { path })) => self.sockname.push_str(path),
                    (local, Some(remote)) => {
                        if let Some(local) = local {
                            write_addr(&mut self.sockname, local);
                        }
                        self.sockname.push_str("->");
                        write_addr(&mut self.sockname, remote);
                    }
                    (Some(local), None) => write_addr(&mut self.sockname, local),
                    (None, None) => {}
                }
            }
        }
        if let Some(c) = &ev.container {
            self.container_short.clear();
            self.container_short
                .push_str(c.id.get(..12).unwrap_or(c.id.as_str()));
        }
        if needs.args {
            self.flags.clear();
            self.mode.clear();
            self.nstype.clear();
            match &ev.data {
                EventData::Open {
                    flag_names, mode, ..
                } => {
                    push_joined(&mut self.flags, flag_names.iter().map(String::as_str));
                    self.push_mode(*mode);
                }
                EventData::Chmod { mode, .. } | EventData::Mkdir { mode, .. } => {
                    self.push_mode(*mode)
                }
                EventData::Unshare { namespaces, .. } => {
                    push_joined(&mut self.flags, namespaces.iter().map(|n| ns_flag(n)))
                }
                EventData::Setns { namespaces, .. } => {
                    push_joined(&mut self.nstype, namespaces.iter().map(|n| ns_flag(n)))
                }
                _ => {}
            }
        }
        if needs.caps {
            push_caps(&mut self.cap_effective, ev.process.cap_effective);
            push_caps(&mut self.cap_permitted, ev.process.cap_permitted);
        }
        if needs.all_args {
            self.push_all_args(ev);
        }
        if needs.time {
            self.iso_time.clear();
            write_iso(&mut self.iso_time, ev.time_ns);
        }
    }

    fn push_all_args(&mut self, ev: &Event) {
        let mut out = std::mem::take(&mut self.all_args);
        out.clear();
        let mut seen: Vec<ArgKey> = Vec::new();
        for (name, key, _) in ARG_KEYS {
            if seen.contains(key) || *key == ArgKey::Res {
                continue;
            }
            seen.push(*key);
            let v = evt_arg(*key, ev, self);
            if v.present() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(name);
                out.push('=');
                match v {
                    Val::Str(s) => out.push_str(s),
                    Val::Num(n) => {
                        let _ = write!(out, "{n}");
                    }
                    _ => {}
                }
            }
        }
        self.all_args = out;
    }

    fn push_mode(&mut self, mode: u32) {
        push_joined(
            &mut self.mode,
            MODE_BITS
                .iter()
                .filter(|(bit, _)| mode & bit != 0)
                .map(|(_, n)| *n),
        );
    }
}

fn opt_str(s: &Option<String>) -> Val<'_> {
    match s {
        Some(s) => Val::Str(s),
        None => Val::Missing,
    }
}

fn fdtype_name(t: FdType) -> &'static str {
    match t {
        FdType::None => "none",
        FdType::File => "file",
        FdType::Directory => "directory",
        FdType::Pipe => "pipe",
        FdType::Socket => "socket",
        FdType::CharDevice => "char",
        FdType::BlockDevice => "block",
        FdType::Anon => "anon",
        FdType::Other => "other",
    }
}

/// The primary path of a filesystem event (`fs.path.name`).
pub fn fs_path(ev: &Event) -> Option<&FilePath> {
    match &ev.data {
        EventData::Open { path, .. }
        | EventData::Unlink { path, .. }
        | EventData::Chmod { path, .. }
        | EventData::Chown { path, .. }
        | EventData::Mkdir { path, .. } => Some(path),
        EventData::Module { path, .. } => path.as_ref(),
        EventData::Mount { target, .. } | EventData::Umount { target, .. } => Some(target),
        EventData::Rename { to, .. } => Some(to),
        EventData::Link { path, .. } | EventData::Symlink { path, .. } => Some(path),
        _ => None,
    }
}

fn open_flags(ev: &Event) -> Option<u32> {
    match &ev.data {
        EventData::Open { flags, .. } => Some(*flags),
        _ => None,
    }
}

const O_ACCMODE: u32 = 3;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;

fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Image reference without tag or digest.
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

fn image_tag(image: &str) -> Option<&str> {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => Some(&no_digest[i + 1..]),
        _ => None,
    }
}

fn ancestor(ev: &Event, n: usize) -> Option<(&str, Option<&str>, Option<&str>, u32)> {
    if n == 0 {
        let p = &ev.process;
        let exe = match &ev.data {
            EventData::Exec { filename, .. } if p.exe.is_none() => Some(filename.path.as_str()),
            _ => p.exe.as_deref(),
        };
        return Some((&p.comm, args_of(ev).first().map(String::as_str), exe, p.pid));
    }
    let a = ev.process.ancestors.get(n - 1)?;
    Some((
        &a.name,
        a.args.first().map(String::as_str),
        a.exe.as_deref(),
        a.pid,
    ))
}

fn ip_of(a: Option<&SockAddr>) -> Val<'static> {
    a.and_then(SockAddr::ip).map_or(Val::Missing, Val::Ip)
}

fn port_of(a: Option<&SockAddr>) -> Val<'static> {
    a.and_then(SockAddr::port)
        .map_or(Val::Missing, |p| Val::Num(i64::from(p)))
}

/// Extracts one value of a field. `index` walks the values of a multi-valued field
/// (an ancestor field without an index, `fd.ip`, `fd.port`, `fd.types`); single-valued
/// fields answer only index 0. Returns [`Val::Missing`] past the last value.
pub fn extract<'a>(
    id: FieldId,
    arg: &FieldArg,
    index: usize,
    ev: &'a Event,
    ctx: &'a Ctx,
) -> Val<'a> {
    let p = &ev.process;
    let multi = matches!(
        (id, arg),
        (
            FieldId::ProcAName
                | FieldId::ProcAPid
                | FieldId::ProcAExe
                | FieldId::ProcAExePath
                | FieldId::FdTypes,
            FieldArg::None
        ) | (FieldId::FdIp | FieldId::FdPort | FieldId::FdNet, _)
    );
    if index > 0 && !multi {
        return Val::Missing;
    }
    match id {
        FieldId::EvtType => Val::Str(&ev.syscall),
        FieldId::EvtDir => Val::Str("<"),
        FieldId::EvtNum => Val::Num(ev.seq as i64),
        FieldId::EvtTime => Val::Num(ev.time_ns as i64),
        FieldId::EvtTimeIso => Val::Str(&ctx.iso_time),
        FieldId::EvtTimeText => Val::Str(ctx.iso_time.get(11..29).unwrap_or("")),
        // A slice of the ISO text (no allocation): date `T` time, without the `Z`.
        FieldId::EvtDatetime => Val::Str(ctx.iso_time.get(..29).unwrap_or("")),
        FieldId::EvtRes => match (ev.result, &ev.errno) {
            (Some(r), _) if r >= 0 => Val::Str("SUCCESS"),
            (Some(_), Some(e)) => Val::Str(e),
            _ => Val::Missing,
        },
        FieldId::EvtRawRes => ev.result.map_or(Val::Missing, Val::Num),
        FieldId::EvtFailed => Val::Bool(ev.failed()),
        FieldId::EvtIsOpenRead => open_flags(ev).map_or(Val::Missing, |f| {
            let acc = f & O_ACCMODE;
            Val::Bool(acc == 0 || acc == O_RDWR)
        }),
        FieldId::EvtIsOpenWrite => open_flags(ev).map_or(Val::Missing, |f| {
            let acc = f & O_ACCMODE;
            Val::Bool(acc == O_WRONLY || acc == O_RDWR)
        }),
        FieldId::EvtIsOpenExec => match &ev.data {
            EventData::Open { flags, mode, .. } => {
                Val::Bool(flags & O_CREAT != 0 && mode & 0o111 != 0)
            }
            _ => Val::Missing,
        },
        FieldId::EvtHostname => Val::Str(&ctx.hostname),
        FieldId::EvtSource => Val::Str("syscall"),
        FieldId::EvtArg => match arg {
            FieldArg::Key(k) => evt_arg(*k, ev, ctx),
            _ => Val::Missing,
        },
        FieldId::ProcPid => Val::Num(i64::from(p.pid)),
        FieldId::ProcTid => Val::Num(i64::from(p.tid)),
        FieldId::ProcPpid => Val::Num(i64::from(p.ppid)),
        FieldId::ProcName => Val::Str(&p.comm),
        FieldId::ProcExe => args_of(ev).first().map_or(Val::Missing, |s| Val::Str(s)),
        FieldId::ProcExePath => match ancestor(ev, 0) {
            Some((_, _, Some(exe), _)) => Val::Str(exe),
            _ => Val::Missing,
        },
        FieldId::ProcCmdline => Val::Str(&ctx.cmdline),
        FieldId::ProcArgs => Val::Str(
            ctx.cmdline
                .get(ctx.args_start..)
                .map(|s| s.strip_prefix(' ').unwrap_or(s))
                .unwrap_or(""),
        ),
        FieldId::ProcCwd => opt_str(&p.cwd),
        FieldId::ProcTty => Val::Num(i64::from(p.tty)),
        FieldId::ProcPName => p
            .ancestors
            .first()
            .map_or(Val::Missing, |a| Val::Str(&a.name)),
        FieldId::ProcPExe => p
            .ancestors
            .first()
            .and_then(|a| a.args.first())
            .map_or(Val::Missing, |s| Val::Str(s)),
        FieldId::ProcPExePath => p
            .ancestors
            .first()
            .and_then(|a| a.exe.as_deref())
            .map_or(Val::Missing, Val::Str),
        FieldId::ProcPCmdline => {
            if p.ancestors.is_empty() {
                Val::Missing
            } else {
                Val::Str(&ctx.pcmdline)
            }
        }
        FieldId::ProcAName | FieldId::ProcAPid | FieldId::ProcAExe | FieldId::ProcAExePath => {
            let n = match arg {
                FieldArg::Index(n) => *n,
                _ => index + 1,
            };
            match ancestor(ev, n) {
                None => Val::Missing,
                Some((name, argv0, exe, pid)) => match id {
                    FieldId::ProcAName => Val::Str(name),
                    FieldId::ProcAPid => Val::Num(i64::from(pid)),
                    FieldId::ProcAExe => argv0.map_or(Val::Missing, Val::Str),
                    _ => exe.map_or(Val::Missing, Val::Str),
                },
            }
        }
        FieldId::ProcIsExeUpperLayer
        | FieldId::ProcIsExeFromMemfd
        | FieldId::ProcIsExeDeleted
        | FieldId::ProcExeIno
        | FieldId::ProcStdinType
        | FieldId::ProcStdoutType
        | FieldId::ProcStderrType
        | FieldId::FdTypes => match &ev.data {
            EventData::Exec {
                exe_upper_layer,
                exe_memfd,
                exe_deleted,
                exe_ino,
                stdio,
                ..
            } => match id {
                FieldId::ProcIsExeUpperLayer => Val::Bool(*exe_upper_layer),
                FieldId::ProcIsExeFromMemfd => Val::Bool(*exe_memfd),
                FieldId::ProcIsExeDeleted => Val::Bool(*exe_deleted),
                FieldId::ProcExeIno => Val::Num(*exe_ino as i64),
                FieldId::ProcStdinType => Val::Str(fdtype_name(stdio[0])),
                FieldId::ProcStdoutType => Val::Str(fdtype_name(stdio[1])),
                FieldId::ProcStderrType => Val::Str(fdtype_name(stdio[2])),
                _ => {
                    let n = match arg {
                        FieldArg::Index(n) => *n,
                        _ => index,
                    };
                    stdio
                        .get(n)
                        .map_or(Val::Missing, |t| Val::Str(fdtype_name(*t)))
                }
            },
            _ => Val::Missing,
        },
        FieldId::UserUid => Val::Num(i64::from(p.uid)),
        FieldId::UserEuid => Val::Num(i64::from(p.euid)),
        FieldId::UserName => opt_str(&p.user),
        FieldId::UserLoginUid => Val::Num(p.loginuid.map_or(-1, i64::from)),
        FieldId::GroupGid => Val::Num(i64::from(p.gid)),
        FieldId::GroupName => opt_str(&p.group),
        FieldId::ContainerId => match &ev.container {
            Some(_) => Val::Str(&ctx.container_short),
            None => Val::Str("host"),
        },
        FieldId::ContainerName => match &ev.container {
            Some(c) => opt_str(&c.name),
            None => Val::Str("host"),
        },
        FieldId::ContainerImage => ev
            .container
            .as_ref()
            .and_then(|c| c.image.as_deref())
            .map_or(Val::Missing, Val::Str),
        FieldId::ContainerImageRepository => ev
            .container
            .as_ref()
            .and_then(|c| c.image.as_deref())
            .map_or(Val::Missing, |i| Val::Str(image_repository(i))),
        FieldId::ContainerImageTag => ev
            .container
            .as_ref()
            .and_then(|c| c.image.as_deref())
            .and_then(image_tag)
            .map_or(Val::Missing, Val::Str),
        FieldId::ContainerImageId => ev
            .container
            .as_ref()
            .and_then(|c| c.image_id.as_deref())
            .map_or(Val::Missing, Val::Str),
        FieldId::ContainerType => ev.container.as_ref().map_or(Val::Missing, |c| {
            Val::Str(match c.runtime {
                garrison_event::Runtime::Podman => "podman",
                garrison_event::Runtime::Docker => "docker",
                garrison_event::Runtime::Containerd => "containerd",
                garrison_event::Runtime::Crio => "cri-o",
                garrison_event::Runtime::Runc => "runc",
                garrison_event::Runtime::Unknown => "unknown",
            })
        }),
        FieldId::K8sNsName | FieldId::K8sPodName | FieldId::K8sPodUid => {
            let pod = ev.container.as_ref().and_then(|c| c.pod.as_ref());
            match (id, pod) {
                (FieldId::K8sNsName, Some(pod)) => opt_str(&pod.namespace),
                (FieldId::K8sPodName, Some(pod)) => opt_str(&pod.name),
                (FieldId::K8sPodUid, Some(pod)) => Val::Str(&pod.uid),
                _ => Val::Missing,
            }
        }
        FieldId::FdNum => match (&ev.data, ev.result) {
            (EventData::Open { .. }, Some(r)) if r >= 0 => Val::Num(r),
            _ => Val::Missing,
        },
        FieldId::FdName => match &ev.data {
            EventData::Open { path, .. } => Val::Str(&path.path),
            _ if sock(ev).is_some() => Val::Str(&ctx.sockname),
            _ => Val::Missing,
        },
        FieldId::FdNameRaw => match &ev.data {
            EventData::Open { path, .. } => Val::Str(path.raw.as_deref().unwrap_or(&path.path)),
            _ => Val::Missing,
        },
        FieldId::FdDirectory => match &ev.data {
            EventData::Open { path, .. } => Val::Str(dirname(&path.path)),
            _ => Val::Missing,
        },
        FieldId::FdFilename => match &ev.data {
            EventData::Open { path, .. } => Val::Str(basename(&path.path)),
            _ => Val::Missing,
        },
        FieldId::FdTypeChar | FieldId::FdType | FieldId::FdSockFamily => {
            let (c, t, fam) = match &ev.data {
                EventData::Open { .. } => ("f", "file", None),
                _ => match sock_family(ev) {
                    Some(SockAddr::Inet { .. }) => ("4", "ipv4", Some("ip")),
                    Some(SockAddr::Inet6 { .. }) => ("6", "ipv6", Some("ip")),
                    Some(SockAddr::Unix { .. }) => ("u", "unix", Some("unix")),
                    Some(SockAddr::Other { .. }) => ("o", "unknown", None),
                    None => return Val::Missing,
                },
            };
            match id {
                FieldId::FdTypeChar => Val::Str(c),
                FieldId::FdType => Val::Str(t),
                _ => fam.map_or(Val::Missing, Val::Str),
            }
        }
        FieldId::FdRip
        | FieldId::FdRport
        | FieldId::FdLip
        | FieldId::FdLport
        | FieldId::FdSip
        | FieldId::FdSport
        | FieldId::FdCip
        | FieldId::FdCport
        | FieldId::FdIp
        | FieldId::FdPort
        | FieldId::FdL4Proto => {
            let Some((local, remote, proto)) = sock(ev) else {
                return Val::Missing;
            };
            let (server, client) = match &ev.data {
                EventData::Connect { .. } => (remote, local),
                _ => (local, remote),
            };
            match id {
                FieldId::FdRip => ip_of(remote),
                FieldId::FdRport => port_of(remote),
                FieldId::FdLip => ip_of(local),
                FieldId::FdLport => port_of(local),
                FieldId::FdSip => ip_of(server),
                FieldId::FdSport => port_of(server),
                FieldId::FdCip => ip_of(client),
                FieldId::FdCport => port_of(client),
                FieldId::FdIp => ip_of(if index == 0 {
                    server
                } else if index == 1 {
                    client
                } else {
                    None
                }),
                FieldId::FdPort => port_of(if index == 0 {
                    server
                } else if index == 1 {
                    client
                } else {
                    None
                }),
                _ => match proto {
                    Protocol::Tcp => Val::Str("tcp"),
                    Protocol::Udp => Val::Str("udp"),
                    Protocol::Other => Val::Missing,
                },
            }
        }
        FieldId::FdNet | FieldId::FdSnet | FieldId::FdRnet | FieldId::FdLnet | FieldId::FdCnet => {
            let Some((local, remote, _)) = sock(ev) else {
                return Val::Missing;
            };
            let (server, client) = match &ev.data {
                EventData::Connect { .. } => (remote, local),
                _ => (local, remote),
            };
            match id {
                FieldId::FdNet => ip_of(if index == 0 {
                    server
                } else if index == 1 {
                    client
                } else {
                    None
                }),
                FieldId::FdSnet => ip_of(server),
                FieldId::FdCnet => ip_of(client),
                FieldId::FdRnet => ip_of(remote),
                _ => ip_of(local),
            }
        }
        FieldId::FdConnected => match &ev.data {
            EventData::Connect { .. } | EventData::Accept { .. } => {
                Val::Bool(ev.result.is_some_and(|r| r >= 0))
            }
            _ if sock(ev).is_some() => Val::Bool(false),
            _ => Val::Missing,
        },
        FieldId::EvtArgs => Val::Str(&ctx.all_args),
        FieldId::FdNameChanged => match &ev.data {
            EventData::Connect { .. } | EventData::Accept { .. } => Val::Bool(true),
            _ if sock(ev).is_some() => Val::Bool(false),
            _ => Val::Missing,
        },
        FieldId::ProcDuration => match (p.start_ns, ctx.boot_ns) {
            (Some(start), boot) if boot > 0 => {
                Val::Num(ev.time_ns.saturating_sub(boot.saturating_add(start)) as i64)
            }
            _ => Val::Missing,
        },
        FieldId::ProcVpid => p.vpid.map_or(Val::Missing, |v| Val::Num(i64::from(v))),
        FieldId::ProcSname => opt_str(&p.sname),
        FieldId::UserLoginName => opt_str(&p.loginname),
        FieldId::ThreadCapEffective => p
            .cap_effective
            .map_or(Val::Missing, |_| Val::Str(&ctx.cap_effective)),
        FieldId::ThreadCapPermitted => p
            .cap_permitted
            .map_or(Val::Missing, |_| Val::Str(&ctx.cap_permitted)),
        FieldId::ContainerPrivileged => ev
            .container
            .as_ref()
            .and_then(|c| c.privileged)
            .map_or(Val::Missing, Val::Bool),
        FieldId::ContainerStartTs => ev
            .container
            .as_ref()
            .and_then(|c| c.start_ns)
            .map_or(Val::Missing, |t| Val::Num(t as i64)),
        FieldId::FsPathName => fs_path(ev).map_or(Val::Missing, |p| Val::Str(&p.path)),
        FieldId::FsPathSource => match &ev.data {
            EventData::Rename { from, .. } => Val::Str(&from.path),
            EventData::Link { target, .. } => Val::Str(&target.path),
            EventData::Symlink { target, .. } => Val::Str(target),
            _ => Val::Missing,
        },
        FieldId::FsPathTarget => match &ev.data {
            EventData::Rename { to, .. } => Val::Str(&to.path),
            EventData::Link { path, .. } | EventData::Symlink { path, .. } => Val::Str(&path.path),
            _ => Val::Missing,
        },
        FieldId::DnsQuery => match &ev.data {
            EventData::Dns { query, .. } => Val::Str(query),
            _ => Val::Missing,
        },
    }
}

fn num(n: impl Into<i64>) -> Val<'static> {
    Val::Num(n.into())
}

fn nonempty(s: &str) -> Val<'_> {
    if s.is_empty() {
        Val::Missing
    } else {
        Val::Str(s)
    }
}

fn evt_arg<'a>(key: ArgKey, ev: &'a Event, ctx: &'a Ctx) -> Val<'a> {
    use EventData as D;
    match (key, &ev.data) {
        (ArgKey::Res, _) => ev.result.map_or(Val::Missing, Val::Num),
        (ArgKey::Name | ArgKey::Path, D::Open { path, .. } | D::Unlink { path, .. }) => {
            Val::Str(&path.path)
        }
        (
            ArgKey::Path | ArgKey::Filename,
            D::Chmod { path, .. } | D::Chown { path, .. } | D::Mkdir { path, .. },
        ) => Val::Str(&path.path),
        (ArgKey::Name, D::MemfdCreate { name, .. }) => Val::Str(name),
        (ArgKey::Name, D::Module { name, path, .. }) => name
            .as_deref()
            .or(path.as_ref().map(|p| p.path.as_str()))
            .map_or(Val::Missing, Val::Str),
        (ArgKey::Path | ArgKey::Filename, D::Module { path: Some(p), .. }) => Val::Str(&p.path),
        (ArgKey::Name | ArgKey::Dir | ArgKey::Target, D::Umount { target, .. }) => {
            Val::Str(&target.path)
        }
        (ArgKey::Filename | ArgKey::Path, D::Exec { filename, .. }) => Val::Str(&filename.path),
        (ArgKey::OldPath, D::Rename { from, .. }) => Val::Str(&from.path),
        (ArgKey::NewPath, D::Rename { to, .. }) => Val::Str(&to.path),
        (ArgKey::OldPath, D::Link { target, .. }) => Val::Str(&target.path),
        (ArgKey::NewPath, D::Link { path, .. }) => Val::Str(&path.path),
        (ArgKey::Target, D::Symlink { target, .. }) => Val::Str(target),
        (ArgKey::LinkPath, D::Symlink { path, .. }) => Val::Str(&path.path),
        (ArgKey::Flags, D::Open { .. } | D::Unshare { .. }) => Val::Str(&ctx.flags),
        (ArgKey::Flags, D::Mount { flags, .. }) => Val::Num(*flags as i64),
        (
            ArgKey::Flags,
            D::Umount { flags, .. } | D::MemfdCreate { flags, .. } | D::Rename { flags, .. },
        ) => num(*flags),
        (ArgKey::Mode, D::Open { .. } | D::Chmod { .. } | D::Mkdir { .. }) => Val::Str(&ctx.mode),
        (ArgKey::Request, D::Ptrace { request_name, .. }) => Val::Str(request_name),
        (ArgKey::Pid, D::Ptrace { target_pid, .. } | D::Kill { target_pid, .. }) => {
            num(*target_pid)
        }
        (ArgKey::Sig, D::Kill { signal_name, .. }) => Val::Str(signal_name),
        (ArgKey::Uid, D::SetId { uid, euid, .. }) => uid.or(*euid).map_or(Val::Missing, num),
        (ArgKey::Euid, D::SetId { euid, .. }) => euid.map_or(Val::Missing, num),
        (ArgKey::Gid, D::SetId { gid, egid, .. }) => gid.or(*egid).map_or(Val::Missing, num),
        (ArgKey::Egid, D::SetId { egid, .. }) => egid.map_or(Val::Missing, num),
        (ArgKey::Uid, D::Chown { uid, .. }) => num(*uid),
        (ArgKey::Gid, D::Chown { gid, .. }) => num(*gid),
        (ArgKey::Cmd, D::Bpf { cmd_name, .. }) => Val::Str(cmd_name),
        (ArgKey::Fd, D::Setns { fd, .. }) => num(*fd),
        (ArgKey::Fd, D::Open { .. }) => {
            ev.result.filter(|r| *r >= 0).map_or(Val::Missing, Val::Num)
        }
        (ArgKey::Dev, D::Mount { source, .. }) => Val::Str(source),
        (ArgKey::Dir | ArgKey::Target, D::Mount { target, .. }) => Val::Str(&target.path),
        (ArgKey::Type, D::Mount { fstype, .. }) => Val::Str(fstype),
        (ArgKey::NsType, D::Setns { .. }) => Val::Str(&ctx.nstype),
        (ArgKey::Tuple, _) if sock(ev).is_some() => nonempty(&ctx.sockname),
        (ArgKey::Query, D::Dns { query, .. }) => Val::Str(query),
        (ArgKey::Backlog, D::Listen { backlog, .. }) => num(*backlog),
        (ArgKey::CapEffective, D::Capset { effective, .. }) => Val::Num(*effective as i64),
        (ArgKey::CapPermitted, D::Capset { permitted, .. }) => Val::Num(*permitted as i64),
        _ => Val::Missing,
    }
}

/// Boot time from `/proc/stat` (`btime`), ns since the epoch.
pub fn boot_time_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    let secs: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    secs.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::sample;
    use garrison_event::EventKind;

    fn get<'a>(name: &str, ev: &'a Event, ctx: &'a Ctx) -> Val<'a> {
        let (def, key) = lookup(name).unwrap();
        let arg = match key {
            Some(k) => FieldArg::Key(arg_key(&k).unwrap()),
            None => FieldArg::None,
        };
        extract(def.id, &arg, 0, ev, ctx)
    }

    #[test]
    fn exec_fields_follow_falco_meanings() {
        let ev = sample(EventKind::Exec);
        let mut ctx = Ctx::new("node1");
        ctx.prepare(&ev, Needs::ALL);
        assert_eq!(get("proc.name", &ev, &ctx), Val::Str("bash"));
        assert_eq!(get("proc.cmdline", &ev, &ctx), Val::Str("bash -c id"));
        assert_eq!(get("proc.args", &ev, &ctx), Val::Str("-c id"));
        assert_eq!(get("proc.exe", &ev, &ctx), Val::Str("bash"));
        assert_eq!(get("proc.exepath", &ev, &ctx), Val::Str("/usr/bin/bash"));
        assert_eq!(get("proc.pname", &ev, &ctx), Val::Str("nginx"));
        assert_eq!(
            get("proc.pcmdline", &ev, &ctx),
            Val::Str("nginx -g daemon off;")
        );
        assert_eq!(get("container.id", &ev, &ctx), Val::Str("0123456789ab"));
        assert_eq!(
            get("container.image.repository", &ev, &ctx),
            Val::Str("docker.io/library/nginx")
        );
        assert_eq!(get("container.image.tag", &ev, &ctx), Val::Str("1.25"));
        assert_eq!(get("proc.stdin.type", &ev, &ctx), Val::Str("socket"));
        assert_eq!(get("evt.res", &ev, &ctx), Val::Str("SUCCESS"));
        assert_eq!(get("fd.name", &ev, &ctx), Val::Missing);
        let (def, _) = lookup("proc.aname").unwrap();
        assert_eq!(
            extract(def.id, &FieldArg::Index(0), 0, &ev, &ctx),
            Val::Str("bash")
        );
        assert_eq!(
            extract(def.id, &FieldArg::Index(2), 0, &ev, &ctx),
            Val::Str("containerd-shim")
        );
        assert_eq!(
            extract(def.id, &FieldArg::None, 1, &ev, &ctx),
            Val::Str("containerd-shim")
        );
    }

    #[test]
    fn socket_and_open_fields() {
        let ev = sample(EventKind::Connect);
        let mut ctx = Ctx::new("node1");
        ctx.prepare(&ev, Needs::ALL);
        assert_eq!(
            get("fd.name", &ev, &ctx),
            Val::Str("10.0.0.2:40000->169.254.169.254:80")
        );
        assert_eq!(get("fd.sport", &ev, &ctx), Val::Num(80));
        assert_eq!(get("fd.cport", &ev, &ctx), Val::Num(40000));
        assert_eq!(get("fd.typechar", &ev, &ctx), Val::Str("4"));
        assert_eq!(get("fd.l4proto", &ev, &ctx), Val::Str("tcp"));
        let ev = sample(EventKind::Open);
        ctx.prepare(&ev, Needs::ALL);
        assert_eq!(get("fd.directory", &ev, &ctx), Val::Str("/etc"));
        assert_eq!(get("fd.filename", &ev, &ctx), Val::Str("passwd"));
        assert_eq!(
            get("evt.arg.flags", &ev, &ctx),
            Val::Str("O_WRONLY|O_CREAT|O_TRUNC")
        );
        assert_eq!(get("evt.is_open_write", &ev, &ctx), Val::Bool(true));
        assert_eq!(get("evt.is_open_read", &ev, &ctx), Val::Bool(false));
        let ev = sample(EventKind::Chmod);
        ctx.prepare(&ev, Needs::ALL);
        assert_eq!(
            get("evt.arg.mode", &ev, &ctx),
            Val::Str("S_ISUID|S_IRUSR|S_IWUSR|S_IXUSR|S_IRGRP|S_IXGRP|S_IROTH|S_IXOTH")
        );
    }

    #[test]
    fn image_references_split() {
        assert_eq!(image_repository("quay.io/a/b:1@sha256:ab"), "quay.io/a/b");
        assert_eq!(image_repository("localhost:5000/x"), "localhost:5000/x");
        assert_eq!(image_tag("localhost:5000/x"), None);
    }
}
