//! `garrison scan`: inventory the target (or read its SBOM), match the
//! packages against the advisory database, rank by risk, apply the gate and the
//! ignore file, render.

use crate::cli::{Global, ScanArgs, ScanFormatArg, ScanTarget};
use crate::UsageError;
use anyhow::Context;
use garrison_gate::{Gate, IgnoreFile, Subject, DEFAULT_IGNORE_FILE};
use garrison_inventory::read_sbom;
use garrison_model::{
    DbInfo, Finding, FixState, Inventory, ScanReport, Suppression, Warning, SCAN_SCHEMA_VERSION,
};
use garrison_report::{render_scan, ScanFormat};
use garrison_risk::{Epss, Rating, Signals};
use garrison_source::Limits;
use garrison_vulndb::Db;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// KEV and EPSS lookups for the ranker, straight from the database.
struct DbSignals<'a>(&'a Db);

impl Signals for DbSignals<'_> {
    fn epss(&self, cve: &str) -> Option<Epss> {
        let s = self.0.epss(cve).ok()??;
        Some(Epss {
            probability: s.epss,
            percentile: s.percentile,
        })
    }

    fn kev(&self, cve: &str) -> Option<String> {
        let k = self.0.kev(cve).ok()??;
        Some(k.date_added.unwrap_or_default())
    }
}

pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let gate = Gate {
        severities: Gate::parse_severities(&args.gate.severity)
            .map_err(|e| UsageError(e.to_string()))?,
        exit_code: args.gate.exit_code,
        ignore_unfixed: args.gate.ignore_unfixed,
    };
    let ignore = match &args.gate.ignorefile {
        Some(path) => IgnoreFile::load(path)?,
        None if Path::new(DEFAULT_IGNORE_FILE).is_file() => {
            IgnoreFile::load(Path::new(DEFAULT_IGNORE_FILE))?
        }
        None => IgnoreFile::default(),
    };
    // Open the database first: no point walking an image we cannot match.
    let db = crate::db::open(global)?;
    let limits = Limits {
        max_layer_bytes: args.limits.max_layer_size,
        max_file_bytes: args.limits.max_file_size,
    };
    let inv: Inventory = match args.target {
        ScanTarget::Walk(target) => {
            let mut source = crate::sbom::open(&target)?;
            crate::sbom::inventory(source.as_mut(), &limits, global.quiet)?
        }
        ScanTarget::Sbom { path } => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read the SBOM {}", path.display()))?;
            read_sbom(&bytes, &path.display().to_string())?
        }
    };

    let report = build_report(&db, &inv, &gate, &ignore, started)?;
    let reported = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .count();

    let format = match args.output.format {
        ScanFormatArg::Table => ScanFormat::Table,
        ScanFormatArg::Json => ScanFormat::Json,
        ScanFormatArg::Sarif => ScanFormat::Sarif,
        ScanFormatArg::Cyclonedx => ScanFormat::CycloneDx,
        ScanFormatArg::Junit => ScanFormat::Junit,
        ScanFormatArg::Html => ScanFormat::Html,
    };
    let opts = crate::sbom::render_options(args.output.output.as_deref());
    crate::sbom::write_report(args.output.output.as_deref(), |out| {
        render_scan(&report, format, &opts, out)
    })?;
    if !global.quiet && (format != ScanFormat::Table || args.output.output.is_some()) {
        eprintln!(
            "garrison: {} vulnerabilities reported ({} suppressed) in {} packages, {:.2} s",
            reported,
            report.findings.len() - reported,
            report.packages_scanned,
            report.duration_ms as f64 / 1000.0
        );
    }
    Ok(ExitCode::from(gate.exit_code_for(reported)))
}

