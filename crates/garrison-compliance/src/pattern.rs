//! The two regex dialects of SCA policies: Wazuh's OS_Regex (the default) and PCRE2.
//!
//! **OS_Regex** is translated to the `regex` crate's syntax and run by its
//! linear-time engine on bytes:
//!
//! | OS_Regex | meaning |
//! |---|---|
//! | `\w` | `A-Z a-z 0-9 - @ _` |
//! | `\d` / `\D` | a digit / anything else |
//! | `\s` / `\S` | an ASCII space (not a tab) / anything else |
//! | `\t` | a tab |
//! | `\p` | one of ``()*+,-.:;<=>?[]!"'#$%&|{}`` |
//! | `\W` | anything not `\w` |
//! | `\.` | any character |
//! | `.` | a literal dot |
//! | `+`, `*` | one or more / zero or more of the preceding backslash expression |
//! | `^`, `$` | start / end of the line (only first / last in a pattern) |
//! | `|` | alternation between whole patterns (never inside a group) |
//! | `(`, `)` | a capture group |
//! | `\$ \( \) \\ \| \<` | the literal character |
//!
//! `+` and `*` after a plain character are that literal character (OS_Regex
//! applies them to backslash expressions only). One documented quirk is not
//! reproduced: OS_Regex's quantifiers backtrack only a little, so Wazuh's
//! `\p*\d*\s*\w*:` fails on `:`; here it matches, as any regex engine would.
//! Matching is case-sensitive, as the SCA documentation states.
//!
//! **PCRE2** (`regex_type: pcre2`) runs on `fancy-regex`: patterns without
//! look-around or back-references go to the same linear-time engine; the
//! others backtrack with a bounded budget, and a pattern that exhausts it is an
//! error for that line (the rule becomes not applicable), never a hang.

use serde::{Deserialize, Serialize};

/// Most backtracking steps a PCRE2 pattern may take on one line.
pub const BACKTRACK_LIMIT: usize = 200_000;
/// Most bytes a compiled pattern may take.
const SIZE_LIMIT: usize = 4 << 20;

/// The regex dialect of a policy (`policy.regex_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RegexType {
    #[default]
    #[serde(rename = "osregex")]
    OsRegex,
    #[serde(rename = "pcre2")]
    Pcre2,
}

/// A compiled `r:` or `n:` pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    Linear(regex::bytes::Regex),
    Backtracking(Box<fancy_regex::Regex>),
}

impl Pattern {
    /// Compiles `source` in `dialect`; the error says what is wrong with it.
    pub fn compile(source: &str, dialect: RegexType) -> Result<Pattern, String> {
        let engine = match dialect {
            RegexType::OsRegex => {
                let translated = translate_os_regex(source)?;
                let re = regex::bytes::RegexBuilder::new(&translated)
                    .unicode(false)
                    .size_limit(SIZE_LIMIT)
                    .dfa_size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("invalid OS_Regex pattern: {e}"))?;
                Engine::Linear(re)
            }
            RegexType::Pcre2 => {
                let re = fancy_regex::RegexBuilder::new(source)
                    .backtrack_limit(BACKTRACK_LIMIT)
                    .delegate_size_limit(SIZE_LIMIT)
                    .delegate_dfa_size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("invalid PCRE2 pattern: {e}"))?;
                Engine::Backtracking(Box::new(re))
            }
        };
        Ok(Pattern {
            source: source.to_string(),
            engine,
        })
    }

    /// The pattern as the policy wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches somewhere in `line`. An error means the
    /// backtracking budget ran out.
    pub fn is_match(&self, line: &[u8]) -> Result<bool, String> {
        match &self.engine {
            Engine::Linear(re) => Ok(re.is_match(line)),
            Engine::Backtracking(re) => re
                .is_match(&*String::from_utf8_lossy(line))
                .map_err(|e| self.runaway(e)),
        }
    }

    /// The first capture group that took part in the match (the whole match
    /// when the pattern has no group), or `None` when it does not match.
    pub fn first_capture(&self, line: &[u8]) -> Result<Option<String>, String> {
        match &self.engine {
            Engine::Linear(re) => Ok(re.captures(line).and_then(|c| {
                let m = c.iter().skip(1).flatten().next().or_else(|| c.get(0))?;
                Some(String::from_utf8_lossy(m.as_bytes()).into_owned())
            })),
            Engine::Backtracking(re) => {
                let text = String::from_utf8_lossy(line);
                let caps = re.captures(&*text).map_err(|e| self.runaway(e))?;
                Ok(caps.and_then(|c| {
                    let m = c.iter().skip(1).flatten().next().or_else(|| c.get(0))?;
                    Some(m.as_str().to_string())
                }))
            }
        }
    }

    /// Number of capture groups.
    pub fn groups(&self) -> usize {
        match &self.engine {
            Engine::Linear(re) => re.captures_len().saturating_sub(1),
            Engine::Backtracking(re) => re.captures_len().saturating_sub(1),
        }
    }

    fn runaway(&self, e: fancy_regex::Error) -> String {
        format!(
            "pattern {:?} was stopped: {e} (more than {BACKTRACK_LIMIT} backtracking steps on one line); simplify it",
            self.source
        )
    }
}

