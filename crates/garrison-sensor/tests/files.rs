//! File events: opens with write intent and filtered reads, unlink, rename, chmod,
//! chown, link, symlink, mkdir — paths canonical, failures visible.
mod common;

use common::*;
use garrison_event::{EventData, EventKind, FilePath, Interest, Resolution};
use std::path::Path;

fn canon(p: &Path) -> String {
    p.canonicalize().unwrap().to_str().unwrap().to_string()
}

fn file_kinds() -> Vec<EventKind> {
    vec![
        EventKind::Open,
        EventKind::Unlink,
        EventKind::Rename,
        EventKind::Chmod,
        EventKind::Chown,
        EventKind::Link,
        EventKind::Symlink,
        EventKind::Mkdir,
    ]
}

fn path_of(e: &garrison_event::Event) -> Option<&FilePath> {
    match &e.data {
        EventData::Open { path, .. }
        | EventData::Unlink { path, .. }
        | EventData::Chmod { path, .. }
        | EventData::Chown { path, .. }
        | EventData::Mkdir { path, .. }
        | EventData::Symlink { path, .. }
        | EventData::Link { path, .. } => Some(path),
        EventData::Rename { to, .. } => Some(to),
        _ => None,
    }
}

#[test]
fn open_for_write_and_filtered_reads() {
    let mut h = start(&file_kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = canon(dir.path());
    let pid = python(
        r#"
import os, sys
d = sys.argv[1]
fd = os.open(d + "/new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640); os.close(fd)
open("/etc/hostname").read()          # read-only, not in the interest: stays in the kernel
open("/etc/shadow").read()            # read-only, a default read prefix: delivered
try:
    os.open(d + "/no/such/dir/f", os.O_WRONLY | os.O_CREAT, 0o600)
except FileNotFoundError:
    pass
"#,
        &[&d],
    );
    let w = h.wait_for("write open", |e| {
        e.process.pid == pid && path_of(e).is_some_and(|p| p.path == format!("{d}/new"))
    });
    assert_eq!(w.syscall, "openat");
    assert!(w.result.unwrap() >= 3);
    let EventData::Open {
        path,
        flags,
        mode,
        flag_names,
        ..
    } = &w.data
    else {
        unreachable!()
    };
    assert_eq!(path.resolution, Resolution::Kernel);
    assert_eq!(*flags & 0o1103, 0o1101);
    assert_eq!(*mode, 0o640);
    assert!(
        flag_names.contains(&"O_CREAT".to_string()) && flag_names.contains(&"O_TRUNC".to_string())
    );
    let shadow = h.wait_for("read of /etc/shadow", |e| {
        e.process.pid == pid && path_of(e).is_some_and(|p| p.path == "/etc/shadow")
    });
    assert!(shadow.result.unwrap() >= 0);
    let failed = h.wait_for("failed open", |e| {
        e.process.pid == pid
            && e.failed()
            && path_of(e).is_some_and(|p| p.path.ends_with("/no/such/dir/f"))
    });
    assert_eq!(failed.errno.as_deref(), Some("ENOENT"));
    let EventData::Open { path, .. } = &failed.data else {
        panic!("{failed:?}")
    };
    assert_eq!(path.path, format!("{d}/no/such/dir/f"));
    assert_ne!(path.resolution, Resolution::Kernel);
    let all = h.of_pid(pid);
    assert!(
        !all.iter()
            .any(|e| path_of(e).is_some_and(|p| p.path == "/etc/hostname")),
        "a read-only open outside the interest left the kernel"
    );
    let stats = garrison_event::EventSource::stats(&h.sensor);
    assert!(stats.kinds[&EventKind::Open].delivered >= 3);
}

#[test]
fn everything_interest_delivers_plain_reads() {
    let mut h = start_with(Interest::everything());
    let pid = python("open('/etc/hostname').read()", &[]);
    let e = h.wait_for("read of /etc/hostname", |e| {
        e.process.pid == pid && path_of(e).is_some_and(|p| p.path == "/etc/hostname")
    });
    let EventData::Open { flags, .. } = e.data else {
        unreachable!()
    };
    assert_eq!(flags & 3, 0);
}

#[test]
fn unlink_rmdir_rename_mkdir() {
    let mut h = start(&file_kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = canon(dir.path());
    let pid = python(
        r#"
import os, sys
d = sys.argv[1]
os.mkdir(d + "/sub", 0o750)
open(d + "/sub/a", "w").close()
os.rename(d + "/sub/a", d + "/sub/b")
os.unlink(d + "/sub/b")
os.rmdir(d + "/sub")
try:
    os.unlink(d + "/missing")
except FileNotFoundError:
    pass
"#,
        &[&d],
    );
    let m = h.wait_for("mkdir", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Mkdir { .. })
    });
    assert_eq!(m.syscall, "mkdir");
    assert_eq!(m.result, Some(0));
    assert_eq!(
        m.data,
        EventData::Mkdir {
            path: FilePath {
                path: format!("{d}/sub"),
                host_path: None,
                resolution: Resolution::Joined,
                raw: None
            },
            mode: 0o750,
        }
    );
    let r = h.wait_for("rename", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Rename { .. })
    });
    let EventData::Rename { from, to, flags } = &r.data else {
        unreachable!()
    };
    assert_eq!(from.path, format!("{d}/sub/a"));
    assert_eq!(to.path, format!("{d}/sub/b"));
    assert_eq!(*flags, 0);
    assert_eq!(r.result, Some(0));
    let u = h.wait_for("unlink", |e| {
        e.process.pid == pid
            && matches!(
                &e.data,
                EventData::Unlink {
                    directory: false,
                    ..
                }
            )
            && !e.failed()
    });
    assert_eq!(path_of(&u).unwrap().path, format!("{d}/sub/b"));
    let rd = h.wait_for("rmdir", |e| {
        e.process.pid == pid
            && matches!(
                &e.data,
                EventData::Unlink {
                    directory: true,
                    ..
                }
            )
    });
    assert_eq!(path_of(&rd).unwrap().path, format!("{d}/sub"));
    assert_eq!(rd.syscall, "rmdir");
    let bad = h.wait_for("failed unlink", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Unlink { .. }) && e.failed()
    });
    assert_eq!(bad.errno.as_deref(), Some("ENOENT"));
    assert_eq!(path_of(&bad).unwrap().path, format!("{d}/missing"));
}

