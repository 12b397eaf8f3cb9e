//! RBAC risk: the rules of Roles and ClusterRoles joined with the
//! RoleBindings and ClusterRoleBindings that grant them, across every file of
//! a run.

use super::pss::{field, field_path};
use super::{Facts, Object};
use crate::analyzer::Context;
use crate::finding::{Finding, Resource};
use crate::yaml::{Node, Pos};

pub const WILDCARD: &str = "GAR-K8S-020";
pub const CLUSTER_ADMIN: &str = "GAR-K8S-021";
pub const SECRETS: &str = "GAR-K8S-022";
pub const EXEC_ATTACH: &str = "GAR-K8S-023";
pub const PORT_FORWARD: &str = "GAR-K8S-024";
pub const IMPERSONATE: &str = "GAR-K8S-025";
pub const BIND_ESCALATE: &str = "GAR-K8S-026";
pub const CREATE_WORKLOADS: &str = "GAR-K8S-027";
pub const SA_TOKEN: &str = "GAR-K8S-028";
pub const PUBLIC_SUBJECT: &str = "GAR-K8S-029";

/// One entry of a list in a rule, with where it is.
#[derive(Debug, Clone)]
pub struct Item {
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub pos: Pos,
    pub api_groups: Vec<Item>,
    pub resources: Vec<Item>,
    pub verbs: Vec<Item>,
    pub resource_names: bool,
}

#[derive(Debug, Clone)]
pub struct RoleFact {
    pub file: String,
    pub document: usize,
    pub resource: Resource,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub pos: Pos,
}

impl Subject {
    fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {}/{}", self.kind, ns, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// Kubernetes' own accounts: `system:` users and groups other than the
    /// catch-all groups, and service accounts in kube-system.
    fn is_system(&self) -> bool {
        match self.kind.as_str() {
            "ServiceAccount" => self.namespace.as_deref() == Some("kube-system"),
            _ => self.name.starts_with("system:") && !is_public(&self.name),
        }
    }
}

fn is_public(name: &str) -> bool {
    matches!(
        name,
        "system:anonymous" | "system:unauthenticated" | "system:authenticated"
    )
}

#[derive(Debug, Clone)]
pub struct BindingFact {
    pub file: String,
    pub document: usize,
    pub resource: Resource,
    pub role_kind: String,
    pub role_name: String,
    pub role_pos: Pos,
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, Default)]
pub struct RbacFacts {
    pub roles: Vec<RoleFact>,
    pub bindings: Vec<BindingFact>,
}

fn items(n: Option<&Node>) -> Vec<Item> {
    n.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .map(|i| Item {
            value: i.scalar_text().unwrap_or_default(),
            pos: i.pos,
        })
        .collect()
}

pub(super) fn facts(obj: &Object<'_>, file: &str, out: &mut RbacFacts) {
    match obj.kind {
        "Role" | "ClusterRole" => {
            let rules = obj
                .node
                .get("rules")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .map(|r| Rule {
                    pos: r.pos,
                    api_groups: items(r.get("apiGroups")),
                    resources: items(r.get("resources")),
                    verbs: items(r.get("verbs")),
                    resource_names: !r
                        .get("resourceNames")
                        .map(Node::items)
                        .unwrap_or(&[])
                        .is_empty(),
                })
                .collect();
            out.roles.push(RoleFact {
                file: file.to_string(),
                document: obj.document,
                resource: obj.resource(),
                rules,
            });
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_ref = field(obj.node, "roleRef");
            let subjects = obj
                .node
                .get("subjects")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .map(|s| Subject {
                    kind: s
                        .get("kind")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                    name: s
                        .get("name")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                    namespace: field(s, "namespace").and_then(Node::scalar_text),
                    pos: s.pos,
                })
                .collect();
            out.bindings.push(BindingFact {
                file: file.to_string(),
                document: obj.document,
                resource: obj.resource(),
                role_kind: role_ref
                    .and_then(|r| r.get("kind"))
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
                role_name: role_ref
                    .and_then(|r| r.get("name"))
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
                role_pos: field_path(obj.node, &["roleRef", "name"])
                    .map_or(obj.node.pos, |n| n.pos),
                subjects,
            });
        }
        _ => {}
    }
}

fn has<'a>(list: &'a [Item], wanted: &[&str]) -> Option<&'a Item> {
    list.iter().find(|i| wanted.contains(&i.value.as_str()))
}

fn core_group(r: &Rule) -> bool {
    r.api_groups.is_empty() || has(&r.api_groups, &["", "*"]).is_some()
}

