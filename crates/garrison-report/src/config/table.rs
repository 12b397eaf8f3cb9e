//! The config table for people at a terminal: one row per finding (severity,
//! check, resource, location, message), the files that could not be checked,
//! notes, warnings, and a summary line.

use super::severity_counts;
use crate::scan::table::severity_color;
use crate::table::{one_line, paint, plural, write_warnings, ANSI_BOLD, ANSI_YELLOW};
use crate::RenderOptions;
use comfy_table::{presets, Attribute, Cell, ContentArrangement, Table};
use garrison_misconfig::ConfigReport;
use garrison_model::Severity;
use std::fmt::Write as _;

pub(crate) fn render(report: &ConfigReport, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let n_files = report.files.len();
    paint(
        &mut out,
        opts.color,
        ANSI_BOLD,
        &format!(
            "config check of {} ({n_files} {})",
            one_line(&report.paths.join(", ")),
            plural(n_files, "file", "files")
        ),
    );
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("No misconfigurations found.\n");
    } else {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED);
        if opts.color {
            t.enforce_styling();
        } else {
            t.force_no_tty();
        }
        if let Some(w) = opts.width {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        t.set_header(
            ["Severity", "Check", "Resource", "Location", "Message"].map(|h| {
                let c = Cell::new(h);
                if opts.color {
                    c.add_attribute(Attribute::Bold)
                } else {
                    c
                }
            }),
        );
        for f in &report.findings {
            let sev = Cell::new(f.severity.as_str());
            let sev = if opts.color {
                let c = sev.fg(severity_color(f.severity));
                if f.severity == Severity::Critical {
                    c.add_attribute(Attribute::Bold)
                } else {
                    c
                }
            } else {
                sev
            };
            t.add_row(vec![
                sev,
                Cell::new(&f.check_id),
                Cell::new(one_line(
                    &f.resource
                        .as_ref()
                        .map(|r| r.to_string())
                        .unwrap_or_default(),
                )),
                Cell::new(one_line(&f.location())),
                Cell::new(one_line(&f.message)),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    let n_supp = report.suppressed.len();
    if n_supp > 0 {
        let _ = writeln!(
            out,
            "{n_supp} {} suppressed by the ignore file (not shown).",
            plural(n_supp, "finding", "findings")
        );
    }
    if !report.errors.is_empty() {
        out.push('\n');
        let n = report.errors.len();
        paint(
            &mut out,
            opts.color,
            ANSI_YELLOW,
            &format!(
                "{n} {} not checked:",
                plural(n, "file or document", "files or documents")
            ),
        );
        out.push('\n');
        for e in &report.errors {
            let _ = writeln!(out, "  {}", one_line(&e.to_string()));
        }
    }
    if !report.notes.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{} {}:",
            report.notes.len(),
            plural(report.notes.len(), "note", "notes")
        );
        for n in &report.notes {
            let doc = n
                .document
                .map(|d| format!(" (document {d})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{doc}: {}",
                one_line(&n.file),
                one_line(&n.message)
            );
        }
    }
    write_warnings(&mut out, opts.color, &report.warnings);
    out.push('\n');
    let counts: Vec<String> = severity_counts(&report.findings)
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let total = report.findings.len();
    paint(
        &mut out,
        opts.color,
        ANSI_BOLD,
        &format!(
            "{total} {} ({}) in {n_files} {}",
            plural(total, "misconfiguration", "misconfigurations"),
            counts.join(", "),
            plural(n_files, "file", "files")
        ),
    );
    out.push('\n');
    out
}
