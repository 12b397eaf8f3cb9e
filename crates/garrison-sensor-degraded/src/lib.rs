//! The degraded event sources own what Garrison sees when eBPF cannot be used
//! (an old kernel, `--no-bpf`, missing privileges): process events from the
//! netlink proc connector (or, without CAP_NET_ADMIN, from polling /proc) and
//! file writes from fanotify (with CAP_SYS_ADMIN), behind the same
//! [`EventSource`] trait as the eBPF sensor.
//!
//! Every event they produce is marked by its `source` (`proc-connector`,
//! `fanotify`, `proc-poll`), and [`SourceInfo::degraded`] is always true with the
//! reason: what is missing compared with the eBPF sensor is stated, never silent.
//! Syscalls live in `sys.rs`; the parsers are tested without root.

pub mod fanotify;
pub mod proc_connector;
pub mod proc_poll;
pub mod procinfo;
mod sys;

use garrison_event::{
    Event, EventData, EventKind, EventSource, FilePath, Interest, Mechanism, Resolution,
    SourceError, SourceInfo, SourceStats, SCHEMA_VERSION,
};
use procinfo::Procfs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which mechanisms to try, and their settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Try the proc connector (else /proc polling for process events).
    pub proc_connector: bool,
    /// Try fanotify for file events.
    pub fanotify: bool,
    /// Interval of /proc polling.
    pub poll_interval: Duration,
    /// The procfs.
    pub procfs: PathBuf,
    /// The most arguments read per exec.
    pub max_args: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            proc_connector: true,
            fanotify: true,
            poll_interval: Duration::from_millis(100),
            procfs: PathBuf::from("/proc"),
            max_args: 64,
        }
    }
}

enum ProcPart {
    Connector(proc_connector::ProcConnector),
    Poll {
        poll: proc_poll::ProcPoll,
        next: Instant,
    },
}

/// The degraded source: process events plus, when possible, file events.
pub struct DegradedSource {
    procs: ProcPart,
    files: Option<fanotify::Fanotify>,
    file_mask: u64,
    options: Options,
    procfs: Procfs,
    interest: Interest,
    reason: String,
    notes: Vec<String>,
    stats: SourceStats,
    seq: u64,
    own_pid: u32,
    next_remark: Instant,
    buf: Vec<u8>,
}

/// `FAN_CLOSE_WRITE`: a file opened for writing was closed.
const FAN_CLOSE_WRITE: u64 = 0x08;
/// `FAN_OPEN`.
const FAN_OPEN: u64 = 0x20;
/// `FAN_Q_OVERFLOW`.
const FAN_Q_OVERFLOW: u64 = 0x4000;

fn mask_for(interest: &Interest) -> u64 {
    if !interest.wants(EventKind::Open) {
        return 0;
    }
    let mut mask = FAN_CLOSE_WRITE;
    if !interest.read_prefixes.is_empty() {
        mask |= FAN_OPEN;
    }
    mask
}

fn unavailable(operation: &str, err: std::io::Error) -> String {
    let hint = match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            " (run as root: it needs CAP_NET_ADMIN / CAP_SYS_ADMIN)"
        }
        Some(libc::ENOSYS) | Some(libc::EINVAL) => " (not supported by this kernel)",
        _ => "",
    };
    format!("{operation}: {err}{hint}")
}

