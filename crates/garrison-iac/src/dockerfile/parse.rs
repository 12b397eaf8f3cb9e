//! A Dockerfile parser following the BuildKit frontend's rules: parser directives
//! (`# syntax=`, `# escape=`), comments, line continuations with the escape character,
//! heredocs (`<<EOF`, `<<-EOF`, quoted delimiters, several per instruction), JSON (exec)
//! and shell forms, `--flag=value` options, and stages.

use std::fmt;

/// Why a Dockerfile could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("line {line}: unterminated heredoc `<<{delimiter}`: add a line holding only `{delimiter}` to close it")]
    UnterminatedHeredoc { line: usize, delimiter: String },
    #[error(
        "line {line}: `{text}` is not an instruction (expected a keyword such as FROM, RUN, COPY)"
    )]
    NotAnInstruction { line: usize, text: String },
    #[error("line {line}: {keyword} needs arguments")]
    MissingArguments { line: usize, keyword: String },
    #[error("line {line}: {keyword} before the first FROM (only ARG may come before FROM)")]
    BeforeFrom { line: usize, keyword: String },
    #[error("line {line}: unsupported escape directive `{value}` (use \\ or `)")]
    BadEscape { line: usize, value: String },
    #[error("the file holds no FROM instruction, so it is not a Dockerfile")]
    NoFrom,
}

impl ParseError {
    /// The 1-based line the error is at, if it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::UnterminatedHeredoc { line, .. }
            | ParseError::NotAnInstruction { line, .. }
            | ParseError::MissingArguments { line, .. }
            | ParseError::BeforeFrom { line, .. }
            | ParseError::BadEscape { line, .. } => Some(*line),
            ParseError::NoFrom => None,
        }
    }
}

/// The arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// JSON array form: `["executable", "arg"]`.
    Exec(Vec<String>),
    /// Shell form: the text after the keyword and flags, continuations joined.
    Shell(String),
}

impl Args {
    /// The arguments as one string (exec form joined by spaces).
    pub fn text(&self) -> String {
        match self {
            Args::Exec(v) => v.join(" "),
            Args::Shell(s) => s.clone(),
        }
    }
}

