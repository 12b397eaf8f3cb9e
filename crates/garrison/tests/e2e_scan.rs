//! End to end, offline, as a user would: import the shared advisories (and a few
//! distro records written here to the OSV schema), scan a real image and a real
//! project with the built binary, get a ranked list with fix versions, and fail
//! a CI step with `--exit-code`. Material: fixtures/vulnimage/make.sh (a Debian
//! image whose extra layer installs requests 2.19.0 from PyPI and a
//! cargo-auditable binary built with smallvec 1.6.0) and fixtures/rustaudit.

use garrison_model::{FixState, ScanReport, Severity};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("fixtures/out"))
}

fn shared_osv() -> PathBuf {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/data"));
    let p = base.join("osv");
    assert!(p.is_dir(), "shared advisories missing at {}", p.display());
    p
}

fn fixture(rel: &str, script: &str) -> PathBuf {
    let p = fixtures().join(rel);
    assert!(
        p.exists(),
        "fixture {} is missing: run {script} (as root) first",
        p.display()
    );
    p
}

fn garrison(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garrison"))
        .args(args)
        .env("GARRISON_DATA_DIR", data_dir)
        .env_remove("GARRISON_LOG")
        .output()
        .expect("run garrison")
}

/// Debian records written for this test: one that affects the image's `tar`
/// source package with no fix, one for util-linux fixed in a version newer than
/// the image's, one fixed in an older version (must not match), and one for
/// Debian 11 (must not match a Debian 12 image).
const DISTRO_RECORDS: &[(&str, &str)] = &[
    (
        "DEBIAN-CVE-2005-2541.json",
        r#"{"schema_version":"1.6.0","id":"DEBIAN-CVE-2005-2541","modified":"2024-01-01T00:00:00Z","summary":"tar: archives can carry setuid files","affected":[{"package":{"ecosystem":"Debian:12","name":"tar"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],"ecosystem_specific":{"urgency":"unimportant"}}]}"#,
    ),
    (
        "DEBIAN-CVE-2099-0001.json",
        r#"{"id":"DEBIAN-CVE-2099-0001","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"util-linux"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.38.1-5+deb12u9"}]}],"ecosystem_specific":{"urgency":"medium"}}]}"#,
    ),
    (
        "DEBIAN-CVE-2099-0002.json",
        r#"{"id":"DEBIAN-CVE-2099-0002","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"util-linux"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.38.1-5+deb12u1"}]}]}]}"#,
    ),
    (
        "DEBIAN-CVE-2099-0003.json",
        r#"{"id":"DEBIAN-CVE-2099-0003","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:11","name":"tar"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"9.9"}]}]}]}"#,
    ),
];

/// A data dir with every shared advisory and the distro records imported, once per test binary.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let records = dir.path().join("distro-records");
        std::fs::create_dir_all(&records).expect("mkdir");
        for (name, json) in DISTRO_RECORDS {
            std::fs::write(records.join(name), json).expect("write record");
        }
        let osv = shared_osv();
        let out = garrison(
            dir.path(),
            &[
                "db",
                "import",
                osv.to_str().unwrap(),
                records.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "db import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("imported"), "{text}");
        dir
    })
    .path()
}

fn scan_json(args: &[&str]) -> (ScanReport, Output) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--exit-code", "0"]);
    let out = garrison(data_dir(), &all);
    assert!(
        out.status.success(),
        "garrison {all:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: ScanReport = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a scan report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (report, out)
}

