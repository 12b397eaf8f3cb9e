//! The netlink proc connector: the kernel multicasts fork, exec, id changes and
//! exits of every process (needs CAP_NET_ADMIN). Messages carry only ids; the
//! rest is read from /proc while the process is still there.

use crate::procinfo::Procfs;
use crate::sys;
use garrison_event::{EventData, FilePath, Process, Resolution};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

const NLMSG_HDRLEN: usize = 16;
const CN_MSG_LEN: usize = 20;
/// Offset of `event_data` inside `struct proc_event` (what, cpu, timestamp_ns).
const PROC_EVENT_DATA: usize = 16;
const NLMSG_DONE: u16 = 3;
const NLMSG_ERROR: u16 = 2;

const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_UID: u32 = 0x0000_0004;
const PROC_EVENT_GID: u32 = 0x0000_0040;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One proc connector event, as the kernel sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEvent {
    /// fork/clone.
    Fork {
        /// Parent thread.
        parent_pid: u32,
        /// Parent thread group.
        parent_tgid: u32,
        /// Child thread.
        child_pid: u32,
        /// Child thread group.
        child_tgid: u32,
    },
    /// A successful exec.
    Exec {
        /// Thread.
        pid: u32,
        /// Thread group.
        tgid: u32,
    },
    /// Real/effective uid changed.
    Uid {
        /// Thread.
        pid: u32,
        /// Thread group.
        tgid: u32,
        /// New real uid.
        ruid: u32,
        /// New effective uid.
        euid: u32,
    },
    /// Real/effective gid changed.
    Gid {
        /// Thread.
        pid: u32,
        /// Thread group.
        tgid: u32,
        /// New real gid.
        rgid: u32,
        /// New effective gid.
        egid: u32,
    },
    /// A thread exited.
    Exit {
        /// Thread.
        pid: u32,
        /// Thread group.
        tgid: u32,
        /// Wait status (`code << 8 | signal`, core flag 0x80).
        status: u32,
    },
    /// Anything else (sid, ptrace, comm, coredump, acks).
    Other(u32),
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

/// Parses one datagram (possibly several netlink messages). Malformed messages
/// are counted in the second value.
pub fn parse_datagram(buf: &[u8]) -> (Vec<ConnEvent>, u64) {
    let mut out = Vec::new();
    let mut bad = 0;
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let Some(len) = u32_at(buf, off).map(|l| l as usize) else {
            break;
        };
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            bad += 1;
            break;
        }
        let msg = &buf[off..off + len];
        let kind = u16_at(msg, 4).unwrap_or(0);
        if kind != NLMSG_ERROR {
            match parse_message(msg) {
                Some(ev) => out.push(ev),
                None => bad += 1,
            }
        }
        let _ = NLMSG_DONE;
        off += (len + 3) & !3;
    }
    (out, bad)
}

fn parse_message(msg: &[u8]) -> Option<ConnEvent> {
    let cn = msg.get(NLMSG_HDRLEN..)?;
    let (idx, val) = (u32_at(cn, 0)?, u32_at(cn, 4)?);
    if idx != sys::CN_IDX_PROC || val != sys::CN_VAL_PROC {
        return Some(ConnEvent::Other(0));
    }
    let ev = cn.get(CN_MSG_LEN..)?;
    let what = u32_at(ev, 0)?;
    let d = ev.get(PROC_EVENT_DATA..)?;
    Some(match what {
        PROC_EVENT_FORK => ConnEvent::Fork {
            parent_pid: u32_at(d, 0)?,
            parent_tgid: u32_at(d, 4)?,
            child_pid: u32_at(d, 8)?,
            child_tgid: u32_at(d, 12)?,
        },
        PROC_EVENT_EXEC => ConnEvent::Exec {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
        },
        PROC_EVENT_UID => ConnEvent::Uid {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
            ruid: u32_at(d, 8)?,
            euid: u32_at(d, 12)?,
        },
        PROC_EVENT_GID => ConnEvent::Gid {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
            rgid: u32_at(d, 8)?,
            egid: u32_at(d, 12)?,
        },
        PROC_EVENT_EXIT => ConnEvent::Exit {
            pid: u32_at(d, 0)?,
            tgid: u32_at(d, 4)?,
            status: u32_at(d, 8)?,
        },
        other => ConnEvent::Other(other),
    })
}