const W_CLASS: &str = r"[A-Za-z0-9@_\-]";
const NOT_W_CLASS: &str = r"[^A-Za-z0-9@_\-]";
const P_CLASS: &str = r#"[()*+,\-.:;<=>?\[\]!"'#$%&|{}]"#;

/// Translates an OS_Regex pattern into `regex` crate syntax (see the module docs).
pub fn translate_os_regex(src: &str) -> Result<String, String> {
    let bytes = src.as_bytes();
    let mut alternatives: Vec<String> = Vec::new();
    let mut out = String::new();
    let mut at_start = true;
    let mut depth = 0usize;
    // Whether the last emitted item was a backslash class that `+`/`*` may follow.
    let mut quantifiable = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\\' => {
                let Some(&e) = bytes.get(i + 1) else {
                    return Err("ends with a lone backslash".into());
                };
                i += 2;
                let item: &str = match e {
                    b'w' => W_CLASS,
                    b'W' => NOT_W_CLASS,
                    b'd' => "[0-9]",
                    b'D' => "[^0-9]",
                    b's' => " ",
                    b'S' => "[^ ]",
                    b't' => r"\t",
                    b'p' => P_CLASS,
                    b'.' => r"(?s-u:.)",
                    b'$' => r"\$",
                    b'(' => r"\(",
                    b')' => r"\)",
                    b'\\' => r"\\",
                    b'|' => r"\|",
                    b'<' => "<",
                    other => {
                        return Err(format!(
                            "unknown escape \\{} (OS_Regex knows \\w \\W \\d \\D \\s \\S \\t \\p \\. and the escapes \\$ \\( \\) \\\\ \\| \\<)",
                            char::from(other)
                        ))
                    }
                };
                let is_class = matches!(
                    e,
                    b'w' | b'W' | b'd' | b'D' | b's' | b'S' | b't' | b'p' | b'.'
                );
                if is_class && e == b's' {
                    // A single space as an atom so that a quantifier applies to it.
                    out.push_str("(?: )");
                } else {
                    out.push_str(item);
                }
                quantifiable = is_class;
                at_start = false;
                continue;
            }
            b'+' | b'*' if quantifiable => {
                out.push(char::from(c));
                quantifiable = false;
            }
            b'^' if at_start => out.push('^'),
            b'$' if i + 1 == bytes.len() || bytes.get(i + 1) == Some(&b'|') => {
                if depth > 0 {
                    return Err("a group is still open at '$'".into());
                }
                out.push('$');
                quantifiable = false;
            }
            b'|' => {
                if depth > 0 {
                    return Err("OS_Regex allows no '|' inside a group".into());
                }
                alternatives.push(std::mem::take(&mut out));
                at_start = true;
                quantifiable = false;
                i += 1;
                continue;
            }
            b'(' => {
                depth += 1;
                out.push('(');
                quantifiable = false;
            }
            b')' => {
                if depth == 0 {
                    return Err("')' without '(' (escape it as \\))".into());
                }
                depth -= 1;
                out.push(')');
                quantifiable = false;
            }
            _ => {
                if c.is_ascii_alphanumeric() || c == b' ' {
                    out.push(char::from(c));
                } else if c.is_ascii() {
                    out.push_str(&regex::escape(&char::from(c).to_string()));
                } else {
                    out.push_str(&format!(r"\x{c:02X}"));
                }
                quantifiable = false;
            }
        }
        at_start = false;
        i += 1;
    }
    if depth > 0 {
        return Err("a '(' is never closed".into());
    }
    alternatives.push(out);
    if alternatives.len() == 1 {
        Ok(alternatives.pop().unwrap_or_default())
    } else {
        Ok(alternatives
            .iter()
            .map(|a| format!("(?:{a})"))
            .collect::<Vec<_>>()
            .join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(p: &str, s: &str) -> bool {
        Pattern::compile(p, RegexType::OsRegex)
            .unwrap()
            .is_match(s.as_bytes())
            .unwrap()
    }

    #[test]
    fn os_regex_classes_follow_the_documented_table() {
        assert!(os(r"^\w+$", "a-b@c_9"));
        assert!(!os(r"^\w+$", "a.b"));
        assert!(os(r"^\d+$", "0123"));
        assert!(os(r"^\D+$", "abc"));
        assert!(!os(r"^\D+$", "ab1"));
        // \s is a space only, not a tab.
        assert!(os(r"^a\sb$", "a b"));
        assert!(!os(r"^a\sb$", "a\tb"));
        assert!(os(r"^a\tb$", "a\tb"));
        assert!(os(r"^a\Sb$", "a\tb"));
        assert!(os(r"^\p+$", "()*+,-.:;<=>?[]!\"'#$%&|{}"));
        assert!(!os(r"^\p$", "a"));
        assert!(os(r"^\W$", "."));
        assert!(!os(r"^\W$", "@"));
    }

    #[test]
    fn dot_is_literal_and_backslash_dot_is_any() {
        assert!(os(r"^a.b$", "a.b"));
        assert!(!os(r"^a.b$", "axb"));
        assert!(os(r"^a\.b$", "axb"));
        assert!(os(r"Port\.+22", "Port    22"));
    }

    #[test]
    fn anchors_alternation_escapes_and_groups() {
        assert!(os(r"^abc", "abcdef"));
        assert!(!os(r"^abc", "xabc"));
        assert!(os(r"def$", "abcdef"));
        assert!(!os(r"abc$", "abcdef"));
        assert!(os(r"^yes$|^no$", "no"));
        assert!(!os(r"^yes$|^no$", "maybe"));
        assert!(os(r"\$HOME", "$HOME"));
        assert!(os(r"\(x\)", "(x)"));
        assert!(os(r"a\\b", r"a\b"));
        assert!(os(r"a\|b", "a|b"));
        assert!(os(r"\<x", "<x"));
        // A '+' after a plain character is that character.
        assert!(os(r"^a+$", "a+"));
        assert!(!os(r"^a+$", "aa"));
        // '$' inside a pattern is a literal.
        assert!(os(r"a$b", "a$b"));
        // Case-sensitive.
        assert!(!os(r"permitrootlogin", "PermitRootLogin no"));
        let p = Pattern::compile(r"^\s*MaxAuthTries\s+(\d+)", RegexType::OsRegex).unwrap();
        assert_eq!(
            p.first_capture(b"  MaxAuthTries 4").unwrap().as_deref(),
            Some("4")
        );
        assert_eq!(p.groups(), 1);
    }

    #[test]
    fn bad_os_regex_is_an_error() {
        assert!(Pattern::compile(r"\q", RegexType::OsRegex).is_err());
        assert!(Pattern::compile(r"(a|b)", RegexType::OsRegex).is_err());
        assert!(Pattern::compile(r"(a", RegexType::OsRegex).is_err());
        assert!(Pattern::compile(r"a)", RegexType::OsRegex).is_err());
        assert!(Pattern::compile("a\\", RegexType::OsRegex).is_err());
    }

    #[test]
    fn pcre2_lookaround_and_runaway_is_bounded() {
        let p = Pattern::compile(r"^(?!#)\s*PermitRootLogin\s+no", RegexType::Pcre2).unwrap();
        assert!(p.is_match(b"PermitRootLogin no").unwrap());
        assert!(!p.is_match(b"#PermitRootLogin no").unwrap());
        // Catastrophic backtracking: nested quantifiers and a back-reference
        // force the backtracking engine.
        let evil = Pattern::compile(r"^(?:a(?=a)|a)+b", RegexType::Pcre2).unwrap();
        let line = format!("{}c", "a".repeat(60));
        let err = evil.is_match(line.as_bytes()).unwrap_err();
        assert!(err.contains("backtracking"), "{err}");
        assert!(evil.first_capture(line.as_bytes()).is_err());
    }
}
