//! SARIF 2.1.0 for GitHub code scanning: one rule per check (with its
//! rationale, remediation, references and framework tags), one result per
//! finding at its file, line and column; suppressed findings carry an
//! `external` suppression with the ignore file's reason.

use crate::scan::relative_uri;
use crate::scan::sarif::level;
use crate::TOOL_VERSION;
use garrison_misconfig::{Check, ConfigReport, Finding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn security_severity(f: &Check) -> &'static str {
    match f.severity {
        garrison_model::Severity::Critical => "9.5",
        garrison_model::Severity::High => "8.0",
        garrison_model::Severity::Medium => "5.5",
        garrison_model::Severity::Low => "3.0",
        _ => "0.0",
    }
}

fn rule(c: &Check) -> Value {
    let mut tags = vec![
        "security".to_string(),
        "misconfiguration".to_string(),
        c.kind.to_string(),
    ];
    for (fw, ids) in &c.frameworks {
        tags.extend(ids.iter().map(|i| format!("{fw}/{i}")));
    }
    let refs = c
        .references
        .iter()
        .map(|r| format!("- {r}"))
        .collect::<Vec<_>>()
        .join("\n");
    json!({
        "id": c.id,
        "name": c.id.replace('-', ""),
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": c.rationale},
        "help": {
            "text": format!("{}\n\nRemediation: {}", c.rationale, c.remediation),
            "markdown": format!("{}\n\n**Remediation:** {}\n\n{}", c.rationale, c.remediation, refs),
        },
        "helpUri": c.references.first(),
        "defaultConfiguration": {"level": level(c.severity)},
        "properties": {"tags": tags, "security-severity": security_severity(c)},
    })
}

fn fingerprint(f: &Finding) -> String {
    let mut h = Sha256::new();
    for part in [&f.check_id, &f.file, &f.message] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(f.document.unwrap_or(0).to_le_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn result(f: &Finding, index: usize, suppressed: Option<&str>) -> Value {
    let mut region = serde_json::Map::new();
    if let Some(l) = f.line {
        region.insert("startLine".into(), json!(l));
        if let Some(c) = f.column {
            region.insert("startColumn".into(), json!(c));
        }
    }
    let mut physical = json!({"artifactLocation": {"uri": relative_uri(&f.file, &f.file)}});
    if !region.is_empty() {
        physical["region"] = Value::Object(region);
    }
    let mut loc = json!({"physicalLocation": physical});
    if let Some(r) = &f.resource {
        loc["logicalLocations"] = json!([{"name": r.to_string(), "kind": "resource"}]);
    }
    let mut r = json!({
        "ruleId": f.check_id,
        "ruleIndex": index,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [loc],
        "partialFingerprints": {"garrisonConfigFinding/v1": fingerprint(f)},
    });
    if let Some(d) = f.document {
        r["properties"] = json!({"document": d});
    }
    if let Some(reason) = suppressed {
        r["suppressions"] = json!([{"kind": "external", "justification": reason}]);
    }
    r
}

pub(crate) fn build(report: &ConfigReport) -> Value {
    let mut rules: BTreeMap<&str, &Check> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .chain(report.suppressed.iter().map(|s| &s.finding))
    {
        rules.insert(&f.check_id, &f.check);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            result(
                f,
                index.get(f.check_id.as_str()).copied().unwrap_or(0),
                None,
            )
        })
        .collect();
    results.extend(report.suppressed.iter().map(|s| {
        result(
            &s.finding,
            index.get(s.finding.check_id.as_str()).copied().unwrap_or(0),
            Some(&s.reason),
        )
    }));
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": e.to_string()},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": relative_uri(&e.file, &e.file)}}}],
            })
        })
        .collect();
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "garrison",
                "version": TOOL_VERSION,
                "rules": rules.values().map(|c| rule(c)).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let home = env!("CARGO_PKG_REPOSITORY");
    if !home.is_empty() {
        doc["runs"][0]["tool"]["driver"]["informationUri"] = json!(home);
    }
    doc
}
