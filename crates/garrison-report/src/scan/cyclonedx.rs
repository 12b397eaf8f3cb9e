//! CycloneDX 1.6 with a `vulnerabilities` section (a VDR: what is known to
//! affect the target's components).
//!
//! The components are the affected packages, built by the SBOM presenter's
//! own code ([`crate::cyclonedx`]) so that `bom-ref`s, properties and the
//! root component are the same as `garrison sbom` writes. Then one
//! vulnerability per finding (a package can be affected by an advisory in
//! one location and fixed in another, and suppressions are per finding):
//!
//! - `id`, `source` (the database that publishes IDs of that form, and the
//!   OSV record's URL), `references` (the aliases),
//! - `ratings`: one per CVSS vector (method `CVSSv2`, `CVSSv3`, `CVSSv31`,
//!   `CVSSv4`, with the base score and the severity of that score on the
//!   CVSS scale) or other rating (`other`); when the advisory has none, one
//!   rating with Garrison's severity and where it came from,
//! - `description` (summary), `detail`, `recommendation` (`Upgrade X to Y or
//!   later.`, or that no fixed version is known), `advisories` (the http(s)
//!   references), `published` and `updated`,
//! - `affects`: the component's `bom-ref` and the installed version, `affected`,
//! - suppressed findings get an `analysis` with `response: ["will_not_fix"]`
//!   and the ignore file's reason (and expiry) in `detail`. No `state` is
//!   claimed: an ignore entry records a decision not to act, not a finding
//!   that the component is unaffected or the issue unexploitable,
//! - risk facts as `garrison:` properties.

use super::{fixed_versions, is_web_url, recommendation};
use crate::scan::sarif::is_clean_uri;
use crate::{RenderOptions, ReportError};
use garrison_model::{Finding, Inventory, Package, ScanReport, Score, Severity};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub(crate) fn build(report: &ScanReport, opts: &RenderOptions) -> Result<Value, ReportError> {
    // The affected packages, once each, in order of first appearance.
    let mut inv = Inventory::new(report.target.clone());
    inv.distro = report.distro.clone();
    inv.warnings = report.warnings.clone();
    type Key<'a> = (
        garrison_model::Ecosystem,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
    );
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut finding_pkg: Vec<usize> = Vec::with_capacity(report.findings.len());
    for f in &report.findings {
        let a = &f.package;
        let key: Key = (
            a.ecosystem,
            &a.name,
            &a.version,
            &a.purl,
            &a.location,
            a.layer.as_deref(),
            a.source_name.as_deref(),
        );
        let i = match index.get(&key) {
            Some(i) => *i,
            None => {
                let i = inv.packages.len();
                index.insert(key, i);
                inv.packages.push(package(f));
                i
            }
        };
        finding_pkg.push(i);
    }
    let refs = crate::cyclonedx::bom_refs(&inv.packages);
    let bom = crate::cyclonedx::build(&inv, opts);
    let mut doc = serde_json::to_value(&bom).map_err(|e| ReportError::Encode {
        format: "cyclonedx",
        reason: e.to_string(),
    })?;

    let vulns: Vec<Value> = report
        .findings
        .iter()
        .zip(&finding_pkg)
        .enumerate()
        .map(|(n, (f, i))| vulnerability(n, f, refs.get(*i).map(String::as_str)))
        .collect();

    if let Some(obj) = doc.as_object_mut() {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            let props = meta
                .entry("properties")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(arr) = props.as_array_mut() {
                let mut add = |name: &str, value: String| {
                    arr.push(json!({"name": name, "value": value}));
                };
                add(
                    "garrison:scan:packages-scanned",
                    report.packages_scanned.to_string(),
                );
                add(
                    "garrison:db:schema-version",
                    report.db.schema_version.to_string(),
                );
                add("garrison:db:advisories", report.db.advisories.to_string());
                if let Some(u) = &report.db.updated {
                    add("garrison:db:updated", u.clone());
                }
                for e in &report.db.ecosystems {
                    add("garrison:db:ecosystem", e.clone());
                }
            }
        }
        obj.insert("vulnerabilities".into(), Value::Array(vulns));
    }
    Ok(doc)
}

