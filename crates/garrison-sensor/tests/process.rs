//! exec, execveat, fork, exit: real processes, asserted field by field.
mod common;

use common::*;
use garrison_event::{EventData, EventKind, FdType, Resolution};
use std::process::Command;

#[test]
fn exec_carries_argv_cwd_ids_and_stdio() {
    let mut h = start(&[EventKind::Exec]);
    let dir = tempfile::tempdir().unwrap();
    let pid = run(Command::new("/bin/echo")
        .args(["garrison-exec", "two words"])
        .current_dir(dir.path()));
    let e = h.wait_for("exec of echo", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Exec { .. })
    });
    assert_eq!(e.syscall, "execve");
    assert_eq!(e.result, Some(0));
    assert_eq!(e.process.uid, 0);
    assert_eq!(e.process.ppid, std::process::id());
    assert_eq!(e.process.comm, "echo");
    assert_eq!(
        e.process.cwd.as_deref(),
        dir.path().canonicalize().unwrap().to_str()
    );
    let EventData::Exec {
        filename,
        argv,
        stdio,
        exe_ino,
        exe_memfd,
        exe_deleted,
        exe_upper_layer,
        ..
    } = &e.data
    else {
        unreachable!()
    };
    // /bin is a symlink to /usr/bin on Debian 12: the kernel path is canonical
    let real = std::fs::canonicalize("/bin/echo").unwrap();
    assert_eq!(filename.path, real.to_str().unwrap());
    assert_eq!(filename.resolution, Resolution::Kernel);
    assert_eq!(filename.raw.as_deref(), Some("/bin/echo"));
    assert_eq!(argv, &["/bin/echo", "garrison-exec", "two words"]);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(*exe_ino, std::fs::metadata(&real).unwrap().ino());
    assert_eq!(stdio, &[FdType::CharDevice, FdType::Pipe, FdType::Pipe]);
    assert!(!exe_memfd && !exe_deleted && !exe_upper_layer);
}

#[test]
fn failed_exec_is_reported_with_its_errno() {
    let mut h = start(&[EventKind::Exec]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let pid = python(
        "import os, sys\ntry:\n    os.execv(sys.argv[1], [sys.argv[1], 'arg1'])\nexcept PermissionError:\n    pass",
        &[script.to_str().unwrap()],
    );
    let e = h.wait_for("failed execve", |e| {
        e.process.pid == pid
            && e.failed()
            && matches!(&e.data, EventData::Exec { filename, .. } if filename.path.ends_with("not-executable"))
    });
    assert_eq!(e.result, Some(-13));
    assert_eq!(e.errno.as_deref(), Some("EACCES"));
    let EventData::Exec { filename, argv, .. } = &e.data else {
        unreachable!()
    };
    assert_eq!(
        filename.path,
        script.canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(argv, &[script.to_str().unwrap(), "arg1"]);
}

#[test]
fn execveat_of_a_memfd_is_fileless() {
    let mut h = start(&[EventKind::Exec, EventKind::MemfdCreate]);
    // copy /bin/true into a memfd and execveat(fd, "", AT_EMPTY_PATH)
    let pid = python(
        r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = os.memfd_create("garrison-fileless", 0)
os.write(fd, open("/bin/true", "rb").read())
argv = (ctypes.c_char_p * 2)(b"fileless", None)
envp = (ctypes.c_char_p * 1)(None)
pid = os.fork()
if pid == 0:
    libc.syscall(322, fd, b"", argv, envp, 0x1000)
    os._exit(99)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
"#,
        &[],
    );
    let m = h.wait_for("memfd_create", |e| {
        e.process.pid == pid && matches!(e.data, EventData::MemfdCreate { .. })
    });
    let EventData::MemfdCreate { name, flags } = &m.data else {
        unreachable!()
    };
    assert_eq!(name, "garrison-fileless");
    assert_eq!(*flags, 0);
    assert!(m.result.unwrap() >= 3);
    let e = h.wait_for("execveat of the memfd", |e| {
        e.process.ppid == pid && e.syscall == "execveat"
    });
    assert_eq!(e.result, Some(0));
    let EventData::Exec {
        filename,
        argv,
        exe_memfd,
        exe_deleted,
        ..
    } = &e.data
    else {
        unreachable!()
    };
    assert!(*exe_memfd, "{e:?}");
    assert!(!exe_deleted);
    assert_eq!(filename.path, "memfd:garrison-fileless");
    assert_eq!(filename.raw.as_deref(), Some("/dev/fd/3"));
    assert_eq!(argv, &["fileless"]);
}

#[test]
fn exec_of_a_deleted_file_is_marked() {
    let mut h = start(&[EventKind::Exec]);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("gone");
    std::fs::copy("/bin/sleep", &copy).unwrap();
    let mut child = Command::new(&copy).arg("30").spawn().unwrap();
    let pid = child.id();
    let e = h.wait_for("exec of the copy", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Exec { .. })
    });
    // deleted after exec: the exec event saw it linked
    let EventData::Exec { exe_deleted, .. } = &e.data else {
        unreachable!()
    };
    assert!(!exe_deleted);
    child.kill().unwrap();
    child.wait().unwrap();
    // now a file deleted before a fork+exec through /proc/self/fd
    let pid = python(
        r#"
import os, sys, shutil
p = sys.argv[1]
shutil.copy("/bin/true", p)
fd = os.open(p, os.O_RDONLY)
os.unlink(p)
pid = os.fork()
if pid == 0:
    os.execv("/proc/self/fd/%d" % fd, ["deleted-true"])
_, st = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(st) == 0
"#,
        &[dir.path().join("deleted").to_str().unwrap()],
    );
    let e = h.wait_for("exec of a deleted file", |e| {
        e.process.ppid == pid && matches!(e.data, EventData::Exec { .. }) && !e.failed()
    });
    let EventData::Exec {
        exe_deleted,
        exe_memfd,
        ..
    } = &e.data
    else {
        unreachable!()
    };
    assert!(*exe_deleted, "{e:?}");
    assert!(!exe_memfd);
}

