//! What each kind of target is sent: the URL, headers and JSON body of one
//! HTTP POST, built from an alert. Pure functions (no I/O), unit-tested here
//! and checked against mock receivers in `tests/notify.rs`.

use super::TargetKind;
use crate::model::AlertRecord;
use crate::store::TargetRow;
use base64::Engine;
use serde_json::{json, Value};

/// Header carrying the webhook's HMAC-SHA256 signature: `sha256=<hex>` of the body.
pub const SIGNATURE_HEADER: &str = "X-Garrison-Signature-256";
/// Header carrying the delivery's ID (receivers may use it to drop repeats).
pub const DELIVERY_HEADER: &str = "X-Garrison-Delivery";
/// Header naming the event: `alert` or `test`.
pub const EVENT_HEADER: &str = "X-Garrison-Event";

/// One HTTP POST to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Full URL.
    pub url: String,
    /// Headers besides `Content-Type: application/json` and `User-Agent`.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

/// The alert to announce and what is known around it.
#[derive(Debug, Clone)]
pub struct AlertContext<'a> {
    /// The alert.
    pub alert: &'a AlertRecord,
    /// The agent's host name, when the agent is still known.
    pub hostname: Option<&'a str>,
    /// The delivery's ID; None for a test message.
    pub delivery_id: Option<i64>,
}

impl AlertContext<'_> {
    fn host(&self) -> &str {
        self.hostname.unwrap_or(&self.alert.agent_id)
    }
    fn is_test(&self) -> bool {
        self.delivery_id.is_none()
    }
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn secret<'a>(t: &'a TargetRow, name: &str) -> Option<&'a str> {
    t.secrets
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn option<'a>(t: &'a TargetRow, name: &str) -> Option<&'a str> {
    t.options
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn joined(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// HMAC-SHA256 of `body` with `key`, as `sha256=<hex>`.
pub fn signature(key: &str, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&k, body).as_ref())
    )
}

/// One line saying what happened.
fn summary(cx: &AlertContext<'_>) -> String {
    let a = cx.alert;
    format!(
        "[{}] {} on {}: {}",
        a.severity,
        a.rule,
        cx.host(),
        a.output.replace(['\n', '\r'], " ")
    )
}

/// The request for `target` announcing `cx`; Err names a missing setting.
pub fn build(
    target: &TargetRow,
    kind: TargetKind,
    cx: &AlertContext<'_>,
) -> Result<Outgoing, String> {
    match kind {
        TargetKind::Webhook => Ok(webhook(target, cx)),
        TargetKind::Slack => Ok(slack(target, cx)),
        TargetKind::Pagerduty => pagerduty(target, cx),
        TargetKind::Jira => jira(target, cx),
    }
}

fn webhook(t: &TargetRow, cx: &AlertContext<'_>) -> Outgoing {
    let event = if cx.is_test() { "test" } else { "alert" };
    let body = json!({
        "event": event,
        "delivery_id": cx.delivery_id,
        "target": t.name,
        "agent": {"id": cx.alert.agent_id, "hostname": cx.hostname},
        "alert": cx.alert,
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let mut headers = vec![(EVENT_HEADER.to_string(), event.to_string())];
    if let Some(id) = cx.delivery_id {
        headers.push((DELIVERY_HEADER.to_string(), id.to_string()));
    }
    if let Some(key) = secret(t, "secret") {
        headers.push((SIGNATURE_HEADER.to_string(), signature(key, &body)));
    }
    Outgoing {
        url: t.url.clone(),
        headers,
        body,
    }
}

/// Escapes text for Slack's mrkdwn (`&`, `<`, `>`).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(t: &TargetRow, cx: &AlertContext<'_>) -> Outgoing {
    let a = cx.alert;
    let mut fields = vec![
        ("Host", cx.host().to_string()),
        ("Severity", a.severity.clone()),
        ("Rule", a.rule.clone()),
        ("Process", a.process_name.clone()),
        ("Time", a.time.clone()),
    ];
    if let Some(c) = &a.container_id {
        fields.push(("Container", c.clone()));
    }
    let fields: Vec<Value> = fields
        .into_iter()
        .map(|(k, v)| json!({"type": "mrkdwn", "text": cut(&format!("*{k}*\n{}", slack_escape(&v)), 2000)}))
        .collect();
    let title = if cx.is_test() {
        "Garrison test notification".to_string()
    } else {
        format!("{} alert: {}", a.severity, a.rule)
    };
    let context = match cx.delivery_id {
        Some(d) => format!(
            "Garrison alert {} · agent {} · delivery {d}",
            a.id, a.agent_id
        ),
        None => format!("Sent by target {:?} to check it works", t.name),
    };
    let body = json!({
        "text": cut(&summary(cx), 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": cut(&title, 150), "emoji": false}},
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(&slack_escape(&a.output), 3000)}},
            {"type": "section", "fields": fields},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(&slack_escape(&context), 3000)}]},
        ],
    });
    Outgoing {
        url: t.url.clone(),
        headers: vec![],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// PagerDuty's severity for a Garrison severity.
pub fn pagerduty_severity(s: &str) -> &'static str {
    match s.to_ascii_uppercase().as_str() {
        "CRITICAL" => "critical",
        "HIGH" => "error",
        "MEDIUM" => "warning",
        _ => "info",
    }
}

