//! The running engine: the current ruleset behind an atomic swap (a reload that
//! fails keeps the previous one in force), per-worker detectors, and a pool of
//! workers that shards events by pid so each process's events stay in order.

use crate::alert::{prepare_for_render, Alert};
use crate::fields::Ctx;
use crate::ruleset::{LoadErrors, LoadOptions, RuleSet};
use arc_swap::ArcSwap;
use garrison_event::{Event, Interest};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The outcome of a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The new ruleset is in force.
    Applied {
        /// Enabled rules now loaded.
        rules: usize,
    },
    /// The files did not load; the previous ruleset stays in force.
    Kept {
        /// Why.
        errors: String,
    },
}

/// The engine: a ruleset that can be swapped atomically while detectors run.
pub struct Engine {
    current: ArcSwap<RuleSet>,
    paths: Vec<PathBuf>,
    stamps: Mutex<Vec<(PathBuf, Option<std::time::SystemTime>)>>,
    last_error: Mutex<Option<String>>,
    hostname: String,
}

impl Engine {
    /// Loads the rules at `paths` (files or directories); fails when they do not load.
    pub fn load(paths: Vec<PathBuf>, hostname: impl Into<String>) -> Result<Engine, LoadErrors> {
        let set = RuleSet::load_paths(&paths, LoadOptions::default())?;
        let stamps = Mutex::new(stamps(&set.files));
        Ok(Engine {
            current: ArcSwap::from_pointee(set),
            stamps,
            paths,
            last_error: Mutex::new(None),
            hostname: hostname.into(),
        })
    }

    /// An engine around an already compiled ruleset (reloads read `paths`).
    pub fn with_ruleset(set: RuleSet, paths: Vec<PathBuf>, hostname: impl Into<String>) -> Engine {
        Engine {
            stamps: Mutex::new(stamps(&set.files)),
            current: ArcSwap::from_pointee(set),
            paths,
            last_error: Mutex::new(None),
            hostname: hostname.into(),
        }
    }

    /// Re-reads the files. On success the new ruleset replaces the old one at once
    /// (events already being evaluated finish on the old one); on failure the old one
    /// stays and the reason is returned and kept for [`Engine::last_error`].
    pub fn reload(&self) -> Reload {
        let files_now = list_files(&self.paths);
        if let Ok(mut s) = self.stamps.lock() {
            *s = stamps(&files_now);
        }
        match RuleSet::load_paths(&self.paths, LoadOptions::default()) {
            Ok(set) => {
                let rules = set.rules().iter().filter(|r| r.enabled).count();
                self.current.store(Arc::new(set));
                if let Ok(mut e) = self.last_error.lock() {
                    *e = None;
                }
                Reload::Applied { rules }
            }
            Err(e) => {
                let errors = format!("reload refused, previous rules stay in force: {e}");
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(errors.clone());
                }
                Reload::Kept { errors }
            }
        }
    }

    /// Puts an already compiled ruleset in force, as a successful reload would
    /// (detectors pick it up at their next event); answers its enabled rules.
    pub fn replace(&self, set: RuleSet) -> usize {
        let rules = set.rules().iter().filter(|r| r.enabled).count();
        if let Ok(mut s) = self.stamps.lock() {
            *s = stamps(&set.files);
        }
        self.current.store(Arc::new(set));
        if let Ok(mut e) = self.last_error.lock() {
            *e = None;
        }
        rules
    }

    /// Whether a rules file was added, removed or modified since the last load or
    /// reload attempt (poll it to reload on file change).
    pub fn files_changed(&self) -> bool {
        let now = stamps(&list_files(&self.paths));
        self.stamps.lock().map(|s| *s != now).unwrap_or(true)
    }

    /// The files and directories the rules are read from (empty for a ruleset that
    /// was not read from files, such as the embedded default: nothing to reload).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Why the last reload was refused, while that is still the case.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// The ruleset in force.
    pub fn ruleset(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    /// The interest for the sensors, from the ruleset in force.
    pub fn interest(&self) -> Interest {
        self.current.load().interest()
    }

    /// A detector (one per worker thread).
    pub fn detector(self: &Arc<Self>) -> Detector {
        let set = self.ruleset();
        Detector {
            state: set.state(),
            set,
            engine: Arc::clone(self),
            ctx: Ctx::new(self.hostname.clone()),
            hits: Vec::new(),
        }
    }
}

