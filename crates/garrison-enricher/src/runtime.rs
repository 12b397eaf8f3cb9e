//! Container names and images from the runtimes' own state on disk (no daemon
//! calls: `podman inspect` is far too slow per event):
//! - podman and CRI-O (containers/storage): `<storage>/<driver>-containers/containers.json`
//!   (id, names, image id, metadata with `image-name`) and
//!   `<storage>/<driver>-images/images.json` (image names);
//! - Docker: `<docker>/containers/<id>/config.v2.json`.
//!
//! [`list_running`] joins this with garrison-source's list of running containers
//! (from /proc cgroups): what an agent's inventory reports per container.

use serde::Deserialize;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the runtime's state says about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// Name.
    pub name: Option<String>,
    /// Image reference (`repository:tag`).
    pub image: Option<String>,
    /// Image id.
    pub image_id: Option<String>,
    /// Kubernetes pod name (from a `k8s_<container>_<pod>_<namespace>_<uid>_<n>` name).
    pub pod_name: Option<String>,
    /// Kubernetes namespace (same).
    pub pod_namespace: Option<String>,
    /// Runs privileged (podman: the OCI spec keeps every capability and masks no
    /// path; Docker: `HostConfig.Privileged`).
    pub privileged: Option<bool>,
}

/// Whether an OCI runtime spec (`config.json`) describes a privileged container:
/// `CAP_SYS_ADMIN` in the bounding set and no masked paths (what `--privileged`
/// gives); `None` when the text is not a spec.
pub fn oci_privileged(text: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let bounding = v
        .pointer("/process/capabilities/bounding")?
        .as_array()?
        .iter()
        .any(|c| c.as_str() == Some("CAP_SYS_ADMIN"));
    let masked = v
        .pointer("/linux/maskedPaths")
        .and_then(|m| m.as_array())
        .is_some_and(|m| !m.is_empty());
    Some(bounding && !masked)
}

/// Docker's `hostconfig.json`: `Privileged`.
pub fn docker_privileged(text: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    v.get("Privileged")?.as_bool()
}

#[derive(Debug, Deserialize)]
struct StorageContainer {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    image: String,
    #[serde(default)]
    metadata: String,
}

#[derive(Debug, Default, Deserialize)]
struct StorageMetadata {
    #[serde(default, rename = "image-name")]
    image_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "pod-name")]
    pod_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StorageImage {
    id: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default, rename = "names-history")]
    names_history: Vec<String>,
}

/// Parses containers/storage's `containers.json` (with its `images.json` text for
/// image names) into id → metadata.
pub fn parse_storage(containers: &str, images: Option<&str>) -> HashMap<String, ContainerMeta> {
    let Ok(list) = serde_json::from_str::<Vec<StorageContainer>>(containers) else {
        return HashMap::new();
    };
    let image_names: HashMap<String, String> = images
        .and_then(|t| serde_json::from_str::<Vec<StorageImage>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| {
            let name = i
                .names
                .into_iter()
                .next()
                .or_else(|| i.names_history.into_iter().next())?;
            Some((i.id, name))
        })
        .collect();
    list.into_iter()
        .map(|c| {
            let meta: StorageMetadata = serde_json::from_str(&c.metadata).unwrap_or_default();
            let name = c.names.into_iter().next().or(meta.name);
            let image = meta
                .image_name
                .filter(|n| !n.is_empty())
                .or_else(|| image_names.get(&c.image).cloned());
            let (k8s_pod, k8s_ns) = name.as_deref().map(k8s_name).unwrap_or((None, None));
            let m = ContainerMeta {
                image,
                image_id: (!c.image.is_empty()).then_some(c.image),
                pod_name: meta.pod_name.or(k8s_pod),
                pod_namespace: k8s_ns,
                name,
                privileged: None,
            };
            (c.id, m)
        })
        .collect()
}

/// `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` (CRI-O and dockershim names).
pub fn k8s_name(name: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = name.trim_start_matches('/').split('_').collect();
    match parts.as_slice() {
        ["k8s", _container, pod, namespace, _uid, _attempt] => {
            (Some(pod.to_string()), Some(namespace.to_string()))
        }
        _ => (None, None),
    }
}

