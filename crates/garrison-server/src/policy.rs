//! Policy push: agent groups, and per group a policy (rulesets and agent
//! configuration) with a content version that agents compare on every heartbeat.
//!
//! An agent belongs to one group (`default` unless its enrollment token named
//! another, or an admin moved it). A group's policy is a list of Falco-style
//! rules files, compiled with `garrison-rules` on upload (a broken rule is
//! refused with 422 naming file, line and rule), and an agent configuration
//! with known keys only. Its version is the SHA-256 of its canonical JSON form,
//! so the same content always has the same version. The heartbeat answer
//! carries the version the agent's group wants; an agent whose own version
//! differs fetches `GET /api/v1/agent/policy`.

use crate::api::{AdminP, ApiJson, ApiPath};
use crate::auth::{AgentIdentity, Principal};
use crate::error::{ApiError, ErrorBody};
use crate::model::{rfc3339, Agent};
use crate::store::StoredPolicy;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Most rules files in one policy.
pub const MAX_RULE_FILES: usize = 64;
/// Largest rules file, bytes.
pub const MAX_RULE_FILE: usize = 1 << 20;
/// Largest policy (all rules files together), bytes.
pub const MAX_POLICY_RULES: usize = 4 << 20;
/// Largest `PUT .../policy` body, bytes (JSON escaping included).
pub const MAX_POLICY_BODY: usize = 8 << 20;

/// One rules file of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// File name: 1-128 of `A-Z a-z 0-9 . _ -`, ending in `.yaml` or `.yml`.
    pub name: String,
    /// The file's text (Falco rules YAML).
    pub content: String,
}

/// The agent configuration a policy sets; keys left out keep the agent's own
/// setting. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Repeats of one alert within this many seconds are folded (1-86400;
    /// `garrison agent --alert-window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_window_s: Option<u64>,
    /// At most this many alerts per rule per window (1-1000000;
    /// `--alerts-per-rule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_per_rule: Option<u64>,
    /// Raw event kinds to stream besides alerts (`--events`): `all` or kind names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// A policy as an admin uploads it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Rules files, loaded in this order after the agent's own rules (the
    /// built-in ruleset, or its `--rules`), as Falco loads later files. Empty:
    /// nothing is added.
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    /// Agent configuration.
    #[serde(default)]
    pub config: AgentConfig,
}

/// A group's policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    /// The group.
    pub group: String,
    /// SHA-256 of the canonical form (hex).
    pub version: String,
    /// Rules files, in order.
    pub rules: Vec<RuleFile>,
    /// Agent configuration.
    pub config: AgentConfig,
    /// When it was set.
    pub updated_at: String,
    /// Who set it.
    pub updated_by: String,
}

/// The policy as an agent fetches it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentPolicy {
    /// SHA-256 of the canonical form (hex): send it back as the heartbeat's
    /// `policy_version` once in force.
    pub version: String,
    /// Rules files, in order (the agent's whole ruleset; empty: keep its own).
    pub rules: Vec<RuleFile>,
    /// Agent configuration (keys left out: the agent's own setting).
    pub config: AgentConfig,
}

/// An agent group.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Group {
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
    /// Agents in it (revoked ones not counted).
    pub agents: i64,
    /// Its policy's version (null: no policy).
    pub policy_version: Option<String>,
    /// When the policy was last set.
    pub policy_updated_at: Option<String>,
    /// Who set it.
    pub policy_updated_by: Option<String>,
}

/// Where to move an agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetGroup {
    /// An existing group's name.
    pub group: String,
}

/// Checks a group name: 1-64 of `A-Z a-z 0-9 . _ -`.
pub fn check_group_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ApiError::bad_request(format!(
            "group name {name:?} must be 1 to 64 characters of A-Z a-z 0-9 . _ -"
        )));
    }
    Ok(())
}

fn check_file_name(i: usize, name: &str) -> Result<(), ApiError> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty()
        || name.len() > 128
        || !ok_chars
        || name.starts_with('.')
        || !(name.ends_with(".yaml") || name.ends_with(".yml"))
    {
        return Err(ApiError::bad_request(format!(
            "rules[{i}].name {name:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ -, not starting with a dot, ending in .yaml or .yml"
        )));
    }
    Ok(())
}

/// The canonical form a version is computed over.
#[derive(Serialize)]
struct Canonical<'a> {
    rules: &'a [RuleFile],
    config: &'a AgentConfig,
}

/// The version of a policy: SHA-256 (hex) of its canonical JSON form.
pub fn version_of(rules: &[RuleFile], config: &AgentConfig) -> String {
    let canon = serde_json::to_vec(&Canonical { rules, config }).unwrap_or_default();
    hex::encode(Sha256::digest(&canon))
}

