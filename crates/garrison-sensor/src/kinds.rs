//! Which syscalls each event kind needs, and how an [`Interest`] becomes the
//! contents of the kernel's interest maps.

use crate::abi::{
    CFG_EXEC, CFG_EXIT, CFG_FORK, OPEN_RO_ALL, OPEN_RO_NONE, OPEN_RO_PREFIXES, PREFIX_MAX,
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
/// `syscalls/sys_enter_<name>` exists for the syscall.
pub fn compile(interest: &Interest, has_tracepoint: &dyn Fn(u32) -> bool) -> KernelInterest {
    let mut syscalls = Vec::new();
    let mut flags = 0;
    for kind in &interest.kinds {
        for nr in syscalls_of(*kind) {
            let raw = if has_tracepoint(*nr) { 0 } else { VIA_RAW };
            syscalls.push((*nr, (stats_index(*kind) + 1) | raw));
        }
        flags |= match kind {
            EventKind::Exec => CFG_EXEC,
            EventKind::Fork => CFG_FORK,
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
    }
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
            for nr in syscalls(kind) {
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
        let k = compile(&Interest::default(), &tp);
        assert_eq!(k.open_ro, OPEN_RO_PREFIXES);
        assert_eq!(k.flags, CFG_EXEC | CFG_FORK | CFG_EXIT);
        assert!(k.syscalls.contains(&(257, 4)));
        let module = stats_index(EventKind::Module) + 1;
        assert!(k.syscalls.contains(&(175, module | VIA_RAW)));
        assert_eq!(tracepoint_name(166), "umount");
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
