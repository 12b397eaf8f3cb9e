//! Every version the shared real OSV advisories name (AlmaLinux, Go, crates.io JSON records:
//! range events and `versions` lists of ECOSYSTEM and SEMVER ranges) parses under the
//! scheme its ecosystem maps to.

use std::path::PathBuf;

use garrison_version::{parse, Scheme};
use serde_json::Value;

fn osv_dir() -> PathBuf {
    let base = match std::env::var_os("GARRISON_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let dir = base.join("osv");
    assert!(
        dir.is_dir(),
        "OSV advisories missing at {} (clone the shared data beside the repo or set GARRISON_SHARED_DATA)",
        dir.display()
    );
    dir
}

#[test]
fn every_shared_osv_version_parses() {
    let mut failures = Vec::new();
    for sub in ["AlmaLinux", "Go", "crates.io"] {
        let dir = osv_dir().join(sub);
        let mut versions = 0usize;
        let mut files = 0usize;
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for affected in doc["affected"].as_array().into_iter().flatten() {
                let eco = affected["package"]["ecosystem"]
                    .as_str()
                    .unwrap_or_default();
                let Some(scheme) = Scheme::for_osv_ecosystem(eco) else {
                    failures.push(format!(
                        "{}: no scheme for ecosystem {eco:?}",
                        path.display()
                    ));
                    continue;
                };
                let mut names: Vec<&str> = Vec::new();
                for range in affected["ranges"].as_array().into_iter().flatten() {
                    if !matches!(range["type"].as_str(), Some("ECOSYSTEM" | "SEMVER")) {
                        continue;
                    }
                    for event in range["events"].as_array().into_iter().flatten() {
                        for key in ["introduced", "fixed", "last_affected", "limit"] {
                            if let Some(v) = event[key].as_str() {
                                names.push(v);
                            }
                        }
                    }
                }
                names.extend(
                    affected["versions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str),
                );
                for v in names {
                    versions += 1;
                    if let Err(e) = parse(scheme, v) {
                        failures.push(format!("{}: {e}", path.display()));
                    }
                }
            }
        }
        eprintln!("{sub}: {versions} versions from {files} advisories parsed");
        assert!(files > 0, "no advisories in {}", dir.display());
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
