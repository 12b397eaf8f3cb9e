//! The risk score of a finding and the ranking of a list of findings.

use crate::severity::best_cvss;
use garrison_model::{Finding, FixState, Risk, Severity, Vulnerability};
use std::cmp::Ordering;
use std::collections::HashMap;

/// An EPSS score: the probability of exploitation activity in the next 30
/// days, and its percentile among all scored CVEs (both 0.0..=1.0, as FIRST
/// publishes them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epss {
    pub probability: f64,
    pub percentile: f64,
}

/// Exploitation signals, looked up by CVE ID. The vulnerability database
/// implements this; this crate stores nothing.
pub trait Signals {
    /// The EPSS score of a CVE, if the loaded EPSS data has one.
    fn epss(&self, cve: &str) -> Option<Epss>;
    /// When a CVE was added to CISA's Known Exploited Vulnerabilities catalog
    /// (`dateAdded`, `YYYY-MM-DD`), if it is in the loaded catalog.
    fn kev(&self, cve: &str) -> Option<String>;
}

impl<T: Signals + ?Sized> Signals for &T {
    fn epss(&self, cve: &str) -> Option<Epss> {
        (**self).epss(cve)
    }
    fn kev(&self, cve: &str) -> Option<String> {
        (**self).kev(cve)
    }
}

/// No EPSS or KEV data loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSignals;

impl Signals for NoSignals {
    fn epss(&self, _cve: &str) -> Option<Epss> {
        None
    }
    fn kev(&self, _cve: &str) -> Option<String> {
        None
    }
}

/// Signals held in memory, keyed by CVE ID.
#[derive(Debug, Clone, Default)]
pub struct MemorySignals {
    pub epss: HashMap<String, Epss>,
    /// CVE ID -> `dateAdded`.
    pub kev: HashMap<String, String>,
}

impl Signals for MemorySignals {
    fn epss(&self, cve: &str) -> Option<Epss> {
        self.epss.get(cve).copied()
    }
    fn kev(&self, cve: &str) -> Option<String> {
        self.kev.get(cve).cloned()
    }
}

/// Score band floor for KEV findings; every KEV finding scores at least this.
pub const KEV_FLOOR: f64 = 70.0;
/// Weight of `severity x likelihood` for findings not in KEV.
pub const WEIGHT: f64 = 63.0;
/// Weight of severity within the KEV band.
pub const KEV_WEIGHT: f64 = 25.0;
/// Points for a fixed version being named by the advisory.
pub const FIX_POINTS: f64 = 2.0;
/// Points for being loaded by a running process.
pub const IN_USE_POINTS: f64 = 3.0;
/// Likelihood of a finding not in KEV whose EPSS probability is 0 or unknown.
pub const LIKELIHOOD_FLOOR: f64 = 0.3;

/// The severity weight (0..=10) used when a vulnerability has no valid CVSS
/// vector: the middle of each CVSS band; UNKNOWN weighs as 5.0.
pub fn severity_weight(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Info => 0.0,
        Severity::Unknown => 5.0,
    }
}

