//! The Pod Security Standards, baseline and restricted, as upstream
//! pod-security-admission defines them for each policy version 1.0 to 1.37.
//!
//! Each check below mirrors one upstream check ID, with the version at which
//! its behaviour changes; at the restricted level, restricted checks replace
//! the baseline checks they override (`restrictedVolumes` replaces
//! `hostPathVolumes`, `capabilities_restricted` replaces
//! `capabilities_baseline` from 1.22, `seccompProfile_restricted` replaces
//! `seccompProfile_baseline` from 1.19, `procMount_restricted` replaces
//! `procMount` from 1.35). Every violation points at the offending node.

use crate::analyzer::{K8sVersion, PssLevel};
use crate::yaml::{Node, Pos};

/// One failed upstream check at one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The upstream check ID, e.g. `hostNamespaces`.
    pub check: &'static str,
    pub message: String,
    pub pos: Pos,
}

/// The pod's metadata and spec, as found in a Pod or a pod template.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    pub metadata: Option<&'a Node>,
    pub spec: &'a Node,
}

/// A non-null value under `key`.
pub(crate) fn field<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    n.get(key).filter(|v| !v.is_null())
}

pub(crate) fn field_path<'a>(n: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(n, |n, k| field(n, k))
}

fn text(n: Option<&Node>) -> String {
    n.and_then(Node::scalar_text).unwrap_or_default()
}

/// Which container list a container came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerList {
    pub fn key(self) -> &'static str {
        match self {
            ContainerList::Init => "initContainers",
            ContainerList::Regular => "containers",
            ContainerList::Ephemeral => "ephemeralContainers",
        }
    }
}

/// Init, regular then ephemeral containers, as upstream visits them.
pub fn containers(spec: &Node) -> impl Iterator<Item = (ContainerList, &Node)> {
    [
        ContainerList::Init,
        ContainerList::Regular,
        ContainerList::Ephemeral,
    ]
    .into_iter()
    .flat_map(move |l| {
        spec.get(l.key())
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter(|c| c.is_map())
            .map(move |c| (l, c))
    })
}

pub(crate) fn container_name(c: &Node) -> String {
    c.get("name")
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| "(unnamed)".into())
}

/// Where to point for a missing setting of a container: its securityContext
/// if it has one, else the container itself.
fn sc_pos(c: &Node) -> Pos {
    field(c, "securityContext").map_or(c.pos, |s| s.pos)
}

fn pod_sc(spec: &Node) -> Option<&Node> {
    field(spec, "securityContext")
}

fn container_sc(c: &Node) -> Option<&Node> {
    field(c, "securityContext")
}

fn is_windows(spec: &Node) -> bool {
    field_path(spec, &["os", "name"]).and_then(Node::as_str) == Some("windows")
}

fn user_namespace(spec: &Node) -> bool {
    field(spec, "hostUsers").and_then(Node::as_bool) == Some(false)
}

type CheckFn = fn(&PodView<'_>, u32, &mut Vec<Violation>);

struct PssCheck {
    id: &'static str,
    level: PssLevel,
    since: u32,
    run: CheckFn,
    /// Baseline checks this one replaces at the restricted level, from `since`.
    overrides: &'static [&'static str],
}

