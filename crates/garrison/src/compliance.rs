//! `garrison check host|rootfs|image` and `garrison policy validate`: SCA
//! policies (Wazuh format) run against the host, a root filesystem or an image.

use crate::cli::{CheckCommand, Global, PolicyCommand};
use crate::UsageError;
use anyhow::Context;
use clap::{Args, ValueEnum};
use garrison_compliance::engine::Scope;
use garrison_compliance::policy::{check_unique, load_all_opts, policy_files, LoadOptions};
use garrison_compliance::report::Outcome;
use garrison_compliance::target::{self, Opened};
use garrison_compliance::RegexType;
use garrison_compliance::{builtin, framework, ComplianceReport, Policy};
use garrison_gate::{Gate, IgnoreFile, Subject, DEFAULT_IGNORE_FILE};
use garrison_model::Suppression;
use garrison_report::compliance::{render_compliance, ComplianceFormat};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormatArg {
    /// Scores per policy and framework, then failed checks with evidence and remediation.
    Table,
    /// The whole report as JSON (every check, its evidence, scores).
    Json,
    /// JUnit XML: a suite per policy, a test case per check.
    Junit,
    /// A self-contained audit report, ready to print or save as PDF.
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegexArg {
    /// Wazuh's OS_Regex.
    Osregex,
    /// PCRE2 (bounded backtracking).
    Pcre2,
}

impl RegexArg {
    pub fn dialect(self) -> RegexType {
        match self {
            RegexArg::Osregex => RegexType::OsRegex,
            RegexArg::Pcre2 => RegexType::Pcre2,
        }
    }
}

/// Options every `garrison check` target shares.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A policy file or a directory of `*.yml` policies (Wazuh SCA format);
    /// repeatable. Default: the built-in policies whose requirements the
    /// target meets (CIS Debian 12 on Debian 12, ...).
    #[arg(long, value_name = "DIR|FILE")]
    pub policy: Vec<PathBuf>,
    /// Allow the `c:` command rules of policy files at or below PATH to run
    /// (host checks only); repeatable. Built-in policies are always trusted;
    /// other policies' command rules are reported not applicable.
    #[arg(long, value_name = "PATH")]
    pub trust_policy: Vec<PathBuf>,
    /// Keep only the checks mapped to this framework, and its score.
    #[arg(long, value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(framework::SELECTABLE))]
    pub framework: Option<String>,
    /// Fail (exit 1, or --exit-code) when a policy's score — or, with
    /// --framework, the framework's score — is below SCORE (0-100). Without
    /// it, any failed check fails the run.
    #[arg(long, value_name = "SCORE")]
    pub fail_under: Option<f64>,
    /// Keep only checks of these severities (comma-separated:
    /// CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN); scores are computed over them.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN"
    )]
    pub severity: String,
    /// Exit code when the gate fails (0 never fails the run).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// Seconds a `c:` command may run before it is killed with its process group.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub command_timeout: u64,
    /// The ignore file: `id: POLICY:CHECK` (or the check id) entries accept a
    /// failed check. Default: ./.garrisonignore when it exists.
    #[arg(long, value_name = "FILE")]
    pub ignorefile: Option<PathBuf>,
    /// Regex dialect of policies that do not set `regex_type`: osregex (Wazuh 4
    /// and its documentation) or pcre2 (what Wazuh 5's bundled policies assume).
    #[arg(long, value_enum, value_name = "DIALECT", default_value_t = RegexArg::Osregex)]
    pub regex_type: RegexArg,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = CheckFormatArg::Table)]
    pub format: CheckFormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What `garrison check` was pointed at.
enum Place {
    Host,
    Rootfs(PathBuf),
    Image(String),
}

