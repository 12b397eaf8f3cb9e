//! Falco's published rulesets load unchanged: how many rules of each, exactly.
//! `docs/falco-compatibility.md` lists the ones that do not, and why.

use garrison_rules::{LoadOptions, RuleSet};
use std::path::PathBuf;

fn shared() -> PathBuf {
    match std::env::var_os("GARRISON_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
    }
}

fn load(name: &str) -> RuleSet {
    let path = shared().join("falco-rules").join(name);
    assert!(path.exists(), "{} is missing: the shared test data (GARRISON_SHARED_DATA) must hold Falco's rulesets", path.display());
    let text = std::fs::read_to_string(&path).unwrap();
    // Incubating and sandbox build on the stable file's macros and lists, as in Falco.
    let mut sources = Vec::new();
    if name != "falco_rules.yaml" {
        let stable = shared().join("falco-rules/falco_rules.yaml");
        sources.push(("falco_rules.yaml".to_string(), std::fs::read_to_string(stable).unwrap()));
    }
    sources.push((name.to_string(), text));
    RuleSet::from_sources(&sources, LoadOptions { lenient: true }).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn report(name: &str, set: &RuleSet, base: usize) -> (usize, usize) {
    let loaded = set.rules().len() - base;
    let skipped: Vec<_> = set.skipped.iter().filter(|s| s.pos.file == name).collect();
    eprintln!("{name}: {loaded} loaded, {} not", skipped.len());
    for s in &skipped {
        eprintln!("  - {}: {}", s.rule, s.reason);
    }
    (loaded, skipped.len())
}

#[test]
fn stable_rules_load() {
    let set = load("falco_rules.yaml");
    let (loaded, skipped) = report("falco_rules.yaml", &set, 0);
    assert_eq!((loaded, skipped), (22, 3));
}

#[test]
fn incubating_rules_load() {
    let stable = load("falco_rules.yaml").rules().len();
    let set = load("falco-incubating_rules.yaml");
    let (loaded, skipped) = report("falco-incubating_rules.yaml", &set, stable);
    assert_eq!((loaded, skipped), (28, 3));
}

#[test]
fn sandbox_rules_load() {
    let stable = load("falco_rules.yaml").rules().len();
    let set = load("falco-sandbox_rules.yaml");
    let (loaded, skipped) = report("falco-sandbox_rules.yaml", &set, stable);
    assert_eq!((loaded, skipped), (32, 5));
}
