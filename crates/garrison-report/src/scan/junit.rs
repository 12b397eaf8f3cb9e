//! JUnit XML, the shape CI systems (GitLab, Jenkins, Azure Pipelines) show as
//! test results, laid out as Trivy's JUnit template does:
//!
//! - one `<testsuite>` per file the vulnerable packages were read from
//!   (`deb /var/lib/dpkg/status`, `npm /app/package-lock.json`),
//! - one `<testcase>` per finding (`classname` the package and version,
//!   `name` `[SEVERITY] ID`) with a `<failure>` whose `message` names the
//!   package, the vulnerability and the fix, and whose text has the details,
//!   fix, references and risk reasons,
//! - suppressed findings as test cases with `<skipped>` carrying the reason,
//! - no findings: one suite named after the target with `tests="0"`.
//!
//! Text is escaped by quick-xml; characters XML 1.0 cannot carry at all
//! (most control characters) become U+FFFD first.

use super::{display_id, fix_text, recommendation, target_label};
use crate::ReportError;
use garrison_model::{Ecosystem, Finding, ScanReport};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use std::fmt::Write as _;

/// Replaces the characters XML 1.0 forbids (controls other than tab, line
/// feed and carriage return; U+FFFE and U+FFFF) with U+FFFD.
pub(crate) fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// For attribute values: on one line as well (parsers turn line breaks in
/// attributes into spaces anyway).
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

struct Suite<'a> {
    ecosystem: Ecosystem,
    location: &'a str,
    findings: Vec<&'a Finding>,
}

pub(crate) fn render(report: &ScanReport) -> Result<String, ReportError> {
    let mut suites: Vec<Suite> = Vec::new();
    for f in &report.findings {
        let (eco, loc) = (f.package.ecosystem, f.package.location.as_str());
        match suites
            .iter_mut()
            .find(|s| s.ecosystem == eco && s.location == loc)
        {
            Some(s) => s.findings.push(f),
            None => suites.push(Suite {
                ecosystem: eco,
                location: loc,
                findings: vec![f],
            }),
        }
    }
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut w, report, &suites).map_err(|e| ReportError::Encode {
        format: "junit",
        reason: e.to_string(),
    })?;
    let mut text = String::from_utf8(w.into_inner()).map_err(|e| ReportError::Encode {
        format: "junit",
        reason: e.to_string(),
    })?;
    text.push('\n');
    Ok(text)
}

fn counts<'a>(fs: impl Iterator<Item = &'a Finding>) -> (usize, usize) {
    fs.fold((0, 0), |(failures, skipped), f| {
        if f.suppressed.is_some() {
            (failures, skipped + 1)
        } else {
            (failures + 1, skipped)
        }
    })
}

fn time(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn write(w: &mut Writer<Vec<u8>>, report: &ScanReport, suites: &[Suite]) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let (failures, skipped) = counts(report.findings.iter());
    let title = attr(&format!("garrison scan {}", target_label(report)));
    let tests = report.findings.len().to_string();
    let (failures, skipped) = (failures.to_string(), skipped.to_string());
    let total_time = time(report.duration_ms);
    w.write_event(Event::Start(BytesStart::new("testsuites").with_attributes(
        [
            ("name", title.as_str()),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", skipped.as_str()),
            ("time", total_time.as_str()),
        ],
    )))?;

    if suites.is_empty() {
        let name = attr(&target_label(report));
        w.write_event(Event::Start(BytesStart::new("testsuite").with_attributes(
            [
                ("name", name.as_str()),
                ("tests", "0"),
                ("failures", "0"),
                ("errors", "0"),
                ("skipped", "0"),
                ("time", total_time.as_str()),
            ],
        )))?;
        properties(w, report, None)?;
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }

    for s in suites {
        let name = attr(&format!("{} {}", s.ecosystem.purl_type(), s.location));
        let tests = s.findings.len().to_string();
        let (failures, skipped) = counts(s.findings.iter().copied());
        let (failures, skipped) = (failures.to_string(), skipped.to_string());
        w.write_event(Event::Start(BytesStart::new("testsuite").with_attributes(
            [
                ("name", name.as_str()),
                ("tests", tests.as_str()),
                ("failures", failures.as_str()),
                ("errors", "0"),
                ("skipped", skipped.as_str()),
                ("time", "0"),
            ],
        )))?;
        properties(w, report, Some(s))?;
        for f in &s.findings {
            testcase(w, f)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))
}

