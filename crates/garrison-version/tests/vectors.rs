//! Every line of the shared version vectors (osv-scalibr's `semantic/testdata`, ordered by
//! the native tools) must hold in both directions.

use std::cmp::Ordering;
use std::path::PathBuf;

use garrison_version::{parse, Scheme};

fn data_dir() -> PathBuf {
    let base = match std::env::var_os("GARRISON_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let dir = base.join("version-vectors");
    assert!(
        dir.join("README.md").is_file(),
        "version vectors missing at {} (clone the shared data beside the repo or set GARRISON_SHARED_DATA)",
        dir.display()
    );
    dir
}

/// A vector line whose recorded answer this crate deliberately does not reproduce.
struct Divergence {
    line: &'static str,
    reason: &'static str,
}

struct Outcome {
    checked: usize,
    failures: Vec<String>,
}

fn check_file(file: &str, scheme: Scheme, divergences: &[Divergence]) -> Outcome {
    let path = data_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read version vectors {}: {e}", path.display()));
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut used = vec![false; divergences.len()];
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty()
            || line.starts_with("# ")
            || line.starts_with("// ")
            || line == "#"
            || line == "//"
        {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            fields.len(),
            3,
            "{file}:{}: malformed vector line {line:?}",
            n + 1
        );
        let (a, op, b) = (fields[0], fields[1], fields[2]);
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: unknown operator in {line:?}", n + 1),
        };
        checked += 1;
        let got = match (parse(scheme, a), parse(scheme, b)) {
            (Ok(va), Ok(vb)) => Ok((va.cmp(&vb), vb.cmp(&va))),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        let ok = matches!(got, Ok((fwd, back)) if fwd == want && back == want.reverse());
        if let Some(k) = divergences.iter().position(|d| d.line == line) {
            used[k] = true;
            assert!(
                !ok,
                "{file}:{}: {line:?} is listed as a known divergence but now passes; remove it",
                n + 1
            );
            continue;
        }
        if !ok {
            failures.push(format!("{file}:{}: {line}  => got {got:?}", n + 1));
        }
    }
    for (d, u) in divergences.iter().zip(used) {
        assert!(
            u,
            "{file}: known divergence {:?} not found in the file",
            d.line
        );
        eprintln!("{file}: known divergence {:?}: {}", d.line, d.reason);
    }
    eprintln!(
        "{file}: {checked} vector lines checked in both directions: {} pass, {} known divergences, {} failing",
        checked - failures.len() - divergences.len(),
        divergences.len(),
        failures.len()
    );
    Outcome { checked, failures }
}

fn run(files: &[(&str, Scheme, &[Divergence])]) {
    let mut all = Vec::new();
    for (file, scheme, div) in files {
        let out = check_file(file, *scheme, div);
        assert!(out.checked > 0, "{file}: no vector lines found");
        all.extend(out.failures);
    }
    if !all.is_empty() {
        let shown: Vec<&String> = all.iter().take(60).collect();
        panic!(
            "{} vector lines fail:\n{}",
            all.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn debian_vectors() {
    run(&[
        ("debian-versions.txt", Scheme::Dpkg, &[]),
        ("debian-versions-generated.txt", Scheme::Dpkg, &[]),
    ]);
}

#[test]
fn redhat_vectors() {
    run(&[("redhat-versions.txt", Scheme::Rpm, &[])]);
}

#[test]
fn alpine_vectors() {
    run(&[
        ("alpine-versions.txt", Scheme::Apk, APK_DIVERGENCES),
        ("alpine-versions-generated.txt", Scheme::Apk, &[]),
    ]);
}

/// Invalid apk versions on which apk-tools 2.x (what every Alpine 3.x release ships and what
/// produced the generated Alpine vectors; implemented here) and apk-tools 3 disagree. The
/// file records apk-tools 3's answer for these; we keep apk-tools 2.x's.
const APK2: &str = "invalid apk version: apk-tools 2.x (implemented; Alpine 3.x) orders it the other way, the file records apk-tools 3's answer";
const APK_DIVERGENCES: &[Divergence] = &[
    Divergence { line: "1-r-0 < 1-r0", reason: APK2 },
    Divergence { line: "1-r-1 < 1-r0", reason: APK2 },
    Divergence { line: "0.r1 < 0r2", reason: APK2 },
    Divergence { line: "0.8.21.r2 < 0.8.21r2", reason: APK2 },
    Divergence { line: "1.2.0A < 1.2.0d", reason: APK2 },
    Divergence { line: "1.2.0D < 1.2.0d", reason: APK2 },
    Divergence { line: "1 > 1-ruff", reason: APK2 },
    Divergence { line: "1-ruff2 = 1--ruff1", reason: "invalid apk version: apk-tools 2.x (implemented) says 1-ruff2 < 1--ruff1, the file records apk-tools 3's '=' (both invalid)" },
];

#[test]
fn pypi_vectors() {
    run(&[
        ("pypi-versions.txt", Scheme::Pep440, &[]),
        ("pypi-versions-generated.txt", Scheme::Pep440, &[]),
    ]);
}

#[test]
fn maven_vectors() {
    run(&[
        ("maven-versions.txt", Scheme::Maven, &[Divergence {
            line: "1-1 = 1-ga-1",
            reason: "Maven 4's answer (its ComparableVersion drops the null 'ga' list); Maven 3.8.2-3.8.6, which ordered the generated vectors and is implemented here, orders 1-ga-1 < 1-1",
        }]),
        ("maven-versions-generated.txt", Scheme::Maven, &[]),
    ]);
}

/// semver-versions.txt holds npm/crates.io/Go/Hex cases. Under npm/crates.io rules every
/// line holds (a `v` prefix is accepted as npm does, extra numeric components are build
/// metadata as OSV expects). Under Go's rules every line holds except the one that is not
/// a Go version at all.
#[test]
fn semver_vectors() {
    run(&[
        ("semver-versions.txt", Scheme::Semver, &[]),
        (
            "semver-versions.txt",
            Scheme::Go,
            &[Divergence {
                line: "1.1.3.4.5 = 1.1.3.4.5",
                reason: "not a Go module version (golang.org/x/mod/semver rejects four or more numbers); parse fails under Scheme::Go",
            }],
        ),
    ]);
}

#[test]
fn rubygems_vectors() {
    run(&[
        ("rubygems-versions.txt", Scheme::RubyGems, &[]),
        ("rubygems-versions-generated.txt", Scheme::RubyGems, &[]),
    ]);
}

#[test]
fn packagist_vectors() {
    run(&[
        (
            "packagist-versions.txt",
            Scheme::Packagist,
            PACKAGIST_DIVERGENCES,
        ),
        ("packagist-versions-generated.txt", Scheme::Packagist, &[]),
    ]);
}

#[test]
fn nuget_vectors() {
    run(&[("nuget-versions.txt", Scheme::NuGet, &[])]);
}

const PHP_HASH: &str = "PHP's version_compare treats '#' as a separator, so '1.2.3.#' canonicalizes to '1.2.3.' whose empty last part sorts below both sides (PHP answers '<'); the file records osv-scalibr's reading of '#' as a number placeholder";
const PACKAGIST_DIVERGENCES: &[Divergence] = &[
    Divergence {
        line: "1.2.3.# = 1.2.3",
        reason: PHP_HASH,
    },
    Divergence {
        line: "1.2.3.# = 1.2.3.1",
        reason: PHP_HASH,
    },
];
