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

#[test]
fn print_default_interest() {
    let set = RuleSet::load_paths(&[rules_dir()], LoadOptions::default()).unwrap();
    let i = set.interest();
    eprintln!(
        "kinds: {:?}\nread_prefixes: {:?}\nignore_prefixes: {:?}",
        i.kinds, i.read_prefixes, i.ignore_prefixes
    );
    assert!(i.read_prefixes.len() <= garrison_event::MAX_PREFIXES);
}

/// The tuning example of rules/README.md loads after the default ruleset and works.
#[test]
fn readme_tuning_example_applies() {
    use garrison_rules::samples::sample;
    let readme = std::fs::read_to_string(rules_dir().join("README.md")).unwrap();
    let start = readme.find("```yaml\n").unwrap() + 8;
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zz-local.yaml"), &readme[start..end]).unwrap();
    let set = RuleSet::load_paths(
        &[rules_dir(), dir.path().to_path_buf()],
        LoadOptions::default(),
    )
    .unwrap();
    let engine = std::sync::Arc::new(garrison_rules::Engine::with_ruleset(set, vec![], "h"));
    let mut det = engine.detector();
    let mut ev = sample(EventKind::Open);
    ev.container = None;
    ev.process.ancestors.truncate(1);
    ev.process.ancestors[0].name = "systemd".into();
    if let garrison_event::EventData::Open { path, .. } = &mut ev.data {
        path.path = "/etc/app/x.conf".into();
    }
    let mut fired = Vec::new();
    ev.process.comm = "vim".into();
    det.process(&ev, |a| fired.push(a.rule));
    assert_eq!(fired, vec!["Write Below /etc"]);
    fired.clear();
    ev.process.comm = "salt-minion".into();
    det.process(&ev, |a| fired.push(a.rule));
    assert!(fired.is_empty(), "{fired:?}");
}
