//! Presenters: the readable one-line form of an event (`--format text`) and the
//! `garrison agent status` table.

use crate::status::Status;
use garrison_event::{Event, EventData, FilePath, SockAddr};
use std::fmt::Write as _;

fn path(p: &FilePath) -> String {
    match &p.host_path {
        Some(h) if h != &p.path => format!("{} (host {h})", p.path),
        _ => p.path.clone(),
    }
}

fn addr(a: &SockAddr) -> String {
    match a {
        SockAddr::Inet { ip, port } => format!("{ip}:{port}"),
        SockAddr::Inet6 { ip, port } => format!("[{ip}]:{port}"),
        SockAddr::Unix { path } => format!("unix:{path}"),
        SockAddr::Other { number } => format!("family{number}"),
    }
}

/// What happened, in a few words.
fn detail(data: &EventData) -> String {
    match data {
        EventData::Exec { filename, argv, .. } => format!("{} {}", path(filename), argv.join(" ")),
        EventData::Fork {
            child_pid, thread, ..
        } => {
            format!("child={child_pid}{}", if *thread { " thread" } else { "" })
        }
        EventData::Exit { code, signal, .. } => match signal {
            Some(s) => format!("signal={s}"),
            None => format!("code={code}"),
        },
        EventData::Open {
            path: p,
            flag_names,
            ..
        } => format!("{} {}", path(p), flag_names.join("|")),
        EventData::Unlink { path: p, .. } | EventData::Umount { target: p, .. } => path(p),
        EventData::Rename { from, to, .. } => format!("{} -> {}", path(from), path(to)),
        EventData::Chmod { path: p, mode } => format!("{} mode={mode:o}", path(p)),
        EventData::Chown { path: p, uid, gid } => format!("{} {uid}:{gid}", path(p)),
        EventData::Link { target, path: p } => format!("{} -> {}", path(p), path(target)),
        EventData::Symlink { target, path: p } => format!("{} -> {target}", path(p)),
        EventData::Mkdir { path: p, mode } => format!("{} mode={mode:o}", path(p)),
        EventData::Connect { remote, .. } => format!("to {}", addr(remote)),
        EventData::Accept { remote, .. } => {
            format!("from {}", remote.as_ref().map(addr).unwrap_or_default())
        }
        EventData::Bind { local, .. } => addr(local),
        EventData::Listen { local, backlog, .. } => format!(
            "{} backlog={backlog}",
            local.as_ref().map(addr).unwrap_or_default()
        ),
        EventData::Dns {
            direction,
            query,
            qtype,
            answers,
            ..
        } => {
            let ans: Vec<&str> = answers.iter().map(|a| a.data.as_str()).collect();
            format!("{direction:?} {query} {qtype} {}", ans.join(","))
        }
        EventData::SetId {
            uid,
            euid,
            gid,
            egid,
            ..
        } => {
            let mut s = String::new();
            for (n, v) in [("uid", uid), ("euid", euid), ("gid", gid), ("egid", egid)] {
                if let Some(v) = v {
                    let _ = write!(s, "{n}={v} ");
                }
            }
            s.trim_end().to_string()
        }
        EventData::Capset { effective, .. } => format!("effective={effective:#x}"),
        EventData::Ptrace {
            request_name,
            target_pid,
            ..
        } => format!("{request_name} pid={target_pid}"),
        EventData::Module { op, name, path: p } => format!(
            "{op:?} {}",
            name.clone()
                .or_else(|| p.as_ref().map(path))
                .unwrap_or_default()
        ),
        EventData::Mount {
            source,
            target,
            fstype,
            ..
        } => {
            format!("{source} on {} type {fstype}", path(target))
        }
        EventData::Unshare { namespaces, .. } | EventData::Setns { namespaces, .. } => {
            namespaces.join(",")
        }
        EventData::MemfdCreate { name, .. } => name.clone(),
        EventData::Bpf { cmd_name, .. } => cmd_name.clone(),
        EventData::Kill {
            target_pid,
            signal_name,
            ..
        } => format!("{signal_name} pid={target_pid}"),
    }
}

/// One readable line for an event.
pub fn event_line(e: &Event) -> String {
    let secs = e.time_ns / 1_000_000_000;
    let millis = (e.time_ns / 1_000_000) % 1000;
    let mut line = format!(
        "{secs}.{millis:03} {:<8} {} pid={} {} user={}",
        e.kind().name(),
        e.syscall,
        e.process.pid,
        e.process.comm,
        e.process
            .user
            .clone()
            .unwrap_or_else(|| e.process.uid.to_string()),
    );
    if let Some(c) = &e.container {
        let short = c.id.get(..12).unwrap_or(&c.id);
        let _ = write!(line, " container={short}");
        if let Some(img) = &c.image {
            let _ = write!(line, "({img})");
        }
    }
    let _ = write!(line, " {}", detail(&e.data));
    if let Some(err) = &e.errno {
        let _ = write!(line, " = {err}");
    } else if let Some(r) = e.result {
        if r < 0 {
            let _ = write!(line, " = {r}");
        }
    }
    line
}

