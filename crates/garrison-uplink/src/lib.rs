//! The uplink owns talking to the control plane on the agent's behalf: enrollment
//! (own key, CSR, the server pinned by its CA's SHA-256), mutual TLS, alert batches
//! through a bounded on-disk spool (no loss, no duplicates, survives restarts),
//! heartbeats, inventory reports and policy pickup.
//!
//! One thread does all network I/O ([`Uplink::start`]); alerts reach it through
//! [`UplinkSink`] (an alert output of the agent's dispatcher: it only appends to an
//! in-memory queue, sealed into spool files every second or every
//! [`Config::batch_max`] alerts). Failures back off exponentially with jitter.
//! State lives in one directory: the identity (see [`identity`]), `spool/`,
//! `policy/` and `uplink.json` (the status `garrison agent status` shows).

pub mod client;
pub mod error;
pub mod identity;
pub mod policy;
pub mod spool;

pub use client::{ServerUrl, REQUEST_TIMEOUT};
pub use error::UplinkError;
pub use identity::{Enrollment, Identity};
pub use policy::{PolicyRules, PolicyState, RuleBase};

use client::Client;
use garrison_rules::output::{OutputError, Sink};
use garrison_rules::{Alert, AlertSummary};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spool::Spool;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the uplink runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server.
    pub server: ServerUrl,
    /// State directory (identity, spool, policy, status).
    pub state_dir: PathBuf,
    /// How to enroll when no identity is stored.
    pub enrollment: Option<Enrollment>,
    /// This host's name (sent at enrollment, names the host workload).
    pub hostname: String,
    /// Agent version, for heartbeats.
    pub version: String,
    /// Spool size limit, bytes on disk.
    pub spool_max_bytes: u64,
    /// Heartbeat period.
    pub heartbeat_every: Duration,
    /// Inventory period (the first one is sent at start).
    pub inventory_every: Duration,
    /// Most alerts per batch.
    pub batch_max: usize,
    /// Alerts are sealed into a batch at least this often.
    pub seal_every: Duration,
    /// Alerts queued in memory before sealing, at most (beyond: counted, dropped).
    pub max_queued: usize,
    /// First retry delay; doubles per failure up to `backoff_max` (with jitter).
    pub backoff_min: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
}

