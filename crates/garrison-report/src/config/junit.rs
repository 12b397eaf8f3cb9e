//! JUnit XML for CI: one `<testsuite>` per file checked, one `<testcase>` per
//! finding (`classname` the resource, `name` `[SEVERITY] ID title`) with a
//! `<failure>` carrying the location, message and remediation; suppressed
//! findings are `<skipped>`; files that could not be checked are `<error>`s.

use crate::scan::junit::xml_safe;
use crate::ReportError;
use garrison_misconfig::{ConfigReport, Finding};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::collections::BTreeMap;

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

enum Case<'a> {
    Failure(&'a Finding),
    Skipped(&'a Finding, &'a str),
    Error(String),
}

pub(crate) fn render(report: &ConfigReport) -> Result<String, ReportError> {
    let mut suites: BTreeMap<&str, Vec<Case>> = BTreeMap::new();
    for f in &report.files {
        suites.entry(&f.path).or_default();
    }
    for f in &report.findings {
        suites.entry(&f.file).or_default().push(Case::Failure(f));
    }
    for s in &report.suppressed {
        suites
            .entry(&s.finding.file)
            .or_default()
            .push(Case::Skipped(&s.finding, &s.reason));
    }
    for e in &report.errors {
        suites
            .entry(&e.file)
            .or_default()
            .push(Case::Error(e.to_string()));
    }
    write(&suites).map_err(|e| ReportError::Write {
        format: "junit",
        source: e,
    })
}

fn write(suites: &BTreeMap<&str, Vec<Case>>) -> std::io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let count = |p: fn(&Case) -> bool| {
        suites
            .values()
            .flatten()
            .filter(|c| p(c))
            .count()
            .to_string()
    };
    let tests = suites.values().map(Vec::len).sum::<usize>().to_string();
    let failures = count(|c| matches!(c, Case::Failure(_)));
    let errors = count(|c| matches!(c, Case::Error(_)));
    let skipped = count(|c| matches!(c, Case::Skipped(..)));
    w.write_event(Event::Start(BytesStart::new("testsuites").with_attributes(
        [
            ("name", "garrison check config"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", errors.as_str()),
            ("skipped", skipped.as_str()),
        ],
    )))?;
    for (file, cases) in suites {
        let name = attr(file);
        let n = cases.len().to_string();
        let f = cases
            .iter()
            .filter(|c| matches!(c, Case::Failure(_)))
            .count()
            .to_string();
        let e = cases
            .iter()
            .filter(|c| matches!(c, Case::Error(_)))
            .count()
            .to_string();
        let s = cases
            .iter()
            .filter(|c| matches!(c, Case::Skipped(..)))
            .count()
            .to_string();
        w.write_event(Event::Start(BytesStart::new("testsuite").with_attributes(
            [
                ("name", name.as_str()),
                ("tests", n.as_str()),
                ("failures", f.as_str()),
                ("errors", e.as_str()),
                ("skipped", s.as_str()),
                ("time", "0"),
            ],
        )))?;
        for c in cases {
            match c {
                Case::Failure(f) | Case::Skipped(f, _) => {
                    let classname = attr(
                        &f.resource
                            .as_ref()
                            .map_or_else(|| f.file.clone(), |r| r.to_string()),
                    );
                    let tname = attr(&format!("[{}] {} {}", f.severity, f.check_id, f.title));
                    w.write_event(Event::Start(BytesStart::new("testcase").with_attributes([
                        ("classname", classname.as_str()),
                        ("name", tname.as_str()),
                        ("time", "0"),
                    ])))?;
                    if let Case::Skipped(_, reason) = c {
                        let msg = attr(&format!("suppressed by the ignore file: {reason}"));
                        w.write_event(Event::Empty(
                            BytesStart::new("skipped").with_attributes([("message", msg.as_str())]),
                        ))?;
                    } else {
                        let msg = attr(&format!("{}: {}", f.location(), f.message));
                        w.write_event(Event::Start(BytesStart::new("failure").with_attributes([
                            ("message", msg.as_str()),
                            ("type", f.severity.as_str()),
                        ])))?;
                        let body = xml_safe(&format!(
                            "{}\nCheck: {} {}\nSeverity: {}\nWhy: {}\nFix: {}\nReferences: {}\n",
                            f.location(),
                            f.check_id,
                            f.title,
                            f.severity,
                            f.check.rationale,
                            f.check.remediation,
                            f.check.references.join(" ")
                        ));
                        w.write_event(Event::Text(BytesText::new(&body)))?;
                        w.write_event(Event::End(BytesEnd::new("failure")))?;
                    }
                    w.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
                Case::Error(msg) => {
                    let tname = attr(&format!("parse {file}"));
                    w.write_event(Event::Start(BytesStart::new("testcase").with_attributes([
                        ("classname", name.as_str()),
                        ("name", tname.as_str()),
                        ("time", "0"),
                    ])))?;
                    let m = attr(msg);
                    w.write_event(Event::Empty(
                        BytesStart::new("error")
                            .with_attributes([("message", m.as_str()), ("type", "unreadable")]),
                    ))?;
                    w.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
            }
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut s = String::from_utf8(w.into_inner()).map_err(std::io::Error::other)?;
    s.push('\n');
    Ok(s)
}
