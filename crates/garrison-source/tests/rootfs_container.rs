//! A running podman container (of the image fixtures/debian/make.sh makes),
//! found by ID, ID prefix, name and PID, and read through /proc/PID/root
//! without ever leaving it.

mod rootfs_support;

use garrison_model::TargetKind;
use garrison_source::rootfs::Container;
use garrison_source::{EntryKind, Limits, Source};
use rootfs_support::{fixture_dir, Recorder};
use std::io::Read;
use std::process::Command;

const IMAGE: &str = "localhost/garrison-debian:12";

fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A container running `sleep`, removed on drop.
struct Running {
    id: String,
    name: String,
    pid: u32,
}

impl Running {
    fn start() -> Running {
        fixture_dir("debian");
        let ok = Command::new("podman")
            .args(["image", "exists", IMAGE])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "podman image {IMAGE} is missing: run fixtures/debian/make.sh"
        );
        let name = format!("garrison-rootfs-test-{}", std::process::id());
        let id = podman(&[
            "run",
            "-d",
            "--network=none",
            "--name",
            &name,
            IMAGE,
            "sleep",
            "600",
        ]);
        let pid = podman(&["inspect", "-f", "{{.State.Pid}}", &id])
            .parse()
            .expect("pid");
        Running { id, name, pid }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.id])
            .output();
    }
}

#[test]
fn a_running_container_is_found_by_id_prefix_name_and_pid_and_read_inside_its_root() {
    let c = Running::start();
    for arg in [
        c.id.clone(),
        c.id[..12].to_string(),
        c.id.to_uppercase(),
        c.name.clone(),
    ] {
        let found = Container::open(&arg).unwrap_or_else(|e| panic!("open {arg}: {e}"));
        let t = found.target();
        assert_eq!(t.kind, TargetKind::Container);
        assert_eq!(t.name, arg);
        assert_eq!(
            t.pid,
            Some(c.pid),
            "{arg}: not the container's init process"
        );
        assert_eq!(t.container_id.as_deref(), Some(c.id.as_str()));
        assert!(t.tags.iter().any(|x| x == IMAGE), "{:?}", t.tags);
        assert!(
            t.image_id
                .as_deref()
                .is_some_and(|i| i.starts_with("sha256:")),
            "{t:?}"
        );
    }
    let by_pid = Container::open(&c.pid.to_string()).expect("open by pid");
    assert_eq!(by_pid.target().container_id.as_deref(), Some(c.id.as_str()));
    assert_eq!(by_pid.pid(), Some(c.pid));

    // A file on the host, and a symlink in the container pointing at its path.
    let host = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(host.path(), "HOST").expect("write");
    let host_path = host.path().display().to_string();
    let script = format!(
        "mkdir -p \"$(dirname {host_path})\" && echo CONTAINER > {host_path} && ln -s ../../../../..{host_path} /evil"
    );
    podman(&["exec", &c.id, "sh", "-c", &script]);

    let mut src = Container::open(&c.id).expect("open");
    let mut s = String::new();
    src.rootfs()
        .open_in_root("/evil")
        .expect("open /evil")
        .read_to_string(&mut s)
        .expect("read");
    assert_eq!(
        s, "CONTAINER\n",
        "a symlink in the container resolved on the host"
    );

    let mut rec =
        Recorder::new(|m| m.kind == EntryKind::File && m.path.starts_with("/var/lib/dpkg/status"));
    src.walk(&mut rec, &Limits::default()).expect("walk");
    assert!(matches!(rec.entries["/evil"].0, EntryKind::Symlink(_)));
    let status = fixture_dir("debian").join("rootfs/var/lib/dpkg/status");
    assert_eq!(
        rec.contents["/var/lib/dpkg/status"],
        std::fs::read(&status).expect("fixture status"),
        "the container's dpkg status differs from the rootfs it was made from"
    );
    // /proc, /sys and /dev/pts of the container are pseudo filesystems: not entered.
    for p in rec.entries.keys() {
        assert!(
            !p.starts_with("/proc/") && !p.starts_with("/sys/") && !p.starts_with("/dev/pts/"),
            "{p} was entered"
        );
    }
    assert!(rec.entries.contains_key("/usr/bin/sleep"));
}

#[test]
fn an_unknown_container_is_an_error_naming_it() {
    let err = Container::open("ffffffffffffdeadbeef").expect_err("no such container");
    let msg = err.to_string();
    assert!(
        msg.contains("ffffffffffffdeadbeef") && msg.contains("no running container"),
        "{msg}"
    );
    assert!(Container::open("  ").is_err());
}
