//! The REST API: authentication and authorization of every route, sessions and
//! CSRF, the audit log, filters/sorting/paging (with injection attempts) and
//! retention, on SQLite and PostgreSQL over real TLS on 127.0.0.1.

mod common;
use common::*;
use serde_json::{json, Value};

fn role_rank(r: &str) -> u8 {
    match r {
        "read-only" => 0,
        "analyst" => 1,
        "admin" => 2,
        other => panic!("unknown role {other} in the OpenAPI document"),
    }
}

#[test]
fn every_route_in_the_openapi_document_refuses_anonymous_and_underprivileged_callers() {
    for b in backends() {
        let h = Harness::start(b);
        // The document itself needs authentication.
        assert_eq!(
            h.call(&h.client(), "GET", "/api/v1/openapi.json", &[], None)
                .0,
            401
        );
        let (s, doc) = h.admin("GET", "/api/v1/openapi.json", None);
        assert_eq!(s, 200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let ro = format!("Bearer {}", h.user_token("reader", "read-only"));
        let an = format!("Bearer {}", h.user_token("analyst1", "analyst"));
        let mut walked = 0;
        let mut public = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let concrete = path.replace("{id}", "1");
            for (method, op) in item.as_object().unwrap() {
                let m = method.to_uppercase();
                let sec = op["security"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{m} {path}: no security"));
                let body = if m == "GET" || m == "DELETE" {
                    None
                } else {
                    Some(json!({}))
                };
                let (s, v) = h.call(&h.client(), &m, &concrete, &[], body.clone());
                if sec.iter().any(|r| r.as_object().unwrap().is_empty()) {
                    // Only the login route is open (it takes credentials in its body).
                    public.push(format!("{m} {path}"));
                    let (s, _) = h.call(
                        &h.client(),
                        &m,
                        &concrete,
                        &[],
                        Some(json!({"username": "admin", "password": "wrong password"})),
                    );
                    assert_eq!(s, 401, "{m} {path} with wrong credentials");
                    continue;
                }
                assert_eq!(s, 401, "{b}: {m} {path} anonymously: {v}");
                assert_eq!(v["error"]["code"], "unauthenticated");
                walked += 1;
                let schemes: Vec<&str> = sec
                    .iter()
                    .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
                    .collect();
                if schemes.contains(&"mtls") || schemes.contains(&"enrollment_token") {
                    // A user's token is no agent certificate or enrollment token.
                    let (s, _) = h.call(
                        &h.client(),
                        &m,
                        &concrete,
                        &[("authorization", &h_admin(&h))],
                        body.clone(),
                    );
                    assert_eq!(s, 401, "{m} {path} with an admin API token");
                    continue;
                }
                let need = sec
                    .iter()
                    .flat_map(|r| r.as_object().unwrap().values())
                    .flat_map(|v| v.as_array().unwrap())
                    .map(|r| role_rank(r.as_str().unwrap()))
                    .max()
                    .unwrap_or_else(|| panic!("{m} {path}: no role in its security"));
                for (tok, rank) in [(&ro, 0u8), (&an, 1u8)] {
                    if rank < need {
                        let (s, v) = h.call(
                            &h.client(),
                            &m,
                            &concrete,
                            &[("authorization", tok)],
                            body.clone(),
                        );
                        assert_eq!(
                            s, 403,
                            "{b}: {m} {path} with role rank {rank} (needs {need}): {v}"
                        );
                    }
                }
            }
        }
        assert_eq!(public, ["POST /api/v1/login"]);
        assert!(walked >= 25, "walked {walked}");
    }
}

fn h_admin(h: &Harness) -> String {
    format!("Bearer {}", h.admin_token)
}

#[test]
fn sessions_csrf_tokens_and_the_audit_log() {
    for b in backends() {
        let h = Harness::start(b);
        let (_, a) = h.agent("h1");
        agent_post(
            &h,
            &a,
            "/api/v1/agent/alerts",
            &alert_batch("1", vec![alert("r", "HIGH", "x", now_ns())]),
        );
        let (_, l) = h.admin("GET", "/api/v1/alerts", None);
        let alert_id = l["items"][0]["id"].as_i64().unwrap();

        assert_eq!(h.login("admin", "wrong password").0, 401);
        assert_eq!(h.login("nobody", "wrong password").0, 401);
        let (s, v) = h.admin(
            "POST",
            "/api/v1/users",
            Some(json!({"username": "ann", "password": "analyst password", "role": "analyst"})),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(
            h.admin(
                "POST",
                "/api/v1/users",
                Some(json!({"username": "ann", "password": "analyst password", "role": "analyst"}))
            )
            .0,
            409
        );
        assert_eq!(
            h.admin(
                "POST",
                "/api/v1/users",
                Some(json!({"username": "bob", "password": "short", "role": "analyst"}))
            )
            .0,
            400
        );
        assert_eq!(
            h.admin(
                "POST",
                "/api/v1/users",
                Some(json!({"username": "bob", "password": "long enough pw", "role": "root"}))
            )
            .0,
            400
        );
        let (s, cookie, csrf) = h.login("ann", "analyst password");
        assert_eq!(s, 200);
        assert!(cookie.starts_with("garrison_session="));
        let c = h.client();
        let (_, hdrs_s, hdrs) =
            h.call_raw(&c, "GET", "/api/v1/session", &[("cookie", &cookie)], None);
        assert_eq!(hdrs_s["role"], "analyst");
        for k in [
            "strict-transport-security",
            "x-content-type-options",
            "x-frame-options",
            "content-security-policy",
        ] {
            assert!(hdrs.contains_key(k), "missing {k}");
        }
        // A change with the cookie but no CSRF token is refused; with it, done.
        let path = format!("/api/v1/alerts/{alert_id}/acknowledge");
        let (s, v) = h.call(&c, "POST", &path, &[("cookie", &cookie)], None);
        assert_eq!((s, v["error"]["code"].as_str()), (403, Some("csrf")));
        let (s, _) = h.call(
            &c,
            "POST",
            &path,
            &[("cookie", &cookie), ("x-csrf-token", "forged")],
            None,
        );
        assert_eq!(s, 403);
        let (s, v) = h.call(
            &c,
            "POST",
            &path,
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            None,
        );
        assert_eq!(
            (s, v["status"].as_str(), v["status_by"].as_str()),
            (200, Some("acknowledged"), Some("ann"))
        );
        // An analyst cannot change settings, nor mint an admin token.
        let (s, _) = h.call(
            &c,
            "PUT",
            "/api/v1/settings",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            Some(serde_json::to_value(garrison_server::model::Settings::default()).unwrap()),
        );
        assert_eq!(s, 403);
        let (s, _) = h.call(
            &c,
            "POST",
            "/api/v1/tokens",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            Some(json!({"name": "x", "role": "admin"})),
        );
        assert_eq!(s, 403);
        let (s, v) = h.call(
            &c,
            "POST",
            "/api/v1/tokens",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            Some(json!({"name": "ann's", "expires_in_days": 30})),
        );
        assert_eq!(s, 201);
        let ann_tok = format!("Bearer {}", v["token"].as_str().unwrap());
        let ann_tok_id = v["id"].as_str().unwrap().to_string();
        // Token changes need no CSRF token, and are audited as token use.
        let path = format!("/api/v1/alerts/{alert_id}/resolve");
        assert_eq!(
            h.call(&c, "POST", &path, &[("authorization", &ann_tok)], None)
                .0,
            200
        );
        // Logout ends the session.
        assert_eq!(
            h.call(
                &c,
                "POST",
                "/api/v1/logout",
                &[("cookie", &cookie), ("x-csrf-token", &csrf)],
                None
            )
            .0,
            204
        );
        assert_eq!(
            h.call(&c, "GET", "/api/v1/session", &[("cookie", &cookie)], None)
                .0,
            401
        );
        // A revoked token is refused.
        assert_eq!(
            h.admin("DELETE", &format!("/api/v1/tokens/{ann_tok_id}"), None)
                .0,
            204
        );
        assert_eq!(
            h.call(
                &c,
                "GET",
                "/api/v1/alerts",
                &[("authorization", &ann_tok)],
                None
            )
            .0,
            401
        );
        // Settings change is audited with before and after.
        let st = garrison_server::model::Settings {
            alert_retention_days: 30,
            ..Default::default()
        };
        assert_eq!(
            h.admin(
                "PUT",
                "/api/v1/settings",
                Some(serde_json::to_value(&st).unwrap())
            )
            .0,
            200
        );
        assert_eq!(
            h.admin("GET", "/api/v1/settings", None).1["alert_retention_days"],
            30
        );
        assert_eq!(h.admin("PUT", "/api/v1/settings", Some(json!({"alert_retention_days": 0, "alert_retention_max": 1, "heartbeat_retention_days": 1, "heartbeat_retention_max": 1}))).0, 400);
        assert_eq!(
            h.admin("PUT", "/api/v1/settings", Some(json!({"bogus": 1})))
                .0,
            400
        );

        let (s, log) = h.admin("GET", "/api/v1/audit?limit=500", None);
        assert_eq!(s, 200);
        let actions: Vec<(String, String)> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["actor"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let has = |a: &str, who: &str| actions.iter().any(|(x, y)| x == a && y.contains(who));
        assert!(
            has("login.failed", "admin") && has("login.failed", "nobody"),
            "{actions:?}"
        );
        assert!(has("login", "ann") && has("logout", "ann"));
        assert!(has("alert.acknowledge", "ann"));
        assert!(has("alert.resolve", &format!("token:{ann_tok_id}")));
        assert!(has("token.use", &format!("token:{ann_tok_id}")));
        assert!(has("settings.update", "token:"));
        assert!(has("agent.enroll", ""));
        assert!(has("token.revoke", ""));
        let settings_entry = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "settings.update")
            .unwrap();
        assert_eq!(
            settings_entry["detail"]["before"]["alert_retention_days"],
            90
        );
        assert_eq!(
            settings_entry["detail"]["after"]["alert_retention_days"],
            30
        );
        let (s, f) = h.admin("GET", "/api/v1/audit?action=login", None);
        assert_eq!(s, 200);
        assert!(f["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("login")));

        // Exports.
        let auth = h_admin(&h);
        let (s, body, hd) = h.call_raw(
            &c,
            "GET",
            "/api/v1/audit/export?format=jsonl",
            &[("authorization", &auth)],
            None,
        );
        assert_eq!(s, 200);
        assert_eq!(hd["content-type"], "application/x-ndjson");
        let text = body["raw"].as_str().unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.len() >= actions.len());
        assert!(
            lines
                .windows(2)
                .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()),
            "oldest first"
        );
        let (s, body, _) = h.call_raw(
            &c,
            "GET",
            "/api/v1/audit/export?format=csv",
            &[("authorization", &auth)],
            None,
        );
        assert_eq!(s, 200);
        let csv = body["raw"].as_str().unwrap();
        assert!(csv.starts_with("id,at,actor_kind,actor,action,target,detail,remote\n"));
        assert!(csv.contains("\"login.failed\""));
        assert_eq!(
            h.admin("GET", "/api/v1/audit/export?format=xml", None).0,
            400
        );
    }
}

#[test]
fn filters_sorting_paging_and_injection_attempts() {
    for b in backends() {
        let h = Harness::start(b);
        let (a_id, a) = h.agent("h1");
        let t = now_ns();
        let alerts: Vec<Value> = ["LOW", "CRITICAL", "MEDIUM", "HIGH", "INFO", "HIGH"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                alert(
                    &format!("rule-{}", i % 2),
                    s,
                    &format!("output {i} 100%_done"),
                    t + i as u64 * 60_000_000_000,
                )
            })
            .collect();
        assert_eq!(
            agent_post(&h, &a, "/api/v1/agent/alerts", &alert_batch("f", alerts)).0,
            200
        );
        let get = |q: &str| {
            let (s, v) = h.admin("GET", &format!("/api/v1/alerts{q}"), None);
            assert_eq!(s, 200, "{q}: {v}");
            v
        };
        let sev = |v: &Value| {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["severity"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("")["total"], 6);
        assert_eq!(
            sev(&get("?severity=HIGH&sort=-severity")),
            ["CRITICAL", "HIGH", "HIGH"]
        );
        assert_eq!(sev(&get("?sort=severity&limit=2")), ["INFO", "LOW"]);
        let p2 = get("?sort=time&limit=2&offset=2");
        assert_eq!(
            (p2["total"].as_i64(), p2["items"].as_array().unwrap().len()),
            (Some(6), 2)
        );
        assert_eq!(p2["items"][0]["output"], "output 2 100%_done");
        assert_eq!(get("?rule=rule-1")["total"], 3);
        assert_eq!(get(&format!("?agent_id={a_id}&status=open"))["total"], 6);
        assert_eq!(get("?q=OUTPUT%203")["total"], 1);
        // LIKE wildcards in q are literal.
        assert_eq!(get("?q=%25_d")["total"], 6);
        assert_eq!(get("?q=x%25y")["total"], 0);
        // Injection strings are data: no rows, no error, tables intact.
        for evil in [
            "' OR '1'='1",
            "1; DROP TABLE alerts; --",
            "\\' OR 1=1 --",
            "rule-1' --",
        ] {
            let enc: String = evil.bytes().map(|b| format!("%{b:02X}")).collect();
            for field in ["rule", "agent_id", "q", "status_x"] {
                let (s, v) = h.admin("GET", &format!("/api/v1/alerts?{field}={enc}"), None);
                if field == "status_x" {
                    assert_eq!(s, 200); // unknown parameters are ignored
                } else {
                    assert_eq!((s, v["total"].as_i64()), (200, Some(0)), "{field}={evil}");
                }
            }
            assert_eq!(
                h.admin("GET", &format!("/api/v1/alerts?status={enc}"), None)
                    .0,
                400
            );
            assert_eq!(
                h.admin("GET", &format!("/api/v1/alerts?sort={enc}"), None)
                    .0,
                400
            );
            assert_eq!(
                h.admin(
                    "GET",
                    &format!("/api/v1/vulnerabilities?package={enc}"),
                    None
                )
                .1["total"],
                0
            );
            assert_eq!(
                h.admin("GET", &format!("/api/v1/workloads?q={enc}"), None)
                    .1["total"],
                0
            );
            assert_eq!(
                h.admin("GET", &format!("/api/v1/alerts/{enc}"), None).0,
                400
            );
        }
        assert_eq!(get("")["total"], 6);
        for bad in [
            "?limit=0",
            "?limit=501",
            "?offset=-1",
            "?limit=abc",
            "?severity=SEVERE",
            "?since=yesterday",
        ] {
            let (s, v) = h.admin("GET", &format!("/api/v1/alerts{bad}"), None);
            assert_eq!(s, 400, "{bad}: {v}");
            assert_eq!(v["error"]["code"], "bad_request");
        }
        let since = garrison_server::model::rfc3339((t / 1_000_000) as i64 + 150_000);
        assert_eq!(get(&format!("?since={since}"))["total"], 3);
        assert_eq!(h.admin("GET", "/api/v1/alerts/999999", None).0, 404);
        assert_eq!(h.admin("GET", "/api/v1/nowhere", None).0, 404);
        // Oversized and malformed JSON bodies on user routes.
        let head = format!(
            "POST /api/v1/tokens HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {}\r\n\
            content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            h.admin_token,
            8 << 20
        );
        let mut partial = b"{\"name\": \"".to_vec();
        partial.resize((1 << 20) + 65_536, b'x');
        assert_eq!(status_before_body(&h, &head, &partial), 413);
        let auth = h_admin(&h);
        let (s, v, _) = h.call_raw(
            &h.client(),
            "POST",
            "/api/v1/users",
            &[("authorization", &auth)],
            Some(b"{nope".to_vec()),
        );
        assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_request")));
    }
}

#[test]
fn retention_by_age_and_by_size() {
    for b in backends() {
        let h = Harness::start(b);
        let (_, a) = h.agent("h1");
        let day_ns = 86_400u64 * 1_000_000_000;
        let t = now_ns();
        let mut alerts = vec![alert("old", "LOW", "100 days ago", t - 100 * day_ns)];
        alerts.extend((0..7).map(|i| alert("new", "LOW", &format!("new {i}"), t + i)));
        assert_eq!(
            agent_post(&h, &a, "/api/v1/agent/alerts", &alert_batch("r1", alerts)).0,
            200
        );
        let hb = json!({"sent_at": now_rfc3339(0), "version": "1", "kernel": "k", "sensor_mode": "ebpf"});
        for _ in 0..4 {
            assert_eq!(agent_post(&h, &a, "/api/v1/agent/heartbeat", &hb).0, 200);
        }
        let (s, r) = h.admin("POST", "/api/v1/maintenance/retention", None);
        assert_eq!(s, 200);
        assert_eq!(r["alerts_deleted"], 1, "{b}: age: {r}");
        let st = json!({"alert_retention_days": 90, "alert_retention_max": 5, "heartbeat_retention_days": 14, "heartbeat_retention_max": 2});
        assert_eq!(h.admin("PUT", "/api/v1/settings", Some(st)).0, 200);
        let (_, r) = h.admin("POST", "/api/v1/maintenance/retention", None);
        assert_eq!(
            (
                r["alerts_deleted"].as_i64(),
                r["heartbeats_deleted"].as_i64()
            ),
            (Some(2), Some(2)),
            "{b}: size: {r}"
        );
        let (_, l) = h.admin("GET", "/api/v1/alerts?sort=time&limit=10", None);
        let outs: Vec<&str> = l["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["output"].as_str().unwrap())
            .collect();
        assert_eq!(outs, ["new 2", "new 3", "new 4", "new 5", "new 6"]);
        // The batch ID outlives its alerts: a replay still stores nothing.
        let again = alert_batch("r1", vec![alert("old", "LOW", "again", t)]);
        assert_eq!(
            agent_post(&h, &a, "/api/v1/agent/alerts", &again).1["duplicate"],
            true
        );
    }
}
