//! CVSS base scores from vector strings (v2.0, v3.0, v3.1, v4.0).
//!
//! The arithmetic is the RustSec `cvss` crate's (v4 with the MacroVector table
//! and severity-distance interpolation of the FIRST specification); this module
//! adds what an advisory scanner needs around it: version detection, the
//! mandatory-metric check the crate leaves to callers for v3, base-only
//! scoring of v4 vectors that also carry threat, environmental or supplemental
//! metrics, and one typed error that names the vector.

use std::fmt;

/// Longest vector accepted. A full CVSS 4.0 vector with every optional metric
/// is about 300 characters; anything far longer is not a vector.
pub const MAX_VECTOR_LEN: usize = 1024;

/// The CVSS version a vector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CvssVersion {
    V2,
    V3_0,
    V3_1,
    V4_0,
}

impl CvssVersion {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }

    /// The base metrics the specification makes mandatory, in its order.
    pub fn base_metrics(self) -> &'static [&'static str] {
        match self {
            CvssVersion::V2 => &["AV", "AC", "Au", "C", "I", "A"],
            CvssVersion::V3_0 | CvssVersion::V3_1 => &["AV", "AC", "PR", "UI", "S", "C", "I", "A"],
            CvssVersion::V4_0 => &[
                "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
            ],
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A vector's version and its base score (0.0..=10.0, one decimal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    pub version: CvssVersion,
    /// The base score: computed from the base metrics only (for v4 this is
    /// the "CVSS-B" score, even when the vector also carries threat or
    /// environmental metrics).
    pub base_score: f64,
}

/// Why a vector could not be scored. Every variant names the vector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("scoring CVSS vector: the vector is empty")]
    Empty,
    #[error(
        "scoring CVSS vector {vector:?}: {len} bytes is longer than the {max} a vector can be"
    )]
    TooLong {
        vector: String,
        len: usize,
        max: usize,
    },
    #[error("scoring CVSS vector {vector:?}: unsupported CVSS version {version:?} (2.0, 3.0, 3.1 and 4.0 are known)")]
    UnsupportedVersion { vector: String, version: String },
    #[error(
        "scoring CVSS {version} vector {vector:?}: component {component:?} is not METRIC:VALUE"
    )]
    MalformedComponent {
        vector: String,
        version: CvssVersion,
        component: String,
    },
    #[error("scoring CVSS {version} vector {vector:?}: mandatory base metric {metric} is missing")]
    MissingMetric {
        vector: String,
        version: CvssVersion,
        metric: &'static str,
    },
    #[error("scoring CVSS {version} vector {vector:?}: {reason}")]
    Invalid {
        vector: String,
        version: CvssVersion,
        reason: String,
    },
}

/// Shortened copy of a vector for error messages: at most 100 characters.
/// (Messages print it with `{:?}`, which escapes control characters, so an
/// error message stays a few kilobytes at most whatever the input.)
fn excerpt(vector: &str) -> String {
    const KEEP: usize = 100;
    match vector.char_indices().nth(KEEP) {
        Some((end, _)) => format!("{}...", &vector[..end]),
        None => vector.to_owned(),
    }
}

/// Splits off the version prefix: returns the version and the metrics part.
fn split_version(vector: &str) -> Result<(CvssVersion, &str), CvssError> {
    if let Some(rest) = vector.strip_prefix("CVSS:") {
        let (version, body) = rest.split_once('/').unwrap_or((rest, ""));
        let version_enum = match version {
            "2.0" => CvssVersion::V2,
            "3.0" => CvssVersion::V3_0,
            "3.1" => CvssVersion::V3_1,
            "4.0" => CvssVersion::V4_0,
            other => {
                return Err(CvssError::UnsupportedVersion {
                    vector: excerpt(vector),
                    version: excerpt(other),
                })
            }
        };
        return Ok((version_enum, body));
    }
    // CVSS v2 vectors carry no prefix; NVD wrote them in parentheses.
    let body = vector
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(vector);
    Ok((CvssVersion::V2, body))
}

