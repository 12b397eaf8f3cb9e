//! What is recorded of a file: the attribute set, one record per path, and the
//! decoding of file capabilities and POSIX ACLs into readable text.

use serde::Serialize;

/// One attribute FIM can record and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Attr {
    Hash,
    Size,
    Mode,
    Owner,
    Group,
    Inode,
    Mtime,
    Ctime,
    Xattrs,
    Caps,
    Acl,
    /// The file type, and a symlink's target: always compared.
    Type,
}

impl Attr {
    pub const CONFIGURABLE: [Attr; 11] = [
        Attr::Hash,
        Attr::Size,
        Attr::Mode,
        Attr::Owner,
        Attr::Group,
        Attr::Inode,
        Attr::Mtime,
        Attr::Ctime,
        Attr::Xattrs,
        Attr::Caps,
        Attr::Acl,
    ];
    pub const NAMES: [&'static str; 11] = [
        "hash", "size", "mode", "owner", "group", "inode", "mtime", "ctime", "xattrs", "caps",
        "acl",
    ];

    pub fn parse(s: &str) -> Option<Attr> {
        let s = s.trim().to_ascii_lowercase();
        let s = match s.as_str() {
            "sha256" | "blake3" | "content" => "hash",
            "uid" | "user" => "owner",
            "gid" => "group",
            "perm" | "permissions" => "mode",
            "capabilities" | "fcaps" => "caps",
            "acls" => "acl",
            "xattr" => "xattrs",
            "ino" => "inode",
            other => other,
        };
        Attr::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Attr::CONFIGURABLE[i])
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Attr::Type => "type",
            a => Attr::NAMES[Attr::CONFIGURABLE.iter().position(|c| *c == a).unwrap_or(0)],
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Attributes that only say who may do what (a "permissions changed" report).
    pub fn is_permission(self) -> bool {
        matches!(
            self,
            Attr::Mode | Attr::Owner | Attr::Group | Attr::Acl | Attr::Caps
        )
    }
}

/// A set of attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrSet(pub u16);

impl AttrSet {
    pub const EMPTY: AttrSet = AttrSet(0);
    pub const ALL: AttrSet = AttrSet((1 << 11) - 1);
    pub fn with(self, a: Attr) -> AttrSet {
        AttrSet(self.0 | a.bit())
    }
    pub fn has(self, a: Attr) -> bool {
        self.0 & a.bit() != 0
    }
    pub fn names(self) -> Vec<&'static str> {
        Attr::CONFIGURABLE
            .iter()
            .filter(|a| self.has(**a))
            .map(|a| a.as_str())
            .collect()
    }
}

/// File type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char_device",
            Kind::BlockDevice => "block_device",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::File,
            Kind::Dir,
            Kind::Symlink,
            Kind::Fifo,
            Kind::Socket,
            Kind::CharDevice,
            Kind::BlockDevice,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
    pub fn from_mode(mode: u32) -> Kind {
        match mode & 0o170000 {
            0o040000 => Kind::Dir,
            0o120000 => Kind::Symlink,
            0o010000 => Kind::Fifo,
            0o140000 => Kind::Socket,
            0o020000 => Kind::CharDevice,
            0o060000 => Kind::BlockDevice,
            _ => Kind::File,
        }
    }
}

/// What is recorded of one path. Attributes outside `attrs` are not compared
/// (and are zero/`None` in a stored baseline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Container (ID or configured name) whose root the path is in; empty for the host.
    pub container: String,
    /// Absolute path inside its root. Non-UTF-8 bytes are written `\xNN`.
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    /// Permission bits with setuid/setgid/sticky (no type bits).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    /// `blake3:HEX` or `sha256:HEX`, for regular files when the hash is recorded.
    pub hash: Option<String>,
    /// A symlink's target.
    pub target: Option<String>,
    /// Extended attributes other than capabilities and ACLs, one `name=value` a line.
    pub xattrs: Option<String>,
    /// File capabilities, as `getcap` writes them (`cap_net_raw=ep`).
    pub caps: Option<String>,
    /// POSIX ACLs (access, and `default:` entries for directories).
    pub acl: Option<String>,
    #[serde(skip)]
    pub attrs: AttrSet,
    /// Redacted text of a small text file, for content diffs.
    #[serde(skip)]
    pub content: Option<String>,
}

