//! `garrison check config`: detect the kind of each file under the given paths,
//! run the analyzers, apply the severity gate and the ignore file, render.
//! And `garrison check lint-checks`: validate a folder of check data files.
//!
//! Exit codes: 0 = every file was checked and nothing passed the gate;
//! `--exit-code` (1 unless set) = findings passed the gate, or a file or
//! document could not be checked (invalid YAML, too large, alias bomb) — an
//! unchecked manifest is not a passing one; 2 = bad usage; 3 = a PATH could
//! not be read at all, or no file under the paths could even be read.

use crate::cli::Global;
use crate::UsageError;
use anyhow::Context as _;
use clap::{Args, ValueEnum};
use garrison_gate::{Gate, IgnoreFile, Subject, DEFAULT_IGNORE_FILE};
use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Analyzer, Catalog, Context, FileKind, Options, Runner, Suppressed};
use garrison_report::config::{render_config, ConfigFormat};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub const EXIT_HELP: &str = "\
Exit codes:
  0  every file was checked and no finding passed the gate
  1  findings passed the gate, or a file or document could not be checked
     (invalid YAML, too large, alias bomb); --exit-code N changes 1 to N
  2  bad usage
  3  a PATH could not be read, or no file under the paths could be read";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormatArg {
    /// A table for people (the default).
    Table,
    /// Garrison's stable JSON (docs/check-config.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// One self-contained HTML page.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    K8s,
    Dockerfile,
    Terraform,
    Cloudformation,
    Serverless,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PssArg {
    Baseline,
    Restricted,
}

/// `garrison check config PATH...`
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Files or directories (walked recursively; hidden entries skipped).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Check every file as this kind instead of detecting it.
    #[arg(long = "type", value_enum, value_name = "KIND")]
    pub kind: Option<TypeArg>,
    /// Pod Security Standards level for Kubernetes manifests.
    #[arg(long, value_enum, default_value_t = PssArg::Restricted)]
    pub pss: PssArg,
    /// Kubernetes version whose Pod Security Standards apply (1.0 to 1.37; newer
    /// versions judge as 1.37).
    #[arg(long, value_name = "1.N", default_value = "latest")]
    pub k8s_version: String,
    /// Report only these severities (comma-separated: CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN"
    )]
    pub severity: String,
    /// Exit code when a finding passes the gate or a file cannot be checked (0 never fails).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// The ignore file (entries by check id and/or path glob, each with a reason
    /// and an optional expiry). Default: ./.garrisonignore when it exists.
    #[arg(long, value_name = "FILE")]
    pub ignorefile: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ConfigFormatArg::Table)]
    pub format: ConfigFormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Largest file checked, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_file_size: usize,
}

/// Every analyzer this build has.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    let mut all: Vec<Box<dyn Analyzer>> = vec![Box::new(K8sAnalyzer)];
    all.extend(garrison_iac::analyzers());
    all
}

