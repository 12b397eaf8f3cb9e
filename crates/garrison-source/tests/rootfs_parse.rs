//! Reading mountinfo and cgroup files: which mounts a walk skips and which
//! container a process belongs to.

use garrison_source::rootfs::{container_id_in_cgroup, pseudo_mounts_in};

const ID: &str = "4d2a6c2b8e5f0a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3";

#[test]
fn cgroup_paths_of_each_engine_name_the_container() {
    let cases = [
        // podman with cgroupfs (these hosts), v2 line of a hybrid hierarchy
        format!("12:pids:/libpod_parent/libpod-{ID}\n0::/libpod_parent/libpod-{ID}\n"),
        // podman with systemd
        format!("0::/machine.slice/libpod-{ID}.scope/container\n"),
        // docker with systemd, and with cgroupfs
        format!("0::/system.slice/docker-{ID}.scope\n"),
        format!("11:memory:/docker/{ID}\n"),
        // containerd (CRI) and CRI-O under kubelet
        format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{ID}.scope\n"),
        format!("0::/kubepods.slice/kubepods-pod2.slice/crio-{ID}.scope\n"),
        format!("0::/kubepods/besteffort/pod0a1b/{ID}\n"),
        // plain runc
        format!("0::/{ID}\n"),
    ];
    for c in &cases {
        assert_eq!(container_id_in_cgroup(c).as_deref(), Some(ID), "{c}");
    }
}

#[test]
fn host_processes_and_engine_helpers_are_not_containers() {
    for c in [
        "0::/\n".to_string(),
        "0::/init.scope\n12:pids:/user.slice\n".to_string(),
        format!("0::/libpod_parent/conmon\n1:name=x:/libpod-conmon-{ID}\n"),
        format!("0::/machine.slice/crio-conmon-{ID}.scope\n"),
        // not 64 hex characters
        format!("0::/docker/{}\n", &ID[..63]),
        "0::/docker/ZZ2a6c2b8e5f0a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3\n".to_string(),
        "garbage without colons\n".to_string(),
        String::new(),
    ] {
        assert_eq!(container_id_in_cgroup(&c), None, "{c}");
    }
}

const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
25 22 0:5 / /dev rw,nosuid shared:8 - devtmpfs udev rw,size=4096k
26 25 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:9 - devpts devpts rw
27 24 0:24 / /sys/fs/cgroup/unified rw shared:5 - cgroup2 cgroup2 rw
28 22 0:25 / /run rw,nosuid,nodev shared:13 - tmpfs tmpfs rw
29 22 0:26 / /srv/snap rw shared:14 - ext4 /dev/vdb rw
30 29 0:27 / /srv/snap/proc rw shared:15 - proc proc rw
31 29 0:28 / /srv/snap/with\\040space rw shared:16 - sysfs sysfs rw
32 22 0:29 / /srv/snapshot-other/proc rw shared:17 - proc proc rw
33 22 0:30 / /sys/kernel/tracing rw - tracefs tracefs rw
34 22 0:31 / /sys/fs/bpf rw - bpf bpf rw
malformed line
35 22 0:32 / /mnt/auto rw - autofs systemd-1 rw
";

#[test]
fn pseudo_mounts_of_the_host_root() {
    let m = pseudo_mounts_in(MOUNTINFO, "/");
    for p in [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/sys/fs/cgroup/unified",
        "/srv/snap/proc",
    ] {
        assert!(m.contains(&p.to_string()), "{p} missing from {m:?}");
    }
    for p in [
        "/sys/kernel/tracing",
        "/sys/fs/bpf",
        "/mnt/auto",
        "/srv/snap/with space",
    ] {
        assert!(m.contains(&p.to_string()), "{p} missing from {m:?}");
    }
    // Real filesystems are walked, tmpfs included.
    for p in ["/", "/run", "/srv/snap"] {
        assert!(!m.contains(&p.to_string()), "{p} wrongly skipped");
    }
}

#[test]
fn pseudo_mounts_below_a_snapshot_are_relative_to_it() {
    let m = pseudo_mounts_in(MOUNTINFO, "/srv/snap/");
    assert_eq!(m, ["/proc", "/with space"]);
    // A sibling directory sharing the prefix is not below the root.
    assert!(!m.iter().any(|p| p.contains("other")));
    assert!(pseudo_mounts_in(MOUNTINFO, "/nowhere").is_empty());
}
