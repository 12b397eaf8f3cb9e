//! Notification targets deliver for real: each kind against a mock receiver on
//! 127.0.0.1 that records the request (method, path, headers, body), on SQLite
//! and PostgreSQL. Alerts arrive the way agents send them (mutual TLS, zstd);
//! retries, giving up, a restart with deliveries pending, validation and
//! redaction of secrets.

mod common;
use axum::http::StatusCode;
use base64::Engine;
use common::*;
use garrison_server::notify::Options;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Fast retries so the tests take seconds.
fn fast() -> Options {
    Options {
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(500),
        max_attempts: 4,
        timeout: Duration::from_secs(10),
        poll: Duration::from_millis(200),
        batch: 16,
    }
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON: {e}"))
    }
    fn header(&self, k: &str) -> &str {
        self.headers.get(k).map(String::as_str).unwrap_or("")
    }
}

type Answer = Arc<dyn Fn(usize) -> (u16, String) + Send + Sync>;

/// A mock receiver on 127.0.0.1: records every request and answers with
/// `answer(n)` for the n-th (1-based).
struct Receiver {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    fn start(
        h: &Harness,
        answer: impl Fn(usize) -> (u16, String) + Send + Sync + 'static,
    ) -> Receiver {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let answer: Answer = Arc::new(answer);
        let rec = seen.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let rec = rec.clone();
            let answer = answer.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
                let headers = parts
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let n = {
                    let mut s = rec.lock().unwrap();
                    s.push(Seen {
                        method: parts.method.to_string(),
                        path: parts
                            .uri
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                        headers,
                        body,
                    });
                    s.len()
                };
                let (code, text) = answer(n);
                (StatusCode::from_u16(code).unwrap(), text)
            }
        });
        let listener =
            h.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
        let port = listener.local_addr().unwrap().port();
        h.rt.spawn(async move { axum::serve(listener, app).await });
        Receiver { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Polls `f` until it answers (a guard against hanging, not a time limit on
/// the code under test).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create(h: &Harness, body: Value) -> Value {
    let (s, v) = h.admin("POST", "/api/v1/notification-targets", Some(body));
    assert_eq!(s, 201, "{v}");
    v
}

fn deliveries(h: &Harness, query: &str) -> Value {
    let (s, v) = h.admin(
        "GET",
        &format!("/api/v1/notification-deliveries?{query}"),
        None,
    );
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until every delivery of the target is delivered or failed; returns them.
fn settled(h: &Harness, target_id: &str, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} settled deliveries to {target_id}"), || {
        let v = deliveries(h, &format!("target_id={target_id}"));
        let items = v["items"].as_array().unwrap().clone();
        (items.len() == n
            && items
                .iter()
                .all(|d| d["status"] == "delivered" || d["status"] == "failed"))
        .then_some(items)
    })
}

/// Sends one batch as an enrolled agent; returns the stored alerts' IDs, newest first.
fn raise(h: &Harness, agent: &ureq::Agent, batch: &str, alerts: Vec<Value>) {
    let (s, v) = agent_post(
        h,
        agent,
        "/api/v1/agent/alerts",
        &alert_batch(batch, alerts),
    );
    assert_eq!(s, 200, "{v}");
}

fn alert_id(h: &Harness, rule: &str) -> i64 {
    let (_, l) = h.admin(
        "GET",
        &format!("/api/v1/alerts?rule={}", rule.replace(' ', "%20")),
        None,
    );
    l["items"][0]["id"].as_i64().unwrap()
}

fn hmac_hex(key: &str, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    hex::encode(ring::hmac::sign(&k, body).as_ref())
}

