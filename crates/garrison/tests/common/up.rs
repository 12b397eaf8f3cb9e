//! Shared by the `garrison up` end-to-end tests: running `garrison up` as a
//! child (its output in files, waits with generous deadlines, SIGTERM to stop),
//! and a session on its API over TLS trusting the server's own CA.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap();
    assert_eq!(
        euid, "0",
        "the `garrison up` e2e test needs root (CI runs it as root)"
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Up {
    pub child: Child,
    pub out: PathBuf,
    pub err: PathBuf,
}

impl Up {
    pub fn start(data: &Path, port: u16, run: u32) -> Up {
        let out = data.join(format!("up-{run}.out"));
        let err = data.join(format!("up-{run}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(data.join("garrison"))
            .args(["up", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Up { child, out, err }
    }

    /// `garrison up --no-agent`: the server alone.
    pub fn start_server(data: &Path, port: u16, run: u32) -> Up {
        let out = data.join(format!("up-{run}.out"));
        let err = data.join(format!("up-{run}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(data.join("garrison"))
            .args(["up", "--no-agent", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Up { child, out, err }
    }

    /// A new enrollment token from the server's admin CLI: (token, CA SHA-256).
    pub fn enrollment_token(&self, data: &Path) -> (String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_garrison"))
            .arg("--data-dir")
            .arg(data.join("garrison"))
            .args(["server", "admin", "create-enrollment-token"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .trim()
                .to_string()
        };
        (field("token: "), field("ca-sha256: "))
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn logs(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            std::fs::read_to_string(&self.err).unwrap_or_default()
        )
    }

    pub fn wait_until(&mut self, what: &str, mut ok: impl FnMut(&mut Up) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ok(self) {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "garrison up exited ({st}) waiting for {what}\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM (as Ctrl-C would), and the exit status.
    pub fn stop(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let st = self.child.wait().unwrap();
        (st.success(), self.logs())
    }
}

pub struct Api {
    pub agent: ureq::Agent,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

impl Api {
    pub fn login(data: &Path, port: u16, password: &str) -> Api {
        let ca = std::fs::read(data.join("garrison/server/ca.pem")).unwrap();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[
                ureq::tls::Certificate::from_pem(&ca).unwrap(),
            ]))
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("https://127.0.0.1:{port}");
        let resp = agent
            .post(&format!("{base}/api/v1/login"))
            .header("content-type", "application/json")
            .send(
                serde_json::json!({"username": "admin", "password": password})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "login");
        let cookie: String = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("garrison_session="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string();
        let mut resp = resp;
        let mut body = String::new();
        resp.body_mut()
            .as_reader()
            .read_to_string(&mut body)
            .unwrap();
        let answer: Value = serde_json::from_str(&body).unwrap();
        let csrf = answer["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Api {
            agent,
            base,
            cookie,
            csrf,
        }
    }

    /// A change made with the session (so with its CSRF token); the status and answer.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.agent.post(&format!("{}{path}", self.base)), body)
    }

    /// A PUT made with the session (CSRF token included); the status and answer.
    pub fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.agent.put(&format!("{}{path}", self.base)), body)
    }

    fn send(
        &self,
        req: ureq::RequestBuilder<ureq::typestate::WithBody>,
        body: &Value,
    ) -> (u16, Value) {
        let mut resp = req
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        let mut s = String::new();
        resp.body_mut().as_reader().read_to_string(&mut s).unwrap();
        (
            resp.status().as_u16(),
            serde_json::from_str(&s).unwrap_or(Value::Null),
        )
    }

    /// A GET with the session that must answer 200: the body as text (a
    /// console page, say).
    pub fn get_text(&self, path: &str) -> String {
        let mut resp = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "GET {path}");
        let mut s = String::new();
        resp.body_mut().as_reader().read_to_string(&mut s).unwrap();
        s
    }

    /// A GET with the session that must answer 200: the JSON answer.
    pub fn get(&self, path: &str) -> Value {
        serde_json::from_str(&self.get_text(path)).unwrap()
    }
}

pub fn password_of(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .map(|p| p.trim().to_string())
}

/// The rule the `garrison up` tests trigger.
pub const SHADOW_RULE: &str = "Shadow File Read by Unexpected Program";

/// Reads /etc/shadow with a copy of `cat` named `name` (in `dir`; an unexpected
/// program, and a name no other program on a shared machine has) every few
/// seconds until the server lists the alert; answers the API's query for it.
/// Each read is detached (reparented to init before it reads): the rule leaves
/// out programs whose ancestors include a package manager, and cargo is one.
pub fn raise_shadow_alert(up: &mut Up, api: &Api, dir: &Path, name: &str) -> String {
    let cat = dir.join(name);
    std::fs::copy("/usr/bin/cat", &cat).unwrap();
    let q = format!(
        "/api/v1/alerts?rule={}&q={name}",
        SHADOW_RULE.replace(' ', "%20")
    );
    let mut next_read = Instant::now();
    up.wait_until("the alert in the server's API", |_| {
        if Instant::now() >= next_read {
            let st = Command::new("sh")
                .arg("-c")
                .arg("(sleep 1; exec \"$0\" /etc/shadow) >/dev/null 2>&1 &")
                .arg(&cat)
                .status()
                .unwrap();
            assert!(st.success());
            next_read = Instant::now() + Duration::from_secs(3);
        }
        api.get(&q)["total"].as_i64().unwrap_or(0) > 0
    });
    q
}
