//! The prioritizer: owns CVSS base scoring, the severity of each vulnerability, and the risk score and ranking of findings.
//!
//! It stores nothing: exploitation data (EPSS, CISA KEV) comes in through the
//! [`Signals`] trait, which the vulnerability database implements.
//!
//! # CVSS base scores
//!
//! [`base_score`] reads CVSS 2.0 (`AV:N/AC:L/Au:N/C:P/I:P/A:P`), 3.0 and 3.1
//! (`CVSS:3.1/...`) and 4.0 (`CVSS:4.0/...`) vectors. The arithmetic is the
//! RustSec `cvss` crate's; for 4.0 that is the FIRST specification's
//! MacroVector lookup table with severity-distance interpolation. The score is
//! always the *base* score: for a 4.0 vector that also carries threat,
//! environmental or supplemental metrics it is the CVSS-B score of its base
//! metrics. A vector that is not valid (unknown version, missing or duplicate
//! base metric, unknown value) is a [`CvssError`] naming the vector.
//!
//! # Severity
//!
//! [`derive_severity`] / [`apply_severity`] choose, in this order:
//!
//! 1. the CVSS vector of the highest version present (4.0 > 3.1 > 3.0 > 2.0;
//!    the highest base score among vectors of that version), rated CRITICAL
//!    >= 9.0, HIGH >= 7.0, MEDIUM >= 4.0, LOW > 0.0, INFO = 0.0;
//! 2. else the first rating word the advisory carries ([`Rating`]): GHSA
//!    `database_specific.severity` (MODERATE is MEDIUM), Debian urgency, Ubuntu
//!    priority (Ubuntu `negligible` and Debian `unimportant` are INFO;
//!    `not yet assigned` and `untriaged` say nothing);
//! 3. else UNKNOWN.
//!
//! `severity_source` says which (`CVSS 3.1 base score 9.8`,
//! `GHSA severity MODERATE`, `Debian urgency high`).
//!
//! # Risk score
//!
//! [`score`] gives each finding a risk on 0..=100 (one decimal) from:
//!
//! - `sev`: the CVSS base score of the vector that set the severity, divided
//!   by 10; without one, the middle of the severity's band (CRITICAL 9.5,
//!   HIGH 8.0, MEDIUM 5.5, LOW 2.0, INFO 0.0, UNKNOWN 5.0), divided by 10;
//! - `p`: the highest EPSS probability among the vulnerability's CVE IDs (its
//!   ID and aliases), 0 when none is known;
//! - `kev`: whether any of those CVE IDs is in CISA KEV;
//! - `fix`: whether the advisory names a fixed version;
//! - `use`: whether a running process loads the package (`in_use`, filled by
//!   the runtime agent; unknown counts as no).
//!
//! ```text
//! bonus = 2 * fix + 3 * use
//! risk  = 70 + 25 * sev + bonus                               if kev
//! risk  = 63 * sev * (0.3 + 0.7 * sqrt(p)) + bonus            otherwise
//! ```
//!
//! So a known-exploited vulnerability always ranks above every other
//! (70..=100 against 0..=68); below that, severity is weighed by the
//! likelihood of exploitation, with the square root spreading EPSS's
//! heavily skewed low end (most CVEs score below 0.01) and the 0.3 floor
//! keeping severity meaningful when EPSS is tiny or unknown; a named fix and
//! a running process each add a few points, enough to break near-ties and
//! never enough to jump a band. The score is monotone: raising any input
//! never lowers it.
//!
//! Each [`Risk`](garrison_model::Risk) carries `reasons`, one line per factor
//! in the order they weigh: `in CISA KEV since 2023-05-01`,
//! `CVSS 3.1 base 9.8`, `EPSS 0.94 (99th percentile)`,
//! `fix available in 1.2.3`.
//!
//! # Ranking
//!
//! [`rank`] sorts by risk descending, then severity descending, then
//! vulnerability ID, package name, version, purl and location ascending, so
//! the order is the same on every run.

pub mod cvss;
pub mod risk;
pub mod severity;

pub use cvss::{base_score, CvssError, CvssScore, CvssVersion};
pub use risk::{cve_ids, prioritize, rank, score, Epss, MemorySignals, NoSignals, Signals};
pub use severity::{
    apply as apply_severity, best_cvss, derive as derive_severity, fill_base_scores,
    severity_from_score, Rating, ScoreError,
};