#[test]
fn webhook_gets_the_signed_alert_once_and_filters_hold() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| (200, "thanks".into()));
        let hook = create(
            &h,
            json!({"name": "siem", "kind": "webhook", "url": rx.url("/hooks/garrison?src=1"),
                "secret": "s3cret-key", "min_severity": "high"}),
        );
        assert_eq!(hook["min_severity"], "HIGH");
        let crit = create(
            &h,
            json!({"name": "critical only", "kind": "webhook", "url": rx.url("/crit"), "min_severity": "CRITICAL"}),
        );
        let off = create(
            &h,
            json!({"name": "off", "kind": "webhook", "url": rx.url("/off"), "min_severity": "INFO", "enabled": false}),
        );
        let other_rule = create(
            &h,
            json!({"name": "other rule", "kind": "webhook", "url": rx.url("/rule"), "min_severity": "INFO",
                "rule_filter": "Package management*"}),
        );
        let (_, agent) = h.agent("web-1");
        raise(
            &h,
            &agent,
            "b1",
            vec![
                alert(
                    "Terminal shell in container",
                    "HIGH",
                    "shell <sh> in web",
                    now_ns(),
                ),
                alert("Read sensitive file", "LOW", "cat /etc/shadow", now_ns()),
            ],
        );
        // Queued with the alerts: exactly one delivery, to the matching target.
        for (t, n) in [(&crit, 0), (&off, 0), (&other_rule, 0)] {
            let id = t["id"].as_str().unwrap();
            assert_eq!(
                deliveries(&h, &format!("target_id={id}"))["total"],
                n,
                "{b}: {t}"
            );
        }
        let hook_id = hook["id"].as_str().unwrap();
        let d = settled(&h, hook_id, 1);
        let aid = alert_id(&h, "Terminal shell in container");
        assert_eq!(
            (
                &d[0]["status"],
                &d[0]["attempts"],
                &d[0]["alert_id"],
                &d[0]["last_status"]
            ),
            (&json!("delivered"), &json!(1), &json!(aid), &json!(200)),
            "{b}: {d:?}"
        );
        assert_eq!(d[0]["response"], "thanks");
        assert_eq!(d[0]["target_name"], "siem");
        let seen = rx.seen();
        assert_eq!(seen.len(), 1, "{b}: {seen:?}");
        let r = &seen[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/hooks/garrison?src=1")
        );
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("x-garrison-event"), "alert");
        assert_eq!(r.header("x-garrison-delivery"), d[0]["id"].to_string());
        assert!(r.header("user-agent").starts_with("garrison/"));
        assert_eq!(
            r.header("x-garrison-signature-256"),
            format!("sha256={}", hmac_hex("s3cret-key", &r.body))
        );
        let body = r.json();
        assert_eq!(body["event"], "alert");
        assert_eq!(body["delivery_id"], d[0]["id"]);
        assert_eq!(body["target"], "siem");
        assert_eq!(body["agent"]["hostname"], "web-1");
        assert_eq!(body["alert"]["id"], aid);
        assert_eq!(body["alert"]["rule"], "Terminal shell in container");
        assert_eq!(body["alert"]["severity"], "HIGH");
        assert_eq!(body["alert"]["output"], "shell <sh> in web");
        assert_eq!(body["alert"]["alert"]["process"]["exe"], "/bin/sh");

        // A replayed batch stores nothing and queues nothing.
        let (s, v) = agent_post(
            &h,
            &agent,
            "/api/v1/agent/alerts",
            &alert_batch(
                "b1",
                vec![alert(
                    "Terminal shell in container",
                    "HIGH",
                    "again",
                    now_ns(),
                )],
            ),
        );
        assert_eq!((s, &v["duplicate"]), (200, &json!(true)));
        assert_eq!(deliveries(&h, "")["total"], 1);

        // The rule filter matches by prefix, case-insensitively; a disabled
        // target that is enabled again gets later alerts.
        let (s, _) = h.admin(
            "PUT",
            &format!(
                "/api/v1/notification-targets/{}",
                off["id"].as_str().unwrap()
            ),
            Some(json!({"enabled": true})),
        );
        assert_eq!(s, 200);
        raise(
            &h,
            &agent,
            "b2",
            vec![alert(
                "package management process launched",
                "LOW",
                "apt",
                now_ns(),
            )],
        );
        settled(&h, other_rule["id"].as_str().unwrap(), 1);
        settled(&h, off["id"].as_str().unwrap(), 1);
        assert_eq!(deliveries(&h, &format!("target_id={hook_id}"))["total"], 1);
        assert_eq!(deliveries(&h, "status=delivered")["total"], 3);
        assert_eq!(deliveries(&h, &format!("alert_id={aid}"))["total"], 1);
    }
}

