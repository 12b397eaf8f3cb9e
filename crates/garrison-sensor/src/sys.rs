//! Every syscall the sensor makes itself (BPF loading goes through libbpf-rs):
//! mounting tracefs/bpffs, the ring buffer's memory mapping and wake-ups, the
//! `openat2(RESOLVE_IN_ROOT)` resolution of path arguments, and clocks.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// `statfs` magic of tracefs.
pub const TRACEFS_MAGIC: i64 = 0x7472_6163;
/// `statfs` magic of bpffs.
pub const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The filesystem magic of the filesystem at `path`, or `None` when it cannot be read.
pub fn fs_magic(path: &Path) -> Option<i64> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs writes into a zeroed struct we own; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut st) == 0 {
            Some(st.f_type)
        } else {
            None
        }
    }
}

/// Mounts `fstype` at `target` (no device, no options).
pub fn mount_pseudo(fstype: &str, target: &Path) -> io::Result<()> {
    let src = CString::new(fstype).map_err(io::Error::other)?;
    let tgt = CString::new(target.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    // SAFETY: mount(2) with NUL-terminated strings we own and no data pointer.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            tgt.as_ptr(),
            src.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Nanoseconds to add to a `CLOCK_BOOTTIME` reading (what BPF's
/// `bpf_ktime_get_boot_ns` returns) to get Unix time.
pub fn boot_to_realtime_offset() -> i128 {
    fn now(clock: libc::clockid_t) -> i128 {
        // SAFETY: clock_gettime writes a timespec we own.
        unsafe {
            let mut ts: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(clock, &mut ts);
            ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
        }
    }
    now(libc::CLOCK_REALTIME) - now(libc::CLOCK_BOOTTIME)
}

/// Opens `rel` beneath the directory `root` as if `root` were `/` (symlinks and
/// `..` cannot leave it), `O_PATH`, and returns the path the kernel gives the
/// result (`/proc/self/fd/N`), i.e. the canonical host path.
pub fn resolve_in_root(root: &Path, rel: &str, follow_last: bool) -> io::Result<PathBuf> {
    let root_c = CString::new(root.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
    let rel_c = CString::new(if rel.is_empty() { "." } else { rel }).map_err(io::Error::other)?;
    // SAFETY: open(2) of a NUL-terminated path; the fd is owned right away.
    let root_fd = unsafe {
        libc::open(
            root_c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if root_fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: root_fd is a fresh fd we own.
    let root_fd = unsafe { OwnedFd::from_raw_fd(root_fd) };
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let mut flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    if !follow_last {
        flags |= libc::O_NOFOLLOW as u64;
    }
    let how = OpenHow {
        flags,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2(2) with a valid dirfd, a NUL-terminated path and an open_how
    // struct of the size we pass.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root_fd.as_raw_fd(),
            rel_c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HDR_SZ: u64 = 8;

/// A BPF ring buffer consumed in place: records are handed out as slices of the
/// shared mapping, without copies.
pub struct RingBuf {
    _fd: OwnedFd,
    epoll: OwnedFd,
    consumer: *mut u8,
    producer: *mut u8,
    mask: u64,
    page: usize,
    data_len: usize,
}

// SAFETY: the mappings belong to the process and are only touched through &mut self.
unsafe impl Send for RingBuf {}

impl RingBuf {
    /// Maps the ring buffer map `fd` of `size` bytes (a power of two).
    pub fn new(fd: BorrowedFd<'_>, size: usize) -> io::Result<Self> {
        let fd = fd.try_clone_to_owned()?;
        // SAFETY: sysconf has no memory effects.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: maps the consumer page of a ring buffer fd we own, shared, RW.
        let consumer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if consumer == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: maps the producer page and the data area (mapped twice by the
        // kernel so records never wrap), read-only.
        let producer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                page as libc::off_t,
            )
        };
        if producer == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // SAFETY: unmaps the page mapped above.
            unsafe { libc::munmap(consumer, page) };
            return Err(err);
        }
        // SAFETY: epoll_create1 returns a new fd or -1.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        let unmap = || {
            // SAFETY: unmaps the two mappings made above.
            unsafe {
                libc::munmap(consumer, page);
                libc::munmap(producer, page + 2 * size);
            }
        };
        if ep < 0 {
            let err = io::Error::last_os_error();
            unmap();
            return Err(err);
        }
        // SAFETY: ep is a fresh fd we own.
        let epoll = unsafe { OwnedFd::from_raw_fd(ep) };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        // SAFETY: registers the ring buffer fd with our epoll instance.
        let rc = unsafe {
            libc::epoll_ctl(
                epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            unmap();
            return Err(err);
        }
        Ok(RingBuf {
            _fd: fd,
            epoll,
            consumer: consumer as *mut u8,
            producer: producer as *mut u8,
            mask: size as u64 - 1,
            page,
            data_len: size,
        })
    }

    /// Waits until the producer signals data or `timeout_ms` passes.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: waits on our epoll fd for at most one event written into `ev`.
        let rc = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut ev, 1, timeout_ms) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Hands every committed record to `f`, at most `max` of them; returns how many.
    pub fn consume(&mut self, max: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        // SAFETY: the consumer and producer positions are the first u64 of their
        // pages, naturally aligned, shared with the kernel; accessed atomically.
        let cons_pos = unsafe { &*(self.consumer as *const AtomicU64) };
        // SAFETY: as above, for the producer page.
        let prod_pos = unsafe { &*(self.producer as *const AtomicU64) };
        // SAFETY: the data area starts one page after the producer page.
        let data = unsafe { self.producer.add(self.page) };
        let mut n = 0;
        let mut cons = cons_pos.load(Ordering::Acquire);
        while n < max {
            let prod = prod_pos.load(Ordering::Acquire);
            if cons >= prod {
                break;
            }
            let off = (cons & self.mask) as usize;
            // SAFETY: off < data_len and the header is 8-byte aligned inside the
            // (double) mapping; the kernel writes it atomically.
            let len_word = unsafe { &*(data.add(off) as *const AtomicU32) };
            let len = len_word.load(Ordering::Acquire);
            if len & BUSY_BIT != 0 {
                break;
            }
            let sample_len = (len & !(BUSY_BIT | DISCARD_BIT)) as usize;
            if len & DISCARD_BIT == 0 && sample_len <= self.data_len {
                // SAFETY: the record (header + sample_len bytes) lies within the
                // double mapping (off < data_len, sample_len <= data_len), and the
                // kernel does not touch it until we advance the consumer position.
                let sample = unsafe {
                    std::slice::from_raw_parts(data.add(off + HDR_SZ as usize), sample_len)
                };
                f(sample);
                n += 1;
            }
            cons += (sample_len as u64 + HDR_SZ + 7) & !7;
            cons_pos.store(cons, Ordering::Release);
        }
        n
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        // SAFETY: unmaps the mappings made in new(); nothing borrows them past &mut self.
        unsafe {
            libc::munmap(self.consumer as *mut libc::c_void, self.page);
            libc::munmap(
                self.producer as *mut libc::c_void,
                self.page + 2 * self.data_len,
            );
        }
    }
}
