//! The scan table for people at a terminal: a header naming the target and
//! the database, one row per finding in the order given (by risk), the count
//! of suppressed findings, the warnings, and a summary line.

use super::{active, db_age, display_id, distro_label, fix_text, severity_counts, suppressed};
use crate::table::{duration, one_line, plural};
use crate::{short_digest, target_kind_name, RenderOptions};
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};
use garrison_model::{Finding, ScanReport, Severity};
use std::fmt::Write as _;
use std::time::SystemTime;
use unicode_width::UnicodeWidthStr;

use crate::table::{paint, write_warnings, ANSI_BOLD};

pub(crate) fn render(report: &ScanReport, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let paint = |out: &mut String, style: &str, text: &str| paint(out, opts.color, style, text);
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

    write_warnings(&mut out, opts.color, &report.warnings);

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

    /// The steps in which columns give up room on a narrow terminal, each
    /// down to a floor: the location first (to 20 columns), then the others
    /// to half their content, the ID last; then all to their titles. The
    /// severity and the risk score never shrink.
    const SHRINK_STEPS: [(Col, Floor); 11] = [
        (Col::Location, Floor::Columns(20)),
        (Col::Urgency, Floor::Title),
        (Col::Installed, Floor::Half),
        (Col::Package, Floor::Half),
        (Col::Fixed, Floor::Half),
        (Col::Id, Floor::Half),
        (Col::Location, Floor::Title),
        (Col::Installed, Floor::Title),
        (Col::Package, Floor::Title),
        (Col::Fixed, Floor::Title),
        (Col::Id, Floor::Title),
    ];
}

#[derive(Clone, Copy)]
enum Floor {
    Columns(usize),
    Half,
    Title,
}

/// Column widths (content plus two spaces of padding) that fit `width`, or
/// `None` when the content fits as it is. Columns shrink by
/// [`Col::SHRINK_STEPS`]; never below their title, so on a terminal too
/// narrow even for those the table stays wider rather than mangle titles.
fn fit_widths(cols: &[Col], content: &[usize], width: usize) -> Option<Vec<usize>> {
    let budget = width.saturating_sub(cols.len() + 1);
    let mut alloc: Vec<usize> = content.iter().map(|w| w + 2).collect();
    let mut total: usize = alloc.iter().sum();
    if total <= budget {
        return None;
    }
    for (c, floor) in Col::SHRINK_STEPS {
        let Some(i) = cols.iter().position(|x| *x == c) else {
            continue;
        };
        let (Some(a), Some(w)) = (alloc.get_mut(i), content.get(i)) else {
            continue;
        };
        let title = c.title().len() + 2;
        let floor = match floor {
            Floor::Columns(n) => n + 2,
            Floor::Half => w / 2 + 2,
            Floor::Title => title,
        }
        .max(title);
        let give = a.saturating_sub(floor).min(total.saturating_sub(budget));
        *a -= give;
        total -= give;
        if total <= budget {
            break;
        }
    }
    Some(alloc)
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

    let mut table = crate::table::styled_table(opts.color, cols.iter().map(|c| c.title()));
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

    let widths = opts.width.and_then(|width| {
        let content: Vec<usize> = cols
            .iter()
            .map(|c| {
                findings
                    .iter()
                    .map(|f| cell_text(*c, f).width())
                    .chain([c.title().len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        fit_widths(&cols, &content, usize::from(width)).map(|w| (width, w))
    });
    match widths {
        Some((width, widths)) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(width);
            for (i, w) in widths.into_iter().enumerate() {
                if let Some(column) = table.column_mut(i) {
                    let w = u16::try_from(w).unwrap_or(u16::MAX);
                    column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_shrink_location_first_and_never_severity() {
        let cols = [
            Col::Severity,
            Col::Risk,
            Col::Id,
            Col::Package,
            Col::Location,
        ];
        assert_eq!(fit_widths(&cols, &[8, 4, 26, 8, 20], 120), None);
        let w = fit_widths(&cols, &[8, 4, 26, 8, 40], 82).unwrap_or_default();
        assert_eq!(w, [10, 6, 28, 10, 22], "only LOCATION gave way");
        // Then the others to half their content, the ID last, then the location.
        let w = fit_widths(&cols, &[8, 4, 26, 8, 40], 60).unwrap_or_default();
        assert_eq!(w, [10, 6, 15, 9, 14]);
        // Too narrow even for the titles: titles are kept.
        let w = fit_widths(&cols, &[8, 4, 26, 8, 40], 10).unwrap_or_default();
        assert_eq!(w, [10, 6, 15, 9, 10]);
    }
}
