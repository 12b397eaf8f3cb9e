//! The pipeline with detectors, without root: a scripted event source, the rules
//! engine and a non-rule detector feeding the same grouped outputs, the status file,
//! and a reload (SIGHUP flag) that applies a good ruleset, keeps the previous one
//! for a broken file, and reprograms the source's interest.

use garrison_agent::detect::{merge_interest, Detector, RulesDetector};
use garrison_agent::{run, AgentConfig, Chosen, Detection, Format};
use garrison_event::{
    Event, EventKind, EventSource, Interest, SourceError, SourceInfo, SourceStats,
};
use garrison_rules::output::{OutputError, Sink};
use garrison_rules::{Alert, AlertSummary, Engine};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hands out whatever the test queues; records the interests applied.
struct Scripted {
    queue: Arc<Mutex<Vec<Event>>>,
    interests: Arc<Mutex<Vec<Interest>>>,
    seq: u64,
}

impl EventSource for Scripted {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: "scripted".into(),
            mechanisms: Vec::new(),
            degraded: false,
            reason: None,
            kinds: EventKind::ALL.to_vec(),
            notes: Vec::new(),
        }
    }
    fn set_interest(&mut self, interest: &Interest) -> Result<(), SourceError> {
        self.interests.lock().unwrap().push(interest.clone());
        Ok(())
    }
    fn poll(
        &mut self,
        timeout: Duration,
        sink: &mut dyn FnMut(Event),
    ) -> Result<usize, SourceError> {
        let batch: Vec<Event> = std::mem::take(&mut *self.queue.lock().unwrap());
        if batch.is_empty() {
            std::thread::sleep(timeout.min(Duration::from_millis(20)));
        }
        let n = batch.len();
        for mut e in batch {
            self.seq += 1;
            e.seq = self.seq;
            sink(e);
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
impl Buf {
    fn lines(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A second output, as a file or webhook would be.
struct Collect(Arc<Mutex<Vec<String>>>);
impl Sink for Collect {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
        self.0.lock().unwrap().push(format!("alert {}", a.rule));
        Ok(())
    }
    fn summary(&mut self, s: &AlertSummary) -> Result<(), OutputError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("summary {} {}", s.rule, s.folded));
        Ok(())
    }
}

/// A non-rule detector: alerts on every exit, and once from `tick`.
struct ExitWatch {
    ticked: bool,
}
impl Detector for ExitWatch {
    fn name(&self) -> &str {
        "exitwatch"
    }
    fn interest(&self) -> Interest {
        Interest::kinds([EventKind::Exit])
    }
    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        if ev.kind() == EventKind::Exit {
            emit(Alert::from_detector(
                "Process Exited",
                "notice",
                format!("{} exited", ev.process.comm),
                vec!["T1070".into(), "exitwatch".into()],
                ev.time_ns,
                Some(ev),
                BTreeMap::from([("proc.name".to_string(), ev.process.comm.clone())]),
            ));
        }
    }
    fn tick(&mut self, now_ns: u64, emit: &mut dyn FnMut(Alert)) {
        if !self.ticked {
            self.ticked = true;
            emit(Alert::from_detector(
                "Scan Finished",
                "INFORMATIONAL",
                "a periodic scan found a change",
                vec![],
                now_ns,
                None,
                BTreeMap::new(),
            ));
        }
    }
    fn status(&self) -> Value {
        serde_json::json!({"ticked": self.ticked})
    }
}

const SHELL_RULE: &str = "- rule: Shell Run\n  desc: d\n  condition: evt.type = execve and proc.name = bash\n  output: shell %proc.cmdline\n  priority: WARNING\n  tags: [T1059.004]\n";
const CONNECT_RULE: &str = "- rule: Connect\n  desc: d\n  condition: evt.type = connect\n  output: connect by %proc.name\n  priority: NOTICE\n  tags: [T1071]\n";