#[test]
fn slack_gets_text_and_blocks_and_its_url_stays_secret() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| (200, "ok".into()));
        let secret_path = "/services/T0001/B0001/XXXXsecretXXXX";
        let t = create(
            &h,
            json!({"name": "slack", "kind": "slack", "url": rx.url(secret_path), "min_severity": "MEDIUM"}),
        );
        assert_eq!(t["url"], format!("http://127.0.0.1:{}/***", rx.port));
        let (_, list) = h.admin("GET", "/api/v1/notification-targets", None);
        assert!(!list.to_string().contains("XXXXsecretXXXX"), "{list}");
        let (_, agent) = h.agent("db-2");
        raise(
            &h,
            &agent,
            "s1",
            vec![alert(
                "Terminal shell in container",
                "CRITICAL",
                "shell & <more>",
                now_ns(),
            )],
        );
        let d = settled(&h, t["id"].as_str().unwrap(), 1);
        assert_eq!(d[0]["status"], "delivered", "{b}: {d:?}");
        let seen = rx.seen();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", secret_path));
        assert_eq!(r.header("content-type"), "application/json");
        let v = r.json();
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("CRITICAL")
                && text.contains("Terminal shell in container")
                && text.contains("db-2"),
            "{text}"
        );
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(blocks[1]["type"], "section");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert_eq!(blocks[1]["text"]["text"], "shell &amp; &lt;more&gt;");
        let fields = blocks[2]["fields"].as_array().unwrap();
        assert!(
            fields.iter().any(|f| f["text"] == "*Host*\ndb-2"),
            "{fields:?}"
        );
        assert!(fields.iter().all(|f| f["type"] == "mrkdwn"));
        assert_eq!(blocks[3]["type"], "context");
    }
}

#[test]
fn pagerduty_gets_an_events_v2_trigger() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| {
            (
                202,
                r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#.into(),
            )
        });
        let key = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12";
        let t = create(
            &h,
            json!({"name": "pd", "kind": "pagerduty", "url": rx.url(""), "routing_key": key}),
        );
        assert_eq!(t["secrets_set"], json!(["routing_key"]));
        let (_, one) = h.admin(
            "GET",
            &format!("/api/v1/notification-targets/{}", t["id"].as_str().unwrap()),
            None,
        );
        assert!(!one.to_string().contains(key), "{one}");
        let (_, agent) = h.agent("pay-3");
        raise(
            &h,
            &agent,
            "p1",
            vec![alert(
                "Terminal shell in container",
                "HIGH",
                "shell in pay",
                now_ns(),
            )],
        );
        let d = settled(&h, t["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["last_status"]),
            (&json!("delivered"), &json!(202)),
            "{b}: {d:?}"
        );
        let seen = rx.seen();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v2/enqueue")
        );
        assert_eq!(r.header("content-type"), "application/json");
        let v = r.json();
        assert_eq!(v["routing_key"], key);
        assert_eq!(v["event_action"], "trigger");
        let aid = alert_id(&h, "Terminal shell in container");
        assert!(
            v["dedup_key"]
                .as_str()
                .unwrap()
                .ends_with(&format!("-{aid}")),
            "{v}"
        );
        let p = &v["payload"];
        assert!(p["summary"].as_str().unwrap().contains("shell in pay"));
        assert_eq!(p["source"], "pay-3");
        assert_eq!(p["severity"], "error");
        assert!(garrison_server::model::parse_rfc3339(p["timestamp"].as_str().unwrap()).is_some());
        assert_eq!(p["custom_details"]["rule"], "Terminal shell in container");
        assert_eq!(p["custom_details"]["alert_id"], aid);
        // Only the documented top-level fields.
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "client",
                "dedup_key",
                "event_action",
                "payload",
                "routing_key"
            ]
        );
    }
}

