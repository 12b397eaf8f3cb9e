//! One self-contained HTML page a person can open and read: inline CSS, no
//! external assets, no script (a Content-Security-Policy forbids scripts and
//! remote loads, so even a mistake in escaping could not run code).
//!
//! Header (target, distro, database, scan facts), counts by severity with a
//! bar, the findings in the order given (by risk) with the reasons for their
//! rank, fix versions and reference links, the suppressed findings in a
//! collapsed section, and the warnings. Every value from the report is
//! escaped; only `http(s)` references become links.

use super::junit::xml_safe as text_safe;
use super::{
    active, db_age, distro_label, fix_text, fixed_versions, is_web_url, severity_counts, suppressed,
};
use crate::{short_digest, target_kind_name, RenderOptions, TOOL_VERSION};
use garrison_model::{Finding, ScanReport, Severity};
use std::fmt::Write as _;
use std::time::SystemTime;

/// Escapes text for HTML content and attribute values, after replacing
/// characters that have no business in a page (controls) with U+FFFD.
pub(crate) fn esc(s: &str) -> String {
    quick_xml::escape::escape(text_safe(s).as_str()).into_owned()
}

/// The CSS class of a severity, shared by every HTML presenter.
pub(crate) fn sev_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
        Severity::Unknown => "unknown",
    }
}