#[test]
fn chmod_fchmod_chown_link_symlink() {
    let mut h = start(&file_kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = canon(dir.path());
    let pid = python(
        r#"
import os, sys
d = sys.argv[1]
open(d + "/f", "w").close()
os.chmod(d + "/f", 0o4755)
fd = os.open(d + "/f", os.O_RDONLY)
os.fchmod(fd, 0o600)
os.chown(d + "/f", 65534, 65534)
os.link(d + "/f", d + "/hard")
os.symlink("../../etc/passwd", d + "/soft")
try:
    os.chmod(d + "/nope", 0o777)
except FileNotFoundError:
    pass
"#,
        &[&d],
    );
    let f = format!("{d}/f");
    let c = h.wait_for("chmod", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Chmod { mode: 0o4755, .. })
    });
    assert_eq!(path_of(&c).unwrap().path, f);
    assert_eq!(c.result, Some(0));
    let fc = h.wait_for("fchmod", |e| e.process.pid == pid && e.syscall == "fchmod");
    let EventData::Chmod { path, mode } = &fc.data else {
        panic!("{fc:?}")
    };
    assert_eq!(
        (path.path.as_str(), path.resolution, *mode),
        (f.as_str(), Resolution::Kernel, 0o600)
    );
    let o = h.wait_for("chown", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Chown { .. })
    });
    let EventData::Chown { path, uid, gid } = &o.data else {
        unreachable!()
    };
    assert_eq!((path.path.as_str(), *uid, *gid), (f.as_str(), 65534, 65534));
    let l = h.wait_for("link", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Link { .. })
    });
    let EventData::Link { target, path } = &l.data else {
        unreachable!()
    };
    assert_eq!(target.path, f);
    assert_eq!(path.path, format!("{d}/hard"));
    let s = h.wait_for("symlink", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Symlink { .. })
    });
    let EventData::Symlink { target, path } = &s.data else {
        unreachable!()
    };
    assert_eq!(target, "../../etc/passwd");
    assert_eq!(path.path, format!("{d}/soft"));
    assert_eq!(s.result, Some(0));
    let bad = h.wait_for("failed chmod", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Chmod { .. }) && e.failed()
    });
    assert_eq!(bad.errno.as_deref(), Some("ENOENT"));
    assert_eq!(path_of(&bad).unwrap().path, format!("{d}/nope"));
}