/// Validates a policy: file names, sizes, configuration values, and the rules
/// compiled together as the agent will load them. Answers its version.
pub fn validate(p: &PolicyInput) -> Result<String, ApiError> {
    if p.rules.len() > MAX_RULE_FILES {
        return Err(ApiError::bad_request(format!(
            "{} rules files; at most {MAX_RULE_FILES}",
            p.rules.len()
        )));
    }
    let mut total = 0usize;
    for (i, f) in p.rules.iter().enumerate() {
        check_file_name(i, &f.name)?;
        if p.rules[..i].iter().any(|g| g.name == f.name) {
            return Err(ApiError::bad_request(format!(
                "rules[{i}].name {:?} is given twice",
                f.name
            )));
        }
        if f.content.len() > MAX_RULE_FILE {
            return Err(ApiError::too_large(format!(
                "rules file {:?} is larger than {MAX_RULE_FILE} bytes",
                f.name
            )));
        }
        total += f.content.len();
    }
    if total > MAX_POLICY_RULES {
        return Err(ApiError::too_large(format!(
            "the rules files total {total} bytes; at most {MAX_POLICY_RULES}"
        )));
    }
    let c = &p.config;
    if let Some(w) = c.alert_window_s {
        if !(1..=86_400).contains(&w) {
            return Err(ApiError::unprocessable(format!(
                "config.alert_window_s {w} must be 1 to 86400"
            )));
        }
    }
    if let Some(n) = c.alerts_per_rule {
        if !(1..=1_000_000).contains(&n) {
            return Err(ApiError::unprocessable(format!(
                "config.alerts_per_rule {n} must be 1 to 1000000"
            )));
        }
    }
    if let Some(ev) = &c.events {
        if ev.len() > 64 {
            return Err(ApiError::unprocessable(
                "config.events names more than 64 kinds",
            ));
        }
        for (i, e) in ev.iter().enumerate() {
            garrison_event::EventKind::parse_list(e)
                .ok()
                .filter(|k| !k.is_empty() && !e.contains(','))
                .ok_or_else(|| {
                    ApiError::unprocessable(format!(
                        "config.events[{i}] {e:?} is not an event kind: use \"all\" or one of {}",
                        garrison_event::EventKind::ALL
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
        }
    }
    if !p.rules.is_empty() {
        // As an agent loads them: after its own rules (here the built-in ruleset),
        // so a policy may use and override their macros and lists.
        let mut sources = garrison_rules::embedded::sources();
        sources.extend(p.rules.iter().map(|f| (f.name.clone(), f.content.clone())));
        garrison_rules::RuleSet::from_sources(&sources, garrison_rules::LoadOptions::default())
            .map_err(|e| {
                ApiError::unprocessable(format!(
                    "the rules do not compile: {}",
                    e.0.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
    }
    Ok(version_of(&p.rules, &p.config))
}

fn internal(msg: String) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        msg,
    )
}

fn corrupt(what: &str, e: serde_json::Error) -> ApiError {
    internal(format!("stored policy {what} does not read back: {e}"))
}

fn parts_of(s: &StoredPolicy) -> Result<(Vec<RuleFile>, AgentConfig), ApiError> {
    Ok((
        serde_json::from_str(&s.rules).map_err(|e| corrupt("rules", e))?,
        serde_json::from_str(&s.config).map_err(|e| corrupt("config", e))?,
    ))
}

// --------------------------------------------------------------- handlers

/// Agent groups and their policy versions.
#[utoipa::path(get, path = "/api/v1/groups", tag = "policy",
    responses((status = 200, body = Vec<Group>), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
pub async fn list_groups(
    State(st): State<AppState>,
    _p: Principal,
) -> Result<Json<Vec<Group>>, ApiError> {
    Ok(Json(st.store.list_groups().await?))
}

/// A group's policy.
#[utoipa::path(get, path = "/api/v1/groups/{name}/policy", tag = "policy",
    params(("name" = String, Path, description = "Group name")),
    responses((status = 200, body = Policy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
pub async fn get_policy(
    State(st): State<AppState>,
    _p: Principal,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Policy>, ApiError> {
    check_group_name(&name)?;
    let Some(stored) = st.store.group_policy(&name).await? else {
        return Err(ApiError::not_found(format!("no group {name:?}")));
    };
    let Some(s) = stored else {
        return Err(ApiError::not_found(format!(
            "group {name:?} has no policy yet"
        )));
    };
    let (rules, config) = parts_of(&s)?;
    Ok(Json(Policy {
        group: name,
        version: s.version,
        rules,
        config,
        updated_at: rfc3339(s.updated_at),
        updated_by: s.updated_by,
    }))
}

/// Sets a group's policy (creating the group when new). The rules are compiled
/// first: a broken rule is refused with 422 naming file, line and rule.
#[utoipa::path(put, path = "/api/v1/groups/{name}/policy", tag = "policy", request_body = PolicyInput,
    params(("name" = String, Path, description = "Group name")),
    responses((status = 200, body = Policy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub async fn put_policy(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> Result<Json<Policy>, ApiError> {
    check_group_name(&name)?;
    // Compiling a large ruleset is CPU work: off the async workers.
    let (input, version) = tokio::task::spawn_blocking(move || {
        let v = validate(&input);
        (input, v)
    })
    .await
    .map_err(|e| internal(format!("validating the policy: {e}")))?;
    let version = version?;
    let rules_json = serde_json::to_string(&input.rules).unwrap_or_default();
    let config_json = serde_json::to_string(&input.config).unwrap_or_default();
    let actor = p.actor();
    let before = st
        .store
        .put_group_policy(&name, &version, &rules_json, &config_json, &actor)
        .await?;
    let names: Vec<&str> = input.rules.iter().map(|f| f.name.as_str()).collect();
    p.audit(
        &st,
        "policy.update",
        &format!("group:{name}"),
        json!({ "before": before, "after": version, "rules": names, "config": input.config }),
    )
    .await?;
    Ok(Json(Policy {
        group: name,
        version,
        rules: input.rules,
        config: input.config,
        updated_at: rfc3339(crate::store::now_ms()),
        updated_by: actor,
    }))
}

/// Moves an agent to another (existing) group; it picks up that group's
/// policy at its next heartbeat.
#[utoipa::path(put, path = "/api/v1/agents/{id}/group", tag = "policy", request_body = SetGroup,
    params(("id" = String, Path, description = "Agent ID")),
    responses((status = 200, body = Agent), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub async fn set_agent_group(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetGroup>,
) -> Result<Json<Agent>, ApiError> {
    check_group_name(&req.group)?;
    if !st.store.group_exists(&req.group).await? {
        return Err(ApiError::not_found(format!(
            "no group {:?} (a group is made by PUT /api/v1/groups/NAME/policy)",
            req.group
        )));
    }
    let Some(before) = st.store.set_agent_group(&id, &req.group).await? else {
        return Err(ApiError::not_found(format!("no agent {id:?}")));
    };
    p.audit(
        &st,
        "agent.group",
        &format!("agent:{id}"),
        json!({ "before": before, "after": req.group }),
    )
    .await?;
    st.store
        .agent(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no agent {id:?}")))
}

/// The policy of the calling agent's group (404 when it has none).
#[utoipa::path(get, path = "/api/v1/agent/policy", tag = "agent",
    responses((status = 200, body = AgentPolicy), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("mtls" = [])))]
pub async fn agent_policy(
    State(st): State<AppState>,
    who: AgentIdentity,
) -> Result<Json<AgentPolicy>, ApiError> {
    let group = &who.agent.group;
    let Some(Some(s)) = st.store.group_policy(group).await? else {
        return Err(ApiError::not_found(format!(
            "the agent's group {group:?} has no policy"
        )));
    };
    let (rules, config) = parts_of(&s)?;
    Ok(Json(AgentPolicy {
        version: s.version,
        rules,
        config,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "- rule: Shell\n  desc: d\n  condition: evt.type = execve and proc.name = sh\n  output: shell %proc.name\n  priority: WARNING\n";

    fn input(content: &str) -> PolicyInput {
        PolicyInput {
            rules: vec![RuleFile {
                name: "a.yaml".into(),
                content: content.into(),
            }],
            config: AgentConfig::default(),
        }
    }

    #[test]
    fn versions_follow_content_only() {
        let a = validate(&input(OK)).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, validate(&input(OK)).unwrap());
        let mut other = input(OK);
        other.config.alerts_per_rule = Some(5);
        assert_ne!(a, validate(&other).unwrap());
    }

    #[test]
    fn bad_policies_are_refused_with_the_reason() {
        let e = validate(&input(&OK.replace("proc.name = sh", "proc.nme = sh"))).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(
            e.message.contains("a.yaml:1") && e.message.contains("Shell"),
            "{}",
            e.message
        );
        let mut p = input(OK);
        p.rules[0].name = "../x.yaml".into();
        assert_eq!(validate(&p).unwrap_err().status, 400);
        let mut p = input(OK);
        p.config.events = Some(vec!["exec".into(), "bogus".into()]);
        assert!(validate(&p).unwrap_err().message.contains("events[1]"));
        let mut p = input(OK);
        p.config.alert_window_s = Some(0);
        assert_eq!(validate(&p).unwrap_err().status, 422);
        assert!(check_group_name("web-prod").is_ok());
        assert!(check_group_name("a b").is_err());
        assert!(serde_json::from_str::<AgentConfig>(r#"{"bogus": 1}"#).is_err());
    }
}
