//! /proc polling: the last resort. Each scan compares the processes present
//! with the previous scan: a new pid (or a pid whose command changed) is an
//! exec, a vanished one an exit. Processes that live shorter than the interval
//! are missed. An exit's status is known when a scan finds the process a zombie
//! (its parent has not reaped it yet: `/proc/PID/stat` field 52); a process
//! reaped between two scans leaves no trace of it, and its exit is reported with
//! code -1 (unknown).
//!
//! A process caught in the middle of its exec (the new image mapped, its
//! arguments not yet) shows an empty command line, and its comm may already be
//! the new one, so nothing would tell a later scan that it changed: such a
//! process is re-read on the next scans, and reported once more (as its exec)
//! when its command line appears.

use crate::procinfo::Procfs;
use std::collections::HashMap;

/// What one scan found changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A process not seen before (or one that exec'd: its comm changed).
    Started(u32),
    /// A process gone (or a zombie now), with its wait status when a scan saw
    /// it as a zombie.
    Exited(u32, Option<i32>),
}

/// Identity of a process between scans: start time and comm, and whether its
/// exit was reported already (it was a zombie).
type Seen = (u64, String, bool);

/// How many scans a process reported with an empty command line is re-read
/// before it is taken as it is (an exec that failed half-way, a process that
/// cleared its own arguments).
pub const MAX_REREADS: u8 = 10;

/// The scanner's memory of the previous scan.
#[derive(Debug, Default)]
pub struct ProcPoll {
    seen: HashMap<u32, Seen>,
    primed: bool,
    /// Reported with an empty command line: pid → (start time, scans since).
    incomplete: HashMap<u32, (u64, u8)>,
}

/// Whether `/proc/PID/cmdline` reads as empty (a process mid-exec; kernel threads
/// too, which the caller leaves out). Unreadable is not empty.
fn cmdline_empty(procfs: &Procfs, pid: u32) -> bool {
    std::fs::read(procfs.path(pid, "cmdline")).is_ok_and(|b| b.is_empty())
}

impl ProcPoll {
    /// Scans `procfs`; the first scan only primes (processes older than the
    /// source are not reported as started).
    pub fn scan(&mut self, procfs: &Procfs) -> Vec<Change> {
        let mut now: HashMap<u32, Seen> = HashMap::with_capacity(self.seen.len() + 16);
        let mut zombies: HashMap<u32, Option<i32>> = HashMap::new();
        if let Ok(rd) = std::fs::read_dir(procfs.root()) {
            for ent in rd.flatten() {
                let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if let Some(s) = procfs.stat(pid) {
                    let zombie = s.state == 'Z';
                    if zombie {
                        zombies.insert(pid, s.exit_status);
                    }
                    now.insert(pid, (s.start_ticks, s.comm, zombie));
                }
            }
        }
        let mut changes = Vec::new();
        if self.primed {
            for (pid, seen) in &now {
                let old = self.seen.get(pid);
                let same = old.is_some_and(|o| o.0 == seen.0 && o.1 == seen.1);
                if !same {
                    if old.is_some_and(|o| o.0 != seen.0 && !o.2) {
                        // The pid was reused: the old process exited unseen.
                        changes.push(Change::Exited(*pid, None));
                    }
                    if !seen.2 {
                        changes.push(Change::Started(*pid));
                    }
                }
                if seen.2 && !(same && old.is_some_and(|o| o.2)) {
                    // a zombie not reported yet: its exit, with the status
                    changes.push(Change::Exited(*pid, zombies.get(pid).copied().flatten()));
                }
            }
            for (pid, old) in &self.seen {
                if !now.contains_key(pid) && !old.2 {
                    changes.push(Change::Exited(*pid, None));
                }
            }
        }
        if self.primed {
            self.recheck_incomplete(procfs, &now, &mut changes);
        }
        changes.sort_by_key(|c| match c {
            Change::Exited(p, _) => (0, *p),
            Change::Started(p) => (1, *p),
        });
        self.seen = now;
        self.primed = true;
        changes
    }

