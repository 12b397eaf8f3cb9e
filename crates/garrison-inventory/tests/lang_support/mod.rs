//! Shared helpers for the `lang_*` tests: locating fixtures and summarizing results.
#![allow(dead_code)]

use garrison_inventory::{FileRef, Parsed, Parser};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed fixture under `fixtures/lockfiles/`.
pub fn committed(rel: &str) -> PathBuf {
    let p = workspace_root().join("fixtures/lockfiles").join(rel);
    assert!(p.exists(), "committed fixture {} is missing", p.display());
    p
}

/// A generated fixture under `fixtures/out/` (or `$GARRISON_FIXTURES`); fails
/// loudly, naming the script that makes it, when absent.
pub fn generated(rel: &str, script: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("fixtures/out"));
    let p = base.join(rel);
    assert!(
        p.exists(),
        "generated fixture {} is missing: run {script} first",
        p.display()
    );
    p
}

/// Parses a committed fixture; the package location is `/` + its relative path.
pub fn parse(parser: &dyn Parser, rel: &str) -> Parsed {
    let path = committed(rel);
    let content = std::fs::read(&path).unwrap();
    let target_path = format!("/{rel}");
    let file = FileRef::new(&target_path);
    assert!(parser.matches(&file), "{} does not match {target_path}", parser.name());
    parser
        .parse(&file, &content)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `name version` for every package, sorted, duplicates kept visible.
pub fn name_versions(p: &Parsed) -> Vec<String> {
    let mut v: Vec<String> = p
        .packages
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    v.sort();
    v
}

/// Lines of a committed expectation file.
pub fn expected_lines(rel: &str) -> Vec<String> {
    let s = std::fs::read_to_string(committed(rel)).unwrap();
    let v: Vec<String> = s.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    assert!(!v.is_empty(), "{rel} is empty");
    v
}

/// The first `n` space-separated fields of each expectation line.
pub fn fields(lines: &[String], n: usize) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .map(|l| l.split(' ').take(n).collect::<Vec<_>>().join(" "))
        .collect();
    v.sort();
    v
}

/// Every regular file under `dir`, symlinks not followed, as (path inside
/// `dir` with a leading `/`, real path).
pub fn walk(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            let p = e.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let rel = format!("/{}", p.strip_prefix(dir).unwrap().display());
                out.push((rel, p));
            }
        }
    }
    out.sort();
    out
}

/// Runs `parser` over every matching file under `dir`.
pub fn parse_tree(parser: &dyn Parser, dir: &Path) -> Parsed {
    let mut all = Parsed::default();
    for (rel, real) in walk(dir) {
        let file = FileRef::new(&rel);
        if !parser.matches(&file) {
            continue;
        }
        let content = std::fs::read(&real).unwrap();
        let p = parser.parse(&file, &content).unwrap_or_else(|e| panic!("{e}"));
        all.packages.extend(p.packages);
        all.warnings.extend(p.warnings);
    }
    all
}

pub fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}
