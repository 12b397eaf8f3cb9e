//! Enrollment, mutual TLS and ingest, on SQLite and PostgreSQL, over real TLS on 127.0.0.1.

mod common;
use common::*;
use serde_json::json;

#[test]
fn enrollment_tokens_limit_uses_expire_and_revoke() {
    for b in backends() {
        let h = Harness::start(b);
        let tok = h.enrollment_token(2);
        assert_eq!(h.enroll(&tok, "a").0, 201, "{b}");
        assert_eq!(h.enroll(&tok, "b").0, 201, "{b}");
        let (s, v, _) = h.enroll(&tok, "c");
        assert_eq!(s, 401, "{b}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("used up"),
            "{v}"
        );

        // Expired: made to expire in the past directly in the store.
        let tok2 = h.enrollment_token(5);
        let id = tok2.split('_').nth(1).unwrap().to_string();
        h.rt.block_on(
            sqlx::query("UPDATE enrollment_tokens SET expires_at = 1 WHERE id = $1")
                .bind(&id)
                .execute(h.store().pool()),
        )
        .unwrap();
        let (s, v, _) = h.enroll(&tok2, "d");
        assert_eq!(s, 401, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("expired"),
            "{v}"
        );

        // Revoked.
        let tok3 = h.enrollment_token(5);
        let id3 = tok3.split('_').nth(1).unwrap().to_string();
        assert_eq!(
            h.admin("DELETE", &format!("/api/v1/enrollment-tokens/{id3}"), None)
                .0,
            204
        );
        assert_eq!(h.enroll(&tok3, "e").0, 401);

        // Wrong secret, garbage token, no token, bad CSR, bad host name.
        let forged = format!("get_{id3}_AAAA");
        assert_eq!(h.enroll(&forged, "f").0, 401);
        assert_eq!(h.enroll("nonsense", "f").0, 401);
        let tok4 = h.enrollment_token(1);
        let auth = format!("Bearer {tok4}");
        let (s, _) = h.call(
            &h.client(),
            "POST",
            "/api/v1/enroll",
            &[],
            Some(json!({"hostname": "x", "csr_pem": "x"})),
        );
        assert_eq!(s, 401);
        let (s, v) = h.call(&h.client(), "POST", "/api/v1/enroll", &[("authorization", &auth)],
            Some(json!({"hostname": "x", "csr_pem": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"})));
        assert_eq!(s, 400, "{v}");
        assert_eq!(h.enroll(&tok4, "has space").0, 400);
        // Failed attempts used nothing: the token still enrolls once.
        assert_eq!(h.enroll(&tok4, "g").0, 201);

        let (_, agents) = h.admin("GET", "/api/v1/agents", None);
        let names: Vec<_> = agents
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["hostname"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "g"], "{b}");
    }
}

#[test]
fn mutual_tls_identity_comes_from_the_certificate_and_revocation_holds() {
    for b in backends() {
        let h = Harness::start(b);
        let (a_id, a_cert, a_key) = h.agent_creds("host-a");
        let a = client_with(&h.ca_pem, Some((&a_cert, &a_key)));
        let (b_id, bcl) = h.agent("host-b");
        let hb = json!({"sent_at": now_rfc3339(0), "version": "0.1.0", "kernel": "6.1.0",
            "sensor_mode": "ebpf", "counters": {"events": 10}, "lost_events": 3});
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/heartbeat", &hb);
        assert_eq!(s, 200, "{b}: {v}");
        let (_, ag) = h.admin("GET", &format!("/api/v1/agents/{a_id}"), None);
        assert_eq!(ag["lost_events"], 3);
        assert_eq!(ag["sensor_mode"], "ebpf");
        assert_eq!(ag["counters"]["events"], 10);

        // A body naming another agent is refused; identity is never read from bodies.
        let mut spoof = hb.clone();
        spoof["agent_id"] = json!(b_id);
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/heartbeat", &spoof).0, 400);
        let batch = alert_batch("a-1", vec![alert("r", "HIGH", "from a", now_ns())]);
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/alerts", &batch).0, 200);
        // B sending the same batch ID is B's own batch: stored under B, not a replay of A's.
        let (s, v) = agent_post(&h, &bcl, "/api/v1/agent/alerts", &batch);
        assert_eq!((s, v["duplicate"].clone()), (200, json!(false)));
        let (_, la) = h.admin("GET", &format!("/api/v1/alerts?agent_id={a_id}"), None);
        let (_, lb) = h.admin("GET", &format!("/api/v1/alerts?agent_id={b_id}"), None);
        assert_eq!(
            (la["total"].as_i64(), lb["total"].as_i64()),
            (Some(1), Some(1))
        );

        // No client certificate: 401. A user's API token is no agent: 401.
        let auth = format!("Bearer {}", h.admin_token);
        let (s, _, _) = h.call_raw(
            &h.client(),
            "POST",
            "/api/v1/agent/heartbeat",
            &[("authorization", &auth)],
            Some(hb.to_string().into_bytes()),
        );
        assert_eq!(s, 401);

        // A certificate from another CA fails the TLS handshake.
        let other_dir = tempfile::tempdir().unwrap();
        let other =
            garrison_server::pki::Pki::load_or_create(other_dir.path(), &["localhost".into()])
                .unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let csr = rcgen::CertificateParams::default()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap();
        let foreign = other.sign_agent_csr(&csr, &a_id).unwrap();
        let evil = client_with(&h.ca_pem, Some((&foreign.pem, &key.serialize_pem())));
        let url = format!("{}/api/v1/agent/heartbeat", h.base);
        assert!(
            evil.post(&url).send(hb.to_string()).is_err(),
            "{b}: foreign certificate accepted"
        );

        // Revoke A: A is refused, B goes on.
        assert_eq!(
            h.admin("POST", &format!("/api/v1/agents/{a_id}/revoke"), None)
                .0,
            204
        );
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/heartbeat", &hb);
        assert_eq!(s, 403, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
        // (A refusal before the body is read closes the connection: a new client, a new handshake.)
        let a2 = client_with(&h.ca_pem, Some((&a_cert, &a_key)));
        assert_eq!(
            agent_post(&h, &a2, "/api/v1/agent/alerts", &alert_batch("a-2", vec![])).0,
            403
        );
        assert_eq!(agent_post(&h, &bcl, "/api/v1/agent/heartbeat", &hb).0, 200);
        assert_eq!(
            h.admin("POST", &format!("/api/v1/agents/{a_id}/revoke"), None)
                .0,
            404
        );
    }
}

#[test]
fn batches_are_idempotent_and_hostile_bodies_store_nothing() {
    for b in backends() {
        let h = Harness::start(b);
        let (_, a) = h.agent("host");
        let count = || h.rt.block_on(h.store().count_alerts()).unwrap();
        let t = now_ns();
        let batch = alert_batch(
            "batch-1",
            vec![
                alert("Shell in container", "HIGH", "shell", t),
                alert("Read sensitive file", "CRITICAL", "shadow", t + 1),
                alert("Outbound", "LOW", "nc", t + 2),
            ],
        );
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/alerts", &batch);
        assert_eq!((s, v["stored"].as_i64()), (200, Some(3)), "{b}: {v}");
        // Replayed: nothing stored twice.
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/alerts", &batch);
        assert_eq!(
            (s, v["duplicate"].as_bool(), v["stored"].as_i64()),
            (200, Some(true), Some(0))
        );
        assert_eq!(count(), 3);

        // gzip works too.
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(
                alert_batch("batch-gz", vec![alert("r", "MEDIUM", "gz", t)])
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            e.finish().unwrap()
        };
        let (s, _, _) = h.call_raw(
            &a,
            "POST",
            "/api/v1/agent/alerts",
            &[("content-encoding", "gzip")],
            Some(gz),
        );
        assert_eq!(s, 200);
        assert_eq!(count(), 4);

        // One bad alert: 422 naming it, none of the batch stored, and the ID stays unused.
        let bad = alert_batch(
            "batch-2",
            vec![alert("ok", "HIGH", "x", t), alert("bad", "SEVERE", "x", t)],
        );
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/alerts", &bad);
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("alerts[1]"),
            "{v}"
        );
        assert_eq!(count(), 4);
        let good = alert_batch("batch-2", vec![alert("ok", "HIGH", "x", t)]);
        assert_eq!(
            agent_post(&h, &a, "/api/v1/agent/alerts", &good).1["stored"],
            1
        );

        // Malformed JSON, wrong encoding, unknown fields, bad batch IDs.
        let (s, _, _) = h.call_raw(
            &a,
            "POST",
            "/api/v1/agent/alerts",
            &[],
            Some(b"{\"batch_id\": ".to_vec()),
        );
        assert_eq!(s, 400);
        let (s, _, _) = h.call_raw(
            &a,
            "POST",
            "/api/v1/agent/alerts",
            &[("content-encoding", "zstd")],
            Some(b"plain".to_vec()),
        );
        assert_eq!(s, 400);
        let (s, _, _) = h.call_raw(
            &a,
            "POST",
            "/api/v1/agent/alerts",
            &[("content-encoding", "br")],
            Some(b"x".to_vec()),
        );
        assert_eq!(s, 415);
        let inj = alert_batch(
            "x'); DELETE FROM alerts; --",
            vec![alert("r", "LOW", "x", t)],
        );
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/alerts", &inj).0, 400);
        assert_eq!(count(), 5);

        // Oversized on the wire, and a decompression bomb.
        let big = vec![b' '; garrison_server::ingest::MAX_WIRE_BODY + 1024];
        match h.call_raw_result(&a, "POST", "/api/v1/agent/alerts", big) {
            Ok(s) => assert_eq!(s, 413),
            // Refused before the whole body was sent: the server closed the connection.
            Err(e) => assert!(
                e.contains("Broken pipe") || e.contains("reset") || e.contains("disconnected"),
                "{e}"
            ),
        }
        let bomb = zstd::encode_all(
            &vec![b' '; garrison_server::ingest::MAX_DECODED_BODY + 1][..],
            19,
        )
        .unwrap();
        let (s, _, _) = h.call_raw(
            &a,
            "POST",
            "/api/v1/agent/alerts",
            &[("content-encoding", "zstd")],
            Some(bomb),
        );
        assert_eq!(s, 413);
        assert_eq!(count(), 5);

        // A clock 2 h fast: times are corrected by the measured skew; 3 days off is refused.
        let skewed_t = t + 2 * 3600 * 1_000_000_000;
        let sk = serde_json::json!({"batch_id": "skew-1", "sent_at": now_rfc3339(2 * 3600 * 1000),
            "alerts": [alert("skew", "LOW", "skewed", skewed_t)]});
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/alerts", &sk);
        assert_eq!(s, 200, "{v}");
        let skew = v["clock_skew_ms"].as_i64().unwrap();
        assert!((-7_300_000..=-7_100_000).contains(&skew), "skew {skew}");
        let (_, l) = h.admin("GET", "/api/v1/alerts?rule=skew", None);
        let rec = &l["items"][0];
        let stored = garrison_server::model::parse_rfc3339(rec["time"].as_str().unwrap()).unwrap();
        let agent_time =
            garrison_server::model::parse_rfc3339(rec["agent_time"].as_str().unwrap()).unwrap();
        assert_eq!(agent_time - stored, -skew);
        assert!(
            (stored - (t / 1_000_000) as i64).abs() < 120_000,
            "corrected time is near the real time"
        );
        let far = serde_json::json!({"batch_id": "skew-2", "sent_at": now_rfc3339(3 * 86_400_000), "alerts": []});
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/alerts", &far);
        assert_eq!(s, 422, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("clock"));
        assert_eq!(count(), 6);
    }
}

fn scan_report() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "target": {"kind": "rootfs", "name": "/"},
        "distro": {"id": "debian", "version_id": "12"},
        "packages_scanned": 321,
        "db": {"schema_version": 1, "advisories": 10},
        "findings": [
            {"vulnerability": {"id": "PYSEC-2024-1", "aliases": ["CVE-2024-1111"], "severity": "HIGH", "summary": "bad"},
             "package": {"name": "requests", "version": "2.0.0", "ecosystem": "pypi", "purl": "pkg:pypi/requests@2.0.0", "location": "/usr/lib/python3/dist-packages"},
             "fix": {"state": "fixed", "versions": ["2.32.0"]},
             "risk": {"score": 70.5, "kev": false, "fix_available": true}},
            {"vulnerability": {"id": "DSA-1-1", "severity": "CRITICAL"},
             "package": {"name": "openssl", "version": "3.0.1", "ecosystem": "deb", "purl": "pkg:deb/debian/openssl@3.0.1", "location": "/var/lib/dpkg/status"},
             "fix": {"state": "not-fixed"},
             "risk": {"score": 90.0, "kev": true, "fix_available": false}}
        ],
        "duration_ms": 12
    })
}

