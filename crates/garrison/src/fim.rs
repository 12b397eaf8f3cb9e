//! `garrison fim`: build, check, update and inspect a file integrity baseline.

use crate::cli::Global;
use crate::UsageError;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use garrison_fim::scan::{self, FileDiff, Mode, Report, ScanOptions};
use garrison_fim::{Change, Config, Key};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub const EXIT_HELP: &str = "\
Exit codes:
  0  the run completed and no change is over the gate
  1  changes at or above the gate (--exit-code N changes 1 to N)
  2  bad usage
  3  the run could not complete (no baseline, TAMPERED baseline, bad key or config)";

#[derive(Debug, Subcommand)]
pub enum FimCommand {
    /// Build the baseline of the watched paths (the built-in default, or --config FILE).
    #[command(after_help = EXIT_HELP)]
    Init {
        /// FIM config (TOML). Default: the built-in default (see the README).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        common: FimArgs,
    },
    /// Compare the present state with the baseline. Files whose inode, size, mtime
    /// and ctime are unchanged are not rehashed (the summary says how many) unless --full.
    #[command(after_help = EXIT_HELP)]
    Check {
        /// Rehash every file.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        common: FimArgs,
        #[command(flatten)]
        gate: FimGate,
    },
    /// Accept the present state as the new baseline (lists what it accepts).
    #[command(after_help = EXIT_HELP)]
    Update {
        /// Rehash every file.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        common: FimArgs,
    },
    /// What changed in one file since the baseline: attributes and a (redacted) content diff.
    #[command(after_help = EXIT_HELP)]
    Diff {
        /// The file (absolute host path).
        file: PathBuf,
        #[command(flatten)]
        common: FimArgs,
        #[command(flatten)]
        gate: FimGate,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FimFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct FimArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = FimFormat::Table)]
    pub format: FimFormat,
    /// The baseline's MAC key (kept apart from the baseline). Default:
    /// /etc/garrison/fim.key as root, else $XDG_CONFIG_HOME/garrison/fim.key.
    #[arg(long, env = "GARRISON_FIM_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Hashing threads (default: the config's `workers`, else one per core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct FimGate {
    /// Changes of these severities fail the run (comma-separated:
    /// CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN"
    )]
    pub severity: String,
    /// Exit code when a change passes the gate (0 never fails the run).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
}

/// `DATA/fim/baseline.db`.
fn baseline_path(global: &Global) -> anyhow::Result<PathBuf> {
    let data = garrison_vulndb::default_db_dir(global.data_dir.as_deref())
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .context("cannot tell where Garrison keeps its data (no HOME): pass --data-dir DIR")?;
    Ok(data.join("fim").join("baseline.db"))
}

fn key_path(common: &FimArgs) -> anyhow::Result<PathBuf> {
    common
        .key
        .clone()
        .or_else(Key::default_path)
        .context("cannot tell where the FIM key lives (no HOME): pass --key FILE")
}

fn spinner(quiet: bool, what: &str) -> Option<ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    })
}

