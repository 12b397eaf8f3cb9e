//! SARIF output must validate against the official SARIF 2.1.0 JSON schema
//! (OASIS, errata 01) and carry what GitHub code scanning needs; CycloneDX
//! output against the official CycloneDX 1.6 schema, with a vulnerabilities
//! section whose `affects` point at the document's components.
//!
//! The schemas are installed by `scripts/fetch-schemas` into
//! `<workspace>/.tools/schemas` (override: env `GARRISON_SCHEMAS`); a missing
//! schema fails the test. Validation is offline: referenced schemas are served
//! from local files and every other URI is refused.

mod scan_common;

use garrison_model::Severity;
use garrison_report::{RenderOptions, ScanFormat};
use jsonschema::{Draft, Retrieve, Uri, Validator};
use scan_common::{empty, fixed_opts, hostile, render_json, rich};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    match std::env::var_os("GARRISON_SCHEMAS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/schemas"),
    }
}

fn load(rel: &str) -> Value {
    let path = schema_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "schema {} is missing ({e}): run scripts/fetch-schemas to install the official \
             SARIF and CycloneDX JSON schemas",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "schema {} is not JSON ({e}): run scripts/fetch-schemas again",
            path.display()
        )
    })
}

struct LocalSchemas(HashMap<String, Value>);

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.get(uri.as_str()).cloned().ok_or_else(|| {
            format!(
                "{} is not a local schema; refusing to fetch it",
                uri.as_str()
            )
            .into()
        })
    }
}

fn validator(main: &str, draft: Draft, refs: &[(&str, &str)]) -> Validator {
    let schema = load(main);
    let local = LocalSchemas(
        refs.iter()
            .map(|(uri, rel)| (uri.to_string(), load(rel)))
            .collect(),
    );
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .with_retriever(local)
        .build(&schema)
        .unwrap_or_else(|e| panic!("cannot compile schema {main}: {e}"))
}

fn sarif_validator() -> Validator {
    validator("sarif/sarif-schema-2.1.0.json", Draft::Draft4, &[])
}

fn cyclonedx_validator() -> Validator {
    validator(
        "cyclonedx/bom-1.6.schema.json",
        Draft::Draft7,
        &[
            (
                "http://cyclonedx.org/schema/spdx.schema.json",
                "cyclonedx/spdx.schema.json",
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.schema.json",
                "cyclonedx/jsf-0.82.schema.json",
            ),
        ],
    )
}

fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("  at {}: {}", e.instance_path(), e))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n{}\n\ndocument:\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(doc).unwrap_or_default()
    );
}

fn arr(v: &Value) -> &Vec<Value> {
    static EMPTY: Vec<Value> = Vec::new();
    v.as_array().unwrap_or(&EMPTY)
}

// ---------------------------------------------------------------- SARIF

#[test]
fn sarif_validates_for_rich_hostile_and_empty_reports() {
    let v = sarif_validator();
    for (name, r) in [("rich", rich()), ("hostile", hostile()), ("empty", empty())] {
        let doc = render_json(&r, ScanFormat::Sarif, &RenderOptions::default());
        assert_valid(&v, &doc, &format!("SARIF for the {name} report"));
        assert_sarif_uris(&doc, &format!("SARIF for the {name} report"));
    }
}

#[test]
fn sarif_validator_is_not_vacuous() {
    let v = sarif_validator();
    let good = render_json(&rich(), ScanFormat::Sarif, &fixed_opts());
    let mut doc = good.clone();
    doc["version"] = Value::from("2.0.0");
    assert!(!v.is_valid(&doc), "a wrong version must fail");
    let mut doc = good.clone();
    doc["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!v.is_valid(&doc), "an unknown level must fail");
    let mut doc = good.clone();
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] =
        serde_json::json!({});
    assert!(
        !v.is_valid(&doc),
        "a region without a start must fail (errata 01)"
    );
    let mut doc = good;
    doc["runs"][0]["tool"]["driver"]["rules"] = serde_json::json!([{"id": 5}]);
    assert!(
        !v.is_valid(&doc),
        "a rule id that is not a string must fail"
    );
    // The SARIF schema is draft 4, which has no `uri-reference` format: the
    // URIs are checked with a draft 7 format check instead (see below); that
    // check is not vacuous either.
    assert!(!format_validator("uri-reference").is_valid(&Value::from("a b\\c")));
    assert!(!format_validator("uri").is_valid(&Value::from("var/lib")));
}

