//! `garrison rules`: validate a rules directory and run its fixtures.

use clap::Subcommand;
use garrison_gate::exit;
use garrison_rules::testing;
use std::path::PathBuf;
use std::process::ExitCode;

/// `garrison rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load every rules file below DIR strictly: YAML and condition syntax, unknown
    /// fields, type mismatches, unused macros and lists, rules without an ATT&CK
    /// technique tag, rules that can never fire. Exit 1 when anything is wrong.
    Validate {
        /// The rules directory (the default ruleset is `rules/`).
        dir: PathBuf,
    },
    /// Run the fixtures in DIR/tests (events in, expected alerts out) against the
    /// rules in DIR. Exit 1 on any mismatch or on a rule no fixture makes fire.
    Test {
        /// The rules directory.
        dir: PathBuf,
    },
}

/// Runs a `rules` subcommand.
pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Validate { dir } => {
            if !dir.is_dir() {
                return Err(
                    crate::UsageError(format!("{}: not a directory", dir.display())).into(),
                );
            }
            let v = testing::validate(&dir);
            for e in &v.errors {
                println!("error: {e}");
            }
            println!(
                "{}: {} files, {} rules, {} problems",
                dir.display(),
                v.files,
                v.rules,
                v.errors.len()
            );
            Ok(ExitCode::from(if v.errors.is_empty() {
                exit::OK
            } else {
                exit::FINDINGS
            }))
        }
        RulesCommand::Test { dir } => {
            if !dir.is_dir() {
                return Err(
                    crate::UsageError(format!("{}: not a directory", dir.display())).into(),
                );
            }
            let run = testing::run_tests(&dir).map_err(anyhow::Error::msg)?;
            for f in &run.failures {
                println!("FAIL {}: {}", f.at, f.message);
            }
            for r in &run.uncovered {
                println!("UNCOVERED rule {r:?}: no fixture expects it to fire");
            }
            println!(
                "{} fixture files, {} cases ({} expecting no alert), {} failures, {} rules without a positive case",
                run.files,
                run.cases,
                run.negatives,
                run.failures.len(),
                run.uncovered.len()
            );
            let ok = run.failures.is_empty() && run.uncovered.is_empty();
            Ok(ExitCode::from(if ok { exit::OK } else { exit::FINDINGS }))
        }
    }
}