/// The subscription message (`PROC_CN_MCAST_LISTEN`) sent by process `pid`.
pub fn listen_message(pid: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&pid.to_ne_bytes());
    m.extend_from_slice(&sys::CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&sys::CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // ack
    m.extend_from_slice(&4u16.to_ne_bytes()); // len
    m.extend_from_slice(&0u16.to_ne_bytes()); // flags
    m.extend_from_slice(&sys::PROC_CN_MCAST_LISTEN.to_ne_bytes());
    m
}

/// What a decoded event becomes: the syscall name, result, process and data.
pub struct Translated {
    /// `execve`, `clone`, `procexit`, `setuid`, `setgid`.
    pub syscall: &'static str,
    /// The call's result (`None` for exits).
    pub result: Option<i64>,
    /// The process.
    pub process: Process,
    /// The event body.
    pub data: EventData,
}

/// Turns a connector event into the schema, reading /proc for the rest. `None`
/// for events the schema has no place for (thread exits, acks).
pub fn translate(ev: ConnEvent, procfs: &Procfs, max_args: usize) -> Option<Translated> {
    match ev {
        ConnEvent::Fork {
            parent_pid,
            parent_tgid,
            child_pid,
            child_tgid,
        } => Some(Translated {
            syscall: "clone",
            result: Some(i64::from(child_pid)),
            process: procfs.process(parent_tgid, parent_pid),
            data: EventData::Fork {
                child_pid: child_tgid,
                child_tid: child_pid,
                thread: child_tgid == parent_tgid,
            },
        }),
        ConnEvent::Exec { pid, tgid } => {
            let mut process = procfs.process(tgid, pid);
            let (exe, deleted) = procfs.exe(tgid).unwrap_or_default();
            let (argv, cut) = std::fs::read(procfs.path(tgid, "cmdline"))
                .map(|b| crate::procinfo::parse_cmdline(&b, max_args))
                .unwrap_or_default();
            let (dev, ino) = std::fs::metadata(procfs.path(tgid, "exe"))
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    (m.dev(), m.ino())
                })
                .unwrap_or((0, 0));
            process.exe = (!exe.is_empty()).then(|| exe.clone());
            process.args = argv.clone();
            process.args_truncated = cut;
            let filename = if exe.is_empty() {
                FilePath::raw(argv.first().cloned().unwrap_or_default())
            } else {
                FilePath {
                    path: exe.clone(),
                    host_path: None,
                    // The kernel's own link to the loaded file: not the argument.
                    resolution: Resolution::Kernel,
                    raw: None,
                }
            };
            Some(Translated {
                syscall: "execve",
                result: Some(0),
                data: EventData::Exec {
                    filename,
                    argv,
                    argv_truncated: cut,
                    exe_dev: dev,
                    exe_ino: ino,
                    exe_memfd: exe.starts_with("/memfd:"),
                    exe_deleted: deleted,
                    // Not visible from /proc without the overlay's layout.
                    exe_upper_layer: false,
                    stdio: procfs.stdio(tgid),
                },
                process,
            })
        }
        ConnEvent::Uid {
            pid,
            tgid,
            ruid,
            euid,
        } => Some(Translated {
            syscall: "setuid",
            result: Some(0),
            process: procfs.process(tgid, pid),
            data: EventData::SetId {
                uid: Some(ruid),
                euid: Some(euid),
                suid: None,
                fsuid: None,
                gid: None,
                egid: None,
                sgid: None,
                fsgid: None,
            },
        }),
        ConnEvent::Gid {
            pid,
            tgid,
            rgid,
            egid,
        } => Some(Translated {
            syscall: "setgid",
            result: Some(0),
            process: procfs.process(tgid, pid),
            data: EventData::SetId {
                uid: None,
                euid: None,
                suid: None,
                fsuid: None,
                gid: Some(rgid),
                egid: Some(egid),
                sgid: None,
                fsgid: None,
            },
        }),
        ConnEvent::Exit { pid, tgid, status } if pid == tgid => {
            let signal = status & 0x7f;
            Some(Translated {
                syscall: "procexit",
                result: None,
                process: procfs.process(tgid, pid),
                data: EventData::Exit {
                    code: ((status >> 8) & 0xff) as i32,
                    signal: (signal != 0).then_some(signal as i32),
                    core_dumped: status & 0x80 != 0,
                },
            })
        }
        _ => None,
    }
}

