//! The process tree cache: what each live (and recently exited) process is, so
//! events can name their ancestors, executable and arguments even when the
//! kernel's record carries only ids.

use crate::procfs::ProcSnapshot;
use foldhash::HashMap as FastMap;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One process as the tree knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcEntry {
    /// Thread-group id.
    pub pid: u32,
    /// Parent's thread-group id (0 = unknown).
    pub ppid: u32,
    /// `comm`.
    pub comm: String,
    /// Executable path.
    pub exe: Option<String>,
    /// Arguments (bounded).
    pub args: Vec<String>,
    /// True when `args` was cut.
    pub args_truncated: bool,
    /// Working directory.
    pub cwd: Option<String>,
    /// Start time, ns since boot.
    pub start_ns: Option<u64>,
    /// Identity of its root directory (device, inode), for user names.
    pub root_key: Option<(u64, u64)>,
    /// When it exited (kept a while so late events still resolve).
    pub exited: Option<Instant>,
    /// Session id (the session leader's pid).
    pub sid: Option<u32>,
    /// Pid in its own PID namespace.
    pub vpid: Option<u32>,
    /// Effective capabilities.
    pub cap_effective: Option<u64>,
    /// Permitted capabilities.
    pub cap_permitted: Option<u64>,
}

/// Bounds on arguments kept per process.
#[derive(Debug, Clone, Copy)]
pub struct ArgBounds {
    /// The most arguments kept.
    pub max_args: usize,
    /// The most bytes of arguments kept in total.
    pub max_bytes: usize,
}

impl ArgBounds {
    /// Cuts `args` to the bounds; returns whether anything was cut.
    pub fn apply(&self, args: &mut Vec<String>) -> bool {
        let mut cut = args.len() > self.max_args;
        args.truncate(self.max_args);
        let mut total = 0usize;
        for (i, a) in args.iter_mut().enumerate() {
            if total + a.len() > self.max_bytes {
                let room = self.max_bytes.saturating_sub(total);
                let mut end = room.min(a.len());
                while end > 0 && !a.is_char_boundary(end) {
                    end -= 1;
                }
                a.truncate(end);
                cut = true;
                let keep = i + 1;
                args.truncate(keep);
                return cut;
            }
            total += a.len();
        }
        cut
    }
}

impl ProcEntry {
    /// An entry from a /proc snapshot.
    pub fn from_snapshot(s: ProcSnapshot, bounds: ArgBounds) -> Self {
        let mut args = s.args;
        let args_truncated = bounds.apply(&mut args);
        ProcEntry {
            pid: s.pid,
            ppid: s.ppid,
            comm: s.comm,
            exe: s.exe,
            args,
            args_truncated,
            cwd: s.cwd,
            start_ns: s.start_ns,
            root_key: None,
            exited: None,
            sid: s.sid,
            vpid: s.vpid,
            cap_effective: s.cap_effective,
            cap_permitted: s.cap_permitted,
        }
    }
}

/// Counters of the tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TreeStats {
    /// Entries now (live and recently exited).
    pub entries: usize,
    /// Exited entries kept now.
    pub exited: usize,
    /// Entries evicted since start.
    pub evicted: u64,
    /// Entries not cached because the tree was full of live processes.
    pub uncached: u64,
}

/// An entry and its version: a number that changes whenever the entry may have
/// changed (insert, pid reuse, any mutable access), so a view built from entries
/// (an event's ancestor chain) can tell whether it is still current.
#[derive(Debug)]
struct Slot {
    entry: ProcEntry,
    version: u64,
}

/// The cache: pid → entry, bounded, with exited entries evicted after a grace
/// period (or sooner when too many are kept).
#[derive(Debug)]
pub struct ProcessTree {
    entries: FastMap<u32, Slot>,
    /// The version the next insert or change gets.
    next_version: u64,
    exited: VecDeque<(u32, Instant)>,
    max_entries: usize,
    max_exited: usize,
    grace: Duration,
    evicted: u64,
    uncached: u64,
}

impl ProcessTree {
    /// A tree holding at most `max_entries` processes, keeping exited ones for
    /// `grace` (and at most a quarter of the cap of them).
    pub fn new(max_entries: usize, grace: Duration) -> Self {
        let max_entries = max_entries.max(4);
        ProcessTree {
            entries: FastMap::default(),
            next_version: 1,
            exited: VecDeque::new(),
            max_entries,
            max_exited: (max_entries / 4).max(1),
            grace,
            evicted: 0,
            uncached: 0,
        }
    }

    /// An entry.
    pub fn get(&self, pid: u32) -> Option<&ProcEntry> {
        self.entries.get(&pid).map(|s| &s.entry)
    }

    /// An entry's version (see [`ProcessTree::get_mut`]).
    pub fn version(&self, pid: u32) -> Option<u64> {
        self.entries.get(&pid).map(|s| s.version)
    }

    /// An entry, mutable; its version changes.
    pub fn get_mut(&mut self, pid: u32) -> Option<&mut ProcEntry> {
        let v = self.next_version;
        let slot = self.entries.get_mut(&pid)?;
        slot.version = v;
        self.next_version += 1;
        Some(&mut slot.entry)
    }

