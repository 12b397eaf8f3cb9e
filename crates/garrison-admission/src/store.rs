//! Stored scan results, looked up by image digest: a folder of `garrison scan
//! --format json` reports (any file name ending in `.json`), indexed by each
//! report's manifest digest and image ID.

use garrison_model::{FixState, ScanReport, Severity};
use std::collections::HashMap;
use std::path::Path;

/// What the webhook needs to know about one scanned image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageVulns {
    /// The report it came from.
    pub source: String,
    /// CRITICAL findings that have a fixed version.
    pub critical_fixable: Vec<String>,
    /// Every CRITICAL finding.
    pub critical_all: Vec<String>,
}

/// Scan results by digest (`sha256:...`).
#[derive(Debug, Clone, Default)]
pub struct ScanStore {
    by_digest: HashMap<String, ImageVulns>,
    /// Reports that could not be read, for the startup log.
    pub skipped: Vec<String>,
}

impl ScanStore {
    /// Reads every `*.json` scan report in `dir` (not recursive). A missing
    /// folder is an empty store; unreadable reports are listed in `skipped`.
    pub fn load(dir: &Path) -> ScanStore {
        let mut store = ScanStore::default();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return store;
        };
        let mut paths: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let parsed = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<ScanReport>(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(r) => store.add(&p.display().to_string(), &r),
                Err(e) => store.skipped.push(format!(
                    "{}: not a garrison scan JSON report: {e}",
                    p.display()
                )),
            }
        }
        store
    }

    /// Indexes one report under its manifest digest and image ID.
    pub fn add(&mut self, source: &str, r: &ScanReport) {
        let mut v = ImageVulns {
            source: source.to_string(),
            ..ImageVulns::default()
        };
        for f in &r.findings {
            if f.vulnerability.severity != Severity::Critical || f.suppressed.is_some() {
                continue;
            }
            let id = f.vulnerability.id.clone();
            if matches!(f.fix, FixState::Fixed { .. }) && !v.critical_fixable.contains(&id) {
                v.critical_fixable.push(id.clone());
            }
            if !v.critical_all.contains(&id) {
                v.critical_all.push(id);
            }
        }
        for d in [&r.target.digest, &r.target.image_id].into_iter().flatten() {
            self.by_digest.insert(d.to_ascii_lowercase(), v.clone());
        }
    }

    pub fn get(&self, digest: &str) -> Option<&ImageVulns> {
        self.by_digest.get(&digest.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}
