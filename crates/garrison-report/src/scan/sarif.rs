//! SARIF 2.1.0 as GitHub code scanning reads it.
//!
//! - One rule per vulnerability ID, with `shortDescription`, `fullDescription`,
//!   `help` (text and Markdown: the fix and the references), and the
//!   properties GitHub ranks by: `security-severity` (a number as a string,
//!   see [`super::numeric_severity`]) and `tags`.
//! - One result per finding, `level` from its severity (CRITICAL and HIGH
//!   `error`, MEDIUM `warning`, the rest `note`), a message naming the
//!   package, its version and the fix, a relative-URI location (the file the
//!   package was read from, inside the target, with `region.startLine` 1 as
//!   GitHub requires a region), and a stable `partialFingerprints` entry.
//! - Suppressed findings keep their result with an external, accepted
//!   `suppressions` entry carrying the ignore file's reason, which GitHub
//!   shows as dismissed rather than open.
//! - Warnings become `invocations[0].toolExecutionNotifications`.

use super::{
    display_id, fingerprint, fix_text, fixed_versions, is_web_url, numeric_severity,
    recommendation, relative_uri, truncate_chars,
};
use crate::{target_kind_name, TOOL_VERSION};
use garrison_model::{Finding, ScanReport, Severity};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub(crate) const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The `partialFingerprints` key; versioned as SARIF recommends.
pub(crate) const FINGERPRINT_KEY: &str = "garrisonFinding/v1";

/// The project's home page, from the workspace manifest.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// GitHub truncates long descriptions; keep them within its limits.
const SHORT_MAX: usize = 1024;
const FULL_MAX: usize = 8192;

pub(crate) fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info | Severity::Unknown => "note",
    }
}

pub(crate) fn build(report: &ScanReport) -> Value {
    // Rules in order of first appearance (findings come sorted by risk).
    let mut order: Vec<&str> = Vec::new();
    let mut by_id: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for f in &report.findings {
        let id = f.vulnerability.id.as_str();
        let entry = by_id.entry(id).or_default();
        if entry.is_empty() {
            order.push(id);
        }
        entry.push(f);
    }
    let index: HashMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = order
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|fs| rule(fs))
        .collect();

    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(report, f, index.get(f.vulnerability.id.as_str()).copied()))
        .collect();

    let mut driver = Map::new();
    driver.insert("name".into(), json!("garrison"));
    driver.insert("version".into(), json!(TOOL_VERSION));
    driver.insert("semanticVersion".into(), json!(TOOL_VERSION));
    if is_web_url(INFORMATION_URI) && is_clean_uri(INFORMATION_URI) {
        driver.insert("informationUri".into(), json!(INFORMATION_URI));
    }
    driver.insert("rules".into(), Value::Array(rules));

    let notifications: Vec<Value> = report
        .warnings
        .iter()
        .map(|w| {
            json!({
                "level": "warning",
                "message": {"text": non_empty(format!("{}: {}", w.input, w.message))},
            })
        })
        .collect();

    let mut target = Map::new();
    target.insert("kind".into(), json!(target_kind_name(report.target.kind)));
    target.insert("name".into(), json!(report.target.name));
    if let Some(d) = &report.target.digest {
        target.insert("digest".into(), json!(d));
    }
    if let Some(d) = &report.distro {
        target.insert("distro".into(), json!(d.purl_qualifier()));
    }

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": Value::Object(driver)},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "target": Value::Object(target),
                "packagesScanned": report.packages_scanned,
                "advisoryDatabase": {
                    "schemaVersion": report.db.schema_version,
                    "advisories": report.db.advisories,
                    "updated": report.db.updated,
                    "ecosystems": report.db.ecosystems,
                },
            },
        }],
    })
}

fn rule(findings: &[&Finding]) -> Value {
    // Every finding of a rule carries the same advisory; take the first and
    // the highest severity any of them has.
    let Some(first) = findings.first() else {
        return json!({});
    };
    let v = &first.vulnerability;
    let severity = findings
        .iter()
        .map(|f| f.vulnerability.severity)
        .max()
        .unwrap_or(v.severity);
    let score = findings
        .iter()
        .map(|f| numeric_severity(&f.vulnerability))
        .fold(0.0_f64, f64::max);

    let short = v
        .summary
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("{} in {}", display_id(v), first.package.name));
    let full = v
        .details
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| short.clone());

    let mut text = format!("{}\n\n{}\n", display_id(v), full);
    let mut md = format!("**{}**\n\n{}\n", md_escape(&display_id(v)), full);
    text.push_str(&format!("\nSeverity: {severity}"));
    md.push_str(&format!("\n**Severity:** {severity}"));
    if let Some(src) = &v.severity_source {
        text.push_str(&format!(" ({src})"));
        md.push_str(&format!(" ({})", md_escape(src)));
    }
    text.push('\n');
    md.push_str("\n\n| Package | Installed | Fixed in |\n| --- | --- | --- |\n");
    text.push_str("\nAffected packages:\n");
    for f in findings {
        text.push_str(&format!(
            "- {} {} ({}): {}\n",
            f.package.name,
            f.package.version,
            f.package.location,
            recommendation(f)
        ));
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            md_cell(&f.package.name),
            md_cell(&f.package.version),
            md_cell(&fix_text(&f.fix)),
        ));
    }
    if !v.references.is_empty() {
        text.push_str("\nReferences:\n");
        md.push_str("\n**References:**\n\n");
        for r in &v.references {
            text.push_str(&format!("- {r}\n"));
            if is_web_url(r) && is_clean_uri(r) {
                md.push_str(&format!("- <{r}>\n"));
            } else {
                md.push_str(&format!("- {}\n", md_escape(r)));
            }
        }
    }

    let mut r = Map::new();
    r.insert("id".into(), json!(v.id));
    r.insert(
        "shortDescription".into(),
        json!({"text": non_empty(truncate_chars(&one_line(&short), SHORT_MAX))}),
    );
    r.insert(
        "fullDescription".into(),
        json!({"text": non_empty(truncate_chars(&full, FULL_MAX))}),
    );
    if let Some(u) = v
        .references
        .iter()
        .find(|r| is_web_url(r) && is_clean_uri(r))
    {
        r.insert("helpUri".into(), json!(u));
    }
    r.insert("help".into(), json!({"text": text, "markdown": md}));
    r.insert(
        "defaultConfiguration".into(),
        json!({"level": level(severity)}),
    );
    r.insert(
        "properties".into(),
        json!({
            "security-severity": format!("{score:.1}"),
            "tags": ["security", "vulnerability", severity.as_str()],
            "precision": "very-high",
            "aliases": v.aliases,
        }),
    );
    Value::Object(r)
}

