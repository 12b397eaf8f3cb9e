//! CVSS base scores against published examples, against Red Hat's reference
//! Python implementation (for every vector in the shared OSV data), and typed
//! errors for vectors that are not valid.

use garrison_risk::{base_score, CvssError, CvssVersion};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared_data() -> PathBuf {
    std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/data"))
}

const ORACLE: &str = "tests/data/cvss-oracle.tsv";
const ORACLE_SCRIPT: &str = "crates/garrison-risk/tests/data/make-cvss-oracle.sh";

/// vector -> (version, base score), from the committed oracle file.
fn oracle() -> BTreeMap<String, (String, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(ORACLE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (it is made by {ORACLE_SCRIPT})",
            path.display()
        )
    });
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad oracle line {line:?}");
        let score: f64 = cols[2]
            .parse()
            .unwrap_or_else(|e| panic!("bad score in {line:?}: {e}"));
        out.insert(cols[0].to_owned(), (cols[1].to_owned(), score));
    }
    assert!(out.len() > 150, "oracle has only {} vectors", out.len());
    out
}

fn version_str(v: CvssVersion) -> &'static str {
    v.as_str()
}

#[test]
fn published_example_scores() {
    // (vector, score) pairs from the FIRST CVSS v2 guide, the FIRST CVSS v3.1
    // examples document, NVD, and the FIRST CVSS v4.0 calculator/examples.
    let cases = [
        // CVSS v2: CVE-2002-0392, CVE-2003-0818, CVE-2003-0062 (v2 guide, section 3.3).
        ("AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8),
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0),
        ("AV:L/AC:H/Au:N/C:C/I:C/A:C", 6.2),
        ("(AV:N/AC:L/Au:N/C:P/I:P/A:P)", 7.5),
        // CVSS v3.1 examples: phpMyAdmin XSS, MySQL, POODLE, VMware guest escape,
        // Tomcat, Cisco IOS, Heartbleed, Shellshock, DNS cache poisoning,
        // Sophos physical access, Joomla, Juniper.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8),
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8),
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3),
        // Log4Shell (NVD), and no impact at all.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        // Temporal metrics do not change the base score.
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R",
            9.8,
        ),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        // CVSS v4.0: FIRST calculator default-high vector, all-high, nginx
        // CVE-2022-41741 (v4.0 examples), and no impact.
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        // Threat metrics lower CVSS-BT, never the base (CVSS-B) score.
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U",
            9.3,
        ),
    ];
    for (vector, expected) in cases {
        let got = base_score(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
        assert_eq!(got.base_score, expected, "{vector}");
    }
}

#[test]
fn every_oracle_vector_scores_like_the_reference_implementation() {
    let oracle = oracle();
    let mut by_version: BTreeMap<String, usize> = BTreeMap::new();
    for (vector, (version, expected)) in &oracle {
        let got = base_score(vector).unwrap_or_else(|e| panic!("{vector}: {e}"));
        assert_eq!(version_str(got.version), version, "{vector}");
        assert_eq!(
            got.base_score, *expected,
            "{vector}: garrison {} vs reference {expected}",
            got.base_score
        );
        *by_version.entry(version.clone()).or_default() += 1;
    }
    // Every version is exercised many times over (the script adds a seeded
    // random sample to the shared-data and example vectors).
    assert!(
        by_version.get("2.0").copied().unwrap_or(0) >= 90,
        "{by_version:?}"
    );
    assert!(
        by_version.get("3.0").copied().unwrap_or(0) >= 100,
        "{by_version:?}"
    );
    assert!(
        by_version.get("3.1").copied().unwrap_or(0) >= 250,
        "{by_version:?}"
    );
    assert!(
        by_version.get("4.0").copied().unwrap_or(0) >= 600,
        "{by_version:?}"
    );
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every `CVSS:x.y/...` vector in the shared OSV records.
fn shared_vectors() -> BTreeSet<String> {
    let osv = shared_data().join("osv");
    assert!(
        osv.is_dir(),
        "shared OSV data missing at {} (set GARRISON_SHARED_DATA)",
        osv.display()
    );
    let mut files = Vec::new();
    walk(&osv, &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut rest = text.as_str();
        while let Some(at) = rest.find("CVSS:") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.')))
                .unwrap_or(tail.len());
            out.insert(tail[..end].to_owned());
            rest = &tail[5..];
        }
    }
    out
}

