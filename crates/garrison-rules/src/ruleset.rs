//! A compiled ruleset: lists flattened, macros parsed, rules compiled once and
//! indexed by event kind, outputs parsed; evaluation of an event against it.

use crate::cond::{self, Ast, FieldRef, Lit, Op, Rhs};
use crate::expr::{self, CompileError, Env, EvalState, Expr, FieldSel};
use crate::fields::{self, Ctx, Needs, Val};
use crate::load::{ExcValue, LoadError, Loaded, Pos, RuleDef};
use crate::syscalls::KindSet;
use garrison_event::{Event, EventKind, Interest, MAX_PREFIXES, MAX_PREFIX_LEN};
use garrison_model::Severity;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How strictly to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Keep going past rules that do not compile (they are listed in
    /// [`RuleSet::skipped`]); otherwise any such rule fails the load.
    pub lenient: bool,
}

/// All errors of a failed load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error(s) loading rules:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct LoadErrors(pub Vec<LoadError>);

/// A rule that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Rule name.
    pub rule: String,
    /// Where it was defined.
    pub pos: Pos,
    /// Why.
    pub reason: String,
}

/// One piece of an output template.
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Field(FieldSel),
    ContainerInfo,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Falco priority as written, upper-cased.
    pub priority: String,
    /// Garrison severity.
    pub severity: Severity,
    /// Tags.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags (`T1059`, `T1059.004`).
    pub attack: Vec<String>,
    /// Enabled.
    pub enabled: bool,
    /// The kinds the rule can fire on.
    pub kinds: KindSet,
    /// Where it was defined.
    pub pos: Pos,
    /// Fields the condition reads, in order of first use.
    pub fields: Vec<FieldSel>,
    expr: Expr,
    output: Vec<Piece>,
    /// Read-only-open prefixes the rule needs (`None`: any path).
    read_prefixes: Option<Vec<String>>,
    /// Process names the rule requires (`None`: any).
    names: Option<Vec<String>>,
    /// Absolute paths the condition compares with.
    path_literals: Vec<String>,
    /// The derived strings the condition (exceptions included) reads.
    cond_needs: Needs,
}

/// A loaded, compiled ruleset.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Per kind: rules that do not require particular process names.
    by_kind: Vec<Vec<u32>>,
    /// Per kind: rules that require one of some process names, by name.
    by_kind_name: Vec<HashMap<Box<str>, Vec<u32>, std::hash::BuildHasherDefault<expr::Fnv>>>,
    macro_slots: usize,
    needs: Needs,
    /// Per kind: what the conditions of the rules evaluated for it read (so an
    /// event no rule reads a command line of does not get one built).
    needs_by_kind: Vec<Needs>,
    /// Rules not loaded (lenient loads), with reasons.
    pub skipped: Vec<Skipped>,
    /// Warnings: unused macros and lists, ignored keys, rules that never fire.
    pub warnings: Vec<String>,
    /// The files loaded, in order.
    pub files: Vec<PathBuf>,
    /// SHA-256 of the sources (names and texts, in load order), first 16 hex digits:
    /// the ruleset's version in the status and on reload.
    version: String,
}

fn sources_version(sources: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (name, text) in sources {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a tag is an ATT&CK technique id.
pub fn is_technique(tag: &str) -> bool {
    let b = tag.as_bytes();
    let main = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    main && (b.len() == 5
        || (b.len() == 9 && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit)))
}

/// Falco substitutes list items into the condition text, so an item written with
/// quotes inside (`'"10.0.0.0/8"'`) means the unquoted text.
fn unquote(item: &str) -> &str {
    let b = item.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &item[1..item.len() - 1]
    } else {
        item
    }
}

fn flatten_lists(loaded: &Loaded) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for list in &loaded.lists {
        let mut items = Vec::new();
        for item in list.items.iter().map(|i| unquote(i).to_string()) {
            let item = &item;
            match out.get(item) {
                Some(inner) => items.extend(inner.iter().cloned()),
                None => items.push(item.clone()),
            }
        }
        out.insert(list.name.clone(), items);
    }
    out
}