fn pagerduty(t: &TargetRow, cx: &AlertContext<'_>) -> Result<Outgoing, String> {
    let key = secret(t, "routing_key").ok_or("routing_key is not set")?;
    let a = cx.alert;
    let dedup = match cx.delivery_id {
        Some(_) => format!("garrison-alert-{}-{}", a.agent_id, a.id),
        None => format!("garrison-test-{}", uuid::Uuid::new_v4()),
    };
    let mut details = json!({
        "alert_id": a.id,
        "agent_id": a.agent_id,
        "host": cx.host(),
        "rule": a.rule,
        "garrison_severity": a.severity,
        "priority": a.priority,
        "output": a.output,
        "process": a.process_name,
        "agent_time": a.agent_time,
    });
    if let (Some(c), Some(m)) = (&a.container_id, details.as_object_mut()) {
        m.insert("container_id".into(), json!(c));
    }
    let body = json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "client": "Garrison",
        "payload": {
            "summary": cut(&summary(cx), 1024),
            "source": cx.host(),
            "severity": pagerduty_severity(&a.severity),
            "timestamp": a.time,
            "component": a.process_name,
            "class": a.rule,
            "custom_details": details,
        },
    });
    Ok(Outgoing {
        url: joined(&t.url, "/v2/enqueue"),
        headers: vec![],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

fn jira(t: &TargetRow, cx: &AlertContext<'_>) -> Result<Outgoing, String> {
    let user = option(t, "username").ok_or("username is not set")?;
    let token = secret(t, "api_token").ok_or("api_token is not set")?;
    let project = option(t, "project_key").ok_or("project_key is not set")?;
    let issue_type = option(t, "issue_type").unwrap_or("Task");
    let a = cx.alert;
    let summary = if cx.is_test() {
        "[Garrison] test notification".to_string()
    } else {
        cut(
            &format!("[Garrison] {} {} on {}", a.severity, a.rule, cx.host())
                .replace(['\n', '\r'], " "),
            255,
        )
    };
    let container = a
        .container_id
        .as_deref()
        .map(|c| format!("*Container:* {c}\n"))
        .unwrap_or_default();
    let description = format!(
        "Garrison raised an alert.\n\n*Rule:* {}\n*Severity:* {}\n*Host:* {} (agent {})\n*Process:* {}\n{container}*Time:* {}\n*Alert ID:* {}\n\n{{noformat}}\n{}\n{{noformat}}",
        a.rule,
        a.severity,
        cx.host(),
        a.agent_id,
        a.process_name,
        a.time,
        a.id,
        cut(&a.output.replace("{noformat}", "{ noformat}"), 30_000),
    );
    let body = json!({
        "fields": {
            "project": {"key": project},
            "summary": summary,
            "description": description,
            "issuetype": {"name": issue_type},
        }
    });
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
    Ok(Outgoing {
        url: joined(&t.url, "/rest/api/2/issue"),
        headers: vec![("Authorization".into(), format!("Basic {basic}"))],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> AlertRecord {
        AlertRecord {
            id: 7,
            agent_id: "ag-1".into(),
            time: "2026-01-02T03:04:05.000Z".into(),
            agent_time: "2026-01-02T03:04:05.000Z".into(),
            received_at: "2026-01-02T03:04:06.000Z".into(),
            rule: "Terminal shell in container".into(),
            priority: "WARNING".into(),
            severity: "HIGH".into(),
            output: "shell <sh> & friends".into(),
            process_name: "sh".into(),
            container_id: Some("abc".into()),
            status: "open".into(),
            status_by: None,
            status_at: None,
            alert: json!({}),
        }
    }

    fn target(kind: &str, secrets: Value, options: Value) -> TargetRow {
        TargetRow {
            id: "t".into(),
            name: "n".into(),
            kind: kind.into(),
            url: "https://example.invalid/base/".into(),
            secrets,
            options,
            min_severity: "LOW".into(),
            enabled: true,
            rule_filter: None,
            created_by: "x".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn slack_text_is_escaped_and_cut() {
        let a = alert();
        let cx = AlertContext {
            alert: &a,
            hostname: Some("web-1"),
            delivery_id: Some(3),
        };
        let o = build(
            &target("slack", json!({}), json!({})),
            TargetKind::Slack,
            &cx,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&o.body).unwrap();
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "shell &lt;sh&gt; &amp; friends"
        );
        assert!(v["text"].as_str().unwrap().contains("web-1"));
        assert_eq!(cut("abcdef", 4), "abc…");
    }

    #[test]
    fn pagerduty_and_jira_need_their_secrets() {
        let a = alert();
        let cx = AlertContext {
            alert: &a,
            hostname: None,
            delivery_id: Some(1),
        };
        let t = target("pagerduty", json!({}), json!({}));
        assert!(build(&t, TargetKind::Pagerduty, &cx).is_err());
        let t = target("pagerduty", json!({"routing_key": "k"}), json!({}));
        let o = build(&t, TargetKind::Pagerduty, &cx).unwrap();
        assert_eq!(o.url, "https://example.invalid/base/v2/enqueue");
        let t = target(
            "jira",
            json!({"api_token": "tok"}),
            json!({"username": "u@x", "project_key": "OPS"}),
        );
        let o = build(&t, TargetKind::Jira, &cx).unwrap();
        assert_eq!(o.url, "https://example.invalid/base/rest/api/2/issue");
        assert_eq!(o.headers[0].1, "Basic dUB4OnRvaw==");
        assert_eq!(pagerduty_severity("medium"), "warning");
    }
}