/// The affected package as an inventory package, for the SBOM presenter.
/// The source package's name is kept as a property: the finding does not
/// say the source's version, so the SBOM's source fields are not filled.
fn package(f: &Finding) -> Package {
    let a = &f.package;
    let mut p = Package::new(a.ecosystem, &a.name, &a.version, &a.location);
    p.purl = a.purl.clone();
    p.layer = a.layer.clone();
    if let Some(s) = &a.source_name {
        p.properties.insert("source".into(), s.clone());
    }
    p
}

/// The database that publishes IDs of this form.
fn id_source(id: &str) -> &'static str {
    let prefix = id.split('-').next().unwrap_or(id);
    match prefix {
        "CVE" => "NVD",
        "GHSA" => "GitHub Advisory Database",
        "GO" => "Go Vulnerability Database",
        "RUSTSEC" => "RustSec Advisory Database",
        "PYSEC" => "PyPI Advisory Database",
        "DSA" | "DLA" | "DTSA" | "DEBIAN" => "Debian Security Tracker",
        "USN" | "UBUNTU" => "Ubuntu Security Notices",
        "ALSA" | "ALBA" | "ALEA" => "AlmaLinux Errata",
        "RLSA" => "Rocky Linux Errata",
        "ALPINE" => "Alpine SecDB",
        "MAL" => "OpenSSF Malicious Packages",
        _ => "OSV",
    }
}

fn osv_url(id: &str) -> Option<String> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| format!("https://osv.dev/vulnerability/{id}"))
}

fn source(id: &str) -> Value {
    let mut s = Map::new();
    s.insert("name".into(), json!(id_source(id)));
    if let Some(u) = osv_url(id) {
        s.insert("url".into(), json!(u));
    }
    Value::Object(s)
}

fn cdx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
        Severity::Unknown => "unknown",
    }
}

/// The qualitative severity of a CVSS base score, as each CVSS version defines it.
fn cvss_severity(method: &str, score: f64) -> &'static str {
    if method == "CVSSv2" {
        return match score {
            s if s < 4.0 => "low",
            s if s < 7.0 => "medium",
            _ => "high",
        };
    }
    match score {
        s if s <= 0.0 => "none",
        s if s < 4.0 => "low",
        s if s < 7.0 => "medium",
        s if s < 9.0 => "high",
        _ => "critical",
    }
}

fn rating(s: &Score) -> Value {
    let kind = s.kind.to_ascii_uppercase();
    let method = match kind.as_str() {
        "CVSS_V2" => "CVSSv2",
        "CVSS_V3" if s.vector.starts_with("CVSS:3.1/") => "CVSSv31",
        "CVSS_V3" => "CVSSv3",
        "CVSS_V4" => "CVSSv4",
        _ => "other",
    };
    let mut r = Map::new();
    r.insert("source".into(), json!({"name": s.kind}));
    let score = s
        .base_score
        .filter(|b| b.is_finite() && (0.0..=10.0).contains(b));
    if let Some(b) = score {
        r.insert("score".into(), json!(b));
    }
    let severity = match (method, score) {
        ("other", _) => match s.vector.trim().to_ascii_lowercase().as_str() {
            w @ ("critical" | "high" | "medium" | "low" | "info" | "none") => Some(match w {
                "critical" => "critical",
                "high" => "high",
                "medium" => "medium",
                "low" => "low",
                "info" => "info",
                _ => "none",
            }),
            _ => None,
        },
        (m, Some(b)) => Some(cvss_severity(m, b)),
        (_, None) => None,
    };
    r.insert("severity".into(), json!(severity.unwrap_or("unknown")));
    r.insert("method".into(), json!(method));
    if !s.vector.is_empty() {
        r.insert("vector".into(), json!(s.vector));
    }
    Value::Object(r)
}

/// An RFC 3339 time as CycloneDX's `date-time` requires it, or nothing.
fn date_time(s: Option<&String>) -> Option<&String> {
    s.filter(|t| humantime::parse_rfc3339(t).is_ok())
}