fn exception_ast(rule: &RuleDef) -> Result<Option<Ast>, String> {
    let mut alternatives = Vec::new();
    for e in &rule.exceptions {
        if e.values.is_empty() {
            continue;
        }
        if e.fields.is_empty() {
            return Err(format!("exception {:?} has values but no `fields`", e.name));
        }
        let field_ref = |name: &str| -> Result<FieldRef, String> {
            match cond::parse(&format!("{name} exists")) {
                Ok(Ast::Check { lhs, .. }) => Ok(lhs),
                _ => Err(format!("exception {:?}: {name:?} is not a field", e.name)),
            }
        };
        let op_of = |comp: &str| -> Result<Op, String> {
            match cond::parse(&format!("a.b {comp} x")) {
                Ok(Ast::Check { op, .. }) => Ok(op),
                _ => Err(format!(
                    "exception {:?}: unknown comparison {comp:?}",
                    e.name
                )),
            }
        };
        if e.single {
            let lhs = field_ref(&e.fields[0])?;
            let op = op_of(&e.comps[0])?;
            let items: Vec<Lit> = e
                .values
                .iter()
                .flatten()
                .flat_map(|v| match v {
                    ExcValue::One(s) => vec![Lit {
                        text: s.clone(),
                        bare: true,
                    }],
                    ExcValue::Many(m) => m
                        .iter()
                        .map(|s| Lit {
                            text: s.clone(),
                            bare: false,
                        })
                        .collect(),
                })
                .collect();
            let rhs = if op.takes_list() {
                Rhs::List(items)
            } else {
                return Err(format!(
                    "exception {:?}: a single field takes `in`, `pmatch` or `intersects`",
                    e.name
                ));
            };
            alternatives.push(Ast::Check { lhs, op, rhs });
            continue;
        }
        for tuple in &e.values {
            if tuple.len() != e.fields.len() {
                return Err(format!(
                    "exception {:?}: a value has {} items for {} fields",
                    e.name,
                    tuple.len(),
                    e.fields.len()
                ));
            }
            let mut parts = Vec::new();
            for ((field, comp), value) in e.fields.iter().zip(&e.comps).zip(tuple) {
                let lhs = field_ref(field)?;
                let op = op_of(comp)?;
                let rhs = match (value, op.takes_list()) {
                    (ExcValue::One(s), true) => Rhs::List(vec![Lit { text: s.clone(), bare: true }]),
                    (ExcValue::Many(m), true) => Rhs::List(m.iter().map(|s| Lit { text: s.clone(), bare: false }).collect()),
                    (ExcValue::One(s), false) => Rhs::Lit(Lit { text: s.clone(), bare: false }),
                    (ExcValue::Many(_), false) => {
                        return Err(format!("exception {:?}: a list value needs `in`, `pmatch` or `intersects` for {field}", e.name))
                    }
                };
                parts.push(Ast::Check { lhs, op, rhs });
            }
            alternatives.push(Ast::And(parts));
        }
    }
    Ok(match alternatives.len() {
        0 => None,
        _ => Some(Ast::Or(alternatives)),
    })
}

fn parse_output(text: &str, needs: &mut Needs) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(j) => (&inner[..j], j + 2),
                None => return Err("unclosed %( in output".into()),
            }
        } else {
            let mut end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .unwrap_or(after.len());
            if after[end..].starts_with('[') {
                if let Some(j) = after[end..].find(']') {
                    end += j + 1;
                }
            }
            (&after[..end], end)
        };
        let name = name.trim_end_matches('.');
        if name.is_empty() {
            lit.push('%');
            rest = after;
            continue;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut lit)));
        }
        if name == "container.info" {
            pieces.push(Piece::ContainerInfo);
        } else {
            let f = match cond::parse(&format!("{name} exists")) {
                Ok(Ast::Check { lhs, .. }) => lhs,
                _ => return Err(format!("bad output field %{name}")),
            };
            let sel = expr::resolve_field(&f, needs).map_err(|e| format!("output: {e}"))?;
            pieces.push(Piece::Field(sel));
        }
        rest = &after[consumed.min(after.len())..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Text(lit));
    }
    Ok(pieces)
}

