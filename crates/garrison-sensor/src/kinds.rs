//! Which syscalls each event kind needs, and how an [`Interest`] becomes the
//! contents of the kernel's interest maps.

use crate::abi::{
    CFG_EXEC, CFG_EXIT, CFG_FORK, CFG_THREADS, OPEN_RO_ALL, OPEN_RO_NONE, OPEN_RO_PREFIXES,
    PREFIX_MAX,
};
use garrison_event::{EventKind, Interest};

/// The x86-64 syscalls traced for a kind (none for kinds from sched tracepoints
/// alone: exit).
pub fn syscalls(kind: EventKind) -> &'static [u32] {
    match kind {
        EventKind::Exec => &[59, 322],
        EventKind::Fork => &[56, 57, 58, 435],
        EventKind::Exit => &[],
        EventKind::Open => &[2, 85, 257, 437],
        EventKind::Unlink => &[84, 87, 263],
        EventKind::Rename => &[82, 264, 316],
        EventKind::Chmod => &[90, 91, 268, 452],
        EventKind::Chown => &[92, 93, 94, 260],
        EventKind::Link => &[86, 265],
        EventKind::Symlink => &[88, 266],
        EventKind::Mkdir => &[83, 258],
        EventKind::Connect => &[42],
        EventKind::Accept => &[43, 288],
        EventKind::Bind => &[49],
        EventKind::Listen => &[50],
        EventKind::Dns => &[44, 45, 46, 47, 307],
        EventKind::SetId => &[105, 106, 113, 114, 117, 119, 122, 123],
        EventKind::Capset => &[126],
        EventKind::Ptrace => &[101],
        EventKind::Module => &[175, 176, 313],
        EventKind::Mount => &[165],
        EventKind::Umount => &[166],
        EventKind::Unshare => &[272],
        EventKind::Setns => &[308],
        EventKind::MemfdCreate => &[319],
        EventKind::Bpf => &[321],
        EventKind::Kill => &[62, 200, 234],
    }
}

/// Syscalls a kind can also use that nearly every process makes all the time:
/// traced only when the interest insists on the kind ([`Interest::costly_ok`]),
/// because their tracepoints then fire on every call of every process (the
/// kernel side keeps only calls on a socket connected to port 53).
pub fn hot_syscalls(kind: EventKind) -> &'static [u32] {
    match kind {
        // DNS over a connected socket with read/write/readv/writev
        EventKind::Dns => &[0, 1, 19, 20],
        _ => &[],
    }
}

/// The stats index of a kind (its position in [`EventKind::ALL`]).
pub fn stats_index(kind: EventKind) -> u32 {
    EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u32
}

/// `syscall_interest` flag: the syscall has no tracepoint of its own and is
/// traced through `raw_syscalls` (`tp_btf/sys_enter`, `sys_exit`).
pub const VIA_RAW: u32 = 0x100;

/// The `syscalls/sys_enter_<name>` tracepoint name of a syscall.
pub fn tracepoint_name(nr: u32) -> String {
    match crate::names::syscall_name(nr).as_str() {
        "umount2" => "umount".to_string(),
        n => n.to_string(),
    }
}

/// The kernel-side program an interest compiles to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInterest {
    /// `syscall_interest[nr]`: stats index + 1, or 0; `| VIA_RAW` for syscalls
    /// without their own tracepoint.
    pub syscalls: Vec<(u32, u32)>,
    /// `config.flags`.
    pub flags: u32,
    /// `config.open_ro`.
    pub open_ro: u32,
    /// LPM keys for `open_prefixes`.
    pub read_prefixes: Vec<Vec<u8>>,
    /// LPM keys for `ignore_prefixes`.
    pub ignore_prefixes: Vec<Vec<u8>>,
    /// Asked-for kinds with syscalls that have no tracepoint here: those syscalls,
    /// and whether they are traced anyway (through `raw_syscalls`, because the
    /// interest insists on the kind: [`Interest::costly_ok`]) or left out.
    pub costly: Vec<Costly>,
}

/// An asked-for kind some of whose syscalls cost every process something to
/// trace: they have no tracepoint of their own (only `raw_syscalls`, a filter
/// on every syscall of the host, can see them), or they are
/// [`hot_syscalls`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Costly {
    /// The kind.
    pub kind: EventKind,
    /// Those of its syscalls that have no tracepoint of their own.
    pub syscalls: Vec<u32>,
    /// Those of its syscalls that are hot ([`hot_syscalls`]).
    pub hot: Vec<u32>,
    /// Traced anyway (the interest insists); otherwise left out.
    pub traced: bool,
}

