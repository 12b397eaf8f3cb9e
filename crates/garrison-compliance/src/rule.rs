//! The SCA rule grammar.
//!
//! ```text
//! rule     := ["not "] type ":" target [" -> " content]
//! type     := "f" (files) | "d" (directories) | "p" (process) | "c" (command) | "r" (Windows registry)
//! target   := for f: and d:, a comma-separated list of absolute paths
//! d-rule   := "d:" dirs " -> " name [" -> " content]     name := literal file name | "r:" regex
//! content  := minterm (" && " minterm)*
//! minterm  := ["!"] ( "r:" regex | "n:" regex " compare " op " " integer | literal )
//! op       := "<" | "<=" | "==" | "!=" | ">=" | ">"
//! ```
//!
//! Variables (`$name`, from the policy's `variables`) are substituted in the
//! target part, longest name first. The spaces around ` -> `, ` && ` and
//! ` compare ` are mandatory, as in Wazuh.

use crate::pattern::{Pattern, RegexType};
use std::collections::BTreeMap;

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule as the policy wrote it (before variable substitution).
    pub text: String,
    /// A leading `not`: the rule's found/not-found result is inverted
    /// (a not-applicable result stays not applicable).
    pub negated: bool,
    pub kind: RuleKind,
}

impl Rule {
    pub fn is_command(&self) -> bool {
        matches!(self.kind, RuleKind::Command { .. })
    }
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// `f:` — the files exist (as regular files), or one of them has a line
    /// satisfying `content`.
    File {
        paths: Vec<String>,
        content: Option<Content>,
    },
    /// `d:` — the directories exist, or (recursively) contain a file whose
    /// name matches `name`, or such a file has a line satisfying `content`.
    Dir {
        paths: Vec<String>,
        name: Option<NameTest>,
        content: Option<Content>,
    },
    /// `p:` — a process of this name runs.
    Process { name: String },
    /// `c:` — the command runs, or its output has a line satisfying `content`.
    Command {
        command: String,
        content: Option<Content>,
    },
    /// `r:` — Windows registry: never applicable on the targets Garrison checks.
    Registry { key: String },
    /// A rule that does not parse, kept by a lenient load: never applicable.
    Invalid { reason: String },
}

/// How a `d:` rule picks files in a directory: a content expression tested
/// on the file name (a literal is the whole name; `r:`, `!` and ` && ` work as
/// on a line, as in Wazuh).
#[derive(Debug, Clone)]
pub struct NameTest(pub Content);

/// A chain of minterms joined by ` && `: a line satisfies it when it
/// satisfies every minterm.
#[derive(Debug, Clone)]
pub struct Content {
    pub minterms: Vec<Minterm>,
}

/// One test on a line, possibly negated with `!`.
#[derive(Debug, Clone)]
pub struct Minterm {
    pub negated: bool,
    pub test: Test,
}