/// Renders one value as Falco prints it (`<NA>` when missing).
pub fn render_val(v: Val<'_>, out: &mut String) {
    use std::fmt::Write as _;
    match v {
        Val::Str(s) => out.push_str(s),
        Val::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Val::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        Val::Missing => out.push_str("<NA>"),
    }
}

/// The value of a selected field (first value for multi-valued ones), rendered.
pub fn field_text(sel: &FieldSel, ev: &Event, ctx: &Ctx) -> Option<String> {
    let v = fields::extract(sel.id, &sel.arg, 0, ev, ctx);
    if !v.present() {
        return None;
    }
    let mut s = String::new();
    render_val(v, &mut s);
    Some(s)
}

impl RuleSet {
    /// Loads files in order (a directory means its `*.yaml`/`*.yml` files, recursively,
    /// sorted by path).
    pub fn load_paths(paths: &[PathBuf], opts: LoadOptions) -> Result<RuleSet, LoadErrors> {
        let mut files = Vec::new();
        for p in paths {
            collect_files(p, &mut files).map_err(|e| LoadErrors(vec![e]))?;
        }
        let mut sources = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).map_err(|e| {
                LoadErrors(vec![LoadError {
                    file: f.display().to_string(),
                    line: 0,
                    item: String::new(),
                    message: format!("cannot read the rules file: {e}"),
                }])
            })?;
            sources.push((f.display().to_string(), text));
        }
        let mut set = RuleSet::from_sources(&sources, opts)?;
        set.files = files;
        Ok(set)
    }

    /// Loads named texts in order.
    pub fn from_sources(
        sources: &[(String, String)],
        opts: LoadOptions,
    ) -> Result<RuleSet, LoadErrors> {
        let mut loaded = Loaded::default();
        for (name, text) in sources {
            loaded
                .add_file(name, text)
                .map_err(|e| LoadErrors(vec![e]))?;
        }
        let mut set = RuleSet::compile(&loaded, opts)?;
        set.version = sources_version(sources);
        Ok(set)
    }

    /// The ruleset's version: a hash of its sources (empty for a compiled
    /// [`Loaded`] without sources).
    pub fn version(&self) -> String {
        self.version.clone()
    }

    /// Compiles what was loaded.
    pub fn compile(loaded: &Loaded, opts: LoadOptions) -> Result<RuleSet, LoadErrors> {
        let mut errors = Vec::new();
        let lists = flatten_lists(loaded);
        let mut macros = HashMap::new();
        let mut macro_pos = HashMap::new();
        for m in &loaded.macros {
            match cond::parse(&m.condition) {
                Ok(ast) => {
                    macros.insert(m.name.clone(), ast);
                }
                Err(e) => errors.push(LoadError {
                    file: m.pos.file.clone(),
                    line: m.pos.line,
                    item: format!("macro {:?}", m.name),
                    message: format!("condition syntax error {e}"),
                }),
            }
            macro_pos.insert(m.name.clone(), m.pos.clone());
        }
        let mut set = RuleSet {
            by_kind: vec![Vec::new(); EventKind::ALL.len()],
            warnings: loaded.notes.clone(),
            ..RuleSet::default()
        };
        let mut slots = HashMap::new();
        let mut used_macros = HashSet::new();
        let mut used_lists = HashSet::new();
        for def in &loaded.rules {
            let item = format!("rule {:?}", def.name);
            let fail = |message: String| LoadError {
                file: def.pos.file.clone(),
                line: def.pos.line,
                item: item.clone(),
                message,
            };
            if def.source != "syscall" {
                set.skipped.push(Skipped {
                    rule: def.name.clone(),
                    pos: def.pos.clone(),
                    reason: format!(
                        "event source {:?} is not supported (only syscall)",
                        def.source
                    ),
                });
                continue;
            }
            let mut needs = set.needs;
            let mut cond_needs = Needs::default();
            let result = (|| -> Result<Rule, (bool, String)> {
                let ast = cond::parse(&def.condition)
                    .map_err(|e| (false, format!("condition syntax error {e}")))?;
                let exc = exception_ast(def).map_err(|e| (false, e))?;
                let ast = match exc {
                    Some(exc) => Ast::And(vec![ast, Ast::Not(Box::new(exc))]),
                    None => ast,
                };
                let mut env = Env {
                    macros: &macros,
                    lists: &lists,
                    slots: &mut slots,
                    used_macros: &mut used_macros,
                    used_lists: &mut used_lists,
                    needs: &mut cond_needs,
                    fields: Vec::new(),
                    stack: Vec::new(),
                };
                let expr = env.compile(&ast).map_err(|e| {
                    let unknown = matches!(e, CompileError::UnknownField(_));
                    (unknown, format!("condition: {e}"))
                })?;
                needs = needs.union(cond_needs);
                let output = parse_output(&def.output, &mut needs)
                    .map_err(|e| (e.contains("unknown field"), e))?;
                let mut fields = Vec::new();
                expr::collect_fields(&expr, &mut fields);
                let severity =
                    Severity::from_falco_priority(&def.priority).unwrap_or(Severity::Unknown);
                let kinds = expr::kinds(&expr);
                Ok(Rule {
                    name: def.name.clone(),
                    desc: def.desc.clone(),
                    priority: def.priority.to_ascii_uppercase(),
                    severity,
                    attack: def
                        .tags
                        .iter()
                        .filter(|t| is_technique(t))
                        .cloned()
                        .collect(),
                    tags: def.tags.clone(),
                    enabled: def.enabled,
                    kinds,
                    pos: def.pos.clone(),
                    fields,
                    read_prefixes: expr::read_prefixes(&expr),
                    names: expr::required_names(&expr),
                    path_literals: {
                        let mut v = Vec::new();
                        expr::path_literals(&expr, &mut v);
                        v
                    },
                    expr,
                    output,
                    cond_needs,
                })
            })();
            match result {
                Ok(rule) => {
                    if rule.kinds.is_empty() {
                        set.warnings.push(format!(
                            "{}:{}: rule {:?} never fires: no event type it names is reported by Garrison's sensors",
                            def.pos.file, def.pos.line, def.name
                        ));
                    }
                    set.needs = needs;
                    set.rules.push(rule);
                }
                Err((true, reason)) if def.skip_if_unknown_filter => set.skipped.push(Skipped {
                    rule: def.name.clone(),
                    pos: def.pos.clone(),
                    reason: format!("skip-if-unknown-filter: {reason}"),
                }),
                Err((_, reason)) if opts.lenient => set.skipped.push(Skipped {
                    rule: def.name.clone(),
                    pos: def.pos.clone(),
                    reason,
                }),
                Err((_, reason)) => errors.push(fail(reason)),
            }
        }
        if !errors.is_empty() {
            return Err(LoadErrors(errors));
        }
        // Macros and lists referenced only by other unused macros still count as used
        // when any rule reaches them (the compiler expands transitively).
        for m in &loaded.macros {
            if !used_macros.contains(&m.name) {
                set.warnings.push(format!(
                    "{}:{}: macro {:?} is not used by any rule",
                    m.pos.file, m.pos.line, m.name
                ));
            }
        }
        let list_refs: HashSet<&str> = loaded
            .lists
            .iter()
            .flat_map(|l| l.items.iter().map(String::as_str))
            .collect();
        for l in &loaded.lists {
            if !used_lists.contains(&l.name) && !list_refs.contains(l.name.as_str()) {
                set.warnings.push(format!(
                    "{}:{}: list {:?} is not used by any rule",
                    l.pos.file, l.pos.line, l.name
                ));
            }
        }
        set.macro_slots = slots.len();
        set.by_kind_name = vec![HashMap::default(); EventKind::ALL.len()];
        set.needs_by_kind = vec![Needs::default(); EventKind::ALL.len()];
        for (i, rule) in set.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            for kind in rule.kinds.kinds() {
                let k = kind_index(kind);
                if let Some(n) = set.needs_by_kind.get_mut(k) {
                    *n = n.union(rule.cond_needs);
                }
                match &rule.names {
                    Some(names) => {
                        if let Some(map) = set.by_kind_name.get_mut(k) {
                            for name in names {
                                let v = map.entry(name.as_str().into()).or_insert_with(Vec::new);
                                if !v.contains(&(i as u32)) {
                                    v.push(i as u32);
                                }
                            }
                        }
                    }
                    None => {
                        if let Some(v) = set.by_kind.get_mut(k) {
                            v.push(i as u32);
                        }
                    }
                }
            }
        }
        Ok(set)
    }

    /// Every compiled rule (enabled or not), in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by index.
    pub fn rule(&self, idx: usize) -> Option<&Rule> {
        self.rules.get(idx)
    }

    /// The derived strings evaluation needs (pass to [`Ctx::prepare`]).
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// What evaluating an event of `kind` needs (pass to [`Ctx::prepare`] before
    /// [`RuleSet::matches`]): only what the rules evaluated for that kind read.
    pub fn needs_for(&self, kind: EventKind) -> Needs {
        self.needs_by_kind
            .get(kind_index(kind))
            .copied()
            .unwrap_or(self.needs)
    }

    /// A fresh evaluation state for this ruleset.
    pub fn state(&self) -> EvalState {
        EvalState::new(self.macro_slots)
    }

    /// How many enabled rules are evaluated for every event of a kind (rules that
    /// require particular process names are evaluated only for those).
    pub fn rules_for(&self, kind: EventKind) -> usize {
        self.by_kind.get(kind_index(kind)).map_or(0, Vec::len)
    }

    /// Evaluates an event; pushes the indices of matching rules into `out`.
    /// `ctx` must have been prepared for `ev` with [`RuleSet::needs_for`] its kind
    /// (or [`RuleSet::needs`]). Does not
    /// allocate once `out` and the scratch buffers have grown.
    pub fn matches(&self, ev: &Event, ctx: &Ctx, st: &mut EvalState, out: &mut Vec<usize>) {
        let k = kind_index(ev.kind());
        let generic = self.by_kind.get(k).map_or(&[][..], Vec::as_slice);
        let named = self
            .by_kind_name
            .get(k)
            .and_then(|m| m.get(ev.process.comm.as_str()))
            .map_or(&[][..], Vec::as_slice);
        if generic.is_empty() && named.is_empty() {
            return;
        }
        st.next_event();
        let start = out.len();
        for &i in generic.iter().chain(named) {
            if let Some(rule) = self.rules.get(i as usize) {
                if rule.expr.eval(ev, ctx, st) {
                    out.push(i as usize);
                }
            }
        }
        if !named.is_empty() {
            out[start..].sort_unstable();
        }
    }

    /// Renders a rule's output for an event (ctx prepared with [`Needs::ALL`]).
    pub fn render_output(&self, rule: &Rule, ev: &Event, ctx: &Ctx) -> String {
        let mut out = String::new();
        for piece in &rule.output {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(sel) => {
                    render_val(fields::extract(sel.id, &sel.arg, 0, ev, ctx), &mut out)
                }
                Piece::ContainerInfo => match &ev.container {
                    Some(c) => {
                        out.push_str("container_id=");
                        out.push_str(c.id.get(..12).unwrap_or(&c.id));
                        out.push_str(" container_image=");
                        out.push_str(c.image.as_deref().unwrap_or("<NA>"));
                    }
                    None => out.push_str("container_id=host"),
                },
            }
        }
        out
    }

    /// Enabled rules whose conditions do not confine read-only opens to path
    /// prefixes (each one makes the interest ask for every read).
    pub fn unconstrained_readers(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.enabled && r.kinds.contains(EventKind::Open) && r.read_prefixes.is_none())
            .map(|r| r.name.as_str())
            .collect()
    }

    /// The interest the sensors should get: the kinds enabled rules use, and the
    /// read-only-open prefixes they need (`/` when some rule does not constrain them).
    pub fn interest(&self) -> Interest {
        let mut kinds = BTreeSet::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut any_path = false;
        for rule in self.rules.iter().filter(|r| r.enabled) {
            kinds.extend(rule.kinds.kinds());
            if rule.kinds.contains(EventKind::Open) {
                match &rule.read_prefixes {
                    Some(p) => prefixes.extend(p.iter().cloned()),
                    None => any_path = true,
                }
            }
        }
        let mut interest = Interest::kinds(kinds);
        interest.read_prefixes = if any_path {
            vec!["/".to_string()]
        } else {
            compact_prefixes(prefixes)
        };
        // A default ignored prefix (`/proc/`, `/sys/`) that covers a path some rule
        // watches is lifted, or that rule could never fire.
        let watched: Vec<&String> = self
            .rules
            .iter()
            .filter(|r| r.enabled)
            .flat_map(|r| r.path_literals.iter())
            .collect();
        interest
            .ignore_prefixes
            .retain(|ignored| !watched.iter().any(|p| p.starts_with(ignored.as_str())));
        interest
    }
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Sorts, drops prefixes covered by shorter ones, cuts over-long ones, and widens
/// to parent directories until the kernel map holds them.
fn compact_prefixes(mut prefixes: Vec<String>) -> Vec<String> {
    for p in prefixes.iter_mut() {
        if p.len() > MAX_PREFIX_LEN {
            let mut cut = MAX_PREFIX_LEN;
            while !p.is_char_boundary(cut) {
                cut -= 1;
            }
            p.truncate(cut);
        }
    }
    let mut depth = usize::MAX;
    loop {
        let mut v: Vec<String> = prefixes
            .iter()
            .map(|p| {
                if depth == usize::MAX {
                    return p.clone();
                }
                let mut out = String::new();
                for (i, comp) in p.split('/').enumerate().skip(1) {
                    if i > depth {
                        break;
                    }
                    out.push('/');
                    out.push_str(comp);
                }
                if out.len() < p.len() {
                    out.push('/');
                }
                out
            })
            .collect();
        v.sort();
        v.dedup();
        let mut kept: Vec<String> = Vec::new();
        for p in v {
            if !kept.iter().any(|k| p.starts_with(k.as_str())) {
                kept.push(p);
            }
        }
        if kept.len() <= MAX_PREFIXES {
            return kept;
        }
        depth = if depth == usize::MAX { 4 } else { depth - 1 };
        if depth == 0 {
            return vec!["/".to_string()];
        }
    }
}

/// The rules files `paths` name (directories: their `*.yaml`/`*.yml`, recursively,
/// sorted), skipping what cannot be read.
pub fn rule_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let _ = collect_files(p, &mut out);
    }
    out
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError {
        file: path.display().to_string(),
        line: 0,
        item: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| LoadError {
            file: path.display().to_string(),
            line: 0,
            item: String::new(),
            message: format!("cannot list the directory: {e}"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if e.is_dir() {
            if name != "tests" && !name.starts_with('.') {
                collect_files(&e, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(e);
        }
    }
    Ok(())
}