const CHECKS: &[PssCheck] = &[
    PssCheck {
        id: "hostNamespaces",
        level: PssLevel::Baseline,
        since: 0,
        run: host_namespaces,
        overrides: &[],
    },
    PssCheck {
        id: "privileged",
        level: PssLevel::Baseline,
        since: 0,
        run: privileged,
        overrides: &[],
    },
    PssCheck {
        id: "capabilities_baseline",
        level: PssLevel::Baseline,
        since: 0,
        run: capabilities_baseline,
        overrides: &[],
    },
    PssCheck {
        id: "hostPathVolumes",
        level: PssLevel::Baseline,
        since: 0,
        run: host_path_volumes,
        overrides: &[],
    },
    PssCheck {
        id: "hostPorts",
        level: PssLevel::Baseline,
        since: 0,
        run: host_ports,
        overrides: &[],
    },
    PssCheck {
        id: "appArmorProfile",
        level: PssLevel::Baseline,
        since: 0,
        run: app_armor,
        overrides: &[],
    },
    PssCheck {
        id: "seLinuxOptions",
        level: PssLevel::Baseline,
        since: 0,
        run: selinux,
        overrides: &[],
    },
    PssCheck {
        id: "procMount",
        level: PssLevel::Baseline,
        since: 0,
        run: proc_mount_baseline,
        overrides: &[],
    },
    PssCheck {
        id: "seccompProfile_baseline",
        level: PssLevel::Baseline,
        since: 0,
        run: seccomp_baseline,
        overrides: &[],
    },
    PssCheck {
        id: "sysctls",
        level: PssLevel::Baseline,
        since: 0,
        run: sysctls,
        overrides: &[],
    },
    PssCheck {
        id: "windowsHostProcess",
        level: PssLevel::Baseline,
        since: 0,
        run: windows_host_process,
        overrides: &[],
    },
    PssCheck {
        id: "hostProbesAndHostLifecycle",
        level: PssLevel::Baseline,
        since: 34,
        run: host_probes,
        overrides: &[],
    },
    PssCheck {
        id: "restrictedVolumes",
        level: PssLevel::Restricted,
        since: 0,
        run: restricted_volumes,
        overrides: &["hostPathVolumes"],
    },
    PssCheck {
        id: "allowPrivilegeEscalation",
        level: PssLevel::Restricted,
        since: 8,
        run: allow_privilege_escalation,
        overrides: &[],
    },
    PssCheck {
        id: "runAsNonRoot",
        level: PssLevel::Restricted,
        since: 0,
        run: run_as_non_root,
        overrides: &[],
    },
    PssCheck {
        id: "runAsUser",
        level: PssLevel::Restricted,
        since: 23,
        run: run_as_user,
        overrides: &[],
    },
    PssCheck {
        id: "seccompProfile_restricted",
        level: PssLevel::Restricted,
        since: 19,
        run: seccomp_restricted,
        overrides: &["seccompProfile_baseline"],
    },
    PssCheck {
        id: "capabilities_restricted",
        level: PssLevel::Restricted,
        since: 22,
        run: capabilities_restricted,
        overrides: &["capabilities_baseline"],
    },
    PssCheck {
        id: "procMount_restricted",
        level: PssLevel::Restricted,
        since: 35,
        run: proc_mount_restricted,
        overrides: &["procMount"],
    },
];

/// Every upstream check ID this module implements.
pub fn check_ids() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|c| c.id)
}

/// The checks that apply at `level` and `version`, after overrides.
pub fn active_checks(level: PssLevel, version: K8sVersion) -> Vec<&'static str> {
    active(level, version.minor).map(|c| c.id).collect()
}

fn active(level: PssLevel, v: u32) -> impl Iterator<Item = &'static PssCheck> {
    let overridden: Vec<&str> = if level == PssLevel::Restricted {
        CHECKS
            .iter()
            .filter(|c| c.level == PssLevel::Restricted && c.since <= v)
            .flat_map(|c| c.overrides.iter().copied())
            .collect()
    } else {
        Vec::new()
    };
    CHECKS.iter().filter(move |c| {
        c.since <= v
            && (c.level == PssLevel::Baseline || level == PssLevel::Restricted)
            && !overridden.contains(&c.id)
    })
}

/// Judges a pod at `level` and `version` as pod-security-admission does; an
/// empty result means the pod is allowed.
pub fn evaluate(pod: &PodView<'_>, level: PssLevel, version: K8sVersion) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in active(level, version.minor) {
        (c.run)(pod, version.minor, &mut out);
    }
    out
}

