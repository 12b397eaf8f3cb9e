//! The agent's status file: what runs, how, and its counters, rewritten every few
//! seconds (atomically) so `garrison agent status` can read it.

use garrison_enricher::EnricherStats;
use garrison_event::{Interest, SourceInfo, SourceStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The status file's schema version.
pub const STATUS_VERSION: u32 = 1;

/// What the running (or last) agent wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`STATUS_VERSION`].
    pub version: u32,
    /// The agent's pid.
    pub pid: u32,
    /// True while the agent runs; false in the file it leaves at exit.
    pub running: bool,
    /// Start time, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Last write, seconds since the Unix epoch.
    pub updated_unix: u64,
    /// The event source in use: mechanisms, degraded or not and why.
    pub source: SourceInfo,
    /// The feature probe at start (absent with `--no-bpf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<serde_json::Value>,
    /// The interest applied.
    pub interest: Interest,
    /// Counters of the source: per kind delivered and lost.
    pub stats: SourceStats,
    /// Events written to the output.
    pub written: u64,
    /// The enricher's counters.
    pub enricher: EnricherStats,
    /// Output format and destination.
    pub output: String,
    /// Why the agent stopped (in the file left at exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Per detector (`rules`, ...): what it reports (rules loaded, ruleset version,
    /// the last refused reload).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detectors: BTreeMap<String, serde_json::Value>,
    /// Alert counters.
    #[serde(default)]
    pub alerts: AlertCounters,
    /// The run-time settings in force and where each comes from (command line or
    /// a policy); absent in files of older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<crate::settings::InForce>,
}

/// What happened to alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertCounters {
    /// Alerts raised by the detectors, before grouping.
    pub raised: u64,
    /// Raised, by priority (`WARNING`, ...).
    pub by_priority: BTreeMap<String, u64>,
    /// Raised, by rule.
    pub by_rule: BTreeMap<String, u64>,
    /// Alerts written individually.
    pub written: u64,
    /// Alerts folded into summaries (counted in `alert_summary` lines).
    pub folded: u64,
    /// Summary lines written.
    pub summaries: u64,
    /// Alerts and summaries that an output (file, syslog, webhook) failed to take.
    pub output_failures: u64,
    /// The last output failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_output_error: Option<String>,
    /// Alerts not handed to the outputs because their queue was full (a slow
    /// webhook): counted and reported, never silent.
    pub output_backlog_dropped: u64,
}

impl Status {
    /// Seconds between start and the last write.
    pub fn uptime_secs(&self) -> u64 {
        self.updated_unix.saturating_sub(self.started_unix)
    }
}

/// A status file that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// I/O on the file.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a status this version understands.
    #[error(
        "{path} is not a garrison agent status file ({detail}); delete it and restart the agent"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
}

/// The status file under a data directory: `DATA/agent/status.json`.
pub fn status_path(data_dir: &Path) -> PathBuf {
    data_dir.join("agent").join("status.json")
}

/// Writes the status atomically (temporary file, then rename).
pub fn write(path: &Path, status: &Status) -> Result<(), StatusError> {
    let io = |operation, source| StatusError::Io {
        operation,
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create directory for", e))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(status).map_err(|e| io("serialize", e.into()))?;
    std::fs::write(&tmp, text).map_err(|e| io("write", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("rename into", e))?;
    Ok(())
}

/// Reads a status file; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Status>, StatusError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StatusError::Io {
                operation: "read",
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| StatusError::Parse {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}

/// Whether the agent that wrote `status` still runs: the file says so and its pid
/// is a live garrison process.
pub fn is_live(status: &Status, procfs: &Path) -> bool {
    if !status.running {
        return false;
    }
    let cmdline =
        std::fs::read(procfs.join(status.pid.to_string()).join("cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(argv0).contains("garrison")
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use garrison_event::{EventKind, KindStats, Mechanism};

    pub(crate) fn sample() -> Status {
        let mut stats = SourceStats::default();
        stats.kinds.insert(
            EventKind::Exec,
            KindStats {
                delivered: 10,
                lost: 2,
            },
        );
        Status {
            version: STATUS_VERSION,
            pid: std::process::id(),
            running: true,
            started_unix: 100,
            updated_unix: 160,
            source: SourceInfo {
                name: "degraded".into(),
                mechanisms: vec![Mechanism::ProcConnector, Mechanism::Fanotify],
                degraded: true,
                reason: Some("--no-bpf given".into()),
                kinds: vec![EventKind::Exec],
                notes: Vec::new(),
            },
            features: None,
            interest: Interest::default(),
            stats,
            written: 10,
            enricher: EnricherStats::default(),
            output: "json to stdout".into(),
            stopped: None,
            detectors: BTreeMap::from([(
                "rules".to_string(),
                serde_json::json!({"rules_loaded": 84, "version": "0123456789abcdef"}),
            )]),
            alerts: AlertCounters {
                raised: 3,
                by_priority: BTreeMap::from([("WARNING".to_string(), 3)]),
                written: 2,
                folded: 1,
                ..AlertCounters::default()
            },
            settings: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample;
    use super::*;

    #[test]
    fn write_read_round_trip_and_liveness() {
        let dir = tempfile::tempdir().unwrap();
        let path = status_path(dir.path());
        assert!(read(&path).unwrap().is_none());
        let s = sample();
        write(&path, &s).unwrap();
        let back = read(&path).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(back.uptime_secs(), 60);
        // This test binary's argv[0] does not name garrison-agent's binary... it
        // names the test executable, which contains "garrison" (garrison_agent-*).
        assert!(is_live(&back, Path::new("/proc")));
        let stopped = Status {
            running: false,
            ..back
        };
        assert!(!is_live(&stopped, Path::new("/proc")));
        std::fs::write(&path, "{").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("not a garrison agent status file"), "{err}");
    }
}
