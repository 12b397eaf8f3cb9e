//! The kernel → user-space record layout of `bpf/sensor.h`, read without copies.
//! The C side asserts the same sizes and offsets (`_Static_assert` in sensor.bpf.c).

/// Record kinds (`ev_hdr.kind`).
pub const EV_EXEC: u32 = 1;
pub const EV_FORK: u32 = 2;
pub const EV_EXIT: u32 = 3;
pub const EV_OPEN: u32 = 4;
pub const EV_FILE: u32 = 5;
pub const EV_NET: u32 = 6;
pub const EV_DNS: u32 = 7;
pub const EV_SYSCALL: u32 = 8;

/// Item tags.
pub const IT_FILENAME: u16 = 1;
pub const IT_EXE: u16 = 2;
pub const IT_ARGV: u16 = 3;
pub const IT_CWD: u16 = 4;
pub const IT_ROOT: u16 = 5;
pub const IT_INTERP: u16 = 7;
pub const IT_PATH: u16 = 8;
pub const IT_STR_A: u16 = 9;
pub const IT_STR_B: u16 = 10;
pub const IT_BASE_A: u16 = 11;
pub const IT_BASE_B: u16 = 12;
pub const IT_UNIX: u16 = 13;
pub const IT_PAYLOAD: u16 = 14;
pub const IT_STR_C: u16 = 15;

/// Path item flags.
pub const PF_COMPLETE: u32 = 1;
pub const PF_DETACHED: u32 = 4;

/// Exec flags.
pub const XF_FAILED: u32 = 1;
pub const XF_EXECVEAT: u32 = 2;
pub const XF_EXE_UPPER: u32 = 8;
pub const XF_ARGV_TRUNC: u32 = 16;

/// `config.flags`.
pub const CFG_EXEC: u32 = 1;
pub const CFG_FORK: u32 = 2;
pub const CFG_EXIT: u32 = 4;
/// `config.flags`: fork events for new threads too (`CFG_THREADS`).
pub const CFG_THREADS: u32 = 8;
/// `config.flags`: the cgroup connect/sendmsg hooks mark the processes that talk
/// to port 53; the DNS syscalls of every other process stop at one map lookup.
pub const CFG_DNS_GATE: u32 = 16;

/// `ev_dns.flags` (ABI 2): the record was read from a packet (the transmit-queue
/// or cgroup_skb programs), not from a syscall's buffer.
pub const DNSF_PACKET: u32 = 1;
/// `ev_dns.flags`: the packet's socket has no owner record (it was connected before
/// the sensor's hooks): the header holds only the socket's cgroup id and uid, and
/// `sock_ino` names the socket for a lookup among the processes' fds.
pub const DNSF_UNATTRIBUTED: u32 = 2;
/// The `dns` kind's stats index (`SK_DNS`), fixed for the packet programs.
pub const SK_DNS: u32 = 15;

/// `config.open_ro`.
pub const OPEN_RO_NONE: u32 = 0;
pub const OPEN_RO_PREFIXES: u32 = 1;
pub const OPEN_RO_ALL: u32 = 2;

/// `struct g_prefix_key` data size.
pub const PREFIX_MAX: usize = 128;
/// Stats array size.
pub const SK_MAX: u32 = 32;

pub const HDR_SIZE: usize = 96;
pub const EXEC_SIZE: usize = 144;
pub const FORK_SIZE: usize = 112;
pub const EXIT_SIZE: usize = 104;
pub const OPEN_SIZE: usize = 128;
pub const FILE_SIZE: usize = 144;
pub const NET_SIZE: usize = 152;
pub const DNS_SIZE: usize = 144;
pub const SYSCALL_SIZE: usize = 216;

/// Little-endian reads that return `None` past the end.
pub trait Bytes {
    fn u16_at(&self, off: usize) -> Option<u16>;
    fn u32_at(&self, off: usize) -> Option<u32>;
    fn u64_at(&self, off: usize) -> Option<u64>;
}

impl Bytes for [u8] {
    fn u16_at(&self, off: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.get(off..off + 2)?.try_into().ok()?))
    }
    fn u32_at(&self, off: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.get(off..off + 4)?.try_into().ok()?))
    }
    fn u64_at(&self, off: usize) -> Option<u64> {
        Some(u64::from_le_bytes(self.get(off..off + 8)?.try_into().ok()?))
    }
}

/// `struct ev_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub ts_ns: u64,
    pub cgroup_id: u64,
    pub ret: i64,
    pub start_ns: u64,
    pub kind: u32,
    pub size: u32,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub loginuid: u32,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub mntns: u32,
    pub nr: u32,
    pub comm: [u8; 16],
}