/// The risks of one rule: `(check id, where, what)`.
pub fn rule_risks(r: &Rule) -> Vec<(&'static str, Pos, String)> {
    let mut out = Vec::new();
    let wild = [&r.verbs, &r.resources, &r.api_groups]
        .into_iter()
        .zip(["verbs", "resources", "apiGroups"])
        .find_map(|(l, name)| has(l, &["*"]).map(|i| (i, name)));
    if let Some((i, name)) = wild {
        out.push((WILDCARD, i.pos, format!("rule grants '*' in {name}")));
    }
    let verb = |v: &[&str]| has(&r.verbs, v);
    let read = verb(&["get", "list", "watch", "*"]);
    if let (Some(res), Some(_), true, false) = (
        has(&r.resources, &["secrets"]),
        read,
        core_group(r),
        r.resource_names,
    ) {
        out.push((SECRETS, res.pos, "rule can read secrets".into()));
    }
    if let (Some(res), Some(_)) = (
        has(&r.resources, &["pods/exec", "pods/attach", "pods/*"]),
        verb(&["create", "get", "*"]),
    ) {
        out.push((EXEC_ATTACH, res.pos, format!("rule grants {}", res.value)));
    }
    if let (Some(res), Some(_)) = (
        has(&r.resources, &["pods/portforward"]),
        verb(&["create", "get", "*"]),
    ) {
        out.push((PORT_FORWARD, res.pos, "rule grants pods/portforward".into()));
    }
    if let (Some(v), false) = (verb(&["impersonate"]), r.resource_names) {
        out.push((IMPERSONATE, v.pos, "rule grants impersonate".into()));
    }
    if let (Some(v), Some(_)) = (
        verb(&["bind", "escalate"]),
        has(&r.resources, &["roles", "clusterroles", "*"]),
    ) {
        out.push((
            BIND_ESCALATE,
            v.pos,
            format!("rule grants {} on roles", v.value),
        ));
    }
    if let (Some(_), Some(res)) = (
        verb(&["create"]),
        has(
            &r.resources,
            &[
                "pods",
                "deployments",
                "replicasets",
                "statefulsets",
                "daemonsets",
                "jobs",
                "cronjobs",
                "replicationcontrollers",
            ],
        ),
    ) {
        out.push((
            CREATE_WORKLOADS,
            res.pos,
            format!("rule can create {}", res.value),
        ));
    }
    if let (Some(_), Some(res)) = (
        verb(&["create"]),
        has(&r.resources, &["serviceaccounts/token"]),
    ) {
        out.push((
            SA_TOKEN,
            res.pos,
            "rule can create service account tokens".into(),
        ));
    }
    out
}

fn grants(b: &BindingFact, role: &Resource) -> bool {
    if b.role_name != role.name || b.role_kind != role.kind {
        return false;
    }
    // A Role is granted only by RoleBindings of its own namespace.
    role.kind == "ClusterRole" || b.resource.namespace == role.namespace
}

pub(super) fn findings(all: &[Facts], ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let bindings: Vec<&BindingFact> = all.iter().flat_map(|f| &f.rbac.bindings).collect();
    for role in all.iter().flat_map(|f| &f.rbac.roles) {
        if role.resource.name.starts_with("system:") {
            continue;
        }
        let subjects: Vec<String> = bindings
            .iter()
            .filter(|b| grants(b, &role.resource))
            .flat_map(|b| b.subjects.iter().map(Subject::describe))
            .collect();
        let to_whom = if subjects.is_empty() {
            "not bound by any binding in the files checked".to_string()
        } else {
            format!("granted to {}", subjects.join(", "))
        };
        for rule in &role.rules {
            for (id, pos, what) in rule_risks(rule) {
                if let Some(check) = ctx.catalog.get(id) {
                    out.push(
                        Finding::new(
                            check,
                            &role.file,
                            format!(
                                "{} {}: {what}; {to_whom}",
                                role.resource.kind, role.resource.name
                            ),
                        )
                        .in_document(role.document)
                        .at(pos)
                        .on(Some(role.resource.clone())),
                    );
                }
            }
        }
    }
    for b in &bindings {
        if b.resource.name.starts_with("system:") {
            continue;
        }
        for s in &b.subjects {
            let id = if is_public(&s.name) {
                PUBLIC_SUBJECT
            } else if b.role_kind == "ClusterRole"
                && b.role_name == "cluster-admin"
                && !s.is_system()
            {
                CLUSTER_ADMIN
            } else {
                continue;
            };
            if let Some(check) = ctx.catalog.get(id) {
                out.push(
                    Finding::new(
                        check,
                        &b.file,
                        format!(
                            "{} {} grants {} {} to {}",
                            b.resource.kind,
                            b.resource.name,
                            b.role_kind,
                            b.role_name,
                            s.describe()
                        ),
                    )
                    .in_document(b.document)
                    .at(s.pos)
                    .on(Some(b.resource.clone())),
                );
            }
        }
    }
    out
}
