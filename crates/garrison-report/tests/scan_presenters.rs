//! The scan presenters: table, JSON, JUnit and HTML, on a rich report, a
//! hostile one and an empty one. (SARIF and CycloneDX are checked against
//! their official schemas in `scan_schemas.rs`.)

mod scan_common;

use garrison_model::{ScanReport, Severity};
use garrison_report::{render_scan, RenderOptions, ScanFormat};
use scan_common::{empty, fixed_opts, hostile, render, rich, HOSTILE};

// ---------------------------------------------------------------- table

#[test]
fn table_rows_follow_the_given_order_with_their_columns() {
    let r = rich();
    let text = render(&r, ScanFormat::Table, &fixed_opts());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("image registry.local:5000/app:1.2 (sha256:9f86d0"),
        "{text}"
    );
    assert!(
        lines[0].ends_with("— Debian GNU/Linux 12 (bookworm)"),
        "{text}"
    );
    assert_eq!(
        lines[1],
        "Advisory DB: 45678 advisories (Debian:12, PyPI, crates.io, npm), updated 2026-12-01T06:00:00Z, 2 days ago"
    );
    for title in [
        "SEVERITY",
        "RISK",
        "VULNERABILITY",
        "PACKAGE",
        "INSTALLED",
        "FIXED IN",
        "URGENCY",
        "LOCATION",
    ] {
        assert!(text.contains(title), "no {title} column:\n{text}");
    }
    // Rows in the order given, one line each.
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("│ "))
        .collect();
    let active: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    assert_eq!(
        rows.len(),
        active.len() + 1,
        "header + one row per finding:\n{text}"
    );
    for (row, f) in rows[1..].iter().zip(&active) {
        assert!(row.contains(f.vulnerability.severity.as_str()), "{row}");
        assert!(row.contains(&f.vulnerability.id), "{row}");
        assert!(row.contains(&format!("{:.1}", f.risk.score)), "{row}");
    }
    let row = |id: &str| -> &str {
        rows.iter()
            .copied()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"))
    };
    // CVE alias next to the advisory ID; fixed versions; urgency; location and layer.
    let r1 = row("DSA-5764-1 (CVE-2024-5535)");
    assert!(r1.contains("CRITICAL") && r1.contains("97.5") && r1.contains("libssl3"));
    assert!(r1.contains("3.0.11-1~deb12u2") && r1.contains("3.0.14-1~deb12u1"));
    assert!(r1.contains(" high ") && r1.contains("/var/lib/dpkg/status @111111111111"));
    assert!(row("GHSA-9wx4-h78v-vm56 (CVE-2024-35195)").contains("2.32.0, 2.32.2"));
    assert!(row("RUSTSEC-2023-0071").contains("not fixed"));
    assert!(row("GO-2024-2687").contains("UNKNOWN"));
    assert!(row("ALPINE-CVE-2023-42363").contains("INFO"));
    assert!(row("ALPINE-CVE-2023-42363").contains("unimportant"));
    assert!(row("@babel/traverse").contains("/app/frontend ünï/package-lock.json"));
    // Suppressed findings are not rows, but are counted.
    assert!(!text.contains("GHSA-jfh8-c2jp-5v3q"), "{text}");
    assert!(!text.contains("DLA-3449-1"), "{text}");
    assert!(
        text.contains("2 findings suppressed by the ignore file (not shown)."),
        "{text}"
    );
}

#[test]
fn table_summary_counts_every_severity_and_lists_warnings() {
    let text = render(&rich(), ScanFormat::Table, &fixed_opts());
    assert!(text.contains("2 warnings:\n  /app/yarn.lock: cannot parse /app/yarn.lock: line 12: expected a version\n"), "{text}");
    // The warning's line break does not forge a report line.
    assert!(
        text.contains("decompression cap; its remaining entries were skipped"),
        "{text}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "Total: 8 vulnerabilities (CRITICAL 2, HIGH 2, MEDIUM 1, LOW 1, INFO 1, UNKNOWN 1), \
         2 suppressed; 1234 packages scanned; DB age 2 days; 2 warnings; 2.34 s"
    );
}

#[test]
fn table_for_no_findings_still_counts_all_severities() {
    let text = render(&empty(), ScanFormat::Table, &fixed_opts());
    assert_eq!(
        text,
        "filesystem ./clean-project\n\
         Advisory DB: 0 advisories, update time unknown\n\
         No vulnerabilities found.\n\n\
         Total: 0 vulnerabilities (CRITICAL 0, HIGH 0, MEDIUM 0, LOW 0, INFO 0, UNKNOWN 0); \
         17 packages scanned; DB age unknown; 0 warnings; 12 ms\n"
    );
}