fn v(check: &'static str, pos: Pos, message: String) -> Violation {
    Violation {
        check,
        message,
        pos,
    }
}

fn host_namespaces(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if let Some(n) = field(p.spec, key).filter(|n| n.as_bool() == Some(true)) {
            out.push(v(
                "hostNamespaces",
                n.pos,
                format!("pod sets {key}=true and shares the host's namespace"),
            ));
        }
    }
}

fn privileged(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for (_, c) in containers(p.spec) {
        if let Some(n) = container_sc(c).and_then(|s| field(s, "privileged")) {
            if n.as_bool() == Some(true) {
                out.push(v(
                    "privileged",
                    n.pos,
                    format!(
                        "container {:?} sets securityContext.privileged=true",
                        container_name(c)
                    ),
                ));
            }
        }
    }
}

const CAPS_BASELINE: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for (_, c) in containers(p.spec) {
        let Some(add) = container_sc(c).and_then(|s| field_path(s, &["capabilities", "add"]))
        else {
            continue;
        };
        for cap in add.items() {
            let name = text(Some(cap));
            if !CAPS_BASELINE.contains(&name.as_str()) {
                out.push(v(
                    "capabilities_baseline",
                    cap.pos,
                    format!(
                        "container {:?} adds capability {name:?}, which is outside the default set",
                        container_name(c)
                    ),
                ));
            }
        }
    }
}

fn host_path_volumes(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for vol in p.spec.get("volumes").map(Node::items).unwrap_or(&[]) {
        if let Some(h) = field(vol, "hostPath") {
            out.push(v(
                "hostPathVolumes",
                h.pos,
                format!("volume {:?} is a hostPath volume", text(vol.get("name"))),
            ));
        }
    }
}

fn host_ports(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for (_, c) in containers(p.spec) {
        for port in c.get("ports").map(Node::items).unwrap_or(&[]) {
            if let Some(hp) = field(port, "hostPort").filter(|h| h.as_i64() != Some(0)) {
                out.push(v(
                    "hostPorts",
                    hp.pos,
                    format!(
                        "container {:?} uses hostPort {}",
                        container_name(c),
                        text(Some(hp))
                    ),
                ));
            }
        }
    }
}

fn app_armor(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    let allowed = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut check = |sc: Option<&Node>, who: String| {
        if let Some(prof) = sc.and_then(|s| field(s, "appArmorProfile")) {
            let t = text(prof.get("type"));
            if !allowed(&t) {
                let pos = prof.get("type").map_or(prof.pos, |n| n.pos);
                out.push(v(
                    "appArmorProfile",
                    pos,
                    format!("{who} sets AppArmor profile type {t:?} (allowed: RuntimeDefault, Localhost)"),
                ));
            }
        }
    };
    check(pod_sc(p.spec), "pod".into());
    for (_, c) in containers(p.spec) {
        check(
            container_sc(c),
            format!("container {:?}", container_name(c)),
        );
    }
    if let Some(ann) = p.metadata.and_then(|m| field(m, "annotations")) {
        for (k, val) in ann.entries() {
            let key = text(Some(k));
            if key.starts_with("container.apparmor.security.beta.kubernetes.io/") {
                let value = text(Some(val));
                if !(value.is_empty()
                    || value == "runtime/default"
                    || value.starts_with("localhost/"))
                {
                    out.push(v(
                        "appArmorProfile",
                        val.pos,
                        format!("annotation {key}={value:?} sets a forbidden AppArmor profile"),
                    ));
                }
            }
        }
    }
}

