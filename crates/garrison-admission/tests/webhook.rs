//! Real AdmissionReview requests over TLS to the webhook running on 127.0.0.1:
//! admit, reject, warn mode, audit mode, excluded namespace, unscanned-image
//! policy, CRITICAL vulnerabilities by digest, and malformed requests.

use garrison_admission::cert::generate_pems;
use garrison_admission::server::{self, State};
use garrison_admission::{CriticalPolicy, Mode, Policy, ScanStore, Unscanned};
use garrison_misconfig::Catalog;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const VULN_DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const CLEAN_DIGEST: &str =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const SERVICE: &str = "garrison-admission";
const NAMESPACE: &str = "garrison";

fn scan_report(digest: &str, critical: &[(&str, bool)]) -> Value {
    let findings: Vec<Value> = critical
        .iter()
        .map(|(id, fixed)| {
            json!({
                "vulnerability": {"id": id, "severity": "CRITICAL"},
                "package": {"name": "openssl", "version": "3.0.0", "ecosystem": "deb",
                             "purl": "pkg:deb/debian/openssl@3.0.0", "location": "/var/lib/dpkg/status"},
                "fix": if *fixed { json!({"state": "fixed", "versions": ["3.0.1"]}) } else { json!({"state": "not-fixed"}) },
                "risk": {"score": 9.0, "kev": false, "fix_available": *fixed},
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "target": {"kind": "image", "name": "registry.example/app:1", "digest": digest},
        "packages_scanned": 100,
        "db": {"schema_version": 1, "advisories": 10, "ecosystems": ["Debian"]},
        "findings": findings,
        "duration_ms": 5,
    })
}

struct Webhook {
    addr: SocketAddr,
    ca: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

async fn start(policy: Policy) -> Webhook {
    let dir = tempfile::tempdir().unwrap();
    let pems = generate_pems(SERVICE, NAMESPACE, 30).unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, &pems.cert).unwrap();
    std::fs::write(&key, &pems.key).unwrap();
    let scans = dir.path().join("scans");
    std::fs::create_dir(&scans).unwrap();
    let mut f = std::fs::File::create(scans.join("vuln.json")).unwrap();
    f.write_all(
        scan_report(
            VULN_DIGEST,
            &[("CVE-2024-0001", true), ("CVE-2024-0002", false)],
        )
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    std::fs::write(
        scans.join("clean.json"),
        scan_report(CLEAN_DIGEST, &[("CVE-2024-0003", false)]).to_string(),
    )
    .unwrap();
    std::fs::write(scans.join("junk.json"), "{not json").unwrap();
    let store = ScanStore::load(&scans);
    assert_eq!(store.len(), 2);
    assert_eq!(store.skipped.len(), 1, "{:?}", store.skipped);
    let tls = server::tls_config(&cert, &key).unwrap();
    let listener = server::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State {
        policy,
        catalog: Catalog::builtin().unwrap(),
        store,
        max_body: 64 * 1024,
    });
    tokio::spawn(server::serve(listener, tls, state));
    Webhook {
        addr,
        ca: CertificateDer::from_pem_slice(pems.ca_cert.as_bytes()).unwrap(),
        _dir: dir,
    }
}

/// One HTTP/1.1 request over TLS, verified against the generated CA for
/// `<service>.<namespace>.svc`; returns the status code and body.
async fn post(w: &Webhook, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(w.ca.clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(w.addr).await.unwrap();
    let name = ServerName::try_from(format!("{SERVICE}.{NAMESPACE}.svc")).unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {SERVICE}.{NAMESPACE}.svc\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    // A huge body may be refused before all of it is sent; that is fine.
    let _ = tls.write_all(body).await;
    let _ = tls.flush().await;
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn review(namespace: &str, pod_spec: Value) -> Vec<u8> {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": pod_spec,
            },
        },
    })
    .to_string()
    .into_bytes()
}

fn hardened(image: &str) -> Value {
    json!({
        "automountServiceAccountToken": false,
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "web",
            "image": image,
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
        }],
    })
}

fn privileged() -> Value {
    let mut spec = hardened(&format!("registry.example/app:1@{CLEAN_DIGEST}"));
    spec["hostPID"] = json!(true);
    spec["containers"][0]["securityContext"]["privileged"] = json!(true);
    spec
}

