//! End to end: `garrison agent` as a subprocess, actions from child processes on
//! the host and inside a real podman container, NDJSON lines asserted. Root only
//! (CI runs as root); the container image comes from fixtures/debian/make.sh.
//! Each wait has a generous deadline; nothing asserts a duration.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MAKE: &str = "fixtures/debian/make.sh";
const IMAGE: &str = "localhost/garrison-debian:12";

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

struct Agent {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    data: tempfile::TempDir,
}

fn garrison() -> Command {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
}

impl Agent {
    fn start(extra: &[&str]) -> Agent {
        require_root();
        let data = tempfile::tempdir().unwrap();
        let out = data.path().join("events.ndjson");
        let err = data.path().join("stderr.txt");
        let child = garrison()
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
        // Streaming once the status file says so.
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
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        // The last line may be half written: keep whole lines only.
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// The first event matching `pred`, waiting for it.
    fn find(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let mut found = None;
        self.wait_until(what, || {
            found = self.events().into_iter().find(|e| pred(e));
            found.is_some()
        });
        found.unwrap()
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

fn exec_of(e: &Value, exe_suffix: &str) -> bool {
    e["kind"] == "event"
        && e["data"]["type"] == "exec"
        && e["data"]["filename"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(exe_suffix))
}

fn argv_has(e: &Value, arg: &str) -> bool {
    e["data"]["argv"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == arg))
}

#[test]
fn host_actions_are_attributed_to_process_user_and_ancestors() {
    let agent = Agent::start(&["--events", "exec,open,exit"]);
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let file = dir.path().join("written-by-child");
    let script = format!(
        "echo garrison > {f}; setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/id -u garrison-e2e-marker >/dev/null 2>&1; exit 0",
        f = file.display()
    );
    let mut child = Command::new("/bin/sh")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let sh_pid = child.id();
    assert!(child.wait().unwrap().success());

    // The write, by the shell, with its intent and canonical path.
    let want = file.to_string_lossy().into_owned();
    let open = agent.find("the open of the written file", |e| {
        e["data"]["type"] == "open" && e["data"]["path"]["path"] == want.as_str()
    });
    assert_eq!(open["process"]["pid"], sh_pid);
    assert_eq!(open["process"]["user"], "root");
    let flags: Vec<&str> = open["data"]["flag_names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        flags.contains(&"O_CREAT") && flags.contains(&"O_WRONLY"),
        "{flags:?}"
    );

    // id, run as nobody by setpriv, a grandchild of this test.
    let exec = agent.find("the exec of id", |e| {
        exec_of(e, "/id") && argv_has(e, "garrison-e2e-marker")
    });
    let p = &exec["process"];
    assert_eq!(p["uid"], 65534);
    assert_eq!(p["user"], "nobody");
    assert_eq!(p["group"], "nogroup");
    assert_eq!(p["exe"], "/usr/bin/id");
    let anc: Vec<(u64, &str)> = p["ancestors"]
        .as_array()
        .expect("ancestors")
        .iter()
        .map(|a| {
            (
                a["pid"].as_u64().unwrap_or(0),
                a["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(anc.first().map(|a| a.0), Some(u64::from(sh_pid)), "{anc:?}");
    assert_eq!(anc.first().map(|a| a.1), Some("sh"), "{anc:?}");
    let me = u64::from(std::process::id());
    assert!(
        anc.iter().any(|a| a.0 == me),
        "the test process is an ancestor: {anc:?}"
    );
    assert!(exec.get("container").is_none(), "a host process: {exec}");

    let (err, st) = agent.stop();
    assert!(err.contains("event source bpf"), "{err}");
    assert!(err.contains("stopped: delivered"), "{err}");
    assert_eq!(st["running"], false);
    assert_eq!(st["source"]["degraded"], false);
    assert!(st["stats"]["kinds"]["exec"]["delivered"].as_u64().unwrap() >= 1);
    assert!(st["written"].as_u64().unwrap() >= 2);
}

fn fixture_image() {
    common::load_fixture_image(IMAGE, "debian/debian-docker.tar", MAKE);
}

#[test]
fn container_actions_carry_the_container_image_and_its_own_users() {
    require_root();
    fixture_image();
    let agent = Agent::start(&["--events", "exec,open"]);
    let name = format!("garrison-e2e-agent-{}", std::process::id());
    let cidfile = agent.data.path().join("cid");
    // A user only the container knows, then a file written and a program run as it.
    let script = "echo 'garrisonctr:x:4242:4242::/:/bin/sh' >> /etc/passwd; \
        echo 'garrisonctr:x:4242:' >> /etc/group; \
        exec setpriv --reuid 4242 --regid 4242 --clear-groups /bin/sh -c 'touch /tmp/garrison-in-container; /usr/bin/id -u >/dev/null; sleep 2'";
    let out = Command::new("podman")
        .args([
            "run",
            "--rm",
            "--network=none",
            "--name",
            &name,
            "--cidfile",
        ])
        .arg(&cidfile)
        .args([IMAGE, "/bin/sh", "-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = std::fs::read_to_string(&cidfile)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(cid.len(), 64, "{cid}");

    let exec = agent.find("the exec of id in the container", |e| {
        exec_of(e, "/id") && e["container"]["id"] == cid.as_str()
    });
    let c = &exec["container"];
    assert_eq!(c["runtime"], "podman");
    assert_eq!(c["image"], IMAGE);
    assert_eq!(c["name"], name.as_str());
    let p = &exec["process"];
    assert_eq!(p["uid"], 4242);
    assert_eq!(
        p["user"], "garrisonctr",
        "named from the container's own /etc/passwd: {p}"
    );
    assert_eq!(p["group"], "garrisonctr");
    assert_eq!(p["ancestors"][0]["name"], "sh");

    let open = agent.find("the container's file write", |e| {
        e["data"]["type"] == "open"
            && e["data"]["path"]["path"] == "/tmp/garrison-in-container"
            && e["container"]["id"] == cid.as_str()
    });
    assert_eq!(open["process"]["user"], "garrisonctr");
    let (_, st) = agent.stop();
    assert!(st["enricher"]["containers"].as_u64().unwrap() >= 1, "{st}");
}

#[test]
fn no_bpf_runs_degraded_and_says_so() {
    let agent = Agent::start(&["--no-bpf", "--events", "exec,open"]);
    let st = agent.status().unwrap();
    assert_eq!(st["source"]["degraded"], true);
    assert!(
        st["source"]["reason"]
            .as_str()
            .unwrap()
            .contains("--no-bpf"),
        "{st}"
    );
    assert!(
        agent.stderr().contains("DEGRADED event source"),
        "{}",
        agent.stderr()
    );

    // `agent status` sees the running, degraded agent.
    let out = garrison()
        .arg("--data-dir")
        .arg(agent.data.path())
        .args(["agent", "status", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["running"], true);
    assert_eq!(doc["status"]["source"]["degraded"], true);
    assert!(
        doc["features"]["btf"].is_boolean(),
        "the probe runs too: {doc}"
    );
    let table = garrison()
        .arg("--data-dir")
        .arg(agent.data.path())
        .args(["agent", "status"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("agent: running") && table.contains("DEGRADED"),
        "{table}"
    );

    let mut child = Command::new("/bin/sh")
        .args(["-c", "exec /bin/sleep 1"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    // The proc connector gives only the pid: the rest is read from /proc while the
    // process lives (a sleeping child lives long enough).
    let exec = agent.find("the degraded exec", |e| {
        exec_of(e, "/sleep") && e["process"]["pid"] == pid
    });
    assert_eq!(exec["source"], "proc-connector");
    assert_eq!(exec["process"]["user"], "root");
    let (err, st) = agent.stop();
    assert!(err.contains("stopped: delivered"), "{err}");
    assert_eq!(st["running"], false);
    assert_eq!(st["source"]["degraded"], true);
}

#[test]
fn status_without_an_agent_says_so_and_still_probes() {
    require_root();
    let data = tempfile::tempdir().unwrap();
    let out = garrison()
        .arg("--data-dir")
        .arg(data.path())
        .args(["agent", "status"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("agent: not running (no status file)"),
        "{text}"
    );
    assert!(
        text.contains("host features (probed now)") && text.contains("tp_btf"),
        "{text}"
    );
    let _ = Path::new("/");
}