#[test]
fn table_colors_severities_only_when_asked() {
    let plain = render(&rich(), ScanFormat::Table, &fixed_opts());
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let opts = RenderOptions {
        color: true,
        ..fixed_opts()
    };
    let colored = render(&rich(), ScanFormat::Table, &opts);
    // CRITICAL bold red (ANSI 91 or 31 with bold), MEDIUM yellow.
    let critical_line = colored
        .lines()
        .find(|l| l.contains("DSA-5764-1"))
        .unwrap_or_default();
    assert!(critical_line.contains("\u{1b}["), "{critical_line:?}");
    assert!(critical_line.contains("CRITICAL"));
    let medium_line = colored
        .lines()
        .find(|l| l.contains("RUSTSEC-2023-0071"))
        .unwrap_or_default();
    assert!(
        medium_line.contains("\u{1b}[38;5;11m") || medium_line.contains("\u{1b}[93m"),
        "{medium_line:?}"
    );
}

#[test]
fn table_fits_narrow_terminals_and_never_lets_input_escape() {
    for width in [0u16, 20, 60, 100, 160] {
        let opts = RenderOptions {
            width: Some(width),
            ..fixed_opts()
        };
        let text = render(&rich(), ScanFormat::Table, &opts);
        assert!(text.contains("CRITICAL"), "width {width}:\n{text}");
        if width >= 100 {
            for l in text
                .lines()
                .filter(|l| l.starts_with('│') || l.starts_with('┌'))
            {
                assert!(
                    unicode_width(l) <= usize::from(width),
                    "line wider than {width}: {l}"
                );
            }
        }
    }
    let text = render(&hostile(), ScanFormat::Table, &fixed_opts());
    assert!(
        !text.contains('\u{1b}'),
        "escape sequences reach the terminal"
    );
    assert!(!text.contains('\u{0}'));
    assert!(
        !text.lines().any(|l| l.starts_with("second line")),
        "{text}"
    );
}

fn unicode_width(s: &str) -> usize {
    s.chars().count()
}

// ---------------------------------------------------------------- json

#[test]
fn json_is_the_report_as_is() {
    for r in [rich(), empty(), hostile()] {
        let text = render(&r, ScanFormat::Json, &RenderOptions::default());
        let back: ScanReport = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("json output does not read back: {e}"));
        assert_eq!(back, r);
        assert!(text.ends_with("}\n"));
    }
    let doc: serde_json::Value = serde_json::from_str(&render(
        &rich(),
        ScanFormat::Json,
        &RenderOptions::default(),
    ))
    .unwrap_or_default();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["findings"][0]["fix"]["state"], "fixed");
    assert_eq!(
        doc["findings"][2]["fix"],
        serde_json::json!({"state": "not-fixed"})
    );
    assert_eq!(doc["findings"][0]["vulnerability"]["severity"], "CRITICAL");
    let doc: serde_json::Value = serde_json::from_str(&render(
        &empty(),
        ScanFormat::Json,
        &RenderOptions::default(),
    ))
    .unwrap_or_default();
    assert_eq!(doc["findings"], serde_json::json!([]));
}

/// The scan example in docs/json-output.md is exactly what the JSON and table
/// presenters write for it.
#[test]
fn documented_scan_example_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json-output.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let section = doc
        .split_once("# `garrison scan --format json`")
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no scan section in {}", path.display()));
    let block = |fence: &str| -> String {
        let start = section
            .find(fence)
            .unwrap_or_else(|| panic!("no {fence:?} block in the scan section"))
            + fence.len();
        let len = section[start..].find("```").unwrap_or(0);
        section[start..start + len].to_string()
    };
    let json = block("```json\n");
    let report: ScanReport = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the documented scan example does not parse: {e}"));
    assert_eq!(render(&report, ScanFormat::Json, &fixed_opts()), json);
    let table =
        block("`--format table` (on a terminal 120 columns wide, without colors):\n\n```\n");
    let opts = RenderOptions {
        width: Some(120),
        ..fixed_opts()
    };
    assert_eq!(render(&report, ScanFormat::Table, &opts), table);
}

// ---------------------------------------------------------------- junit

fn parse_xml(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text)
        .unwrap_or_else(|e| panic!("JUnit output is not well-formed XML: {e}\n{text}"))
}

