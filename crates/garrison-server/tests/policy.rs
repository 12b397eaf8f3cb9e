//! Policy push: groups, policies (rulesets compiled on upload, agent
//! configuration), versions seen in heartbeat answers, the agent's fetch, group
//! moves, refusals and authorization, on SQLite and PostgreSQL over real TLS.

mod common;
use common::*;
use serde_json::{json, Value};

const SHELL_RULES: &str = "\
- macro: spawned
  condition: evt.type = execve

- rule: Shell spawned
  desc: a shell ran
  condition: spawned and proc.name in (sh, bash)
  output: shell %proc.name by %user.name
  priority: WARNING
";

const NET_RULES: &str = "\
- rule: Netcat
  desc: nc ran
  condition: evt.type = execve and proc.name = nc
  output: netcat %proc.cmdline
  priority: ERROR
";

fn heartbeat(h: &Harness, a: &ureq::Agent, in_force: Option<&str>) -> Value {
    let mut hb = json!({"sent_at": now_rfc3339(0), "version": "0.1.0", "kernel": "6.1.0",
        "sensor_mode": "ebpf"});
    if let Some(v) = in_force {
        hb["policy_version"] = json!(v);
    }
    let (s, v) = agent_post(h, a, "/api/v1/agent/heartbeat", &hb);
    assert_eq!(s, 200, "{v}");
    v
}

fn agent_get(h: &Harness, a: &ureq::Agent, path: &str) -> (u16, Value) {
    h.call(a, "GET", path, &[], None)
}

