//! Scheduled re-checks inside the agent: a background thread compares the present
//! state with the sealed baseline every interval (as `garrison fim check` does) and
//! hands the report to the FIM detector, which turns changes not yet reported into
//! alerts. This catches what real-time events cannot: changes made while the agent
//! was stopped, or by a path the sensor did not see (a raw block device write, an
//! offline edit of a mounted snapshot).

use crate::scan::{self, Change, Mode, Report, ScanOptions};
use crate::store::Key;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one scheduled run produced.
#[derive(Debug)]
pub enum Outcome {
    /// The check ran; its report.
    Checked(Box<Report>),
    /// The check could not run (a tampered or missing baseline, a bad key): why.
    Failed(String),
}

/// Where the baseline is and how often to check it.
#[derive(Debug, Clone)]
pub struct RecheckConfig {
    /// The sealed baseline (`DATA/fim/baseline.db`).
    pub baseline: PathBuf,
    /// The key that seals it.
    pub key: PathBuf,
    /// Time between the end of one run and the start of the next (the first run
    /// starts one interval after the agent).
    pub every: Duration,
    /// Rehash every file (`check --full`), not only those whose inode, size, mtime
    /// or ctime changed.
    pub full: bool,
    /// Hashing threads (`None`: one, to stay light beside the workloads).
    pub workers: Option<usize>,
}

/// The background re-check thread and what it has reported.
pub struct Recheck {
    config: RecheckConfig,
    rx: Receiver<Outcome>,
    stop: Arc<AtomicBool>,
    /// Signatures of the changes reported by the last run (a change stays in the
    /// report until `fim update` accepts it; it is alerted once).
    reported: std::collections::HashSet<String>,
    runs: u64,
    last_error: Option<String>,
    last_changes: usize,
}

impl Recheck {
    /// Starts the thread.
    pub fn start(config: RecheckConfig) -> Recheck {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let c = config.clone();
        let spawned = std::thread::Builder::new()
            .name("fim-recheck".into())
            .spawn(move || {
                while wait(&thread_stop, c.every) {
                    if tx.send(run_once(&c)).is_err() {
                        return;
                    }
                }
            });
        let last_error = spawned
            .err()
            .map(|e| format!("start the re-check thread: {e}"));
        Recheck {
            config,
            rx,
            stop,
            reported: Default::default(),
            runs: 0,
            last_error,
            last_changes: 0,
        }
    }

    /// The outcomes that arrived since the last call, with each run's changes
    /// reduced to those not reported by the previous run.
    pub fn drain(&mut self) -> Vec<Outcome> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(Outcome::Checked(mut report)) => {
                    self.runs += 1;
                    self.last_error = None;
                    self.last_changes = report.changes.len();
                    let now: std::collections::HashSet<String> =
                        report.changes.iter().map(signature).collect();
                    report
                        .changes
                        .retain(|c| !self.reported.contains(&signature(c)));
                    self.reported = now;
                    out.push(Outcome::Checked(report));
                }
                Ok(Outcome::Failed(why)) => {
                    self.runs += 1;
                    // A failure is alerted when it starts, not on every run.
                    if self.last_error.as_deref() != Some(why.as_str()) {
                        out.push(Outcome::Failed(why.clone()));
                    }
                    self.last_error = Some(why);
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return out,
            }
        }
    }

    /// For `garrison agent status`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "baseline": self.config.baseline,
            "every_seconds": self.config.every.as_secs(),
            "full": self.config.full,
            "runs": self.runs,
            "changes_in_last_run": self.last_changes,
            "last_error": self.last_error,
        })
    }
}

impl Drop for Recheck {
    fn drop(&mut self) {
        // The thread notices within a quarter second (or when its run ends).
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sleeps `every` in short steps; false when asked to stop.
fn wait(stop: &AtomicBool, every: Duration) -> bool {
    let until = Instant::now() + every;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(250)));
    }
}

