//! Names for the numbers the kernel reports: syscalls (x86-64), errnos, signals,
//! ptrace requests, bpf commands, namespace and open flags.

/// The syscalls the sensor traces, by x86-64 number.
pub const SYSCALLS: &[(u32, &str)] = &[
    (0, "read"),
    (1, "write"),
    (19, "readv"),
    (20, "writev"),
    (2, "open"),
    (42, "connect"),
    (43, "accept"),
    (44, "sendto"),
    (45, "recvfrom"),
    (46, "sendmsg"),
    (47, "recvmsg"),
    (49, "bind"),
    (50, "listen"),
    (56, "clone"),
    (57, "fork"),
    (58, "vfork"),
    (59, "execve"),
    (62, "kill"),
    (82, "rename"),
    (83, "mkdir"),
    (84, "rmdir"),
    (85, "creat"),
    (86, "link"),
    (87, "unlink"),
    (88, "symlink"),
    (90, "chmod"),
    (91, "fchmod"),
    (92, "chown"),
    (93, "fchown"),
    (94, "lchown"),
    (101, "ptrace"),
    (105, "setuid"),
    (106, "setgid"),
    (113, "setreuid"),
    (114, "setregid"),
    (117, "setresuid"),
    (119, "setresgid"),
    (122, "setfsuid"),
    (123, "setfsgid"),
    (126, "capset"),
    (165, "mount"),
    (166, "umount2"),
    (175, "init_module"),
    (176, "delete_module"),
    (200, "tkill"),
    (234, "tgkill"),
    (257, "openat"),
    (258, "mkdirat"),
    (260, "fchownat"),
    (263, "unlinkat"),
    (264, "renameat"),
    (265, "linkat"),
    (266, "symlinkat"),
    (268, "fchmodat"),
    (272, "unshare"),
    (288, "accept4"),
    (307, "sendmmsg"),
    (308, "setns"),
    (313, "finit_module"),
    (316, "renameat2"),
    (319, "memfd_create"),
    (321, "bpf"),
    (322, "execveat"),
    (435, "clone3"),
    (437, "openat2"),
    (452, "fchmodat2"),
];

/// The name of syscall `nr`, or `syscall_<nr>`.
pub fn syscall_name(nr: u32) -> String {
    SYSCALLS
        .iter()
        .find(|(n, _)| *n == nr)
        .map(|(_, s)| s.to_string())
        .unwrap_or_else(|| format!("syscall_{nr}"))
}

/// Syscall numbers by name (for the interest maps).
pub fn syscall_nr(name: &str) -> Option<u32> {
    SYSCALLS.iter().find(|(_, s)| *s == name).map(|(n, _)| *n)
}

const ERRNOS: &[&str] = &[
    "",
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
];

/// The errno name of a negative syscall result (`-13` → `EACCES`).
pub fn errno_name(ret: i64) -> Option<String> {
    if ret >= 0 {
        return None;
    }
    let e = ret.unsigned_abs();
    let named = match e {
        0..=40 => ERRNOS.get(e as usize).map(|s| s.to_string()),
        61 => Some("ENODATA".into()),
        88 => Some("ENOTSOCK".into()),
        95 => Some("EOPNOTSUPP".into()),
        97 => Some("EAFNOSUPPORT".into()),
        98 => Some("EADDRINUSE".into()),
        99 => Some("EADDRNOTAVAIL".into()),
        101 => Some("ENETUNREACH".into()),
        104 => Some("ECONNRESET".into()),
        110 => Some("ETIMEDOUT".into()),
        111 => Some("ECONNREFUSED".into()),
        113 => Some("EHOSTUNREACH".into()),
        115 => Some("EINPROGRESS".into()),
        _ => None,
    };
    Some(named.unwrap_or_else(|| format!("E{e}")))
}

