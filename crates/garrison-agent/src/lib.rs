//! The agent owns the runtime pipeline: it chooses the event source (the eBPF
//! sensor, or a degraded source — said loudly, never silently), applies the
//! interest, enriches every event and streams it as NDJSON (or text), keeping a
//! status file with per-kind delivered/lost counters for `garrison agent status`.
//!
//! Threads: the source is polled on its own thread (so the kernel's ring buffer
//! is drained while output is written) and hands batches over a bounded channel;
//! the calling thread enriches in order (fork/exec/exit keep the process tree
//! current), writes, and rewrites the status file every few seconds.

pub mod status;
pub mod text;

use garrison_enricher::{Enricher, EnricherStats};
use garrison_event::{
    Event, EventKind, EventSource, Interest, SourceError, SourceInfo, SourceStats,
};
use garrison_sensor_degraded::{DegradedSource, Options as DegradedOptions};
use status::Status;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Output format of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NDJSON: one `{"kind":"event",...}` object per line.
    Json,
    /// A readable line per event.
    Text,
}

/// What the agent is asked to do.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The kinds to stream.
    pub kinds: Vec<EventKind>,
    /// Use a degraded source even when eBPF works.
    pub no_bpf: bool,
    /// Output format.
    pub format: Format,
    /// A description of where the output goes (for the status).
    pub output_name: String,
    /// The status file.
    pub status_path: PathBuf,
    /// How often the status file is rewritten.
    pub status_every: Duration,
    /// How often counters are reported on stderr while events are lost.
    pub report_every: Duration,
    /// Enricher settings.
    pub enricher: garrison_enricher::Config,
}

/// A failure of the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The event source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Writing the stream failed.
    #[error("write the event stream to {output}: {source}")]
    Output {
        /// Where.
        output: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The status file.
    #[error(transparent)]
    Status(#[from] status::StatusError),
    /// Signal handlers could not be installed.
    #[error("install handlers for SIGINT/SIGTERM: {0}")]
    Signals(std::io::Error),
}

/// How the run ended.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The source used.
    pub source: SourceInfo,
    /// Its final counters.
    pub stats: SourceStats,
    /// Events written.
    pub written: u64,
    /// The enricher's counters.
    pub enricher: EnricherStats,
}

/// The interest for `kinds`: the default read prefixes and ignored pseudo
/// filesystems, and this process ignored (its own output must not feed back).
///
/// Exec, fork and exit are always asked of the source, whatever `kinds` says: the
/// process tree needs them (ancestry, and the root of processes gone before their
/// exec is enriched); [`run`] writes only the kinds asked for.
///
/// Kinds named in a list (`--events exec,module`) are insisted on
/// ([`Interest::costly_ok`]): the sensor watches them even where that takes a hook
/// on every syscall. Every kind at once (`--events all`, the default) insists on
/// none: a kind this kernel cannot trace cheaply (module calls without module
/// support) is left out, and the source's notes say so.
pub fn interest_for(kinds: &[EventKind]) -> Interest {
    let tree = [EventKind::Exec, EventKind::Fork, EventKind::Exit];
    let mut interest = Interest::kinds(kinds.iter().copied().chain(tree));
    if !EventKind::ALL.iter().all(|k| kinds.contains(k)) {
        interest = interest.insist_on(kinds.iter().copied());
    }
    interest.ignore_pids.push(std::process::id());
    interest
}

/// The chosen source, and what the probe said.
pub struct Chosen {
    /// The source.
    pub source: Box<dyn EventSource>,
    /// The feature probe (absent with `--no-bpf`).
    pub features: Option<serde_json::Value>,
}

/// Chooses the source: the eBPF sensor unless `no_bpf` or the probe or the start
/// fails, else the degraded one with the reason. Never silent: the reason lands in
/// [`SourceInfo::reason`], which the agent prints and writes to its status.
pub fn choose_source(no_bpf: bool, interest: &Interest) -> Result<Chosen, SourceError> {
    let (reason, features) = if no_bpf {
        ("eBPF not used: --no-bpf was given".to_string(), None)
    } else {
        let features = garrison_sensor::probe();
        let json = serde_json::to_value(&features).ok();
        if let Some(why) = features.unusable_reason() {
            (format!("eBPF unavailable: {why}"), json)
        } else {
            match garrison_sensor::Sensor::start(interest) {
                Ok(sensor) => {
                    return Ok(Chosen {
                        source: Box::new(sensor),
                        features: json,
                    })
                }
                Err(e) => (format!("the eBPF sensor failed to start: {e}"), json),
            }
        }
    };
    let mut degraded = DegradedSource::open(reason, DegradedOptions::default())?;
    degraded.set_interest(interest)?;
    Ok(Chosen {
        source: Box::new(degraded),
        features,
    })
}

