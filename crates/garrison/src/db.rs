//! `garrison db`: update, import and show the advisory database.

use crate::cli::{DbCommand, Global, StatusFormat};
use anyhow::Context;
use garrison_vulndb::{default_db_dir, Db, EcosystemUpdate, ImportSummary};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Ecosystems `db update` fetches when none are named: every one Garrison matches.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "AlmaLinux",
    "Rocky Linux",
    "Red Hat",
    "crates.io",
    "npm",
    "PyPI",
    "Go",
    "Maven",
    "RubyGems",
    "Packagist",
    "NuGet",
];

/// The database directory for this run.
pub fn db_dir(global: &Global) -> anyhow::Result<PathBuf> {
    default_db_dir(global.data_dir.as_deref())
        .context("cannot tell where the advisory database lives (no HOME): pass --data-dir DIR")
}

/// Opens the database, with an error that says what to do when there is none.
pub fn open(global: &Global) -> anyhow::Result<Db> {
    let dir = db_dir(global)?;
    if !dir.join(garrison_vulndb::DB_FILE).exists() {
        anyhow::bail!(
            "no advisory database in {}: run `garrison db update`, or `garrison db import ./all.zip` offline",
            dir.display()
        );
    }
    Ok(Db::open(&dir)?)
}

pub fn run(global: &Global, cmd: DbCommand) -> anyhow::Result<ExitCode> {
    let dir = db_dir(global)?;
    match cmd {
        DbCommand::Update { source, ecosystems } => {
            let base = source
                .as_deref()
                .unwrap_or(garrison_vulndb::DEFAULT_BASE_URL);
            let ecosystems: Vec<String> = if ecosystems.is_empty() {
                DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect()
            } else {
                ecosystems
            };
            if !global.quiet {
                eprintln!(
                    "garrison: updating {} ecosystems from {base}",
                    ecosystems.len()
                );
            }
            let summary = garrison_vulndb::update(&dir, base, &ecosystems)?;
            for (eco, result) in &summary.ecosystems {
                match result {
                    EcosystemUpdate::Unchanged => {
                        println!("{eco}: unchanged since the last update")
                    }
                    EcosystemUpdate::Updated { bytes, summary } => {
                        println!("{eco}: downloaded {}", crate::progress::human_bytes(*bytes));
                        print_import(summary, global.quiet);
                    }
                }
            }
            println!(
                "database {} ({})",
                dir.display(),
                if summary.rebuilt {
                    "rebuilt"
                } else {
                    "unchanged"
                }
            );
        }
        DbCommand::Import { paths, kev, epss } => {
            if paths.is_empty() && kev.is_none() && epss.is_none() {
                anyhow::bail!(
                    "nothing to import: give all.zip archives or directories of OSV records, and/or --kev FILE / --epss FILE"
                );
            }
            if !paths.is_empty() {
                let inputs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
                let summary = garrison_vulndb::import_with(&dir, &inputs, Default::default())?;
                print_import(&summary, global.quiet);
            }
            if let Some(kev) = kev {
                let n = garrison_vulndb::import_kev(&dir, &kev)?;
                println!(
                    "imported {n} known exploited vulnerabilities from {}",
                    kev.display()
                );
            }
            if let Some(epss) = epss {
                let n = garrison_vulndb::import_epss(&dir, &epss)?;
                println!("imported {n} EPSS scores from {}", epss.display());
            }
            println!("database {}", dir.display());
        }
        DbCommand::Status { format } => {
            let db = open(global)?;
            let status = db.status()?;
            match format {
                StatusFormat::Json => {
                    serde_json::to_writer_pretty(std::io::stdout().lock(), &status)?;
                    println!();
                }
                StatusFormat::Table => {
                    println!("database   {}", status.path.display());
                    println!("schema     {}", status.schema_version);
                    println!(
                        "built      {}{}",
                        status.built_at.as_deref().unwrap_or("unknown"),
                        status
                            .built_at
                            .as_deref()
                            .and_then(age)
                            .map(|a| format!(" ({a} ago)"))
                            .unwrap_or_default()
                    );
                    println!(
                        "advisories {} ({} withdrawn), {}",
                        status.advisories,
                        status.withdrawn,
                        crate::progress::human_bytes(status.file_bytes)
                    );
                    println!(
                        "KEV        {} entries{}",
                        status.kev_entries,
                        status
                            .kev_date
                            .as_deref()
                            .map(|d| format!(" (catalog of {d})"))
                            .unwrap_or_default()
                    );
                    println!(
                        "EPSS       {} scores{}",
                        status.epss_entries,
                        status
                            .epss_model
                            .as_deref()
                            .map(|m| format!(" (model {m})"))
                            .unwrap_or_default()
                    );
                    println!("ecosystems");
                    for e in &status.ecosystems {
                        println!("  {:<24} {:>8}", e.name, e.advisories);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_import(s: &ImportSummary, quiet: bool) {
    println!(
        "imported {} advisories ({} replaced, {} withdrawn) in {} ecosystems",
        s.records,
        s.replaced,
        s.withdrawn,
        s.per_ecosystem.len()
    );
    if s.git_ranges > 0 {
        println!(
            "  {} GIT ranges skipped (Garrison matches versions, not commits)",
            s.git_ranges
        );
    }
    if s.unknown_ranges + s.bad_events > 0 {
        println!(
            "  {} ranges of unknown type and {} malformed events skipped",
            s.unknown_ranges, s.bad_events
        );
    }
    if !s.skipped.is_empty() {
        println!("  {} malformed records skipped:", s.skipped.len());
        let shown = if quiet { 0 } else { 20 };
        for (input, err) in s.skipped.iter().take(shown) {
            println!("    {input}: {err}");
        }
        if s.skipped.len() > shown {
            println!("    ... and {} more", s.skipped.len() - shown);
        }
    }
}

/// `3 days` from an RFC 3339 time, for people.
fn age(rfc3339: &str) -> Option<String> {
    let t = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    let secs = std::time::SystemTime::now()
        .duration_since(t)
        .ok()?
        .as_secs();
    Some(match secs {
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 86400 * 2 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86400),
    })
}
