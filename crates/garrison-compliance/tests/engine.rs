//! The SCA engine on fixtures/sca: every rule type, operator and condition,
//! both regex dialects, requirements, commands (trust, timeouts, scope), and
//! policies that try to read outside the target — on a rootfs and on an image
//! of the same tree. Each fixture check's title starts with the result the
//! Wazuh SCA documentation gives (`[passed]`, `[failed]`, `[na]`).

use garrison_compliance::engine::{Engine, Scope};
use garrison_compliance::fs::{MemFs, RootFs, TargetFs};
use garrison_compliance::policy::{load_all, Origin};
use garrison_compliance::report::{framework_scores, Outcome, PolicyResult};
use garrison_compliance::Policy;
use garrison_model::TargetKind;
use garrison_source::image::{Image, MemoryImage};
use garrison_source::rootfs::{Rootfs, RootfsOptions};
use garrison_source::Source;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn sca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sca")
}

fn policy(name: &str, trusted: bool) -> Policy {
    let p = sca().join("policies").join(name);
    Policy::load(&p, trusted).unwrap_or_else(|e| panic!("{e}"))
}

fn rootfs() -> RootFs {
    RootFs::new(
        Rootfs::open(
            sca().join("root"),
            TargetKind::Rootfs,
            RootfsOptions::default(),
        )
        .expect("open fixtures/sca/root"),
    )
}

/// A one-layer image (uncompressed tar) of fixtures/sca/root, symlinks kept as symlinks.
fn image_source() -> Box<dyn Source> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", sca().join("root"))
        .expect("tar the fixture root");
    let blob = b.into_inner().expect("finish tar");
    Box::new(Image(MemoryImage::new("sca-fixture", vec![blob])))
}

fn image_fs(policies: &[&Policy]) -> MemFs {
    let (files, dirs) = garrison_compliance::target::paths_read_by(policies);
    let mut src = image_source();
    MemFs::load(src.as_mut(), &files, &dirs, &mut || Ok(image_source())).expect("load image")
}

fn expected(title: &str) -> Outcome {
    if title.starts_with("[passed]") {
        Outcome::Passed
    } else if title.starts_with("[failed]") {
        Outcome::Failed
    } else if title.starts_with("[na]") {
        Outcome::NotApplicable
    } else {
        panic!("fixture check title {title:?} does not start with its expected result")
    }
}

