//! The eBPF runtime sensor: owns Garrison's BPF programs, loads them, programs
//! their interest maps and turns the kernel's ring-buffer records into
//! [`garrison_event::Event`]s through the [`EventSource`] interface.
//!
//! Loading uses **libbpf-rs** (libbpf vendored and linked statically): the programs
//! are C with CO-RE, compiled by clang at build time (`build.rs`), and libbpf does the
//! BTF relocations, so one object runs on other kernels with BTF. aya would need the
//! programs in Rust; libbpf is the reference loader for CO-RE C. The ring buffer is
//! consumed in place (`sys::RingBuf`), so records are decoded straight from the
//! shared mapping.
//!
//! Kernel side (`bpf/sensor.bpf.c`):
//! - `tp_btf/sched_process_{exec,fork,exit}`: exec with argv, cwd, exe identity,
//!   stdio types, memfd/deleted/upper-layer marks; fork; exit with code/signal.
//! - `syscalls/sys_enter_<name>` + `sys_exit_<name>` of the traced syscalls
//!   (per-kind list in [`kinds`]), attached per syscall, and `tp_btf/sys_enter` +
//!   `sys_exit` (raw syscalls) only for syscalls without a tracepoint: enter and
//!   exit are paired per thread in a hash map, so every event carries the result; paths of fd-returning calls are walked from the `struct file`
//!   (dentries and mounts, bounded with `bpf_loop`); path arguments come with the
//!   cwd/dirfd and root they are resolved against.
//! - DNS from packets: by default `tp_btf/net_dev_queue` reads the queries port-53
//!   client sockets send (a few ns per sent packet; UDP, and TCP only when the
//!   payload is linear); when DNS is asked for by name, `cgroup_skb/egress` +
//!   `ingress` on the cgroup2 root read queries and answers over UDP and TCP
//!   (over 100 ns per packet sent or received); the cgroup `connect4/6` and `sendmsg4/6`
//!   hooks record each such socket's owner in socket storage (`dns_socks`), and
//!   older sockets are found by inode in `/proc` ([`sockets`]). Where they
//!   cannot attach, DNS comes from the send/recv syscalls instead.
//! - Interest maps: `syscall_interest` (what is traced), `config_map` (exec, fork,
//!   exit; read-only open policy), `open_prefixes` / `ignore_prefixes` (LPM tries
//!   on canonical paths), `ignore_pids`. Per-kind counters in `stats_map`;
//!   `wake_map` asks for a wake-up on the next record while `poll` sleeps idle.
//!
//! See `README.md` for the constructor, the probe and what each event carries.

pub mod abi;
pub mod decode;
pub mod dns;
pub mod kinds;
pub mod names;
pub mod probe;
pub mod resolve;
pub mod sockets;
mod sys;

pub use decode::{DecodeError, Decoder};
pub use probe::{probe, Check, Features, MountState};

use garrison_event::{
    EventKind, EventSource, Interest, KindNote, KindStats, Mechanism, SourceError, SourceInfo,
    SourceStats,
};
use libbpf_rs::{Link, MapCore, MapFlags, Object, ObjectBuilder, TracepointCategory};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How the sensor's syscall programs are attached.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    /// Syscalls traced through their own `syscalls/sys_enter_*`/`sys_exit_*` tracepoints.
    pub tracepoints: Vec<String>,
    /// Syscalls traced through `raw_syscalls` (no tracepoint of their own, or no
    /// tracefs): every syscall on the host then runs a filter.
    pub raw_syscalls: Vec<String>,
    /// Where the DNS gate's cgroup hooks (connect4/6, sendmsg4/6) are attached
    /// (the cgroup2 root), or why they are not, while DNS is traced.
    pub dns_gate: Option<String>,
    /// Where DNS comes from while it is traced: packets (queries from the transmit
    /// queue, or queries and answers from the cgroup_skb programs on the cgroup2
    /// root), or the syscall path and why.
    pub dns_source: Option<String>,
}

static SENSOR_OBJ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sensor.bpf.o"));

