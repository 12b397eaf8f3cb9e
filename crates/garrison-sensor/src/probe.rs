//! The feature probe: mounts tracefs and bpffs when absent, then loads tiny BPF
//! programs one at a time to learn which mechanisms this kernel allows.

use crate::sys;
use libbpf_rs::ObjectBuilder;
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;

static PROBE_OBJ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/probe.bpf.o"));

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Check {
    /// Works.
    Available,
    /// Refused or missing, with the error.
    Unavailable {
        /// What happened.
        reason: String,
    },
}

impl Check {
    /// Whether it works.
    pub fn ok(&self) -> bool {
        matches!(self, Check::Available)
    }
}

/// A pseudo filesystem the sensor needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MountState {
    /// Was mounted already.
    Present,
    /// The probe mounted it.
    MountedNow,
    /// Absent and could not be mounted.
    Failed {
        /// The mount error.
        reason: String,
    },
}

/// What this host allows, as `garrison agent status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Features {
    /// `uname -r`.
    pub kernel: String,
    /// Kernel BTF at /sys/kernel/btf/vmlinux (needed for CO-RE and tp_btf).
    pub btf: bool,
    /// tracefs at /sys/kernel/tracing.
    pub tracefs: MountState,
    /// bpffs at /sys/fs/bpf.
    pub bpffs: MountState,
    /// BTF tracepoints (`tp_btf/*`) load and attach; ring buffers work.
    pub tp_btf: Check,
    /// Classic tracepoints (`tracepoint/syscalls/*`) load and attach.
    pub tracepoint: Check,
    /// fentry/fexit programs.
    pub fentry: Check,
    /// BPF-LSM programs.
    pub lsm: Check,
    /// cgroup sock_addr programs (`cgroup/connect4`).
    pub cgroup_sock_addr: Check,
    /// cgroup_skb programs with socket storage (`cgroup_skb/egress`): DNS read
    /// from packets; without them DNS comes from the syscall path.
    pub cgroup_skb: Check,
    /// kprobes (tracefs `kprobe_events`).
    pub kprobes: Check,
}

impl Features {
    /// Whether the eBPF sensor can run here (BTF and BTF tracepoints with a ring buffer).
    pub fn sensor_usable(&self) -> bool {
        self.btf && self.tp_btf.ok()
    }

    /// Why the eBPF sensor cannot run, when it cannot.
    pub fn unusable_reason(&self) -> Option<String> {
        if !self.btf {
            return Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
        }
        match &self.tp_btf {
            Check::Available => None,
            Check::Unavailable { reason } => Some(format!("BTF tracepoints unavailable: {reason}")),
        }
    }
}

/// libbpf's messages during the last load, for error reports.
static LIBBPF_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn capture(_level: libbpf_rs::PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        if log.len() >= 400 {
            log.remove(0);
        }
        log.push(msg.trim_end().to_string());
    }
}

/// Routes libbpf's messages into a buffer (instead of stderr) and clears it.
pub(crate) fn capture_libbpf_log() {
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Warn, capture)));
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        log.clear();
    }
}

/// The last lines libbpf printed (the verifier's verdict is at the end).
pub(crate) fn libbpf_log_tail(lines: usize) -> String {
    LIBBPF_LOG
        .lock()
        .map(|log| {
            let start = log.len().saturating_sub(lines);
            log[start..].join("\n")
        })
        .unwrap_or_default()
}

fn ensure_mounted(target: &str, fstype: &str, magic: i64) -> MountState {
    let path = Path::new(target);
    if sys::fs_magic(path) == Some(magic) {
        return MountState::Present;
    }
    match sys::mount_pseudo(fstype, path) {
        Ok(()) => MountState::MountedNow,
        Err(e) => MountState::Failed {
            reason: format!("mount -t {fstype} {fstype} {target}: {e}"),
        },
    }
}

/// Mounts tracefs and bpffs when absent; returns their states.
pub fn mount_filesystems() -> (MountState, MountState) {
    (
        ensure_mounted("/sys/kernel/tracing", "tracefs", sys::TRACEFS_MAGIC),
        ensure_mounted("/sys/fs/bpf", "bpf", sys::BPF_FS_MAGIC),
    )
}

/// Loads (and attaches, `attach`) only program `name` of the probe object.
fn try_prog(name: &str, attach: bool) -> Check {
    let fail = |what: &str, e: libbpf_rs::Error| Check::Unavailable {
        reason: format!("{what} {name}: {e}"),
    };
    let mut open = match ObjectBuilder::default().open_memory(PROBE_OBJ) {
        Ok(o) => o,
        Err(e) => return fail("open", e),
    };
    for mut p in open.progs_mut() {
        let this = p.name() == name;
        p.set_autoload(this);
    }
    let obj = match open.load() {
        Ok(o) => o,
        Err(e) => return fail("load", e),
    };
    if attach {
        for p in obj.progs_mut() {
            if p.name() == name {
                if let Err(e) = p.attach() {
                    return fail("attach", e);
                }
            }
        }
    }
    Check::Available
}

/// Probes the host. Mounts tracefs and bpffs when they are absent.
pub fn probe() -> Features {
    capture_libbpf_log();
    let (tracefs, bpffs) = mount_filesystems();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let btf = Path::new("/sys/kernel/btf/vmlinux").exists();
    let kprobes = if Path::new("/sys/kernel/tracing/kprobe_events").exists() {
        Check::Available
    } else {
        Check::Unavailable {
            reason: "no /sys/kernel/tracing/kprobe_events (CONFIG_KPROBES off?)".into(),
        }
    };
    Features {
        kernel,
        btf,
        tracefs,
        bpffs,
        tp_btf: try_prog("probe_tp_btf", true),
        tracepoint: try_prog("probe_tracepoint", true),
        fentry: try_prog("probe_fentry", false),
        lsm: try_prog("probe_lsm", false),
        cgroup_sock_addr: try_prog("probe_cgroup_connect4", false),
        cgroup_skb: try_prog("probe_cgroup_skb", false),
        kprobes,
    }
}
