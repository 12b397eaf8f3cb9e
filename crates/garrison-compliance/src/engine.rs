//! Evaluating policies against a target, with Wazuh's semantics.
//!
//! **Rules** give found, not found or not applicable (Wazuh's "invalid"):
//!
//! | rule | found when | not applicable when |
//! |---|---|---|
//! | `f:A,B` | one of the paths is a regular file (symlinks resolved inside the target) | it cannot be examined (permission) |
//! | `f:A -> C` | a line of one of the existing files satisfies `C` | no path exists as a regular file, or no line matched and a file could not be read |
//! | `d:A` | one of the paths is a directory | it cannot be examined |
//! | `d:A -> N` | a file whose name matches `N` is in the directory or below it (a symlink to a file counts; symlinked directories are not entered) | no path is a directory |
//! | `d:A -> N -> C` | such a file has a line satisfying `C` | no path is a directory |
//! | `p:N` | a process whose `comm` or `argv[0]` base name is `N` runs | the target is a rootfs or image |
//! | `c:CMD` | the command ran | it could not start or timed out; the policy is not trusted; the target is a rootfs or image |
//! | `c:CMD -> C` | a line of its stdout or stderr satisfies `C` | as above |
//! | `r:KEY` | never | always (Windows registry) |
//!
//! A content `C` is satisfied by a line when every ` && `-joined test holds
//! on that line: a literal equals the whole line, `r:` matches in it, `n:`
//! matches and its capture compares, and `!` inverts one test. So
//! `f:/etc/ssh_config -> !r:PermitRootLogin` is found when *any* line lacks
//! `PermitRootLogin` — as the SCA documentation warns.
//! `not` in front of a rule swaps found and not found; not applicable stays
//! so. Thus `not f:/missing` passes, but `not f:/missing -> r:x` is not
//! applicable, exactly as in Wazuh.
//!
//! **Checks** combine their rules by `condition` (Wazuh's truth table):
//! `all` fails on the first failed rule, else is not applicable if a rule
//! was, else passes; `any` passes on the first passed rule, else is not
//! applicable if a rule was, else fails; `none` fails on the first passed
//! rule, else is not applicable if a rule was, else passes.

use crate::fs::{Kind, TargetFs};
use crate::policy::{Condition, Policy};
use crate::report::{
    summarize, CheckResult, Outcome, PolicyResult, RequirementsResult, RuleEvidence,
};
use crate::rule::{Content, NameTest, Rule, RuleKind, Test};
use crate::sys;
use garrison_model::Severity;
use std::cell::OnceCell;
use std::time::Duration;

/// What kind of target the rules run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This machine: files under `/`, its processes, its commands.
    Host,
    /// A directory tree: files only; `p:` and `c:` rules are not applicable.
    Rootfs,
    /// An image: files only; `p:` and `c:` rules are not applicable.
    Image,
}

/// Default timeout of a `c:` rule (Wazuh's is 30 seconds).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Most directories a `d:` rule descends into below its start.
const MAX_DIR_DEPTH: usize = 32;
/// Most entries a `d:` rule looks at.
const MAX_DIR_ENTRIES: usize = 200_000;
/// Longest line kept as evidence.
const EVIDENCE_CHARS: usize = 240;

/// Evaluates policies against one target.
pub struct Engine<'a> {
    fs: &'a dyn TargetFs,
    scope: Scope,
    command_timeout: Duration,
    processes: OnceCell<Result<Vec<String>, String>>,
}

/// A rule's result before it becomes evidence.
#[derive(Debug, Clone)]
struct Eval {
    result: Outcome,
    detail: String,
    path: Option<String>,
    line: Option<usize>,
    value: Option<String>,
}

impl Eval {
    fn found(detail: impl Into<String>) -> Eval {
        Eval {
            result: Outcome::Passed,
            detail: detail.into(),
            path: None,
            line: None,
            value: None,
        }
    }
    fn not_found(detail: impl Into<String>) -> Eval {
        Eval {
            result: Outcome::Failed,
            ..Eval::found(detail)
        }
    }
    fn na(detail: impl Into<String>) -> Eval {
        Eval {
            result: Outcome::NotApplicable,
            ..Eval::found(detail)
        }
    }
    fn at(mut self, path: &str) -> Eval {
        self.path = Some(path.to_string());
        self
    }
}

/// Where a line satisfying a content test was found.
struct Hit {
    line: usize,
    text: String,
}

fn clip(s: &str) -> String {
    if s.chars().count() <= EVIDENCE_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(EVIDENCE_CHARS).collect();
        t.push('…');
        t
    }
}

