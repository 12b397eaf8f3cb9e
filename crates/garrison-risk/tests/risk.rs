//! The risk score and the ranking: the formula's values, its bands and
//! monotonicity, the reasons it gives, and a deterministic order.

use garrison_model::{
    AffectedPackage, Ecosystem, Finding, FixState, Risk, Score, Severity, Vulnerability,
};
use garrison_risk::{
    apply_severity, prioritize, rank, score, Epss, MemorySignals, NoSignals, Rating,
};

const V31_CRIT: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
const V31_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"; // 8.8
const V31_MED: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"; // 6.1
const V31_LOW: &str = "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"; // 3.1

fn finding(id: &str, aliases: &[&str], vector: Option<&str>, fixed: &[&str]) -> Finding {
    let mut vulnerability = Vulnerability {
        id: id.into(),
        aliases: aliases.iter().map(|a| (*a).into()).collect(),
        summary: None,
        details: None,
        severity: Severity::Unknown,
        severity_source: None,
        scores: vector
            .map(|v| Score {
                kind: if v.starts_with("CVSS:4") {
                    "CVSS_V4"
                } else {
                    "CVSS_V3"
                }
                .into(),
                vector: v.into(),
                base_score: None,
            })
            .into_iter()
            .collect(),
        published: None,
        modified: None,
        references: vec![],
    };
    let errors = apply_severity(&mut vulnerability, &[]);
    assert!(errors.is_empty(), "{errors:?}");
    Finding {
        vulnerability,
        package: AffectedPackage {
            name: "pkg".into(),
            version: "1.0.0".into(),
            ecosystem: Ecosystem::Cargo,
            purl: "pkg:cargo/pkg@1.0.0".into(),
            location: "/app/Cargo.lock".into(),
            layer: None,
            source_name: None,
        },
        fix: if fixed.is_empty() {
            FixState::NotFixed
        } else {
            FixState::Fixed {
                versions: fixed.iter().map(|v| (*v).into()).collect(),
            }
        },
        distro_urgency: None,
        risk: Risk::default(),
        suppressed: None,
    }
}

fn signals(epss: &[(&str, f64, f64)], kev: &[(&str, &str)]) -> MemorySignals {
    MemorySignals {
        epss: epss
            .iter()
            .map(|(c, p, q)| {
                (
                    (*c).to_owned(),
                    Epss {
                        probability: *p,
                        percentile: *q,
                    },
                )
            })
            .collect(),
        kev: kev
            .iter()
            .map(|(c, d)| ((*c).to_owned(), (*d).to_owned()))
            .collect(),
    }
}

#[test]
fn reasons_and_values_of_a_known_exploited_critical() {
    let f = finding(
        "GHSA-aaaa-bbbb-cccc",
        &["CVE-2023-0001"],
        Some(V31_CRIT),
        &["1.2.3"],
    );
    let s = signals(
        &[("CVE-2023-0001", 0.94, 0.995)],
        &[("CVE-2023-0001", "2023-05-01")],
    );
    let r = score(&f, &s);
    assert_eq!(r.score, 96.5, "70 + 25 * 0.98 + 2");
    assert!(r.kev && r.fix_available);
    assert_eq!(r.epss, Some(0.94));
    assert_eq!(r.epss_percentile, Some(0.995));
    assert_eq!(r.in_use, None);
    assert_eq!(
        r.reasons,
        [
            "in CISA KEV since 2023-05-01",
            "CVSS 3.1 base 9.8",
            "EPSS 0.94 (99th percentile)",
            "fix available in 1.2.3",
        ]
    );

    // The same without KEV: 63 * 0.98 * (0.3 + 0.7 * sqrt(0.94)) + 2.
    let r = score(&f, &signals(&[("CVE-2023-0001", 0.94, 0.995)], &[]));
    assert_eq!(r.score, 62.4);
    assert!(!r.kev);
    assert_eq!(r.reasons[0], "CVSS 3.1 base 9.8");
}

#[test]
fn reasons_without_signals_or_cve() {
    let f = finding("RUSTSEC-2024-0001", &[], Some(V31_MED), &[]);
    let r = score(&f, &NoSignals);
    assert_eq!(
        r.reasons,
        [
            "CVSS 3.1 base 6.1",
            "no CVE alias: no EPSS or KEV lookup",
            "no fixed version in the advisory data",
        ]
    );
    // 63 * 0.61 * 0.3
    assert_eq!(r.score, 11.5);

    let f = finding("GHSA-x", &["CVE-2024-0002"], None, &["2.0.0", "1.9.9"]);
    let r = score(&f, &NoSignals);
    assert_eq!(
        r.reasons,
        [
            "severity UNKNOWN, no CVSS vector: weighed as 5.0",
            "no EPSS score for CVE-2024-0002",
            "fix available in 2.0.0, 1.9.9",
        ]
    );

    let mut f = finding("DSA-1-1", &["CVE-2024-0003"], None, &[]);
    f.vulnerability.severity = Severity::High;
    f.vulnerability.severity_source = Some("Debian urgency high".into());
    f.risk.in_use = Some(true);
    let r = score(&f, &signals(&[("CVE-2024-0003", 0.00043, 0.12)], &[]));
    assert_eq!(
        r.reasons,
        [
            "severity HIGH (Debian urgency high), no CVSS vector: weighed as 8.0",
            "EPSS 0.00043 (12th percentile)",
            "no fixed version in the advisory data",
            "loaded by a running process",
        ]
    );
    assert_eq!(r.in_use, Some(true));
}

