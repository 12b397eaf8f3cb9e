//! Listing running containers from a /proc: fake /proc trees (no root needed)
//! with the cgroup and stat files each engine leaves.

use garrison_source::rootfs::{running_containers, RunningContainer};
use std::path::Path;

const PODMAN: &str = "4d2a6c2b8e5f0a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3";
const DOCKER: &str = "b0b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9d0d1d2d3d4d5d6d7d8d9e0e1";
const RUNC: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const CRIO: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff0001";

/// A process in the fake /proc: its cgroup text and parent (`None`: no stat file).
fn process(proc: &Path, pid: u32, cgroup: &str, ppid: Option<u32>) {
    let dir = proc.join(pid.to_string());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cgroup"), cgroup).unwrap();
    if let Some(pp) = ppid {
        // A command name with spaces and a parenthesis, as stat allows.
        std::fs::write(
            dir.join("stat"),
            format!("{pid} (my (odd) cmd) S {pp} {pid} {pid} 0 -1 4194560 0 0\n"),
        )
        .unwrap();
    }
}

#[test]
fn every_engine_s_containers_are_listed_with_their_first_process() {
    let tmp = tempfile::tempdir().unwrap();
    let proc = tmp.path();
    // Host processes, podman's conmon (an engine helper, not the container).
    process(proc, 1, "0::/init.scope\n", Some(0));
    process(
        proc,
        90,
        &format!("0::/libpod_parent/libpod-conmon-{PODMAN}\n"),
        Some(1),
    );
    // podman on a hybrid hierarchy: init 100 (parent conmon, outside), its
    // children 101 and 102; listed out of order on purpose.
    let podman_cg =
        format!("12:pids:/libpod_parent/libpod-{PODMAN}\n0::/libpod_parent/libpod-{PODMAN}\n");
    process(proc, 102, &podman_cg, Some(101));
    process(proc, 100, &podman_cg, Some(90));
    process(proc, 101, &podman_cg, Some(100));
    // Docker (systemd driver), runc (bare ID), CRI-O under kubelet.
    process(
        proc,
        200,
        &format!("0::/system.slice/docker-{DOCKER}.scope\n"),
        Some(1),
    );
    process(proc, 300, &format!("0::/{RUNC}\n"), Some(1));
    process(
        proc,
        400,
        &format!("0::/kubepods.slice/kubepods-pod2.slice/crio-{CRIO}.scope\n"),
        Some(1),
    );
    // Not processes, or gone: ignored.
    std::fs::create_dir_all(proc.join("self")).unwrap();
    std::fs::create_dir_all(proc.join("500")).unwrap(); // exited: no cgroup file
    std::fs::write(proc.join("meminfo"), "MemTotal: 1 kB\n").unwrap();

    let list = running_containers(proc).unwrap();
    assert_eq!(
        list,
        vec![
            RunningContainer {
                id: RUNC.into(),
                pid: 300,
                cgroup: format!("/{RUNC}"),
            },
            RunningContainer {
                id: PODMAN.into(),
                pid: 100,
                cgroup: format!("/libpod_parent/libpod-{PODMAN}"),
            },
            RunningContainer {
                id: DOCKER.into(),
                pid: 200,
                cgroup: format!("/system.slice/docker-{DOCKER}.scope"),
            },
            RunningContainer {
                id: CRIO.into(),
                pid: 400,
                cgroup: format!("/kubepods.slice/kubepods-pod2.slice/crio-{CRIO}.scope"),
            },
        ]
    );
}

#[test]
fn unreadable_stat_files_fall_back_to_the_lowest_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let cg = format!("0::/{RUNC}\n");
    process(tmp.path(), 41, &cg, None);
    process(tmp.path(), 40, &cg, None);
    // A stat file that is garbage is no parent either.
    process(tmp.path(), 42, &cg, None);
    std::fs::write(tmp.path().join("42/stat"), "garbage").unwrap();
    let list = running_containers(tmp.path()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].pid, 40);
}

#[test]
fn a_host_without_containers_lists_none_and_a_missing_proc_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    process(tmp.path(), 1, "0::/init.scope\n", Some(0));
    assert!(running_containers(tmp.path()).unwrap().is_empty());
    let missing = tmp.path().join("no-proc");
    let e = running_containers(&missing).unwrap_err().to_string();
    assert!(e.contains("no-proc"), "{e}");
}

#[test]
fn garbage_cgroup_files_are_no_containers_and_no_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let proc = tmp.path();
    process(proc, 7, &format!("0::/{RUNC}\n"), Some(1));
    // Not UTF-8, no colons, an ID one digit short, an empty file.
    std::fs::create_dir_all(proc.join("8")).unwrap();
    std::fs::write(proc.join("8/cgroup"), b"0::/\xff\xfe\n").unwrap();
    process(proc, 9, "no colons at all\n", Some(1));
    process(proc, 10, &format!("0::/{}\n", &PODMAN[..63]), Some(1));
    process(proc, 11, "", Some(1));
    let list = running_containers(proc).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].id.as_str(), list[0].pid), (RUNC, 7));
}