    /// Processes started in this scan with an empty command line are remembered;
    /// those remembered from earlier scans are re-read, and reported again once
    /// their command line is there.
    fn recheck_incomplete(
        &mut self,
        procfs: &Procfs,
        now: &HashMap<u32, Seen>,
        changes: &mut Vec<Change>,
    ) {
        let started: Vec<u32> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Started(p) => Some(*p),
                Change::Exited(..) => None,
            })
            .collect();
        let mut again = Vec::new();
        self.incomplete.retain(|pid, (start, scans)| {
            if started.contains(pid) {
                return false; // reported anew (a new process, or its comm changed)
            }
            match now.get(pid) {
                Some(seen) if seen.0 == *start && !seen.2 => {
                    if !cmdline_empty(procfs, *pid) {
                        again.push(*pid);
                        return false;
                    }
                    *scans += 1;
                    *scans < MAX_REREADS
                }
                _ => false, // gone, a zombie, or the pid reused
            }
        });
        changes.extend(again.into_iter().map(Change::Started));
        for pid in started {
            let Some(seen) = now.get(&pid) else { continue };
            // kernel threads (kthreadd and its children) never have a command line
            let kernel = pid == 2 || procfs.stat(pid).is_some_and(|s| s.ppid == 2);
            if !kernel && cmdline_empty(procfs, pid) {
                self.incomplete.insert(pid, (seen.0, 0));
            }
        }
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

    fn write_zombie(root: &std::path::Path, pid: u32, comm: &str, start: u64, status: i32) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("stat"),
            format!(
                "{pid} ({comm}) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start}{} {status}",
                " 0".repeat(29)
            ),
        )
        .unwrap();
    }

    #[test]
    fn a_zombie_gives_its_exit_status_once() {
        let dir = tempfile::tempdir().unwrap();
        let procfs = Procfs::new(dir.path());
        write(dir.path(), 1, "init", 1);
        write(dir.path(), 20, "sh", 5);
        let mut p = ProcPoll::default();
        assert!(p.scan(&procfs).is_empty());
        write_zombie(dir.path(), 20, "sh", 5, 3 << 8);
        assert_eq!(p.scan(&procfs), vec![Change::Exited(20, Some(3 << 8))]);
        assert!(p.scan(&procfs).is_empty(), "still a zombie: no second exit");
        std::fs::remove_dir_all(dir.path().join("20")).unwrap();
        assert!(p.scan(&procfs).is_empty(), "reaped: already reported");
        // born and dead between two scans: a zombie never seen running
        write_zombie(dir.path(), 21, "false", 9, 1 << 8);
        assert_eq!(p.scan(&procfs), vec![Change::Exited(21, Some(1 << 8))]);
    }

    #[test]
    fn a_real_unreaped_child_shows_its_exit_code() {
        let procfs = Procfs::default();
        let mut p = ProcPoll::default();
        p.scan(&procfs);
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "exit 3"])
            .spawn()
            .expect("spawn /bin/sh");
        let pid = child.id();
        // not reaped yet: wait until the kernel shows it as a zombie
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while procfs.stat(pid).map(|s| s.state) != Some('Z') {
            assert!(
                std::time::Instant::now() < deadline,
                "child {pid} never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let changes = p.scan(&procfs);
        assert!(
            changes.contains(&Change::Exited(pid, Some(3 << 8))),
            "{changes:?}"
        );
        let status = child.wait().expect("reap");
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn a_process_caught_mid_exec_is_reported_again_with_its_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let procfs = Procfs::new(dir.path());
        write(dir.path(), 1, "init", 1);
        let mut p = ProcPoll::default();
        assert!(p.scan(&procfs).is_empty());
        // mid-exec: the new comm, no arguments yet
        write(dir.path(), 30, "curl", 7);
        std::fs::write(dir.path().join("30/cmdline"), b"").unwrap();
        // a kernel thread: never a command line, never re-read
        write(dir.path(), 2, "kthreadd", 2);
        std::fs::write(dir.path().join("2/cmdline"), b"").unwrap();
        assert_eq!(
            p.scan(&procfs),
            vec![Change::Started(2), Change::Started(30)]
        );
        assert!(p.scan(&procfs).is_empty(), "still no command line");
        std::fs::write(dir.path().join("30/cmdline"), b"curl\0-s\0x\0").unwrap();
        assert_eq!(p.scan(&procfs), vec![Change::Started(30)]);
        assert!(p.scan(&procfs).is_empty(), "reported once more, not again");
        // one that never gets a command line is given up after MAX_REREADS scans
        write(dir.path(), 31, "odd", 8);
        std::fs::write(dir.path().join("31/cmdline"), b"").unwrap();
        assert_eq!(p.scan(&procfs), vec![Change::Started(31)]);
        for _ in 0..MAX_REREADS {
            assert!(p.scan(&procfs).is_empty());
        }
        std::fs::write(dir.path().join("31/cmdline"), b"odd\0").unwrap();
        assert!(p.scan(&procfs).is_empty(), "given up");
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
            vec![
                Change::Exited(1, None),
                Change::Started(10),
                Change::Started(11)
            ]
        );
        write(dir.path(), 11, "sleep", 20); // reused pid
        assert_eq!(
            p.scan(&procfs),
            vec![Change::Exited(11, None), Change::Started(11)]
        );
        assert!(p.scan(&procfs).is_empty());
    }
}
