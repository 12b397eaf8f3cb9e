//! Presenters for `garrison scan` reports, and the few facts they all derive
//! the same way from a [`ScanReport`]: counts by severity, fix text, the
//! numeric severity SARIF wants, stable fingerprints, relative URIs.

pub(crate) mod cyclonedx;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod sarif;
pub(crate) mod table;

use crate::target_kind_name;
use garrison_model::{DbInfo, Finding, FixState, ScanReport, Severity, Vulnerability};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// Findings that count: the ones no ignore-file entry suppressed.
pub(crate) fn active(report: &ScanReport) -> impl Iterator<Item = &Finding> {
    report.findings.iter().filter(|f| f.suppressed.is_none())
}

/// Findings an ignore-file entry suppressed.
pub(crate) fn suppressed(report: &ScanReport) -> impl Iterator<Item = &Finding> {
    report.findings.iter().filter(|f| f.suppressed.is_some())
}

/// Active findings per severity, in [`Severity::ALL`] order (all six, zeros
/// included: UNKNOWN never drops out).
pub(crate) fn severity_counts(report: &ScanReport) -> [(Severity, usize); 6] {
    Severity::ALL.map(|s| {
        (
            s,
            active(report)
                .filter(|f| f.vulnerability.severity == s)
                .count(),
        )
    })
}

/// The fixed versions, comma-separated, or `not fixed`: exactly what the
/// advisory data says.
pub(crate) fn fix_text(fix: &FixState) -> String {
    match fix {
        FixState::Fixed { versions } if !versions.is_empty() => versions.join(", "),
        FixState::Fixed { .. } | FixState::NotFixed => "not fixed".to_string(),
    }
}

/// The fixed versions, when the data names any.
pub(crate) fn fixed_versions(fix: &FixState) -> &[String] {
    match fix {
        FixState::Fixed { versions } => versions,
        FixState::NotFixed => &[],
    }
}

/// A sentence about the fix: `Upgrade to 1.2.3 or later.`, `Upgrade to one
/// of: 1.2.3, 2.0.1.` or that no fixed version is known.
pub(crate) fn recommendation(f: &Finding) -> String {
    match fixed_versions(&f.fix) {
        [] => format!(
            "No fixed version of {} is known to the advisory data.",
            f.package.name
        ),
        [one] => format!("Upgrade {} to {one} or later.", f.package.name),
        many => format!(
            "Upgrade {} to one of the fixed versions: {}.",
            f.package.name,
            many.join(", ")
        ),
    }
}

/// The numeric severity (0.0–10.0) code-scanning tools sort by: the highest
/// CVSS base score the advisory carries, else a value standing for its
/// severity word (CRITICAL 9.5, HIGH 8.0, MEDIUM 5.5, LOW 2.0, otherwise 0.0).
pub(crate) fn numeric_severity(v: &Vulnerability) -> f64 {
    let best = v
        .scores
        .iter()
        .filter(|s| s.kind.to_ascii_uppercase().starts_with("CVSS"))
        .filter_map(|s| s.base_score)
        .filter(|b| b.is_finite() && (0.0..=10.0).contains(b))
        .fold(None, |acc: Option<f64>, b| {
            Some(acc.map_or(b, |a| a.max(b)))
        });
    best.unwrap_or(match v.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
        Severity::Info | Severity::Unknown => 0.0,
    })
}

/// The ID people search for: the advisory ID, with its CVE alias when the ID
/// is not itself a CVE (`GHSA-xxxx (CVE-2024-1234)`).
pub(crate) fn display_id(v: &Vulnerability) -> String {
    match v.cve() {
        Some(cve) if cve != v.id => format!("{} ({cve})", v.id),
        _ => v.id.clone(),
    }
}