/// Every CVE ID the vulnerability is known by (its ID, then its aliases), once each.
pub fn cve_ids(vuln: &Vulnerability) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for id in std::iter::once(&vuln.id).chain(&vuln.aliases) {
        let id = id.trim();
        if id.starts_with("CVE-") && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn valid_epss(e: Epss) -> Option<Epss> {
    if e.probability.is_finite() && e.percentile.is_finite() {
        Some(Epss {
            probability: e.probability.clamp(0.0, 1.0),
            percentile: e.percentile.clamp(0.0, 1.0),
        })
    } else {
        None
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn fmt_probability(p: f64) -> String {
    if p >= 0.01 || p == 0.0 {
        format!("{p:.2}")
    } else if p < 1e-5 {
        format!("{p:.1e}")
    } else {
        // Keep two significant digits of small probabilities.
        let s = format!("{p:.6}");
        let trimmed = s.trim_end_matches('0');
        let digits_start = trimmed.find(|c: char| c != '0' && c != '.').unwrap_or(0);
        trimmed[..(digits_start + 2).min(trimmed.len())].to_owned()
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Computes a finding's [`Risk`] from its vulnerability, its fix state, the
/// `in_use` it already carries (reserved for the runtime agent) and the
/// signals. See the crate documentation for the formula.
pub fn score(finding: &Finding, signals: &dyn Signals) -> Risk {
    let vuln = &finding.vulnerability;
    let cves = cve_ids(vuln);

    // KEV: the earliest date among the vulnerability's CVEs.
    let kev = cves
        .iter()
        .filter_map(|c| signals.kev(c).map(|d| (d.trim().to_owned(), *c)))
        .min();
    // EPSS: the highest probability among the vulnerability's CVEs.
    let epss = cves
        .iter()
        .filter_map(|c| signals.epss(c).and_then(valid_epss).map(|e| (e, *c)))
        .max_by(|a, b| a.0.probability.total_cmp(&b.0.probability));

    let (sev, severity_reason) = match best_cvss(vuln) {
        Some(c) => (
            c.base_score,
            format!("CVSS {} base {:.1}", c.version, c.base_score),
        ),
        None => {
            let w = severity_weight(vuln.severity);
            let why = match (&vuln.severity_source, vuln.severity) {
                (_, Severity::Unknown) => {
                    format!("severity UNKNOWN, no CVSS vector: weighed as {w:.1}")
                }
                (Some(src), s) => {
                    format!("severity {s} ({src}), no CVSS vector: weighed as {w:.1}")
                }
                (None, s) => format!("severity {s}, no CVSS vector: weighed as {w:.1}"),
            };
            (w, why)
        }
    };
    let sev = (sev / 10.0).clamp(0.0, 1.0);

    let fixed_versions: &[String] = match &finding.fix {
        FixState::Fixed { versions } => versions,
        FixState::NotFixed => &[],
    };
    let fix_available = !fixed_versions.is_empty();
    let in_use = finding.risk.in_use;

    let p = epss.map_or(0.0, |(e, _)| e.probability);
    let bonus = if fix_available { FIX_POINTS } else { 0.0 }
        + if in_use == Some(true) {
            IN_USE_POINTS
        } else {
            0.0
        };
    let raw = if kev.is_some() {
        KEV_FLOOR + KEV_WEIGHT * sev + bonus
    } else {
        WEIGHT * sev * (LIKELIHOOD_FLOOR + (1.0 - LIKELIHOOD_FLOOR) * p.sqrt()) + bonus
    };

    let mut reasons = Vec::new();
    if let Some((date, cve)) = &kev {
        let multi = if cves.len() > 1 {
            format!(" ({cve})")
        } else {
            String::new()
        };
        if date.is_empty() {
            reasons.push(format!("in CISA KEV{multi}"));
        } else {
            reasons.push(format!("in CISA KEV since {date}{multi}"));
        }
    }
    reasons.push(severity_reason);
    match (&epss, cves.first()) {
        (Some((e, cve)), _) => {
            let pct = ordinal((e.percentile * 100.0).floor() as u32);
            let multi = if cves.len() > 1 {
                format!(", {cve}")
            } else {
                String::new()
            };
            reasons.push(format!(
                "EPSS {} ({pct} percentile{multi})",
                fmt_probability(e.probability)
            ));
        }
        (None, Some(_)) => reasons.push(format!("no EPSS score for {}", cves.join(", "))),
        (None, None) => reasons.push("no CVE alias: no EPSS or KEV lookup".to_owned()),
    }
    if fix_available {
        reasons.push(format!("fix available in {}", fixed_versions.join(", ")));
    } else {
        reasons.push("no fixed version in the advisory data".to_owned());
    }
    match in_use {
        Some(true) => reasons.push("loaded by a running process".to_owned()),
        Some(false) => reasons.push("not loaded by a running process (not weighed)".to_owned()),
        None => {}
    }

    Risk {
        score: round1(raw.clamp(0.0, 100.0)),
        epss: epss.map(|(e, _)| e.probability),
        epss_percentile: epss.map(|(e, _)| e.percentile),
        kev: kev.is_some(),
        fix_available,
        in_use,
        reasons,
    }
}

/// The ranking order: risk score descending, then severity descending, then
/// vulnerability ID, package name, version, purl and location ascending.
pub fn compare(a: &Finding, b: &Finding) -> Ordering {
    b.risk
        .score
        .total_cmp(&a.risk.score)
        .then_with(|| b.vulnerability.severity.cmp(&a.vulnerability.severity))
        .then_with(|| a.vulnerability.id.cmp(&b.vulnerability.id))
        .then_with(|| a.package.name.cmp(&b.package.name))
        .then_with(|| a.package.version.cmp(&b.package.version))
        .then_with(|| a.package.purl.cmp(&b.package.purl))
        .then_with(|| a.package.location.cmp(&b.package.location))
}

/// Sorts findings by [`compare`] (highest risk first). Uses each finding's
/// current `risk`; call [`prioritize`] to score and sort in one go.
pub fn rank(findings: &mut [Finding]) {
    findings.sort_by(compare);
}

/// Scores every finding (keeping its `in_use`), then ranks them.
pub fn prioritize(findings: &mut [Finding], signals: &dyn Signals) {
    for f in findings.iter_mut() {
        f.risk = score(f, signals);
    }
    rank(findings);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let got: Vec<String> = [0, 1, 2, 3, 4, 11, 12, 13, 21, 22, 99, 100, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "0th", "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "99th",
                "100th", "111th"
            ]
        );
    }

    #[test]
    fn probabilities_print_readably() {
        assert_eq!(fmt_probability(0.94), "0.94");
        assert_eq!(fmt_probability(0.0), "0.00");
        assert_eq!(fmt_probability(0.00043), "0.00043");
        assert_eq!(fmt_probability(0.0051), "0.0051");
        assert_eq!(fmt_probability(0.012), "0.01");
        assert_eq!(fmt_probability(0.000_000_2), "2.0e-7");
    }
}
