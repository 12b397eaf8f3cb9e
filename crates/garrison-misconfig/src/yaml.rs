//! A YAML (and JSON) loader that keeps the source position of every node.
//!
//! Built on the event parser of `yaml-rust2`; this module turns events into a
//! small tree of [`Node`]s, each with the line and column it starts at. It reads
//! multi-document streams, resolves plain scalars with the YAML 1.2 core schema,
//! applies merge keys (`<<`) as Kubernetes' YAML reader does, and refuses
//! inputs that would blow up: a size limit before parsing, a node limit that
//! counts every alias expansion (so "billion laughs" alias bombs stop early
//! with a clear error), and a nesting-depth limit.
//!
//! A syntax error ends the stream (the parser cannot resynchronise), but the
//! documents read before it are kept: [`Loaded`] carries both.

use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            column: u32::try_from(m.col()).unwrap_or(u32::MAX).saturating_add(1),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The value of a node. Mappings keep their source order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// One node of a document, with where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under a string key of a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, whatever its resolved type (`80` → `"80"`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The items of a sequence; empty for anything else.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries of a mapping; empty for anything else.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The node as JSON (positions dropped; non-string keys become text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The node count of this subtree (what an alias to it expands into).
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| k.count() + v.count()).sum(),
            _ => 0,
        }
    }
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// 0-based index in the stream (the first document is 0).
    pub index: usize,
    pub root: Node,
}

/// Bounds that keep a hostile file from using unbounded memory or time.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Most nodes one document may hold, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_nodes: 1_000_000,
            max_depth: 128,
        }
    }
}

/// Why (part of) a YAML stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("{file}: {size} bytes is over the {limit}-byte limit for one file; split it or raise the limit")]
    TooLarge {
        file: String,
        size: usize,
        limit: usize,
    },
    #[error("{file}: document {document}, line {line}, column {column}: invalid YAML: {message}")]
    Syntax {
        file: String,
        /// 1-based, as shown to users.
        document: usize,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("{file}: document {document}, line {line}: expands to more than {limit} nodes (aliases expanding aliases: an alias bomb?); the document was not checked")]
    AliasExpansion {
        file: String,
        document: usize,
        line: u32,
        limit: usize,
    },
    #[error("{file}: document {document}, line {line}: nested deeper than {limit} levels; the document was not checked")]
    TooDeep {
        file: String,
        document: usize,
        line: u32,
        limit: usize,
    },
}

impl YamlError {
    /// The 1-based document the error is in, if any.
    pub fn document(&self) -> Option<usize> {
        match self {
            YamlError::TooLarge { .. } => None,
            YamlError::Syntax { document, .. }
            | YamlError::AliasExpansion { document, .. }
            | YamlError::TooDeep { document, .. } => Some(*document),
        }
    }

    /// The line the error is at, if any.
    pub fn line(&self) -> Option<u32> {
        match self {
            YamlError::TooLarge { .. } => None,
            YamlError::Syntax { line, .. }
            | YamlError::AliasExpansion { line, .. }
            | YamlError::TooDeep { line, .. } => Some(*line),
        }
    }
}

/// The documents read, and the error that ended the stream early, if any.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub documents: Vec<Document>,
    pub error: Option<YamlError>,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
        size: Size,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        size: Size,
    },
}

/// Node count and nesting depth of a finished subtree, kept alongside so that
/// limits never need a recursive walk.
#[derive(Clone, Copy)]
struct Size {
    count: usize,
    depth: usize,
}

impl Size {
    const LEAF: Size = Size { count: 1, depth: 1 };
    fn add_child(&mut self, c: Size) {
        self.count = self.count.saturating_add(c.count);
        self.depth = self.depth.max(c.depth + 1);
    }
}