#[derive(Debug, Clone)]
pub enum Test {
    /// The whole line equals this text.
    Literal(String),
    /// `r:` — the pattern matches somewhere in the line.
    Regex(Pattern),
    /// `n:` — the pattern matches and its first capture, read as an integer,
    /// compares to `value` by `op`.
    Numeric {
        pattern: Pattern,
        op: CompareOp,
        value: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl CompareOp {
    fn parse(s: &str) -> Option<CompareOp> {
        Some(match s {
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            // Wazuh 4 reads any operator starting with '=' as equality.
            "==" | "=" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            ">=" => CompareOp::Ge,
            ">" => CompareOp::Gt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Ge => ">=",
            CompareOp::Gt => ">",
        }
    }

    pub fn holds(self, actual: i64, expected: i64) -> bool {
        match self {
            CompareOp::Lt => actual < expected,
            CompareOp::Le => actual <= expected,
            CompareOp::Eq => actual == expected,
            CompareOp::Ne => actual != expected,
            CompareOp::Ge => actual >= expected,
            CompareOp::Gt => actual > expected,
        }
    }
}

const ARROW: &str = " -> ";

/// Substitutes `$name` variables in `s`, longest name first.
pub fn substitute(s: &str, variables: &BTreeMap<String, String>) -> String {
    if !s.contains('$') || variables.is_empty() {
        return s.to_string();
    }
    let mut names: Vec<&String> = variables.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = s.to_string();
    for n in names {
        if out.contains(n.as_str()) {
            out = out.replace(n.as_str(), &variables[n]);
        }
    }
    out
}

/// Parses one rule; the error says what is wrong.
pub fn parse_rule(
    text: &str,
    variables: &BTreeMap<String, String>,
    dialect: RegexType,
) -> Result<Rule, String> {
    let trimmed = text.trim();
    let (negated, body) = match trimmed.strip_prefix("not ") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed),
    };
    let Some((ty, rest)) = body.split_once(':') else {
        return Err(
            "no rule type: start with f:, d:, p:, c: or r: (optionally after `not `)".into(),
        );
    };
    let (target, pattern) = match rest.split_once(ARROW) {
        Some((t, p)) => (t, Some(p)),
        None => (rest, None),
    };
    if rest.contains("->") && pattern.is_none() {
        return Err("`->` needs a space on each side (` -> `)".into());
    }
    let target = substitute(target.trim(), variables);
    if target.is_empty() {
        return Err("the rule names no target".into());
    }
    let kind = match ty {
        "f" => RuleKind::File {
            paths: path_list(&target)?,
            content: pattern.map(|p| parse_content(p, dialect)).transpose()?,
        },
        "d" => {
            let (name, content) = match pattern {
                None => (None, None),
                Some(p) => {
                    let (n, c) = match p.split_once(ARROW) {
                        Some((n, c)) => (n, Some(c)),
                        None => (p, None),
                    };
                    let name = NameTest(parse_content(n, dialect)?);
                    (Some(name), c.map(|c| parse_content(c, dialect)).transpose()?)
                }
            };
            RuleKind::Dir {
                paths: path_list(&target)?,
                name,
                content,
            }
        }
        "p" => {
            if pattern.is_some() {
                return Err("process rules (p:) only test that a process runs; they take no ` -> ` content".into());
            }
            RuleKind::Process { name: target }
        }
        "c" => RuleKind::Command {
            command: target,
            content: pattern.map(|p| parse_content(p, dialect)).transpose()?,
        },
        "r" => RuleKind::Registry { key: target },
        other => {
            return Err(format!(
                "unknown rule type {other:?}: use f: (file), d: (directory), p: (process), c: (command) or r: (registry)"
            ))
        }
    };
    Ok(Rule {
        text: text.to_string(),
        negated,
        kind,
    })
}

fn path_list(target: &str) -> Result<Vec<String>, String> {
    let paths: Vec<String> = target
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if paths.is_empty() {
        return Err("the rule names no path".into());
    }
    for p in &paths {
        if !p.starts_with('/') {
            return Err(format!(
                "path {p:?} is not absolute (an undefined $variable?)"
            ));
        }
    }
    Ok(paths)
}

/// Parses a content expression (`!r:^# && r:Protocol && r:2`).
pub fn parse_content(text: &str, dialect: RegexType) -> Result<Content, String> {
    let mut minterms = Vec::new();
    for part in text.split(" && ") {
        if part.is_empty() {
            return Err("empty test in a ` && ` chain".into());
        }
        let (negated, t) = match part.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, part),
        };
        let test = if let Some(re) = t.strip_prefix("r:") {
            Test::Regex(Pattern::compile(re, dialect)?)
        } else if let Some(expr) = t.strip_prefix("n:") {
            let Some((re, cmp)) = expr.rsplit_once(" compare ") else {
                return Err(
                    "n: needs ` compare OP VALUE` (e.g. `n:^MaxAuthTries\\s+(\\d+) compare <= 4`)"
                        .into(),
                );
            };
            // `OP VALUE`; Wazuh also reads `<=15` (no space).
            let cmp = cmp.trim();
            let op_len = cmp
                .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
                .unwrap_or(cmp.len());
            let (op, value) = (&cmp[..op_len], cmp[op_len..].trim());
            if op.is_empty() || value.is_empty() || value.contains(char::is_whitespace) {
                return Err(format!("n: comparison {cmp:?} must be `OP VALUE`"));
            }
            let op = CompareOp::parse(op)
                .ok_or_else(|| format!("unknown comparison {op:?}: use <, <=, ==, !=, >= or >"))?;
            let value: i64 = value
                .parse()
                .map_err(|_| format!("n: value {value:?} is not an integer"))?;
            let pattern = Pattern::compile(re, dialect)?;
            if pattern.groups() == 0 {
                return Err(
                    "n: pattern needs a capture group around the number, e.g. (\\d+)".into(),
                );
            }
            Test::Numeric { pattern, op, value }
        } else {
            Test::Literal(t.to_string())
        };
        minterms.push(Minterm { negated, test });
    }
    Ok(Content { minterms })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Rule, String> {
        let mut v = BTreeMap::new();
        v.insert("$sshd".to_string(), "/etc/ssh".to_string());
        v.insert("$sshd_file".to_string(), "/etc/ssh/sshd_config".to_string());
        parse_rule(s, &v, RegexType::OsRegex)
    }

    #[test]
    fn grammar() {
        let r = parse("not f:$sshd_file -> !r:^# && r:Port").unwrap();
        assert!(r.negated);
        match r.kind {
            RuleKind::File { paths, content } => {
                assert_eq!(paths, vec!["/etc/ssh/sshd_config"]);
                let c = content.unwrap();
                assert_eq!(c.minterms.len(), 2);
                assert!(c.minterms[0].negated);
            }
            other => panic!("{other:?}"),
        }
        let r = parse(r"d:$sshd -> r:^sshd -> n:^MaxAuthTries\s+(\d+) compare <= 4").unwrap();
        assert!(matches!(
            r.kind,
            RuleKind::Dir {
                name: Some(_),
                content: Some(_),
                ..
            }
        ));
        assert!(matches!(
            parse("p:sshd").unwrap().kind,
            RuleKind::Process { .. }
        ));
        assert!(matches!(
            parse("c:sshd -T -> r:x").unwrap().kind,
            RuleKind::Command { .. }
        ));
        assert!(parse("x:/etc").is_err());
        assert!(parse("f:/etc/a->r:x").is_err());
        assert!(parse("f:relative").is_err());
        assert!(parse("p:sshd -> r:x").is_err());
        assert!(parse(r"f:/a -> n:^x\s+\d+ compare <= 4").is_err());
        assert!(parse(r"f:/a -> n:^x\s+(\d+) compare =~ 4").is_err());
        assert!(parse(r"f:/a -> n:^x\s+(\d+) compare <= four").is_err());
        assert!(parse(r"f:/a -> r:\q").is_err());
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// A deterministic generator of rule-like strings from the grammar's own pieces.
    fn pieces(seed: &mut u64, n: usize) -> String {
        const P: &[&str] = &[
            "f:",
            "d:",
            "p:",
            "c:",
            "r:",
            "n:",
            "not ",
            " -> ",
            " && ",
            "!",
            "/etc",
            "/",
            ",",
            "\\",
            "\\w",
            "\\s",
            "\\.",
            "\\d+",
            "(",
            ")",
            "|",
            "^",
            "$",
            "+",
            "*",
            " compare ",
            "<=",
            "==",
            "=",
            "4",
            "-1",
            "99999999999999999999",
            "$v",
            "é",
            "\u{0}",
            "'",
            "\"",
            "(?=",
            "(?!",
            "\\1",
            "[",
            "]",
            "{",
            "}",
            "?",
        ];
        let mut s = String::new();
        for _ in 0..n {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(P[(*seed >> 33) as usize % P.len()]);
        }
        s
    }

    #[test]
    fn arbitrary_rules_parse_or_fail_with_a_reason_and_never_panic() {
        let mut vars = BTreeMap::new();
        vars.insert("$v".to_string(), "/etc/a,/etc/b".to_string());
        let mut seed = 7u64;
        let (mut ok, mut err) = (0, 0);
        for i in 0..20_000 {
            let text = pieces(&mut seed, 1 + i % 12);
            for dialect in [RegexType::OsRegex, RegexType::Pcre2] {
                match parse_rule(&text, &vars, dialect) {
                    Ok(rule) => {
                        ok += 1;
                        // Every compiled pattern can run on a line without panicking.
                        let tests: Vec<&Test> = match &rule.kind {
                            RuleKind::File {
                                content: Some(c), ..
                            }
                            | RuleKind::Command {
                                content: Some(c), ..
                            } => c.minterms.iter().map(|m| &m.test).collect(),
                            _ => Vec::new(),
                        };
                        for t in tests {
                            let line = b"PermitRootLogin no 4 (x) aaaa";
                            let r = match t {
                                Test::Regex(p) => p.is_match(line).map(|_| ()),
                                Test::Numeric { pattern, .. } => {
                                    pattern.first_capture(line).map(|_| ())
                                }
                                Test::Literal(_) => Ok(()),
                            };
                            if let Err(e) = r {
                                assert!(!e.is_empty());
                            }
                        }
                    }
                    Err(reason) => {
                        err += 1;
                        assert!(!reason.is_empty(), "empty reason for {text:?}");
                    }
                }
            }
        }
        assert!(ok > 1000 && err > 1000, "ok {ok}, err {err}");
    }
}