const NAME: &str = "bpf";
/// Records decoded per `poll` call at most, so a busy host cannot starve the caller.
const POLL_BATCH: usize = 65_536;
/// While events flow, the longest one waits in the ring before `poll` looks (the
/// kernel wakes a busy consumer early only when a batch is waiting).
const WAKE_TICK: Duration = Duration::from_millis(10);
/// After a tick with nothing, `poll` asks the kernel to wake it on the next record
/// (`wake_map`) and sleeps up to this long: an idle agent does not wake on a tick,
/// and the first event after a quiet spell is delivered at once. The bound only
/// matters for a record written in the instant the request is being set.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The eBPF sensor. Construct with [`Sensor::start`]; drop to detach everything.
pub struct Sensor {
    ring: sys::RingBuf,
    decoder: Decoder,
    obj: Object,
    _links: Vec<Link>,
    /// syscalls/sys_enter_* and sys_exit_* links per traced syscall number.
    sys_links: HashMap<u32, (Link, Link)>,
    /// raw_syscalls links, while some traced syscall has no tracepoint.
    raw_links: Option<(Link, Link)>,
    /// The DNS gate's cgroup hooks, while DNS is traced (`Err`: why they could
    /// not attach; DNS then examines every socket call, as without a gate).
    dns_links: Option<Result<Vec<Link>, String>>,
    /// The programs that read DNS from packets while DNS is traced: `dns_xmit`
    /// (queries), or the cgroup_skb egress/ingress pair when answers are asked
    /// for (`Err`: why they could not attach; DNS then comes from the syscall
    /// path).
    skb_links: Option<Result<Vec<Link>, String>>,
    /// Whether `skb_links` holds the answers' cgroup_skb ingress program.
    skb_answers: bool,
    /// `syscall_interest` as last programmed.
    programmed: Vec<(u32, u32)>,
    interest: Interest,
    /// Kinds traced at a cost to every syscall, or left out to spare it.
    notes: Vec<KindNote>,
    decode_errors: u64,
    /// A wait found nothing since events were last delivered.
    quiet: bool,
    /// `wake_map` asks the kernel to wake `poll` on the next record.
    armed: bool,
}

/// The cgroup2 mount (`/sys/fs/cgroup` on unified hosts, `/sys/fs/cgroup/unified`
/// on hybrid ones): programs attached there see every process on the host.
fn cgroup2_root() -> Option<std::path::PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(std::path::PathBuf::from)
    })
}

fn unavailable(operation: impl Into<String>, detail: impl Into<String>) -> SourceError {
    SourceError::Unavailable {
        source_name: NAME.into(),
        operation: operation.into(),
        detail: detail.into(),
    }
}

fn failed(operation: impl Into<String>, detail: impl Into<String>) -> SourceError {
    SourceError::Failed {
        source_name: NAME.into(),
        operation: operation.into(),
        detail: detail.into(),
    }
}

