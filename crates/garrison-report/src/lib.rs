//! Presenters: render Garrison's reports — inventories and vulnerability scans — as terminal tables, stable JSON, CycloneDX, SPDX, SARIF, JUnit and HTML, without computing anything themselves.
//!
//! The report is data ([`garrison_model::Inventory`] for `garrison sbom`,
//! [`garrison_model::ScanReport`] for `garrison scan`); each presenter only
//! chooses how to show it. Inventories ([`render_sbom`]):
//!
//! - [`SbomFormat::Table`]: a table for people at a terminal, then the warnings
//!   and a summary line.
//! - [`SbomFormat::Json`]: the inventory serialized as is; the shape is stable and
//!   documented field by field in `docs/json-output.md`.
//! - [`SbomFormat::CycloneDx`]: CycloneDX 1.6 JSON.
//! - [`SbomFormat::SpdxJson`]: SPDX 2.3 JSON.
//!
//! Scan reports ([`render_scan`], one module each under `scan/`):
//!
//! - [`ScanFormat::Table`]: findings by risk, then warnings and a summary line.
//! - [`ScanFormat::Json`]: the scan report as is, documented in `docs/json-output.md`.
//! - [`ScanFormat::Sarif`]: SARIF 2.1.0 for GitHub code scanning.
//! - [`ScanFormat::CycloneDx`]: CycloneDX 1.6 with a `vulnerabilities` section.
//! - [`ScanFormat::Junit`]: JUnit XML for CI test reports.
//! - [`ScanFormat::Html`]: one self-contained HTML page.
//!
//! Documents that carry a creation time and a unique identifier (CycloneDX and
//! SPDX) take them from [`RenderOptions`] when set, so that output can be made
//! reproducible; otherwise they use the current time and a fresh random UUID.

pub mod compliance;
pub mod config;
mod cyclonedx;
mod license;
mod scan;
mod spdx_json;
mod table;

use garrison_model::{Inventory, ScanReport, TargetKind};
use std::io::Write;
use std::str::FromStr;
use std::time::SystemTime;

/// The version written into SBOMs as the producing tool's version.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The formats `garrison sbom` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    Table,
    Json,
    CycloneDx,
    SpdxJson,
}

impl SbomFormat {
    /// The name used on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        match self {
            SbomFormat::Table => "table",
            SbomFormat::Json => "json",
            SbomFormat::CycloneDx => "cyclonedx",
            SbomFormat::SpdxJson => "spdx-json",
        }
    }

    /// All formats, in the order `--help` lists them.
    pub const ALL: [SbomFormat; 4] = [
        SbomFormat::Table,
        SbomFormat::Json,
        SbomFormat::CycloneDx,
        SbomFormat::SpdxJson,
    ];
}

impl std::fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SbomFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SbomFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown SBOM format {s:?}: expected one of table, json, cyclonedx, spdx-json"
                )
            })
    }
}

/// The formats `garrison scan` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Table,
    Json,
    Sarif,
    CycloneDx,
    Junit,
    Html,
}

impl ScanFormat {
    /// The name used on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        match self {
            ScanFormat::Table => "table",
            ScanFormat::Json => "json",
            ScanFormat::Sarif => "sarif",
            ScanFormat::CycloneDx => "cyclonedx",
            ScanFormat::Junit => "junit",
            ScanFormat::Html => "html",
        }
    }

    /// All formats, in the order `--help` lists them.
    pub const ALL: [ScanFormat; 6] = [
        ScanFormat::Table,
        ScanFormat::Json,
        ScanFormat::Sarif,
        ScanFormat::CycloneDx,
        ScanFormat::Junit,
        ScanFormat::Html,
    ];
}

impl std::fmt::Display for ScanFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ScanFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScanFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown scan report format {s:?}: expected one of table, json, sarif, cyclonedx, junit, html"
                )
            })
    }
}

/// Writing a report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the {format} report: {source}")]
    Write {
        format: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the {format} report: {reason}")]
    Encode {
        format: &'static str,
        reason: String,
    },
}

impl ReportError {
    fn write(format: SbomFormat, source: std::io::Error) -> ReportError {
        ReportError::Write {
            format: format.name(),
            source,
        }
    }

