//! Reading one process out of a procfs tree (`/proc`, or a fake one in tests):
//! the parsers are pure functions over the files' text.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What /proc says about one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcSnapshot {
    /// Thread-group id.
    pub pid: u32,
    /// Parent's thread-group id.
    pub ppid: u32,
    /// `comm`.
    pub comm: String,
    /// Start time, nanoseconds since boot.
    pub start_ns: Option<u64>,
    /// Real uid / gid (from `status`).
    pub uid: Option<u32>,
    /// Real gid.
    pub gid: Option<u32>,
    /// Executable path (`exe` link), without the kernel's ` (deleted)` mark.
    pub exe: Option<String>,
    /// Arguments (`cmdline`).
    pub args: Vec<String>,
    /// Working directory (`cwd` link).
    pub cwd: Option<String>,
    /// The cgroup2 path (the `0::` line of `cgroup`).
    pub cgroup: Option<String>,
}

/// The parts of `/proc/PID/stat` the tree uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// `comm` (between the parentheses).
    pub comm: String,
    /// Parent pid.
    pub ppid: u32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`. The command name may hold spaces and parentheses, so
/// the fields are counted after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] = state (field 3), rest[1] = ppid (field 4), starttime is field 22.
    let ppid = rest.get(1)?.parse().ok()?;
    let start_ticks = rest.get(19)?.parse().ok()?;
    Some(Stat {
        comm,
        ppid,
        start_ticks,
    })
}

/// Real uid and gid from `/proc/PID/status`.
pub fn parse_status_ids(text: &str) -> (Option<u32>, Option<u32>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    (field("Uid:"), field("Gid:"))
}

/// Arguments from `/proc/PID/cmdline` (NUL-separated), at most `max` of them.
pub fn parse_cmdline(bytes: &[u8], max: usize) -> Vec<String> {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(|b| *b == 0)
        .take(max)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The cgroup2 path from the text of `/proc/PID/cgroup` (the `0::` line).
pub fn cgroup2_path(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim_end().to_string())
}

/// Strips the kernel's mark on links to deleted files.
pub fn strip_deleted(link: &str) -> (&str, bool) {
    match link.strip_suffix(" (deleted)") {
        Some(p) => (p, true),
        None => (link, false),
    }
}

/// A procfs tree to read processes from.
#[derive(Debug, Clone)]
pub struct ProcFs {
    root: PathBuf,
    ns_per_tick: u64,
}

impl ProcFs {
    /// A procfs at `root` (`/proc` on a live host).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let ticks = rustix::param::clock_ticks_per_second().max(1);
        ProcFs {
            root: root.into(),
            ns_per_tick: 1_000_000_000 / ticks,
        }
    }

    /// The tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/PID/NAME`.
    pub fn path(&self, pid: u32, name: &str) -> PathBuf {
        self.root.join(pid.to_string()).join(name)
    }

    /// The thread-group ids present now.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect()
    }

    /// Reads a process; `None` when it is gone (or its stat unreadable).
    pub fn read(&self, pid: u32, max_args: usize) -> Option<ProcSnapshot> {
        let stat = std::fs::read_to_string(self.path(pid, "stat")).ok()?;
        let stat = parse_stat(&stat)?;
        let (uid, gid) = std::fs::read_to_string(self.path(pid, "status"))
            .map(|s| parse_status_ids(&s))
            .unwrap_or((None, None));
        let args = std::fs::read(self.path(pid, "cmdline"))
            .map(|b| parse_cmdline(&b, max_args))
            .unwrap_or_default();
        Some(ProcSnapshot {
            pid,
            ppid: stat.ppid,
            comm: stat.comm,
            start_ns: Some(stat.start_ticks.saturating_mul(self.ns_per_tick)),
            uid,
            gid,
            exe: self
                .link(pid, "exe")
                .map(|l| strip_deleted(&l).0.to_string()),
            args,
            cwd: self.link(pid, "cwd"),
            cgroup: self.cgroup(pid),
        })
    }

    /// The target of `ROOT/PID/NAME` (a symlink in /proc).
    pub fn link(&self, pid: u32, name: &str) -> Option<String> {
        std::fs::read_link(self.path(pid, name))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// The cgroup2 path of a process.
    pub fn cgroup(&self, pid: u32) -> Option<String> {
        std::fs::read_to_string(self.path(pid, "cgroup"))
            .ok()
            .and_then(|t| cgroup2_path(&t))
    }

    /// Identity of the process's root directory (device, inode): processes with
    /// the same root share /etc/passwd.
    pub fn root_key(&self, pid: u32) -> Option<(u64, u64)> {
        std::fs::metadata(self.path(pid, "root"))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_comm() {
        let text = "1234 (a (b) c) S 99 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 200 18446744073709551615";
        let s = parse_stat(text).unwrap();
        assert_eq!(s.comm, "a (b) c");
        assert_eq!(s.ppid, 99);
        assert_eq!(s.start_ticks, 5555);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S"), None);
        assert_eq!(parse_stat(")("), None);
    }

    #[test]
    fn status_cmdline_cgroup() {
        let status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n";
        assert_eq!(parse_status_ids(status), (Some(1000), Some(100)));
        assert_eq!(parse_status_ids("nothing"), (None, None));
        assert_eq!(parse_cmdline(b"sh\0-c\0id\0", 8), vec!["sh", "-c", "id"]);
        assert_eq!(parse_cmdline(b"a\0b\0c\0", 2), vec!["a", "b"]);
        assert!(parse_cmdline(b"", 8).is_empty());
        assert_eq!(
            cgroup2_path("1:cpu:/x\n0::/libpod_parent/libpod-abc\n").as_deref(),
            Some("/libpod_parent/libpod-abc")
        );
        assert_eq!(cgroup2_path("1:cpu:/x\n"), None);
        assert_eq!(strip_deleted("/tmp/x (deleted)"), ("/tmp/x", true));
    }
}
