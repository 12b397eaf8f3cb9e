//! Severity derivation: one [`Severity`] per vulnerability, and where it came from.

use crate::cvss::{base_score, CvssError, CvssScore};
use garrison_model::{Severity, Vulnerability};

/// A severity word an advisory carries outside its CVSS vectors.
///
/// The vulnerability database passes the words it found in the record
/// (GHSA `database_specific.severity`, Debian `ecosystem_specific.urgency`,
/// an Ubuntu priority); Ubuntu priorities that OSV carries as
/// `severity[]` entries of type `Ubuntu` are also read from
/// [`Vulnerability::scores`] directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating<'a> {
    /// GitHub advisory severity: `CRITICAL`, `HIGH`, `MODERATE`, `LOW`.
    Ghsa(&'a str),
    /// Ubuntu priority: `critical`, `high`, `medium`, `low`, `negligible`, `untriaged`.
    UbuntuPriority(&'a str),
    /// Debian urgency: `high`, `medium`, `low`, `unimportant`, `not yet assigned`,
    /// `end-of-life`; the tracker's trailing `*` / `**` marks are ignored.
    DebianUrgency(&'a str),
}

impl Rating<'_> {
    /// The severity the word maps onto, or `None` when it states none
    /// (`not yet assigned`, `untriaged`, `end-of-life`, an unknown word).
    ///
    /// GHSA `MODERATE` is MEDIUM. Ubuntu `negligible` and Debian `unimportant`
    /// are INFO: the distribution says the issue does not matter in practice,
    /// and a `--severity LOW` gate should not fail on it.
    pub fn severity(&self) -> Option<Severity> {
        let word = self.word().trim().trim_end_matches('*').trim();
        let word = word.to_ascii_lowercase();
        match self {
            Rating::Ghsa(_) => match word.as_str() {
                "critical" => Some(Severity::Critical),
                "high" => Some(Severity::High),
                "moderate" | "medium" => Some(Severity::Medium),
                "low" => Some(Severity::Low),
                _ => None,
            },
            Rating::UbuntuPriority(_) => match word.as_str() {
                "critical" => Some(Severity::Critical),
                "high" => Some(Severity::High),
                "medium" => Some(Severity::Medium),
                "low" => Some(Severity::Low),
                "negligible" => Some(Severity::Info),
                _ => None,
            },
            Rating::DebianUrgency(_) => match word.as_str() {
                "high" => Some(Severity::High),
                "medium" => Some(Severity::Medium),
                "low" => Some(Severity::Low),
                "unimportant" => Some(Severity::Info),
                _ => None,
            },
        }
    }

    /// The word as the advisory wrote it.
    pub fn word(&self) -> &str {
        match self {
            Rating::Ghsa(w) | Rating::UbuntuPriority(w) | Rating::DebianUrgency(w) => w,
        }
    }

    /// `GHSA severity MODERATE`, `Ubuntu priority medium`, `Debian urgency high`.
    pub fn source(&self) -> String {
        let what = match self {
            Rating::Ghsa(_) => "GHSA severity",
            Rating::UbuntuPriority(_) => "Ubuntu priority",
            Rating::DebianUrgency(_) => "Debian urgency",
        };
        format!("{what} {}", self.word().trim())
    }
}

/// The CVSS qualitative rating of a base score: CRITICAL >= 9.0, HIGH >= 7.0,
/// MEDIUM >= 4.0, LOW > 0.0, and INFO for 0.0 (CVSS "None"). Out-of-range or
/// non-finite input is UNKNOWN.
pub fn severity_from_score(base: f64) -> Severity {
    if !base.is_finite() || !(0.0..=10.0).contains(&base) {
        Severity::Unknown
    } else if base >= 9.0 {
        Severity::Critical
    } else if base >= 7.0 {
        Severity::High
    } else if base >= 4.0 {
        Severity::Medium
    } else if base > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// Whether an OSV `severity[].type` names a CVSS vector.
pub fn is_cvss_kind(kind: &str) -> bool {
    matches!(kind, "CVSS_V2" | "CVSS_V3" | "CVSS_V4")
}

/// A score that failed to parse, with its index in [`Vulnerability::scores`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreError {
    pub index: usize,
    pub error: CvssError,
}

/// Computes `base_score` for every CVSS entry of `vuln.scores` (leaving
/// non-CVSS entries and invalid vectors at `None`), and returns the vectors
/// that could not be scored so the caller can warn about them.
pub fn fill_base_scores(vuln: &mut Vulnerability) -> Vec<ScoreError> {
    let mut errors = Vec::new();
    for (index, score) in vuln.scores.iter_mut().enumerate() {
        if !is_cvss_kind(&score.kind) {
            continue;
        }
        match base_score(&score.vector) {
            Ok(s) => score.base_score = Some(s.base_score),
            Err(error) => {
                score.base_score = None;
                errors.push(ScoreError { index, error });
            }
        }
    }
    errors
}

/// The CVSS score that decides a vulnerability's severity: among the valid
/// CVSS vectors, those of the highest version (4.0 > 3.1 > 3.0 > 2.0), and of
/// those the highest base score.
pub fn best_cvss(vuln: &Vulnerability) -> Option<CvssScore> {
    vuln.scores
        .iter()
        .filter(|s| is_cvss_kind(&s.kind))
        .filter_map(|s| base_score(&s.vector).ok())
        .max_by(|a, b| {
            a.version
                .cmp(&b.version)
                .then(a.base_score.total_cmp(&b.base_score))
        })
}

/// The severity and its source: from [`best_cvss`] when there is one, else
/// from the first rating word (in the order given, then Ubuntu entries of
/// `vuln.scores`) that states a severity, else UNKNOWN with no source.
pub fn derive(vuln: &Vulnerability, ratings: &[Rating<'_>]) -> (Severity, Option<String>) {
    if let Some(s) = best_cvss(vuln) {
        return (
            severity_from_score(s.base_score),
            Some(format!("CVSS {} base score {:.1}", s.version, s.base_score)),
        );
    }
    let from_scores = vuln
        .scores
        .iter()
        .filter(|s| s.kind.eq_ignore_ascii_case("Ubuntu"))
        .map(|s| Rating::UbuntuPriority(&s.vector));
    for rating in ratings.iter().copied().chain(from_scores) {
        if let Some(sev) = rating.severity() {
            return (sev, Some(rating.source()));
        }
    }
    (Severity::Unknown, None)
}

/// Fills `base_score` of every CVSS entry, then sets `severity` and
/// `severity_source` as [`derive()`] says. Returns the vectors that could not be
/// scored.
pub fn apply(vuln: &mut Vulnerability, ratings: &[Rating<'_>]) -> Vec<ScoreError> {
    let errors = fill_base_scores(vuln);
    let (severity, source) = derive(vuln, ratings);
    vuln.severity = severity;
    vuln.severity_source = source;
    errors
}