pub fn run(global: &Global, cmd: FimCommand) -> anyhow::Result<ExitCode> {
    let db_path = baseline_path(global)?;
    match cmd {
        FimCommand::Init { config, common } => {
            let config = match &config {
                Some(p) => Config::load(p)?,
                None => Config::default_config(),
            };
            let key = Key::load_or_create(&key_path(&common)?)?;
            let report = with_progress(global.quiet, "fim init", common.workers, false, |opts| {
                Ok(scan::init(&config, &db_path, &key, opts)?)
            })?;
            print_report(&report, common.format, global.quiet)?;
            Ok(ExitCode::SUCCESS)
        }
        FimCommand::Check { full, common, gate } => {
            let severities = garrison_gate::Gate::parse_severities(&gate.severity)
                .map_err(|e| UsageError(e.to_string()))?;
            let key = Key::load(&key_path(&common)?)?;
            let (db, config) = scan::open_verified(&db_path, &key)?;
            let report = with_progress(global.quiet, "fim check", common.workers, full, |opts| {
                Ok(scan::check(&db, &config, Mode::Check, opts, &key)?)
            })?;
            print_report(&report, common.format, global.quiet)?;
            let failing = report
                .changes
                .iter()
                .filter(|c| severities.contains(&c.severity))
                .count();
            Ok(ExitCode::from(if failing > 0 { gate.exit_code } else { 0 }))
        }
        FimCommand::Update { full, common } => {
            let key = Key::load(&key_path(&common)?)?;
            let (db, config) = scan::open_verified(&db_path, &key)?;
            let report = with_progress(global.quiet, "fim update", common.workers, full, |opts| {
                Ok(scan::check(&db, &config, Mode::Update, opts, &key)?)
            })?;
            print_report(&report, common.format, global.quiet)?;
            Ok(ExitCode::SUCCESS)
        }
        FimCommand::Diff { file, common, gate } => {
            let severities = garrison_gate::Gate::parse_severities(&gate.severity)
                .map_err(|e| UsageError(e.to_string()))?;
            let key = Key::load(&key_path(&common)?)?;
            let (db, config) = scan::open_verified(&db_path, &key)?;
            let abs = std::path::absolute(&file)
                .with_context(|| format!("cannot make {} absolute", file.display()))?;
            let path = abs
                .to_str()
                .with_context(|| format!("{} is not UTF-8", abs.display()))?;
            let d = scan::diff_file(&db, &config, path)?;
            print_diff(&d, common.format)?;
            let fails = d
                .change
                .as_ref()
                .is_some_and(|c| severities.contains(&c.severity));
            Ok(ExitCode::from(if fails { gate.exit_code } else { 0 }))
        }
    }
}

fn with_progress(
    quiet: bool,
    what: &str,
    workers: Option<usize>,
    full: bool,
    f: impl FnOnce(&ScanOptions<'_>) -> anyhow::Result<Report>,
) -> anyhow::Result<Report> {
    let bar = spinner(quiet, what);
    let tick = |entries: u64, bytes: u64| {
        if let Some(b) = &bar {
            b.set_message(format!(
                "{entries} entries, {} hashed",
                crate::progress::human_bytes(bytes)
            ));
        }
    };
    let opts = ScanOptions {
        full,
        workers,
        progress: Some(&tick),
    };
    let r = f(&opts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    r
}

fn short(v: &str) -> String {
    // Hashes are long: show algorithm and 16 digits.
    match v.split_once(':') {
        Some((alg, hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("{alg}:{}…", &hex[..16])
        }
        _ => v.replace('\n', "; "),
    }
}

fn details(c: &Change) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(from) = &c.from {
        parts.push(format!("from {from}"));
    }
    for a in &c.attributes {
        parts.push(format!(
            "{}: {} -> {}",
            a.attribute,
            short(&a.old),
            short(&a.new)
        ));
    }
    if parts.is_empty() {
        c.file_type.as_str().to_string()
    } else {
        parts.join("; ")
    }
}

fn print_change_rows(changes: &[Change]) {
    let width = changes
        .iter()
        .map(|c| c.path.len() + c.container.as_ref().map_or(0, |k| k.name.len() + 1))
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    println!(
        "{:<12} {:<9} {:<width$}  DETAILS",
        "CHANGE", "SEVERITY", "PATH"
    );
    for c in changes {
        let path = match &c.container {
            Some(k) => format!("{}:{}", k.name, c.path),
            None => c.path.clone(),
        };
        println!(
            "{:<12} {:<9} {:<width$}  {}",
            c.change.as_str(),
            c.severity.as_str(),
            path,
            details(c)
        );
    }
    for c in changes.iter().filter(|c| c.diff.is_some()) {
        println!("\n{} (secret-looking values redacted):", c.path);
        print!("{}", c.diff.as_deref().unwrap_or_default());
    }
}

fn print_report(r: &Report, format: FimFormat, quiet: bool) -> anyhow::Result<()> {
    if format == FimFormat::Json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), r)?;
        println!();
    } else {
        match r.mode {
            Mode::Init => println!(
                "baseline {}: {} entries recorded ({} files hashed, {})",
                r.baseline.display(),
                r.summary.entries,
                r.summary.hashed,
                crate::progress::human_bytes(r.summary.hashed_bytes)
            ),
            Mode::Check | Mode::Update => {
                if r.changes.is_empty() {
                    println!("no changes since the baseline");
                } else {
                    print_change_rows(&r.changes);
                }
                if r.mode == Mode::Update {
                    println!(
                        "\nbaseline {} updated: {} changes accepted",
                        r.baseline.display(),
                        r.changes.len()
                    );
                }
            }
        }
        for c in &r.containers {
            println!(
                "container {} ({}, pid {}) checked through /proc/{}/root",
                c.name,
                c.id.as_deref().unwrap_or("id unknown"),
                c.pid,
                c.pid
            );
        }
        if !r.problems.is_empty() {
            println!("\nskipped ({}):", r.problems.len());
            for p in &r.problems {
                if p.container.is_empty() {
                    println!("  {}: {}", p.path, p.reason);
                } else {
                    println!("  {}:{}: {}", p.container, p.path, p.reason);
                }
            }
        }
    }
    if !quiet {
        let s = &r.summary;
        let rehash = if r.mode == Mode::Init || r.full {
            String::new()
        } else {
            format!(
                ", {} not rehashed (inode, size, mtime and ctime unchanged; --full rehashes)",
                s.not_rehashed
            )
        };
        eprintln!(
            "garrison: {} entries, {} files hashed ({}){rehash}, {} skipped, {} changes, {} workers, {:.1}s",
            s.entries,
            s.hashed,
            crate::progress::human_bytes(s.hashed_bytes),
            s.problems,
            r.changes.len(),
            s.workers,
            s.elapsed_ms as f64 / 1000.0
        );
    }
    Ok(())
}