fn properties(
    w: &mut Writer<Vec<u8>>,
    report: &ScanReport,
    suite: Option<&Suite>,
) -> std::io::Result<()> {
    let mut props: Vec<(&str, String)> = vec![("target", target_label(report))];
    if let Some(d) = &report.distro {
        props.push(("distro", d.purl_qualifier()));
    }
    if let Some(s) = suite {
        props.push(("ecosystem", s.ecosystem.purl_type().to_string()));
        props.push(("location", s.location.to_string()));
    }
    props.push(("packages_scanned", report.packages_scanned.to_string()));
    w.write_event(Event::Start(BytesStart::new("properties")))?;
    for (k, v) in props {
        let v = attr(&v);
        w.write_event(Event::Empty(
            BytesStart::new("property").with_attributes([("name", k), ("value", v.as_str())]),
        ))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))
}

fn testcase(w: &mut Writer<Vec<u8>>, f: &Finding) -> std::io::Result<()> {
    let v = &f.vulnerability;
    let p = &f.package;
    let classname = attr(&format!("{}@{}", p.name, p.version));
    let name = attr(&format!("[{}] {}", v.severity, display_id(v)));
    w.write_event(Event::Start(BytesStart::new("testcase").with_attributes([
        ("classname", classname.as_str()),
        ("name", name.as_str()),
        ("time", "0"),
    ])))?;
    match &f.suppressed {
        Some(s) => {
            let mut msg = format!("suppressed by the ignore file: {}", s.reason);
            if let Some(e) = &s.expires {
                let _ = write!(msg, " (until {e})");
            }
            let msg = attr(&msg);
            w.write_event(Event::Empty(
                BytesStart::new("skipped").with_attributes([("message", msg.as_str())]),
            ))?;
        }
        None => {
            let mut msg = format!("{} {} is affected by {}", p.name, p.version, display_id(v));
            if let Some(s) = v.summary.as_deref().filter(|s| !s.trim().is_empty()) {
                let _ = write!(msg, ": {s}");
            }
            let _ = write!(msg, " (fixed in: {})", fix_text(&f.fix));
            let msg = attr(&msg);
            let kind = v.severity.as_str();
            w.write_event(Event::Start(
                BytesStart::new("failure")
                    .with_attributes([("message", msg.as_str()), ("type", kind)]),
            ))?;
            let body = xml_safe(&details(f));
            w.write_event(Event::Text(BytesText::new(&body)))?;
            w.write_event(Event::End(BytesEnd::new("failure")))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

fn details(f: &Finding) -> String {
    let v = &f.vulnerability;
    let p = &f.package;
    let mut s = String::new();
    let _ = writeln!(s, "Vulnerability: {}", display_id(v));
    if v.aliases.len() > 1 || v.cve().is_none() && !v.aliases.is_empty() {
        let _ = writeln!(s, "Aliases: {}", v.aliases.join(", "));
    }
    let _ = write!(s, "Severity: {}", v.severity);
    match &v.severity_source {
        Some(src) => {
            let _ = writeln!(s, " ({src})");
        }
        None => s.push('\n'),
    }
    let _ = writeln!(s, "Package: {} {} ({})", p.name, p.version, p.purl);
    let _ = writeln!(s, "Location: {}", p.location);
    if let Some(l) = &p.layer {
        let _ = writeln!(s, "Layer: {l}");
    }
    let _ = writeln!(s, "Fixed in: {}", fix_text(&f.fix));
    if let Some(u) = &f.distro_urgency {
        let _ = writeln!(s, "Distro urgency: {u}");
    }
    let _ = writeln!(s, "Risk score: {:.1}", f.risk.score);
    for r in &f.risk.reasons {
        let _ = writeln!(s, "  - {r}");
    }
    let _ = writeln!(s, "{}", recommendation(f));
    if let Some(d) = v.details.as_deref().or(v.summary.as_deref()) {
        let _ = writeln!(s, "\n{d}");
    }
    if !v.references.is_empty() {
        let _ = writeln!(s, "\nReferences:");
        for r in &v.references {
            let _ = writeln!(s, "  {r}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_replaced() {
        assert_eq!(
            xml_safe("a\u{0}b\u{1b}c\td\u{FFFE}"),
            "a\u{FFFD}b\u{FFFD}c\td\u{FFFD}"
        );
        assert_eq!(attr("a\nb\tc"), "a b c");
    }
}