#[test]
fn every_vector_in_the_shared_osv_data_is_checked_against_the_oracle() {
    let oracle = oracle();
    let vectors = shared_vectors();
    assert!(
        vectors.len() > 150,
        "only {} vectors found in the shared data",
        vectors.len()
    );
    let missing: Vec<&String> = vectors
        .iter()
        .filter(|v| !oracle.contains_key(*v))
        .collect();
    assert!(
        missing.is_empty(),
        "{} shared-data vectors are not in {ORACLE}; rerun {ORACLE_SCRIPT}: {missing:?}",
        missing.len()
    );
    let v4 = vectors
        .iter()
        .filter(|v| v.starts_with("CVSS:4.0/"))
        .count();
    assert!(v4 >= 35, "only {v4} CVSS 4.0 vectors in the shared data");
}

#[test]
fn invalid_vectors_are_typed_errors() {
    let missing = |s: &str, metric: &str| match base_score(s) {
        Err(CvssError::MissingMetric { metric: m, .. }) => assert_eq!(m, metric, "{s}"),
        other => panic!("{s}: expected missing {metric}, got {other:?}"),
    };
    missing("CVSS:3.1/AV:N", "AC");
    missing("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", "S");
    missing(
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
        "SA",
    );
    missing("AV:N/AC:L/C:P/I:P/A:P", "Au");

    assert_eq!(base_score(""), Err(CvssError::Empty));
    assert_eq!(base_score("   "), Err(CvssError::Empty));
    assert!(matches!(
        base_score("CVSS:5.0/AV:N"),
        Err(CvssError::UnsupportedVersion { version, .. }) if version == "5.0"
    ));
    assert!(matches!(
        base_score("CVSS:3.1"),
        Err(CvssError::MalformedComponent { .. })
    ));
    assert!(matches!(
        base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/"),
        Err(CvssError::MalformedComponent { .. })
    ));
    assert!(matches!(
        base_score("CVSS:3.1/AV:N:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        Err(CvssError::MalformedComponent { .. })
    ));
    // Unknown value, unknown metric, duplicate metric: the parser's reason.
    for bad in [
        "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
        "CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Q",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:X/SC:N/SI:N/SA:N",
        "AV:N/AC:L/Au:N/C:P/I:P/A:Z",
    ] {
        match base_score(bad) {
            Err(e @ CvssError::Invalid { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("AV:"), "error does not name the vector: {msg}");
            }
            other => panic!("{bad}: expected Invalid, got {other:?}"),
        }
    }
    // Over-long input is refused before parsing, and the message stays short.
    let long = format!(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H{}",
        "/E:U".repeat(400)
    );
    match base_score(&long) {
        Err(e @ CvssError::TooLong { .. }) => assert!(e.to_string().len() < 300),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    // A deterministic sweep of mangled vectors: truncations, single-byte
    // substitutions and odd bytes, over real vectors of every version.
    let seeds = [
        "AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/CR:H/MAV:L/S:P",
    ];
    let subs = [b'/', b':', b'X', b'0', b'.', b' ', 0xff, b'N', b'H'];
    let mut checked = 0usize;
    for seed in seeds {
        let bytes = seed.as_bytes();
        for cut in 0..=bytes.len() {
            let _ = base_score(&String::from_utf8_lossy(&bytes[..cut]));
            let _ = base_score(&String::from_utf8_lossy(&bytes[cut..]));
            checked += 2;
        }
        for i in 0..bytes.len() {
            for s in subs {
                let mut b = bytes.to_vec();
                b[i] = s;
                let r = base_score(&String::from_utf8_lossy(&b));
                if let Ok(score) = r {
                    assert!((0.0..=10.0).contains(&score.base_score), "{b:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
}