fn print_diff(d: &FileDiff, format: FimFormat) -> anyhow::Result<()> {
    if format == FimFormat::Json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), d)?;
        println!();
        return Ok(());
    }
    match &d.change {
        None if d.in_baseline => println!("{}: unchanged since the baseline", d.path),
        None => println!("{}: not in the baseline and absent", d.path),
        Some(c) => print_change_rows(std::slice::from_ref(c)),
    }
    for p in &d.problems {
        println!("  skipped: {}: {}", p.path, p.reason);
    }
    Ok(())
}

/// The agent's real-time FIM detector (`garrison agent --fim [--fim-config FILE]`).
pub fn detector(
    config: Option<&Path>,
    recheck: Option<garrison_fim::schedule::Recheck>,
) -> anyhow::Result<garrison_fim::FimDetector> {
    let parsed = match config {
        Some(p) => Config::load(p)?,
        None => Config::default_config(),
    };
    let d = garrison_fim::FimDetector::new(parsed, config.map(Path::to_path_buf));
    Ok(match recheck {
        Some(r) => d.with_recheck(r),
        None => d,
    })
}

/// The agent's scheduled re-check of the sealed baseline (`--fim-recheck`): the
/// baseline and key must be there and verify now, or the agent does not start.
pub fn recheck(
    global: &Global,
    every: std::time::Duration,
    full: bool,
    key: Option<PathBuf>,
) -> anyhow::Result<garrison_fim::schedule::Recheck> {
    if every.is_zero() {
        return Err(
            UsageError("--fim-recheck: give a duration above zero (e.g. 12h)".into()).into(),
        );
    }
    let baseline = baseline_path(global)?;
    let key = key
        .or_else(Key::default_path)
        .context("cannot tell where the FIM key lives (no HOME): pass --fim-key FILE")?;
    let k = Key::load(&key)
        .with_context(|| "--fim-recheck needs a baseline: run `garrison fim init` first")?;
    scan::open_verified(&baseline, &k)
        .with_context(|| "--fim-recheck needs a baseline: run `garrison fim init` first")?;
    Ok(garrison_fim::schedule::Recheck::start(
        garrison_fim::schedule::RecheckConfig {
            baseline,
            key,
            every,
            full,
            workers: None,
        },
    ))
}
