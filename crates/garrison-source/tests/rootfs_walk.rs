//! The root filesystem walker on small trees made here: paths, symlinks,
//! limits, unreadable entries, exclusions, races that swap in symlinks, and
//! pseudo filesystems.

mod rootfs_support;

use garrison_model::TargetKind;
use garrison_source::rootfs::{Rootfs, RootfsOptions};
use garrison_source::{EntryKind, Limits, Source};
use rootfs_support::{is_root, Recorder};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, content).expect("write");
}

/// A small tree with the usual shapes of a root filesystem.
fn sample_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(r, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    write(r, "usr/lib/libx.so", "ELF-ish");
    write(r, "usr/bin/tool", "#!/bin/sh\n");
    fs::set_permissions(r.join("usr/bin/tool"), fs::Permissions::from_mode(0o755)).expect("chmod");
    write(r, "var/lib/dpkg/status", "Package: a\nVersion: 1\n");
    fs::create_dir_all(r.join("empty")).expect("mkdir");
    symlink("usr/lib", r.join("lib")).expect("symlink");
    symlink("/etc/shadow", r.join("abs-escape")).expect("symlink");
    symlink("../../../../../../etc/passwd", r.join("usr/rel-escape")).expect("symlink");
    fs::hard_link(r.join("usr/bin/tool"), r.join("usr/bin/tool-hardlink")).expect("hardlink");
    t
}

#[test]
fn walks_every_entry_with_absolute_paths_and_never_follows_symlinks() {
    let t = sample_tree();
    let mut src =
        Rootfs::open(t.path(), TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    assert_eq!(src.target().kind, TargetKind::Rootfs);
    let mut rec = Recorder::new(|m| m.kind == EntryKind::File);
    src.walk(&mut rec, &Limits::default()).expect("walk");

    let paths: Vec<&str> = rec.entries.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "/abs-escape",
            "/empty",
            "/etc",
            "/etc/os-release",
            "/lib",
            "/usr",
            "/usr/bin",
            "/usr/bin/tool",
            "/usr/bin/tool-hardlink",
            "/usr/lib",
            "/usr/lib/libx.so",
            "/usr/rel-escape",
            "/var",
            "/var/lib",
            "/var/lib/dpkg",
            "/var/lib/dpkg/status",
        ]
    );
    // Parents come before their children, siblings in name order.
    let pos = |p: &str| rec.order.iter().position(|x| x == p).expect("visited");
    assert!(pos("/usr") < pos("/usr/bin") && pos("/usr/bin") < pos("/usr/bin/tool"));
    assert!(pos("/etc") < pos("/lib") && pos("/lib") < pos("/usr"));

    assert_eq!(rec.entries["/lib"].0, EntryKind::Symlink("usr/lib".into()));
    assert_eq!(
        rec.entries["/abs-escape"].0,
        EntryKind::Symlink("/etc/shadow".into())
    );
    assert_eq!(
        rec.entries["/usr/rel-escape"].0,
        EntryKind::Symlink("../../../../../../etc/passwd".into())
    );
    assert_eq!(rec.entries["/usr"].0, EntryKind::Dir);
    let (kind, size, mode) = &rec.entries["/usr/bin/tool"];
    assert_eq!((kind, *size, *mode), (&EntryKind::File, 10, 0o755));
    // Hard links on a rootfs are just files, each read.
    assert_eq!(rec.entries["/usr/bin/tool-hardlink"].0, EntryKind::File);
    assert_eq!(rec.contents["/usr/bin/tool-hardlink"], b"#!/bin/sh\n");
    assert_eq!(
        rec.contents["/var/lib/dpkg/status"],
        b"Package: a\nVersion: 1\n"
    );
    // Symlinks are never read, even when they point at something readable.
    assert!(!rec.contents.contains_key("/lib"));
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
}