impl DegradedSource {
    /// Opens the best degraded mechanisms `options` allows. `reason` says why the
    /// eBPF sensor is not used; it opens the status's reason. Never fails for lack
    /// of privileges: /proc polling always works.
    pub fn open(reason: impl Into<String>, options: Options) -> Result<Self, SourceError> {
        let mut notes = Vec::new();
        let procs = if options.proc_connector {
            match proc_connector::ProcConnector::open() {
                Ok(c) => ProcPart::Connector(c),
                Err(e) => {
                    notes.push(format!(
                        "proc connector unavailable ({}); polling /proc every {} ms: short-lived processes are missed",
                        unavailable("netlink", e),
                        options.poll_interval.as_millis()
                    ));
                    ProcPart::Poll {
                        poll: proc_poll::ProcPoll::default(),
                        next: Instant::now(),
                    }
                }
            }
        } else {
            notes.push(format!(
                "polling /proc every {} ms: short-lived processes are missed",
                options.poll_interval.as_millis()
            ));
            ProcPart::Poll {
                poll: proc_poll::ProcPoll::default(),
                next: Instant::now(),
            }
        };
        let mut source = DegradedSource {
            procs,
            files: None,
            file_mask: 0,
            procfs: Procfs::new(&options.procfs),
            options,
            interest: Interest::default(),
            reason: reason.into(),
            notes,
            stats: SourceStats::default(),
            seq: 0,
            own_pid: sys::getpid(),
            next_remark: Instant::now(),
            buf: vec![0u8; 256 * 1024],
        };
        if let ProcPart::Poll { poll, .. } = &mut source.procs {
            // Prime: processes already running are not "started".
            poll.scan(&source.procfs);
        }
        source.apply_file_mask()?;
        Ok(source)
    }

    /// (Re)opens the fanotify group when the interest needs another mask.
    fn apply_file_mask(&mut self) -> Result<(), SourceError> {
        let mask = mask_for(&self.interest);
        if mask == self.file_mask && (self.files.is_some() || mask == 0) {
            return Ok(());
        }
        self.files = None;
        self.file_mask = mask;
        self.notes.retain(|n| !n.starts_with("fanotify"));
        if mask == 0 || !self.options.fanotify {
            if mask != 0 {
                self.notes
                    .push("fanotify disabled: no file events".to_string());
            }
            return Ok(());
        }
        match fanotify::Fanotify::open(mask) {
            Ok(mut f) => {
                let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
                f.mark_filesystems(&mountinfo);
                if f.marked() == 0 {
                    self.notes.push(
                        "fanotify: no filesystem could be marked: no file events".to_string(),
                    );
                } else {
                    self.notes.push(format!(
                        "fanotify: file writes seen at close, without flags, on {} filesystems; no unlink/rename/chmod/chown/link/mkdir",
                        f.marked()
                    ));
                    self.files = Some(f);
                }
            }
            Err(e) => self.notes.push(format!(
                "fanotify unavailable ({}): no file events",
                unavailable("fanotify_init", e)
            )),
        }
        Ok(())
    }

    fn emit(
        &mut self,
        source: &str,
        syscall: &str,
        result: Option<i64>,
        process: garrison_event::Process,
        data: EventData,
        sink: &mut dyn FnMut(Event),
    ) -> bool {
        let kind = data.kind();
        if !self.interest.wants(kind)
            || process.pid == self.own_pid
            || self.interest.ignore_pids.contains(&process.pid)
        {
            return false;
        }
        self.seq += 1;
        let time_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        self.stats.kinds.entry(kind).or_default().delivered += 1;
        sink(Event {
            schema: SCHEMA_VERSION,
            seq: self.seq,
            time_ns,
            source: source.to_string(),
            syscall: syscall.to_string(),
            result,
            errno: None,
            process,
            container: None,
            data,
        });
        true
    }

