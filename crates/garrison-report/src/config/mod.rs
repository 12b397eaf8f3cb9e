//! Presenters for `garrison check config`: the [`ConfigReport`] of
//! misconfiguration findings as a table, JSON, SARIF, JUnit or HTML.
//!
//! The report is data built by `garrison-misconfig`; these modules only choose
//! how to show it. Findings come sorted by file, document and line.

mod html;
mod junit;
mod sarif;
mod table;

use crate::{RenderOptions, ReportError};
use garrison_misconfig::{ConfigReport, Finding};
use garrison_model::Severity;
use std::io::Write;
use std::str::FromStr;

/// The formats `garrison check config` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    Table,
    Json,
    Sarif,
    Junit,
    Html,
}

impl ConfigFormat {
    pub const ALL: [ConfigFormat; 5] = [
        ConfigFormat::Table,
        ConfigFormat::Json,
        ConfigFormat::Sarif,
        ConfigFormat::Junit,
        ConfigFormat::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConfigFormat::Table => "table",
            ConfigFormat::Json => "json",
            ConfigFormat::Sarif => "sarif",
            ConfigFormat::Junit => "junit",
            ConfigFormat::Html => "html",
        }
    }
}

impl std::fmt::Display for ConfigFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConfigFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConfigFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown config report format {s:?}: expected one of table, json, sarif, junit, html")
            })
    }
}

/// Renders `report` as `format` into `out`. Suppressed findings are counted
/// by the table, marked as suppressed in SARIF, skipped in JUnit, listed
/// apart in HTML, and carried as they are in JSON.
pub fn render_config(
    report: &ConfigReport,
    format: ConfigFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let name = format.name();
    let io = |source| ReportError::Write {
        format: name,
        source,
    };
    match format {
        ConfigFormat::Table => out
            .write_all(table::render(report, opts).as_bytes())
            .map_err(io)?,
        ConfigFormat::Json => crate::write_json_named(name, report, out)?,
        ConfigFormat::Sarif => crate::write_json_named(name, &sarif::build(report), out)?,
        ConfigFormat::Junit => out
            .write_all(junit::render(report)?.as_bytes())
            .map_err(io)?,
        ConfigFormat::Html => out
            .write_all(html::render(report, opts).as_bytes())
            .map_err(io)?,
    }
    out.flush().map_err(io)
}

/// Counts of findings per severity, highest first.
pub(crate) fn severity_counts(findings: &[Finding]) -> [(Severity, usize); 6] {
    Severity::ALL.map(|s| (s, findings.iter().filter(|f| f.severity == s).count()))
}

/// `GAR-K8S-001 (cis 5.2.3, nist-800-53 SC-39)` style framework list.
pub(crate) fn frameworks(f: &Finding) -> String {
    f.check
        .frameworks
        .iter()
        .map(|(k, v)| format!("{k} {}", v.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