#[test]
fn inventory_reports_become_workloads_and_vulnerabilities() {
    for b in backends() {
        let h = Harness::start(b);
        let (agent_id, a) = h.agent("web-1");
        let body = json!({"batch_id": "inv-1", "sent_at": now_rfc3339(0),
            "reports": [{"workload": {"kind": "host", "name": "web-1"}, "report": scan_report()}]});
        let (s, v) = agent_post(&h, &a, "/api/v1/agent/inventory", &body);
        assert_eq!((s, v["stored"].as_i64()), (200, Some(1)), "{b}: {v}");
        assert_eq!(
            agent_post(&h, &a, "/api/v1/agent/inventory", &body).1["duplicate"],
            true
        );
        let (_, w) = h.admin("GET", "/api/v1/workloads", None);
        assert_eq!(w["total"], 1);
        let wl = &w["items"][0];
        assert_eq!(
            (
                wl["agent_id"].as_str(),
                wl["findings"].as_i64(),
                wl["distro"].as_str()
            ),
            (Some(agent_id.as_str()), Some(2), Some("debian 12"))
        );
        let (_, v) = h.admin("GET", "/api/v1/vulnerabilities", None);
        assert_eq!(v["items"][0]["vuln_id"], "DSA-1-1"); // highest risk first
        assert_eq!(v["items"][1]["cve"], "CVE-2024-1111");
        assert_eq!(v["items"][1]["fixed_versions"], json!(["2.32.0"]));
        let (_, v) = h.admin("GET", "/api/v1/vulnerabilities?id=CVE-2024-1111", None);
        assert_eq!(v["total"], 1);
        let (_, v) = h.admin("GET", "/api/v1/vulnerabilities?severity=CRITICAL", None);
        assert_eq!(v["total"], 1);
        // A newer report replaces the workload's findings.
        let mut r2 = scan_report();
        r2["findings"].as_array_mut().unwrap().pop();
        let body2 = json!({"batch_id": "inv-2", "sent_at": now_rfc3339(0),
            "reports": [{"workload": {"kind": "host", "name": "web-1"}, "report": r2}]});
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/inventory", &body2).0, 200);
        let (_, v) = h.admin("GET", "/api/v1/vulnerabilities", None);
        assert_eq!(v["total"], 1);
        // Bad kind: 422; not a scan report: 400.
        let bad = json!({"batch_id": "inv-3", "sent_at": now_rfc3339(0),
            "reports": [{"workload": {"kind": "vm", "name": "x"}, "report": scan_report()}]});
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/inventory", &bad).0, 422);
        let bad = json!({"batch_id": "inv-4", "sent_at": now_rfc3339(0),
            "reports": [{"workload": {"kind": "host", "name": "x"}, "report": {"findings": "no"}}]});
        assert_eq!(agent_post(&h, &a, "/api/v1/agent/inventory", &bad).0, 400);
        let (_, w) = h.admin("GET", "/api/v1/workloads", None);
        assert_eq!(w["total"], 1);
    }
}

