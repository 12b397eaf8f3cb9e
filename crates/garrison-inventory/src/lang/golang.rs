//! `go.mod`: `require` lines and blocks (`// indirect` ones are not direct),
//! with `replace` directives applied: a module replaced by another module is
//! reported under the replacement's path and version (property
//! `go.replaced` keeps the original), a module replaced by a local directory is
//! skipped (its code is the project's own). The main module (`module`) is the
//! project itself, not a package.

use super::{package, text};
use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::Ecosystem;
use std::collections::HashMap;

const NAME: &str = "go-mod";

pub struct GoMod;

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Word(std::borrow::Cow<'a, str>),
    Open,
    Close,
    Arrow,
}

/// Splits one line into tokens and its trailing `//` comment.
fn lex(line: &str) -> Result<(Vec<Tok<'_>>, Option<&str>), String> {
    let mut toks = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok((toks, None));
        }
        if let Some(c) = rest.strip_prefix("//") {
            return Ok((toks, Some(c.trim())));
        }
        if let Some(r) = rest.strip_prefix("=>") {
            toks.push(Tok::Arrow);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('(') {
            toks.push(Tok::Open);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(')') {
            toks.push(Tok::Close);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('`') {
            let end = r.find('`').ok_or("unterminated raw string")?;
            toks.push(Tok::Word(r.get(..end).unwrap_or_default().into()));
            rest = r.get(end + 1..).unwrap_or_default();
        } else if let Some(r) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = r.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => out.push(c),
                        None => return Err("unterminated string".into()),
                    },
                    Some((_, c)) => out.push(c),
                    None => return Err("unterminated string".into()),
                }
            };
            toks.push(Tok::Word(out.into()));
            rest = r.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '"' || c == '`')
                .unwrap_or(rest.len());
            let end = match rest.find("//") {
                Some(c) if c < end => c,
                _ => end,
            };
            let end = match rest.find("=>") {
                Some(a) if a < end && a > 0 => a,
                _ => end,
            };
            toks.push(Tok::Word(rest.get(..end).unwrap_or_default().into()));
            rest = rest.get(end..).unwrap_or_default();
        }
    }
}

struct Require {
    path: String,
    version: String,
    indirect: bool,
}

/// `old [version] => new [version]`.
type Replace = (String, Option<String>, String, Option<String>);

impl Parser for GoMod {
    fn name(&self) -> &'static str {
        NAME
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "go.mod"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let s = text(NAME, file, content)?;
        let err = |lineno: usize, msg: &str| ParseError::new(NAME, file.path, format!("line {lineno}: {msg}"));
        let mut requires: Vec<Require> = Vec::new();
        let mut replaces: Vec<Replace> = Vec::new();
        let mut block: Option<String> = None;
        for (i, line) in s.lines().enumerate() {
            let lineno = i + 1;
            let (toks, comment) = lex(line).map_err(|m| err(lineno, &m))?;
            let verb: String;
            match (&block, toks.first()) {
                (_, None) => continue,
                (Some(_), Some(Tok::Close)) => {
                    block = None;
                    continue;
                }
                (Some(b), Some(_)) => {
                    verb = b.clone();
                }
                (None, Some(Tok::Word(w))) => {
                    if toks.get(1) == Some(&Tok::Open) {
                        block = Some(w.to_string());
                        continue;
                    }
                    verb = w.to_string();
                }
                (None, Some(_)) => return Err(err(lineno, "unexpected token at the start of a directive")),
            }
            let args: &[Tok] = if block.is_some() { &toks } else { toks.get(1..).unwrap_or_default() };
            match verb.as_str() {
                "require" => {
                    let [Tok::Word(path), Tok::Word(version)] = args else {
                        return Err(err(lineno, "a require needs a module path and a version"));
                    };
                    let indirect = comment
                        .is_some_and(|c| c.split(';').any(|part| part.trim() == "indirect"));
                    requires.push(Require {
                        path: path.to_string(),
                        version: version.to_string(),
                        indirect,
                    });
                }
                "replace" => {
                    let arrow = args
                        .iter()
                        .position(|t| *t == Tok::Arrow)
                        .ok_or_else(|| err(lineno, "a replace needs `=>`"))?;
                    let word = |t: Option<&Tok>| match t {
                        Some(Tok::Word(w)) => Some(w.to_string()),
                        _ => None,
                    };
                    let (left, right) = (args.get(..arrow).unwrap_or_default(), args.get(arrow + 1..).unwrap_or_default());
                    if left.is_empty() || left.len() > 2 || right.is_empty() || right.len() > 2 {
                        return Err(err(lineno, "a replace is `old [version] => new [version]`"));
                    }
                    let (Some(old), Some(new)) = (word(left.first()), word(right.first())) else {
                        return Err(err(lineno, "a replace names modules"));
                    };
                    replaces.push((old, word(left.get(1)), new, word(right.get(1))));
                }
                _ => {} // module, go, toolchain, exclude, retract, godebug, tool
            }
        }
        if block.is_some() {
            return Err(ParseError::new(NAME, file.path, "unterminated `(` block"));
        }

        let mut exact: HashMap<(&str, &str), &Replace> = HashMap::new();
        let mut any: HashMap<&str, &Replace> = HashMap::new();
        for r in &replaces {
            match &r.1 {
                Some(v) => exact.insert((r.0.as_str(), v.as_str()), r),
                None => any.insert(r.0.as_str(), r),
            };
        }
        let mut parsed = Parsed::default();
        for req in &requires {
            let rep = exact
                .get(&(req.path.as_str(), req.version.as_str()))
                .or_else(|| any.get(req.path.as_str()));
            let mut p = match rep {
                // Replaced by a local directory: the project's own code.
                Some((_, _, _, None)) => continue,
                Some((_, _, new, Some(nv))) => {
                    let mut p = package(Ecosystem::Go, new, nv, file);
                    p.properties
                        .insert("go.replaced".into(), format!("{} {}", req.path, req.version));
                    p
                }
                None => package(Ecosystem::Go, &req.path, &req.version, file),
            };
            p.direct = Some(!req.indirect);
            parsed.packages.push(p);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_quotes_and_comments() {
        let (t, c) = lex(r#"  "a b" `c` d=>e // x"#).unwrap();
        assert_eq!(
            t,
            [Tok::Word("a b".into()), Tok::Word("c".into()), Tok::Word("d".into()), Tok::Arrow, Tok::Word("e".into())]
        );
        assert_eq!(c, Some("x"));
        assert!(lex("\"open").is_err());
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let f = FileRef::new("/src/go.mod");
        let err = GoMod.parse(&f, b"module x\nrequire a\n").unwrap_err();
        assert!(err.to_string().contains("/src/go.mod") && err.to_string().contains("line 2"), "{err}");
        assert!(GoMod.parse(&f, b"require (\n a v1.0.0\n").is_err());
    }
}