impl Sensor {
    /// Loads and attaches the BPF programs, programs `interest` and starts
    /// delivering. Mounts tracefs/bpffs when absent. Needs root (CAP_BPF,
    /// CAP_PERFMON, CAP_SYS_ADMIN for the mounts) and a kernel with BTF.
    pub fn start(interest: &Interest) -> Result<Sensor, SourceError> {
        interest
            .validate()
            .map_err(|e| SourceError::Interest(e, NAME.into()))?;
        probe::mount_filesystems();
        probe::capture_libbpf_log();
        let open = ObjectBuilder::default()
            .open_memory(SENSOR_OBJ)
            .map_err(|e| unavailable("open the BPF object", e.to_string()))?;
        let obj = open.load().map_err(|e| {
            unavailable(
                "load the BPF programs",
                format!(
                    "{e}; libbpf said:\n{}\n(run as root on a kernel with BTF and BPF tracing; `garrison agent status` shows what is available)",
                    probe::libbpf_log_tail(30)
                ),
            )
        })?;
        // the sched tracepoints now; the syscall ones follow the interest (apply)
        let mut links = Vec::new();
        for prog in obj.progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            if !matches!(name.as_str(), "on_exec" | "on_fork" | "on_exit") {
                continue;
            }
            let link = prog
                .attach()
                .map_err(|e| unavailable(format!("attach program {name}"), e.to_string()))?;
            links.push(link);
        }
        let ring = {
            let map = obj.maps().find(|m| m.name() == "events").ok_or_else(|| {
                unavailable("find map events", "the BPF object has no ring buffer")
            })?;
            sys::RingBuf::new(map.as_fd(), map.max_entries() as usize)
                .map_err(|e| unavailable("map the ring buffer", e.to_string()))?
        };
        let host_mntns = std::fs::metadata("/proc/self/ns/mnt")
            .map(|m| m.ino() as u32)
            .map_err(|e| unavailable("stat /proc/self/ns/mnt", e.to_string()))?;
        let mut sensor = Sensor {
            ring,
            decoder: Decoder::new(host_mntns),
            obj,
            _links: links,
            sys_links: HashMap::new(),
            raw_links: None,
            dns_links: None,
            skb_links: None,
            skb_answers: false,
            programmed: Vec::new(),
            interest: interest.clone(),
            notes: Vec::new(),
            decode_errors: 0,
            quiet: false,
            armed: false,
        };
        sensor.apply(interest)?;
        Ok(sensor)
    }

    /// How the traced syscalls are attached now (for `garrison agent status`).
    pub fn attachment(&self) -> Attachment {
        let mut a = Attachment::default();
        for (nr, v) in &self.programmed {
            let name = names::syscall_name(*nr);
            if v & kinds::VIA_RAW != 0 {
                a.raw_syscalls.push(name);
            } else {
                a.tracepoints.push(name);
            }
        }
        a.dns_gate = match &self.dns_links {
            None => None,
            Some(Ok(_)) => Some(format!(
                "cgroup connect4/6 and sendmsg4/6 hooks on {}: only processes talking to port 53 have their socket calls examined",
                cgroup2_root().map_or_else(|| "?".into(), |p| p.display().to_string())
            )),
            Some(Err(why)) => Some(format!("not in use ({why}): every socket call is examined")),
        };
        a.dns_source = match &self.skb_links {
            None => None,
            Some(Ok(_)) if self.skb_answers => Some(format!(
                "packets: cgroup_skb egress/ingress programs on {} read the queries and answers of port-53 client sockets (UDP datagrams, TCP segments); no syscall is traced for DNS",
                cgroup2_root().map_or_else(|| "?".into(), |p| p.display().to_string())
            )),
            Some(Ok(_)) => Some(
                "packets: queries from the transmit queue (tp_btf/net_dev_queue), read from the payloads port-53 client sockets send (UDP datagrams; TCP only when the payload is in the packet's linear part, which is rare); answers are not read, as the cgroup_skb programs that read them cost every packet the host sends or receives (ask for DNS by name, `--events dns`, for answers and TCP); no syscall is traced for DNS".to_string()
            ),
            Some(Err(why)) => Some(format!(
                "syscalls (cgroup_skb programs not in use: {why}): send/recv calls are examined"
            )),
        };
        a
    }

    /// The processes (tgid) the DNS gate has marked as talking to port 53 (their
    /// socket calls are examined for DNS payloads; everyone else's are not).
    pub fn dns_talkers(&self) -> Vec<u32> {
        self.map("dns_tgids")
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.get(..4).and_then(|b| b.try_into().ok()))
                    .map(u32::from_le_bytes)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the kernel is asked to wake `poll` on the next record: set when a
    /// poll finds the ring quiet for a tick, cleared by the record that wakes it.
    pub fn wake_requested(&self) -> Result<bool, SourceError> {
        let v = self
            .map("wake_map")?
            .lookup(&0u32.to_le_bytes(), MapFlags::ANY)
            .map_err(|e| failed("read map wake_map", e.to_string()))?;
        Ok(v.is_some_and(|v| v.iter().any(|b| *b != 0)))
    }

    /// The interest in force.
    pub fn interest(&self) -> &Interest {
        &self.interest
    }

    fn map(&self, name: &str) -> Result<libbpf_rs::Map<'_>, SourceError> {
        self.obj
            .maps()
            .find(|m| m.name() == name)
            .ok_or_else(|| failed(format!("find map {name}"), "missing from the BPF object"))
    }

    fn attach_prog(&self, prog: &str, tp: Option<&str>) -> Result<Link, SourceError> {
        let p = self
            .obj
            .progs_mut()
            .find(|p| p.name() == prog)
            .ok_or_else(|| {
                failed(
                    format!("find program {prog}"),
                    "missing from the BPF object",
                )
            })?;
        match tp {
            Some(tp) => p
                .attach_tracepoint(TracepointCategory::Syscalls, tp)
                .map_err(|e| {
                    failed(
                        format!("attach {prog} to syscalls/{tp}"),
                        format!("{e}; libbpf said: {}", probe::libbpf_log_tail(3)),
                    )
                }),
            None => p
                .attach()
                .map_err(|e| failed(format!("attach {prog}"), e.to_string())),
        }
    }

    /// Attaches the syscall programs the interest needs and detaches the rest:
    /// per-syscall tracepoints where the kernel has them (untraced syscalls then
    /// run no BPF), raw_syscalls for the others.
    fn attach_syscalls(&mut self, k: &kinds::KernelInterest) -> Result<(), SourceError> {
        let tp_nrs: Vec<u32> = k
            .syscalls
            .iter()
            .filter(|(_, v)| v & kinds::VIA_RAW == 0)
            .map(|(nr, _)| *nr)
            .collect();
        let gone: Vec<u32> = self
            .sys_links
            .keys()
            .filter(|nr| !tp_nrs.contains(nr))
            .copied()
            .collect();
        detach(
            gone.iter()
                .filter_map(|nr| self.sys_links.remove(nr))
                .flat_map(|(enter, exit)| [enter, exit])
                .collect(),
        );
        for nr in tp_nrs {
            if self.sys_links.contains_key(&nr) {
                continue;
            }
            let name = kinds::tracepoint_name(nr);
            let enter = self.attach_prog("tp_sys_enter", Some(&format!("sys_enter_{name}")))?;
            let exit = self.attach_prog("tp_sys_exit", Some(&format!("sys_exit_{name}")))?;
            self.sys_links.insert(nr, (enter, exit));
        }
        let need_raw = k.syscalls.iter().any(|(_, v)| v & kinds::VIA_RAW != 0);
        if need_raw && self.raw_links.is_none() {
            let enter = self.attach_prog("on_sys_enter", None)?;
            let exit = self.attach_prog("on_sys_exit", None)?;
            self.raw_links = Some((enter, exit));
        } else if !need_raw {
            self.raw_links = None;
        }
        Ok(())
    }

    /// Attaches the programs that read DNS from packets while DNS is wanted (and
    /// the sock_addr hooks, which record each port-53 socket's owner, are
    /// attached: `hooks`), detaches them otherwise; whether they are in use.
    /// By default only queries are read, from the transmit queue
    /// (`tp_btf/net_dev_queue`: a few nanoseconds per sent packet, UDP and linear
    /// TCP payloads). When DNS is asked for by name (`answers`), the cgroup_skb
    /// egress/ingress programs read queries and answers over UDP and TCP; they
    /// cost every packet the host sends or receives over a hundred nanoseconds.
    fn dns_packets(&mut self, wanted: bool, hooks: bool, answers: bool) -> bool {
        if !wanted {
            self.skb_links = None;
            self.skb_answers = false;
            return false;
        }
        if !hooks {
            self.skb_links = Some(Err(
                "the cgroup sock_addr hooks that record who owns each socket did not attach".into(),
            ));
            self.skb_answers = false;
            return false;
        }
        if !matches!(self.skb_links, Some(Ok(_))) || self.skb_answers != answers {
            // GARRISON_SENSOR_DNS_SYSCALLS=1: DNS from the syscall path (A/B runs,
            // the fallback's tests)
            self.skb_links = None;
            self.skb_links = Some(
                if std::env::var_os("GARRISON_SENSOR_DNS_SYSCALLS").is_some_and(|v| v == "1") {
                    Err("GARRISON_SENSOR_DNS_SYSCALLS=1".into())
                } else {
                    self.attach_dns_packet_progs(answers)
                },
            );
            self.skb_answers = answers && matches!(self.skb_links, Some(Ok(_)));
        }
        matches!(self.skb_links, Some(Ok(_)))
    }

    fn attach_dns_packet_progs(&self, answers: bool) -> Result<Vec<Link>, String> {
        if answers {
            self.attach_cgroup_progs(&["dns_egress", "dns_ingress"])
        } else {
            Ok(vec![self
                .attach_prog("dns_xmit", None)
                .map_err(|e| e.to_string())?])
        }
    }

    /// Attaches the DNS gate's cgroup hooks while DNS is traced, detaches them
    /// otherwise; whether the gate is on.
    fn dns_gate(&mut self, dns_traced: bool) -> bool {
        if !dns_traced {
            self.dns_links = None;
            return false;
        }
        if self.dns_links.is_none() {
            // GARRISON_SENSOR_NO_DNS_GATE=1: examine every socket call (A/B runs)
            self.dns_links = Some(
                if std::env::var_os("GARRISON_SENSOR_NO_DNS_GATE").is_some_and(|v| v == "1") {
                    Err("GARRISON_SENSOR_NO_DNS_GATE=1".into())
                } else {
                    self.attach_dns_hooks()
                },
            );
        }
        matches!(self.dns_links, Some(Ok(_)))
    }

    fn attach_dns_hooks(&self) -> Result<Vec<Link>, String> {
        self.attach_cgroup_progs(&[
            "dns_connect4",
            "dns_connect6",
            "dns_sendmsg4",
            "dns_sendmsg6",
        ])
    }

    /// Attaches cgroup programs to the cgroup2 root: every socket on the host.
    fn attach_cgroup_progs(&self, names: &[&str]) -> Result<Vec<Link>, String> {
        use std::os::fd::AsRawFd;
        let root = cgroup2_root().ok_or("no cgroup2 mount in /proc/self/mountinfo")?;
        let dir =
            std::fs::File::open(&root).map_err(|e| format!("open {}: {e}", root.display()))?;
        let mut links = Vec::new();
        for &name in names {
            let prog = self
                .obj
                .progs_mut()
                .find(|p| p.name() == name)
                .ok_or_else(|| format!("program {name} missing from the BPF object"))?;
            let link = prog
                .attach_cgroup(dir.as_raw_fd())
                .map_err(|e| format!("attach {name} to {}: {e}", root.display()))?;
            links.push(link);
        }
        Ok(links)
    }

    fn apply(&mut self, interest: &Interest) -> Result<(), SourceError> {
        // GARRISON_SENSOR_RAW_SYSCALLS=1: everything through raw_syscalls (A/B runs,
        // kernels whose syscall tracepoints misbehave)
        let force_raw = std::env::var_os("GARRISON_SENSOR_RAW_SYSCALLS").is_some_and(|v| v == "1");
        let has_tp = |nr: u32| {
            !force_raw
                && Path::new(&format!(
                    "/sys/kernel/tracing/events/syscalls/sys_enter_{}",
                    kinds::tracepoint_name(nr)
                ))
                .exists()
        };
        let mut k = kinds::compile(interest, &has_tp);
        // DNS from packets where the cgroup programs attach: then no syscall of the
        // kind is traced; else the syscall path, behind the gate where it attaches
        let wants_dns = interest.wants(EventKind::Dns);
        let hooks = self.dns_gate(wants_dns);
        let answers = interest.costly_ok.contains(&EventKind::Dns);
        if self.dns_packets(wants_dns, hooks, answers) {
            kinds::dns_from_packets(&mut k);
        }
        let upd = |map: &libbpf_rs::Map<'_>, key: &[u8], val: &[u8]| {
            map.update(key, val, MapFlags::ANY).map_err(|e| {
                failed(
                    format!("update map {}", map.name().to_string_lossy()),
                    e.to_string(),
                )
            })
        };
        // Prefix tries first (new keys in, stale keys out), then the switches.
        for (name, keys) in [
            ("open_prefixes", &k.read_prefixes),
            ("ignore_prefixes", &k.ignore_prefixes),
        ] {
            let map = self.map(name)?;
            for key in keys {
                upd(&map, key, &1u32.to_le_bytes())?;
            }
            let stale: Vec<Vec<u8>> = map.keys().filter(|key| !keys.contains(key)).collect();
            for key in stale {
                // a key already gone is fine
                let _ = map.delete(&key);
            }
        }
        let pids = self.map("ignore_pids")?;
        let mut want_pids: Vec<u32> = interest.ignore_pids.clone();
        want_pids.push(std::process::id());
        for pid in &want_pids {
            upd(&pids, &pid.to_le_bytes(), &1u32.to_le_bytes())?;
        }
        let stale: Vec<Vec<u8>> = pids
            .keys()
            .filter(|key| {
                let pid = key
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_le_bytes);
                pid.is_none_or(|p| !want_pids.contains(&p))
            })
            .collect();
        for key in stale {
            let _ = pids.delete(&key);
        }
        let mut table = vec![0u32; 512];
        for (nr, v) in &k.syscalls {
            if let Some(slot) = table.get_mut(*nr as usize) {
                *slot = *v;
            }
        }
        let sys_map = self.map("syscall_interest")?;
        for (nr, v) in table.iter().enumerate() {
            upd(&sys_map, &(nr as u32).to_le_bytes(), &v.to_le_bytes())?;
        }
        // The DNS gate's hooks go in before the gate closes on unmarked processes.
        let dns_index = kinds::stats_index(EventKind::Dns) + 1;
        let dns_syscalls = k.syscalls.iter().any(|(_, v)| v & 0xff == dns_index);
        let mut flags = k.flags;
        if hooks && dns_syscalls {
            flags |= abi::CFG_DNS_GATE;
        }
        let mut cfg = Vec::with_capacity(16);
        cfg.extend_from_slice(&flags.to_le_bytes());
        cfg.extend_from_slice(&k.open_ro.to_le_bytes());
        cfg.extend_from_slice(&u32::from(!k.ignore_prefixes.is_empty()).to_le_bytes());
        cfg.extend_from_slice(&0u32.to_le_bytes());
        upd(&self.map("config_map")?, &0u32.to_le_bytes(), &cfg)?;
        self.attach_syscalls(&k)?;
        self.programmed = k.syscalls.clone();
        self.notes = k
            .costly
            .iter()
            .map(|c| costly_note(c, Path::new("/proc/modules").exists()))
            .collect();
        let a = self.attachment();
        let sentence = match (a.dns_source, a.dns_gate) {
            (Some(src), _) if matches!(self.skb_links, Some(Ok(_))) => Some(format!(
                "DNS from {src}; the cgroup connect4/6 and sendmsg4/6 hooks record each port-53 socket's owner, and a socket connected before the agent is looked up among the processes' fds"
            )),
            (Some(src), Some(gate)) => Some(format!("DNS from {src}; DNS gate: {gate}")),
            (src, gate) => src.or(gate).map(|s| format!("DNS: {s}")),
        };
        if let Some(sentence) = sentence {
            match self.notes.iter_mut().find(|n| n.kind == EventKind::Dns) {
                Some(n) => n.reason = format!("{}; {sentence}", n.reason),
                None => self.notes.push(KindNote {
                    kind: EventKind::Dns,
                    watched: true,
                    reason: sentence,
                }),
            }
        }
        self.decoder
            .set_ignore_prefixes(interest.ignore_prefixes.clone());
        self.interest = interest.clone();
        Ok(())
    }

    /// Per-kind kernel counters: (delivered into the ring, lost, filtered in the kernel).
    pub fn kernel_counters(&self) -> Result<BTreeMap<EventKind, (u64, u64, u64)>, SourceError> {
        let map = self.map("stats_map")?;
        let mut out = BTreeMap::new();
        for kind in EventKind::ALL {
            let idx = kinds::stats_index(kind);
            let per_cpu = map
                .lookup_percpu(&idx.to_le_bytes(), MapFlags::ANY)
                .map_err(|e| failed("read map stats_map", e.to_string()))?
                .unwrap_or_default();
            let mut sum = (0u64, 0u64, 0u64);
            for v in per_cpu {
                use abi::Bytes;
                sum.0 += v.u64_at(0).unwrap_or(0);
                sum.1 += v.u64_at(8).unwrap_or(0);
                sum.2 += v.u64_at(16).unwrap_or(0);
            }
            out.insert(kind, sum);
        }
        Ok(out)
    }
}

