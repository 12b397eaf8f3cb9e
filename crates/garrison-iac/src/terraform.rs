//! Terraform HCL for AWS: parsed with `hcl-edit` (which keeps byte spans), turned into
//! positioned blocks, and checked resource by resource.

use crate::ids;
use crate::policy::{self, Statement};
use crate::runtimes::{self, Date};
use crate::secrets;
use crate::tree::{Lines, N, V};
use crate::yamltree;
use crate::Hit;
use garrison_misconfig::yaml;
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::template::Element;
use hcl_edit::Span;

/// Why an HCL file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}, column {column}: invalid HCL: {message}")]
pub struct HclError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A block (`resource "aws_s3_bucket" "logs" { ... }`) with its attributes and nested blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct TfBlock {
    pub ty: String,
    pub labels: Vec<String>,
    pub line: u32,
    pub attrs: Vec<(String, N)>,
    pub blocks: Vec<TfBlock>,
}

impl TfBlock {
    pub fn attr(&self, name: &str) -> Option<&N> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn blocks_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TfBlock> + 'a {
        self.blocks.iter().filter(move |b| b.ty == name)
    }

    /// `aws_s3_bucket.logs` for a resource, `data.x.y` for a data source.
    pub fn address(&self) -> String {
        match self.ty.as_str() {
            "data" => format!("data.{}", self.labels.join(".")),
            _ => self.labels.join("."),
        }
    }
}

/// Parses an HCL file into its top-level blocks.
pub fn parse(text: &str) -> Result<Vec<TfBlock>, HclError> {
    let body: Body = text
        .parse()
        .map_err(|e: hcl_edit::parser::Error| HclError {
            line: u32::try_from(e.location().line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.location().column()).unwrap_or(u32::MAX),
            message: e.message().to_string(),
        })?;
    let lines = Lines::new(text);
    let cx = Cx {
        text,
        lines: &lines,
    };
    let (_, blocks) = cx.body(&body);
    Ok(blocks)
}

struct Cx<'a> {
    text: &'a str,
    lines: &'a Lines,
}

impl Cx<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> u32 {
        span.map_or(0, |r| self.lines.line_of(r.start))
    }

    fn src(&self, span: Option<std::ops::Range<usize>>) -> String {
        span.and_then(|r| self.text.get(r))
            .unwrap_or("")
            .to_string()
    }

    fn body(&self, body: &Body) -> (Vec<(String, N)>, Vec<TfBlock>) {
        let mut attrs = Vec::new();
        let mut blocks = Vec::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let mut n = self.expr(&a.value);
                    // Point at the attribute's key line.
                    n.line = self.line(a.span()).max(1);
                    attrs.push((a.key.as_str().to_string(), n));
                }
                Structure::Block(b) => blocks.push(self.block(b)),
            }
        }
        (attrs, blocks)
    }

    fn block(&self, b: &Block) -> TfBlock {
        let (attrs, blocks) = self.body(&b.body);
        TfBlock {
            ty: b.ident.as_str().to_string(),
            labels: b
                .labels
                .iter()
                .map(|l| match l {
                    BlockLabel::Ident(i) => i.as_str().to_string(),
                    BlockLabel::String(s) => s.as_str().to_string(),
                })
                .collect(),
            line: self.line(b.span()).max(1),
            attrs,
            blocks,
        }
    }

    fn expr(&self, e: &Expression) -> N {
        let line = self.line(e.span());
        let v = match e {
            Expression::Null(_) => V::Null,
            Expression::Bool(b) => V::Bool(*b.value()),
            Expression::Number(n) => V::Num(n.as_f64().unwrap_or(0.0)),
            Expression::String(s) => V::Str(s.value().clone()),
            Expression::Array(a) => V::Seq(a.iter().map(|x| self.expr(x)).collect()),
            Expression::Object(o) => V::Map(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                            ObjectKey::Expression(x) => self.src(x.span()),
                        };
                        (key, self.expr(v.expr()))
                    })
                    .collect(),
            ),
            Expression::StringTemplate(t) => {
                let mut s = String::new();
                let mut literal = true;
                for el in t.iter() {
                    match el {
                        Element::Literal(l) => s.push_str(l.value()),
                        _ => literal = false,
                    }
                }
                if literal {
                    V::Str(s)
                } else {
                    V::Expr(self.src(e.span()))
                }
            }
            Expression::HeredocTemplate(h) => {
                let mut s = String::new();
                let mut literal = true;
                let mut first_line = None;
                for el in h.template.iter() {
                    match el {
                        Element::Literal(l) => {
                            if first_line.is_none() {
                                first_line = Some(self.line(l.span()));
                            }
                            s.push_str(l.value());
                        }
                        _ => literal = false,
                    }
                }
                if literal {
                    // Heredoc JSON keeps its own lines: parse it here.
                    let start = first_line.unwrap_or(line + 1);
                    return json_text(&s, start).unwrap_or(N::new(line, V::Str(s)));
                }
                V::Expr(self.src(e.span()))
            }
            Expression::Parenthesis(p) => return self.expr(p.inner()),
            Expression::FuncCall(f) => V::Call(
                f.name.name.as_str().to_string(),
                f.args.iter().map(|x| self.expr(x)).collect(),
            ),
            _ => V::Expr(self.src(e.span())),
        };
        N::new(line, v)
    }
}

