//! Alerts: what a rule match produces, as `"kind":"alert"` NDJSON lines, and the
//! grouping that folds repeats into counted summaries (never dropping silently).

use crate::fields::{Ctx, Needs};
use crate::ruleset::{field_text, Rule, RuleSet};
use garrison_event::{Container, Event};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Version of the alert line's schema (`"schema"`).
pub const ALERT_SCHEMA_VERSION: u32 = 1;

/// One ancestor in an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertAncestor {
    /// Pid.
    pub pid: u32,
    /// Name.
    pub name: String,
    /// Executable, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
}

/// The process an alert is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertProcess {
    /// Pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Name (`comm`).
    pub name: String,
    /// Executable path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Command line.
    pub cmdline: String,
    /// Real uid.
    pub uid: u32,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Login uid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<u32>,
}

/// An alert: a rule matched an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Always `"alert"`.
    pub kind: &'static str,
    /// [`ALERT_SCHEMA_VERSION`].
    pub schema: u32,
    /// Event time, ns since the epoch.
    pub time_ns: u64,
    /// Rule name.
    pub rule: String,
    /// Falco priority (`WARNING`, ...).
    pub priority: String,
    /// Garrison severity (`MEDIUM`, ...).
    pub severity: String,
    /// Rendered output message.
    pub output: String,
    /// Every field the condition reads, rendered (absent fields are left out).
    pub fields: BTreeMap<String, String>,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// ATT&CK technique ids.
    pub attack: Vec<String>,
    /// The process.
    pub process: AlertProcess,
    /// Its ancestry, parent first.
    pub ancestry: Vec<AlertAncestor>,
    /// Its container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// The event's syscall.
    pub syscall: String,
    /// The event's source and sequence number.
    pub source: String,
    /// Sequence number of the event.
    pub seq: u64,
}

impl Alert {
    /// Builds the alert for `rule` matching `ev` (ctx prepared with [`Needs::ALL`]).
    pub fn new(set: &RuleSet, rule: &Rule, ev: &Event, ctx: &Ctx) -> Alert {
        let fields = rule
            .fields
            .iter()
            .filter_map(|f| field_text(f, ev, ctx).map(|v| (f.display.clone(), v)))
            .collect();
        let p = &ev.process;
        let mut cmdline = p.comm.clone();
        let args = if p.args.is_empty() {
            match &ev.data {
                garrison_event::EventData::Exec { argv, .. } => argv.as_slice(),
                _ => &[],
            }
        } else {
            p.args.as_slice()
        };
        for a in args.iter().skip(1) {
            cmdline.push(' ');
            cmdline.push_str(a);
        }
        Alert {
            kind: "alert",
            schema: ALERT_SCHEMA_VERSION,
            time_ns: ev.time_ns,
            rule: rule.name.clone(),
            priority: rule.priority.clone(),
            severity: rule.severity.to_string(),
            output: set.render_output(rule, ev, ctx),
            fields,
            tags: rule.tags.clone(),
            attack: rule.attack.clone(),
            process: AlertProcess {
                pid: p.pid,
                ppid: p.ppid,
                name: p.comm.clone(),
                exe: p.exe.clone(),
                cmdline,
                uid: p.uid,
                user: p.user.clone(),
                loginuid: p.loginuid,
            },
            ancestry: p
                .ancestors
                .iter()
                .map(|a| AlertAncestor {
                    pid: a.pid,
                    name: a.name.clone(),
                    exe: a.exe.clone(),
                })
                .collect(),
            container: ev.container.clone(),
            syscall: ev.syscall.clone(),
            source: ev.source.clone(),
            seq: ev.seq,
        }
    }

