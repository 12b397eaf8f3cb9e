//! The runtime event schema of Garrison: the events sensors emit and detectors read,
//! the `EventSource` interface every sensor implements, and the `Interest` a detector
//! programs into a sensor so that only useful events leave the kernel.
//!
//! The schema is versioned ([`SCHEMA_VERSION`]) and documented field by field in
//! `docs/events.md`. Changes that remove or retype a field bump the version; adding
//! an optional field does not.
//!
//! Data flow: a sensor (`garrison-sensor` over eBPF, or `garrison-sensor-degraded`)
//! produces [`Event`]s with the kernel's view filled in ([`Process`] ids, credentials,
//! cgroup id, the kind-specific [`EventData`]); the enricher (`garrison-enricher`)
//! fills the user-space view (names, ancestry, container, pod); the agent prints or
//! hands them to detectors.

mod data;
mod interest;
mod source;

pub use data::*;
pub use interest::{
    Interest, InterestError, DEFAULT_IGNORE_PREFIXES, DEFAULT_READ_PREFIXES, MAX_IGNORED_PIDS,
    MAX_PREFIXES, MAX_PREFIX_LEN,
};
pub use source::{
    EventSource, KindNote, KindStats, Mechanism, SourceError, SourceInfo, SourceStats,
};

use serde::{Deserialize, Serialize};

/// Version of the event schema carried by every event (`"schema"`).
pub const SCHEMA_VERSION: u32 = 1;

/// One thing that happened on the host, as a sensor saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Per-source sequence number, increasing; gaps never mean loss (see stats).
    pub seq: u64,
    /// Wall-clock time of the event, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The source that produced it: `bpf`, `proc-connector`, `fanotify`, `proc-poll`.
    pub source: String,
    /// The syscall (or kernel event) name, as Falco's `evt.type` uses it:
    /// `execve`, `execveat`, `openat`, `unlinkat`, `connect`, ... ; `clone`/`fork` for
    /// process creation, `procexit` for exit, `dns` for parsed DNS payloads.
    pub syscall: String,
    /// The syscall's return value: `>= 0` on success, `-errno` on failure. `None` for
    /// events that are not a syscall's outcome (process exit, a DNS answer, a
    /// process found by polling).
    pub result: Option<i64>,
    /// The errno name when `result` is negative (`EACCES`, `ENOENT`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// The process (thread) that made the call.
    #[serde(serialize_with = "data::process_json")]
    pub process: Process,
    /// The container the process runs in, when it runs in one (filled by the enricher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// What happened: one variant per event kind, tagged by `"type"`.
    pub data: EventData,
}

impl Event {
    /// The coarse kind of this event (what `--events` selects).
    pub fn kind(&self) -> EventKind {
        self.data.kind()
    }

    /// Whether the call failed (a negative result).
    pub fn failed(&self) -> bool {
        matches!(self.result, Some(r) if r < 0)
    }

    /// The NDJSON line for the agent's stream: `{"kind":"event", ...the event}`.
    pub fn to_ndjson(&self) -> serde_json::Result<String> {
        let mut buf = Vec::with_capacity(1024);
        self.write_ndjson(&mut buf)?;
        String::from_utf8(buf).map_err(serde::ser::Error::custom)
    }

    /// Appends the NDJSON line (without the newline) to `buf`: what
    /// [`Event::to_ndjson`] returns, with the ancestor chain's text rendered once
    /// per chain (see [`Ancestors`]) rather than once per event, and the process
    /// object's text reused while the thread's process context is unchanged (a
    /// small per-thread cache keyed by tid: most events of a storm come from a
    /// few threads whose context does not change between events).
    pub fn write_ndjson(&self, buf: &mut Vec<u8>) -> serde_json::Result<()> {
        let _raw = data::RawJsonScope::enter();
        serde_json::to_writer(buf, &EventLine::new(self))
    }
}

/// The stream wrapper: every line of the agent's JSON stream carries `"kind"`
/// (`"event"` here; the detection engine adds `"alert"` lines).
#[derive(Debug, Serialize)]
pub struct EventLine<'a> {
    /// Always `"event"`.
    pub kind: &'static str,
    /// The event, flattened into the same object.
    #[serde(flatten)]
    pub event: &'a Event,
}

impl<'a> EventLine<'a> {
    /// Wraps an event for the stream.
    pub fn new(event: &'a Event) -> Self {
        EventLine {
            kind: "event",
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_event() -> Event {
        Event {
            schema: SCHEMA_VERSION,
            seq: 7,
            time_ns: 1_700_000_000_000_000_000,
            source: "bpf".into(),
            syscall: "execve".into(),
            result: Some(0),
            errno: None,
            process: Process {
                pid: 42,
                tid: 42,
                ppid: 1,
                comm: "sh".into(),
                uid: 1000,
                euid: 1000,
                gid: 1000,
                egid: 1000,
                loginuid: Some(1000),
                cgroup_id: 1,
                ..Process::default()
            },
            container: None,
            data: EventData::Exec {
                filename: FilePath {
                    path: "/usr/bin/dash".into(),
                    host_path: None,
                    resolution: Resolution::Kernel,
                    raw: Some("/bin/sh".into()),
                },
                argv: vec!["sh".into(), "-c".into(), "id".into()],
                argv_truncated: false,
                exe_dev: 0xfd01,
                exe_ino: 1234,
                exe_memfd: false,
                exe_deleted: false,
                exe_upper_layer: false,
                stdio: [FdType::Socket, FdType::Socket, FdType::CharDevice],
            },
        }
    }

    #[test]
    fn ndjson_line_is_tagged_and_round_trips() {
        let event = exec_event();
        let line = event.to_ndjson().unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["kind"], "event");
        assert_eq!(value["schema"], 1);
        assert_eq!(value["data"]["type"], "exec");
        assert_eq!(value["data"]["stdio"][0], "socket");
        assert_eq!(value["data"]["filename"]["resolution"], "kernel");
        assert_eq!(value["process"]["loginuid"], 1000);
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.kind(), EventKind::Exec);
        assert!(!back.failed());
    }

