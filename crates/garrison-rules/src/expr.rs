//! Compiled conditions: fields resolved, literals parsed and typed once, lists as
//! hash sets, globs and regexes compiled; and their allocation-free evaluation.

use crate::cond::{Ast, FieldRef, Lit, Op, Rhs, Transformer};
use crate::fields::{self, ArgSpec, Ctx, FieldArg, FieldId, FieldType, Needs, Val};
use crate::syscalls::{kind_of, KindSet};
use garrison_event::{Event, EventKind};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// A compile error inside one condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// A field the registry does not know.
    UnknownField(String),
    /// An identifier that is neither a macro nor a list.
    UndefinedMacro(String),
    /// Anything else: what was expected.
    Invalid(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::UnknownField(name) => write!(
                f,
                "unknown field {name:?}: see docs/rule-fields.md for the supported fields"
            ),
            CompileError::UndefinedMacro(name) => {
                write!(
                    f,
                    "undefined macro {name:?}: define it with `- macro: {name}` before use"
                )
            }
            CompileError::Invalid(msg) => f.write_str(msg),
        }
    }
}

/// A set of strings: a linear scan (length first) when small, an FNV-hashed set
/// when large. Both answer without allocating.
#[derive(Debug, Clone)]
pub struct StrSet {
    small: Vec<Box<str>>,
    large: HashSet<Box<str>, std::hash::BuildHasherDefault<Fnv>>,
}

/// FNV-1a: fast for the short keys rule lists hold.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl FromIterator<Box<str>> for StrSet {
    fn from_iter<I: IntoIterator<Item = Box<str>>>(iter: I) -> Self {
        let mut items: Vec<Box<str>> = iter.into_iter().collect();
        items.sort();
        items.dedup();
        if items.len() <= 8 {
            StrSet {
                small: items,
                large: HashSet::default(),
            }
        } else {
            StrSet {
                small: Vec::new(),
                large: items.into_iter().collect(),
            }
        }
    }
}

impl StrSet {
    /// Whether the set holds `s`.
    pub fn contains(&self, s: &str) -> bool {
        if self.large.is_empty() {
            self.small.iter().any(|x| x.len() == s.len() && **x == *s)
        } else {
            self.large.contains(s)
        }
    }

    /// The items.
    pub fn iter(&self) -> impl Iterator<Item = &Box<str>> {
        self.small.iter().chain(self.large.iter())
    }
}

/// A compiled right side.
#[derive(Debug, Clone)]
enum CRhs {
    None,
    Str(Box<str>),
    Num(i64),
    Bool(bool),
    Ip(IpAddr),
    StrSet(StrSet),
    NumSet(Box<[i64]>),
    Nets(Box<[(IpAddr, u8)]>),
    Prefixes(Box<[Box<str>]>),
    Glob(globset::GlobMatcher),
    Regex(regex::Regex),
    Field(Box<FieldSel>),
}

/// A field with its argument and transformers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldSel {
    /// The field.
    pub id: FieldId,
    /// Its argument.
    pub arg: FieldArg,
    /// Transformers, applied innermost first.
    pub transformers: Vec<Transformer>,
    /// Multi-valued (an ancestor field without index, ...): any value may match.
    pub multi: bool,
    /// The name as written (for alerts' field lists).
    pub display: String,
    ty: FieldType,
}

/// A compiled check.
#[derive(Debug, Clone)]
pub struct Check {
    lhs: FieldSel,
    op: Op,
    rhs: CRhs,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A constant.
    Const(bool),
    /// All.
    And(Box<[Expr]>),
    /// Any.
    Or(Box<[Expr]>),
    /// Negation.
    Not(Box<Expr>),
    /// A macro's body, cached per event in `slot`.
    Macro(u32, Box<Expr>),
    /// A check.
    Check(Box<Check>),
}

/// Per-worker evaluation state: the macro cache and a scratch buffer for transformers.
#[derive(Debug, Default)]
pub struct EvalState {
    generation: u32,
    cache: Vec<(u32, bool)>,
    scratch: String,
    scratch2: String,
}

