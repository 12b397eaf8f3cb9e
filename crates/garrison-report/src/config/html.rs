//! One self-contained HTML page for a config check: inline CSS, no script, no
//! remote loads (a Content-Security-Policy forbids both). Counts by
//! severity, the findings with location, resource, rationale, remediation,
//! frameworks and reference links, then suppressed findings, files that could
//! not be checked and notes. Every value is escaped; only http(s) references
//! become links.

use super::{frameworks, severity_counts};
use crate::scan::html::{esc, sev_class};
use crate::scan::is_web_url;
use crate::{RenderOptions, TOOL_VERSION};
use garrison_misconfig::{ConfigReport, Finding};
use std::fmt::Write as _;

const CSS: &str = r#"
:root { --critical:#b71c1c; --high:#e65100; --medium:#f9a825; --low:#1565c0; --info:#00838f; --unknown:#757575; }
body { font: 14px/1.45 system-ui, sans-serif; color:#1f2328; margin:0; background:#f6f8fa; }
header, main { max-width: 1500px; margin: 0 auto; padding: 16px 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.counts { display:flex; flex-wrap:wrap; gap:8px; }
.count { background:#fff; border:1px solid #d0d7de; border-left:6px solid var(--c); border-radius:6px; padding:6px 12px; min-width:110px; }
.count b { display:block; font-size:20px; }
.sev { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-weight:600; font-size:12px; background: var(--c); }
.critical { --c: var(--critical); } .high { --c: var(--high); } .medium { --c: var(--medium); }
.low { --c: var(--low); } .info { --c: var(--info); } .unknown { --c: var(--unknown); } .medium.sev { color:#1f2328; }
table { border-collapse: collapse; width:100%; background:#fff; border:1px solid #d0d7de; }
th, td { text-align:left; vertical-align:top; padding:6px 8px; border-bottom:1px solid #d8dee4; }
th { background:#f0f3f6; font-size: 12px; text-transform: uppercase; color:#57606a; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.id { font-weight:600; white-space: nowrap; } .why { color:#57606a; font-size: 12.5px; }
.refs a { display:block; word-break: break-all; font-size:12px; }
.none { background:#dafbe1; border:1px solid #4ac26b; border-radius:6px; padding:12px; }
"#;

fn row(h: &mut String, f: &Finding, suppressed: Option<&str>) {
    let resource = f
        .resource
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let _ = write!(
        h,
        "<tr><td><span class=\"sev {c}\">{s}</span></td><td class=\"id\">{id}</td><td>{title}<div class=\"why\">{msg}</div></td>\
         <td class=\"mono\">{loc}</td><td class=\"mono\">{res}</td><td class=\"why\">{rem}<br><i>{fw}</i>",
        c = sev_class(f.severity),
        s = f.severity,
        id = esc(&f.check_id),
        title = esc(&f.title),
        msg = esc(&f.message),
        loc = esc(&f.location()),
        res = esc(&resource),
        rem = esc(&f.check.remediation),
        fw = esc(&frameworks(f)),
    );
    if let Some(reason) = suppressed {
        let _ = write!(h, "<br><b>Suppressed:</b> {}", esc(reason));
    }
    h.push_str("<div class=\"refs\">");
    for r in &f.check.references {
        if is_web_url(r) {
            let _ = write!(h, "<a href=\"{0}\" rel=\"noreferrer\">{0}</a>", esc(r));
        } else {
            let _ = write!(h, "<span>{}</span>", esc(r));
        }
    }
    h.push_str("</div></td></tr>\n");
}

fn table<'a>(h: &mut String, rows: impl Iterator<Item = (&'a Finding, Option<&'a str>)>) {
    h.push_str("<table><thead><tr><th>Severity</th><th>Check</th><th>Finding</th><th>Location</th><th>Resource</th><th>Fix</th></tr></thead><tbody>\n");
    for (f, s) in rows {
        row(h, f, s);
    }
    h.push_str("</tbody></table>\n");
}

pub(crate) fn render(report: &ConfigReport, _opts: &RenderOptions) -> String {
    let mut h = String::with_capacity(8192 + report.findings.len() * 1024);
    let title = format!("Garrison config check: {}", report.paths.join(", "));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"generator\" content=\"garrison {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header><h1>{}</h1>\
         <div>{} files checked, {} findings, {} suppressed, {} not checked</div></header>\n<main>\n",
        esc(TOOL_VERSION),
        esc(&title),
        esc(&title),
        report.files.len(),
        report.findings.len(),
        report.suppressed.len(),
        report.errors.len(),
    );
    h.push_str("<div class=\"counts\">");
    for (s, n) in severity_counts(&report.findings) {
        let _ = write!(
            h,
            "<div class=\"count {}\"><b>{n}</b>{s}</div>",
            sev_class(s)
        );
    }
    h.push_str("</div>\n<h2>Findings</h2>\n");
    if report.findings.is_empty() {
        h.push_str("<p class=\"none\">No misconfigurations found.</p>\n");
    } else {
        table(&mut h, report.findings.iter().map(|f| (f, None)));
    }
    if !report.suppressed.is_empty() {
        h.push_str("<h2>Suppressed by the ignore file</h2>\n");
        table(
            &mut h,
            report
                .suppressed
                .iter()
                .map(|s| (&s.finding, Some(s.reason.as_str()))),
        );
    }
    if !report.errors.is_empty() {
        h.push_str("<h2>Not checked</h2>\n<ul>\n");
        for e in &report.errors {
            let _ = writeln!(h, "<li class=\"mono\">{}</li>", esc(&e.to_string()));
        }
        h.push_str("</ul>\n");
    }
    if !report.notes.is_empty() || !report.warnings.is_empty() {
        h.push_str("<h2>Notes</h2>\n<ul>\n");
        for n in &report.notes {
            let _ = writeln!(
                h,
                "<li><span class=\"mono\">{}</span>: {}</li>",
                esc(&n.file),
                esc(&n.message)
            );
        }
        for w in &report.warnings {
            let _ = writeln!(
                h,
                "<li><span class=\"mono\">{}</span>: {}</li>",
                esc(&w.input),
                esc(&w.message)
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}
