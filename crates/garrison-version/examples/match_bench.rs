//! Rough cost of matching: parse 10,000 installed versions and test each against an
//! advisory range (`introduced <= v < fixed`, both pre-parsed), per scheme, on one core.
//! Run: `cargo run --release -p garrison-version --example match_bench`
//! (reads the shared version vectors for realistic strings).

use std::path::PathBuf;
use std::time::Instant;

use garrison_version::{parse, Scheme};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var_os("GARRISON_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = base.join("version-vectors");
    let files = [
        ("debian-versions-generated.txt", Scheme::Dpkg),
        ("redhat-versions.txt", Scheme::Rpm),
        ("alpine-versions-generated.txt", Scheme::Apk),
        ("pypi-versions-generated.txt", Scheme::Pep440),
        ("maven-versions-generated.txt", Scheme::Maven),
        ("rubygems-versions-generated.txt", Scheme::RubyGems),
        ("packagist-versions-generated.txt", Scheme::Packagist),
        ("semver-versions.txt", Scheme::Semver),
        ("nuget-versions.txt", Scheme::NuGet),
    ];
    for (file, scheme) in files {
        let text = std::fs::read_to_string(dir.join(file))
            .map_err(|e| format!("{}: {e}", dir.join(file).display()))?;
        let words: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("# ") && !l.starts_with("// "))
            .flat_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                if f.len() == 3 {
                    vec![f[0], f[2]]
                } else {
                    vec![]
                }
            })
            .filter(|w| parse(scheme, w).is_ok())
            .collect();
        if words.len() < 2 {
            continue;
        }
        let installed: Vec<&str> = words.iter().cycle().take(10_000).copied().collect();
        let introduced = parse(scheme, words[0])?;
        let fixed = parse(scheme, words[words.len() / 2])?;
        let start = Instant::now();
        let mut hits = 0usize;
        for v in &installed {
            let v = parse(scheme, v)?;
            if v >= introduced && v < fixed {
                hits += 1;
            }
        }
        let took = start.elapsed();
        println!(
            "{scheme:>9}: 10,000 parse + 2 compares each in {:>7.2} ms ({hits} in range)",
            took.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}
