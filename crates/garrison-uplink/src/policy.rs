//! Policy pickup: the rules (Falco-style YAML files) and configuration the server
//! wants in force. [`install`] writes a fetched policy into the state directory
//! (`policy/rules-<n>/`, then `policy/current.json` atomically, so a reader sees
//! the old or the new policy, never half of one); [`PolicyRules`] is the agent's
//! rules detector: the local ruleset (built-in or `--rules`) followed by the
//! policy's files, compiled together (policy rules may use the local macros and
//! lists, and override them as Falco's later files do), reloaded without a restart
//! when `current.json` changes. The version in force is what it loaded, not what
//! was fetched: a policy that does not compile leaves the previous one in force.
//!
//! The policy's `config` ([`overrides`]: `alert_window_s`, `alerts_per_rule`,
//! `events`) is checked here again, whatever the server validated: unknown keys,
//! values out of range or unknown event kinds refuse the whole policy (its rules
//! too), and the previous rules and settings stay in force. Loaded with the rules,
//! the settings go to [`PolicyState::settings`], which the agent's pipeline
//! applies at its next turn (keys left out: the command line's settings).

use crate::error::{io, UplinkError};
use crate::identity::{prepare_dir, write_atomic};
use garrison_agent::detect::{Detector, Evaluator, Reloaded};
use garrison_agent::settings::{LiveSettings, Overrides};
use garrison_event::{Event, EventKind, Interest};
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
    /// The settings of the policy in force, for the agent's pipeline.
    pub settings: Arc<LiveSettings>,
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

/// Most event kinds a policy's `config.events` may name.
pub const MAX_POLICY_EVENTS: usize = 64;

/// A policy's `config`, as the server's `AgentConfig` writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigDoc {
    #[serde(default)]
    alert_window_s: Option<u64>,
    #[serde(default)]
    alerts_per_rule: Option<u64>,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// The settings a policy's `config` overrides (an absent or empty `config`:
