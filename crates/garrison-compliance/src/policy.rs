//! The policy data model, as the Wazuh SCA YAML format defines it, and its loader.
//!
//! A policy file has four sections: `policy` (required), `requirements`,
//! `variables` and `checks` (required). Unknown keys are errors, so that a typo
//! (`remediaton:`) does not silently drop a field. One key beyond Wazuh's is
//! accepted on a check: `severity` (CRITICAL, HIGH, MEDIUM, LOW, INFO), which
//! Garrison's gates use; Wazuh itself has no severities.

use crate::error::PolicyError;
use crate::pattern::RegexType;
use crate::rule::{parse_rule, Rule, RuleKind};
use garrison_model::Severity;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the results of a check's rules combine into the check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Passed when every rule passes; failed as soon as one fails.
    All,
    /// Passed as soon as one rule passes.
    Any,
    /// Passed when no rule passes; failed as soon as one passes.
    None,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::All => "all",
            Condition::Any => "any",
            Condition::None => "none",
        }
    }
}

/// The `policy` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMeta {
    pub id: String,
    pub file: String,
    pub name: String,
    pub description: String,
    #[serde(default, deserialize_with = "strings")]
    pub references: Vec<String>,
    /// `pcre2` makes `r:` and `n:` patterns PCRE2; the default is Wazuh's OS_Regex.
    #[serde(default)]
    pub regex_type: Option<RegexType>,
}

/// The `requirements` section: when its rules do not pass (by its condition),
/// the policy does not apply to the target and no check is run.
#[derive(Debug, Clone)]
pub struct Requirements {
    pub title: String,
    pub description: String,
    pub condition: Condition,
    pub rules: Vec<Rule>,
}

/// One check (a control) of a policy.
#[derive(Debug, Clone)]
pub struct Check {
    /// Numeric and unique across all loaded policies.
    pub id: u64,
    pub title: String,
    pub description: Option<String>,
    pub rationale: Option<String>,
    pub impact: Option<String>,
    pub remediation: Option<String>,
    pub references: Vec<String>,
    /// Framework key (as the policy writes it: `cis`, `pci_dss_v4.0`, ...) to
    /// control ids, merged from the YAML's list of one-key maps.
    pub compliance: BTreeMap<String, Vec<String>>,
    /// Garrison's extension; `None` when the policy names none.
    pub severity: Option<Severity>,
    pub condition: Condition,
    pub rules: Vec<Rule>,
}

/// How policy files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Unknown keys and rules that do not parse are errors (`policy validate`);
    /// otherwise warnings, and such rules are never applicable (`check`).
    pub strict: bool,
    /// The dialect of policies that do not set `policy.regex_type`: OS_Regex,
    /// as Wazuh 4 and its documentation; Wazuh 5's bundled policies assume PCRE2.
    pub default_regex: RegexType,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            strict: true,
            default_regex: RegexType::OsRegex,
        }
    }
}

/// Where a policy came from and whether its command rules may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file path, or `builtin:NAME` for policies embedded in the binary.
    pub path: PathBuf,
    /// Built-in policies, and files the admin named with `--trust-policy`.
    pub trusted: bool,
}

/// A loaded, validated policy file.
#[derive(Debug, Clone)]
pub struct Policy {
    pub meta: PolicyMeta,
    pub requirements: Option<Requirements>,
    /// `$name` → value, as written (values may be comma-separated lists).
    pub variables: BTreeMap<String, String>,
    pub checks: Vec<Check>,
    pub origin: Origin,
    /// Problems that do not stop a lenient load (unknown keys); a strict load
    /// (`policy validate`) reports them as errors instead.
    pub warnings: Vec<String>,
}

impl Policy {
    /// The regex dialect of this policy's `r:` and `n:` patterns.
    pub fn regex_type(&self) -> RegexType {
        self.meta.regex_type.unwrap_or(RegexType::OsRegex)
    }

    /// Whether any check or the requirements has a `c:` command rule.
    pub fn has_commands(&self) -> bool {
        self.checks
            .iter()
            .flat_map(|c| c.rules.iter())
            .chain(self.requirements.iter().flat_map(|r| r.rules.iter()))
            .any(Rule::is_command)
    }

    /// Reads and validates one policy file, strictly (unknown keys are errors).
    pub fn load(path: &Path, trusted: bool) -> Result<Policy, PolicyError> {
        Policy::load_with(path, trusted, true)
    }

    /// Reads and validates one policy file; with `strict == false` unknown
    /// keys become [`Policy::warnings`] (as Wazuh ignores them).
    pub fn load_with(path: &Path, trusted: bool, strict: bool) -> Result<Policy, PolicyError> {
        Policy::load_opts(
            path,
            trusted,
            LoadOptions {
                strict,
                ..LoadOptions::default()
            },
        )
    }