fn run_once(c: &RecheckConfig) -> Outcome {
    let result = (|| {
        let key = Key::load(&c.key)?;
        let (db, config) = scan::open_verified(&c.baseline, &key)?;
        let opts = ScanOptions {
            full: c.full,
            workers: Some(c.workers.unwrap_or(1)),
            progress: None,
        };
        scan::check(&db, &config, Mode::Check, &opts, &key)
    })();
    match result {
        Ok(report) => Outcome::Checked(Box::new(report)),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// What identifies a change across runs: where, what kind, and the new values.
fn signature(c: &Change) -> String {
    let mut s = format!(
        "{}\0{}\0{}\0{}",
        c.container.as_ref().map(|x| x.name.as_str()).unwrap_or(""),
        c.path,
        c.change.as_str(),
        c.from.as_deref().unwrap_or("")
    );
    for a in &c.attributes {
        s.push('\0');
        s.push_str(a.attribute);
        s.push('=');
        s.push_str(&a.new);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn setup() -> (tempfile::TempDir, RecheckConfig) {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(tree.join("a.conf"), "one\n").unwrap();
        std::fs::write(tree.join("b.conf"), "two\n").unwrap();
        let config = Config::parse(
            &format!("[[watch]]\npath = \"{}\"\n", tree.display()),
            "test",
        )
        .unwrap();
        let key_path = dir.path().join("k/fim.key");
        let key = Key::load_or_create(&key_path).unwrap();
        let baseline = dir.path().join("data/baseline.db");
        scan::init(&config, &baseline, &key, &ScanOptions::default()).unwrap();
        let rc = RecheckConfig {
            baseline,
            key: key_path,
            every: Duration::from_millis(50),
            full: false,
            workers: Some(1),
        };
        (dir, rc)
    }

    /// Drains until the thread has finished `runs` more runs (every 50 ms).
    fn next(r: &mut Recheck, runs: u64) -> Vec<Outcome> {
        let target = r.runs + runs;
        let mut got = Vec::new();
        for _ in 0..600 {
            got.extend(r.drain());
            if r.runs >= target {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("fewer than {runs} re-check runs in 30 s: {got:?}");
    }

    #[test]
    fn a_change_is_reported_once_and_a_tampered_baseline_once() {
        let (dir, rc) = setup();
        let tree = dir.path().join("tree");
        let mut r = Recheck::start(rc.clone());
        // Unchanged: runs report nothing.
        match &next(&mut r, 1)[0] {
            Outcome::Checked(rep) => assert!(rep.changes.is_empty(), "{:?}", rep.changes),
            o => panic!("{o:?}"),
        }
        std::fs::write(tree.join("a.conf"), "one changed\n").unwrap();
        std::fs::remove_file(tree.join("b.conf")).unwrap();
        // The next runs that see the change report it once, then no more.
        let mut seen: Vec<(String, &'static str)> = Vec::new();
        for o in next(&mut r, 4) {
            match o {
                Outcome::Checked(rep) => seen.extend(
                    rep.changes
                        .iter()
                        .map(|c| (c.path.clone(), c.change.as_str())),
                ),
                o => panic!("{o:?}"),
            }
        }
        seen.sort();
        let a = tree.join("a.conf").display().to_string();
        let b = tree.join("b.conf").display().to_string();
        assert_eq!(seen, vec![(a, "modified"), (b, "removed")]);
        assert_eq!(r.status()["changes_in_last_run"], 2);

        // A baseline changed behind Garrison's back fails, reported once.
        let conn = rusqlite::Connection::open(&rc.baseline).unwrap();
        conn.execute_batch("UPDATE meta SET value = 'x' WHERE key = 'created'")
            .unwrap();
        drop(conn);
        let mut failures = Vec::new();
        for o in next(&mut r, 4) {
            if let Outcome::Failed(why) = o {
                failures.push(why);
            }
        }
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("TAMPERED"), "{}", failures[0]);
        assert!(r.status()["last_error"].is_string());
    }

    #[test]
    fn the_detector_turns_scheduled_changes_into_alerts() {
        use crate::realtime::{FimDetector, SCHEDULED_RULE};
        use garrison_agent::detect::Detector;
        let (dir, rc) = setup();
        let tree = dir.path().join("tree");
        std::fs::write(tree.join("c.conf"), "new\n").unwrap();
        let config = Config::parse(
            &format!("[[watch]]\npath = \"{}\"\n", tree.display()),
            "test",
        )
        .unwrap();
        let mut d = FimDetector::new(config, None).with_recheck(Recheck::start(rc));
        let mut alerts = Vec::new();
        for _ in 0..600 {
            d.tick(1, &mut |a| alerts.push(a));
            if !alerts.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = serde_json::to_value(&alerts[0]).unwrap();
        assert_eq!(a["rule"], SCHEDULED_RULE, "{a}");
        let path = tree.join("c.conf").display().to_string();
        assert_eq!(a["fields"]["fim.path"], path.as_str(), "{a}");
        assert_eq!(a["fields"]["fim.change"], "added", "{a}");
        assert!(d.status()["recheck"]["runs"].as_u64().unwrap_or(0) >= 1);
    }
}
