//! The agent owns the runtime pipeline: it chooses the event source (the eBPF
//! sensor, or a degraded source — said loudly, never silently), applies the
//! interest, enriches every event and streams it as NDJSON (or text), keeping a
//! status file with per-kind delivered/lost counters for `garrison agent status`.
//!
//! Threads: the source is polled on its own thread (so the kernel's ring buffer
//! is drained while output is written) and hands batches over a bounded channel;
//! the calling thread enriches in order (fork/exec/exit keep the process tree
//! current), writes, and rewrites the status file every few seconds. Rule
//! evaluation and the rendering of stream lines run on worker threads (one per
//! core by default, [`AgentConfig::rule_threads`]), events sharded by process;
//! results are put back in event order before they are written or grouped, so the
//! output is the same as with one thread.

pub mod detect;
pub mod settings;
pub mod status;
pub mod text;
mod workers;

use detect::{Detector, Reloaded};
use garrison_enricher::{Enricher, EnricherStats};
use garrison_event::{
    Event, EventKind, EventSource, Interest, SourceError, SourceInfo, SourceStats,
};
use garrison_rules::output::Sink;
use garrison_rules::{Alert, AlertSummary, Grouped, Grouper};
use garrison_sensor_degraded::{DegradedSource, Options as DegradedOptions};
use settings::{InForce, LiveSettings, Settings};
use status::Status;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use workers::{render_line, Done, Workers};

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
    /// Whether alerts are written to the stream (`--alert-output stdout`).
    pub alerts_to_stream: bool,
    /// Alert grouping: repeats of a (rule, output) pair within this window are
    /// folded into one `alert_summary` line with their count.
    pub alert_window: Duration,
    /// At most this many alerts per rule per window; the rest are folded too.
    pub alerts_per_rule: u64,
    /// Threads evaluating rules: 0 = one per available core; 1 = on the pipeline
    /// thread itself; N = N workers, events sharded by process (tgid). The output
    /// is the same whatever the number (see the `workers` module).
    pub rule_threads: usize,
}

/// What detects and where alerts go, besides the stream.
pub struct Detection {
    /// The detectors (the rules engine, file integrity monitoring, ...).
    pub detectors: Vec<Box<dyn Detector>>,
    /// Alert outputs other than the stream (a file, syslog, a webhook); they run on
    /// their own thread so a slow webhook never stalls the pipeline.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Set (by SIGHUP) to reload every detector.
    pub reload: Arc<AtomicBool>,
    /// Where a loaded policy puts the settings it overrides (alert window, per-rule
    /// cap, streamed kinds); the pipeline applies them at its next turn. `None`:
    /// the command line's settings only.
    pub settings: Option<Arc<LiveSettings>>,
}