fn selinux(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    let mut allowed = vec!["", "container_t", "container_init_t", "container_kvm_t"];
    if ver >= 31 {
        allowed.push("container_engine_t");
    }
    let mut check = |sc: Option<&Node>, who: String| {
        let Some(opts) = sc.and_then(|s| field(s, "seLinuxOptions")) else {
            return;
        };
        let t = text(opts.get("type"));
        if !allowed.contains(&t.as_str()) {
            out.push(v(
                "seLinuxOptions",
                opts.get("type").map_or(opts.pos, |n| n.pos),
                format!("{who} sets forbidden seLinuxOptions.type {t:?}"),
            ));
        }
        for key in ["user", "role"] {
            if let Some(n) = opts.get(key).filter(|n| !text(Some(n)).is_empty()) {
                out.push(v(
                    "seLinuxOptions",
                    n.pos,
                    format!("{who} sets seLinuxOptions.{key}, which may not be set"),
                ));
            }
        }
    };
    check(pod_sc(p.spec), "pod".into());
    for (_, c) in containers(p.spec) {
        check(
            container_sc(c),
            format!("container {:?}", container_name(c)),
        );
    }
}

fn proc_mount(p: &PodView<'_>, id: &'static str, out: &mut Vec<Violation>) {
    for (_, c) in containers(p.spec) {
        if let Some(pm) = container_sc(c).and_then(|s| field(s, "procMount")) {
            let t = text(Some(pm));
            if t != "Default" {
                out.push(v(
                    id,
                    pm.pos,
                    format!(
                        "container {:?} sets securityContext.procMount to {t:?}",
                        container_name(c)
                    ),
                ));
            }
        }
    }
}

fn proc_mount_baseline(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 35 && user_namespace(p.spec) {
        return;
    }
    proc_mount(p, "procMount", out);
}

fn proc_mount_restricted(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    proc_mount(p, "procMount_restricted", out);
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn seccomp_baseline(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver < 19 {
        let Some(ann) = p.metadata.and_then(|m| field(m, "annotations")) else {
            return;
        };
        let valid = |s: &str| {
            s == "runtime/default" || s == "docker/default" || s.starts_with("localhost/")
        };
        let mut check = |key: String| {
            if let Some(val) = ann.get(&key) {
                let value = text(Some(val));
                if !valid(&value) {
                    out.push(v(
                        "seccompProfile_baseline",
                        val.pos,
                        format!("annotation {key}={value:?} sets a forbidden seccomp profile"),
                    ));
                }
            }
        };
        check(SECCOMP_POD_ANNOTATION.to_string());
        for (_, c) in containers(p.spec) {
            check(format!(
                "{SECCOMP_CONTAINER_ANNOTATION}{}",
                text(c.get("name"))
            ));
        }
        return;
    }
    let mut check = |sc: Option<&Node>, who: String| {
        if let Some(prof) = sc.and_then(|s| field(s, "seccompProfile")) {
            let t = text(prof.get("type"));
            if !valid_seccomp(&t) {
                out.push(v(
                    "seccompProfile_baseline",
                    prof.get("type").map_or(prof.pos, |n| n.pos),
                    format!("{who} sets securityContext.seccompProfile.type to {t:?}"),
                ));
            }
        }
    };
    check(pod_sc(p.spec), "pod".into());
    for (_, c) in containers(p.spec) {
        check(
            container_sc(c),
            format!("container {:?}", container_name(c)),
        );
    }
}

fn valid_seccomp(t: &str) -> bool {
    t == "RuntimeDefault" || t == "Localhost"
}

const SYSCTLS: &[(u32, &[&str])] = &[
    (
        0,
        &[
            "kernel.shm_rmid_forced",
            "net.ipv4.ip_local_port_range",
            "net.ipv4.tcp_syncookies",
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_unprivileged_port_start",
        ],
    ),
    (27, &["net.ipv4.ip_local_reserved_ports"]),
    (
        29,
        &[
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ],
    ),
    (32, &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]),
    (
        37,
        &[
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ],
    ),
];

