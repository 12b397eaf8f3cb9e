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
