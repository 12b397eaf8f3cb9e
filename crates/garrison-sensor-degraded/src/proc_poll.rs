//! /proc polling: the last resort. Each scan compares the processes present
//! with the previous scan: a new pid (or a pid whose command changed) is an
//! exec, a vanished one an exit. Processes that live shorter than the interval
//! are missed; exit codes are unknown (reported as -1).

use crate::procinfo::Procfs;
use std::collections::HashMap;

/// What one scan found changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A process not seen before (or one that exec'd: its comm changed).
    Started(u32),
    /// A process gone.
    Exited(u32),
}

/// Identity of a process between scans: start time and comm.
type Seen = (u64, String);

/// The scanner's memory of the previous scan.
#[derive(Debug, Default)]
pub struct ProcPoll {
    seen: HashMap<u32, Seen>,
    primed: bool,
}

impl ProcPoll {
    /// Scans `procfs`; the first scan only primes (processes older than the
    /// source are not reported as started).
    pub fn scan(&mut self, procfs: &Procfs) -> Vec<Change> {
        let mut now: HashMap<u32, Seen> = HashMap::with_capacity(self.seen.len() + 16);
        if let Ok(rd) = std::fs::read_dir(procfs.root()) {
            for ent in rd.flatten() {
                let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if let Some(s) = procfs.stat(pid) {
                    now.insert(pid, (s.start_ticks, s.comm));
                }
            }
        }
        let mut changes = Vec::new();
        if self.primed {
            for (pid, seen) in &now {
                if self.seen.get(pid) != Some(seen) {
                    if self.seen.get(pid).is_some_and(|old| old.0 != seen.0) {
                        // The pid was reused: the old process exited.
                        changes.push(Change::Exited(*pid));
                    }
                    changes.push(Change::Started(*pid));
                }
            }
            for pid in self.seen.keys() {
                if !now.contains_key(pid) {
                    changes.push(Change::Exited(*pid));
                }
            }
        }
        changes.sort_by_key(|c| match c {
            Change::Exited(p) => (0, *p),
            Change::Started(p) => (1, *p),
        });
        self.seen = now;
        self.primed = true;
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &std::path::Path, pid: u32, comm: &str, start: u64) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} ({comm}) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0"),
        )
        .unwrap();
    }

    #[test]
    fn starts_execs_reuse_and_exits() {
        let dir = tempfile::tempdir().unwrap();
        let procfs = Procfs::new(dir.path());
        write(dir.path(), 1, "init", 1);
        write(dir.path(), 10, "sh", 5);
        let mut p = ProcPoll::default();
        assert!(p.scan(&procfs).is_empty(), "the first scan primes");
        write(dir.path(), 11, "sleep", 9);
        write(dir.path(), 10, "ls", 5); // exec: same start, new comm
        std::fs::remove_dir_all(dir.path().join("1")).unwrap();
        assert_eq!(
            p.scan(&procfs),
            vec![Change::Exited(1), Change::Started(10), Change::Started(11)]
        );
        write(dir.path(), 11, "sleep", 20); // reused pid
        assert_eq!(
            p.scan(&procfs),
            vec![Change::Exited(11), Change::Started(11)]
        );
        assert!(p.scan(&procfs).is_empty());
    }
}