/// Symlinks and `..` must not hide the real path: relative arguments from a cwd
/// reached through a symlink, `..` through a symlinked directory, an open through
/// a symlink to a secret, and a dirfd-relative unlinkat.
#[test]
fn canonical_paths_through_symlinks_and_dotdot() {
    let mut h = start(&file_kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = canon(dir.path());
    std::fs::create_dir_all(format!("{d}/real/deep")).unwrap();
    std::os::unix::fs::symlink(format!("{d}/real/deep"), format!("{d}/jump")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", format!("{d}/innocent")).unwrap();
    let pid = python(
        r#"
import os, sys
d = sys.argv[1]
os.chdir(d + "/jump")                        # cwd is really real/deep
open("../victim", "w").close()               # .. of real/deep is real, not d
os.mkdir("./x/../y") if False else os.mkdir("y")
os.unlink(d + "/jump/../victim")             # the kernel follows jump, then ..
open(d + "/innocent").read()                 # a read of /etc/shadow in disguise
dfd = os.open(d + "/jump", os.O_RDONLY | os.O_DIRECTORY)
open(d + "/real/deep/z", "w").close()
os.unlink("z", dir_fd=dfd)
"#,
        &[&d],
    );
    let created = h.wait_for("create via ..", |e| {
        e.process.pid == pid
            && matches!(e.data, EventData::Open { .. })
            && path_of(e).is_some_and(|p| p.path.ends_with("/victim"))
    });
    let p = path_of(&created).unwrap();
    assert_eq!(p.path, format!("{d}/real/victim"));
    assert_eq!(p.resolution, Resolution::Kernel);
    assert_eq!(p.raw.as_deref(), Some("../victim"));
    let mk = h.wait_for("mkdir relative", |e| {
        e.process.pid == pid && matches!(e.data, EventData::Mkdir { .. })
    });
    assert_eq!(path_of(&mk).unwrap().path, format!("{d}/real/deep/y"));
    let un = h.wait_for("unlink via symlink and ..", |e| {
        e.process.pid == pid
            && matches!(e.data, EventData::Unlink { .. })
            && path_of(e).is_some_and(|p| p.path.ends_with("victim"))
    });
    let p = path_of(&un).unwrap();
    assert_eq!(p.path, format!("{d}/real/victim"), "{p:?}");
    assert_eq!(p.resolution, Resolution::Joined);
    assert_eq!(
        p.raw.as_deref(),
        Some(format!("{d}/jump/../victim").as_str())
    );
    let secret = h.wait_for("disguised read of /etc/shadow", |e| {
        e.process.pid == pid && path_of(e).is_some_and(|p| p.path == "/etc/shadow")
    });
    assert_eq!(
        path_of(&secret).unwrap().raw.as_deref(),
        Some(format!("{d}/innocent").as_str())
    );
    let at = h.wait_for("unlinkat relative to a dirfd", |e| {
        e.process.pid == pid
            && e.syscall == "unlinkat"
            && path_of(e).is_some_and(|p| p.path.ends_with("/z"))
    });
    assert_eq!(path_of(&at).unwrap().path, format!("{d}/real/deep/z"));
}

#[test]
fn ignore_prefixes_drop_churn_in_the_kernel_and_after_resolution() {
    let mut interest = Interest::kinds(file_kinds());
    let dir = tempfile::tempdir().unwrap();
    let d = canon(dir.path());
    interest.ignore_prefixes = vec![format!("{d}/noise/")];
    let mut h = start_with(interest);
    let pid = python(
        r#"
import os, sys
d = sys.argv[1]
os.mkdir(d + "/noise")
open(d + "/noise/a", "w").close()
os.unlink(d + "/noise/a")
open(d + "/signal", "w").close()
"#,
        &[&d],
    );
    h.wait_for("the signal write", |e| {
        e.process.pid == pid && path_of(e).is_some_and(|p| p.path == format!("{d}/signal"))
    });
    let all = h.of_pid(pid);
    assert!(
        !all.iter()
            .any(|e| path_of(e).is_some_and(|p| p.path.starts_with(&format!("{d}/noise/")))),
        "{all:?}"
    );
    // mkdir of the prefix directory itself is not under "noise/"
    assert!(all
        .iter()
        .any(|e| matches!(e.data, EventData::Mkdir { .. })));
}
