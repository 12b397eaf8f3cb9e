//! One fully populated example event per kind: the field table's "provided by"
//! column is computed from these, and tests and the benchmark start from them.

use garrison_event::*;
use std::net::{IpAddr, Ipv4Addr};

fn path(p: &str) -> FilePath {
    FilePath {
        path: p.into(),
        host_path: None,
        resolution: Resolution::Kernel,
        raw: None,
    }
}

fn inet(a: [u8; 4], port: u16) -> SockAddr {
    SockAddr::Inet {
        ip: IpAddr::V4(Ipv4Addr::from(a)),
        port,
    }
}

/// A containerized `bash -c id` under nginx, doing something of `kind`.
pub fn sample(kind: EventKind) -> Event {
    let (syscall, data) = match kind {
        EventKind::Exec => (
            "execve",
            EventData::Exec {
                filename: path("/usr/bin/bash"),
                argv: vec!["bash".into(), "-c".into(), "id".into()],
                argv_truncated: false,
                exe_dev: 0x2f,
                exe_ino: 4242,
                exe_memfd: false,
                exe_deleted: false,
                exe_upper_layer: false,
                stdio: [FdType::Socket, FdType::Socket, FdType::Pipe],
            },
        ),
        EventKind::Fork => (
            "clone",
            EventData::Fork {
                child_pid: 101,
                child_tid: 101,
                thread: false,
            },
        ),
        EventKind::Exit => (
            "procexit",
            EventData::Exit {
                code: 0,
                signal: None,
                core_dumped: false,
            },
        ),
        EventKind::Open => (
            "openat",
            EventData::Open {
                path: path("/etc/passwd"),
                flags: 0o1101,
                mode: 0o644,
                flag_names: vec!["O_WRONLY".into(), "O_CREAT".into(), "O_TRUNC".into()],
                created: Some(false),
            },
        ),
        EventKind::Unlink => (
            "unlinkat",
            EventData::Unlink {
                path: path("/var/log/auth.log"),
                directory: false,
            },
        ),
        EventKind::Rename => (
            "renameat2",
            EventData::Rename {
                from: path("/tmp/x"),
                to: path("/usr/bin/x"),
                flags: 0,
            },
        ),
        EventKind::Chmod => (
            "fchmodat",
            EventData::Chmod {
                path: path("/tmp/x"),
                mode: 0o4755,
            },
        ),
        EventKind::Chown => (
            "fchownat",
            EventData::Chown {
                path: path("/tmp/x"),
                uid: 0,
                gid: 0,
            },
        ),
        EventKind::Link => (
            "linkat",
            EventData::Link {
                target: path("/etc/shadow"),
                path: path("/tmp/s"),
            },
        ),
        EventKind::Symlink => (
            "symlinkat",
            EventData::Symlink {
                target: "/etc/shadow".into(),
                path: path("/tmp/s"),
            },
        ),
        EventKind::Mkdir => (
            "mkdirat",
            EventData::Mkdir {
                path: path("/etc/cron.d/x"),
                mode: 0o755,
            },
        ),
        EventKind::Connect => (
            "connect",
            EventData::Connect {
                protocol: Protocol::Tcp,
                local: Some(inet([10, 0, 0, 2], 40000)),
                remote: inet([169, 254, 169, 254], 80),
            },
        ),
        EventKind::Accept => (
            "accept4",
            EventData::Accept {
                protocol: Protocol::Tcp,
                local: Some(inet([10, 0, 0, 2], 8080)),
                remote: Some(inet([10, 0, 0, 9], 51000)),
            },
        ),
        EventKind::Bind => (
            "bind",
            EventData::Bind {
                protocol: Protocol::Tcp,
                local: inet([0, 0, 0, 0], 4444),
            },
        ),
        EventKind::Listen => (
            "listen",
            EventData::Listen {
                protocol: Protocol::Tcp,
                local: Some(inet([0, 0, 0, 0], 4444)),
                backlog: 5,
            },
        ),
        EventKind::Dns => (
            "dns",
            EventData::Dns {
                direction: DnsDirection::Query,
                protocol: Protocol::Udp,
                server: inet([10, 0, 0, 1], 53),
                id: 7,
                query: "pool.example.org".into(),
                qtype: "A".into(),
                rcode: None,
                answers: Vec::new(),
            },
        ),
        EventKind::SetId => (
            "setuid",
            EventData::SetId {
                uid: Some(0),
                euid: Some(0),
                suid: None,
                fsuid: None,
                gid: None,
                egid: None,
                sgid: None,
                fsgid: None,
            },
        ),
        EventKind::Capset => (
            "capset",
            EventData::Capset {
                target_pid: 0,
                effective: 1 << 21,
                permitted: 1 << 21,
                inheritable: 0,
            },
        ),
        EventKind::Ptrace => (
            "ptrace",
            EventData::Ptrace {
                request: 16,
                request_name: "PTRACE_ATTACH".into(),
                target_pid: 1,
            },
        ),
        EventKind::Module => (
            "finit_module",
            EventData::Module {
                op: ModuleOp::Load,
                name: None,
                path: Some(path("/tmp/rootkit.ko")),
            },
        ),
        EventKind::Mount => (
            "mount",
            EventData::Mount {
                source: "/dev/sda1".into(),
                target: path("/mnt"),
                fstype: "ext4".into(),
                flags: 0,
            },
        ),
        EventKind::Umount => (
            "umount2",
            EventData::Umount {
                target: path("/mnt"),
                flags: 0,
            },
        ),
        EventKind::Unshare => (
            "unshare",
            EventData::Unshare {
                flags: 0x1000_0000 | 0x0002_0000,
                namespaces: vec!["mnt".into(), "user".into()],
            },
        ),
        EventKind::Setns => (
            "setns",
            EventData::Setns {
                fd: 3,
                nstype: 0,
                namespaces: vec!["mnt".into()],
            },
        ),
        EventKind::MemfdCreate => (
            "memfd_create",
            EventData::MemfdCreate {
                name: "x".into(),
                flags: 1,
            },
        ),
        EventKind::Bpf => (
            "bpf",
            EventData::Bpf {
                cmd: 5,
                cmd_name: "BPF_PROG_LOAD".into(),
            },
        ),
        EventKind::Kill => (
            "kill",
            EventData::Kill {
                target_pid: 1,
                signal: 9,
                signal_name: "SIGKILL".into(),
            },
        ),
    };
    Event {
        schema: SCHEMA_VERSION,
        seq: 1,
        time_ns: 1_760_000_000_000_000_000,
        source: "bpf".into(),
        syscall: syscall.into(),
        result: if kind == EventKind::Exit || kind == EventKind::Dns {
            None
        } else {
            Some(if kind == EventKind::Open { 3 } else { 0 })
        },
        errno: None,
        process: Process {
            pid: 100,
            tid: 100,
            ppid: 99,
            comm: "bash".into(),
            exe: Some("/usr/bin/bash".into()),
            args: vec!["bash".into(), "-c".into(), "id".into()],
            args_truncated: false,
            cwd: Some("/".into()),
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            loginuid: Some(1000),
            user: Some("root".into()),
            group: Some("root".into()),
            tty: 0,
            start_ns: Some(1),
            cgroup_id: 77,
            ancestors: vec![
                Ancestor {
                    pid: 99,
                    name: "nginx".into(),
                    exe: Some("/usr/sbin/nginx".into()),
                    args: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
                },
                Ancestor {
                    pid: 50,
                    name: "containerd-shim".into(),
                    exe: Some("/usr/bin/containerd-shim-runc-v2".into()),
                    args: Vec::new(),
                },
            ]
            .into(),
            vpid: Some(7),
            loginname: Some("alice".into()),
            sname: Some("bash".into()),
            cap_effective: Some((1 << 21) | (1 << 12)),
            cap_permitted: Some((1 << 21) | (1 << 12)),
        },
        container: Some(Container {
            id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
            runtime: Runtime::Podman,
            name: Some("web".into()),
            image: Some("docker.io/library/nginx:1.25".into()),
            image_id: Some("sha256:abcd".into()),
            pod: Some(Pod {
                uid: "d3b07384-d9a0-4c3f-9e1a-000000000001".into(),
                name: Some("web-7d4b9".into()),
                namespace: Some("shop".into()),
                qos: Some("burstable".into()),
            }),
            privileged: Some(false),
            start_ns: Some(1_759_999_000_000_000_000),
        }),
        data,
    }
}