fn result(report: &ScanReport, f: &Finding, rule_index: Option<usize>) -> Value {
    let p = &f.package;
    let v = &f.vulnerability;
    let mut message = format!(
        "Package: {}\nInstalled version: {}\nVulnerability: {}\nSeverity: {}\nFixed version: {}",
        p.name,
        p.version,
        display_id(v),
        v.severity,
        fix_text(&f.fix)
    );
    if let Some(u) = &f.distro_urgency {
        message.push_str(&format!("\nDistro urgency: {u}"));
    }
    if let Some(s) = v.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        message.push_str(&format!("\n{}", one_line(s)));
    }
    message.push_str(&format!("\nFound in {}", p.location));
    if let Some(l) = &p.layer {
        message.push_str(&format!(" (layer {l})"));
    }

    let mut loc = Map::new();
    loc.insert(
        "physicalLocation".into(),
        json!({
            "artifactLocation": {"uri": relative_uri(&p.location, &report.target.name)},
            "region": {"startLine": 1},
        }),
    );
    loc.insert(
        "message".into(),
        json!({"text": non_empty(format!("{} {}", p.name, p.version))}),
    );

    let mut r = Map::new();
    r.insert("ruleId".into(), json!(v.id));
    if let Some(i) = rule_index {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(v.severity)));
    r.insert("message".into(), json!({"text": message}));
    r.insert("locations".into(), json!([Value::Object(loc)]));
    r.insert(
        "partialFingerprints".into(),
        json!({FINGERPRINT_KEY: fingerprint(f)}),
    );
    if let Some(s) = &f.suppressed {
        let mut justification = s.reason.clone();
        if let Some(e) = &s.expires {
            justification.push_str(&format!(" (until {e})"));
        }
        r.insert(
            "suppressions".into(),
            json!([{"kind": "external", "status": "accepted", "justification": justification}]),
        );
    }
    let mut props = Map::new();
    props.insert("package".into(), json!(p.name));
    props.insert("installedVersion".into(), json!(p.version));
    props.insert("ecosystem".into(), json!(p.ecosystem));
    props.insert("purl".into(), json!(p.purl));
    props.insert("fixedVersions".into(), json!(fixed_versions(&f.fix)));
    props.insert("riskScore".into(), json!(f.risk.score));
    props.insert("riskReasons".into(), json!(f.risk.reasons));
    props.insert("kev".into(), json!(f.risk.kev));
    if let Some(e) = f.risk.epss {
        props.insert("epss".into(), json!(e));
    }
    if let Some(l) = &p.layer {
        props.insert("layer".into(), json!(l));
    }
    r.insert("properties".into(), Value::Object(props));
    Value::Object(r)
}

/// SARIF requires message texts to be non-empty.
fn non_empty(s: String) -> String {
    if s.trim().is_empty() {
        "(no description)".to_string()
    } else {
        s
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether every character of `s` may appear in a URI as RFC 3986 writes it
/// (so that `format: uri` holds and Markdown autolinks stay intact).
pub(crate) fn is_clean_uri(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b))
}

/// Escapes the Markdown punctuation that could start emphasis, code, links,
/// HTML or a table cell break in a plain value (on one line).
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        if "\\`*_{}[]<>#|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_cell(s: &str) -> String {
    md_escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Unknown), "note");
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(md_escape("a|b <x>\n*y*"), "a\\|b \\<x\\> \\*y\\*");
    }

    #[test]
    fn clean_uris() {
        assert!(is_clean_uri("https://osv.dev/vulnerability/GHSA-1?x=1#a"));
        assert!(!is_clean_uri("https://a/b c"));
        assert!(!is_clean_uri("https://a/\"><script>"));
        assert!(!is_clean_uri("https://ü.example"));
    }
}
