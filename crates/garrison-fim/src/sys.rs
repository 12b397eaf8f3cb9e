//! Every system call FIM makes, in one place. No `unsafe`: std and rustix's safe
//! wrappers. Nothing here follows a symlink in the last component, and a file is
//! opened for hashing only with `O_NOFOLLOW | O_NONBLOCK` (a FIFO swapped in after
//! the `lstat` cannot block the scan) and checked to be the inode that was listed.

use crate::attrs::{decode_acl, decode_caps, show_xattr_value, Kind};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// `lstat(2)` of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub ino: u64,
    pub dev: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

fn stat_of(m: &std::fs::Metadata) -> Stat {
    Stat {
        kind: Kind::from_mode(m.mode()),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        ino: m.ino(),
        dev: m.dev(),
        mtime_ns: m
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(m.mtime_nsec()),
        ctime_ns: m
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(m.ctime_nsec()),
    }
}

pub fn lstat(path: &Path) -> io::Result<Stat> {
    std::fs::symlink_metadata(path).map(|m| stat_of(&m))
}

pub fn read_link(path: &Path) -> io::Result<String> {
    std::fs::read_link(path).map(|t| escape(t.as_os_str().as_encoded_bytes()))
}

/// Streams a directory's entries (getdents in chunks: a directory with millions
/// of entries is never held whole).
pub fn read_dir(path: &Path) -> io::Result<std::fs::ReadDir> {
    std::fs::read_dir(path)
}

/// A path's bytes as text, non-UTF-8 bytes as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::new();
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out
        }
    }
}

/// Opens a regular file for reading without following a symlink or blocking on
/// a FIFO, and checks it is still the inode `expect_ino` and a regular file.
pub fn open_regular(path: &Path, expect_ino: u64) -> io::Result<File> {
    let flags = rustix::fs::OFlags::NOFOLLOW.bits()
        | rustix::fs::OFlags::NONBLOCK.bits()
        | rustix::fs::OFlags::NOCTTY.bits();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags as i32)
        .open(path)?;
    let m = file.metadata()?;
    if !m.file_type().is_file() {
        return Err(io::Error::other("no longer a regular file"));
    }
    if m.ino() != expect_ino {
        return Err(io::Error::other("replaced while being scanned"));
    }
    Ok(file)
}

/// Reads until EOF into `f`, in `buf`-sized chunks.
pub fn read_chunks(file: &mut File, buf: &mut [u8], mut f: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n as u64;
                f(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Extended attributes of `path` (not following a symlink): the other xattrs
/// (`name=value` lines), the file capabilities and the POSIX ACLs, each as text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Xattrs {
    pub other: Option<String>,
    pub caps: Option<String>,
    pub acl: Option<String>,
}

pub fn xattrs(path: &Path) -> io::Result<Xattrs> {
    let mut list = vec![0u8; 4096];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut list[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) if list.len() < (1 << 20) => {
                let len = list.len() * 4;
                list.resize(len, 0);
            }
            // Filesystems without xattrs (procfs, some FUSE): nothing to record.
            Err(rustix::io::Errno::NOTSUP) => return Ok(Xattrs::default()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Xattrs::default();
    if n == 0 {
        return Ok(out);
    }
    let mut names: Vec<&[u8]> = list[..n]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .collect();
    names.sort_unstable();
    let mut other = Vec::new();
    let mut acl = Vec::new();
    let mut value = vec![0u8; 4096];
    for name in names {
        let len = loop {
            match rustix::fs::lgetxattr(path, name, &mut value[..]) {
                Ok(n) => break Some(n),
                Err(rustix::io::Errno::RANGE) if value.len() < (1 << 20) => {
                    let len = value.len() * 4;
                    value.resize(len, 0);
                }
                // Removed since listed, or not ours to read: leave it out.
                Err(rustix::io::Errno::NODATA) | Err(rustix::io::Errno::ACCESS) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        let Some(len) = len else { continue };
        let v = &value[..len];
        match name {
            b"security.capability" => out.caps = Some(decode_caps(v)),
            b"system.posix_acl_access" => acl.push(decode_acl(v, "")),
            b"system.posix_acl_default" => acl.push(decode_acl(v, "default:")),
            _ => other.push(format!("{}={}", escape(name), show_xattr_value(v))),
        }
    }
    if !other.is_empty() {
        out.other = Some(other.join("\n"));
    }
    if !acl.is_empty() {
        out.acl = Some(acl.join(","));
    }
    Ok(out)
}

/// Whether this process runs as root (uid 0), to pick default places.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Reads `len` bytes of fresh randomness from the kernel.
pub fn random_bytes(len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}
