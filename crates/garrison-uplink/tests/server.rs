//! The uplink against the real server (crates/garrison-server, SQLite, TLS on
//! 127.0.0.1): enrollment and its pin, delivery, revocation, the server killed
//! mid-stream, the spool's bound, corrupt spool files, and policy pickup from the
//! real server's group policy. A loopback server of our own (`policy_stub`)
//! stands for what the real one never sends: a hostile policy (a path in a file
//! name), and an exact record of every heartbeat's `policy_version`.

use garrison_server::api::CreateEnrollmentToken;
use garrison_server::store::{AlertFilter, WorkloadFilter};
use garrison_server::{Config as ServerConfig, Running};
use garrison_uplink::{
    Config, Enrollment, Health, HealthFn, InventoryFn, PolicyState, ServerUrl, Uplink, UplinkError,
    UplinkStatus,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Srv {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    data: PathBuf,
    addr: SocketAddr,
}

impl Srv {
    fn start(data: &Path) -> Srv {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut s = Srv {
            rt,
            running: None,
            data: data.to_path_buf(),
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        s.up();
        s
    }

    /// (Re)starts on the same data directory and port.
    fn up(&mut self) {
        let cfg = ServerConfig {
            listen: self.addr,
            data_dir: self.data.clone(),
            database: None,
            server_names: vec![],
        };
        let r = self.rt.block_on(garrison_server::start(cfg)).unwrap();
        self.addr = r.addr;
        self.running = Some(r);
    }

    fn down(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }

    fn url(&self) -> ServerUrl {
        ServerUrl::parse(&format!("https://{}", self.addr)).unwrap()
    }

    fn token(&self, uses: i64) -> Enrollment {
        let st = &self.running.as_ref().unwrap().state;
        let t = self
            .rt
            .block_on(garrison_server::api::new_enrollment_token(
                st,
                &CreateEnrollmentToken {
                    description: "test".into(),
                    expires_in_hours: Some(1),
                    max_uses: Some(uses),
                    group: None,
                },
                "test",
            ))
            .map_err(|e| e.message)
            .unwrap();
        Enrollment {
            token: t.token,
            ca_sha256: t.ca_sha256,
        }
    }

    fn store(&self) -> garrison_server::Store {
        self.running.as_ref().unwrap().state.store.clone()
    }

    /// Every alert output the server holds (all pages).
    fn outputs(&self) -> Vec<String> {
        let store = self.store();
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .rt
                .block_on(store.list_alerts(&AlertFilter::default(), offset, 500))
                .unwrap();
            let n = page.items.len() as i64;
            out.extend(page.items.into_iter().map(|a| a.output));
            if n < 500 {
                return out;
            }
            offset += n;
        }
    }
}

impl Drop for Srv {
    fn drop(&mut self) {
        self.down();
    }
}

fn cfg(srv: &Srv, state: &Path, enrollment: Option<Enrollment>) -> Config {
    let mut c = Config::new(srv.url(), state.to_path_buf(), "test-host".into());
    c.enrollment = enrollment;
    c.heartbeat_every = Duration::from_secs(1);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(500);
    c.seal_every = Duration::from_millis(100);
    c
}

fn health() -> HealthFn {
    Box::new(|| Health {
        sensor_mode: "degraded".into(),
        counters: [("events_delivered".to_string(), 7u64)]
            .into_iter()
            .collect(),
        lost_events: 3,
    })
}

fn alert(i: usize) -> Value {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    json!({"kind": "alert", "schema": 1, "time_ns": ns, "rule": "uplink test",
        "priority": "WARNING", "severity": "MEDIUM", "output": format!("alert #{i}"),
        "process": {"pid": 1, "name": "tester"}, "pad": "x".repeat(300)})
}

/// Waits (generously: this is about eventually, not about speed) for `f`.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(120);
    while !f() {
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(c: Config) -> Uplink {
    Uplink::start(c, health(), None, Arc::new(PolicyState::default())).unwrap()
}

#[test]
fn enrolls_delivers_heartbeats_and_inventory_and_reuses_its_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let inv: InventoryFn = Arc::new(|| {
        Ok(vec![
            json!({"workload": {"kind": "host", "name": "test-host"},
            "report": {"schema_version": 1, "target": {"kind": "rootfs", "name": "/"},
                "packages_scanned": 3, "db": {"schema_version": 1, "advisories": 0},
                "findings": [], "duration_ms": 1}}),
            json!({"skipped": "container web (0123456789ab): process 42 left the container"}),
        ])
    });
    let up = Uplink::start(
        cfg(&srv, &state, Some(srv.token(1))),
        health(),
        Some(inv),
        Arc::new(PolicyState::default()),
    )
    .unwrap();
    let agent_id = up.status().agent_id.unwrap();
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(state.join("agent.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);
    for i in 0..250 {
        up.push_alert(alert(i));
    }
    wait_for("250 alerts delivered", || {
        up.status().alerts_delivered == 250
    });
    wait_for("inventory", || up.status().inventory_sent == 1);
    // The skipped workload is no report: shown in the status, never sent.
    assert_eq!(
        up.status().inventory_skipped,
        ["container web (0123456789ab): process 42 left the container"]
    );
    let outputs: BTreeSet<String> = srv.outputs().into_iter().collect();
    assert_eq!(outputs.len(), 250);
    let store = srv.store();
    let agent = srv.rt.block_on(store.agent(&agent_id)).unwrap().unwrap();
    assert_eq!(agent.hostname, "test-host");
    wait_for("a heartbeat", || {
        srv.rt.block_on(store.count_heartbeats(&agent_id)).unwrap() > 0
    });
    let w = srv
        .rt
        .block_on(store.list_workloads(&WorkloadFilter::default(), 0, 10))
        .unwrap();
    assert_eq!(w.items.len(), 1);
    assert_eq!(w.items[0].name, "test-host");
    let st = up.stop();
    assert_eq!(st.state, "stopped");
    let on_disk = garrison_uplink::read_status(&state).unwrap().unwrap();
    assert_eq!(on_disk.alerts_delivered, 250);

    // A restart reuses the stored identity (the token allowed one enrollment).
    let up = start(cfg(&srv, &state, Some(srv.token(1))));
    assert_eq!(up.status().agent_id.as_deref(), Some(agent_id.as_str()));
    up.push_alert(alert(1000));
    wait_for("the alert after the restart", || {
        up.status().alerts_delivered == 1
    });
    assert_eq!(srv.rt.block_on(store.list_agents()).unwrap().len(), 1);
}

#[test]
fn a_wrong_ca_pin_or_token_refuses_to_enroll() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let good = srv.token(1);
    let wrong = Enrollment {
        token: good.token.clone(),
        ca_sha256: "ab".repeat(32),
    };
    let err = Uplink::start(
        cfg(&srv, &state, Some(wrong)),
        health(),
        None,
        Arc::new(PolicyState::default()),
    )
    .err()
    .unwrap();
    assert!(matches!(err, UplinkError::WrongCa { .. }), "{err}");
    assert!(err.to_string().contains("refusing to enroll"), "{err}");
    assert!(!state.join("identity.json").exists());
    let bad_token = Enrollment {
        token: "get_nope_nope".into(),
        ca_sha256: good.ca_sha256.clone(),
    };
    let err = Uplink::start(
        cfg(&srv, &state, Some(bad_token)),
        health(),
        None,
        Arc::new(PolicyState::default()),
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, UplinkError::Status { status: 401, .. }),
        "{err}"
    );
    let err = Uplink::start(
        cfg(&srv, &state, None),
        health(),
        None,
        Arc::new(PolicyState::default()),
    )
    .err()
    .unwrap();
    assert!(matches!(err, UplinkError::NotEnrolled(_)), "{err}");
    // The right pin still works, and the token was not used up by the failures.
    let up = start(cfg(&srv, &state, Some(good)));
    assert!(up.status().agent_id.is_some());
}

#[test]
fn a_revoked_agent_stops_and_keeps_its_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let up = start(cfg(&srv, &state, Some(srv.token(1))));
    let id = up.status().agent_id.unwrap();
    up.push_alert(alert(0));
    wait_for("first alert", || up.status().alerts_delivered == 1);
    assert!(srv.rt.block_on(srv.store().revoke_agent(&id)).unwrap());
    up.push_alert(alert(1));
    wait_for("revoked state", || up.status().state == "revoked");
    let st: UplinkStatus = up.status();
    assert!(st.last_error.unwrap().contains("revoked"));
    wait_for("the alert kept in the spool", || {
        up.status().spool_alerts == 1
    });
    assert_eq!(srv.outputs().len(), 1);
}