/// The LPM trie key of a prefix (`struct g_prefix_key`).
pub fn prefix_key(prefix: &str) -> Vec<u8> {
    let bytes = &prefix.as_bytes()[..prefix.len().min(PREFIX_MAX - 1)];
    let mut key = Vec::with_capacity(4 + PREFIX_MAX);
    key.extend_from_slice(&((bytes.len() * 8) as u32).to_le_bytes());
    key.extend_from_slice(bytes);
    key.resize(4 + PREFIX_MAX, 0);
    key
}

/// Compiles an interest (validate it first). `has_tracepoint(nr)`: whether
/// `syscalls/sys_enter_<name>` exists for the syscall. A syscall without one is
/// traced through `raw_syscalls` only when the interest insists on its kind
/// ([`Interest::costly_ok`]); otherwise it is left out and listed in
/// [`KernelInterest::costly`] — unless the host has no syscall tracepoints at all
/// (`has_tracepoint` false for every syscall: no tracefs, or raw forced), where
/// raw_syscalls carries every traced syscall anyway and costs no kind extra.
pub fn compile(interest: &Interest, has_tracepoint: &dyn Fn(u32) -> bool) -> KernelInterest {
    // openat, execve: present wherever syscall tracepoints are
    let raw_is_costly = has_tracepoint(257) || has_tracepoint(59);
    let mut syscalls = Vec::new();
    let mut flags = 0;
    let mut costly = Vec::new();
    for kind in &interest.kinds {
        let insist = interest.costly_ok.contains(kind);
        let mut raw_only = Vec::new();
        let hot = hot_syscalls(*kind);
        for nr in syscalls_of(*kind).iter().chain(hot) {
            let raw = if has_tracepoint(*nr) {
                0
            } else {
                if raw_is_costly {
                    raw_only.push(*nr);
                }
                VIA_RAW
            };
            if !insist && ((raw != 0 && raw_is_costly) || hot.contains(nr)) {
                continue;
            }
            syscalls.push((*nr, (stats_index(*kind) + 1) | raw));
        }
        if !raw_only.is_empty() || !hot.is_empty() {
            costly.push(Costly {
                kind: *kind,
                syscalls: raw_only,
                hot: hot.to_vec(),
                traced: insist,
            });
        }
        flags |= match kind {
            EventKind::Exec => CFG_EXEC,
            // new threads too: `thread: true` in the fork event
            EventKind::Fork => CFG_FORK | CFG_THREADS,
            EventKind::Exit => CFG_EXIT,
            _ => 0,
        };
    }
    let wants_open = interest.wants(EventKind::Open);
    let open_ro = if !wants_open || interest.read_prefixes.is_empty() {
        OPEN_RO_NONE
    } else if interest.read_prefixes.iter().any(|p| p == "/") {
        OPEN_RO_ALL
    } else {
        OPEN_RO_PREFIXES
    };
    KernelInterest {
        syscalls,
        flags,
        open_ro,
        read_prefixes: interest
            .read_prefixes
            .iter()
            .map(|p| prefix_key(p))
            .collect(),
        ignore_prefixes: interest
            .ignore_prefixes
            .iter()
            .map(|p| prefix_key(p))
            .collect(),
        costly,
    }
}

/// DNS read from packets (the sensor's packet programs, when they attach):
/// the kind's syscalls, hot or not, leave `k`, and so does its costly note —
/// the packets carry every port-53 payload those calls would, from every process.
pub fn dns_from_packets(k: &mut KernelInterest) {
    let dns = stats_index(EventKind::Dns) + 1;
    k.syscalls.retain(|(_, v)| v & 0xff != dns);
    k.costly.retain(|c| c.kind != EventKind::Dns);
}

