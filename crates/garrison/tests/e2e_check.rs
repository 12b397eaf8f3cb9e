//! End to end for `garrison check` and `garrison policy validate`: the
//! built-in CIS Debian 12 and container policies against the debootstrap
//! rootfs and image that `fixtures/debian/make.sh` makes, exit codes and
//! gates, every output format, command rules refused outside the host, and
//! the malformed policies of fixtures/sca/bad.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn debian(name: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("fixtures/out"));
    let p = base.join("debian").join(name);
    assert!(
        p.exists(),
        "fixture {} is missing: run `sudo sh fixtures/debian/make.sh`",
        p.display()
    );
    p
}

fn garrison(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run garrison")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn checks(report: &Value) -> Vec<&Value> {
    report["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .flat_map(|p| p["checks"].as_array().expect("checks").iter())
        .collect()
}

#[test]
fn rootfs_with_the_builtin_policies() {
    let root = debian("rootfs");
    let root = root.to_str().expect("utf-8 path");
    let out = garrison(&["check", "rootfs", root, "--format", "json"]);
    // A minbase tree fails some CIS checks: exit 1.
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["target"]["kind"], "rootfs");
    let ids: Vec<&str> = report["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    // Debian 12 by its os-release: CIS Debian 12 applies, Debian 11 does not (left out).
    assert!(ids.contains(&"garrison_cis_debian12"), "{ids:?}");
    assert!(!ids.contains(&"garrison_cis_debian11"), "{ids:?}");
    let all = checks(&report);
    assert!(all.len() > 50);
    for c in &all {
        let result = c["result"].as_str().expect("result");
        assert!(["passed", "failed", "not_applicable"].contains(&result));
        // Command and process rules never decide anything on a rootfs.
        for e in c["evidence"].as_array().expect("evidence") {
            let rule = e["rule"].as_str().expect("rule");
            let bare = rule.trim_start_matches("not ");
            if bare.starts_with("c:") || bare.starts_with("p:") {
                assert_eq!(e["result"], "not_applicable", "{rule}");
            }
        }
    }
    assert!(all.iter().any(|c| c["result"] == "passed"));
    assert!(all.iter().any(|c| c["result"] == "failed"));
    let p = &report["policies"][0];
    let (passed, failed) = (
        p["summary"]["passed"].as_f64().expect("passed"),
        p["summary"]["failed"].as_f64().expect("failed"),
    );
    let score = p["summary"]["score"].as_f64().expect("score");
    assert!((score - passed * 100.0 / (passed + failed)).abs() < 1e-9);
    let frameworks: Vec<&str> = report["frameworks"]
        .as_array()
        .expect("frameworks")
        .iter()
        .map(|f| f["framework"].as_str().expect("framework"))
        .collect();
    for fw in ["cis", "pci-dss-4.0", "hipaa", "soc2", "nist-800-53"] {
        assert!(frameworks.contains(&fw), "{fw} not in {frameworks:?}");
    }
}

#[test]
fn gates_and_exit_codes() {
    let root = debian("rootfs");
    let root = root.to_str().expect("utf-8 path");
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "rootfs", root, "--format", "json", "-q"];
        args.extend_from_slice(extra);
        garrison(&args)
    };
    assert_eq!(code(&run(&["--fail-under", "0"])), 0);
    assert_eq!(code(&run(&["--fail-under", "100"])), 1);
    assert_eq!(code(&run(&["--fail-under", "100", "--exit-code", "7"])), 7);
    assert_eq!(code(&run(&["--exit-code", "0"])), 0);
    assert_eq!(code(&run(&["--fail-under", "150"])), 2);
    assert_eq!(code(&run(&["--severity", "SEVERE"])), 2);
    let crit = run(&["--severity", "CRITICAL"]);
    let report = json(&crit);
    let all = checks(&report);
    assert!(!all.is_empty());
    assert!(all.iter().all(|c| c["severity"] == "CRITICAL"));
    let pci = run(&["--framework", "pci-dss"]);
    let report = json(&pci);
    let fws = report["frameworks"].as_array().expect("frameworks");
    assert_eq!(fws.len(), 1);
    assert_eq!(fws[0]["framework"], "pci-dss-4.0");
    assert!(checks(&report)
        .iter()
        .all(|c| c["compliance"]["pci-dss-4.0"].is_array()));
    // A missing target cannot be checked: exit 3.
    let missing = garrison(&["check", "rootfs", "/nonexistent/garrison-root"]);
    assert_eq!(code(&missing), 3);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/garrison-root"));
}

