//! What a detector wants to see: the interface that programs a sensor's in-kernel
//! filters, so that only events some detector can use cross into user space.
//!
//! The detection engine builds an [`Interest`] from its loaded rules and hands it to
//! [`EventSource::set_interest`](crate::EventSource::set_interest); a sensor applies
//! it atomically (kernel maps for the BPF sensor, its own filter for degraded ones).
//! Sensors may deliver *more* than asked (a degraded source cannot filter opens by
//! path before it sees them), never less.

use crate::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The most path prefixes one interest may hold (the kernel map's size).
pub const MAX_PREFIXES: usize = 64;
/// The longest path prefix, in bytes (the kernel key's size).
pub const MAX_PREFIX_LEN: usize = 128;
/// The most pids one interest may ignore.
pub const MAX_IGNORED_PIDS: usize = 64;

/// What leaves the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interest {
    /// Kinds to deliver. A kind not listed is dropped in the kernel (its tracepoints
    /// may stay attached; they return at once).
    pub kinds: BTreeSet<EventKind>,
    /// Opens without write, create or truncate intent are delivered only when their
    /// canonical path starts with one of these prefixes (byte-wise, so `/etc/shadow`
    /// also matches `/etc/shadow-`). Empty: no read-only open is delivered.
    /// Write-intent opens are always delivered while [`EventKind::Open`] is on.
    pub read_prefixes: Vec<String>,
    /// Write-intent opens, unlinks, renames, chmods, chowns, links and mkdirs whose
    /// canonical path starts with one of these prefixes are dropped (pseudo
    /// filesystems that churn: `/proc/`, `/sys/fs/cgroup/`, ...).
    pub ignore_prefixes: Vec<String>,
    /// Thread-group ids whose events are dropped (the agent's own pid goes here so
    /// that its output does not feed back into itself).
    pub ignore_pids: Vec<u32>,
    /// Kinds to watch even where the host can see them only by hooking *every*
    /// syscall (the BPF sensor's `raw_syscalls` programs, for syscalls without a
    /// tracepoint of their own: on kernels built without module support,
    /// `init_module`, `finit_module` and `delete_module`), which costs every
    /// syscall of every process a few hundred nanoseconds. A kind in [`kinds`]
    /// but not here is left unwatched on such a host, and the source says so in
    /// [`SourceInfo::notes`](crate::SourceInfo::notes). Put a kind here when it
    /// was asked for by name (`--events module`, a rule that needs it), not for a
    /// blanket "everything".
    ///
    /// [`kinds`]: Interest::kinds
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub costly_ok: BTreeSet<EventKind>,
}

/// An interest that a sensor cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterestError {
    /// Too many prefixes for the kernel map.
    #[error("{list} holds {count} prefixes; at most {MAX_PREFIXES} fit the kernel map")]
    TooManyPrefixes {
        /// `read_prefixes` or `ignore_prefixes`.
        list: &'static str,
        /// How many were given.
        count: usize,
    },
    /// A prefix too long for the kernel key, or not absolute.
    #[error("{list} entry {prefix:?}: {reason}")]
    BadPrefix {
        /// `read_prefixes` or `ignore_prefixes`.
        list: &'static str,
        /// The prefix.
        prefix: String,
        /// Why it is refused.
        reason: String,
    },
    /// Too many ignored pids.
    #[error("ignore_pids holds {0} pids; at most {MAX_IGNORED_PIDS}")]
    TooManyPids(usize),
}

impl Interest {
    /// Everything: every kind, every read-only open.
    pub fn everything() -> Self {
        Interest {
            kinds: EventKind::ALL.into_iter().collect(),
            read_prefixes: vec!["/".to_string()],
            ignore_prefixes: Vec::new(),
            ignore_pids: Vec::new(),
            costly_ok: BTreeSet::new(),
        }
    }

    /// The given kinds, with the default read-only-open prefixes (files whose mere
    /// reading matters: credentials, keys, sudoers) and the default ignored
    /// pseudo-filesystem prefixes.
    pub fn kinds(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        Interest {
            kinds: kinds.into_iter().collect(),
            read_prefixes: DEFAULT_READ_PREFIXES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ignore_prefixes: DEFAULT_IGNORE_PREFIXES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ignore_pids: Vec::new(),
            costly_ok: BTreeSet::new(),
        }
    }

    /// Marks `kinds` as asked for by name: watched even where that costs every
    /// syscall on the host (see [`Interest::costly_ok`]). Kinds not in
    /// [`Interest::kinds`] are added there too.
    pub fn insist_on(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        for kind in kinds {
            self.kinds.insert(kind);
            self.costly_ok.insert(kind);
        }
        self
    }