pub fn run(global: &Global, args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let gate = Gate {
        severities: Gate::parse_severities(&args.severity)
            .map_err(|e| UsageError(e.to_string()))?,
        exit_code: args.exit_code,
        ignore_unfixed: false,
    };
    let k8s_version = args
        .k8s_version
        .parse()
        .map_err(|e: String| UsageError(format!("--k8s-version: {e}")))?;
    let ignore = match &args.ignorefile {
        Some(path) => IgnoreFile::load(path)?,
        None if Path::new(DEFAULT_IGNORE_FILE).is_file() => {
            IgnoreFile::load(Path::new(DEFAULT_IGNORE_FILE))?
        }
        None => IgnoreFile::default(),
    };
    let catalog = Catalog::builtin().context("the built-in check catalog is invalid")?;
    let options = Options {
        pss: match args.pss {
            PssArg::Baseline => garrison_misconfig::PssLevel::Baseline,
            PssArg::Restricted => garrison_misconfig::PssLevel::Restricted,
        },
        k8s_version,
        limits: garrison_misconfig::yaml::Limits {
            max_bytes: args.max_file_size,
            ..Default::default()
        },
    };
    let mut runner = Runner::new(analyzers());
    runner.force_kind = args.kind.map(|k| match k {
        TypeArg::K8s => FileKind::K8s,
        TypeArg::Dockerfile => FileKind::Dockerfile,
        TypeArg::Terraform => FileKind::Terraform,
        TypeArg::Cloudformation => FileKind::CloudFormation,
        TypeArg::Serverless => FileKind::Serverless,
    });
    let ctx = Context {
        catalog,
        options: &options,
    };
    let bar = (!global.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(
            ProgressStyle::with_template("{spinner} checking {pos} files {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let result = runner.run(&args.paths, &ctx, |p| {
        if let Some(bar) = &bar {
            bar.inc(1);
            bar.set_message(p.display().to_string());
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut report = result?;

    // The gate: severities first, then the ignore file marks what a team accepted.
    let today = garrison_gate::today();
    report.warnings.extend(ignore.expired(today));
    report.findings.retain(|f| gate.shows(f.severity));
    let (kept, suppressed): (Vec<_>, Vec<_>) = std::mem::take(&mut report.findings)
        .into_iter()
        .partition(|f| {
            let ids = [f.check_id.as_str()];
            let subject = Subject {
                ids: &ids,
                purl: None,
                path: Some(&f.file),
            };
            ignore.matching(&subject, today).is_none()
        });
    report.findings = kept;
    report.suppressed = suppressed
        .into_iter()
        .map(|f| {
            let ids = [f.check_id.as_str()];
            let subject = Subject {
                ids: &ids,
                purl: None,
                path: Some(&f.file),
            };
            let reason = ignore
                .matching(&subject, today)
                .map(|e| e.reason.clone())
                .unwrap_or_default();
            Suppressed { finding: f, reason }
        })
        .collect();

    let format = match args.format {
        ConfigFormatArg::Table => ConfigFormat::Table,
        ConfigFormatArg::Json => ConfigFormat::Json,
        ConfigFormatArg::Sarif => ConfigFormat::Sarif,
        ConfigFormatArg::Junit => ConfigFormat::Junit,
        ConfigFormatArg::Html => ConfigFormat::Html,
    };
    let opts = crate::sbom::render_options(args.output.as_deref());
    crate::sbom::write_report(args.output.as_deref(), |out| {
        render_config(&report, format, &opts, out)
    })?;
    if !global.quiet && (format != ConfigFormat::Table || args.output.is_some()) {
        eprintln!(
            "garrison: {} misconfigurations reported ({} suppressed) in {} files, {} not checked, {:.2} s",
            report.findings.len(),
            report.suppressed.len(),
            report.files.len(),
            report.errors.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if format != ConfigFormat::Table || args.output.is_some() {
        for e in &report.errors {
            tracing::warn!("{e}");
        }
    }
    if report.files.is_empty() && !report.errors.is_empty() {
        anyhow::bail!(
            "no file under {} could be checked ({} errors above)",
            report.paths.join(", "),
            report.errors.len()
        );
    }
    let failing = report.findings.len() + report.errors.len();
    Ok(ExitCode::from(gate.exit_code_for(failing)))
}

/// `garrison check lint-checks DIR`: every check file valid, IDs unique.
pub fn lint(global: &Global, dir: &Path) -> anyhow::Result<ExitCode> {
    let (catalog, errors) = Catalog::from_dir(dir)
        .with_context(|| format!("cannot read the check folder {}", dir.display()))?;
    for e in &errors {
        eprintln!("{e}");
    }
    if !global.quiet {
        eprintln!(
            "garrison: {} checks valid, {} problems in {}",
            catalog.len(),
            errors.len(),
            dir.display()
        );
    }
    Ok(ExitCode::from(if errors.is_empty() {
        garrison_gate::exit::OK
    } else {
        garrison_gate::exit::FINDINGS
    }))
}