/// One changed attribute, with old and new values as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttrChange {
    pub attribute: &'static str,
    pub old: String,
    pub new: String,
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "(none)".into())
}

pub fn fmt_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = secs.div_euclid(86400);
    let tod = secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

impl Record {
    /// The attributes that differ between a baseline record and the present one,
    /// comparing only what both record. Directories' size, mtime and ctime are not
    /// compared: they change whenever an entry is added, removed or renamed, which
    /// is reported on the entry itself.
    pub fn diff(&self, now: &Record) -> Vec<AttrChange> {
        let set = AttrSet(self.attrs.0 & now.attrs.0);
        let dir = self.kind == Kind::Dir && now.kind == Kind::Dir;
        let mut out = Vec::new();
        let mut push = |a: Attr, old: String, new: String| {
            if old != new {
                out.push(AttrChange {
                    attribute: a.as_str(),
                    old,
                    new,
                });
            }
        };
        push(
            Attr::Type,
            self.kind.as_str().into(),
            now.kind.as_str().into(),
        );
        if self.kind == Kind::Symlink && now.kind == Kind::Symlink {
            push(
                Attr::Type,
                format!("-> {}", opt(&self.target)),
                format!("-> {}", opt(&now.target)),
            );
        }
        if set.has(Attr::Hash) && self.hash.is_some() && now.hash.is_some() {
            push(Attr::Hash, opt(&self.hash), opt(&now.hash));
        }
        if set.has(Attr::Size) && !dir {
            push(Attr::Size, self.size.to_string(), now.size.to_string());
        }
        if set.has(Attr::Mode) {
            push(
                Attr::Mode,
                format!("{:04o}", self.mode),
                format!("{:04o}", now.mode),
            );
        }
        if set.has(Attr::Owner) {
            push(Attr::Owner, self.uid.to_string(), now.uid.to_string());
        }
        if set.has(Attr::Group) {
            push(Attr::Group, self.gid.to_string(), now.gid.to_string());
        }
        if set.has(Attr::Inode) {
            push(Attr::Inode, self.ino.to_string(), now.ino.to_string());
        }
        if set.has(Attr::Mtime) && !dir {
            push(Attr::Mtime, fmt_time(self.mtime_ns), fmt_time(now.mtime_ns));
        }
        if set.has(Attr::Ctime) && !dir {
            push(Attr::Ctime, fmt_time(self.ctime_ns), fmt_time(now.ctime_ns));
        }
        if set.has(Attr::Xattrs) {
            push(Attr::Xattrs, opt(&self.xattrs), opt(&now.xattrs));
        }
        if set.has(Attr::Caps) {
            push(Attr::Caps, opt(&self.caps), opt(&now.caps));
        }
        if set.has(Attr::Acl) {
            push(Attr::Acl, opt(&self.acl), opt(&now.acl));
        }
        out
    }
}