#[test]
fn killing_the_server_mid_stream_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let mut c = cfg(&srv, &state, Some(srv.token(1)));
    c.batch_max = 50;
    let up = Arc::new(std::sync::Mutex::new(Some(start(c.clone()))));
    // Alerts flow the whole time: before, during and after the server's outage
    // and the agent's restart, until told to stop.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let up = Arc::clone(&up);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut i = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(u) = up.lock().unwrap().as_ref() {
                    u.push_alert(alert(i));
                    i += 1;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            i
        })
    };
    let delivered = || {
        up.lock()
            .unwrap()
            .as_ref()
            .map(|u| u.status().alerts_delivered)
            .unwrap_or(0)
    };
    wait_for("some alerts delivered", || delivered() >= 300);
    // Kill the server while alerts are flowing.
    srv.down();
    wait_for("alerts spooled while the server is down", || {
        up.lock().unwrap().as_ref().unwrap().status().spool_alerts > 0
    });
    // Restart the agent too while the server is down (the spool survives it).
    {
        let mut g = up.lock().unwrap();
        let st = g.take().unwrap().stop();
        assert!(st.spool_alerts > 0, "{st:?}");
        *g = Some(start(c.clone()));
    }
    srv.up();
    wait_for("alerts flowing to the restarted server", || {
        delivered() >= 300
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let n = producer.join().unwrap();
    wait_for("every alert delivered", || {
        let st = up.lock().unwrap().as_ref().unwrap().status();
        st.spool_alerts == 0 && st.alerts_queued == 0 && srv.outputs().len() >= n
    });
    let outputs = srv.outputs();
    let unique: BTreeSet<String> = outputs.iter().cloned().collect();
    let expected: BTreeSet<String> = (0..n).map(|i| format!("alert #{i}")).collect();
    assert_eq!(unique, expected, "every alert arrived");
    assert_eq!(outputs.len(), n, "and none twice");
    let st = up.lock().unwrap().take().unwrap().stop();
    assert_eq!(st.alerts_dropped, 0);
    eprintln!("{n} alerts through a server outage and an agent restart");
}

#[test]
fn the_spool_bound_is_kept_and_drops_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let mut c = cfg(&srv, &state, Some(srv.token(1)));
    c.batch_max = 20;
    c.spool_max_bytes = 8_000;
    let up = start(c.clone());
    srv.down();
    const N: usize = 400;
    for i in 0..N {
        let mut a = alert(i);
        a["noise"] = json!(format!("{:x}", (i as u64).wrapping_mul(0x9e3779b97f4a7c15)).repeat(20));
        up.push_alert(a);
    }
    wait_for("everything sealed", || {
        let s = up.status();
        s.alerts_queued == 0 && s.spool_alerts + s.alerts_dropped == N as u64
    });
    let st = up.stop();
    assert!(st.alerts_dropped > 0, "{st:?}");
    assert!(st.spool_bytes <= 8_000, "{st:?}");
    let on_disk: u64 = std::fs::read_dir(state.join("spool"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(on_disk <= 8_000, "{on_disk} bytes on disk");
    // What was kept is delivered once the server is back: the newest alerts.
    srv.up();
    let up = start(c);
    wait_for("the spool drained", || up.status().spool_alerts == 0);
    assert_eq!(up.status().alerts_refused, 0);
    let outputs = srv.outputs();
    assert_eq!(outputs.len() as u64, st.spool_alerts);
    assert!(outputs.contains(&format!("alert #{}", N - 1)));
    assert!(!outputs.contains(&"alert #0".to_string()));
}

#[test]
fn corrupt_spool_files_are_set_aside_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let up = start(cfg(&srv, &state, Some(srv.token(1))));
    up.stop();
    let spool = state.join("spool");
    std::fs::write(
        spool.join("00000000000000000001-3.batch"),
        b"\x28\xb5\x2f\xfdtruncated",
    )
    .unwrap();
    std::fs::write(spool.join("stray.json"), b"{}").unwrap();
    let up = start(cfg(&srv, &state, None));
    up.push_alert(alert(7));
    wait_for("the good alert delivered", || {
        up.status().alerts_delivered == 1
    });
    let st = up.stop();
    assert_eq!(st.spool_files_set_aside, 2, "{st:?}");
    assert!(spool.join("corrupt/00000000000000000001-3.batch").exists());
    assert!(spool.join("corrupt/stray.json").exists());
    let reason =
        std::fs::read_to_string(spool.join("corrupt/00000000000000000001-3.batch.reason")).unwrap();
    assert!(reason.contains("zstd"), "{reason}");
}

mod policy_stub {
    //! A loopback stand-in for the policy half of the server (heartbeat answer's
    //! `policy_version`, `GET /api/v1/agent/policy`), TLS from the real server's CA.
    use super::*;
    use axum::routing::{get, post};
    use std::sync::Mutex;

    pub struct Stub {
        pub seen: Arc<Mutex<Vec<Option<String>>>>,
        pub addr: SocketAddr,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    pub fn start(rt: &tokio::runtime::Runtime, data: &Path, rules: Value, config: Value) -> Stub {
        let pki = garrison_server::pki::Pki::load_or_create(data, &["127.0.0.1".into()]).unwrap();
        let tls = garrison_server::tls::server_config(&pki).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        let app = axum::Router::new()
            .route(
                "/api/v1/agent/heartbeat",
                post(move |body: axum::body::Bytes| {
                    let s2 = Arc::clone(&s2);
                    async move {
                        let raw = zstd::decode_all(&body[..]).unwrap();
                        let v: Value = serde_json::from_slice(&raw).unwrap();
                        s2.lock().unwrap().push(
                            v.get("policy_version").and_then(Value::as_str).map(String::from),
                        );
                        axum::Json(json!({"server_time": "x", "clock_skew_ms": 0, "policy_version": "v1"}))
                    }
                }),
            )
            .route(
                "/api/v1/agent/policy",
                get(move || {
                    let (rules, config) = (rules.clone(), config.clone());
                    async move { axum::Json(json!({"version": "v1", "rules": rules, "config": config})) }
                }),
            );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        rt.spawn(garrison_server::tls::serve(listener, tls, app, rx));
        Stub {
            seen,
            addr,
            _stop: tx,
        }
    }
}

#[test]
fn a_policy_the_server_wants_is_fetched_loaded_and_reported() {
    use garrison_agent::detect::Detector as _;
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    start(cfg(&srv, &state, Some(srv.token(1)))).stop();
    let rules = json!([{"name": "site.yaml", "content":
        "- rule: site policy rule\n  desc: d\n  condition: spawned_process and proc.name = site-probe\n  output: probe %proc.name\n  priority: WARNING\n"}]);
    let stub = policy_stub::start(&srv.rt, &tmp.path().join("server"), rules, json!({}));
    let policy = Arc::new(PolicyState::default());
    let mut det = garrison_uplink::PolicyRules::new(
        garrison_uplink::RuleBase::Builtin,
        &state.join("policy"),
        "test-host",
        Arc::clone(&policy),
    )
    .unwrap();
    let before = det.engine().ruleset().rules().len();
    let mut c = cfg(&srv, &state, None);
    c.server = ServerUrl::parse(&format!("https://{}", stub.addr)).unwrap();
    let up = Uplink::start(c, health(), None, Arc::clone(&policy)).unwrap();
    // The agent's pipeline polls wants_reload every few seconds; so does this test.
    wait_for("the policy installed", || det.wants_reload());
    assert!(matches!(
        det.reload(),
        garrison_agent::detect::Reloaded::Applied(_)
    ));
    assert_eq!(det.engine().ruleset().rules().len(), before + 1);
    assert_eq!(policy.applied().as_deref(), Some("v1"));
    wait_for("the version in force reported", || {
        stub.seen.lock().unwrap().last() == Some(&Some("v1".to_string()))
    });
    assert_eq!(
        stub.seen.lock().unwrap().first(),
        Some(&None),
        "no policy_version before one is in force"
    );
    wait_for("status", || {
        up.status().policy_version.as_deref() == Some("v1")
    });
}

/// Puts `input` on the `default` group as the API does (validated first); its version.
fn put_default_policy(srv: &Srv, input: &garrison_server::policy::PolicyInput) -> String {
    let version = garrison_server::policy::validate(input).unwrap();
    srv.rt
        .block_on(srv.store().put_group_policy(
            "default",
            &version,
            &serde_json::to_string(&input.rules).unwrap(),
            &serde_json::to_string(&input.config).unwrap(),
            "test",
        ))
        .unwrap();
    version
}

/// An enrolled agent's policy side: its rules detector (built-in rules + the
/// policy) and its uplink to `srv`, sharing the policy state.
struct PolicyAgent {
    det: garrison_uplink::PolicyRules,
    policy: Arc<PolicyState>,
    up: Uplink,
}

impl PolicyAgent {
    fn start(srv: &Srv, state: &Path) -> PolicyAgent {
        start(cfg(srv, state, Some(srv.token(1)))).stop();
        let policy = Arc::new(PolicyState::default());
        let det = garrison_uplink::PolicyRules::new(
            garrison_uplink::RuleBase::Builtin,
            &state.join("policy"),
            "test-host",
            Arc::clone(&policy),
        )
        .unwrap();
        let up = Uplink::start(cfg(srv, state, None), health(), None, Arc::clone(&policy)).unwrap();
        PolicyAgent { det, policy, up }
    }

    /// Waits for `version` to be installed, loads it as the agent's pipeline does
    /// (it polls `wants_reload`), and waits for the server to record it in force.
    fn load(&mut self, srv: &Srv, version: &str) {
        use garrison_agent::detect::Detector as _;
        wait_for("the policy installed", || self.det.wants_reload());
        assert!(matches!(
            self.det.reload(),
            garrison_agent::detect::Reloaded::Applied(_)
        ));
        assert_eq!(self.policy.applied().as_deref(), Some(version));
        wait_for("the server records the version in force", || {
            let agents = srv.rt.block_on(srv.store().list_agents()).unwrap();
            agents.len() == 1 && agents[0].policy_version.as_deref() == Some(version)
        });
    }
}

/// The same against the real server: the policy an admin puts on the agent's
/// group (validated as the API validates it) reaches the agent through the
/// heartbeat answer and `GET /api/v1/agent/policy`, is loaded, and the server
/// records the version in force from the next heartbeat.
#[test]
fn the_real_servers_group_policy_reaches_the_agent_and_is_recorded_in_force() {
    use garrison_server::policy::{AgentConfig, PolicyInput, RuleFile};
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let mut agent = PolicyAgent::start(&srv, &tmp.path().join("agent"));
    let before = agent.det.engine().ruleset().rules().len();
    let input = PolicyInput {
        rules: vec![RuleFile {
            name: "site.yaml".into(),
            content: "- rule: site policy rule\n  desc: d\n  condition: spawned_process and proc.name = site-probe\n  output: probe %proc.name\n  priority: WARNING\n  tags: [T1059]\n".into(),
        }],
        config: AgentConfig::default(),
    };
    let version = put_default_policy(&srv, &input);
    agent.load(&srv, &version);
    assert_eq!(agent.det.engine().ruleset().rules().len(), before + 1);
    let agents = srv.rt.block_on(srv.store().list_agents()).unwrap();
    assert_eq!(
        agents[0].group_policy_version.as_deref(),
        Some(version.as_str())
    );
    agent.up.stop();
}

/// The real server's group policy with agent configuration: the settings reach
/// the agent's live settings (what its pipeline applies and its status shows,
/// each value with its origin); a new policy dropping a key gives that setting
/// back to the command line.
#[test]
fn the_real_servers_policy_config_is_put_in_force_and_a_dropped_key_returns_to_the_command_line() {
    use garrison_agent::settings::{merge, Origin, Settings};
    use garrison_event::EventKind;
    use garrison_server::policy::{AgentConfig, PolicyInput};
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let mut agent = PolicyAgent::start(&srv, &tmp.path().join("agent"));
    let cli = Settings {
        alert_window: Duration::from_secs(60),
        alerts_per_rule: 100,
        kinds: vec![],
    };
    let v1 = put_default_policy(
        &srv,
        &PolicyInput {
            rules: vec![],
            config: AgentConfig {
                alert_window_s: None,
                alerts_per_rule: Some(5),
                events: Some(vec!["exec".into(), "mkdir".into()]),
            },
        },
    );
    agent.load(&srv, &v1);
    let (ov, refused) = agent.policy.settings.snapshot();
    assert_eq!(refused, None);
    let (s, in_force) = merge(&cli, ov.as_ref());
    assert_eq!(s.alerts_per_rule, 5);
    assert_eq!(s.kinds, vec![EventKind::Exec, EventKind::Mkdir]);
    assert_eq!(s.alert_window, Duration::from_secs(60));
    let from_v1 = Origin::Policy {
        policy_version: v1.clone(),
    };
    assert_eq!(in_force.alerts_per_rule.origin, from_v1);
    assert_eq!(in_force.events.origin, from_v1);
    assert_eq!(in_force.alert_window_s.origin, Origin::CommandLine);
    wait_for("the uplink's status says v1 is in force", || {
        let st = agent.up.status();
        st.policy_version.as_deref() == Some(v1.as_str()) && st.policy_error.is_none()
    });

    // The admin drops alerts_per_rule and events, sets the window.
    let v2 = put_default_policy(
        &srv,
        &PolicyInput {
            rules: vec![],
            config: AgentConfig {
                alert_window_s: Some(10),
                ..AgentConfig::default()
            },
        },
    );
    assert_ne!(v1, v2);
    agent.load(&srv, &v2);
    let (ov, _) = agent.policy.settings.snapshot();
    let (s, in_force) = merge(&cli, ov.as_ref());
    assert_eq!(s.alerts_per_rule, 100);
    assert!(s.kinds.is_empty());
    assert_eq!(s.alert_window, Duration::from_secs(10));
    assert_eq!(in_force.alerts_per_rule.origin, Origin::CommandLine);
    assert_eq!(
        in_force.alert_window_s.origin,
        Origin::Policy {
            policy_version: v2.clone()
        }
    );
    agent.up.stop();
}

#[test]
fn a_batch_resent_after_a_lost_answer_is_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let c = cfg(&srv, &state, Some(srv.token(1)));
    let up = start(c.clone());
    srv.down();
    for i in 0..5 {
        up.push_alert(alert(i));
    }
    wait_for("a spooled batch", || up.status().spool_alerts == 5);
    up.stop();
    // Keep a copy of the batch file: as if the server stored it but its answer was
    // lost before the agent could delete the file.
    let spool = state.join("spool");
    let file = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "batch"))
        .unwrap();
    let copy = std::fs::read(&file).unwrap();
    srv.up();
    let up = start(c.clone());
    wait_for("delivered", || up.status().alerts_delivered == 5);
    up.stop();
    std::fs::write(spool.join("00000000000000009999-5.batch"), copy).unwrap();
    let up = start(c);
    wait_for("the resend answered", || up.status().duplicate_batches == 1);
    assert_eq!(up.status().spool_alerts, 0);
    assert_eq!(srv.outputs().len(), 5, "stored once");
}

