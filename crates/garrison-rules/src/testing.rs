//! `rules validate` and `rules test`: checks a rules directory (syntax, unknown
//! fields, unused macros and lists, ATT&CK tags) and runs its fixtures (events in,
//! expected rule names out).
//!
//! Fixtures are `DIR/tests/*.jsonl`: one JSON object per line. A line holding
//! `{"defaults": {...}}` sets a partial event merged (deeply) under every following
//! line; every other line is an event in the runtime schema (`docs/events.md`), merged
//! over the defaults, with one extra key `"expect"`: the names of the rules it must
//! fire (empty: none may fire). Blank lines and lines starting with `//` are skipped.

use crate::engine::Engine;
use crate::ruleset::{LoadOptions, RuleSet};
use garrison_event::Event;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The outcome of `rules validate`.
#[derive(Debug, Default)]
pub struct Validation {
    /// Files loaded.
    pub files: usize,
    /// Rules loaded (enabled).
    pub rules: usize,
    /// Problems that fail validation.
    pub errors: Vec<String>,
}

/// Loads `dir` strictly and checks it.
pub fn validate(dir: &Path) -> Validation {
    let mut v = Validation::default();
    let set = match RuleSet::load_paths(&[dir.to_path_buf()], LoadOptions::default()) {
        Ok(set) => set,
        Err(e) => {
            v.errors.extend(e.0.iter().map(|e| e.to_string()));
            return v;
        }
    };
    v.files = set.files.len();
    v.rules = set.rules().iter().filter(|r| r.enabled).count();
    for w in &set.warnings {
        if w.contains("required_plugin_versions") {
            continue;
        }
        v.errors.push(w.clone());
    }
    for r in set.rules() {
        if r.attack.is_empty() {
            v.errors.push(format!(
                "{}:{}: rule {:?} has no ATT&CK technique tag (like T1059.004)",
                r.pos.file, r.pos.line, r.name
            ));
        }
    }
    v
}

/// One failed fixture line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `file:line`.
    pub at: String,
    /// What was expected and what happened.
    pub message: String,
}

/// The outcome of `rules test`.
#[derive(Debug, Default)]
pub struct TestRun {
    /// Fixture files.
    pub files: usize,
    /// Cases run.
    pub cases: usize,
    /// Cases expecting no alert.
    pub negatives: usize,
    /// Failures.
    pub failures: Vec<Failure>,
    /// Enabled rules that no case expects to fire.
    pub uncovered: Vec<String>,
    /// Alerts fired, per rule.
    pub fired: BTreeMap<String, usize>,
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                // `data` of another kind replaces the default's rather than merging.
                let other_kind = k == "data"
                    && v.get("type")
                        .is_some_and(|t| b.get(k).and_then(|d| d.get("type")) != Some(t));
                if other_kind {
                    b.insert(k.clone(), v.clone());
                    continue;
                }
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Runs the fixtures of `dir/tests` against the rules of `dir`.
pub fn run_tests(dir: &Path) -> Result<TestRun, String> {
    let set = RuleSet::load_paths(&[dir.to_path_buf()], LoadOptions::default())
        .map_err(|e| e.to_string())?;
    let names: BTreeSet<String> = set
        .rules()
        .iter()
        .filter(|r| r.enabled)
        .map(|r| r.name.clone())
        .collect();
    let engine = Arc::new(Engine::with_ruleset(
        set,
        vec![dir.to_path_buf()],
        "garrison-test",
    ));
    let tests = dir.join("tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .map_err(|e| format!("{}: cannot list fixtures: {e}", tests.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no *.jsonl fixtures", tests.display()));
    }
    let mut run = TestRun::default();
    let mut expected_somewhere = BTreeSet::new();
    for file in &files {
        run.files += 1;
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut defaults = Value::Object(Default::default());
        let mut det = engine.detector();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), i + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let mut value: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    run.failures.push(Failure {
                        at,
                        message: format!("not JSON: {e}"),
                    });
                    continue;
                }
            };
            if let Some(d) = value.get("defaults") {
                defaults = d.clone();
                continue;
            }
            let expect: Vec<String> = match value.as_object_mut().and_then(|o| o.remove("expect")) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    run.failures.push(Failure {
                        at,
                        message: "a case needs \"expect\": [rule names]".into(),
                    });
                    continue;
                }
            };
            let mut event = defaults.clone();
            merge(&mut event, &value);
            let event: Event = match serde_json::from_value(event) {
                Ok(e) => e,
                Err(e) => {
                    run.failures.push(Failure {
                        at,
                        message: format!("not an event of the runtime schema: {e}"),
                    });
                    continue;
                }
            };
            for name in &expect {
                if !names.contains(name) {
                    run.failures.push(Failure {
                        at: at.clone(),
                        message: format!("expects unknown or disabled rule {name:?}"),
                    });
                }
                expected_somewhere.insert(name.clone());
            }
            run.cases += 1;
            if expect.is_empty() {
                run.negatives += 1;
            }
            let mut fired = Vec::new();
            det.process(&event, |a| fired.push(a.rule));
            for f in &fired {
                *run.fired.entry(f.clone()).or_default() += 1;
            }
            let want: BTreeSet<&String> = expect.iter().collect();
            let got: BTreeSet<&String> = fired.iter().collect();
            if want != got {
                run.failures.push(Failure {
                    at,
                    message: format!("expected {:?}, fired {:?}", want, got),
                });
            }
        }
    }
    run.uncovered = names.difference(&expected_somewhere).cloned().collect();
    Ok(run)
}
