//! `garrison admission` as a real process on 127.0.0.1: certificates from
//! `gen-cert`, AdmissionReview requests sent with curl over TLS (verified
//! against the generated CA for garrison-admission.garrison.svc).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const DIGEST: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(port: u16, ca: &Path, body: &str) -> (u16, String) {
    let host = "garrison-admission.garrison.svc";
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(ca)
        .args(["--resolve", &format!("{host}:{port}:127.0.0.1")])
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ])
        .args(["-w", "\n%{http_code}"])
        .arg(format!("https://{host}:{port}/validate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(body.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run curl (apt-get install curl; scripts/setup installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

fn review(spec: Value) -> String {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "3f1c2b9e-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "shop", "operation": "CREATE",
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec},
        },
    })
    .to_string()
}

#[test]
fn the_webhook_binary_admits_and_rejects_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_garrison");
    let certs = tmp.path().join("certs");
    let st = Command::new(bin)
        .args(["admission", "gen-cert", "--out"])
        .arg(&certs)
        .status()
        .unwrap();
    assert!(st.success());
    let scans = tmp.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    let report = json!({
        "schema_version": 1,
        "target": {"kind": "image", "name": "app.tar", "digest": DIGEST},
        "packages_scanned": 1,
        "db": {"schema_version": 1, "advisories": 1, "ecosystems": []},
        "findings": [], "duration_ms": 1,
    });
    std::fs::write(scans.join("app.json"), report.to_string()).unwrap();

    let mut child = Command::new(bin)
        .args([
            "admission",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "enforce",
            "--unscanned",
            "deny",
        ])
        .arg("--tls-cert")
        .arg(certs.join("tls.crt"))
        .arg("--tls-key")
        .arg(certs.join("tls.key"))
        .arg("--scan-results")
        .arg(&scans)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("the webhook exited before listening")
            .unwrap();
        if let Some(rest) = line.split("https://127.0.0.1:").nth(1) {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
    };
    let ca = certs.join("ca.crt");

    let good = json!({
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": format!("registry.example/app:1@{DIGEST}"),
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    });
    let (code, body) = curl(port, &ca, &review(good.clone()));
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["response"]["allowed"], true, "{v}");
    assert_eq!(v["response"]["uid"], "3f1c2b9e-0000-4000-8000-000000000001");

    let mut bad = good;
    bad["hostNetwork"] = json!(true);
    bad["containers"][0]["image"] = json!("registry.example/app:latest");
    let (code, body) = curl(port, &ca, &review(bad));
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["response"]["allowed"], false, "{v}");
    let msg = v["response"]["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("GAR-K8S-001") && msg.contains("GAR-ADM-UNSCANNED"),
        "{msg}"
    );

    let (code, body) = curl(port, &ca, "this is not an AdmissionReview");
    assert_eq!(code, 400);
    assert!(body.contains("not JSON"), "{body}");
    drop(server);
}