impl Header {
    /// Reads the header of a record.
    pub fn parse(b: &[u8]) -> Option<Header> {
        let mut comm = [0u8; 16];
        comm.copy_from_slice(b.get(80..96)?);
        Some(Header {
            ts_ns: b.u64_at(0)?,
            cgroup_id: b.u64_at(8)?,
            ret: b.u64_at(16)? as i64,
            start_ns: b.u64_at(24)?,
            kind: b.u32_at(32)?,
            size: b.u32_at(36)?,
            pid: b.u32_at(40)?,
            tid: b.u32_at(44)?,
            ppid: b.u32_at(48)?,
            loginuid: b.u32_at(52)?,
            uid: b.u32_at(56)?,
            euid: b.u32_at(60)?,
            gid: b.u32_at(64)?,
            egid: b.u32_at(68)?,
            mntns: b.u32_at(72)?,
            nr: b.u32_at(76)?,
            comm,
        })
    }

    /// `comm` as text.
    pub fn comm(&self) -> String {
        let end = self.comm.iter().position(|&c| c == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.comm[..end]).into_owned()
    }
}

/// A path item: the walk's flags, the device of the mount it ended on, the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathItem<'a> {
    pub flags: u32,
    /// Kernel-encoded `dev_t` (major << 20 | minor).
    pub dev: u32,
    pub path: &'a [u8],
}

impl<'a> PathItem<'a> {
    /// Reads a path item's payload.
    pub fn parse(b: &'a [u8]) -> Option<PathItem<'a>> {
        Some(PathItem {
            flags: b.u32_at(0)?,
            dev: b.u32_at(4)?,
            path: b.get(8..)?,
        })
    }

    /// Whether the walk reached the namespace root (no leading component missing).
    pub fn complete(&self) -> bool {
        self.flags & PF_COMPLETE != 0
    }

    /// Whether this is a pseudo file's own name (memfd, pipe, socket): no directory.
    pub fn detached(&self) -> bool {
        self.flags & PF_DETACHED != 0
    }
}

/// The items after a record's fixed part.
#[derive(Debug, Clone, Copy)]
pub struct Items<'a> {
    rest: &'a [u8],
}

impl<'a> Items<'a> {
    /// Items of `record` after `fixed` bytes.
    pub fn new(record: &'a [u8], fixed: usize) -> Items<'a> {
        Items {
            rest: record.get(fixed..).unwrap_or(&[]),
        }
    }

    /// The first item with `tag`.
    pub fn get(&self, tag: u16) -> Option<&'a [u8]> {
        let mut it = *self;
        it.find(|(t, _)| *t == tag).map(|(_, b)| b)
    }

    /// The first path item with `tag`.
    pub fn path(&self, tag: u16) -> Option<PathItem<'a>> {
        self.get(tag).and_then(PathItem::parse)
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let tag = self.rest.u16_at(0)?;
        let len = self.rest.u16_at(2)? as usize;
        let payload = self.rest.get(4..4 + len)?;
        self.rest = self.rest.get(4 + len..).unwrap_or(&[]);
        Some((tag, payload))
    }
}

/// Converts a kernel-encoded `dev_t` (12-bit major << 20 | 20-bit minor) to the
/// user-space encoding `stat` and `/proc/*/mountinfo` use.
pub fn kdev_to_udev(kdev: u32) -> u64 {
    let major = (kdev >> 20) as u64;
    let minor = (kdev & 0xfffff) as u64;
    libc::makedev(major as u32, minor as u32)
}

/// `major:minor` of a kernel-encoded `dev_t`, as mountinfo prints it.
pub fn kdev_pair(kdev: u32) -> (u32, u32) {
    (kdev >> 20, kdev & 0xfffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_stop_at_truncated_records() {
        let mut rec = vec![0u8; 8];
        rec.extend_from_slice(&IT_STR_A.to_le_bytes());
        rec.extend_from_slice(&3u16.to_le_bytes());
        rec.extend_from_slice(b"abc");
        rec.extend_from_slice(&IT_STR_B.to_le_bytes());
        rec.extend_from_slice(&10u16.to_le_bytes());
        rec.extend_from_slice(b"short");
        let items: Vec<_> = Items::new(&rec, 8).collect();
        assert_eq!(items, vec![(IT_STR_A, &b"abc"[..])]);
        assert_eq!(Items::new(&rec, 8).get(IT_STR_B), None);
        assert_eq!(Items::new(&rec, 100).count(), 0);
    }

    #[test]
    fn header_of_a_short_record_is_none() {
        assert!(Header::parse(&[0u8; 95]).is_none());
        let mut b = [0u8; 96];
        b[80..83].copy_from_slice(b"cat");
        b[40..44].copy_from_slice(&42u32.to_le_bytes());
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.comm(), "cat");
        assert_eq!(h.pid, 42);
    }

    #[test]
    fn kernel_dev_numbers_convert() {
        // 8:1 (sda1): kernel 8 << 20 | 1, user space 0x801
        assert_eq!(kdev_to_udev(8 << 20 | 1), 0x801);
        assert_eq!(kdev_pair(8 << 20 | 1), (8, 1));
    }
}
