//! Privilege and stealth: setuid family, capset, ptrace, module load/unload,
//! mount/umount, unshare/setns, memfd_create, bpf(), kill — each from a child
//! process, with failed attempts visible.
mod common;

use common::*;
use garrison_event::{EventData, EventKind, ModuleOp};

fn kinds() -> Vec<EventKind> {
    vec![
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
    ]
}

#[test]
fn setuid_family_and_a_refused_regain() {
    let mut h = start(&kinds());
    let pid = python(
        r#"
import os
os.setresgid(65534, 65534, 65534)
os.setreuid(65534, 65534)
try:
    os.setuid(0)
except PermissionError:
    pass
"#,
        &[],
    );
    let g = h.wait_for("setresgid", |e| {
        e.process.pid == pid && e.syscall == "setresgid"
    });
    assert_eq!(g.result, Some(0));
    assert_eq!(
        g.data,
        EventData::SetId {
            uid: None,
            euid: None,
            suid: None,
            fsuid: None,
            gid: Some(65534),
            egid: Some(65534),
            sgid: Some(65534),
            fsgid: None,
        }
    );
    assert_eq!((g.process.gid, g.process.egid), (65534, 65534));
    let u = h.wait_for("setreuid", |e| {
        e.process.pid == pid && e.syscall == "setreuid"
    });
    assert_eq!(u.result, Some(0));
    assert_eq!((u.process.uid, u.process.euid), (65534, 65534));
    let EventData::SetId { uid, euid, .. } = u.data else {
        unreachable!()
    };
    assert_eq!((uid, euid), (Some(65534), Some(65534)));
    let bad = h.wait_for("refused setuid(0)", |e| {
        e.process.pid == pid && e.syscall == "setuid"
    });
    assert_eq!(bad.errno.as_deref(), Some("EPERM"));
    let EventData::SetId { uid, .. } = bad.data else {
        unreachable!()
    };
    assert_eq!(uid, Some(0));
}

#[test]
fn capset_and_ptrace() {
    let mut h = start(&kinds());
    let mut sleeper = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let target = sleeper.id();
    let pid = python(
        r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Hdr(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
hdr = Hdr(0x20080522, 0)
data = (Data * 2)()
assert libc.capget(ctypes.byref(hdr), data) == 0
data[0].effective &= ~(1 << 12)    # drop CAP_NET_ADMIN from the effective set
assert libc.capset(ctypes.byref(hdr), data) == 0
target = int(sys.argv[1])
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
assert libc.ptrace(PTRACE_ATTACH, target, 0, 0) == 0
os.waitpid(target, 0)
libc.ptrace(PTRACE_DETACH, target, 0, 0)
assert libc.ptrace(PTRACE_ATTACH, 999999999, 0, 0) == -1
"#,
        &[&target.to_string()],
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let c = h.wait_for("capset", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Capset { .. })
    });
    assert_eq!(c.result, Some(0));
    let EventData::Capset {
        target_pid,
        effective,
        permitted,
        ..
    } = c.data
    else {
        unreachable!()
    };
    assert_eq!(target_pid, 0);
    assert_eq!(effective & (1 << 12), 0);
    assert_ne!(permitted & (1 << 12), 0);
    assert_ne!(effective & (1 << 21), 0, "CAP_SYS_ADMIN stays");
    let p = h.wait_for("ptrace attach", |e| {
        e.process.pid == pid && matches!(&e.data, EventData::Ptrace { target_pid, .. } if *target_pid == target as i32)
    });
    assert_eq!(p.result, Some(0));
    let EventData::Ptrace {
        request,
        request_name,
        ..
    } = &p.data
    else {
        unreachable!()
    };
    assert_eq!((*request, request_name.as_str()), (16, "PTRACE_ATTACH"));
    let bad = h.wait_for("ptrace of a missing pid", |e| {
        e.process.pid == pid
            && matches!(
                &e.data,
                EventData::Ptrace {
                    target_pid: 999999999,
                    ..
                }
            )
    });
    assert_eq!(bad.errno.as_deref(), Some("ESRCH"));
}

#[test]
fn module_load_and_delete_attempts() {
    let mut h = start(&kinds());
    let dir = tempfile::tempdir().unwrap();
    let ko = dir.path().join("garrison-test.ko");
    std::fs::write(&ko, b"not an ELF module").unwrap();
    let pid = python(
        r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
img = b"not an ELF module"
libc.syscall(175, img, len(img), b"param=1")                # init_module
fd = os.open(sys.argv[1], os.O_RDONLY)
libc.syscall(313, fd, b"", 0)                               # finit_module
libc.syscall(176, b"garrison_no_such_module", 0)            # delete_module
"#,
        &[ko.to_str().unwrap()],
    );
    let init = h.wait_for("init_module", |e| {
        e.process.pid == pid && e.syscall == "init_module"
    });
    assert!(init.failed(), "{init:?}");
    assert_eq!(
        init.data,
        EventData::Module {
            op: ModuleOp::Load,
            name: None,
            path: None
        }
    );
    let finit = h.wait_for("finit_module", |e| {
        e.process.pid == pid && e.syscall == "finit_module"
    });
    assert!(finit.failed());
    let EventData::Module { op, path, .. } = &finit.data else {
        unreachable!()
    };
    assert_eq!(*op, ModuleOp::Load);
    assert_eq!(
        path.as_ref().map(|p| p.path.as_str()),
        ko.canonicalize().unwrap().to_str()
    );
    let del = h.wait_for("delete_module", |e| {
        e.process.pid == pid && e.syscall == "delete_module"
    });
    assert!(del.failed());
    assert_eq!(
        del.data,
        EventData::Module {
            op: ModuleOp::Delete,
            name: Some("garrison_no_such_module".into()),
            path: None,
        }
    );
}