/// A heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub delimiter: String,
    /// The body, lines joined with `\n` (leading tabs removed for `<<-`).
    pub body: String,
    /// Line (1-based) of the body's first line.
    pub line: usize,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`, `FROM`, ...).
    pub keyword: String,
    /// `--name=value` options before the arguments (`--from`, `--chown`, `--mount`...).
    pub flags: Vec<(String, String)>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
    /// First line (1-based).
    pub line: usize,
    /// Last line (1-based), heredoc bodies included.
    pub end_line: usize,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The FROM instruction.
    pub from: Instruction,
    /// The base image reference as written (after `--platform`).
    pub image: String,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    pub instructions: Vec<Instruction>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// Parser directives (`syntax`, `escape`, `check`), lower-cased names.
    pub directives: Vec<(String, String)>,
    /// ARG instructions before the first FROM.
    pub global_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.keyword, self.args.text())
    }
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Parses a Dockerfile's text.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let (directives, mut i) = parse_directives(&lines);
    let escape = match directives.iter().find(|(n, _)| n == "escape") {
        None => '\\',
        Some((_, v)) if v == "\\" => '\\',
        Some((_, v)) if v == "`" => '`',
        Some((_, v)) => {
            let line = lines
                .iter()
                .position(|l| l.to_ascii_lowercase().contains("escape"))
                .map_or(1, |p| p + 1);
            return Err(ParseError::BadEscape {
                line,
                value: v.clone(),
            });
        }
    };

    let mut instructions = Vec::new();
    while i < lines.len() {
        let first = lines[i];
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        // Join continuation lines: comment lines and empty lines inside are dropped.
        let mut logical = String::new();
        let mut cur = first;
        loop {
            match strip_continuation(cur, escape) {
                Some(body) => {
                    logical.push_str(body);
                    i += 1;
                    // Skip comments and blank lines inside the continuation.
                    while i < lines.len() {
                        let t = lines[i].trim_start();
                        if t.starts_with('#') || t.is_empty() {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    if i >= lines.len() {
                        break;
                    }
                    cur = lines[i];
                }
                None => {
                    logical.push_str(cur);
                    i += 1;
                    break;
                }
            }
        }
        let (keyword, rest) = split_keyword(&logical);
        let upper = keyword.to_ascii_uppercase();
        if !KEYWORDS.contains(&upper.as_str()) {
            return Err(ParseError::NotAnInstruction {
                line: start + 1,
                text: truncate(logical.trim(), 60),
            });
        }
        let (flags, rest) = split_flags(rest);
        // Heredocs: RUN, COPY, ADD (and ONBUILD of those).
        let mut heredocs = Vec::new();
        if matches!(upper.as_str(), "RUN" | "COPY" | "ADD" | "ONBUILD") {
            for (delimiter, strip_tabs) in heredoc_markers(rest) {
                let body_line = i + 1;
                let mut body = Vec::new();
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    let candidate = if strip_tabs {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    if candidate == delimiter {
                        closed = true;
                        break;
                    }
                    body.push(candidate.to_string());
                }
                if !closed {
                    return Err(ParseError::UnterminatedHeredoc {
                        line: start + 1,
                        delimiter,
                    });
                }
                heredocs.push(Heredoc {
                    delimiter,
                    body: body.join("\n"),
                    line: body_line,
                });
            }
        }
        let rest = rest.trim();
        if rest.is_empty() && !matches!(upper.as_str(), "HEALTHCHECK") {
            return Err(ParseError::MissingArguments {
                line: start + 1,
                keyword: upper,
            });
        }
        let args = match parse_json_array(rest) {
            Some(v) if !matches!(upper.as_str(), "ENV" | "LABEL" | "ARG") => Args::Exec(v),
            _ => Args::Shell(rest.to_string()),
        };
        instructions.push(Instruction {
            keyword: upper,
            flags,
            args,
            heredocs,
            line: start + 1,
            end_line: i,
        });
    }

    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let text = ins.args.text();
            let mut words = text.split_whitespace();
            let image = words.next().unwrap_or_default().to_string();
            let name = match (words.next(), words.next()) {
                (Some(kw), Some(n)) if kw.eq_ignore_ascii_case("as") => {
                    Some(n.to_ascii_lowercase())
                }
                _ => None,
            };
            stages.push(Stage {
                from: ins,
                image,
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(ins);
        } else if ins.keyword == "ARG" {
            global_args.push(ins);
        } else {
            return Err(ParseError::BeforeFrom {
                line: ins.line,
                keyword: ins.keyword,
            });
        }
    }
    if stages.is_empty() {
        return Err(ParseError::NoFrom);
    }
    Ok(Dockerfile {
        directives,
        global_args,
        stages,
    })
}

/// Parser directives: `# name=value` lines at the very top; stops at the first other line.
fn parse_directives(lines: &[&str]) -> (Vec<(String, String)>, usize) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(body) = lines[i].trim_start().strip_prefix('#') else {
            break;
        };
        let Some((name, value)) = body.split_once('=') else {
            break;
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            break;
        }
        let name = name.to_ascii_lowercase();
        if out.iter().any(|(n, _)| *n == name) {
            break;
        }
        out.push((name, value.trim().to_string()));
        i += 1;
    }
    (out, i)
}

/// If the line ends with the escape character (trailing whitespace allowed), returns the
/// line without it.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end();
    let body = t.strip_suffix(escape)?;
    // An escaped escape (`\\`) at the end is not a continuation in shell text, but BuildKit
    // treats any trailing escape as continuation; follow BuildKit.
    Some(body)
}

fn split_keyword(logical: &str) -> (&str, &str) {
    let t = logical.trim_start();
    match t.find(char::is_whitespace) {
        Some(p) => (&t[..p], &t[p..]),
        None => (t, ""),
    }
}

