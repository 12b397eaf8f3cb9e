//! The rule language end to end: operators, lists, macros, exceptions, overrides,
//! errors that name file, line and rule; atomic reload; grouping; the worker pool.

use garrison_event::{Event, EventData, EventKind};
use garrison_rules::samples::sample;
use garrison_rules::{Engine, Grouped, Grouper, LoadOptions, Pool, Reload, RuleSet};
use std::sync::Arc;
use std::time::Duration;

fn set(text: &str) -> RuleSet {
    RuleSet::from_sources(&[("t.yaml".into(), text.into())], LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    RuleSet::from_sources(&[("t.yaml".into(), text.into())], LoadOptions::default())
        .unwrap_err()
        .to_string()
}

fn fired(set: RuleSet, ev: &Event) -> Vec<String> {
    let engine = Arc::new(Engine::with_ruleset(set, vec![], "node1"));
    let mut det = engine.detector();
    let mut out = Vec::new();
    det.process(ev, |a| out.push(a.rule));
    out
}

fn rule(name: &str, cond: &str) -> String {
    format!("- rule: {name}\n  desc: d\n  condition: {cond}\n  output: o %proc.name\n  priority: NOTICE\n  tags: [T1059]\n")
}

#[test]
fn operators_match_falco_semantics() {
    let exec = sample(EventKind::Exec);
    let cases = [
        ("evt.type = execve and evt.dir = <", true),
        ("evt.dir = >", false),
        ("proc.name in (sh, bash) and proc.pname = nginx", true),
        ("proc.cmdline contains \"-c id\" and proc.cmdline startswith bash and proc.cmdline endswith id", true),
        ("proc.cmdline icontains \"BASH -C\"", true),
        ("proc.exepath glob \"/usr/*/ba?h\"", true),
        ("proc.exepath pmatch (/usr/bin, /opt)", true),
        ("proc.exepath pmatch (/usr/bi)", false),
        ("proc.exepath regex \"/usr/bin/[a-z]+\"", true),
        ("proc.exepath regex \"bin\"", false),
        ("proc.aname[2] = containerd-shim and proc.aname = containerd-shim", true),
        ("proc.aname = bash", false),
        ("proc.pid > 99 and proc.pid <= 100 and proc.ppid != 1 and proc.pid in (1, 100)", true),
        ("fd.name exists", false),
        ("not fd.name exists and not fd.name = /x", true),
        ("tolower(proc.name) = bash and toupper(proc.name) = BASH and len(proc.name) = 4", true),
        ("basename(proc.exepath) = bash and proc.name = val(proc.aname[0])", true),
        ("proc.name = val(proc.pname)", false),
        ("fd.types intersects (socket, file)", true),
        ("k8s.ns.name = shop and k8s.pod.name = web-7d4b9 and container.image.repository = docker.io/library/nginx", true),
        ("container.id = 0123456789ab and container.name = web", true),
        ("proc.is_exe_upper_layer = false and proc.stdin.type = socket", true),
        ("user.loginuid = 1000 and user.loginname = alice and thread.cap_effective icontains sys_admin", true),
        ("evt.time = \"08:53:20.000000000\" and evt.time.iso8601 = \"2025-10-09T08:53:20.000000000Z\" and evt.datetime startswith 2025-10-09T", true),
    ];
    for (cond, want) in cases {
        let got = !fired(set(&rule("r", cond)), &exec).is_empty();
        assert_eq!(got, want, "{cond}");
    }
    let conn = sample(EventKind::Connect);
    for (cond, want) in [
        ("fd.rip = 169.254.169.254 and fd.rport = 80 and fd.sip = 169.254.169.254 and fd.cport = 40000", true),
        ("fd.rnet in (169.254.0.0/16) and fd.l4proto = tcp and fd.typechar = 4 and fd.type = ipv4", true),
        ("fd.net in (10.0.0.0/8)", true),
        ("fd.snet in (10.0.0.0/8)", false),
        ("fd.name contains \"->169.254.169.254:80\"", true),
    ] {
        assert_eq!(!fired(set(&rule("r", cond)), &conn).is_empty(), want, "{cond}");
    }
}

#[test]
fn lists_macros_exceptions_and_overrides() {
    let text = format!(
        "- list: inner\n  items: [bash]\n- list: shells\n  items: [inner, sh]\n- macro: is_shell\n  condition: proc.name in (shells)\n{}  exceptions:\n    - name: from_web\n      fields: [proc.pname, container.name]\n      comps: [=, in]\n      values:\n        - [nginx, [web, api]]\n",
        rule("Shell", "evt.type = execve and is_shell")
    );
    let ev = sample(EventKind::Exec);
    assert!(
        fired(set(&text), &ev).is_empty(),
        "the exception covers nginx in web"
    );
    let mut other = ev.clone();
    other.process.ancestors[0].name = "sshd".into();
    assert_eq!(fired(set(&text), &other), vec!["Shell"]);
    // A later file appends to the exception and disables nothing else.
    let later = "- rule: Shell\n  exceptions:\n    - name: from_web\n      values:\n        - [sshd, [web]]\n  override:\n    exceptions: append\n";
    let s = RuleSet::from_sources(
        &[
            ("a.yaml".into(), text.clone()),
            ("b.yaml".into(), later.into()),
        ],
        LoadOptions::default(),
    )
    .unwrap();
    assert!(fired(s, &other).is_empty());
    // Single-field exceptions.
    let single = format!(
        "{}  exceptions:\n    - name: names\n      fields: proc.name\n      values: [bash]\n",
        rule("R", "evt.type = execve")
    );
    assert!(fired(set(&single), &ev).is_empty());
}

#[test]
fn errors_name_file_line_rule_and_expectation() {
    let e = err(&format!(
        "- list: l\n  items: [a]\n{}",
        rule("Bad Field", "proc.nmae = x")
    ));
    assert!(
        e.contains("t.yaml:3: rule \"Bad Field\"") && e.contains("unknown field \"proc.nmae\""),
        "{e}"
    );
    let e = err(&rule("Bad Type", "proc.pid = abc"));
    assert!(
        e.contains("t.yaml:1: rule \"Bad Type\"") && e.contains("expected a number"),
        "{e}"
    );
    let e = err(&rule("Bad Op", "proc.pid contains 1"));
    assert!(
        e.contains("operator `contains` does not apply to proc.pid"),
        "{e}"
    );
    let e = err(&rule("No Macro", "spawned_process and proc.name = x"));
    assert!(e.contains("undefined macro \"spawned_process\""), "{e}");
    let e = err(&rule("Syntax", "proc.name = x and (proc.pid = 1"));
    assert!(
        e.contains("condition syntax error at character") && e.contains("`)`"),
        "{e}"
    );
    let e = err(&rule("Bad Regex", "proc.name regex \"(\""));
    assert!(e.contains("bad regex"), "{e}");
    let e = err(&rule("Bad Bool", "evt.failed = yes"));
    assert!(e.contains("expected true or false"), "{e}");
    // skip-if-unknown-filter skips instead of failing.
    let s = set(&format!(
        "{}  skip-if-unknown-filter: true\n",
        rule("Future", "proc.future_field = 1")
    ));
    assert_eq!(s.rules().len(), 0);
    assert_eq!(s.skipped.len(), 1);
}

#[test]
fn reload_is_atomic_and_a_broken_file_keeps_the_previous_rules() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.yaml");
    std::fs::write(
        &file,
        rule("Shell", "evt.type = execve and proc.name = bash"),
    )
    .unwrap();
    let engine = Arc::new(Engine::load(vec![dir.path().to_path_buf()], "node1").unwrap());
    let mut det = engine.detector();
    assert!(!engine.files_changed());
    let ev = sample(EventKind::Exec);
    let count = |det: &mut garrison_rules::Detector| {
        let mut n = Vec::new();
        det.process(&ev, |a| n.push(a.rule));
        n
    };
    assert_eq!(count(&mut det), vec!["Shell"]);
    std::fs::write(
        &file,
        rule("Shell", "evt.type = execve and proc.nmae = bash"),
    )
    .unwrap();
    let Reload::Kept { errors } = engine.reload() else {
        panic!("a broken file was applied")
    };
    assert!(
        errors.contains("previous rules stay in force") && errors.contains("proc.nmae"),
        "{errors}"
    );
    assert!(engine.last_error().is_some());
    assert!(
        !engine.files_changed(),
        "a refused reload still records what it read"
    );
    assert_eq!(
        count(&mut det),
        vec!["Shell"],
        "the previous ruleset stays in force"
    );
    std::fs::write(
        &file,
        rule("Renamed", "evt.type = execve and proc.name = bash"),
    )
    .unwrap();
    assert_eq!(engine.reload(), Reload::Applied { rules: 1 });
    assert!(engine.last_error().is_none());
    assert_eq!(
        count(&mut det),
        vec!["Renamed"],
        "detectors pick up the new ruleset"
    );
}

