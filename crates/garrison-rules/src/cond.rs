//! The condition language: a lexer and recursive-descent parser for Falco's filter
//! syntax (`and`, `or`, `not`, parentheses, macro names, `field op value`).

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` / `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `icontains`
    IContains,
    /// `bcontains` (treated as `contains` on the text)
    BContains,
    /// `startswith`
    StartsWith,
    /// `bstartswith`
    BStartsWith,
    /// `endswith`
    EndsWith,
    /// `glob`
    Glob,
    /// `iglob`
    IGlob,
    /// `pmatch`
    PMatch,
    /// `in`
    In,
    /// `intersects`
    Intersects,
    /// `exists`
    Exists,
    /// `regex`
    Regex,
}

impl Op {
    const WORDS: [(&'static str, Op); 13] = [
        ("contains", Op::Contains),
        ("icontains", Op::IContains),
        ("bcontains", Op::BContains),
        ("startswith", Op::StartsWith),
        ("bstartswith", Op::BStartsWith),
        ("endswith", Op::EndsWith),
        ("glob", Op::Glob),
        ("iglob", Op::IGlob),
        ("pmatch", Op::PMatch),
        ("in", Op::In),
        ("intersects", Op::Intersects),
        ("exists", Op::Exists),
        ("regex", Op::Regex),
    ];

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            other => Op::WORDS
                .iter()
                .find(|(_, o)| *o == other)
                .map(|(w, _)| *w)
                .unwrap_or("?"),
        }
    }

    /// Whether the right side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// `tolower(...)`
    ToLower,
    /// `toupper(...)`
    ToUpper,
    /// `basename(...)`
    Basename,
    /// `len(...)`
    Len,
    /// `b64(...)` is not supported; listed so the error can say so.
    Unsupported,
}

impl Transformer {
    fn parse(word: &str) -> Option<Transformer> {
        Some(match word {
            "tolower" => Transformer::ToLower,
            "toupper" => Transformer::ToUpper,
            "basename" => Transformer::Basename,
            "len" => Transformer::Len,
            "b64" => Transformer::Unsupported,
            _ => return None,
        })
    }
}

/// A field reference, maybe transformed: `tolower(proc.aname[2])`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Transformers, outermost first.
    pub transformers: Vec<Transformer>,
    /// Field name (`proc.aname`).
    pub name: String,
    /// The bracket argument (`2`), if any.
    pub arg: Option<String>,
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arg) = &self.arg {
            write!(f, "[{arg}]")?;
        }
        Ok(())
    }
}

/// One literal on a right side; `bare` literals may name a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lit {
    /// The text.
    pub text: String,
    /// Unquoted (so it may be a list's name).
    pub bare: bool,
}

/// The right side of a check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rhs {
    /// Nothing (`exists`).
    None,
    /// One literal.
    Lit(Lit),
    /// A parenthesized list.
    List(Vec<Lit>),
    /// `val(field)`.
    Field(FieldRef),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ast {
    /// All must hold.
    And(Vec<Ast>),
    /// One must hold.
    Or(Vec<Ast>),
    /// Negation.
    Not(Box<Ast>),
    /// A macro name (or a list name misused as a condition).
    Ident(String),
    /// `field op value`.
    Check {
        /// Left side.
        lhs: FieldRef,
        /// Operator.
        op: Op,
        /// Right side.
        rhs: Rhs,
    },
}

/// A syntax error at a character offset of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 0-based character offset.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset + 1, self.message)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

fn is_bare(c: u8) -> bool {
    !matches!(
        c,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'(' | b')' | b',' | b'=' | b'"' | b'\''
    )
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Ast, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    let ast = p.or()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.err(format!(
            "expected `and`, `or` or the end of the condition, found {:?}",
            p.rest_snippet()
        )));
    }
    Ok(ast)
}

impl<'a> Parser<'a> {
    fn err(&self, message: String) -> ParseError {
        ParseError {
            offset: self
                .text
                .get(..self.pos)
                .map_or(self.pos, |s| s.chars().count()),
            message,
        }
    }

    fn rest_snippet(&self) -> String {
        let rest = self.text.get(self.pos..).unwrap_or("");
        rest.chars().take(24).collect()
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Consumes `word` if it is next as a whole word.
    fn keyword(&mut self, word: &str) -> bool {
        self.ws();
        let end = self.pos + word.len();
        if self.s.get(self.pos..end) == Some(word.as_bytes())
            && self.s.get(end).is_none_or(|c| !is_ident(*c) && *c != b'.')
        {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Ast, ParseError> {
        let mut items = vec![self.and()?];
        while self.keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::Or(items)
        })
    }

    fn and(&mut self) -> Result<Ast, ParseError> {
        let mut items = vec![self.not()?];
        while self.keyword("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Ast::And(items)
        })
    }