fn wait(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn detectors_feed_grouped_outputs_and_rules_reload_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, SHELL_RULE).unwrap();
    let procfs = dir.path().join("proc");
    std::fs::create_dir(&procfs).unwrap();
    let engine = Arc::new(Engine::load(vec![rules.clone()], "node1").unwrap());
    let detectors: Vec<Box<dyn Detector>> = vec![
        Box::new(RulesDetector::new(engine)),
        Box::new(ExitWatch { ticked: false }),
    ];
    let interest = garrison_agent::combined_interest(&[], &detectors);
    assert!(interest.wants(EventKind::Exec) && interest.wants(EventKind::Exit));
    assert!(!interest.wants(EventKind::Connect));

    let queue = Arc::new(Mutex::new(Vec::new()));
    let interests = Arc::new(Mutex::new(Vec::new()));
    let source = Scripted {
        queue: Arc::clone(&queue),
        interests: Arc::clone(&interests),
        seq: 0,
    };
    let status_path = dir.path().join("status.json");
    let config = AgentConfig {
        kinds: vec![EventKind::Exit],
        no_bpf: true,
        format: Format::Json,
        output_name: "test".into(),
        status_path: status_path.clone(),
        status_every: Duration::from_millis(50),
        report_every: Duration::from_secs(60),
        enricher: garrison_enricher::Config {
            procfs: procfs.clone(),
            host_root: dir.path().to_path_buf(),
            ..garrison_enricher::Config::default()
        },
        alerts_to_stream: true,
        alert_window: Duration::from_secs(3600),
        alerts_per_rule: 2,
        rule_threads: 2,
    };
    let collected = Arc::new(Mutex::new(Vec::new()));
    let reload = Arc::new(AtomicBool::new(false));
    let detection = Detection {
        detectors,
        sinks: vec![Box::new(Collect(Arc::clone(&collected)))],
        reload: Arc::clone(&reload),
        settings: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let out = Buf::default();
    let err = Buf::default();
    let handle = {
        let stop = Arc::clone(&stop);
        let (mut out, mut err) = (out.clone(), err.clone());
        std::thread::spawn(move || {
            let chosen = Chosen {
                source: Box::new(source),
                features: None,
            };
            run(&config, chosen, detection, stop, &mut out, &mut err)
        })
    };

    // Five shells (distinct command lines): two alerts, then the per-rule limit folds.
    let sample = garrison_rules::samples::sample;
    {
        let mut q = queue.lock().unwrap();
        for i in 0..5 {
            let mut e = sample(EventKind::Exec);
            e.process.pid = 90_000 + i;
            e.process.args = vec!["bash".into(), "-c".into(), format!("id {i}")];
            q.push(e);
        }
        q.push(sample(EventKind::Exit));
        q.push(sample(EventKind::Connect));
    }
    wait("the alerts", || {
        let lines = out.lines();
        lines.iter().any(|l| l["rule"] == "Process Exited")
            && lines.iter().any(|l| l["rule"] == "Scan Finished")
    });
    let lines = out.lines();
    let shells: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "alert" && l["rule"] == "Shell Run")
        .collect();
    assert_eq!(shells.len(), 2, "{lines:#?}");
    assert_eq!(shells[0]["attack"][0], "T1059.004");
    let exit_alert = lines
        .iter()
        .find(|l| l["rule"] == "Process Exited")
        .unwrap();
    assert_eq!(exit_alert["priority"], "NOTICE");
    assert_eq!(exit_alert["severity"], "LOW");
    assert_eq!(exit_alert["attack"], serde_json::json!(["T1070"]));
    // The exit was asked for with --events: the raw event is in the stream too.
    assert!(lines
        .iter()
        .any(|l| l["kind"] == "event" && l["data"]["type"] == "exit"));
    // The connect rule is not loaded: no alert.
    assert!(!lines.iter().any(|l| l["rule"] == "Connect"));

    // A broken file: the previous rules stay, stderr says why.
    std::fs::write(&rules, "- rule: Broken\n  condition: evt.type = = \n").unwrap();
    reload.store(true, Ordering::Relaxed);
    wait("the refused reload", || {
        String::from_utf8(err.0.lock().unwrap().clone())
            .unwrap()
            .contains("previous rules stay in force")
    });
    let status: Value = serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
    wait("the status to show the refused reload", || {
        let st: Value = serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
        st["detectors"]["rules"]["reload_error"].is_string()
    });
    let version_before = status["detectors"]["rules"]["version"].clone();
    {
        let mut e = sample(EventKind::Exec);
        e.process.args = vec!["bash".into(), "-c".into(), "still detected".into()];
        queue.lock().unwrap().push(e);
    }

    // A good file with a connect rule: applied, and the source asked for connects.
    std::fs::write(&rules, format!("{SHELL_RULE}{CONNECT_RULE}")).unwrap();
    reload.store(true, Ordering::Relaxed);
    wait("the new interest", || {
        interests
            .lock()
            .unwrap()
            .last()
            .is_some_and(|i| i.wants(EventKind::Connect))
    });
    queue.lock().unwrap().push(sample(EventKind::Connect));
    wait("the connect alert", || {
        out.lines().iter().any(|l| l["rule"] == "Connect")
    });
    wait("the status with the new version", || {
        let st: Value = serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
        st["detectors"]["rules"]["version"] != version_before
            && st["detectors"]["rules"]["reload_error"].is_null()
    });

    stop.store(true, Ordering::Relaxed);
    let summary = handle.join().unwrap().unwrap();
    let lines = out.lines();
    // The shells over the limit come out as a counted summary at shutdown.
    let folded: u64 = lines
        .iter()
        .filter(|l| l["kind"] == "alert_summary" && l["rule"] == "Shell Run")
        .map(|l| l["folded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        folded, 4,
        "3 over the limit + the one after the refused reload"
    );
    assert_eq!(summary.alerts.raised, 9, "{:?}", summary.alerts);
    assert_eq!(summary.alerts.folded, 4);
    assert_eq!(summary.alerts.by_priority["WARNING"], 6);
    assert_eq!(summary.alerts.by_rule["Connect"], 1);
    // The other output got the same alerts and summaries.
    let got = collected.lock().unwrap().clone();
    assert_eq!(
        got.iter()
            .filter(|l| l.starts_with("alert Shell Run"))
            .count(),
        2
    );
    let folded_out: u64 = got
        .iter()
        .filter_map(|l| l.strip_prefix("summary Shell Run "))
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    assert_eq!(folded_out, 4, "{got:?}");
    let st: Value = serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
    assert_eq!(st["running"], false);
    assert_eq!(st["detectors"]["exitwatch"]["ticked"], true);
    assert_eq!(st["detectors"]["rules"]["rules_loaded"], 2);
    assert_eq!(st["alerts"]["raised"], 9);
}

