//! The scan table for people at a terminal: a header naming the target and
//! the database, one row per finding in the order given (by risk), the count
//! of suppressed findings, the warnings, and a summary line.

use super::{active, db_age, display_id, distro_label, fix_text, severity_counts, suppressed};
use crate::table::{duration, one_line, plural};
use crate::{short_digest, target_kind_name, RenderOptions};
use comfy_table::{
    presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use garrison_model::{Finding, ScanReport, Severity};
use std::fmt::Write as _;
use std::time::SystemTime;

const ANSI_BOLD: &str = "\x1b[1m";
const ANSI_YELLOW: &str = "\x1b[33m";
const ANSI_RESET: &str = "\x1b[0m";

pub(crate) fn render(report: &ScanReport, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let paint = |out: &mut String, style: &str, text: &str| {
        if opts.color {
            out.push_str(style);
            out.push_str(text);
            out.push_str(ANSI_RESET);
        } else {
            out.push_str(text);
        }
    };
    let now = opts.created.unwrap_or_else(SystemTime::now);

    paint(&mut out, ANSI_BOLD, &header(report));
    out.push('\n');
    let _ = writeln!(out, "{}", db_line(report, now));

    let shown: Vec<&Finding> = active(report).collect();
    if shown.is_empty() {
        out.push_str("No vulnerabilities found.\n");
    } else {
        out.push_str(&findings_table(&shown, opts).to_string());
        out.push('\n');
    }

    let n_supp = suppressed(report).count();
    if n_supp > 0 {
        let _ = writeln!(
            out,
            "{n_supp} {} suppressed by the ignore file (not shown).",
            plural(n_supp, "finding", "findings")
        );
    }

    if !report.warnings.is_empty() {
        out.push('\n');
        let n = report.warnings.len();
        paint(
            &mut out,
            ANSI_YELLOW,
            &format!("{n} {}:", plural(n, "warning", "warnings")),
        );
        out.push('\n');
        for w in &report.warnings {
            let _ = writeln!(out, "  {}: {}", one_line(&w.input), one_line(&w.message));
        }
    }

    out.push('\n');
    paint(&mut out, ANSI_BOLD, &summary(report, now));
    out.push('\n');
    out
}

fn header(report: &ScanReport) -> String {
    let t = &report.target;
    let mut s = format!("{} {}", target_kind_name(t.kind), one_line(&t.name));
    if let Some(d) = &t.digest {
        let _ = write!(s, " ({})", one_line(d));
    }
    if let Some(d) = distro_label(report) {
        let _ = write!(s, " — {}", one_line(&d));
    }
    s
}

fn db_line(report: &ScanReport, now: SystemTime) -> String {
    let db = &report.db;
    let mut s = format!(
        "Advisory DB: {} {}",
        db.advisories,
        plural(
            usize::try_from(db.advisories).unwrap_or(usize::MAX),
            "advisory",
            "advisories"
        )
    );
    if !db.ecosystems.is_empty() {
        let _ = write!(s, " ({})", one_line(&db.ecosystems.join(", ")));
    }
    match db_age(db, now) {
        Some(age) => {
            let _ = write!(s, ", {}", one_line(&age));
        }
        None => s.push_str(", update time unknown"),
    }
    s
}

#[derive(Clone, Copy, PartialEq)]
enum Col {
    Severity,
    Risk,
    Id,
    Package,
    Installed,
    Fixed,
    Urgency,
    Location,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Severity => "SEVERITY",
            Col::Risk => "RISK",
            Col::Id => "VULNERABILITY",
            Col::Package => "PACKAGE",
            Col::Installed => "INSTALLED",
            Col::Fixed => "FIXED IN",
            Col::Urgency => "URGENCY",
            Col::Location => "LOCATION",
        }
    }

    /// Columns that keep their full width when the terminal is narrow: what a
    /// finding is and how bad it is are never cut.
    fn keeps_width(self) -> bool {
        matches!(self, Col::Severity | Col::Risk)
    }
}