/// Leading `--name=value` (or bare `--name`) options.
fn split_flags(rest: &str) -> (Vec<(String, String)>, &str) {
    let mut flags = Vec::new();
    let mut r = rest.trim_start();
    while let Some(after) = r.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let tok = &after[..end];
        let (n, v) = tok.split_once('=').unwrap_or((tok, ""));
        flags.push((n.to_ascii_lowercase(), v.to_string()));
        r = after[end..].trim_start();
    }
    (flags, r)
}

/// Heredoc markers in an instruction's text: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`.
fn heredoc_markers(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i + 1 < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'<' && bytes[i + 1] == b'<' => {
                let mut j = i + 2;
                // `<<<` is a here-string, not a heredoc.
                if bytes.get(j) == Some(&b'<') {
                    i = j + 1;
                    continue;
                }
                let strip = bytes.get(j) == Some(&b'-');
                if strip {
                    j += 1;
                }
                let q = match bytes.get(j) {
                    Some(&c) if c == b'"' || c == b'\'' => {
                        j += 1;
                        Some(c)
                    }
                    _ => None,
                };
                let s = j;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-')
                {
                    j += 1;
                }
                if j > s {
                    out.push((text[s..j].to_string(), strip));
                    if q.is_some() && bytes.get(j) == q.as_ref() {
                        j += 1;
                    }
                }
                i = j;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out
}

fn parse_json_array(s: &str) -> Option<Vec<String>> {
    if !s.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(s).ok()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_forms() {
        let df = parse(
            "# syntax=docker/dockerfile:1\n# escape=\\\nARG BASE=debian:12\nFROM ${BASE} AS build\nRUN apt-get update && \\\n# a comment\n    apt-get install -y curl\nCMD [\"/bin/app\", \"--flag\"]\n",
        )
        .unwrap();
        assert_eq!(
            df.directives[0],
            ("syntax".into(), "docker/dockerfile:1".into())
        );
        assert_eq!(df.global_args.len(), 1);
        let st = &df.stages[0];
        assert_eq!(st.name.as_deref(), Some("build"));
        let run = &st.instructions[0];
        assert_eq!(run.keyword, "RUN");
        assert_eq!((run.line, run.end_line), (5, 7));
        assert!(run.args.text().contains("apt-get install -y curl"));
        assert_eq!(
            st.instructions[1].args,
            Args::Exec(vec!["/bin/app".into(), "--flag".into()])
        );
    }

    #[test]
    fn heredocs_and_backtick_escape() {
        let df = parse(
            "# escape=`\nFROM alpine:3.20\nRUN <<EOF bash\nset -e\necho hi\nEOF\nCOPY --chown=1:1 <<-\"A\" /a <<B /b\n\tx\n\tA\ny\nB\nRUN echo a `\n  b\n",
        )
        .unwrap();
        let ins = &df.stages[0].instructions;
        assert_eq!(ins[0].heredocs[0].body, "set -e\necho hi");
        assert_eq!(ins[0].heredocs[0].line, 4);
        assert_eq!(ins[1].flag("chown"), Some("1:1"));
        assert_eq!(ins[1].heredocs.len(), 2);
        assert_eq!(ins[1].heredocs[0].body, "x");
        assert_eq!(ins[1].heredocs[1].body, "y");
        assert_eq!(ins[2].line, 12);
        assert_eq!(ins[2].args.text(), "echo a   b");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            parse("FROM a\nRUN <<EOF\nx\n"),
            Err(ParseError::UnterminatedHeredoc { line: 2, .. })
        ));
        assert!(matches!(
            parse("FROM a\nBOGUS x\n"),
            Err(ParseError::NotAnInstruction { line: 2, .. })
        ));
        assert!(matches!(
            parse("RUN x\n"),
            Err(ParseError::BeforeFrom { line: 1, .. })
        ));
        assert_eq!(parse("# just a comment\n"), Err(ParseError::NoFrom));
        assert!(matches!(
            parse("FROM a\nRUN\n"),
            Err(ParseError::MissingArguments { .. })
        ));
        assert!(parse("\u{0}\u{ff}<<<<").is_err());
    }
}
