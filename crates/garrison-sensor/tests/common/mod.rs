//! Shared by the root-only integration tests: a running sensor and helpers that
//! run an action in a child process and wait for its events.
#![allow(dead_code)]

use garrison_event::{Event, EventKind, EventSource, Interest};
use garrison_sensor::Sensor;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for an expected event before failing (a hang guard, not a
/// performance assertion).
const PATIENCE: Duration = Duration::from_secs(30);

pub struct Harness {
    pub sensor: Sensor,
    pub seen: Vec<Event>,
}

/// A sensor for `kinds`, each asked for by name (so traced even where that
/// takes raw_syscalls), with no ignored path prefixes.
pub fn start(kinds: &[EventKind]) -> Harness {
    let mut interest = Interest::kinds([]).insist_on(kinds.iter().copied());
    interest.ignore_prefixes.clear();
    start_with(interest)
}

pub fn start_with(interest: Interest) -> Harness {
    assert_eq!(
        unsafe_free_euid(),
        0,
        "the sensor tests need root (CI runs them as root)"
    );
    let sensor = Sensor::start(&interest).unwrap_or_else(|e| panic!("start the sensor: {e}"));
    Harness {
        sensor,
        seen: Vec::new(),
    }
}

fn unsafe_free_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// Debian's python3 (scripts/setup --test installs it), by path so no shim
/// (pyenv) forks in between.
pub const PYTHON: &str = "/usr/bin/python3";

/// Runs `python3 -c code` with extra args; returns its pid after it exited.
pub fn python(code: &str, args: &[&str]) -> u32 {
    let child = Command::new(PYTHON)
        .arg("-c")
        .arg(code)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3 (scripts/setup --test installs it)");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for python3");
    assert!(
        out.status.success(),
        "python3 action failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    pid
}

/// Runs a command to completion; returns its pid.
pub fn run(cmd: &mut Command) -> u32 {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    pid
}

impl Harness {
    /// Polls until an event matches `pred`; panics with what was seen otherwise.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let mut batch = Vec::new();
            self.sensor
                .poll(Duration::from_millis(200), &mut |e| batch.push(e))
                .expect("poll the sensor");
            let found = batch.iter().find(|e| pred(e)).cloned();
            self.seen.extend(batch);
            if self.seen.len() > 200_000 {
                self.seen.drain(..100_000);
            }
            if let Some(e) = found {
                return e;
            }
        }
        let tail: Vec<String> = self
            .seen
            .iter()
            .rev()
            .take(40)
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        panic!(
            "no event for {what}; last events seen:\n{}",
            tail.join("\n")
        );
    }

    /// All events of `pid` seen so far (after draining what is queued).
    pub fn of_pid(&mut self, pid: u32) -> Vec<Event> {
        loop {
            let mut batch = Vec::new();
            self.sensor
                .poll(Duration::from_millis(100), &mut |e| batch.push(e))
                .expect("poll the sensor");
            if batch.is_empty() {
                break;
            }
            self.seen.extend(batch);
        }
        self.seen
            .iter()
            .filter(|e| e.process.pid == pid)
            .cloned()
            .collect()
    }
}
