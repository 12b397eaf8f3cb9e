//! Severity derivation: which score or word decides, what `severity_source`
//! says, and the same over every real record in the shared crates.io OSV data.

use garrison_model::{Score, Severity, Vulnerability};
use garrison_risk::{apply_severity, derive_severity, severity_from_score, CvssError, Rating};
use std::path::{Path, PathBuf};

fn vuln(scores: &[(&str, &str)]) -> Vulnerability {
    Vulnerability {
        id: "GHSA-test-0000-0000".into(),
        aliases: vec!["CVE-2024-0001".into()],
        summary: None,
        details: None,
        severity: Severity::Unknown,
        severity_source: None,
        scores: scores
            .iter()
            .map(|(kind, vector)| Score {
                kind: (*kind).into(),
                vector: (*vector).into(),
                base_score: None,
            })
            .collect(),
        published: None,
        modified: None,
        references: vec![],
    }
}

const V31_CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
const V31_MED: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"; // 6.1
const V30_HIGH: &str = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"; // 7.5
const V4_LOW: &str = "CVSS:4.0/AV:N/AC:H/AT:P/PR:H/UI:P/VC:N/VI:L/VA:L/SC:N/SI:N/SA:N"; // 2.0
const V4_CRIT: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"; // 9.3
const V2_HIGH: &str = "AV:N/AC:L/Au:N/C:P/I:P/A:P"; // 7.5

#[test]
fn score_thresholds() {
    let cases = [
        (10.0, Severity::Critical),
        (9.0, Severity::Critical),
        (8.9, Severity::High),
        (7.0, Severity::High),
        (6.9, Severity::Medium),
        (4.0, Severity::Medium),
        (3.9, Severity::Low),
        (0.1, Severity::Low),
        (0.0, Severity::Info),
        (-1.0, Severity::Unknown),
        (10.1, Severity::Unknown),
        (f64::NAN, Severity::Unknown),
    ];
    for (score, want) in cases {
        assert_eq!(severity_from_score(score), want, "{score}");
    }
}

#[test]
fn newest_cvss_version_decides_even_when_lower() {
    let mut v = vuln(&[("CVSS_V3", V31_CRIT), ("CVSS_V4", V4_LOW)]);
    let errors = apply_severity(&mut v, &[Rating::Ghsa("CRITICAL")]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(v.severity, Severity::Low);
    assert_eq!(
        v.severity_source.as_deref(),
        Some("CVSS 4.0 base score 2.0")
    );
    assert_eq!(v.scores[0].base_score, Some(9.8));
    assert_eq!(v.scores[1].base_score, Some(2.0));
}

#[test]
fn v3_1_over_v3_0_over_v2_and_highest_within_a_version() {
    let v = vuln(&[
        ("CVSS_V2", V2_HIGH),
        ("CVSS_V3", V30_HIGH),
        ("CVSS_V3", V31_MED),
    ]);
    assert_eq!(
        derive_severity(&v, &[]),
        (Severity::Medium, Some("CVSS 3.1 base score 6.1".into()))
    );
    let v = vuln(&[("CVSS_V3", V31_MED), ("CVSS_V3", V31_CRIT)]);
    assert_eq!(
        derive_severity(&v, &[]),
        (Severity::Critical, Some("CVSS 3.1 base score 9.8".into()))
    );
    let v = vuln(&[("CVSS_V2", V2_HIGH)]);
    assert_eq!(
        derive_severity(&v, &[]),
        (Severity::High, Some("CVSS 2.0 base score 7.5".into()))
    );
}

#[test]
fn invalid_vector_falls_back_and_is_reported() {
    let mut v = vuln(&[
        ("CVSS_V4", "CVSS:4.0/AV:N/AC:L"),
        ("CVSS_V3", V30_HIGH),
        ("Ubuntu", "low"),
    ]);
    let errors = apply_severity(&mut v, &[]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].index, 0);
    assert!(matches!(
        errors[0].error,
        CvssError::MissingMetric { metric: "AT", .. }
    ));
    assert_eq!(v.scores[0].base_score, None);
    assert_eq!(
        v.scores[2].base_score, None,
        "non-CVSS kinds are not scored"
    );
    assert_eq!(v.severity, Severity::High);
    assert_eq!(
        v.severity_source.as_deref(),
        Some("CVSS 3.0 base score 7.5")
    );
}

