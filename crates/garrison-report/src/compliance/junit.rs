//! JUnit XML: one `<testsuite>` per applicable policy, one `<testcase>` per
//! check (`classname` the policy id, `name` `[SEVERITY] ID: title`); a failed
//! check has a `<failure>` whose text holds the evidence and remediation (a
//! `<skipped>` when `.garrisonignore` accepts it), a not-applicable one a
//! `<skipped>` with the reason. Policies whose
//! requirements are not met are one suite with a single skipped case.

use super::evidence_lines;
use crate::scan::junit::xml_safe;
use crate::ReportError;
use garrison_compliance::report::{ComplianceReport, Outcome};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

fn attr(s: &str) -> String {
    xml_safe(s)
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Failures and skipped cases of one suite: accepted failures are skipped;
/// a policy whose requirements fail is one skipped case.
fn counts(p: &garrison_compliance::report::PolicyResult) -> (usize, usize) {
    if !p.applicable {
        return (0, 1);
    }
    let accepted = p
        .checks
        .iter()
        .filter(|c| c.result == Outcome::Failed && c.suppressed.is_some())
        .count();
    (
        p.summary.failed - accepted.min(p.summary.failed),
        p.summary.not_applicable + accepted,
    )
}

pub(crate) fn render(report: &ComplianceReport) -> Result<String, ReportError> {
    let enc = |e: std::io::Error| ReportError::Encode {
        format: "junit",
        reason: e.to_string(),
    };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(enc)?;
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for p in &report.policies {
        let (f, sk) = counts(p);
        tests += p.checks.len().max(1);
        failures += f;
        skipped += sk;
    }
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute((
        "name",
        attr(&format!("garrison check {}", report.target.name)).as_str(),
    ));
    suites.push_attribute(("tests", tests.to_string().as_str()));
    suites.push_attribute(("failures", failures.to_string().as_str()));
    suites.push_attribute(("skipped", skipped.to_string().as_str()));
    w.write_event(Event::Start(suites)).map_err(enc)?;
    for p in &report.policies {
        let mut s = BytesStart::new("testsuite");
        s.push_attribute(("name", attr(&format!("{} ({})", p.name, p.id)).as_str()));
        s.push_attribute(("tests", p.checks.len().max(1).to_string().as_str()));
        let (f, sk) = counts(p);
        s.push_attribute(("failures", f.to_string().as_str()));
        s.push_attribute(("skipped", sk.to_string().as_str()));
        s.push_attribute(("timestamp", attr(&report.generated_at).as_str()));
        w.write_event(Event::Start(s)).map_err(enc)?;
        if !p.applicable {
            let mut tc = BytesStart::new("testcase");
            tc.push_attribute(("classname", attr(&p.id).as_str()));
            tc.push_attribute(("name", "requirements"));
            w.write_event(Event::Start(tc)).map_err(enc)?;
            let mut sk = BytesStart::new("skipped");
            sk.push_attribute((
                "message",
                "the policy's requirements are not met by this target",
            ));
            w.write_event(Event::Empty(sk)).map_err(enc)?;
            w.write_event(Event::End(BytesEnd::new("testcase")))
                .map_err(enc)?;
        }
        for c in &p.checks {
            let mut tc = BytesStart::new("testcase");
            tc.push_attribute(("classname", attr(&p.id).as_str()));
            tc.push_attribute((
                "name",
                attr(&format!("[{}] {}: {}", c.severity, c.id, c.title)).as_str(),
            ));
            w.write_event(Event::Start(tc)).map_err(enc)?;
            match c.result {
                Outcome::Passed => {}
                Outcome::Failed if c.suppressed.is_some() => {
                    let reason = c.suppressed.as_ref().map_or("", |s| s.reason.as_str());
                    let mut sk = BytesStart::new("skipped");
                    let message = attr(&format!("failed, accepted: {reason}"));
                    sk.push_attribute(("message", message.as_str()));
                    w.write_event(Event::Empty(sk)).map_err(enc)?;
                }
                Outcome::Failed => {
                    let mut f = BytesStart::new("failure");
                    f.push_attribute(("message", attr(&c.title).as_str()));
                    f.push_attribute(("type", c.severity.as_str()));
                    w.write_event(Event::Start(f)).map_err(enc)?;
                    let mut text = evidence_lines(c).join("\n");
                    if let Some(r) = &c.remediation {
                        text.push_str("\nRemediation: ");
                        text.push_str(r);
                    }
                    w.write_event(Event::Text(BytesText::new(&xml_safe(&text))))
                        .map_err(enc)?;
                    w.write_event(Event::End(BytesEnd::new("failure")))
                        .map_err(enc)?;
                }
                Outcome::NotApplicable => {
                    let mut sk = BytesStart::new("skipped");
                    sk.push_attribute((
                        "message",
                        attr(c.reason.as_deref().unwrap_or("not applicable")).as_str(),
                    ));
                    w.write_event(Event::Empty(sk)).map_err(enc)?;
                }
            }
            w.write_event(Event::End(BytesEnd::new("testcase")))
                .map_err(enc)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))
            .map_err(enc)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))
        .map_err(enc)?;
    let mut text = String::from_utf8(w.into_inner()).map_err(|e| ReportError::Encode {
        format: "junit",
        reason: e.to_string(),
    })?;
    text.push('\n');
    Ok(text)
}
