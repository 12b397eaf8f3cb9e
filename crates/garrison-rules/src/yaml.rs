//! A YAML tree that keeps the line of every node, built from `yaml-rust2`'s event
//! parser, so that loader errors can name the line a rule or field starts on.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML node with its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line of the node's start.
    pub line: usize,
    /// The node's value.
    pub value: Value,
}

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar, with whether it was quoted (a quoted `true` is a string).
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a plain `null`/`~`/empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s, false) if s.is_empty() || s == "~" || s == "null")
    }

    /// A short name of the node's shape, for messages.
    pub fn shape(&self) -> &'static str {
        match &self.value {
            Value::Scalar(..) => "a scalar",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// The parser's message.
    pub message: String,
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<(Node, Option<Node>)>,
    anchors: Vec<(usize, Node)>,
    anchor_ids: Vec<usize>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending_key)) => match &mut parent.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                Value::Scalar(..) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                let node = Node {
                    line,
                    value: Value::Scalar(text, quoted),
                };
                if anchor > 0 {
                    self.anchors.push((anchor, node.clone()));
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) => {
                self.anchor_ids.push(anchor);
                self.stack.push((
                    Node {
                        line,
                        value: Value::Seq(Vec::new()),
                    },
                    None,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.anchor_ids.push(anchor);
                self.stack.push((
                    Node {
                        line,
                        value: Value::Map(Vec::new()),
                    },
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    let anchor = self.anchor_ids.pop().unwrap_or(0);
                    if anchor > 0 {
                        self.anchors.push((anchor, node.clone()));
                    }
                    self.push_value(node);
                }
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or(Node {
                        line,
                        value: Value::Scalar(String::new(), false),
                    });
                self.push_value(node);
            }
            _ => {}
        }
    }
}

/// Parses every document of a YAML text.
///
/// libyaml (what Falco reads rules with) accepts a flow sequence's closing `]` at
/// the indentation of its key, which the YAML spec and `yaml-rust2` refuse; when the
/// first parse fails on indentation, lone closing brackets are indented and the text
/// parsed again, so that Falco's own files load. Line numbers are unchanged.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    match parse_strict(text) {
        Err(e) if e.message.contains("indentation") => {
            let mut fixed = String::with_capacity(text.len() + 64);
            for line in text.split_inclusive('\n') {
                let t = line.trim();
                if t == "]" || t == "}" || t == "]," || t == "}," {
                    fixed.push_str("    ");
                }
                fixed.push_str(line);
            }
            parse_strict(&fixed).map_err(|_| e)
        }
        other => other,
    }
}

fn parse_strict(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        line: e.marker().line(),
        message: e.info().to_string(),
    })?;
    Ok(builder.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_kept_and_quotes_noted() {
        let docs = parse("- rule: a\n  enabled: 'true'\n- list: b\n  items: [x, y]\n").unwrap();
        assert_eq!(docs.len(), 1);
        let Value::Seq(items) = &docs[0].value else {
            panic!("not a seq")
        };
        assert_eq!(items[0].line, 1);
        assert_eq!(items[1].line, 3);
        let Value::Map(entries) = &items[0].value else {
            panic!("not a map")
        };
        assert_eq!(entries[1].1.value, Value::Scalar("true".into(), true));
        assert_eq!(entries[1].0.line, 2);
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = parse("- rule: a\n  desc: [unclosed\n- x: y\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