    /// Whether a kind is delivered.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Whether a read-only open of `path` is delivered.
    pub fn wants_read(&self, path: &str) -> bool {
        self.wants(EventKind::Open) && self.read_prefixes.iter().any(|p| path.starts_with(p))
    }

    /// Whether a change to `path` is dropped as noise.
    pub fn ignores_path(&self, path: &str) -> bool {
        self.ignore_prefixes.iter().any(|p| path.starts_with(p))
    }

    /// Checks the interest fits a sensor's kernel maps.
    pub fn validate(&self) -> Result<(), InterestError> {
        for (list, prefixes) in [
            ("read_prefixes", &self.read_prefixes),
            ("ignore_prefixes", &self.ignore_prefixes),
        ] {
            if prefixes.len() > MAX_PREFIXES {
                return Err(InterestError::TooManyPrefixes {
                    list,
                    count: prefixes.len(),
                });
            }
            for prefix in prefixes {
                let reason = if !prefix.starts_with('/') {
                    Some("a prefix must be an absolute path".to_string())
                } else if prefix.len() > MAX_PREFIX_LEN {
                    Some(format!("longer than {MAX_PREFIX_LEN} bytes"))
                } else if prefix.as_bytes().contains(&0) {
                    Some("contains a NUL byte".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(InterestError::BadPrefix {
                        list,
                        prefix: prefix.clone(),
                        reason,
                    });
                }
            }
        }
        if self.ignore_pids.len() > MAX_IGNORED_PIDS {
            return Err(InterestError::TooManyPids(self.ignore_pids.len()));
        }
        Ok(())
    }
}

impl Default for Interest {
    /// Every kind, with the default prefixes.
    fn default() -> Self {
        Interest::kinds(EventKind::ALL)
    }
}

/// Read-only opens delivered by default: secrets whose reading is itself a signal.
pub const DEFAULT_READ_PREFIXES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/pam.d/",
    "/etc/ssh/",
    "/root/.ssh/",
    "/root/.aws/",
    "/root/.kube/",
    "/root/.docker/config.json",
    "/var/run/secrets/kubernetes.io/",
    "/run/secrets/kubernetes.io/",
];

/// Paths whose changes are dropped by default: kernel pseudo-filesystems.
pub const DEFAULT_IGNORE_PREFIXES: &[&str] = &["/proc/", "/sys/", "/dev/pts/"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_interest_is_valid_and_filters_reads() {
        let interest = Interest::default();
        interest.validate().unwrap();
        assert!(interest.wants_read("/etc/shadow"));
        assert!(interest.wants_read("/root/.ssh/id_ed25519"));
        assert!(!interest.wants_read("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(interest.ignores_path("/proc/self/status"));
        assert!(!interest.ignores_path("/etc/passwd"));
    }

    #[test]
    fn oversized_interest_is_refused_with_the_reason() {
        let mut interest = Interest {
            read_prefixes: (0..=MAX_PREFIXES).map(|i| format!("/p{i}")).collect(),
            ..Interest::default()
        };
        assert!(matches!(
            interest.validate(),
            Err(InterestError::TooManyPrefixes {
                list: "read_prefixes",
                ..
            })
        ));
        interest.read_prefixes = vec!["relative/path".into()];
        let err = interest.validate().unwrap_err().to_string();
        assert!(err.contains("absolute"), "{err}");
        interest.read_prefixes = vec![format!("/{}", "a".repeat(MAX_PREFIX_LEN))];
        assert!(interest.validate().is_err());
    }

    #[test]
    fn insisted_kinds_are_kept_and_old_documents_still_parse() {
        let interest = Interest::kinds([EventKind::Exec]).insist_on([EventKind::Module]);
        assert!(interest.wants(EventKind::Module));
        assert!(interest.costly_ok.contains(&EventKind::Module));
        assert!(!interest.costly_ok.contains(&EventKind::Exec));
        let json = serde_json::to_value(&interest).unwrap();
        assert_eq!(json["costly_ok"], serde_json::json!(["module"]));
        // a document without the field (an older agent's status) reads as "none"
        let old = serde_json::json!({
            "kinds": ["exec"], "read_prefixes": [], "ignore_prefixes": [], "ignore_pids": []
        });
        let parsed: Interest = serde_json::from_value(old).unwrap();
        assert!(parsed.costly_ok.is_empty());
        assert!(serde_json::to_value(Interest::kinds([EventKind::Exec]))
            .unwrap()
            .get("costly_ok")
            .is_none());
    }

    #[test]
    fn no_open_kind_means_no_reads() {
        let interest = Interest::kinds([EventKind::Exec]);
        assert!(!interest.wants_read("/etc/shadow"));
    }
}