#[test]
fn command_rules_are_refused_outside_the_host_and_untrusted() {
    let root = debian("rootfs");
    let commands = workspace().join("fixtures/sca/policies/commands.yml");
    let out = garrison(&[
        "check",
        "rootfs",
        root.to_str().expect("path"),
        "--policy",
        commands.to_str().expect("path"),
        "--trust-policy",
        commands.to_str().expect("path"),
        "--format",
        "json",
    ]);
    // Nothing failed (everything is not applicable): exit 0.
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    for c in checks(&report) {
        assert_eq!(c["result"], "not_applicable");
        assert!(c["reason"]
            .as_str()
            .expect("reason")
            .contains("never run against"));
    }
    // On the host, trusted: the commands run (2003 fails: exit 1), the hang is killed.
    let host = garrison(&[
        "check",
        "host",
        "--policy",
        commands.to_str().expect("path"),
        "--trust-policy",
        workspace().join("fixtures/sca").to_str().expect("path"),
        "--command-timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code(&host), 1, "{}", String::from_utf8_lossy(&host.stderr));
    let report = json(&host);
    let by_id = |id: u64| {
        checks(&report)
            .into_iter()
            .find(|c| c["id"] == id)
            .cloned()
            .expect("check")
    };
    assert_eq!(by_id(2001)["result"], "passed");
    assert_eq!(by_id(2003)["result"], "failed");
    assert_eq!(by_id(2005)["result"], "not_applicable");
    // Untrusted on the host: refused.
    let untrusted = garrison(&[
        "check",
        "host",
        "--policy",
        commands.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code(&untrusted), 0);
    assert!(checks(&json(&untrusted))
        .iter()
        .all(|c| c["reason"].as_str().unwrap_or("").contains("not trusted")));
}

#[test]
fn image_archive_junit_and_html() {
    let image = debian("debian-docker.tar");
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = dir.path().join("check.xml");
    let out = garrison(&[
        "check",
        "image",
        image.to_str().expect("path"),
        "--format",
        "junit",
        "--output",
        xml.to_str().expect("path"),
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&xml).expect("junit written");
    assert!(
        text.contains("<testsuite name=\"Container image hygiene"),
        "{}",
        &text[..text.len().min(600)]
    );
    assert!(text.contains("<failure"));
    assert!(text.contains("<skipped"));
    let html = dir.path().join("check.html");
    let out = garrison(&[
        "check",
        "rootfs",
        debian("rootfs").to_str().expect("path"),
        "--format",
        "html",
        "--output",
        html.to_str().expect("path"),
    ]);
    assert_eq!(code(&out), 1);
    let page = std::fs::read_to_string(&html).expect("html written");
    for needle in [
        "<!DOCTYPE html>",
        "@media print",
        "break-before: page",
        "Scores per framework",
        "pci-dss-4.0",
        "Remediation",
        "Content-Security-Policy",
    ] {
        assert!(page.contains(needle), "HTML lacks {needle}");
    }
    assert!(!page.contains("<script"));
    let table = garrison(&["check", "rootfs", debian("rootfs").to_str().expect("path")]);
    let t = String::from_utf8_lossy(&table.stdout);
    assert!(t.contains("Failed checks") && t.contains("score "), "{t}");
}

#[test]
fn policy_validate() {
    let bad = garrison(&["policy", "validate", "fixtures/sca/bad"]);
    assert_eq!(code(&bad), 1);
    let err = String::from_utf8_lossy(&bad.stderr);
    for needle in [
        "unknown-key.yml",
        "check 9202",
        "f:/etc/passwd->r:^root",
        "9401",
    ] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
    let good = garrison(&["policy", "validate", "policies", "fixtures/sca/policies"]);
    assert_eq!(code(&good), 0, "{}", String::from_utf8_lossy(&good.stderr));
    assert!(String::from_utf8_lossy(&good.stdout).contains("ok: "));
    assert_eq!(
        code(&garrison(&["policy", "validate", "/nonexistent/p.yml"])),
        3
    );
    assert!(Path::new(&workspace().join("policies")).is_dir());
}

#[test]
fn an_image_and_its_rootfs_give_the_same_verdicts() {
    let verdicts = |args: &[&str]| -> Vec<(String, u64, String)> {
        let out = garrison(args);
        let report = json(&out);
        let mut v: Vec<(String, u64, String)> = checks(&report)
            .iter()
            .map(|c| {
                (
                    c["policy"].as_str().expect("policy").to_string(),
                    c["id"].as_u64().expect("id"),
                    c["result"].as_str().expect("result").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let rootfs = verdicts(&[
        "check",
        "rootfs",
        debian("rootfs").to_str().expect("path"),
        "--format",
        "json",
        "-q",
    ]);
    let image = verdicts(&[
        "check",
        "image",
        debian("debian-docker.tar").to_str().expect("path"),
        "--format",
        "json",
        "-q",
    ]);
    assert!(rootfs.len() > 50);
    let differ: Vec<_> = rootfs
        .iter()
        .zip(image.iter())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(rootfs.len(), image.len());
    assert!(differ.is_empty(), "rootfs vs image: {differ:?}");
}

#[test]
fn garrisonignore_accepts_failed_checks() {
    let root = debian("rootfs");
    let root = root.to_str().expect("path");
    let first = garrison(&[
        "check",
        "rootfs",
        root,
        "--severity",
        "CRITICAL,HIGH",
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(code(&first), 1);
    let report = json(&first);
    let failed: Vec<String> = checks(&report)
        .iter()
        .filter(|c| c["result"] == "failed")
        .map(|c| format!("{}:{}", c["policy"].as_str().expect("policy"), c["id"]))
        .collect();
    assert!(!failed.is_empty());
    let dir = tempfile::tempdir().expect("tempdir");
    let ignore = dir.path().join("ignore.yml");
    let mut text = String::from("ignore:\n");
    for id in &failed {
        text.push_str(&format!(
            "  - id: \"{id}\"\n    reason: accepted in the e2e test\n"
        ));
    }
    std::fs::write(&ignore, text).expect("write ignore file");
    let second = garrison(&[
        "check",
        "rootfs",
        root,
        "--severity",
        "CRITICAL,HIGH",
        "--ignorefile",
        ignore.to_str().expect("path"),
        "--format",
        "json",
        "-q",
    ]);
    assert_eq!(
        code(&second),
        0,
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let report = json(&second);
    for c in checks(&report).iter().filter(|c| c["result"] == "failed") {
        assert_eq!(c["suppressed"]["reason"], "accepted in the e2e test");
    }
}