/// Reads every document of `text`; `file` names the input in errors.
pub fn load(file: &str, text: &str, limits: &Limits) -> Loaded {
    let mut out = Loaded::default();
    if text.len() > limits.max_bytes {
        out.error = Some(YamlError::TooLarge {
            file: file.to_string(),
            size: text.len(),
            limit: limits.max_bytes,
        });
        return out;
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, Size)> = HashMap::new();
    let mut nodes = 0usize;
    let mut doc_index = 0usize;
    let mut root: Option<Node> = None;
    loop {
        let (event, marker) = match parser.next_token() {
            Ok(e) => e,
            Err(e) => {
                let pos = Pos::from_marker(e.marker());
                out.error = Some(YamlError::Syntax {
                    file: file.to_string(),
                    document: doc_index + 1,
                    line: pos.line,
                    column: pos.column,
                    message: e.info().to_string(),
                });
                return out;
            }
        };
        let pos = Pos::from_marker(&marker);
        let doc_no = doc_index + 1;
        let done: Option<(Node, usize, Size)> = match event {
            Event::StreamEnd => return out,
            Event::Nothing | Event::StreamStart => None,
            Event::DocumentStart => {
                anchors.clear();
                nodes = 0;
                root = None;
                None
            }
            Event::DocumentEnd => {
                out.documents.push(Document {
                    index: doc_index,
                    root: root.take().unwrap_or(Node {
                        value: Value::Null,
                        pos,
                    }),
                });
                doc_index += 1;
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((n, size)) => {
                    nodes = nodes.saturating_add(size.count);
                    if nodes > limits.max_nodes {
                        out.error = Some(YamlError::AliasExpansion {
                            file: file.to_string(),
                            document: doc_no,
                            line: pos.line,
                            limit: limits.max_nodes,
                        });
                        return out;
                    }
                    if stack.len() + size.depth > limits.max_depth {
                        out.error = Some(YamlError::TooDeep {
                            file: file.to_string(),
                            document: doc_no,
                            line: pos.line,
                            limit: limits.max_depth,
                        });
                        return out;
                    }
                    Some((n.clone(), 0, *size))
                }
                None => {
                    out.error = Some(YamlError::Syntax {
                        file: file.to_string(),
                        document: doc_no,
                        line: pos.line,
                        column: pos.column,
                        message: "alias to an unknown anchor".into(),
                    });
                    return out;
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                nodes += 1;
                let value = resolve_scalar(text, style, tag.as_ref().map(|t| t.suffix.as_str()));
                Some((Node { value, pos }, anchor, Size::LEAF))
            }
            Event::SequenceStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                    size: Size::LEAF,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                    size: Size::LEAF,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    pos,
                    anchor,
                    items,
                    size,
                }) => Some((
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                    size,
                )),
                Some(Frame::Map {
                    pos,
                    anchor,
                    entries,
                    size,
                    ..
                }) => Some((
                    Node {
                        value: Value::Map(apply_merge_keys(entries)),
                        pos,
                    },
                    anchor,
                    size,
                )),
                None => None,
            },
        };
        if nodes > limits.max_nodes {
            out.error = Some(YamlError::AliasExpansion {
                file: file.to_string(),
                document: doc_no,
                line: pos.line,
                limit: limits.max_nodes,
            });
            return out;
        }
        if stack.len() > limits.max_depth {
            out.error = Some(YamlError::TooDeep {
                file: file.to_string(),
                document: doc_no,
                line: pos.line,
                limit: limits.max_depth,
            });
            return out;
        }
        if let Some((node, anchor, node_size)) = done {
            if anchor > 0 {
                anchors.insert(anchor, (node.clone(), node_size));
            }
            match stack.last_mut() {
                None => root = Some(node),
                Some(Frame::Seq { items, size, .. }) => {
                    size.add_child(node_size);
                    items.push(node)
                }
                Some(Frame::Map {
                    entries, key, size, ..
                }) => match key.take() {
                    None => {
                        size.add_child(node_size);
                        *key = Some(node)
                    }
                    Some(k) => {
                        size.add_child(node_size);
                        entries.push((k, node))
                    }
                },
            }
        }
    }
}