#[derive(Debug, Deserialize)]
struct DockerConfig {
    #[serde(default, rename = "Name")]
    name: Option<String>,
    #[serde(default, rename = "Image")]
    image: Option<String>,
    #[serde(default, rename = "Config")]
    config: Option<DockerInnerConfig>,
}

#[derive(Debug, Deserialize)]
struct DockerInnerConfig {
    #[serde(default, rename = "Image")]
    image: Option<String>,
}

/// Parses Docker's `config.v2.json`.
pub fn parse_docker(text: &str) -> Option<ContainerMeta> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if !value.is_object() {
        return None;
    }
    let c: DockerConfig = serde_json::from_value(value).ok()?;
    let name = c.name.map(|n| n.trim_start_matches('/').to_string());
    let (pod_name, pod_namespace) = name.as_deref().map(k8s_name).unwrap_or((None, None));
    Some(ContainerMeta {
        image: c.config.and_then(|c| c.image),
        image_id: c.image,
        pod_name,
        pod_namespace,
        name,
        privileged: None,
    })
}

/// Where the runtimes keep their state.
#[derive(Debug, Clone)]
pub struct StateDirs {
    /// containers/storage roots (podman, buildah, CRI-O).
    pub storage: Vec<PathBuf>,
    /// Docker's data root.
    pub docker: PathBuf,
}

impl Default for StateDirs {
    fn default() -> Self {
        StateDirs {
            storage: vec![
                PathBuf::from("/var/lib/containers/storage"),
                PathBuf::from("/run/containers/storage"),
            ],
            docker: PathBuf::from("/var/lib/docker"),
        }
    }
}

/// The runtimes' state, read lazily and reloaded when a file changes.
#[derive(Debug, Default)]
pub struct RuntimeState {
    dirs: StateDirs,
    storage: HashMap<String, ContainerMeta>,
    storage_sig: Vec<(PathBuf, Option<FileSig>)>,
    /// Reloads of containers.json done.
    pub reloads: u64,
}

/// inode, size, mtime seconds and nanoseconds: a file's version.
type FileSig = (u64, u64, i64, i64);

fn sig(path: &Path) -> Option<FileSig> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

impl RuntimeState {
    /// State read from `dirs`.
    pub fn new(dirs: StateDirs) -> Self {
        RuntimeState {
            dirs,
            ..RuntimeState::default()
        }
    }

    /// The `containers.json` files under the storage roots (one per driver).
    fn storage_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in &self.dirs.storage {
            let Ok(rd) = std::fs::read_dir(root) else {
                continue;
            };
            for ent in rd.flatten() {
                let name = ent.file_name();
                if name.to_string_lossy().ends_with("-containers") {
                    out.push(ent.path().join("containers.json"));
                }
            }
        }
        out.sort();
        out
    }

    fn reload_storage_if_changed(&mut self) {
        let files = self.storage_files();
        let sigs: Vec<_> = files.iter().map(|f| (f.clone(), sig(f))).collect();
        if sigs == self.storage_sig {
            return;
        }
        self.reloads += 1;
        self.storage.clear();
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            // <driver>-containers/containers.json → <driver>-images/images.json
            let images = file
                .parent()
                .and_then(|d| {
                    let name = d
                        .file_name()?
                        .to_string_lossy()
                        .replace("-containers", "-images");
                    Some(d.with_file_name(name).join("images.json"))
                })
                .and_then(|p| std::fs::read_to_string(p).ok());
            self.storage.extend(parse_storage(&text, images.as_deref()));
        }
        self.storage_sig = sigs;
    }

    /// Metadata of a container, by id; `None` when no runtime state names it.
    pub fn lookup(&mut self, runtime: garrison_event::Runtime, id: &str) -> Option<ContainerMeta> {
        use garrison_event::Runtime;
        match runtime {
            Runtime::Docker => {
                let path = self
                    .dirs
                    .docker
                    .join("containers")
                    .join(id)
                    .join("config.v2.json");
                let mut meta = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| parse_docker(&t))?;
                meta.privileged = std::fs::read_to_string(path.with_file_name("hostconfig.json"))
                    .ok()
                    .and_then(|t| docker_privileged(&t));
                Some(meta)
            }
            _ => {
                let mut meta = match self.storage.get(id) {
                    Some(m) => m.clone(),
                    None => {
                        self.reload_storage_if_changed();
                        self.storage.get(id).cloned()?
                    }
                };
                if meta.privileged.is_some() {
                    return Some(meta);
                }
                // <driver>-containers/<id>/userdata/config.json: the OCI spec.
                meta.privileged = self.storage_files().iter().find_map(|f| {
                    let spec = f.parent()?.join(id).join("userdata").join("config.json");
                    std::fs::read_to_string(spec)
                        .ok()
                        .and_then(|t| oci_privileged(&t))
                });
                self.storage.insert(id.to_string(), meta.clone());
                Some(meta)
            }
        }
    }
}