#[test]
fn junit_has_a_suite_per_location_and_a_case_per_finding() {
    let r = rich();
    let text = render(&r, ScanFormat::Junit, &fixed_opts());
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let doc = parse_xml(&text);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("10"));
    assert_eq!(root.attribute("failures"), Some("8"));
    assert_eq!(root.attribute("skipped"), Some("2"));
    assert_eq!(root.attribute("time"), Some("2.345"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites.iter().filter_map(|s| s.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "deb /var/lib/dpkg/status",
            "pypi /usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
            "cargo /usr/local/bin/server",
            "npm /app/frontend ünï/package-lock.json",
            "apk /lib/apk/db/installed",
            "golang /usr/local/bin/gateway",
            "rpm /var/lib/rpm/rpmdb.sqlite",
            "maven /app/app.war!/WEB-INF/lib/log4j-core-2.14.1.jar",
        ]
    );
    let mut cases = 0;
    for s in &suites {
        let tc: Vec<_> = s
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(s.attribute("tests"), Some(tc.len().to_string().as_str()));
        let failures = tc
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        let skipped = tc
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
            .count();
        assert_eq!(failures + skipped, tc.len());
        assert_eq!(s.attribute("failures"), Some(failures.to_string().as_str()));
        assert_eq!(s.attribute("skipped"), Some(skipped.to_string().as_str()));
        cases += tc.len();
    }
    assert_eq!(cases, r.findings.len());

    // The Debian suite: two failures (libssl3, openssl) and one skipped (the DLA).
    let deb = suites[0];
    let tc: Vec<_> = deb
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        tc[0].attribute("classname"),
        Some("libssl3@3.0.11-1~deb12u2")
    );
    assert_eq!(
        tc[0].attribute("name"),
        Some("[CRITICAL] DSA-5764-1 (CVE-2024-5535)")
    );
    let failure = tc[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("no failure in {text}"));
    assert_eq!(failure.attribute("type"), Some("CRITICAL"));
    assert_eq!(
        failure.attribute("message"),
        Some("libssl3 3.0.11-1~deb12u2 is affected by DSA-5764-1 (CVE-2024-5535): openssl: SSL_select_next_proto buffer overread (fixed in: 3.0.14-1~deb12u1)")
    );
    let body = failure.text().unwrap_or_default();
    for needle in [
        "Fixed in: 3.0.14-1~deb12u1",
        "Distro urgency: high",
        "in CISA KEV (known exploited)",
        "Upgrade libssl3 to 3.0.14-1~deb12u1 or later.",
        "https://www.openssl.org/news/secadv/20240627.txt",
        "Layer: sha256:1111",
    ] {
        assert!(
            body.contains(needle),
            "failure text lacks {needle:?}:\n{body}"
        );
    }
    let skipped = tc
        .iter()
        .find_map(|c| c.children().find(|n| n.has_tag_name("skipped")))
        .unwrap_or_else(|| panic!("no skipped case in the deb suite"));
    assert_eq!(
        skipped.attribute("message"),
        Some("suppressed by the ignore file: not reachable: no OID parsing of untrusted input")
    );
    // Not-fixed findings say so.
    let cargo = suites[2]
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.attribute("message"))
        .unwrap_or_default();
    assert!(cargo.ends_with("(fixed in: not fixed)"), "{cargo}");
}

#[test]
fn junit_for_no_findings_is_one_empty_suite() {
    let text = render(&empty(), ScanFormat::Junit, &fixed_opts());
    let doc = parse_xml(&text);
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("0"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(
        suites[0].attribute("name"),
        Some("filesystem ./clean-project")
    );
    assert_eq!(suites[0].attribute("tests"), Some("0"));
    assert_eq!(suites[0].attribute("failures"), Some("0"));
    assert!(!suites[0].children().any(|n| n.has_tag_name("testcase")));
}

#[test]
fn junit_escapes_hostile_strings() {
    let text = render(&hostile(), ScanFormat::Junit, &fixed_opts());
    let doc = parse_xml(&text);
    // Values read back intact, except the characters XML cannot carry.
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("no failure"));
    let body = failure.text().unwrap_or_default();
    let safe = HOSTILE.replace(['\u{1b}', '\u{0}'], "\u{FFFD}");
    assert!(body.contains(&safe), "{body}");
    let message = failure.attribute("message").unwrap_or_default();
    assert!(
        message.contains("<script>alert('x')</script> & \"quotes\" ]]>"),
        "{message}"
    );
    assert!(
        !text.contains("<script>"),
        "unescaped markup in the XML text"
    );
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .and_then(|n| n.attribute("classname"))
        .unwrap_or_default();
    assert!(case.starts_with("pkg<script>"), "{case}");
}

// ---------------------------------------------------------------- html