fn response(body: &str) -> Value {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(v["kind"], "AdmissionReview");
    assert_eq!(v["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    v["response"].clone()
}

fn enforce() -> Policy {
    Policy {
        mode: Mode::Enforce,
        unscanned: Unscanned::Deny,
        ..Policy::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_admits_a_hardened_pod_and_rejects_a_privileged_one() {
    let w = start(enforce()).await;
    let (code, body) = post(
        &w,
        "POST",
        "/validate",
        &review(
            "shop",
            hardened(&format!("registry.example/app:1@{CLEAN_DIGEST}")),
        ),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let r = response(&body);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("warnings").is_none(), "{r}");

    let (code, body) = post(&w, "POST", "/validate", &review("shop", privileged())).await;
    assert_eq!(code, 200);
    let r = response(&body);
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("GAR-K8S-002") && msg.contains("GAR-K8S-001"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_mode_admits_with_warnings_and_audit_mode_annotates() {
    let w = start(Policy {
        mode: Mode::Warn,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", privileged())).await;
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    let warnings = r["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|x| x.as_str().unwrap().contains("privileged")),
        "{r}"
    );

    let w = start(Policy {
        mode: Mode::Audit,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", privileged())).await;
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    assert!(r.get("warnings").is_none());
    assert!(r["auditAnnotations"]["garrison.dev/findings"]
        .as_str()
        .unwrap()
        .contains("GAR-K8S-002"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_namespaces_are_admitted_unjudged() {
    let mut policy = enforce();
    policy.exclude_namespaces.insert("monitoring".into());
    let w = start(policy).await;
    for ns in ["kube-system", "monitoring"] {
        let (_, body) = post(&w, "POST", "/validate", &review(ns, privileged())).await;
        let r = response(&body);
        assert_eq!(r["allowed"], true, "{ns}: {r}");
        assert!(r.get("warnings").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscanned_images_follow_the_policy() {
    let unknown = "registry.example/app:1@sha256:3333333333333333333333333333333333333333333333333333333333333333";
    let by_tag = "registry.example/app:1";
    let w = start(enforce()).await;
    for image in [unknown, by_tag] {
        let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(image))).await;
        let r = response(&body);
        assert_eq!(r["allowed"], false, "{image}: {r}");
        assert!(r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("GAR-ADM-UNSCANNED"));
    }
    let w = start(Policy {
        unscanned: Unscanned::Warn,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(unknown))).await;
    let r = response(&body);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"][0]
        .as_str()
        .unwrap()
        .contains("no stored scan result"));
    let w = start(Policy {
        unscanned: Unscanned::Allow,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(unknown))).await;
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    assert!(r.get("warnings").is_none(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_vulnerabilities_by_digest() {
    let image = format!("registry.example/app:1@{VULN_DIGEST}");
    let w = start(enforce()).await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(&image))).await;
    let r = response(&body);
    assert_eq!(r["allowed"], false, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("1 CRITICAL fixable vulnerability (CVE-2024-0001)"),
        "{msg}"
    );
    // The clean image has only an unfixable CRITICAL: admitted under `fixable`...
    let clean = format!("registry.example/app:1@{CLEAN_DIGEST}");
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(&clean))).await;
    assert_eq!(response(&body)["allowed"], true);
    // ...rejected under `all`, and `off` ignores both.
    let w = start(Policy {
        critical: CriticalPolicy::All,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(&clean))).await;
    assert_eq!(response(&body)["allowed"], false);
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(&image))).await;
    assert!(response(&body)["status"]["message"]
        .as_str()
        .unwrap()
        .contains("2 CRITICAL vulnerabilities"));
    let w = start(Policy {
        critical: CriticalPolicy::Off,
        ..enforce()
    })
    .await;
    let (_, body) = post(&w, "POST", "/validate", &review("shop", hardened(&image))).await;
    assert_eq!(response(&body)["allowed"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_are_judged_by_their_pod_template() {
    let w = start(enforce()).await;
    let body = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "namespace": "shop",
            "operation": "CREATE",
            "object": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": privileged()}},
            },
        },
    });
    let (_, resp) = post(&w, "POST", "/validate", body.to_string().as_bytes()).await;
    assert_eq!(response(&resp)["allowed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_with_a_message_and_the_server_lives_on() {
    let w = start(enforce()).await;
    let (code, body) = post(&w, "POST", "/validate", b"{\"apiVersion\": ").await;
    assert_eq!(code, 400);
    assert!(body.contains("not JSON"), "{body}");
    let mut v1beta1: Value = serde_json::from_slice(&review("shop", privileged())).unwrap();
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (code, body) = post(&w, "POST", "/validate", v1beta1.to_string().as_bytes()).await;
    assert_eq!(code, 400);
    assert!(body.contains("admission.k8s.io/v1 only"), "{body}");
    let (code, body) = post(
        &w,
        "POST",
        "/validate",
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("no request"), "{body}");
    let huge = vec![b' '; 200 * 1024];
    let (code, body) = post(&w, "POST", "/validate", &huge).await;
    assert_eq!(code, 400);
    assert!(body.contains("limit"), "{body}");
    let deep = "[".repeat(10_000);
    let (code, _) = post(&w, "POST", "/validate", deep.as_bytes()).await;
    assert_eq!(code, 400);
    let (code, body) = post(&w, "GET", "/healthz", b"").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    // Still serving real reviews.
    let (code, body) = post(&w, "POST", "/validate", &review("shop", privileged())).await;
    assert_eq!(code, 200);
    assert_eq!(response(&body)["allowed"], false);
}
