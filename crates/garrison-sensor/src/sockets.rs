//! The process holding a socket, found by the socket's inode among the processes'
//! file descriptors (`/proc/*/fd/* -> socket:[INODE]`): attribution for DNS packets
//! of sockets the kernel side has no owner record for (connected before the sensor).

use std::collections::HashMap;
use std::path::Path;

/// What `/proc/PID/status` says about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

/// Socket inode → holding process, from the last scan of `/proc`; a miss rescans,
/// at most once per `min_gap` socket misses in a row (so a socket nobody holds any
/// more cannot make every packet rescan).
#[derive(Debug)]
pub struct Owners {
    proc_root: std::path::PathBuf,
    by_inode: HashMap<u64, u32>,
    misses_since_scan: u32,
    min_gap: u32,
}

/// Entries kept at most (a host's socket count is far below; bounded regardless).
const MAX_ENTRIES: usize = 1 << 16;

impl Owners {
    /// Over `/proc`.
    pub fn new() -> Owners {
        Owners::at("/proc", 8)
    }

    /// Over another proc root (tests), rescanning after `min_gap` misses.
    pub fn at(proc_root: impl AsRef<Path>, min_gap: u32) -> Owners {
        Owners {
            proc_root: proc_root.as_ref().to_path_buf(),
            by_inode: HashMap::new(),
            misses_since_scan: u32::MAX,
            min_gap,
        }
    }

    /// The process holding socket `inode` (the lowest pid when several share it).
    pub fn owner(&mut self, inode: u64) -> Option<Owner> {
        if inode == 0 {
            return None;
        }
        let pid = match self.by_inode.get(&inode) {
            Some(pid) => Some(*pid),
            None if self.misses_since_scan >= self.min_gap => {
                self.scan();
                self.by_inode.get(&inode).copied()
            }
            None => {
                self.misses_since_scan = self.misses_since_scan.saturating_add(1);
                None
            }
        }?;
        match status(&self.proc_root.join(pid.to_string()).join("status"), pid) {
            Some(o) => Some(o),
            None => {
                // gone since the scan
                self.by_inode.remove(&inode);
                None
            }
        }
    }

    fn scan(&mut self) {
        self.by_inode.clear();
        self.misses_since_scan = 0;
        let Ok(procs) = std::fs::read_dir(&self.proc_root) else {
            return;
        };
        for p in procs.flatten() {
            let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let Some(ino) = socket_inode(&target.to_string_lossy()) else {
                    continue;
                };
                if self.by_inode.len() >= MAX_ENTRIES {
                    return;
                }
                let slot = self.by_inode.entry(ino).or_insert(pid);
                *slot = (*slot).min(pid);
            }
        }
    }
}

impl Default for Owners {
    fn default() -> Self {
        Owners::new()
    }
}

/// The inode of an fd link's target `socket:[INODE]`.
pub fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Reads the ids and name of `pid` from its `status` file.
fn status(path: &Path, pid: u32) -> Option<Owner> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_status(&text, pid)
}

/// Parses `/proc/PID/status` text: Name, PPid, Uid, Gid lines.
pub fn parse_status(text: &str, pid: u32) -> Option<Owner> {
    let mut o = Owner {
        pid,
        ppid: 0,
        comm: String::new(),
        uid: 0,
        euid: 0,
        gid: 0,
        egid: 0,
    };
    let mut ids = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut nums = value.split_whitespace().map(|v| v.parse::<u32>().ok());
        match key {
            "Name" => o.comm = value.trim().to_string(),
            "PPid" => o.ppid = nums.next()??,
            "Uid" => {
                o.uid = nums.next()??;
                o.euid = nums.next()??;
                ids += 1;
            }
            "Gid" => {
                o.gid = nums.next()??;
                o.egid = nums.next()??;
                ids += 1;
            }
            _ => {}
        }
    }
    (ids == 2).then_some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_targets_and_status_lines() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("pipe:[12]"), None);
        assert_eq!(socket_inode("/etc/passwd"), None);
        let text = "Name:\tdig\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t7\nPPid:\t3\nUid:\t1000\t1001\t1000\t1000\nGid:\t100\t101\t100\t100\n";
        assert_eq!(
            parse_status(text, 7),
            Some(Owner {
                pid: 7,
                ppid: 3,
                comm: "dig".into(),
                uid: 1000,
                euid: 1001,
                gid: 100,
                egid: 101
            })
        );
        // truncated or hostile text: no owner, no panic
        assert_eq!(parse_status("Name:\tx\nUid:\tfoo\n", 1), None);
        assert_eq!(parse_status("", 1), None);
        assert_eq!(parse_status("Uid:\t1\nGid:\t2\n", 1), None);
    }

    #[test]
    fn finds_this_process_by_one_of_its_sockets() {
        use std::os::unix::fs::MetadataExt;
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let link = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&sock)
        ))
        .unwrap();
        let ino = socket_inode(&link.to_string_lossy()).unwrap();
        let mut owners = Owners::new();
        let me = owners.owner(ino).expect("this process holds the socket");
        assert_eq!(me.pid, std::process::id());
        assert_eq!(
            me.uid,
            std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap()
        );
        // an inode nobody holds: a miss, and the next misses wait for the gap
        assert_eq!(owners.owner(u64::MAX), None);
        assert_eq!(owners.owner(0), None);
    }
}