#[test]
fn jira_gets_an_issue_with_basic_auth() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| {
            (
                201,
                r#"{"id":"10000","key":"OPS-17","self":"http://127.0.0.1/rest/api/2/issue/10000"}"#
                    .into(),
            )
        });
        let t = create(
            &h,
            json!({"name": "jira", "kind": "jira", "url": rx.url("/jira/"), "project_key": "OPS",
                "issue_type": "Bug", "username": "bot@example.com", "api_token": "tok-123", "min_severity": "LOW"}),
        );
        assert_eq!(
            (&t["project_key"], &t["issue_type"], &t["username"]),
            (&json!("OPS"), &json!("Bug"), &json!("bot@example.com"))
        );
        assert!(!t.to_string().contains("tok-123"));
        let (_, agent) = h.agent("ci-4");
        raise(
            &h,
            &agent,
            "j1",
            vec![alert(
                "Read sensitive file",
                "MEDIUM",
                "cat /etc/shadow by sh",
                now_ns(),
            )],
        );
        let d = settled(&h, t["id"].as_str().unwrap(), 1);
        assert_eq!(d[0]["status"], "delivered", "{b}: {d:?}");
        assert!(d[0]["response"].as_str().unwrap().contains("OPS-17"));
        let seen = rx.seen();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/jira/rest/api/2/issue")
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("bot@example.com:tok-123");
        assert_eq!(r.header("authorization"), format!("Basic {basic}"));
        assert_eq!(r.header("content-type"), "application/json");
        let f = &r.json()["fields"];
        assert_eq!(f["project"]["key"], "OPS");
        assert_eq!(f["issuetype"]["name"], "Bug");
        let summary = f["summary"].as_str().unwrap();
        assert!(
            summary.contains("Read sensitive file")
                && summary.contains("ci-4")
                && !summary.contains('\n'),
            "{summary}"
        );
        assert!(f["description"]
            .as_str()
            .unwrap()
            .contains("cat /etc/shadow by sh"));
        assert_eq!(f.as_object().unwrap().len(), 4, "{f}");
    }
}

#[test]
fn retries_back_off_then_deliver_or_give_up_with_the_reason() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let flaky = Receiver::start(&h, |n| {
            if n <= 2 {
                (500, "try later".into())
            } else {
                (200, "ok".into())
            }
        });
        let down = Receiver::start(&h, |_| (503, "overloaded".into()));
        let wrong = Receiver::start(&h, |_| (400, "invalid_payload".into()));
        let tf = create(
            &h,
            json!({"name": "flaky", "kind": "webhook", "url": flaky.url("/")}),
        );
        let td = create(
            &h,
            json!({"name": "down", "kind": "slack", "url": down.url("/services/x")}),
        );
        let tw = create(
            &h,
            json!({"name": "wrong", "kind": "webhook", "url": wrong.url("/")}),
        );
        let moved = Receiver::start(&h, |_| (302, String::new()));
        let tm = create(
            &h,
            json!({"name": "moved", "kind": "webhook", "url": moved.url("/")}),
        );
        let limited = Receiver::start(&h, |n| {
            if n == 1 {
                (429, "slow down".into())
            } else {
                (200, "ok".into())
            }
        });
        let tl = create(
            &h,
            json!({"name": "limited", "kind": "webhook", "url": limited.url("/")}),
        );
        let (_, agent) = h.agent("h");
        raise(
            &h,
            &agent,
            "r1",
            vec![alert("Terminal shell in container", "HIGH", "x", now_ns())],
        );

        let d = settled(&h, tf["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("delivered"), &json!(3)),
            "{b}: {d:?}"
        );
        let seen = flaky.seen();
        assert_eq!(seen.len(), 3);
        // The same delivery each time (receivers may drop repeats by it).
        let delivery = d[0]["id"].to_string();
        assert!(seen
            .iter()
            .all(|s| s.header("x-garrison-delivery") == delivery));
        assert!(seen.windows(2).all(|w| w[0].body == w[1].body));

        let d = settled(&h, td["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"], &d[0]["last_status"]),
            (&json!("failed"), &json!(4), &json!(503)),
            "{b}: {d:?}"
        );
        let err = d[0]["last_error"].as_str().unwrap();
        assert!(
            err.contains("HTTP 503: overloaded") && err.contains("gave up after 4 attempts"),
            "{err}"
        );
        assert_eq!(down.seen().len(), 4);

        // A 400 will not get better by retrying: failed at once, with the receiver's word.
        let d = settled(&h, tw["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("failed"), &json!(1)),
            "{b}: {d:?}"
        );
        assert_eq!(d[0]["last_error"], "HTTP 400: invalid_payload");
        assert_eq!(wrong.seen().len(), 1);
        // Redirects are not followed: failed at once, saying so.
        let d = settled(&h, tm["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"], &d[0]["last_status"]),
            (&json!("failed"), &json!(1), &json!(302)),
            "{b}: {d:?}"
        );
        assert!(
            d[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("redirects are not followed"),
            "{d:?}"
        );
        // 429 is worth another try.
        let d = settled(&h, tl["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("delivered"), &json!(2)),
            "{b}: {d:?}"
        );
        assert_eq!(deliveries(&h, "status=failed")["total"], 3);
    }
}

