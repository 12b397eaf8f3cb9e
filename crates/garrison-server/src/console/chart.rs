//! Charts drawn on the server as inline SVG (no script): open alerts by
//! severity per day.

use crate::model::{rfc3339, SEVERITIES};
use crate::store::{AlertDayCount, DAY_MS};
use maud::{html, Markup};

/// Open (not resolved) alerts at the end of each of the `days` days ending
/// with `today` (days since the epoch), per severity rank: `[day][rank]`.
pub fn open_per_day(rows: &[AlertDayCount], today: i64, days: i64) -> Vec<(i64, [i64; 6])> {
    (0..days)
        .map(|i| {
            let d = today - (days - 1) + i;
            let mut per = [0i64; 6];
            for r in rows {
                let open = r.raised_day <= d && r.resolved_day.is_none_or(|x| x > d);
                if open {
                    let k = usize::try_from(r.severity_rank.clamp(0, 5)).unwrap_or(0);
                    per[k] += r.count;
                }
            }
            (d, per)
        })
        .collect()
}

fn nice_max(v: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step * 4 >= v {
                return (m * step * 4).max(4);
            }
        }
        step *= 10;
    }
}

/// (rank, count below it, count) of each non-empty severity, most severe first.
fn stack(per: &[i64; 6]) -> Vec<(usize, i64, i64)> {
    let mut base = 0;
    let mut out = Vec::new();
    for rank in (0..6).rev() {
        if per[rank] > 0 {
            out.push((rank, base, per[rank]));
            base += per[rank];
        }
    }
    out
}

/// A stacked bar chart of `open_per_day`, most severe at the bottom.
pub fn open_alerts_svg(series: &[(i64, [i64; 6])]) -> Markup {
    let (w, h) = (720.0_f64, 240.0_f64);
    let (left, right, top, bottom) = (44.0, 8.0, 10.0, 26.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max_total = series
        .iter()
        .map(|(_, p)| p.iter().sum::<i64>())
        .max()
        .unwrap_or(0);
    let ymax = nice_max(max_total);
    let n = series.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = slot * 0.7;
    let y = |v: i64| top + plot_h - (v as f64 / ymax as f64) * plot_h;
    let latest: i64 = series.last().map(|(_, p)| p.iter().sum()).unwrap_or(0);
    let label = format!(
        "Open alerts by severity over the last {} days; {latest} open now",
        series.len()
    );
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            @for i in 0..=4 {
                @let v = ymax * i / 4;
                line.grid x1=(left) x2=(w - right) y1=(y(v)) y2=(y(v)) {}
                text.axis x=(left - 6.0) y=(y(v) + 4.0) text-anchor="end" { (v) }
            }
            @for (i, (day, per)) in series.iter().enumerate() {
                @let x = left + slot * i as f64 + (slot - bar) / 2.0;
                @let date = rfc3339(day * DAY_MS);
                @let date = date.get(5..10).unwrap_or("");
                g.day data-day=(date) {
                    @for (rank, base, c) in stack(per) {
                        @let y0 = y(base);
                        @let y1 = y(base + c);
                        rect class=(format!("bar sev-fill-{}", SEVERITIES[rank].to_ascii_lowercase()))
                            x=(format!("{x:.1}")) y=(format!("{y1:.1}")) width=(format!("{bar:.1}")) height=(format!("{:.1}", y0 - y1)) {
                            title { (date) ": " (c) " open " (SEVERITIES[rank]) }
                        }
                    }
                    @if (series.len() - 1 - i).is_multiple_of(2) {
                        text.axis x=(format!("{:.1}", x + bar / 2.0)) y=(h - 8.0) text-anchor="middle" { (date) }
                    }
                }
            }
            line.axisline x1=(left) x2=(w - right) y1=(top + plot_h) y2=(top + plot_h) {}
        }
        ul.legend {
            @for rank in (1..6).rev() {
                li { span class=(format!("swatch sev-fill-{}", SEVERITIES[rank].to_ascii_lowercase())) {} (SEVERITIES[rank]) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_counts_follow_raise_and_resolve_days() {
        let rows = vec![
            AlertDayCount {
                severity_rank: 5,
                raised_day: 100,
                resolved_day: Some(102),
                count: 2,
            },
            AlertDayCount {
                severity_rank: 3,
                raised_day: 90,
                resolved_day: None,
                count: 1,
            },
        ];
        let s = open_per_day(&rows, 103, 4);
        let got: Vec<_> = s.iter().map(|(d, p)| (*d, p[5], p[3])).collect();
        assert_eq!(got, [(100, 2, 1), (101, 2, 1), (102, 0, 1), (103, 0, 1)]);
        let svg = open_alerts_svg(&s).into_string();
        assert!(
            svg.contains("sev-fill-critical") && svg.contains("1 open now"),
            "{svg}"
        );
        assert_eq!(nice_max(0), 4);
        assert_eq!(nice_max(9), 20);
        assert_eq!(nice_max(41), 80);
    }
}
