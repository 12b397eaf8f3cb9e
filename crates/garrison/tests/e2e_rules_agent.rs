//! End to end: `garrison agent` with the default ruleset while
//! tests/e2e/behaviors.sh performs the behaviors the rules cover, on the host and in
//! podman containers; each must raise its alert (by rule name), attributed to the
//! process that performed it (or its container). A benign workload and a `cargo
//! build` + `cargo test` of a small crate must raise none (the ruleset is quiet by
//! default). Root only (CI runs as root); the container image comes from
//! fixtures/debian/make.sh. Waits have generous deadlines; nothing asserts a duration.
//! Not performed: "Kernel Module Loaded" requires a load that succeeded
//! (`evt.res = SUCCESS`), and the test VMs' kernel has no module support, so every
//! attempt fails with ENOSYS (docs/events.md, "module").

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/garrison-debian:12";

/// One agent at a time: every agent sees every test's actions, and identical
/// alerts from another test would be folded into one group.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap();
    assert_eq!(
        euid, "0",
        "the agent tests need root (CI runs them as root)"
    );
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/behaviors.sh")
}

struct Agent {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    data: tempfile::TempDir,
}

impl Agent {
    /// The agent with the default ruleset (the one built in: no --rules).
    fn start(extra: &[&str]) -> Agent {
        require_root();
        let data = tempfile::tempdir().unwrap();
        let out = data.path().join("stream.ndjson");
        let err = data.path().join("stderr.txt");
        let child = Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["agent", "--output"])
            .arg(&out)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        let agent = Agent {
            child,
            out,
            err,
            data,
        };
        agent.wait_until("the agent's status file", || {
            agent.status().is_some_and(|s| s["running"] == true)
        });
        agent
    }

    fn status(&self) -> Option<Value> {
        let text = std::fs::read(self.data.path().join("agent/status.json")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn wait_until(&self, what: &str, mut ok: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ok() {
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}; agent stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    fn alerts(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["kind"] == "alert")
            .collect()
    }

    fn stop(mut self) -> (String, Value) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        let err = self.stderr();
        assert!(status.success(), "agent exit {status:?}; stderr:\n{err}");
        let st = self.status().expect("status file left at exit");
        (err, st)
    }
}

impl Drop for Agent {
    /// A failed test must not leave its agent running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether `alert` is about process `pid` or one of its descendants.
fn from_pid(alert: &Value, pid: u64) -> bool {
    alert["process"]["pid"].as_u64() == Some(pid)
        || alert["ancestry"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["pid"].as_u64() == Some(pid)))
}

/// Runs behaviors.sh MODE ARG; returns its "<key>\t<rule>" lines.
fn behaviors(mode: &str, arg: &Path) -> Vec<(String, String)> {
    let out = Command::new("sh")
        .arg(script())
        .arg(mode)
        .arg(arg)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "behaviors.sh {mode} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect()
}