fn ids(r: &ScanReport, package: &str) -> Vec<String> {
    let mut v: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.package.name == package)
        .map(|f| f.vulnerability.id.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn image_scan_finds_language_and_os_vulnerabilities_with_fixes_and_layers() {
    let image = fixture("vulnimage/vuln-docker.tar", "fixtures/vulnimage/make.sh");
    let layer_txt =
        std::fs::read_to_string(fixture("vulnimage/layer.txt", "fixtures/vulnimage/make.sh"))
            .unwrap();
    let added_layer = layer_txt
        .lines()
        .nth(1)
        .expect("layer.txt names the added layer")
        .trim()
        .to_string();
    let (r, _) = scan_json(&["image", image.to_str().unwrap()]);

    assert_eq!(r.distro.as_ref().map(|d| d.id.as_str()), Some("debian"));
    assert!(r.packages_scanned > 80, "{}", r.packages_scanned);
    // PyPI: requests 2.19.0 from the added layer, with the fix versions the data names.
    assert_eq!(ids(&r, "requests"), vec!["PYSEC-2018-28", "PYSEC-2023-74"]);
    let req = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "PYSEC-2018-28")
        .unwrap();
    assert_eq!(
        req.fix,
        FixState::Fixed {
            versions: vec!["2.20.0".into()]
        }
    );
    assert_eq!(req.vulnerability.cve(), Some("CVE-2018-18074"));
    assert_eq!(req.package.layer.as_deref(), Some(added_layer.as_str()));
    // Rust: smallvec 1.6.0 from the cargo-auditable binary.
    let sv = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "RUSTSEC-2021-0003")
        .expect("smallvec finding");
    assert_eq!(sv.package.location, "/usr/local/bin/auditable-app");
    assert_eq!(
        sv.fix,
        FixState::Fixed {
            versions: vec!["1.6.1".into()]
        }
    );
    assert_eq!(
        sv.vulnerability.severity,
        Severity::Critical,
        "{:?}",
        sv.vulnerability
    );
    // Debian: matched by source package and release; no invented fixes.
    let tar = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "DEBIAN-CVE-2005-2541")
        .expect("tar finding");
    assert_eq!(tar.fix, FixState::NotFixed);
    assert_eq!(tar.distro_urgency.as_deref(), Some("unimportant"));
    let util = ids(&r, "util-linux");
    assert_eq!(
        util,
        vec!["DEBIAN-CVE-2099-0001"],
        "fixed-before and Debian 11 records must not match"
    );
    let mount = r
        .findings
        .iter()
        .find(|f| f.package.name == "mount")
        .expect("binary package of util-linux matched by source");
    assert_eq!(mount.package.source_name.as_deref(), Some("util-linux"));
    assert!(!r
        .findings
        .iter()
        .any(|f| f.vulnerability.id == "DEBIAN-CVE-2099-0003"));
    // Ranked: non-increasing risk, and every finding says why.
    for w in r.findings.windows(2) {
        assert!(
            w[0].risk.score >= w[1].risk.score,
            "not sorted by risk: {} < {}",
            w[0].risk.score,
            w[1].risk.score
        );
    }
    assert!(r.findings.iter().all(|f| !f.risk.reasons.is_empty()));
    assert_eq!(
        r.findings[0].vulnerability.id, "RUSTSEC-2021-0003",
        "the CRITICAL one with a fix ranks first"
    );
}

#[test]
fn exit_code_gates_a_ci_step() {
    let image = fixture("vulnimage/vuln-docker.tar", "fixtures/vulnimage/make.sh");
    let img = image.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["scan", "image", img, "--quiet", "--format", "json"];
        a.extend_from_slice(extra);
        garrison(data_dir(), &a).status.code()
    };
    assert_eq!(
        run(&["--severity", "CRITICAL", "--exit-code", "5"]),
        Some(5)
    );
    assert_eq!(
        run(&["--severity", "HIGH,LOW"]),
        Some(0),
        "nothing at those severities"
    );
    assert_eq!(
        run(&["--severity", "MEDIUM", "--exit-code", "6"]),
        Some(6),
        "Debian urgency medium"
    );
    // UNKNOWN is explicit: the PyPA advisories carry no severity.
    assert_eq!(run(&["--severity", "UNKNOWN", "--exit-code", "4"]), Some(4));
    // Default gate: any finding fails with 1.
    assert_eq!(run(&[]), Some(1));
    assert_eq!(run(&["--severity", "SEVERE"]), Some(2), "bad usage");
}

