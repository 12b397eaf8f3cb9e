//! Python lockfiles and installed metadata, against what poetry, uv and pip report
//! (fixtures/lockfiles/python/make.sh).

mod lang_support;
use garrison_inventory::lang::python::{
    PipfileLock, PoetryLock, PythonMetadata, Requirements, UvLock,
};
use garrison_model::{purl_for, Ecosystem};
use lang_support::*;

const SCRIPT: &str = "fixtures/lockfiles/python/make.sh";

#[test]
fn poetry_lock_matches_poetry_show() {
    let p = parse(&PoetryLock, "python/poetry/poetry.lock");
    assert_eq!(
        name_versions(&p),
        expected_lines("python/poetry/expected.txt")
    );
    for pkg in &p.packages {
        assert_eq!(pkg.ecosystem, Ecosystem::PyPI);
        // iniconfig is only in the dev group.
        assert_eq!(pkg.dev, pkg.name == "iniconfig", "{}", pkg.name);
    }
}

#[test]
fn uv_lock_matches_uv_export() {
    let p = parse(&UvLock, "python/uv/uv.lock");
    let mut got: Vec<String> = p
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p.name,
                p.version,
                if p.dev { "dev" } else { "prod" }
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected_lines("python/uv/expected.txt"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // The project declares all five runtime packages and iniconfig itself.
    assert!(p.packages.iter().all(|p| p.direct == Some(true)));
    assert!(!p.packages.iter().any(|p| p.name == "garrison-py-fixture"));
}

#[test]
fn compiled_requirements_with_hashes() {
    // `uv pip compile --generate-hashes` of requests[socks] and its pinned dependencies.
    let p = parse(&Requirements, "python/requirements/requirements.txt");
    assert_eq!(
        name_versions(&p),
        [
            "certifi 2024.8.30",
            "charset-normalizer 3.3.2",
            "idna 3.10",
            "pysocks 1.7.1",
            "requests 2.32.3",
            "urllib3 2.2.3"
        ]
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn hand_written_requirements_only_pinned_lines() {
    let p = parse(&Requirements, "python/requirements/requirements-dev.txt");
    assert_eq!(
        name_versions(&p),
        [
            "Flask 3.0.3",
            "pytest 8.2.2",
            "typing_extensions 4.12.2",
            "zope.interface 6.4.post2"
        ]
    );
    let notes: Vec<&str> = p.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].contains("\"requirements.txt\", which is not followed"),
        "{notes:?}"
    );
    assert!(notes[1].contains("\"constraints.txt\""), "{notes:?}");
    let z = p
        .packages
        .iter()
        .find(|p| p.name == "zope.interface")
        .unwrap();
    assert_eq!(
        purl_for(z, None).unwrap(),
        "pkg:pypi/zope-interface@6.4.post2"
    );
}

#[test]
fn pipfile_lock_default_and_develop() {
    let p = parse(&PipfileLock, "python/pipfile/Pipfile.lock");
    let got: Vec<String> = p
        .packages
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.version, p.dev))
        .collect();
    assert_eq!(
        got,
        [
            "certifi 2024.8.30 false",
            "idna 3.10 false",
            "requests 2.32.3 false",
            "iniconfig 2.0.0 true",
            "pytest 8.2.2 true"
        ]
    );
}

/// PEP 503 name normalization, as `pip list` and METADATA spell names differently.
fn normalize(n: &str) -> String {
    n.to_ascii_lowercase().replace(['_', '.'], "-")
}

#[test]
fn installed_dist_info_matches_pip_list() {
    let site = generated("lockfiles/python/site", SCRIPT);
    let list = generated("lockfiles/python/site.json", SCRIPT);
    let list: serde_json::Value = serde_json::from_slice(&std::fs::read(list).unwrap()).unwrap();
    let mut expected: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                normalize(e["name"].as_str().unwrap()),
                e["version"].as_str().unwrap()
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 6);
    let p = parse_tree(&PythonMetadata, &site);
    let mut got: Vec<String> = p
        .packages
        .iter()
        .map(|p| format!("{} {}", normalize(&p.name), p.version))
        .collect();
    got.sort();
    assert_eq!(got, expected);
    let requests = p.packages.iter().find(|p| p.name == "requests").unwrap();
    assert_eq!(requests.licenses, ["Apache-2.0"]);
    assert_eq!(requests.location, "/requests-2.32.3.dist-info/METADATA");
    // Every wheel here states a license one way or another.
    for pkg in &p.packages {
        assert!(!pkg.licenses.is_empty(), "{} has no license", pkg.name);
    }
}

#[test]
fn egg_info_from_setuptools() {
    let dir = generated("lockfiles/python/egg/demo_pkg.egg-info", SCRIPT);
    let p = parse_tree(&PythonMetadata, dir.parent().unwrap());
    assert_eq!(p.packages.len(), 1);
    let pkg = &p.packages[0];
    assert_eq!(
        (pkg.name.as_str(), pkg.version.as_str()),
        ("demo-pkg", "1.4.2")
    );
    assert_eq!(pkg.licenses, ["BSD-3-Clause"]);
    assert_eq!(pkg.location, "/demo_pkg.egg-info/PKG-INFO");
}