/// Blocks of a Terraform JSON file (`*.tf.json`): `{"resource": {"TYPE": {"NAME": {...}}}}`.
/// JSON cannot tell a nested block from an object-valued attribute, so an object value is
/// kept as both.
pub fn from_json(root: &N) -> Vec<TfBlock> {
    fn body(n: &N, ty: String, labels: Vec<String>, line: u32) -> TfBlock {
        let mut attrs = Vec::new();
        let mut blocks = Vec::new();
        for (k, v) in n.entries() {
            attrs.push((k.clone(), v.clone()));
            match &v.v {
                V::Map(_) => blocks.push(body(v, k.clone(), Vec::new(), v.line)),
                V::Seq(items) => {
                    for it in items.iter().filter(|i| matches!(i.v, V::Map(_))) {
                        blocks.push(body(it, k.clone(), Vec::new(), it.line));
                    }
                }
                _ => {}
            }
        }
        TfBlock {
            ty,
            labels,
            line,
            attrs,
            blocks,
        }
    }
    let mut out = Vec::new();
    for (top, v) in root.entries() {
        if top != "resource" && top != "data" {
            continue;
        }
        for group in v.one_or_many() {
            for (ty, named) in group.entries() {
                for one in named.one_or_many() {
                    for (name, b) in one.entries() {
                        for inst in b.one_or_many() {
                            out.push(body(
                                inst,
                                top.clone(),
                                vec![ty.clone(), name.clone()],
                                inst.line,
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Parses JSON text that starts at `first_line` into a positioned tree, or `None` when
/// it is not JSON. Read with the position-keeping YAML loader (JSON is YAML), so every
/// key and value keeps its own line and mappings keep their order.
pub fn json_text(text: &str, first_line: u32) -> Option<N> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    let text = yaml::json_tabs_to_spaces(text);
    let loaded = yaml::load("<inline JSON>", &text, &yaml::Limits::default());
    if loaded.error.is_some() {
        return None;
    }
    let doc = loaded.documents.first()?;
    let mut n = yamltree::convert(&doc.root, &yamltree::Source::new(&text));
    shift(&mut n, first_line.saturating_sub(1));
    Some(n)
}

fn shift(n: &mut N, by: u32) {
    n.line = n.line.saturating_add(by);
    match &mut n.v {
        V::Seq(items) => items.iter_mut().for_each(|x| shift(x, by)),
        V::Map(entries) => entries.iter_mut().for_each(|(_, x)| shift(x, by)),
        V::Call(_, args) => args.iter_mut().for_each(|x| shift(x, by)),
        _ => {}
    }
}

/// Ports that must not be reachable from the whole internet.
pub const ADMIN_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (23, "Telnet"),
    (3389, "RDP"),
    (5900, "VNC"),
    (2375, "Docker API"),
    (2376, "Docker API (TLS)"),
    (3306, "MySQL"),
    (5432, "PostgreSQL"),
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (6379, "Redis"),
    (27017, "MongoDB"),
    (9200, "Elasticsearch"),
    (5984, "CouchDB"),
    (11211, "Memcached"),
    (9042, "Cassandra"),
];

/// What an ingress rule opens to the world, if anything worth reporting.
pub fn open_admin_ports(
    protocol: Option<&str>,
    from: Option<i64>,
    to: Option<i64>,
) -> Option<String> {
    let proto = protocol.unwrap_or("tcp").to_ascii_lowercase();
    if proto == "-1" || proto == "all" {
        return Some("all ports and protocols".into());
    }
    if proto == "icmp" || proto == "icmpv6" || proto == "1" || proto == "58" {
        return None;
    }
    let (from, to) = (from?, to.or(Some(from?))?);
    if from <= 0 && to >= 65535 {
        return Some("all ports".into());
    }
    let hit: Vec<String> = ADMIN_PORTS
        .iter()
        .filter(|(p, _)| from <= *p && *p <= to)
        .map(|(p, n)| format!("{p} ({n})"))
        .collect();
    (!hit.is_empty()).then(|| hit.join(", "))
}

pub fn world_cidr(s: &str) -> bool {
    matches!(s.trim(), "0.0.0.0/0" | "::/0" | "0::/0")
}

/// Runs every Terraform check over a file's blocks.
pub fn check(blocks: &[TfBlock], today: Date) -> Vec<Hit> {
    let mut hits = Vec::new();
    let sse_targets: Vec<String> = blocks
        .iter()
        .filter(|b| {
            b.ty == "resource"
                && b.labels.first().map(String::as_str)
                    == Some("aws_s3_bucket_server_side_encryption_configuration")
        })
        .filter_map(|b| b.attr("bucket").map(n_text))
        .collect();
    for b in blocks {
        let kind = b.labels.first().map(String::as_str).unwrap_or("");
        let addr = b.address();
        let (rkind, rname) = match b.ty.as_str() {
            "data" => (
                format!("data.{kind}"),
                b.labels.get(1).cloned().unwrap_or_default(),
            ),
            _ => (
                kind.to_string(),
                b.labels.get(1).cloned().unwrap_or_default(),
            ),
        };
        let mut push = |h: Hit| hits.push(h.on_kind(rkind.clone(), rname.clone()));
        match (b.ty.as_str(), kind) {
            ("resource", "aws_s3_bucket") => {
                s3_acl(b, &mut push);
                if let Some(p) = b.attr("policy") {
                    bucket_policy(p, &mut push);
                }
                let name = b.labels.get(1).cloned().unwrap_or_default();
                let reference = format!("aws_s3_bucket.{name}.");
                let literal = b.attr("bucket").and_then(N::as_str);
                let encrypted = b
                    .blocks_named("server_side_encryption_configuration")
                    .next()
                    .is_some()
                    || sse_targets
                        .iter()
                        .any(|t| t.contains(&reference) || Some(t.as_str()) == literal);
                if !encrypted {
                    push(Hit::new(ids::TF_S3_SSE, b.line as usize,
                        format!("bucket {addr} has no server-side encryption configuration (set one with a KMS key)")));
                }
            }
            ("resource", "aws_s3_bucket_acl") => s3_acl(b, &mut push),
            ("resource", "aws_s3_bucket_policy") => {
                if let Some(p) = b.attr("policy") {
                    bucket_policy(p, &mut push);
                }
            }
            (
                "resource",
                "aws_s3_bucket_public_access_block" | "aws_s3_account_public_access_block",
            ) => {
                let off: Vec<&str> = [
                    "block_public_acls",
                    "block_public_policy",
                    "ignore_public_acls",
                    "restrict_public_buckets",
                ]
                .into_iter()
                .filter(|a| !b.attr(a).is_some_and(|v| v.is_true() || v.is_dynamic()))
                .collect();
                if !off.is_empty() {
                    let line = off
                        .iter()
                        .filter_map(|a| b.attr(a))
                        .map(|n| n.line)
                        .next()
                        .unwrap_or(b.line);
                    push(Hit::new(
                        ids::TF_S3_PAB,
                        line as usize,
                        format!(
                            "{} {} not true (unset means false)",
                            off.join(", "),
                            if off.len() == 1 { "is" } else { "are" }
                        ),
                    ));
                }
            }
            ("resource", "aws_security_group") => {
                for rule in b.blocks_named("ingress") {
                    sg_rule(rule, &mut push);
                }
                for (k, v) in &b.attrs {
                    if k == "ingress" {
                        for r in v.one_or_many() {
                            sg_rule_obj(r, &mut push);
                        }
                    }
                }
            }
            ("resource", "aws_security_group_rule")
                if b.attr("type").and_then(N::as_str) == Some("ingress") =>
            {
                sg_rule(b, &mut push);
            }
            ("resource", "aws_vpc_security_group_ingress_rule") => {
                let world = ["cidr_ipv4", "cidr_ipv6"]
                    .iter()
                    .filter_map(|a| b.attr(a))
                    .find(|n| n.as_str().is_some_and(world_cidr));
                if let Some(w) = world {
                    let proto = b.attr("ip_protocol").and_then(N::scalar);
                    let from = b.attr("from_port").and_then(N::as_i64);
                    let to = b.attr("to_port").and_then(N::as_i64);
                    if let Some(what) = open_admin_ports(proto.as_deref(), from, to) {
                        push(Hit::new(
                            ids::TF_SG_OPEN,
                            w.line as usize,
                            format!("ingress from {} to {what}", w.as_str().unwrap_or("")),
                        ));
                    }
                }
            }
            (
                "resource",
                "aws_iam_policy"
                | "aws_iam_role_policy"
                | "aws_iam_user_policy"
                | "aws_iam_group_policy",
            ) => {
                if let Some(p) = b.attr("policy") {
                    iam(&policy_statements(p), &mut push);
                }
            }
            ("resource", "aws_iam_role") => {
                for ip in b.blocks_named("inline_policy") {
                    if let Some(p) = ip.attr("policy") {
                        iam(&policy_statements(p), &mut push);
                    }
                }
            }
            ("data", "aws_iam_policy_document") => iam(&document_statements(b), &mut push),
            ("resource", "aws_ebs_volume")
                if !b
                    .attr("encrypted")
                    .is_some_and(|v| v.is_true() || v.is_dynamic()) =>
            {
                let line = b.attr("encrypted").map_or(b.line, |n| n.line);
                push(Hit::new(
                    ids::TF_EBS,
                    line as usize,
                    format!("EBS volume {addr} is not encrypted"),
                ));
            }
            ("resource", "aws_instance" | "aws_launch_configuration") => {
                for dev in b
                    .blocks_named("root_block_device")
                    .chain(b.blocks_named("ebs_block_device"))
                {
                    if !dev
                        .attr("encrypted")
                        .is_some_and(|v| v.is_true() || v.is_dynamic())
                    {
                        let line = dev.attr("encrypted").map_or(dev.line, |n| n.line);
                        push(Hit::new(
                            ids::TF_EBS,
                            line as usize,
                            format!("{} of {addr} is not encrypted", dev.ty),
                        ));
                    }
                }
            }
            ("resource", "aws_launch_template") => {
                for bdm in b.blocks_named("block_device_mappings") {
                    for ebs in bdm.blocks_named("ebs") {
                        if !ebs
                            .attr("encrypted")
                            .is_some_and(|v| v.is_true() || v.is_dynamic())
                        {
                            let line = ebs.attr("encrypted").map_or(ebs.line, |n| n.line);
                            push(Hit::new(
                                ids::TF_EBS,
                                line as usize,
                                format!("an EBS block device of {addr} is not encrypted"),
                            ));
                        }
                    }
                }
            }
            ("resource", "aws_db_instance" | "aws_rds_cluster") => {
                let replica = b.attr("replicate_source_db").is_some()
                    || b.attr("snapshot_identifier").is_some();
                if !replica
                    && !b
                        .attr("storage_encrypted")
                        .is_some_and(|v| v.is_true() || v.is_dynamic())
                {
                    let line = b.attr("storage_encrypted").map_or(b.line, |n| n.line);
                    push(Hit::new(
                        ids::TF_RDS,
                        line as usize,
                        format!("{addr} sets no storage_encrypted = true"),
                    ));
                }
            }
            ("resource", "aws_efs_file_system")
                if !b
                    .attr("encrypted")
                    .is_some_and(|v| v.is_true() || v.is_dynamic()) =>
            {
                let line = b.attr("encrypted").map_or(b.line, |n| n.line);
                push(Hit::new(
                    ids::TF_EFS,
                    line as usize,
                    format!("EFS file system {addr} is not encrypted"),
                ));
            }
            ("resource", "aws_lambda_function") => {
                if let Some(rt) = b.attr("runtime") {
                    if let Some(name) = rt.as_str() {
                        if let Some(d) = runtimes::deprecated_on(name, today) {
                            push(Hit::new(
                                ids::TF_LAMBDA_RUNTIME,
                                rt.line as usize,
                                format!("runtime {name} was deprecated on {}", runtimes::show(d)),
                            ));
                        }
                    }
                }
                for env in b.blocks_named("environment") {
                    if let Some(vars) = env.attr("variables") {
                        for (line, msg) in env_secrets(vars) {
                            push(Hit::new(ids::TF_LAMBDA_SECRET, line as usize, msg));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    hits.sort_by_key(|h| h.line);
    hits
}

/// An expression's text (literal strings as themselves, references as written).
fn n_text(n: &N) -> String {
    match &n.v {
        V::Str(s) | V::Expr(s) => s.clone(),
        _ => String::new(),
    }
}

const PUBLIC_ACLS: &[&str] = &["public-read", "public-read-write", "authenticated-read"];

fn s3_acl(b: &TfBlock, push: &mut dyn FnMut(Hit)) {
    if let Some(acl) = b.attr("acl") {
        if let Some(a) = acl.as_str().filter(|a| PUBLIC_ACLS.contains(a)) {
            push(Hit::new(
                ids::TF_S3_PUBLIC_ACL,
                acl.line as usize,
                format!("canned ACL {a} makes the bucket readable by anyone"),
            ));
        }
    }
    // Grants to the AllUsers / AuthenticatedUsers groups.
    fn grants(b: &TfBlock, push: &mut dyn FnMut(Hit)) {
        for x in &b.blocks {
            if let Some(uri) = x.attr("uri") {
                if let Some(u) = uri.as_str().filter(|u| {
                    u.ends_with("/global/AllUsers") || u.ends_with("/global/AuthenticatedUsers")
                }) {
                    push(Hit::new(
                        ids::TF_S3_PUBLIC_ACL,
                        uri.line as usize,
                        format!("ACL grant to {u}"),
                    ));
                }
            }
            grants(x, push);
        }
    }
    grants(b, push);
}

fn bucket_policy(p: &N, push: &mut dyn FnMut(Hit)) {
    let doc = policy_doc(p);
    for s in doc.iter().flat_map(policy::statements) {
        if let Some(line) = s.public() {
            push(Hit::new(
                ids::TF_S3_POLICY_PUBLIC,
                line as usize,
                "bucket policy allows Principal \"*\" with no condition".to_string(),
            ));
        }
    }
}

/// A policy attribute as a JSON-shaped tree: `jsonencode({...})`, heredoc or quoted JSON.
fn policy_doc(p: &N) -> Option<N> {
    match &p.v {
        V::Call(name, args) if name == "jsonencode" => args.first().cloned(),
        V::Map(_) => Some(p.clone()),
        V::Str(s) => json_text(s, p.line),
        _ => None,
    }
}

/// Statements of an IAM policy attribute. A reference such as
/// `data.aws_iam_policy_document.X.json` yields none here: the document is a data
/// source of its own and is checked where it is written.
fn policy_statements(p: &N) -> Vec<Statement> {
    policy_doc(p)
        .map(|d| policy::statements(&d))
        .unwrap_or_default()
}

fn document_statements(b: &TfBlock) -> Vec<Statement> {
    b.blocks_named("statement")
        .map(|s| {
            let principals: Vec<(Option<N>, Option<N>)> = s
                .blocks_named("principals")
                .map(|p| (p.attr("type").cloned(), p.attr("identifiers").cloned()))
                .collect();
            let attr = |k: &str| s.attr(k).cloned();
            policy::tf_document_statement(
                s.line,
                &attr,
                &principals,
                s.blocks_named("condition").next().is_some(),
            )
        })
        .collect()
}

fn iam(stmts: &[Statement], push: &mut dyn FnMut(Hit)) {
    for s in stmts {
        if let Some((line, a)) = s.wildcard_action(false) {
            push(Hit::new(
                ids::TF_IAM_ACTION,
                line as usize,
                format!("an Allow statement grants Action \"{a}\""),
            ));
        } else if s.allows_not_action() {
            push(Hit::new(
                ids::TF_IAM_ACTION,
                s.line as usize,
                "an Allow statement with NotAction grants every other action".to_string(),
            ));
        }
        if let Some(line) = s.wildcard_resource() {
            push(Hit::new(
                ids::TF_IAM_RESOURCE,
                line as usize,
                "an Allow statement grants non-read actions on Resource \"*\"".to_string(),
            ));
        }
    }
}

/// Secrets among environment variables given as a map: `(line, message)`.
pub fn env_secrets(vars: &N) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for (k, v) in vars.entries() {
        let Some(value) = v.scalar() else { continue };
        if let Some(kind) = secrets::secret_value(&value) {
            out.push((v.line, format!("environment variable {k} holds {kind}")));
        } else if secrets::secret_name(k) && !secrets::is_reference(&value) && !v.is_dynamic() {
            out.push((v.line, format!("environment variable {k} holds a literal secret; read it from Secrets Manager or SSM at run time")));
        }
    }
    out
}

fn sg_rule(rule: &TfBlock, push: &mut dyn FnMut(Hit)) {
    let mut world = None;
    for a in ["cidr_blocks", "ipv6_cidr_blocks"] {
        if let Some(list) = rule.attr(a) {
            if let Some(w) = list
                .one_or_many()
                .into_iter()
                .find(|c| c.as_str().is_some_and(world_cidr))
            {
                world = Some((list.line, w.as_str().unwrap_or("").to_string()));
                break;
            }
        }
    }
    let Some((line, cidr)) = world else { return };
    let proto = rule.attr("protocol").and_then(N::scalar);
    let from = rule.attr("from_port").and_then(N::as_i64);
    let to = rule.attr("to_port").and_then(N::as_i64);
    if let Some(what) = open_admin_ports(proto.as_deref(), from, to) {
        push(Hit::new(
            ids::TF_SG_OPEN,
            line as usize,
            format!("ingress from {cidr} to {what}"),
        ));
    }
}

/// `ingress = [{ ... }]` attribute form.
fn sg_rule_obj(r: &N, push: &mut dyn FnMut(Hit)) {
    let block = TfBlock {
        ty: "ingress".into(),
        labels: Vec::new(),
        line: r.line,
        attrs: r.entries().to_vec(),
        blocks: Vec::new(),
    };
    sg_rule(&block, push);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_with_lines() {
        let src = "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n  acl    = \"public-read\"\n  tags = { a = \"${var.x}\" }\n}\n";
        let blocks = parse(src).unwrap();
        assert_eq!(blocks[0].labels, ["aws_s3_bucket", "b"]);
        assert_eq!(blocks[0].attr("acl").map(|n| n.line), Some(3));
        assert!(matches!(
            blocks[0]
                .attr("tags")
                .and_then(|t| t.get("a"))
                .map(|n| &n.v),
            Some(V::Expr(_))
        ));
        let hits = check(&blocks, (2026, 1, 1));
        let got: Vec<_> = hits.iter().map(|h| (h.check, h.line)).collect();
        assert_eq!(got, [(ids::TF_S3_SSE, 1), (ids::TF_S3_PUBLIC_ACL, 3)]);
    }

    #[test]
    fn heredoc_json_lines() {
        let src = "resource \"aws_iam_policy\" \"p\" {\n  policy = <<EOF\n{\n  \"Statement\": [{\n    \"Effect\": \"Allow\",\n    \"Action\": \"*\",\n    \"Resource\": \"*\"\n  }]\n}\nEOF\n}\n";
        let hits = check(&parse(src).unwrap(), (2026, 1, 1));
        let got: Vec<_> = hits.iter().map(|h| (h.check, h.line)).collect();
        assert_eq!(got, [(ids::TF_IAM_ACTION, 6), (ids::TF_IAM_RESOURCE, 7)]);
    }

    #[test]
    fn bad_hcl_is_an_error() {
        let e = parse("resource \"a\" {\n  x = \n}\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
        assert!(parse("}}}{{{").is_err());
    }
}
