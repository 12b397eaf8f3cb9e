//! Benchmarks of the advisory store on the shared OSV data: import (advisories/s,
//! database size), open time, and matching 10,000 packages on one core.
//!
//! Run: `cargo bench -p garrison-vulndb` (shared data at `<workspace>/../shared/data`,
//! or `GARRISON_SHARED_DATA`). Prints one line per measurement.

use garrison_model::{Distro, Ecosystem, Package};
use garrison_vulndb::{import_with, match_packages, osv, Db, ZipLimits};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn shared_osv() -> PathBuf {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join("osv");
    if !p.is_dir() {
        eprintln!(
            "shared OSV data missing at {} (set GARRISON_SHARED_DATA)",
            p.display()
        );
        std::process::exit(2);
    }
    p
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if osv::Format::from_name(&p.to_string_lossy()).is_some() {
            out.push(p);
        }
    }
}

/// (ecosystem, name, version) for every `affected[]` entry of the shared data in an
/// ecosystem the inventory knows, with the entry's first fixed (or last affected,
/// or listed) version.
fn advised(data: &Path) -> Vec<(Ecosystem, String, String)> {
    let mut paths = Vec::new();
    files(data, &mut paths);
    paths.sort();
    let mut out = Vec::new();
    for p in &paths {
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        let format = osv::Format::from_name(&p.to_string_lossy()).unwrap_or(osv::Format::Json);
        let Ok(r) = osv::parse_record(&bytes, format) else {
            continue;
        };
        for a in &r.affected {
            let Some(pkg) = &a.package else { continue };
            let eco = match osv::ecosystem_base(&pkg.ecosystem) {
                "crates.io" => Ecosystem::Cargo,
                "Go" => Ecosystem::Go,
                "PyPI" => Ecosystem::PyPI,
                "AlmaLinux" if pkg.ecosystem == "AlmaLinux:9" => Ecosystem::Rpm,
                _ => continue,
            };
            let version = a
                .ranges
                .iter()
                .flat_map(|r| &r.events)
                .find_map(|e| e.fixed.clone().or(e.last_affected.clone()))
                .or_else(|| a.versions.first().cloned());
            let Some(mut version) = version else { continue };
            if eco == Ecosystem::Go {
                version = format!("v{version}");
            }
            out.push((eco, pkg.name.clone(), version));
        }
    }
    out
}

fn fill(mut pkgs: Vec<Package>) -> Vec<Package> {
    let mut i = 0;
    while pkgs.len() < 10_000 {
        let eco = [
            Ecosystem::Cargo,
            Ecosystem::Go,
            Ecosystem::PyPI,
            Ecosystem::Rpm,
        ][i % 4];
        pkgs.push(Package::new(
            eco,
            format!("not-advised-{i}"),
            "1.2.3-1.el9",
            "/bench",
        ));
        i += 1;
    }
    pkgs
}

/// An inventory-like set: each advised name once (ecosystems interleaved, up to
/// 5,000), then 5,000+ names no advisory mentions.
fn inventory_like(advised: &[(Ecosystem, String, String)]) -> Vec<Package> {
    let mut seen = std::collections::HashSet::new();
    let mut per: Vec<Vec<Package>> = vec![Vec::new(); 4];
    for (eco, name, version) in advised {
        if seen.insert((*eco, name.clone())) {
            let slot = match eco {
                Ecosystem::Cargo => 0,
                Ecosystem::Go => 1,
                Ecosystem::PyPI => 2,
                _ => 3,
            };
            per[slot].push(Package::new(*eco, name.clone(), version.clone(), "/bench"));
        }
    }
    let mut pkgs = Vec::new();
    let mut iters: Vec<_> = per.into_iter().map(|v| v.into_iter()).collect();
    while pkgs.len() < 5_000 {
        let mut any = false;
        for it in iters.iter_mut() {
            if let Some(p) = it.next() {
                pkgs.push(p);
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    pkgs.truncate(5_000);
    fill(pkgs)
}

/// A stress set: 5,000 advised (name, version) pairs with repeats (the AlmaLinux
/// kernel packages at a hundred versions each), then unadvised names.
fn stress(advised: &[(Ecosystem, String, String)]) -> Vec<Package> {
    let pkgs = advised
        .iter()
        .take(5_000)
        .map(|(e, n, v)| Package::new(*e, n.clone(), v.clone(), "/bench"))
        .collect();
    fill(pkgs)
}

fn bench_match(label: &str, dir: &Path, pkgs: &[Package]) {
    let alma = Distro {
        id: "almalinux".into(),
        version_id: Some("9.4".into()),
        ..Distro::default()
    };
    let mut runs = Vec::new();
    let mut cpu = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let db = Db::open(dir).expect("open");
        let c = cpu_time();
        let t = Instant::now();
        let m = match_packages(&db, pkgs, Some(&alma)).expect("match");
        runs.push(t.elapsed());
        if let (Some(a), Some(b)) = (c, cpu_time()) {
            cpu.push(b.saturating_sub(a));
        }
        found = m.len();
    }
    runs.sort();
    cpu.sort();
    if let (Some(med), Some(best)) = (cpu.get(cpu.len() / 2), cpu.first()) {
        println!(
            "match ({label}): on-CPU time median {:.1} ms, best {:.1} ms",
            ms(*med),
            ms(*best)
        );
    }
    println!(
        "match ({label}): {} packages -> {} matches; median {:.1} ms, best {:.1} ms, worst {:.1} ms (fresh Db each run, one thread)",
        pkgs.len(),
        found,
        ms(runs[runs.len() / 2]),
        ms(runs[0]),
        ms(runs[runs.len() - 1])
    );
}

fn main() {
    let data = shared_osv();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().join("db");
    let inputs: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("listing the shared OSV data")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();

    let t = Instant::now();
    let summary = import_with(&dir, &refs, ZipLimits::default()).expect("import");
    let took = t.elapsed();
    let size = std::fs::metadata(dir.join(garrison_vulndb::DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "import: {} advisories in {:.2} s = {:.0} advisories/s; {} skipped; database {:.1} MiB",
        summary.records,
        took.as_secs_f64(),
        summary.records as f64 / took.as_secs_f64(),
        summary.skipped.len(),
        size as f64 / (1024.0 * 1024.0)
    );

    let mut opens = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let db = Db::open(&dir).expect("open");
        opens.push(t.elapsed());
        drop(db);
    }
    opens.sort();
    println!(
        "open: median {:.2} ms, max {:.2} ms (20 opens)",
        ms(opens[opens.len() / 2]),
        ms(opens[opens.len() - 1])
    );

    let advised = advised(&data);
    bench_match("inventory-like", &dir, &inventory_like(&advised));
    bench_match("stress", &dir, &stress(&advised));
}

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), so
/// that a busy shared machine does not inflate the numbers.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
