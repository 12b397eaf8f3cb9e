//! Every system call the sources make, in one place.
//!
//! All of them go through `rustix`, whose safe wrappers need no `unsafe` here.
//! Paths inside a target are always resolved with `openat2(2)` and
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` against the target's root
//! directory, so that neither an absolute symlink, a `..`, nor a race that
//! swaps a directory for a symlink can take a read outside the target.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Metadata of one directory entry, as `fstatat(AT_SYMLINK_NOFOLLOW)` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub file_type: FileType,
    /// Permission bits, without the file type.
    pub mode: u32,
    pub size: u64,
    pub dev: u64,
}

fn meta_of(st: &rustix::fs::Stat) -> Meta {
    Meta {
        file_type: FileType::from_raw_mode(st.st_mode),
        mode: st.st_mode & 0o7777,
        size: u64::try_from(st.st_size).unwrap_or(0),
        dev: st.st_dev,
    }
}

fn io_err(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

/// Opens a host directory (following symlinks in `path`, which the user named)
/// as an `O_PATH` handle to serve as a target's root.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err)
}

fn in_root(follow_symlinks: bool) -> ResolveFlags {
    let mut r = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    if !follow_symlinks {
        r |= ResolveFlags::NO_SYMLINKS;
    }
    r
}

/// Opens the directory `path` (absolute inside the target) for reading its
/// entries, refusing any symlink on the way.
pub fn open_dir_in_root(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<OwnedFd> {
    rustix::fs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        in_root(false),
    )
    .map_err(io_err)
}

/// Opens the directory `path` (absolute inside the target) for reading its
/// entries, resolving symlinks on the way as if the target's root were `/`
/// (so that they cannot leave it).
pub fn open_dir_in_root_following(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<OwnedFd> {
    rustix::fs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        in_root(true),
    )
    .map_err(io_err)
}

/// Metadata of `path` (absolute inside the target), resolving symlinks as if
/// the target's root were `/`: what `stat(2)` would say inside the target.
pub fn stat_in_root(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<Meta> {
    let fd = rustix::fs::openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        in_root(true),
    )
    .map_err(io_err)?;
    stat_fd(&fd)
}

/// Opens the regular file `path` (absolute inside the target) for reading.
/// With `follow_symlinks == false` any symlink on the way is refused (for
/// walked entries); with `true`, symlinks are resolved as if the target's root
/// were `/`, so they cannot leave it. Never blocks on a fifo and fails with
/// `EINVAL`-like errors when the path is not a regular file.
pub fn open_file_in_root(
    root: BorrowedFd<'_>,
    path: &[u8],
    follow_symlinks: bool,
) -> io::Result<File> {
    let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    if !follow_symlinks {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = rustix::fs::openat2(root, path, flags, Mode::empty(), in_root(follow_symlinks))
        .map_err(io_err)?;
    let st = rustix::fs::fstat(&fd).map_err(io_err)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    // The descriptor was opened non-blocking only to be safe against a fifo
    // swapped in; regular files ignore the flag, so it can stay.
    Ok(File::from(fd))
}

/// Reads all entry names of an open directory (without `.` and `..`), with
/// the file type `getdents64` reports (`Unknown` on some filesystems).
pub fn read_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<(CString, FileType)>> {
    let mut out = Vec::new();
    let d = rustix::fs::Dir::read_from(dir).map_err(io_err)?;
    for entry in d {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        let b = name.to_bytes();
        if b == b"." || b == b".." {
            continue;
        }
        out.push((name.to_owned(), entry.file_type()));
    }
    Ok(out)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn stat_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Meta> {
    rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
        .map(|st| meta_of(&st))
        .map_err(io_err)
}

/// `fstat(fd)`.
pub fn stat_fd(fd: impl AsFd) -> io::Result<Meta> {
    rustix::fs::fstat(fd).map(|st| meta_of(&st)).map_err(io_err)
}

/// The target of the symlink `name` in `dir`, as written.
pub fn read_link_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Vec<u8>> {
    rustix::fs::readlinkat(dir, name.as_c_str(), Vec::new())
        .map(CString::into_bytes)
        .map_err(io_err)
}

/// The `f_type` magic number of the filesystem `fd` lives on (`statfs(2)`).
pub fn fs_magic(fd: impl AsFd) -> io::Result<u64> {
    // `f_type` is a signed word on some ABIs; the magic numbers are 32-bit
    // values, so keep the low 32 bits.
    rustix::fs::fstatfs(fd)
        .map(|s| (s.f_type as u64) & 0xffff_ffff)
        .map_err(io_err)
}

/// Magic numbers (`statfs.f_type`) of pseudo filesystems a walk never enters:
/// their files describe the running kernel, not installed software, and some
/// (autofs) would trigger mounts or block.
pub const PSEUDO_FS_MAGIC: &[(u64, &str)] = &[
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x7472_6163, "tracefs"),
    (0x6462_6720, "debugfs"),
    (0x7363_6673, "securityfs"),
    (0xcafe_4a11, "bpf"),
    (0x1cd1, "devpts"),
    (0x1980_0202, "mqueue"),
    (0x6165_676c, "pstore"),
    (0xde5e_81e4, "efivarfs"),
    (0x6265_6570, "configfs"),
    (0x6573_5543, "fusectl"),
    (0x9584_58f6, "hugetlbfs"),
    (0x4249_4e4d, "binfmt_misc"),
    (0x0187, "autofs"),
    (0x6e73_6673, "nsfs"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x4341_5d53, "smackfs"),
    (0x6759_6969, "rpc_pipefs"),
    (0x6e66_7364, "nfsd"),
];

/// The pseudo filesystem's name when `magic` is one (see [`PSEUDO_FS_MAGIC`]).
pub fn pseudo_fs_name(magic: u64) -> Option<&'static str> {
    PSEUDO_FS_MAGIC
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, n)| *n)
}
