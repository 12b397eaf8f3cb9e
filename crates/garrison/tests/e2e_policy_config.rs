//! End to end, as root (CI runs as root): a real eBPF agent enrolled with a real
//! server (`garrison up --no-agent`, 127.0.0.1) follows its group policy's agent
//! configuration without a restart. With `--alerts-per-rule 1` a probe program
//! run three times gives one alert; the admin pushes `alerts_per_rule: 3` and
//! `events: ["mkdir"]`: the next runs give three alerts, and a directory made now
//! shows up as a raw `mkdir` event (the sensor now collects a kind it did not);
//! `garrison agent status` says each value and where it comes from; a policy
//! dropping the keys gives the command line's settings back. Waits poll with
//! generous deadlines; nothing asserts a duration.

mod common;
use common::up::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const RULE: &str = "Policy Cap Probe";

struct Agent {
    child: Child,
    data: PathBuf,
    out: PathBuf,
    err: PathBuf,
}

impl Agent {
    fn status(&self) -> Value {
        std::fs::read(self.data.join("agent/status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    }

    fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn alerts(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l["kind"] == "alert" && l["rule"] == RULE)
            .count()
    }

    fn raised(&self) -> u64 {
        self.status()["alerts"]["by_rule"][RULE]
            .as_u64()
            .unwrap_or(0)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn wait(&mut self, what: &str, mut ok: impl FnMut(&Agent) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ok(self) {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "the agent exited ({st}) waiting for {what}\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `garrison agent status` (as a user runs it).
    fn status_cli(&self, json: bool) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_garrison"));
        cmd.arg("--data-dir")
            .arg(&self.data)
            .args(["agent", "status"]);
        if json {
            cmd.args(["--format", "json"]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Runs the probe `n` times (each run an exec the rule alerts on).
fn run_probe(probe: &Path, n: usize) {
    for _ in 0..n {
        assert!(Command::new(probe).status().unwrap().success());
    }
}

#[test]
fn a_pushed_policy_moves_the_alert_cap_and_the_streamed_events_of_a_running_agent() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut up = Up::start_server(tmp.path(), port, 1);
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let password = password_of(&up.stdout()).expect("the first run prints the password");
    let api = Api::login(tmp.path(), port, &password);
    let (token, ca) = up.enrollment_token(tmp.path());

    // A probe under a name of its own, and a rule on its exec (local --rules).
    let name = format!("gpcfg{}", std::process::id() % 100_000);
    let probe = tmp.path().join(&name);
    std::fs::copy("/usr/bin/true", &probe).unwrap();
    let rules = tmp.path().join("probe.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: {RULE}\n  desc: d\n  condition: evt.type = execve and proc.name = {name}\n  output: probe ran pid=%proc.pid\n  priority: WARNING\n"
        ),
    )
    .unwrap();
    let data = tmp.path().join("agent-data");
    let (out, err) = (
        tmp.path().join("agent.ndjson"),
        tmp.path().join("agent.err"),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(&data)
        .args(["agent", "--server", &format!("https://127.0.0.1:{port}")])
        .arg("--rules")
        .arg(&rules)
        .args(["--alerts-per-rule", "1", "--alert-window", "3600"])
        .args([
            "--heartbeat-every",
            "1",
            "--no-inventory",
            "--rule-threads",
            "1",
        ])
        .arg("--output")
        .arg(&out)
        .env("GARRISON_ENROLL_TOKEN", &token)
        .env("GARRISON_CA_SHA256", &ca)
        .stdout(std::fs::File::create(tmp.path().join("agent.stdout")).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut agent = Agent {
        child,
        data,
        out,
        err,
    };
    agent.wait("the agent streaming", |a| {
        a.status()["running"] == true && a.status()["settings"].is_object()
    });
    let agents = api.get("/api/v1/agents");
    let group = agents[0]["group"].as_str().unwrap().to_string();

    // The command line: one alert per rule per window, no raw events.
    run_probe(&probe, 3);
    agent.wait("3 probe alerts raised", |a| a.raised() >= 3);
    assert_eq!(agent.alerts(), 1, "--alerts-per-rule 1");
    let st = agent.status();
    assert_eq!(st["settings"]["alerts_per_rule"]["from"], "command_line");
    assert!(
        !st["interest"]["kinds"]
            .as_array()
            .unwrap()
            .contains(&Value::from("mkdir")),
        "mkdir is not collected yet: {}",
        st["interest"]
    );

    // The admin pushes agent configuration to the group.
    let (code, policy) = api.put(
        &format!("/api/v1/groups/{group}/policy"),
        &serde_json::json!({"rules": [], "config": {"alerts_per_rule": 3, "events": ["mkdir"]}}),
    );
    assert_eq!(code, 200, "{policy}");
    let version = policy["version"].as_str().unwrap().to_string();
    agent.wait("the policy's settings in force", |a| {
        let s = &a.status()["settings"];
        s["alerts_per_rule"]["value"] == 3 && s["alerts_per_rule"]["policy_version"] == *version
    });
    let st = agent.status();
    assert_eq!(
        st["settings"]["events"]["value"],
        serde_json::json!(["mkdir"])
    );
    assert_eq!(st["settings"]["alert_window_s"]["value"], 3600);
    assert_eq!(st["settings"]["alert_window_s"]["from"], "command_line");
    // A kind the agent did not collect: the sensor is reprogrammed for it (the
    // retry covers the moment between the settings and the kernel's maps).
    let mut n = 0;
    agent.wait("a mkdir event in the stream", |a| {
        n += 1;
        let dir = tmp.path().join(format!("gpcfg-dir-{n}"));
        std::fs::create_dir(&dir).unwrap();
        a.lines().iter().any(|l| {
            l["kind"] == "event"
                && l["data"]["type"] == "mkdir"
                && l.to_string().contains("gpcfg-dir-")
        })
    });
    assert!(agent.status()["interest"]["kinds"]
        .as_array()
        .unwrap()
        .contains(&Value::from("mkdir")));
    run_probe(&probe, 4);
    agent.wait("7 probe alerts raised", |a| a.raised() >= 7);
    assert_eq!(
        agent.alerts(),
        1 + 3,
        "the cap moved to 3 without a restart"
    );
    // The console's view: the version in force at the agent.
    up.wait_until("the server records the version in force", |_| {
        api.get("/api/v1/agents")[0]["policy_version"] == *version
    });
    // `garrison agent status`, table and JSON.
    let table = agent.status_cli(false);
    assert!(
        table.contains(&format!(
            "alerts per rule  3                    from the policy {version}"
        )),
        "{table}"
    );
    assert!(
        table.contains("alert window     3600 s               from the command line"),
        "{table}"
    );
    let json: Value = serde_json::from_str(&agent.status_cli(true)).unwrap();
    assert_eq!(
        json["status"]["settings"]["events"],
        serde_json::json!({"value": ["mkdir"], "from": "policy", "policy_version": version})
    );

    // The keys dropped: the command line's settings again.
    let (code, policy) = api.put(
        &format!("/api/v1/groups/{group}/policy"),
        &serde_json::json!({"rules": [], "config": {}}),
    );
    assert_eq!(code, 200, "{policy}");
    agent.wait("the command line's settings again", |a| {
        let s = &a.status()["settings"];
        s["alerts_per_rule"]["from"] == "command_line" && s["events"]["from"] == "command_line"
    });
    agent.wait("mkdir no longer collected", |a| {
        let kinds = a.status()["interest"]["kinds"].clone();
        kinds
            .as_array()
            .is_some_and(|k| !k.contains(&Value::from("mkdir")) && k.contains(&Value::from("exec")))
    });
    let before = agent.alerts();
    let raised = agent.raised();
    run_probe(&probe, 2);
    agent.wait("2 more probe alerts raised", |a| a.raised() >= raised + 2);
    assert_eq!(agent.alerts(), before + 1, "one per rule again");

    assert!(Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let st = agent.child.wait().unwrap();
    assert!(st.success(), "{}", agent.logs());
    let logs = agent.logs();
    assert!(logs.contains("settings in force:"), "{logs}");
    let (ok, logs) = up.stop();
    assert!(ok, "{logs}");
}
