//! Turns documents read by `garrison_misconfig::yaml` (positions and alias limits) into
//! [`N`] trees, restoring CloudFormation's short-form intrinsic tags (`!Ref`, `!Sub`,
//! `!GetAtt`, ...) as their long forms (`{"Ref": ...}`, `{"Fn::Sub": ...}`).
//!
//! The loader keeps positions but not tags; a node's tag is written just before the
//! node's start, so it is read back from the source text there.

use crate::tree::{N, V};
use garrison_misconfig::yaml::{Node, Value};

/// Source text with line starts, to look back from a node's position.
pub struct Source<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Source<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, starts }
    }

    /// Byte offset of a 1-based line and (character) column.
    fn offset(&self, line: u32, column: u32) -> Option<usize> {
        let start = *self
            .starts
            .get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let rest = self.text.get(start..)?;
        let col = usize::try_from(column).ok()?.saturating_sub(1);
        Some(start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i))
    }

    /// The local tag (`Ref`, `GetAtt`) written right before the node at `line:column`.
    fn tag_before(&self, line: u32, column: u32) -> Option<&'a str> {
        let end = self.offset(line, column)?;
        let before = self.text.get(..end)?;
        let mut t = before.trim_end();
        // A block scalar's header (`|`, `>-`, `|+2`) sits between the tag and the content.
        let header = t.rsplit(|c: char| c.is_whitespace()).next().filter(|w| {
            !w.is_empty()
                && (w.starts_with('|') || w.starts_with('>'))
                && w[1..]
                    .chars()
                    .all(|c| c == '-' || c == '+' || c.is_ascii_digit())
        });
        if let Some(h) = header {
            t = t[..t.len() - h.len()].trim_end();
        }
        let word = t
            .rsplit(|c: char| c.is_whitespace() || c == '[' || c == ',' || c == '{')
            .next()?;
        let name = word.strip_prefix('!')?;
        if name.is_empty()
            || name.starts_with('!')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_')
        {
            return None;
        }
        // The tag must start a token (after `:`, `-`, a flow indicator or whitespace).
        let idx = t.len() - word.len();
        let prev = t[..idx].chars().next_back();
        if prev.is_none_or(|c| c.is_whitespace() || matches!(c, ':' | '-' | '[' | ',' | '{')) {
            Some(name)
        } else {
            None
        }
    }
}

/// Converts a loaded node (and its children) to [`N`], restoring intrinsic tags.
pub fn convert(node: &Node, src: &Source<'_>) -> N {
    let line = node.pos.line;
    let v = match &node.value {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Int(i) => V::Num(*i as f64),
        Value::Float(f) => V::Num(*f),
        Value::Str(s) => V::Str(s.clone()),
        Value::Seq(items) => V::Seq(items.iter().map(|x| convert(x, src)).collect()),
        Value::Map(entries) => V::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let mut n = convert(v, src);
                    // A block mapping or sequence starts on the line after its key; the
                    // key's line is where a reader looks for "this resource / this block".
                    if matches!(n.v, V::Map(_) | V::Seq(_)) && k.pos.line < n.line {
                        n.line = k.pos.line;
                    }
                    (k.scalar_text().unwrap_or_default(), n)
                })
                .collect(),
        ),
    };
    let n = N::new(line, v);
    match src.tag_before(node.pos.line, node.pos.column) {
        Some(tag) => {
            let key = match tag {
                "Ref" | "Condition" => tag.to_string(),
                t => format!("Fn::{t}"),
            };
            N::new(line, V::Map(vec![(key, n)]))
        }
        None => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use garrison_misconfig::yaml;

    #[test]
    fn short_form_tags_become_long_form() {
        let t = "A:\n  B: !Ref X\n  C: !GetAtt [a, b]\n  D: !Sub |\n    hi\n  E:\n    !Join\n      - ''\n      - [a, !Ref Y]\n  F: plain\n  G: \"quoted!Ref\"\n  H: !!str 80\n";
        let l = yaml::load("t", t, &yaml::Limits::default());
        let src = Source::new(t);
        let n = convert(&l.documents[0].root, &src);
        let a = n.get("A").unwrap();
        assert_eq!(a.path(&["B", "Ref"]).and_then(N::as_str), Some("X"));
        assert!(a.path(&["C", "Fn::GetAtt"]).is_some());
        assert_eq!(a.path(&["D", "Fn::Sub"]).and_then(N::as_str), Some("hi\n"));
        let join = a.path(&["E", "Fn::Join"]).unwrap();
        assert_eq!(join.one_or_many().len(), 2);
        assert!(join.one_or_many()[1].one_or_many()[1].get("Ref").is_some());
        assert_eq!(a.get("F").and_then(N::as_str), Some("plain"));
        assert_eq!(a.get("G").and_then(N::as_str), Some("quoted!Ref"));
        assert_eq!(a.get("H").and_then(N::as_str), Some("80"));
        assert!(a.get("B").unwrap().is_dynamic());
    }
}