#[test]
fn alerts_carry_output_fields_attack_ancestry_and_container() {
    let s = set("- rule: Shell\n  desc: d\n  condition: evt.type = execve and proc.name = bash and fd.name exists or proc.pname = nginx\n  output: shell %proc.cmdline parent=%proc.pname fd=%fd.name %container.info\n  priority: WARNING\n  tags: [mitre_execution, T1059.004, T1190]\n");
    let engine = Arc::new(Engine::with_ruleset(s, vec![], "node1"));
    let mut det = engine.detector();
    let mut alerts = Vec::new();
    det.process(&sample(EventKind::Exec), |a| alerts.push(a));
    let a = &alerts[0];
    assert_eq!(a.output, "shell bash -c id parent=nginx fd=<NA> container_id=0123456789ab container_image=docker.io/library/nginx:1.25");
    assert_eq!(a.attack, vec!["T1059.004", "T1190"]);
    assert_eq!(a.severity, "MEDIUM");
    assert_eq!(
        a.fields.get("proc.pname").map(String::as_str),
        Some("nginx")
    );
    assert!(!a.fields.contains_key("fd.name"));
    assert_eq!(a.ancestry[0].name, "nginx");
    let v: serde_json::Value = serde_json::from_str(&a.to_ndjson()).unwrap();
    assert_eq!(v["kind"], "alert");
    assert_eq!(v["schema"], 1);
    assert_eq!(v["container"]["name"], "web");
}