#[test]
fn deliveries_pending_at_a_restart_are_delivered_once() {
    for b in backends() {
        let opts = Options {
            max_attempts: 1000,
            ..fast()
        };
        let mut h = Harness::start_with(b, opts);
        let up = Arc::new(AtomicBool::new(false));
        let up2 = up.clone();
        let rx = Receiver::start(&h, move |_| {
            if up2.load(Ordering::SeqCst) {
                (200, "ok".into())
            } else {
                (503, "down for maintenance".into())
            }
        });
        let t = create(
            &h,
            json!({"name": "hook", "kind": "webhook", "url": rx.url("/in")}),
        );
        let tid = t["id"].as_str().unwrap().to_string();
        let (_, agent) = h.agent("h");
        raise(
            &h,
            &agent,
            "q1",
            (0..3)
                .map(|i| {
                    alert(
                        "Terminal shell in container",
                        "HIGH",
                        &format!("n{i}"),
                        now_ns(),
                    )
                })
                .collect(),
        );
        // Every delivery has been tried and is waiting for its next attempt.
        wait_for("a first attempt of each delivery", || {
            let v = deliveries(&h, &format!("target_id={tid}"));
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["attempts"].as_i64() >= Some(1))
                .then_some(())
        });
        h.stop();
        let pending = rx.seen().len();
        assert!(pending >= 3);
        up.store(true, Ordering::SeqCst);
        h.restart();
        let d = settled(&h, &tid, 3);
        assert!(d.iter().all(|d| d["status"] == "delivered"), "{b}: {d:?}");
        // Another restart and another alert: once that one is delivered, the
        // worker has been through the queue again and sent nothing twice.
        h.restart();
        let (_, agent) = h.agent("h2");
        raise(
            &h,
            &agent,
            "q2",
            vec![alert("Terminal shell in container", "HIGH", "n3", now_ns())],
        );
        let d = settled(&h, &tid, 4);
        assert!(d.iter().all(|d| d["status"] == "delivered"), "{b}: {d:?}");
        let ok: Vec<String> = rx.seen()[pending..]
            .iter()
            .map(|s| s.header("x-garrison-delivery").to_string())
            .collect();
        let mut ids: Vec<String> = d.iter().map(|d| d["id"].to_string()).collect();
        let mut got = ok.clone();
        ids.sort();
        got.sort();
        assert_eq!(
            got, ids,
            "{b}: each delivery exactly once after the receiver came up"
        );
    }
}

