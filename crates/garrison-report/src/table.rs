//! The table for people at a terminal: a header naming the target, one row per
//! package grouped by ecosystem (OS packages first), the warnings, and a
//! summary line.

use crate::{short_digest, source_label, target_kind_name, RenderOptions};
use comfy_table::{
    presets, Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width,
};
use garrison_model::{Inventory, Package};
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

pub(crate) const ANSI_BOLD: &str = "\x1b[1m";
pub(crate) const ANSI_YELLOW: &str = "\x1b[33m";
pub(crate) const ANSI_RESET: &str = "\x1b[0m";

/// The warnings after a table: a count, then one line each. Messages come from
/// parsers and archives: each is kept on one line so that a crafted input
/// cannot forge extra report lines.
pub(crate) fn write_warnings(out: &mut String, color: bool, warnings: &[garrison_model::Warning]) {
    if warnings.is_empty() {
        return;
    }
    out.push('\n');
    let n = warnings.len();
    paint(
        out,
        color,
        ANSI_YELLOW,
        &format!("{n} {}:", plural(n, "warning", "warnings")),
    );
    out.push('\n');
    for w in warnings {
        let _ = writeln!(out, "  {}: {}", one_line(&w.input), one_line(&w.message));
    }
}

/// Appends `text` to `out`, in `style` when `color` is on.
pub(crate) fn paint(out: &mut String, color: bool, style: &str, text: &str) {
    if color {
        out.push_str(style);
        out.push_str(text);
        out.push_str(ANSI_RESET);
    } else {
        out.push_str(text);
    }
}

pub(crate) fn render(inv: &Inventory, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let paint = |out: &mut String, style: &str, text: &str| paint(out, opts.color, style, text);

    paint(&mut out, ANSI_BOLD, &header(inv));
    out.push('\n');

    if inv.packages.is_empty() {
        out.push_str("No packages found.\n");
    } else {
        out.push_str(&package_table(inv, opts).to_string());
        out.push('\n');
    }

    write_warnings(&mut out, opts.color, &inv.warnings);

    out.push('\n');
    paint(&mut out, ANSI_BOLD, &summary(inv));
    out.push('\n');
    out
}

fn header(inv: &Inventory) -> String {
    let t = &inv.target;
    let mut s = format!("{} {}", target_kind_name(t.kind), one_line(&t.name));
    if let Some(d) = &t.digest {
        let _ = write!(s, " ({d})");
    }
    if let Some(d) = &inv.distro {
        let os = d.pretty_name.clone().unwrap_or_else(|| {
            let mut s = d.id.clone();
            if let Some(v) = &d.version_id {
                s.push(' ');
                s.push_str(v);
            }
            s
        });
        let _ = write!(s, " — {}", one_line(&os));
    }
    s
}

/// The table's columns. When the terminal is too narrow, columns give up
/// room in [`Col::SHRINK_ORDER`], first down to a share of the width, then
/// down to their title's width.
#[derive(Clone, Copy, PartialEq)]
enum Col {
    Name,
    Version,
    Type,
    Source,
    Location,
    Layer,
}

impl Col {
    const SHRINK_ORDER: [Col; 6] = [
        Col::Location,
        Col::Source,
        Col::Name,
        Col::Version,
        Col::Layer,
        Col::Type,
    ];

    fn title(self) -> &'static str {
        match self {
            Col::Name => "NAME",
            Col::Version => "VERSION",
            Col::Type => "TYPE",
            Col::Source => "SOURCE",
            Col::Location => "LOCATION",
            Col::Layer => "LAYER",
        }
    }

    /// Percent of the table's width this column keeps in the first round of
    /// shrinking (when its content needs that much).
    fn keep_percent(self) -> usize {
        match self {
            Col::Name => 22,
            Col::Version => 20,
            Col::Type => 8,
            Col::Layer => 10,
            Col::Source => 10,
            Col::Location => 20,
        }
    }
}

/// Column widths (content plus two spaces of padding) that fit `width`, or
/// `None` when the content fits as it is. Below the sum of the titles'
/// widths the table stays wider than the terminal rather than mangle titles.
fn fit_widths(cols: &[Col], content: &[usize], width: usize) -> Option<Vec<usize>> {
    let budget = width.saturating_sub(cols.len() + 1);
    let mut alloc: Vec<usize> = content.iter().map(|w| w + 2).collect();
    let mut total: usize = alloc.iter().sum();
    if total <= budget {
        return None;
    }
    let floors: [&dyn Fn(Col) -> usize; 2] = [
        &|c: Col| (budget * c.keep_percent() / 100).max(c.title().len() + 2),
        &|c: Col| c.title().len() + 2,
    ];
    for floor in floors {
        for c in Col::SHRINK_ORDER {
            let Some(i) = cols.iter().position(|x| *x == c) else {
                continue;
            };
            let Some(a) = alloc.get_mut(i) else { continue };
            let give = a.saturating_sub(floor(c)).min(total.saturating_sub(budget));
            *a -= give;
            total -= give;
        }
        if total <= budget {
            break;
        }
    }
    Some(alloc)
}