fn syscalls_of(kind: EventKind) -> &'static [u32] {
    syscalls(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_traced_by_something_and_numbers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            assert!(
                !syscalls(kind).is_empty() || kind == EventKind::Exit,
                "{kind} has no source"
            );
            for nr in syscalls(kind).iter().chain(hot_syscalls(kind)) {
                assert!(seen.insert(*nr), "syscall {nr} in two kinds");
                assert!(*nr < 512);
                assert!(crate::names::syscall_name(*nr) != format!("syscall_{nr}"));
            }
        }
        assert_eq!(stats_index(EventKind::Exec), 0);
        assert_eq!(stats_index(EventKind::Open), 3);
    }

    #[test]
    fn interest_compiles_to_maps() {
        let tp = |nr: u32| nr != 175;
        let module = stats_index(EventKind::Module) + 1;
        // the default interest leaves out what only raw_syscalls could trace...
        let k = compile(&Interest::default(), &tp);
        assert_eq!(k.open_ro, OPEN_RO_PREFIXES);
        assert_eq!(k.flags, CFG_EXEC | CFG_FORK | CFG_THREADS | CFG_EXIT);
        assert!(k.syscalls.contains(&(257, 4)));
        assert!(k.syscalls.iter().all(|(_, v)| v & VIA_RAW == 0), "{k:?}");
        assert!(
            k.syscalls.contains(&(176, module)),
            "the rest of the kind stays"
        );
        assert!(!k.syscalls.iter().any(|(nr, _)| *nr == 175));
        // ...and the hot read/write syscalls DNS could use
        assert!(!k.syscalls.iter().any(|(nr, _)| [0, 1, 19, 20].contains(nr)));
        assert!(k.syscalls.contains(&(44, stats_index(EventKind::Dns) + 1)));
        let module_note = Costly {
            kind: EventKind::Module,
            syscalls: vec![175],
            hot: vec![],
            traced: false,
        };
        let dns_note = Costly {
            kind: EventKind::Dns,
            syscalls: vec![],
            hot: vec![0, 1, 19, 20],
            traced: false,
        };
        assert_eq!(k.costly, vec![dns_note.clone(), module_note.clone()]);
        // ...and traces them when the kind is insisted on
        let k = compile(
            &Interest::default().insist_on([EventKind::Module, EventKind::Dns]),
            &tp,
        );
        assert!(k.syscalls.contains(&(175, module | VIA_RAW)));
        assert!(k.syscalls.contains(&(1, stats_index(EventKind::Dns) + 1)));
        assert!(k.costly.iter().all(|c| c.traced));
        // a host where every syscall has its tracepoint: only the hot ones wait
        let k = compile(&Interest::default(), &|_| true);
        assert_eq!(k.costly, vec![dns_note]);
        assert!(k.syscalls.contains(&(175, module)));
        assert_eq!(tracepoint_name(166), "umount");
        // no syscall tracepoints at all: raw_syscalls carries everything, the
        // module calls included; only the hot read/write calls wait to be asked for
        let k = compile(&Interest::default(), &|_| false);
        assert!(k.syscalls.contains(&(175, module | VIA_RAW)));
        assert!(k.syscalls.contains(&(257, 4 | VIA_RAW)));
        assert!(!k.syscalls.iter().any(|(nr, _)| *nr == 1));
        assert_eq!(k.costly.len(), 1);
        assert_eq!(k.costly[0].kind, EventKind::Dns);
        // DNS from packets: no syscall of the kind stays, hot or not, nor its note
        let mut k = compile(&Interest::default().insist_on([EventKind::Dns]), &tp);
        dns_from_packets(&mut k);
        let dns = stats_index(EventKind::Dns) + 1;
        assert!(!k.syscalls.iter().any(|(_, v)| v & 0xff == dns), "{k:?}");
        assert!(k.costly.iter().all(|c| c.kind != EventKind::Dns));
        assert!(k.syscalls.contains(&(257, 4)));
        assert_eq!(dns - 1, crate::abi::SK_DNS);
        let k = compile(&Interest::everything(), &tp);
        assert_eq!(k.open_ro, OPEN_RO_ALL);
        let k = compile(&Interest::kinds([EventKind::Exec]), &tp);
        assert_eq!(k.open_ro, OPEN_RO_NONE);
        assert_eq!(k.syscalls, vec![(59, 1), (322, 1)]);
        let key = prefix_key("/etc/");
        assert_eq!(key.len(), 4 + PREFIX_MAX);
        assert_eq!(&key[..4], &40u32.to_le_bytes());
        assert_eq!(&key[4..9], b"/etc/");
    }
}