/// A running container and what its runtime's state says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningContainer {
    /// ID, first process and cgroup path.
    pub container: garrison_source::rootfs::RunningContainer,
    /// The runtime its cgroup naming points to.
    pub runtime: garrison_event::Runtime,
    /// Name, image and pod from the runtime's state; default when no state names it
    /// (plain runc, or a runtime whose state this host keeps elsewhere).
    pub meta: ContainerMeta,
}

/// Every container with a process under `proc` (the host's `/proc`), sorted by
/// ID, with its name and image where the runtimes' state (`state`) gives them.
pub fn list_running(
    proc: &Path,
    state: &mut RuntimeState,
) -> Result<Vec<RunningContainer>, garrison_source::SourceError> {
    Ok(garrison_source::rootfs::running_containers(proc)?
        .into_iter()
        .map(|c| {
            let runtime = crate::cgroup::parse_cgroup_path(&c.cgroup)
                .map(|p| p.runtime)
                .unwrap_or(garrison_event::Runtime::Unknown);
            let meta = state.lookup(runtime, &c.id).unwrap_or_default();
            RunningContainer {
                container: c,
                runtime,
                meta,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // As podman 4.3 writes them on Debian 12 (trimmed).
    const CONTAINERS: &str = r#"[{"id":"6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a","names":["gtest-probe"],"image":"23c3e81e9c973406d17f1856512ae1596afc5a2a25583d90ab87713e492a9b93","layer":"9d49","metadata":"{\"image-name\":\"localhost/garrison-debian:12\",\"image-id\":\"23c3e81e9c973406d17f1856512ae1596afc5a2a25583d90ab87713e492a9b93\",\"name\":\"gtest-probe\",\"created-at\":1796425478}","created":"2026-12-04T23:04:38.268931222Z","flags":{"Volatile":true}},
        {"id":"b1","names":["k8s_app_web-7d9_prod_0a1b_0"],"image":"ff","metadata":"{}"}]"#;
    const IMAGES: &str = r#"[{"id":"ff","names":["localhost/other:2"]},{"id":"23c3e81e9c973406d17f1856512ae1596afc5a2a25583d90ab87713e492a9b93","names":["localhost/garrison-debian:12"]}]"#;

    #[test]
    fn podman_storage_state() {
        let map = parse_storage(CONTAINERS, Some(IMAGES));
        let m = &map["6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a"];
        assert_eq!(m.name.as_deref(), Some("gtest-probe"));
        assert_eq!(m.image.as_deref(), Some("localhost/garrison-debian:12"));
        assert_eq!(
            m.image_id.as_deref(),
            Some("23c3e81e9c973406d17f1856512ae1596afc5a2a25583d90ab87713e492a9b93")
        );
        // No image-name in the metadata: the image's own name; a k8s name: pod and namespace.
        let k = &map["b1"];
        assert_eq!(k.image.as_deref(), Some("localhost/other:2"));
        assert_eq!(k.pod_name.as_deref(), Some("web-7d9"));
        assert_eq!(k.pod_namespace.as_deref(), Some("prod"));
        assert!(parse_storage("not json", None).is_empty());
        assert!(parse_storage(r#"[{"names":[]}]"#, None).is_empty());
    }

    #[test]
    fn privileged_from_oci_spec_and_docker_hostconfig() {
        let privileged =
            r#"{"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"]}},"linux":{}}"#;
        let plain = r#"{"process":{"capabilities":{"bounding":["CAP_CHOWN"]}},"linux":{"maskedPaths":["/proc/kcore"]}}"#;
        let caps_but_masked = r#"{"process":{"capabilities":{"bounding":["CAP_SYS_ADMIN"]}},"linux":{"maskedPaths":["/proc/kcore"]}}"#;
        assert_eq!(oci_privileged(privileged), Some(true));
        assert_eq!(oci_privileged(plain), Some(false));
        assert_eq!(oci_privileged(caps_but_masked), Some(false));
        assert_eq!(oci_privileged("[]"), None);
        assert_eq!(docker_privileged(r#"{"Privileged":true}"#), Some(true));
        assert_eq!(docker_privileged(r#"{"Privileged":false}"#), Some(false));
        assert_eq!(docker_privileged("{}"), None);
    }

    #[test]
    fn docker_config() {
        let m = parse_docker(
            r#"{"ID":"x","Name":"/web","Image":"sha256:abcd","Config":{"Image":"nginx:1.25"}}"#,
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("web"));
        assert_eq!(m.image.as_deref(), Some("nginx:1.25"));
        assert_eq!(m.image_id.as_deref(), Some("sha256:abcd"));
        assert_eq!(parse_docker("[]"), None);
    }

    #[test]
    fn running_containers_are_named_from_podman_and_docker_state() {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(storage.join("overlay-containers")).unwrap();
        std::fs::create_dir_all(storage.join("overlay-images")).unwrap();
        std::fs::write(
            storage.join("overlay-containers/containers.json"),
            CONTAINERS,
        )
        .unwrap();
        std::fs::write(storage.join("overlay-images/images.json"), IMAGES).unwrap();
        let docker_id = "d0".repeat(32);
        let docker = dir.path().join("docker");
        std::fs::create_dir_all(docker.join("containers").join(&docker_id)).unwrap();
        std::fs::write(
            docker
                .join("containers")
                .join(&docker_id)
                .join("config.v2.json"),
            r#"{"Name":"/web","Image":"sha256:abcd","Config":{"Image":"nginx:1.25"}}"#,
        )
        .unwrap();
        let podman_id = "6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a";
        let runc_id = "0123456789abcdef".repeat(4);
        let proc = dir.path().join("proc");
        for (pid, cg) in [
            (10, format!("0::/libpod_parent/libpod-{podman_id}\n")),
            (20, format!("0::/system.slice/docker-{docker_id}.scope\n")),
            (30, format!("0::/{runc_id}\n")),
            (40, "0::/init.scope\n".to_string()),
        ] {
            std::fs::create_dir_all(proc.join(pid.to_string())).unwrap();
            std::fs::write(proc.join(pid.to_string()).join("cgroup"), cg).unwrap();
            std::fs::write(
                proc.join(pid.to_string()).join("stat"),
                format!("{pid} (sh) S 1 0 0\n"),
            )
            .unwrap();
        }
        let mut state = RuntimeState::new(StateDirs {
            storage: vec![storage],
            docker,
        });
        let list = list_running(&proc, &mut state).unwrap();
        let got: Vec<_> = list
            .iter()
            .map(|c| {
                (
                    c.container.id.as_str(),
                    c.container.pid,
                    c.runtime,
                    c.meta.name.as_deref(),
                    c.meta.image.as_deref(),
                )
            })
            .collect();
        use garrison_event::Runtime;
        assert_eq!(
            got,
            vec![
                (runc_id.as_str(), 30, Runtime::Runc, None, None),
                (
                    podman_id,
                    10,
                    Runtime::Podman,
                    Some("gtest-probe"),
                    Some("localhost/garrison-debian:12")
                ),
                (
                    docker_id.as_str(),
                    20,
                    Runtime::Docker,
                    Some("web"),
                    Some("nginx:1.25")
                ),
            ]
        );
    }

    #[test]
    fn state_dirs_reload_when_containers_json_changes() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("overlay-containers");
        let i = dir.path().join("overlay-images");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::create_dir_all(&i).unwrap();
        std::fs::write(c.join("containers.json"), "[]").unwrap();
        std::fs::write(i.join("images.json"), IMAGES).unwrap();
        let mut state = RuntimeState::new(StateDirs {
            storage: vec![dir.path().to_path_buf()],
            docker: dir.path().join("docker"),
        });
        let id = "6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a";
        assert_eq!(state.lookup(garrison_event::Runtime::Podman, id), None);
        std::fs::write(c.join("containers.json"), CONTAINERS).unwrap();
        let m = state.lookup(garrison_event::Runtime::Podman, id).unwrap();
        assert_eq!(m.image.as_deref(), Some("localhost/garrison-debian:12"));
        assert_eq!(state.lookup(garrison_event::Runtime::Docker, id), None);
    }
}
