//! Kernel records → [`garrison_event::Event`]s: process context from the header,
//! canonical paths through [`Resolver`], names for numbers, DNS payloads parsed.

use crate::abi::*;
use crate::dns;
use crate::names;
use crate::resolve::Resolver;
use garrison_event::{
    DnsDirection, Event, EventData, FdType, FilePath, ModuleOp, Process, Protocol, SockAddr,
    SCHEMA_VERSION,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A record that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its fixed part.
    #[error("BPF record of kind {kind}: {len} bytes, shorter than its {need}-byte fixed part")]
    Short {
        /// Record kind.
        kind: u32,
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A kind this decoder does not know (a newer BPF object?).
    #[error("BPF record of unknown kind {0}: the BPF object and the decoder disagree")]
    UnknownKind(u32),
}

/// Decodes records; holds what decoding needs across events.
#[derive(Debug)]
pub struct Decoder {
    resolver: Resolver,
    boot_offset: i128,
    seq: u64,
    ignore_prefixes: Vec<String>,
    owners: crate::sockets::Owners,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn opt_id(v: u64) -> Option<u32> {
    let v = v as u32;
    (v != u32::MAX).then_some(v)
}

/// Kind of file a mode says (`i_mode` of fds 0-2).
pub fn fd_type(mode: u16) -> FdType {
    if mode == 0 {
        return FdType::None;
    }
    match (mode as u32) & 0o170000 {
        0o140000 => FdType::Socket,
        0o100000 => FdType::File,
        0o040000 => FdType::Directory,
        0o010000 => FdType::Pipe,
        0o020000 => FdType::CharDevice,
        0o060000 => FdType::BlockDevice,
        0 => FdType::Anon,
        _ => FdType::Other,
    }
}

/// `tty_nr` as /proc/PID/stat encodes it.
pub fn tty_nr(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

fn sockaddr(family: u16, addr: &[u8], port: u16, unix: Option<&[u8]>) -> Option<SockAddr> {
    match family {
        2 => {
            let a: [u8; 4] = addr.get(..4)?.try_into().ok()?;
            Some(SockAddr::Inet {
                ip: IpAddr::V4(Ipv4Addr::from(a)),
                port,
            })
        }
        10 => {
            let a: [u8; 16] = addr.get(..16)?.try_into().ok()?;
            Some(SockAddr::Inet6 {
                ip: IpAddr::V6(Ipv6Addr::from(a)),
                port,
            })
        }
        1 => Some(SockAddr::Unix {
            path: match unix {
                Some([0, rest @ ..]) => format!("@{}", s(rest)),
                Some(p) => s(p),
                None => String::new(),
            },
        }),
        0 => None,
        n => Some(SockAddr::Other { number: n }),
    }
}

fn protocol(family: u16, typ: u16) -> Protocol {
    match (family, typ) {
        (2 | 10, 1) => Protocol::Tcp,
        (2 | 10, 2) => Protocol::Udp,
        _ => Protocol::Other,
    }
}

impl Decoder {
    /// A decoder for an agent in mount namespace `host_mntns`.
    pub fn new(host_mntns: u32) -> Self {
        Decoder {
            resolver: Resolver::new(host_mntns),
            boot_offset: crate::sys::boot_to_realtime_offset(),
            seq: 0,
            ignore_prefixes: Vec::new(),
            owners: crate::sockets::Owners::new(),
        }
    }

    /// Prefixes whose file changes are dropped (those the kernel could not drop
    /// because it only had the path string).
    pub fn set_ignore_prefixes(&mut self, prefixes: Vec<String>) {
        self.ignore_prefixes = prefixes;
    }

    fn ignored(&self, p: &FilePath) -> bool {
        self.ignore_prefixes
            .iter()
            .any(|pre| p.path.starts_with(pre.as_str()))
    }

    /// Decodes one record. `Ok(None)`: the record was valid but is filtered out.
    pub fn decode(&mut self, rec: &[u8]) -> Result<Option<Event>, DecodeError> {
        let h = Header::parse(rec).ok_or(DecodeError::Short {
            kind: 0,
            len: rec.len(),
            need: HDR_SIZE,
        })?;
        let need = match h.kind {
            EV_EXEC => EXEC_SIZE,
            EV_FORK => FORK_SIZE,
            EV_EXIT => EXIT_SIZE,
            EV_OPEN => OPEN_SIZE,
            EV_FILE => FILE_SIZE,
            EV_NET => NET_SIZE,
            EV_DNS => DNS_SIZE,
            EV_SYSCALL => SYSCALL_SIZE,
            k => return Err(DecodeError::UnknownKind(k)),
        };
        if rec.len() < need {
            return Err(DecodeError::Short {
                kind: h.kind,
                len: rec.len(),
                need,
            });
        }
        let items = Items::new(rec, need);
        let mut process = Process {
            pid: h.pid,
            tid: h.tid,
            ppid: h.ppid,
            comm: h.comm(),
            uid: h.uid,
            gid: h.gid,
            euid: h.euid,
            egid: h.egid,
            loginuid: opt_id(h.loginuid as u64),
            start_ns: Some(h.start_ns),
            cgroup_id: h.cgroup_id,
            ..Process::default()
        };
        let mut syscall = names::syscall_name(h.nr);
        let mut result = Some(h.ret);
        let a = |i: usize| rec.u64_at(HDR_SIZE + 8 * i).unwrap_or(0);
        let data = match h.kind {
            EV_EXEC => {
                let flags = rec.u32_at(108).unwrap_or(0);
                let nlink = rec.u32_at(124).unwrap_or(0);
                let tty = tty_nr(rec.u32_at(96).unwrap_or(0), rec.u32_at(100).unwrap_or(0));
                process.tty = tty;
                let filename_raw = items.get(IT_FILENAME);
                let filename = if flags & XF_FAILED != 0 {
                    self.resolver.joined(
                        filename_raw.unwrap_or(b""),
                        items.path(IT_BASE_A),
                        items.path(IT_ROOT),
                        h.mntns,
                        true,
                    )
                } else if let Some(exe) = items.path(IT_EXE) {
                    self.resolver.kernel(exe, h.mntns, filename_raw)
                } else {
                    FilePath::raw(s(filename_raw.unwrap_or(b"")))
                };
                let mut argv: Vec<String> = items
                    .get(IT_ARGV)
                    .unwrap_or(b"")
                    .split(|&c| c == 0)
                    .map(s)
                    .collect();
                if argv.last().is_some_and(|l| l.is_empty()) {
                    argv.pop();
                }
                let base = filename.path.rsplit('/').next().unwrap_or("");
                let memfd = flags & XF_FAILED == 0 && base.starts_with("memfd:");
                if flags & XF_EXECVEAT != 0 {
                    syscall = "execveat".into();
                } else {
                    syscall = "execve".into();
                }
                if flags & XF_FAILED == 0 {
                    process.exe = Some(filename.path.clone());
                    process.args = argv.clone();
                    process.args_truncated = flags & XF_ARGV_TRUNC != 0;
                    process.cwd = items
                        .path(IT_CWD)
                        .map(|c| self.resolver.kernel(c, h.mntns, None).path);
                }
                EventData::Exec {
                    filename,
                    argv,
                    argv_truncated: flags & XF_ARGV_TRUNC != 0,
                    exe_dev: kdev_to_udev(rec.u32_at(120).unwrap_or(0)),
                    exe_ino: rec.u64_at(112).unwrap_or(0),
                    exe_memfd: memfd,
                    exe_deleted: flags & XF_FAILED == 0 && nlink == 0 && !memfd,
                    exe_upper_layer: flags & XF_EXE_UPPER != 0,
                    stdio: [
                        fd_type(rec.u16_at(132).unwrap_or(0)),
                        fd_type(rec.u16_at(134).unwrap_or(0)),
                        fd_type(rec.u16_at(136).unwrap_or(0)),
                    ],
                }
            }
            EV_FORK => {
                if h.nr == u32::MAX {
                    syscall = "clone".into();
                }
                EventData::Fork {
                    child_pid: rec.u32_at(96).unwrap_or(0),
                    child_tid: rec.u32_at(100).unwrap_or(0),
                    thread: rec.u32_at(104).unwrap_or(0) != 0,
                }
            }
            EV_EXIT => {
                syscall = "procexit".into();
                result = None;
                let st = rec.u32_at(96).unwrap_or(0);
                let sig = (st & 0x7f) as i32;
                EventData::Exit {
                    code: ((st >> 8) & 0xff) as i32,
                    signal: (sig != 0).then_some(sig),
                    core_dumped: st & 0x80 != 0,
                }
            }
            EV_OPEN => {
                let flags = rec.u64_at(96).unwrap_or(0) as u32;
                let raw = items.get(IT_STR_A);
                let path = match items.path(IT_PATH) {
                    Some(p) if h.ret >= 0 => self.resolver.kernel(p, h.mntns, raw),
                    _ => {
                        let follow = flags & 0o400000 == 0 && flags & 0o300 != 0o300;
                        self.resolver.joined(
                            raw.unwrap_or(b""),
                            items.path(IT_BASE_A),
                            items.path(IT_ROOT),
                            h.mntns,
                            follow,
                        )
                    }
                };
                if (flags & 3 != 0 || flags & 0o1100 != 0) && self.ignored(&path) {
                    return Ok(None);
                }
                EventData::Open {
                    path,
                    flags,
                    mode: rec.u64_at(104).unwrap_or(0) as u32,
                    flag_names: names::open_flag_names(flags),
                    created: None,
                }
            }
            EV_FILE => {
                let Some(data) = self.file(&h, &items, &a) else {
                    return Ok(None);
                };
                data
            }
            EV_NET => {
                let family = rec.u16_at(100).unwrap_or(0);
                let proto = protocol(family, rec.u16_at(102).unwrap_or(0));
                let lport = rec.u16_at(106).unwrap_or(0);
                let rport = rec.u16_at(108).unwrap_or(0);
                let laddr = rec.get(112..128).unwrap_or(&[]);
                let raddr = rec.get(128..144).unwrap_or(&[]);
                let unix = items.get(IT_UNIX);
                let local = sockaddr(family, laddr, lport, unix);
                let remote = sockaddr(family, raddr, rport, unix);
                let inet = family == 2 || family == 10;
                match h.nr {
                    42 => EventData::Connect {
                        protocol: proto,
                        local: if inet && lport != 0 { local } else { None },
                        remote: remote.unwrap_or(SockAddr::Other { number: family }),
                    },
                    43 | 288 => EventData::Accept {
                        protocol: proto,
                        local: if inet || unix.is_some() { local } else { None },
                        remote: if inet { remote } else { None },
                    },
                    49 => EventData::Bind {
                        protocol: proto,
                        local: local.unwrap_or(SockAddr::Other { number: family }),
                    },
                    _ => EventData::Listen {
                        protocol: proto,
                        local: if inet || unix.is_some() { local } else { None },
                        backlog: rec.u64_at(144).unwrap_or(0) as i32,
                    },
                }
            }
            EV_DNS => {
                let family = rec.u16_at(96).unwrap_or(0);
                let proto = protocol(family, rec.u16_at(98).unwrap_or(0));
                let rport = rec.u16_at(102).unwrap_or(0);
                let raddr = rec.get(104..120).unwrap_or(&[]);
                let dir = rec.u32_at(120).unwrap_or(0);
                let transferred = rec.u32_at(124).unwrap_or(0) as usize;
                let flags = rec.u32_at(128).unwrap_or(0);
                let payload = items.get(IT_PAYLOAD).unwrap_or(b"");
                let parsed = if flags & DNSF_PACKET != 0 && proto == Protocol::Tcp {
                    dns::parse_segment(payload, transferred)
                } else {
                    dns::parse(payload, (proto == Protocol::Tcp).then_some(transferred))
                };
                let Some(msg) = parsed else {
                    return Ok(None);
                };
                if flags & DNSF_UNATTRIBUTED != 0 {
                    // a socket connected before the sensor: its holder, from /proc
                    // (pid 0 when no process holds it any more)
                    process.start_ns = None;
                    process.loginuid = None;
                    if let Some(o) = self.owners.owner(rec.u64_at(136).unwrap_or(0)) {
                        process.pid = o.pid;
                        process.tid = o.pid;
                        process.ppid = o.ppid;
                        process.comm = o.comm;
                        process.uid = o.uid;
                        process.euid = o.euid;
                        process.gid = o.gid;
                        process.egid = o.egid;
                    }
                }
                syscall = "dns".into();
                result = None;
                EventData::Dns {
                    direction: if dir == 2 {
                        DnsDirection::Response
                    } else {
                        DnsDirection::Query
                    },
                    protocol: proto,
                    server: sockaddr(family, raddr, rport, None)
                        .unwrap_or(SockAddr::Other { number: family }),
                    id: msg.id,
                    query: msg.query,
                    qtype: dns::rtype_name(msg.qtype),
                    rcode: msg.response.then(|| dns::rcode_name(msg.rcode)),
                    answers: msg.answers,
                }
            }
            EV_SYSCALL => self.syscall(&h, &items, rec, &a),
            k => return Err(DecodeError::UnknownKind(k)),
        };
        self.seq += 1;
        Ok(Some(Event {
            schema: SCHEMA_VERSION,
            seq: self.seq,
            time_ns: (h.ts_ns as i128 + self.boot_offset).max(0) as u64,
            source: "bpf".into(),
            syscall,
            errno: result.and_then(names::errno_name),
            result,
            process,
            container: None,
            data,
        }))
    }

    fn joined(
        &mut self,
        h: &Header,
        items: &Items<'_>,
        str_tag: u16,
        base_tag: u16,
        follow: bool,
    ) -> FilePath {
        self.resolver.joined(
            items.get(str_tag).unwrap_or(b""),
            items.path(base_tag),
            items.path(IT_ROOT),
            h.mntns,
            follow,
        )
    }

    fn fd_path(&mut self, h: &Header, items: &Items<'_>) -> FilePath {
        match items.path(IT_PATH) {
            Some(p) => self.resolver.kernel(p, h.mntns, None),
            None => FilePath::raw(""),
        }
    }

    fn file(
        &mut self,
        h: &Header,
        items: &Items<'_>,
        a: &dyn Fn(usize) -> u64,
    ) -> Option<EventData> {
        const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
        const AT_REMOVEDIR: u64 = 0x200;
        const AT_SYMLINK_FOLLOW: u64 = 0x400;
        let data = match h.nr {
            87 | 84 | 263 => EventData::Unlink {
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, false),
                directory: h.nr == 84 || (h.nr == 263 && a(2) & AT_REMOVEDIR != 0),
            },
            82 | 264 | 316 => EventData::Rename {
                from: self.joined(h, items, IT_STR_A, IT_BASE_A, false),
                to: self.joined(h, items, IT_STR_B, IT_BASE_B, false),
                flags: if h.nr == 316 { a(4) as u32 } else { 0 },
            },
            90 => EventData::Chmod {
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, true),
                mode: a(1) as u32,
            },
            91 => EventData::Chmod {
                path: self.fd_path(h, items),
                mode: a(1) as u32,
            },
            268 | 452 => EventData::Chmod {
                path: self.joined(
                    h,
                    items,
                    IT_STR_A,
                    IT_BASE_A,
                    !(h.nr == 452 && a(3) & AT_SYMLINK_NOFOLLOW != 0),
                ),
                mode: a(2) as u32,
            },
            92 | 94 => EventData::Chown {
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, h.nr == 92),
                uid: a(1) as u32,
                gid: a(2) as u32,
            },
            93 => EventData::Chown {
                path: self.fd_path(h, items),
                uid: a(1) as u32,
                gid: a(2) as u32,
            },
            260 => EventData::Chown {
                path: self.joined(
                    h,
                    items,
                    IT_STR_A,
                    IT_BASE_A,
                    a(4) & AT_SYMLINK_NOFOLLOW == 0,
                ),
                uid: a(2) as u32,
                gid: a(3) as u32,
            },
            86 | 265 => EventData::Link {
                target: self.joined(
                    h,
                    items,
                    IT_STR_A,
                    IT_BASE_A,
                    h.nr == 265 && a(4) & AT_SYMLINK_FOLLOW != 0,
                ),
                path: self.joined(h, items, IT_STR_B, IT_BASE_B, false),
            },
            88 | 266 => EventData::Symlink {
                target: s(items.get(IT_STR_B).unwrap_or(b"")),
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, false),
            },
            83 => EventData::Mkdir {
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, false),
                mode: a(1) as u32,
            },
            258 => EventData::Mkdir {
                path: self.joined(h, items, IT_STR_A, IT_BASE_A, false),
                mode: a(2) as u32,
            },
            _ => return None,
        };
        let paths: Vec<&FilePath> = match &data {
            EventData::Unlink { path, .. }
            | EventData::Chmod { path, .. }
            | EventData::Chown { path, .. }
            | EventData::Symlink { path, .. }
            | EventData::Mkdir { path, .. } => vec![path],
            EventData::Rename { from, to, .. } => vec![from, to],
            EventData::Link { target, path } => vec![target, path],
            _ => vec![],
        };
        if !paths.is_empty() && paths.iter().all(|p| self.ignored(p)) {
            return None;
        }
        Some(data)
    }

    fn syscall(
        &mut self,
        h: &Header,
        items: &Items<'_>,
        rec: &[u8],
        a: &dyn Fn(usize) -> u64,
    ) -> EventData {
        let extra = |i: usize| rec.u32_at(184 + 4 * i).unwrap_or(0);
        let id = |i: usize| opt_id(a(i));
        let none = EventData::SetId {
            uid: None,
            euid: None,
            suid: None,
            fsuid: None,
            gid: None,
            egid: None,
            sgid: None,
            fsgid: None,
        };
        match h.nr {
            105 | 106 | 113 | 114 | 117 | 119 | 122 | 123 => {
                let EventData::SetId {
                    mut uid,
                    mut euid,
                    mut suid,
                    mut fsuid,
                    mut gid,
                    mut egid,
                    mut sgid,
                    mut fsgid,
                } = none
                else {
                    return none;
                };
                match h.nr {
                    105 => uid = id(0),
                    106 => gid = id(0),
                    113 => (uid, euid) = (id(0), id(1)),
                    114 => (gid, egid) = (id(0), id(1)),
                    117 => (uid, euid, suid) = (id(0), id(1), id(2)),
                    119 => (gid, egid, sgid) = (id(0), id(1), id(2)),
                    122 => fsuid = id(0),
                    _ => fsgid = id(0),
                }
                EventData::SetId {
                    uid,
                    euid,
                    suid,
                    fsuid,
                    gid,
                    egid,
                    sgid,
                    fsgid,
                }
            }
            126 => EventData::Capset {
                target_pid: extra(0) as i32,
                effective: extra(1) as u64 | (extra(4) as u64) << 32,
                permitted: extra(2) as u64 | (extra(5) as u64) << 32,
                inheritable: extra(3) as u64 | (extra(6) as u64) << 32,
            },
            101 => EventData::Ptrace {
                request: a(0) as i64,
                request_name: names::ptrace_request_name(a(0) as i64),
                target_pid: a(1) as i32,
            },
            175 => EventData::Module {
                op: ModuleOp::Load,
                name: None,
                path: None,
            },
            313 => EventData::Module {
                op: ModuleOp::Load,
                name: None,
                path: items
                    .path(IT_PATH)
                    .map(|p| self.resolver.kernel(p, h.mntns, None)),
            },
            176 => EventData::Module {
                op: ModuleOp::Delete,
                name: items.get(IT_STR_A).map(s),
                path: None,
            },
            165 => EventData::Mount {
                source: s(items.get(IT_STR_A).unwrap_or(b"")),
                target: self.joined(h, items, IT_STR_B, IT_BASE_B, true),
                fstype: s(items.get(IT_STR_C).unwrap_or(b"")),
                flags: a(3),
            },
            166 => EventData::Umount {
                target: self.joined(h, items, IT_STR_A, IT_BASE_A, true),
                flags: a(1) as u32,
            },
            272 => EventData::Unshare {
                flags: a(0),
                namespaces: names::namespaces(a(0)),
            },
            308 => EventData::Setns {
                fd: a(0) as i32,
                nstype: a(1),
                namespaces: names::namespaces(a(1)),
            },
            319 => EventData::MemfdCreate {
                name: s(items.get(IT_STR_A).unwrap_or(b"")),
                flags: a(1) as u32,
            },
            321 => EventData::Bpf {
                cmd: a(0) as i32,
                cmd_name: names::bpf_cmd_name(a(0) as i32),
            },
            234 => EventData::Kill {
                target_pid: a(1) as i32,
                signal: a(2) as i32,
                signal_name: names::signal_name(a(2) as i32),
            },
            _ => EventData::Kill {
                target_pid: a(0) as i32,
                signal: a(1) as i32,
                signal_name: names::signal_name(a(1) as i32),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, nr: u32, fixed: usize, ret: i64) -> Vec<u8> {
        let mut r = vec![0u8; fixed];
        r[16..24].copy_from_slice(&ret.to_le_bytes());
        r[32..36].copy_from_slice(&kind.to_le_bytes());
        r[40..44].copy_from_slice(&7u32.to_le_bytes());
        r[52..56].copy_from_slice(&u32::MAX.to_le_bytes());
        r[76..80].copy_from_slice(&nr.to_le_bytes());
        r[80..84].copy_from_slice(b"test");
        r
    }

    fn item(r: &mut Vec<u8>, tag: u16, payload: &[u8]) {
        r.extend_from_slice(&tag.to_le_bytes());
        r.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        r.extend_from_slice(payload);
    }

    #[test]
    fn short_and_unknown_records_are_errors_not_panics() {
        let mut d = Decoder::new(1);
        assert!(matches!(d.decode(&[0; 10]), Err(DecodeError::Short { .. })));
        let r = record(99, 0, HDR_SIZE, 0);
        assert_eq!(d.decode(&r), Err(DecodeError::UnknownKind(99)));
        let r = record(EV_EXEC, 59, HDR_SIZE + 4, 0);
        assert!(matches!(
            d.decode(&r),
            Err(DecodeError::Short { kind: 1, .. })
        ));
        for n in 0..SYSCALL_SIZE {
            let r = record(EV_SYSCALL, 62, SYSCALL_SIZE, 0);
            let _ = d.decode(&r[..n]);
        }
    }

    /// A port-53 packet record as the cgroup_skb programs write it.
    fn dns_packet(flags: u32, typ: u16, dir: u32, payload: &[u8], segment: u32) -> Vec<u8> {
        let mut r = record(EV_DNS, u32::MAX, DNS_SIZE, 0);
        r[96..98].copy_from_slice(&2u16.to_le_bytes()); // AF_INET
        r[98..100].copy_from_slice(&typ.to_le_bytes());
        r[100..102].copy_from_slice(&40000u16.to_le_bytes());
        r[102..104].copy_from_slice(&53u16.to_le_bytes());
        r[104..108].copy_from_slice(&[10, 0, 0, 53]);
        r[120..124].copy_from_slice(&dir.to_le_bytes());
        r[124..128].copy_from_slice(&segment.to_le_bytes());
        r[128..132].copy_from_slice(&flags.to_le_bytes());
        item(&mut r, IT_PAYLOAD, payload);
        r
    }

    fn query() -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x04test\x07example\x00\x00\x1c\x00\x01");
        q
    }

    #[test]
    fn dns_packets_decode_with_and_without_an_owner() {
        let mut d = Decoder::new(1);
        // a UDP query from an owned socket: the header's process
        let r = dns_packet(DNSF_PACKET, 2, 1, &query(), query().len() as u32);
        let e = d.decode(&r).unwrap().unwrap();
        assert_eq!((e.syscall.as_str(), e.result), ("dns", None));
        assert_eq!((e.process.pid, e.process.comm.as_str()), (7, "test"));
        let EventData::Dns {
            direction,
            protocol,
            server,
            id,
            query: name,
            qtype,
            ..
        } = &e.data
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            (*direction, *protocol, *id, name.as_str(), qtype.as_str()),
            (
                DnsDirection::Query,
                Protocol::Udp,
                0xabcd,
                "test.example",
                "AAAA"
            )
        );
        assert_eq!(server.port(), Some(53));
        // a TCP segment with its length prefix, from a socket nobody holds any more
        // (inode 0): no process, but the event
        let mut seg = (query().len() as u16).to_be_bytes().to_vec();
        seg.extend_from_slice(&query());
        let mut r2 = dns_packet(
            DNSF_PACKET | DNSF_UNATTRIBUTED,
            1,
            1,
            &seg,
            seg.len() as u32,
        );
        r2[40..44].copy_from_slice(&0u32.to_le_bytes());
        r2[80..96].fill(0);
        let e = d.decode(&r2).unwrap().unwrap();
        assert_eq!((e.process.pid, e.process.comm.as_str()), (0, ""));
        assert!(
            matches!(&e.data, EventData::Dns { query, protocol: Protocol::Tcp, .. } if query == "test.example")
        );
        // not DNS, or cut anywhere: filtered or an error, never a panic
        let r = dns_packet(DNSF_PACKET, 1, 2, b"HTTP/1.1 200 OK\r\n", 17);
        assert_eq!(d.decode(&r), Ok(None));
        let r = dns_packet(DNSF_PACKET, 1, 2, &seg, seg.len() as u32);
        for n in 0..r.len() {
            let _ = d.decode(&r[..n]);
        }
    }

    #[test]
    fn kill_record_decodes_with_names_and_errno() {
        let mut d = Decoder::new(1);
        let mut r = record(EV_SYSCALL, 62, SYSCALL_SIZE, -3);
        r[96..104].copy_from_slice(&4242u64.to_le_bytes());
        r[104..112].copy_from_slice(&9u64.to_le_bytes());
        let e = d.decode(&r).unwrap().unwrap();
        assert_eq!(e.syscall, "kill");
        assert_eq!(e.errno.as_deref(), Some("ESRCH"));
        assert_eq!(e.process.loginuid, None);
        assert_eq!(e.process.comm, "test");
        assert_eq!(
            e.data,
            EventData::Kill {
                target_pid: 4242,
                signal: 9,
                signal_name: "SIGKILL".into()
            }
        );
    }

    #[test]
    fn symlink_target_is_kept_verbatim() {
        let mut d = Decoder::new(1);
        let mut r = record(EV_FILE, 88, FILE_SIZE, 0);
        item(&mut r, IT_STR_A, b"/tmp/garrison-no-such-dir/l");
        item(&mut r, IT_STR_B, b"../../etc/shadow");
        let e = d.decode(&r).unwrap().unwrap();
        let EventData::Symlink { target, path } = e.data else {
            panic!("{:?}", e.data)
        };
        assert_eq!(target, "../../etc/shadow");
        assert_eq!(path.path, "/tmp/garrison-no-such-dir/l");
    }

    #[test]
    fn stdio_and_tty_encodings() {
        assert_eq!(fd_type(0o140777), FdType::Socket);
        assert_eq!(fd_type(0o020620), FdType::CharDevice);
        assert_eq!(fd_type(0o600), FdType::Anon);
        assert_eq!(fd_type(0), FdType::None);
        // /dev/pts/3: major 136, minor 3
        assert_eq!(tty_nr(136, 3), 34819);
    }
}
