//! Runs every check on the corpus in `fixtures/iac/`: each risky file is flagged with
//! the expected check IDs and lines (`fixtures/iac/expected.tsv`, the complete list:
//! nothing more, nothing less), hardened files produce no finding, and broken files give
//! a clear error naming the file instead of a panic.

use garrison_iac::ids;
use garrison_misconfig::{Catalog, ConfigReport, Context, FileKind, Options, Runner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> PathBuf {
    root().join("fixtures/iac")
}

fn run(paths: &[PathBuf]) -> ConfigReport {
    let catalog = match Catalog::builtin() {
        Ok(c) => c,
        Err(e) => panic!("the built-in check catalog does not load: {e}"),
    };
    let options = Options::default();
    let ctx = Context {
        catalog,
        options: &options,
    };
    let runner = Runner::new(garrison_iac::analyzers());
    match runner.run(paths, &ctx, |_| {}) {
        Ok(r) => r,
        Err(e) => panic!("run failed: {e}"),
    }
}

fn rel(file: &str) -> String {
    let base = corpus().display().to_string();
    file.strip_prefix(&base)
        .unwrap_or(file)
        .trim_start_matches('/')
        .to_string()
}

fn good_dirs() -> Vec<PathBuf> {
    ["dockerfile", "terraform", "cloudformation", "serverless"]
        .iter()
        .map(|d| corpus().join(d))
        .collect()
}

fn expected() -> BTreeSet<(String, String, u32)> {
    let path = corpus().join("expected.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                f.len(),
                3,
                "expected.tsv line {l:?} is not file<TAB>check<TAB>line"
            );
            let line = f[2]
                .parse()
                .unwrap_or_else(|_| panic!("bad line number in {l:?}"));
            (f[0].to_string(), f[1].to_string(), line)
        })
        .collect()
}

#[test]
fn corpus_findings_are_exactly_the_expected_ones() {
    let report = run(&good_dirs());
    assert!(
        report.errors.is_empty(),
        "errors on the good corpus: {:#?}",
        report.errors
    );
    let got: BTreeSet<(String, String, u32)> = report
        .findings
        .iter()
        .map(|f| (rel(&f.file), f.check_id.clone(), f.line.unwrap_or(0)))
        .collect();
    let want = expected();
    let tsv = |v: Vec<&(String, String, u32)>| {
        v.iter()
            .map(|(f, c, l)| format!("{f}\t{c}\t{l}\n"))
            .collect::<String>()
    };
    let missing = tsv(want.difference(&got).collect());
    let extra = tsv(got.difference(&want).collect());
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing findings:\n{missing}unexpected findings:\n{extra}"
    );
    // Every finding carries file, document and line, and the check's metadata.
    for f in &report.findings {
        assert!(
            f.document.is_some() && f.line.is_some_and(|l| l > 0),
            "{f:?}"
        );
        assert!(!f.check.remediation.is_empty());
        assert!(f.resource.is_some(), "finding without a resource: {f:?}");
    }
    // Each kind was detected from the file itself.
    let kinds: BTreeSet<FileKind> = report.files.iter().map(|f| f.kind).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

#[test]
fn hardened_files_have_no_finding() {
    let files: Vec<PathBuf> = [
        "dockerfile/hardened.dockerfile",
        "terraform/hardened.tf",
        "cloudformation/hardened.yaml",
        "serverless/hardened/serverless.yml",
    ]
    .iter()
    .map(|f| corpus().join(f))
    .collect();
    let report = run(&files);
    assert_eq!(report.files.len(), 4);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        report.findings.is_empty(),
        "{:#?}",
        report
            .findings
            .iter()
            .map(|f| (&f.file, &f.check_id, f.line, &f.message))
            .collect::<Vec<_>>()
    );
}

