//! Workload hygiene beyond the Pod Security Standards: resource limits, image
//! references, service account token automount, secrets in env values, and
//! NetworkPolicy coverage (joined across the files of a run).

use super::pss::{container_name, containers, field, field_path, ContainerList, PodView};
use super::{Facts, Object};
use crate::analyzer::Context;
use crate::finding::{Finding, Resource};
use crate::yaml::{Node, Pos};
use std::collections::BTreeMap;

pub const NO_NETWORK_POLICY: &str = "GAR-K8S-030";
pub const NO_LIMITS: &str = "GAR-K8S-031";
pub const LATEST_TAG: &str = "GAR-K8S-032";
pub const NO_DIGEST: &str = "GAR-K8S-033";
pub const AUTOMOUNT: &str = "GAR-K8S-034";
pub const ENV_SECRET: &str = "GAR-K8S-035";

/// An image reference split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Splits `registry:5000/repo/name:tag@sha256:...`.
pub fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => ImageRef {
            name: &rest[..last_slash + i],
            tag: Some(&rest[last_slash + i + 1..]),
            digest,
        },
        None => ImageRef {
            name: rest,
            tag: None,
            digest,
        },
    }
}

const SECRET_WORDS: [&str; 12] = [
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "AUTH_KEY",
    "CLIENT_SECRET",
    "CONNECTION_STRING",
];

/// Names that say the value is where a secret is, not the secret.
const REFERENCE_SUFFIXES: [&str; 8] = [
    "_FILE",
    "_PATH",
    "_DIR",
    "_URL",
    "_NAME",
    "_ENDPOINT",
    "_HEADER",
    "_TTL",
];

/// Values that are credentials whatever the variable is called.
fn looks_like_credential(v: &str) -> bool {
    let prefixed = [
        "AKIA",
        "ASIA",
        "ghp_",
        "gho_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "sk_live_",
        "-----BEGIN",
    ];
    prefixed.iter().any(|p| v.starts_with(p) && v.len() >= 16)
}

fn secret_env(name: &str, value: &str) -> bool {
    if value.trim().is_empty() || value.starts_with("$(") {
        return looks_like_credential(value);
    }
    let upper = name.to_ascii_uppercase();
    let named = SECRET_WORDS.iter().any(|w| upper.contains(w))
        && !REFERENCE_SUFFIXES.iter().any(|s| upper.ends_with(s));
    named || looks_like_credential(value)
}

/// The hygiene checks of one pod: `(check id, where, message)`.
pub fn hygiene(pod: &PodView<'_>) -> Vec<(&'static str, Pos, String)> {
    let mut out = Vec::new();
    for (list, c) in containers(pod.spec) {
        let name = container_name(c);
        if list != ContainerList::Ephemeral {
            let limits = field_path(c, &["resources", "limits"]);
            let missing: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|k| limits.and_then(|l| field(l, k)).is_none())
                .collect();
            if !missing.is_empty() {
                let pos = limits
                    .or_else(|| field(c, "resources"))
                    .map_or(c.pos, |n| n.pos);
                out.push((
                    NO_LIMITS,
                    pos,
                    format!("container {name:?} sets no {} limit", missing.join(" or ")),
                ));
            }
        }
        if let Some(img) = field(c, "image") {
            let image = img.scalar_text().unwrap_or_default();
            let r = parse_image(&image);
            if r.digest.is_none() {
                match r.tag {
                    None | Some("latest") => out.push((
                        LATEST_TAG,
                        img.pos,
                        format!("container {name:?} uses image {image:?}, which follows the moving latest tag"),
                    )),
                    Some(_) => out.push((
                        NO_DIGEST,
                        img.pos,
                        format!("container {name:?} uses image {image:?} by tag, not by digest"),
                    )),
                }
            }
        }
        for env in c.get("env").map(Node::items).unwrap_or(&[]) {
            let var = env
                .get("name")
                .and_then(Node::scalar_text)
                .unwrap_or_default();
            if let Some(val) = field(env, "value") {
                let value = val.scalar_text().unwrap_or_default();
                if secret_env(&var, &value) {
                    out.push((
                        ENV_SECRET,
                        val.pos,
                        format!("container {name:?} sets {var} to a literal value that looks like a secret"),
                    ));
                }
            }
        }
    }
    match field(pod.spec, "automountServiceAccountToken") {
        Some(n) if n.as_bool() == Some(false) => {}
        Some(n) => out.push((
            AUTOMOUNT,
            n.pos,
            "pod sets automountServiceAccountToken: true".into(),
        )),
        None => out.push((
            AUTOMOUNT,
            pod.spec.pos,
            "pod does not set automountServiceAccountToken: false, so the service account token is mounted".into(),
        )),
    }
    out
}