impl Config {
    /// Defaults: 64 MiB spool, heartbeats every 30 s, inventory every 6 h.
    pub fn new(server: ServerUrl, state_dir: PathBuf, hostname: String) -> Config {
        Config {
            server,
            state_dir,
            enrollment: None,
            hostname,
            version: env!("CARGO_PKG_VERSION").to_string(),
            spool_max_bytes: 64 << 20,
            heartbeat_every: Duration::from_secs(30),
            inventory_every: Duration::from_secs(6 * 3600),
            batch_max: 1000,
            seal_every: Duration::from_secs(1),
            max_queued: 100_000,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// The agent's health, as heartbeats carry it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// `ebpf`, `degraded`, ...
    pub sensor_mode: String,
    /// Counters (events delivered, alerts raised, ...).
    pub counters: BTreeMap<String, u64>,
    /// Events lost since start.
    pub lost_events: u64,
}

/// Where heartbeats get the agent's health from.
pub type HealthFn = Box<dyn Fn() -> Health + Send>;
/// Makes inventory reports: `[{"workload":{"kind","name"},"report":<scan JSON>}]`.
/// Runs on its own thread (a scan can take a while). An item
/// `{"skipped":"<workload>: <why>"}` is no report: it is not sent, and shows in
/// the status (`inventory_skipped`) until the next inventory.
pub type InventoryFn = Arc<dyn Fn() -> Result<Vec<Value>, String> + Send + Sync>;

/// What `garrison agent status` shows of the uplink (`uplink.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UplinkStatus {
    /// The server.
    pub server: String,
    /// This agent's ID, once enrolled.
    pub agent_id: Option<String>,
    /// `enrolling`, `connected`, `retrying`, `revoked`, `stopped`.
    pub state: String,
    /// Last answer from the server (unix seconds).
    pub last_success_unix: Option<u64>,
    /// Last failure, while unresolved.
    pub last_error: Option<String>,
    /// Next retry in this many ms (0: not backing off).
    pub backoff_ms: u64,
    /// Alerts waiting in memory to be sealed.
    pub alerts_queued: u64,
    /// Batches in the spool.
    pub spool_batches: u64,
    /// Alerts in the spool.
    pub spool_alerts: u64,
    /// Spool bytes on disk.
    pub spool_bytes: u64,
    /// Spool limit.
    pub spool_max_bytes: u64,
    /// Alerts the server stored.
    pub alerts_delivered: u64,
    /// Batches the server already had (a resend after a lost answer).
    pub duplicate_batches: u64,
    /// Alerts dropped because the spool or the memory queue was full.
    pub alerts_dropped: u64,
    /// Alerts in batches the server refused as invalid (set aside in spool/corrupt).
    pub alerts_refused: u64,
    /// Spool files set aside as unreadable or refused.
    pub spool_files_set_aside: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Inventory reports sent.
    pub inventory_sent: u64,
    /// Last inventory delivered (unix seconds).
    pub last_inventory_unix: Option<u64>,
    /// Why the last inventory scan failed, while that is the case.
    #[serde(default)]
    pub inventory_error: Option<String>,
    /// Workloads the last inventory left out, each with why (a container that
    /// exited mid-scan, an unreadable root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory_skipped: Vec<String>,
    /// Policy version in force.
    pub policy_version: Option<String>,
    /// Policy version the server wants.
    pub policy_wanted: Option<String>,
    /// Why the wanted policy is not in force.
    pub policy_error: Option<String>,
    /// When this was written (unix seconds).
    pub updated_unix: u64,
}

struct Shared {
    queue: Mutex<Vec<Value>>,
    wake: Condvar,
    stop: AtomicBool,
    queue_dropped: AtomicU64,
    max_queued: usize,
    status: Mutex<UplinkStatus>,
}

impl Shared {
    fn push(&self, v: Value) {
        let full = match self.queue.lock() {
            Ok(mut q) if q.len() < self.max_queued => {
                q.push(v);
                false
            }
            _ => true,
        };
        if full {
            self.queue_dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.wake.notify_one();
    }
}

/// The running uplink.
pub struct Uplink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    status_path: PathBuf,
}

/// An alert output feeding the uplink (never blocks: appends to a memory queue).
pub struct UplinkSink {
    shared: Arc<Shared>,
}

impl Sink for UplinkSink {
    fn alert(&mut self, alert: &Alert) -> Result<(), OutputError> {
        match serde_json::to_value(alert) {
            Ok(v) => self.shared.push(v),
            Err(e) => {
                return Err(OutputError::Io {
                    output: "uplink".into(),
                    source: std::io::Error::other(e),
                })
            }
        }
        Ok(())
    }