/// Capability names by number (linux/capability.h).
const CAP_NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn cap_list(mask: u64) -> String {
    (0..64)
        .filter(|i| mask & (1u64 << i) != 0)
        .map(|i| {
            CAP_NAMES
                .get(i)
                .map(|s| s.to_string())
                .unwrap_or_else(|| format!("cap_{i}"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `security.capability` (struct vfs_cap_data, v2 or v3) as `getcap` writes it.
pub fn decode_caps(b: &[u8]) -> String {
    let (Some(magic), Some(p0), Some(i0)) = (u32_at(b, 0), u32_at(b, 4), u32_at(b, 8)) else {
        return format!("(malformed: {})", hex::encode(b));
    };
    let p1 = u32_at(b, 12).unwrap_or(0);
    let i1 = u32_at(b, 16).unwrap_or(0);
    let permitted = u64::from(p0) | (u64::from(p1) << 32);
    let inheritable = u64::from(i0) | (u64::from(i1) << 32);
    let effective = magic & 1 != 0;
    let mut parts = Vec::new();
    if permitted != 0 {
        parts.push(format!(
            "{}={}p",
            cap_list(permitted),
            if effective { "e" } else { "" }
        ));
    }
    if inheritable != 0 {
        parts.push(format!("{}+i", cap_list(inheritable)));
    }
    if magic >> 24 == 3 {
        if let Some(root) = u32_at(b, 20) {
            parts.push(format!("[rootid={root}]"));
        }
    }
    if parts.is_empty() {
        "(empty)".into()
    } else {
        parts.join(" ")
    }
}

/// A `system.posix_acl_*` value as `getfacl` writes entries, comma-separated.
pub fn decode_acl(b: &[u8], prefix: &str) -> String {
    let mut out = Vec::new();
    let mut i = 4;
    while i + 8 <= b.len() {
        let tag = u16::from_le_bytes([b[i], b[i + 1]]);
        let perm = u16::from_le_bytes([b[i + 2], b[i + 3]]);
        let id = u32_at(b, i + 4).unwrap_or(0);
        let rwx = format!(
            "{}{}{}",
            if perm & 4 != 0 { 'r' } else { '-' },
            if perm & 2 != 0 { 'w' } else { '-' },
            if perm & 1 != 0 { 'x' } else { '-' }
        );
        let who = match tag {
            0x01 => "user::".to_string(),
            0x02 => format!("user:{id}:"),
            0x04 => "group::".to_string(),
            0x08 => format!("group:{id}:"),
            0x10 => "mask::".to_string(),
            0x20 => "other::".to_string(),
            t => format!("tag{t}:{id}:"),
        };
        out.push(format!("{prefix}{who}{rwx}"));
        i += 8;
    }
    out.join(",")
}

/// An xattr value for people: printable text as is, short binary in hex, long
/// binary as a BLAKE3 digest.
pub fn show_xattr_value(v: &[u8]) -> String {
    let v = v.strip_suffix(b"\0").unwrap_or(v);
    if v.len() <= 256 && v.iter().all(|b| (0x20..0x7f).contains(b)) {
        String::from_utf8_lossy(v).into_owned()
    } else if v.len() <= 32 {
        format!("0x{}", hex::encode(v))
    } else {
        format!("blake3:{}", blake3::hash(v).to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_decode_like_getcap() {
        // setcap cap_net_raw=ep: v2, effective, permitted bit 13.
        let mut b = vec![];
        b.extend_from_slice(&0x0200_0001u32.to_le_bytes());
        b.extend_from_slice(&(1u32 << 13).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(decode_caps(&b), "cap_net_raw=ep");
        assert!(decode_caps(&[1, 2]).starts_with("(malformed"));
    }

    #[test]
    fn acl_decodes_like_getfacl() {
        let mut b = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (1u16, 6u16, u32::MAX),
            (2, 4, 1000),
            (4, 4, u32::MAX),
            (0x10, 4, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            b.extend_from_slice(&tag.to_le_bytes());
            b.extend_from_slice(&perm.to_le_bytes());
            b.extend_from_slice(&id.to_le_bytes());
        }
        assert_eq!(
            decode_acl(&b, ""),
            "user::rw-,user:1000:r--,group::r--,mask::r--,other::---"
        );
    }

    #[test]
    fn attributes_parse_and_times_format() {
        assert_eq!(Attr::parse("SHA256"), Some(Attr::Hash));
        assert_eq!(Attr::parse("uid"), Some(Attr::Owner));
        assert_eq!(Attr::parse("nope"), None);
        assert_eq!(Attr::Xattrs.as_str(), "xattrs");
        assert_eq!(AttrSet::ALL.names().len(), 11);
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            fmt_time(1_700_000_000_500_000_000),
            "2023-11-14T22:13:20.500000000Z"
        );
        assert_eq!(show_xattr_value(b"hello\0"), "hello");
        assert_eq!(show_xattr_value(&[0, 1]), "0x0001");
    }
}