/// The lines of `content` (no trailing empty line after a final newline).
fn lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    let empty = content.is_empty();
    body.split(|b| *b == b'\n').filter(move |_| !empty)
}

/// The first line satisfying `content`, or an error when a pattern ran away.
fn find_line(content: &Content, text: &[u8]) -> Result<Option<Hit>, String> {
    for (i, line) in lines(text).enumerate() {
        if line_satisfies(content, line)? {
            return Ok(Some(Hit {
                line: i + 1,
                text: clip(&String::from_utf8_lossy(line)),
            }));
        }
    }
    Ok(None)
}

fn line_satisfies(content: &Content, line: &[u8]) -> Result<bool, String> {
    for m in &content.minterms {
        let holds = match &m.test {
            Test::Literal(l) => line == l.as_bytes(),
            Test::Regex(p) => p.is_match(line)?,
            Test::Numeric { pattern, op, value } => match pattern.first_capture(line)? {
                Some(cap) => cap.trim().parse::<i64>().is_ok_and(|n| op.holds(n, *value)),
                None => false,
            },
        };
        if holds == m.negated {
            return Ok(false);
        }
    }
    Ok(true)
}

impl<'a> Engine<'a> {
    pub fn new(fs: &'a dyn TargetFs, scope: Scope) -> Engine<'a> {
        Engine {
            fs,
            scope,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            processes: OnceCell::new(),
        }
    }

    pub fn with_command_timeout(mut self, timeout: Duration) -> Engine<'a> {
        self.command_timeout = timeout;
        self
    }

