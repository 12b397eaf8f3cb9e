//! Policy pickup: the rules (Falco-style YAML files) and configuration the server
//! wants in force. [`install`] writes a fetched policy into the state directory
//! (`policy/rules-<n>/`, then `policy/current.json` atomically, so a reader sees
//! the old or the new policy, never half of one); [`PolicyRules`] is the agent's
//! rules detector: the local ruleset (built-in or `--rules`) followed by the
//! policy's files, compiled together (policy rules may use the local macros and
//! lists, and override them as Falco's later files do), reloaded without a restart
//! when `current.json` changes. The version in force is what it loaded, not what
//! was fetched: a policy that does not compile leaves the previous one in force.

use crate::error::{io, UplinkError};
use crate::identity::{prepare_dir, write_atomic};
use garrison_agent::detect::{Detector, Evaluator, Reloaded};
use garrison_event::{Event, Interest};
use garrison_rules::{Alert, Engine, LoadOptions, RuleSet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Most rule files in one policy.
pub const MAX_POLICY_FILES: usize = 256;
/// Largest policy (all files), bytes.
pub const MAX_POLICY_BYTES: usize = 16 << 20;

/// One rules file of a policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicyFile {
    /// File name (`name.yaml`).
    pub name: String,
    /// Falco-style YAML.
    pub content: String,
}

/// A policy as `GET /api/v1/agent/policy` answers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Policy {
    /// The policy's version.
    pub version: String,
    /// Rules files, loaded in this order after the local ruleset.
    #[serde(default)]
    pub rules: Vec<PolicyFile>,
    /// Agent configuration.
    #[serde(default)]
    pub config: serde_json::Value,
}

/// `policy/current.json`: the installed policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Installed {
    /// Its version.
    pub version: String,
    /// Directory of its rule files, relative to the policy directory.
    pub rules_dir: String,
    /// Its file names, in load order.
    pub files: Vec<String>,
    /// Agent configuration.
    pub config: serde_json::Value,
}

/// What the uplink and the detector share about the policy.
#[derive(Debug, Default)]
pub struct PolicyState {
    /// The version in force (loaded by the rules engine).
    pub applied: Mutex<Option<String>>,
    /// Why the installed policy is not in force, while that is the case.
    pub error: Mutex<Option<String>>,
}

impl PolicyState {
    /// The version in force.
    pub fn applied(&self) -> Option<String> {
        self.applied.lock().ok().and_then(|a| a.clone())
    }

    /// Why the installed policy is not in force.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|a| a.clone())
    }
}

fn check_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// Checks a policy from `url`: file names (plain `*.yaml`, no paths), counts, sizes.
pub fn check(p: &Policy, url: &str) -> Result<(), UplinkError> {
    let bad = |reason: String| UplinkError::Policy {
        url: url.to_string(),
        reason,
    };
    if p.version.is_empty() || p.version.len() > 128 {
        return Err(bad("version must be 1 to 128 characters".into()));
    }
    if p.rules.len() > MAX_POLICY_FILES {
        return Err(bad(format!(
            "{} rule files; at most {MAX_POLICY_FILES}",
            p.rules.len()
        )));
    }
    let mut total = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, f) in p.rules.iter().enumerate() {
        if !check_name(&f.name) {
            return Err(bad(format!(
                "rules[{i}].name {:?} must be a plain file name ending in .yaml or .yml (letters, digits, . _ -)",
                f.name
            )));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(bad(format!("rules[{i}].name {:?} appears twice", f.name)));
        }
        total += f.content.len();
    }
    if total > MAX_POLICY_BYTES {
        return Err(bad(format!(
            "the rule files hold {total} bytes; at most {MAX_POLICY_BYTES}"
        )));
    }
    Ok(())
}

