//! The interface every event source implements: the eBPF sensor and the degraded
//! sources alike, so the agent and the tests drive them the same way.

use crate::{Event, EventKind, Interest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The mechanism a source uses, as `garrison agent status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// eBPF programs on tracepoints / BTF tracepoints, events through a ring buffer.
    Bpf,
    /// The netlink proc connector (exec, fork, exit, id changes).
    ProcConnector,
    /// fanotify (file opens, modifications, creations).
    Fanotify,
    /// Periodic scans of /proc (process starts and exits only, may miss short-lived ones).
    ProcPoll,
}

/// What a source is and how well it sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Short name (`bpf`, `proc-connector`, ...), the `source` field of its events.
    pub name: String,
    /// The mechanisms in use.
    pub mechanisms: Vec<Mechanism>,
    /// True for anything less than the full eBPF sensor: some kinds or fields are
    /// missing, and `reason` says why this source was chosen.
    pub degraded: bool,
    /// Why this source (e.g. "BPF unavailable: bpf(BPF_PROG_LOAD) failed with EPERM").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The kinds this source can produce.
    pub kinds: Vec<EventKind>,
    /// Per-kind remarks on how (or whether) an asked-for kind is watched under the
    /// interest in force: a kind left unwatched because watching it would slow
    /// every syscall, or one watched at that cost. The agent prints them at start
    /// and `garrison agent status` shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<KindNote>,
}

/// How one kind is watched, when that needs saying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindNote {
    /// The kind.
    pub kind: EventKind,
    /// Whether every syscall of the kind is traced (false: some or all of them
    /// are left out, and `reason` says which).
    pub watched: bool,
    /// Why, in a sentence (what it would cost, how to ask for it).
    pub reason: String,
}

/// Counters for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStats {
    /// Events delivered to user space.
    pub delivered: u64,
    /// Events lost (ring buffer full, queue overflow) — never silently.
    pub lost: u64,
}

/// A source's counters since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// Per kind.
    pub kinds: BTreeMap<EventKind, KindStats>,
    /// Losses the source cannot attribute to a kind (e.g. fanotify queue overflow).
    pub lost_unattributed: u64,
    /// Events that could not be decoded (truncated or malformed records).
    pub decode_errors: u64,
}

impl SourceStats {
    /// All events delivered.
    pub fn delivered(&self) -> u64 {
        self.kinds.values().map(|k| k.delivered).sum()
    }

    /// All events lost.
    pub fn lost(&self) -> u64 {
        self.kinds.values().map(|k| k.lost).sum::<u64>() + self.lost_unattributed
    }
}

/// A failure of an event source, naming the operation.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source cannot start on this host (missing privileges, kernel support).
    #[error("{source_name}: cannot start: {operation}: {detail}")]
    Unavailable {
        /// The source.
        source_name: String,
        /// What failed (e.g. "load program tp/syscalls/sys_enter_openat").
        operation: String,
        /// The error, with what to do next when known.
        detail: String,
    },
    /// A running source failed.
    #[error("{source_name}: {operation}: {detail}")]
    Failed {
        /// The source.
        source_name: String,
        /// What failed.
        operation: String,
        /// The error.
        detail: String,
    },
    /// The interest cannot be applied.
    #[error("{source_name}: cannot apply the interest: {0}", source_name = .1)]
    Interest(#[source] crate::InterestError, String),
}

/// A stream of events from the kernel (or a degraded stand-in).
pub trait EventSource: Send {
    /// What this source is.
    fn info(&self) -> SourceInfo;

    /// Applies an interest atomically; events already queued may still arrive.
    fn set_interest(&mut self, interest: &Interest) -> Result<(), SourceError>;

    /// Waits up to `timeout` for events and hands each to `sink`; returns how many
    /// were delivered. Returns `Ok(0)` on timeout.
    fn poll(
        &mut self,
        timeout: Duration,
        sink: &mut dyn FnMut(Event),
    ) -> Result<usize, SourceError>;

    /// Counters since start.
    fn stats(&self) -> SourceStats;
}
