//! The SARIF of `garrison check config` validates against the official SARIF
//! 2.1.0 schema (installed by scripts/fetch-schemas).

use garrison_misconfig::k8s::K8sAnalyzer;
use garrison_misconfig::{Catalog, Context, Options, Runner, Suppressed};
use garrison_report::config::{render_config, ConfigFormat};
use garrison_report::RenderOptions;
use std::path::{Path, PathBuf};

fn schema_dir() -> PathBuf {
    match std::env::var_os("GARRISON_SCHEMAS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/schemas"),
    }
}

#[test]
fn config_sarif_validates_against_the_official_schema() {
    let path = schema_dir().join("sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "schema {} is missing ({e}): run scripts/fetch-schemas",
            path.display()
        )
    });
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap();
    let options = Options::default();
    let ctx = Context {
        catalog: Catalog::builtin().unwrap(),
        options: &options,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/k8s");
    let mut report = Runner::new(vec![Box::new(K8sAnalyzer)])
        .run(&[root.join("risky"), root.join("bad")], &ctx, |_| {})
        .unwrap();
    let f = report.findings.remove(0);
    report.suppressed.push(Suppressed {
        finding: f,
        reason: "accepted".into(),
    });
    let mut out = Vec::new();
    render_config(
        &report,
        ConfigFormat::Sarif,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And an empty report.
    let empty = garrison_misconfig::ConfigReport::default();
    let mut out = Vec::new();
    render_config(
        &empty,
        ConfigFormat::Sarif,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(validator.is_valid(&doc));
}
