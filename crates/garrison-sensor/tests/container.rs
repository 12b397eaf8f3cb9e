//! Actions inside a real podman container (runc, --network=none): events carry the
//! container's cgroup id, container-relative paths and the host paths behind them,
//! and an executable written in the container is marked as from the upper layer;
//! a DNS lookup in a container is attributed to it.
mod common;

use common::*;
use garrison_event::{DnsDirection, EventData, EventKind, Protocol, Resolution};
use std::path::{Path, PathBuf};
use std::process::Command;

const IMAGE: &str = "localhost/garrison-debian:12";

fn fixtures() -> PathBuf {
    std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"))
}

fn ensure_image() {
    let exists = Command::new("podman")
        .args(["image", "exists", IMAGE])
        .status();
    if exists.map(|s| s.success()).unwrap_or(false) {
        return;
    }
    let archive = fixtures().join("debian/debian-oci.tar");
    assert!(
        archive.exists(),
        "{} is missing: run fixtures/debian/make.sh (needs podman, runc, debootstrap)",
        archive.display()
    );
    let out = Command::new("podman")
        .args(["load", "-i"])
        .arg(&archive)
        .output()
        .expect("run podman (scripts/setup --test installs it)");
    assert!(
        out.status.success(),
        "podman load {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", &self.0])
            .output();
    }
}

/// The cgroup2 id of a running container (its init's cgroup directory's inode).
fn cgroup_id_of(cid: &str) -> u64 {
    let pid = String::from_utf8_lossy(
        &Command::new("podman")
            .args(["inspect", "-f", "{{.State.Pid}}", cid])
            .output()
            .unwrap()
            .stdout,
    )
    .trim()
    .to_string();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 line")
        .to_string();
    assert!(rel.contains(cid), "{rel}");
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/sys/fs/cgroup/unified{rel}"))
        .unwrap()
        .ino()
}

/// A lookup in a container (its own loopback, no network: glibc's resolver sends
/// its queries to 127.0.0.1:53, where nothing answers) is seen from the packets,
/// with the container's cgroup and the querying process.
#[test]
fn dns_query_in_a_container() {
    ensure_image();
    let mut h = start_with(garrison_event::Interest::kinds([EventKind::Dns]));
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n",
    )
    .unwrap();
    let out = Command::new("podman")
        .args(["run", "-d", "--network=none", "-v"])
        .arg(format!("{}:/etc/resolv.conf:ro", resolv.display()))
        .args([IMAGE, "sh", "-c"])
        .arg("getent hosts ctr.garrison.test; exec sleep 600")
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let _guard = Container(cid.clone());
    let q = h.wait_for("dns query in the container", |e| {
        matches!(&e.data, EventData::Dns { direction: DnsDirection::Query, query, .. } if query == "ctr.garrison.test")
    });
    assert_eq!(q.process.comm, "getent", "{q:?}");
    assert_ne!(q.process.pid, 0);
    assert_eq!(q.process.cgroup_id, cgroup_id_of(&cid), "{q:?}");
    let EventData::Dns {
        protocol, server, ..
    } = &q.data
    else {
        unreachable!()
    };
    assert_eq!(*protocol, Protocol::Udp);
    assert_eq!(server.port(), Some(53));
}

#[test]
fn container_actions_carry_cgroup_and_both_paths() {
    ensure_image();
    let mut h = start(&[EventKind::Exec, EventKind::Open, EventKind::Mkdir]);
    let out = Command::new("podman")
        .args(["run", "-d", "--network=none", IMAGE, "sh", "-c"])
        .arg("mkdir /tmp/gdir && echo x > /tmp/gdir/f && cp /bin/true /tmp/gdir/mytrue && /tmp/gdir/mytrue && /bin/true && exec sleep 600")
        .output()
        .expect("run podman");
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let _guard = Container(cid.clone());
    assert_eq!(cid.len(), 64, "{cid}");

    let mk = h.wait_for(
        "mkdir in the container",
        |e| matches!(&e.data, EventData::Mkdir { path, .. } if path.path == "/tmp/gdir"),
    );
    let cgroup_id = cgroup_id_of(&cid);
    assert_eq!(mk.process.cgroup_id, cgroup_id);
    assert_eq!(mk.result, Some(0));
    let EventData::Mkdir { path, .. } = &mk.data else {
        unreachable!()
    };
    assert_eq!(
        path.resolution,
        Resolution::Joined,
        "{mk:?}\n{}",
        std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
    );
    let host_dir = path
        .host_path
        .clone()
        .expect("a host path for a container path");
    assert!(
        host_dir.ends_with("/tmp/gdir") && host_dir != "/tmp/gdir",
        "{host_dir}"
    );
    assert!(Path::new(&host_dir).is_dir(), "{host_dir}");

    let w = h.wait_for(
        "write open in the container",
        |e| matches!(&e.data, EventData::Open { path, .. } if path.path == "/tmp/gdir/f"),
    );
    assert_eq!(w.process.cgroup_id, cgroup_id);
    let EventData::Open { path, .. } = &w.data else {
        unreachable!()
    };
    assert_eq!(path.resolution, Resolution::Kernel);
    let host_file = path.host_path.clone().expect("host path");
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "x\n");

    let upper = h.wait_for("exec of a binary written in the container", |e| {
        matches!(&e.data, EventData::Exec { filename, .. } if filename.path == "/tmp/gdir/mytrue")
    });
    assert_eq!(upper.process.cgroup_id, cgroup_id);
    let EventData::Exec {
        exe_upper_layer, ..
    } = upper.data
    else {
        unreachable!()
    };
    assert!(exe_upper_layer);
    let image = h.wait_for("exec of a binary from the image", |e| {
        e.process.cgroup_id == cgroup_id
            && matches!(&e.data, EventData::Exec { filename, .. } if filename.path == "/usr/bin/true")
    });
    let EventData::Exec {
        exe_upper_layer,
        filename,
        ..
    } = &image.data
    else {
        unreachable!()
    };
    assert!(!exe_upper_layer);
    assert_eq!(filename.raw.as_deref(), Some("/bin/true"));
    assert!(filename
        .host_path
        .as_deref()
        .is_some_and(|p| p.ends_with("/usr/bin/true") && p != "/usr/bin/true"));
}