    /// Inserts (or replaces: a pid reused) an entry. Returns false when the tree is
    /// full of live processes and the entry was not kept.
    pub fn insert(&mut self, entry: ProcEntry) -> bool {
        self.evict_expired(Instant::now());
        if !self.entries.contains_key(&entry.pid) && self.entries.len() >= self.max_entries {
            // Make room: the oldest exited entries go first.
            while self.entries.len() >= self.max_entries {
                if !self.evict_oldest_exited() {
                    break;
                }
            }
            if self.entries.len() >= self.max_entries {
                self.uncached += 1;
                return false;
            }
        }
        let version = self.next_version;
        self.next_version += 1;
        self.entries.insert(entry.pid, Slot { entry, version });
        true
    }

    /// Marks a process exited; it stays for the grace period.
    pub fn mark_exited(&mut self, pid: u32, now: Instant) {
        if let Some(e) = self.entries.get_mut(&pid).map(|s| &mut s.entry) {
            if e.exited.is_none() {
                e.exited = Some(now);
                self.exited.push_back((pid, now));
            }
        }
        while self.exited.len() > self.max_exited {
            if !self.evict_oldest_exited() {
                break;
            }
        }
    }

    fn evict_oldest_exited(&mut self) -> bool {
        while let Some((pid, at)) = self.exited.pop_front() {
            // Skip stale queue items: the pid was reused by a live process since.
            if self.entries.get(&pid).and_then(|s| s.entry.exited) == Some(at) {
                self.entries.remove(&pid);
                self.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Evicts exited entries older than the grace period.
    pub fn evict_expired(&mut self, now: Instant) {
        while let Some(&(pid, at)) = self.exited.front() {
            if now.saturating_duration_since(at) < self.grace {
                break;
            }
            self.exited.pop_front();
            if self.entries.get(&pid).and_then(|s| s.entry.exited) == Some(at) {
                self.entries.remove(&pid);
                self.evicted += 1;
            }
        }
    }

    /// Pids of live entries (for pruning against /proc).
    pub fn live_pids(&self) -> Vec<u32> {
        self.entries
            .values()
            .filter(|s| s.entry.exited.is_none())
            .map(|s| s.entry.pid)
            .collect()
    }

    /// Counters.
    pub fn stats(&self) -> TreeStats {
        TreeStats {
            entries: self.entries.len(),
            exited: self
                .entries
                .values()
                .filter(|s| s.entry.exited.is_some())
                .count(),
            evicted: self.evicted,
            uncached: self.uncached,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: u32, ppid: u32) -> ProcEntry {
        ProcEntry {
            pid,
            ppid,
            comm: format!("p{pid}"),
            ..ProcEntry::default()
        }
    }

    #[test]
    fn exited_entries_stay_for_the_grace_then_go() {
        let mut t = ProcessTree::new(100, Duration::from_secs(5));
        t.insert(entry(10, 1));
        let now = Instant::now();
        t.mark_exited(10, now);
        t.evict_expired(now + Duration::from_secs(1));
        assert!(t.get(10).is_some());
        t.evict_expired(now + Duration::from_secs(6));
        assert!(t.get(10).is_none());
        assert_eq!(t.stats().evicted, 1);
    }

    #[test]
    fn the_cap_holds_and_evicts_exited_first() {
        let mut t = ProcessTree::new(8, Duration::from_secs(3600));
        for pid in 1..=8 {
            assert!(t.insert(entry(pid, 0)));
        }
        // Full of live processes: a new one is not cached.
        assert!(!t.insert(entry(100, 1)));
        t.mark_exited(3, Instant::now());
        assert!(t.insert(entry(100, 1)));
        assert!(t.get(3).is_none());
        assert_eq!(t.stats().entries, 8);
        // Too many exited entries (over a quarter of the cap): the oldest go.
        let now = Instant::now();
        for pid in [1, 2, 4] {
            t.mark_exited(pid, now);
        }
        assert_eq!(t.stats().exited, 2);
        assert!(t.get(1).is_none());
    }

    #[test]
    fn a_reused_pid_is_not_evicted_by_its_old_exit() {
        let mut t = ProcessTree::new(100, Duration::from_secs(0));
        t.insert(entry(7, 1));
        let at = Instant::now();
        t.mark_exited(7, at);
        t.insert(entry(7, 2)); // reused
        t.evict_expired(at + Duration::from_secs(1));
        assert_eq!(t.get(7).map(|e| e.ppid), Some(2));
    }

    #[test]
    fn argument_bounds() {
        let b = ArgBounds {
            max_args: 3,
            max_bytes: 10,
        };
        let mut a: Vec<String> = ["ab", "cd", "ef", "gh"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(b.apply(&mut a));
        assert_eq!(a, vec!["ab", "cd", "ef"]);
        let mut a: Vec<String> = ["abcdef", "éééé"].iter().map(|s| s.to_string()).collect();
        assert!(b.apply(&mut a));
        assert_eq!(a, vec!["abcdef".to_string(), "éé".to_string()]);
        let mut a = vec!["x".to_string()];
        assert!(!b.apply(&mut a));
    }
}