/// Waits until every (key, rule) has a matching alert; fails naming the missing ones.
fn expect_alerts(
    agent: &Agent,
    expected: &[(String, String)],
    matches: impl Fn(&Value, &str) -> bool,
) {
    let mut missing: Vec<&(String, String)> = expected.iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !missing.is_empty() && Instant::now() < deadline {
        let alerts = agent.alerts();
        missing.retain(|(key, rule)| {
            !alerts
                .iter()
                .any(|a| a["rule"] == rule.as_str() && matches(a, key))
        });
        if !missing.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let seen: Vec<String> = agent
        .alerts()
        .iter()
        .map(|a| {
            let anc: Vec<u64> = a["ancestry"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x["pid"].as_u64()).collect())
                .unwrap_or_default();
            format!(
                "{} pid {} ancestry {anc:?} container {}",
                a["rule"], a["process"]["pid"], a["container"]["id"]
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no alert for {} of {} behaviors: {missing:?}\nalerts seen:\n{}\nagent stderr:\n{}",
        missing.len(),
        expected.len(),
        seen.join("\n"),
        agent.stderr()
    );
}

#[test]
fn host_behaviors_raise_their_alerts() {
    let _serial = serial();
    let agent = Agent::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let expected = behaviors("host", work.path());
    let rules: BTreeSet<&str> = expected.iter().map(|(_, r)| r.as_str()).collect();
    assert!(rules.len() >= 40, "{} behaviors: {rules:?}", rules.len());
    expect_alerts(&agent, &expected, |a, pid| {
        from_pid(a, pid.parse().unwrap()) && a.get("container").is_none()
    });
    // Alerts carry what a team needs: priority, ATT&CK ids, the fields read, ancestry.
    let alerts = agent.alerts();
    let shadow = alerts
        .iter()
        .find(|a| a["rule"] == "Shadow File Read by Unexpected Program")
        .unwrap();
    assert_eq!(shadow["schema"], 1);
    assert_eq!(shadow["process"]["name"], "cat");
    assert_eq!(shadow["fields"]["fd.name"], "/etc/shadow");
    assert!(
        shadow["attack"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with('T')),
        "{shadow}"
    );
    assert!(!shadow["ancestry"].as_array().unwrap().is_empty());
    assert!(shadow["output"].as_str().unwrap().contains("/etc/shadow"));
    // Only alerts were asked for: no raw events in the stream.
    assert!(agent.lines().iter().all(|l| l["kind"] != "event"));

    let (err, st) = agent.stop();
    assert!(err.contains("detector rules"), "{err}");
    let rules_st = &st["detectors"]["rules"];
    assert!(rules_st["rules_loaded"].as_u64().unwrap() >= 60, "{st}");
    assert_eq!(rules_st["version"].as_str().unwrap().len(), 16);
    assert!(st["alerts"]["raised"].as_u64().unwrap() >= expected.len() as u64);
    assert!(
        st["alerts"]["by_priority"].as_object().unwrap().len() >= 2,
        "{st}"
    );
}

fn fixture_image() {
    common::load_fixture_image(IMAGE, "debian/debian-docker.tar", "fixtures/debian/make.sh");
}

#[test]
fn container_behaviors_raise_their_alerts() {
    let _serial = serial();
    fixture_image();
    let agent = Agent::start(&[]);
    let expected = behaviors("container", Path::new(IMAGE));
    assert!(expected.len() >= 9, "{expected:?}");
    expect_alerts(&agent, &expected, |a, cid| a["container"]["id"] == cid);
    let alerts = agent.alerts();
    let pm = alerts
        .iter()
        .find(|a| a["rule"] == "Package Manager Run in Container")
        .unwrap();
    assert_eq!(pm["container"]["image"], IMAGE, "{pm}");
    agent.stop();
}

/// A sentinel behavior whose alert proves the agent has caught up with what ran
/// before it (events are handled in order).
fn sentinel(agent: &Agent) {
    let expected = behaviors("sentinel", Path::new("-"));
    assert_eq!(expected.len(), 1);
    expect_alerts(agent, &expected, |a, pid| from_pid(a, pid.parse().unwrap()));
}

#[test]
fn benign_workload_and_a_cargo_build_raise_no_alert() {
    let _serial = serial();
    let agent = Agent::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let benign = behaviors("benign", work.path());
    assert_eq!(benign.len(), 1);
    let benign_pid: u64 = benign[0].0.parse().unwrap();

    // A small crate with a dependency-free test, built and tested offline in /tmp.
    let krate = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(krate.path().join("src")).unwrap();
    std::fs::write(
        krate.path().join("Cargo.toml"),
        "[package]\nname = \"quiet\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        krate.path().join("src/lib.rs"),
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(super::add(2, 2), 4); }\n}\n",
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let child = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" build --offline -q && \"$0\" test --offline -q")
        .arg(&cargo)
        .current_dir(krate.path())
        .env("CARGO_TARGET_DIR", krate.path().join("target"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let cargo_pid = u64::from(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cargo build/test of the small crate failed"
    );

    sentinel(&agent);
    let noisy: Vec<Value> = agent
        .alerts()
        .into_iter()
        .filter(|a| from_pid(a, benign_pid) || from_pid(a, cargo_pid))
        .collect();
    assert!(noisy.is_empty(), "alerts on benign work: {noisy:#?}");
    agent.stop();
}