/// The installed policy in `dir`, if any.
pub fn installed(dir: &Path) -> Result<Option<Installed>, UplinkError> {
    let path = dir.join("current.json");
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| UplinkError::Policy {
                url: path.display().to_string(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", &path)(e)),
    }
}

/// Writes a (checked) policy into `dir` and makes it the installed one. Rule
/// directories other than the new and the previous one are removed.
pub fn install(dir: &Path, p: &Policy) -> Result<Installed, UplinkError> {
    prepare_dir(dir)?;
    let prev = installed(dir).ok().flatten();
    let n = std::fs::read_dir(dir)
        .map_err(io("listing", dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|s| s.strip_prefix("rules-"))
                .and_then(|s| s.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1;
    let rules_dir = format!("rules-{n}");
    let rdir = dir.join(&rules_dir);
    prepare_dir(&rdir)?;
    // Numbered so the directory order is the policy's order.
    let mut files = Vec::new();
    for (i, f) in p.rules.iter().enumerate() {
        let name = format!("{i:03}-{}", f.name);
        write_atomic(&rdir.join(&name), f.content.as_bytes(), 0o600)?;
        files.push(name);
    }
    let inst = Installed {
        version: p.version.clone(),
        rules_dir: rules_dir.clone(),
        files,
        config: p.config.clone(),
    };
    let text = serde_json::to_vec_pretty(&inst).unwrap_or_default();
    write_atomic(&dir.join("current.json"), &text, 0o600)?;
    let keep = [Some(rules_dir), prev.map(|p| p.rules_dir)];
    for e in std::fs::read_dir(dir)
        .map_err(io("listing", dir))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("rules-") && !keep.iter().flatten().any(|k| *k == name) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok(inst)
}

/// Where the local ruleset comes from.
#[derive(Debug, Clone)]
pub enum RuleBase {
    /// The ruleset built into the binary.
    Builtin,
    /// Rules files or directories (`--rules`, `/etc/garrison/rules`), watched.
    Paths(Vec<PathBuf>),
}

/// The rules detector of an agent with an uplink: local ruleset + the policy.
pub struct PolicyRules {
    base: RuleBase,
    dir: PathBuf,
    state: Arc<PolicyState>,
    engine: Arc<Engine>,
    detector: garrison_rules::Detector,
    loaded: Option<Installed>,
}

fn build(
    base: &RuleBase,
    dir: &Path,
    inst: Option<&Installed>,
    hostname: &str,
) -> Result<Engine, String> {
    let (set, paths) = build_set(base, dir, inst)?;
    Ok(Engine::with_ruleset(set, paths, hostname.to_string()))
}

/// The ruleset of `base` followed by the installed policy, and the local paths.
fn build_set(
    base: &RuleBase,
    dir: &Path,
    inst: Option<&Installed>,
) -> Result<(RuleSet, Vec<PathBuf>), String> {
    let (mut sources, base_files, paths) = match base {
        RuleBase::Builtin => (garrison_rules::embedded::sources(), Vec::new(), Vec::new()),
        RuleBase::Paths(paths) => {
            let set = RuleSet::load_paths(paths, LoadOptions::default())
                .map_err(|e| format!("local rules: {e}"))?;
            let mut sources = Vec::new();
            for f in &set.files {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| format!("reading {}: {e}", f.display()))?;
                sources.push((f.display().to_string(), text));
            }
            (sources, set.files.clone(), paths.clone())
        }
    };
    if let Some(inst) = inst {
        let rdir = dir.join(&inst.rules_dir);
        for name in &inst.files {
            let path = rdir.join(name);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            sources.push((format!("policy {}:{name}", inst.version), text));
        }
    }
    let mut set =
        RuleSet::from_sources(&sources, LoadOptions::default()).map_err(|e| match inst {
            Some(i) => format!("policy {}: {e}", i.version),
            None => e.to_string(),
        })?;
    // The local files only: they are the ones watched for changes.
    set.files = base_files;
    Ok((set, paths))
}

/// A worker thread's share of the policy rules (the engine swaps rulesets in
/// place, so workers follow reloads at their next event).
struct PolicyEvaluator(garrison_rules::Detector);

impl Evaluator for PolicyEvaluator {
    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        self.0.process(ev, emit);
    }
}

impl PolicyRules {
    /// The detector over `base` and the policy installed in `dir` (if it does not
    /// compile, the local ruleset alone is in force and the reason is kept).
    pub fn new(
        base: RuleBase,
        dir: &Path,
        hostname: &str,
        state: Arc<PolicyState>,
    ) -> Result<PolicyRules, String> {
        let inst = installed(dir).map_err(|e| e.to_string());
        let (engine, loaded) = match inst {
            Ok(Some(i)) => match build(&base, dir, Some(&i), hostname) {
                Ok(e) => {
                    set(&state.applied, Some(i.version.clone()));
                    (e, Some(i))
                }
                Err(why) => {
                    set(&state.error, Some(why));
                    (build(&base, dir, None, hostname)?, Some(i))
                }
            },
            Ok(None) => (build(&base, dir, None, hostname)?, None),
            Err(why) => {
                set(&state.error, Some(why));
                (build(&base, dir, None, hostname)?, None)
            }
        };
        let engine = Arc::new(engine);
        Ok(PolicyRules {
            detector: engine.detector(),
            engine,
            base,
            dir: dir.to_path_buf(),
            state,
            loaded,
        })
    }

    /// The engine in force.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }
}

fn set(slot: &Mutex<Option<String>>, v: Option<String>) {
    if let Ok(mut s) = slot.lock() {
        *s = v;
    }
}

impl Detector for PolicyRules {
    fn name(&self) -> &str {
        "rules"
    }

    fn interest(&self) -> Interest {
        self.engine.interest()
    }

    fn on_event(&mut self, ev: &Event, emit: &mut dyn FnMut(Alert)) {
        self.detector.process(ev, emit);
    }

    fn evaluator(&self) -> Option<Box<dyn Evaluator>> {
        Some(Box::new(PolicyEvaluator(self.engine.detector())))
    }

    fn reload(&mut self) -> Reloaded {
        let inst = match installed(&self.dir) {
            Ok(i) => i,
            Err(e) => {
                let why = format!("policy not reloaded: {e}");
                set(&self.state.error, Some(why.clone()));
                return Reloaded::Kept(why);
            }
        };
        match build_set(&self.base, &self.dir, inst.as_ref()) {
            Ok((ruleset, _)) => {
                // In place: the pipeline's and the worker threads' detectors all
                // follow the engine at their next event.
                let rules = self.engine.replace(ruleset);
                let version = inst.as_ref().map(|i| i.version.clone());
                set(&self.state.applied, version.clone());
                set(&self.state.error, None);
                self.loaded = inst;
                Reloaded::Applied(format!(
                    "{rules} rules loaded (version {}, policy {})",
                    self.engine.ruleset().version(),
                    version.as_deref().unwrap_or("none")
                ))
            }
            Err(why) => {
                let why = format!("reload refused, previous rules stay in force: {why}");
                set(&self.state.error, Some(why.clone()));
                // Remember it so the same broken policy is not retried every poll.
                self.loaded = inst;
                Reloaded::Kept(why)
            }
        }
    }

    fn wants_reload(&mut self) -> bool {
        let now = installed(&self.dir).ok().flatten();
        now != self.loaded
            || (matches!(self.base, RuleBase::Paths(_)) && self.engine.files_changed())
    }

    fn status(&self) -> serde_json::Value {
        let set = self.engine.ruleset();
        serde_json::json!({
            "rules_loaded": set.rules().iter().filter(|r| r.enabled).count(),
            "version": set.version(),
            "files": set.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "policy_version": self.state.applied(),
            "reload_error": self.state.error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "- rule: policy test rule\n  desc: d\n  condition: spawned_process and proc.name = policy-probe\n  output: probe %proc.name\n  priority: WARNING\n";

    fn policy(version: &str, content: &str) -> Policy {
        Policy {
            version: version.into(),
            rules: vec![PolicyFile {
                name: "site.yaml".into(),
                content: content.into(),
            }],
            config: serde_json::json!({}),
        }
    }

    #[test]
    fn names_and_sizes_are_checked() {
        for bad in ["../x.yaml", "a/b.yaml", ".hidden.yaml", "x.sh", ""] {
            let mut p = policy("1", RULE);
            p.rules[0].name = bad.into();
            assert!(check(&p, "u").is_err(), "{bad}");
        }
        assert!(check(&policy("1", RULE), "u").is_ok());
        assert!(check(&policy("", RULE), "u").is_err());
    }

    #[test]
    fn a_policy_is_loaded_with_the_builtin_macros_and_a_broken_one_is_kept_out() {
        let d = tempfile::tempdir().unwrap();
        let state = Arc::new(PolicyState::default());
        let mut det = PolicyRules::new(RuleBase::Builtin, d.path(), "h", state.clone()).unwrap();
        let before = det.engine().ruleset().rules().len();
        assert!(!det.wants_reload());
        install(d.path(), &policy("v1", RULE)).unwrap();
        assert!(det.wants_reload());
        assert!(matches!(det.reload(), Reloaded::Applied(_)));
        assert_eq!(state.applied().as_deref(), Some("v1"));
        assert_eq!(det.engine().ruleset().rules().len(), before + 1);
        assert!(!det.wants_reload());
        install(
            d.path(),
            &policy("v2", "- rule: broken\n  condition: (((\n"),
        )
        .unwrap();
        assert!(det.wants_reload());
        assert!(matches!(det.reload(), Reloaded::Kept(_)));
        assert_eq!(state.applied().as_deref(), Some("v1"), "v1 stays in force");
        assert!(state.error().unwrap().contains("v2"));
        assert!(
            !det.wants_reload(),
            "a broken policy is not retried every poll"
        );
        // A restart with the broken policy installed still starts (local rules).
        let state2 = Arc::new(PolicyState::default());
        let det2 = PolicyRules::new(RuleBase::Builtin, d.path(), "h", state2.clone()).unwrap();
        assert_eq!(det2.engine().ruleset().rules().len(), before);
        assert!(state2.error().is_some());
        // Old rule directories are pruned (current and previous kept).
        install(d.path(), &policy("v3", RULE)).unwrap();
        let dirs = std::fs::read_dir(d.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("rules-")
            })
            .count();
        assert_eq!(dirs, 2);
    }
}