#[test]
fn targets_are_validated_tested_audited_and_keep_their_secrets() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| (200, "ok".into()));
        let bad = Receiver::start(&h, |_| (500, "boom".into()));
        for (body, field) in [
            (
                json!({"name": "x", "kind": "webhook", "url": "ftp://127.0.0.1/x"}),
                "url",
            ),
            (
                json!({"name": "x", "kind": "webhook", "url": "not a url"}),
                "url",
            ),
            (
                json!({"name": "x", "kind": "webhook", "url": "http://"}),
                "url",
            ),
            (
                json!({"name": "x", "kind": "webhook", "url": "file:///etc/passwd"}),
                "url",
            ),
            (json!({"name": "x", "kind": "webhook"}), "url"),
            (
                json!({"name": "x", "kind": "jira", "url": "javascript:alert(1)", "project_key": "A", "username": "u", "api_token": "t"}),
                "url",
            ),
            (
                json!({"name": "x", "kind": "pagerduty", "url": "gopher://127.0.0.1", "routing_key": "k"}),
                "url",
            ),
            (
                json!({"name": "x", "kind": "webhook", "url": rx.url("/"), "min_severity": "urgent"}),
                "min_severity",
            ),
            (
                json!({"name": "x", "kind": "slack", "url": rx.url("/"), "routing_key": "k"}),
                "routing_key",
            ),
            (json!({"name": "x", "kind": "pagerduty"}), "routing_key"),
            (
                json!({"name": "x", "kind": "jira", "url": rx.url("/"), "username": "u", "api_token": "t"}),
                "project_key",
            ),
            (
                json!({"name": "x", "kind": "jira", "url": rx.url("/"), "project_key": "A B", "username": "u", "api_token": "t"}),
                "project_key",
            ),
            (
                json!({"name": "", "kind": "webhook", "url": rx.url("/")}),
                "name",
            ),
            (json!({"name": "x", "url": rx.url("/")}), "kind"),
            (
                json!({"name": "x", "kind": "email", "url": rx.url("/")}),
                "kind",
            ),
            (
                json!({"name": "x", "kind": "webhook", "url": rx.url("/"), "password": "p"}),
                "password",
            ),
        ] {
            let (s, v) = h.admin("POST", "/api/v1/notification-targets", Some(body.clone()));
            assert_eq!(s, 400, "{b}: {body} -> {v}");
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains(field), "{body}: {msg:?} does not name {field}");
        }
        assert_eq!(
            h.admin("GET", "/api/v1/notification-targets", None).1,
            json!([])
        );

        let t = create(
            &h,
            json!({"name": "hook", "kind": "webhook", "url": rx.url("/h?token=abc"), "secret": "k1"}),
        );
        let id = t["id"].as_str().unwrap().to_string();
        assert_eq!(t["url"], format!("http://127.0.0.1:{}/h?***", rx.port));
        assert_eq!(t["secrets_set"], json!(["secret"]));
        assert_eq!(
            h.admin(
                "POST",
                "/api/v1/notification-targets",
                Some(json!({"name": "hook", "kind": "webhook", "url": rx.url("/")}))
            )
            .0,
            409
        );
        // A change that leaves the secret out keeps it; a bad URL is refused and changes nothing.
        let path = format!("/api/v1/notification-targets/{id}");
        let (s, v) = h.admin(
            "PUT",
            &path,
            Some(json!({"min_severity": "LOW", "rule_filter": "Shell*"})),
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (&v["min_severity"], &v["rule_filter"], &v["secrets_set"]),
            (&json!("LOW"), &json!("Shell*"), &json!(["secret"]))
        );
        let (s, v) = h.admin("PUT", &path, Some(json!({"url": "ftp://x"})));
        assert_eq!(s, 400);
        assert!(v["error"]["message"].as_str().unwrap().starts_with("url:"));
        assert_eq!(
            h.admin("PUT", "/api/v1/notification-targets/nope", Some(json!({})))
                .0,
            404
        );

        // The test message goes out now, signed with the kept secret.
        let (s, v) = h.admin("POST", &format!("{path}/test"), None);
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (&v["delivered"], &v["status"]),
            (&json!(true), &json!(200)),
            "{v}"
        );
        let seen = rx.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/h?token=abc");
        assert_eq!(seen[0].header("x-garrison-event"), "test");
        assert_eq!(
            seen[0].header("x-garrison-signature-256"),
            format!("sha256={}", hmac_hex("k1", &seen[0].body))
        );
        assert_eq!(seen[0].json()["event"], "test");
        let tb = create(
            &h,
            json!({"name": "broken", "kind": "webhook", "url": bad.url("/")}),
        );
        let (s, v) = h.admin(
            "POST",
            &format!(
                "/api/v1/notification-targets/{}/test",
                tb["id"].as_str().unwrap()
            ),
            None,
        );
        assert_eq!(
            (s, &v["delivered"], &v["status"]),
            (200, &json!(false), &json!(500)),
            "{v}"
        );
        assert_eq!(v["error"], "HTTP 500: boom");
        // The test left no delivery behind.
        assert_eq!(deliveries(&h, "")["total"], 0);
        let (s, v) = h.admin("GET", "/api/v1/notification-deliveries?status=lost", None);
        assert_eq!(s, 400);
        assert!(v["error"]["message"].as_str().unwrap().contains("status"));
        assert_eq!(
            h.admin("GET", "/api/v1/notification-deliveries?limit=0", None)
                .0,
            400
        );

        // Secrets are nowhere in what the API answers, the audit log included.
        let (_, list) = h.admin("GET", "/api/v1/notification-targets", None);
        let (_, one) = h.admin("GET", &path, None);
        let (_, audit) = h.admin("GET", "/api/v1/audit?action=notification_target.", None);
        for text in [list.to_string(), one.to_string(), audit.to_string()] {
            assert!(
                !text.contains("k1\"") && !text.contains("token=abc"),
                "{b}: {text}"
            );
        }
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for a in [
            "notification_target.create",
            "notification_target.update",
            "notification_target.test",
        ] {
            assert!(actions.contains(&a), "{actions:?}");
        }
        // A read-only user reads targets but cannot change them.
        let ro = format!("Bearer {}", h.user_token("reader", "read-only"));
        let c = h.client();
        assert_eq!(
            h.call(
                &c,
                "GET",
                "/api/v1/notification-targets",
                &[("authorization", &ro)],
                None
            )
            .0,
            200
        );
        assert_eq!(
            h.call(&c, "DELETE", &path, &[("authorization", &ro)], None)
                .0,
            403
        );

        assert_eq!(h.admin("DELETE", &path, None).0, 204);
        assert_eq!(h.admin("GET", &path, None).0, 404);
        assert_eq!(h.admin("DELETE", &path, None).0, 404);
        // `%` and `_` in the prefix are literal (escaped for LIKE): `%` matches no action.
        let (_, none) = h.admin("GET", "/api/v1/audit?action=%25", None);
        assert_eq!(none["total"], 0, "{none}");
        let (_, audit) = h.admin("GET", "/api/v1/audit?action=notification_target.", None);
        let deleted: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "notification_target.delete")
            .collect();
        assert_eq!(deleted.len(), 1, "{audit}");
        assert_eq!(deleted[0]["detail"]["name"], "hook");
    }
}