fn vulnerability(n: usize, f: &Finding, component: Option<&str>) -> Value {
    let v = &f.vulnerability;
    let mut o = Map::new();
    o.insert(
        "bom-ref".into(),
        json!(format!("garrison:vulnerability:{n}:{}", v.id)),
    );
    o.insert("id".into(), json!(v.id));
    o.insert("source".into(), source(&v.id));
    let refs: Vec<Value> = v
        .aliases
        .iter()
        .filter(|a| *a != &v.id)
        .map(|a| json!({"id": a, "source": source(a)}))
        .collect();
    if !refs.is_empty() {
        o.insert("references".into(), Value::Array(refs));
    }
    let mut ratings: Vec<Value> = v.scores.iter().map(rating).collect();
    if ratings.is_empty() {
        let mut r = Map::new();
        r.insert("severity".into(), json!(cdx_severity(v.severity)));
        r.insert("method".into(), json!("other"));
        if let Some(src) = &v.severity_source {
            r.insert("justification".into(), json!(src));
        }
        ratings.push(Value::Object(r));
    }
    o.insert("ratings".into(), Value::Array(ratings));
    if let Some(s) = &v.summary {
        o.insert("description".into(), json!(s));
    }
    if let Some(d) = &v.details {
        o.insert("detail".into(), json!(d));
    }
    o.insert("recommendation".into(), json!(recommendation(f)));
    let advisories: Vec<Value> = v
        .references
        .iter()
        .filter(|r| is_web_url(r) && is_clean_uri(r))
        .map(|r| json!({"url": r}))
        .collect();
    if !advisories.is_empty() {
        o.insert("advisories".into(), Value::Array(advisories));
    }
    if let Some(p) = date_time(v.published.as_ref()) {
        o.insert("published".into(), json!(p));
    }
    if let Some(u) = date_time(v.modified.as_ref()) {
        o.insert("updated".into(), json!(u));
    }
    if let Some(s) = &f.suppressed {
        let mut detail = format!("Suppressed by the ignore file: {}", s.reason);
        if let Some(e) = &s.expires {
            detail.push_str(&format!(" (until {e})"));
        }
        o.insert(
            "analysis".into(),
            json!({"response": ["will_not_fix"], "detail": detail}),
        );
    }
    if let Some(c) = component {
        o.insert(
            "affects".into(),
            json!([{
                "ref": c,
                "versions": [{"version": f.package.version, "status": "affected"}],
            }]),
        );
    }
    let mut props = Vec::new();
    let mut add = |name: &str, value: String| props.push(json!({"name": name, "value": value}));
    add("garrison:severity", v.severity.as_str().to_string());
    if let Some(src) = &v.severity_source {
        add("garrison:severity-source", src.clone());
    }
    for fv in fixed_versions(&f.fix) {
        add("garrison:fixed-version", fv.clone());
    }
    if let Some(u) = &f.distro_urgency {
        add("garrison:distro-urgency", u.clone());
    }
    add("garrison:risk:score", format!("{}", f.risk.score));
    add("garrison:risk:kev", f.risk.kev.to_string());
    add(
        "garrison:risk:fix-available",
        f.risk.fix_available.to_string(),
    );
    if let Some(e) = f.risk.epss {
        add("garrison:risk:epss", e.to_string());
    }
    if let Some(e) = f.risk.epss_percentile {
        add("garrison:risk:epss-percentile", e.to_string());
    }
    if let Some(u) = f.risk.in_use {
        add("garrison:risk:in-use", u.to_string());
    }
    for r in &f.risk.reasons {
        add("garrison:risk:reason", r.clone());
    }
    if let Some(s) = &f.suppressed {
        add("garrison:suppressed:reason", s.reason.clone());
        if let Some(e) = &s.expires {
            add("garrison:suppressed:expires", e.clone());
        }
    }
    o.insert("properties".into(), Value::Array(props));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scales() {
        assert_eq!(cvss_severity("CVSSv31", 9.8), "critical");
        assert_eq!(cvss_severity("CVSSv31", 7.0), "high");
        assert_eq!(cvss_severity("CVSSv4", 0.0), "none");
        assert_eq!(cvss_severity("CVSSv2", 9.8), "high");
        assert_eq!(cvss_severity("CVSSv2", 5.0), "medium");
    }

    #[test]
    fn sources_by_prefix() {
        assert_eq!(id_source("GHSA-abcd-efgh-ijkl"), "GitHub Advisory Database");
        assert_eq!(id_source("CVE-2024-1"), "NVD");
        assert_eq!(id_source("weird"), "OSV");
        assert_eq!(
            osv_url("GO-2024-1").as_deref(),
            Some("https://osv.dev/vulnerability/GO-2024-1")
        );
        assert_eq!(osv_url("a b"), None);
    }
}
