//! `evt.type` names: the syscalls Garrison's sensors report, each with the event
//! kind that carries it, and Falco syscall names Garrison does not report.

use garrison_event::EventKind;

/// Syscall names Garrison reports, and their kind.
pub const SYSCALLS: &[(&str, EventKind)] = &[
    ("execve", EventKind::Exec),
    ("execveat", EventKind::Exec),
    ("clone", EventKind::Fork),
    ("clone3", EventKind::Fork),
    ("fork", EventKind::Fork),
    ("vfork", EventKind::Fork),
    ("procexit", EventKind::Exit),
    ("open", EventKind::Open),
    ("openat", EventKind::Open),
    ("openat2", EventKind::Open),
    ("creat", EventKind::Open),
    ("unlink", EventKind::Unlink),
    ("unlinkat", EventKind::Unlink),
    ("rmdir", EventKind::Unlink),
    ("rename", EventKind::Rename),
    ("renameat", EventKind::Rename),
    ("renameat2", EventKind::Rename),
    ("chmod", EventKind::Chmod),
    ("fchmod", EventKind::Chmod),
    ("fchmodat", EventKind::Chmod),
    ("fchmodat2", EventKind::Chmod),
    ("chown", EventKind::Chown),
    ("fchown", EventKind::Chown),
    ("lchown", EventKind::Chown),
    ("fchownat", EventKind::Chown),
    ("link", EventKind::Link),
    ("linkat", EventKind::Link),
    ("symlink", EventKind::Symlink),
    ("symlinkat", EventKind::Symlink),
    ("mkdir", EventKind::Mkdir),
    ("mkdirat", EventKind::Mkdir),
    ("connect", EventKind::Connect),
    ("accept", EventKind::Accept),
    ("accept4", EventKind::Accept),
    ("bind", EventKind::Bind),
    ("listen", EventKind::Listen),
    ("dns", EventKind::Dns),
    ("setuid", EventKind::SetId),
    ("setgid", EventKind::SetId),
    ("setreuid", EventKind::SetId),
    ("setregid", EventKind::SetId),
    ("setresuid", EventKind::SetId),
    ("setresgid", EventKind::SetId),
    ("setfsuid", EventKind::SetId),
    ("setfsgid", EventKind::SetId),
    ("capset", EventKind::Capset),
    ("ptrace", EventKind::Ptrace),
    ("init_module", EventKind::Module),
    ("finit_module", EventKind::Module),
    ("delete_module", EventKind::Module),
    ("mount", EventKind::Mount),
    ("fsmount", EventKind::Mount),
    ("move_mount", EventKind::Mount),
    ("umount", EventKind::Umount),
    ("umount2", EventKind::Umount),
    ("unshare", EventKind::Unshare),
    ("setns", EventKind::Setns),
    ("memfd_create", EventKind::MemfdCreate),
    ("bpf", EventKind::Bpf),
    ("kill", EventKind::Kill),
    ("tkill", EventKind::Kill),
    ("tgkill", EventKind::Kill),
];

/// The kind carrying a syscall, if Garrison reports it.
pub fn kind_of(syscall: &str) -> Option<EventKind> {
    SYSCALLS
        .iter()
        .find(|(n, _)| *n == syscall)
        .map(|(_, k)| *k)
}

/// A set of event kinds as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct KindSet(pub u32);

impl KindSet {
    /// Every kind.
    pub const ALL: KindSet = KindSet((1 << EventKind::ALL.len()) - 1);
    /// No kind.
    pub const NONE: KindSet = KindSet(0);

    fn bit(kind: EventKind) -> u32 {
        1 << EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
    }

    /// Adds a kind.
    pub fn insert(&mut self, kind: EventKind) {
        self.0 |= Self::bit(kind);
    }

    /// Whether the set holds a kind.
    pub fn contains(self, kind: EventKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// Intersection.
    pub fn and(self, o: KindSet) -> KindSet {
        KindSet(self.0 & o.0)
    }

    /// Union.
    pub fn or(self, o: KindSet) -> KindSet {
        KindSet(self.0 | o.0)
    }

    /// Whether empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds, in schema order.
    pub fn kinds(self) -> impl Iterator<Item = EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}