/// A measurement, not a check of speed: `cargo test -p garrison-uplink --release
/// --test server -- --ignored --nocapture delivery_rate` prints how fast one agent's
/// alerts reach the server (SQLite, loopback, zstd batches of 1,000).
#[test]
#[ignore]
fn delivery_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    let mut c = cfg(&srv, &state, Some(srv.token(1)));
    c.heartbeat_every = Duration::from_secs(30);
    let up = start(c);
    const N: u64 = 50_000;
    let t = Instant::now();
    for i in 0..N as usize {
        up.push_alert(alert(i));
    }
    wait_for("all delivered", || up.status().alerts_delivered == N);
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{N} alerts delivered in {secs:.2} s: {:.0} alerts/s",
        N as f64 / secs
    );
}

#[test]
fn a_hostile_policy_is_refused_and_heartbeats_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    start(cfg(&srv, &state, Some(srv.token(1)))).stop();
    let rules = json!([{"name": "../../escaped.yaml", "content": "- rule: x\n"}]);
    let stub = policy_stub::start(&srv.rt, &tmp.path().join("server"), rules, json!({}));
    let mut c = cfg(&srv, &state, None);
    c.server = ServerUrl::parse(&format!("https://{}", stub.addr)).unwrap();
    let up = Uplink::start(c, health(), None, Arc::new(PolicyState::default())).unwrap();
    wait_for("the refusal said", || {
        up.status()
            .policy_error
            .is_some_and(|e| e.contains("plain file name"))
    });
    wait_for("more heartbeats", || stub.seen.lock().unwrap().len() >= 3);
    assert!(!state.join("policy/current.json").exists());
    assert!(!tmp.path().join("escaped.yaml").exists());
    assert!(!state.join("escaped.yaml").exists());
}