#[test]
fn ignore_unfixed_and_ignore_file() {
    let image = fixture("vulnimage/vuln-docker.tar", "fixtures/vulnimage/make.sh");
    let (r, _) = scan_json(&["image", image.to_str().unwrap(), "--ignore-unfixed"]);
    assert!(r.findings.iter().all(|f| f.fix != FixState::NotFixed));
    assert!(!r.findings.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let ignore = dir.path().join("ignore.yml");
    std::fs::write(
        &ignore,
        "ignore:\n  - id: CVE-2018-18074\n    reason: behind a proxy that strips auth\n    expires: 2999-01-01\n  - purl: pkg:cargo/smallvec\n    reason: old entry\n    expires: 2001-01-01\n",
    )
    .unwrap();
    let (r, out) = scan_json(&[
        "image",
        image.to_str().unwrap(),
        "--ignorefile",
        ignore.to_str().unwrap(),
    ]);
    let f = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "PYSEC-2018-28")
        .unwrap();
    assert_eq!(
        f.suppressed.as_ref().map(|s| s.reason.as_str()),
        Some("behind a proxy that strips auth")
    );
    let sv = r
        .findings
        .iter()
        .find(|f| f.vulnerability.id == "RUSTSEC-2021-0003")
        .unwrap();
    assert!(
        sv.suppressed.is_none(),
        "an expired entry no longer applies"
    );
    assert!(
        r.warnings.iter().any(|w| w.message.contains("expired")),
        "{:?} {}",
        r.warnings,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn project_scan_and_sbom_round_trip() {
    let project = fixture("rustaudit/Cargo.lock", "fixtures/rustaudit/make.sh");
    let dir = project.parent().unwrap();
    let (r, _) = scan_json(&["fs", dir.to_str().unwrap()]);
    assert!(ids(&r, "smallvec").contains(&"RUSTSEC-2021-0003".to_string()));

    // The image's CycloneDX SBOM, scanned without the image, gives the same findings.
    let image = fixture("vulnimage/vuln-docker.tar", "fixtures/vulnimage/make.sh");
    let tmp = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("cyclonedx", "img.cdx.json"),
        ("spdx-json", "img.spdx.json"),
    ] {
        let sbom = tmp.path().join(file);
        let out = garrison(
            data_dir(),
            &[
                "sbom",
                "image",
                image.to_str().unwrap(),
                "--format",
                format,
                "-o",
                sbom.to_str().unwrap(),
                "-q",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (from_sbom, _) = scan_json(&["sbom", sbom.to_str().unwrap()]);
        let (from_image, _) = scan_json(&["image", image.to_str().unwrap()]);
        let key = |r: &ScanReport| {
            let mut v: Vec<(String, String, String)> = r
                .findings
                .iter()
                .map(|f| {
                    (
                        f.vulnerability.id.clone(),
                        f.package.name.clone(),
                        f.package.version.clone(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&from_sbom), key(&from_image), "{format}");
    }
}

#[test]
fn every_output_format_renders() {
    let image = fixture("vulnimage/vuln-docker.tar", "fixtures/vulnimage/make.sh");
    let tmp = tempfile::tempdir().unwrap();
    for format in ["table", "json", "sarif", "cyclonedx", "junit", "html"] {
        let file = tmp.path().join(format!("report.{format}"));
        let out = garrison(
            data_dir(),
            &[
                "scan",
                "image",
                image.to_str().unwrap(),
                "--format",
                format,
                "-o",
                file.to_str().unwrap(),
                "--exit-code",
                "0",
                "-q",
            ],
        );
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("RUSTSEC-2021-0003"),
            "{format} output lacks the finding"
        );
        if matches!(format, "json" | "sarif" | "cyclonedx") {
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{format}: {e}"));
        }
    }
}

#[test]
fn missing_or_corrupt_database_says_what_to_do() {
    let empty = tempfile::tempdir().unwrap();
    let project = fixture("rustaudit/Cargo.lock", "fixtures/rustaudit/make.sh");
    let out = garrison(
        empty.path(),
        &["scan", "fs", project.parent().unwrap().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("garrison db update") && err.contains("db import"),
        "{err}"
    );

    let db = empty.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join(garrison_vulndb::DB_FILE),
        b"SQLite format 3\0truncated",
    )
    .unwrap();
    let out = garrison(
        empty.path(),
        &["scan", "fs", project.parent().unwrap().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("db update") || err.contains("db import"),
        "{err}"
    );
}