#[test]
fn grouping_folds_repeats_and_reports_the_count() {
    let s = set(&rule("Shell", "evt.type = execve"));
    let engine = Arc::new(Engine::with_ruleset(s, vec![], "node1"));
    let mut det = engine.detector();
    let mut g = Grouper::new(Duration::from_secs(10), 3);
    let mut emitted = 0;
    let mut folded = 0;
    for i in 0..10u64 {
        let mut ev = sample(EventKind::Exec);
        ev.time_ns = 1_000_000_000 * i / 2;
        if i >= 6 {
            ev.process.comm = format!("p{i}");
        }
        det.process(&ev, |a| match g.offer(a) {
            Grouped::Emit(_) => emitted += 1,
            Grouped::Folded => folded += 1,
        });
    }
    // 6 identical alerts: 1 emitted, 5 folded; then 4 distinct outputs: 2 more emitted
    // (rule limit 3 per window), 2 folded.
    assert_eq!((emitted, folded), (3, 7));
    let summaries = g.flush(u64::MAX);
    let total: u64 = summaries.iter().map(|s| s.folded).sum();
    assert_eq!(total, 7, "every folded alert is counted in a summary");
    assert!(summaries[0].to_text().contains("more alert(s) folded"));
}

#[test]
fn pool_shards_by_pid_and_loses_nothing() {
    let s = set(&rule("Any Exec", "evt.type = execve"));
    let engine = Arc::new(Engine::with_ruleset(s, vec![], "node1"));
    let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
    let pool = Pool::start(&engine, 2, tx);
    for i in 0..1000u32 {
        let mut ev = sample(EventKind::Exec);
        ev.process.pid = i % 37;
        ev.seq = u64::from(i);
        pool.submit(ev).unwrap();
        if i % 2 == 0 {
            pool.submit(sample(EventKind::Open)).unwrap();
        }
    }
    pool.finish();
    let alerts: Vec<_> = rx.try_iter().collect();
    assert_eq!(alerts.len(), 1000);
    // Per-pid order is preserved.
    for pid in 0..37u32 {
        let seqs: Vec<u64> = alerts
            .iter()
            .filter(|a| a.process.pid == pid)
            .map(|a| a.seq)
            .collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "pid {pid}: {seqs:?}");
    }
}

#[test]
fn read_prefix_interest_follows_the_rules() {
    let s = set(&format!(
        "{}{}",
        rule("A", "evt.type = openat and fd.name startswith /etc/shadow"),
        rule("B", "evt.type = openat and (fd.name in (/root/.aws/credentials) or fd.directory = /etc/ssh)")
    ));
    let i = s.interest();
    assert_eq!(
        i.read_prefixes,
        vec!["/etc/shadow", "/etc/ssh/", "/root/.aws/credentials"]
    );
    assert_eq!(
        i.kinds.iter().copied().collect::<Vec<_>>(),
        vec![EventKind::Open]
    );
    let s = set(&rule("C", "evt.type = openat and fd.name contains secret"));
    assert_eq!(s.interest().read_prefixes, vec!["/"]);
    let s = set(&rule("W", "evt.type = openat and evt.is_open_write = true"));
    assert!(s.interest().read_prefixes.is_empty());
    let _ = EventData::Exit {
        code: 0,
        signal: None,
        core_dumped: false,
    };
}

#[test]
fn truncated_or_garbled_rule_files_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules");
    for file in garrison_rules::ruleset::rule_files(&[dir.into()]) {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let t = &text[..cut];
                let _ =
                    RuleSet::from_sources(&[("x.yaml".into(), t.into())], LoadOptions::default());
                let garbled = t.replace(" and ", " and ( ").replace(": ", ":: ");
                let _ = RuleSet::from_sources(
                    &[("x.yaml".into(), garbled)],
                    LoadOptions { lenient: true },
                );
            }
            cut += 61;
        }
    }
}
