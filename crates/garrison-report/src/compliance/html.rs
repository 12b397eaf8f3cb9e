//! The audit report: one self-contained HTML page (inline CSS, no script, a
//! Content-Security-Policy that forbids scripts and remote loads), readable
//! on screen and ready to print or save as PDF: `@media print` rules, a cover
//! page with the target, host, date and the scores per policy and framework,
//! then one section per policy starting on a new page: its failed checks with
//! evidence, rationale and remediation, its not-applicable checks with the
//! reason, and its passed checks. Every value is escaped; only `http(s)`
//! references become links.

use super::{evidence_line, ordered, score_text};
use crate::scan::html::{esc, sev_class};
use crate::scan::is_web_url;
use crate::TOOL_VERSION;
use garrison_compliance::report::{CheckResult, ComplianceReport, Outcome, Summary};
use std::fmt::Write as _;

const CSS: &str = r#"
:root { --critical:#b71c1c; --high:#e65100; --medium:#f9a825; --low:#1565c0; --info:#00838f; --unknown:#757575;
        --pass:#1a7f37; --fail:#cf222e; --na:#6e7781; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color:#1f2328; margin:0; background:#f6f8fa; }
section { max-width: 1200px; margin: 0 auto; padding: 16px 24px; }
section.cover { background:#fff; border-bottom:1px solid #d0d7de; max-width:none; }
section.cover .inner { max-width:1200px; margin:0 auto; }
h1 { font-size: 26px; margin: 8px 0; } h2 { font-size: 20px; margin: 8px 0; } h3 { font-size: 15px; margin: 18px 0 6px; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.facts dt { color:#57606a; } dl.facts dd { margin:0; word-break: break-all; }
table { border-collapse: collapse; width:100%; background:#fff; border:1px solid #d0d7de; margin: 6px 0 12px; }
th, td { text-align:left; vertical-align:top; padding:5px 8px; border-bottom:1px solid #d8dee4; }
th { background:#f0f3f6; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color:#57606a; }
td.num { text-align:right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.score { font-weight:700; }
.meter { width:160px; height:10px; background:#e6e8eb; border-radius:5px; overflow:hidden; display:inline-block; vertical-align:middle; }
.meter span { display:block; height:100%; background: var(--pass); }
.sev { display:inline-block; padding:0 7px; border-radius:9px; color:#fff; font-weight:600; font-size:11.5px; background: var(--c); }
.critical { --c: var(--critical); } .high { --c: var(--high); } .medium { --c: var(--medium); }
.low { --c: var(--low); } .info { --c: var(--info); } .unknown { --c: var(--unknown); }
.medium.sev { color:#1f2328; }
.res { font-weight:700; white-space:nowrap; } .res.passed { color: var(--pass); } .res.failed { color: var(--fail); } .res.na { color: var(--na); }
.check { background:#fff; border:1px solid #d0d7de; border-left:6px solid var(--fail); border-radius:6px; padding:8px 12px; margin:8px 0; page-break-inside: avoid; break-inside: avoid; }
.check h4 { margin:0 0 4px; font-size:14px; }
.check p { margin: 4px 0; }
.label { color:#57606a; font-size:12px; text-transform: uppercase; letter-spacing:.03em; }
ul.evidence { margin: 2px 0; padding-left: 18px; } ul.evidence li { font-family: ui-monospace, Menlo, Consolas, monospace; font-size:12px; word-break: break-all; }
pre.fix { white-space: pre-wrap; word-break: break-word; font-size:12px; background:#f6f8fa; padding:6px; border-radius:4px; margin:2px 0; }
.refs a { word-break: break-all; font-size:12px; }
.na-note { color:#57606a; }
footer { color:#57606a; font-size:12px; max-width:1200px; margin:0 auto; padding: 16px 24px; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { background:#fff; font-size: 10.5pt; }
  section { max-width:none; padding: 0; }
  section.cover { border: none; min-height: 90vh; }
  section.policy { page-break-before: always; break-before: page; }
  .check { border-left-width: 4px; }
  th { background:#eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .sev, .meter span { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  tr { page-break-inside: avoid; break-inside: avoid; }
}
"#;

fn meter(s: &Summary) -> String {
    match s.score {
        Some(v) => format!(
            r#"<span class="meter" aria-hidden="true"><span style="width:{:.0}%"></span></span> <span class="score">{}</span>"#,
            v.clamp(0.0, 100.0),
            score_text(s.score)
        ),
        None => r#"<span class="score">n/a</span>"#.to_string(),
    }
}

fn summary_cells(s: &Summary) -> String {
    format!(
        r#"<td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>"#,
        meter(s),
        s.passed,
        s.failed,
        s.not_applicable
    )
}

fn result_span(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => r#"<span class="res passed">PASSED</span>"#,
        Outcome::Failed => r#"<span class="res failed">FAILED</span>"#,
        Outcome::NotApplicable => r#"<span class="res na">N/A</span>"#,
    }
}

fn controls(c: &CheckResult) -> String {
    c.compliance
        .iter()
        .map(|(fw, ids)| format!("{} {}", esc(fw), esc(&ids.join(", "))))
        .collect::<Vec<_>>()
        .join("; ")
}

fn failed_check(out: &mut String, c: &CheckResult) {
    let _ = write!(
        out,
        r#"<div class="check" id="check-{id}"><h4><span class="sev {cls}">{sev}</span> {id} · {title}</h4>"#,
        id = c.id,
        cls = sev_class(c.severity),
        sev = c.severity,
        title = esc(&c.title)
    );
    if let Some(s) = &c.suppressed {
        let until = s
            .expires
            .as_deref()
            .map(|e| format!(" (until {})", esc(e)))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<p><span class="label">Accepted risk</span><br>{}{until}</p>"#,
            esc(&s.reason)
        );
    }
    if let Some(d) = &c.description {
        let _ = write!(out, "<p>{}</p>", esc(d));
    }
    let _ = write!(
        out,
        r#"<p class="label">Evidence (condition: {})</p><ul class="evidence">"#,
        c.condition
    );
    for e in &c.evidence {
        let _ = write!(out, "<li>{}</li>", esc(&evidence_line(e)));
    }
    out.push_str("</ul>");
    if let Some(r) = &c.rationale {
        let _ = write!(
            out,
            r#"<p><span class="label">Rationale</span><br>{}</p>"#,
            esc(r)
        );
    }
    if let Some(i) = &c.impact {
        let _ = write!(
            out,
            r#"<p><span class="label">Impact</span><br>{}</p>"#,
            esc(i)
        );
    }
    if let Some(r) = &c.remediation {
        let _ = write!(
            out,
            r#"<p class="label">Remediation</p><pre class="fix">{}</pre>"#,
            esc(r)
        );
    }
    if !c.compliance.is_empty() {
        let _ = write!(
            out,
            r#"<p><span class="label">Controls</span><br>{}</p>"#,
            controls(c)
        );
    }
    if !c.references.is_empty() {
        out.push_str(r#"<p class="refs"><span class="label">References</span><br>"#);
        for r in &c.references {
            if is_web_url(r) {
                let _ = write!(out, r#"<a href="{0}" rel="noreferrer">{0}</a><br>"#, esc(r));
            } else {
                let _ = write!(out, "{}<br>", esc(r));
            }
        }
        out.push_str("</p>");
    }
    out.push_str("</div>");
}

pub(crate) fn render(report: &ComplianceReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let target = esc(&report.target.name);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Compliance report: {target}</title>
<style>{CSS}</style></head><body>
<section class="cover"><div class="inner">
<p class="label">Garrison compliance audit report</p>
<h1>{host}</h1>
<dl class="facts"><dt>Target</dt><dd class="mono">{target}</dd>"#,
        host = esc(report
            .host
            .hostname
            .as_deref()
            .unwrap_or(&report.target.name)),
    );
    if let Some(os) = &report.host.os {
        let _ = write!(out, "<dt>Operating system</dt><dd>{}</dd>", esc(os));
    }
    let _ = write!(
        out,
        "<dt>Date</dt><dd>{}</dd><dt>Tool</dt><dd>garrison {}</dd></dl>",
        esc(&report.generated_at),
        esc(TOOL_VERSION)
    );
    out.push_str(r#"<h2>Scores per policy</h2><table><thead><tr><th>Policy</th><th>Score</th><th>Passed</th><th>Failed</th><th>N/A</th></tr></thead><tbody>"#);
    for p in &report.policies {
        if p.applicable {
            let _ = write!(
                out,
                r##"<tr><td><a href="#policy-{id}">{name}</a><br><span class="mono">{id}</span></td>{cells}</tr>"##,
                id = esc(&p.id),
                name = esc(&p.name),
                cells = summary_cells(&p.summary)
            );
        } else {
            let _ = write!(
                out,
                r#"<tr><td>{name}<br><span class="mono">{id}</span></td><td colspan="4" class="na-note">not applicable: requirements not met</td></tr>"#,
                id = esc(&p.id),
                name = esc(&p.name)
            );
        }
    }
    out.push_str("</tbody></table>");
    if !report.frameworks.is_empty() {
        out.push_str(r#"<h2>Scores per framework</h2><table><thead><tr><th>Framework</th><th>Score</th><th>Passed</th><th>Failed</th><th>N/A</th><th>Controls</th></tr></thead><tbody>"#);
        for f in &report.frameworks {
            let _ = write!(
                out,
                r#"<tr><td>{}</td>{}<td class="num">{}</td></tr>"#,
                esc(&f.framework),
                summary_cells(&f.summary),
                f.controls.len()
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<p class=\"na-note\">Score = passed / (passed + failed) × 100; not-applicable checks do not count.</p></div></section>");

    for p in report.policies.iter().filter(|p| p.applicable) {
        let _ = write!(
            out,
            r#"<section class="policy" id="policy-{id}"><h2>{name}</h2><p>{desc}</p><dl class="facts"><dt>Policy</dt><dd class="mono">{id}</dd><dt>Loaded from</dt><dd class="mono">{origin}</dd><dt>Score</dt><dd>{meter} — {p_} passed, {f_} failed, {n_} not applicable</dd></dl>"#,
            id = esc(&p.id),
            name = esc(&p.name),
            desc = esc(&p.description),
            origin = esc(&p.origin),
            meter = meter(&p.summary),
            p_ = p.summary.passed,
            f_ = p.summary.failed,
            n_ = p.summary.not_applicable,
        );
        let checks = ordered(&p.checks);
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| c.result == Outcome::Failed)
            .collect();
        let _ = write!(out, "<h3>Failed checks ({})</h3>", failed.len());
        if failed.is_empty() {
            out.push_str(r#"<p class="na-note">None.</p>"#);
        }
        for c in failed {
            failed_check(&mut out, c);
        }
        let na: Vec<_> = checks
            .iter()
            .filter(|c| c.result == Outcome::NotApplicable)
            .collect();
        if !na.is_empty() {
            let _ = write!(
                out,
                r#"<h3>Not applicable ({})</h3><table><thead><tr><th>ID</th><th>Check</th><th>Reason</th></tr></thead><tbody>"#,
                na.len()
            );
            for c in na {
                let _ = write!(
                    out,
                    r#"<tr><td class="num">{}</td><td>{}</td><td class="na-note">{}</td></tr>"#,
                    c.id,
                    esc(&c.title),
                    esc(c.reason.as_deref().unwrap_or(""))
                );
            }
            out.push_str("</tbody></table>");
        }
        let passed: Vec<_> = checks
            .iter()
            .filter(|c| c.result == Outcome::Passed)
            .collect();
        let _ = write!(
            out,
            r#"<h3>Passed checks ({})</h3><table><thead><tr><th>ID</th><th>Result</th><th>Severity</th><th>Check</th><th>Controls</th></tr></thead><tbody>"#,
            passed.len()
        );
        for c in passed {
            let _ = write!(
                out,
                r#"<tr><td class="num">{}</td><td>{}</td><td><span class="sev {}">{}</span></td><td>{}</td><td>{}</td></tr>"#,
                c.id,
                result_span(c.result),
                sev_class(c.severity),
                c.severity,
                esc(&c.title),
                controls(c)
            );
        }
        out.push_str("</tbody></table></section>");
    }
    if !report.warnings.is_empty() {
        out.push_str(r#"<section class="policy"><h2>Warnings</h2><ul>"#);
        for w in &report.warnings {
            let _ = write!(
                out,
                r#"<li><span class="mono">{}</span>: {}</li>"#,
                esc(&w.input),
                esc(&w.message)
            );
        }
        out.push_str("</ul></section>");
    }
    let _ = writeln!(
        out,
        "<footer>Generated by garrison {} at {}. Policies in the Wazuh SCA format.</footer></body></html>",
        esc(TOOL_VERSION),
        esc(&report.generated_at)
    );
    out
}
