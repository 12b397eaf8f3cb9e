//! The results of a compliance run, as data: presenters in `garrison-report` render them.

use garrison_model::{Severity, Target, Warning};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the JSON shape of [`ComplianceReport`].
pub const COMPLIANCE_SCHEMA_VERSION: u32 = 1;

/// A check's (or a rule's) result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    NotApplicable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotApplicable => "not applicable",
        }
    }
}

/// Counts and the score Wazuh computes: passed / (passed + failed) × 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
    /// `None` when nothing passed or failed.
    pub score: Option<f64>,
}

impl Summary {
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotApplicable => self.not_applicable += 1,
        }
        self.score = score(self.passed, self.failed);
    }

    pub fn total(&self) -> usize {
        self.passed + self.failed + self.not_applicable
    }
}

/// passed / (passed + failed) × 100, or `None` when both are 0.
pub fn score(passed: usize, failed: usize) -> Option<f64> {
    let d = passed + failed;
    (d > 0).then(|| passed as f64 * 100.0 / d as f64)
}

/// What one rule said, and what decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleEvidence {
    /// The rule as the policy wrote it.
    pub rule: String,
    pub result: Outcome,
    /// One sentence: `line 12 of /etc/ssh/sshd_config matches`, `file not found`.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The line (or captured number, or command output line) that decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub policy: String,
    pub id: u64,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Framework id (`cis`, `pci-dss-4.0`, ...; see [`crate::framework`]) to controls.
    pub compliance: BTreeMap<String, Vec<String>>,
    pub severity: Severity,
    pub condition: &'static str,
    pub result: Outcome,
    /// Why the check is not applicable, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rules evaluated, in order (evaluation stops once the condition is decided).
    pub evidence: Vec<RuleEvidence>,
    /// Set when `.garrisonignore` accepts this check's failure (by `POLICY:ID` or `ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<garrison_model::Suppression>,
}

/// The requirements' result: a policy whose requirements do not pass does not apply.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementsResult {
    pub title: String,
    pub result: Outcome,
    pub evidence: Vec<RuleEvidence>,
}

/// One policy's results.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    pub id: String,
    pub name: String,
    pub file: String,
    pub description: String,
    /// The file it was loaded from, or `builtin:NAME`.
    pub origin: String,
    pub trusted: bool,
    pub applicable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirements: Option<RequirementsResult>,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
}

/// A framework's score over every applicable policy's checks mapped to it.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkScore {
    pub framework: String,
    pub summary: Summary,
    /// Per control id, in id order.
    pub controls: Vec<ControlScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlScore {
    pub control: String,
    pub summary: Summary,
}

/// What was checked, where and when.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `PRETTY_NAME` from the target's os-release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceReport {
    pub schema_version: u32,
    pub target: Target,
    pub host: HostInfo,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub policies: Vec<PolicyResult>,
    pub frameworks: Vec<FrameworkScore>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl ComplianceReport {
    /// Every check of every applicable policy.
    pub fn checks(&self) -> impl Iterator<Item = &CheckResult> {
        self.policies
            .iter()
            .filter(|p| p.applicable)
            .flat_map(|p| p.checks.iter())
    }

    /// Keeps only the checks `keep` accepts and recomputes summaries and scores.
    pub fn retain_checks(&mut self, keep: impl Fn(&CheckResult) -> bool) {
        for p in &mut self.policies {
            p.checks.retain(&keep);
            p.summary = summarize(&p.checks);
        }
        self.compute_frameworks();
    }

    /// Keeps only the checks mapped to `framework` (see
    /// [`crate::framework::matches`]) and that framework's scores.
    pub fn restrict_to_framework(&mut self, framework: &str) {
        self.retain_checks(|c| {
            c.compliance
                .keys()
                .any(|k| crate::framework::matches(k, framework))
        });
        self.frameworks
            .retain(|f| crate::framework::matches(&f.framework, framework));
    }

    /// Recomputes the framework scores from the applicable policies' checks.
    pub fn compute_frameworks(&mut self) {
        self.frameworks = framework_scores(self.checks());
    }
}

/// The summary of a list of checks.
pub fn summarize(checks: &[CheckResult]) -> Summary {
    let mut s = Summary::default();
    for c in checks {
        s.add(c.result);
    }
    s
}

/// Scores per framework and control.
pub fn framework_scores<'a>(checks: impl Iterator<Item = &'a CheckResult>) -> Vec<FrameworkScore> {
    let mut by: BTreeMap<&str, (Summary, BTreeMap<&str, Summary>)> = BTreeMap::new();
    for c in checks {
        for (fw, controls) in &c.compliance {
            let (sum, ctl) = by.entry(fw.as_str()).or_default();
            sum.add(c.result);
            for control in controls {
                ctl.entry(control.as_str()).or_default().add(c.result);
            }
        }
    }
    by.into_iter()
        .map(|(fw, (summary, controls))| FrameworkScore {
            framework: fw.to_string(),
            summary,
            controls: controls
                .into_iter()
                .map(|(control, summary)| ControlScore {
                    control: control.to_string(),
                    summary,
                })
                .collect(),
        })
        .collect()
}
