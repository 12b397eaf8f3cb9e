//! Shared by the registry_*.rs tests: a real `docker-registry` on 127.0.0.1
//! (stopped when dropped), pushes with skopeo, and a scripted fake registry
//! with a bearer token server for the flows and failures a real registry
//! will not produce on demand. Nothing here talks to anything but loopback.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub const USER: &str = "garrison";
pub const PASSWORD: &str = "registry-test-pw";

/// A generated fixture of the registry scenario; fails loudly when missing.
pub fn fixture(name: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    let p = base.join("registry").join(name);
    assert!(
        p.exists(),
        "fixture {} is missing: run fixtures/registry/make.sh (as root) first",
        p.display()
    );
    p
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: fixtures/registry/make.sh installs it (apt-get install docker-registry skopeo)");
}

/// How a real registry is set up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain HTTP, anonymous.
    Anonymous,
    /// HTTPS with the fixture's self-signed certificate and htpasswd basic auth.
    TlsBasic,
}

/// A `docker-registry` process on 127.0.0.1 with its own storage; killed on drop.
pub struct Registry {
    child: Child,
    /// The loopback address it listens on: `127.0.0.1` or `::1`.
    pub ip: &'static str,
    pub port: u16,
    pub mode: Mode,
    dir: tempfile::TempDir,
}

fn free_port(ip: &str) -> u16 {
    let l = TcpListener::bind((ip, 0)).expect("bind a free loopback port");
    l.local_addr().expect("local addr").port()
}

impl Registry {
    pub fn start(mode: Mode) -> Registry {
        Registry::start_on(mode, "127.0.0.1")
    }

    /// Starts on `ip` (`127.0.0.1` or `::1`).
    pub fn start_on(mode: Mode, ip: &'static str) -> Registry {
        Registry::start_in(mode, ip, tempfile::tempdir().expect("tempdir"))
    }

    /// Stops this registry and serves the same storage on `ip` (skopeo 1.9
    /// cannot push to an IPv6 literal, so IPv6 tests push over IPv4 first).
    pub fn move_to(mut self, ip: &'static str) -> Registry {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::rename(self.dir.path().join("storage"), dir.path().join("storage"))
            .expect("move registry storage");
        Registry::start_in(self.mode, ip, dir)
    }