const CSS: &str = r#"
:root { --critical:#b71c1c; --high:#e65100; --medium:#f9a825; --low:#1565c0; --info:#00838f; --unknown:#757575; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color:#1f2328; margin:0; background:#f6f8fa; }
header, main, footer { max-width: 1600px; margin: 0 auto; padding: 16px 24px; }
header { background:#fff; border-bottom:1px solid #d0d7de; max-width:none; }
header .inner { max-width:1600px; margin:0 auto; }
h1 { font-size: 22px; margin: 0 0 4px; }
h1 .target { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; word-break: break-all; }
h2 { font-size: 17px; margin: 24px 0 8px; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
dl.facts dt { color:#57606a; } dl.facts dd { margin:0; word-break: break-all; }
.counts { display:flex; flex-wrap:wrap; gap:8px; margin: 8px 0; }
.count { background:#fff; border:1px solid #d0d7de; border-left:6px solid var(--c); border-radius:6px; padding:6px 12px; min-width:110px; }
.count b { display:block; font-size:20px; }
.bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:#e6e8eb; margin: 8px 0 4px; }
.bar span { display:block; height:100%; }
.sev { display:inline-block; padding:1px 8px; border-radius:10px; color:#fff; font-weight:600; font-size:12px; background: var(--c); }
.critical { --c: var(--critical); } .high { --c: var(--high); } .medium { --c: var(--medium); }
.low { --c: var(--low); } .info { --c: var(--info); } .unknown { --c: var(--unknown); }
.medium.sev { color:#1f2328; }
table { border-collapse: collapse; width:100%; background:#fff; border:1px solid #d0d7de; }
th, td { text-align:left; vertical-align:top; padding:6px 8px; border-bottom:1px solid #d8dee4; }
th { background:#f0f3f6; position: sticky; top: 0; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color:#57606a; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
.mono, td.pkg .ver, td.loc { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
td.loc, .refs, .warnings .mono { word-break: break-all; }
td.pkg .ver, td.fix .mono { overflow-wrap: break-word; word-break: normal; }
.id { font-weight:600; white-space: nowrap; }
.aliases { color:#57606a; font-size:12px; }
.summary { margin-top:2px; }
.fixed { color:#1a7f37; font-weight:600; } .notfixed { color:#57606a; font-style: italic; }
ul.why { margin:0; padding-left: 16px; } ul.why li { margin:0; }
.kev { display:inline-block; background:#b71c1c; color:#fff; font-size:11px; font-weight:700; padding:0 6px; border-radius:4px; }
.refs a { display:block; word-break: break-all; font-size:12px; }
details > summary { cursor: pointer; color:#0969da; }
details.section { margin-top: 24px; background:#fff; border:1px solid #d0d7de; border-radius:6px; padding: 8px 12px; }
details.section > summary { font-size:17px; font-weight:600; color:#1f2328; }
pre.detail { white-space: pre-wrap; word-break: break-word; font-size:12px; background:#f6f8fa; padding:6px; border-radius:4px; max-height: 300px; overflow:auto; }
.none { background:#dafbe1; border:1px solid #4ac26b; border-radius:6px; padding:12px; }
.warnings li { word-break: break-all; }
footer { color:#57606a; font-size:12px; }
"#;

pub(crate) fn render(report: &ScanReport, opts: &RenderOptions) -> String {
    let now = opts.created.unwrap_or_else(SystemTime::now);
    let mut h = String::with_capacity(16_384 + report.findings.len() * 2048);
    let title = format!(
        "Garrison scan: {} {}",
        target_kind_name(report.target.kind),
        report.target.name
    );
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"generator\" content=\"garrison {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(TOOL_VERSION),
        esc(&title)
    );

    // Header.
    let t = &report.target;
    let _ = write!(
        h,
        "<header><div class=\"inner\">\n<h1>Vulnerabilities in {} <span class=\"target\">{}</span></h1>\n<dl class=\"facts\">\n",
        esc(target_kind_name(t.kind)),
        esc(&t.name)
    );
    let mut fact = |k: &str, v: &str| {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    };
    if let Some(d) = &t.digest {
        fact("Digest", d);
    }
    if let Some(p) = &t.platform {
        fact("Platform", p);
    }
    if let Some(d) = distro_label(report) {
        fact("Operating system", &d);
    }
    fact("Packages scanned", &report.packages_scanned.to_string());
    let db = &report.db;
    let mut dbtext = format!("{} advisories", db.advisories);
    if !db.ecosystems.is_empty() {
        let _ = write!(dbtext, " ({})", db.ecosystems.join(", "));
    }
    match db_age(db, now) {
        Some(a) => {
            let _ = write!(dbtext, ", {a}");
        }
        None => dbtext.push_str(", update time unknown"),
    }
    let _ = write!(dbtext, "; schema {}", db.schema_version);
    fact("Advisory database", &dbtext);
    fact("Scan took", &crate::table::duration(report.duration_ms));
    fact(
        "Report written",
        &humantime::format_rfc3339_seconds(now.max(SystemTime::UNIX_EPOCH)).to_string(),
    );
    h.push_str("</dl>\n</div></header>\n<main>\n");

    // Counts and bar.
    let counts = severity_counts(report);
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let n_supp = suppressed(report).count();
    let _ = write!(
        h,
        "<h2>{total} {} found{}</h2>\n<div class=\"counts\">\n",
        if total == 1 {
            "vulnerability"
        } else {
            "vulnerabilities"
        },
        if n_supp > 0 {
            format!(" <small>({n_supp} suppressed)</small>")
        } else {
            String::new()
        }
    );
    for (s, n) in &counts {
        let _ = writeln!(
            h,
            "<div class=\"count {}\"><b>{n}</b>{}</div>",
            sev_class(*s),
            s.as_str()
        );
    }
    h.push_str("</div>\n");
    if total > 0 {
        h.push_str("<div class=\"bar\" role=\"img\" aria-label=\"findings by severity\">");
        for (s, n) in &counts {
            if *n > 0 {
                // Percent with one decimal, computed in integers.
                let Some(per_mille) = n.saturating_mul(1000).checked_div(total) else {
                    continue;
                };
                let _ = write!(
                    h,
                    "<span class=\"{}\" style=\"width:{}.{}%;background:var(--c)\" title=\"{} {n}\"></span>",
                    sev_class(*s),
                    per_mille / 10,
                    per_mille % 10,
                    s.as_str()
                );
            }
        }
        h.push_str("</div>\n");
    }

    // Findings.
    let shown: Vec<&Finding> = active(report).collect();
    if shown.is_empty() {
        h.push_str("<p class=\"none\">No known vulnerabilities in the packages scanned.</p>\n");
    } else {
        h.push_str("<h2>Findings, highest risk first</h2>\n");
        findings_table(&mut h, &shown, false);
    }

    // Suppressed.
    let hidden: Vec<&Finding> = suppressed(report).collect();
    if !hidden.is_empty() {
        let _ = writeln!(
            h,
            "<details class=\"section\" id=\"suppressed\">\n<summary>Suppressed by the ignore file ({})</summary>",
            hidden.len()
        );
        findings_table(&mut h, &hidden, true);
        h.push_str("</details>\n");
    }

    // Warnings.
    if !report.warnings.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Warnings ({})</h2>\n<ul class=\"warnings\">",
            report.warnings.len()
        );
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

    let _ = write!(
        h,
        "</main>\n<footer>Written by garrison {}. Severity, fix versions and references are the advisory data's; \
         the risk score weighs severity, exploitation (KEV, EPSS) and whether a fix exists.</footer>\n</body>\n</html>\n",
        esc(TOOL_VERSION)
    );
    h
}

fn findings_table(h: &mut String, findings: &[&Finding], suppressed: bool) {
    h.push_str("<table>\n<thead><tr><th>#</th><th>Severity</th><th>Risk</th><th>Vulnerability</th><th>Package</th><th>Fixed in</th><th>Why it ranks here</th><th>Location</th><th>References</th>");
    if suppressed {
        h.push_str("<th>Suppressed because</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for (i, f) in findings.iter().enumerate() {
        row(h, i + 1, f, suppressed);
    }
    h.push_str("</tbody>\n</table>\n");
}

fn row(h: &mut String, n: usize, f: &Finding, suppressed: bool) {
    let v = &f.vulnerability;
    let p = &f.package;
    let class = sev_class(v.severity);
    let _ = write!(
        h,
        "<tr><td class=\"num\">{n}</td><td><span class=\"sev {class}\">{}</span>",
        v.severity.as_str()
    );
    if let Some(src) = &v.severity_source {
        let _ = write!(h, "<div class=\"aliases\">{}</div>", esc(src));
    }
    let _ = write!(h, "</td><td class=\"num\">{:.1}</td>", f.risk.score);

    // Vulnerability: ID, aliases, summary, details.
    let _ = write!(h, "<td><div class=\"id\">{}</div>", esc(&v.id));
    let others: Vec<&str> = v
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|a| *a != v.id)
        .collect();
    if !others.is_empty() {
        let _ = write!(
            h,
            "<div class=\"aliases\">{}</div>",
            esc(&others.join(", "))
        );
    }
    if let Some(s) = v.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = write!(h, "<div class=\"summary\">{}</div>", esc(s));
    }
    if let Some(d) = v.details.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = write!(
            h,
            "<details><summary>details</summary><pre class=\"detail\">{}</pre></details>",
            esc(d)
        );
    }
    h.push_str("</td>");

    // Package.
    let _ = write!(
        h,
        "<td class=\"pkg\"><div>{}</div><div class=\"ver\">{}</div><div class=\"aliases\">{}",
        esc(&p.name),
        esc(&p.version),
        esc(p.ecosystem.purl_type())
    );
    if let Some(s) = &p.source_name {
        if s != &p.name {
            let _ = write!(h, " · source {}", esc(s));
        }
    }
    h.push_str("</div></td>");

    // Fix.
    let fix = fix_text(&f.fix);
    let fixclass = if !fixed_versions(&f.fix).is_empty() {
        "fixed"
    } else {
        "notfixed"
    };
    let _ = write!(
        h,
        "<td class=\"fix\"><span class=\"{fixclass} mono\">{}</span>",
        esc(&fix)
    );
    if let Some(u) = &f.distro_urgency {
        let _ = write!(h, "<div class=\"aliases\">distro urgency: {}</div>", esc(u));
    }
    h.push_str("</td>");

    // Why.
    h.push_str("<td>");
    if f.risk.kev {
        h.push_str("<span class=\"kev\" title=\"In CISA's Known Exploited Vulnerabilities catalog\">KEV</span> ");
    }
    if let Some(e) = f.risk.epss {
        let _ = write!(h, "<span class=\"aliases\">EPSS {:.1}%", e * 100.0);
        if let Some(pc) = f.risk.epss_percentile {
            let _ = write!(h, " (percentile {:.0})", pc * 100.0);
        }
        h.push_str("</span>");
    }
    if !f.risk.reasons.is_empty() {
        h.push_str("<ul class=\"why\">");
        for r in &f.risk.reasons {
            let _ = write!(h, "<li>{}</li>", esc(r));
        }
        h.push_str("</ul>");
    }
    h.push_str("</td>");

    // Location.
    let _ = write!(h, "<td class=\"loc\">{}", esc(&p.location));
    if let Some(l) = &p.layer {
        let _ = write!(
            h,
            "<div class=\"aliases\" title=\"{}\">layer {}</div>",
            esc(l),
            esc(short_digest(l))
        );
    }
    h.push_str("</td>");

    // References.
    h.push_str("<td class=\"refs\">");
    let links: Vec<&String> = v.references.iter().filter(|r| is_web_url(r)).collect();
    let link = |h: &mut String, r: &str| {
        let _ = write!(
            h,
            "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
            esc(r.trim()),
            esc(r.trim())
        );
    };
    for r in links.iter().take(3) {
        link(h, r);
    }
    if links.len() > 3 {
        let _ = write!(h, "<details><summary>{} more</summary>", links.len() - 3);
        for r in links.iter().skip(3) {
            link(h, r);
        }
        h.push_str("</details>");
    }
    let plain: Vec<&String> = v.references.iter().filter(|r| !is_web_url(r)).collect();
    for r in plain {
        let _ = write!(h, "<div class=\"mono\">{}</div>", esc(r));
    }
    h.push_str("</td>");

    if suppressed {
        h.push_str("<td>");
        if let Some(s) = &f.suppressed {
            h.push_str(&esc(&s.reason));
            if let Some(e) = &s.expires {
                let _ = write!(h, "<div class=\"aliases\">until {}</div>", esc(e));
            }
        }
        h.push_str("</td>");
    }
    h.push_str("</tr>\n");
}