pub(crate) fn severity_color(s: Severity) -> Color {
    match s {
        Severity::Critical => Color::Red,
        Severity::High => Color::DarkRed,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Blue,
        Severity::Info => Color::Cyan,
        Severity::Unknown => Color::Magenta,
    }
}

fn location(f: &Finding) -> String {
    let mut s = one_line(&f.package.location);
    if let Some(l) = &f.package.layer {
        let _ = write!(s, " @{}", short_digest(l));
    }
    s
}

fn cell_text(c: Col, f: &Finding) -> String {
    match c {
        Col::Severity => f.vulnerability.severity.as_str().to_string(),
        Col::Risk => format!("{:.1}", f.risk.score),
        Col::Id => one_line(&display_id(&f.vulnerability)),
        Col::Package => one_line(&f.package.name),
        Col::Installed => one_line(&f.package.version),
        Col::Fixed => one_line(&fix_text(&f.fix)),
        Col::Urgency => f
            .distro_urgency
            .as_deref()
            .map(one_line)
            .unwrap_or_default(),
        Col::Location => location(f),
    }
}

fn findings_table(findings: &[&Finding], opts: &RenderOptions) -> Table {
    let mut cols = vec![
        Col::Severity,
        Col::Risk,
        Col::Id,
        Col::Package,
        Col::Installed,
        Col::Fixed,
    ];
    if findings.iter().any(|f| f.distro_urgency.is_some()) {
        cols.push(Col::Urgency);
    }
    cols.push(Col::Location);

    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if opts.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(cols.iter().map(|c| {
        let cell = Cell::new(c.title());
        if opts.color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for f in findings {
        table.add_row(cols.iter().map(|c| {
            let cell = Cell::new(cell_text(*c, f));
            match (opts.color, c) {
                (true, Col::Severity) => {
                    let s = f.vulnerability.severity;
                    let cell = cell.fg(severity_color(s));
                    if s == Severity::Critical {
                        cell.add_attribute(Attribute::Bold)
                    } else {
                        cell
                    }
                }
                (true, Col::Fixed) if f.risk.fix_available => cell.fg(Color::Green),
                (true, Col::Location) => cell.fg(Color::DarkGrey),
                _ => cell,
            }
        }));
    }

    match opts.width {
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(width);
            for (i, c) in cols.iter().enumerate() {
                if let Some(column) = table.column_mut(i) {
                    let floor = u16::try_from(c.title().len() + 2).unwrap_or(u16::MAX);
                    if c.keeps_width() {
                        column.set_constraint(ColumnConstraint::ContentWidth);
                    } else {
                        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(floor)));
                    }
                }
            }
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    // One line per finding: long values are cut with "…" instead of wrapping.
    for row in table.row_iter_mut() {
        row.max_height(1);
    }
    table
}

fn summary(report: &ScanReport, now: SystemTime) -> String {
    let total = active(report).count();
    let counts: Vec<String> = severity_counts(report)
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let mut s = format!(
        "Total: {total} {} ({})",
        plural(total, "vulnerability", "vulnerabilities"),
        counts.join(", ")
    );
    let n_supp = suppressed(report).count();
    if n_supp > 0 {
        let _ = write!(s, ", {n_supp} suppressed");
    }
    let p = report.packages_scanned;
    let _ = write!(s, "; {p} {} scanned", plural(p, "package", "packages"));
    let db = match report
        .db
        .updated
        .as_deref()
        .and_then(|u| humantime::parse_rfc3339_weak(u).ok())
        .and_then(|t| now.duration_since(t).ok())
    {
        Some(d) => format!("DB age {}", super::age_words(d)),
        None => "DB age unknown".to_string(),
    };
    let _ = write!(s, "; {db}");
    let w = report.warnings.len();
    let _ = write!(s, "; {w} {}", plural(w, "warning", "warnings"));
    let _ = write!(s, "; {}", duration(report.duration_ms));
    s
}