impl EvalState {
    /// A state for a ruleset with `macros` cached slots.
    pub fn new(macros: usize) -> Self {
        EvalState {
            generation: 1,
            cache: vec![(0, false); macros],
            scratch: String::new(),
            scratch2: String::new(),
        }
    }

    /// Starts a new event (invalidates the macro cache without clearing it).
    pub fn next_event(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.generation = 1;
            self.cache.iter_mut().for_each(|c| c.0 = 0);
        }
    }
}

/// What the compiler needs from the loaded ruleset.
pub struct Env<'a> {
    /// Macros by name (parsed bodies).
    pub macros: &'a HashMap<String, Ast>,
    /// Lists by name (flattened items).
    pub lists: &'a HashMap<String, Vec<String>>,
    /// Macro cache slots assigned so far.
    pub slots: &'a mut HashMap<String, u32>,
    /// Macros used (for "unused macro" checks).
    pub used_macros: &'a mut HashSet<String>,
    /// Lists used.
    pub used_lists: &'a mut HashSet<String>,
    /// Derived strings the rules need.
    pub needs: &'a mut Needs,
    /// Fields used by the rule being compiled (for alerts).
    pub fields: Vec<FieldSel>,
    /// Macro expansion stack (recursion guard).
    pub stack: Vec<String>,
}

fn invalid(msg: impl Into<String>) -> CompileError {
    CompileError::Invalid(msg.into())
}

