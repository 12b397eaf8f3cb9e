//! The compliance table for people at a terminal.

use super::{evidence_lines, ordered, score_text};
use crate::table::{one_line, paint, write_warnings, ANSI_BOLD};
use crate::RenderOptions;
use comfy_table::{presets, Cell, ContentArrangement, Table};
use garrison_compliance::report::{ComplianceReport, Outcome};
use std::fmt::Write as _;

pub(crate) fn render(report: &ComplianceReport, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let mut title = format!("Compliance of {}", one_line(&report.target.name));
    if let Some(os) = &report.host.os {
        let _ = write!(title, " ({})", one_line(os));
    }
    paint(&mut out, opts.color, ANSI_BOLD, &title);
    let _ = writeln!(out, "\nchecked at {}", report.generated_at);

    for p in &report.policies {
        out.push('\n');
        paint(
            &mut out,
            opts.color,
            ANSI_BOLD,
            &format!("{} ({})", one_line(&p.name), p.id),
        );
        out.push('\n');
        if !p.applicable {
            let why = p
                .requirements
                .as_ref()
                .map(|r| format!("its requirements ({}) are not met", one_line(&r.title)))
                .unwrap_or_else(|| "not applicable".into());
            let _ = writeln!(out, "  not applicable to this target: {why}");
            continue;
        }
        let s = p.summary;
        let _ = writeln!(
            out,
            "  score {}: {} passed, {} failed, {} not applicable",
            score_text(s.score),
            s.passed,
            s.failed,
            s.not_applicable
        );
    }

    if !report.frameworks.is_empty() {
        out.push('\n');
        let mut t = new_table(opts);
        t.set_header(vec![
            "Framework",
            "Score",
            "Passed",
            "Failed",
            "Not applicable",
        ]);
        for f in &report.frameworks {
            t.add_row(vec![
                Cell::new(&f.framework),
                Cell::new(score_text(f.summary.score)),
                Cell::new(f.summary.passed),
                Cell::new(f.summary.failed),
                Cell::new(f.summary.not_applicable),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }

    let failed: Vec<_> = report
        .policies
        .iter()
        .filter(|p| p.applicable)
        .flat_map(|p| ordered(&p.checks))
        .filter(|c| c.result == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        out.push('\n');
        paint(
            &mut out,
            opts.color,
            ANSI_BOLD,
            &format!("Failed checks ({})", failed.len()),
        );
        out.push('\n');
        let mut t = new_table(opts);
        t.set_header(vec!["ID", "Severity", "Check", "Evidence", "Remediation"]);
        for c in failed {
            let controls: Vec<String> = c
                .compliance
                .get("cis")
                .map(|v| vec![format!("CIS {}", v.join(", "))])
                .unwrap_or_default();
            let mut check = one_line(&c.title);
            for ctl in controls {
                let _ = write!(check, "\n{ctl}");
            }
            if let Some(s) = &c.suppressed {
                let _ = write!(check, "\naccepted: {}", one_line(&s.reason));
            }
            t.add_row(vec![
                Cell::new(c.id),
                Cell::new(c.severity.as_str()),
                Cell::new(check),
                Cell::new(
                    evidence_lines(c)
                        .iter()
                        .map(|l| one_line(l))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                Cell::new(one_line(c.remediation.as_deref().unwrap_or("-"))),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    write_warnings(&mut out, opts.color, &report.warnings);
    let (mut passed, mut failed, mut na) = (0, 0, 0);
    for c in report.checks() {
        match c.result {
            Outcome::Passed => passed += 1,
            Outcome::Failed => failed += 1,
            Outcome::NotApplicable => na += 1,
        }
    }
    let applicable = report.policies.iter().filter(|p| p.applicable).count();
    let _ = writeln!(
        out,
        "\n{applicable} of {} policies applied; {passed} checks passed, {failed} failed, {na} not applicable.",
        report.policies.len()
    );
    out
}

fn new_table(opts: &RenderOptions) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(w) = opts.width {
        t.set_width(w);
    }
    t
}