/// A subscribed proc connector socket.
pub struct ProcConnector {
    fd: OwnedFd,
}

impl ProcConnector {
    /// Opens and subscribes (needs CAP_NET_ADMIN).
    pub fn open() -> std::io::Result<Self> {
        let fd = sys::proc_connector_socket(8 << 20)?;
        sys::netlink_send(&fd, &listen_message(sys::getpid()))?;
        Ok(ProcConnector { fd })
    }

    /// The socket, for poll(2).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads one datagram; `Ok(None)` when none is queued. ENOBUFS (the socket's
    /// queue overflowed: events lost) is returned as `Err` of that kind.
    pub fn read(&self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        sys::read_nonblocking(self.fd.as_raw_fd(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(what: u32, data: &[u32]) -> Vec<u8> {
        let mut ev = Vec::new();
        ev.extend_from_slice(&what.to_ne_bytes());
        ev.extend_from_slice(&0u32.to_ne_bytes()); // cpu
        ev.extend_from_slice(&123u64.to_ne_bytes()); // timestamp
        for d in data {
            ev.extend_from_slice(&d.to_ne_bytes());
        }
        let mut m = listen_message(0);
        m.truncate(NLMSG_HDRLEN + CN_MSG_LEN);
        m.extend_from_slice(&ev);
        let len = m.len() as u32;
        m[..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn events_of_each_kind_parse() {
        let mut dgram = message(PROC_EVENT_FORK, &[10, 10, 11, 11]);
        dgram.extend(message(PROC_EVENT_EXEC, &[11, 11]));
        dgram.extend(message(PROC_EVENT_UID, &[11, 11, 1000, 0]));
        dgram.extend(message(PROC_EVENT_EXIT, &[11, 11, 0x8b, 9, 10, 10]));
        let (evs, bad) = parse_datagram(&dgram);
        assert_eq!(bad, 0);
        assert_eq!(
            evs,
            vec![
                ConnEvent::Fork {
                    parent_pid: 10,
                    parent_tgid: 10,
                    child_pid: 11,
                    child_tgid: 11
                },
                ConnEvent::Exec { pid: 11, tgid: 11 },
                ConnEvent::Uid {
                    pid: 11,
                    tgid: 11,
                    ruid: 1000,
                    euid: 0
                },
                ConnEvent::Exit {
                    pid: 11,
                    tgid: 11,
                    status: 0x8b
                },
            ]
        );
        let procfs = Procfs::new("/nonexistent");
        let t = translate(evs[3], &procfs, 8).unwrap();
        assert_eq!(
            t.data,
            EventData::Exit {
                code: 0,
                signal: Some(11),
                core_dumped: true
            }
        );
        // A thread's exit is not a process exit.
        assert!(translate(
            ConnEvent::Exit {
                pid: 12,
                tgid: 11,
                status: 0
            },
            &procfs,
            8
        )
        .is_none());
    }

    #[test]
    fn truncated_and_garbage_datagrams_do_not_panic() {
        let m = message(PROC_EVENT_FORK, &[1, 1, 2, 2]);
        for cut in 0..m.len() {
            let _ = parse_datagram(&m[..cut]);
        }
        let (evs, bad) = parse_datagram(&[0xff; 40]);
        assert!(evs.is_empty());
        assert_eq!(bad, 1);
        let mut short = m.clone();
        short[..4].copy_from_slice(&20u32.to_ne_bytes());
        let (_, bad) = parse_datagram(&short);
        assert!(bad >= 1);
    }
}