#[test]
fn interests_merge_kinds_and_prefixes() {
    let mut a = Interest::kinds([EventKind::Exec]);
    a.read_prefixes = vec!["/etc/shadow".into()];
    let mut b = Interest::kinds([EventKind::Open]);
    b.read_prefixes = vec!["/root/.ssh/".into(), "/etc/shadow".into()];
    b.ignore_prefixes.retain(|p| p != "/proc/");
    let before = a.ignore_prefixes.len();
    merge_interest(&mut a, &b);
    assert!(a.wants(EventKind::Exec) && a.wants(EventKind::Open));
    assert_eq!(a.read_prefixes, vec!["/etc/shadow", "/root/.ssh/"]);
    assert!(!a.ignore_prefixes.iter().any(|p| p == "/proc/"));
    assert_eq!(a.ignore_prefixes.len(), before - 1);
    // A detector insisting on a costly kind (raw_syscalls for module calls) gets it.
    let c = Interest::kinds([EventKind::Module]).insist_on([EventKind::Module]);
    assert!(a.costly_ok.is_empty());
    merge_interest(&mut a, &c);
    assert!(a.wants(EventKind::Module) && a.costly_ok.contains(&EventKind::Module));
}

/// A policy's settings (as the uplink's policy loader puts them in the slot) move
/// the per-rule cap and the streamed kinds of a running pipeline, reprogram the
/// source's interest (never below what the rules need), refuse values out of
/// range keeping the previous, and give way to the command line when dropped.
#[test]
fn policy_settings_move_the_cap_and_the_streamed_kinds_without_a_restart() {
    use garrison_agent::settings::{LiveSettings, Overrides};
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, SHELL_RULE).unwrap();
    let procfs = dir.path().join("proc");
    std::fs::create_dir(&procfs).unwrap();
    let engine = Arc::new(Engine::load(vec![rules], "node1").unwrap());
    let detectors: Vec<Box<dyn Detector>> = vec![Box::new(RulesDetector::new(engine))];
    let queue = Arc::new(Mutex::new(Vec::new()));
    let interests = Arc::new(Mutex::new(Vec::new()));
    let source = Scripted {
        queue: Arc::clone(&queue),
        interests: Arc::clone(&interests),
        seq: 0,
    };
    let status_path = dir.path().join("status.json");
    let config = AgentConfig {
        kinds: vec![],
        no_bpf: true,
        format: Format::Json,
        output_name: "test".into(),
        status_path: status_path.clone(),
        status_every: Duration::from_millis(50),
        report_every: Duration::from_secs(60),
        enricher: garrison_enricher::Config {
            procfs,
            host_root: dir.path().to_path_buf(),
            ..garrison_enricher::Config::default()
        },
        alerts_to_stream: true,
        alert_window: Duration::from_secs(3600),
        alerts_per_rule: 1,
        rule_threads: 2,
    };
    let live = Arc::new(LiveSettings::default());
    let detection = Detection {
        detectors,
        sinks: Vec::new(),
        reload: Arc::new(AtomicBool::new(false)),
        settings: Some(Arc::clone(&live)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let out = Buf::default();
    let err = Buf::default();
    let handle = {
        let stop = Arc::clone(&stop);
        let (mut out, mut err) = (out.clone(), err.clone());
        std::thread::spawn(move || {
            let chosen = Chosen {
                source: Box::new(source),
                features: None,
            };
            run(&config, chosen, detection, stop, &mut out, &mut err)
        })
    };
    let sample = garrison_rules::samples::sample;
    let shells = |from: u32, n: u32, mkdir: bool| {
        let mut q = queue.lock().unwrap();
        if mkdir {
            q.push(sample(EventKind::Mkdir));
        }
        for i in from..from + n {
            let mut e = sample(EventKind::Exec);
            e.process.pid = 90_000 + i;
            e.process.args = vec!["bash".into(), "-c".into(), format!("id {i}")];
            q.push(e);
        }
    };
    let status = || -> Value {
        serde_json::from_slice(&std::fs::read(&status_path).unwrap_or_default())
            .unwrap_or(Value::Null)
    };
    let count = |kind: &str, what: &str| {
        out.lines()
            .iter()
            .filter(|l| l["kind"] == kind && (l["rule"] == what || l["data"]["type"] == what))
            .count()
    };

    // The command line: one alert per rule, no events.
    shells(0, 3, true);
    wait("3 alerts raised", || status()["alerts"]["raised"] == 3);
    assert_eq!(count("alert", "Shell Run"), 1);
    assert_eq!(count("event", "mkdir"), 0);
    assert_eq!(
        status()["settings"]["alerts_per_rule"]["from"],
        "command_line"
    );

    // A policy: 3 per rule, and mkdir events.
    live.set(Some(Overrides {
        policy_version: "v1".into(),
        alerts_per_rule: Some(3),
        kinds: Some(vec![EventKind::Mkdir]),
        ..Overrides::default()
    }))
    .unwrap();
    wait("the policy's settings in force", || {
        let s = status();
        s["settings"]["alerts_per_rule"]["value"] == 3
            && s["settings"]["alerts_per_rule"]["policy_version"] == "v1"
            && s["settings"]["events"]["value"] == serde_json::json!(["mkdir"])
    });
    let st = status();
    assert_eq!(st["settings"]["alert_window_s"]["value"], 3600);
    assert_eq!(st["settings"]["alert_window_s"]["from"], "command_line");
    wait("the source asked for mkdir", || {
        interests
            .lock()
            .unwrap()
            .last()
            .is_some_and(|i| i.wants(EventKind::Mkdir))
    });
    let i = interests.lock().unwrap().last().cloned().unwrap();
    assert!(i.wants(EventKind::Exec), "the rules still get their kinds");
    // The groups under the old cap were summarized when it changed.
    let folded: u64 = out
        .lines()
        .iter()
        .filter(|l| l["kind"] == "alert_summary" && l["rule"] == "Shell Run")
        .map(|l| l["folded"].as_u64().unwrap())
        .sum();
    assert_eq!(folded, 2);
    shells(10, 4, true);
    wait("7 alerts raised", || status()["alerts"]["raised"] == 7);
    assert_eq!(count("alert", "Shell Run"), 1 + 3, "the cap moved to 3");
    assert_eq!(count("event", "mkdir"), 1, "mkdir events streamed now");

    // Out of range: refused, the previous settings stay, the status says why.
    let e = live
        .set(Some(Overrides {
            policy_version: "v2".into(),
            alerts_per_rule: Some(0),
            ..Overrides::default()
        }))
        .unwrap_err();
    assert!(e.to_string().contains("alerts_per_rule 0"), "{e}");
    wait("the refusal in the status", || {
        status()["settings"]["refused"]
            .as_str()
            .is_some_and(|r| r.contains("policy v2: alerts_per_rule 0"))
    });
    assert_eq!(status()["settings"]["alerts_per_rule"]["value"], 3);

    // A policy without the keys: the command line's settings again.
    live.set(Some(Overrides {
        policy_version: "v3".into(),
        ..Overrides::default()
    }))
    .unwrap();
    wait("the command line's settings again", || {
        let s = status();
        s["settings"]["alerts_per_rule"]["from"] == "command_line"
            && s["settings"]["events"]["from"] == "command_line"
            && s["settings"]["refused"].is_null()
    });
    wait("the source no longer asked for mkdir", || {
        interests
            .lock()
            .unwrap()
            .last()
            .is_some_and(|i| !i.wants(EventKind::Mkdir) && i.wants(EventKind::Exec))
    });
    shells(20, 2, true);
    wait("9 alerts raised", || status()["alerts"]["raised"] == 9);
    assert_eq!(count("alert", "Shell Run"), 4 + 1, "back to one per rule");
    assert_eq!(count("event", "mkdir"), 1, "no more mkdir events");
    let err = String::from_utf8(err.0.lock().unwrap().clone()).unwrap();
    assert!(
        err.contains("settings in force: alert window 3600 s (command line), alerts per rule 3 (policy v1), events mkdir (policy v1)"),
        "{err}"
    );
    assert!(err.contains("policy settings REFUSED"), "{err}");
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap().unwrap();
}
