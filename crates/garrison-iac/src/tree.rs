//! One small positioned value tree that Terraform expressions, CloudFormation/serverless
//! YAML and JSON policy documents are all turned into, so the checks that look at the
//! same things (IAM statements, environment variables) are written once.

/// A value with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct N {
    pub line: u32,
    pub v: V,
}

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Seq(Vec<N>),
    /// Keys in source order.
    Map(Vec<(String, N)>),
    /// A Terraform function call (`jsonencode(...)`).
    Call(String, Vec<N>),
    /// Something only known at plan/deploy time (a Terraform reference or
    /// interpolation), as written.
    Expr(String),
}

impl N {
    pub fn new(line: u32, v: V) -> N {
        N { line, v }
    }

    pub fn get(&self, key: &str) -> Option<&N> {
        match &self.v {
            V::Map(e) => e.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Case-insensitive key lookup (IAM JSON keys are matched this way by some tools;
    /// CloudFormation and IAM are case-sensitive, so use [`N::get`] where it matters).
    pub fn get_ci(&self, key: &str) -> Option<&N> {
        match &self.v {
            V::Map(e) => e
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn path(&self, keys: &[&str]) -> Option<&N> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            V::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A literal scalar as text (`80` → `"80"`, `true` → `"true"`).
    pub fn scalar(&self) -> Option<String> {
        match &self.v {
            V::Str(s) => Some(s.clone()),
            V::Bool(b) => Some(b.to_string()),
            V::Num(n) => Some(if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                n.to_string()
            }),
            _ => None,
        }
    }

    /// `true`, `"true"`, `"True"` are true; anything else (including unknown) is not.
    pub fn is_true(&self) -> bool {
        match &self.v {
            V::Bool(b) => *b,
            V::Str(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// Literally false (`false`, `"false"`).
    pub fn is_false(&self) -> bool {
        match &self.v {
            V::Bool(b) => !*b,
            V::Str(s) => s.eq_ignore_ascii_case("false"),
            _ => false,
        }
    }

    /// Whether the value is decided at plan/deploy time.
    pub fn is_dynamic(&self) -> bool {
        match &self.v {
            V::Expr(_) | V::Call(..) => true,
            // CloudFormation intrinsics in long form.
            V::Map(e) => {
                e.len() == 1
                    && e.first()
                        .is_some_and(|(k, _)| k == "Ref" || k.starts_with("Fn::"))
            }
            _ => false,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.v {
            V::Num(n) if n.fract() == 0.0 => Some(*n as i64),
            V::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A sequence's items, or the value itself as a one-item list (IAM allows both).
    pub fn one_or_many(&self) -> Vec<&N> {
        match &self.v {
            V::Seq(items) => items.iter().collect(),
            V::Null => Vec::new(),
            _ => vec![self],
        }
    }

    pub fn entries(&self) -> &[(String, N)] {
        match &self.v {
            V::Map(e) => e,
            _ => &[],
        }
    }

    /// Builds a tree from JSON (every node on `line`).
    pub fn from_json(j: &serde_json::Value, line: u32) -> N {
        use serde_json::Value as J;
        let v = match j {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Number(n) => V::Num(n.as_f64().unwrap_or(0.0)),
            J::String(s) => V::Str(s.clone()),
            J::Array(a) => V::Seq(a.iter().map(|x| N::from_json(x, line)).collect()),
            J::Object(o) => V::Map(
                o.iter()
                    .map(|(k, x)| (k.clone(), N::from_json(x, line)))
                    .collect(),
            ),
        };
        N::new(line, v)
    }
}

/// Line starts of a text, to turn byte offsets into 1-based lines.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    pub fn line_of(&self, offset: usize) -> u32 {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(idx + 1).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_values() {
        let l = Lines::new("a\nbc\n\nd");
        assert_eq!(
            (
                l.line_of(0),
                l.line_of(2),
                l.line_of(3),
                l.line_of(5),
                l.line_of(6)
            ),
            (1, 2, 2, 3, 4)
        );
        let j = serde_json::json!({"A": [1, "x"], "B": true});
        let n = N::from_json(&j, 7);
        assert_eq!(n.get("A").map(|a| a.one_or_many().len()), Some(2));
        assert!(n.get("B").is_some_and(N::is_true));
        assert_eq!(
            n.get("A")
                .and_then(|a| a.one_or_many().first().and_then(|x| x.scalar())),
            Some("1".into())
        );
    }
}