    #[test]
    fn the_stream_line_renders_a_shared_chain_once_and_the_same_as_plain_json() {
        let mut event = exec_event();
        event.process.ancestors = vec![
            Ancestor {
                pid: 1,
                name: "init".into(),
                exe: Some("/sbin/init".into()),
                args: vec!["/sbin/init".into(), "quote\"back\\slash\ttab".into()],
            },
            Ancestor {
                pid: 9,
                name: "sshd".into(),
                ..Ancestor::default()
            },
        ]
        .into();
        let plain = serde_json::to_string(&EventLine::new(&event)).unwrap();
        assert!(plain.contains("quote\\\"back"), "{plain}");
        let line = event.to_ndjson().unwrap();
        assert_eq!(line, plain);
        // A second event sharing the chain gets the same text (rendered once).
        let mut second = event.clone();
        second.seq = 8;
        assert!(Ancestors::ptr_eq(
            &event.process.ancestors,
            &second.process.ancestors
        ));
        let mut buf = Vec::new();
        second.write_ndjson(&mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            serde_json::to_string(&EventLine::new(&second)).unwrap()
        );
        // Changing the list through one event leaves the other's, and the text
        // follows the change.
        second.process.ancestors[0].name = "systemd".into();
        assert_eq!(event.process.ancestors[0].name, "init");
        let changed = second.to_ndjson().unwrap();
        assert!(changed.contains(r#""name":"systemd""#), "{changed}");
        assert_eq!(event.to_ndjson().unwrap(), plain);
        // Outside the stream writer, the chain serializes as usual.
        let v = serde_json::to_value(&second).unwrap();
        assert_eq!(v["process"]["ancestors"][0]["name"], "systemd");
        assert_eq!(v["process"]["ancestors"][1]["pid"], 9);
        let back: Event = serde_json::from_str(&changed).unwrap();
        assert_eq!(back, second);
        second.process.ancestors.truncate(1);
        assert_eq!(second.process.ancestors.len(), 1);
    }

    #[test]
    fn the_stream_line_follows_every_change_of_a_threads_process_context() {
        let first = exec_event();
        let plain = |e: &Event| serde_json::to_string(&EventLine::new(e)).unwrap();
        assert_eq!(first.to_ndjson().unwrap(), plain(&first));
        // The same thread, each field changed in turn (a setuid, a chdir, a new
        // comm, a reparent): each line says what the event says.
        type Change = Box<dyn Fn(&mut Process)>;
        let mut changes: Vec<Change> = vec![
            Box::new(|p| p.euid = 0),
            Box::new(|p| p.cwd = Some("/tmp".into())),
            Box::new(|p| p.comm = "kworker".into()),
            Box::new(|p| p.ppid = 77),
            Box::new(|p| p.args.push("-x".into())),
            Box::new(|p| {
                p.ancestors = vec![Ancestor {
                    pid: 77,
                    name: "tmux".into(),
                    ..Ancestor::default()
                }]
                .into()
            }),
        ];
        let mut ev = first.clone();
        for change in changes.drain(..) {
            change(&mut ev.process);
            ev.seq += 1;
            let line = ev.to_ndjson().unwrap();
            assert_eq!(line, plain(&ev));
            let back: Event = serde_json::from_str(&line).unwrap();
            assert_eq!(back, ev);
        }
        // Back to the first context, and another thread with the first's context.
        assert_eq!(first.to_ndjson().unwrap(), plain(&first));
        let mut other = first.clone();
        other.process.tid = 43;
        assert_eq!(other.to_ndjson().unwrap(), plain(&other));
    }

    #[test]
    fn socket_addresses_carry_their_family() {
        let addr = SockAddr::Inet6 {
            ip: "::1".parse().unwrap(),
            port: 53,
        };
        let json = serde_json::to_value(&addr).unwrap();
        assert_eq!(json["family"], "inet6");
        assert_eq!(json["port"], 53);
        assert_eq!(addr.port(), Some(53));
    }

    #[test]
    fn event_lists_parse_and_reject_unknown_names() {
        assert_eq!(
            EventKind::parse_list("all").unwrap().len(),
            EventKind::ALL.len()
        );
        assert_eq!(
            EventKind::parse_list("exec, open,exec").unwrap(),
            vec![EventKind::Exec, EventKind::Open]
        );
        let err = EventKind::parse_list("exec,opne").unwrap_err().to_string();
        assert!(
            err.contains("opne") && err.contains("memfd_create"),
            "{err}"
        );
        for kind in EventKind::ALL {
            assert_eq!(kind.name().parse::<EventKind>().unwrap(), kind);
            // The `--events` name is the serde tag.
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use super::EventKind;

    #[test]
    fn docs_cover_every_kind() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        for kind in EventKind::ALL {
            let heading = format!("\n### {}\n", kind.name());
            assert!(
                doc.contains(&heading),
                "docs/events.md lacks a `### {kind}` section"
            );
        }
        assert!(doc.contains(&format!("version {}", super::SCHEMA_VERSION)));
    }
}
