//! Presenters for compliance reports ([`garrison_compliance::ComplianceReport`], `garrison check`):
//!
//! - [`ComplianceFormat::Table`]: per policy its score and counts, the scores
//!   per framework, then every failed check with its evidence and remediation.
//! - [`ComplianceFormat::Json`]: the report as is (schema version in `schema_version`).
//! - [`ComplianceFormat::Junit`]: one test suite per policy, one test case per
//!   check (failed → `<failure>`, not applicable → `<skipped>`).
//! - [`ComplianceFormat::Html`]: a self-contained audit report, ready to print
//!   or save as PDF (a cover page with the target, date and scores per
//!   framework, then one section per policy).

mod html;
mod junit;
mod table;

use crate::{RenderOptions, ReportError};
use garrison_compliance::report::{CheckResult, ComplianceReport, Outcome, RuleEvidence};
use std::io::Write;
use std::str::FromStr;

/// The formats `garrison check` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceFormat {
    Table,
    Json,
    Junit,
    Html,
}

impl ComplianceFormat {
    pub fn name(self) -> &'static str {
        match self {
            ComplianceFormat::Table => "table",
            ComplianceFormat::Json => "json",
            ComplianceFormat::Junit => "junit",
            ComplianceFormat::Html => "html",
        }
    }
}

impl FromStr for ComplianceFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "table" => ComplianceFormat::Table,
            "json" => ComplianceFormat::Json,
            "junit" => ComplianceFormat::Junit,
            "html" => ComplianceFormat::Html,
            _ => {
                return Err(format!(
                    "unknown format {s:?}: use table, json, junit or html"
                ))
            }
        })
    }
}

/// Writes `report` in `format` to `out`.
pub fn render_compliance(
    report: &ComplianceReport,
    format: ComplianceFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let name = format.name();
    let io = |source| ReportError::Write {
        format: name,
        source,
    };
    match format {
        ComplianceFormat::Json => return crate::write_json_named(name, report, out),
        ComplianceFormat::Table => out
            .write_all(table::render(report, opts).as_bytes())
            .map_err(io)?,
        ComplianceFormat::Junit => out
            .write_all(junit::render(report)?.as_bytes())
            .map_err(io)?,
        ComplianceFormat::Html => out.write_all(html::render(report).as_bytes()).map_err(io)?,
    }
    out.flush().map_err(io)
}

/// `72.5%`, or `n/a` when nothing passed or failed.
pub(crate) fn score_text(score: Option<f64>) -> String {
    match score {
        Some(s) => format!("{s:.1}%"),
        None => "n/a".to_string(),
    }
}

/// One line per rule that was evaluated: what it found.
pub(crate) fn evidence_lines(c: &CheckResult) -> Vec<String> {
    c.evidence.iter().map(evidence_line).collect()
}

pub(crate) fn evidence_line(e: &RuleEvidence) -> String {
    let mut s = format!("{} [{}] {}", e.rule, e.result.as_str(), e.detail);
    if let Some(v) = &e.value {
        s.push_str(": ");
        s.push_str(v);
    }
    s
}

/// Failed checks first (by severity, highest first), then not applicable, then passed.
pub(crate) fn ordered(checks: &[CheckResult]) -> Vec<&CheckResult> {
    let mut v: Vec<&CheckResult> = checks.iter().collect();
    v.sort_by_key(|c| {
        let rank = match c.result {
            Outcome::Failed => 0,
            Outcome::NotApplicable => 1,
            Outcome::Passed => 2,
        };
        (rank, std::cmp::Reverse(c.severity), c.id)
    });
    v
}
