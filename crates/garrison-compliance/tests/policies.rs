//! The policies Garrison ships (`policies/*.yml`) and the Wazuh documentation
//! examples (`fixtures/sca/wazuh-doc-*.yml`): they validate, every check maps
//! to every framework it should, and they give the expected verdicts on real
//! Debian root filesystems made by `fixtures/compliance/make.sh` (a stock
//! debootstrap tree and the same tree hardened by `fixtures/compliance/harden.sh`).

use garrison_compliance::policy::{check_unique, load_all};
use garrison_compliance::report::{CheckResult, PolicyResult};
use garrison_compliance::{target, Outcome, Policy};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policy_dir() -> PathBuf {
    workspace().join("policies")
}

fn fixture(tree: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("fixtures/out"));
    let p = base.join("compliance").join(tree);
    assert!(
        p.join("etc/os-release").exists(),
        "fixture {} is missing: run `sudo sh fixtures/compliance/make.sh` (needs debootstrap and the Debian mirror)",
        p.display()
    );
    p
}

fn load(name: &str) -> Policy {
    let path = policy_dir().join(name);
    Policy::load(&path, true).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Check key (the stable names of policies/gen/ids.json) → id in a policy's block.
fn id(key: &str, base: u64) -> u64 {
    let text =
        std::fs::read_to_string(policy_dir().join("gen/ids.json")).expect("policies/gen/ids.json");
    let ids: BTreeMap<String, u64> =
        serde_json::from_str(&text).expect("ids.json is a map of key to offset");
    base + ids
        .get(key)
        .unwrap_or_else(|| panic!("no check key {key} in ids.json"))
}
const D12: u64 = 90000;
const D11: u64 = 91000;

fn run_rootfs(tree: &Path, policy: &Policy) -> PolicyResult {
    let opened = target::open_rootfs(tree).unwrap_or_else(|e| panic!("{}: {e}", tree.display()));
    let report = target::run(&opened, &[policy], Duration::from_secs(5));
    report
        .policies
        .into_iter()
        .next()
        .expect("one policy result")
}

fn result(r: &PolicyResult, id: u64) -> &CheckResult {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("check {id} is not in the result of {}", r.id))
}

fn outcome(r: &PolicyResult, key: &str, base: u64) -> Outcome {
    result(r, id(key, base)).result
}

fn is_host_only(policy: &Policy, id: u64) -> bool {
    let c = policy
        .checks
        .iter()
        .find(|c| c.id == id)
        .expect("check in policy");
    c.rules
        .iter()
        .all(|r| r.is_command() || r.text.contains(":/proc/") || r.text.contains(":/sys/"))
}