impl Detection {
    /// No detectors, no sinks (a plain event stream).
    pub fn none() -> Detection {
        Detection {
            detectors: Vec::new(),
            sinks: Vec::new(),
            reload: Arc::new(AtomicBool::new(false)),
            settings: None,
        }
    }
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
    #[error("install signal handlers: {0}")]
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
    /// Alert counters.
    pub alerts: status::AlertCounters,
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

/// The interest for streaming `kinds` and feeding `detectors`: [`interest_for`]
/// `kinds` (read-only opens kept only when `open` is streamed) merged with every
/// detector's interest ([`detect::merge_interest`]); the `module` kind only where
/// the kernel can load modules, unless `kinds` names it.
pub fn combined_interest(kinds: &[EventKind], detectors: &[Box<dyn Detector>]) -> Interest {
    let mut interest = interest_for(kinds);
    if !kinds.contains(&EventKind::Open) {
        interest.read_prefixes.clear();
    }
    for d in detectors {
        detect::merge_interest(&mut interest, &d.interest());
    }
    // On a kernel without module support (no /proc/modules) a module load can only
    // fail, and asking for the kind attaches raw_syscalls to every syscall: rules
    // get it only where it can happen (`--events module` still asks for it).
    if !kinds.contains(&EventKind::Module) && !std::path::Path::new("/proc/modules").exists() {
        interest.kinds.remove(&EventKind::Module);
    }
    // Prefixes covered by a shorter one are redundant (and the kernel map is small).
    let mut prefixes = std::mem::take(&mut interest.read_prefixes);
    prefixes.sort();
    for p in prefixes {
        if !interest
            .read_prefixes
            .iter()
            .any(|q: &String| p.starts_with(q.as_str()))
        {
            interest.read_prefixes.push(p);
        }
    }
    interest
}

/// Installs a SIGHUP handler that sets `reload`.
pub fn reload_on_sighup(reload: &Arc<AtomicBool>) -> Result<(), AgentError> {
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(reload))
        .map_err(AgentError::Signals)?;
    Ok(())
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
const CHANNEL: usize = 2;

/// What the source thread shares with the writer.
struct Shared {
    stats: Mutex<SourceStats>,
    error: Mutex<Option<SourceError>>,
    /// A new interest for the source (after a reload), and the outcome of applying it.
    new_interest: Mutex<Option<Interest>>,
    interest_error: Mutex<Option<String>>,
}

/// How often the source thread refreshes the source's counters for the status.
const STATS_EVERY: Duration = Duration::from_millis(250);

fn source_thread(
    mut source: Box<dyn EventSource>,
    tx: SyncSender<Vec<Event>>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut closed = false;
    // the counters cost a map read per kind: refreshed on a timer, not per poll
    let mut stats_at: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) && !closed {
        let wanted = shared.new_interest.lock().ok().and_then(|mut n| n.take());
        if let Some(interest) = wanted {
            let outcome = source.set_interest(&interest).err().map(|e| e.to_string());
            if let Ok(mut slot) = shared.interest_error.lock() {
                *slot = outcome;
            }
        }
        // Batches are bounded, and so is the channel: memory stays flat however
        // many events one poll hands over (the writer's pace pushes back).
        let r = source.poll(Duration::from_millis(100), &mut |e| {
            batch.push(e);
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                closed |= tx.send(full).is_err();
            }
        });
        if stats_at.is_none_or(|t| t.elapsed() >= STATS_EVERY) {
            stats_at = Some(Instant::now());
            if let Ok(mut s) = shared.stats.lock() {
                *s = source.stats();
            }
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

/// An item for the outputs' thread.
enum OutItem {
    Alert(Box<Alert>),
    Summary(AlertSummary),
}

/// Alerts on their way out: grouping, counters, the stream and the other outputs.
struct Alerts {
    grouper: Grouper,
    counters: status::AlertCounters,
    to_stream: bool,
    format: Format,
    tx: Option<SyncSender<OutItem>>,
    failures: Arc<Mutex<(u64, Option<String>)>>,
    reported_backlog: u64,
}

impl Alerts {
    fn stream_line(&self, text: String, out: &mut dyn Write) -> std::io::Result<()> {
        if self.to_stream {
            out.write_all(text.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn send(&mut self, item: OutItem) {
        if let Some(tx) = &self.tx {
            if let Err(e) = tx.try_send(item) {
                if matches!(e, std::sync::mpsc::TrySendError::Full(_)) {
                    self.counters.output_backlog_dropped += 1;
                } else {
                    self.counters.output_failures += 1;
                }
            }
        }
    }

    fn raise(&mut self, alert: Alert, out: &mut dyn Write) -> std::io::Result<()> {
        self.counters.raised += 1;
        *self
            .counters
            .by_priority
            .entry(alert.priority.clone())
            .or_default() += 1;
        if let Some(n) = self.counters.by_rule.get_mut(&alert.rule) {
            *n += 1;
        } else {
            self.counters.by_rule.insert(alert.rule.clone(), 1);
        }
        match self.grouper.offer(alert) {
            Grouped::Emit(a) => {
                self.counters.written += 1;
                let line = match self.format {
                    Format::Json => a.to_ndjson(),
                    Format::Text => a.to_text(),
                };
                self.stream_line(line, out)?;
                self.send(OutItem::Alert(a));
            }
            Grouped::Folded => self.counters.folded += 1,
        }
        Ok(())
    }

    fn flush(&mut self, now_ns: u64, out: &mut dyn Write) -> std::io::Result<()> {
        for s in self.grouper.flush(now_ns) {
            self.counters.summaries += 1;
            let line = match self.format {
                Format::Json => s.to_ndjson(),
                Format::Text => s.to_text(),
            };
            self.stream_line(line, out)?;
            self.send(OutItem::Summary(s));
        }
        if let Ok(f) = self.failures.lock() {
            self.counters.output_failures = self.counters.output_failures.max(f.0);
            self.counters.last_output_error.clone_from(&f.1);
        }
        Ok(())
    }
}

fn outputs_thread(
    mut sinks: Vec<Box<dyn Sink>>,
    rx: Receiver<OutItem>,
    failures: Arc<Mutex<(u64, Option<String>)>>,
) {
    for item in rx {
        for sink in &mut sinks {
            let r = match &item {
                OutItem::Alert(a) => sink.alert(a),
                OutItem::Summary(s) => sink.summary(s),
            };
            if let Err(e) = r {
                if let Ok(mut f) = failures.lock() {
                    f.0 += 1;
                    f.1 = Some(e.to_string());
                }
            }
        }
    }
}

/// Writes finished events in order: each one's stream line, then its alerts
/// (grouped and rate limited by `alerts`).
fn write_done(
    ready: Vec<Done>,
    out: &mut dyn Write,
    alerts: &mut Alerts,
    written: &mut u64,
) -> std::io::Result<()> {
    for done in ready {
        if let Some(line) = done.line {
            out.write_all(&line)?;
            *written += 1;
        }
        for (_, a) in done.alerts {
            alerts.raise(a, out)?;
        }
    }
    Ok(())
}

/// The evaluation workers, when more than one thread is wanted and some detector
/// can run on several ([`Detector::evaluator`]); with which detectors run there.
fn start_workers(
    config: &AgentConfig,
    kinds: &[EventKind],
    detectors: &[Box<dyn Detector>],
    err: &mut dyn Write,
) -> Result<Option<(Workers, Vec<bool>)>, AgentError> {
    let n = match config.rule_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    if n <= 1 {
        return Ok(None);
    }
    let parallel: Vec<bool> = detectors.iter().map(|d| d.evaluator().is_some()).collect();
    if !parallel.iter().any(|p| *p) {
        return Ok(None);
    }
    let sets = (0..n)
        .map(|_| {
            detectors
                .iter()
                .enumerate()
                .filter_map(|(i, d)| d.evaluator().map(|e| (i, e)))
                .collect()
        })
        .collect();
    let w = Workers::start(sets, kinds, config.format).map_err(|e| AgentError::Output {
        output: "the evaluation threads".into(),
        source: e,
    })?;
    let _ = writeln!(
        err,
        "garrison agent: evaluating on {n} threads (events sharded by process)"
    );
    Ok(Some((w, parallel)))
}

fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

/// The settings in force: the command line's, with `live`'s overrides.
fn settings_in_force(cli: &Settings, live: Option<&LiveSettings>) -> (Settings, InForce) {
    let (overrides, refused) = live.map(LiveSettings::snapshot).unwrap_or_default();
    let (s, mut f) = settings::merge(cli, overrides.as_ref());
    f.refused = refused;
    (s, f)
}

/// One line: each setting in force and where it comes from.
fn describe(f: &InForce) -> String {
    let events = if f.events.value.is_empty() {
        "none".to_string()
    } else {
        f.events.value.join(",")
    };
    format!(
        "alert window {} s ({}), alerts per rule {} ({}), events {events} ({})",
        f.alert_window_s.value,
        f.alert_window_s.origin,
        f.alerts_per_rule.value,
        f.alerts_per_rule.origin,
        f.events.origin
    )
}

/// Runs the pipeline until `stop` is set (or the source fails): every event is
/// enriched and handed to every detector; events of the streamed kinds and the
/// alerts (grouped) are written to `out`, alerts also to the other outputs;
/// progress and reload outcomes go to `err`.
pub fn run(
    config: &AgentConfig,
    chosen: Chosen,
    detection: Detection,
    stop: Arc<AtomicBool>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Summary, AgentError> {
    let info = chosen.source.info();
    let Detection {
        mut detectors,
        sinks,
        reload,
        settings: live,
    } = detection;
    // The command line's settings, and those in force (a policy loaded before the
    // start may override them already).
    let cli = Settings {
        alert_window: config.alert_window,
        alerts_per_rule: config.alerts_per_rule,
        kinds: config.kinds.clone(),
    };
    let mut live_generation = live.as_ref().map_or(0, |l| l.generation());
    let (mut current, mut in_force) = settings_in_force(&cli, live.as_deref());
    let mut interest = combined_interest(&current.kinds, &detectors);
    // The caller started the source for the command line's kinds.
    let started_for = combined_interest(&config.kinds, &detectors);
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
    let missing = unseen_kinds(&interest.kinds, &info.kinds);
    if !missing.is_empty() {
        let _ = writeln!(
            err,
            "garrison agent: this source cannot see: {} (rules on them cannot fire)",
            missing.join(", ")
        );
    }
    for note in info
        .notes
        .iter()
        .filter(|n| current.kinds.contains(&n.kind))
    {
        let _ = writeln!(err, "garrison agent: {}: {}", note.kind.name(), note.reason);
    }
    for d in &detectors {
        let _ = writeln!(err, "garrison agent: detector {}: {}", d.name(), d.status());
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
        new_interest: Mutex::new((interest != started_for).then(|| interest.clone())),
        interest_error: Mutex::new(None),
    });
    if let Some(o) = live.as_ref().and_then(|l| l.snapshot().0) {
        let _ = writeln!(
            err,
            "garrison agent: settings of policy {}: {}",
            o.policy_version,
            describe(&in_force)
        );
    }
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
    let failures = Arc::new(Mutex::new((0u64, None)));
    let (out_tx, out_thread) = if sinks.is_empty() {
        (None, None)
    } else {
        let (otx, orx) = std::sync::mpsc::sync_channel(4096);
        let failures = Arc::clone(&failures);
        let handle = std::thread::Builder::new()
            .name("garrison-alerts".into())
            .spawn(move || outputs_thread(sinks, orx, failures))
            .map_err(|e| AgentError::Output {
                output: "the alert outputs' thread".into(),
                source: e,
            })?;
        (Some(otx), Some(handle))
    };
    let mut alerts = Alerts {
        grouper: Grouper::new(current.alert_window, current.alerts_per_rule),
        counters: status::AlertCounters::default(),
        to_stream: config.alerts_to_stream,
        format: config.format,
        tx: out_tx,
        failures,
        reported_backlog: 0,
    };
    let make_status = |running: bool,
                       written: u64,
                       enr: &Enricher,
                       stopped: Option<String>,
                       interest: &Interest,
                       detectors: &[Box<dyn Detector>],
                       alerts: &status::AlertCounters,
                       settings: &InForce| Status {
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
        detectors: detectors
            .iter()
            .map(|d| (d.name().to_string(), d.status()))
            .collect(),
        alerts: alerts.clone(),
        settings: Some(settings.clone()),
    };
    status::write(
        &config.status_path,
        &make_status(
            true,
            0,
            &enricher,
            None,
            &interest,
            &detectors,
            &alerts.counters,
            &in_force,
        ),
    )?;

    let mut written = 0u64;
    let mut scratch: Vec<u8> = Vec::with_capacity(4096);
    let mut next_status = Instant::now() + config.status_every;
    let mut next_report = Instant::now() + config.report_every;
    let mut next_prune = Instant::now() + Duration::from_secs(10);
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    let mut next_watch = Instant::now() + Duration::from_secs(2);
    let mut reported_lost = 0u64;
    let mut pending: Vec<Alert> = Vec::new();
    let mut want_interest = false;
    let out_err = |e: std::io::Error| AgentError::Output {
        output: config.output_name.clone(),
        source: e,
    };
    let mut result: Result<(), AgentError> = Ok(());
    let mut workers = start_workers(config, &current.kinds, &detectors, err)?;
    let parallel: Vec<bool> = match &workers {
        Some((_, p)) => p.clone(),
        None => vec![false; detectors.len()],
    };
    loop {
        let in_flight = workers.as_ref().map_or(0, |(w, _)| w.in_flight());
        let got = if in_flight > 0 {
            rx.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })
        } else {
            rx.recv_timeout(Duration::from_millis(200))
        };
        let mut ready: Vec<Done> = Vec::new();
        let mut source_closed = false;
        let idle = match got {
            Ok(mut batch) => {
                // The process tree is kept in event order, on this thread.
                for event in batch.iter_mut() {
                    enricher.enrich(event);
                }
                match &mut workers {
                    Some((w, _)) => {
                        let serial: Vec<Vec<(usize, Alert)>> = batch
                            .iter()
                            .map(|event| {
                                let mut raised = Vec::new();
                                for (i, d) in detectors.iter_mut().enumerate() {
                                    if !parallel.get(i).copied().unwrap_or(false) {
                                        d.on_event(event, &mut |a| raised.push((i, a)));
                                    }
                                }
                                raised
                            })
                            .collect();
                        ready = w.submit(batch, serial);
                    }
                    None => {
                        // One thread: each event is written as it is evaluated, its
                        // JSON rendered into one reused buffer (the events stay put).
                        let wrote = batch.iter().try_for_each(|event| {
                            let mut raised = Vec::new();
                            for d in detectors.iter_mut() {
                                d.on_event(event, &mut |a| raised.push(a));
                            }
                            scratch.clear();
                            if render_line(event, &current.kinds, config.format, &mut scratch) {
                                out.write_all(&scratch)?;
                                written += 1;
                            }
                            for a in raised {
                                alerts.raise(a, out)?;
                            }
                            Ok(())
                        });
                        if let Err(e) = wrote.and_then(|_| out.flush()) {
                            result = Err(out_err(e));
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                false
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => {
                source_closed = true;
                true
            }
        };
        if let Some((w, _)) = &mut workers {
            // Write what the workers finished; when the source had nothing new,
            // wait for everything in flight (so an alert never waits for traffic).
            while let Some(done) = w.next_done(idle) {
                ready.extend(done);
            }
        }
        if !ready.is_empty() {
            let wrote = write_done(ready, out, &mut alerts, &mut written).and_then(|_| out.flush());
            if let Err(e) = wrote {
                result = Err(out_err(e));
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        if source_closed {
            break;
        }
        let now = Instant::now();
        if now >= next_tick {
            let now_ns = unix_now_ns();
            for d in detectors.iter_mut() {
                d.tick(now_ns, &mut |a| pending.push(a));
            }
            for a in pending.drain(..) {
                if let Err(e) = alerts.raise(a, out) {
                    result = Err(out_err(e));
                }
            }
            if let Err(e) = alerts.flush(now_ns, out).and_then(|_| out.flush()) {
                result = Err(out_err(e));
            }
            if alerts.counters.output_backlog_dropped > alerts.reported_backlog {
                let _ = writeln!(
                    err,
                    "garrison agent: ALERT OUTPUTS BEHIND: {} alert(s) not handed to file/syslog/webhook outputs (queue full); they were written to the stream",
                    alerts.counters.output_backlog_dropped - alerts.reported_backlog
                );
                alerts.reported_backlog = alerts.counters.output_backlog_dropped;
            }
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
            next_tick = now + Duration::from_secs(1);
        }
        let mut do_reload = reload.swap(false, Ordering::Relaxed);
        if now >= next_watch {
            for d in detectors.iter_mut() {
                do_reload |= d.wants_reload();
            }
            next_watch = now + Duration::from_secs(2);
        }
        if do_reload {
            let mut changed = false;
            for d in detectors.iter_mut() {
                match d.reload() {
                    Reloaded::Unchanged => {}
                    Reloaded::Applied(what) => {
                        changed = true;
                        let _ = writeln!(err, "garrison agent: {} reloaded: {what}", d.name());
                    }
                    Reloaded::Kept(why) => {
                        let _ = writeln!(err, "garrison agent: {}: {why}", d.name());
                    }
                }
            }
            want_interest |= changed;
            next_status = now;
        }
        // Settings a policy changed (the rules detector puts them there when it
        // loads one, so usually in the reload just above).
        if let Some(l) = &live {
            let generation = l.generation();
            if generation != live_generation {
                live_generation = generation;
                let (next, next_in_force) = settings_in_force(&cli, Some(l));
                if next.alert_window != current.alert_window
                    || next.alerts_per_rule != current.alerts_per_rule
                {
                    // Groups under the old limits end now (their summaries are
                    // written); the next alerts are counted under the new ones.
                    if let Err(e) = alerts.flush(u64::MAX, out).and_then(|_| out.flush()) {
                        result = Err(out_err(e));
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    alerts.grouper = Grouper::new(next.alert_window, next.alerts_per_rule);
                }
                let mut unseen = None;
                let kinds_changed = next.kinds != current.kinds;
                if kinds_changed {
                    if let Some((w, _)) = &mut workers {
                        w.set_kinds(&next.kinds);
                    }
                    want_interest = true;
                    let missing = unseen_kinds(&next.kinds, &info.kinds);
                    if !missing.is_empty() {
                        let why = format!("this source cannot see: {}", missing.join(", "));
                        let _ = writeln!(err, "garrison agent: {why}");
                        unseen = Some(why);
                    }
                }
                match &next_in_force.refused {
                    Some(why) if in_force.refused.as_ref() != Some(why) => {
                        let _ = writeln!(
                            err,
                            "garrison agent: policy settings REFUSED, the previous stay in force: {why}"
                        );
                    }
                    _ => {}
                }
                if next != current || next_in_force.refused.is_none() {
                    let _ = writeln!(
                        err,
                        "garrison agent: settings in force: {}",
                        describe(&next_in_force)
                    );
                }
                let source_error = in_force.source_error.take();
                current = next;
                in_force = next_in_force;
                // A new set of kinds is judged afresh (a refusal of the new
                // interest by the source lands here below).
                in_force.source_error = if kinds_changed { unseen } else { source_error };
                next_status = now;
            }
        }
        if want_interest {
            want_interest = false;
            let wanted = combined_interest(&current.kinds, &detectors);
            if wanted != interest {
                interest = wanted.clone();
                if let Ok(mut slot) = shared.new_interest.lock() {
                    *slot = Some(wanted);
                }
            }
        }
        if let Some(e) = shared.interest_error.lock().ok().and_then(|mut e| e.take()) {
            let _ = writeln!(
                err,
                "garrison agent: the source refused the reloaded interest: {e}"
            );
            in_force.source_error = Some(e);
            next_status = now;
        }
        if now >= next_status {
            status::write(
                &config.status_path,
                &make_status(
                    true,
                    written,
                    &enricher,
                    None,
                    &interest,
                    &detectors,
                    &alerts.counters,
                    &in_force,
                ),
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
    if let Some((w, _)) = workers {
        w.finish();
    }
    let _ = alerts.flush(u64::MAX, out);
    let _ = out.flush();
    drop(alerts.tx.take());
    if let Some(h) = out_thread {
        let _ = h.join();
    }
    let _ = alerts.flush(u64::MAX, out);
    let source_error = shared.error.lock().ok().and_then(|mut e| e.take());
    let stopped = match (&source_error, &result) {
        (Some(e), _) => format!("the source failed: {e}"),
        (None, Err(e)) => format!("output failed: {e}"),
        (None, Ok(())) => "stopped by a signal".to_string(),
    };
    let final_status = make_status(
        false,
        written,
        &enricher,
        Some(stopped),
        &interest,
        &detectors,
        &alerts.counters,
        &in_force,
    );
    status::write(&config.status_path, &final_status)?;
    let _ = writeln!(
        err,
        "garrison agent: stopped: {}; alerts: {} raised, {} written, {} folded into summaries",
        report_line(&final_status.stats, written),
        alerts.counters.raised,
        alerts.counters.written,
        alerts.counters.folded,
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
        alerts: final_status.alerts,
    })
}

/// The names of the wanted kinds the event source cannot see.
fn unseen_kinds<'a>(
    wanted: impl IntoIterator<Item = &'a EventKind>,
    seen: &[EventKind],
) -> Vec<&'static str> {
    wanted
        .into_iter()
        .filter(|k| !seen.contains(k))
        .map(|k| k.name())
        .collect()
}