#[test]
fn targets_are_callable_from_rust() {
    // The console builds on these functions rather than on HTTP.
    let h = Harness::start_with("sqlite", fast());
    let store = h.store();
    let req = garrison_server::notify::CreateTarget {
        name: "from rust".into(),
        kind: garrison_server::notify::TargetKind::Pagerduty,
        routing_key: Some("abc".into()),
        ..Default::default()
    };
    let t =
        h.rt.block_on(garrison_server::notify::create_target(
            &store, req, "console",
        ))
        .unwrap();
    assert_eq!(t.url, garrison_server::notify::PAGERDUTY_DEFAULT_URL);
    assert_eq!(t.created_by, "console");
    let all =
        h.rt.block_on(garrison_server::notify::list_targets(&store))
            .unwrap();
    assert_eq!(all, vec![t]);
}

#[test]
fn a_receiver_that_never_answers_times_out() {
    for b in backends() {
        let opts = Options {
            timeout: Duration::from_secs(1),
            max_attempts: 2,
            ..fast()
        };
        let h = Harness::start_with(b, opts);
        // Accepts connections, reads nothing, answers nothing.
        let listener =
            h.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let held = accepted.clone();
        h.rt.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                held.lock().unwrap().push(s);
            }
        });
        let t = create(
            &h,
            json!({"name": "silent", "kind": "webhook", "url": format!("http://127.0.0.1:{port}/")}),
        );
        let (_, agent) = h.agent("h");
        raise(
            &h,
            &agent,
            "t1",
            vec![alert("Terminal shell in container", "HIGH", "x", now_ns())],
        );
        let d = settled(&h, t["id"].as_str().unwrap(), 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("failed"), &json!(2)),
            "{b}: {d:?}"
        );
        assert_eq!(
            d[0]["last_error"],
            "no answer within 1 s (gave up after 2 attempts)"
        );
        assert!(d[0].get("last_status").is_none(), "{d:?}");
        assert_eq!(accepted.lock().unwrap().len(), 2);
    }
}