    fn drain_connector(&mut self, sink: &mut dyn FnMut(Event)) -> Result<usize, SourceError> {
        let mut n = 0;
        let mut buf = std::mem::take(&mut self.buf);
        for _ in 0..4096 {
            let ProcPart::Connector(c) = &self.procs else {
                break;
            };
            let len = match c.read(&mut buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // The socket's queue overflowed: at least one event is lost.
                    self.stats.lost_unattributed += 1;
                    continue;
                }
                Err(e) => {
                    self.buf = buf;
                    return Err(SourceError::Failed {
                        source_name: "proc-connector".into(),
                        operation: "read netlink socket".into(),
                        detail: e.to_string(),
                    });
                }
            };
            let (events, bad) = proc_connector::parse_datagram(buf.get(..len).unwrap_or_default());
            self.stats.decode_errors += bad;
            for ev in events {
                if let Some(t) = proc_connector::translate(ev, &self.procfs, self.options.max_args)
                {
                    if self.emit(
                        "proc-connector",
                        t.syscall,
                        t.result,
                        t.process,
                        t.data,
                        sink,
                    ) {
                        n += 1;
                    }
                }
            }
        }
        self.buf = buf;
        Ok(n)
    }

    fn drain_fanotify(&mut self, sink: &mut dyn FnMut(Event)) -> Result<usize, SourceError> {
        let mut n = 0;
        let mut buf = std::mem::take(&mut self.buf);
        for _ in 0..1024 {
            let Some(f) = &self.files else {
                break;
            };
            let records = match f.read(&mut buf) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    self.buf = buf;
                    return Err(SourceError::Failed {
                        source_name: "fanotify".into(),
                        operation: "read fanotify group".into(),
                        detail: e.to_string(),
                    });
                }
            };
            for rec in records {
                if rec.mask & FAN_Q_OVERFLOW != 0 {
                    self.stats.lost_unattributed += 1;
                    continue;
                }
                // Always take (and close) the fd, even for events we drop.
                let Some(path) = fanotify::take_path(rec.fd) else {
                    continue;
                };
                let pid = u32::try_from(rec.pid).unwrap_or(0);
                let write = rec.mask & FAN_CLOSE_WRITE != 0;
                let wanted = if write {
                    !self.interest.ignores_path(&path)
                } else {
                    self.interest.wants_read(&path)
                };
                if !wanted || pid == self.own_pid {
                    continue;
                }
                let process = self.procfs.process(pid, pid);
                let (syscall, flags, names) = if write {
                    (
                        "fanotify:close_write",
                        libc::O_WRONLY as u32,
                        vec!["O_WRONLY".to_string()],
                    )
                } else {
                    (
                        "fanotify:open",
                        libc::O_RDONLY as u32,
                        vec!["O_RDONLY".to_string()],
                    )
                };
                let data = EventData::Open {
                    path: FilePath {
                        path,
                        host_path: None,
                        resolution: Resolution::Kernel,
                        raw: None,
                    },
                    flags,
                    mode: 0,
                    flag_names: names,
                    created: None,
                };
                if self.emit("fanotify", syscall, Some(0), process, data, sink) {
                    n += 1;
                }
            }
        }
        self.buf = buf;
        Ok(n)
    }

    fn scan_proc(&mut self, sink: &mut dyn FnMut(Event)) -> usize {
        let ProcPart::Poll { poll, next } = &mut self.procs else {
            return 0;
        };
        if Instant::now() < *next {
            return 0;
        }
        *next = Instant::now() + self.options.poll_interval;
        let changes = poll.scan(&self.procfs);
        let mut n = 0;
        for change in changes {
            let (process, data, syscall) = match change {
                proc_poll::Change::Started(pid) => {
                    let Some(t) = proc_connector::translate(
                        proc_connector::ConnEvent::Exec { pid, tgid: pid },
                        &self.procfs,
                        self.options.max_args,
                    ) else {
                        continue;
                    };
                    (t.process, t.data, "execve")
                }
                proc_poll::Change::Exited(pid, status) => (
                    garrison_event::Process {
                        pid,
                        tid: pid,
                        ..Default::default()
                    },
                    exit_data(status),
                    "procexit",
                ),
            };
            // A process found by polling is not a syscall's outcome: no result.
            if self.emit("proc-poll", syscall, None, process, data, sink) {
                n += 1;
            }
        }
        n
    }
}

