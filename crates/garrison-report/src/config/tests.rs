use super::*;
use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Catalog, Context, Options, Runner, Suppressed};
use std::path::Path;

fn report() -> ConfigReport {
    let options = Options::default();
    let ctx = Context {
        catalog: Catalog::builtin().unwrap(),
        options: &options,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/k8s");
    let mut r = Runner::new(vec![Box::new(K8sAnalyzer)])
        .run(
            &[root.join("risky/rbac.yaml"), root.join("bad/invalid.yaml")],
            &ctx,
            |_| {},
        )
        .unwrap();
    let f = r.findings.remove(0);
    r.suppressed.push(Suppressed {
        finding: f,
        reason: "accepted <risk> & more".into(),
    });
    r
}

fn render(r: &ConfigReport, f: ConfigFormat) -> String {
    let mut out = Vec::new();
    render_config(r, f, &RenderOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn table_lists_findings_errors_and_summary() {
    let r = report();
    let t = render(&r, ConfigFormat::Table);
    assert!(t.contains("GAR-K8S-021"), "{t}");
    assert!(t.contains("rbac.yaml:"), "{t}");
    assert!(t.contains("1 finding suppressed"), "{t}");
    assert!(t.contains("invalid.yaml: document 2"), "{t}");
    assert!(
        t.contains(&format!("{} misconfigurations", r.findings.len())),
        "{t}"
    );
}

#[test]
fn json_round_trips_with_check_data() {
    let r = report();
    let v: serde_json::Value = serde_json::from_str(&render(&r, ConfigFormat::Json)).unwrap();
    assert_eq!(v["schema_version"], 1);
    let f = &v["findings"][0];
    assert!(f["check_id"].as_str().unwrap().starts_with("GAR-K8S-"));
    assert!(f["line"].as_u64().unwrap() > 0);
    assert!(f["check"]["remediation"].as_str().is_some());
    assert_eq!(v["errors"][0]["document"], 2);
}

#[test]
fn sarif_has_rules_locations_and_suppressions() {
    let r = report();
    let v: serde_json::Value = serde_json::from_str(&render(&r, ConfigFormat::Sarif)).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), r.findings.len() + 1);
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let loc = &res["locations"][0]["physicalLocation"];
        assert!(loc["region"]["startLine"].as_u64().unwrap() > 0);
        assert!(!loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with('/'));
    }
    assert!(results
        .iter()
        .any(|r| r["suppressions"][0]["justification"] == "accepted <risk> & more"));
    assert!(!run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn junit_is_well_formed_xml_with_counts() {
    let r = report();
    let x = render(&r, ConfigFormat::Junit);
    let doc = roxmltree::Document::parse(&x).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.attribute("failures").unwrap(),
        r.findings.len().to_string()
    );
    assert_eq!(root.attribute("skipped"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("1"));
}

#[test]
fn html_escapes_and_has_no_script() {
    let r = report();
    let h = render(&r, ConfigFormat::Html);
    assert!(h.contains("accepted &lt;risk&gt; &amp; more"));
    assert!(!h.contains("<script"));
    assert!(h.contains("GAR-K8S-029"));
}
