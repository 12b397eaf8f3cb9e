//! Kubernetes manifests: objects out of YAML/JSON streams (multi-document,
//! `List` kinds), pod templates of every workload kind, and the checks on
//! them — Pod Security Standards ([`pss`]), workload hygiene ([`workload`]),
//! and the checks that join objects across files: NetworkPolicy coverage and
//! RBAC risk ([`rbac`]).

pub mod pss;
pub mod rbac;
pub mod workload;

use crate::analyzer::{Analyzer, Context, FileReport, SourceFile};
use crate::check::FileKind;
use crate::finding::{AnalyzeError, Finding, Note, Resource};
use crate::yaml::{self, Node};
use std::any::Any;

pub use pss::{PodView, Violation};

/// One Kubernetes object found in a file.
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    pub kind: &'a str,
    pub api_version: &'a str,
    pub node: &'a Node,
    /// 1-based document index.
    pub document: usize,
}

impl<'a> Object<'a> {
    pub fn name(&self) -> String {
        pss::field_path(self.node, &["metadata", "name"])
            .and_then(Node::scalar_text)
            .or_else(|| {
                pss::field_path(self.node, &["metadata", "generateName"])
                    .and_then(Node::scalar_text)
            })
            .unwrap_or_else(|| "(unnamed)".into())
    }

    pub fn namespace(&self) -> Option<String> {
        pss::field_path(self.node, &["metadata", "namespace"]).and_then(Node::scalar_text)
    }

    pub fn resource(&self) -> Resource {
        Resource {
            kind: self.kind.to_string(),
            namespace: self.namespace(),
            name: self.name(),
        }
    }

    /// The pod metadata and spec of a Pod or of a workload's pod template.
    pub fn pod(&self) -> Option<PodView<'a>> {
        let n = self.node;
        let (meta, spec) = match self.kind {
            "Pod" => (n.get("metadata"), n.get("spec")?),
            "PodTemplate" => {
                let t = n.get("template")?;
                (t.get("metadata"), t.get("spec")?)
            }
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController" => {
                let t = n.path(&["spec", "template"])?;
                (t.get("metadata"), t.get("spec")?)
            }
            "CronJob" => {
                let t = n.path(&["spec", "jobTemplate", "spec", "template"])?;
                (t.get("metadata"), t.get("spec")?)
            }
            _ => return None,
        };
        spec.is_map().then_some(PodView {
            metadata: meta.filter(|m| m.is_map()),
            spec,
        })
    }
}

/// Kinds with a pod template.
pub const WORKLOAD_KINDS: [&str; 9] = [
    "Pod",
    "PodTemplate",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ReplicationController",
];

/// Built-in kinds that have nothing for these checks to look at: skipped quietly.
const QUIET_KINDS: [&str; 24] = [
    "Service",
    "ConfigMap",
    "Secret",
    "Namespace",
    "ServiceAccount",
    "Ingress",
    "IngressClass",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "LimitRange",
    "ResourceQuota",
    "Endpoints",
    "EndpointSlice",
    "PriorityClass",
    "Lease",
    "Event",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "RuntimeClass",
    "CSIDriver",
];

const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// The objects of a document: the root, or the items of a `List` kind.
pub fn objects<'a>(doc: &'a yaml::Document, notes: &mut Vec<String>) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    collect(&doc.root, doc.index + 1, 0, &mut out, notes);
    out
}

fn collect<'a>(
    n: &'a Node,
    document: usize,
    depth: usize,
    out: &mut Vec<Object<'a>>,
    notes: &mut Vec<String>,
) {
    if n.is_null() {
        return;
    }
    let kind = n.get("kind").and_then(Node::as_str);
    let api_version = n.get("apiVersion").and_then(Node::as_str);
    let (Some(kind), Some(api_version)) = (kind, api_version) else {
        notes.push(format!(
            "line {}: not a Kubernetes object (no apiVersion and kind); skipped",
            n.pos.line
        ));
        return;
    };
    if kind.ends_with("List") && n.get("items").is_some() {
        if depth > 4 {
            notes.push(format!(
                "line {}: {kind} nested too deep; skipped",
                n.pos.line
            ));
            return;
        }
        for item in n.get("items").map(Node::items).unwrap_or(&[]) {
            collect(item, document, depth + 1, out, notes);
        }
        return;
    }
    out.push(Object {
        kind,
        api_version,
        node: n,
        document,
    });
}

/// Whether a kind is one these checks read (anything else is noted and skipped).
fn known(kind: &str) -> bool {
    WORKLOAD_KINDS.contains(&kind)
        || RBAC_KINDS.contains(&kind)
        || kind == "NetworkPolicy"
        || QUIET_KINDS.contains(&kind)
}

/// A service account by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
}

/// What one file contributes to the checks that join files.
#[derive(Debug, Default)]
pub struct Facts {
    /// Token-automount findings of pods that leave the setting to their
    /// service account: dropped in the join when that account (among the
    /// files) sets `automountServiceAccountToken: false`.
    pub automount: Vec<(ServiceAccountRef, Finding)>,
    pub service_accounts: Vec<(ServiceAccountRef, Option<bool>)>,
    pub workloads: Vec<workload::WorkloadFact>,
    pub policies: Vec<workload::PolicyFact>,
    pub rbac: rbac::RbacFacts,
}

/// The Kubernetes analyzer.
#[derive(Debug, Default, Clone, Copy)]
pub struct K8sAnalyzer;