#[test]
fn containers_the_host_snapshot_no_longer_lists_are_gone_not_current() {
    let cid = |c: char| c.to_string().repeat(64);
    let container = |name: &str, id: &str| {
        json!({"workload": {"kind": "container", "name": name, "container_id": id, "image": "localhost/app:1"},
               "report": scan_report()})
    };
    let host = |running: &[String]| {
        json!({"workload": {"kind": "host", "name": "web-1", "running_containers": running},
               "report": scan_report()})
    };
    for b in backends() {
        let h = Harness::start(b);
        let (_, a) = h.agent("web-1");
        let (_, other) = h.agent("web-2");
        let post = |a, id: &str, reports: Vec<serde_json::Value>| {
            let body = json!({"batch_id": id, "sent_at": now_rfc3339(0), "reports": reports});
            agent_post(&h, a, "/api/v1/agent/inventory", &body)
        };
        let names = |q: &str| -> Vec<String> {
            let (_, w) = h.admin("GET", &format!("/api/v1/workloads?kind=container{q}"), None);
            let mut v: Vec<String> = w["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["name"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        let (a1, a2, b9) = (cid('a'), cid('b'), cid('9'));
        assert_eq!(
            post(
                &a,
                "s-1",
                vec![
                    host(&[a1.clone(), a2.clone()]),
                    container("web", &a1),
                    container("db", &a2)
                ]
            )
            .0,
            200
        );
        assert_eq!(
            post(
                &other,
                "o-1",
                vec![host(std::slice::from_ref(&b9)), container("cache", &b9)]
            )
            .0,
            200
        );
        assert_eq!(names(""), ["cache", "db", "web"], "{b}");
        // db stopped: the next snapshot names web only.
        assert_eq!(
            post(
                &a,
                "s-2",
                vec![host(std::slice::from_ref(&a1)), container("web", &a1)]
            )
            .0,
            200
        );
        assert_eq!(names(""), ["cache", "web"], "{b}: current");
        assert_eq!(names("&state=gone"), ["db"], "{b}: gone");
        assert_eq!(names("&state=all"), ["cache", "db", "web"], "{b}: all");
        let (_, g) = h.admin("GET", "/api/v1/workloads?state=gone", None);
        let gone = &g["items"][0];
        assert!(gone["gone_at"].is_string(), "{gone}");
        assert_eq!(gone["image"], "localhost/app:1");
        let gid = gone["id"].as_str().unwrap().to_string();
        // Its findings stay on its own, out of the fleet's lists and counts.
        let (_, v) = h.admin(
            "GET",
            &format!("/api/v1/vulnerabilities?workload_id={gid}"),
            None,
        );
        assert_eq!(v["total"], 2, "{b}");
        let (_, v) = h.admin("GET", "/api/v1/vulnerabilities?limit=500", None);
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["workload_id"] != gid.as_str()),
            "{b}"
        );
        assert_eq!(
            v["total"],
            4 * 2,
            "{b}: two hosts and two running containers, two findings each"
        );
        // A report without a snapshot (an older agent, or an image) marks nothing;
        // a container that runs again (same name) is current again.
        assert_eq!(
            post(
                &a,
                "s-3",
                vec![
                    json!({"workload": {"kind": "host", "name": "web-1"}, "report": scan_report()})
                ]
            )
            .0,
            200
        );
        assert_eq!(names(""), ["cache", "web"], "{b}");
        let a3 = cid('c');
        assert_eq!(
            post(
                &a,
                "s-4",
                vec![host(&[a1.clone(), a3.clone()]), container("db", &a3)]
            )
            .0,
            200
        );
        assert_eq!(names(""), ["cache", "db", "web"], "{b}: db back");
        assert!(names("&state=gone").is_empty(), "{b}");
        // Bad snapshots: 422, nothing stored.
        let (s, v) = post(
            &a,
            "s-5",
            vec![
                json!({"workload": {"kind": "container", "name": "x", "running_containers": [a1]}, "report": scan_report()}),
            ],
        );
        assert_eq!(s, 422, "{v}");
        let (s, v) = post(&a, "s-6", vec![host(&["../../etc".to_string()])]);
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a container ID"),
            "{v}"
        );
        let many: Vec<String> = (0..10_001).map(|i| format!("{i:064x}")).collect();
        let (s, v) = post(&a, "s-7", vec![host(&many)]);
        assert_eq!(s, 422, "{v}");
        let (_, v) = h.admin("GET", "/api/v1/workloads?state=bogus", None);
        assert_eq!(
            v["error"]["message"],
            "state \"bogus\" is not one of current, gone, all"
        );
        assert_eq!(names(""), ["cache", "db", "web"], "{b}");
        // Gone a week ago: deleted with its findings on the agent's next inventory.
        assert_eq!(
            post(&a, "s-8", vec![host(std::slice::from_ref(&a1))]).0,
            200
        );
        let (_, g) = h.admin("GET", "/api/v1/workloads?state=gone", None);
        let gid = g["items"][0]["id"].as_str().unwrap().to_string();
        let week_ago = garrison_server::store::now_ms() - 8 * 86_400_000;
        h.rt.block_on(
            sqlx::query("UPDATE workloads SET gone_at = $1 WHERE id = $2")
                .bind(week_ago)
                .bind(&gid)
                .execute(h.store().pool()),
        )
        .unwrap();
        assert_eq!(
            post(&a, "s-9", vec![host(std::slice::from_ref(&a1))]).0,
            200
        );
        assert!(names("&state=all").iter().all(|n| n != "db"), "{b}");
        let (_, v) = h.admin(
            "GET",
            &format!("/api/v1/vulnerabilities?workload_id={gid}"),
            None,
        );
        assert_eq!(v["total"], 0, "{b}");
        assert_eq!(names(""), ["cache", "web"], "{b}");
    }
}

#[test]
fn concurrent_agents_ingest_without_loss_or_duplicates() {
    for b in backends() {
        let h = Harness::start(b);
        let agents: Vec<_> = (0..4).map(|i| h.agent(&format!("c{i}"))).collect();
        std::thread::scope(|s| {
            for (i, (_, a)) in agents.iter().enumerate() {
                let h = &h;
                s.spawn(move || {
                    for n in 0..5 {
                        let alerts = (0..20)
                            .map(|k| alert("c", "LOW", &format!("{i}-{n}-{k}"), now_ns()))
                            .collect();
                        let batch = alert_batch(&format!("b{n}"), alerts);
                        // Each batch twice: the replay must store nothing.
                        assert_eq!(
                            agent_post(h, a, "/api/v1/agent/alerts", &batch).1["stored"],
                            20
                        );
                        assert_eq!(
                            agent_post(h, a, "/api/v1/agent/alerts", &batch).1["duplicate"],
                            true
                        );
                    }
                });
            }
        });
        assert_eq!(
            h.rt.block_on(h.store().count_alerts()).unwrap(),
            4 * 5 * 20,
            "{b}"
        );
    }
}
