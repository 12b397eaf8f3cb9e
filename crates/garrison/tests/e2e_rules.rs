//! `garrison rules validate|test` through the binary: the default ruleset passes,
//! a broken one fails with exit 1 naming file, line and rule, a bad path is usage (2).

use std::path::Path;
use std::process::Command;

fn garrison(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_garrison"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn rules_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules")
        .display()
        .to_string()
}

#[test]
fn default_ruleset_validates_and_passes_its_fixtures() {
    let (code, text) = garrison(&["rules", "validate", &rules_dir()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(" rules, 0 problems"), "{text}");
    let (code, text) = garrison(&["rules", "test", &rules_dir()]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("0 failures, 0 rules without a positive case"),
        "{text}"
    );
}

#[test]
fn broken_rules_fail_with_the_place_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "- rule: Bad\n  desc: d\n  condition: evt.type = execve and proc.nmae = x\n  output: o\n  priority: WARNING\n  tags: [T1059]\n",
    )
    .unwrap();
    let (code, text) = garrison(&["rules", "validate", &dir.path().display().to_string()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("a.yaml:1: rule \"Bad\"") && text.contains("proc.nmae"),
        "{text}"
    );
    std::fs::write(
        dir.path().join("a.yaml"),
        "- macro: unused\n  condition: proc.name = x\n- rule: Untagged\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: WARNING\n",
    )
    .unwrap();
    let (code, text) = garrison(&["rules", "validate", &dir.path().display().to_string()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("macro \"unused\" is not used") && text.contains("no ATT&CK technique tag"),
        "{text}"
    );
    let (code, text) = garrison(&["rules", "validate", "/nonexistent/rules"]);
    assert_eq!(code, 2, "{text}");
}
