//! From a cgroup to a container: parsing container ids, runtimes and Kubernetes
//! pods out of cgroup paths (v1 and v2, systemd and cgroupfs drivers), and
//! mapping cgroup2 ids (directory inode numbers) to paths.

use garrison_event::{Pod, Runtime};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a cgroup path says about the container it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupContainer {
    /// Container id (64 hex digits).
    pub id: String,
    /// The runtime the path's naming points to.
    pub runtime: Runtime,
    /// Kubernetes pod UID, when the path runs through a pod slice.
    pub pod_uid: Option<String>,
    /// QoS class: `guaranteed`, `burstable` or `besteffort`.
    pub qos: Option<String>,
}

impl CgroupContainer {
    /// The pod, when there is one.
    pub fn pod(&self) -> Option<Pod> {
        self.pod_uid.as_ref().map(|uid| Pod {
            uid: uid.clone(),
            name: None,
            namespace: None,
            qos: self.qos.clone(),
        })
    }
}

/// Parses a cgroup path (`/libpod_parent/libpod-<id>`, a line of /proc/PID/cgroup
/// is not needed: pass the path part). `None` for host cgroups and engine helpers
/// (conmon).
pub fn parse_cgroup_path(path: &str) -> Option<CgroupContainer> {
    // The id itself: garrison-source knows every engine's wrapping.
    let id = garrison_source::rootfs::container_id_in_cgroup(&format!("0::{path}"))?;
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let at = comps.iter().rposition(|c| c.contains(id.as_str()))?;
    let comp = comps.get(at).copied().unwrap_or_default();
    let in_kubepods = comps.iter().any(|c| c.starts_with("kubepods"));
    let runtime = if comp.starts_with("libpod-") {
        Runtime::Podman
    } else if comp.starts_with("docker-") {
        Runtime::Docker
    } else if comp.starts_with("cri-containerd-") {
        Runtime::Containerd
    } else if comp.starts_with("crio-") {
        Runtime::Crio
    } else if at > 0 && comps.get(at - 1) == Some(&"docker") {
        Runtime::Docker
    } else if in_kubepods {
        // kubelet's cgroupfs driver: /kubepods/<qos>/pod<uid>/<id>. CRI-O prefixes
        // its ids even there (crio-<id>), dockershim is gone since Kubernetes 1.24:
        // a bare id under kubepods is containerd's.
        Runtime::Containerd
    } else if at == 0 {
        Runtime::Runc
    } else {
        Runtime::Unknown
    };
    let (pod_uid, qos) = if in_kubepods {
        pod_in_path(&comps[..at])
    } else {
        (None, None)
    };
    Some(CgroupContainer {
        id,
        runtime,
        pod_uid,
        qos,
    })
}

/// Pod UID and QoS from the components above the container's.
fn pod_in_path(comps: &[&str]) -> (Option<String>, Option<String>) {
    let mut uid = None;
    let mut qos = None;
    for comp in comps {
        let c = comp.strip_suffix(".slice").unwrap_or(comp);
        // systemd: kubepods-burstable-pod<uid>.slice, kubepods-pod<uid>.slice
        // cgroupfs: pod<uid>
        let tail = match c.strip_prefix("pod") {
            Some(u) => Some(u),
            None => c.rfind("-pod").and_then(|i| c.get(i + 4..)),
        };
        if let Some(u) = tail {
            if !u.is_empty()
                && u.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'_' || b == b'-')
            {
                uid = Some(u.replace('_', "-"));
            }
        }
        for class in ["burstable", "besteffort"] {
            if c == class
                || c == format!("kubepods-{class}")
                || c.starts_with(&format!("kubepods-{class}-"))
            {
                qos = Some(class.to_string());
            }
        }
    }
    if uid.is_some() && qos.is_none() {
        // A pod slice directly under kubepods is a Guaranteed pod.
        qos = Some("guaranteed".to_string());
    }
    (uid, qos)
}

/// Where cgroup2 is mounted, from the text of /proc/self/mountinfo (the
/// `unified` mount of a hybrid hierarchy, or /sys/fs/cgroup on pure v2).
pub fn cgroup2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace()
            .nth(4)
            .map(|m| PathBuf::from(unescape_octal(m)))
    })
}

/// mountinfo escapes spaces and such as `\040`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(v) = b
                .get(i + 1..i + 4)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// cgroup2 ids (directory inode numbers, what `bpf_get_current_cgroup_id()`
/// returns) to paths relative to the cgroup2 mount.
#[derive(Debug)]
pub struct CgroupMap {
    root: Option<PathBuf>,
    paths: HashMap<u64, String>,
    /// Full walks of the hierarchy done.
    pub scans: u64,
}

/// How deep a walk descends (kubepods paths are 5 deep).
const MAX_DEPTH: usize = 12;
/// The most directories a walk records.
const MAX_DIRS: usize = 100_000;

impl CgroupMap {
    /// A map over the cgroup2 hierarchy mounted at `root` (`None`: no cgroup2).
    pub fn new(root: Option<PathBuf>) -> Self {
        CgroupMap {
            root,
            paths: HashMap::new(),
            scans: 0,
        }
    }

    /// The mount this map reads.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The path of a cgroup id, from the cache.
    pub fn cached(&self, id: u64) -> Option<&str> {
        self.paths.get(&id).map(String::as_str)
    }