/// `<<: *base` (or a list of them): entries of the merged maps that the map
/// does not set itself.
fn apply_merge_keys(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    if !entries.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return entries;
    }
    let mut own: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in entries {
        if k.as_str() == Some("<<") {
            let sources: Vec<Node> = match v.value {
                Value::Map(_) => vec![v],
                Value::Seq(items) => items,
                _ => Vec::new(),
            };
            for s in sources {
                if let Value::Map(es) = s.value {
                    merged.extend(es);
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for (k, v) in merged {
        let dup = own.iter().any(|(o, _)| o.value == k.value);
        if !dup {
            own.push((k, v));
        }
    }
    own
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::Str(text),
        Some("int") => {
            if let Some(i) = parse_int(&text) {
                return Value::Int(i);
            }
        }
        Some("bool") => match text.as_str() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        },
        Some("null") => return Value::Null,
        _ => {}
    }
    if style != TScalarStyle::Plain {
        return Value::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(&text) {
        return Value::Int(i);
    }
    if looks_like_float(&text) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text)
}

fn parse_int(t: &str) -> Option<i64> {
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn looks_like_float(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut digits = false;
    for b in t.bytes() {
        match b {
            b'0'..=b'9' => digits = true,
            b'.' | b'e' | b'E' | b'-' | b'+' => {}
            _ => return false,
        }
    }
    digits && (t.contains('.') || t.contains(['e', 'E']))
}

/// Makes JSON text safe for the YAML scanner without moving anything: JSON
/// allows tabs only as whitespace between tokens (a tab inside a string must
/// be escaped), where YAML flow context reads a space the same way.
pub fn json_tabs_to_spaces(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\t') {
        std::borrow::Cow::Owned(text.replace('\t', " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let l = load("t.yaml", text, &Limits::default());
        assert!(l.error.is_none(), "{:?}", l.error);
        l.documents.into_iter().next().unwrap().root
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let n =
            one("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: x\n");
        let img = n.path(&["spec", "containers"]).unwrap().items()[0]
            .get("image")
            .unwrap();
        assert_eq!(img.as_str(), Some("x"));
        assert_eq!(
            img.pos,
            Pos {
                line: 6,
                column: 14
            }
        );
        let (k, _) = n.entry("kind").unwrap();
        assert_eq!(k.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn scalars_resolve_with_the_core_schema() {
        let n = one("a: true\nb: 'true'\nc: 80\nd: \"80\"\ne: ~\nf: 1.5\ng: 0x10\nh: abc\n");
        assert_eq!(n.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(n.get("b").unwrap().as_str(), Some("true"));
        assert_eq!(n.get("c").unwrap().as_i64(), Some(80));
        assert_eq!(n.get("d").unwrap().as_str(), Some("80"));
        assert!(n.get("e").unwrap().is_null());
        assert_eq!(n.get("f").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("g").unwrap().as_i64(), Some(16));
        assert_eq!(n.get("h").unwrap().as_str(), Some("abc"));
    }

    #[test]
    fn multi_document_streams_keep_indexes_and_empty_documents() {
        let l = load("m.yaml", "a: 1\n---\n---\nb: 2\n", &Limits::default());
        assert!(l.error.is_none());
        assert_eq!(l.documents.len(), 3);
        assert!(l.documents[1].root.is_null());
        assert_eq!(l.documents[2].index, 2);
        assert_eq!(l.documents[2].root.get("b").unwrap().pos.line, 4);
    }

    #[test]
    fn syntax_error_keeps_earlier_documents_and_names_the_document() {
        let l = load("bad.yaml", "a: 1\n---\nb: [1, 2\n", &Limits::default());
        assert_eq!(l.documents.len(), 1);
        let e = l.error.unwrap();
        assert_eq!(e.document(), Some(2));
        assert!(e.to_string().starts_with("bad.yaml: document 2"), "{e}");
    }

    #[test]
    fn alias_bombs_stop_at_the_node_limit() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let l = load("bomb.yaml", &s, &Limits::default());
        let e = l.error.unwrap();
        assert!(
            matches!(e, YamlError::AliasExpansion { document: 1, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("bomb.yaml: document 1"));
    }

    #[test]
    fn size_and_depth_limits() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let l = load("big.yaml", "a: 12345678901\n", &limits);
        assert!(matches!(l.error, Some(YamlError::TooLarge { .. })));
        let deep: String = (0..200).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        let l = load("deep.yaml", &deep, &Limits::default());
        assert!(
            matches!(l.error, Some(YamlError::TooDeep { .. })),
            "{:?}",
            l.error
        );
        // Flow nesting past the scanner's own limit is a syntax error, not a crash.
        let flow = "[".repeat(300) + &"]".repeat(300);
        let l = load("flow.yaml", &flow, &Limits::default());
        assert!(l.error.is_some());
    }

    #[test]
    fn alias_chains_cannot_nest_past_the_depth_limit() {
        let mut s = String::from("a0: &a0 [x]\n");
        for i in 1..400 {
            s.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let l = load("chain.yaml", &s, &Limits::default());
        assert!(
            matches!(l.error, Some(YamlError::TooDeep { .. })),
            "{:?}",
            l.error
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let n = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = n.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().as_i64(), Some(1));
        assert_eq!(m.get("y").unwrap().as_i64(), Some(3));
    }

    #[test]
    fn json_with_tabs_reads_with_positions() {
        let text = "{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\"a\": [1, 2]}\n}\n";
        let l = load("p.json", &json_tabs_to_spaces(text), &Limits::default());
        assert!(l.error.is_none(), "{:?}", l.error);
        let r = &l.documents[0].root;
        assert_eq!(r.get("kind").unwrap().as_str(), Some("Pod"));
        assert_eq!(r.get("spec").unwrap().pos.line, 3);
        assert_eq!(r.to_json()["spec"]["a"][1], 2);
    }
}