/// Resolves a field reference and its argument.
pub fn resolve_field(f: &FieldRef, needs: &mut Needs) -> Result<FieldSel, CompileError> {
    let (def, key) =
        fields::lookup(&f.name).ok_or_else(|| CompileError::UnknownField(f.to_string()))?;
    let key = key.or_else(|| {
        if def.arg == ArgSpec::Key {
            f.arg.clone()
        } else {
            None
        }
    });
    let arg = match (def.arg, key, &f.arg) {
        (ArgSpec::Key, Some(key), _) => {
            let k = fields::arg_key(&key);
            match k {
                Some(k) => FieldArg::Key(k),
                None => {
                    return Err(invalid(format!(
                        "unknown event argument {key:?} in {f}: expected one of {}",
                        fields::ARG_KEYS
                            .iter()
                            .map(|(n, _, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
        }
        (ArgSpec::Key, _, _) => {
            return Err(invalid(format!(
                "{} needs an argument name, like evt.arg.flags",
                def.name
            )))
        }
        (ArgSpec::None, _, Some(a)) => {
            return Err(invalid(format!(
                "field {} takes no argument, found [{a}]",
                def.name
            )))
        }
        (ArgSpec::None, _, None) => FieldArg::None,
        (ArgSpec::Index, _, None) => FieldArg::None,
        (ArgSpec::Index, _, Some(a)) => match a.parse::<usize>() {
            Ok(n) => FieldArg::Index(n),
            Err(_) => {
                return Err(invalid(format!(
                    "field {} takes a numeric index, found [{a}]",
                    def.name
                )))
            }
        },
    };
    let multi = matches!(arg, FieldArg::None)
        && matches!(
            def.id,
            FieldId::ProcAName
                | FieldId::ProcAPid
                | FieldId::ProcAExe
                | FieldId::ProcAExePath
                | FieldId::FdTypes
        )
        || matches!(def.id, FieldId::FdIp | FieldId::FdPort | FieldId::FdNet);
    let mut ty = def.ty;
    for t in f.transformers.iter().rev() {
        ty = match (t, ty) {
            (Transformer::Len, FieldType::Str | FieldType::Dyn) => FieldType::Num,
            (
                Transformer::ToLower | Transformer::ToUpper | Transformer::Basename,
                FieldType::Str | FieldType::Dyn,
            ) => FieldType::Str,
            (t, ty) => {
                return Err(invalid(format!(
                    "transformer {t:?} does not apply to {} (a {} field)",
                    def.name,
                    ty.name()
                )))
            }
        };
    }
    needs.add(def.id);
    Ok(FieldSel {
        id: def.id,
        arg,
        transformers: f.transformers.clone(),
        multi,
        display: f.to_string(),
        ty,
    })
}

fn parse_num(lit: &str, field: &str) -> Result<i64, CompileError> {
    let t = lit.trim();
    let parsed = if let Some(hex) = t.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else {
        t.parse::<i64>().ok()
    };
    parsed.ok_or_else(|| {
        invalid(format!(
            "{field} is a number field: expected a number, found {lit:?}"
        ))
    })
}

fn parse_net(lit: &str, field: &str) -> Result<(IpAddr, u8), CompileError> {
    let (ip, bits) = match lit.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (lit, None),
    };
    let ip: IpAddr = ip.trim().parse().map_err(|_| {
        invalid(format!(
            "{field} is an IP field: expected an address or CIDR network, found {lit:?}"
        ))
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| invalid(format!("{field}: bad prefix length in {lit:?}")))?,
        None => max,
    };
    Ok((ip, bits))
}

fn in_net(ip: IpAddr, net: (IpAddr, u8)) -> bool {
    match (ip, net.0) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(net.1);
            bits == 0 || (u32::from(a) ^ u32::from(n)) >> (32 - bits) == 0
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(net.1);
            bits == 0 || (u128::from(a) ^ u128::from(n)) >> (128 - bits) == 0
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a4| in_net(IpAddr::V4(a4), net)),
        _ => false,
    }
}

impl Env<'_> {
    /// Expands list names among literals.
    fn expand(&mut self, lits: &[Lit]) -> Vec<String> {
        let mut out = Vec::new();
        for lit in lits {
            if lit.bare {
                if let Some(items) = self.lists.get(&lit.text) {
                    self.used_lists.insert(lit.text.clone());
                    out.extend(items.iter().cloned());
                    continue;
                }
            }
            out.push(lit.text.clone());
        }
        out
    }

    /// Compiles a parsed condition.
    pub fn compile(&mut self, ast: &Ast) -> Result<Expr, CompileError> {
        Ok(match ast {
            Ast::And(items) => Expr::And(
                items
                    .iter()
                    .map(|a| self.compile(a))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Or(items) => Expr::Or(
                items
                    .iter()
                    .map(|a| self.compile(a))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Not(inner) => Expr::Not(Box::new(self.compile(inner)?)),
            Ast::Ident(name) => {
                let Some(body) = self.macros.get(name) else {
                    if self.lists.contains_key(name) {
                        return Err(invalid(format!(
                            "{name:?} is a list, not a condition: use it as a value, like `proc.name in ({name})`"
                        )));
                    }
                    return Err(CompileError::UndefinedMacro(name.clone()));
                };
                if self.stack.contains(name) {
                    return Err(invalid(format!(
                        "macro {name:?} refers to itself ({} -> {name})",
                        self.stack.join(" -> ")
                    )));
                }
                self.used_macros.insert(name.clone());
                self.stack.push(name.clone());
                let body = self.compile(&body.clone());
                self.stack.pop();
                let body = body.map_err(|e| match e {
                    CompileError::Invalid(m) => invalid(format!("in macro {name:?}: {m}")),
                    other => other,
                })?;
                let next = self.slots.len() as u32;
                let slot = *self.slots.entry(name.clone()).or_insert(next);
                Expr::Macro(slot, Box::new(body))
            }
            Ast::Check { lhs, op, rhs } => self.check(lhs, *op, rhs)?,
        })
    }

    fn check(&mut self, lhs: &FieldRef, op: Op, rhs: &Rhs) -> Result<Expr, CompileError> {
        let sel = resolve_field(lhs, self.needs)?;
        self.fields.push(sel.clone());
        let name = sel.display.clone();
        let ty = sel.ty;
        let bad_op = || {
            invalid(format!(
                "operator `{op}` does not apply to {name} (a {} field)",
                ty.name()
            ))
        };
        let single = |rhs: &Rhs| -> Result<String, CompileError> {
            match rhs {
                Rhs::Lit(l) => Ok(l.text.clone()),
                Rhs::List(items) if items.len() == 1 => Ok(items[0].text.clone()),
                _ => Err(invalid(format!("`{op}` on {name} expects one value"))),
            }
        };
        if let Rhs::Field(other) = rhs {
            let other = resolve_field(other, self.needs)?;
            self.fields.push(other.clone());
            let compatible = other.ty == ty
                || matches!((ty, other.ty), (FieldType::Dyn, _) | (_, FieldType::Dyn));
            if !compatible {
                return Err(invalid(format!(
                    "{name} is a {} field but val({}) is a {} field",
                    ty.name(),
                    other.display,
                    other.ty.name()
                )));
            }
            if !matches!(
                op,
                Op::Eq
                    | Op::Ne
                    | Op::Lt
                    | Op::Le
                    | Op::Gt
                    | Op::Ge
                    | Op::Contains
                    | Op::StartsWith
                    | Op::EndsWith
                    | Op::IContains
            ) {
                return Err(invalid(format!("`{op}` cannot compare with val()")));
            }
            return Ok(Expr::Check(Box::new(Check {
                lhs: sel,
                op,
                rhs: CRhs::Field(Box::new(other)),
            })));
        }
        let list = |env: &mut Self| -> Vec<String> {
            match rhs {
                Rhs::List(items) => env.expand(items),
                Rhs::Lit(l) => env.expand(std::slice::from_ref(l)),
                _ => Vec::new(),
            }
        };
        let crhs = match (ty, op) {
            (_, Op::Exists) => CRhs::None,
            (
                FieldType::Str | FieldType::Dyn,
                Op::Eq
                | Op::Ne
                | Op::Contains
                | Op::BContains
                | Op::StartsWith
                | Op::BStartsWith
                | Op::EndsWith,
            ) => {
                let v = single(rhs)?;
                if sel.id == FieldId::EvtType {
                    self.check_syscall(&v)?;
                }
                CRhs::Str(v.into())
            }
            (FieldType::Dyn, Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
                CRhs::Num(parse_num(&single(rhs)?, &name)?)
            }
            (FieldType::Str | FieldType::Dyn, Op::IContains) => {
                CRhs::Str(single(rhs)?.to_lowercase().into())
            }
            (FieldType::Str | FieldType::Dyn, Op::Glob | Op::IGlob) => {
                let pattern = single(rhs)?;
                let glob = globset::GlobBuilder::new(&pattern)
                    .literal_separator(false)
                    .case_insensitive(op == Op::IGlob)
                    .backslash_escape(true)
                    .build()
                    .map_err(|e| invalid(format!("bad glob {pattern:?} for {name}: {e}")))?;
                CRhs::Glob(glob.compile_matcher())
            }
            (FieldType::Str | FieldType::Dyn, Op::Regex) => {
                let pattern = single(rhs)?;
                let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| invalid(format!("bad regex {pattern:?} for {name}: {e}")))?;
                CRhs::Regex(re)
            }
            (FieldType::Str | FieldType::Dyn, Op::In | Op::Intersects) => {
                let items = list(self);
                if sel.id == FieldId::EvtType {
                    for item in &items {
                        self.check_syscall(item)?;
                    }
                }
                CRhs::StrSet(items.into_iter().map(String::into_boxed_str).collect())
            }
            (FieldType::Str | FieldType::Dyn, Op::PMatch) => CRhs::Prefixes(
                list(self)
                    .into_iter()
                    .map(|p| p.trim_end_matches('/').to_string().into_boxed_str())
                    .collect(),
            ),
            (FieldType::Num, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
                CRhs::Num(parse_num(&single(rhs)?, &name)?)
            }
            (FieldType::Num, Op::In | Op::Intersects) => CRhs::NumSet(
                list(self)
                    .iter()
                    .map(|v| parse_num(v, &name))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            ),
            (FieldType::Bool, Op::Eq | Op::Ne) => {
                let v = single(rhs)?;
                CRhs::Bool(match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(invalid(format!(
                            "{name} is a bool field: expected true or false, found {v:?}"
                        )))
                    }
                })
            }
            (FieldType::Ip, Op::Eq | Op::Ne) => {
                let v = single(rhs)?;
                let (ip, bits) = parse_net(&v, &name)?;
                if bits == if ip.is_ipv4() { 32 } else { 128 } {
                    CRhs::Ip(ip)
                } else {
                    CRhs::Nets(vec![(ip, bits)].into())
                }
            }
            (FieldType::Ip, Op::In | Op::Intersects) => CRhs::Nets(
                list(self)
                    .iter()
                    .map(|v| parse_net(v, &name))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            ),
            _ => return Err(bad_op()),
        };
        Ok(Expr::Check(Box::new(Check {
            lhs: sel,
            op,
            rhs: crhs,
        })))
    }

    fn check_syscall(&self, name: &str) -> Result<(), CompileError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(invalid(format!(
                "evt.type expects a syscall name, found {name:?}"
            )));
        }
        Ok(())
    }
}