impl Analyzer for K8sAnalyzer {
    fn kind(&self) -> FileKind {
        FileKind::K8s
    }

    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError> {
        let is_json = file.name.to_ascii_lowercase().ends_with(".json");
        let text = if is_json {
            yaml::json_tabs_to_spaces(&file.text)
        } else {
            std::borrow::Cow::Borrowed(file.text.as_str())
        };
        let loaded = yaml::load(&file.name, &text, &ctx.options.limits);
        let mut report = FileReport::default();
        if let Some(e) = loaded.error {
            if loaded.documents.is_empty() {
                return Err(e.into());
            }
            report.errors.push(e.into());
        }
        let mut facts = Facts::default();
        for doc in &loaded.documents {
            let mut notes = Vec::new();
            for obj in objects(doc, &mut notes) {
                if !known(obj.kind) {
                    let what = if obj.kind == "CustomResourceDefinition" {
                        "a CustomResourceDefinition".to_string()
                    } else {
                        format!("kind {} ({})", obj.kind, obj.api_version)
                    };
                    report.notes.push(Note {
                        file: file.name.clone(),
                        document: Some(obj.document),
                        message: format!("{what} {:?} has no checks; skipped", obj.name()),
                    });
                    continue;
                }
                for f in check_object(&obj, &file.name, ctx) {
                    match deferred_automount(&obj, &f) {
                        Some(sa) => facts.automount.push((sa, f)),
                        None => report.findings.push(f),
                    }
                }
                if obj.kind == "ServiceAccount" {
                    facts.service_accounts.push((
                        ServiceAccountRef {
                            namespace: obj.namespace().unwrap_or_else(|| "default".into()),
                            name: obj.name(),
                        },
                        obj.node
                            .get("automountServiceAccountToken")
                            .and_then(Node::as_bool),
                    ));
                }
                workload::facts(&obj, &file.name, &mut facts);
                rbac::facts(&obj, &file.name, &mut facts.rbac);
            }
            report.notes.extend(notes.into_iter().map(|m| Note {
                file: file.name.clone(),
                document: Some(doc.index + 1),
                message: m,
            }));
        }
        report.facts = Some(Box::new(facts));
        Ok(report)
    }

    fn join(&self, facts: Vec<Box<dyn Any + Send>>, ctx: &Context<'_>) -> Vec<Finding> {
        let all: Vec<Facts> = facts
            .into_iter()
            .filter_map(|f| f.downcast::<Facts>().ok().map(|b| *b))
            .collect();
        let mut out = workload::network_policy_findings(&all, ctx);
        let accounts: Vec<&(ServiceAccountRef, Option<bool>)> =
            all.iter().flat_map(|f| &f.service_accounts).collect();
        for (sa, finding) in all.iter().flat_map(|f| &f.automount) {
            let opted_out = accounts
                .iter()
                .any(|(a, automount)| a == sa && *automount == Some(false));
            if !opted_out {
                out.push(finding.clone());
            }
        }
        out.extend(rbac::findings(&all, ctx));
        out
    }
}

/// The service account a token-automount finding depends on, when the pod
/// leaves the setting to it.
fn deferred_automount(obj: &Object<'_>, f: &Finding) -> Option<ServiceAccountRef> {
    if f.check_id != workload::AUTOMOUNT {
        return None;
    }
    let pod = obj.pod()?;
    if pod
        .spec
        .get("automountServiceAccountToken")
        .is_some_and(|n| !n.is_null())
    {
        return None;
    }
    let name = pss::field(pod.spec, "serviceAccountName")
        .or_else(|| pss::field(pod.spec, "serviceAccount"))
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| "default".into());
    Some(ServiceAccountRef {
        namespace: obj.namespace().unwrap_or_else(|| "default".into()),
        name,
    })
}

/// Every check that looks at one object alone (PSS and workload hygiene).
/// The admission webhook calls this on the object in a request.
pub fn check_object(obj: &Object<'_>, file: &str, ctx: &Context<'_>) -> Vec<Finding> {
    let Some(pod) = obj.pod() else {
        return Vec::new();
    };
    let resource = Some(obj.resource());
    let mut out = Vec::new();
    for viol in pss::evaluate(&pod, ctx.options.pss, ctx.options.k8s_version) {
        if let Some(check) = ctx.catalog.pss(viol.check) {
            out.push(
                Finding::new(check, file, viol.message)
                    .in_document(obj.document)
                    .at(viol.pos)
                    .on(resource.clone()),
            );
        }
    }
    for (id, pos, message) in workload::hygiene(&pod) {
        if let Some(check) = ctx.catalog.get(id) {
            out.push(
                Finding::new(check, file, message)
                    .in_document(obj.document)
                    .at(pos)
                    .on(resource.clone()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Catalog;

    #[test]
    fn every_id_the_code_emits_is_in_the_catalog() {
        let catalog = Catalog::builtin().unwrap();
        for id in pss::check_ids() {
            let c = catalog
                .pss(id)
                .unwrap_or_else(|| panic!("no check data for PSS check {id}"));
            assert_eq!(c.kind, FileKind::K8s);
        }
        for id in [
            workload::NO_NETWORK_POLICY,
            workload::NO_LIMITS,
            workload::LATEST_TAG,
            workload::NO_DIGEST,
            workload::AUTOMOUNT,
            workload::ENV_SECRET,
            rbac::WILDCARD,
            rbac::CLUSTER_ADMIN,
            rbac::SECRETS,
            rbac::EXEC_ATTACH,
            rbac::PORT_FORWARD,
            rbac::IMPERSONATE,
            rbac::BIND_ESCALATE,
            rbac::CREATE_WORKLOADS,
            rbac::SA_TOKEN,
            rbac::PUBLIC_SUBJECT,
        ] {
            assert!(catalog.get(id).is_some(), "{id} has no check data");
        }
    }
}
