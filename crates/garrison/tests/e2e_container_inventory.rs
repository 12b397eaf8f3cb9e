//! End to end, as root (CI runs as root): a real podman container of the
//! vulnerable fixture image (fixtures/vulnimage: requests 2.19.0 from PyPI) runs
//! on this host; a real agent, enrolled with a real server (`garrison up
//! --no-agent`) whose data directory holds the shared advisories, sends its
//! inventory; the server's REST API lists the container as a workload with its
//! container ID, image, packages and findings. The container stops; the agent's
//! next inventory (it sends one at start, so the agent is restarted) no longer
//! names it, and the server lists it as gone, no longer current. Everything on
//! 127.0.0.1; waits have generous deadlines, nothing asserts a duration.

mod common;
use common::up::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/garrison-vuln:1";
const MAKE: &str = "scripts/make-fixtures";

fn garrison(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

/// The vulnerable image in podman's store: made by fixtures/vulnimage/make.sh,
/// or loaded from the archive it saved.
fn fixture_image() {
    common::load_fixture_image(IMAGE, "vulnimage/vuln-docker.tar", MAKE);
}

/// `garrison agent` reporting to the server (no BPF: this test is about the
/// uplink's inventory), its output in files.
struct AgentProc {
    child: Child,
    err: PathBuf,
}

impl AgentProc {
    fn start(data: &Path, url: &str, enroll: Option<(&str, &str)>, run: u32) -> AgentProc {
        let err = data.join(format!("agent-{run}.err"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_garrison"));
        cmd.arg("--data-dir")
            .arg(data)
            .args(["agent", "--no-bpf", "--server", url, "--alert-output"])
            .arg(format!("file:{}", data.join("alerts.ndjson").display()))
            .stdout(std::fs::File::create(data.join(format!("agent-{run}.out"))).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        if let Some((token, pin)) = enroll {
            cmd.env("GARRISON_ENROLL_TOKEN", token)
                .env("GARRISON_CA_SHA256", pin);
        }
        AgentProc {
            child: cmd.spawn().unwrap(),
            err,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let st = self.child.wait().unwrap();
        assert!(
            st.success(),
            "the agent exits 0 on SIGTERM\n{}",
            self.stderr()
        );
    }
}

impl Drop for AgentProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until `ok` answers something (the host scan and each container's take
/// a while on a debug build), failing with the agent's and server's logs.
fn wait_for<T>(
    what: &str,
    up: &mut Up,
    agent: &mut AgentProc,
    mut ok: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(v) = ok() {
            return v;
        }
        let logs = |agent: &AgentProc, up: &Up| {
            format!("agent:\n{}\nserver:\n{}", agent.stderr(), up.logs())
        };
        if let Ok(Some(st)) = agent.child.try_wait() {
            panic!(
                "the agent exited ({st}) waiting for {what}\n{}",
                logs(agent, up)
            );
        }
        if let Ok(Some(st)) = up.child.try_wait() {
            panic!(
                "the server exited ({st}) waiting for {what}\n{}",
                logs(agent, up)
            );
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}\n{}",
            logs(agent, up)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_running_container_s_inventory_and_findings_reach_the_server_and_it_is_gone_once_stopped() {
    require_root();
    fixture_image();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("garrison");
    let out = garrison(
        &data,
        &["db", "import", common::shared_osv().to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "garrison db import: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The server.
    let port = free_port();
    let t0 = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(&data)
        .args(["up", "--no-agent", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::fs::File::create(tmp.path().join("up-1.out")).unwrap())
        .stderr(std::fs::File::create(tmp.path().join("up-1.err")).unwrap())
        .spawn()
        .unwrap();
    let mut up = Up {
        child,
        out: tmp.path().join("up-1.out"),
        err: tmp.path().join("up-1.err"),
    };
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let banner = up.stdout();
    let password = password_of(&banner).expect("the first run prints the admin password");
    let pin = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("CA SHA-256: "))
        .expect("the banner prints the CA's SHA-256")
        .trim()
        .to_string();
    let api = Api::login(tmp.path(), port, &password);
    let out = garrison(&data, &["server", "admin", "create-enrollment-token"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let token = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap_or_else(|| panic!("no token in {text}"))
        .to_string();

    // The container, then the agent (its first inventory is taken at start).
    let name = format!("garrison-e2e-inv-{}", std::process::id());
    let run = Command::new("podman")
        .args([
            "run",
            "-d",
            "--network=none",
            "--name",
            &name,
            IMAGE,
            "sleep",
            "900",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let container = common::PodmanGuard(String::from_utf8_lossy(&run.stdout).trim().to_string());
    let cid = container.0.clone();
    assert_eq!(cid.len(), 64, "{cid}");
    let url = format!("https://127.0.0.1:{port}");
    let mut agent = AgentProc::start(&data, &url, Some((&token, &pin)), 1);

    let q = format!("/api/v1/workloads?kind=container&q={name}");
    let w: Value = wait_for(
        "the container's workload in the API",
        &mut up,
        &mut agent,
        || {
            api.get(&q)["items"]
                .as_array()
                .and_then(|items| items.iter().find(|w| w["name"] == name.as_str()))
                .cloned()
        },
    );
    eprintln!("container workload after {:?}: {w}", t0.elapsed());
    assert_eq!(w["kind"], "container", "{w}");
    assert_eq!(w["container_id"], cid.as_str(), "{w}");
    assert_eq!(w["image"], IMAGE, "{w}");
    assert!(w.get("gone_at").is_none(), "{w}");
    // A Debian image: its dpkg packages and the PyPI package the layer added.
    assert!(w["packages_scanned"].as_i64().unwrap() > 50, "{w}");
    assert_eq!(w["distro"], "debian 12", "{w}");
    assert!(w["findings"].as_i64().unwrap() >= 1, "{w}");
    let wid = w["id"].as_str().unwrap().to_string();
    let vulns = api.get(&format!(
        "/api/v1/vulnerabilities?workload_id={wid}&package=requests&limit=500"
    ));
    let found: Vec<&str> = vulns["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["vuln_id"].as_str())
        .collect();
    assert!(found.contains(&"PYSEC-2018-28"), "{vulns}");
    assert_eq!(vulns["items"][0]["version"], "2.19.0", "{vulns}");
    assert_eq!(vulns["items"][0]["workload_name"], name.as_str(), "{vulns}");
    // The host came in the same inventory; the image's layers in podman's
    // storage are not the host's packages.
    let hosts = api.get("/api/v1/workloads?kind=host");
    assert_eq!(hosts["total"], 1, "{hosts}");
    let host_id = hosts["items"][0]["id"].as_str().unwrap();
    let host_requests = api.get(&format!(
        "/api/v1/vulnerabilities?workload_id={host_id}&package=requests&limit=500"
    ));
    assert!(
        host_requests["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["version"] != "2.19.0"),
        "{host_requests}"
    );
    // The console's workloads list and detail show the container with its image.
    let page = api.get_text(&format!("/workloads?kind=container&q={name}"));
    assert!(page.contains(&name) && page.contains(IMAGE), "{page}");
    let page = api.get_text(&format!("/workloads/{wid}"));
    assert!(
        page.contains(&cid) && page.contains(IMAGE) && page.contains("PYSEC-2018-28"),
        "{page}"
    );

    // Stopped: the next inventory (the agent restarted sends one at start) no
    // longer names it; the server keeps it as gone, out of the current lists.
    drop(container);
    agent.stop();
    let mut agent = AgentProc::start(&data, &url, None, 2);
    let gone: Value = wait_for("the container listed as gone", &mut up, &mut agent, || {
        api.get(&format!(
            "/api/v1/workloads?kind=container&state=gone&q={name}"
        ))["items"]
            .as_array()
            .and_then(|items| items.iter().find(|w| w["id"] == wid.as_str()))
            .cloned()
    });
    eprintln!("gone after {:?}: {gone}", t0.elapsed());
    assert!(gone["gone_at"].is_string(), "{gone}");
    assert_eq!(gone["container_id"], cid.as_str(), "{gone}");
    let current = api.get(&q);
    assert_eq!(current["total"], 0, "not current any more: {current}");
    // Its findings stay on its own page, not in the fleet's current list.
    let own = api.get(&format!("/api/v1/vulnerabilities?workload_id={wid}"));
    assert!(own["total"].as_i64().unwrap() >= 1, "{own}");
    let fleet = api.get("/api/v1/vulnerabilities?package=requests&limit=500");
    assert!(
        fleet["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["workload_id"] != wid.as_str()),
        "{fleet}"
    );
    let page = api.get_text(&format!("/workloads?state=gone&q={name}"));
    assert!(page.contains(&name) && page.contains("gone"), "{page}");

    agent.stop();
    let (ok, logs) = up.stop();
    assert!(ok, "{logs}");
}
