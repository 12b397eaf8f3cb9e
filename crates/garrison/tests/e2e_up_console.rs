//! Issue "control plane", done when: on this machine, after `garrison db import`
//! of ../shared/data/osv, `garrison up` shows in the web console (a real headless
//! Chromium) this host, a vulnerability the test planted (the PyPI package admesh
//! installed at 0.98.4, which PYSEC-2022-182 / CVE-2018-25033 names), an alert a
//! real agent raised (a shadow read by an unexpected program), and that alert's
//! delivery to a webhook on loopback. Root (the agent's eBPF sensor); CI runs it.
//! Everything on 127.0.0.1. Waits have generous deadlines; nothing asserts a
//! duration.

#[path = "../../garrison-server/tests/common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use common::up::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RULE: &str = SHADOW_RULE;

/// A PyPI package "installed" the way pip leaves it: a `.dist-info` with its
/// METADATA, in a site-packages directory of its own; removed when dropped.
struct Planted(PathBuf);

impl Planted {
    fn new(name: &str, version: &str) -> Planted {
        let root = PathBuf::from(format!("/opt/garrison-e2e-{}", std::process::id()));
        let info = root.join(format!(
            "lib/python3.11/site-packages/{name}-{version}.dist-info"
        ));
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: planted by garrison's e2e test\n"),
        )
        .unwrap();
        std::fs::write(info.join("INSTALLER"), "pip\n").unwrap();
        Planted(root)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A webhook receiver on 127.0.0.1: answers 200 to every POST and hands each
/// body over.
fn webhook_receiver() -> (String, mpsc::Receiver<String>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/garrison", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let Ok(clone) = s.try_clone() else { continue };
            let mut r = BufReader::new(clone);
            let mut len = 0usize;
            let mut first = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if first.is_empty() {
                    first = line.clone();
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                continue;
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            if first.starts_with("POST /garrison ")
                && tx
                    .send(String::from_utf8_lossy(&body).into_owned())
                    .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

fn import_advisories(data: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .arg("--data-dir")
        .arg(data)
        .args(["db", "import"])
        .arg(common::shared_osv())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "garrison db import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn garrison_up_console_shows_host_planted_vulnerability_agent_alert_and_its_webhook_delivery() {
    require_root();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("garrison");
    import_advisories(&data);
    let _planted = Planted::new("admesh", "0.98.4");
    let (hook_url, hook) = webhook_receiver();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();

    let port = free_port();
    let t0 = Instant::now();
    let mut up = Up::start(tmp.path(), port, 1);
    up.wait_until("the banner", |u| u.stdout().contains("Press Ctrl-C"));
    let out = up.stdout();
    let base = format!("https://127.0.0.1:{port}");
    assert!(out.contains(&format!("{base}/")), "{out}");
    let password = password_of(&out).expect("the first run prints the admin password");
    let api = Api::login(tmp.path(), port, &password);

    // A webhook for this rule's alerts.
    let (status, target) = api.post(
        "/api/v1/notification-targets",
        &json!({"name": "e2e hook", "kind": "webhook", "url": hook_url,
                "min_severity": "INFO", "rule_filter": RULE}),
    );
    assert_eq!(status, 201, "{target}");

    // The agent enrolls, then sends the host's inventory: the planted package is
    // a finding there.
    up.wait_until("the planted vulnerability in the server", |_| {
        api.get("/api/v1/vulnerabilities?package=admesh")["total"]
            .as_i64()
            .unwrap_or(0)
            > 0
    });
    let vulns = api.get("/api/v1/vulnerabilities?package=admesh");
    let v = &vulns["items"][0];
    assert_eq!(v["package"], "admesh", "{v}");
    assert_eq!(v["version"], "0.98.4", "{v}");
    assert_eq!(v["vuln_id"], "PYSEC-2022-182", "{v}");
    assert_eq!(v["workload_name"], hostname.as_str(), "{v}");
    eprintln!(
        "inventory with the planted finding after {:?}",
        t0.elapsed()
    );

    // A real alert: /etc/shadow read by a program of its own name, detached from
    // cargo (the rule leaves out children of package managers).
    let name = format!("gconcat{}", std::process::id() % 100_000);
    let q = raise_shadow_alert(&mut up, &api, tmp.path(), &name);
    let alert_id = api.get(&q)["items"][0]["id"].as_i64().unwrap();
    eprintln!("alert {alert_id} in the server after {:?}", t0.elapsed());

    // Its delivery to the webhook: the receiver got the alert.
    let deadline = Instant::now() + Duration::from_secs(120);
    let delivered: Value = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the webhook never got the alert\n{}",
            up.logs()
        );
        let Ok(body) = hook.recv_timeout(left) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&body) else {
            continue;
        };
        if v.to_string().contains(&name) {
            break v;
        }
    };
    assert!(delivered.to_string().contains(RULE), "{delivered}");
    up.wait_until("the delivery logged as delivered", |_| {
        api.get(&format!(
            "/api/v1/notification-deliveries?alert_id={alert_id}"
        ))["items"][0]["status"]
            == "delivered"
    });
    eprintln!("webhook delivery after {:?}", t0.elapsed());

    // What a person sees in the console.
    let br = Browser::start();
    br.login(&base, "admin", &password);
    assert_eq!(br.wait_for("#whoami"), "admin");
    let agents = br.text("#agents");
    assert!(agents.contains(&hostname), "{hostname} not in {agents}");
    assert!(agents.contains("healthy"), "{agents}");
    br.screenshot("up-overview");

    br.goto(&format!("{base}/vulnerabilities/findings?package=admesh"));
    br.wait_for("main");
    let page = br.text("main");
    for want in ["admesh", "0.98.4", &hostname] {
        assert!(
            page.contains(want),
            "{want} not on the findings page: {page}"
        );
    }
    assert!(
        page.contains("PYSEC-2022-182") || page.contains("CVE-2018-25033"),
        "{page}"
    );
    br.screenshot("up-vulnerability");

    br.goto(&format!("{base}/alerts/{alert_id}"));
    let output = br.wait_for("#alert-output");
    assert!(output.contains(&name), "{output}");
    assert_eq!(br.text("#alert-status"), "open");
    br.screenshot("up-alert");
    br.click("#resolve");
    br.wait_text("#alert-status", "resolved");
    assert_eq!(
        api.get(&format!("/api/v1/alerts/{alert_id}"))["status"],
        "resolved"
    );

    br.goto(&format!("{base}/settings/notifications"));
    br.wait_for("#delivery-list");
    let deliveries = br.text("#delivery-list");
    assert!(
        deliveries.contains("e2e hook") && deliveries.contains("delivered"),
        "{deliveries}"
    );
    br.screenshot("up-deliveries");
    drop(br);

    let (ok, logs) = up.stop();
    assert!(ok, "garrison up exits 0 on SIGTERM\n{logs}");
}