#[test]
fn kev_medium_outranks_non_kev_high_with_tiny_epss() {
    let kev_medium = finding("GHSA-kev-medium", &["CVE-2023-1111"], Some(V31_MED), &[]);
    let high = finding("GHSA-high", &["CVE-2023-2222"], Some(V31_HIGH), &["1.0.1"]);
    let s = signals(
        &[("CVE-2023-1111", 0.02, 0.8), ("CVE-2023-2222", 0.0004, 0.1)],
        &[("CVE-2023-1111", "2023-06-01")],
    );
    let mut list = vec![high, kev_medium];
    prioritize(&mut list, &s);
    assert_eq!(list[0].vulnerability.id, "GHSA-kev-medium");
    assert!(list[0].risk.score >= 70.0 && list[1].risk.score < 70.0);
}

#[test]
fn kev_low_outranks_non_kev_critical_with_high_epss() {
    let kev_low = finding("GHSA-kev-low", &["CVE-2023-1111"], Some(V31_LOW), &[]);
    let mut crit = finding("GHSA-crit", &["CVE-2023-2222"], Some(V31_CRIT), &["2"]);
    crit.risk.in_use = Some(true);
    let s = signals(
        &[("CVE-2023-2222", 1.0, 1.0)],
        &[("CVE-2023-1111", "2022-01-10")],
    );
    let mut list = vec![crit, kev_low];
    prioritize(&mut list, &s);
    assert_eq!(list[0].vulnerability.id, "GHSA-kev-low");
    assert_eq!(list[1].risk.in_use, Some(true), "prioritize keeps in_use");
}

#[test]
fn epss_weighs_severity() {
    // A MEDIUM that is being exploited in the wild by EPSS's measure ranks
    // above a HIGH that almost surely is not; with equal EPSS, HIGH wins.
    let medium = finding("GHSA-medium", &["CVE-2023-1"], Some(V31_MED), &[]);
    let high = finding("GHSA-high", &["CVE-2023-2"], Some(V31_HIGH), &[]);
    let s = signals(
        &[("CVE-2023-1", 0.6, 0.98), ("CVE-2023-2", 0.0005, 0.15)],
        &[],
    );
    let mut list = vec![high.clone(), medium.clone()];
    prioritize(&mut list, &s);
    assert_eq!(list[0].vulnerability.id, "GHSA-medium");

    let s = signals(&[("CVE-2023-1", 0.1, 0.9), ("CVE-2023-2", 0.1, 0.9)], &[]);
    let mut list = vec![medium, high];
    prioritize(&mut list, &s);
    assert_eq!(list[0].vulnerability.id, "GHSA-high");
}

#[test]
fn fix_and_in_use_break_near_ties() {
    let unfixed = finding("GHSA-a", &["CVE-2023-1"], Some(V31_HIGH), &[]);
    let fixed = finding("GHSA-b", &["CVE-2023-2"], Some(V31_HIGH), &["1.1"]);
    let mut list = vec![unfixed.clone(), fixed];
    prioritize(&mut list, &NoSignals);
    assert_eq!(list[0].vulnerability.id, "GHSA-b");
    assert_eq!(list[0].risk.score - list[1].risk.score, 2.0);

    let mut loaded = finding("GHSA-c", &["CVE-2023-3"], Some(V31_HIGH), &[]);
    loaded.risk.in_use = Some(true);
    let mut list = vec![unfixed, loaded];
    prioritize(&mut list, &NoSignals);
    assert_eq!(list[0].vulnerability.id, "GHSA-c");
}

#[test]
fn signals_are_looked_up_under_every_cve_alias() {
    // The advisory ID is not a CVE; two CVE aliases: highest EPSS, earliest KEV date.
    let f = finding(
        "GO-2024-0001",
        &["GHSA-zzzz", "CVE-2024-0010", "CVE-2024-0011"],
        Some(V31_HIGH),
        &[],
    );
    let s = signals(
        &[("CVE-2024-0010", 0.2, 0.9), ("CVE-2024-0011", 0.7, 0.99)],
        &[
            ("CVE-2024-0010", "2024-03-02"),
            ("CVE-2024-0011", "2024-02-01"),
        ],
    );
    let r = score(&f, &s);
    assert_eq!(r.epss, Some(0.7));
    assert!(r.kev);
    assert_eq!(r.reasons[0], "in CISA KEV since 2024-02-01 (CVE-2024-0011)");
    assert_eq!(r.reasons[2], "EPSS 0.70 (99th percentile, CVE-2024-0011)");
}