fn assert_as_titled(r: &PolicyResult, what: &str) {
    assert!(r.applicable, "{what}: {} not applicable", r.id);
    assert!(!r.checks.is_empty());
    let mut wrong = Vec::new();
    for c in &r.checks {
        if c.result != expected(&c.title) {
            wrong.push(format!(
                "{} {:?}: got {:?}; evidence {:#?}",
                c.id, c.title, c.result, c.evidence
            ));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

#[test]
fn every_rule_and_condition_on_a_rootfs_and_on_an_image() {
    let rules = policy("rules.yml", false);
    let pcre = policy("pcre2.yml", false);
    assert!(rules.checks.len() >= 65, "{}", rules.checks.len());
    let fs = rootfs();
    let img = image_fs(&[&rules, &pcre]);
    for (what, fs, scope) in [
        ("rootfs", &fs as &dyn TargetFs, Scope::Rootfs),
        ("image", &img as &dyn TargetFs, Scope::Image),
    ] {
        let engine = Engine::new(fs, scope);
        assert_as_titled(&engine.evaluate(&rules), what);
        assert_as_titled(&engine.evaluate(&pcre), what);
    }
}

#[test]
fn evidence_names_the_file_line_and_value() {
    let rules = policy("rules.yml", false);
    let fs = rootfs();
    let r = Engine::new(&fs, Scope::Rootfs).evaluate(&rules);
    let by_id = |id: u64| r.checks.iter().find(|c| c.id == id).expect("check");
    let e = &by_id(1016).evidence[0];
    assert_eq!(e.path.as_deref(), Some("/etc/ssh/sshd_config"));
    assert_eq!(e.line, Some(3));
    assert_eq!(e.value.as_deref(), Some("PermitRootLogin no"));
    let n = &by_id(1032).evidence[0];
    assert_eq!(n.value.as_deref(), Some("MaxAuthTries 4"));
    // The climbing symlink read the fixture's passwd, not the host's.
    let climb = &by_id(1093).evidence[0];
    assert_eq!(
        climb.value.as_deref(),
        Some("root:x:0:0:fixture-root:/root:/bin/bash")
    );
    assert_eq!(
        by_id(1092).evidence[0].value.as_deref(),
        Some("sca-fixture")
    );
    // A not-applicable check says why.
    let na = by_id(1060);
    assert!(
        na.reason.as_deref().unwrap_or("").contains("no such file"),
        "{na:?}"
    );
    // Short-circuit: `all` stops at the first failed rule.
    assert_eq!(by_id(1071).evidence.len(), 2);
    // The severity extension and the framework keys, mapped to Garrison ids.
    let mapped = by_id(1016);
    assert_eq!(mapped.severity, garrison_model::Severity::High);
    assert_eq!(mapped.compliance["pci-dss-4.0"], ["2.2.1", "8.3.1"]);
    assert_eq!(mapped.compliance["nist-800-53"], ["CM-6"]);
}

#[test]
fn scores_follow_wazuhs_formula_per_policy_and_framework() {
    let rules = policy("rules.yml", false);
    let fs = rootfs();
    let r = Engine::new(&fs, Scope::Rootfs).evaluate(&rules);
    let s = r.summary;
    assert_eq!(s.passed + s.failed + s.not_applicable, r.checks.len());
    let want = s.passed as f64 * 100.0 / (s.passed + s.failed) as f64;
    assert!((s.score.expect("score") - want).abs() < 1e-9);
    let fw = framework_scores(r.checks.iter());
    let cis = fw.iter().find(|f| f.framework == "cis").expect("cis");
    // 1016 and 1018 pass, 1031 and 1033 fail.
    assert_eq!((cis.summary.passed, cis.summary.failed), (2, 2));
    assert_eq!(cis.summary.score, Some(50.0));
    let pci = fw
        .iter()
        .find(|f| f.framework == "pci-dss-4.0")
        .expect("pci");
    assert_eq!(pci.controls.len(), 2);
    assert!(fw.iter().any(|f| f.framework == "nist-800-53"));
}

#[test]
fn requirements_decide_whether_a_policy_applies() {
    let fs = rootfs();
    let engine = Engine::new(&fs, Scope::Rootfs);
    let unmet = engine.evaluate(&policy("requirements-unmet.yml", false));
    assert!(!unmet.applicable);
    assert!(unmet.checks.is_empty());
    assert_eq!(
        unmet.requirements.as_ref().map(|r| r.result),
        Some(Outcome::Failed)
    );
    let met = engine.evaluate(&policy("requirements-met.yml", false));
    assert_as_titled(&met, "requirements met");
}

#[test]
fn trusted_commands_run_without_a_shell_and_hang_no_longer_than_the_timeout() {
    let commands = policy("commands.yml", true);
    let fs = rootfs();
    let engine = Engine::new(&fs, Scope::Host).with_command_timeout(Duration::from_secs(1));
    let r = engine.evaluate(&commands);
    assert_as_titled(&r, "trusted commands");
    let hang = r.checks.iter().find(|c| c.id == 2005).expect("2005");
    assert!(
        hang.reason.as_deref().unwrap_or("").contains("killed"),
        "{hang:?}"
    );
}

#[test]
fn untrusted_policies_and_rootfs_targets_refuse_commands() {
    let fs = rootfs();
    let untrusted = Engine::new(&fs, Scope::Host).evaluate(&policy("commands.yml", false));
    assert!(untrusted
        .checks
        .iter()
        .all(|c| c.result == Outcome::NotApplicable));
    assert!(untrusted.checks[0]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("not trusted"));
    for scope in [Scope::Rootfs, Scope::Image] {
        let r = Engine::new(&fs, scope).evaluate(&policy("commands.yml", true));
        assert!(r.checks.iter().all(|c| c.result == Outcome::NotApplicable));
        assert!(r.checks[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("never run against"));
    }
}

#[test]
fn process_rules_on_the_host_only() {
    let me = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let me = me.trim();
    let text = format!(
        r#"
policy: {{id: "p", file: "p.yml", name: "p", description: "process rules"}}
checks:
  - {{id: 1, title: "[passed] this test runs", condition: all, rules: ['p:{me}']}}
  - {{id: 2, title: "[failed] no such process", condition: all, rules: ['p:garrison-no-such-process']}}
  - {{id: 3, title: "[passed] not p:", condition: all, rules: ['not p:garrison-no-such-process']}}
"#
    );
    let p = Policy::parse(
        &text,
        Origin {
            path: "p.yml".into(),
            trusted: false,
        },
    )
    .expect("parse");
    let fs = rootfs();
    assert_as_titled(&Engine::new(&fs, Scope::Host).evaluate(&p), "processes");
    let r = Engine::new(&fs, Scope::Rootfs).evaluate(&p);
    assert!(r.checks.iter().all(|c| c.result == Outcome::NotApplicable));
}

#[test]
fn malformed_policies_name_the_file_check_and_rule() {
    let bad = sca().join("bad");
    let cases: &[(&str, &[&str])] = &[
        (
            "unknown-key.yml",
            &["unknown-key.yml", "check 9101", "remediaton"],
        ),
        (
            "bad-rule.yml",
            &[
                "bad-rule.yml",
                "check 9202",
                "f:/etc/passwd->r:^root",
                " -> ",
            ],
        ),
        (
            "bad-regex.yml",
            &[
                "bad-regex.yml",
                "check 9301",
                r"r:^root\q",
                "unknown escape",
            ],
        ),
        ("duplicate-id.yml", &["duplicate-id.yml", "9401", "twice"]),
        (
            "bad-condition.yml",
            &["bad-condition.yml", "check 9501", "most"],
        ),
        (
            "bad-compare.yml",
            &["bad-compare.yml", "check 9601", "capture group"],
        ),
    ];
    for (file, needles) in cases {
        let err = Policy::load(&bad.join(file), false)
            .expect_err(file)
            .to_string();
        for n in *needles {
            assert!(err.contains(n), "{file}: {err:?} lacks {n:?}");
        }
    }
    // Loading the whole directory reports every file's problem.
    let errors = load_all(&[bad], &|_| false).expect_err("bad dir");
    assert_eq!(errors.len(), cases.len());
    // The good fixtures load together: ids are unique across them.
    let good = load_all(&[sca().join("policies")], &|_| false).expect("good dir");
    assert_eq!(good.len(), 6);
}

#[test]
fn wazuh_format_variants() {
    let p = policy("format-variants.yml", false);
    assert_eq!(
        p.requirements.as_ref().map(|r| r.title.as_str()),
        Some("Debian-like")
    );
    let fs = rootfs();
    let r = Engine::new(&fs, Scope::Rootfs).evaluate(&p);
    assert_as_titled(&r, "format variants");
    let c = r.checks.iter().find(|c| c.id == 5001).expect("5001");
    assert_eq!(c.compliance["soc2"], ["CC6.1"]);
    assert_eq!(c.compliance["mitre-attack"], ["T1078"]);
    assert_eq!(c.compliance["mitre-attack-tactics"], ["TA0004"]);
}

#[test]
fn lenient_loads_keep_bad_rules_as_not_applicable() {
    let text = r#"
policy: {id: "l", file: "l.yml", name: "l", description: "lenient", referencces: []}
checks:
  - {id: 1, title: "[na] a rule Wazuh cannot parse either", condition: all, rules: ['f:/etc/passwd->r:^root']}
  - {id: 2, title: "[passed] the others still run", condition: all, rules: ['f:/etc/passwd -> r:^root'], typo: 1}
"#;
    let origin = || Origin {
        path: "l.yml".into(),
        trusted: false,
    };
    assert!(Policy::parse(text, origin()).is_err());
    let p = Policy::parse_with(text, origin(), false).expect("lenient");
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    let fs = rootfs();
    assert_as_titled(&Engine::new(&fs, Scope::Rootfs).evaluate(&p), "lenient");
}

#[test]
fn the_default_dialect_applies_to_policies_without_regex_type() {
    use garrison_compliance::policy::LoadOptions;
    let text = r#"
policy: {id: "d", file: "d.yml", name: "d", description: "no regex_type"}
checks:
  - {id: 1, title: "[passed] PCRE2 look-ahead", condition: all, rules: ['f:/etc/ssh/sshd_config -> r:^(?!#)PermitRootLogin\s+no']}
"#;
    let origin = || Origin {
        path: "d.yml".into(),
        trusted: false,
    };
    let fs = rootfs();
    // In OS_Regex `(?!#)` is a group holding the literal text `?!#`: no line has it.
    let os = Policy::parse(text, origin()).expect("valid OS_Regex too");
    let r = Engine::new(&fs, Scope::Rootfs).evaluate(&os);
    assert_eq!(r.checks[0].result, Outcome::Failed);
    let opts = LoadOptions {
        strict: true,
        default_regex: garrison_compliance::RegexType::Pcre2,
    };
    let p = Policy::parse_opts(text, origin(), opts).expect("pcre2 by default");
    assert_as_titled(
        &Engine::new(&fs, Scope::Rootfs).evaluate(&p),
        "default dialect",
    );
}

#[test]
fn variables_may_be_lists() {
    let text = r#"
policy: {id: "v", file: "v.yml", name: "v", description: "list variables"}
variables:
  $files: [/etc/nonexistent, /etc/login.defs]
checks:
  - {id: 1, title: "[passed] list variable", condition: all, rules: ['f:$files -> r:^UMASK']}
"#;
    let p = Policy::parse(
        text,
        Origin {
            path: "v.yml".into(),
            trusted: false,
        },
    )
    .expect("parse");
    let fs = rootfs();
    assert_as_titled(
        &Engine::new(&fs, Scope::Rootfs).evaluate(&p),
        "list variables",
    );
}

#[test]
fn image_whiteouts_remove_files_from_lower_layers() {
    // Layer 1: the fixture tree; layer 2 deletes sshd_config and makes /home opaque.
    let mut base = tar::Builder::new(Vec::new());
    base.follow_symlinks(false);
    base.append_dir_all(".", sca().join("root")).expect("tar");
    let base = base.into_inner().expect("tar");
    let mut top = tar::Builder::new(Vec::new());
    for name in ["etc/ssh/.wh.sshd_config", "home/.wh..wh..opq"] {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_cksum();
        top.append_data(&mut h, name, std::io::empty())
            .expect("whiteout");
    }
    let top = top.into_inner().expect("tar");
    let make = move || -> Box<dyn Source> {
        Box::new(Image(MemoryImage::new(
            "layers",
            vec![base.clone(), top.clone()],
        )))
    };
    let text = r#"
policy: {id: "w", file: "w.yml", name: "w", description: "whiteouts"}
checks:
  - {id: 1, title: "[failed] deleted by a whiteout", condition: all, rules: ['f:/etc/ssh/sshd_config']}
  - {id: 2, title: "[passed] its sibling stays", condition: all, rules: ['d:/etc/ssh -> r:\.conf$ -> PasswordAuthentication no']}
  - {id: 3, title: "[failed] an opaque directory hides lower files", condition: all, rules: ['d:/home -> r:^.mysql_history$']}
"#;
    let p = Policy::parse(
        text,
        Origin {
            path: "w.yml".into(),
            trusted: false,
        },
    )
    .expect("parse");
    let (files, dirs) = garrison_compliance::target::paths_read_by(&[&p]);
    let mut src = make();
    let again = make.clone();
    let fs = MemFs::load(src.as_mut(), &files, &dirs, &mut || Ok(again())).expect("load");
    assert_as_titled(&Engine::new(&fs, Scope::Image).evaluate(&p), "whiteouts");
}

#[test]
fn a_timed_out_command_takes_its_whole_process_group_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("grandchild.pid");
    let cmd = format!("sh -c 'sleep 60 & echo $! > {}; wait'", pidfile.display());
    let err = garrison_compliance::sys::run_command(&cmd, Duration::from_secs(1))
        .expect_err("must time out");
    assert!(
        matches!(err, garrison_compliance::sys::RunError::Timeout(_)),
        "{err}"
    );
    let pid = std::fs::read_to_string(&pidfile).expect("the shell wrote the pid");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
    // Gone, or a zombie waiting for a reaper that is not us: not running.
    if let Ok(stat) = stat {
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        assert_eq!(state, Some("Z"), "grandchild still alive: {stat}");
    }
}

#[test]
fn image_symlinks_to_unwanted_places_are_read_on_a_second_walk() {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], kind: tar::EntryType, link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        if let Some(l) = link {
            h.set_link_name(l).expect("link name");
        }
        h.set_cksum();
        b.append_data(&mut h, path, data).expect("append");
    };
    add("real/", b"", tar::EntryType::Directory, None);
    add("real/conf", b"Port 22\n", tar::EntryType::Regular, None);
    add("etc/", b"", tar::EntryType::Directory, None);
    add("etc/linkdir", b"", tar::EntryType::Symlink, Some("/real"));
    add(
        "etc/linkfile",
        b"",
        tar::EntryType::Symlink,
        Some("../real/conf"),
    );
    let blob = b.into_inner().expect("tar");
    let make = move || -> Box<dyn Source> {
        Box::new(Image(MemoryImage::new("links", vec![blob.clone()])))
    };
    let text = r#"
policy: {id: "s", file: "s.yml", name: "s", description: "symlinks in images"}
checks:
  - {id: 1, title: "[passed] d: through a symlinked directory", condition: all, rules: ['d:/etc/linkdir -> conf -> r:^Port 22$']}
  - {id: 2, title: "[passed] f: through a symlinked file", condition: all, rules: ['f:/etc/linkfile -> Port 22']}
  - {id: 3, title: "[passed] f: below a symlinked directory", condition: all, rules: ['f:/etc/linkdir/conf -> r:^Port']}
"#;
    let p = Policy::parse(
        text,
        Origin {
            path: "s.yml".into(),
            trusted: false,
        },
    )
    .expect("parse");
    let (files, dirs) = garrison_compliance::target::paths_read_by(&[&p]);
    let mut src = make();
    let again = make.clone();
    let fs = MemFs::load(src.as_mut(), &files, &dirs, &mut || Ok(again())).expect("load");
    assert_as_titled(
        &Engine::new(&fs, Scope::Image).evaluate(&p),
        "image symlinks",
    );
}

#[test]
fn an_unreadable_file_makes_a_content_rule_not_applicable_not_passed() {
    // /proc/self/mem is a regular file whose read at offset 0 fails (EIO).
    let text = r#"
policy: {id: "u", file: "u.yml", name: "u", description: "unreadable files"}
checks:
  - {id: 1, title: "[na] a readable file without the line, and an unreadable one", condition: all, rules: ['f:/etc/hostname,/proc/self/mem -> r:^garrison-no-such-line$']}
  - {id: 2, title: "[na] not does not turn it into a pass", condition: all, rules: ['not f:/etc/hostname,/proc/self/mem -> r:^garrison-no-such-line$']}
"#;
    let p = Policy::parse(
        text,
        Origin {
            path: "u.yml".into(),
            trusted: false,
        },
    )
    .expect("parse");
    let host = RootFs::new(
        Rootfs::open("/", TargetKind::Rootfs, RootfsOptions::default()).expect("open /"),
    );
    let r = Engine::new(&host, Scope::Host).evaluate(&p);
    assert_as_titled(&r, "unreadable");
    assert!(r.checks[0]
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("/proc/self/mem"));
}