#[test]
fn retention_takes_deliveries_with_their_alerts() {
    for b in backends() {
        let h = Harness::start_with(b, fast());
        let rx = Receiver::start(&h, |_| (200, "ok".into()));
        let t = create(
            &h,
            json!({"name": "hook", "kind": "webhook", "url": rx.url("/")}),
        );
        let (_, agent) = h.agent("h");
        raise(
            &h,
            &agent,
            "k1",
            (0..3)
                .map(|i| {
                    alert(
                        "Terminal shell in container",
                        "HIGH",
                        &format!("n{i}"),
                        now_ns(),
                    )
                })
                .collect(),
        );
        settled(&h, t["id"].as_str().unwrap(), 3);
        let st = json!({"alert_retention_days": 90, "alert_retention_max": 1,
            "heartbeat_retention_days": 14, "heartbeat_retention_max": 100});
        assert_eq!(h.admin("PUT", "/api/v1/settings", Some(st)).0, 200);
        let (s, r) = h.admin("POST", "/api/v1/maintenance/retention", None);
        assert_eq!((s, &r["alerts_deleted"]), (200, &json!(2)), "{b}: {r}");
        let left = deliveries(&h, "");
        assert_eq!(left["total"], 1, "{b}: {left}");
        let (_, alerts) = h.admin("GET", "/api/v1/alerts", None);
        assert_eq!(left["items"][0]["alert_id"], alerts["items"][0]["id"]);
    }
}

#[test]
fn an_attempt_cut_off_by_a_crash_is_retried_when_its_lease_runs_out() {
    for b in backends() {
        // The first failure would wait an hour: only the lease brings it back.
        let opts = Options {
            retry_base: Duration::from_secs(3600),
            retry_max: Duration::from_secs(3600),
            ..fast()
        };
        let h = Harness::start_with(b, opts);
        let up = Arc::new(AtomicBool::new(false));
        let up2 = up.clone();
        let rx = Receiver::start(&h, move |_| {
            if up2.load(Ordering::SeqCst) {
                (200, "ok".into())
            } else {
                (503, "later".into())
            }
        });
        let t = create(
            &h,
            json!({"name": "hook", "kind": "webhook", "url": rx.url("/")}),
        );
        let tid = t["id"].as_str().unwrap().to_string();
        let (_, agent) = h.agent("h");
        raise(
            &h,
            &agent,
            "c1",
            vec![alert("Terminal shell in container", "HIGH", "x", now_ns())],
        );
        let d = wait_for("the first failed attempt", || {
            let v = deliveries(&h, &format!("target_id={tid}"));
            (v["items"][0]["attempts"] == 1 && v["items"][0]["status"] == "pending")
                .then(|| v["items"][0].clone())
        });
        // What a server killed mid-attempt leaves: `sending`, its lease run out.
        up.store(true, Ordering::SeqCst);
        h.rt.block_on(
            sqlx::query(
                "UPDATE notification_deliveries SET status = 'sending', attempts = 2, next_attempt_at = 1 WHERE id = $1",
            )
            .bind(d["id"].as_i64().unwrap())
            .execute(h.store().pool()),
        )
        .unwrap();
        let d = settled(&h, &tid, 1);
        assert_eq!(
            (&d[0]["status"], &d[0]["attempts"]),
            (&json!("delivered"), &json!(3)),
            "{b}: {d:?}"
        );
        assert_eq!(rx.seen().len(), 2);
    }
}
