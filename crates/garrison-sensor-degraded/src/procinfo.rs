//! The kernel's view of a process, read from /proc when a degraded source
//! reports only its pid.

use garrison_event::{FdType, Process};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Fields of `/proc/PID/stat` after the command name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatFields {
    /// comm.
    pub comm: String,
    /// Parent pid.
    pub ppid: u32,
    /// tty_nr.
    pub tty: u32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
    /// State letter (`R`, `S`, `Z` for a zombie, ...).
    pub state: char,
    /// Field 52, the exit status as `waitpid` reports it (since Linux 3.5);
    /// meaningful once the process is a zombie.
    pub exit_status: Option<i32>,
}

/// Parses `/proc/PID/stat`.
pub fn parse_stat(text: &str) -> Option<StatFields> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    Some(StatFields {
        comm,
        ppid: rest.get(1)?.parse().ok()?,
        tty: rest.get(4)?.parse::<i64>().ok()? as u32,
        start_ticks: rest.get(19)?.parse().ok()?,
        state: rest.first()?.chars().next()?,
        exit_status: rest.get(49).and_then(|v| v.parse().ok()),
    })
}

/// The four ids of a `Uid:` or `Gid:` line of `/proc/PID/status`
/// (real, effective, saved, fs).
pub fn status_ids(text: &str, field: &str) -> Option<[u32; 4]> {
    let line = text.lines().find_map(|l| l.strip_prefix(field))?;
    let ids: Vec<u32> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    Some([*ids.first()?, *ids.get(1)?, *ids.get(2)?, *ids.get(3)?])
}

/// Arguments from a `cmdline` file, at most `max`.
pub fn parse_cmdline(bytes: &[u8], max: usize) -> (Vec<String>, bool) {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if trimmed.is_empty() {
        return (Vec::new(), false);
    }
    let all: Vec<&[u8]> = trimmed.split(|b| *b == 0).collect();
    let cut = all.len() > max;
    (
        all.into_iter()
            .take(max)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        cut,
    )
}

/// A procfs to read processes from.
#[derive(Debug, Clone)]
pub struct Procfs {
    root: PathBuf,
    ns_per_tick: u64,
}

impl Default for Procfs {
    fn default() -> Self {
        Procfs::new("/proc")
    }
}

impl Procfs {
    /// A procfs at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Procfs {
            root: root.into(),
            // USER_HZ is 100 on every Linux ABI the agent runs on.
            ns_per_tick: 10_000_000,
        }
    }

    /// `ROOT/PID/NAME`.
    pub fn path(&self, pid: u32, name: &str) -> PathBuf {
        self.root.join(pid.to_string()).join(name)
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `stat` of a process.
    pub fn stat(&self, pid: u32) -> Option<StatFields> {
        std::fs::read_to_string(self.path(pid, "stat"))
            .ok()
            .and_then(|t| parse_stat(&t))
    }

    /// The kernel's view of a process (thread `tid` of thread group `pid`); what
    /// cannot be read (the process is gone) stays at its default.
    pub fn process(&self, pid: u32, tid: u32) -> Process {
        let mut p = Process {
            pid,
            tid,
            ..Process::default()
        };
        if let Some(s) = self.stat(pid) {
            p.comm = s.comm;
            p.ppid = s.ppid;
            p.tty = s.tty;
            p.start_ns = Some(s.start_ticks.saturating_mul(self.ns_per_tick));
        }
        if let Ok(status) = std::fs::read_to_string(self.path(pid, "status")) {
            if let Some([r, e, _, _]) = status_ids(&status, "Uid:") {
                p.uid = r;
                p.euid = e;
            }
            if let Some([r, e, _, _]) = status_ids(&status, "Gid:") {
                p.gid = r;
                p.egid = e;
            }
        }
        p.loginuid = std::fs::read_to_string(self.path(pid, "loginuid"))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|&u| u != u32::MAX);
        p
    }

    /// The executable link, without the ` (deleted)` mark, and whether it was there.
    pub fn exe(&self, pid: u32) -> Option<(String, bool)> {
        let link = std::fs::read_link(self.path(pid, "exe")).ok()?;
        let link = link.to_string_lossy();
        Some(match link.strip_suffix(" (deleted)") {
            Some(p) => (p.to_string(), true),
            None => (link.into_owned(), false),
        })
    }

    /// What fds 0-2 of a process refer to.
    pub fn stdio(&self, pid: u32) -> [FdType; 3] {
        let mut out = [FdType::None; 3];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = fd_type(&self.path(pid, &format!("fd/{i}")));
        }
        out
    }
}

/// What an fd link of /proc refers to.
pub fn fd_type(link: &Path) -> FdType {
    let Ok(target) = std::fs::read_link(link) else {
        return FdType::None;
    };
    let t = target.to_string_lossy();
    if t.starts_with("socket:") {
        return FdType::Socket;
    }
    if t.starts_with("pipe:") {
        return FdType::Pipe;
    }
    if t.starts_with("anon_inode:") {
        return FdType::Anon;
    }
    match std::fs::metadata(link) {
        Ok(m) => {
            let ft = m.file_type();
            if ft.is_file() {
                FdType::File
            } else if ft.is_dir() {
                FdType::Directory
            } else if ft.is_char_device() {
                FdType::CharDevice
            } else if ft.is_block_device() {
                FdType::BlockDevice
            } else if ft.is_fifo() {
                FdType::Pipe
            } else if ft.is_socket() {
                FdType::Socket
            } else {
                FdType::Other
            }
        }
        Err(_) => FdType::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_status_cmdline() {
        let s =
            parse_stat("42 (my (x) prog) R 7 42 42 34816 42 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0")
                .unwrap();
        assert_eq!(
            (s.comm.as_str(), s.ppid, s.tty, s.start_ticks),
            ("my (x) prog", 7, 34816, 777)
        );
        assert_eq!((s.state, s.exit_status), ('R', None));
        // a zombie that exited with 3: field 52 is the wait status 3 << 8
        let z = format!(
            "9 (sh) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 50{} 768",
            " 0".repeat(29)
        );
        let z = parse_stat(&z).unwrap();
        assert_eq!((z.state, z.exit_status), ('Z', Some(768)));
        assert_eq!(parse_stat("1 (x) S 0"), None);
        let status = "Uid:\t1000\t0\t0\t0\nGid:\t5\t6\t7\t8\n";
        assert_eq!(status_ids(status, "Uid:"), Some([1000, 0, 0, 0]));
        assert_eq!(status_ids(status, "Gid:"), Some([5, 6, 7, 8]));
        assert_eq!(status_ids("Uid:\t1\n", "Uid:"), None);
        assert_eq!(
            parse_cmdline(b"a\0b\0c\0", 2),
            (vec!["a".to_string(), "b".to_string()], true)
        );
        assert_eq!(parse_cmdline(b"", 2), (vec![], false));
    }

    #[test]
    fn this_process_reads_back() {
        let procfs = Procfs::default();
        let me = std::process::id();
        let p = procfs.process(me, me);
        assert_eq!(p.pid, me);
        assert!(!p.comm.is_empty());
        assert!(procfs.exe(me).is_some());
        assert_eq!(fd_type(Path::new("/proc/self/fd/999999")), FdType::None);
    }
}
