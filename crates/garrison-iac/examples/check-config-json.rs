//! Runs the Kubernetes and IaC analyzers over paths and writes the report as JSON — the
//! same runner and report `garrison check config --format json` uses, without the CLI's
//! gate and presenters. For bench/check-config.sh when the garrison binary is not built.
//!
//! Usage: cargo run --release -p garrison-iac --example check-config-json -- [--pss baseline] OUT.json PATH...

use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Analyzer, Catalog, Context, Options, Runner};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut options = Options::default();
    if args.peek().map(String::as_str) == Some("--pss") {
        args.next();
        match args.next().map(|l| l.parse()) {
            Some(Ok(level)) => options.pss = level,
            Some(Err(e)) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            None => {
                eprintln!("--pss needs baseline or restricted");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = args.next() else {
        eprintln!("usage: check-config-json OUT.json PATH...");
        return ExitCode::from(2);
    };
    let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let catalog = match Catalog::builtin() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("check catalog: {e}");
            return ExitCode::from(3);
        }
    };
    let ctx = Context {
        catalog,
        options: &options,
    };
    let mut analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(K8sAnalyzer)];
    analyzers.extend(garrison_iac::analyzers());
    let report = match Runner::new(analyzers).run(&paths, &ctx, |_| {}) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    let written = serde_json::to_vec(&report)
        .map_err(|e| e.to_string())
        .and_then(|j| std::fs::write(&out, j).map_err(|e| format!("{out}: {e}")));
    match written {
        Ok(()) => {
            eprintln!(
                "{} files, {} findings, {} errors",
                report.files.len(),
                report.findings.len(),
                report.errors.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write the report: {e}");
            ExitCode::from(3)
        }
    }
}
