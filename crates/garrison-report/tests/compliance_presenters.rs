//! The compliance presenters on a hand-made report with hostile text: JUnit
//! parses as XML with the right counts, HTML escapes everything and has its
//! print rules, the table names failed checks, JSON keeps the evidence.

use garrison_compliance::report::{
    framework_scores, summarize, CheckResult, ComplianceReport, HostInfo, Outcome, PolicyResult,
    RuleEvidence, COMPLIANCE_SCHEMA_VERSION,
};
use garrison_model::{Severity, Target, TargetKind};
use garrison_report::compliance::{render_compliance, ComplianceFormat};
use garrison_report::RenderOptions;
use std::collections::BTreeMap;

fn check(id: u64, title: &str, result: Outcome, severity: Severity) -> CheckResult {
    let mut compliance = BTreeMap::new();
    compliance.insert("pci-dss-4.0".to_string(), vec!["2.2.1".to_string()]);
    CheckResult {
        policy: "p".into(),
        id,
        title: title.into(),
        description: Some("desc".into()),
        rationale: Some("why".into()),
        impact: None,
        remediation: Some("fix <it> & \u{1b}[31mnow".into()),
        references: vec![
            "https://example.invalid/x".into(),
            "javascript:alert(1)".into(),
        ],
        compliance,
        severity,
        condition: "all",
        result,
        reason: (result == Outcome::NotApplicable).then(|| "no such file".into()),
        evidence: vec![RuleEvidence {
            rule: "f:/etc/x -> r:<b>".into(),
            result,
            detail: "line 1 of /etc/x matches".into(),
            path: Some("/etc/x".into()),
            line: Some(1),
            value: Some("</td><script>alert(1)</script>".into()),
        }],
        suppressed: None,
    }
}

fn report() -> ComplianceReport {
    let checks = vec![
        check(1, "passes <ok>", Outcome::Passed, Severity::Low),
        check(
            2,
            "fails \"<script>alert(1)</script>\"",
            Outcome::Failed,
            Severity::High,
        ),
        check(3, "n/a", Outcome::NotApplicable, Severity::Unknown),
    ];
    let frameworks = framework_scores(checks.iter());
    ComplianceReport {
        schema_version: COMPLIANCE_SCHEMA_VERSION,
        target: Target::new(TargetKind::Rootfs, "/tmp/<root>"),
        host: HostInfo {
            hostname: Some("host<1>".into()),
            os: Some("Debian 12".into()),
        },
        generated_at: "2026-01-01T00:00:00Z".into(),
        policies: vec![
            PolicyResult {
                id: "p".into(),
                name: "Policy <P>".into(),
                file: "p.yml".into(),
                description: "d".into(),
                origin: "builtin:p.yml".into(),
                trusted: true,
                applicable: true,
                requirements: None,
                summary: summarize(&checks),
                checks,
            },
            PolicyResult {
                id: "q".into(),
                name: "Not for this host".into(),
                file: "q.yml".into(),
                description: "d".into(),
                origin: "q.yml".into(),
                trusted: false,
                applicable: false,
                requirements: None,
                summary: Default::default(),
                checks: Vec::new(),
            },
        ],
        frameworks,
        warnings: Vec::new(),
    }
}

fn render(format: ComplianceFormat) -> String {
    let mut out = Vec::new();
    render_compliance(&report(), format, &RenderOptions::default(), &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn junit_is_xml_with_failures_and_skips() {
    let text = render(ComplianceFormat::Junit);
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("failures"), Some("1"));
    // One not-applicable check plus the policy whose requirements failed.
    assert_eq!(root.attribute("skipped"), Some("2"));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    assert!(failure
        .text()
        .unwrap_or("")
        .contains("Remediation: fix <it>"));
}

#[test]
fn html_escapes_everything_and_prints() {
    let page = render(ComplianceFormat::Html);
    assert!(!page.contains("<script>"), "unescaped script");
    assert!(page.contains("&lt;script&gt;"));
    assert!(page.contains("@media print") && page.contains("break-before: page"));
    assert!(page.contains("href=\"https://example.invalid/x\""));
    assert!(!page.contains("href=\"javascript:"));
    assert!(page.contains("50.0%"), "score of 1 passed / 1 failed");
    assert!(page.contains("requirements not met"));
    assert!(!page.contains('\u{1b}'));
}

#[test]
fn accepted_failures_are_marked_everywhere() {
    let mut r = report();
    r.policies[0].checks[1].suppressed = Some(garrison_model::Suppression {
        reason: "ticket SEC-1".into(),
        expires: Some("2027-01-01".into()),
    });
    let render = |format| {
        let mut out = Vec::new();
        render_compliance(&r, format, &RenderOptions::default(), &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    };
    assert!(render(ComplianceFormat::Table).contains("accepted: ticket SEC-1"));
    assert!(render(ComplianceFormat::Html).contains("Accepted risk"));
    let xml = render(ComplianceFormat::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
    assert_eq!(doc.root_element().attribute("skipped"), Some("3"));
}

#[test]
fn table_and_json() {
    let t = render(ComplianceFormat::Table);
    assert!(
        t.contains("score 50.0%: 1 passed, 1 failed, 1 not applicable"),
        "{t}"
    );
    assert!(t.contains("Failed checks (1)"));
    assert!(t.contains("not applicable to this target"));
    assert!(t.contains("pci-dss-4.0"));
    let v: serde_json::Value = serde_json::from_str(&render(ComplianceFormat::Json)).expect("json");
    assert_eq!(v["policies"][0]["checks"][1]["evidence"][0]["line"], 1);
    assert_eq!(v["policies"][0]["summary"]["score"], 50.0);
    assert_eq!(
        "html".parse::<ComplianceFormat>(),
        Ok(ComplianceFormat::Html)
    );
    assert!("pdf".parse::<ComplianceFormat>().is_err());
}