/// Parses a CVSS vector of any supported version and computes its base score.
///
/// v2 vectors are accepted bare (`AV:N/AC:L/Au:N/C:P/I:P/A:P`), in
/// parentheses, or with a `CVSS:2.0/` prefix. Surrounding whitespace is
/// ignored. Every mandatory base metric must be present exactly once; other
/// metrics are validated but do not change the base score.
pub fn base_score(vector: &str) -> Result<CvssScore, CvssError> {
    let vector = vector.trim();
    if vector.is_empty() {
        return Err(CvssError::Empty);
    }
    if vector.len() > MAX_VECTOR_LEN {
        return Err(CvssError::TooLong {
            vector: excerpt(vector),
            len: vector.len(),
            max: MAX_VECTOR_LEN,
        });
    }
    let (version, body) = split_version(vector)?;

    // Our own pass over the components: METRIC:VALUE shape, and the base
    // metrics (kept for the v4 base-only vector).
    let mut base: Vec<Option<&str>> = vec![None; version.base_metrics().len()];
    for component in body.split('/') {
        let (metric, value) = match component.split_once(':') {
            Some((m, v)) if !m.is_empty() && !v.is_empty() && !v.contains(':') => (m, v),
            _ => {
                return Err(CvssError::MalformedComponent {
                    vector: excerpt(vector),
                    version,
                    component: excerpt(component),
                })
            }
        };
        if let Some(i) = version
            .base_metrics()
            .iter()
            .position(|b| b.eq_ignore_ascii_case(metric))
        {
            if let Some(slot) = base.get_mut(i) {
                // Duplicates are reported by the parser below.
                slot.get_or_insert(value);
            }
        }
    }
    for (name, value) in version.base_metrics().iter().zip(&base) {
        if value.is_none() {
            return Err(CvssError::MissingMetric {
                vector: excerpt(vector),
                version,
                metric: name,
            });
        }
    }

    let invalid = |e: cvss::Error| CvssError::Invalid {
        vector: excerpt(vector),
        version,
        reason: e.to_string(),
    };
    let score = match version {
        CvssVersion::V2 => body
            .parse::<cvss::v2::Vector>()
            .map_err(invalid)?
            .score()
            .value(),
        CvssVersion::V3_0 | CvssVersion::V3_1 => vector
            .parse::<cvss::v3::Vector>()
            .map_err(invalid)?
            .base_score()
            .value(),
        CvssVersion::V4_0 => {
            // Validate the whole vector, then score its base metrics alone.
            vector.parse::<cvss::v4::Vector>().map_err(invalid)?;
            let mut base_only = String::from("CVSS:4.0");
            for (name, value) in version.base_metrics().iter().zip(&base) {
                base_only.push('/');
                base_only.push_str(name);
                base_only.push(':');
                base_only.push_str(value.unwrap_or_default());
            }
            base_only
                .parse::<cvss::v4::Vector>()
                .map_err(invalid)?
                .score()
                .value()
        }
    };
    if !score.is_finite() || !(0.0..=10.0).contains(&score) {
        return Err(CvssError::Invalid {
            vector: excerpt(vector),
            version,
            reason: format!("computed score {score} is outside 0.0..=10.0"),
        });
    }
    // Scores are defined to one decimal; strip float noise.
    Ok(CvssScore {
        version,
        base_score: (score * 10.0).round() / 10.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_versions() {
        let v = |s| base_score(s).map(|c| c.version);
        assert_eq!(v("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Ok(CvssVersion::V2));
        assert_eq!(v("(AV:N/AC:L/Au:N/C:P/I:P/A:P)"), Ok(CvssVersion::V2));
        assert_eq!(
            v("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P"),
            Ok(CvssVersion::V2)
        );
        assert_eq!(
            v("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Ok(CvssVersion::V3_0)
        );
        assert_eq!(
            v(" CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n"),
            Ok(CvssVersion::V3_1)
        );
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let long = "é".repeat(200);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), 103);
        assert!(e.ends_with("..."));
        assert_eq!(excerpt("short"), "short");
    }
}