/// A draft 7 schema for one string format.
fn format_validator(format: &str) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&serde_json::json!({"type": "string", "format": format}))
        .unwrap_or_else(|e| panic!("cannot compile a {format} format schema: {e}"))
}

/// Every URI in a SARIF document is what its field's format says, even where
/// the draft 4 schema cannot check it.
fn assert_sarif_uris(doc: &Value, what: &str) {
    let uri_ref = format_validator("uri-reference");
    let uri = format_validator("uri");
    let run = &doc["runs"][0];
    for r in arr(&run["results"]) {
        for l in arr(&r["locations"]) {
            let u = &l["physicalLocation"]["artifactLocation"]["uri"];
            assert!(
                uri_ref.is_valid(u),
                "{what}: artifact uri {u} is not a URI reference"
            );
            let s = u.as_str().unwrap_or_default();
            assert!(
                !s.starts_with('/') && !s.contains(':'),
                "{what}: {s} is not relative"
            );
        }
    }
    for rule in arr(&run["tool"]["driver"]["rules"]) {
        if let Some(h) = rule.get("helpUri") {
            assert!(uri.is_valid(h), "{what}: helpUri {h} is not a URI");
        }
    }
    if let Some(i) = run["tool"]["driver"].get("informationUri") {
        assert!(uri.is_valid(i), "{what}: informationUri {i} is not a URI");
    }
}