/// The kinds an expression can be true for (from its `evt.type` checks).
pub fn kinds(expr: &Expr) -> KindSet {
    match expr {
        Expr::Const(false) => KindSet::NONE,
        Expr::Const(true) | Expr::Not(_) => KindSet::ALL,
        Expr::And(items) => items.iter().fold(KindSet::ALL, |acc, e| acc.and(kinds(e))),
        Expr::Or(items) => items.iter().fold(KindSet::NONE, |acc, e| acc.or(kinds(e))),
        Expr::Macro(_, inner) => kinds(inner),
        Expr::Check(c) if c.lhs.id == FieldId::EvtType && c.lhs.transformers.is_empty() => {
            let mut set = KindSet::NONE;
            match (&c.op, &c.rhs) {
                (Op::Eq, CRhs::Str(s)) => {
                    if let Some(k) = kind_of(s) {
                        set.insert(k);
                    }
                    set
                }
                (Op::In | Op::Intersects, CRhs::StrSet(items)) => {
                    for s in items.iter() {
                        if let Some(k) = kind_of(s) {
                            set.insert(k);
                        }
                    }
                    set
                }
                _ => KindSet::ALL,
            }
        }
        Expr::Check(_) => KindSet::ALL,
    }
}

/// Path prefixes outside which the expression cannot hold for a read-only open:
/// `None` when it does not constrain them.
pub fn read_prefixes(expr: &Expr) -> Option<Vec<String>> {
    if !kinds(expr).contains(EventKind::Open) {
        return Some(Vec::new());
    }
    match expr {
        Expr::Const(false) => Some(Vec::new()),
        Expr::Const(true) | Expr::Not(_) => None,
        Expr::Macro(_, inner) => read_prefixes(inner),
        Expr::And(items) => items
            .iter()
            .filter_map(read_prefixes)
            .min_by_key(|v| v.len()),
        Expr::Or(items) => {
            let mut out = Vec::new();
            for item in items.iter() {
                out.extend(read_prefixes(item)?);
            }
            Some(out)
        }
        Expr::Check(c) => {
            if !c.lhs.transformers.is_empty() {
                return None;
            }
            let id = c.lhs.id;
            let is_path = matches!(id, FieldId::FdName | FieldId::FsPathName)
                || matches!(
                    c.lhs.arg,
                    FieldArg::Key(fields::ArgKey::Name | fields::ArgKey::Path)
                ) && id == FieldId::EvtArg;
            let abs = |s: &str| s.starts_with('/');
            match (id, c.op, &c.rhs) {
                (FieldId::EvtIsOpenWrite, Op::Eq, CRhs::Bool(true))
                | (FieldId::EvtIsOpenRead, Op::Eq, CRhs::Bool(false)) => Some(Vec::new()),
                (_, Op::Eq | Op::StartsWith, CRhs::Str(s)) if is_path && abs(s) => {
                    Some(vec![s.to_string()])
                }
                (_, Op::In | Op::PMatch, CRhs::StrSet(set))
                    if is_path && set.iter().all(|s| abs(s)) =>
                {
                    Some(set.iter().map(|s| s.to_string()).collect())
                }
                (_, Op::PMatch, CRhs::Prefixes(set)) if is_path && set.iter().all(|s| abs(s)) => {
                    Some(set.iter().map(|s| s.to_string()).collect())
                }
                (_, Op::Glob, CRhs::Glob(g)) if is_path => {
                    let pat = g.glob().glob();
                    let lit: String = pat
                        .chars()
                        .take_while(|c| !matches!(c, '*' | '?' | '[' | '{' | '\\'))
                        .collect();
                    (abs(&lit) && lit.len() > 1).then(|| vec![lit])
                }
                (FieldId::FdDirectory, Op::Eq, CRhs::Str(s)) if abs(s) => {
                    Some(vec![format!("{}/", s.trim_end_matches('/'))])
                }
                (FieldId::FdDirectory, Op::In | Op::PMatch, CRhs::StrSet(set))
                    if set.iter().all(|s| abs(s)) =>
                {
                    Some(
                        set.iter()
                            .map(|s| format!("{}/", s.trim_end_matches('/')))
                            .collect(),
                    )
                }
                (FieldId::FdDirectory, Op::PMatch, CRhs::Prefixes(set))
                    if set.iter().all(|s| abs(s)) =>
                {
                    Some(set.iter().map(|s| format!("{s}/")).collect())
                }
                _ => None,
            }
        }
    }
}