    fn start_in(mode: Mode, ip: &'static str, dir: tempfile::TempDir) -> Registry {
        let binary = tool("docker-registry");
        let port = free_port(ip);
        let listen = if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        };
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: \"{listen}\"\n  secret: garrison-test-secret\n",
            dir.path().join("storage").display()
        );
        if mode == Mode::TlsBasic {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: garrison-test\n    path: {}\n",
                fixture("tls/cert.pem").display(),
                fixture("tls/key.pem").display(),
                fixture("htpasswd").display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut registry = Registry {
            child,
            ip,
            port,
            mode,
            dir,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&mut self) {
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "docker-registry exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            if TcpStream::connect((self.ip, self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!(
            "docker-registry never listened on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }

    /// Pushes `source` (a skopeo transport:path) to `repo_tag` on this registry.
    pub fn push(&self, source: &str, repo_tag: &str, all: bool) {
        self.push_with(source, repo_tag, all, &[]);
    }

    /// [`Registry::push`] with extra `skopeo copy` arguments.
    pub fn push_with(&self, source: &str, repo_tag: &str, all: bool, extra: &[&str]) {
        let mut cmd = Command::new(tool("skopeo"));
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        cmd.args(extra);
        if all {
            cmd.arg("--all");
        }
        if self.mode == Mode::TlsBasic {
            cmd.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        cmd.arg(source)
            .arg(format!("docker://{}/{repo_tag}", self.host()));
        let out = cmd.output().expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy {source} to {repo_tag} failed: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A scripted registry serving an OCI layout directory.

/// How the fake registry authenticates.
#[derive(Clone, Debug)]
pub enum FakeAuth {
    None,
    /// Basic auth with these credentials; `reject_all` refuses even them.
    Basic {
        reject_all: bool,
    },
    /// Bearer tokens from `/token`. `need_basic`: the token server wants the
    /// test credentials; `field`: `token` or `access_token`.
    Bearer {
        need_basic: bool,
        field: &'static str,
    },
}

/// What the fake registry does wrong, on purpose.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Serve this blob with one byte changed.
    pub corrupt_blob: Option<String>,
    /// Answer 404 for this blob.
    pub missing_blob: Option<String>,
    /// Serve a 5 MiB manifest.
    pub oversized_manifest: bool,
    /// Answer manifest requests by tag with an index whose linux/amd64 entry
    /// has this digest.
    pub index_entry_digest: Option<String>,
    /// Claim a wrong `Docker-Content-Digest` for manifests fetched by tag.
    pub wrong_digest_header: bool,
    /// Answer a manifest request by digest with another document.
    pub wrong_manifest_for_digest: bool,
    /// Append bytes to this blob, without a Content-Length (chunked).
    pub longer_blob: Option<String>,
    /// Send only the first half of this blob, chunked, then end the body.
    pub shorter_blob: Option<String>,
    /// Send this blob with 10 extra bytes and a Content-Length that says so
    /// (which then differs from the manifest's size).
    pub blob_length_lie: Option<String>,
    /// Serve blobs through a redirect to a second server on 127.0.0.2 that
    /// refuses requests carrying an Authorization header (like signed-URL storage).
    pub redirect_blobs: bool,
}

#[derive(Default)]
pub struct Counters {
    pub token_requests: AtomicUsize,
    pub storage_requests: AtomicUsize,
    pub unauthorized: AtomicUsize,
}

pub struct Fake {
    pub port: u16,
    pub counters: Arc<Counters>,
    servers: Vec<Arc<tiny_http::Server>>,
    threads: Vec<JoinHandle<()>>,
}

impl Fake {
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Serves `layout` as repository `repo` on 127.0.0.1.
    pub fn start(layout: &Path, repo: &str, auth: FakeAuth, faults: Faults) -> Fake {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("fake registry listens"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let counters = Arc::new(Counters::default());
        let mut servers = vec![server.clone()];
        let mut threads = Vec::new();
        let storage_base = if faults.redirect_blobs {
            let storage =
                Arc::new(tiny_http::Server::http("127.0.0.2:0").expect("storage server listens"));
            let sport = storage.server_addr().to_ip().expect("ip address").port();
            servers.push(storage.clone());
            let layout = layout.to_path_buf();
            let counters = counters.clone();
            threads.push(std::thread::spawn(move || {
                for req in storage.incoming_requests() {
                    counters.storage_requests.fetch_add(1, Ordering::SeqCst);
                    let has_auth = req.headers().iter().any(|h| h.field.equiv("Authorization"));
                    let url = req.url().to_string();
                    let response = match (has_auth, url.strip_prefix("/storage/")) {
                        (true, _) => text(
                            400,
                            "storage: requests with an Authorization header are refused",
                        ),
                        (false, Some(rest)) => {
                            let digest = rest.split('?').next().unwrap_or(rest);
                            match read_blob(&layout, digest) {
                                Some(b) => tiny_http::Response::from_data(b).boxed(),
                                None => text(404, "no such blob"),
                            }
                        }
                        (false, None) => text(404, "not found"),
                    };
                    let _ = req.respond(response);
                }
            }));
            Some(format!("http://127.0.0.2:{sport}"))
        } else {
            None
        };
        let state = FakeState {
            layout: layout.to_path_buf(),
            repo: repo.to_string(),
            auth,
            faults,
            port,
            storage_base,
            tokens: Mutex::new(HashSet::new()),
            counters: counters.clone(),
        };
        threads.push(std::thread::spawn(move || {
            for req in server.incoming_requests() {
                let response = state.answer(&req);
                let _ = req.respond(response);
            }
        }));
        Fake {
            port,
            counters,
            servers,
            threads,
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        for s in &self.servers {
            s.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

type Resp = tiny_http::ResponseBox;

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn text(status: u16, body: &str) -> Resp {
    tiny_http::Response::from_string(body)
        .with_status_code(status)
        .boxed()
}

fn registry_error(status: u16, code: &str, message: &str) -> Resp {
    tiny_http::Response::from_string(format!(
        r#"{{"errors":[{{"code":"{code}","message":"{message}"}}]}}"#
    ))
    .with_status_code(status)
    .with_header(header("Content-Type", "application/json"))
    .boxed()
}

fn read_blob(layout: &Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(layout.join("blobs/sha256").join(hex)).ok()
}

struct FakeState {
    layout: PathBuf,
    repo: String,
    auth: FakeAuth,
    faults: Faults,
    port: u16,
    storage_base: Option<String>,
    tokens: Mutex<HashSet<String>>,
    counters: Arc<Counters>,
}

fn basic_ok(value: Option<&str>) -> bool {
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    value == Some(format!("Basic {want}").as_str())
}

impl FakeState {
    fn answer(&self, req: &tiny_http::Request) -> Resp {
        let url = req.url().to_string();
        let auth = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_string());
        if let Some(query) = url.strip_prefix("/token?") {
            return self.token(query, auth.as_deref());
        }
        let Some(api) = url.strip_prefix("/v2/") else {
            return text(404, "not found");
        };
        let scoped = !api.is_empty();
        if let Some(challenge) = self.check(auth.as_deref(), scoped) {
            self.counters.unauthorized.fetch_add(1, Ordering::SeqCst);
            return tiny_http::Response::from_string(
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )
            .with_status_code(401)
            .with_header(header("WWW-Authenticate", &challenge))
            .boxed();
        }
        if api.is_empty() {
            return text(200, "{}");
        }
        let Some(rest) = api.strip_prefix(&format!("{}/", self.repo)) else {
            return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry");
        };
        if let Some(reference) = rest.strip_prefix("manifests/") {
            return self.manifest(reference);
        }
        if let Some(digest) = rest.strip_prefix("blobs/") {
            return self.blob(digest);
        }
        text(404, "not found")
    }

    /// `Some(challenge)` when the request is not authorized.
    fn check(&self, auth: Option<&str>, scoped: bool) -> Option<String> {
        match &self.auth {
            FakeAuth::None => None,
            FakeAuth::Basic { reject_all } => {
                if !reject_all && basic_ok(auth) {
                    None
                } else {
                    Some(r#"Basic realm="fake-registry""#.to_string())
                }
            }
            FakeAuth::Bearer { .. } => {
                let token = auth.and_then(|a| a.strip_prefix("Bearer "));
                let tokens = self.tokens.lock().expect("tokens lock");
                if token.is_some_and(|t| tokens.contains(t)) {
                    return None;
                }
                let mut c = format!(
                    r#"Bearer realm="http://127.0.0.1:{}/token?origin=fake",service="fake-registry""#,
                    self.port
                );
                if scoped {
                    c.push_str(&format!(r#",scope="repository:{}:pull""#, self.repo));
                }
                Some(c)
            }
        }
    }

    fn token(&self, query: &str, auth: Option<&str>) -> Resp {
        self.counters.token_requests.fetch_add(1, Ordering::SeqCst);
        let FakeAuth::Bearer { need_basic, field } = &self.auth else {
            return text(404, "no token server");
        };
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2F", "/")))
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        // The realm's own query must survive next to the added parameters.
        if get("origin") != Some("fake") {
            return text(400, "the realm's query was lost");
        }
        if get("service") != Some("fake-registry") {
            return text(400, "wrong service");
        }
        if get("scope") != Some(format!("repository:{}:pull", self.repo).as_str()) {
            return text(400, "wrong scope");
        }
        if *need_basic && !basic_ok(auth) {
            return text(401, r#"{"details":"incorrect username or password"}"#);
        }
        let mut tokens = self.tokens.lock().expect("tokens lock");
        let token = format!("tok-{}", tokens.len() + 1);
        tokens.insert(token.clone());
        tiny_http::Response::from_string(format!(r#"{{"{field}":"{token}","expires_in":300}}"#))
            .with_header(header("Content-Type", "application/json"))
            .boxed()
    }

    fn manifest(&self, reference: &str) -> Resp {
        if self.faults.oversized_manifest {
            let mut big = br#"{"schemaVersion":2,"manifests":[],"padding":""#.to_vec();
            big.resize(5 << 20, b'x');
            big.extend_from_slice(b"\"}");
            return tiny_http::Response::from_data(big)
                .with_header(header(
                    "Content-Type",
                    "application/vnd.oci.image.index.v1+json",
                ))
                .boxed();
        }
        if let (Some(bad), false) = (
            &self.faults.index_entry_digest,
            reference.starts_with("sha256:"),
        ) {
            let index = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [{
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": bad,
                    "size": 100,
                    "platform": {"os": "linux", "architecture": "amd64"}
                }]
            });
            return tiny_http::Response::from_data(index.to_string().into_bytes())
                .with_header(header(
                    "Content-Type",
                    "application/vnd.oci.image.index.v1+json",
                ))
                .boxed();
        }
        let digest = if reference.starts_with("sha256:") {
            reference.to_string()
        } else {
            let index: serde_json::Value = match std::fs::read(self.layout.join("index.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(v) => v,
                None => return text(500, "bad layout"),
            };
            let found = index["manifests"].as_array().and_then(|ms| {
                ms.iter().find(|m| {
                    m["annotations"]["org.opencontainers.image.ref.name"].as_str()
                        == Some(reference)
                })
            });
            match found.and_then(|m| m["digest"].as_str()) {
                Some(d) => d.to_string(),
                None => return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
            }
        };
        let Some(mut bytes) = read_blob(&self.layout, &digest) else {
            return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown");
        };
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".into());
        let mut claimed = digest.clone();
        if reference.starts_with("sha256:") && self.faults.wrong_manifest_for_digest {
            bytes.extend_from_slice(b"\n");
        }
        if !reference.starts_with("sha256:") && self.faults.wrong_digest_header {
            claimed = format!("sha256:{}", "0".repeat(64));
        }
        tiny_http::Response::from_data(bytes)
            .with_header(header("Content-Type", &media_type))
            .with_header(header("Docker-Content-Digest", &claimed))
            .boxed()
    }

    fn blob(&self, digest: &str) -> Resp {
        if self.faults.missing_blob.as_deref() == Some(digest) {
            return registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry");
        }
        if let Some(base) = &self.storage_base {
            return tiny_http::Response::empty(307)
                .with_header(header(
                    "Location",
                    &format!("{base}/storage/{digest}?signature=fake"),
                ))
                .boxed();
        }
        let Some(mut bytes) = read_blob(&self.layout, digest) else {
            return registry_error(404, "BLOB_UNKNOWN", "blob unknown to registry");
        };
        if self.faults.corrupt_blob.as_deref() == Some(digest) {
            let middle = bytes.len() / 2;
            if let Some(b) = bytes.get_mut(middle) {
                *b ^= 0x55;
            }
        }
        if self.faults.longer_blob.as_deref() == Some(digest) {
            bytes.extend_from_slice(&[0u8; 4096]);
            let len = None;
            return tiny_http::Response::new(
                tiny_http::StatusCode(200),
                vec![],
                std::io::Cursor::new(bytes),
                len,
                None,
            )
            .boxed();
        }
        if self.faults.shorter_blob.as_deref() == Some(digest) {
            bytes.truncate(bytes.len() / 2);
            return tiny_http::Response::new(
                tiny_http::StatusCode(200),
                vec![],
                std::io::Cursor::new(bytes),
                None,
                None,
            )
            .boxed();
        }
        if self.faults.blob_length_lie.as_deref() == Some(digest) {
            let n = bytes.len() + 10;
            bytes.extend_from_slice(&[0u8; 10]);
            return tiny_http::Response::new(
                tiny_http::StatusCode(200),
                vec![],
                std::io::Cursor::new(bytes),
                Some(n),
                None,
            )
            // tiny_http would switch to chunked above 32 KiB and drop the length.
            .with_chunked_threshold(usize::MAX)
            .boxed();
        }
        tiny_http::Response::from_data(bytes).boxed()
    }
}

/// Reads a whole stream, for tests that check raw blob bytes.
pub fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

/// Writes `bytes` to a new file in `dir`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create file");
    f.write_all(bytes).expect("write file");
    p
}