/// A workload's pod labels, for NetworkPolicy coverage.
#[derive(Debug, Clone)]
pub struct WorkloadFact {
    pub file: String,
    pub document: usize,
    pub pos: Pos,
    pub resource: Resource,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
}

/// A NetworkPolicy's namespace and pod selector.
#[derive(Debug, Clone)]
pub struct PolicyFact {
    pub namespace: String,
    pub selector: Selector,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn from_node(n: Option<&Node>) -> Selector {
        let mut s = Selector::default();
        let Some(n) = n else { return s };
        for (k, v) in field(n, "matchLabels").map(Node::entries).unwrap_or(&[]) {
            s.match_labels.insert(
                k.scalar_text().unwrap_or_default(),
                v.scalar_text().unwrap_or_default(),
            );
        }
        for e in field(n, "matchExpressions").map(Node::items).unwrap_or(&[]) {
            let values = e
                .get("values")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::scalar_text)
                .collect();
            s.expressions.push((
                e.get("key").and_then(Node::scalar_text).unwrap_or_default(),
                e.get("operator")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
                values,
            ));
        }
        s
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, vals)| {
                let have = labels.get(k);
                match op.as_str() {
                    "In" => have.is_some_and(|h| vals.contains(h)),
                    "NotIn" => have.is_none_or(|h| !vals.contains(h)),
                    "Exists" => have.is_some(),
                    "DoesNotExist" => have.is_none(),
                    _ => false,
                }
            })
    }
}

pub(super) fn facts(obj: &Object<'_>, file: &str, facts: &mut Facts) {
    let namespace = obj.namespace().unwrap_or_else(|| "default".into());
    if obj.kind == "NetworkPolicy" {
        facts.policies.push(PolicyFact {
            namespace,
            selector: Selector::from_node(field_path(obj.node, &["spec", "podSelector"])),
        });
        return;
    }
    if obj.kind == "PodTemplate" {
        return;
    }
    let Some(pod) = obj.pod() else { return };
    let labels = pod
        .metadata
        .and_then(|m| field(m, "labels"))
        .map(Node::entries)
        .unwrap_or(&[])
        .iter()
        .map(|(k, v)| {
            (
                k.scalar_text().unwrap_or_default(),
                v.scalar_text().unwrap_or_default(),
            )
        })
        .collect();
    facts.workloads.push(WorkloadFact {
        file: file.to_string(),
        document: obj.document,
        pos: obj.node.get("kind").map_or(obj.node.pos, |k| k.pos),
        resource: obj.resource(),
        namespace,
        labels,
    });
}

pub(super) fn network_policy_findings(all: &[Facts], ctx: &Context<'_>) -> Vec<Finding> {
    let Some(check) = ctx.catalog.get(NO_NETWORK_POLICY) else {
        return Vec::new();
    };
    let mut policies: std::collections::HashMap<&str, Vec<&Selector>> =
        std::collections::HashMap::new();
    for p in all.iter().flat_map(|f| &f.policies) {
        policies.entry(&p.namespace).or_default().push(&p.selector);
    }
    all.iter()
        .flat_map(|f| &f.workloads)
        .filter(|w| {
            !policies
                .get(w.namespace.as_str())
                .is_some_and(|ps| ps.iter().any(|s| s.matches(&w.labels)))
        })
        .map(|w| {
            Finding::new(
                check,
                &w.file,
                format!(
                    "no NetworkPolicy in namespace {:?} among the files checked selects the pods of {}",
                    w.namespace, w.resource
                ),
            )
            .in_document(w.document)
            .at(w.pos)
            .on(Some(w.resource.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split() {
        let r = parse_image("registry:5000/team/app:1.2@sha256:abc");
        assert_eq!(
            (r.name, r.tag, r.digest),
            ("registry:5000/team/app", Some("1.2"), Some("sha256:abc"))
        );
        assert_eq!(parse_image("registry:5000/app").tag, None);
        assert_eq!(parse_image("nginx").tag, None);
        assert_eq!(parse_image("nginx:latest").tag, Some("latest"));
        assert_eq!(parse_image("nginx@sha256:1").tag, None);
    }

    #[test]
    fn secret_like_env_values() {
        assert!(secret_env("DB_PASSWORD", "hunter2"));
        assert!(secret_env("GITHUB", "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!secret_env("DB_PASSWORD_FILE", "/run/secrets/db"));
        assert!(!secret_env("TOKEN", ""));
        assert!(!secret_env("LOG_LEVEL", "debug"));
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        assert!(Selector::default().matches(&labels));
        let mut s = Selector::default();
        s.expressions
            .push(("app".into(), "In".into(), vec!["web".into()]));
        assert!(s.matches(&labels));
        s.expressions.push(("tier".into(), "Exists".into(), vec![]));
        assert!(!s.matches(&labels));
    }
}