/// An exit from a `waitpid` status, when the poller saw one (the process was a
/// zombie); code -1 when it was reaped before any scan saw its status.
fn exit_data(status: Option<i32>) -> EventData {
    match status {
        Some(st) => {
            let sig = st & 0x7f;
            EventData::Exit {
                code: (st >> 8) & 0xff,
                signal: (sig != 0).then_some(sig),
                core_dumped: st & 0x80 != 0,
            }
        }
        None => EventData::Exit {
            code: -1,
            signal: None,
            core_dumped: false,
        },
    }
}

impl EventSource for DegradedSource {
    fn info(&self) -> SourceInfo {
        let mut mechanisms = Vec::new();
        let mut kinds = Vec::new();
        match &self.procs {
            ProcPart::Connector(_) => {
                mechanisms.push(Mechanism::ProcConnector);
                kinds.extend([
                    EventKind::Exec,
                    EventKind::Fork,
                    EventKind::Exit,
                    EventKind::SetId,
                ]);
            }
            ProcPart::Poll { .. } => {
                mechanisms.push(Mechanism::ProcPoll);
                kinds.extend([EventKind::Exec, EventKind::Exit]);
            }
        }
        if self.files.is_some() {
            mechanisms.push(Mechanism::Fanotify);
            kinds.push(EventKind::Open);
        }
        let mut reason = self.reason.clone();
        for note in &self.notes {
            reason.push_str("; ");
            reason.push_str(note);
        }
        SourceInfo {
            name: "degraded".to_string(),
            mechanisms,
            degraded: true,
            reason: Some(reason),
            kinds,
            notes: Vec::new(),
        }
    }

    fn set_interest(&mut self, interest: &Interest) -> Result<(), SourceError> {
        interest
            .validate()
            .map_err(|e| SourceError::Interest(e, "degraded".to_string()))?;
        self.interest = interest.clone();
        self.apply_file_mask()
    }

    fn poll(
        &mut self,
        timeout: Duration,
        sink: &mut dyn FnMut(Event),
    ) -> Result<usize, SourceError> {
        let mut wait = timeout;
        if let ProcPart::Poll { next, .. } = &self.procs {
            wait = wait.min(next.saturating_duration_since(Instant::now()));
        }
        if let Some(f) = &mut self.files {
            if Instant::now() >= self.next_remark {
                // Containers started since bring new filesystems (overlays).
                let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
                f.mark_filesystems(&mountinfo);
                self.next_remark = Instant::now() + Duration::from_secs(2);
            }
        }
        let conn_fd = match &self.procs {
            ProcPart::Connector(c) => Some(c.raw_fd()),
            ProcPart::Poll { .. } => None,
        };
        let fan_fd = self.files.as_ref().map(|f| f.raw_fd());
        let fds: Vec<i32> = conn_fd.into_iter().chain(fan_fd).collect();
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        sys::poll_readable(&fds, ms).map_err(|e| SourceError::Failed {
            source_name: "degraded".into(),
            operation: "poll".into(),
            detail: e.to_string(),
        })?;
        let mut n = 0;
        if conn_fd.is_some() {
            n += self.drain_connector(sink)?;
        }
        if fan_fd.is_some() {
            n += self.drain_fanotify(sink)?;
        }
        n += self.scan_proc(sink);
        Ok(n)
    }

    fn stats(&self) -> SourceStats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod exit_tests {
    use super::*;

    #[test]
    fn wait_status_becomes_code_or_signal() {
        assert_eq!(
            exit_data(Some(3 << 8)),
            EventData::Exit {
                code: 3,
                signal: None,
                core_dumped: false
            }
        );
        assert_eq!(
            exit_data(Some(9)),
            EventData::Exit {
                code: 0,
                signal: Some(9),
                core_dumped: false
            }
        );
        assert_eq!(
            exit_data(Some(11 | 0x80)),
            EventData::Exit {
                code: 0,
                signal: Some(11),
                core_dumped: true
            }
        );
        assert!(matches!(exit_data(None), EventData::Exit { code: -1, .. }));
    }
}