    /// serde_json reports I/O failures and encoding failures through one type.
    fn json(format: SbomFormat, e: serde_json::Error) -> ReportError {
        ReportError::json_named(format.name(), e)
    }

    fn json_named(format: &'static str, e: serde_json::Error) -> ReportError {
        if e.is_io() {
            ReportError::Write {
                format,
                source: e.into(),
            }
        } else {
            ReportError::Encode {
                format,
                reason: e.to_string(),
            }
        }
    }
}

/// Options that change how a report looks, not what it says.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Use ANSI colors (tables only).
    pub color: bool,
    /// Terminal width for tables, when known. Long values are truncated to fit;
    /// `None` leaves the table as wide as its content.
    pub width: Option<u16>,
    /// Creation time written into CycloneDX and SPDX documents, and the
    /// report's "now" from which scan tables and HTML pages compute the
    /// advisory database's age; `None` means now.
    pub created: Option<SystemTime>,
    /// Sixteen bytes from which the document's UUID (version 4) is built: the
    /// CycloneDX `serialNumber` and the SPDX `documentNamespace`. `None` means
    /// fresh random bytes; set it (with `created`) for reproducible output.
    pub document_id: Option<[u8; 16]>,
}

impl RenderOptions {
    pub(crate) fn created_rfc3339(&self) -> String {
        let t = self.created.unwrap_or_else(SystemTime::now);
        // humantime refuses times before the epoch; clamp rather than fail.
        let t = if t < SystemTime::UNIX_EPOCH {
            SystemTime::UNIX_EPOCH
        } else {
            t
        };
        humantime::format_rfc3339_seconds(t).to_string()
    }

    pub(crate) fn document_uuid(&self) -> uuid::Uuid {
        match self.document_id {
            Some(bytes) => uuid::Builder::from_random_bytes(bytes).into_uuid(),
            None => uuid::Uuid::new_v4(),
        }
    }
}

/// Renders `inv` as `format` into `out`.
pub fn render_sbom(
    inv: &Inventory,
    format: SbomFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        SbomFormat::Table => {
            let text = table::render(inv, opts);
            out.write_all(text.as_bytes())
                .map_err(|e| ReportError::write(format, e))?;
        }
        SbomFormat::Json => write_json(format, inv, out)?,
        SbomFormat::CycloneDx => write_json(format, &cyclonedx::build(inv, opts), out)?,
        SbomFormat::SpdxJson => write_json(format, &spdx_json::build(inv, opts), out)?,
    }
    out.flush().map_err(|e| ReportError::write(format, e))
}

/// Renders the scan report `report` as `format` into `out`.
///
/// Suppressed findings (those with `suppressed` set) are shown as such: the
/// table only counts them, SARIF marks them with a `suppressions` entry,
/// CycloneDX with an `analysis`, JUnit as skipped test cases and HTML in a
/// collapsed section; the JSON carries them as they are.
pub fn render_scan(
    report: &ScanReport,
    format: ScanFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let name = format.name();
    let io = |e| ReportError::Write {
        format: name,
        source: e,
    };
    match format {
        ScanFormat::Table => out
            .write_all(scan::table::render(report, opts).as_bytes())
            .map_err(io)?,
        ScanFormat::Json => write_json_named(name, report, out)?,
        ScanFormat::Sarif => write_json_named(name, &scan::sarif::build(report), out)?,
        ScanFormat::CycloneDx => {
            write_json_named(name, &scan::cyclonedx::build(report, opts)?, out)?
        }
        ScanFormat::Junit => out
            .write_all(scan::junit::render(report)?.as_bytes())
            .map_err(io)?,
        ScanFormat::Html => out
            .write_all(scan::html::render(report, opts).as_bytes())
            .map_err(io)?,
    }
    out.flush().map_err(io)
}

fn write_json_named<T: serde::Serialize>(
    format: &'static str,
    value: &T,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| ReportError::json_named(format, e))?;
    out.write_all(b"\n")
        .map_err(|source| ReportError::Write { format, source })
}