    /// Reads and validates one policy file with `opts`.
    pub fn load_opts(path: &Path, trusted: bool, opts: LoadOptions) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse_opts(
            &text,
            Origin {
                path: path.to_path_buf(),
                trusted,
            },
            opts,
        )
    }

    /// Parses and validates a policy from its YAML text, strictly.
    pub fn parse(text: &str, origin: Origin) -> Result<Policy, PolicyError> {
        Policy::parse_with(text, origin, true)
    }

    /// Parses and validates a policy from its YAML text (see [`Policy::load_with`]).
    pub fn parse_with(text: &str, origin: Origin, strict: bool) -> Result<Policy, PolicyError> {
        Policy::parse_opts(
            text,
            origin,
            LoadOptions {
                strict,
                ..LoadOptions::default()
            },
        )
    }

    /// Parses and validates a policy from its YAML text with `opts`.
    pub fn parse_opts(
        text: &str,
        origin: Origin,
        opts: LoadOptions,
    ) -> Result<Policy, PolicyError> {
        let strict = opts.strict;
        let path = origin.path.clone();
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| PolicyError::Parse {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let mut warnings = Vec::new();
        check_keys(&doc, &path, strict, &mut warnings)?;
        let raw: RawPolicy = serde_yaml_ng::from_value(doc).map_err(|e| PolicyError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let regex_type = raw.policy.regex_type.unwrap_or(opts.default_regex);
        let mut variables = BTreeMap::new();
        for (k, v) in raw.variables.unwrap_or_default() {
            if !k.starts_with('$') || k.len() < 2 {
                return Err(PolicyError::Parse {
                    path,
                    reason: format!("variable {k:?} must start with '$' (`$name: value`)"),
                });
            }
            // A list is the same as its comma-separated string.
            variables.insert(k, v.0.join(","));
        }
        let requirements = match raw.requirements {
            None => None,
            Some(r) => {
                let rules = parse_rules(
                    &path,
                    "requirements",
                    &r.rules,
                    &variables,
                    regex_type,
                    strict,
                    &mut warnings,
                )?;
                let title = r.title.or(r.name).ok_or_else(|| PolicyError::Parse {
                    path: path.clone(),
                    reason: "requirements: no `title` (or `name`)".into(),
                })?;
                Some(Requirements {
                    title,
                    description: r.description,
                    condition: r.condition,
                    rules,
                })
            }
        };
        let mut checks = Vec::with_capacity(raw.checks.len());
        let mut seen: BTreeMap<u64, ()> = BTreeMap::new();
        for (index, value) in raw.checks.into_iter().enumerate() {
            let shown_id = value
                .get("id")
                .map(|v| match v {
                    serde_yaml_ng::Value::Number(n) => n.to_string(),
                    serde_yaml_ng::Value::String(s) => s.clone(),
                    _ => format!("#{}", index + 1),
                })
                .unwrap_or_else(|| format!("#{} (no id)", index + 1));
            let check_err = |reason: String| PolicyError::Check {
                path: path.clone(),
                id: shown_id.clone(),
                reason,
            };
            let rc: RawCheck =
                serde_yaml_ng::from_value(value).map_err(|e| check_err(e.to_string()))?;
            let title = match (rc.title, rc.name) {
                (Some(t), None) | (None, Some(t)) => t,
                (Some(_), Some(_)) => {
                    return Err(check_err("has both `title` and `name`; keep one".into()))
                }
                (None, None) => return Err(check_err("has no `title`".into())),
            };
            if seen.insert(rc.id, ()).is_some() {
                return Err(PolicyError::DuplicateId {
                    path: path.clone(),
                    id: rc.id,
                    other: path.clone(),
                });
            }
            if rc.rules.is_empty() {
                return Err(check_err("has no rules".into()));
            }
            let severity = match rc.severity {
                None => None,
                Some(s) => Some(s.parse::<Severity>().map_err(check_err)?),
            };
            let mut compliance: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let maps = match rc.compliance {
                Compliance::List(l) => l,
                Compliance::Map(m) => vec![m],
            };
            for map in maps {
                for (k, v) in map {
                    compliance.entry(k).or_default().extend(v.0);
                }
            }
            // Newer Wazuh policies carry MITRE ATT&CK ids in their own section.
            if let Some(m) = &rc.mitre {
                for (section, key) in [
                    ("technique", "mitre_techniques"),
                    ("tactic", "mitre_tactics"),
                    ("mitigation", "mitre_mitigations"),
                ] {
                    if let Some(serde_yaml_ng::Value::Sequence(ids)) =
                        m.get(section).and_then(|s| s.get("id"))
                    {
                        let ids = ids.iter().filter_map(|v| v.as_str().map(String::from));
                        compliance.entry(key.to_string()).or_default().extend(ids);
                    }
                }
            }
            let place = format!("check {}", rc.id);
            let rules = parse_rules(
                &path,
                &place,
                &rc.rules,
                &variables,
                regex_type,
                strict,
                &mut warnings,
            )?;
            checks.push(Check {
                id: rc.id,
                title,
                description: rc.description,
                rationale: rc.rationale,
                impact: rc.impact,
                remediation: rc.remediation,
                references: rc.references,
                compliance,
                severity,
                condition: rc.condition,
                rules,
            });
        }
        if checks.is_empty() {
            return Err(PolicyError::Parse {
                path,
                reason: "the `checks` section is empty".into(),
            });
        }
        Ok(Policy {
            meta: raw.policy,
            requirements,
            variables,
            checks,
            origin,
            warnings,
        })
    }
}

/// Parses rules. A rule that does not parse is an error when `strict`;
/// otherwise it is kept as [`RuleKind::Invalid`] (never applicable) with a
/// warning, so that one bad rule does not stop a whole existing policy.
fn parse_rules(
    path: &Path,
    place: &str,
    rules: &[String],
    variables: &BTreeMap<String, String>,
    regex_type: RegexType,
    strict: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<Rule>, PolicyError> {
    if rules.is_empty() {
        return Err(PolicyError::Parse {
            path: path.to_path_buf(),
            reason: format!("{place}: `rules` is empty"),
        });
    }
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        match parse_rule(r, variables, regex_type) {
            Ok(rule) => out.push(rule),
            Err(reason) if !strict => {
                warnings.push(format!("{place}: rule `{r}`: {reason}"));
                out.push(Rule {
                    text: r.clone(),
                    negated: false,
                    kind: RuleKind::Invalid { reason },
                });
            }
            Err(reason) => {
                return Err(PolicyError::Rule {
                    path: path.to_path_buf(),
                    place: place.to_string(),
                    rule: r.clone(),
                    reason,
                })
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RawPolicy {
    policy: PolicyMeta,
    #[serde(default)]
    requirements: Option<RawRequirements>,
    #[serde(default)]
    variables: Option<BTreeMap<String, Scalars>>,
    checks: Vec<serde_yaml_ng::Value>,
}

#[derive(Deserialize)]
struct RawRequirements {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    description: String,
    condition: Condition,
    #[serde(deserialize_with = "strings")]
    rules: Vec<String>,
}

#[derive(Deserialize)]
struct RawCheck {
    id: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    remediation: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    references: Vec<String>,
    #[serde(default)]
    compliance: Compliance,
    #[serde(default)]
    mitre: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    severity: Option<String>,
    condition: Condition,
    #[serde(deserialize_with = "strings")]
    rules: Vec<String>,
}

/// Unknown keys: errors when `strict`, else warnings.
fn check_keys(
    doc: &serde_yaml_ng::Value,
    path: &Path,
    strict: bool,
    warnings: &mut Vec<String>,
) -> Result<(), PolicyError> {
    let mut unknown = |place: &str,
                       v: Option<&serde_yaml_ng::Value>,
                       known: &[&str],
                       id: Option<&str>|
     -> Result<(), PolicyError> {
        let Some(serde_yaml_ng::Value::Mapping(m)) = v else {
            return Ok(());
        };
        for k in m.keys() {
            let name = k.as_str().unwrap_or("");
            if known.contains(&name) {
                continue;
            }
            let reason = format!("unknown key `{name}` (known: {})", known.join(", "));
            if !strict {
                warnings.push(format!("{place}: {reason}"));
                continue;
            }
            return Err(match id {
                Some(id) => PolicyError::Check {
                    path: path.to_path_buf(),
                    id: id.to_string(),
                    reason,
                },
                None => PolicyError::Parse {
                    path: path.to_path_buf(),
                    reason: format!("{place}: {reason}"),
                },
            });
        }
        Ok(())
    };
    unknown("top level", Some(doc), TOP_KEYS, None)?;
    unknown("policy", doc.get("policy"), POLICY_KEYS, None)?;
    unknown(
        "requirements",
        doc.get("requirements"),
        REQUIREMENT_KEYS,
        None,
    )?;
    if let Some(serde_yaml_ng::Value::Sequence(checks)) = doc.get("checks") {
        for (i, c) in checks.iter().enumerate() {
            let id = match c.get("id") {
                Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
                Some(serde_yaml_ng::Value::String(s)) => s.clone(),
                _ => format!("#{}", i + 1),
            };
            unknown(&format!("check {id}"), Some(c), CHECK_KEYS, Some(&id))?;
        }
    }
    Ok(())
}

const TOP_KEYS: &[&str] = &["policy", "requirements", "variables", "checks"];
const POLICY_KEYS: &[&str] = &[
    "id",
    "file",
    "name",
    "description",
    "references",
    "regex_type",
];
const REQUIREMENT_KEYS: &[&str] = &["title", "name", "description", "condition", "rules"];
const CHECK_KEYS: &[&str] = &[
    "id",
    "title",
    "name",
    "description",
    "rationale",
    "impact",
    "remediation",
    "references",
    "compliance",
    "mitre",
    "severity",
    "condition",
    "rules",
];

/// `compliance` as Wazuh 4 writes it (a list of one-key maps) or as newer
/// policies do (one map).
#[derive(Deserialize)]
#[serde(untagged)]
enum Compliance {
    List(Vec<BTreeMap<String, Scalars>>),
    Map(BTreeMap<String, Scalars>),
}

impl Default for Compliance {
    fn default() -> Self {
        Compliance::List(Vec::new())
    }
}

/// One scalar or a list of scalars.
#[derive(Debug, Clone)]
struct Scalars(Vec<String>);

impl<'de> Deserialize<'de> for Scalars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde_yaml_ng::Value;
        let v = Value::deserialize(d)?;
        let items = match v {
            Value::Sequence(s) => s,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) => out.push(s),
                Value::Number(n) => out.push(n.to_string()),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "expected control ids (strings or numbers), found {}",
                        kind_of(&other)
                    )))
                }
            }
        }
        Ok(Scalars(out))
    }
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Scalars::deserialize(d).map(|s| s.0)
}