#[test]
fn policies_reach_agents_through_heartbeats_and_group_moves() {
    for b in backends() {
        let h = Harness::start(b);
        let (s, groups) = h.admin("GET", "/api/v1/groups", None);
        assert_eq!(s, 200, "{groups}");
        assert_eq!(groups[0]["name"], "default");
        assert_eq!(groups[0]["policy_version"], Value::Null);

        let (a_id, a) = h.agent("host-a");
        // No policy yet: the heartbeat answer says null, the fetch 404.
        let ack = heartbeat(&h, &a, None);
        assert!(
            ack.as_object().unwrap().contains_key("policy_version"),
            "{ack}"
        );
        assert_eq!(ack["policy_version"], Value::Null);
        assert_eq!(agent_get(&h, &a, "/api/v1/agent/policy").0, 404);

        let policy = json!({
            "rules": [{"name": "shell.yaml", "content": SHELL_RULES}],
            "config": {"alert_window_s": 30, "alerts_per_rule": 10, "events": ["exec", "connect"]}
        });
        let (s, p) = h.admin("PUT", "/api/v1/groups/default/policy", Some(policy.clone()));
        assert_eq!(s, 200, "{b}: {p}");
        let v1 = p["version"].as_str().unwrap().to_string();
        assert_eq!(v1.len(), 64);
        assert!(v1.bytes().all(|c| c.is_ascii_hexdigit()));

        // The next heartbeat names the wanted version; the agent fetches it.
        assert_eq!(heartbeat(&h, &a, None)["policy_version"], v1.as_str());
        let (s, got) = agent_get(&h, &a, "/api/v1/agent/policy");
        assert_eq!(s, 200, "{got}");
        assert_eq!(got["version"], v1.as_str());
        assert_eq!(
            got["rules"],
            json!([{"name": "shell.yaml", "content": SHELL_RULES}])
        );
        assert_eq!(got["config"], policy["config"]);
        let (_, ag) = h.admin("GET", &format!("/api/v1/agents/{a_id}"), None);
        assert_eq!(
            (
                &ag["group"],
                &ag["policy_version"],
                &ag["group_policy_version"]
            ),
            (&json!("default"), &Value::Null, &json!(v1))
        );
        // Once in force, the agent says so; the console sees it.
        assert_eq!(heartbeat(&h, &a, Some(&v1))["policy_version"], v1.as_str());
        let (_, ag) = h.admin("GET", &format!("/api/v1/agents/{a_id}"), None);
        assert_eq!(ag["policy_version"], v1.as_str());
        let (_, list) = h.admin("GET", "/api/v1/agents", None);
        assert_eq!(list[0]["policy_version"], v1.as_str());

        // The same content is the same version; another content another one.
        let (_, p) = h.admin("PUT", "/api/v1/groups/default/policy", Some(policy.clone()));
        assert_eq!(p["version"], v1.as_str());
        let mut changed = policy.clone();
        changed["config"]["alerts_per_rule"] = json!(20);
        let (_, p) = h.admin("PUT", "/api/v1/groups/default/policy", Some(changed));
        let v2 = p["version"].as_str().unwrap().to_string();
        assert_ne!(v1, v2);
        assert_eq!(heartbeat(&h, &a, Some(&v1))["policy_version"], v2.as_str());
        let (s, p) = h.admin("GET", "/api/v1/groups/default/policy", None);
        assert_eq!(s, 200);
        assert_eq!(
            (&p["version"], &p["config"]["alerts_per_rule"]),
            (&json!(v2), &json!(20))
        );
        assert!(p["updated_by"].as_str().unwrap().starts_with("token:"));

        // A second group, and an enrollment token whose agents join it.
        let web = json!({"rules": [{"name": "net.yml", "content": NET_RULES}], "config": {}});
        let (s, p) = h.admin("PUT", "/api/v1/groups/web/policy", Some(web));
        assert_eq!(s, 200, "{p}");
        let vw = p["version"].as_str().unwrap().to_string();
        let (s, t) = h.admin(
            "POST",
            "/api/v1/enrollment-tokens",
            Some(json!({"description": "web hosts", "group": "web"})),
        );
        assert_eq!((s, &t["info"]["group"]), (201, &json!("web")), "{t}");
        let tok = t["token"].as_str().unwrap();
        let (s, e, key) = h.enroll(tok, "host-w");
        assert_eq!(s, 201, "{e}");
        let w = client_with(
            &h.ca_pem,
            Some((e["certificate_pem"].as_str().unwrap(), &key)),
        );
        assert_eq!(heartbeat(&h, &w, None)["policy_version"], vw.as_str());
        let (_, got) = agent_get(&h, &w, "/api/v1/agent/policy");
        assert_eq!(got["rules"][0]["name"], "net.yml");
        assert_eq!(got["config"], json!({}));
        // A token for a group that does not exist is refused.
        let (s, _) = h.admin(
            "POST",
            "/api/v1/enrollment-tokens",
            Some(json!({"group": "nowhere"})),
        );
        assert_eq!(s, 404);

        // Moving agent A to web: its next heartbeat wants web's policy.
        let (s, ag) = h.admin(
            "PUT",
            &format!("/api/v1/agents/{a_id}/group"),
            Some(json!({"group": "web"})),
        );
        assert_eq!(s, 200, "{ag}");
        assert_eq!(
            (&ag["group"], &ag["group_policy_version"]),
            (&json!("web"), &json!(vw))
        );
        assert_eq!(heartbeat(&h, &a, Some(&v2))["policy_version"], vw.as_str());
        assert_eq!(
            agent_get(&h, &a, "/api/v1/agent/policy").1["version"],
            vw.as_str()
        );
        let (s, _) = h.admin(
            "PUT",
            &format!("/api/v1/agents/{a_id}/group"),
            Some(json!({"group": "nowhere"})),
        );
        assert_eq!(s, 404);
        let (s, _) = h.admin(
            "PUT",
            "/api/v1/agents/no-such-agent/group",
            Some(json!({"group": "web"})),
        );
        assert_eq!(s, 404);

        let (_, groups) = h.admin("GET", "/api/v1/groups", None);
        let counts: Vec<(String, i64)> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["name"].as_str().unwrap().to_string(),
                    g["agents"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(counts, [("default".into(), 0), ("web".into(), 2)]);

        let (_, log) = h.admin("GET", "/api/v1/audit?limit=500", None);
        let entries = log["items"].as_array().unwrap();
        let moved = entries
            .iter()
            .find(|e| e["action"] == "agent.group")
            .unwrap();
        assert_eq!(
            (&moved["detail"]["before"], &moved["detail"]["after"]),
            (&json!("default"), &json!("web"))
        );
        let updates: Vec<&Value> = entries
            .iter()
            .filter(|e| e["action"] == "policy.update")
            .collect();
        assert_eq!(updates.len(), 4, "{b}");
        assert!(updates
            .iter()
            .any(|e| e["detail"]["before"] == json!(v1) && e["detail"]["after"] == json!(v2)));
    }
}

#[test]
fn broken_rules_and_bad_configuration_are_refused_and_roles_hold() {
    for b in backends() {
        let h = Harness::start(b);
        let good = json!({"rules": [{"name": "shell.yaml", "content": SHELL_RULES}]});
        let (s, p) = h.admin("PUT", "/api/v1/groups/default/policy", Some(good));
        assert_eq!(s, 200, "{p}");
        let version = p["version"].clone();

        // A rule whose condition names an unknown field: 422 naming file, line and rule.
        let broken = format!(
            "{SHELL_RULES}\n- rule: Broken one\n  desc: x\n  condition: proc.nmae = sh\n  output: x\n  priority: WARNING\n"
        );
        let (s, v) = h.admin(
            "PUT",
            "/api/v1/groups/default/policy",
            Some(json!({"rules": [
                {"name": "shell.yaml", "content": SHELL_RULES},
                {"name": "broken.yaml", "content": broken}
            ]})),
        );
        assert_eq!(s, 422, "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("broken.yaml:10") && msg.contains("Broken one") && msg.contains("nmae"),
            "{msg}"
        );
        // Not YAML at all.
        let (s, v) = h.admin(
            "PUT",
            "/api/v1/groups/default/policy",
            Some(json!({"rules": [{"name": "junk.yaml", "content": "- rule: [unclosed\n"}]})),
        );
        assert_eq!(s, 422, "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("junk.yaml:"));
        for (bad, status) in [
            (json!({"config": {"alert_window": 5}}), 400),
            (json!({"config": {"events": ["exec", "teleport"]}}), 422),
            (json!({"config": {"alert_window_s": 0}}), 422),
            (json!({"config": {"alerts_per_rule": -1}}), 400),
            (
                json!({"rules": [{"name": "../../etc/x.yaml", "content": ""}]}),
                400,
            ),
            (
                json!({"rules": [{"name": "rules.txt", "content": ""}]}),
                400,
            ),
            (
                json!({"rules": [{"name": "a.yaml", "content": ""}, {"name": "a.yaml", "content": ""}]}),
                400,
            ),
            (json!({"rules": "all"}), 400),
            (json!({"bogus": true}), 400),
        ] {
            let (s, v) = h.admin("PUT", "/api/v1/groups/default/policy", Some(bad.clone()));
            assert_eq!(s, status, "{b}: {bad}: {v}");
        }
        // Group names are checked; nothing refused changed the policy or made a group.
        for name in ["a%20b", "x%27%3B%20DROP%20TABLE%20agents%3B--"] {
            let (s, _) = h.admin(
                "PUT",
                &format!("/api/v1/groups/{name}/policy"),
                Some(json!({})),
            );
            assert_eq!(s, 400, "{name}");
        }
        let (_, p) = h.admin("GET", "/api/v1/groups/default/policy", None);
        assert_eq!(p["version"], version);
        let (_, groups) = h.admin("GET", "/api/v1/groups", None);
        assert_eq!(groups.as_array().unwrap().len(), 1);
        assert_eq!(h.admin("GET", "/api/v1/groups/none/policy", None).0, 404);

        // Read-only users read policies but change nothing; analysts move no agent.
        let ro = format!("Bearer {}", h.user_token("reader", "read-only"));
        let an = format!("Bearer {}", h.user_token("ann", "analyst"));
        let c = h.client();
        let (s, p) = h.call(
            &c,
            "GET",
            "/api/v1/groups/default/policy",
            &[("authorization", &ro)],
            None,
        );
        assert_eq!((s, &p["version"]), (200, &version));
        let (s, _) = h.call(
            &c,
            "PUT",
            "/api/v1/groups/default/policy",
            &[("authorization", &an)],
            Some(json!({})),
        );
        assert_eq!(s, 403);
        let (a_id, a) = h.agent("h");
        let (s, _) = h.call(
            &c,
            "PUT",
            &format!("/api/v1/agents/{a_id}/group"),
            &[("authorization", &an)],
            Some(json!({"group": "default"})),
        );
        assert_eq!(s, 403);
        // Agents read only their own group's policy, and only with their certificate.
        assert_eq!(
            h.call(
                &c,
                "GET",
                "/api/v1/agent/policy",
                &[("authorization", &ro)],
                None
            )
            .0,
            401
        );
        assert_eq!(
            agent_get(&h, &a, "/api/v1/agent/policy").1["version"],
            version
        );
        // An oversized heartbeat policy_version is refused.
        let (s, _) = agent_post(
            &h,
            &a,
            "/api/v1/agent/heartbeat",
            &json!({"sent_at": now_rfc3339(0), "version": "1", "kernel": "k",
                "sensor_mode": "ebpf", "policy_version": "x".repeat(200)}),
        );
        assert_eq!(s, 400);
    }
}
