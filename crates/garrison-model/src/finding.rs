use crate::{Distro, Ecosystem, Severity, Target, Warning};
use serde::{Deserialize, Serialize};

/// Version of the JSON shape of [`ScanReport`]; bumped on any incompatible change.
pub const SCAN_SCHEMA_VERSION: u32 = 1;

/// A CVSS (or other scoring system) rating an advisory carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ... as in OSV `severity[].type`.
    pub kind: String,
    /// The vector (or the rating word for non-CVSS kinds) as published.
    pub vector: String,
    /// Base score computed from the vector, when it is a valid CVSS vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
}

/// One known vulnerability, as the report presents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// The advisory ID (`GHSA-...`, `RUSTSEC-...`, `PYSEC-...`, `GO-...`, `DSA-...`).
    pub id: String,
    /// Other IDs for the same issue, CVE IDs first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity on the shared scale; `UNKNOWN` when the data carries none.
    pub severity: Severity,
    /// Where the severity came from (`CVSS_V3 base score 9.8`, `Debian urgency high`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

impl Vulnerability {
    /// The first CVE among the ID and aliases, if any.
    pub fn cve(&self) -> Option<&str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(String::as_str)
            .find(|a| a.starts_with("CVE-"))
    }
}

/// The package a finding is about (a slim copy of [`crate::Package`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
    pub purl: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// For OS packages: the source package the advisory matched on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
}

/// What the advisory data says about a fix, and nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum FixState {
    /// A `fixed` event names the version(s) that fix it.
    Fixed { versions: Vec<String> },
    /// Affected, and the data names no fixed version.
    NotFixed,
}

/// Why a finding ranks where it does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    /// 0..=100, higher first.
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss_percentile: Option<f64>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
    pub fix_available: bool,
    /// Loaded by a running process (filled by the runtime agent; `None` = unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use: Option<bool>,
    /// One line per factor, in the order they weighed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// An ignore-file entry that suppressed a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One vulnerable package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub vulnerability: Vulnerability,
    pub package: AffectedPackage,
    pub fix: FixState,
    /// Distro-specific urgency when the advisory carries one (Debian `urgency`, Ubuntu priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro_urgency: Option<String>,
    pub risk: Risk,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

/// What advisory database a scan used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    pub schema_version: u32,
    /// When the database was last built or updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub advisories: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecosystems: Vec<String>,
}

/// The result of `garrison scan`: the data every presenter renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema_version: u32,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    pub packages_scanned: usize,
    pub db: DbInfo,
    /// Sorted by risk, highest first.
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    pub duration_ms: u64,
}