fn package_table(inv: &Inventory, opts: &RenderOptions) -> Table {
    let mut pkgs: Vec<&Package> = inv.packages.iter().collect();
    pkgs.sort_by(|a, b| {
        (a.ecosystem, a.full_name(), &a.version, &a.location).cmp(&(
            b.ecosystem,
            b.full_name(),
            &b.version,
            &b.location,
        ))
    });
    let mut cols = vec![Col::Name, Col::Version, Col::Type];
    if pkgs.iter().any(|p| p.source.is_some()) {
        cols.push(Col::Source);
    }
    cols.push(Col::Location);
    if pkgs.iter().any(|p| p.layer.is_some()) {
        cols.push(Col::Layer);
    }

    let rows: Vec<(&Package, Vec<String>)> = pkgs
        .into_iter()
        .map(|p| {
            let cells = cols
                .iter()
                .map(|c| match c {
                    Col::Name => one_line(&p.full_name()),
                    Col::Version => one_line(&p.version),
                    Col::Type => p.ecosystem.purl_type().to_string(),
                    Col::Source => source_label(p).map(|s| one_line(&s)).unwrap_or_default(),
                    Col::Location => one_line(&p.location),
                    Col::Layer => p
                        .layer
                        .as_deref()
                        .map(short_digest)
                        .unwrap_or_default()
                        .to_string(),
                })
                .collect();
            (p, cells)
        })
        .collect();

    let mut table = styled_table(opts.color, cols.iter().map(|c| c.title()));

    for (p, cells) in &rows {
        let row = cols.iter().zip(cells).map(|(c, text)| {
            let cell = Cell::new(text);
            match (opts.color, c) {
                (true, Col::Type) => cell.fg(if p.ecosystem.is_os() {
                    Color::Cyan
                } else {
                    Color::Green
                }),
                (true, Col::Layer) => cell.fg(Color::DarkGrey),
                _ => cell,
            }
        });
        table.add_row(row);
    }

    match opts.width {
        Some(width) => {
            let content: Vec<usize> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    rows.iter()
                        .filter_map(|(_, cells)| cells.get(i))
                        .map(|s| s.width())
                        .chain([c.title().len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            match fit_widths(&cols, &content, usize::from(width)) {
                Some(widths) => {
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
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    // One line per package: values too long for the width are cut with "…"
    // instead of wrapping.
    for row in table.row_iter_mut() {
        row.max_height(1);
    }
    table
}

fn summary(inv: &Inventory) -> String {
    let n = inv.packages.len();
    let mut s = format!("{n} {}", plural(n, "package", "packages"));
    let counts = inv.counts();
    if !counts.is_empty() {
        let parts: Vec<String> = counts.iter().map(|(e, c)| format!("{c} {e}")).collect();
        let _ = write!(s, " ({})", parts.join(", "));
    }
    let w = inv.warnings.len();
    let _ = write!(s, ", {w} {}", plural(w, "warning", "warnings"));
    let _ = write!(
        s,
        ", {} files read in {}",
        inv.stats.files_read,
        duration(inv.stats.duration_ms)
    );
    s
}

/// A table in the house style: condensed UTF-8 borders, ANSI styling forced on or
/// off (never guessed from the terminal), and the header row in bold with colour.
pub(crate) fn styled_table<'a>(color: bool, headers: impl IntoIterator<Item = &'a str>) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(headers.into_iter().map(|h| {
        let cell = Cell::new(h);
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    table
}

pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
    }
}

pub(crate) fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Replaces line breaks and tabs with spaces and other control characters
/// (escapes) with U+FFFD, so that a value read from an input cannot break the
/// table, forge report lines, or send escape sequences to the terminal.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fit_by_priority() {
        let cols = [Col::Name, Col::Version, Col::Type, Col::Location];
        // Fits: no constraints.
        assert_eq!(fit_widths(&cols, &[10, 10, 4, 20], 80), None);
        // 100 wide content into 60 columns: LOCATION gives way first.
        let w = fit_widths(&cols, &[20, 12, 5, 63], 60).unwrap_or_default();
        assert_eq!(w.iter().sum::<usize>(), 60 - 5);
        assert_eq!(&w[..3], &[22, 14, 7]);
        // Too narrow for the titles: titles are kept, the table overflows.
        let w = fit_widths(&cols, &[20, 12, 5, 63], 10).unwrap_or_default();
        assert_eq!(w, [6, 9, 6, 10]);
    }

    #[test]
    fn tiny_widths_do_not_panic() {
        let mut inv = Inventory::new(garrison_model::Target::new(
            garrison_model::TargetKind::Rootfs,
            "/",
        ));
        let mut p = Package::new(
            garrison_model::Ecosystem::Deb,
            "libc6",
            "2.36-9",
            "/var/lib/dpkg/status",
        );
        p.layer = Some("sha256:abc".into());
        inv.packages.push(p);
        for width in [0u16, 1, 5, 20, 40] {
            let opts = RenderOptions {
                width: Some(width),
                ..Default::default()
            };
            assert!(render(&inv, &opts).contains("│ lib"));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(840), "840 ms");
        assert_eq!(duration(1234), "1.23 s");
        assert_eq!(duration(61_005), "61.00 s");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(one_line("a\nb\x1b[31m"), "a b\u{FFFD}[31m");
    }
}
