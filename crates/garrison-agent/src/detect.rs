//! Detectors: what turns the agent's enriched events into alerts. The rules engine
//! is one ([`RulesDetector`]); others (file integrity monitoring, ...) implement the
//! same [`Detector`] trait so that their alerts go through the same grouping, rate
//! limits and outputs.
//!
//! The pipeline calls, on its single writer thread:
//! - [`Detector::interest`] at start and after every reload; the union of every
//!   detector's interest (and the kinds streamed with `--events`) is what the
//!   source delivers;
//! - [`Detector::on_event`] for every enriched event, in order (the exec, fork and
//!   exit events that keep the process tree are included), whatever `--events` says;
//! - [`Detector::tick`] about once a second with the wall-clock time;
//! - [`Detector::reload`] on SIGHUP (and when [`Detector::wants_reload`] says a
//!   watched file changed); a failed reload keeps the previous state in force;
//! - [`Detector::status`] when the status file is written.
//!
//! A detector whose per-event work needs no state shared between processes offers
//! [`Detector::evaluator`]: the pipeline then runs one evaluator per worker thread
//! and shards events by process (tgid), so each evaluator sees every event of the
//! processes it is given, in order, and the detector's own `on_event` is not
//! called. The alerts are merged back in event order (see the crate docs), so the
//! grouping, rate limits and outputs see exactly what one thread would produce.

use garrison_event::{Event, Interest};
use garrison_rules::{Engine, Reload};
use std::sync::Arc;

pub use garrison_rules::Alert;

/// The outcome of [`Detector::reload`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// Nothing to reload (no configuration read from files).
    Unchanged,
    /// The new configuration is in force; a one-line description.
    Applied(String),
    /// It did not load; the previous one stays in force. Why.
    Kept(String),
}

/// Something that turns enriched events into alerts.
pub trait Detector: Send {
    /// A short stable name (`rules`, `fim`): status keys and messages.
    fn name(&self) -> &str;

    /// The events it needs from the source. Only `kinds`, `read_prefixes` and
    /// `ignore_prefixes` are merged: kinds and read prefixes are unioned, ignored
    /// prefixes are kept only when every detector ignores them.
    fn interest(&self) -> Interest;

    /// One enriched event; call `emit` for each alert it raises.
    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert));

    /// An evaluator for one worker thread, when this detector's `on_event` may run
    /// on several threads at once (each seeing whole processes: all the events of a
    /// tgid, in order). `None` (the default): `on_event` runs on the pipeline thread.
    fn evaluator(&self) -> Option<Box<dyn Evaluator>> {
        None
    }

    /// Called about once a second (`now_ns`: wall clock, ns since the epoch), for
    /// detectors that scan or expire state; alerts may be emitted here too.
    fn tick(&mut self, _now_ns: u64, _emit: &mut dyn FnMut(Alert)) {}

    /// Re-reads configuration (SIGHUP). The default has nothing to reload.
    fn reload(&mut self) -> Reloaded {
        Reloaded::Unchanged
    }

    /// Whether a watched configuration file changed since the last (re)load; polled
    /// every few seconds, a `true` triggers [`Detector::reload`].
    fn wants_reload(&mut self) -> bool {
        false
    }

    /// What to show in `garrison agent status` under `detectors.<name>`.
    fn status(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// The per-event half of a detector, run on a worker thread (see
/// [`Detector::evaluator`]).
pub trait Evaluator: Send {
    /// One enriched event; call `emit` for each alert it raises (the same alerts,
    /// in the same order, as the detector's `on_event` would).
    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert));
}

/// Merges detector interests (see [`Detector::interest`]) into `base`.
pub fn merge_interest(base: &mut Interest, other: &Interest) {
    base.kinds.extend(other.kinds.iter().copied());
    for p in &other.read_prefixes {
        if !base.read_prefixes.contains(p) {
            base.read_prefixes.push(p.clone());
        }
    }
    base.ignore_prefixes
        .retain(|p| other.ignore_prefixes.contains(p));
    // A detector that insists on a costly kind (see `Interest::costly_ok`) gets it.
    base.costly_ok.extend(other.costly_ok.iter().copied());
}

/// The rules engine as a detector: the ruleset in force evaluated on every event.
pub struct RulesDetector {
    engine: Arc<Engine>,
    detector: garrison_rules::Detector,
    version: String,
}

impl RulesDetector {
    /// A detector over `engine`.
    pub fn new(engine: Arc<Engine>) -> RulesDetector {
        let version = engine.ruleset().version();
        RulesDetector {
            detector: engine.detector(),
            engine,
            version,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

/// A worker's share of the rules engine.
struct RulesEvaluator(garrison_rules::Detector);

impl Evaluator for RulesEvaluator {
    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        self.0.process(ev, emit);
    }
}

impl Detector for RulesDetector {
    fn name(&self) -> &str {
        "rules"
    }

    fn interest(&self) -> Interest {
        self.engine.interest()
    }

    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        self.detector.process(ev, emit);
    }

    fn evaluator(&self) -> Option<Box<dyn Evaluator>> {
        // The rules keep no state between events (the macro cache is per event), and
        // each worker's detector picks up a reloaded ruleset at its next event.
        Some(Box::new(RulesEvaluator(self.engine.detector())))
    }

    fn reload(&mut self) -> Reloaded {
        if self.engine.paths().is_empty() {
            return Reloaded::Unchanged;
        }
        match self.engine.reload() {
            Reload::Applied { rules } => {
                self.version = self.engine.ruleset().version();
                Reloaded::Applied(format!("{rules} rules loaded (version {})", self.version))
            }
            Reload::Kept { errors } => Reloaded::Kept(errors),
        }
    }

    fn wants_reload(&mut self) -> bool {
        !self.engine.paths().is_empty() && self.engine.files_changed()
    }

    fn status(&self) -> serde_json::Value {
        let set = self.engine.ruleset();
        serde_json::json!({
            "rules_loaded": set.rules().iter().filter(|r| r.enabled).count(),
            "version": self.version,
            "files": set.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "reload_error": self.engine.last_error(),
        })
    }
}