/// What `garrison agent status` says about a kind with syscalls that cost every
/// process something to trace ([`kinds::Costly`]). `modules`: the kernel supports
/// loadable modules (`/proc/modules` exists).
pub fn costly_note(c: &kinds::Costly, modules: bool) -> KindNote {
    let list = |nrs: &[u32]| {
        nrs.iter()
            .map(|nr| names::syscall_name(*nr))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let modules_clause = if c.kind == EventKind::Module && !modules {
        "; the kernel has no module support (no /proc/modules), so these calls can only fail with ENOSYS"
    } else {
        ""
    };
    let mut parts = Vec::new();
    if !c.syscalls.is_empty() {
        parts.push(if c.traced {
            format!(
                "{} watched through raw_syscalls, as asked for by name: this kernel has no tracepoints for them, so every syscall of every process runs a filter (a few hundred ns each){modules_clause}",
                list(&c.syscalls)
            )
        } else {
            format!(
                "{} not watched by default: this kernel has no tracepoints for them, and raw_syscalls would run a filter on every syscall of every process (a few hundred ns each){modules_clause}",
                list(&c.syscalls)
            )
        });
    }
    if !c.hot.is_empty() {
        let every = list(&c.hot).replace(", ", "/");
        parts.push(if c.traced {
            format!(
                "{} on sockets connected to port 53 watched, as asked for by name: every {every} of every process runs a BPF program",
                list(&c.hot)
            )
        } else {
            format!(
                "{} on sockets connected to port 53 not watched by default: that would run a BPF program on every {every} of every process",
                list(&c.hot)
            )
        });
    }
    let mut reason = parts.join("; ");
    if !c.traced {
        reason.push_str(&format!(
            "; ask for it by name (--events {}, or a rule that needs it) to watch it",
            c.kind.name()
        ));
    }
    KindNote {
        kind: c.kind,
        watched: c.traced,
        reason,
    }
}

/// Detaches `links` concurrently. Releasing a syscall tracepoint's perf event
/// waits for an RCU tasks-trace grace period (tens of milliseconds on 6.x
/// kernels, where syscall tracepoints may fault), so detaching the ~70 links of
/// the default interest one by one took over 5 s; waiters on the same grace
/// period share it, so one thread per link detaches them all in about one.
fn detach(links: Vec<Link>) {
    if links.len() < 2 {
        drop(links);
        return;
    }
    std::thread::scope(|scope| {
        for link in links {
            let spawned = std::thread::Builder::new()
                .name("garrison-detach".into())
                .spawn_scoped(scope, move || drop(link));
            // when no thread can be had, spawn drops the closure, and the link
            // with it, here in this thread
            drop(spawned);
        }
    });
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let mut links = std::mem::take(&mut self._links);
        links.extend(self.sys_links.drain().flat_map(|(_, (a, b))| [a, b]));
        links.extend(self.raw_links.take().into_iter().flat_map(|(a, b)| [a, b]));
        for set in [self.dns_links.take(), self.skb_links.take()] {
            links.extend(set.and_then(Result::ok).into_iter().flatten());
        }
        detach(links);
    }
}

