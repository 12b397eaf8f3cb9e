//! Open/close storm against the sensor: how many events per second reach user
//! space, and how many are lost. Run as root:
//!   cargo run --release -p garrison-sensor --example storm -- [opens] [procs]
//! The storm runs in child processes (this binary re-executed with `--storm`), so
//! the sensor, which ignores its own pid, sees every open.

use garrison_event::{EventKind, EventSource, Interest};
use garrison_sensor::Sensor;
use std::time::{Duration, Instant};

fn storm(n: u64, path: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let start = Instant::now();
    for _ in 0..n {
        // open with write intent (delivered), close
        drop(
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .expect("open the storm file"),
        );
    }
    let s = start.elapsed().as_secs_f64();
    println!("{n} {s}");
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--storm") {
        let n = args
            .get(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        storm(
            n,
            args.get(3)
                .map(String::as_str)
                .unwrap_or("/tmp/garrison-storm"),
        );
        return;
    }
    if args.get(1).map(String::as_str) == Some("--idle") {
        // the default interest, polled for N seconds: for measuring what the
        // sensor adds to other workloads
        let secs: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(10);
        // `--idle N module`: with the module kind insisted on, which takes
        // raw_syscalls on kernels without module tracepoints
        let mut interest = Interest::default();
        if args.get(3).map(String::as_str) == Some("module") {
            interest = interest.insist_on([EventKind::Module]);
        }
        // `--idle N dns`: the `dns` kind alone, as the default interest traces it
        // (from packets: the cgroup_skb programs): what its programs cost other
        // traffic (GARRISON_SENSOR_DNS_SYSCALLS=1: the syscall path instead, with
        // the DNS gate; GARRISON_SENSOR_NO_DNS_GATE=1 as well: without it)
        if args.get(3).map(String::as_str) == Some("dns") {
            interest = Interest::kinds([EventKind::Dns]);
        }
        let mut sensor = Sensor::start(&interest).expect("start the sensor (as root)");
        let end = Instant::now() + Duration::from_secs(secs);
        let mut n = 0u64;
        while Instant::now() < end {
            sensor
                .poll(Duration::from_millis(100), &mut |_| n += 1)
                .expect("poll");
        }
        println!("events={n} lost={}", sensor.stats().lost());
        return;
    }
    let opens: u64 = args
        .get(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let procs: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1);
    let mut interest = Interest::kinds([EventKind::Open]);
    interest.ignore_prefixes.clear();
    let mut sensor = Sensor::start(&interest).expect("start the sensor (as root)");
    let dir = tempfile::tempdir().expect("tempdir");
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let exe = std::env::current_exe().expect("current exe");
    let children: Vec<_> = (0..procs)
        .map(|i| {
            std::process::Command::new(&exe)
                .arg("--storm")
                .arg((opens / procs).to_string())
                .arg(dir.path().join(format!("f{i}")))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn the storm")
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    let mut got = 0u64;
    let mut children = children;
    let mut storm_secs = 0.0f64;
    loop {
        sensor
            .poll(Duration::from_millis(50), &mut |e| {
                if pids.contains(&e.process.pid) {
                    got += 1;
                }
            })
            .expect("poll");
        children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if children.is_empty() {
            break;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    // drain what is still queued
    while sensor
        .poll(Duration::from_millis(200), &mut |e| {
            if pids.contains(&e.process.pid) {
                got += 1;
            }
        })
        .expect("poll")
        > 0
    {}
    let total = t0.elapsed().as_secs_f64();
    storm_secs = storm_secs.max(wall);
    let stats = sensor.stats();
    let open = stats
        .kinds
        .get(&EventKind::Open)
        .copied()
        .unwrap_or_default();
    let rss_kb = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    println!(
        "opens={opens} procs={procs} storm_wall_s={storm_secs:.3} events_received={got} rate_per_s={:.0} kernel_delivered={} kernel_lost={} agent_cpu_s={:.2} drain_s={:.3} agent_peak_rss={rss_kb}",
        got as f64 / storm_secs,
        open.delivered,
        open.lost,
        cpu_seconds() - cpu0,
        total - wall,
    );
}
