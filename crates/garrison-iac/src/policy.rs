//! IAM policy statements, read from JSON-shaped documents (Terraform `jsonencode`, heredoc
//! JSON, CloudFormation, serverless.yml) or from `aws_iam_policy_document` blocks, and the
//! questions the checks ask of them.

use crate::tree::{N, V};

/// One statement, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub line: u32,
    pub allow: bool,
    /// `(action, line)`; empty when the statement uses NotAction.
    pub actions: Vec<(String, u32)>,
    pub not_action: bool,
    pub resources: Vec<(String, u32)>,
    /// Line of a `*` principal (`"*"`, `{"AWS": "*"}`), if any.
    pub public_principal: Option<u32>,
    pub has_condition: bool,
}

/// Statements of a JSON-shaped policy document (`{"Statement": [...]}`), or of a bare
/// statement list as serverless.yml writes them.
pub fn statements(doc: &N) -> Vec<Statement> {
    let list = match doc.get("Statement") {
        Some(s) => s.one_or_many(),
        None => match &doc.v {
            V::Seq(items) => items.iter().collect(),
            _ => Vec::new(),
        },
    };
    list.into_iter().filter_map(statement).collect()
}

fn strings(n: Option<&N>) -> Vec<(String, u32)> {
    n.map(|n| {
        n.one_or_many()
            .into_iter()
            .filter_map(|x| x.scalar().map(|s| (s, x.line)))
            .collect()
    })
    .unwrap_or_default()
}

fn statement(s: &N) -> Option<Statement> {
    if !matches!(s.v, V::Map(_)) {
        return None;
    }
    let allow = s
        .get("Effect")
        .and_then(N::as_str)
        .is_none_or(|e| e.eq_ignore_ascii_case("allow"));
    let not_action = s.get("NotAction").is_some();
    let public_principal = s.get("Principal").and_then(principal_star);
    Some(Statement {
        line: s.line,
        allow,
        actions: strings(s.get("Action")),
        not_action,
        resources: strings(s.get("Resource")),
        public_principal,
        has_condition: s.get("Condition").is_some_and(|c| !c.entries().is_empty()),
    })
}

fn principal_star(p: &N) -> Option<u32> {
    match &p.v {
        V::Str(s) if s == "*" => Some(p.line),
        V::Map(e) => e
            .iter()
            .filter(|(k, _)| k == "AWS" || k == "*")
            .flat_map(|(_, v)| v.one_or_many())
            .find(|x| x.as_str() == Some("*"))
            .map(|x| x.line),
        _ => None,
    }
}

/// Statements of a Terraform `aws_iam_policy_document`: `statement { effect actions
/// resources principals { type identifiers } condition {...} }` blocks, given as
/// (block line, attributes, nested blocks).
pub fn tf_document_statement(
    line: u32,
    attr: &dyn Fn(&str) -> Option<N>,
    principals: &[(Option<N>, Option<N>)],
    has_condition: bool,
) -> Statement {
    let allow = attr("effect")
        .and_then(|e| e.as_str().map(|s| s.eq_ignore_ascii_case("allow")))
        .unwrap_or(true);
    let not_action = attr("not_actions").is_some();
    let public_principal = principals.iter().find_map(|(ty, ids)| {
        let ty_ok = ty
            .as_ref()
            .and_then(N::as_str)
            .is_some_and(|t| t == "*" || t == "AWS");
        let star = ids.as_ref().and_then(|ids| {
            ids.one_or_many()
                .into_iter()
                .find(|x| x.as_str() == Some("*"))
                .map(|x| x.line)
        });
        if ty_ok {
            star
        } else {
            None
        }
    });
    Statement {
        line,
        allow,
        actions: strings(attr("actions").as_ref()),
        not_action,
        resources: strings(attr("resources").as_ref()),
        public_principal,
        has_condition,
    }
}

impl Statement {
    /// Line of an action that grants everything (`*` or `*:*`), or everything in a
    /// service (`s3:*`) — the latter only when `service_wide` is set.
    pub fn wildcard_action(&self, service_wide: bool) -> Option<(u32, &str)> {
        if !self.allow {
            return None;
        }
        self.actions
            .iter()
            .find(|(a, _)| a == "*" || a == "*:*" || (service_wide && a.ends_with(":*")))
            .map(|(a, l)| (*l, a.as_str()))
    }

    /// An Allow statement with NotAction grants everything except a list.
    pub fn allows_not_action(&self) -> bool {
        self.allow && self.not_action
    }

    /// Line of a `*` resource in an Allow statement whose actions are not all read-only
    /// (`Describe*`, `List*`, `Get*` are commonly needed on `*`).
    pub fn wildcard_resource(&self) -> Option<u32> {
        if !self.allow {
            return None;
        }
        let star = self.resources.iter().find(|(r, _)| r == "*")?;
        let write = self.not_action
            || self.actions.iter().any(|(a, _)| {
                let verb = a.rsplit(':').next().unwrap_or(a);
                !(verb.starts_with("Describe")
                    || verb.starts_with("List")
                    || verb.starts_with("Get"))
            });
        write.then_some(star.1)
    }

    /// Line of a public principal in an Allow statement with no condition.
    pub fn public(&self) -> Option<u32> {
        if self.allow && !self.has_condition {
            self.public_principal
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_policies() {
        let doc = N::from_json(
            &serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
                {"Effect": "Deny", "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": ["arn:x", "*"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
            ]}),
            3,
        );
        let s = statements(&doc);
        assert_eq!(s.len(), 5);
        assert!(s[0].wildcard_action(false).is_some() && s[0].wildcard_resource().is_some());
        assert!(s[1].wildcard_action(true).is_none() && s[1].wildcard_resource().is_none());
        assert!(s[2].wildcard_action(false).is_none());
        assert_eq!(s[3].public(), Some(3));
        assert_eq!(s[4].public(), None);
    }
}