    /// The id of a cgroup path (its directory's inode), recording it.
    pub fn id_of(&mut self, path: &str) -> Option<u64> {
        let root = self.root.as_ref()?;
        let dir = root.join(path.trim_start_matches('/'));
        let ino = std::fs::metadata(dir).ok()?.ino();
        self.paths.insert(ino, normalize(path));
        Some(ino)
    }

    /// Walks the whole hierarchy again (new containers), returning the directories seen.
    pub fn rescan(&mut self) -> usize {
        let Some(root) = self.root.clone() else {
            return 0;
        };
        self.scans += 1;
        self.paths.clear();
        let mut stack = vec![(root.clone(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            let rel = dir
                .strip_prefix(&root)
                .map(|p| format!("/{}", p.display()))
                .unwrap_or_default();
            self.paths.insert(meta.ino(), normalize(&rel));
            if depth >= MAX_DEPTH || self.paths.len() >= MAX_DIRS {
                continue;
            }
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for ent in rd.flatten() {
                if ent.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((ent.path(), depth + 1));
                }
            }
        }
        self.paths.len()
    }
}

fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4d2a6c2b8e5f0a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3";
    const UID: &str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";

    fn parsed(path: &str) -> CgroupContainer {
        parse_cgroup_path(path).unwrap_or_else(|| panic!("no container in {path}"))
    }

    #[test]
    fn engines_by_path_shape() {
        let cases = [
            (format!("/libpod_parent/libpod-{ID}"), Runtime::Podman),
            (format!("/machine.slice/libpod-{ID}.scope"), Runtime::Podman),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                Runtime::Podman,
            ),
            (format!("/system.slice/docker-{ID}.scope"), Runtime::Docker),
            (format!("/docker/{ID}"), Runtime::Docker),
            (
                format!("/system.slice/cri-containerd-{ID}.scope"),
                Runtime::Containerd,
            ),
            (format!("/machine.slice/crio-{ID}.scope"), Runtime::Crio),
            (format!("/{ID}"), Runtime::Runc),
            (format!("/user.slice/{ID}"), Runtime::Unknown),
        ];
        for (path, runtime) in cases {
            let c = parsed(&path);
            assert_eq!(c.id, ID, "{path}");
            assert_eq!(c.runtime, runtime, "{path}");
            assert_eq!(c.pod_uid, None, "{path}");
        }
    }

    #[test]
    fn kubernetes_pods_systemd_and_cgroupfs_drivers() {
        let systemd_uid = UID.replace('-', "_");
        let cases = [
            // systemd driver (v2 and v1 controllers share the shape)
            (
                format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{systemd_uid}.slice/cri-containerd-{ID}.scope"),
                Runtime::Containerd,
                "burstable",
            ),
            (
                format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{systemd_uid}.slice/crio-{ID}.scope"),
                Runtime::Crio,
                "besteffort",
            ),
            (
                format!("/kubepods.slice/kubepods-pod{systemd_uid}.slice/cri-containerd-{ID}.scope"),
                Runtime::Containerd,
                "guaranteed",
            ),
            // cgroupfs driver
            (format!("/kubepods/besteffort/pod{UID}/{ID}"), Runtime::Containerd, "besteffort"),
            (format!("/kubepods/burstable/pod{UID}/crio-{ID}"), Runtime::Crio, "burstable"),
            (format!("/kubepods/pod{UID}/{ID}"), Runtime::Containerd, "guaranteed"),
        ];
        for (path, runtime, qos) in cases {
            let c = parsed(&path);
            assert_eq!(c.id, ID, "{path}");
            assert_eq!(c.runtime, runtime, "{path}");
            assert_eq!(c.pod_uid.as_deref(), Some(UID), "{path}");
            assert_eq!(c.qos.as_deref(), Some(qos), "{path}");
            let pod = c.pod().unwrap();
            assert_eq!(pod.uid, UID);
        }
    }

    #[test]
    fn host_cgroups_and_helpers_are_not_containers() {
        for path in [
            "/".to_string(),
            "/init.scope".to_string(),
            "/libpod_parent/conmon".to_string(),
            format!("/machine.slice/libpod-conmon-{ID}.scope"),
            format!("/machine.slice/crio-conmon-{ID}.scope"),
            "/kubepods.slice/kubepods-burstable.slice".to_string(),
            String::new(),
        ] {
            assert_eq!(parse_cgroup_path(&path), None, "{path}");
        }
    }

    #[test]
    fn cgroup2_mount_in_hybrid_and_unified_hosts() {
        let hybrid = "25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
            26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n\
            27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(
            cgroup2_mount(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified = "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(cgroup2_mount("junk\n"), None);
        assert_eq!(unescape_octal("/a\\040b"), "/a b");
        assert_eq!(unescape_octal("/a\\04"), "/a\\04");
    }

    #[test]
    fn ids_of_a_directory_tree() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir
            .path()
            .join("libpod_parent")
            .join(format!("libpod-{ID}"));
        std::fs::create_dir_all(&leaf).unwrap();
        let ino = std::fs::metadata(&leaf).unwrap().ino();
        let mut map = CgroupMap::new(Some(dir.path().to_path_buf()));
        assert_eq!(map.rescan(), 3);
        let expected = format!("/libpod_parent/libpod-{ID}");
        assert_eq!(map.cached(ino), Some(expected.as_str()));
        assert_eq!(map.id_of(&expected), Some(ino));
        let root_ino = std::fs::metadata(dir.path()).unwrap().ino();
        assert_eq!(map.cached(root_ino), Some("/"));
    }
}