pub fn run_check(global: &Global, cmd: CheckCommand) -> anyhow::Result<ExitCode> {
    let (args, place) = match cmd {
        CheckCommand::Host { args } => (args, Place::Host),
        CheckCommand::Rootfs { path, args } => (args, Place::Rootfs(path)),
        CheckCommand::Image { archive, args } => (args, Place::Image(archive)),
        CheckCommand::Config(_) | CheckCommand::LintChecks { .. } => {
            return Err(UsageError(
                "`check config` and `check lint-checks` are not compliance checks".into(),
            )
            .into())
        }
    };
    let scope = match place {
        Place::Host => Scope::Host,
        Place::Rootfs(_) => Scope::Rootfs,
        Place::Image(_) => Scope::Image,
    };
    if let Some(s) = args.fail_under {
        if !(0.0..=100.0).contains(&s) {
            return Err(UsageError(format!("--fail-under {s}: give a score from 0 to 100")).into());
        }
    }
    let severities =
        Gate::parse_severities(&args.severity).map_err(|e| UsageError(e.to_string()))?;
    let ignore = match &args.ignorefile {
        Some(path) => IgnoreFile::load(path)?,
        None if Path::new(DEFAULT_IGNORE_FILE).is_file() => {
            IgnoreFile::load(Path::new(DEFAULT_IGNORE_FILE))?
        }
        None => IgnoreFile::default(),
    };

    let defaults = args.policy.is_empty();
    let policies = if defaults {
        builtin::for_scope(scope).context("the built-in policies are broken")?
    } else {
        let trusted_roots: Vec<PathBuf> = args
            .trust_policy
            .iter()
            .map(|p| {
                std::fs::canonicalize(p)
                    .map_err(|e| UsageError(format!("--trust-policy {}: {e}", p.display())))
            })
            .collect::<Result<_, _>>()?;
        let trusted = |f: &Path| {
            std::fs::canonicalize(f).is_ok_and(|c| trusted_roots.iter().any(|r| c.starts_with(r)))
        };
        // Lenient: unknown keys are warnings here (Wazuh ignores them); `policy validate` is strict.
        let opts = LoadOptions {
            strict: false,
            default_regex: args.regex_type.dialect(),
        };
        load_all_opts(&args.policy, &trusted, opts).map_err(|errors| {
            anyhow::anyhow!(
                "{} policy problem(s); run `garrison policy validate` for details:\n  {}",
                errors.len(),
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )
        })?
    };
    let refs: Vec<&Policy> = policies.iter().collect();
    let opened: Opened = match &place {
        Place::Host => target::open_host()?,
        Place::Rootfs(path) => target::open_rootfs(path)?,
        Place::Image(archive) => target::open_image_with(archive, &refs, &mut |source, fs| {
            let mut progress = crate::progress::Progress::new(fs, global.quiet, "reading image");
            let result = source.walk(&mut progress, &garrison_compliance::fs::MemFs::limits());
            progress.finish();
            result
        })?,
    };
    let mut report: ComplianceReport = target::run(
        &opened,
        &refs,
        Duration::from_secs(args.command_timeout.max(1)),
    );
    for p in &policies {
        for w in &p.warnings {
            report.warnings.push(garrison_model::Warning::new(
                p.origin.path.display().to_string(),
                w.clone(),
            ));
        }
    }
    if defaults {
        report.policies.retain(|p| p.applicable);
        if report.policies.is_empty() {
            let os = report
                .host
                .os
                .clone()
                .unwrap_or_else(|| "no os-release".into());
            anyhow::bail!(
                "no built-in policy applies to {} ({os}); give one with --policy",
                report.target.name
            );
        }
    }
    report.retain_checks(|c| severities.contains(&c.severity));
    if let Some(fw) = &args.framework {
        report.restrict_to_framework(fw);
    }
    let today = garrison_gate::today();
    report.warnings.extend(ignore.expired(today));
    for p in &mut report.policies {
        for c in &mut p.checks {
            if c.result != Outcome::Failed {
                continue;
            }
            let long = format!("{}:{}", c.policy, c.id);
            let short = c.id.to_string();
            let ids = [long.as_str(), short.as_str()];
            let subject = Subject {
                ids: &ids,
                purl: None,
                path: None,
            };
            if let Some(e) = ignore.matching(&subject, today) {
                c.suppressed = Some(Suppression {
                    reason: e.reason.clone(),
                    expires: e.expires.map(|d| d.to_string()),
                });
            }
        }
    }

    let format = match args.format {
        CheckFormatArg::Table => ComplianceFormat::Table,
        CheckFormatArg::Json => ComplianceFormat::Json,
        CheckFormatArg::Junit => ComplianceFormat::Junit,
        CheckFormatArg::Html => ComplianceFormat::Html,
    };
    let opts = crate::sbom::render_options(args.output.as_deref());
    crate::sbom::write_report(args.output.as_deref(), |out| {
        render_compliance(&report, format, &opts, out)
    })?;

    let failing = report
        .checks()
        .filter(|c| c.result == Outcome::Failed && c.suppressed.is_none())
        .count();
    let over_gate = match args.fail_under {
        None => failing > 0,
        Some(min) => match &args.framework {
            Some(_) => report
                .frameworks
                .iter()
                .any(|f| f.summary.score.is_some_and(|s| s < min)),
            None => report
                .policies
                .iter()
                .filter(|p| p.applicable)
                .any(|p| p.summary.score.is_some_and(|s| s < min)),
        },
    };
    if !global.quiet && (format != ComplianceFormat::Table || args.output.is_some()) {
        let scores: Vec<String> = report
            .policies
            .iter()
            .filter(|p| p.applicable)
            .map(|p| {
                format!(
                    "{} {}",
                    p.id,
                    p.summary
                        .score
                        .map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}%"))
                )
            })
            .collect();
        eprintln!(
            "garrison: {failing} failed checks; scores: {}",
            scores.join(", ")
        );
    }
    Ok(ExitCode::from(if over_gate { args.exit_code } else { 0 }))
}

pub fn run_policy(global: &Global, cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    let PolicyCommand::Validate { paths, regex_type } = cmd;
    let opts = LoadOptions {
        strict: true,
        default_regex: regex_type.dialect(),
    };
    let mut files = Vec::new();
    for p in &paths {
        files.extend(policy_files(p).with_context(|| format!("cannot read {}", p.display()))?);
    }
    if files.is_empty() {
        return Err(UsageError("no *.yml or *.yaml policy files in the given paths".into()).into());
    }
    let mut problems = 0usize;
    let mut good = Vec::new();
    for f in &files {
        match Policy::load_opts(f, false, opts) {
            Ok(p) => {
                if !global.quiet {
                    println!(
                        "ok: {} ({}, {} checks{})",
                        f.display(),
                        p.meta.id,
                        p.checks.len(),
                        if p.has_commands() {
                            ", has command rules"
                        } else {
                            ""
                        }
                    );
                }
                good.push(p);
            }
            Err(e) => {
                problems += 1;
                eprintln!("error: {e}");
            }
        }
    }
    for e in check_unique(&good) {
        problems += 1;
        eprintln!("error: {e}");
    }
    if problems > 0 {
        eprintln!(
            "garrison: {problems} problem(s) in {} policy file(s)",
            files.len()
        );
        return Ok(ExitCode::from(garrison_gate::exit::FINDINGS));
    }
    Ok(ExitCode::SUCCESS)
}