/// Matches an inventory against the database, ranks, applies the gate and the
/// ignore file: the report `garrison scan` renders.
fn build_report(
    db: &Db,
    inv: &Inventory,
    gate: &Gate,
    ignore: &IgnoreFile,
    started: Instant,
) -> anyhow::Result<ScanReport> {
    let (matches, match_warnings) =
        garrison_vulndb::match_packages_with_warnings(db, &inv.packages, inv.distro.as_ref())?;
    let mut warnings = inv.warnings.clone();
    warnings.extend(match_warnings.into_iter().map(|w| {
        let input = inv
            .packages
            .get(w.package)
            .map(|p| p.purl.clone())
            .unwrap_or_default();
        Warning::new(input, w.message)
    }));
    let distro_id = inv.distro.as_ref().map(|d| d.id.as_str()).unwrap_or("");
    let mut findings: Vec<Finding> = Vec::with_capacity(matches.len());
    for m in &matches {
        let Some(pkg) = inv.packages.get(m.package) else {
            continue;
        };
        let mut f = m.to_finding(pkg);
        let mut ratings = Vec::new();
        if let Some(u) = &f.distro_urgency {
            match distro_id {
                "ubuntu" => ratings.push(Rating::UbuntuPriority(u)),
                _ => ratings.push(Rating::DebianUrgency(u)),
            }
        }
        for e in garrison_risk::apply_severity(&mut f.vulnerability, &ratings) {
            warnings.push(Warning::new(
                f.vulnerability.id.clone(),
                e.error.to_string(),
            ));
        }
        findings.push(f);
    }
    garrison_risk::prioritize(&mut findings, &DbSignals(db));

    // The gate: severities and fixes first, then the ignore file marks what a team accepted.
    let today = garrison_gate::today();
    warnings.extend(ignore.expired(today));
    findings.retain(|f| {
        gate.shows(f.vulnerability.severity)
            && !(gate.ignore_unfixed && f.fix == FixState::NotFixed)
    });
    for f in &mut findings {
        let ids: Vec<&str> = std::iter::once(f.vulnerability.id.as_str())
            .chain(f.vulnerability.aliases.iter().map(String::as_str))
            .collect();
        let subject = Subject {
            ids: &ids,
            purl: Some(&f.package.purl),
            path: Some(&f.package.location),
        };
        if let Some(e) = ignore.matching(&subject, today) {
            f.suppressed = Some(Suppression {
                reason: e.reason.clone(),
                expires: e.expires.map(|d| d.to_string()),
            });
        }
    }

    let status = db.status()?;
    let report = ScanReport {
        schema_version: SCAN_SCHEMA_VERSION,
        target: inv.target.clone(),
        distro: inv.distro.clone(),
        packages_scanned: inv.packages.len(),
        db: DbInfo {
            schema_version: status.schema_version,
            updated: status.built_at.clone(),
            advisories: status.advisories,
            ecosystems: status.ecosystems.iter().map(|e| e.name.clone()).collect(),
        },
        findings,
        warnings,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    Ok(report)
}

/// Where container runtimes keep image layers and container filesystems on a
/// host (rootful podman/buildah/CRI-O, Docker, containerd): not the host's own
/// packages, so the agent's host inventory does not enter them.
pub const RUNTIME_STORAGE: &[&str] = &[
    "/var/lib/containers/storage",
    "/run/containers/storage",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/run/containerd",
];

/// What the agent's inventory scans with, opened once per inventory: the
/// advisory database and the default ignore file.
pub struct InventoryScanner {
    db: Db,
    ignore: IgnoreFile,
}

impl InventoryScanner {
    pub fn open(global: &Global) -> anyhow::Result<InventoryScanner> {
        let ignore = if Path::new(DEFAULT_IGNORE_FILE).is_file() {
            IgnoreFile::load(Path::new(DEFAULT_IGNORE_FILE))?
        } else {
            IgnoreFile::default()
        };
        Ok(InventoryScanner {
            db: crate::db::open(global)?,
            ignore,
        })
    }

    /// This host's report, as `garrison scan rootfs / --format json` makes it
    /// (every severity, the default ignore file), leaving out the container
    /// runtimes' storage ([`RUNTIME_STORAGE`]): images and containers are
    /// reported as what they are, not as the host's packages.
    pub fn host(&self) -> anyhow::Result<ScanReport> {
        let target = crate::cli::SbomTarget::Rootfs {
            path: "/".into(),
            skip_dirs: RUNTIME_STORAGE.iter().map(|d| d.to_string()).collect(),
        };
        self.scan(crate::sbom::open(&target)?)
    }

    /// A running container's report, as `garrison scan container ID` makes it.
    pub fn container(
        &self,
        c: &garrison_source::rootfs::RunningContainer,
    ) -> anyhow::Result<ScanReport> {
        let source = garrison_source::rootfs::Container::open_running(c)?;
        self.scan(Box::new(source))
    }

    fn scan(&self, mut source: Box<dyn garrison_source::Source>) -> anyhow::Result<ScanReport> {
        let started = Instant::now();
        let inv = crate::sbom::inventory(source.as_mut(), &Limits::default(), true)?;
        build_report(&self.db, &inv, &Gate::default(), &self.ignore, started)
    }
}
