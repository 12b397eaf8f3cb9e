//! Every upstream pod-security-admission fixture (shared/data/pss-testdata),
//! judged at its own level and version, as upstream judges it: every pass
//! file allowed, every fail file rejected, and among the checks reported the
//! one the file is named after (or the restricted check that overrides it at
//! that version). A fail file may break other checks too (a Windows
//! HostProcess pod needs hostNetwork; a privileged container cannot set
//! allowPrivilegeEscalation=false), as it does upstream.

use garrison_misconfig::k8s::{objects, pss};
use garrison_misconfig::yaml::{load, Limits};
use garrison_misconfig::{K8sVersion, PssLevel};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn shared_data() -> PathBuf {
    std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Upstream check IDs that replace `id` at the restricted level and `minor`.
fn overriders(id: &str, level: PssLevel, minor: u32) -> Vec<&'static str> {
    if level != PssLevel::Restricted {
        return vec![];
    }
    match id {
        "hostpathvolumes" => vec!["restrictedVolumes"],
        "capabilities_baseline" if minor >= 22 => vec!["capabilities_restricted"],
        "seccompprofile_baseline" if minor >= 19 => vec!["seccompProfile_restricted"],
        "procmount" if minor >= 35 => vec!["procMount_restricted"],
        _ => vec![],
    }
}

fn judge(path: &Path, level: PssLevel, minor: u32) -> Vec<pss::Violation> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let loaded = load(&path.display().to_string(), &text, &Limits::default());
    assert!(
        loaded.error.is_none(),
        "{}: {:?}",
        path.display(),
        loaded.error
    );
    assert_eq!(loaded.documents.len(), 1, "{}", path.display());
    let mut notes = Vec::new();
    let objs = objects(&loaded.documents[0], &mut notes);
    assert_eq!(objs.len(), 1, "{}: {notes:?}", path.display());
    let pod = objs[0]
        .pod()
        .unwrap_or_else(|| panic!("{}: no pod spec", path.display()));
    pss::evaluate(&pod, level, K8sVersion { minor })
}

#[test]
fn every_upstream_fixture_is_judged_as_upstream_judges_it() {
    let root = shared_data().join("pss-testdata");
    assert!(
        root.join("README.md").is_file(),
        "{} missing (shared data; set GARRISON_SHARED_DATA)",
        root.display()
    );
    let ids: BTreeSet<String> = pss::check_ids().map(|c| c.to_ascii_lowercase()).collect();
    let (mut passes, mut fails, mut versions) = (0, 0, 0);
    let mut problems = Vec::new();
    for (level_name, level) in [
        ("baseline", PssLevel::Baseline),
        ("restricted", PssLevel::Restricted),
    ] {
        for minor in 0..=37u32 {
            let dir = root.join(level_name).join(format!("v1.{minor}"));
            assert!(dir.is_dir(), "{} missing", dir.display());
            versions += 1;
            for outcome in ["pass", "fail"] {
                let sub = dir.join(outcome);
                let mut files: Vec<PathBuf> = std::fs::read_dir(&sub)
                    .unwrap_or_else(|e| panic!("{}: {e}", sub.display()))
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                    .collect();
                files.sort();
                for f in files {
                    let got = judge(&f, level, minor);
                    let stem = f.file_stem().unwrap().to_string_lossy().to_string();
                    if outcome == "pass" {
                        passes += 1;
                        if !got.is_empty() {
                            problems.push(format!(
                                "{}: upstream allows it, we report {got:?}",
                                f.display()
                            ));
                        }
                        continue;
                    }
                    fails += 1;
                    let named = stem
                        .trim_end_matches(|c: char| c.is_ascii_digit())
                        .to_string();
                    assert!(
                        ids.contains(&named),
                        "{}: names unknown check {named}",
                        f.display()
                    );
                    let mut accepted: Vec<String> = vec![named.clone()];
                    accepted.extend(
                        overriders(&named, level, minor)
                            .iter()
                            .map(|s| s.to_ascii_lowercase()),
                    );
                    let reported: BTreeSet<String> =
                        got.iter().map(|v| v.check.to_ascii_lowercase()).collect();
                    if got.is_empty() {
                        problems.push(format!("{}: upstream rejects it, we allow it", f.display()));
                    } else if !accepted.iter().any(|a| reported.contains(a)) {
                        problems.push(format!(
                            "{}: expected {accepted:?}, we report {reported:?}",
                            f.display()
                        ));
                    }
                    // Every violation points at a real line of the file.
                    assert!(got.iter().all(|v| v.pos.line >= 1), "{}", f.display());
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(versions, 76);
    assert!(
        passes > 500 && fails > 2000,
        "passes {passes}, fails {fails}"
    );
    eprintln!(
        "judged {passes} pass and {fails} fail fixtures over {versions} level/version folders"
    );
}