/// Evaluates events on one thread.
pub struct Detector {
    engine: Arc<Engine>,
    set: Arc<RuleSet>,
    state: crate::expr::EvalState,
    ctx: Ctx,
    hits: Vec<usize>,
}

impl Detector {
    /// Evaluates one event, calling `emit` for each alert. Picks up a reloaded
    /// ruleset between events.
    pub fn process(&mut self, ev: &Event, mut emit: impl FnMut(Alert)) {
        let current = self.engine.current.load();
        if !Arc::ptr_eq(&*current, &self.set) {
            self.set = Arc::clone(&*current);
            self.state = self.set.state();
        }
        drop(current);
        self.ctx.prepare(ev, self.set.needs_for(ev.kind()));
        self.hits.clear();
        self.set
            .matches(ev, &self.ctx, &mut self.state, &mut self.hits);
        if self.hits.is_empty() {
            return;
        }
        prepare_for_render(&mut self.ctx, ev);
        for &i in &self.hits {
            if let Some(rule) = self.set.rule(i) {
                emit(Alert::new(&self.set, rule, ev, &self.ctx));
            }
        }
    }

    /// How many rules matched the last event (without building alerts).
    pub fn count(&mut self, ev: &Event) -> usize {
        self.ctx.prepare(ev, self.set.needs_for(ev.kind()));
        self.hits.clear();
        self.set
            .matches(ev, &self.ctx, &mut self.state, &mut self.hits);
        self.hits.len()
    }
}

/// A pool of detector threads; events are sharded by pid so that one process's
/// events are evaluated in order. Alerts go to one channel.
pub struct Pool {
    senders: Vec<SyncSender<Event>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` workers (at least one); alerts are sent to `alerts`.
    pub fn start(engine: &Arc<Engine>, n: usize, alerts: SyncSender<Alert>) -> Pool {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..n.max(1) {
            let (tx, rx): (SyncSender<Event>, Receiver<Event>) = sync_channel(4096);
            let mut det = engine.detector();
            let out = alerts.clone();
            workers.push(std::thread::spawn(move || {
                for ev in rx {
                    det.process(&ev, |a| {
                        let _ = out.send(a);
                    });
                }
            }));
            senders.push(tx);
        }
        Pool { senders, workers }
    }

    /// Queues an event (blocks when the worker's queue is full: back-pressure,
    /// never a silent drop). Fails, giving the event back, when the worker is gone.
    #[allow(clippy::result_large_err)]
    pub fn submit(&self, ev: Event) -> Result<(), Event> {
        let n = self.senders.len();
        let idx = (ev.process.pid as usize).wrapping_mul(0x9E37_79B9) % n.max(1);
        match self.senders.get(idx) {
            Some(tx) => tx.send(ev).map_err(|e| e.0),
            None => Err(ev),
        }
    }

    /// Closes the queues and waits for the workers to finish what they hold.
    pub fn finish(self) {
        drop(self.senders);
        for w in self.workers {
            let _ = w.join();
        }
    }
}

fn list_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    crate::ruleset::rule_files(paths)
}

fn stamps(files: &[PathBuf]) -> Vec<(PathBuf, Option<std::time::SystemTime>)> {
    files
        .iter()
        .map(|f| {
            (
                f.clone(),
                std::fs::metadata(f).and_then(|m| m.modified()).ok(),
            )
        })
        .collect()
}