#[test]
fn open_in_root_resolves_symlinks_inside_the_root_only() {
    let t = sample_tree();
    let src = Rootfs::open(t.path(), TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    // /lib -> usr/lib is followed, inside the root.
    let mut s = String::new();
    std::io::Read::read_to_string(&mut src.open_in_root("/lib/libx.so").expect("open"), &mut s)
        .expect("read");
    assert_eq!(s, "ELF-ish");
    // An absolute or climbing symlink resolves inside the root, where the target is absent.
    assert!(src.open_in_root("/abs-escape").is_err());
    assert!(src.open_in_root("/usr/rel-escape").is_err());
    assert!(src.open_in_root("/../../../etc/passwd").is_err());
    // Once the root has such a file, that file (not the host's) is what is read.
    write(t.path(), "etc/passwd", "inside\n");
    let mut s = String::new();
    std::io::Read::read_to_string(
        &mut src.open_in_root("/usr/rel-escape").expect("open"),
        &mut s,
    )
    .expect("read");
    assert_eq!(s, "inside\n");
}

#[test]
fn files_over_the_size_limit_are_reported_and_skipped() {
    let t = sample_tree();
    let mut src =
        Rootfs::open(t.path(), TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    let mut rec = Recorder::new(|m| m.kind == EntryKind::File);
    let limits = Limits {
        max_file_bytes: 12,
        ..Limits::default()
    };
    src.walk(&mut rec, &limits).expect("walk");
    let w = rec
        .warned_about("/var/lib/dpkg/status")
        .expect("warning for the big file");
    assert!(w.message.contains("limit"), "{}", w.message);
    assert!(!rec.contents.contains_key("/var/lib/dpkg/status"));
    // Smaller files are still read.
    assert_eq!(rec.contents["/usr/bin/tool"], b"#!/bin/sh\n");
}

#[test]
fn skip_dirs_leave_out_whole_subtrees() {
    let t = sample_tree();
    let opts = RootfsOptions {
        skip_dirs: vec!["/usr/lib".into(), "var/lib/".into(), "/not/there".into()],
    };
    let mut src = Rootfs::open(t.path(), TargetKind::Filesystem, opts).expect("open");
    assert_eq!(src.target().kind, TargetKind::Filesystem);
    let mut rec = Recorder::new(|_| false);
    src.walk(&mut rec, &Limits::default()).expect("walk");
    assert!(rec.entries.contains_key("/usr/bin/tool"));
    assert!(rec.entries.contains_key("/var"));
    for p in rec.entries.keys() {
        assert!(
            !p.starts_with("/usr/lib") && !p.starts_with("/var/lib"),
            "{p} was entered"
        );
    }
}

#[test]
fn a_file_swapped_for_a_symlink_mid_walk_is_not_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret", "HOST-SECRET");
    let t = sample_tree();
    let root = t.path().to_path_buf();
    let secret = outside.path().join("secret");
    let mut src = Rootfs::open(&root, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    // The visitor plays the attacker: after the walker has seen a regular
    // file, it replaces it with a symlink to a host file, then asks to read it.
    let mut rec = Recorder::new(move |m| {
        if m.path == "/etc/os-release" {
            fs::remove_file(root.join("etc/os-release")).expect("rm");
            symlink(&secret, root.join("etc/os-release")).expect("symlink");
        }
        m.kind == EntryKind::File
    });
    src.walk(&mut rec, &Limits::default()).expect("walk");
    for (p, c) in &rec.contents {
        assert_ne!(c.as_slice(), b"HOST-SECRET", "{p} read a host file");
    }
    assert!(!rec.contents.contains_key("/etc/os-release"));
    let w = rec.warned_about("/etc/os-release").expect("warning");
    assert!(w.message.contains("cannot read"), "{}", w.message);
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_walk_is_not_entered() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "host-only/marker", "HOST");
    let t = sample_tree();
    let root = t.path().to_path_buf();
    let target = outside.path().join("host-only");
    let mut src = Rootfs::open(&root, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    // /var was listed (as a directory) with the root; while the walk is
    // still in /usr, the attacker swaps it for a symlink to a host directory.
    let mut rec = Recorder::new(move |m| {
        if m.path == "/usr/bin/tool" {
            fs::remove_dir_all(root.join("var")).expect("rm");
            symlink(&target, root.join("var")).expect("symlink");
        }
        false
    });
    src.walk(&mut rec, &Limits::default()).expect("walk");
    assert!(
        rec.entries.keys().all(|p| !p.starts_with("/var/")),
        "entered a swapped directory: {:?}",
        rec.entries.keys().collect::<Vec<_>>()
    );
    assert!(rec.warned_about("/var").is_some(), "{:?}", rec.warnings);
}

/// Runs as an unprivileged user (re-executing this test under `setpriv` when
/// run as root, whose capabilities would read anything).
#[test]
fn unreadable_files_and_directories_are_reported_and_the_walk_goes_on() {
    const ENV: &str = "GARRISON_TEST_UNREADABLE_TREE";
    if let Some(dir) = std::env::var_os(ENV) {
        let mut src =
            Rootfs::open(&dir, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
        let mut rec = Recorder::new(|m| m.kind == EntryKind::File);
        src.walk(&mut rec, &Limits::default()).expect("walk");
        let w = rec
            .warned_about("/etc/secret")
            .expect("warning for the unreadable file");
        assert!(w.message.contains("ermission denied"), "{}", w.message);
        let w = rec
            .warned_about("/locked")
            .expect("warning for the unreadable directory");
        assert!(w.message.contains("ermission denied"), "{}", w.message);
        assert!(!rec.entries.contains_key("/locked/inner"));
        // Everything else was walked and read.
        assert_eq!(
            rec.contents["/etc/os-release"],
            b"ID=debian\nVERSION_ID=\"12\"\n"
        );
        assert_eq!(
            rec.contents["/var/lib/dpkg/status"],
            b"Package: a\nVersion: 1\n"
        );
        return;
    }
    let t = sample_tree();
    let r = t.path();
    write(r, "etc/secret", "x");
    write(r, "locked/inner", "x");
    fs::set_permissions(r.join("etc/secret"), fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::set_permissions(r.join("locked"), fs::Permissions::from_mode(0o000)).expect("chmod");
    fs::set_permissions(r, fs::Permissions::from_mode(0o755)).expect("chmod");
    let exe = std::env::current_exe().expect("exe");
    let test = "unreadable_files_and_directories_are_reported_and_the_walk_goes_on";
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ENV, r)
        .output()
        .expect("run the test binary as an unprivileged user");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "unprivileged run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    fs::set_permissions(r.join("locked"), fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Unmounts on drop, so a failing assertion does not leave mounts behind.
struct Mounted(Vec<std::path::PathBuf>);
impl Drop for Mounted {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(p).status();
        }
    }
}

fn mount(fstype: &str, at: &Path) {
    fs::create_dir_all(at).expect("mkdir");
    let st = Command::new("mount")
        .args(["-t", fstype, fstype])
        .arg(at)
        .status()
        .expect("run mount");
    assert!(
        st.success(),
        "mount -t {fstype} at {} failed (this test needs root)",
        at.display()
    );
}

#[test]
fn pseudo_filesystems_inside_the_tree_are_not_entered() {
    assert!(
        is_root(),
        "this test mounts proc, sysfs and tmpfs: run it as root"
    );
    let t = sample_tree();
    let r = t.path();
    let mut mounted = Mounted(Vec::new());
    for (fs_type, at) in [("proc", "proc"), ("sysfs", "sys"), ("tmpfs", "run")] {
        mount(fs_type, &r.join(at));
        mounted.0.push(r.join(at));
    }
    write(r, "run/lock/file", "on tmpfs");
    let mut src = Rootfs::open(r, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    let mut rec = Recorder::new(|m| m.kind == EntryKind::File);
    src.walk(&mut rec, &Limits::default()).expect("walk");
    for p in rec.entries.keys() {
        assert!(
            !p.starts_with("/proc") && !p.starts_with("/sys"),
            "{p} was entered"
        );
    }
    // A real (if in-memory) filesystem mounted inside is walked.
    assert_eq!(rec.contents["/run/lock/file"], b"on tmpfs");
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    drop(mounted);
}

#[test]
fn a_missing_root_is_an_error_naming_it() {
    let err = Rootfs::open(
        "/no/such/garrison/root",
        TargetKind::Rootfs,
        RootfsOptions::default(),
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("/no/such/garrison/root"), "{err}");
    let f = tempfile::NamedTempFile::new().expect("tmp");
    let err = Rootfs::open(f.path(), TargetKind::Rootfs, RootfsOptions::default())
        .expect_err("a file is not a root");
    assert!(
        err.to_string().contains(&f.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn stat_and_list_in_root_resolve_symlinks_inside_the_tree() {
    let t = sample_tree();
    let r = t.path();
    write(r, "etc/shadow", "inside\n");
    symlink("/usr", r.join("etc/usr-link")).expect("symlink");
    let src = Rootfs::open(r, TargetKind::Rootfs, RootfsOptions::default()).expect("open");
    // `/abs-escape -> /etc/shadow` resolves to the tree's own /etc/shadow.
    let m = src.stat_in_root("/abs-escape").expect("stat");
    assert_eq!(m.size, "inside\n".len() as u64);
    // `../../..` cannot climb above the tree's root: /etc/passwd of the tree is missing.
    let e = src
        .stat_in_root("/usr/rel-escape")
        .expect_err("no passwd in the tree");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(src.stat_in_root("/../../etc/hostname").is_err());
    // Listing through a symlinked directory stays inside, entries are not followed.
    let names: Vec<String> = src
        .list_in_root("/etc/usr-link/bin")
        .expect("list")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["tool", "tool-hardlink"]);
    let top = src.list_in_root("/").expect("list /");
    let (_, link) = top.iter().find(|(n, _)| n == "lib").expect("lib");
    assert_eq!(link.file_type, rustix::fs::FileType::Symlink);
}