    fn not(&mut self) -> Result<Ast, ParseError> {
        if self.keyword("not") {
            return Ok(Ast::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast, ParseError> {
        self.ws();
        match self.peek() {
            None => Err(self.err("expected a condition, found the end".into())),
            Some(b'(') => {
                self.pos += 1;
                let inner = self.or()?;
                self.ws();
                if self.peek() != Some(b')') {
                    return Err(self.err(format!(
                        "expected `)` closing the parenthesis, found {:?}",
                        self.rest_snippet()
                    )));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(c) if is_ident_start(c) => {
                let start = self.pos;
                let word = self.name();
                // A transformer call or a field: `name(` or dotted.
                if let Some(t) = Transformer::parse(&word).filter(|_| self.peek() == Some(b'(')) {
                    let lhs = self.transformed(t, start)?;
                    return self.check(lhs);
                }
                if word.contains('.') {
                    let arg = self.field_arg()?;
                    let lhs = FieldRef {
                        transformers: Vec::new(),
                        name: word,
                        arg,
                    };
                    return self.check(lhs);
                }
                Ok(Ast::Ident(word))
            }
            Some(_) => Err(self.err(format!(
                "expected a field, a macro name, `not` or `(`, found {:?}",
                self.rest_snippet()
            ))),
        }
    }

    /// A dotted name (`proc.name`, `spawned_process`).
    fn name(&mut self) -> String {
        let start = self.pos;
        while self.pos < self.s.len() && (is_ident(self.s[self.pos]) || self.s[self.pos] == b'.') {
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }

    fn field_arg(&mut self) -> Result<Option<String>, ParseError> {
        if self.peek() != Some(b'[') {
            return Ok(None);
        }
        self.pos += 1;
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos] != b']' {
            self.pos += 1;
        }
        if self.pos >= self.s.len() {
            return Err(self.err("expected `]` closing the field argument".into()));
        }
        let arg = self.text[start..self.pos].trim().to_string();
        self.pos += 1;
        Ok(Some(arg))
    }

    fn field_ref(&mut self) -> Result<FieldRef, ParseError> {
        self.ws();
        let start = self.pos;
        if !self.peek().is_some_and(is_ident_start) {
            return Err(self.err(format!(
                "expected a field name, found {:?}",
                self.rest_snippet()
            )));
        }
        let word = self.name();
        if let Some(t) = Transformer::parse(&word).filter(|_| self.peek() == Some(b'(')) {
            return self.transformed(t, start);
        }
        if !word.contains('.') {
            self.pos = start;
            return Err(self.err(format!(
                "expected a field name (like proc.name), found {word:?}"
            )));
        }
        let arg = self.field_arg()?;
        Ok(FieldRef {
            transformers: Vec::new(),
            name: word,
            arg,
        })
    }

    fn transformed(&mut self, t: Transformer, start: usize) -> Result<FieldRef, ParseError> {
        if t == Transformer::Unsupported {
            self.pos = start;
            return Err(self.err("the b64 transformer is not supported".into()));
        }
        self.pos += 1; // (
        let mut inner = self.field_ref()?;
        self.ws();
        if self.peek() != Some(b')') {
            return Err(self.err("expected `)` closing the transformer".into()));
        }
        self.pos += 1;
        inner.transformers.insert(0, t);
        Ok(inner)
    }

    fn operator(&mut self) -> Result<Op, ParseError> {
        self.ws();
        let two = self.s.get(self.pos..self.pos + 2);
        let sym = match two {
            Some(b"==") => Some((Op::Eq, 2)),
            Some(b"!=") => Some((Op::Ne, 2)),
            Some(b"<=") => Some((Op::Le, 2)),
            Some(b">=") => Some((Op::Ge, 2)),
            _ => match self.peek() {
                Some(b'=') => Some((Op::Eq, 1)),
                Some(b'<') => Some((Op::Lt, 1)),
                Some(b'>') => Some((Op::Gt, 1)),
                _ => None,
            },
        };
        if let Some((op, n)) = sym {
            self.pos += n;
            return Ok(op);
        }
        for (word, op) in Op::WORDS {
            if self.keyword(word) {
                return Ok(op);
            }
        }
        Err(self.err(format!(
            "expected an operator (=, !=, <, <=, >, >=, contains, icontains, startswith, endswith, glob, pmatch, in, intersects, exists, regex), found {:?}",
            self.rest_snippet()
        )))
    }

    fn check(&mut self, lhs: FieldRef) -> Result<Ast, ParseError> {
        let op = self.operator()?;
        let rhs = match op {
            Op::Exists => Rhs::None,
            _ if op.takes_list() => {
                self.ws();
                if self.peek() == Some(b'(') {
                    Rhs::List(self.list()?)
                } else {
                    Rhs::List(vec![self.literal()?])
                }
            }
            _ => {
                self.ws();
                let save = self.pos;
                if self.keyword("val") && {
                    self.ws();
                    self.peek() == Some(b'(')
                } {
                    self.pos += 1;
                    let f = self.field_ref()?;
                    self.ws();
                    if self.peek() != Some(b')') {
                        return Err(self.err("expected `)` closing val(".into()));
                    }
                    self.pos += 1;
                    Rhs::Field(f)
                } else {
                    self.pos = save;
                    Rhs::Lit(self.literal()?)
                }
            }
        };
        Ok(Ast::Check { lhs, op, rhs })
    }

    fn list(&mut self) -> Result<Vec<Lit>, ParseError> {
        self.pos += 1; // (
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(b',') if !items.is_empty() => {
                    self.pos += 1;
                }
                None => return Err(self.err("expected `)` closing the list".into())),
                _ => items.push(self.literal()?),
            }
        }
    }

    fn literal(&mut self) -> Result<Lit, ParseError> {
        self.ws();
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.pos += 1;
                let mut out = String::new();
                let mut chars = self.text[self.pos..].char_indices();
                while let Some((i, c)) = chars.next() {
                    if c as u32 == q as u32 {
                        self.pos += i + 1;
                        return Ok(Lit {
                            text: out,
                            bare: false,
                        });
                    }
                    if c == '\\' {
                        match chars.next() {
                            Some((_, e)) if e as u32 == q as u32 || e == '\\' => out.push(e),
                            Some((_, e)) => {
                                out.push('\\');
                                out.push(e);
                            }
                            None => break,
                        }
                    } else {
                        out.push(c);
                    }
                }
                Err(self.err("unterminated quoted string".into()))
            }
            Some(c) if is_bare(c) => {
                let start = self.pos;
                while self.pos < self.s.len() && is_bare(self.s[self.pos]) {
                    self.pos += 1;
                }
                Ok(Lit {
                    text: self.text[start..self.pos].to_string(),
                    bare: true,
                })
            }
            _ => Err(self.err(format!("expected a value, found {:?}", self.rest_snippet()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, op: Op, rhs: Rhs) -> Ast {
        Ast::Check {
            lhs: FieldRef {
                transformers: vec![],
                name: name.into(),
                arg: None,
            },
            op,
            rhs,
        }
    }

    fn lit(s: &str) -> Rhs {
        Rhs::Lit(Lit {
            text: s.into(),
            bare: true,
        })
    }

    #[test]
    fn precedence_and_macros() {
        let ast = parse("spawned_process and not proc.name in (a, \"b c\") or evt.dir=<").unwrap();
        let Ast::Or(items) = ast else { panic!() };
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], check("evt.dir", Op::Eq, lit("<")));
        let Ast::And(parts) = &items[0] else { panic!() };
        assert_eq!(parts[0], Ast::Ident("spawned_process".into()));
        assert!(
            matches!(&parts[1], Ast::Not(inner) if matches!(**inner, Ast::Check { op: Op::In, .. }))
        );
    }

    #[test]
    fn operators_arguments_and_transformers() {
        let ast = parse("fd.num>=0 and proc.aname[2] = sshd and tolower(proc.name) = val(proc.pname) and proc.name = runc:[0:PARENT] and fd.name exists").unwrap();
        let Ast::And(parts) = ast else { panic!() };
        assert_eq!(parts[0], check("fd.num", Op::Ge, lit("0")));
        let Ast::Check { lhs, .. } = &parts[1] else {
            panic!()
        };
        assert_eq!(lhs.arg.as_deref(), Some("2"));
        let Ast::Check { lhs, rhs, .. } = &parts[2] else {
            panic!()
        };
        assert_eq!(lhs.transformers, vec![Transformer::ToLower]);
        assert!(matches!(rhs, Rhs::Field(f) if f.name == "proc.pname"));
        assert_eq!(parts[3], check("proc.name", Op::Eq, lit("runc:[0:PARENT]")));
        assert_eq!(parts[4], check("fd.name", Op::Exists, Rhs::None));
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let atoms = [
            "proc.name",
            " ",
            "=",
            "(",
            ")",
            ",",
            "\"",
            "'",
            "in",
            "and",
            "or",
            "not",
            "é",
            "日本",
            "[",
            "]",
            "val(",
            "tolower(",
            "x",
            "0",
            "<",
            ">=",
            "exists",
            "\\",
            "glob",
            ".",
            "\n",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(atoms[(x % atoms.len() as u64) as usize]);
            }
            let _ = parse(&s);
            x = x.wrapping_add(1);
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse("proc.name = a and (").unwrap_err();
        assert!(e.message.contains("expected"), "{e}");
        let e = parse("proc.name bogus x").unwrap_err();
        assert!(e.message.contains("operator") && e.offset == 10, "{e}");
        let e = parse("proc.name in (a, b").unwrap_err();
        assert!(e.message.contains("closing the list"), "{e}");
        assert!(parse("proc.name = 'x").is_err());
        assert!(parse("a b").is_err());
    }
}