#[test]
fn sarif_has_what_github_code_scanning_needs() {
    let r = rich();
    let doc = render_json(&r, ScanFormat::Sarif, &fixed_opts());
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "garrison");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    // One rule per vulnerability ID, in order of first appearance.
    let rules = arr(&driver["rules"]);
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    let mut want: Vec<&str> = Vec::new();
    for f in &r.findings {
        if !want.contains(&f.vulnerability.id.as_str()) {
            want.push(&f.vulnerability.id);
        }
    }
    assert_eq!(ids, want);
    for rule in rules {
        let id = rule["id"].as_str().unwrap_or_default();
        let sev = rule["properties"]["security-severity"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: security-severity is not a string"));
        let n: f64 = sev
            .parse()
            .unwrap_or_else(|e| panic!("{id}: security-severity {sev:?}: {e}"));
        assert!((0.0..=10.0).contains(&n), "{id}: {n}");
        assert_eq!(sev, format!("{n:.1}"));
        let tags = arr(&rule["properties"]["tags"]);
        assert!(
            tags.contains(&Value::from("security")) && tags.contains(&Value::from("vulnerability"))
        );
        for field in ["shortDescription", "fullDescription"] {
            assert!(
                !rule[field]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .is_empty(),
                "{id}: {field}"
            );
        }
        assert!(
            !rule["help"]["text"].as_str().unwrap_or_default().is_empty(),
            "{id}: help.text"
        );
        assert!(
            !rule["help"]["markdown"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{id}: help.markdown"
        );
    }
    let rule = |id: &str| -> &Value {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
    };
    // Base score first, severity words otherwise.
    assert_eq!(rule("DSA-5764-1")["properties"]["security-severity"], "9.1");
    assert_eq!(
        rule("GHSA-9wx4-h78v-vm56")["properties"]["security-severity"],
        "7.7"
    );
    assert_eq!(
        rule("ALSA-2024:4582")["properties"]["security-severity"],
        "8.0"
    );
    assert_eq!(
        rule("GHSA-67hx-6x53-jw92")["properties"]["security-severity"],
        "2.0"
    );
    assert_eq!(
        rule("GO-2024-2687")["properties"]["security-severity"],
        "0.0"
    );
    assert_eq!(
        rule("GHSA-jfh8-c2jp-5v3q")["properties"]["security-severity"],
        "10.0"
    );
    // Help names the fix and the references.
    let dsa = rule("DSA-5764-1");
    let help = dsa["help"]["text"].as_str().unwrap_or_default();
    assert!(help.contains("libssl3 3.0.11-1~deb12u2 (/var/lib/dpkg/status): Upgrade libssl3 to 3.0.14-1~deb12u1 or later."), "{help}");
    assert!(
        help.contains("openssl 3.0.11-1~deb12u2"),
        "both packages under one rule: {help}"
    );
    assert!(help.contains("https://www.openssl.org/news/secadv/20240627.txt"));
    let md = dsa["help"]["markdown"].as_str().unwrap_or_default();
    assert!(
        md.contains("| libssl3 | 3.0.11-1\\~deb12u2 | 3.0.14-1\\~deb12u1 |"),
        "{md}"
    );
    assert!(
        md.contains("- <https://www.openssl.org/news/secadv/20240627.txt>"),
        "{md}"
    );
    assert_eq!(
        dsa["helpUri"],
        "https://security-tracker.debian.org/tracker/CVE-2024-5535"
    );
    assert_eq!(dsa["defaultConfiguration"]["level"], "error");
    let go = rule("GO-2024-2687");
    assert_eq!(
        go["shortDescription"]["text"],
        "GO-2024-2687 in golang.org/x/net"
    );

    // One result per finding, relative URIs, levels by severity.
    let results = arr(&run["results"]);
    assert_eq!(results.len(), r.findings.len());
    for (res, f) in results.iter().zip(&r.findings) {
        assert_eq!(res["ruleId"], f.vulnerability.id.as_str());
        let idx = res["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(rules.get(idx).map(|r| &r["id"]), Some(&res["ruleId"]));
        let want = match f.vulnerability.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            _ => "note",
        };
        assert_eq!(res["level"], want, "{}", f.vulnerability.id);
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap_or_default();
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "not relative: {uri}"
        );
        assert_eq!(loc["region"]["startLine"], 1);
        let msg = res["message"]["text"].as_str().unwrap_or_default();
        assert!(
            msg.contains(&f.package.name) && msg.contains(&f.package.version),
            "{msg}"
        );
        let fp = res["partialFingerprints"]["garrisonFinding/v1"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(fp.len(), 64, "{fp}");
        assert_eq!(res["suppressions"].is_array(), f.suppressed.is_some());
    }
    let uri = |i: usize| {
        results[i]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(uri(0), "var/lib/dpkg/status");
    assert_eq!(uri(3), "app/frontend%20%C3%BCn%C3%AF/package-lock.json");
    assert_eq!(uri(8), "app/app.war");
    let msg = results[0]["message"]["text"].as_str().unwrap_or_default();
    for needle in [
        "Package: libssl3",
        "Installed version: 3.0.11-1~deb12u2",
        "Fixed version: 3.0.14-1~deb12u1",
        "Vulnerability: DSA-5764-1 (CVE-2024-5535)",
        "Distro urgency: high",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    let msg = results[2]["message"]["text"].as_str().unwrap_or_default();
    assert!(msg.contains("Fixed version: not fixed"), "{msg}");
    // Suppressed: external, accepted, with the reason and expiry.
    assert_eq!(
        results[8]["suppressions"],
        serde_json::json!([{"kind": "external", "status": "accepted",
            "justification": "JndiLookup class removed from the jar at build time (until 2027-01-31)"}])
    );
    // Warnings reach the invocation.
    let notes = arr(&run["invocations"][0]["toolExecutionNotifications"]);
    assert_eq!(notes.len(), 2);
}

#[test]
fn sarif_fingerprints_are_stable_and_distinct() {
    let a = render_json(&rich(), ScanFormat::Sarif, &fixed_opts());
    let b = render_json(&rich(), ScanFormat::Sarif, &RenderOptions::default());
    let fps = |d: &Value| -> Vec<String> {
        arr(&d["runs"][0]["results"])
            .iter()
            .filter_map(|r| {
                r["partialFingerprints"]["garrisonFinding/v1"]
                    .as_str()
                    .map(String::from)
            })
            .collect()
    };
    assert_eq!(
        fps(&a),
        fps(&b),
        "same findings, same fingerprints, whatever the options"
    );
    let set: HashSet<String> = fps(&a).into_iter().collect();
    assert_eq!(
        set.len(),
        rich().findings.len(),
        "every finding has its own fingerprint"
    );
    // A different location is a different finding.
    let mut moved = rich();
    moved.findings[0].package.location = "/other/status".into();
    let c = render_json(&moved, ScanFormat::Sarif, &fixed_opts());
    assert_ne!(fps(&a)[0], fps(&c)[0]);
    assert_eq!(fps(&a)[1], fps(&c)[1]);
}

#[test]
fn sarif_for_no_findings_has_a_run_with_no_results() {
    let doc = render_json(&empty(), ScanFormat::Sarif, &fixed_opts());
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        doc["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

// ---------------------------------------------------------------- CycloneDX

#[test]
fn cyclonedx_validates_for_rich_hostile_and_empty_reports() {
    let v = cyclonedx_validator();
    for (name, r) in [("rich", rich()), ("hostile", hostile()), ("empty", empty())] {
        let doc = render_json(&r, ScanFormat::CycloneDx, &fixed_opts());
        assert_valid(&v, &doc, &format!("CycloneDX for the {name} report"));
        let doc = render_json(&r, ScanFormat::CycloneDx, &RenderOptions::default());
        assert_valid(
            &v,
            &doc,
            &format!("CycloneDX for the {name} report (default options)"),
        );
    }
}

#[test]
fn cyclonedx_validator_rejects_broken_vulnerabilities() {
    let v = cyclonedx_validator();
    let good = render_json(&rich(), ScanFormat::CycloneDx, &fixed_opts());
    let mut doc = good.clone();
    doc["vulnerabilities"][0]["ratings"][0]["method"] = Value::from("CVSSv5");
    assert!(!v.is_valid(&doc), "an unknown rating method must fail");
    let mut doc = good.clone();
    doc["vulnerabilities"][0]["affects"] = serde_json::json!([{"versions": []}]);
    assert!(!v.is_valid(&doc), "affects without ref must fail");
    let mut doc = good;
    doc["vulnerabilities"][8]["analysis"]["response"] = serde_json::json!(["ignore"]);
    assert!(!v.is_valid(&doc), "an unknown analysis response must fail");
}

#[test]
fn cyclonedx_vulnerabilities_point_at_components() {
    let r = rich();
    let doc = render_json(&r, ScanFormat::CycloneDx, &fixed_opts());
    assert_eq!(doc["specVersion"], "1.6");
    let components = arr(&doc["components"]);
    let refs: HashSet<&str> = components
        .iter()
        .filter_map(|c| c["bom-ref"].as_str())
        .collect();
    // Affected packages appear once each: libssl3 has two findings.
    let libssl = components.iter().filter(|c| c["name"] == "libssl3").count();
    assert_eq!(libssl, 1);
    assert_eq!(
        components
            .iter()
            .filter(|c| c["type"] == "operating-system")
            .count(),
        1
    );

    let vulns = arr(&doc["vulnerabilities"]);
    assert_eq!(vulns.len(), r.findings.len());
    let mut vuln_refs = HashSet::new();
    for (v, f) in vulns.iter().zip(&r.findings) {
        assert_eq!(v["id"], f.vulnerability.id.as_str());
        assert!(vuln_refs.insert(v["bom-ref"].as_str().unwrap_or_default().to_string()));
        let target = v["affects"][0]["ref"].as_str().unwrap_or_default();
        assert!(
            refs.contains(target),
            "affects.ref {target} is not a component"
        );
        let comp = components
            .iter()
            .find(|c| c["bom-ref"] == target)
            .unwrap_or_else(|| panic!("no component {target}"));
        assert_eq!(comp["purl"], f.package.purl.as_str());
        assert_eq!(
            v["affects"][0]["versions"][0]["version"],
            f.package.version.as_str()
        );
        assert_eq!(v["affects"][0]["versions"][0]["status"], "affected");
        assert!(!arr(&v["ratings"]).is_empty());
        assert!(v["recommendation"].is_string());
        assert_eq!(v["analysis"].is_object(), f.suppressed.is_some());
    }
    assert!(vuln_refs.is_disjoint(&refs.iter().map(|s| s.to_string()).collect()));

    let dsa = &vulns[0];
    assert_eq!(dsa["source"]["name"], "Debian Security Tracker");
    assert_eq!(
        dsa["source"]["url"],
        "https://osv.dev/vulnerability/DSA-5764-1"
    );
    assert_eq!(
        dsa["references"],
        serde_json::json!([{"id": "CVE-2024-5535", "source": {"name": "NVD", "url": "https://osv.dev/vulnerability/CVE-2024-5535"}}])
    );
    assert_eq!(
        dsa["ratings"],
        serde_json::json!([{"source": {"name": "CVSS_V3"}, "score": 9.1, "severity": "critical",
            "method": "CVSSv31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H"}])
    );
    assert_eq!(
        dsa["recommendation"],
        "Upgrade libssl3 to 3.0.14-1~deb12u1 or later."
    );
    assert_eq!(
        dsa["description"],
        "openssl: SSL_select_next_proto buffer overread"
    );
    assert_eq!(arr(&dsa["advisories"]).len(), 2);
    assert_eq!(dsa["published"], "2024-06-27T11:15:24Z");
    let props: Vec<(String, String)> = arr(&dsa["properties"])
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (k, val) in [
        ("garrison:risk:kev", "true"),
        ("garrison:risk:epss", "0.94"),
        ("garrison:distro-urgency", "high"),
        ("garrison:fixed-version", "3.0.14-1~deb12u1"),
        ("garrison:risk:reason", "in CISA KEV (known exploited)"),
    ] {
        assert!(
            props.contains(&(k.to_string(), val.to_string())),
            "{k}={val} missing: {props:?}"
        );
    }
    // CVSS v4 and v3 ratings side by side.
    let methods: Vec<&str> = arr(&vulns[1]["ratings"])
        .iter()
        .filter_map(|r| r["method"].as_str())
        .collect();
    assert_eq!(methods, ["CVSSv31", "CVSSv4"]);
    assert_eq!(
        vulns[1]["recommendation"],
        "Upgrade requests to one of the fixed versions: 2.32.0, 2.32.2."
    );
    // No fix: said plainly, nothing invented.
    assert_eq!(
        vulns[2]["recommendation"],
        "No fixed version of rsa is known to the advisory data."
    );
    // A word rating (Ubuntu priority) is method other.
    assert_eq!(vulns[4]["ratings"][0]["method"], "other");
    // No scores at all: Garrison's severity, method other.
    assert_eq!(
        vulns[5]["ratings"],
        serde_json::json!([{"severity": "unknown", "method": "other"}])
    );
    // Suppressed: a response, the reason; no claimed state.
    assert_eq!(
        vulns[8]["analysis"],
        serde_json::json!({"response": ["will_not_fix"],
            "detail": "Suppressed by the ignore file: JndiLookup class removed from the jar at build time (until 2027-01-31)"})
    );
    // The database and scan facts in the metadata.
    let meta: Vec<&str> = arr(&doc["metadata"]["properties"])
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        meta.contains(&"garrison:db:advisories")
            && meta.contains(&"garrison:scan:packages-scanned")
    );
}

#[test]
fn cyclonedx_for_no_findings_has_an_empty_vulnerabilities_section() {
    let doc = render_json(&empty(), ScanFormat::CycloneDx, &fixed_opts());
    assert_eq!(doc["vulnerabilities"], serde_json::json!([]));
    assert_eq!(doc["components"], serde_json::json!([]));
}

// ---------------------------------------------------------------- real advisories

fn shared_data() -> PathBuf {
    match std::env::var_os("GARRISON_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Every RustSec advisory in the shared OSV data, as a finding against the
/// first version each names: real summaries, Markdown details, references
/// and CVSS vectors through every structured format.
fn real_rustsec_report() -> garrison_model::ScanReport {
    use garrison_model::{
        AffectedPackage, Ecosystem, Finding, FixState, Risk, Score, Vulnerability,
    };
    let dir = shared_data().join("osv/crates.io");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): the shared data must be beside the workspace \
             (or set GARRISON_SHARED_DATA)",
            dir.display()
        )
    });
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut report = empty();
    report.target.name = "./real-project".into();
    let s = |v: &Value| v.as_str().map(String::from);
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let rec: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let affected = &rec["affected"][0];
        let events = arr(&affected["ranges"][0]["events"]);
        let introduced = events
            .iter()
            .find_map(|e| s(&e["introduced"]))
            .unwrap_or_else(|| "0.0.0-0".into());
        let fixed: Vec<String> = events.iter().filter_map(|e| s(&e["fixed"])).collect();
        let name = s(&affected["package"]["name"]).unwrap_or_default();
        let vulnerability = Vulnerability {
            id: s(&rec["id"]).unwrap_or_default(),
            aliases: arr(&rec["aliases"]).iter().filter_map(s).collect(),
            summary: s(&rec["summary"]),
            details: s(&rec["details"]),
            severity: Severity::Unknown,
            severity_source: None,
            scores: arr(&rec["severity"])
                .iter()
                .map(|x| Score {
                    kind: s(&x["type"]).unwrap_or_default(),
                    vector: s(&x["score"]).unwrap_or_default(),
                    base_score: None,
                })
                .collect(),
            published: s(&rec["published"]),
            modified: s(&rec["modified"]),
            references: arr(&rec["references"])
                .iter()
                .filter_map(|r| s(&r["url"]))
                .collect(),
        };
        report.findings.push(Finding {
            vulnerability,
            package: AffectedPackage {
                purl: format!("pkg:cargo/{name}@{introduced}"),
                name,
                version: introduced,
                ecosystem: Ecosystem::Cargo,
                location: "/Cargo.lock".into(),
                layer: None,
                source_name: None,
            },
            fix: if fixed.is_empty() {
                FixState::NotFixed
            } else {
                FixState::Fixed { versions: fixed }
            },
            distro_urgency: None,
            risk: Risk::default(),
            suppressed: None,
        });
    }
    assert!(
        report.findings.len() > 1000,
        "expected the shared RustSec data (over 1000 advisories) in {}, found {}",
        dir.display(),
        report.findings.len()
    );
    report.packages_scanned = report.findings.len();
    report
}

#[test]
fn real_advisories_validate_in_sarif_and_cyclonedx() {
    let r = real_rustsec_report();
    let sarif = render_json(&r, ScanFormat::Sarif, &fixed_opts());
    assert_valid(
        &sarif_validator(),
        &sarif,
        "SARIF for every RustSec advisory",
    );
    assert_sarif_uris(&sarif, "SARIF for every RustSec advisory");
    assert_eq!(arr(&sarif["runs"][0]["results"]).len(), r.findings.len());
    let cdx = render_json(&r, ScanFormat::CycloneDx, &fixed_opts());
    assert_valid(
        &cyclonedx_validator(),
        &cdx,
        "CycloneDX for every RustSec advisory",
    );
    assert_eq!(arr(&cdx["vulnerabilities"]).len(), r.findings.len());
    // JUnit parses back with one test case per finding; HTML stays script-free.
    let xml = scan_common::render(&r, ScanFormat::Junit, &fixed_opts());
    let doc = roxmltree::Document::parse(&xml)
        .unwrap_or_else(|e| panic!("JUnit for every RustSec advisory is not XML: {e}"));
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        r.findings.len()
    );
    let html = scan_common::render(&r, ScanFormat::Html, &fixed_opts());
    assert!(!html.contains("<script") && !html.contains("src="));
    assert_eq!(html.matches("<tr>").count(), r.findings.len() + 1);
}
