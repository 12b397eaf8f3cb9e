//! Rule evaluation spread over worker threads gives exactly the output of one
//! thread: the same event lines, the same alerts in the same order, the same
//! grouping and rate limiting, on a stream the agent recorded on a real host
//! (`tests/data/recorded.ndjson.gz`: `garrison agent --no-rules --events all` while
//! `behaviors.sh host` and the benign workload ran, kept to the events of their
//! processes, so that many rules fire, some often enough to be folded).

use garrison_agent::detect::{Detector, RulesDetector};
use garrison_agent::{run, AgentConfig, Chosen, Detection, Format};
use garrison_event::{
    Event, EventKind, EventSource, Interest, SourceError, SourceInfo, SourceStats,
};
use garrison_rules::Engine;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Replays events in uneven chunks (so batches split processes at odd places),
/// then stops the agent.
struct Replay {
    events: std::vec::IntoIter<Event>,
    chunk: usize,
    stop: Arc<AtomicBool>,
}

impl EventSource for Replay {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: "replay".into(),
            mechanisms: Vec::new(),
            degraded: false,
            reason: None,
            kinds: EventKind::ALL.to_vec(),
            notes: Vec::new(),
        }
    }
    fn set_interest(&mut self, _: &Interest) -> Result<(), SourceError> {
        Ok(())
    }
    fn poll(
        &mut self,
        _timeout: Duration,
        sink: &mut dyn FnMut(Event),
    ) -> Result<usize, SourceError> {
        let mut n = 0;
        for e in self.events.by_ref().take(self.chunk) {
            sink(e);
            n += 1;
        }
        self.chunk = self.chunk * 7 % 1000 + 1;
        if n == 0 {
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
    fn stats(&self) -> SourceStats {
        SourceStats::default()
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn recorded() -> Vec<Event> {
    use std::io::Read;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/recorded.ndjson.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let events: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect();
    assert!(events.len() > 1000, "{} events", events.len());
    events
}

/// Runs the agent over `events` with `threads` evaluation threads; its output.
fn replay(events: Vec<Event>, threads: usize, format: Format) -> String {
    let dir = tempfile::tempdir().unwrap();
    let procfs = dir.path().join("proc");
    std::fs::create_dir(&procfs).unwrap();
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let engine = Arc::new(Engine::load(vec![rules], "node1").unwrap());
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(RulesDetector::new(engine))];
    let config = AgentConfig {
        kinds: EventKind::ALL.to_vec(),
        no_bpf: true,
        format,
        output_name: "test".into(),
        status_path: dir.path().join("status.json"),
        status_every: Duration::from_secs(3600),
        report_every: Duration::from_secs(3600),
        enricher: garrison_enricher::Config {
            procfs,
            host_root: dir.path().to_path_buf(),
            ..garrison_enricher::Config::default()
        },
        alerts_to_stream: true,
        // No window ends during the run: summaries only at the end, whatever the
        // wall clock does; a low per-rule limit so that rate limiting takes part.
        alert_window: Duration::from_secs(10 * 365 * 86_400),
        alerts_per_rule: 2,
        rule_threads: threads,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let source = Replay {
        events: events.into_iter(),
        chunk: 1,
        stop: Arc::clone(&stop),
    };
    let chosen = Chosen {
        source: Box::new(source),
        features: None,
    };
    let mut out = Buf::default();
    let mut err = Buf::default();
    let detection = Detection {
        detectors,
        sinks: Vec::new(),
        reload: Arc::new(AtomicBool::new(false)),
        settings: None,
    };
    run(&config, chosen, detection, stop, &mut out, &mut err).unwrap();
    let err = String::from_utf8(err.0.lock().unwrap().clone()).unwrap();
    if threads > 1 {
        assert!(
            err.contains(&format!("evaluating on {threads} threads")),
            "{err}"
        );
    } else {
        assert!(!err.contains("evaluating on"), "{err}");
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text
}

#[test]
fn alerts_are_the_same_on_one_thread_and_on_several() {
    let events = recorded();
    let n = events.len();
    let one = replay(events.clone(), 1, Format::Json);
    let lines: Vec<&str> = one.lines().collect();
    let count = |kind: &str| {
        lines
            .iter()
            .filter(|l| l.contains(&format!("{{\"kind\":\"{kind}\"")))
            .count()
    };
    // Every event streamed, alerts raised, some folded by the rate limit.
    assert_eq!(count("event"), n);
    assert!(count("alert") >= 20, "{} alerts", count("alert"));
    assert!(count("alert_summary") >= 1, "no summary:\n{one}");
    let rules: std::collections::BTreeSet<String> = lines
        .iter()
        .filter(|l| l.starts_with("{\"kind\":\"alert\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"].to_string())
        .collect();
    assert!(rules.len() >= 15, "{rules:?}");
    for threads in [2, 3, 8] {
        let many = replay(events.clone(), threads, Format::Json);
        if many != one {
            let diff = one
                .lines()
                .zip(many.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(one.lines().count().min(many.lines().count()));
            panic!(
                "{threads} threads differ from one at line {diff}:\n one: {:?}\nmany: {:?}",
                one.lines().nth(diff),
                many.lines().nth(diff)
            );
        }
    }
}

#[test]
fn text_output_is_the_same_too() {
    let events: Vec<Event> = recorded().into_iter().take(3000).collect();
    let one = replay(events.clone(), 1, Format::Text);
    assert!(!one.is_empty());
    assert_eq!(replay(events, 4, Format::Text), one);
}