/// Installs SIGINT/SIGTERM handlers that set `stop`.
pub fn stop_on_signals(stop: &Arc<AtomicBool>) -> Result<(), AgentError> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(stop)).map_err(AgentError::Signals)?;
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Events per batch handed from the source thread to the writer.
const BATCH: usize = 512;
/// Batches in flight at most.
const CHANNEL: usize = 8;

/// What the source thread shares with the writer.
struct Shared {
    stats: Mutex<SourceStats>,
    error: Mutex<Option<SourceError>>,
}

fn source_thread(
    mut source: Box<dyn EventSource>,
    tx: SyncSender<Vec<Event>>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut closed = false;
    while !stop.load(Ordering::Relaxed) && !closed {
        // Batches are bounded, and so is the channel: memory stays flat however
        // many events one poll hands over (the writer's pace pushes back).
        let r = source.poll(Duration::from_millis(100), &mut |e| {
            batch.push(e);
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                closed |= tx.send(full).is_err();
            }
        });
        if let Ok(mut s) = shared.stats.lock() {
            *s = source.stats();
        }
        match r {
            Ok(_) => {
                if !batch.is_empty() {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        break;
                    }
                }
            }
            Err(e) => {
                if let Ok(mut slot) = shared.error.lock() {
                    *slot = Some(e);
                }
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
    }
    // Drain what the kernel still holds, once, so the final counters are complete.
    let _ = source.poll(Duration::from_millis(0), &mut |e| {
        batch.push(e);
        if batch.len() >= BATCH {
            let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    });
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    if let Ok(mut s) = shared.stats.lock() {
        *s = source.stats();
    }
}

fn report_line(stats: &SourceStats, written: u64) -> String {
    let mut per_kind: Vec<String> = stats
        .kinds
        .iter()
        .filter(|(_, k)| k.lost > 0)
        .map(|(kind, k)| format!("{}={}", kind.name(), k.lost))
        .collect();
    if stats.lost_unattributed > 0 {
        per_kind.push(format!("unattributed={}", stats.lost_unattributed));
    }
    format!(
        "delivered {} events, wrote {}, lost {}{}{}",
        stats.delivered(),
        written,
        stats.lost(),
        if per_kind.is_empty() {
            String::new()
        } else {
            format!(" ({})", per_kind.join(", "))
        },
        if stats.decode_errors > 0 {
            format!(", {} undecodable", stats.decode_errors)
        } else {
            String::new()
        }
    )
}

/// Runs the pipeline until `stop` is set (or the source fails), writing events to
/// `out` and progress to `err`.
pub fn run(
    config: &AgentConfig,
    chosen: Chosen,
    stop: Arc<AtomicBool>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Summary, AgentError> {
    let info = chosen.source.info();
    let interest = interest_for(&config.kinds);
    let mech: Vec<String> = info
        .mechanisms
        .iter()
        .map(|m| {
            serde_json::to_value(m)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    if info.degraded {
        let _ = writeln!(
            err,
            "garrison agent: DEGRADED event source ({}): {}",
            mech.join(", "),
            info.reason.as_deref().unwrap_or("no reason given")
        );
    } else {
        let _ = writeln!(
            err,
            "garrison agent: event source {} ({})",
            info.name,
            mech.join(", ")
        );
    }
    let missing: Vec<&str> = config
        .kinds
        .iter()
        .filter(|k| !info.kinds.contains(k))
        .map(|k| k.name())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            err,
            "garrison agent: this source cannot see: {}",
            missing.join(", ")
        );
    }
    for note in info.notes.iter().filter(|n| config.kinds.contains(&n.kind)) {
        let _ = writeln!(err, "garrison agent: {}: {}", note.kind.name(), note.reason);
    }

    let mut enricher = Enricher::new(config.enricher.clone());
    let seeded = enricher.seed();
    let _ = writeln!(
        err,
        "garrison agent: {seeded} processes known from /proc; streaming"
    );

    let started = unix_now();
    let pid = std::process::id();
    let shared = Arc::new(Shared {
        stats: Mutex::new(SourceStats::default()),
        error: Mutex::new(None),
    });
    let (tx, rx): (SyncSender<Vec<Event>>, Receiver<Vec<Event>>) =
        std::sync::mpsc::sync_channel(CHANNEL);
    let thread = {
        let stop = Arc::clone(&stop);
        let shared = Arc::clone(&shared);
        let source = chosen.source;
        std::thread::Builder::new()
            .name("garrison-source".into())
            .spawn(move || source_thread(source, tx, stop, shared))
            .map_err(|e| AgentError::Output {
                output: "the source thread".into(),
                source: e,
            })?
    };
    let make_status =
        |running: bool, written: u64, enr: &Enricher, stopped: Option<String>| Status {
            version: status::STATUS_VERSION,
            pid,
            running,
            started_unix: started,
            updated_unix: unix_now(),
            source: info.clone(),
            features: chosen.features.clone(),
            interest: interest.clone(),
            stats: shared.stats.lock().map(|s| s.clone()).unwrap_or_default(),
            written,
            enricher: enr.stats(),
            output: config.output_name.clone(),
            stopped,
        };
    status::write(&config.status_path, &make_status(true, 0, &enricher, None))?;

    let mut written = 0u64;
    let mut next_status = Instant::now() + config.status_every;
    let mut next_report = Instant::now() + config.report_every;
    let mut next_prune = Instant::now() + Duration::from_secs(10);
    let mut reported_lost = 0u64;
    let mut line = String::new();
    let out_err = |e: std::io::Error| AgentError::Output {
        output: config.output_name.clone(),
        source: e,
    };
    let mut result: Result<(), AgentError> = Ok(());
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(batch) => {
                for mut event in batch {
                    enricher.enrich(&mut event);
                    if !config.kinds.contains(&event.kind()) {
                        continue;
                    }
                    line.clear();
                    match config.format {
                        Format::Json => match event.to_ndjson() {
                            Ok(l) => line.push_str(&l),
                            Err(_) => continue,
                        },
                        Format::Text => line.push_str(&text::event_line(&event)),
                    }
                    line.push('\n');
                    if let Err(e) = out.write_all(line.as_bytes()) {
                        result = Err(out_err(e));
                        break;
                    }
                    written += 1;
                }
                if result.is_ok() {
                    if let Err(e) = out.flush() {
                        result = Err(out_err(e));
                    }
                }
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now >= next_status {
            status::write(
                &config.status_path,
                &make_status(true, written, &enricher, None),
            )?;
            next_status = now + config.status_every;
        }
        if now >= next_prune {
            enricher.prune();
            next_prune = now + Duration::from_secs(10);
        }
        if now >= next_report {
            let stats = shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
            if stats.lost() > reported_lost {
                let _ = writeln!(
                    err,
                    "garrison agent: LOSING EVENTS: {}",
                    report_line(&stats, written)
                );
                reported_lost = stats.lost();
            }
            next_report = now + config.report_every;
        }
    }
    // A writer that failed no longer reads: unblock the source thread first.
    drop(rx);
    let _ = thread.join();
    let _ = out.flush();
    let source_error = shared.error.lock().ok().and_then(|mut e| e.take());
    let stopped = match (&source_error, &result) {
        (Some(e), _) => format!("the source failed: {e}"),
        (None, Err(e)) => format!("output failed: {e}"),
        (None, Ok(())) => "stopped by a signal".to_string(),
    };
    let final_status = make_status(false, written, &enricher, Some(stopped));
    status::write(&config.status_path, &final_status)?;
    let _ = writeln!(
        err,
        "garrison agent: stopped: {}",
        report_line(&final_status.stats, written)
    );
    if let Some(e) = source_error {
        return Err(e.into());
    }
    result?;
    Ok(Summary {
        source: info,
        stats: final_status.stats,
        written,
        enricher: final_status.enricher,
    })
}
