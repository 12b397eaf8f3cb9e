//! The table for people at a terminal: a header naming the target, one row per
//! package grouped by ecosystem (OS packages first), the warnings, and a
//! summary line.

use crate::cyclonedx::target_kind_name;
use crate::{short_digest, source_label, RenderOptions};
use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};
use garrison_model::{Inventory, Package};
use std::fmt::Write as _;

const ANSI_BOLD: &str = "\x1b[1m";
const ANSI_YELLOW: &str = "\x1b[33m";
const ANSI_RESET: &str = "\x1b[0m";

pub(crate) fn render(inv: &Inventory, opts: &RenderOptions) -> String {
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

    paint(&mut out, ANSI_BOLD, &header(inv));
    out.push('\n');

    if inv.packages.is_empty() {
        out.push_str("No packages found.\n");
    } else {
        out.push_str(&package_table(inv, opts).to_string());
        out.push('\n');
    }

    if !inv.warnings.is_empty() {
        out.push('\n');
        let n = inv.warnings.len();
        paint(
            &mut out,
            ANSI_YELLOW,
            &format!("{n} {}:", plural(n, "warning", "warnings")),
        );
        out.push('\n');
        for w in &inv.warnings {
            // Messages come from parsers and archives: keep each on one line so
            // a crafted input cannot forge extra report lines.
            let _ = writeln!(out, "  {}: {}", one_line(&w.input), one_line(&w.message));
        }
    }

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
    let with_source = pkgs.iter().any(|p| p.source.is_some());
    let with_layer = pkgs.iter().any(|p| p.layer.is_some());

    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if opts.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    match opts.width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }

    let mut head = vec!["NAME", "VERSION", "TYPE"];
    if with_source {
        head.push("SOURCE");
    }
    head.push("LOCATION");
    if with_layer {
        head.push("LAYER");
    }
    let head: Vec<Cell> = head
        .into_iter()
        .map(|h| {
            let c = Cell::new(h);
            if opts.color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        })
        .collect();
    table.set_header(head);

    for p in pkgs {
        let ty = Cell::new(p.ecosystem.purl_type());
        let ty = if opts.color {
            ty.fg(if p.ecosystem.is_os() {
                Color::Cyan
            } else {
                Color::Green
            })
        } else {
            ty
        };
        let mut row = vec![
            Cell::new(one_line(&p.full_name())),
            Cell::new(one_line(&p.version)),
            ty,
        ];
        if with_source {
            row.push(Cell::new(
                source_label(p).map(|s| one_line(&s)).unwrap_or_default(),
            ));
        }
        row.push(Cell::new(one_line(&p.location)));
        if with_layer {
            let l = Cell::new(p.layer.as_deref().map(short_digest).unwrap_or_default());
            row.push(if opts.color { l.fg(Color::DarkGrey) } else { l });
        }
        table.add_row(row);
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

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Replaces control characters (newlines, escapes) so that a value read from
/// an input cannot break the table or send escape sequences to the terminal.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(840), "840 ms");
        assert_eq!(duration(1234), "1.23 s");
        assert_eq!(duration(61_005), "61.00 s");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(one_line("a\nb\x1b[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }
}
