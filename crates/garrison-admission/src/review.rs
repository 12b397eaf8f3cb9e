//! Judging one AdmissionReview v1 request: the object's pod spec through the
//! same k8s checks as `garrison check config`, plus CRITICAL vulnerabilities
//! of its images by digest, under the webhook's mode and policies.

use crate::store::ScanStore;
use garrison_misconfig::k8s::{self, pss, Object};
use garrison_misconfig::yaml::{Document, Node, Pos, Value as YValue};
use garrison_misconfig::{Catalog, Context, Finding, Options};
use garrison_model::Severity;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// What the webhook does with violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Admit, and return the violations as warnings (kubectl prints them).
    #[default]
    Warn,
    /// Admit silently; record the violations as audit annotations and in the log.
    Audit,
    /// Reject requests with violations (with warnings for the rest).
    Enforce,
}

/// What to do with images no stored scan covers (or named without a digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unscanned {
    Allow,
    #[default]
    Warn,
    Deny,
}

/// Which CRITICAL vulnerabilities count against an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CriticalPolicy {
    /// Only those with a fixed version available.
    #[default]
    Fixable,
    All,
    Off,
}

macro_rules! parse_enum {
    ($t:ty, $what:literal, $($name:literal => $v:expr),+) => {
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok($v),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}: expected one of {}"), other, [$($name),+].join(", "))),
                }
            }
        }
    };
}
parse_enum!(Mode, "mode", "warn" => Mode::Warn, "audit" => Mode::Audit, "enforce" => Mode::Enforce);
parse_enum!(Unscanned, "unscanned policy", "allow" => Unscanned::Allow, "warn" => Unscanned::Warn, "deny" => Unscanned::Deny);
parse_enum!(CriticalPolicy, "critical policy", "fixable" => CriticalPolicy::Fixable, "all" => CriticalPolicy::All, "off" => CriticalPolicy::Off);

/// The webhook's settings.
#[derive(Debug, Clone)]
pub struct Policy {
    pub mode: Mode,
    pub exclude_namespaces: BTreeSet<String>,
    pub unscanned: Unscanned,
    pub critical: CriticalPolicy,
    /// Config findings of these severities count; others are ignored.
    pub severities: BTreeSet<Severity>,
    pub options: Options,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::default(),
            exclude_namespaces: ["kube-system".to_string()].into(),
            unscanned: Unscanned::default(),
            critical: CriticalPolicy::default(),
            severities: Severity::ALL.into_iter().collect(),
            options: Options::default(),
        }
    }
}

/// A request the webhook cannot judge: answered with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// One reason to object, and whether it blocks in enforce mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    /// Counts in enforce mode (unscanned=warn only ever warns).
    pub blocking: bool,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.severity, self.id, self.message)
    }
}

/// The verdict on one request, before it is written as a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub uid: String,
    pub allowed: bool,
    pub violations: Vec<Violation>,
    /// Why the request was not judged (excluded namespace, delete...).
    pub skipped: Option<String>,
}

/// Turns JSON into a position-less node tree for the checks.
fn node(v: &Value) -> Node {
    let value = match v {
        Value::Null => YValue::Null,
        Value::Bool(b) => YValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => YValue::Int(i),
            None => YValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => YValue::Str(s.clone()),
        Value::Array(a) => YValue::Seq(a.iter().map(node).collect()),
        Value::Object(o) => YValue::Map(
            o.iter()
                .map(|(k, v)| {
                    (
                        Node {
                            value: YValue::Str(k.clone()),
                            pos: Pos::default(),
                        },
                        node(v),
                    )
                })
                .collect(),
        ),
    };
    Node {
        value,
        pos: Pos::default(),
    }
}

/// serde_json recursion is bounded (128 levels), so `node` is too.
fn parse_review(body: &[u8]) -> Result<Value, BadRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        BadRequest(format!(
            "the body is not JSON ({e}); send an AdmissionReview (admission.k8s.io/v1)"
        ))
    })?;
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "AdmissionReview" {
        return Err(BadRequest(format!(
            "kind {kind:?} is not AdmissionReview; this endpoint takes admission.k8s.io/v1 AdmissionReview requests"
        )));
    }
    if api != "admission.k8s.io/v1" {
        return Err(BadRequest(format!(
            "apiVersion {api:?} is not supported: this webhook speaks admission.k8s.io/v1 only (set admissionReviewVersions: [\"v1\"] in the webhook configuration)"
        )));
    }
    Ok(v)
}