#[test]
fn fork_and_failed_clone() {
    let mut h = start(&[EventKind::Fork]);
    let pid = python(
        r#"
import ctypes, os
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print(pid)
libc = ctypes.CDLL(None, use_errno=True)
# CLONE_THREAD without CLONE_SIGHAND|CLONE_VM: EINVAL
assert libc.syscall(56, 0x10000, 0, 0, 0, 0) == -1
"#,
        &[],
    );
    let f = h.wait_for("fork", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Fork { .. }) && !e.failed()
    });
    let EventData::Fork {
        child_pid,
        child_tid,
        thread,
    } = f.data
    else {
        unreachable!()
    };
    assert!(child_pid > 0 && child_pid == child_tid && !thread);
    assert_eq!(f.result, Some(child_pid as i64));
    assert!(
        ["clone", "fork", "clone3"].contains(&f.syscall.as_str()),
        "{}",
        f.syscall
    );
    let bad = h.wait_for("failed clone", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Fork { .. }) && e.failed()
    });
    assert_eq!(bad.errno.as_deref(), Some("EINVAL"));
    assert_eq!(bad.syscall, "clone");
}

#[test]
fn thread_creation_is_a_fork_event_marked_thread() {
    let mut h = start(&[EventKind::Fork, EventKind::Exit]);
    let pid = python(
        r#"
import threading
t = threading.Thread(target=lambda: None)
t.start()
t.join()
"#,
        &[],
    );
    let f = h.wait_for("thread creation", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Fork { thread: true, .. })
    });
    let EventData::Fork {
        child_pid,
        child_tid,
        ..
    } = f.data
    else {
        unreachable!()
    };
    assert_eq!(child_pid, pid, "a thread belongs to its creator's process");
    assert_ne!(child_tid, pid);
    assert_eq!(f.result, Some(child_tid as i64));
    assert!(
        ["clone", "clone3"].contains(&f.syscall.as_str()),
        "{}",
        f.syscall
    );
    // the thread's end is not a process exit: the one exit is the process's own
    h.wait_for("process exit", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Exit { .. })
    });
    let exits = h
        .seen
        .iter()
        .filter(|e| e.process.pid == pid && matches!(e.data, EventData::Exit { .. }))
        .count();
    assert_eq!(exits, 1, "one exit for the process, none for its thread");
}

#[test]
fn exit_code_and_signal() {
    let mut h = start(&[EventKind::Exit]);
    let child = Command::new(PYTHON)
        .args(["-c", "import sys; sys.exit(7)"])
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait_with_output().unwrap();
    let e = h.wait_for("exit 7", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Exit { .. })
    });
    assert_eq!(e.syscall, "procexit");
    assert_eq!(e.result, None);
    assert_eq!(
        e.data,
        EventData::Exit {
            code: 7,
            signal: None,
            core_dumped: false
        }
    );
    let child = Command::new(PYTHON)
        .args([
            "-c",
            "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        ])
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait_with_output().unwrap();
    let e = h.wait_for("killed", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Exit { .. })
    });
    assert_eq!(
        e.data,
        EventData::Exit {
            code: 0,
            signal: Some(9),
            core_dumped: false
        }
    );
}

#[test]
fn exec_on_a_terminal_carries_its_tty() {
    let mut h = start(&[EventKind::Exec]);
    // script(1) (bsdutils, essential in Debian) runs the command on a new pty
    let script_pid =
        run(Command::new("script").args(["-qec", "/bin/echo garrison-tty", "/dev/null"]));
    let e = h.wait_for("exec on a pty", |e| {
        matches!(&e.data, EventData::Exec { argv, .. } if argv.last().map(String::as_str) == Some("garrison-tty"))
            && e.process.tty != 0
    });
    assert_ne!(e.process.pid, script_pid);
    // Unix98 ptys: major 136-143
    let major = (e.process.tty >> 8) & 0xfff;
    assert!((136..=143).contains(&major), "tty_nr {:#x}", e.process.tty);
    let EventData::Exec { stdio, .. } = &e.data else {
        unreachable!()
    };
    assert_eq!(stdio, &[FdType::CharDevice; 3]);
}

#[test]
fn exec_carries_the_audit_login_uid() {
    let mut h = start(&[EventKind::Exec]);
    // a login sets /proc/self/loginuid once (root: CAP_AUDIT_CONTROL); children inherit it
    let pid = python(
        "import os\nopen('/proc/self/loginuid', 'w').write('4242')\npid = os.fork()\nif pid == 0:\n    os.execv('/bin/true', ['true', 'garrison-login'])\nos.waitpid(pid, 0)",
        &[],
    );
    let e = h.wait_for("exec after a login", |e| {
        e.process.ppid == pid && matches!(&e.data, EventData::Exec { argv, .. } if argv.get(1).map(String::as_str) == Some("garrison-login"))
    });
    assert_eq!(e.process.loginuid, Some(4242));
    assert_eq!(e.process.uid, 0);
}