#[test]
fn bad_signal_values_are_contained() {
    let f = finding("GHSA-a", &["CVE-2023-1"], Some(V31_CRIT), &[]);
    let r = score(&f, &signals(&[("CVE-2023-1", f64::NAN, 0.5)], &[]));
    assert_eq!(r.epss, None, "a NaN probability is no EPSS score");
    assert_eq!(r.reasons[1], "no EPSS score for CVE-2023-1");
    let r = score(&f, &signals(&[("CVE-2023-1", 7.0, -3.0)], &[]));
    assert_eq!(r.epss, Some(1.0));
    assert_eq!(r.epss_percentile, Some(0.0));
    assert!((0.0..=100.0).contains(&r.score));
}

#[test]
fn formula_is_bounded_banded_and_monotone() {
    let vectors = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", // 0.0
        V31_LOW,
        V31_MED,
        V31_HIGH,
        V31_CRIT,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", // 10.0
    ];
    let probabilities = [0.0, 0.00001, 0.0004, 0.01, 0.1, 0.5, 0.9, 1.0];
    let mut checked = 0;
    for (vi, vector) in vectors.iter().enumerate() {
        for (pi, p) in probabilities.iter().enumerate() {
            for kev in [false, true] {
                for fix in [false, true] {
                    for in_use in [None, Some(true)] {
                        let at = |vi: usize, pi: usize, kev: bool, fix: bool, in_use| {
                            let mut f = finding(
                                "GHSA-m",
                                &["CVE-2023-9"],
                                Some(vectors[vi]),
                                if fix { &["9"] } else { &[] },
                            );
                            f.risk.in_use = in_use;
                            let kev: &[(&str, &str)] = if kev {
                                &[("CVE-2023-9", "2023-01-01")]
                            } else {
                                &[]
                            };
                            score(&f, &signals(&[("CVE-2023-9", probabilities[pi], 0.5)], kev))
                                .score
                        };
                        let here = at(vi, pi, kev, fix, in_use);
                        assert!((0.0..=100.0).contains(&here), "{vector} {p}");
                        if kev {
                            assert!(here >= 70.0, "KEV band: {here}");
                        } else {
                            assert!(here <= 68.0, "non-KEV band: {here}");
                        }
                        if vi + 1 < vectors.len() {
                            assert!(at(vi + 1, pi, kev, fix, in_use) >= here);
                        }
                        if pi + 1 < probabilities.len() {
                            assert!(at(vi, pi + 1, kev, fix, in_use) >= here);
                        }
                        assert!(at(vi, pi, true, fix, in_use) >= here);
                        assert!(at(vi, pi, kev, true, in_use) >= here);
                        assert!(at(vi, pi, kev, fix, Some(true)) >= here);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, vectors.len() * probabilities.len() * 8);
}

#[test]
fn ties_break_by_severity_then_id_then_package_deterministically() {
    let mut a = finding("GHSA-b", &[], Some(V31_HIGH), &[]);
    let mut b = finding("GHSA-a", &[], Some(V31_HIGH), &[]);
    let mut c = finding("GHSA-a", &[], Some(V31_HIGH), &[]);
    c.package.name = "aaa".into();
    let mut d = finding("GHSA-z", &[], Some(V31_CRIT), &[]);
    let mut e = finding("GHSA-0", &[], Some(V31_MED), &[]);
    // Same risk score for all: the tiebreak alone decides.
    for f in [&mut a, &mut b, &mut c, &mut d, &mut e] {
        f.risk.score = 40.0;
    }
    let want = [
        "GHSA-z/pkg",
        "GHSA-a/aaa",
        "GHSA-a/pkg",
        "GHSA-b/pkg",
        "GHSA-0/pkg",
    ];
    let all = [a, b, c, d, e];
    // Every rotation and its reverse of the input gives the same order.
    for start in 0..all.len() {
        for reverse in [false, true] {
            let mut list: Vec<Finding> = all
                .iter()
                .cycle()
                .skip(start)
                .take(all.len())
                .cloned()
                .collect();
            if reverse {
                list.reverse();
            }
            rank(&mut list);
            let got: Vec<String> = list
                .iter()
                .map(|f| format!("{}/{}", f.vulnerability.id, f.package.name))
                .collect();
            assert_eq!(got, want);
        }
    }
}

#[test]
fn severity_words_feed_the_score_when_there_is_no_vector() {
    let mut low = finding("DSA-low", &[], None, &[]);
    apply_severity(&mut low.vulnerability, &[Rating::DebianUrgency("low")]);
    let mut high = finding("DSA-high", &[], None, &[]);
    apply_severity(&mut high.vulnerability, &[Rating::DebianUrgency("high")]);
    let unknown = finding("DSA-unknown", &[], None, &[]);
    let mut unimportant = finding("DSA-unimportant", &[], None, &[]);
    apply_severity(
        &mut unimportant.vulnerability,
        &[Rating::DebianUrgency("unimportant")],
    );
    let mut list = vec![unimportant, low, unknown, high];
    prioritize(&mut list, &NoSignals);
    let ids: Vec<&str> = list.iter().map(|f| f.vulnerability.id.as_str()).collect();
    assert_eq!(
        ids,
        ["DSA-high", "DSA-unknown", "DSA-low", "DSA-unimportant"]
    );
    assert_eq!(list[3].risk.score, 0.0);
}