#[test]
fn every_check_has_metadata_and_a_risky_fixture() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let want = expected();
    let flagged: BTreeSet<&str> = want.iter().map(|(_, c, _)| c.as_str()).collect();
    for kind in [
        FileKind::Dockerfile,
        FileKind::Terraform,
        FileKind::CloudFormation,
        FileKind::Serverless,
    ] {
        let checks: Vec<_> = catalog.of_kind(kind).collect();
        assert!(!checks.is_empty(), "no {kind} checks in the catalog");
        for c in checks {
            assert!(
                flagged.contains(c.id.as_str()),
                "{} has no risky fixture in fixtures/iac/expected.tsv",
                c.id
            );
        }
    }
    for id in ids::ALL {
        assert!(
            catalog.get(id).is_some(),
            "{id} is implemented but has no checks/ metadata"
        );
    }
}

#[test]
fn bad_input_gives_an_error_naming_the_file() {
    let bad = corpus().join("bad");
    let report = run(std::slice::from_ref(&bad));
    let errs: Vec<(String, Option<u32>, String)> = report
        .errors
        .iter()
        .map(|e| (rel(&e.file), e.line, e.to_string()))
        .collect();
    let find = |name: &str| {
        errs.iter()
            .find(|(f, _, _)| f == name)
            .unwrap_or_else(|| panic!("no error for {name}: {errs:#?}"))
    };
    let (_, line, msg) = find("bad/broken.tf");
    assert_eq!(*line, Some(2), "{msg}");
    assert!(
        msg.contains("bad/broken.tf") && msg.contains("invalid HCL"),
        "{msg}"
    );
    let (_, line, msg) = find("bad/broken.dockerfile");
    assert_eq!(*line, Some(2), "{msg}");
    assert!(msg.contains("unterminated heredoc"), "{msg}");
    let (_, _, msg) = find("bad/not.dockerfile");
    assert!(
        msg.contains("not an instruction") || msg.contains("no FROM"),
        "{msg}"
    );
    let (_, line, msg) = find("bad/broken-cfn.yaml");
    assert!(line.is_some() && msg.contains("invalid YAML"), "{msg}");
    let (_, _, msg) = find("bad/alias-bomb-cfn.yaml");
    assert!(msg.contains("alias"), "{msg}");
    let (_, _, msg) = find("bad/sls/serverless.yml");
    assert!(msg.contains("serverless.yml"), "{msg}");
    assert!(report.findings.is_empty());
}

/// Every corpus file cut short at many places (mid-token, mid-heredoc, mid-string) is
/// either checked or reported as an error naming the file: the analyzers never panic.
#[test]
fn truncated_inputs_never_panic() {
    use garrison_misconfig::SourceFile;
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let options = Options::default();
    let ctx = Context {
        catalog,
        options: &options,
    };
    let analyzers = garrison_iac::analyzers();
    let mut files = Vec::new();
    for d in good_dirs().into_iter().chain([corpus().join("bad")]) {
        let mut stack = vec![d];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())) {
                let path = e.unwrap_or_else(|e| panic!("{e}")).path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
    }
    let mut checked = 0;
    for path in files {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(kind) = garrison_misconfig::detect(&path, &text) else {
            continue;
        };
        let Some(analyzer) = analyzers.iter().find(|a| a.kind() == kind) else {
            continue;
        };
        let cuts: Vec<usize> = (0..text.len())
            .step_by(5)
            .filter(|c| text.is_char_boundary(*c))
            .collect();
        for cut in cuts {
            let file = SourceFile {
                name: format!("{}@{cut}", path.display()),
                path: path.clone(),
                text: text[..cut].to_string(),
                kind,
            };
            match analyzer.analyze(&file, &ctx) {
                Ok(r) => {
                    for e in &r.errors {
                        assert!(e.file == file.name, "error not naming the file: {e}");
                    }
                }
                Err(e) => assert!(
                    e.to_string().contains(&file.name),
                    "error not naming the file: {e}"
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} truncated inputs were tried");
}