    /// Summaries of folded repeats stay local (the server takes alerts only).
    fn summary(&mut self, _summary: &AlertSummary) -> Result<(), OutputError> {
        Ok(())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn sent_at() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// `DIR/uplink.json`.
pub fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join("uplink.json")
}

/// Reads `uplink.json` (None when the agent never ran with an uplink).
pub fn read_status(state_dir: &Path) -> Result<Option<UplinkStatus>, UplinkError> {
    let p = status_path(state_dir);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| UplinkError::CorruptSpool {
                path: p,
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error::io("reading", &p)(e)),
    }
}

impl Uplink {
    /// Loads the identity (or enrolls: a wrong CA pin or a refused token fails
    /// here; a server that cannot be reached is retried in the background), opens
    /// the spool (unusable files are set aside, said in the log), and starts the
    /// uplink thread.
    pub fn start(
        cfg: Config,
        health: HealthFn,
        inventory: Option<InventoryFn>,
        policy: Arc<PolicyState>,
    ) -> Result<Uplink, UplinkError> {
        identity::prepare_dir(&cfg.state_dir)?;
        let ident = match Identity::load_or_enroll(
            &cfg.state_dir,
            &cfg.server,
            &cfg.hostname,
            cfg.enrollment.as_ref(),
        ) {
            Ok(i) => Some(i),
            Err(e) if e.is_transient() => {
                tracing::warn!("uplink: cannot enroll yet ({e}); retrying in the background");
                None
            }
            Err(e) => return Err(e),
        };
        let (spool, problems) = Spool::open(&cfg.state_dir.join("spool"), cfg.spool_max_bytes)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            queue_dropped: AtomicU64::new(0),
            max_queued: cfg.max_queued,
            status: Mutex::new(UplinkStatus {
                server: cfg.server.as_str().to_string(),
                agent_id: ident.as_ref().map(|i| i.agent_id.clone()),
                state: if ident.is_some() {
                    "connecting"
                } else {
                    "enrolling"
                }
                .into(),
                spool_batches: spool.batches() as u64,
                spool_alerts: spool.alerts(),
                spool_bytes: spool.bytes(),
                spool_max_bytes: spool.max_bytes(),
                spool_files_set_aside: spool.corrupt_files(),
                last_error: problems.first().map(|p| {
                    format!(
                        "spool: {} set aside ({}) and {} more",
                        p.path.display(),
                        p.reason,
                        problems.len() - 1
                    )
                }),
                ..UplinkStatus::default()
            }),
        });
        let status_path = status_path(&cfg.state_dir);
        let mut worker = Worker {
            client: None,
            ident,
            spool,
            health,
            inventory,
            policy,
            shared: Arc::clone(&shared),
            failures: 0,
            next_try: Instant::now(),
            next_heartbeat: Instant::now(),
            next_inventory: Instant::now(),
            inventory_job: None,
            inventory_ready: None,
            policy_fetched: None,
            revoked: false,
            cfg,
        };
        let thread = std::thread::Builder::new()
            .name("garrison-uplink".into())
            .spawn(move || worker.run())
            .map_err(error::io("starting the uplink thread for", &status_path))?;
        Ok(Uplink {
            shared,
            thread: Some(thread),
            status_path,
        })
    }

    /// An alert output for the agent's dispatcher.
    pub fn sink(&self) -> UplinkSink {
        UplinkSink {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Queues one alert (`garrison agent --format json`'s alert object).
    pub fn push_alert(&self, alert: Value) {
        self.shared.push(alert);
    }

    /// The current status.
    pub fn status(&self) -> UplinkStatus {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Where the status is written.
    pub fn status_path(&self) -> &Path {
        &self.status_path
    }

    /// Stops: queued alerts are sealed into the spool (delivered now if the server
    /// answers, else at the next start), the status is written a last time.
    pub fn stop(mut self) -> UplinkStatus {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.status()
    }
}

impl Drop for Uplink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type InventoryResult = Result<Vec<Value>, String>;

/// A failed inventory scan is tried again after this long (or the period, if shorter).
const INVENTORY_RETRY: Duration = Duration::from_secs(15 * 60);

struct Worker {
    cfg: Config,
    client: Option<Client>,
    ident: Option<Identity>,
    spool: Spool,
    health: HealthFn,
    inventory: Option<InventoryFn>,
    policy: Arc<PolicyState>,
    shared: Arc<Shared>,
    failures: u32,
    next_try: Instant,
    next_heartbeat: Instant,
    next_inventory: Instant,
    inventory_job: Option<JoinHandle<InventoryResult>>,
    /// A report ready to send, with its batch ID (stable across retries).
    inventory_ready: Option<(String, Vec<Value>)>,
    policy_fetched: Option<String>,
    revoked: bool,
}

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    stored: i64,
    #[serde(default)]
    duplicate: bool,
}

impl Worker {
    fn set_status(&self, f: impl FnOnce(&mut UplinkStatus)) {
        if let Ok(mut s) = self.shared.status.lock() {
            f(&mut s);
        }
    }

    fn backoff(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self
            .cfg
            .backoff_min
            .saturating_mul(1u32 << self.failures.min(16).saturating_sub(1))
            .min(self.cfg.backoff_max);
        // Full jitter in [exp/2, exp]: agents that lost the server together do
        // not come back together.
        let ms = exp.as_millis().min(u128::from(u64::MAX)) as u64;
        let jittered = ms / 2 + rand::random::<u64>() % (ms / 2 + 1);
        Duration::from_millis(jittered.max(1))
    }

    fn seal(&mut self) {
        let taken: Vec<Value> = match self.shared.queue.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        if taken.is_empty() {
            return;
        }
        let mut rest = taken;
        while !rest.is_empty() {
            let n = rest.len().min(self.cfg.batch_max.max(1));
            let chunk: Vec<Value> = rest.drain(..n).collect();
            let count = chunk.len() as u64;
            if let Err(e) = self.spool.push(chunk) {
                // The disk refused: these alerts cannot be kept. Counted and said.
                tracing::error!("uplink: {count} alert(s) could not be spooled: {e}");
                self.shared
                    .queue_dropped
                    .fetch_add(count, Ordering::Relaxed);
                self.set_status(|s| s.last_error = Some(format!("spool: {e}")));
            }
        }
    }

    fn ensure_client(&mut self) -> Result<Client, UplinkError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        if self.ident.is_none() {
            let id = Identity::load_or_enroll(
                &self.cfg.state_dir,
                &self.cfg.server,
                &self.cfg.hostname,
                self.cfg.enrollment.as_ref(),
            )?;
            let agent_id = id.agent_id.clone();
            self.set_status(|s| s.agent_id = Some(agent_id));
            self.ident = Some(id);
        }
        let ident = self
            .ident
            .as_ref()
            .ok_or_else(|| UplinkError::NotEnrolled(self.cfg.state_dir.clone()))?;
        let c = ident.client(&self.cfg.server)?;
        self.client = Some(c.clone());
        Ok(c)
    }

    fn heartbeat(&mut self, c: &Client) -> Result<(), UplinkError> {
        let h = (self.health)();
        let mut counters = h.counters;
        let st = self.snapshot_counts();
        counters.insert("uplink_alerts_delivered".into(), st.alerts_delivered);
        counters.insert("uplink_alerts_dropped".into(), st.alerts_dropped);
        counters.insert("uplink_spool_alerts".into(), st.spool_alerts);
        counters.insert(
            "uplink_spool_files_set_aside".into(),
            st.spool_files_set_aside,
        );
        let mut body = json!({
            "sent_at": sent_at(),
            "version": self.cfg.version,
            "kernel": kernel(),
            "sensor_mode": h.sensor_mode,
            "counters": counters,
            "lost_events": h.lost_events,
        });
        if let Some(v) = self.policy.applied() {
            body["policy_version"] = Value::String(v);
        }
        let a = c.post_json(
            "sending a heartbeat to",
            "/api/v1/agent/heartbeat",
            body.to_string().as_bytes(),
        )?;
        self.set_status(|s| s.heartbeats_sent += 1);
        let ans: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
        let wanted = ans
            .get("policy_version")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.set_status(|s| s.policy_wanted.clone_from(&wanted));
        // A policy that cannot be fetched or installed must not stop heartbeats or
        // alerts: it is said, and tried again (at the next heartbeat if transient).
        let w = wanted.clone();
        if let Err(e) = self.pick_up_policy(c, wanted) {
            tracing::warn!("uplink: policy not picked up: {e}");
            if !e.is_transient() {
                self.policy_fetched = w;
            }
            self.set_status(|s| s.policy_error = Some(e.to_string()));
        }
        Ok(())
    }

    fn pick_up_policy(&mut self, c: &Client, wanted: Option<String>) -> Result<(), UplinkError> {
        let dir = self.cfg.state_dir.join("policy");
        let Some(w) = wanted else {
            // The server wants no policy: drop an installed one (local rules only).
            let cur = dir.join("current.json");
            if cur.exists() {
                std::fs::remove_file(&cur).map_err(error::io("removing", &cur))?;
                self.policy_fetched = None;
                tracing::info!("uplink: the server wants no policy; local rules only");
            }
            return Ok(());
        };
        if self.policy.applied().as_deref() == Some(w.as_str())
            || self.policy_fetched.as_deref() == Some(w.as_str())
        {
            return Ok(());
        }
        let url = self.cfg.server.join("/api/v1/agent/policy");
        let a = c.get("fetching the policy from", "/api/v1/agent/policy")?;
        let p: policy::Policy = serde_json::from_str(&a.body).map_err(|e| UplinkError::Policy {
            url: url.clone(),
            reason: format!("not a policy: {e}"),
        })?;
        self.policy_fetched = Some(w.clone());
        if let Err(e) = policy::check(&p, &url) {
            self.set_status(|s| s.policy_error = Some(e.to_string()));
            tracing::warn!("uplink: {e}");
            return Ok(());
        }
        if p.version != w {
            tracing::warn!(
                "uplink: the heartbeat asked for policy {w}, the server sent {}",
                p.version
            );
        }
        policy::install(&dir, &p)?;
        self.set_status(|s| s.policy_error = None);
        tracing::info!(
            "uplink: policy {} installed ({} rule files); the rules engine reloads it",
            p.version,
            p.rules.len()
        );
        Ok(())
    }

    fn snapshot_counts(&self) -> UplinkStatus {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Sends spooled batches until the spool is empty, `budget` is spent or a send fails.
    fn deliver(&mut self, c: &Client, budget: Duration) -> Result<(), UplinkError> {
        let until = Instant::now() + budget;
        while Instant::now() < until {
            let (entry, batch) = match self.spool.front() {
                Ok(Some(x)) => x,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.set_status(|s| s.last_error = Some(e.to_string()));
                    continue;
                }
            };
            let body = json!({
                "batch_id": batch.batch_id,
                "sent_at": sent_at(),
                "alerts": batch.alerts,
            });
            match c.post_json(
                "sending alerts to",
                "/api/v1/agent/alerts",
                body.to_string().as_bytes(),
            ) {
                Ok(a) => {
                    let ans: BatchAnswer =
                        serde_json::from_str(&a.body).map_err(|e| UplinkError::Answer {
                            op: "sending alerts to",
                            url: self.cfg.server.join("/api/v1/agent/alerts"),
                            reason: e.to_string(),
                        })?;
                    self.spool.remove(&entry)?;
                    self.set_status(|s| {
                        if ans.duplicate {
                            s.duplicate_batches += 1;
                        } else {
                            s.alerts_delivered += u64::try_from(ans.stored).unwrap_or(0);
                        }
                    });
                }
                Err(e) if e.is_transient() || e.is_refused() => return Err(e),
                Err(e) => {
                    // The server says this batch is invalid: retrying cannot help.
                    let moved = self.spool.reject(&entry, &e.to_string())?;
                    tracing::error!(
                        "uplink: the server refused batch {} ({} alerts): {e}; set aside in {}",
                        batch.batch_id,
                        entry.alerts,
                        moved.display()
                    );
                    let n = entry.alerts;
                    self.set_status(|s| {
                        s.alerts_refused += n;
                        s.last_error = Some(e.to_string());
                    });
                }
            }
        }
        Ok(())
    }

    fn poll_inventory(&mut self) {
        let Some(inv) = self.inventory.clone() else {
            return;
        };
        if self.inventory_job.as_ref().is_some_and(|j| j.is_finished()) {
            if let Some(job) = self.inventory_job.take() {
                match job.join() {
                    Ok(Ok(reports)) => {
                        let (skipped, reports): (Vec<Value>, Vec<Value>) = reports
                            .into_iter()
                            .partition(|r| r.get("skipped").is_some());
                        let skipped: Vec<String> = skipped
                            .iter()
                            .map(|r| match &r["skipped"] {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect();
                        self.set_status(|s| {
                            s.inventory_error = None;
                            s.inventory_skipped = skipped;
                        });
                        self.inventory_ready = Some((uuid::Uuid::new_v4().to_string(), reports))
                    }
                    Ok(Err(e)) => {
                        // Retried sooner than the period (a database may be imported meanwhile).
                        self.next_inventory =
                            self.next_inventory.min(Instant::now() + INVENTORY_RETRY);
                        tracing::warn!("uplink: inventory scan failed: {e}");
                        self.set_status(|s| s.inventory_error = Some(e));
                    }
                    Err(_) => tracing::error!("uplink: the inventory scan panicked"),
                }
            }
        }
        if self.inventory_job.is_none() && Instant::now() >= self.next_inventory {
            self.next_inventory = Instant::now() + self.cfg.inventory_every;
            match std::thread::Builder::new()
                .name("garrison-inventory".into())
                .spawn(move || inv())
            {
                Ok(j) => self.inventory_job = Some(j),
                Err(e) => tracing::warn!("uplink: cannot start the inventory scan: {e}"),
            }
        }
    }

    fn send_inventory(&mut self, c: &Client) -> Result<(), UplinkError> {
        let Some((id, reports)) = &self.inventory_ready else {
            return Ok(());
        };
        let body = json!({"batch_id": id, "sent_at": sent_at(), "reports": reports});
        match c.post_json(
            "sending inventory to",
            "/api/v1/agent/inventory",
            body.to_string().as_bytes(),
        ) {
            Ok(_) => {
                let n = reports.len() as u64;
                self.inventory_ready = None;
                self.set_status(|s| {
                    s.inventory_sent += n;
                    s.last_inventory_unix = Some(unix_now());
                });
                Ok(())
            }
            Err(e) if e.is_transient() || e.is_refused() => Err(e),
            Err(e) => {
                tracing::error!("uplink: the server refused the inventory report: {e}");
                self.inventory_ready = None;
                self.set_status(|s| s.last_error = Some(e.to_string()));
                Ok(())
            }
        }
    }

    fn round(&mut self, budget: Duration) -> Result<(), UplinkError> {
        let c = self.ensure_client()?;
        if Instant::now() >= self.next_heartbeat {
            match self.heartbeat(&c) {
                Ok(()) => {}
                // Down, busy, revoked: back off (alerts would fail the same way).
                Err(e) if e.is_transient() || e.is_refused() => return Err(e),
                // The server refused this heartbeat's content: say so, deliver anyway.
                Err(e) => {
                    tracing::warn!("uplink: heartbeat refused: {e}");
                    self.set_status(|s| s.last_error = Some(e.to_string()));
                }
            }
            self.next_heartbeat = Instant::now() + self.cfg.heartbeat_every;
        }
        self.deliver(&c, budget)?;
        self.send_inventory(&c)
    }

    fn write_status(&self, state: Option<&str>) {
        let applied = self.policy.applied();
        let perr = self.policy.error();
        let dropped =
            self.spool.dropped_alerts() + self.shared.queue_dropped.load(Ordering::Relaxed);
        let queued = self
            .shared
            .queue
            .lock()
            .map(|q| q.len() as u64)
            .unwrap_or(0);
        let now = Instant::now();
        self.set_status(|s| {
            if let Some(st) = state {
                s.state = st.to_string();
            }
            s.alerts_queued = queued;
            s.spool_batches = self.spool.batches() as u64;
            s.spool_alerts = self.spool.alerts();
            s.spool_bytes = self.spool.bytes();
            s.spool_max_bytes = self.spool.max_bytes();
            s.alerts_dropped = dropped;
            s.spool_files_set_aside = self.spool.corrupt_files();
            s.policy_version = applied;
            if perr.is_some() {
                s.policy_error = perr;
            }
            s.backoff_ms = self.next_try.saturating_duration_since(now).as_millis() as u64;
            s.updated_unix = unix_now();
        });
        let st = self.snapshot_counts();
        if let Ok(text) = serde_json::to_vec_pretty(&st) {
            if let Err(e) = identity::write_atomic(&status_path(&self.cfg.state_dir), &text, 0o644)
            {
                tracing::warn!("uplink: {e}");
            }
        }
    }

    fn run(&mut self) {
        let mut last_seal = Instant::now();
        let mut next_status = Instant::now();
        let mut reported_dropped = 0;
        loop {
            let stopping = self.shared.stop.load(Ordering::Relaxed);
            let queued = self.shared.queue.lock().map(|q| q.len()).unwrap_or(0);
            if stopping
                || queued >= self.cfg.batch_max
                || last_seal.elapsed() >= self.cfg.seal_every
            {
                self.seal();
                last_seal = Instant::now();
            }
            self.poll_inventory();
            let now = Instant::now();
            if !self.revoked && (now >= self.next_try || stopping) {
                let budget = if stopping {
                    Duration::from_secs(5)
                } else {
                    Duration::from_millis(500)
                };
                match self.round(budget) {
                    Ok(()) => {
                        self.failures = 0;
                        self.set_status(|s| {
                            s.state = "connected".into();
                            s.last_success_unix = Some(unix_now());
                            s.last_error = None;
                        });
                    }
                    Err(e) if e.is_refused() && self.ident.is_some() => {
                        self.revoked = true;
                        tracing::error!(
                            "uplink: the server refuses this agent ({e}); stopped talking to it. Alerts stay in the spool; enroll again to resume"
                        );
                        self.set_status(|s| {
                            s.state = "revoked".into();
                            s.last_error = Some(e.to_string());
                        });
                    }
                    Err(e) => {
                        let wait = self.backoff();
                        self.next_try = Instant::now() + wait;
                        // A new connection (and client) on the next attempt.
                        if !e.is_transient() {
                            self.client = None;
                        }
                        tracing::warn!("uplink: {e}; retrying in {} ms", wait.as_millis());
                        self.set_status(|s| {
                            s.state = "retrying".into();
                            s.last_error = Some(e.to_string());
                        });
                    }
                }
            }
            let dropped =
                self.spool.dropped_alerts() + self.shared.queue_dropped.load(Ordering::Relaxed);
            if dropped > reported_dropped {
                tracing::warn!(
                    "uplink: {} alert(s) dropped in all because the spool ({} bytes) or the queue was full",
                    dropped,
                    self.spool.max_bytes()
                );
                reported_dropped = dropped;
            }
            if stopping {
                self.write_status(Some("stopped"));
                return;
            }
            if Instant::now() >= next_status {
                self.write_status(None);
                next_status = Instant::now() + Duration::from_secs(2);
            }
            if let Ok(q) = self.shared.queue.lock() {
                if q.len() < self.cfg.batch_max && !self.shared.stop.load(Ordering::Relaxed) {
                    let _ = self.shared.wake.wait_timeout(q, Duration::from_millis(200));
                }
            }
        }
    }
}