    /// An alert raised by a detector that is not a rule (file integrity monitoring,
    /// ...), so that it goes through the same grouping and outputs. `priority` is a
    /// Falco priority (`WARNING`, ...; an unknown one gets severity `UNKNOWN`); the
    /// process, ancestry and container come from `ev` when there is one (a change
    /// found by a periodic scan has none: the process is then empty, pid 0).
    pub fn from_detector(
        rule: impl Into<String>,
        priority: impl Into<String>,
        output: impl Into<String>,
        tags: Vec<String>,
        time_ns: u64,
        ev: Option<&Event>,
        fields: BTreeMap<String, String>,
    ) -> Alert {
        let priority = priority.into().to_ascii_uppercase();
        let severity = garrison_model::Severity::from_falco_priority(&priority)
            .unwrap_or(garrison_model::Severity::Unknown)
            .to_string();
        let attack = tags
            .iter()
            .filter(|t| crate::ruleset::is_technique(t))
            .cloned()
            .collect();
        let (process, ancestry, container, syscall, source, seq) = match ev {
            Some(ev) => {
                let p = &ev.process;
                let mut cmdline = p.comm.clone();
                for a in p.args.iter().skip(1) {
                    cmdline.push(' ');
                    cmdline.push_str(a);
                }
                (
                    AlertProcess {
                        pid: p.pid,
                        ppid: p.ppid,
                        name: p.comm.clone(),
                        exe: p.exe.clone(),
                        cmdline,
                        uid: p.uid,
                        user: p.user.clone(),
                        loginuid: p.loginuid,
                    },
                    p.ancestors
                        .iter()
                        .map(|a| AlertAncestor {
                            pid: a.pid,
                            name: a.name.clone(),
                            exe: a.exe.clone(),
                        })
                        .collect(),
                    ev.container.clone(),
                    ev.syscall.clone(),
                    ev.source.clone(),
                    ev.seq,
                )
            }
            None => (
                AlertProcess {
                    pid: 0,
                    ppid: 0,
                    name: String::new(),
                    exe: None,
                    cmdline: String::new(),
                    uid: 0,
                    user: None,
                    loginuid: None,
                },
                Vec::new(),
                None,
                String::new(),
                String::new(),
                0,
            ),
        };
        Alert {
            kind: "alert",
            schema: ALERT_SCHEMA_VERSION,
            time_ns,
            rule: rule.into(),
            priority,
            severity,
            output: output.into(),
            fields,
            tags,
            attack,
            process,
            ancestry,
            container,
            syscall,
            source,
            seq,
        }
    }

    /// The NDJSON line.
    pub fn to_ndjson(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"kind\":\"alert\",\"error\":\"{e}\"}}"))
    }

    /// One line of text: `time priority rule: output`.
    pub fn to_text(&self) -> String {
        format!(
            "{} {} {}: {}",
            rfc3339(self.time_ns),
            self.priority,
            self.rule,
            self.output
        )
    }
}

/// A summary of alerts folded into a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSummary {
    /// Always `"alert_summary"`.
    pub kind: &'static str,
    /// [`ALERT_SCHEMA_VERSION`].
    pub schema: u32,
    /// Rule name.
    pub rule: String,
    /// Priority.
    pub priority: String,
    /// How many alerts were folded (not printed individually) in the window.
    pub folded: u64,
    /// First folded alert's time.
    pub first_time_ns: u64,
    /// Last folded alert's time.
    pub last_time_ns: u64,
    /// The output of the first alert of the group.
    pub example: String,
}

impl AlertSummary {
    /// The NDJSON line.
    pub fn to_ndjson(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A text line.
    pub fn to_text(&self) -> String {
        format!(
            "{} {} {}: {} more alert(s) folded between {} and {} (like: {})",
            rfc3339(self.last_time_ns),
            self.priority,
            self.rule,
            self.folded,
            rfc3339(self.first_time_ns),
            rfc3339(self.last_time_ns),
            self.example
        )
    }
}

/// Formats ns since the epoch as RFC 3339 UTC with microseconds.
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let micros = (ns % 1_000_000_000) / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// What the grouper decided for one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Grouped {
    /// Emit it.
    Emit(Box<Alert>),
    /// Folded into a group (it will be counted in a summary).
    Folded,
}