/// A hostile server's configuration (a value out of range, an event kind that is
/// not one, a key the agent does not know) is refused on the agent whatever the
/// server claims: nothing installed, the reason in the uplink's status.
#[test]
fn a_hostile_policy_config_is_refused_on_the_agent() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Srv::start(&tmp.path().join("server"));
    let state = tmp.path().join("agent");
    start(cfg(&srv, &state, Some(srv.token(1)))).stop();
    for (i, (config, says)) in [
        (
            json!({"alerts_per_rule": 0}),
            "alerts_per_rule 0 must be 1 to 1000000",
        ),
        (
            json!({"events": ["exec", "keylogger"]}),
            "config.events[1] \"keylogger\" is not an event kind",
        ),
        (
            json!({"alert_window_s": 1, "shell": "rm -rf /"}),
            "unknown field `shell`",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let stub = policy_stub::start(&srv.rt, &tmp.path().join("server"), json!([]), config);
        let mut c = cfg(&srv, &state, None);
        c.server = ServerUrl::parse(&format!("https://{}", stub.addr)).unwrap();
        let up = Uplink::start(c, health(), None, Arc::new(PolicyState::default())).unwrap();
        wait_for("the refusal said", || {
            up.status()
                .policy_error
                .is_some_and(|e| e.contains(says) && e.contains("v1 refused"))
        });
        wait_for("heartbeats go on", || stub.seen.lock().unwrap().len() >= 2);
        assert!(!state.join("policy/current.json").exists(), "case {i}");
        up.stop();
    }
}
