//! The API's vocabulary: what the store returns and the REST API sends, with
//! OpenAPI schemas. Times are RFC 3339 strings (UTC, milliseconds).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A user's role; each includes the rights of those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads everything except users, tokens, enrollment and the audit log.
    ReadOnly,
    /// Also acknowledges and resolves alerts.
    Analyst,
    /// Also manages users, tokens, enrollment, agents, settings; reads the audit log.
    Admin,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or user-given name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read-only" | "readonly" => Some(Role::ReadOnly),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Severity names in rank order (index = rank), the project's one scale.
pub const SEVERITIES: [&str; 6] = ["UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// The rank of a severity name (`UNKNOWN` = 0 ... `CRITICAL` = 5).
pub fn severity_rank(s: &str) -> Option<i64> {
    SEVERITIES
        .iter()
        .position(|x| x.eq_ignore_ascii_case(s))
        .and_then(|p| i64::try_from(p).ok())
}

/// A user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// ID.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Created.
    pub created_at: String,
}

/// An API token (never its secret, which is shown once at creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiTokenInfo {
    /// ID (also the token's visible prefix).
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// Role the token acts with (at most its owner's).
    pub role: Role,
    /// Owner's user name.
    pub owner: String,
    /// Created.
    pub created_at: String,
    /// Expiry, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Last use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// One audit-log entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: String,
    /// `user`, `token`, `agent` or `system`.
    pub actor_kind: String,
    /// Who: user name, `token:<id> (<owner>)`, agent ID.
    pub actor: String,
    /// What: `login`, `login.failed`, `alert.acknowledge`, `settings.update`, ...
    pub action: String,
    /// On what.
    pub target: String,
    /// Details (JSON object).
    #[schema(value_type = Object)]
    pub detail: Value,
    /// Peer address.
    pub remote: String,
}

/// An enrollment token (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentTokenInfo {
    /// ID.
    pub id: String,
    /// Description.
    pub description: String,
    /// Creator.
    pub created_by: String,
    /// Created.
    pub created_at: String,
    /// Expiry.
    pub expires_at: String,
    /// Enrollments allowed.
    pub max_uses: i64,
    /// Enrollments done.
    pub uses: i64,
    /// Revocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The group agents enrolled with it join.
    #[serde(default = "default_group")]
    pub group: String,
}

fn default_group() -> String {
    "default".into()
}

/// An enrolled agent and its health.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Agent {
    /// ID (the CN of its certificate).
    pub id: String,
    /// Host name it gave at enrollment.
    pub hostname: String,
    /// SHA-256 of its client certificate (hex).
    pub cert_sha256: String,
    /// Certificate expiry.
    pub cert_not_after: String,
    /// Enrolled.
    pub enrolled_at: String,
    /// Revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Last heartbeat or batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
    /// Agent version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Kernel release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Sensor mode (`ebpf`, `degraded`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor_mode: Option<String>,
    /// Counters from the last heartbeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub counters: Option<Value>,
    /// Events lost, as of the last heartbeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_events: Option<i64>,
    /// Server time minus agent time at the last heartbeat, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew_ms: Option<i64>,
    /// The group it belongs to (its policy comes from there).
    pub group: String,
    /// The policy version in force at the agent, as its last heartbeat said.
    pub policy_version: Option<String>,
    /// The policy version its group wants (null: the group has no policy).
    /// Equal to `policy_version` once the agent has picked the policy up.
    pub group_policy_version: Option<String>,
}

/// A stored alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertRecord {
    /// ID.
    pub id: i64,
    /// Agent that raised it.
    pub agent_id: String,
    /// Event time, corrected for the agent's clock skew.
    pub time: String,
    /// Event time as the agent's clock said.
    pub agent_time: String,
    /// When the server received it.
    pub received_at: String,
    /// Rule.
    pub rule: String,
    /// Falco priority.
    pub priority: String,
    /// Severity.
    pub severity: String,
    /// Rendered message.
    pub output: String,
    /// Process name.
    pub process_name: String,
    /// Container, when in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// Who set the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_by: Option<String>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_at: Option<String>,
    /// The alert exactly as the agent sent it (process, ancestry, fields, ...).
    #[schema(value_type = Object)]
    pub alert: Value,
}

/// A workload: a host or a container an agent reported inventory for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workload {
    /// ID.
    pub id: String,
    /// Reporting agent.
    pub agent_id: String,
    /// `host`, `container` or `image`.
    pub kind: String,
    /// Name (host name, container name or image reference).
    pub name: String,
    /// Image reference or digest, for containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Container ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Distro (`debian 12`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    /// Packages in the last inventory.
    pub packages_scanned: i64,
    /// Vulnerability findings in the last report.
    pub findings: i64,
    /// Last report.
    pub reported_at: String,
    /// For a container: when its host's inventory stopped listing it (it no
    /// longer runs); absent while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<String>,
}

/// A vulnerability finding on a workload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VulnRecord {
    /// ID.
    pub id: i64,
    /// Workload.
    pub workload_id: String,
    /// Workload name.
    pub workload_name: String,
    /// Advisory ID.
    pub vuln_id: String,
    /// CVE, when the advisory names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    /// Package.
    pub package: String,
    /// Installed version.
    pub version: String,
    /// Ecosystem.
    pub ecosystem: String,
    /// Package URL.
    pub purl: String,
    /// Severity.
    pub severity: String,
    /// Fixed versions named by the advisory (empty: not fixed).
    pub fixed_versions: Vec<String>,
    /// Risk score 0-100.
    pub risk_score: f64,
    /// Summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// How many match the filters in all.
    pub total: i64,
    /// Offset of the first item.
    pub offset: i64,
    /// Page size asked for.
    pub limit: i64,
}

/// Paging, shared by every list.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items to skip (default 0).
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Retention and other server settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Alerts older than this many days are deleted.
    pub alert_retention_days: i64,
    /// At most this many alerts are kept (the oldest go first).
    pub alert_retention_max: i64,
    /// Heartbeats (the event history of agent health) older than this are deleted.
    pub heartbeat_retention_days: i64,
    /// At most this many heartbeats are kept.
    pub heartbeat_retention_max: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alert_retention_days: 90,
            alert_retention_max: 5_000_000,
            heartbeat_retention_days: 14,
            heartbeat_retention_max: 5_000_000,
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, ms).
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => ms.to_string(),
    }
}

/// Parses RFC 3339 into ms since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let ms = 1_796_000_000_123;
        let s = rfc3339(ms);
        assert!(s.ends_with(".123Z"), "{s}");
        assert_eq!(parse_rfc3339(&s), Some(ms));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin > Role::Analyst && Role::Analyst > Role::ReadOnly);
        for r in [Role::Admin, Role::Analyst, Role::ReadOnly] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(severity_rank("critical"), Some(5));
        assert_eq!(severity_rank("x"), None);
    }
}