#[derive(Debug, Clone)]
struct Group {
    window_start: u64,
    folded: u64,
    first: u64,
    last: u64,
    example: String,
    priority: String,
    rule: String,
}

/// Folds repeats: within a window, the first alert of each (rule, output) pair is
/// emitted and the rest are counted; a rule emitting more than `per_rule` alerts in a
/// window has the rest counted too. Summaries come out of [`Grouper::flush`].
#[derive(Debug)]
pub struct Grouper {
    window_ns: u64,
    per_rule: u64,
    groups: HashMap<(String, String), Group>,
    rule_counts: HashMap<String, (u64, u64)>,
}

impl Grouper {
    /// A grouper with a window and a per-rule limit per window.
    pub fn new(window: std::time::Duration, per_rule: u64) -> Self {
        Grouper {
            window_ns: window.as_nanos().min(u128::from(u64::MAX)) as u64,
            per_rule: per_rule.max(1),
            groups: HashMap::new(),
            rule_counts: HashMap::new(),
        }
    }

    /// Decides for one alert.
    pub fn offer(&mut self, alert: Alert) -> Grouped {
        let now = alert.time_ns;
        let window = self.window_ns;
        let rc = self
            .rule_counts
            .entry(alert.rule.clone())
            .or_insert((now, 0));
        if now.saturating_sub(rc.0) >= window {
            *rc = (now, 0);
        }
        let key = (alert.rule.clone(), alert.output.clone());
        match self.groups.get_mut(&key) {
            Some(g) if now.saturating_sub(g.window_start) < window => {
                if g.folded == 0 {
                    g.first = now;
                }
                g.folded += 1;
                g.last = now;
                Grouped::Folded
            }
            _ if rc.1 >= self.per_rule => {
                let g = self.groups.entry(key).or_insert_with(|| Group {
                    window_start: now,
                    folded: 0,
                    first: now,
                    last: now,
                    example: alert.output.clone(),
                    priority: alert.priority.clone(),
                    rule: alert.rule.clone(),
                });
                g.folded += 1;
                g.last = now;
                Grouped::Folded
            }
            _ => {
                rc.1 += 1;
                self.groups.insert(
                    key,
                    Group {
                        window_start: now,
                        folded: 0,
                        first: now,
                        last: now,
                        example: alert.output.clone(),
                        priority: alert.priority.clone(),
                        rule: alert.rule.clone(),
                    },
                );
                Grouped::Emit(Box::new(alert))
            }
        }
    }

    /// Summaries of groups whose window ended by `now_ns` (all of them when
    /// `now_ns` is `u64::MAX`, at shutdown). Groups without folded alerts end quietly.
    pub fn flush(&mut self, now_ns: u64) -> Vec<AlertSummary> {
        let window = self.window_ns;
        let mut out = Vec::new();
        self.groups.retain(|_, g| {
            if now_ns != u64::MAX && now_ns.saturating_sub(g.window_start) < window {
                return true;
            }
            if g.folded > 0 {
                out.push(AlertSummary {
                    kind: "alert_summary",
                    schema: ALERT_SCHEMA_VERSION,
                    rule: g.rule.clone(),
                    priority: g.priority.clone(),
                    folded: g.folded,
                    first_time_ns: g.first,
                    last_time_ns: g.last,
                    example: g.example.clone(),
                });
            }
            false
        });
        out.sort_by(|a, b| {
            a.rule
                .cmp(&b.rule)
                .then(a.first_time_ns.cmp(&b.first_time_ns))
        });
        out
    }
}

/// Prepares `ctx` for rendering (all derived strings).
pub fn prepare_for_render(ctx: &mut Ctx, ev: &Event) {
    ctx.prepare(ev, Needs::ALL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456Z"
        );
    }
}