const SIGNALS: &[&str] = &[
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// A signal's name (`9` → `SIGKILL`; real-time signals as `SIGRTMIN+n`).
pub fn signal_name(sig: i32) -> String {
    match sig {
        0..=31 => SIGNALS
            .get(sig as usize)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        32..=64 => format!("SIGRTMIN+{}", sig - 32),
        _ => format!("SIG{sig}"),
    }
}

/// A ptrace request's name.
pub fn ptrace_request_name(req: i64) -> String {
    match req {
        0 => "PTRACE_TRACEME",
        1 => "PTRACE_PEEKTEXT",
        2 => "PTRACE_PEEKDATA",
        3 => "PTRACE_PEEKUSER",
        4 => "PTRACE_POKETEXT",
        5 => "PTRACE_POKEDATA",
        6 => "PTRACE_POKEUSER",
        7 => "PTRACE_CONT",
        8 => "PTRACE_KILL",
        9 => "PTRACE_SINGLESTEP",
        12 => "PTRACE_GETREGS",
        13 => "PTRACE_SETREGS",
        16 => "PTRACE_ATTACH",
        17 => "PTRACE_DETACH",
        24 => "PTRACE_SYSCALL",
        0x4200 => "PTRACE_SETOPTIONS",
        0x4206 => "PTRACE_SEIZE",
        0x4207 => "PTRACE_INTERRUPT",
        _ => return format!("PTRACE_{req}"),
    }
    .to_string()
}

/// A bpf() command's name.
pub fn bpf_cmd_name(cmd: i32) -> String {
    const NAMES: &[&str] = &[
        "BPF_MAP_CREATE",
        "BPF_MAP_LOOKUP_ELEM",
        "BPF_MAP_UPDATE_ELEM",
        "BPF_MAP_DELETE_ELEM",
        "BPF_MAP_GET_NEXT_KEY",
        "BPF_PROG_LOAD",
        "BPF_OBJ_PIN",
        "BPF_OBJ_GET",
        "BPF_PROG_ATTACH",
        "BPF_PROG_DETACH",
        "BPF_PROG_TEST_RUN",
        "BPF_PROG_GET_NEXT_ID",
        "BPF_MAP_GET_NEXT_ID",
        "BPF_PROG_GET_FD_BY_ID",
        "BPF_MAP_GET_FD_BY_ID",
        "BPF_OBJ_GET_INFO_BY_FD",
        "BPF_PROG_QUERY",
        "BPF_RAW_TRACEPOINT_OPEN",
        "BPF_BTF_LOAD",
        "BPF_BTF_GET_FD_BY_ID",
        "BPF_TASK_FD_QUERY",
        "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        "BPF_MAP_FREEZE",
        "BPF_BTF_GET_NEXT_ID",
        "BPF_MAP_LOOKUP_BATCH",
        "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        "BPF_MAP_UPDATE_BATCH",
        "BPF_MAP_DELETE_BATCH",
        "BPF_LINK_CREATE",
        "BPF_LINK_UPDATE",
        "BPF_LINK_GET_FD_BY_ID",
        "BPF_LINK_GET_NEXT_ID",
        "BPF_ENABLE_STATS",
        "BPF_ITER_CREATE",
        "BPF_LINK_DETACH",
        "BPF_PROG_BIND_MAP",
        "BPF_TOKEN_CREATE",
    ];
    usize::try_from(cmd)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("BPF_CMD_{cmd}"))
}

/// Namespace names of `CLONE_NEW*` bits.
pub fn namespaces(flags: u64) -> Vec<String> {
    const NS: &[(u64, &str)] = &[
        (0x0000_0080, "time"),
        (0x0002_0000, "mnt"),
        (0x0200_0000, "cgroup"),
        (0x0400_0000, "uts"),
        (0x0800_0000, "ipc"),
        (0x1000_0000, "user"),
        (0x2000_0000, "pid"),
        (0x4000_0000, "net"),
    ];
    NS.iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// `O_*` names of open flags.
pub fn open_flag_names(flags: u32) -> Vec<String> {
    let mut out = vec![match flags & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    }
    .to_string()];
    const BITS: &[(u32, &str)] = &[
        (0o100, "O_CREAT"),
        (0o200, "O_EXCL"),
        (0o400, "O_NOCTTY"),
        (0o1000, "O_TRUNC"),
        (0o2000, "O_APPEND"),
        (0o4000, "O_NONBLOCK"),
        (0o10000, "O_DSYNC"),
        (0o40000, "O_DIRECT"),
        (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
        (0o1000000, "O_NOATIME"),
        (0o2000000, "O_CLOEXEC"),
        (0o10000000, "O_PATH"),
        (0o20000000, "O_TMPFILE"),
    ];
    for (bit, name) in BITS {
        // O_TMPFILE includes O_DIRECTORY's bit
        if flags & bit == *bit {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(syscall_name(257), "openat");
        assert_eq!(syscall_name(9999), "syscall_9999");
        assert_eq!(syscall_nr("execveat"), Some(322));
        assert_eq!(errno_name(-13).as_deref(), Some("EACCES"));
        assert_eq!(errno_name(-111).as_deref(), Some("ECONNREFUSED"));
        assert_eq!(errno_name(-500).as_deref(), Some("E500"));
        assert_eq!(errno_name(0), None);
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(34), "SIGRTMIN+2");
        assert_eq!(ptrace_request_name(16), "PTRACE_ATTACH");
        assert_eq!(bpf_cmd_name(5), "BPF_PROG_LOAD");
        assert_eq!(bpf_cmd_name(-1), "BPF_CMD_-1");
        assert_eq!(namespaces(0x4002_0000), vec!["mnt", "net"]);
        assert_eq!(
            open_flag_names(0o1101),
            vec!["O_WRONLY", "O_CREAT", "O_TRUNC"]
        );
    }
}