/// A stable identity for a finding across runs: SHA-256 over the advisory
/// ID, the package's purl and its location (NUL-separated), in hex.
pub(crate) fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.vulnerability.id.as_bytes());
    h.update([0]);
    h.update(f.package.purl.as_bytes());
    h.update([0]);
    h.update(f.package.location.as_bytes());
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A relative URI reference for a path inside the target: the leading `/`
/// dropped, the outer file of a nested archive (`/app/a.war!/WEB-INF/lib/b.jar`
/// gives `app/a.war`), and every byte outside RFC 3986's unreserved characters,
/// sub-delimiters, `@` and `/` percent-encoded (`:` too, so that the first
/// segment is never read as a scheme). Empty paths give `fallback`, encoded
/// the same way.
pub(crate) fn relative_uri(location: &str, fallback: &str) -> String {
    let outer = location.split('!').next().unwrap_or(location);
    let trimmed = outer.trim_start_matches('/');
    let path = if trimmed.is_empty() {
        fallback.trim_start_matches('/')
    } else {
        trimmed
    };
    let path = if path.is_empty() { "." } else { path };
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
                    | b'/'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `s` is an `http(s)` URL, the only references presenters turn into
/// links (never `javascript:` or `data:`).
pub(crate) fn is_web_url(s: &str) -> bool {
    let lower = s.trim_start().get(..8).unwrap_or("").to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `image registry.local/app:1.2`, for titles.
pub(crate) fn target_label(report: &ScanReport) -> String {
    format!(
        "{} {}",
        target_kind_name(report.target.kind),
        report.target.name
    )
}

/// The distro as people read it: its pretty name, else `id version`.
pub(crate) fn distro_label(report: &ScanReport) -> Option<String> {
    let d = report.distro.as_ref()?;
    Some(
        d.pretty_name
            .clone()
            .unwrap_or_else(|| match &d.version_id {
                Some(v) => format!("{} {v}", d.id),
                None => d.id.clone(),
            }),
    )
}

/// The database's update time and age relative to `now`:
/// `updated 2026-12-01T00:00:00Z, 3 days ago`. The age is left out when the
/// time does not parse; `None` when the database records no time.
pub(crate) fn db_age(db: &DbInfo, now: SystemTime) -> Option<String> {
    let updated = db.updated.as_deref()?;
    let age = humantime::parse_rfc3339_weak(updated)
        .ok()
        .map(|t| match now.duration_since(t) {
            Ok(d) => format!("{} ago", age_words(d)),
            Err(e) => format!("{} in the future", age_words(e.duration())),
        });
    Some(match age {
        Some(a) => format!("updated {updated}, {a}"),
        None => format!("updated {updated}"),
    })
}

/// A coarse age: `42 minutes`, `5 hours`, `3 days`.
fn age_words(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s < 3600 {
        (s / 60, "minute")
    } else if s < 2 * 86_400 {
        (s / 3600, "hour")
    } else {
        (s / 86_400, "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Cuts `s` to at most `max` characters, ending with `…` when it was longer.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_model::Score;

    fn vuln(severity: Severity, scores: &[(&str, Option<f64>)]) -> Vulnerability {
        Vulnerability {
            id: "GHSA-1".into(),
            aliases: vec!["PYSEC-1".into(), "CVE-2024-1".into()],
            summary: None,
            details: None,
            severity,
            severity_source: None,
            scores: scores
                .iter()
                .map(|(k, b)| Score {
                    kind: k.to_string(),
                    vector: String::new(),
                    base_score: *b,
                })
                .collect(),
            published: None,
            modified: None,
            references: Vec::new(),
        }
    }

    #[test]
    fn numeric_severity_from_scores_or_words() {
        let v = vuln(
            Severity::High,
            &[
                ("CVSS_V3", Some(7.5)),
                ("CVSS_V4", Some(9.3)),
                ("Ubuntu", None),
            ],
        );
        assert_eq!(numeric_severity(&v), 9.3);
        assert_eq!(numeric_severity(&vuln(Severity::Critical, &[])), 9.5);
        assert_eq!(numeric_severity(&vuln(Severity::High, &[])), 8.0);
        assert_eq!(numeric_severity(&vuln(Severity::Medium, &[])), 5.5);
        assert_eq!(numeric_severity(&vuln(Severity::Low, &[])), 2.0);
        assert_eq!(numeric_severity(&vuln(Severity::Info, &[])), 0.0);
        assert_eq!(numeric_severity(&vuln(Severity::Unknown, &[])), 0.0);
        // A nonsense score is ignored, not trusted.
        let v = vuln(
            Severity::Low,
            &[("CVSS_V3", Some(f64::NAN)), ("CVSS_V3", Some(42.0))],
        );
        assert_eq!(numeric_severity(&v), 2.0);
    }

    #[test]
    fn display_ids_show_the_cve() {
        assert_eq!(display_id(&vuln(Severity::Low, &[])), "GHSA-1 (CVE-2024-1)");
        let mut v = vuln(Severity::Low, &[]);
        v.id = "CVE-2024-1".into();
        assert_eq!(display_id(&v), "CVE-2024-1");
    }

    #[test]
    fn relative_uris() {
        assert_eq!(
            relative_uri("/var/lib/dpkg/status", "x"),
            "var/lib/dpkg/status"
        );
        assert_eq!(
            relative_uri("/app/a.war!/WEB-INF/lib/b.jar", "x"),
            "app/a.war"
        );
        assert_eq!(
            relative_uri("/my app/ü:x%.json", "x"),
            "my%20app/%C3%BC%3Ax%25.json"
        );
        assert_eq!(relative_uri("", "./project"), "./project");
        assert_eq!(relative_uri("/", ""), ".");
        assert_eq!(relative_uri("", "registry:5000/a"), "registry%3A5000/a");
    }

    #[test]
    fn web_urls_only() {
        assert!(is_web_url("https://osv.dev/GHSA-1"));
        assert!(is_web_url("HTTP://example.org/"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https://a b"));
        assert!(!is_web_url("ftp://x"));
        assert!(!is_web_url("é"));
    }

    #[test]
    fn ages() {
        let db = DbInfo {
            updated: Some("2026-12-01T00:00:00Z".into()),
            ..Default::default()
        };
        let now =
            humantime::parse_rfc3339("2026-12-04T12:00:00Z").unwrap_or(SystemTime::UNIX_EPOCH);
        assert_eq!(
            db_age(&db, now).as_deref(),
            Some("updated 2026-12-01T00:00:00Z, 3 days ago")
        );
        let db = DbInfo {
            updated: Some("last tuesday".into()),
            ..Default::default()
        };
        assert_eq!(db_age(&db, now).as_deref(), Some("updated last tuesday"));
        assert_eq!(db_age(&DbInfo::default(), now), None);
        assert_eq!(age_words(Duration::from_secs(60)), "1 minute");
        assert_eq!(age_words(Duration::from_secs(7200)), "2 hours");
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("", 0), "");
    }
}
