//! `garrison check config` end to end on fixtures/k8s: exit codes, formats,
//! the ignore file, bad input; `garrison check lint-checks` on checks/; and
//! `garrison admission gen-cert`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn k8s(rel: &str) -> PathBuf {
    root().join("fixtures/k8s").join(rel)
}

fn garrison(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run garrison")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn risky_manifests_fail_the_gate_and_hardened_ones_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let risky = k8s("risky");
    let o = garrison(
        &[
            "check",
            "config",
            risky.to_str().unwrap(),
            "--format",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.len() > 40);
    assert!(findings
        .iter()
        .all(|f| f["line"].as_u64().unwrap_or(0) > 0
            && f["file"].as_str().unwrap().contains("risky")));

    let hardened = k8s("hardened");
    let o = garrison(&["check", "config", hardened.to_str().unwrap()], tmp.path());
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("No misconfigurations found."));

    // --exit-code and --severity.
    let o = garrison(
        &[
            "check",
            "config",
            risky.to_str().unwrap(),
            "--exit-code",
            "9",
            "--severity",
            "CRITICAL",
            "-f",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(code(&o), 9);
    let v = json(&o);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "CRITICAL"));
}

#[test]
fn the_ignore_file_suppresses_by_check_id_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join(".garrisonignore"),
        "ignore:\n  - id: GAR-K8S-030\n    reason: policies live in another repo\n  - path: '**/rbac.yaml'\n    reason: reviewed by the platform team\n    expires: 2999-01-01\n",
    )
    .unwrap();
    let risky = k8s("risky");
    let o = garrison(
        &["check", "config", risky.to_str().unwrap(), "-f", "json"],
        tmp.path(),
    );
    let v = json(&o);
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"GAR-K8S-030"));
    assert!(!v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["file"].as_str().unwrap().ends_with("rbac.yaml")));
    let supp = v["suppressed"].as_array().unwrap();
    assert!(supp
        .iter()
        .any(|s| s["reason"] == "reviewed by the platform team"));
    assert!(supp
        .iter()
        .any(|s| s["finding"]["check_id"] == "GAR-K8S-030"));
}

#[test]
fn bad_input_is_reported_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = k8s("bad");
    let hardened = k8s("hardened");
    let o = garrison(
        &[
            "check",
            "config",
            bad.to_str().unwrap(),
            hardened.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("alias-bomb.yaml: document 1"), "{out}");
    assert!(out.contains("invalid.yaml: document 2"), "{out}");
    // A path that does not exist: the run cannot complete.
    let o = garrison(&["check", "config", "/nonexistent/manifests"], tmp.path());
    assert_eq!(code(&o), 3);
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/manifests"));
    // Bad usage.
    let o = garrison(
        &[
            "check",
            "config",
            hardened.to_str().unwrap(),
            "--severity",
            "SEVERE",
        ],
        tmp.path(),
    );
    assert_eq!(code(&o), 2);
    let o = garrison(
        &[
            "check",
            "config",
            hardened.to_str().unwrap(),
            "--k8s-version",
            "2.0",
        ],
        tmp.path(),
    );
    assert_eq!(code(&o), 2);
}

#[test]
fn every_format_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let rbac = k8s("risky/rbac.yaml");
    for (fmt, probe) in [
        ("table", "GAR-K8S-021"),
        ("sarif", "\"ruleId\""),
        ("junit", "<testsuites"),
        ("html", "<!DOCTYPE html>"),
    ] {
        let out = tmp.path().join(format!("report.{fmt}"));
        let o = garrison(
            &[
                "check",
                "config",
                rbac.to_str().unwrap(),
                "-f",
                fmt,
                "-o",
                out.to_str().unwrap(),
                "--pss",
                "baseline",
                "--k8s-version",
                "1.25",
            ],
            tmp.path(),
        );
        assert_eq!(code(&o), 1, "{fmt}: {}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(probe), "{fmt}: {text}");
    }
}

#[test]
fn lint_checks_accepts_the_repository_checks_and_rejects_a_broken_one() {
    let o = garrison(&["check", "lint-checks", "checks"], &root());
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("k8s")).unwrap();
    std::fs::write(
        tmp.path().join("k8s/GAR-K8S-999.yaml"),
        "id: GAR-K8S-999\nkind: k8s\ntitle: x\nseverity: HIGH\nrationale: r\nremediation: m\n",
    )
    .unwrap();
    let o = garrison(
        &["check", "lint-checks", tmp.path().to_str().unwrap()],
        &root(),
    );
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("GAR-K8S-999.yaml"));
}

#[test]
fn admission_gen_cert_writes_a_ca_and_a_serving_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("certs");
    let o = garrison(
        &[
            "admission",
            "gen-cert",
            "--service",
            "webhook",
            "--namespace",
            "sec",
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(std::fs::read_to_string(out.join(f))
            .unwrap()
            .starts_with("-----BEGIN"));
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(out.join("tls.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("webhook.sec.svc"));
    let o = garrison(&["admission"], tmp.path());
    assert_eq!(code(&o), 2, "serving without certificates is bad usage");
}
