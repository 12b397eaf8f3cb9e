//! Console helpers: a fleet to look at (an enrolled agent's heartbeat, alerts
//! and inventory), form logins and posts without following redirects, and raw
//! request lines (for paths a client would normalise).
#![allow(dead_code)]

use super::*;

/// What `seed_fleet` made.
pub struct Fleet {
    pub agent_id: String,
    pub agent: ureq::Agent,
    /// IDs of the alerts, in the order sent: [hostile CRITICAL, LOW].
    pub alerts: Vec<i64>,
    pub workload_id: String,
}

/// Output of the first alert: markup that must render as text.
pub const HOSTILE_OUTPUT: &str =
    "shell spawned <script>document.title='pwned'</script> by <b>bash</b>";
/// A package name that must render as text.
pub const HOSTILE_PACKAGE: &str = "<img src=x onerror=alert(1)>";

/// A scan report with two findings, one in a hostile package name.
pub fn scan_report() -> Value {
    json!({
        "schema_version": 1,
        "target": {"kind": "rootfs", "name": "/"},
        "distro": {"id": "debian", "version_id": "12"},
        "packages_scanned": 321,
        "db": {"schema_version": 1, "advisories": 10},
        "findings": [
            {"vulnerability": {"id": "PYSEC-2024-1", "aliases": ["CVE-2024-1111"], "severity": "HIGH", "summary": "requests leaks credentials"},
             "package": {"name": "requests", "version": "2.0.0", "ecosystem": "pypi", "purl": "pkg:pypi/requests@2.0.0", "location": "/usr/lib/python3/dist-packages"},
             "fix": {"state": "fixed", "versions": ["2.32.0"]},
             "risk": {"score": 70.5, "kev": false, "fix_available": true}},
            {"vulnerability": {"id": "DSA-1-1", "severity": "CRITICAL", "summary": "openssl <b>overflow</b>"},
             "package": {"name": HOSTILE_PACKAGE, "version": "3.0.1", "ecosystem": "deb", "purl": "pkg:deb/debian/openssl@3.0.1", "location": "/var/lib/dpkg/status"},
             "fix": {"state": "not-fixed"},
             "risk": {"score": 90.0, "kev": true, "fix_available": false}}
        ],
        "duration_ms": 12
    })
}

/// Enrolls agent `host`, sends a heartbeat, two alerts and the host's inventory.
pub fn seed_fleet(h: &Harness, host: &str) -> Fleet {
    let (agent_id, agent) = h.agent(host);
    let hb = json!({"sent_at": now_rfc3339(0), "version": "0.1.0", "kernel": "6.1.0-test",
        "sensor_mode": "ebpf", "counters": {"events": 10}, "lost_events": 0});
    let (s, v) = agent_post(h, &agent, "/api/v1/agent/heartbeat", &hb);
    assert_eq!(s, 200, "heartbeat: {v}");
    let batch = alert_batch(
        "console-1",
        vec![
            alert(
                "Terminal shell in container",
                "CRITICAL",
                HOSTILE_OUTPUT,
                now_ns(),
            ),
            alert("Read sensitive file", "LOW", "cat /etc/shadow", now_ns()),
        ],
    );
    let (s, v) = agent_post(h, &agent, "/api/v1/agent/alerts", &batch);
    assert_eq!((s, v["stored"].as_i64()), (200, Some(2)), "alerts: {v}");
    let inv = json!({"batch_id": "console-inv-1", "sent_at": now_rfc3339(0),
        "reports": [{"workload": {"kind": "host", "name": host}, "report": scan_report()}]});
    let (s, v) = agent_post(h, &agent, "/api/v1/agent/inventory", &inv);
    assert_eq!(s, 200, "inventory: {v}");
    let (_, list) = h.admin(
        "GET",
        &format!("/api/v1/alerts?agent_id={agent_id}&sort=time"),
        None,
    );
    let mut alerts: Vec<(String, i64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["output"].as_str().unwrap().to_string(),
                a["id"].as_i64().unwrap(),
            )
        })
        .collect();
    alerts.sort_by_key(|(o, _)| o != HOSTILE_OUTPUT);
    let (_, w) = h.admin(
        "GET",
        &format!("/api/v1/workloads?agent_id={agent_id}"),
        None,
    );
    Fleet {
        agent_id,
        agent,
        alerts: alerts.into_iter().map(|(_, id)| id).collect(),
        workload_id: w["items"][0]["id"].as_str().unwrap().to_string(),
    }
}

/// A browser-like client: trusts the server's CA, follows no redirects.
pub fn page_client(h: &Harness) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let ca = Certificate::from_pem(h.ca_pem.as_bytes()).unwrap();
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(vec![ca])))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// An answer: status, body text, headers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: ureq::http::HeaderMap,
}

impl Answer {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    /// Every `Set-Cookie` as `name=value`.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(str::to_string))
            .collect()
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

fn send(
    h: &Harness,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<&[(&str, &str)]>,
) -> Answer {
    let url = format!("{}{}", h.base, path);
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    let body = match form {
        Some(f) => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            serde_urlencoded::to_string(f).unwrap().into_bytes()
        }
        None => Vec::new(),
    };
    let mut resp = page_client(h)
        .run(req.body(body).unwrap())
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// GETs a console page with a cookie header ("" for none).
pub fn get_page(h: &Harness, path: &str, cookie: &str) -> Answer {
    send(h, "GET", path, cookie, None)
}

/// POSTs a form with a cookie header.
pub fn post_form(h: &Harness, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
    send(h, "POST", path, cookie, Some(form))
}

/// Logs in through the console's form: the answer and the session cookie
/// (`garrison_session=...`, empty when refused).
pub fn form_login(h: &Harness, user: &str, password: &str) -> (Answer, String) {
    let page = get_page(h, "/login", "");
    assert_eq!(page.status, 200, "{}", page.body);
    let login_cookie = page
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("garrison_login_csrf="))
        .expect("login CSRF cookie");
    let csrf = page.csrf();
    let a = post_form(
        h,
        "/login",
        &login_cookie,
        &[("csrf", &csrf), ("username", user), ("password", password)],
    );
    let session = a
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("garrison_session=") && c.len() > "garrison_session=".len())
        .unwrap_or_default();
    (a, session)
}

/// Sends a raw request line over TLS (no client-side path normalisation);
/// returns the status.
pub fn raw_status(h: &Harness, method: &str, target: &str) -> u16 {
    let head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    status_before_body(h, &head, b"")
}