    /// Evaluates a policy: its requirements first; when they pass, every check.
    pub fn evaluate(&self, policy: &Policy) -> PolicyResult {
        let requirements = policy.requirements.as_ref().map(|r| {
            let (result, evidence) = self.combine(r.condition, &r.rules, policy.origin.trusted);
            RequirementsResult {
                title: r.title.clone(),
                result,
                evidence,
            }
        });
        let applicable = requirements
            .as_ref()
            .is_none_or(|r| r.result == Outcome::Passed);
        let mut checks = Vec::new();
        if applicable {
            for c in &policy.checks {
                let (result, evidence) = self.combine(c.condition, &c.rules, policy.origin.trusted);
                let reason = (result == Outcome::NotApplicable).then(|| {
                    evidence
                        .iter()
                        .filter(|e| e.result == Outcome::NotApplicable)
                        .map(|e| e.detail.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                });
                checks.push(CheckResult {
                    policy: policy.meta.id.clone(),
                    id: c.id,
                    title: c.title.clone(),
                    description: c.description.clone(),
                    rationale: c.rationale.clone(),
                    impact: c.impact.clone(),
                    remediation: c.remediation.clone(),
                    references: c.references.clone(),
                    compliance: c
                        .compliance
                        .iter()
                        .map(|(k, v)| (crate::framework::framework_id(k), v.clone()))
                        .fold(
                            Default::default(),
                            |mut m: std::collections::BTreeMap<String, Vec<String>>, (k, v)| {
                                m.entry(k).or_default().extend(v);
                                m
                            },
                        ),
                    severity: c.severity.unwrap_or(Severity::Unknown),
                    condition: c.condition.as_str(),
                    result,
                    reason,
                    evidence,
                    suppressed: None,
                });
            }
        }
        PolicyResult {
            id: policy.meta.id.clone(),
            name: policy.meta.name.clone(),
            file: policy.meta.file.clone(),
            description: policy.meta.description.clone(),
            origin: policy.origin.path.display().to_string(),
            trusted: policy.origin.trusted,
            applicable,
            requirements,
            summary: summarize(&checks),
            checks,
        }
    }

    /// Combines rules by `condition` (see the module docs), stopping once decided.
    fn combine(
        &self,
        condition: Condition,
        rules: &[Rule],
        trusted: bool,
    ) -> (Outcome, Vec<RuleEvidence>) {
        let mut evidence = Vec::new();
        let mut any_na = false;
        for r in rules {
            let e = self.rule(r, trusted);
            let result = e.result;
            evidence.push(RuleEvidence {
                rule: r.text.clone(),
                result,
                detail: e.detail,
                path: e.path,
                line: e.line,
                value: e.value,
            });
            match (condition, result) {
                (Condition::All, Outcome::Failed) => return (Outcome::Failed, evidence),
                (Condition::Any, Outcome::Passed) => return (Outcome::Passed, evidence),
                (Condition::None, Outcome::Passed) => return (Outcome::Failed, evidence),
                (_, Outcome::NotApplicable) => any_na = true,
                _ => {}
            }
        }
        let result = if any_na {
            Outcome::NotApplicable
        } else {
            match condition {
                Condition::All | Condition::None => Outcome::Passed,
                Condition::Any => Outcome::Failed,
            }
        };
        (result, evidence)
    }

    /// Evaluates one rule, `not` applied.
    fn rule(&self, rule: &Rule, trusted: bool) -> Eval {
        let mut e = match &rule.kind {
            RuleKind::File { paths, content } => self.file_rule(paths, content.as_ref()),
            RuleKind::Dir {
                paths,
                name,
                content,
            } => self.dir_rule(paths, name.as_ref(), content.as_ref()),
            RuleKind::Process { name } => self.process_rule(name),
            RuleKind::Command { command, content } => {
                self.command_rule(command, content.as_ref(), trusted)
            }
            RuleKind::Registry { key } => Eval::na(format!(
                "registry key {key}: Windows registry rules do not apply to Linux targets"
            )),
            RuleKind::Invalid { reason } => {
                Eval::na(format!("the rule cannot be evaluated: {reason}"))
            }
        };
        if rule.negated {
            e.result = match e.result {
                Outcome::Passed => Outcome::Failed,
                Outcome::Failed => Outcome::Passed,
                Outcome::NotApplicable => Outcome::NotApplicable,
            };
            if e.result != Outcome::NotApplicable {
                e.detail = format!("{} (rule negated with `not`)", e.detail);
            }
        }
        e
    }

    fn file_rule(&self, paths: &[String], content: Option<&Content>) -> Eval {
        let mut existing = 0;
        let mut problems = Vec::new();
        for p in paths {
            match self.fs.kind(p) {
                Ok(Some(Kind::File)) => {}
                Ok(_) => continue,
                Err(e) => {
                    problems.push(format!("{p}: {e}"));
                    continue;
                }
            }
            let Some(content) = content else {
                return Eval::found(format!("{p} exists")).at(p);
            };
            let text = match self.fs.read(p) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("cannot read {p}: {e}"));
                    continue;
                }
            };
            existing += 1;
            match find_line(content, &text) {
                Ok(Some(hit)) => {
                    return Eval {
                        detail: format!("line {} of {p} matches", hit.line),
                        line: Some(hit.line),
                        value: Some(hit.text),
                        ..Eval::found("").at(p)
                    }
                }
                Ok(None) => {}
                Err(e) => return Eval::na(e).at(p),
            }
        }
        let shown = paths.join(", ");
        if content.is_none() {
            if problems.is_empty() {
                return Eval::not_found(format!("{shown}: no such file"));
            }
            return Eval::na(problems.join("; "));
        }
        if existing == 0 {
            if problems.is_empty() {
                return Eval::na(format!(
                    "{shown}: no such file, so its content cannot be checked"
                ));
            }
            return Eval::na(problems.join("; "));
        }
        if !problems.is_empty() {
            // A file that could not be read might have held the line.
            return Eval::na(format!("no line matches, but {}", problems.join("; ")));
        }
        Eval::not_found(format!("no line of {shown} matches"))
    }

    fn dir_rule(
        &self,
        paths: &[String],
        name: Option<&NameTest>,
        content: Option<&Content>,
    ) -> Eval {
        let mut dirs = Vec::new();
        let mut problems = Vec::new();
        for p in paths {
            match self.fs.kind(p) {
                Ok(Some(Kind::Dir)) => dirs.push(p.as_str()),
                Ok(_) => {}
                Err(e) => problems.push(format!("{p}: {e}")),
            }
        }
        let shown = paths.join(", ");
        let Some(name) = name else {
            if let Some(d) = dirs.first() {
                return Eval::found(format!("directory {d} exists")).at(d);
            }
            if problems.is_empty() {
                return Eval::not_found(format!("{shown}: no such directory"));
            }
            return Eval::na(problems.join("; "));
        };
        if dirs.is_empty() {
            if problems.is_empty() {
                return Eval::na(format!(
                    "{shown}: no such directory, so its files cannot be checked"
                ));
            }
            return Eval::na(problems.join("; "));
        }
        let mut seen_entries = 0usize;
        let mut matched_files = 0usize;
        for d in dirs {
            let mut stack = vec![(d.trim_end_matches('/').to_string(), 0usize)];
            while let Some((dir, depth)) = stack.pop() {
                let entries = match self.fs.list(if dir.is_empty() { "/" } else { &dir }) {
                    Ok(e) => e,
                    Err(e) => return Eval::na(format!("cannot list {dir}: {e}")),
                };
                for (entry, kind) in entries {
                    seen_entries += 1;
                    if seen_entries > MAX_DIR_ENTRIES {
                        return Eval::na(format!(
                            "{d}: more than {MAX_DIR_ENTRIES} entries below it; not searched further"
                        ));
                    }
                    let path = format!("{dir}/{entry}");
                    // A symlink counts when it leads (inside the target) to a
                    // regular file, as in Wazuh 4; symlinked directories are
                    // not entered, so that no loop is possible.
                    let kind = match kind {
                        Kind::Symlink => match self.fs.kind(&path) {
                            Ok(Some(Kind::File)) => Kind::File,
                            _ => Kind::Symlink,
                        },
                        k => k,
                    };
                    match kind {
                        Kind::Dir if depth < MAX_DIR_DEPTH => stack.push((path, depth + 1)),
                        Kind::File => {
                            match line_satisfies(&name.0, entry.as_bytes()) {
                                Ok(true) => {}
                                Ok(false) => continue,
                                Err(e) => return Eval::na(e).at(&path),
                            }
                            let Some(content) = content else {
                                return Eval::found(format!("{path} is in {d}")).at(&path);
                            };
                            matched_files += 1;
                            let text = match self.fs.read(&path) {
                                Ok(t) => t,
                                Err(e) => {
                                    problems.push(format!("cannot read {path}: {e}"));
                                    continue;
                                }
                            };
                            match find_line(content, &text) {
                                Ok(Some(hit)) => {
                                    return Eval {
                                        detail: format!("line {} of {path} matches", hit.line),
                                        line: Some(hit.line),
                                        value: Some(hit.text),
                                        ..Eval::found("").at(&path)
                                    }
                                }
                                Ok(None) => {}
                                Err(e) => return Eval::na(e).at(&path),
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if content.is_some() && !problems.is_empty() {
            // A file that could not be read might have held the line.
            return Eval::na(format!("no line matches, but {}", problems.join("; ")));
        }
        if content.is_some() {
            if matched_files == 0 {
                Eval::not_found(format!("no file in {shown} has a matching name"))
            } else {
                Eval::not_found(format!(
                    "no line of the {matched_files} matching file(s) in {shown} matches"
                ))
            }
        } else {
            Eval::not_found(format!("no file in {shown} has a matching name"))
        }
    }

    fn process_rule(&self, name: &str) -> Eval {
        if self.scope != Scope::Host {
            return Eval::na(format!(
                "process {name}: p: rules check running processes and do not apply to a {}",
                self.scope_name()
            ));
        }
        let procs = self
            .processes
            .get_or_init(|| sys::process_names().map_err(|e| format!("cannot list /proc: {e}")));
        match procs {
            Ok(list) if list.iter().any(|p| p == name) => {
                Eval::found(format!("process {name} is running"))
            }
            Ok(_) => Eval::not_found(format!("no process {name} is running")),
            Err(e) => Eval::na(e.clone()),
        }
    }

    fn scope_name(&self) -> &'static str {
        match self.scope {
            Scope::Host => "host",
            Scope::Rootfs => "root filesystem",
            Scope::Image => "image",
        }
    }

    fn command_rule(&self, command: &str, content: Option<&Content>, trusted: bool) -> Eval {
        if self.scope != Scope::Host {
            return Eval::na(format!(
                "command `{command}` refused: c: rules run host binaries and are never run against a {}",
                self.scope_name()
            ));
        }
        if !trusted {
            return Eval::na(format!(
                "command `{command}` refused: the policy is not trusted (pass --trust-policy with its path to allow its commands)"
            ));
        }
        let out = match sys::run_command(command, self.command_timeout) {
            Ok(o) => o,
            Err(e) => return Eval::na(format!("`{command}`: {e}")),
        };
        let Some(content) = content else {
            return Eval::found(format!("`{command}` ran (exit status {:?})", out.status));
        };
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            match find_line(content, text) {
                Ok(Some(hit)) => {
                    return Eval {
                        detail: format!("line {} of the {stream} of `{command}` matches", hit.line),
                        line: Some(hit.line),
                        value: Some(hit.text),
                        ..Eval::found("")
                    }
                }
                Ok(None) => {}
                Err(e) => return Eval::na(e),
            }
        }
        Eval::not_found(format!("no line of the output of `{command}` matches"))
    }
}