#[test]
fn unshare_mount_umount_setns() {
    let mut h = start(&kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    let d = d.to_str().unwrap();
    let pid = python(
        r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
CLONE_NEWNS, CLONE_NEWNET, MS_REC, MS_PRIVATE = 0x20000, 0x40000000, 0x4000, 0x40000
host_net = os.open("/proc/self/ns/net", os.O_RDONLY)
assert libc.unshare(CLONE_NEWNS | CLONE_NEWNET) == 0
assert libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0
os.chdir(d)
assert libc.mount(b"garrison-tmpfs", b"mnt-here", b"tmpfs", 0, b"size=1m") == -1   # no such dir yet
os.mkdir("mnt-here")
assert libc.mount(b"garrison-tmpfs", b"mnt-here", b"tmpfs", 0, b"size=1m") == 0
assert libc.umount2(d.encode() + b"/mnt-here", 0) == 0
assert libc.setns(host_net, CLONE_NEWNET) == 0
"#,
        &[d],
    );
    let u = h.wait_for("unshare", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Unshare { .. })
    });
    assert_eq!(u.result, Some(0));
    assert_eq!(
        u.data,
        EventData::Unshare {
            flags: 0x4002_0000,
            namespaces: vec!["mnt".into(), "net".into()]
        }
    );
    let bad = h.wait_for("failed mount", |e| {
        e.process.pid == pid
            && e.failed()
            && matches!(&e.data, EventData::Mount { fstype, .. } if fstype == "tmpfs")
    });
    assert_eq!(bad.errno.as_deref(), Some("ENOENT"));
    let m = h.wait_for("mount", |e| {
        e.process.pid == pid
            && !e.failed()
            && matches!(&e.data, EventData::Mount { fstype, .. } if fstype == "tmpfs")
    });
    let EventData::Mount {
        source,
        target,
        fstype,
        flags,
    } = &m.data
    else {
        unreachable!()
    };
    assert_eq!(
        (source.as_str(), fstype.as_str(), *flags),
        ("garrison-tmpfs", "tmpfs", 0)
    );
    assert_eq!(target.path, format!("{d}/mnt-here"));
    assert_eq!(target.raw.as_deref(), Some("mnt-here"));
    let um = h.wait_for("umount", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Umount { .. })
    });
    assert_eq!(um.result, Some(0));
    let EventData::Umount { target, flags } = &um.data else {
        unreachable!()
    };
    assert_eq!(
        (target.path.as_str(), *flags),
        (format!("{d}/mnt-here").as_str(), 0)
    );
    let s = h.wait_for("setns", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Setns { .. })
    });
    assert_eq!(s.result, Some(0));
    let EventData::Setns {
        nstype, namespaces, ..
    } = &s.data
    else {
        unreachable!()
    };
    assert_eq!(
        (*nstype, namespaces.as_slice()),
        (0x4000_0000, &["net".to_string()][..])
    );
}

#[test]
fn bpf_and_kill() {
    let mut h = start(&kinds());
    let mut sleeper = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let target = sleeper.id();
    let pid = python(
        r#"
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint32 * 32)()
attr[0] = 1                                        # BPF_PROG_TYPE_SOCKET_FILTER, no insns
libc.syscall(321, 5, attr, ctypes.sizeof(attr))    # BPF_PROG_LOAD: fails (EINVAL)
os.kill(int(sys.argv[1]), signal.SIGTERM)
try:
    os.kill(999999999, 0)
except ProcessLookupError:
    pass
"#,
        &[&target.to_string()],
    );
    let _ = sleeper.wait();
    let b = h.wait_for("bpf()", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Bpf { .. })
    });
    assert!(b.failed());
    assert_eq!(
        b.data,
        EventData::Bpf {
            cmd: 5,
            cmd_name: "BPF_PROG_LOAD".into()
        }
    );
    let k = h.wait_for("kill", |e| {
        e.process.pid == pid
            && matches!(&e.data, EventData::Kill { target_pid, .. } if *target_pid == target as i32)
    });
    assert_eq!(k.result, Some(0));
    assert_eq!(
        k.data,
        EventData::Kill {
            target_pid: target as i32,
            signal: 15,
            signal_name: "SIGTERM".into()
        }
    );
    let bad = h.wait_for("kill of a missing pid", |e| {
        e.process.pid == pid
            && matches!(
                &e.data,
                EventData::Kill {
                    target_pid: 999999999,
                    ..
                }
            )
    });
    assert_eq!(bad.errno.as_deref(), Some("ESRCH"));
    let EventData::Kill { signal_name, .. } = &bad.data else {
        unreachable!()
    };
    assert_eq!(signal_name, "0");
}
