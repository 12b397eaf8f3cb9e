//! fanotify: file writes (`FAN_CLOSE_WRITE`) and, when the interest asks for
//! reads, opens (`FAN_OPEN`), on every local filesystem (filesystem marks; needs
//! CAP_SYS_ADMIN). Each event carries an fd of the file, whose /proc/self/fd link
//! names it, and the pid of the process.

use crate::sys;
use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// `struct fanotify_event_metadata` is 24 bytes.
const META_LEN: usize = 24;

/// One fanotify record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanRecord {
    /// Event mask.
    pub mask: u64,
    /// The fd of the file (`-1` for overflow records).
    pub fd: i32,
    /// Pid of the process.
    pub pid: i32,
}

/// Parses a read buffer into records.
pub fn parse_records(buf: &[u8]) -> Vec<FanRecord> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + META_LEN <= buf.len() {
        let Some(b) = buf.get(off..off + META_LEN) else {
            break;
        };
        let event_len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let mut mask = [0u8; 8];
        mask.copy_from_slice(&b[8..16]);
        let rec = FanRecord {
            mask: u64::from_ne_bytes(mask),
            fd: i32::from_ne_bytes([b[16], b[17], b[18], b[19]]),
            pid: i32::from_ne_bytes([b[20], b[21], b[22], b[23]]),
        };
        out.push(rec);
        if event_len < META_LEN {
            break;
        }
        off += event_len;
    }
    out
}

/// Local filesystems worth marking, from the text of /proc/self/mountinfo: one
/// mount point per filesystem (by device number), skipping kernel pseudo
/// filesystems.
pub fn marked_mounts(mountinfo: &str) -> Vec<(String, PathBuf)> {
    const TYPES: &[&str] = &[
        "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "vfat", "overlay", "zfs",
    ];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split_whitespace().collect();
        let (Some(dev), Some(point)) = (l.get(2), l.get(4)) else {
            continue;
        };
        let Some(fstype) = right.split_whitespace().next() else {
            continue;
        };
        if !TYPES.contains(&fstype) {
            continue;
        }
        let point = point.replace("\\040", " ");
        if point.starts_with("/proc") || point.starts_with("/sys") {
            continue;
        }
        if seen.insert(dev.to_string()) {
            out.push((dev.to_string(), PathBuf::from(point)));
        }
    }
    out
}

/// A fanotify group with filesystem marks.
pub struct Fanotify {
    fd: OwnedFd,
    mask: u64,
    marked: HashSet<String>,
    /// Mounts that refused a mark, with the error.
    pub refused: Vec<(PathBuf, String)>,
}

impl Fanotify {
    /// A group that reports `mask` (`FAN_CLOSE_WRITE`, `FAN_OPEN`, ...).
    pub fn open(mask: u64) -> std::io::Result<Self> {
        Ok(Fanotify {
            fd: sys::fanotify_init()?,
            mask,
            marked: HashSet::new(),
            refused: Vec::new(),
        })
    }

    /// Marks every local filesystem not marked yet (new container overlays show
    /// up as new filesystems); returns how many were added.
    pub fn mark_filesystems(&mut self, mountinfo: &str) -> usize {
        let mut added = 0;
        for (dev, point) in marked_mounts(mountinfo) {
            if self.marked.contains(&dev) {
                continue;
            }
            match sys::fanotify_mark(&self.fd, &point, self.mask, true) {
                Ok(()) => {
                    added += 1;
                }
                Err(e) => {
                    // Some filesystems refuse filesystem marks: a mount mark then.
                    if sys::fanotify_mark(&self.fd, &point, self.mask, false).is_ok() {
                        added += 1;
                    } else if self.refused.len() < 64 {
                        self.refused.push((point.clone(), e.to_string()));
                    }
                }
            }
            self.marked.insert(dev);
        }
        added
    }

    /// How many filesystems are marked.
    pub fn marked(&self) -> usize {
        self.marked.len()
    }

    /// The group's fd, for poll(2).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads queued records; `Ok(None)` when none.
    pub fn read(&self, buf: &mut [u8]) -> std::io::Result<Option<Vec<FanRecord>>> {
        Ok(sys::read_nonblocking(self.fd.as_raw_fd(), buf)?
            .map(|n| parse_records(buf.get(..n).unwrap_or_default())))
    }
}

/// The path of an event's fd (then closes it).
pub fn take_path(fd: i32) -> Option<String> {
    if fd < 0 {
        return None;
    }
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok();
    sys::close(fd);
    link.map(|l| l.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_and_stop_on_garbage() {
        let mut b = Vec::new();
        for (mask, fd, pid) in [(8u64, 5i32, 100i32), (0x4000, -1, 0)] {
            b.extend_from_slice(&24u32.to_ne_bytes());
            b.push(3);
            b.push(0);
            b.extend_from_slice(&24u16.to_ne_bytes());
            b.extend_from_slice(&mask.to_ne_bytes());
            b.extend_from_slice(&fd.to_ne_bytes());
            b.extend_from_slice(&pid.to_ne_bytes());
        }
        let r = parse_records(&b);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0],
            FanRecord {
                mask: 8,
                fd: 5,
                pid: 100
            }
        );
        assert_eq!(r[1].fd, -1);
        assert_eq!(parse_records(&b[..10]), vec![]);
        let mut zero = b.clone();
        zero[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse_records(&zero).len(), 1);
    }

    #[test]
    fn mounts_to_mark() {
        let mi = "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n\
            23 22 0:5 / /proc rw - proc proc rw\n\
            24 22 0:30 / /tmp rw - tmpfs tmpfs rw\n\
            25 22 254:1 /srv /srv rw - ext4 /dev/vda1 rw\n\
            26 22 0:31 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
            27 22 0:40 / /var/lib/x\\040y rw - overlay overlay rw\n";
        let m = marked_mounts(mi);
        let points: Vec<_> = m
            .iter()
            .map(|(_, p)| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(points, vec!["/", "/tmp", "/var/lib/x y"]);
    }
}