#[test]
fn every_shipped_policy_validates_and_ids_are_unique() {
    let policies = load_all(&[policy_dir()], &|_| true).unwrap_or_else(|errs| {
        panic!(
            "{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let names: Vec<&str> = policies.iter().map(|p| p.meta.file.as_str()).collect();
    for want in [
        "cis_debian11.yml",
        "cis_debian12.yml",
        "container_image.yml",
    ] {
        assert!(names.contains(&want), "{want} not shipped: {names:?}");
    }
    assert!(check_unique(&policies).is_empty());
    for p in &policies {
        let file = p
            .origin
            .path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default();
        assert_eq!(p.meta.file, file, "policy.file must name its own file");
        assert!(
            p.requirements.is_some(),
            "{file}: every shipped policy states what it applies to"
        );
    }
    let d12 = policies
        .iter()
        .find(|p| p.meta.file == "cis_debian12.yml")
        .map(|p| p.checks.len());
    let d11 = policies
        .iter()
        .find(|p| p.meta.file == "cis_debian11.yml")
        .map(|p| p.checks.len());
    assert!(
        d12 >= Some(100) && d11 >= Some(100),
        "Debian 12: {d12:?} checks, Debian 11: {d11:?}"
    );
}

#[test]
fn every_check_maps_to_every_framework() {
    // Checks kept on purpose without a CIS section of their own.
    let no_cis = ["ssh-protocol", "service-telnet-server"];
    let frameworks = [
        "cis_csc_v8",
        "pci_dss_v4.0",
        "hipaa",
        "soc_2",
        "nist_sp_800-53",
    ];
    for (file, base) in [
        ("cis_debian12.yml", Some(D12)),
        ("cis_debian11.yml", Some(D11)),
        ("container_image.yml", None),
    ] {
        let p = load(file);
        let exempt: Vec<u64> = base
            .map(|b| no_cis.iter().map(|k| id(k, b)).collect())
            .unwrap_or_default();
        for c in &p.checks {
            let place = format!("{file} check {} ({})", c.id, c.title);
            for f in frameworks {
                assert!(
                    c.compliance.get(f).is_some_and(|v| !v.is_empty()),
                    "{place}: no {f} mapping"
                );
            }
            // The container policy names CIS Docker sections where no Debian one fits.
            let docker_only = base.is_none() && c.compliance.contains_key("cis_docker");
            if !exempt.contains(&c.id) && !docker_only {
                let cis = c
                    .compliance
                    .get("cis")
                    .unwrap_or_else(|| panic!("{place}: no cis mapping"));
                assert!(
                    cis.iter()
                        .all(|s| !s.is_empty() && s.split('.').all(|n| n.parse::<u32>().is_ok())),
                    "{place}: CIS sections must be dotted numbers: {cis:?}"
                );
            }
            for id in c.compliance.get("nist_sp_800-53").into_iter().flatten() {
                assert!(
                    id.len() >= 4 && id.as_bytes()[2] == b'-',
                    "{place}: NIST control {id}"
                );
            }
            for id in c.compliance.get("soc_2").into_iter().flatten() {
                assert!(id.starts_with("CC"), "{place}: SOC 2 criterion {id}");
            }
            for id in c.compliance.get("hipaa").into_iter().flatten() {
                assert!(id.starts_with("164."), "{place}: HIPAA section {id}");
            }
            assert!(c.severity.is_some(), "{place}: no severity");
            for (what, v) in [
                ("description", &c.description),
                ("rationale", &c.rationale),
                ("remediation", &c.remediation),
            ] {
                assert!(
                    v.as_deref().is_some_and(|s| s.len() > 5),
                    "{place}: no {what}"
                );
            }
        }
    }
}

#[test]
fn the_container_policy_has_no_command_or_process_rules() {
    let p = load("container_image.yml");
    for c in &p.checks {
        for r in &c.rules {
            assert!(
                !r.is_command() && !r.text.trim_start_matches("not ").starts_with("p:"),
                "container_image.yml check {}: {} would run or need a live host",
                c.id,
                r.text
            );
        }
    }
}

/// On a stock bookworm tree and its hardened copy: what a CIS auditor expects.
#[test]
fn cis_debian12_on_default_and_hardened_trees() {
    let policy = load("cis_debian12.yml");
    let default = run_rootfs(&fixture("default"), &policy);
    let hardened = run_rootfs(&fixture("hardened"), &policy);
    assert!(
        default.applicable && hardened.applicable,
        "requirements: Debian 12"
    );

    use Outcome::{Failed as F, NotApplicable as NA, Passed as P};
    let expected: &[(&str, Outcome, Outcome)] = &[
        // Fails as Debian ships it, passes once hardened.
        ("ssh-permit-root-login", F, P),
        ("ssh-max-auth-tries", F, P),
        ("ssh-x11-forwarding", F, P),
        ("ssh-ciphers", F, P),
        ("login-defs-max-days", F, P),
        ("login-defs-min-days", F, P),
        ("default-umask", F, P),
        ("sysctl-ipv4-all-send-redirects", F, P),
        ("sysctl-ipv4-tcp-syncookies", F, P),
        ("sysctl-randomize_va_space", F, P),
        ("module-cramfs", F, P),
        ("tmp-separate", F, P),
        ("tmp-noexec", F, P),
        ("apt-security-source", F, P),
        ("banner-issue", F, P),
        ("pam-unix-nullok", F, P),
        ("pam-pwquality-installed", F, P),
        ("pwquality-minlen", F, P),
        ("faillock-deny", F, P),
        ("auditd-installed", F, P),
        ("cron-allow", F, P),
        ("shell-timeout", F, P),
        // Not applicable until the software they configure is installed.
        ("audit-identity", NA, P),
        ("auditd-max-log-file-action", NA, P),
        // Right on both.
        ("uid0-only-root", P, P),
        ("shadow-no-empty", P, P),
        ("passwd-shadowed", P, P),
        ("service-avahi", P, P),
        ("service-web-server", P, P),
        ("client-telnet", P, P),
        ("sudo-use-pty", P, P),
        ("pam-unix-hash", P, P),
        ("login-defs-warn-age", P, P),
        ("ssh-use-pam", P, P),
        ("apt-keyring", P, P),
        ("apt-no-trusted-yes", P, P),
        ("system-accounts-nologin", P, P),
        ("rsyslog-installed", P, P),
        ("rsyslog-file-mode", P, P),
        ("home-nodev", P, P),
    ];
    let mut wrong = Vec::new();
    for &(key, want_default, want_hardened) in expected {
        let (d, h) = (outcome(&default, key, D12), outcome(&hardened, key, D12));
        if (d, h) != (want_default, want_hardened) {
            wrong.push(format!(
                "{key}: default {d:?} (want {want_default:?}), hardened {h:?} (want {want_hardened:?})\n  {:?}\n  {:?}",
                result(&default, id(key, D12)).evidence,
                result(&hardened, id(key, D12)).evidence
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Host-only checks (commands, the live /proc and /sys) are not applicable on a tree.
    let mut host_only = 0;
    for c in &policy.checks {
        if is_host_only(&policy, c.id) {
            host_only += 1;
            assert_eq!(
                result(&default, c.id).result,
                Outcome::NotApplicable,
                "check {} on a rootfs",
                c.id
            );
        }
    }
    assert!(host_only >= 30, "{host_only} host-only checks");
    // The hardened tree passes every check a file can decide, but for the
    // ones that need what a root filesystem lacks (GRUB).
    let expected_na = [
        id("apparmor-bootloader", D12),
        id("mta-local-only-exim", D12),
        id("mta-local-only-postfix", D12),
    ];
    let failing: Vec<String> = hardened
        .checks
        .iter()
        .filter(|c| c.result == Outcome::Failed)
        .map(|c| format!("{} {}: {:?}", c.id, c.title, c.evidence))
        .collect();
    assert!(
        failing.is_empty(),
        "hardened tree fails:\n{}",
        failing.join("\n")
    );
    for id in expected_na {
        assert_eq!(
            result(&hardened, id).result,
            Outcome::NotApplicable,
            "check {id}"
        );
    }
    let (d, h) = (
        default.summary.score.unwrap_or(0.0),
        hardened.summary.score.unwrap_or(0.0),
    );
    assert!(
        h == 100.0 && d < 50.0,
        "scores: default {d:.1}, hardened {h:.1}"
    );
}

#[test]
fn cis_policies_apply_to_their_own_release_only() {
    let d12 = load("cis_debian12.yml");
    let d11 = load("cis_debian11.yml");
    let bookworm = fixture("default");
    let bullseye = fixture("bullseye");
    assert!(run_rootfs(&bookworm, &d12).applicable);
    assert!(!run_rootfs(&bookworm, &d11).applicable);
    let on_bullseye = run_rootfs(&bullseye, &d11);
    assert!(on_bullseye.applicable);
    assert!(!run_rootfs(&bullseye, &d12).applicable);
    // Debian 11 as shipped: root may log in with a key only by default, but CIS wants "no".
    assert_eq!(
        outcome(&on_bullseye, "ssh-permit-root-login", D11),
        Outcome::Failed
    );
    assert_eq!(
        outcome(&on_bullseye, "shadow-no-empty", D11),
        Outcome::Passed
    );
    // bullseye's pam_unix hashes with sha512.
    assert_eq!(outcome(&on_bullseye, "pam-unix-hash", D11), Outcome::Passed);
}

/// The tree the `fixtures/sca/wazuh-doc-*.yml` titles were written against.
fn doc_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: &[(&str, &str)] = &[
        ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
             toor:x:0:0:second root:/root:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n",
        ),
        (
            "etc/ssh/sshd_config",
            "# documentation example tree\nPort 22\nProtocol 2\nPasswordAuthentication no\nMaxAuthTries 4\n",
        ),
        ("etc/mysql/my.cnf", "[mysqld]\n"),
        ("home/alice/.mysql_history", "select 1;\n"),
        ("proc/sys/net/ipv4/ip_forward", "0\n"),
    ];
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    for d in ["var", "tmp"] {
        std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
    }
    dir
}

/// Each policy written from the Wazuh SCA documentation gives, check by check,
/// the result its title states (the documented semantics).
#[test]
fn wazuh_documentation_examples_give_their_documented_results() {
    let tree = doc_tree();
    let dir = workspace().join("fixtures/sca");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/sca")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("wazuh-doc-") && n.ends_with(".yml"))
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let mut checked = 0;
    for file in &files {
        // Untrusted, as a policy from elsewhere would be.
        let policy = Policy::load(file, false).unwrap_or_else(|e| panic!("{e}"));
        let r = run_rootfs(tree.path(), &policy);
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == "wazuh-doc-requirements-unmet.yml" {
            assert!(!r.applicable, "{name}: its requirements fail on the tree");
            assert!(
                r.checks.iter().all(|c| c.result == Outcome::NotApplicable) || r.checks.is_empty()
            );
            continue;
        }
        assert!(r.applicable, "{name}: requirements");
        assert_eq!(
            r.checks.len(),
            policy.checks.len(),
            "{name}: every check ran"
        );
        for c in &r.checks {
            let want = if c.title.starts_with("[passed]") {
                Outcome::Passed
            } else if c.title.starts_with("[failed]") {
                Outcome::Failed
            } else if c.title.starts_with("[na]") {
                Outcome::NotApplicable
            } else {
                panic!(
                    "{name} check {}: title must start with [passed], [failed] or [na]",
                    c.id
                )
            };
            assert_eq!(
                c.result, want,
                "{name} check {} {}: {:?}",
                c.id, c.title, c.evidence
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} documented results checked");
}

/// The container policy on the stock and hardened trees, and on the Debian 12
/// image of `fixtures/debian/make.sh` read as an image archive.
#[test]
fn container_policy_on_trees_and_an_image() {
    use Outcome::{Failed as F, Passed as P};
    let policy = load("container_image.yml");
    let default = run_rootfs(&fixture("default"), &policy);
    let hardened = run_rootfs(&fixture("hardened"), &policy);
    let expected: &[(u64, Outcome, Outcome, &str)] = &[
        (93000, P, P, "root is the only UID 0 account"),
        (93004, P, P, "login.defs hashes with SHA512 / YESCRYPT"),
        (93006, F, F, "both trees have openssh-server"),
        (93007, F, P, "PermitRootLogin no only once hardened"),
        (
            93009,
            F,
            F,
            "openssh-server generated host keys into both trees",
        ),
        (
            93015,
            F,
            P,
            "debootstrap leaves package lists; harden.sh removes them",
        ),
        (
            93016,
            F,
            P,
            "debootstrap leaves .deb files; harden.sh removes them",
        ),
        (93018, P, P, "nothing half-installed"),
        (
            93021,
            F,
            P,
            "only the hardened tree has the security archive",
        ),
    ];
    let mut wrong = Vec::new();
    for &(id, d, h, why) in expected {
        let (gd, gh) = (result(&default, id).result, result(&hardened, id).result);
        if (gd, gh) != (d, h) {
            wrong.push(format!(
                "{id} ({why}): default {gd:?}, hardened {gh:?}; {:?}",
                result(&hardened, id).evidence
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("fixtures/out"));
    let archive = base.join("debian/debian-docker.tar");
    assert!(
        archive.exists(),
        "{} is missing: run fixtures/debian/make.sh",
        archive.display()
    );
    let spec = archive.to_str().expect("utf-8 path");
    let opened = target::open_image(spec, &[&policy]).unwrap_or_else(|e| panic!("{spec}: {e}"));
    let report = target::run(&opened, &[&policy], Duration::from_secs(5));
    let image = &report.policies[0];
    assert!(image.applicable);
    // minbase: no SSH server, caches removed by make.sh, accounts clean.
    for id in [93000, 93001, 93006, 93009, 93015, 93016, 93018] {
        assert_eq!(
            result(image, id).result,
            P,
            "image check {id}: {:?}",
            result(image, id).evidence
        );
    }
    // No sshd_config in the image: the SSH settings checks do not apply.
    assert_eq!(result(image, 93007).result, Outcome::NotApplicable);
}