/// none). Refused (with the reason): anything but an object, unknown keys, a
/// window outside 1 to 86400 s, a cap outside 1 to 1000000, more than
/// [`MAX_POLICY_EVENTS`] kinds or a kind that is not one.
pub fn overrides(config: &serde_json::Value, version: &str) -> Result<Overrides, String> {
    let doc: ConfigDoc = match config {
        serde_json::Value::Null => ConfigDoc {
            alert_window_s: None,
            alerts_per_rule: None,
            events: None,
        },
        // An object only (serde would take a struct from an array too).
        v if v.is_object() => {
            serde_json::from_value(v.clone()).map_err(|e| format!("config: {e}"))?
        }
        v => return Err(format!("config: {v} is not an object")),
    };
    let kinds = match doc.events {
        None => None,
        Some(list) => {
            if list.len() > MAX_POLICY_EVENTS {
                return Err(format!(
                    "config.events names {} kinds; at most {MAX_POLICY_EVENTS}",
                    list.len()
                ));
            }
            let mut kinds: Vec<EventKind> = Vec::new();
            for (i, name) in list.iter().enumerate() {
                let parsed = if name.contains(',') {
                    Vec::new()
                } else {
                    EventKind::parse_list(name).unwrap_or_default()
                };
                if parsed.is_empty() {
                    return Err(format!(
                        "config.events[{i}] {name:?} is not an event kind: use \"all\" or one of {}",
                        EventKind::ALL
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                for k in parsed {
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
            }
            Some(kinds)
        }
    };
    let o = Overrides {
        policy_version: version.to_string(),
        alert_window: doc.alert_window_s.map(std::time::Duration::from_secs),
        alerts_per_rule: doc.alerts_per_rule,
        kinds,
    };
    o.check().map_err(|e| format!("config.{}", e.reason))?;
    Ok(o)
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
    overrides(&p.config, &p.version).map_err(|why| {
        bad(format!(
            "version {} refused (the policy in force stays): {why}",
            p.version
        ))
    })?;
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
            Ok(Some(i)) => match overrides(&i.config, &i.version)
                .map_err(|why| format!("policy {}: {why}", i.version))
                .and_then(|ov| Ok((build(&base, dir, Some(&i), hostname)?, ov)))
            {
                Ok((e, ov)) => {
                    set(&state.applied, Some(i.version.clone()));
                    if let Err(why) = state.settings.set(Some(ov)) {
                        set(&state.error, Some(why.to_string()));
                    }
                    (e, Some(i))
                }
                Err(why) => {
                    state.settings.refuse(why.clone());
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
        let ov = match inst.as_ref().map(|i| {
            overrides(&i.config, &i.version).map_err(|why| format!("policy {}: {why}", i.version))
        }) {
            None => Ok(None),
            Some(Ok(o)) => Ok(Some(o)),
            Some(Err(why)) => Err(why),
        };
        let built = ov.and_then(|ov| Ok((build_set(&self.base, &self.dir, inst.as_ref())?, ov)));
        match built {
            Ok(((ruleset, _), ov)) => {
                // In place: the pipeline's and the worker threads' detectors all
                // follow the engine at their next event.
                let rules = self.engine.replace(ruleset);
                let version = inst.as_ref().map(|i| i.version.clone());
                set(&self.state.applied, version.clone());
                set(&self.state.error, None);
                // Checked above: set cannot refuse them.
                let _ = self.state.settings.set(ov);
                self.loaded = inst;
                Reloaded::Applied(format!(
                    "{rules} rules loaded (version {}, policy {})",
                    self.engine.ruleset().version(),
                    version.as_deref().unwrap_or("none")
                ))
            }
            Err(why) => {
                let why =
                    format!("reload refused, previous rules and settings stay in force: {why}");
                self.state.settings.refuse(why.clone());
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
        assert_eq!(
            state
                .settings
                .snapshot()
                .0
                .map(|o| o.policy_version)
                .as_deref(),
            Some("v1"),
            "and v1's settings: a policy is in force whole or not at all"
        );
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

    #[test]
    fn config_becomes_overrides_and_hostile_config_is_refused() {
        use serde_json::json;
        let o = overrides(&json!({}), "v").unwrap();
        assert_eq!(o.alert_window, None);
        assert_eq!(o.alerts_per_rule, None);
        assert_eq!(o.kinds, None);
        assert_eq!(overrides(&serde_json::Value::Null, "v").unwrap(), o);
        let o = overrides(
            &json!({"alert_window_s": 30, "alerts_per_rule": 5, "events": ["exec", "mkdir", "exec"]}),
            "v2",
        )
        .unwrap();
        assert_eq!(o.policy_version, "v2");
        assert_eq!(o.alert_window, Some(std::time::Duration::from_secs(30)));
        assert_eq!(o.alerts_per_rule, Some(5));
        assert_eq!(o.kinds, Some(vec![EventKind::Exec, EventKind::Mkdir]));
        let all = overrides(&json!({"events": ["all"]}), "v").unwrap();
        assert_eq!(all.kinds, Some(EventKind::ALL.to_vec()));
        let none = overrides(&json!({"events": []}), "v").unwrap();
        assert_eq!(none.kinds, Some(vec![]));
        for (bad, says) in [
            (
                json!({"alert_window_s": 0}),
                "alert_window_s 0 must be 1 to 86400",
            ),
            (json!({"alert_window_s": 86_401}), "must be 1 to 86400"),
            (
                json!({"alerts_per_rule": 0}),
                "alerts_per_rule 0 must be 1 to 1000000",
            ),
            (
                json!({"alerts_per_rule": 1_000_001}),
                "must be 1 to 1000000",
            ),
            (json!({"alerts_per_rule": -1}), "config:"),
            (json!({"alerts_per_rule": "5"}), "config:"),
            (
                json!({"events": ["exec", "keylogger"]}),
                "config.events[1] \"keylogger\" is not an event kind",
            ),
            (json!({"events": ["exec,open"]}), "is not an event kind"),
            (json!({"events": [""]}), "is not an event kind"),
            (json!({"events": vec!["exec"; 65]}), "at most 64"),
            (json!({"events": "exec"}), "config:"),
            (json!({"rules_threads": 1}), "unknown field `rules_threads`"),
            (json!([1]), "config:"),
        ] {
            let e = overrides(&bad, "v").unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            let mut p = policy("v", RULE);
            p.config = bad.clone();
            let e = check(&p, "https://s/p").unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_policys_settings_are_put_in_force_with_its_rules_and_a_bad_one_keeps_the_previous() {
        use serde_json::json;
        let d = tempfile::tempdir().unwrap();
        let state = Arc::new(PolicyState::default());
        let mut p = policy("v1", RULE);
        p.config = json!({"alerts_per_rule": 7, "events": ["mkdir"]});
        install(d.path(), &p).unwrap();
        // Loaded at start.
        let mut det = PolicyRules::new(RuleBase::Builtin, d.path(), "h", state.clone()).unwrap();
        let (ov, refused) = state.settings.snapshot();
        let ov = ov.unwrap();
        assert_eq!(ov.policy_version, "v1");
        assert_eq!(ov.alerts_per_rule, Some(7));
        assert_eq!(ov.kinds, Some(vec![EventKind::Mkdir]));
        assert_eq!(refused, None);
        let rules = det.engine().ruleset().rules().len();

        // A tampered current.json (the server's check bypassed): a value out of
        // range refuses the whole policy; v1's rules and settings stay.
        let mut bad = policy("v2", &RULE.replace("policy test rule", "other rule"));
        bad.config = json!({"alerts_per_rule": 0});
        install(d.path(), &bad).unwrap();
        assert!(det.wants_reload());
        let Reloaded::Kept(why) = det.reload() else {
            panic!("a bad config must not be applied")
        };
        assert!(why.contains("policy v2: config.alerts_per_rule 0"), "{why}");
        assert_eq!(state.applied().as_deref(), Some("v1"));
        assert!(state.error().unwrap().contains("alerts_per_rule 0"));
        assert_eq!(
            det.engine().ruleset().rules().len(),
            rules,
            "v2's rule not loaded"
        );
        let (ov, refused) = state.settings.snapshot();
        assert_eq!(ov.unwrap().policy_version, "v1");
        assert!(refused
            .unwrap()
            .contains("previous rules and settings stay"));
        // Restarted with it installed: the local rules and the command line's settings.
        let state2 = Arc::new(PolicyState::default());
        PolicyRules::new(RuleBase::Builtin, d.path(), "h", state2.clone()).unwrap();
        let (ov, refused) = state2.settings.snapshot();
        assert_eq!(ov, None);
        assert!(refused.unwrap().contains("alerts_per_rule 0"));
        assert_eq!(state2.applied(), None);

        // A good v3 without config keys: the command line's settings again.
        install(d.path(), &policy("v3", RULE)).unwrap();
        assert!(matches!(det.reload(), Reloaded::Applied(_)));
        let (ov, refused) = state.settings.snapshot();
        let ov = ov.unwrap();
        assert_eq!(ov.policy_version, "v3");
        assert_eq!((ov.alerts_per_rule, ov.kinds), (None, None));
        assert_eq!(refused, None);
        // No policy at all (the server wants none).
        std::fs::remove_file(d.path().join("current.json")).unwrap();
        assert!(det.wants_reload());
        assert!(matches!(det.reload(), Reloaded::Applied(_)));
        assert_eq!(state.settings.snapshot(), (None, None));
    }
}