fn sysctls(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    let Some(list) = pod_sc(p.spec).and_then(|s| field(s, "sysctls")) else {
        return;
    };
    for s in list.items() {
        let name = text(s.get("name"));
        let allowed = SYSCTLS
            .iter()
            .filter(|(since, _)| *since <= ver)
            .any(|(_, names)| names.contains(&name.as_str()));
        if !allowed {
            out.push(v(
                "sysctls",
                s.get("name").map_or(s.pos, |n| n.pos),
                format!("pod sets forbidden sysctl {name:?}"),
            ));
        }
    }
}

fn windows_host_process(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    let mut check = |sc: Option<&Node>, who: String| {
        if let Some(n) = sc.and_then(|s| field_path(s, &["windowsOptions", "hostProcess"])) {
            if n.as_bool() == Some(true) {
                out.push(v(
                    "windowsHostProcess",
                    n.pos,
                    format!("{who} sets securityContext.windowsOptions.hostProcess=true"),
                ));
            }
        }
    };
    for (_, c) in containers(p.spec) {
        check(
            container_sc(c),
            format!("container {:?}", container_name(c)),
        );
    }
    check(pod_sc(p.spec), "pod".into());
}

fn host_probes(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for (_, c) in containers(p.spec) {
        let mut handlers: Vec<(&str, &Node)> = Vec::new();
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(n) = field(c, probe) {
                handlers.push((probe, n));
            }
        }
        if let Some(lc) = field(c, "lifecycle") {
            for hook in ["postStart", "preStop"] {
                if let Some(n) = field(lc, hook) {
                    handlers.push((hook, n));
                }
            }
        }
        for (what, h) in handlers {
            for kind in ["httpGet", "tcpSocket"] {
                if let Some(host) = h.get(kind).and_then(|k| field(k, "host")) {
                    let value = text(Some(host));
                    if !value.is_empty() {
                        out.push(v(
                            "hostProbesAndHostLifecycle",
                            host.pos,
                            format!(
                                "container {:?} {what}.{kind} targets host {value:?}",
                                container_name(c)
                            ),
                        ));
                    }
                }
            }
        }
    }
}

const ALLOWED_VOLUMES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn restricted_volumes(p: &PodView<'_>, _: u32, out: &mut Vec<Violation>) {
    for vol in p.spec.get("volumes").map(Node::items).unwrap_or(&[]) {
        if ALLOWED_VOLUMES.iter().any(|k| field(vol, k).is_some()) {
            continue;
        }
        let source = vol
            .entries()
            .iter()
            .find(|(k, val)| k.as_str() != Some("name") && !val.is_null());
        // The API server defaults a volume with no source to emptyDir.
        let Some((k, _)) = source else { continue };
        let (pos, kind) = (k.pos, text(Some(k)));
        out.push(v(
            "restrictedVolumes",
            pos,
            format!(
                "volume {:?} uses restricted volume type {kind:?}",
                text(vol.get("name"))
            ),
        ));
    }
}

fn allow_privilege_escalation(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 25 && is_windows(p.spec) {
        return;
    }
    for (_, c) in containers(p.spec) {
        let n = container_sc(c).and_then(|s| field(s, "allowPrivilegeEscalation"));
        if n.and_then(Node::as_bool) != Some(false) {
            out.push(v(
                "allowPrivilegeEscalation",
                n.map_or(sc_pos(c), |n| n.pos),
                format!(
                    "container {:?} must set securityContext.allowPrivilegeEscalation=false",
                    container_name(c)
                ),
            ));
        }
    }
}