fn kind_of(v: &serde_yaml_ng::Value) -> &'static str {
    use serde_yaml_ng::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Loads every `*.yml`/`*.yaml` file of `path` (a file or a directory, not
/// recursive, in name order), checking that policy ids and check ids are
/// unique across all of them. `trusted` is asked for each file.
pub fn load_all(
    paths: &[PathBuf],
    trusted: &dyn Fn(&Path) -> bool,
) -> Result<Vec<Policy>, Vec<PolicyError>> {
    load_all_with(paths, trusted, true)
}

/// [`load_all`], with unknown keys as warnings when `strict == false`.
pub fn load_all_with(
    paths: &[PathBuf],
    trusted: &dyn Fn(&Path) -> bool,
    strict: bool,
) -> Result<Vec<Policy>, Vec<PolicyError>> {
    load_all_opts(
        paths,
        trusted,
        LoadOptions {
            strict,
            ..LoadOptions::default()
        },
    )
}

/// [`load_all`] with `opts`.
pub fn load_all_opts(
    paths: &[PathBuf],
    trusted: &dyn Fn(&Path) -> bool,
    opts: LoadOptions,
) -> Result<Vec<Policy>, Vec<PolicyError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match policy_files(p) {
            Ok(mut f) => files.append(&mut f),
            Err(e) => errors.push(e),
        }
    }
    let mut policies = Vec::new();
    for f in files {
        match Policy::load_opts(&f, trusted(&f), opts) {
            Ok(p) => policies.push(p),
            Err(e) => errors.push(e),
        }
    }
    errors.extend(check_unique(&policies));
    if errors.is_empty() {
        Ok(policies)
    } else {
        Err(errors)
    }
}

/// The policy files a path names: itself, or the `*.yml`/`*.yaml` files of a directory.
pub fn policy_files(path: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let read_err = |source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let p = entry.path();
        let is_yaml = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml");
        if is_yaml && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Policy ids and check ids must be unique across the policies run together.
pub fn check_unique(policies: &[Policy]) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    let mut ids: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut checks: BTreeMap<u64, &Path> = BTreeMap::new();
    for p in policies {
        if let Some(other) = ids.insert(&p.meta.id, &p.origin.path) {
            errors.push(PolicyError::DuplicatePolicy {
                path: p.origin.path.clone(),
                id: p.meta.id.clone(),
                other: other.to_path_buf(),
            });
            continue;
        }
        for c in &p.checks {
            if let Some(other) = checks.insert(c.id, &p.origin.path) {
                errors.push(PolicyError::DuplicateId {
                    path: p.origin.path.clone(),
                    id: c.id,
                    other: other.to_path_buf(),
                });
            }
        }
    }
    errors
}