fn images(spec: &Node) -> Vec<String> {
    let mut out: Vec<String> = pss::containers(spec)
        .filter_map(|(_, c)| c.get("image").and_then(Node::scalar_text))
        .collect();
    out.dedup();
    out
}

/// Judges an AdmissionReview request body.
pub fn review(
    body: &[u8],
    policy: &Policy,
    catalog: &Catalog,
    store: &ScanStore,
) -> Result<Verdict, BadRequest> {
    let v = parse_review(body)?;
    let req = v
        .get("request")
        .filter(|r| r.is_object())
        .ok_or_else(|| BadRequest("the AdmissionReview has no request object".into()))?;
    let uid = req
        .get("uid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| BadRequest("request.uid is missing; the response must echo it".into()))?
        .to_string();
    let mut verdict = Verdict {
        uid,
        allowed: true,
        violations: Vec::new(),
        skipped: None,
    };
    let namespace = req
        .get("namespace")
        .and_then(Value::as_str)
        .or_else(|| {
            req.pointer("/object/metadata/namespace")
                .and_then(Value::as_str)
        })
        .unwrap_or("");
    if policy.exclude_namespaces.contains(namespace) {
        verdict.skipped = Some(format!("namespace {namespace} is excluded"));
        return Ok(verdict);
    }
    let operation = req.get("operation").and_then(Value::as_str).unwrap_or("");
    let object = match req.get("object") {
        Some(o) if o.is_object() && matches!(operation, "CREATE" | "UPDATE" | "") => o,
        _ => {
            verdict.skipped = Some(format!("operation {operation} carries no object to judge"));
            return Ok(verdict);
        }
    };
    let root = node(object);
    let kind_fallback = req
        .pointer("/kind/kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let kind = root
        .get("kind")
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or(kind_fallback);
    let api_version = root
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let doc = Document { index: 0, root };
    let obj = Object {
        kind: &kind,
        api_version: &api_version,
        node: &doc.root,
        document: 1,
    };
    let Some(pod) = obj.pod() else {
        verdict.skipped = Some(format!("kind {kind} has no pod spec"));
        return Ok(verdict);
    };
    let ctx = Context {
        catalog,
        options: &policy.options,
    };
    let findings: Vec<Finding> = k8s::check_object(&obj, "admission request", &ctx);
    // One violation per check and message (the same check on several containers stays apart).
    let mut seen = BTreeMap::new();
    for f in findings
        .into_iter()
        .filter(|f| policy.severities.contains(&f.severity))
    {
        seen.entry((f.check_id.clone(), f.message.clone()))
            .or_insert(Violation {
                id: f.check_id,
                severity: f.severity,
                message: f.message,
                blocking: true,
            });
    }
    verdict.violations.extend(seen.into_values());
    for image in images(pod.spec) {
        let digest = k8s::workload::parse_image(&image)
            .digest
            .map(str::to_string);
        let found = digest.as_deref().and_then(|d| store.get(d));
        match found {
            Some(v) => {
                let ids = match policy.critical {
                    CriticalPolicy::Off => continue,
                    CriticalPolicy::Fixable => &v.critical_fixable,
                    CriticalPolicy::All => &v.critical_all,
                };
                if !ids.is_empty() {
                    let mut shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
                    if ids.len() > 5 {
                        shown.push("...");
                    }
                    verdict.violations.push(Violation {
                        id: "GAR-ADM-VULN".into(),
                        severity: Severity::Critical,
                        message: format!(
                            "image {image} has {} CRITICAL {}vulnerabilit{} ({})",
                            ids.len(),
                            if policy.critical == CriticalPolicy::Fixable {
                                "fixable "
                            } else {
                                ""
                            },
                            if ids.len() == 1 { "y" } else { "ies" },
                            shown.join(", ")
                        ),
                        blocking: true,
                    });
                }
            }
            None if policy.unscanned != Unscanned::Allow => {
                let why = if digest.is_none() {
                    "is not referenced by digest, so no stored scan can be matched"
                } else {
                    "has no stored scan result"
                };
                verdict.violations.push(Violation {
                    id: "GAR-ADM-UNSCANNED".into(),
                    severity: Severity::Unknown,
                    message: format!("image {image} {why}"),
                    blocking: policy.unscanned == Unscanned::Deny,
                });
            }
            None => {}
        }
    }
    if policy.mode == Mode::Enforce && verdict.violations.iter().any(|v| v.blocking) {
        verdict.allowed = false;
    }
    Ok(verdict)
}

/// The AdmissionReview response for a verdict, under the policy's mode.
pub fn response(verdict: &Verdict, policy: &Policy) -> Value {
    let mut resp = json!({"uid": verdict.uid, "allowed": verdict.allowed});
    let lines: Vec<String> = verdict.violations.iter().map(|v| v.to_string()).collect();
    match policy.mode {
        Mode::Audit => {
            if !lines.is_empty() {
                let mut ann = serde_json::Map::new();
                ann.insert(
                    "garrison.dev/violations".into(),
                    json!(lines.len().to_string()),
                );
                ann.insert("garrison.dev/findings".into(), json!(lines.join("; ")));
                resp["auditAnnotations"] = Value::Object(ann);
            }
        }
        Mode::Warn | Mode::Enforce => {
            if !lines.is_empty() {
                resp["warnings"] = json!(lines);
            }
        }
    }
    if !verdict.allowed {
        let blocking: Vec<String> = verdict
            .violations
            .iter()
            .filter(|v| v.blocking)
            .map(|v| v.to_string())
            .collect();
        resp["status"] = json!({
            "code": 403,
            "reason": "Forbidden",
            "message": format!("garrison denied the request: {}", blocking.join("; ")),
        });
    }
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": resp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(operation: &str, object: Value) -> Vec<u8> {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u1", "namespace": "shop", "operation": operation, "object": object},
        })
        .to_string()
        .into_bytes()
    }

    fn judge(body: &[u8]) -> Result<Verdict, BadRequest> {
        let policy = Policy {
            mode: Mode::Enforce,
            unscanned: Unscanned::Deny,
            ..Policy::default()
        };
        review(
            body,
            &policy,
            Catalog::builtin().unwrap(),
            &ScanStore::default(),
        )
    }

    #[test]
    fn objects_without_a_pod_spec_and_deletes_are_admitted() {
        let v = judge(&req("DELETE", Value::Null)).unwrap();
        assert!(v.allowed && v.skipped.is_some());
        let cm =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}});
        let v = judge(&req("CREATE", cm)).unwrap();
        assert!(v.allowed);
        assert!(v.skipped.unwrap().contains("ConfigMap"));
    }

    #[test]
    fn missing_uid_and_modes_parse() {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}});
        let e = judge(body.to_string().as_bytes()).unwrap_err();
        assert!(e.0.contains("request.uid"));
        assert_eq!("Enforce".parse::<Mode>(), Ok(Mode::Enforce));
        assert!("block"
            .parse::<Mode>()
            .unwrap_err()
            .contains("warn, audit, enforce"));
        assert_eq!("deny".parse::<Unscanned>(), Ok(Unscanned::Deny));
        assert_eq!("all".parse::<CriticalPolicy>(), Ok(CriticalPolicy::All));
    }

    #[test]
    fn responses_carry_uid_and_status_only_when_denied() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"hostPID": true, "containers": [{"name": "c", "image": "x"}]}});
        let policy = Policy {
            mode: Mode::Enforce,
            ..Policy::default()
        };
        let v = review(
            &req("CREATE", pod),
            &policy,
            Catalog::builtin().unwrap(),
            &ScanStore::default(),
        )
        .unwrap();
        assert!(!v.allowed);
        let r = response(&v, &policy);
        assert_eq!(r["response"]["uid"], "u1");
        assert_eq!(r["response"]["status"]["code"], 403);
        // The unscanned image only warns under the default policy.
        let msg = r["response"]["status"]["message"].as_str().unwrap();
        assert!(!msg.contains("GAR-ADM-UNSCANNED"), "{msg}");
        assert!(r["response"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("GAR-ADM-UNSCANNED")));
    }
}
