//! End to end, as root (CI runs as root): `garrison up` starts the server and a
//! real local agent enrolled with it; a rule the agent evaluates (a shadow read by
//! an unexpected program, as tests/e2e/behaviors.sh does it) raises an alert that
//! arrives in the server's API; Ctrl-C (SIGTERM) stops both cleanly; a second
//! `garrison up` on the same data directory reuses the admin user and the agent's
//! identity. Everything on 127.0.0.1. Waits have generous deadlines; nothing
//! asserts a duration.

mod common;
use common::up::*;
use serde_json::Value;
use std::process::Command;
use std::time::Instant;

#[test]
fn garrison_up_shows_a_real_agent_alert_in_the_api() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let t0 = Instant::now();
    let mut up = Up::start(tmp.path(), port, 1);
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let out = up.stdout();
    assert!(out.contains(&format!("https://127.0.0.1:{port}/")), "{out}");
    let password = password_of(&out).expect("the first run prints the admin password");
    let api = Api::login(tmp.path(), port, &password);
    let agent_dir = tmp.path().join("garrison/agent");
    let mut agent_id = String::new();
    up.wait_until("the local agent enrolled and streaming", |_| {
        let agents = api.get("/api/v1/agents");
        let running = std::fs::read(agent_dir.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|s| s["running"] == true);
        if let Some(id) = agents[0]["id"].as_str() {
            agent_id = id.to_string();
        }
        running && !agent_id.is_empty()
    });
    eprintln!("enrolled after {:?}", t0.elapsed());
    // Read /etc/shadow with a copy of `cat` under a name of its own (an unexpected
    // program; other programs on a shared machine may read it too) until the
    // alert shows up in the server: the agent raised it, the uplink delivered it.
    let name = format!("gupcat{}", std::process::id() % 100_000);
    let q = raise_shadow_alert(&mut up, &api, tmp.path(), &name);
    let alerts = api.get(&q);
    let a = &alerts["items"][0];
    assert_eq!(a["agent_id"].as_str(), Some(agent_id.as_str()));
    assert_eq!(a["process_name"].as_str(), Some(name.as_str()), "{a}");
    eprintln!("alert in the API after {:?}", t0.elapsed());
    // The agent's heartbeat reached the server too.
    up.wait_until("a heartbeat", |_| {
        api.get(&format!("/api/v1/agents/{agent_id}"))["kernel"].is_string()
    });
    eprintln!("heartbeat after {:?}", t0.elapsed());
    let (ok, logs) = up.stop();
    eprintln!("stopped after {:?}", t0.elapsed());
    assert!(ok, "garrison up exits 0 on SIGTERM\n{logs}");
    assert!(logs.contains("garrison up: stopped"), "{logs}");
    let uplink: Value =
        serde_json::from_slice(&std::fs::read(agent_dir.join("uplink.json")).unwrap()).unwrap();
    assert_eq!(
        uplink["state"], "stopped",
        "the agent stopped cleanly: {uplink}"
    );

    // Again on the same data directory: no new password, the same agent.
    let mut up = Up::start(tmp.path(), port, 2);
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let out = up.stdout();
    assert!(password_of(&out).is_none(), "{out}");
    assert!(out.contains("create-user --username admin2"), "{out}");
    let api = Api::login(tmp.path(), port, &password);
    up.wait_until("the same agent reporting again", |_| {
        std::fs::read(agent_dir.join("uplink.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|s| s["state"] == "connected")
    });
    eprintln!("second run connected after {:?}", t0.elapsed());
    let agents = api.get("/api/v1/agents");
    assert_eq!(agents.as_array().map(Vec::len), Some(1), "{agents}");
    let (ok, logs) = up.stop();
    assert!(ok, "{logs}");
}

/// Not root: `garrison up --no-agent` as the server, and an agent given a wrong CA
/// SHA-256 refuses to enroll (exit 3, saying why) before starting any sensor.
#[test]
fn an_agent_with_a_wrong_ca_pin_refuses_to_enroll() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut up = Up::start_server(tmp.path(), port, 1);
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let (tok, _) = up.enrollment_token(tmp.path());
    let agent = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(tmp.path().join("agent-data"))
        .args(["agent", "--server", &format!("https://127.0.0.1:{port}")])
        .env("GARRISON_ENROLL_TOKEN", &tok)
        .env("GARRISON_CA_SHA256", "ab".repeat(32))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&agent.stderr);
    assert_eq!(agent.status.code(), Some(3), "{err}");
    assert!(err.contains("refusing to enroll"), "{err}");
    assert!(!tmp.path().join("agent-data/agent/identity.json").exists());
    let (ok, logs) = up.stop();
    assert!(ok, "{logs}");
}