fn write_json<T: serde::Serialize>(
    format: SbomFormat,
    value: &T,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| ReportError::json(format, e))?;
    out.write_all(b"\n")
        .map_err(|e| ReportError::write(format, e))
}

/// The epoch of an OS package version, when it has one: the `rpm.epoch` or
/// `deb.epoch` property if the parser recorded it, else the numeric prefix
/// before `:` in dpkg and rpm versions (`1:2.3-4`).
pub(crate) fn os_epoch(pkg: &garrison_model::Package) -> Option<String> {
    if !pkg.ecosystem.is_os() {
        return None;
    }
    for key in ["rpm.epoch", "deb.epoch", "apk.epoch", "epoch"] {
        if let Some(v) = pkg.properties.get(key) {
            return Some(v.clone());
        }
    }
    let (epoch, _) = pkg.version.split_once(':')?;
    (!epoch.is_empty() && epoch.chars().all(|c| c.is_ascii_digit())).then(|| epoch.to_string())
}

/// The short form of a digest for people: the first 12 hex digits, as
/// `docker images` shows image IDs.
pub(crate) fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    match hex.char_indices().nth(12) {
        Some((i, _)) => &hex[..i],
        None => hex,
    }
}

/// The source package of an OS package as people write it: `openssl` or
/// `openssl 3.0.11-1` when its version differs from the binary's.
pub(crate) fn source_label(pkg: &garrison_model::Package) -> Option<String> {
    let src = pkg.source.as_ref()?;
    Some(match &src.version {
        Some(v) if v != &pkg.version => format!("{} {}", src.name, v),
        _ => src.name.clone(),
    })
}

pub(crate) fn target_kind_name(k: TargetKind) -> &'static str {
    match k {
        TargetKind::Image => "image",
        TargetKind::Rootfs => "rootfs",
        TargetKind::Filesystem => "filesystem",
        TargetKind::Container => "container",
        TargetKind::Sbom => "sbom",
    }
}

/// The 64 hex digits of a `sha256:` digest, when it is one.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_model::{Ecosystem, Package};

    #[test]
    fn format_names_round_trip() {
        for f in SbomFormat::ALL {
            assert_eq!(f.name().parse::<SbomFormat>(), Ok(f));
        }
        assert!("xml".parse::<SbomFormat>().is_err());
    }

    #[test]
    fn scan_format_names_round_trip() {
        for f in ScanFormat::ALL {
            assert_eq!(f.name().parse::<ScanFormat>(), Ok(f));
            assert_eq!(f.to_string(), f.name());
        }
        assert_eq!(" SARIF ".parse::<ScanFormat>(), Ok(ScanFormat::Sarif));
        assert!("spdx-json".parse::<ScanFormat>().is_err());
    }

    #[test]
    fn epochs() {
        let p = Package::new(Ecosystem::Deb, "libc6", "1:2.36-9", "/var/lib/dpkg/status");
        assert_eq!(os_epoch(&p).as_deref(), Some("1"));
        let p = Package::new(Ecosystem::Deb, "libc6", "2.36-9", "/var/lib/dpkg/status");
        assert_eq!(os_epoch(&p), None);
        let p = Package::new(Ecosystem::Npm, "x", "1:2", "/package-lock.json");
        assert_eq!(os_epoch(&p), None);
        let mut p = Package::new(Ecosystem::Rpm, "bash", "5.1-6", "/var/lib/rpm/rpmdb.sqlite");
        p.properties.insert("rpm.epoch".into(), "0".into());
        assert_eq!(os_epoch(&p).as_deref(), Some("0"));
    }

    #[test]
    fn short_digests() {
        assert_eq!(short_digest("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_digest("sha256:abc"), "abc");
        assert_eq!(short_digest("é"), "é");
    }

    #[test]
    fn document_ids_are_v4_and_reproducible() {
        let opts = RenderOptions {
            document_id: Some([7; 16]),
            ..Default::default()
        };
        let a = opts.document_uuid();
        assert_eq!(a, opts.document_uuid());
        assert_eq!(a.get_version_num(), 4);
        let fresh = RenderOptions::default();
        assert_ne!(fresh.document_uuid(), fresh.document_uuid());
    }
}
