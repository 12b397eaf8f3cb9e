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
    /// Session id (`stat` field 6): the session leader's pid.
    pub sid: Option<u32>,
    /// Pid in its own PID namespace (the last `NSpid:` of `status`).
    pub vpid: Option<u32>,
    /// Effective capabilities (`CapEff:`).
    pub cap_effective: Option<u64>,
    /// Permitted capabilities (`CapPrm:`).
    pub cap_permitted: Option<u64>,
}

/// What `/proc/PID/status` says beyond the ids: pid namespace view and capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusExtra {
    /// The last `NSpid:` value.
    pub vpid: Option<u32>,
    /// `CapEff:` (hex).
    pub cap_effective: Option<u64>,
    /// `CapPrm:` (hex).
    pub cap_permitted: Option<u64>,
}

/// Parses `NSpid:`, `CapEff:` and `CapPrm:` out of `/proc/PID/status`.
pub fn parse_status_extra(text: &str) -> StatusExtra {
    let line = |name: &str| text.lines().find_map(|l| l.strip_prefix(name));
    let hex = |name: &str| line(name).and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
    StatusExtra {
        vpid: line("NSpid:")
            .and_then(|v| v.split_whitespace().last())
            .and_then(|v| v.parse().ok()),
        cap_effective: hex("CapEff:"),
        cap_permitted: hex("CapPrm:"),
    }
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
    /// Session id.
    pub sid: u32,
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
    // rest[3] = session (field 6).
    let sid = rest.get(3)?.parse().ok()?;
    Some(Stat {
        comm,
        ppid,
        start_ticks,
        sid,
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
        let status = std::fs::read_to_string(self.path(pid, "status")).unwrap_or_default();
        let (uid, gid) = parse_status_ids(&status);
        let extra = parse_status_extra(&status);
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
            sid: Some(stat.sid),
            vpid: extra.vpid,
            cap_effective: extra.cap_effective,
            cap_permitted: extra.cap_permitted,
        })
    }

    /// The session id of a live process.
    pub fn session(&self, pid: u32) -> Option<u32> {
        std::fs::read_to_string(self.path(pid, "stat"))
            .ok()
            .and_then(|t| parse_stat(&t))
            .map(|s| s.sid)
    }

    /// Re-reads what `status` says beyond the ids (after an exec, which may change
    /// the capabilities); `None` when the process is gone.
    pub fn status_extra(&self, pid: u32) -> Option<StatusExtra> {
        std::fs::read_to_string(self.path(pid, "status"))
            .ok()
            .map(|s| parse_status_extra(&s))
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
        assert_eq!(s.sid, 1234);
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

    #[test]
    fn status_extra_nspid_and_caps() {
        let status =
            "Name:\tsh\nNSpid:\t4242\t1\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000200000\n";
        assert_eq!(
            parse_status_extra(status),
            StatusExtra {
                vpid: Some(1),
                cap_effective: Some(1 << 21),
                cap_permitted: Some(0x1ff_ffff_ffff),
            }
        );
        assert_eq!(parse_status_extra("Name:\tx\n"), StatusExtra::default());
        assert_eq!(
            parse_status_extra("NSpid:\t77\nCapEff:\tzz\n").vpid,
            Some(77)
        );
    }
}