#[test]
fn html_is_one_self_contained_readable_page() {
    let r = rich();
    let html = render(&r, ScanFormat::Html, &fixed_opts());
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    // Self-contained: no script, no external stylesheet, image or frame, and a
    // policy that forbids them anyway.
    for bad in [
        "<script", "<link", "<img", "<iframe", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "HTML contains {bad:?}");
    }
    assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'"));
    // Header facts.
    for needle in [
        "registry.local:5000/app:1.2",
        "Debian GNU/Linux 12 (bookworm)",
        "45678 advisories (Debian:12, PyPI, crates.io, npm), updated 2026-12-01T06:00:00Z, 2 days ago",
        "<dt>Packages scanned</dt><dd>1234</dd>",
        "8 vulnerabilities found <small>(2 suppressed)</small>",
    ] {
        assert!(html.contains(needle), "HTML lacks {needle:?}");
    }
    // Counts for all six severities, and a bar.
    for (sev, n) in [
        (Severity::Critical, 2),
        (Severity::High, 2),
        (Severity::Medium, 1),
        (Severity::Low, 1),
        (Severity::Info, 1),
        (Severity::Unknown, 1),
    ] {
        let needle = format!("<b>{n}</b>{}</div>", sev.as_str());
        assert!(
            html.contains(&needle),
            "HTML lacks the {sev} count {needle}"
        );
    }
    assert!(html.contains("class=\"bar\""));
    assert!(html.contains("width:25.0%"));
    // Findings in the order given, with reasons, fixes and links.
    let main_table = html
        .split("<details class=\"section\" id=\"suppressed\">")
        .next()
        .unwrap_or_default();
    let mut last = 0;
    for f in r.findings.iter().filter(|f| f.suppressed.is_none()) {
        let needle = format!("<div class=\"id\">{}</div>", f.vulnerability.id);
        let at = main_table[last..]
            .find(&needle)
            .map(|i| i + last)
            .unwrap_or_else(|| panic!("{} missing or out of order", f.vulnerability.id));
        last = at;
    }
    assert!(html.contains("<li>in CISA KEV (known exploited)</li>"));
    assert!(html.contains(">KEV</span>"));
    assert!(html.contains("EPSS 94.0% (percentile 99)"));
    assert!(html.contains("3.0.14-1~deb12u1"));
    assert!(html.contains("<span class=\"notfixed mono\">not fixed</span>"));
    assert!(html.contains(
        "<a href=\"https://www.openssl.org/news/secadv/20240627.txt\" rel=\"noopener noreferrer\">"
    ));
    assert!(
        html.contains("<summary>2 more</summary>"),
        "5 references: 3 shown, 2 folded"
    );
    // Suppressed findings only in the collapsed section, with their reasons.
    assert!(!main_table.contains("GHSA-jfh8-c2jp-5v3q"));
    let suppressed = html.split("id=\"suppressed\">").nth(1).unwrap_or_default();
    assert!(suppressed.contains("Suppressed by the ignore file (2)"));
    assert!(suppressed.contains("GHSA-jfh8-c2jp-5v3q"));
    assert!(suppressed.contains("JndiLookup class removed from the jar at build time"));
    assert!(suppressed.contains("until 2027-01-31"));
    // Warnings.
    assert!(html.contains("cannot parse /app/yarn.lock: line 12: expected a version"));
}

#[test]
fn html_escapes_everything_and_links_only_web_urls() {
    let html = render(&hostile(), ScanFormat::Html, &fixed_opts());
    assert!(!html.contains("<script"), "hostile markup reached the page");
    assert!(
        !html.contains("href=\"javascript:"),
        "javascript: became a link"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;quotes&quot;")
    );
    assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));
    // A web URL with markup in it is a link, with its attribute escaped.
    assert!(html.contains("href=\"https://example.org/ok?a=1&amp;b=&lt;2&gt;\""));
    // The page still parses as XML-ish markup? Count balanced table rows.
    assert_eq!(html.matches("<tr>").count(), html.matches("</tr>").count());
    assert_eq!(html.matches("<td").count(), html.matches("</td>").count());
}

#[test]
fn html_for_no_findings() {
    let html = render(&empty(), ScanFormat::Html, &fixed_opts());
    assert!(html.contains("0 vulnerabilities found"));
    assert!(html.contains("No known vulnerabilities in the packages scanned."));
    assert!(html.contains("<b>0</b>UNKNOWN</div>"));
    assert!(!html.contains("<table"));
    assert!(!html.contains("class=\"bar\""));
}

// ---------------------------------------------------------------- errors

struct Broken;

impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

#[test]
fn write_failures_are_typed_errors_naming_the_format() {
    for format in ScanFormat::ALL {
        let err = match render_scan(&rich(), format, &fixed_opts(), &mut Broken) {
            Ok(()) => panic!("{format}: writing to a broken sink succeeded"),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("cannot write the {} report", format.name()))
                && msg.contains("disk full"),
            "{format}: {msg}"
        );
    }
}