fn run_as_non_root(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 35 && user_namespace(p.spec) {
        return;
    }
    let pod_value = pod_sc(p.spec).and_then(|s| field(s, "runAsNonRoot"));
    let pod_non_root = pod_value.and_then(Node::as_bool) == Some(true);
    if let Some(n) = pod_value.filter(|n| n.as_bool() == Some(false)) {
        out.push(v(
            "runAsNonRoot",
            n.pos,
            "pod sets securityContext.runAsNonRoot=false".into(),
        ));
    }
    for (_, c) in containers(p.spec) {
        match container_sc(c).and_then(|s| field(s, "runAsNonRoot")) {
            Some(n) if n.as_bool() == Some(false) => out.push(v(
                "runAsNonRoot",
                n.pos,
                format!(
                    "container {:?} sets securityContext.runAsNonRoot=false",
                    container_name(c)
                ),
            )),
            Some(_) => {}
            None if !pod_non_root => out.push(v(
                "runAsNonRoot",
                sc_pos(c),
                format!(
                    "pod or container {:?} must set securityContext.runAsNonRoot=true",
                    container_name(c)
                ),
            )),
            None => {}
        }
    }
}

fn run_as_user(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 35 && user_namespace(p.spec) {
        return;
    }
    if let Some(n) = pod_sc(p.spec)
        .and_then(|s| field(s, "runAsUser"))
        .filter(|n| n.as_i64() == Some(0))
    {
        out.push(v(
            "runAsUser",
            n.pos,
            "pod sets securityContext.runAsUser=0".into(),
        ));
    }
    for (_, c) in containers(p.spec) {
        if let Some(n) = container_sc(c)
            .and_then(|s| field(s, "runAsUser"))
            .filter(|n| n.as_i64() == Some(0))
        {
            out.push(v(
                "runAsUser",
                n.pos,
                format!(
                    "container {:?} sets securityContext.runAsUser=0",
                    container_name(c)
                ),
            ));
        }
    }
}

fn seccomp_restricted(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 25 && is_windows(p.spec) {
        return;
    }
    let mut pod_set = false;
    if let Some(prof) = pod_sc(p.spec).and_then(|s| field(s, "seccompProfile")) {
        let t = text(prof.get("type"));
        if valid_seccomp(&t) {
            pod_set = true;
        } else {
            out.push(v(
                "seccompProfile_restricted",
                prof.get("type").map_or(prof.pos, |n| n.pos),
                format!("pod sets securityContext.seccompProfile.type to {t:?}"),
            ));
        }
    }
    for (_, c) in containers(p.spec) {
        match container_sc(c).and_then(|s| field(s, "seccompProfile")) {
            Some(prof) => {
                let t = text(prof.get("type"));
                if !valid_seccomp(&t) {
                    out.push(v(
                        "seccompProfile_restricted",
                        prof.get("type").map_or(prof.pos, |n| n.pos),
                        format!("container {:?} sets securityContext.seccompProfile.type to {t:?}", container_name(c)),
                    ));
                }
            }
            None if !pod_set => out.push(v(
                "seccompProfile_restricted",
                sc_pos(c),
                format!("pod or container {:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"", container_name(c)),
            )),
            None => {}
        }
    }
}

fn capabilities_restricted(p: &PodView<'_>, ver: u32, out: &mut Vec<Violation>) {
    if ver >= 25 && is_windows(p.spec) {
        return;
    }
    for (_, c) in containers(p.spec) {
        let caps = container_sc(c).and_then(|s| field(s, "capabilities"));
        let Some(caps) = caps else {
            out.push(v(
                "capabilities_restricted",
                sc_pos(c),
                format!(
                    "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                    container_name(c)
                ),
            ));
            continue;
        };
        let dropped_all = caps
            .get("drop")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .any(|d| d.as_str() == Some("ALL"));
        if !dropped_all {
            out.push(v(
                "capabilities_restricted",
                caps.get("drop").map_or(caps.pos, |n| n.pos),
                format!(
                    "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                    container_name(c)
                ),
            ));
        }
        for cap in caps.get("add").map(Node::items).unwrap_or(&[]) {
            let name = text(Some(cap));
            if name != "NET_BIND_SERVICE" {
                out.push(v(
                    "capabilities_restricted",
                    cap.pos,
                    format!("container {:?} adds capability {name:?} (only NET_BIND_SERVICE may be added)", container_name(c)),
                ));
            }
        }
    }
}