impl EventSource for Sensor {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: NAME.into(),
            mechanisms: vec![Mechanism::Bpf],
            degraded: false,
            reason: None,
            kinds: EventKind::ALL.to_vec(),
            notes: self.notes.clone(),
        }
    }

    fn set_interest(&mut self, interest: &Interest) -> Result<(), SourceError> {
        interest
            .validate()
            .map_err(|e| SourceError::Interest(e, NAME.into()))?;
        self.apply(interest)
    }

    fn poll(
        &mut self,
        timeout: Duration,
        sink: &mut dyn FnMut(garrison_event::Event),
    ) -> Result<usize, SourceError> {
        let deadline = Instant::now() + timeout;
        let mut delivered = 0;
        loop {
            let Sensor {
                ring,
                decoder,
                decode_errors,
                interest,
                ..
            } = self;
            let records = ring.consume(POLL_BATCH, &mut |rec| match decoder.decode(rec) {
                Ok(Some(ev)) => {
                    if interest.wants(ev.kind()) {
                        delivered += 1;
                        sink(ev);
                    }
                }
                Ok(None) => {}
                Err(_) => *decode_errors += 1,
            });
            if records > 0 {
                // busy again; any record (delivered or not) cleared the request
                self.quiet = false;
                self.armed = false;
            }
            if delivered > 0 {
                return Ok(delivered);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(0);
            }
            if self.quiet && !self.armed {
                // ask for a wake-up on the next record, then look once more: one
                // may have landed before the request was set
                self.map("wake_map")?
                    .update(&0u32.to_le_bytes(), &1u32.to_le_bytes(), MapFlags::ANY)
                    .map_err(|e| failed("update map wake_map", e.to_string()))?;
                self.armed = true;
                continue;
            }
            // while events flow the kernel wakes us only when a batch is waiting
            // (WAKEUP_BYTES in sensor.bpf.c), and a short tick delivers the rest
            let tick = if self.armed { IDLE_TICK } else { WAKE_TICK };
            self.ring
                .wait(left.min(tick).as_millis().clamp(1, i32::MAX as u128) as i32)
                .map_err(|e| failed("wait for the ring buffer", e.to_string()))?;
            self.quiet = true;
        }
    }

    fn stats(&self) -> SourceStats {
        let mut stats = SourceStats {
            decode_errors: self.decode_errors,
            ..SourceStats::default()
        };
        if let Ok(counters) = self.kernel_counters() {
            for (kind, (delivered, lost, _)) in counters {
                stats.kinds.insert(kind, KindStats { delivered, lost });
            }
        }
        stats
    }
}
