//! The k8s corpus in fixtures/k8s: every check fires on the risky manifests
//! with file, document and line; the hardened manifest has no finding; bad
//! files are reported by name and document while the run goes on.

use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Catalog, ConfigReport, Context, FileKind, Options, PssLevel, Runner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/k8s")
}

fn run(paths: &[PathBuf], options: Options) -> ConfigReport {
    let catalog = Catalog::builtin().unwrap();
    let ctx = Context {
        catalog,
        options: &options,
    };
    Runner::new(vec![Box::new(K8sAnalyzer)])
        .run(paths, &ctx, |_| {})
        .unwrap()
}

#[test]
fn every_k8s_check_fires_on_the_risky_corpus_with_a_location() {
    let report = run(&[fixtures().join("risky")], Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // At restricted, four baseline checks are replaced by the restricted
    // checks that override them (as upstream does), so look at both levels.
    let baseline = run(
        &[fixtures().join("risky")],
        Options {
            pss: PssLevel::Baseline,
            ..Options::default()
        },
    );
    let fired: BTreeSet<&str> = report
        .findings
        .iter()
        .chain(&baseline.findings)
        .map(|f| f.check_id.as_str())
        .collect();
    let catalog = Catalog::builtin().unwrap();
    let missing: Vec<&str> = catalog
        .of_kind(FileKind::K8s)
        .map(|c| c.id.as_str())
        .filter(|id| !fired.contains(id))
        .collect();
    assert!(missing.is_empty(), "checks that never fired: {missing:?}");
    for f in report.findings.iter().chain(&baseline.findings) {
        assert!(f.file.contains("fixtures/k8s/risky/"), "{f:?}");
        assert!(
            f.line.is_some_and(|l| l > 0) && f.document.is_some(),
            "{f:?}"
        );
    }
    // Spot checks of exact positions.
    let at = |id: &str, file: &str| -> Vec<(usize, u32)> {
        report
            .findings
            .iter()
            .filter(|f| f.check_id == id && f.file.ends_with(file))
            .map(|f| (f.document.unwrap(), f.line.unwrap()))
            .collect()
    };
    assert_eq!(
        at("GAR-K8S-002", "pss-baseline.yaml"),
        vec![(2, 29)],
        "privileged: true in the Deployment"
    );
    assert!(
        at("GAR-K8S-001", "pss-baseline.yaml").contains(&(1, 8)),
        "hostNetwork of the first Pod"
    );
    assert_eq!(
        at("GAR-K8S-002", "list.json"),
        vec![(1, 14)],
        "ephemeral container inside a JSON List"
    );
    assert!(at("GAR-K8S-021", "rbac.yaml").iter().all(|(d, _)| *d == 3));
    assert_eq!(
        at("GAR-K8S-021", "rbac.yaml").len(),
        1,
        "system:masters is a system account"
    );
    assert_eq!(at("GAR-K8S-029", "rbac.yaml").len(), 2);
    assert_eq!(
        at("GAR-K8S-035", "hygiene.yaml").len(),
        2,
        "LOG_LEVEL is not a secret"
    );
    // The CRD and the custom kind are noted, not errors.
    let notes: Vec<&str> = report.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        notes.iter().any(|n| n.contains("CustomResourceDefinition")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("kind Widget")), "{notes:?}");
}

#[test]
fn the_hardened_manifest_has_no_finding() {
    let report = run(&[fixtures().join("hardened")], Options::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.files.len(), 1);
}

#[test]
fn baseline_level_and_older_versions_report_less() {
    let restricted = run(
        &[fixtures().join("risky/pss-restricted.yaml")],
        Options::default(),
    );
    let baseline = run(
        &[fixtures().join("risky/pss-restricted.yaml")],
        Options {
            pss: PssLevel::Baseline,
            ..Options::default()
        },
    );
    let pss = |r: &ConfigReport| r.findings.iter().filter(|f| f.check.pss.is_some()).count();
    assert!(pss(&restricted) >= 5);
    assert_eq!(pss(&baseline), 0, "{:#?}", baseline.findings);
    // procMount_restricted exists only from 1.35.
    let v134 = run(
        &[fixtures().join("risky/pss-restricted.yaml")],
        Options {
            k8s_version: "1.34".parse().unwrap(),
            ..Options::default()
        },
    );
    let has = |r: &ConfigReport, id: &str| r.findings.iter().any(|f| f.check_id == id);
    assert!(has(&restricted, "GAR-K8S-019"));
    assert!(!has(&v134, "GAR-K8S-019"));
}

#[test]
fn bad_files_are_reported_by_file_and_document_and_the_run_goes_on() {
    let report = run(
        &[fixtures().join("bad"), fixtures().join("hardened")],
        Options::default(),
    );
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("alias-bomb.yaml: document 1") && e.contains("alias")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("invalid.yaml: document 2") && e.contains("invalid YAML")),
        "{errors:?}"
    );
    // The first document of invalid.yaml was still checked.
    assert!(report
        .findings
        .iter()
        .any(|f| f.file.ends_with("invalid.yaml") && f.check_id == "GAR-K8S-001"));
    // And the hardened file after them still passed.
    assert!(!report.findings.iter().any(|f| f.file.contains("hardened")));
}

#[test]
fn token_automount_follows_the_service_account_among_the_files() {
    let text = std::fs::read_to_string(fixtures().join("hardened/app.yaml")).unwrap();
    let job = text.split("\n---\n").last().unwrap();
    assert!(job.contains("kind: Job"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.yaml"), job).unwrap();
    // Without its ServiceAccount, the Job's pods get a token.
    let alone = run(&[dir.path().join("job.yaml")], Options::default());
    assert!(
        alone.findings.iter().any(|f| f.check_id == "GAR-K8S-034"),
        "{:#?}",
        alone.findings
    );
    // With the ServiceAccount (automountServiceAccountToken: false) they do not.
    let sa = text
        .split("\n---\n")
        .find(|d| d.contains("kind: ServiceAccount"))
        .unwrap();
    std::fs::write(dir.path().join("sa.yaml"), sa).unwrap();
    let both = run(&[dir.path().to_path_buf()], Options::default());
    assert!(
        !both.findings.iter().any(|f| f.check_id == "GAR-K8S-034"),
        "{:#?}",
        both.findings
    );
}