/// The settings in force, one per line, each with where it comes from.
fn settings_lines(out: &mut String, f: &crate::settings::InForce) {
    out.push_str("settings in force:\n");
    let events = if f.events.value.is_empty() {
        "none (alerts only)".to_string()
    } else if f.events.value.len() == garrison_event::EventKind::ALL.len() {
        "all".to_string()
    } else {
        f.events.value.join(",")
    };
    for (name, value, origin) in [
        (
            "alert window",
            format!("{} s", f.alert_window_s.value),
            &f.alert_window_s.origin,
        ),
        (
            "alerts per rule",
            f.alerts_per_rule.value.to_string(),
            &f.alerts_per_rule.origin,
        ),
        ("events", events, &f.events.origin),
    ] {
        let _ = writeln!(out, "  {name:<16} {value:<20} from the {origin}");
    }
    if let Some(why) = &f.refused {
        let _ = writeln!(out, "  POLICY SETTINGS REFUSED: {why}");
    }
    if let Some(why) = &f.source_error {
        let _ = writeln!(
            out,
            "  THE SOURCE DID NOT TAKE THE KINDS THESE EVENTS NEED: {why}"
        );
    }
}

/// The `garrison agent status` table. `live` says whether the writer still runs.
pub fn status_table(
    status: Option<&Status>,
    live: bool,
    probe: Option<&serde_json::Value>,
) -> String {
    let mut out = String::new();
    match status {
        None => out.push_str("agent: not running (no status file)\n"),
        Some(s) => {
            if live {
                let _ = writeln!(
                    out,
                    "agent: running, pid {}, up {} s",
                    s.pid,
                    s.uptime_secs()
                );
            } else {
                let _ = writeln!(
                    out,
                    "agent: NOT running (last run: pid {}, {}; status written at unix time {})",
                    s.pid,
                    s.stopped
                        .as_deref()
                        .unwrap_or("ended without a final status"),
                    s.updated_unix
                );
            }
            let mechs: Vec<String> = s
                .source
                .mechanisms
                .iter()
                .map(|m| {
                    serde_json::to_value(m)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .collect();
            let _ = writeln!(out, "source: {} ({})", s.source.name, mechs.join(", "));
            if s.source.degraded {
                let _ = writeln!(
                    out,
                    "DEGRADED: {}",
                    s.source.reason.as_deref().unwrap_or("no reason recorded")
                );
            } else {
                out.push_str("degraded: no\n");
            }
            for note in &s.source.notes {
                let _ = writeln!(out, "{}: {}", note.kind.name(), note.reason);
            }
            let _ = writeln!(out, "output: {}; events written: {}", s.output, s.written);
            let _ = writeln!(
                out,
                "delivered: {}  lost: {}  decode errors: {}  lost (unattributed): {}",
                s.stats.delivered(),
                s.stats.lost(),
                s.stats.decode_errors,
                s.stats.lost_unattributed
            );
            if !s.stats.kinds.is_empty() {
                let _ = writeln!(out, "{:<14} {:>12} {:>10}", "KIND", "DELIVERED", "LOST");
                for (k, v) in &s.stats.kinds {
                    let _ = writeln!(out, "{:<14} {:>12} {:>10}", k.name(), v.delivered, v.lost);
                }
            }
            let _ = writeln!(
                out,
                "process tree: {} entries ({} exited), {} evicted",
                s.enricher.tree.entries, s.enricher.tree.exited, s.enricher.tree.evicted
            );
            for (name, d) in &s.detectors {
                let mut line = format!("detector {name}:");
                if let Some(n) = d.get("rules_loaded").and_then(|v| v.as_u64()) {
                    let _ = write!(line, " {n} rules loaded");
                }
                if let Some(v) = d.get("version").and_then(|v| v.as_str()) {
                    let _ = write!(line, ", ruleset version {v}");
                }
                if let Some(e) = d.get("reload_error").and_then(|v| v.as_str()) {
                    let _ = write!(line, "; LAST RELOAD REFUSED: {e}");
                }
                let _ = writeln!(out, "{line}");
            }
            if let Some(f) = &s.settings {
                settings_lines(&mut out, f);
            }
            let a = &s.alerts;
            let by: Vec<String> = a
                .by_priority
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "alerts: {} raised ({}), {} written, {} folded into {} summaries",
                a.raised,
                if by.is_empty() {
                    "none".to_string()
                } else {
                    by.join(", ")
                },
                a.written,
                a.folded,
                a.summaries
            );
            if a.output_failures > 0 || a.output_backlog_dropped > 0 {
                let _ = writeln!(
                    out,
                    "ALERT OUTPUT PROBLEMS: {} failed writes ({}), {} not queued to file/syslog/webhook",
                    a.output_failures,
                    a.last_output_error.as_deref().unwrap_or("-"),
                    a.output_backlog_dropped
                );
            }
        }
    }
    if let Some(serde_json::Value::Object(p)) = probe {
        out.push_str("host features (probed now):\n");
        for (k, v) in p {
            let shown = match v {
                serde_json::Value::Object(o) => match (o.get("state"), o.get("reason")) {
                    (Some(st), Some(r)) => format!(
                        "{} ({})",
                        st.as_str().unwrap_or_default(),
                        r.as_str().unwrap_or_default()
                    ),
                    (Some(st), None) => st.as_str().unwrap_or_default().to_string(),
                    _ => v.to_string(),
                },
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = writeln!(out, "  {k:<18} {shown}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_event::{Container, Process, Runtime, SCHEMA_VERSION};

    #[test]
    fn a_container_exec_reads_in_one_line() {
        let e = Event {
            schema: SCHEMA_VERSION,
            seq: 1,
            time_ns: 1_700_000_000_123_000_000,
            source: "bpf".into(),
            syscall: "execve".into(),
            result: Some(0),
            errno: None,
            process: Process {
                pid: 9,
                comm: "touch".into(),
                user: Some("root".into()),
                ..Process::default()
            },
            container: Some(Container {
                id: "6a933ba8693f368582c3e52fa5741122a1ccf096f27374e5556796c4be754c8a".into(),
                runtime: Runtime::Podman,
                image: Some("localhost/garrison-debian:12".into()),
                ..Container::default()
            }),
            data: EventData::Exec {
                filename: FilePath::raw("/usr/bin/touch"),
                argv: vec!["touch".into(), "/tmp/x".into()],
                argv_truncated: false,
                exe_dev: 0,
                exe_ino: 0,
                exe_memfd: false,
                exe_deleted: false,
                exe_upper_layer: false,
                stdio: Default::default(),
            },
        };
        assert_eq!(
            event_line(&e),
            "1700000000.123 exec     execve pid=9 touch user=root container=6a933ba8693f(localhost/garrison-debian:12) /usr/bin/touch touch /tmp/x"
        );
    }

    #[test]
    fn status_table_says_degraded_and_not_running() {
        let s = crate::status::tests_support::sample();
        let t = status_table(Some(&s), true, None);
        assert!(t.contains("agent: running"), "{t}");
        assert!(t.contains("DEGRADED: --no-bpf given"), "{t}");
        assert!(t.contains("proc-connector, fanotify"), "{t}");
        assert!(t.contains("exec"), "{t}");
        assert!(
            t.contains("detector rules: 84 rules loaded, ruleset version 0123456789abcdef"),
            "{t}"
        );
        assert!(
            t.contains("alerts: 3 raised (WARNING 3), 2 written, 1 folded into 0 summaries"),
            "{t}"
        );
        let t = status_table(Some(&s), false, None);
        assert!(t.contains("NOT running"), "{t}");
        let cli = crate::settings::Settings {
            alert_window: std::time::Duration::from_secs(60),
            alerts_per_rule: 100,
            kinds: vec![],
        };
        let ov = crate::settings::Overrides {
            policy_version: "ab12".into(),
            alerts_per_rule: Some(5),
            kinds: Some(vec![garrison_event::EventKind::Mkdir]),
            ..Default::default()
        };
        let mut with = s.clone();
        let mut f = crate::settings::merge(&cli, Some(&ov)).1;
        f.refused = Some("policy cd34: config.alerts_per_rule 0 must be 1 to 1000000".into());
        with.settings = Some(f);
        let t = status_table(Some(&with), true, None);
        assert!(
            t.contains("alert window     60 s                 from the command line"),
            "{t}"
        );
        assert!(
            t.contains("alerts per rule  5                    from the policy ab12"),
            "{t}"
        );
        assert!(
            t.contains("events           mkdir                from the policy ab12"),
            "{t}"
        );
        assert!(
            t.contains("POLICY SETTINGS REFUSED: policy cd34: config.alerts_per_rule 0"),
            "{t}"
        );
        let mut s = s;
        s.source.notes.push(garrison_event::KindNote {
            kind: garrison_event::EventKind::Module,
            watched: false,
            reason: "init_module not watched by default: no tracepoint".into(),
        });
        let t = status_table(Some(&s), true, None);
        assert!(
            t.contains("module: init_module not watched by default"),
            "{t}"
        );
        let t = status_table(
            None,
            false,
            Some(
                &serde_json::json!({"btf": true, "lsm": {"state": "unavailable", "reason": "EPERM"}}),
            ),
        );
        assert!(t.contains("not running (no status file)"), "{t}");
        assert!(
            t.contains("lsm") && t.contains("unavailable (EPERM)"),
            "{t}"
        );
    }
}