/// Fields that rule evaluation reads, with their display names.
pub fn collect_fields(expr: &Expr, out: &mut Vec<FieldSel>) {
    match expr {
        Expr::Const(_) => {}
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| collect_fields(e, out)),
        Expr::Not(inner) | Expr::Macro(_, inner) => collect_fields(inner, out),
        Expr::Check(c) => {
            if !out.iter().any(|f| f.display == c.lhs.display) {
                out.push(c.lhs.clone());
            }
            if let CRhs::Field(f) = &c.rhs {
                if !out.iter().any(|x| x.display == f.display) {
                    out.push((**f).clone());
                }
            }
        }
    }
}

/// Writes a number into a stack buffer (for text operators on numbers).
fn fmt_num(n: i64, buf: &mut [u8; 24]) -> &str {
    let mut i = buf.len();
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    if neg && i > 0 {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
    if n.is_empty() {
        return true;
    }
    if n.len() > h.len() {
        return false;
    }
    if !hay.is_ascii() || !needle_lower.is_ascii() {
        return hay.to_lowercase().contains(needle_lower);
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn pmatch(value: &str, prefixes: &[Box<str>]) -> bool {
    prefixes.iter().any(|p| {
        value.starts_with(&**p)
            && (value.len() == p.len()
                || value.as_bytes().get(p.len()) == Some(&b'/')
                || p.is_empty())
    })
}

/// Applies transformers into `out`; returns the length for `len`.
fn transform(v: Val<'_>, ts: &[Transformer], out: &mut String) -> Option<Result<(), i64>> {
    let mut buf = [0u8; 24];
    let s = match v {
        Val::Str(s) => s,
        Val::Num(n) => fmt_num(n, &mut buf),
        _ => return None,
    };
    out.clear();
    out.push_str(s);
    for t in ts.iter().rev() {
        match t {
            Transformer::ToLower => out.make_ascii_lowercase(),
            Transformer::ToUpper => out.make_ascii_uppercase(),
            Transformer::Basename => {
                let start = out.rfind('/').map_or(0, |i| i + 1);
                out.drain(..start);
            }
            Transformer::Len => return Some(Err(out.chars().count() as i64)),
            Transformer::Unsupported => return None,
        }
    }
    Some(Ok(()))
}

impl Expr {
    /// Evaluates against one prepared event.
    pub fn eval(&self, ev: &Event, ctx: &Ctx, st: &mut EvalState) -> bool {
        match self {
            Expr::Const(b) => *b,
            Expr::And(items) => items.iter().all(|e| e.eval(ev, ctx, st)),
            Expr::Or(items) => items.iter().any(|e| e.eval(ev, ctx, st)),
            Expr::Not(inner) => !inner.eval(ev, ctx, st),
            Expr::Macro(slot, inner) => {
                let slot = *slot as usize;
                if let Some((g, v)) = st.cache.get(slot) {
                    if *g == st.generation {
                        return *v;
                    }
                }
                let v = inner.eval(ev, ctx, st);
                let generation = st.generation;
                if let Some(entry) = st.cache.get_mut(slot) {
                    *entry = (generation, v);
                }
                v
            }
            Expr::Check(c) => c.eval(ev, ctx, st),
        }
    }
}

impl Check {
    fn eval(&self, ev: &Event, ctx: &Ctx, st: &mut EvalState) -> bool {
        let mut i = 0;
        loop {
            let v = fields::extract(self.lhs.id, &self.lhs.arg, i, ev, ctx);
            if !v.present() {
                return false;
            }
            if self.op == Op::Exists {
                return true;
            }
            let hit = if self.lhs.transformers.is_empty() {
                self.compare(v, ev, ctx, st)
            } else {
                let mut scratch = std::mem::take(&mut st.scratch);
                let hit = match transform(v, &self.lhs.transformers, &mut scratch) {
                    None => false,
                    Some(Ok(())) => self.compare(Val::Str(&scratch), ev, ctx, st),
                    Some(Err(n)) => self.compare(Val::Num(n), ev, ctx, st),
                };
                st.scratch = scratch;
                hit
            };
            if hit {
                return true;
            }
            if !self.lhs.multi {
                return false;
            }
            i += 1;
        }
    }

    fn compare(&self, v: Val<'_>, ev: &Event, ctx: &Ctx, st: &mut EvalState) -> bool {
        let mut buf = [0u8; 24];
        match (&self.rhs, v) {
            (CRhs::Field(sel), v) => {
                let other = fields::extract(sel.id, &sel.arg, 0, ev, ctx);
                let mut scratch = std::mem::take(&mut st.scratch2);
                let other = if sel.transformers.is_empty() {
                    Some(other)
                } else {
                    match transform(other, &sel.transformers, &mut scratch) {
                        None => None,
                        Some(Ok(())) => Some(Val::Str(scratch.as_str())),
                        Some(Err(n)) => Some(Val::Num(n)),
                    }
                };
                let hit = match other {
                    Some(other) => compare_vals(self.op, v, other),
                    None => false,
                };
                st.scratch2 = scratch;
                hit
            }
            (CRhs::None, _) => true,
            (rhs, Val::Num(n)) if !matches!(rhs, CRhs::Num(_) | CRhs::NumSet(_)) => {
                self.compare_str(fmt_num(n, &mut buf))
            }
            (CRhs::Num(r), Val::Num(n)) => cmp_ord(self.op, n.cmp(r)),
            (CRhs::Num(r), Val::Str(s)) => match s.parse::<i64>() {
                Ok(n) => cmp_ord(self.op, n.cmp(r)),
                Err(_) => false,
            },
            (CRhs::NumSet(set), Val::Num(n)) => set.contains(&n),
            (CRhs::Bool(b), Val::Bool(x)) => match self.op {
                Op::Ne => x != *b,
                _ => x == *b,
            },
            (CRhs::Ip(ip), Val::Ip(x)) => match self.op {
                Op::Ne => x != *ip,
                _ => {
                    x == *ip
                        || matches!(x, IpAddr::V6(a) if a.to_ipv4_mapped().map(IpAddr::V4) == Some(*ip))
                }
            },
            (CRhs::Nets(nets), Val::Ip(x)) => {
                let hit = nets.iter().any(|n| in_net(x, *n));
                if self.op == Op::Ne {
                    !hit
                } else {
                    hit
                }
            }
            (_, Val::Str(s)) => self.compare_str(s),
            (_, Val::Bool(b)) => self.compare_str(if b { "true" } else { "false" }),
            _ => false,
        }
    }

    fn compare_str(&self, s: &str) -> bool {
        match (&self.rhs, self.op) {
            (CRhs::Str(r), Op::Eq) => s == &**r,
            (CRhs::Str(r), Op::Ne) => s != &**r,
            (CRhs::Str(r), Op::Contains | Op::BContains) => s.contains(&**r),
            (CRhs::Str(r), Op::IContains) => contains_ci(s, r),
            (CRhs::Str(r), Op::StartsWith | Op::BStartsWith) => s.starts_with(&**r),
            (CRhs::Str(r), Op::EndsWith) => s.ends_with(&**r),
            (CRhs::StrSet(set), _) => set.contains(s),
            (CRhs::Prefixes(p), _) => pmatch(s, p),
            (CRhs::Glob(g), _) => g.is_match(s),
            (CRhs::Regex(re), _) => re.is_match(s),
            (CRhs::Num(r), _) => s.parse::<i64>().is_ok_and(|n| cmp_ord(self.op, n.cmp(r))),
            _ => false,
        }
    }
}

fn cmp_ord(op: Op, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        _ => false,
    }
}

fn compare_vals(op: Op, a: Val<'_>, b: Val<'_>) -> bool {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => cmp_ord(op, x.cmp(&y)),
        (Val::Str(x), Val::Str(y)) => match op {
            Op::Eq => x == y,
            Op::Ne => x != y,
            Op::Contains => x.contains(y),
            Op::IContains => contains_ci(x, &y.to_ascii_lowercase()),
            Op::StartsWith => x.starts_with(y),
            Op::EndsWith => x.ends_with(y),
            _ => cmp_ord(op, x.cmp(y)),
        },
        (Val::Ip(x), Val::Ip(y)) => cmp_ord(op, x.cmp(&y)),
        (Val::Bool(x), Val::Bool(y)) => cmp_ord(op, x.cmp(&y)),
        _ => false,
    }
}

/// Whether a kind is one the expression's rule is indexed under (for docs/tests).
pub fn applies(expr: &Expr, kind: EventKind) -> bool {
    kinds(expr).contains(kind)
}

/// Absolute path literals an expression compares path fields with (to decide which
/// default ignored prefixes, like `/proc/`, a ruleset needs lifted).
pub fn path_literals(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Const(_) => {}
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| path_literals(e, out)),
        Expr::Not(_) => {}
        Expr::Macro(_, inner) => path_literals(inner, out),
        Expr::Check(c) => {
            let is_path = matches!(
                c.lhs.id,
                FieldId::FdName
                    | FieldId::FsPathName
                    | FieldId::FdDirectory
                    | FieldId::FsPathTarget
            ) || c.lhs.id == FieldId::EvtArg;
            if !is_path {
                return;
            }
            match &c.rhs {
                CRhs::Str(s) if s.starts_with('/') => out.push(s.to_string()),
                CRhs::StrSet(set) => out.extend(
                    set.iter()
                        .filter(|s| s.starts_with('/'))
                        .map(|s| s.to_string()),
                ),
                CRhs::Prefixes(set) => out.extend(
                    set.iter()
                        .filter(|s| s.starts_with('/'))
                        .map(|s| s.to_string()),
                ),
                CRhs::Glob(g) => out.push(g.glob().glob().to_string()),
                _ => {}
            }
        }
    }
}

/// Process names an expression requires (`proc.name = x` / `proc.name in (...)` as a
/// conjunct): the rule can only hold for events of those processes. `None` when it
/// does not constrain the name.
pub fn required_names(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Const(false) => Some(Vec::new()),
        Expr::Const(true) | Expr::Not(_) => None,
        Expr::Macro(_, inner) => required_names(inner),
        Expr::And(items) => items
            .iter()
            .filter_map(required_names)
            .min_by_key(|v| v.len()),
        Expr::Or(items) => {
            let mut out = Vec::new();
            for item in items.iter() {
                out.extend(required_names(item)?);
            }
            Some(out)
        }
        Expr::Check(c) if c.lhs.id == FieldId::ProcName && c.lhs.transformers.is_empty() => {
            match (c.op, &c.rhs) {
                (Op::Eq, CRhs::Str(s)) => Some(vec![s.to_string()]),
                (Op::In, CRhs::StrSet(set)) => Some(set.iter().map(|s| s.to_string()).collect()),
                _ => None,
            }
        }
        Expr::Check(_) => None,
    }
}