#[test]
fn words_when_there_is_no_cvss() {
    let none = vuln(&[]);
    let cases: &[(&[Rating<'_>], Severity, Option<&str>)] = &[
        (
            &[Rating::Ghsa("MODERATE")],
            Severity::Medium,
            Some("GHSA severity MODERATE"),
        ),
        (
            &[Rating::Ghsa("critical")],
            Severity::Critical,
            Some("GHSA severity critical"),
        ),
        (
            &[Rating::DebianUrgency("high")],
            Severity::High,
            Some("Debian urgency high"),
        ),
        (
            &[Rating::DebianUrgency("low*")],
            Severity::Low,
            Some("Debian urgency low*"),
        ),
        (
            &[Rating::DebianUrgency("medium**")],
            Severity::Medium,
            Some("Debian urgency medium**"),
        ),
        (
            &[Rating::DebianUrgency("unimportant")],
            Severity::Info,
            Some("Debian urgency unimportant"),
        ),
        (
            &[Rating::UbuntuPriority("negligible")],
            Severity::Info,
            Some("Ubuntu priority negligible"),
        ),
        (
            &[Rating::UbuntuPriority("critical")],
            Severity::Critical,
            Some("Ubuntu priority critical"),
        ),
        // Words that state nothing fall through to the next, then to UNKNOWN.
        (
            &[
                Rating::DebianUrgency("not yet assigned"),
                Rating::Ghsa("LOW"),
            ],
            Severity::Low,
            Some("GHSA severity LOW"),
        ),
        (
            &[Rating::DebianUrgency("not yet assigned")],
            Severity::Unknown,
            None,
        ),
        (
            &[Rating::DebianUrgency("end-of-life")],
            Severity::Unknown,
            None,
        ),
        (
            &[Rating::UbuntuPriority("untriaged")],
            Severity::Unknown,
            None,
        ),
        (&[Rating::Ghsa("")], Severity::Unknown, None),
        (&[], Severity::Unknown, None),
    ];
    for (ratings, sev, source) in cases {
        let got = derive_severity(&none, ratings);
        assert_eq!(got, (*sev, source.map(str::to_owned)), "{ratings:?}");
    }
    // OSV carries Ubuntu priorities as severity entries of type "Ubuntu".
    let ubuntu = vuln(&[("Ubuntu", "medium")]);
    assert_eq!(
        derive_severity(&ubuntu, &[]),
        (Severity::Medium, Some("Ubuntu priority medium".into()))
    );
    // A CVSS vector outranks any word.
    let both = vuln(&[("CVSS_V4", V4_CRIT), ("Ubuntu", "low")]);
    assert_eq!(
        derive_severity(&both, &[Rating::DebianUrgency("low")]).0,
        Severity::Critical
    );
}

fn shared_data() -> PathBuf {
    std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[test]
fn every_crates_io_record_gets_a_severity_from_its_vectors() {
    let dir = shared_data().join("osv/crates.io");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (shared data; set GARRISON_SHARED_DATA)",
            dir.display()
        )
    });
    let (mut v3, mut v4, mut unknown) = (0, 0, 0);
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable record");
        let record: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scores: Vec<(String, String)> = record["severity"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["type"].as_str().unwrap_or_default().to_owned(),
                            s["score"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let pairs: Vec<(&str, &str)> = scores
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut v = vuln(&pairs);
        let errors = apply_severity(&mut v, &[]);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        match scores.first().map(|(k, _)| k.as_str()) {
            None => {
                assert_eq!(v.severity, Severity::Unknown);
                assert_eq!(v.severity_source, None);
                unknown += 1;
            }
            Some(kind) => {
                let base = v.scores[0].base_score.expect("scored");
                assert_eq!(v.severity, severity_from_score(base), "{}", path.display());
                let source = v.severity_source.as_deref().unwrap_or_default();
                let want = if kind == "CVSS_V4" {
                    v4 += 1;
                    "CVSS 4.0 base score "
                } else {
                    v3 += 1;
                    "CVSS 3."
                };
                assert!(source.starts_with(want), "{}: {source}", path.display());
                assert!(source.ends_with(&format!("{base:.1}")), "{source}");
            }
        }
    }
    // The shared crates.io data: 360 CVSS_V3 records, 57 CVSS_V4, the rest none.
    assert!(
        v3 >= 300 && v4 >= 50 && unknown >= 500,
        "v3 {v3} v4 {v4} none {unknown}"
    );
}
