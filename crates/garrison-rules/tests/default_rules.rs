//! The default ruleset in `rules/`: `garrison rules validate` and `garrison rules
//! test` run on it here (CI runs this crate's tests, so CI runs both), and the
//! interest it programs into the sensors stays narrow.

use garrison_event::EventKind;
use garrison_rules::{testing, LoadOptions, RuleSet};
use std::path::PathBuf;

fn rules_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules"))
}

#[test]
fn default_rules_validate() {
    let v = testing::validate(&rules_dir());
    assert!(
        v.errors.is_empty(),
        "rules validate:\n{}",
        v.errors.join("\n")
    );
    assert!(v.rules >= 60, "only {} rules", v.rules);
}

#[test]
fn default_rules_pass_their_fixtures() {
    let run = testing::run_tests(&rules_dir()).unwrap();
    let failures: Vec<String> = run
        .failures
        .iter()
        .map(|f| format!("{}: {}", f.at, f.message))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        run.uncovered.is_empty(),
        "rules without a positive fixture: {:?}",
        run.uncovered
    );
    assert!(run.negatives >= 60, "only {} negative cases", run.negatives);
}

#[test]
fn every_rule_has_an_attack_technique_and_a_tactic_folder() {
    let set = RuleSet::load_paths(&[rules_dir()], LoadOptions::default()).unwrap();
    for rule in set.rules() {
        assert!(!rule.attack.is_empty(), "{} has no technique", rule.name);
        assert!(rule.pos.file.contains("/rules/"), "{}", rule.pos.file);
    }
}

#[test]
fn default_interest_is_narrow_and_fits_the_kernel_maps() {
    let set = RuleSet::load_paths(&[rules_dir()], LoadOptions::default()).unwrap();
    assert!(
        set.unconstrained_readers().is_empty(),
        "{:?}",
        set.unconstrained_readers()
    );
    let interest = set.interest();
    interest.validate().unwrap();
    // Read-only opens: only the secrets some rule reads, never everything.
    assert!(
        !interest.read_prefixes.iter().any(|p| p == "/"),
        "{:?}",
        interest.read_prefixes
    );
    assert!(interest.wants_read("/etc/shadow"));
    assert!(interest.wants_read("/root/.ssh/id_rsa"));
    assert!(interest.wants_read("/var/run/secrets/kubernetes.io/serviceaccount/token"));
    assert!(!interest.wants_read("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    assert!(!interest.wants_read("/etc/nginx/nginx.conf"));
    // Kinds no rule uses stay in the kernel.
    assert!(interest.wants(EventKind::Exec) && interest.wants(EventKind::Connect));
    assert!(!interest.wants(EventKind::Fork) && !interest.wants(EventKind::Exit));
    // Rules that watch /proc and /sys writes lift those ignore prefixes.
    assert!(!interest.ignores_path("/proc/sys/kernel/core_pattern"));
    assert!(!interest.ignores_path("/sys/fs/cgroup/x/release_agent"));
}
