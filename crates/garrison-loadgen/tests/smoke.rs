//! A short run of the load generator against a real server on 127.0.0.1
//! (SQLite, real TLS, enrolled agents): every acknowledged alert is stored
//! exactly once and every replayed batch is answered as a duplicate. No timing
//! is asserted (the figures are bench/server.sh's business).

use std::time::Duration;

#[test]
fn twenty_agents_store_every_alert_exactly_once() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = rt
        .block_on(garrison_server::start(garrison_server::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("server"),
            database: None,
            server_names: vec![],
        }))
        .expect("server starts");
    let store = running.state.store.clone();
    rt.block_on(garrison_server::admin_create_user(
        &store,
        "admin",
        "loadgen admin password",
        garrison_server::Role::Admin,
    ))
    .unwrap();
    let mut cfg = garrison_loadgen::Config::new(
        running.addr,
        running.state.pki.ca_pem.clone(),
        "admin",
        "loadgen admin password",
    );
    cfg.agents = 20;
    cfg.duration = Duration::from_secs(3);
    cfg.heartbeat_every = Duration::from_secs(1);
    cfg.replay_every = 4;
    cfg.api_interval = Duration::from_millis(50);
    let r = rt.block_on(garrison_loadgen::run(cfg)).expect("load run");
    eprintln!("{}", r.to_json());
    assert_eq!(r.errors, 0, "{:?}", r.first_error);
    assert_eq!((r.agents, r.connected), (20, 20));
    assert!(r.batches >= 20, "{}", r.to_json());
    assert_eq!(r.alerts_stored, r.batches * 100);
    assert!(r.replays > 0);
    assert_eq!(r.replays_duplicate, r.replays);
    assert!(r.heartbeats > 0 && r.api_requests > 0);
    let stored = rt.block_on(store.count_alerts()).unwrap();
    assert_eq!(
        stored, r.alerts_stored as i64,
        "store holds exactly what was acknowledged"
    );
    assert_eq!(r.alerts_total_before, 0);
    assert_eq!(r.alerts_total_after, stored);
    rt.block_on(async {
        running.stop().await;
        store.pool().close().await;
    });
}
