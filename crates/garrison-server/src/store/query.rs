//! The queries: one method per operation, each naming itself in its errors.
//! Filters are always bound parameters; sort keys come from fixed lists.

use super::{now_ms, Store};
use crate::error::StoreError;
use crate::model::*;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

/// A bound value of a dynamically built query.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Integer.
    I(i64),
    /// Text.
    S(String),
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I(v) => q.bind(v),
                Arg::S(v) => q.bind(v),
            };
        }
        q
    }};
}

pub(super) fn qerr(op: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::Query {
        op: op.to_string(),
        source: e,
    }
}

fn opt_time(v: Option<i64>) -> Option<String> {
    v.map(rfc3339)
}

/// A new user's fields.
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Argon2 PHC string.
    pub password_hash: &'a str,
    /// Role.
    pub role: Role,
}

/// A user as the login path needs it.
pub struct UserAuth {
    /// The user.
    pub user: User,
    /// Argon2 PHC string.
    pub password_hash: String,
}

/// A session found by its hashed ID.
pub struct SessionRow {
    /// The user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    /// Expiry, ms.
    pub expires_at: i64,
}

/// An API token found by ID.
pub struct TokenRow {
    /// Public info.
    pub info: ApiTokenInfo,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Expiry, ms.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// The owner's current role (a token never acts above it).
    pub owner_role: Role,
}

/// An enrollment token found by ID.
pub struct EnrollRow {
    /// Public info.
    pub info: EnrollmentTokenInfo,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Expiry, ms.
    pub expires_at: i64,
}

/// An audit record to write.
pub struct NewAudit<'a> {
    /// `user`, `token`, `agent`, `system`.
    pub actor_kind: &'a str,
    /// Who.
    pub actor: &'a str,
    /// What.
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// Details.
    pub detail: Value,
    /// Peer address.
    pub remote: &'a str,
}

/// A new agent's certificate facts.
pub struct NewAgent<'a> {
    /// ID.
    pub id: &'a str,
    /// Host name.
    pub hostname: &'a str,
    /// Certificate SHA-256, hex.
    pub cert_sha256: &'a str,
    /// Serial, hex.
    pub cert_serial: &'a str,
    /// Expiry, ms.
    pub cert_not_after: i64,
    /// Enrollment token ID used.
    pub enrollment_token: &'a str,
}

/// A heartbeat to record.
pub struct HeartbeatRow<'a> {
    /// Agent.
    pub agent_id: &'a str,
    /// Agent's clock at sending, ms.
    pub sent_at: i64,
    /// Server time minus agent time, ms.
    pub skew_ms: i64,
    /// Version.
    pub version: &'a str,
    /// Kernel.
    pub kernel: &'a str,
    /// Sensor mode.
    pub sensor_mode: &'a str,
    /// Counters (JSON object).
    pub counters: &'a Value,
    /// Lost events.
    pub lost_events: i64,
    /// The whole heartbeat, JSON.
    pub body: String,
    /// The policy version in force at the agent.
    pub policy_version: Option<&'a str>,
}

/// An alert ready to store.
#[derive(Debug)]
pub struct AlertRow {
    /// Event time corrected for skew, ms.
    pub time_ms: i64,
    /// Event time by the agent's clock, ms.
    pub agent_time_ms: i64,
    /// Rule.
    pub rule: String,
    /// Priority.
    pub priority: String,
    /// Severity (normalized upper case).
    pub severity: String,
    /// Rank of severity.
    pub severity_rank: i64,
    /// Output.
    pub output: String,
    /// Process name.
    pub process_name: String,
    /// Container ID.
    pub container_id: Option<String>,
    /// The alert JSON as sent.
    pub body: String,
}

/// A vulnerability finding ready to store.
pub struct VulnRow {
    /// Advisory ID.
    pub vuln_id: String,
    /// CVE.
    pub cve: Option<String>,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// Ecosystem.
    pub ecosystem: String,
    /// Purl.
    pub purl: String,
    /// Severity.
    pub severity: String,
    /// Rank.
    pub severity_rank: i64,
    /// Fixed versions.
    pub fixed_versions: Vec<String>,
    /// Risk.
    pub risk_score: f64,
    /// Summary.
    pub summary: Option<String>,
}

/// A workload's report ready to store.
pub struct WorkloadReport {
    /// `host`, `container`, `image`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Image.
    pub image: Option<String>,
    /// Container ID.
    pub container_id: Option<String>,
    /// Distro.
    pub distro: Option<String>,
    /// Packages scanned.
    pub packages_scanned: i64,
    /// Findings.
    pub vulns: Vec<VulnRow>,
    /// For a host: the IDs of every container running on it when the inventory
    /// was taken (a full snapshot); the agent's other container workloads are
    /// marked gone. `None`: the agent sent no snapshot (nothing is marked).
    pub running_containers: Option<Vec<String>>,
}

/// How long a container workload stays listed (as gone) after its host's
/// inventory stopped naming it; then it is deleted with its findings.
pub const GONE_CONTAINER_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Most alerts committed in one group transaction.
pub const GROUP_COMMIT_ALERTS: usize = 20_000;
/// Rows per multi-row alert INSERT (14 parameters each).
const INSERT_CHUNK: usize = 100;
/// Batch IDs claimed (and agents noted) per statement.
const CLAIM_CHUNK: usize = 200;

/// An alert batch waiting for the group commit.
pub(crate) struct PendingAlerts {
    agent_id: String,
    batch_id: String,
    rows: Vec<AlertRow>,
    done: tokio::sync::oneshot::Sender<Result<Ingested, StoreError>>,
}

/// What an ingest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Stored this many items.
    Stored(i64),
    /// The batch ID was seen before from this agent: nothing stored.
    Duplicate,
}

/// Alert list filters.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    /// Minimum severity rank.
    pub min_severity: Option<i64>,
    /// Status.
    pub status: Option<String>,
    /// Agent.
    pub agent_id: Option<String>,
    /// Rule, exact.
    pub rule: Option<String>,
    /// Since, ms.
    pub since: Option<i64>,
    /// Until, ms.
    pub until: Option<i64>,
    /// Substring of the output.
    pub q: Option<String>,
    /// Sort key (validated).
    pub sort: AlertSort,
}

/// Alert sort orders.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum AlertSort {
    /// Newest first.
    #[default]
    TimeDesc,
    /// Oldest first.
    TimeAsc,
    /// Most severe first, then newest.
    SeverityDesc,
    /// Least severe first.
    SeverityAsc,
}

/// Workload list filters.
#[derive(Debug, Default, Clone)]
pub struct WorkloadFilter {
    /// Agent.
    pub agent_id: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name substring.
    pub q: Option<String>,
    /// Which workloads: current (default), gone, or all.
    pub state: WorkloadState,
    /// Sort: `name` (default), `-findings`, `-reported_at`.
    pub sort: WorkloadSort,
}

/// Current or gone workloads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadState {
    /// Running (or, for hosts, reporting): never marked gone.
    #[default]
    Current,
    /// Containers their host's inventory no longer lists.
    Gone,
    /// Both.
    All,
}

/// Workload sort orders.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadSort {
    /// By name.
    #[default]
    Name,
    /// Most findings first.
    FindingsDesc,
    /// Most recent report first.
    ReportedDesc,
}

/// Vulnerability list filters.
#[derive(Debug, Default, Clone)]
pub struct VulnFilter {
    /// Minimum severity rank.
    pub min_severity: Option<i64>,
    /// Workload.
    pub workload_id: Option<String>,
    /// Advisory ID or CVE, exact.
    pub id: Option<String>,
    /// Package, exact.
    pub package: Option<String>,
    /// Sort.
    pub sort: VulnSort,
}

/// Vulnerability sort orders.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum VulnSort {
    /// Highest risk first.
    #[default]
    RiskDesc,
    /// Most severe first.
    SeverityDesc,
    /// By package name.
    Package,
    /// By advisory ID.
    Id,
}

/// What retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    /// Alerts deleted.
    pub alerts_deleted: i64,
    /// Heartbeats deleted.
    pub heartbeats_deleted: i64,
    /// Batch IDs forgotten.
    pub batches_deleted: i64,
    /// Sessions expired.
    pub sessions_deleted: i64,
}

/// Escapes a user string for `LIKE ... ESCAPE '\'`, wrapped in `%`.
fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

pub(super) fn get<'r, T>(row: &'r AnyRow, col: &str, op: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| StoreError::Query {
        op: format!("{op}: column {col}"),
        source: e,
    })
}

fn role_of(s: &str, op: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt {
        op: op.to_string(),
        reason: format!("unknown role {s:?}"),
    })
}

pub(super) fn json_of(s: &str, op: &str) -> Result<Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        op: op.to_string(),
        reason: e.to_string(),
    })
}

/// An agent with the policy version its group wants.
const AGENT_SELECT: &str = "SELECT a.*, g.policy_version AS group_policy_version \
     FROM agents a LEFT JOIN agent_groups g ON g.name = a.group_name";

const USER_COLS: &str =
    "u.id AS u_id, u.username AS u_username, u.role AS u_role, u.created_at AS u_created_at";

fn user_of(row: &AnyRow, op: &str) -> Result<User, StoreError> {
    Ok(User {
        id: get(row, "u_id", op)?,
        username: get(row, "u_username", op)?,
        role: role_of(&get::<String>(row, "u_role", op)?, op)?,
        created_at: rfc3339(get(row, "u_created_at", op)?),
    })
}

impl Store {
    // ---------------------------------------------------------------- users

    /// Creates a user; `Ok(None)` when the name is taken.
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<Option<User>, StoreError> {
        let op = "create user";
        let _w = self.write_slot().await;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(&id)
        .bind(u.username)
        .bind(u.password_hash)
        .bind(u.role.as_str())
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(qerr(op))?;
        if r.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(User {
            id,
            username: u.username.to_string(),
            role: u.role,
            created_at: rfc3339(now),
        }))
    }

    /// A user and password hash by login name.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<UserAuth>, StoreError> {
        let op = "read user";
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLS}, u.password_hash AS ph FROM users u WHERE u.username = $1"
        )))
        .bind(username)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr(op))?;
        row.map(|r| {
            Ok(UserAuth {
                user: user_of(&r, op)?,
                password_hash: get(&r, "ph", op)?,
            })
        })
        .transpose()
    }

    /// Every user.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let op = "list users";
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users u ORDER BY u.username"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        rows.iter().map(|r| user_of(r, op)).collect()
    }

    /// How many users there are.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let op = "count users";
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(qerr(op))?;
        get(&r, "n", op)
    }

    /// Sets a user's role; false when there is no such user.
    pub async fn set_user_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r = sqlx::query("UPDATE users SET role = $1 WHERE username = $2")
            .bind(role.as_str())
            .bind(username)
            .execute(self.pool())
            .await
            .map_err(qerr("set user role"))?;
        Ok(r.rows_affected() == 1)
    }

    // ------------------------------------------------------------- sessions

    /// Stores a session.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let _w = self.write_slot().await;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now_ms())
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(qerr("create session"))?;
        Ok(())
    }

    /// A session by hashed ID.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let op = "read session";
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLS}, s.csrf AS csrf, s.expires_at AS expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
        )))
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr(op))?;
        row.map(|r| {
            Ok(SessionRow {
                user: user_of(&r, op)?,
                csrf: get(&r, "csrf", op)?,
                expires_at: get(&r, "expires_at", op)?,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let _w = self.write_slot().await;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await
            .map_err(qerr("delete session"))?;
        Ok(())
    }

    // ---------------------------------------------------------- API tokens

    /// Stores an API token.
    pub async fn create_token(
        &self,
        id: &str,
        name: &str,
        secret_hash: &str,
        role: Role,
        owner: &User,
        expires_at: Option<i64>,
    ) -> Result<ApiTokenInfo, StoreError> {
        let _w = self.write_slot().await;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO api_tokens (id, name, secret_hash, role, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(name)
        .bind(secret_hash)
        .bind(role.as_str())
        .bind(&owner.id)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await
        .map_err(qerr("create token"))?;
        Ok(ApiTokenInfo {
            id: id.to_string(),
            name: name.to_string(),
            role,
            owner: owner.username.clone(),
            created_at: rfc3339(now),
            expires_at: opt_time(expires_at),
            last_used_at: None,
            revoked_at: None,
        })
    }

    const TOKEN_SELECT: &'static str =
        "SELECT t.id AS id, t.name AS name, t.secret_hash AS secret_hash, t.role AS role, \
        t.created_at AS created_at, t.expires_at AS expires_at, t.last_used_at AS last_used_at, \
        t.revoked_at AS revoked_at, u.username AS owner, u.role AS owner_role \
        FROM api_tokens t JOIN users u ON u.id = t.user_id";

    fn token_of(r: &AnyRow) -> Result<TokenRow, StoreError> {
        let op = "read token";
        let expires_at: Option<i64> = get(r, "expires_at", op)?;
        let revoked_at: Option<i64> = get(r, "revoked_at", op)?;
        Ok(TokenRow {
            info: ApiTokenInfo {
                id: get(r, "id", op)?,
                name: get(r, "name", op)?,
                role: role_of(&get::<String>(r, "role", op)?, op)?,
                owner: get(r, "owner", op)?,
                created_at: rfc3339(get(r, "created_at", op)?),
                expires_at: opt_time(expires_at),
                last_used_at: opt_time(get(r, "last_used_at", op)?),
                revoked_at: opt_time(revoked_at),
            },
            secret_hash: get(r, "secret_hash", op)?,
            expires_at,
            revoked: revoked_at.is_some(),
            owner_role: role_of(&get::<String>(r, "owner_role", op)?, op)?,
        })
    }

    /// A token by ID.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE t.id = $1",
            Self::TOKEN_SELECT
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr("read token"))?;
        row.as_ref().map(Self::token_of).transpose()
    }

    /// Every token.
    pub async fn list_tokens(&self) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{} ORDER BY t.created_at",
            Self::TOKEN_SELECT
        )))
        .fetch_all(self.pool())
        .await
        .map_err(qerr("list tokens"))?;
        rows.iter()
            .map(|r| Self::token_of(r).map(|t| t.info))
            .collect()
    }

    /// Notes a token's use (at most once a minute per token).
    pub async fn touch_token(&self, id: &str) -> Result<(), StoreError> {
        let _w = self.write_slot().await;
        let now = now_ms();
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(self.pool())
        .await
        .map_err(qerr("touch token"))?;
        Ok(())
    }

    /// Revokes a token; false when there is no such token.
    pub async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(qerr("revoke token"))?;
        Ok(r.rows_affected() == 1)
    }

    // ---------------------------------------------------------------- audit

    /// Appends to the audit log.
    pub async fn audit(&self, a: NewAudit<'_>) -> Result<(), StoreError> {
        let _w = self.write_slot().await;
        sqlx::query(
            "INSERT INTO audit_log (at, actor_kind, actor, action, target, detail, remote) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(now_ms())
        .bind(a.actor_kind)
        .bind(a.actor)
        .bind(a.action)
        .bind(a.target)
        .bind(a.detail.to_string())
        .bind(a.remote)
        .execute(self.pool())
        .await
        .map_err(qerr("write audit log"))?;
        Ok(())
    }

    /// A page of the audit log, newest first; `action` filters by prefix.
    pub async fn list_audit(
        &self,
        action: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let op = "list audit log";
        let mut wh = String::new();
        let mut args = Vec::new();
        if let Some(a) = action {
            let mut pat = String::with_capacity(a.len() + 1);
            for c in a.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pat.push('\\');
                }
                pat.push(c);
            }
            pat.push('%');
            args.push(Arg::S(pat));
            wh = " WHERE action LIKE $1 ESCAPE '\\'".into();
        }
        let total: i64 = {
            let q = bind_args!(
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT COUNT(*) AS n FROM audit_log{wh}"
                ))),
                args.clone()
            );
            let r = q.fetch_one(self.pool()).await.map_err(qerr(op))?;
            get(&r, "n", op)?
        };
        let n = args.len();
        args.push(Arg::I(limit));
        args.push(Arg::I(offset));
        let sql = format!(
            "SELECT id, at, actor_kind, actor, action, target, detail, remote FROM audit_log{wh} \
             ORDER BY id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = bind_args!(sqlx::query(AssertSqlSafe(sql.clone())), args)
            .fetch_all(self.pool())
            .await
            .map_err(qerr(op))?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: get(r, "id", op)?,
                    at: rfc3339(get(r, "at", op)?),
                    actor_kind: get(r, "actor_kind", op)?,
                    actor: get(r, "actor", op)?,
                    action: get(r, "action", op)?,
                    target: get(r, "target", op)?,
                    detail: json_of(&get::<String>(r, "detail", op)?, op)?,
                    remote: get(r, "remote", op)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page {
            items,
            total,
            offset,
            limit,
        })
    }

    // ---------------------------------------------------- enrollment tokens

    /// Stores an enrollment token whose agents join the `default` group.
    pub async fn create_enrollment_token(
        &self,
        id: &str,
        secret_hash: &str,
        description: &str,
        created_by: &str,
        expires_at: i64,
        max_uses: i64,
    ) -> Result<EnrollmentTokenInfo, StoreError> {
        self.create_enrollment_token_in(
            id,
            secret_hash,
            description,
            created_by,
            expires_at,
            max_uses,
            "default",
        )
        .await
    }

    /// Stores an enrollment token whose agents join `group` (which must exist).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_enrollment_token_in(
        &self,
        id: &str,
        secret_hash: &str,
        description: &str,
        created_by: &str,
        expires_at: i64,
        max_uses: i64,
        group: &str,
    ) -> Result<EnrollmentTokenInfo, StoreError> {
        let _w = self.write_slot().await;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO enrollment_tokens (id, secret_hash, description, created_by, created_at, expires_at, max_uses, uses, group_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
        )
        .bind(id)
        .bind(secret_hash)
        .bind(description)
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .bind(max_uses)
        .bind(group)
        .execute(self.pool())
        .await
        .map_err(qerr("create enrollment token"))?;
        Ok(EnrollmentTokenInfo {
            id: id.to_string(),
            description: description.to_string(),
            created_by: created_by.to_string(),
            created_at: rfc3339(now),
            expires_at: rfc3339(expires_at),
            max_uses,
            uses: 0,
            revoked_at: None,
            group: group.to_string(),
        })
    }

    fn enroll_of(r: &AnyRow) -> Result<EnrollRow, StoreError> {
        let op = "read enrollment token";
        let expires_at: i64 = get(r, "expires_at", op)?;
        Ok(EnrollRow {
            info: EnrollmentTokenInfo {
                id: get(r, "id", op)?,
                description: get(r, "description", op)?,
                created_by: get(r, "created_by", op)?,
                created_at: rfc3339(get(r, "created_at", op)?),
                expires_at: rfc3339(expires_at),
                max_uses: get(r, "max_uses", op)?,
                uses: get(r, "uses", op)?,
                revoked_at: opt_time(get(r, "revoked_at", op)?),
                group: get(r, "group_name", op)?,
            },
            secret_hash: get(r, "secret_hash", op)?,
            expires_at,
        })
    }

    /// An enrollment token by ID.
    pub async fn enrollment_token(&self, id: &str) -> Result<Option<EnrollRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM enrollment_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr("read enrollment token"))?;
        row.as_ref().map(Self::enroll_of).transpose()
    }

    /// Every enrollment token.
    pub async fn list_enrollment_tokens(&self) -> Result<Vec<EnrollmentTokenInfo>, StoreError> {
        let rows = sqlx::query("SELECT * FROM enrollment_tokens ORDER BY created_at")
            .fetch_all(self.pool())
            .await
            .map_err(qerr("list enrollment tokens"))?;
        rows.iter()
            .map(|r| Self::enroll_of(r).map(|e| e.info))
            .collect()
    }

    /// Revokes an enrollment token; false when there is none.
    pub async fn revoke_enrollment_token(&self, id: &str) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r = sqlx::query(
            "UPDATE enrollment_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(qerr("revoke enrollment token"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Uses one enrollment of the token and records the agent, atomically:
    /// false (and nothing stored) when the token is spent, expired or revoked.
    pub async fn enroll_agent(&self, token_id: &str, a: NewAgent<'_>) -> Result<bool, StoreError> {
        let op = "enroll agent";
        let _w = self.write_slot().await;
        let now = now_ms();
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        let r = sqlx::query(
            "UPDATE enrollment_tokens SET uses = uses + 1 \
             WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 AND uses < max_uses",
        )
        .bind(token_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(qerr(op))?;
        if r.rows_affected() != 1 {
            tx.rollback().await.map_err(qerr(op))?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO agents (id, hostname, cert_sha256, cert_serial, cert_not_after, enrolled_at, enrollment_token, group_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT group_name FROM enrollment_tokens WHERE id = $7))",
        )
        .bind(a.id)
        .bind(a.hostname)
        .bind(a.cert_sha256)
        .bind(a.cert_serial)
        .bind(a.cert_not_after)
        .bind(now)
        .bind(a.enrollment_token)
        .execute(&mut *tx)
        .await
        .map_err(qerr(op))?;
        tx.commit().await.map_err(qerr(op))?;
        Ok(true)
    }

    // --------------------------------------------------------------- agents

    fn agent_of(r: &AnyRow) -> Result<Agent, StoreError> {
        let op = "read agent";
        let counters: Option<String> = get(r, "counters", op)?;
        Ok(Agent {
            id: get(r, "id", op)?,
            hostname: get(r, "hostname", op)?,
            cert_sha256: get(r, "cert_sha256", op)?,
            cert_not_after: rfc3339(get(r, "cert_not_after", op)?),
            enrolled_at: rfc3339(get(r, "enrolled_at", op)?),
            revoked_at: opt_time(get(r, "revoked_at", op)?),
            last_seen_at: opt_time(get(r, "last_seen_at", op)?),
            version: get(r, "version", op)?,
            kernel: get(r, "kernel", op)?,
            sensor_mode: get(r, "sensor_mode", op)?,
            counters: counters.map(|c| json_of(&c, op)).transpose()?,
            lost_events: get(r, "lost_events", op)?,
            clock_skew_ms: get(r, "clock_skew_ms", op)?,
            group: get(r, "group_name", op)?,
            policy_version: get(r, "policy_version", op)?,
            group_policy_version: get(r, "group_policy_version", op)?,
        })
    }

    /// The agent holding the certificate with this SHA-256.
    pub async fn agent_by_cert(&self, sha256: &str) -> Result<Option<Agent>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{AGENT_SELECT} WHERE a.cert_sha256 = $1"
        )))
        .bind(sha256)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr("read agent by certificate"))?;
        row.as_ref().map(Self::agent_of).transpose()
    }

    /// An agent by ID.
    pub async fn agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("{AGENT_SELECT} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr("read agent"))?;
        row.as_ref().map(Self::agent_of).transpose()
    }

    /// Every agent, by host name.
    pub async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{AGENT_SELECT} ORDER BY a.hostname, a.id"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(qerr("list agents"))?;
        rows.iter().map(Self::agent_of).collect()
    }

    /// Revokes an agent; false when there is none or it already was.
    pub async fn revoke_agent(&self, id: &str) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r =
            sqlx::query("UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(self.pool())
                .await
                .map_err(qerr("revoke agent"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Records a heartbeat and updates the agent's health; answers the policy
    /// version the agent's group wants (None: the group has no policy).
    pub async fn heartbeat(&self, h: HeartbeatRow<'_>) -> Result<Option<String>, StoreError> {
        let op = "record heartbeat";
        let _w = self.write_slot().await;
        let now = now_ms();
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        sqlx::query(
            "UPDATE agents SET last_seen_at = $1, version = $2, kernel = $3, sensor_mode = $4, \
             counters = $5, lost_events = $6, clock_skew_ms = $7, policy_version = $9 WHERE id = $8",
        )
        .bind(now)
        .bind(h.version)
        .bind(h.kernel)
        .bind(h.sensor_mode)
        .bind(h.counters.to_string())
        .bind(h.lost_events)
        .bind(h.skew_ms)
        .bind(h.agent_id)
        .bind(h.policy_version)
        .execute(&mut *tx)
        .await
        .map_err(qerr(op))?;
        sqlx::query(
            "INSERT INTO heartbeats (agent_id, received_at, sent_at, lost_events, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(h.agent_id)
        .bind(now)
        .bind(h.sent_at)
        .bind(h.lost_events)
        .bind(h.body)
        .execute(&mut *tx)
        .await
        .map_err(qerr(op))?;
        let wanted = sqlx::query(
            "SELECT g.policy_version AS v FROM agents a JOIN agent_groups g ON g.name = a.group_name WHERE a.id = $1",
        )
        .bind(h.agent_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(qerr(op))?;
        tx.commit().await.map_err(qerr(op))?;
        match wanted {
            Some(r) => get(&r, "v", op),
            None => Ok(None),
        }
    }

    /// Heartbeats stored for an agent (health history).
    pub async fn count_heartbeats(&self, agent_id: &str) -> Result<i64, StoreError> {
        let op = "count heartbeats";
        let r = sqlx::query("SELECT COUNT(*) AS n FROM heartbeats WHERE agent_id = $1")
            .bind(agent_id)
            .fetch_one(self.pool())
            .await
            .map_err(qerr(op))?;
        get(&r, "n", op)
    }

    /// Claims a batch ID for an agent inside `tx`; false when already seen.
    async fn claim_batch(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        agent_id: &str,
        batch_id: &str,
        kind: &str,
        items: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO batches (agent_id, batch_id, kind, received_at, items) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (agent_id, batch_id) DO NOTHING",
        )
        .bind(agent_id)
        .bind(batch_id)
        .bind(kind)
        .bind(now)
        .bind(items)
        .execute(&mut **tx)
        .await
        .map_err(qerr("claim batch"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Stores a batch of alerts once: a replayed batch ID stores nothing.
    ///
    /// Batches arriving together are committed together (group commit): each
    /// call queues its batch and starts a commit task; the task that gets the
    /// writer takes every queued batch (up to [`GROUP_COMMIT_ALERTS`] alerts)
    /// into one transaction. Each batch is still all or nothing: if the group's
    /// transaction fails, its batches are retried one transaction each, so one
    /// bad batch fails alone. The commit runs in its own task, so a caller that
    /// goes away (the agent hung up) never cancels a transaction holding other
    /// agents' batches; its own batch is stored and a resend is a duplicate.
    pub async fn ingest_alerts(
        &self,
        agent_id: &str,
        batch_id: &str,
        alerts: Vec<AlertRow>,
    ) -> Result<Ingested, StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.alert_queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push_back(PendingAlerts {
                agent_id: agent_id.to_string(),
                batch_id: batch_id.to_string(),
                rows: alerts,
                done,
            });
        let store = self.clone();
        tokio::spawn(async move { store.commit_queued_alerts().await });
        answer.await.map_err(|_| StoreError::Query {
            op: "store alerts: the commit task ended without an answer".into(),
            source: sqlx::Error::WorkerCrashed,
        })?
    }

    /// Takes queued alert batches and commits them in one transaction.
    async fn commit_queued_alerts(&self) {
        let _w = match self.backend {
            super::Backend::Sqlite => self.writer.lock().await,
            super::Backend::Postgres => self.alert_committer.lock().await,
        };
        let jobs: Vec<PendingAlerts> = {
            let mut q = self
                .alert_queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut rows = 0usize;
            let mut jobs = Vec::new();
            while let Some(j) = q.front() {
                if !jobs.is_empty() && rows + j.rows.len() > GROUP_COMMIT_ALERTS {
                    break;
                }
                rows += j.rows.len();
                if let Some(j) = q.pop_front() {
                    jobs.push(j);
                }
            }
            jobs
        };
        if jobs.is_empty() {
            return; // an earlier task took them
        }
        match self.store_alert_group(&jobs).await {
            Ok(results) => {
                for (j, r) in jobs.into_iter().zip(results) {
                    let _ = j.done.send(Ok(r));
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(j) = jobs.into_iter().next() {
                    let _ = j.done.send(Err(e));
                }
            }
            Err(e) => {
                tracing::debug!(
                    "group commit of {} alert batches failed ({e}); one by one",
                    jobs.len()
                );
                for j in jobs {
                    let r = self
                        .store_alert_group(std::slice::from_ref(&j))
                        .await
                        .and_then(|mut v| {
                            v.pop().ok_or_else(|| StoreError::Corrupt {
                                op: "store alerts".into(),
                                reason: "no result for the batch".into(),
                            })
                        });
                    let _ = j.done.send(r);
                }
            }
        }
    }

    /// The `n`th (1-based) bind placeholder of a generated multi-row statement.
    /// SQLite gets anonymous `?`s bound in order: with numbered ones, sqlx looks
    /// every parameter's name up in a list SQLite scans linearly, which made a
    /// 1,400-parameter INSERT quadratic (a third of the server's CPU at load).
    fn ph(&self, n: usize) -> String {
        match self.backend {
            super::Backend::Sqlite => "?".to_string(),
            super::Backend::Postgres => format!("${n}"),
        }
    }

    /// Stores alert batches in one transaction: claims their IDs (a batch ID
    /// already received from that agent, or given twice in the group, is a
    /// duplicate), inserts the alerts of the claimed ones, notes the agents seen.
    async fn store_alert_group(&self, jobs: &[PendingAlerts]) -> Result<Vec<Ingested>, StoreError> {
        let op = "store alerts";
        let now = now_ms();
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        let mut claimed = std::collections::HashSet::new();
        for chunk in jobs.chunks(CLAIM_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO batches (agent_id, batch_id, kind, received_at, items) VALUES ",
            );
            for k in 0..chunk.len() {
                let b = k * 4;
                if k > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "({}, {}, 'alerts', {}, {})",
                    self.ph(b + 1),
                    self.ph(b + 2),
                    self.ph(b + 3),
                    self.ph(b + 4)
                ));
            }
            sql.push_str(
                " ON CONFLICT (agent_id, batch_id) DO NOTHING RETURNING agent_id, batch_id",
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for j in chunk {
                q = q
                    .bind(j.agent_id.as_str())
                    .bind(j.batch_id.as_str())
                    .bind(now)
                    .bind(i64::try_from(j.rows.len()).unwrap_or(i64::MAX));
            }
            for r in q.fetch_all(&mut *tx).await.map_err(qerr(op))? {
                claimed.insert((
                    get::<String>(&r, "agent_id", op)?,
                    get::<String>(&r, "batch_id", op)?,
                ));
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut rows: Vec<(&PendingAlerts, usize, &AlertRow)> = Vec::new();
        let mut agents: Vec<&str> = Vec::new();
        for j in jobs {
            // The first of a group to name a batch ID takes it.
            if claimed.remove(&(j.agent_id.clone(), j.batch_id.clone())) {
                results.push(Ingested::Stored(
                    i64::try_from(j.rows.len()).unwrap_or(i64::MAX),
                ));
                rows.extend(j.rows.iter().enumerate().map(|(i, r)| (j, i, r)));
                if !agents.contains(&j.agent_id.as_str()) {
                    agents.push(&j.agent_id);
                }
            } else {
                results.push(Ingested::Duplicate);
            }
        }
        // Every alert above this ID is one this transaction stores: alert
        // groups commit one at a time (the writer slot on SQLite, the alert
        // committer on PostgreSQL) and nothing else inserts alerts.
        let before: i64 = if rows.is_empty() {
            0
        } else {
            let r = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM alerts")
                .fetch_one(&mut *tx)
                .await
                .map_err(qerr(op))?;
            get::<i64>(&r, "m", op)?
        };
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO alerts (agent_id, batch_id, batch_index, time_ms, agent_time_ms, received_at, rule, \
                 priority, severity, severity_rank, output, process_name, container_id, status, body) VALUES ",
            );
            for k in 0..chunk.len() {
                let b = k * 14;
                if k > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for c in 1..=14 {
                    if c == 14 {
                        sql.push_str("'open', ");
                    }
                    sql.push_str(&self.ph(b + c));
                    if c < 14 {
                        sql.push_str(", ");
                    }
                }
                sql.push(')');
            }
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (j, i, a) in chunk {
                q = q
                    .bind(j.agent_id.as_str())
                    .bind(j.batch_id.as_str())
                    .bind(i64::try_from(*i).unwrap_or(i64::MAX))
                    .bind(a.time_ms)
                    .bind(a.agent_time_ms)
                    .bind(now)
                    .bind(a.rule.as_str())
                    .bind(a.priority.as_str())
                    .bind(a.severity.as_str())
                    .bind(a.severity_rank)
                    .bind(a.output.as_str())
                    .bind(a.process_name.as_str())
                    .bind(a.container_id.as_deref())
                    .bind(a.body.as_str());
            }
            q.execute(&mut *tx).await.map_err(qerr(op))?;
        }
        for chunk in agents.chunks(CLAIM_CHUNK) {
            let list = (0..chunk.len())
                .map(|k| self.ph(k + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "UPDATE agents SET last_seen_at = {} WHERE id IN ({list})",
                self.ph(1)
            )))
            .bind(now);
            for a in chunk {
                q = q.bind(*a);
            }
            q.execute(&mut *tx).await.map_err(qerr(op))?;
        }
        // Notification deliveries are queued with the alerts, all or nothing.
        let queued = if !rows.is_empty() && super::notify::any_enabled_target(&mut tx).await? {
            super::notify::enqueue_since(&mut tx, before, now).await?
        } else {
            0
        };
        tx.commit().await.map_err(qerr(op))?;
        self.note_alert_commit();
        if queued > 0 {
            self.wake_deliveries();
        }
        Ok(results)
    }

    /// Stores workload reports once per batch ID; each report replaces the
    /// workload's previous findings.
    pub async fn ingest_inventory(
        &self,
        agent_id: &str,
        batch_id: &str,
        reports: Vec<WorkloadReport>,
    ) -> Result<Ingested, StoreError> {
        let op = "store inventory";
        let _w = self.write_slot().await;
        let now = now_ms();
        let n = i64::try_from(reports.len()).unwrap_or(i64::MAX);
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        if !Self::claim_batch(&mut tx, agent_id, batch_id, "inventory", n, now).await? {
            tx.rollback().await.map_err(qerr(op))?;
            return Ok(Ingested::Duplicate);
        }
        let mut snapshot: Option<Vec<String>> = None;
        for w in reports {
            if let Some(ids) = &w.running_containers {
                snapshot
                    .get_or_insert_with(Vec::new)
                    .extend(ids.iter().cloned());
            }
            let existing = sqlx::query(
                "SELECT id FROM workloads WHERE agent_id = $1 AND kind = $2 AND name = $3",
            )
            .bind(agent_id)
            .bind(&w.kind)
            .bind(&w.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(qerr(op))?;
            let findings = i64::try_from(w.vulns.len()).unwrap_or(i64::MAX);
            let id = match existing {
                Some(r) => {
                    let id: String = get(&r, "id", op)?;
                    sqlx::query(
                        "UPDATE workloads SET image = $1, container_id = $2, distro = $3, packages_scanned = $4, \
                         findings = $5, reported_at = $6, gone_at = NULL WHERE id = $7",
                    )
                    .bind(&w.image)
                    .bind(&w.container_id)
                    .bind(&w.distro)
                    .bind(w.packages_scanned)
                    .bind(findings)
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(qerr(op))?;
                    sqlx::query("DELETE FROM vulnerabilities WHERE workload_id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await
                        .map_err(qerr(op))?;
                    id
                }
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    sqlx::query(
                        "INSERT INTO workloads (id, agent_id, kind, name, image, container_id, distro, \
                         packages_scanned, findings, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&id)
                    .bind(agent_id)
                    .bind(&w.kind)
                    .bind(&w.name)
                    .bind(&w.image)
                    .bind(&w.container_id)
                    .bind(&w.distro)
                    .bind(w.packages_scanned)
                    .bind(findings)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(qerr(op))?;
                    id
                }
            };
            for v in w.vulns {
                let fixed =
                    serde_json::to_string(&v.fixed_versions).unwrap_or_else(|_| "[]".into());
                sqlx::query(
                    "INSERT INTO vulnerabilities (workload_id, vuln_id, cve, package, version, ecosystem, purl, \
                     severity, severity_rank, fixed_versions, risk_score, summary) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&id)
                .bind(v.vuln_id)
                .bind(v.cve)
                .bind(v.package)
                .bind(v.version)
                .bind(v.ecosystem)
                .bind(v.purl)
                .bind(v.severity)
                .bind(v.severity_rank)
                .bind(fixed)
                .bind(v.risk_score)
                .bind(v.summary)
                .execute(&mut *tx)
                .await
                .map_err(qerr(op))?;
            }
        }
        if let Some(running) = snapshot {
            Self::mark_gone_containers(&mut tx, agent_id, &running, now).await?;
        }
        tx.commit().await.map_err(qerr(op))?;
        Ok(Ingested::Stored(n))
    }

    /// An agent's inventory snapshot named `running` as its host's running
    /// containers: its other container workloads are marked gone (kept, with
    /// their last findings, for [`GONE_CONTAINER_RETENTION_MS`]; then deleted).
    async fn mark_gone_containers(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        agent_id: &str,
        running: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let op = "mark gone containers";
        let running: std::collections::HashSet<&str> = running.iter().map(String::as_str).collect();
        let rows = sqlx::query(
            "SELECT id, container_id FROM workloads WHERE agent_id = $1 AND kind = 'container' AND gone_at IS NULL",
        )
        .bind(agent_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(qerr(op))?;
        for r in rows {
            let id: String = get(&r, "id", op)?;
            let cid: Option<String> = get(&r, "container_id", op)?;
            if cid.as_deref().is_some_and(|c| running.contains(c)) {
                continue;
            }
            sqlx::query("UPDATE workloads SET gone_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&mut **tx)
                .await
                .map_err(qerr(op))?;
        }
        let expired = now.saturating_sub(GONE_CONTAINER_RETENTION_MS);
        sqlx::query(
            "DELETE FROM vulnerabilities WHERE workload_id IN (SELECT id FROM workloads \
             WHERE agent_id = $1 AND kind = 'container' AND gone_at < $2)",
        )
        .bind(agent_id)
        .bind(expired)
        .execute(&mut **tx)
        .await
        .map_err(qerr(op))?;
        sqlx::query(
            "DELETE FROM workloads WHERE agent_id = $1 AND kind = 'container' AND gone_at < $2",
        )
        .bind(agent_id)
        .bind(expired)
        .execute(&mut **tx)
        .await
        .map_err(qerr(op))?;
        Ok(())
    }

    // --------------------------------------------------------------- alerts

    fn alert_of(r: &AnyRow) -> Result<AlertRecord, StoreError> {
        let op = "read alert";
        Ok(AlertRecord {
            id: get(r, "id", op)?,
            agent_id: get(r, "agent_id", op)?,
            time: rfc3339(get(r, "time_ms", op)?),
            agent_time: rfc3339(get(r, "agent_time_ms", op)?),
            received_at: rfc3339(get(r, "received_at", op)?),
            rule: get(r, "rule", op)?,
            priority: get(r, "priority", op)?,
            severity: get(r, "severity", op)?,
            output: get(r, "output", op)?,
            process_name: get(r, "process_name", op)?,
            container_id: get(r, "container_id", op)?,
            status: get(r, "status", op)?,
            status_by: get(r, "status_by", op)?,
            status_at: opt_time(get(r, "status_at", op)?),
            alert: json_of(&get::<String>(r, "body", op)?, op)?,
        })
    }

    /// A page of alerts.
    pub async fn list_alerts(
        &self,
        f: &AlertFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Page<AlertRecord>, StoreError> {
        let op = "list alerts";
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut push = |cond: &str, a: Arg, conds: &mut Vec<String>| {
            args.push(a);
            conds.push(cond.replace("$?", &format!("${}", args.len())));
        };
        if let Some(s) = f.min_severity {
            push("severity_rank >= $?", Arg::I(s), &mut conds);
        }
        if let Some(s) = &f.status {
            push("status = $?", Arg::S(s.clone()), &mut conds);
        }
        if let Some(s) = &f.agent_id {
            push("agent_id = $?", Arg::S(s.clone()), &mut conds);
        }
        if let Some(s) = &f.rule {
            push("rule = $?", Arg::S(s.clone()), &mut conds);
        }
        if let Some(s) = f.since {
            push("time_ms >= $?", Arg::I(s), &mut conds);
        }
        if let Some(s) = f.until {
            push("time_ms < $?", Arg::I(s), &mut conds);
        }
        if let Some(s) = &f.q {
            push(
                "LOWER(output) LIKE $? ESCAPE '\\'",
                Arg::S(like_pattern(s)),
                &mut conds,
            );
        }
        let order = match f.sort {
            AlertSort::TimeDesc => "time_ms DESC, id DESC",
            AlertSort::TimeAsc => "time_ms ASC, id ASC",
            AlertSort::SeverityDesc => "severity_rank DESC, time_ms DESC, id DESC",
            AlertSort::SeverityAsc => "severity_rank ASC, time_ms DESC, id DESC",
        };
        self.page(
            op,
            "alerts",
            &conds,
            args,
            order,
            offset,
            limit,
            Self::alert_of,
        )
        .await
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr("read alert"))?;
        row.as_ref().map(Self::alert_of).transpose()
    }

    /// Sets an alert's status; false when there is no such alert.
    pub async fn set_alert_status(
        &self,
        id: i64,
        status: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r = sqlx::query(
            "UPDATE alerts SET status = $1, status_by = $2, status_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(by)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(qerr("set alert status"))?;
        Ok(r.rows_affected() == 1)
    }

    /// How many alerts are stored in all.
    pub async fn count_alerts(&self) -> Result<i64, StoreError> {
        let op = "count alerts";
        let r = sqlx::query("SELECT COUNT(*) AS n FROM alerts")
            .fetch_one(self.pool())
            .await
            .map_err(qerr(op))?;
        get(&r, "n", op)
    }

    // ------------------------------------------------------------ workloads

    fn workload_of(r: &AnyRow) -> Result<Workload, StoreError> {
        let op = "read workload";
        Ok(Workload {
            id: get(r, "id", op)?,
            agent_id: get(r, "agent_id", op)?,
            kind: get(r, "kind", op)?,
            name: get(r, "name", op)?,
            image: get(r, "image", op)?,
            container_id: get(r, "container_id", op)?,
            distro: get(r, "distro", op)?,
            packages_scanned: get(r, "packages_scanned", op)?,
            findings: get(r, "findings", op)?,
            reported_at: rfc3339(get(r, "reported_at", op)?),
            gone_at: opt_time(get(r, "gone_at", op)?),
        })
    }

    /// A page of workloads.
    pub async fn list_workloads(
        &self,
        f: &WorkloadFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Page<Workload>, StoreError> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(s) = &f.agent_id {
            args.push(Arg::S(s.clone()));
            conds.push(format!("agent_id = ${}", args.len()));
        }
        if let Some(s) = &f.kind {
            args.push(Arg::S(s.clone()));
            conds.push(format!("kind = ${}", args.len()));
        }
        if let Some(s) = &f.q {
            args.push(Arg::S(like_pattern(s)));
            conds.push(format!("LOWER(name) LIKE ${} ESCAPE '\\'", args.len()));
        }
        match f.state {
            WorkloadState::Current => conds.push("gone_at IS NULL".into()),
            WorkloadState::Gone => conds.push("gone_at IS NOT NULL".into()),
            WorkloadState::All => {}
        }
        let order = match f.sort {
            WorkloadSort::Name => "name ASC, id ASC",
            WorkloadSort::FindingsDesc => "findings DESC, name ASC",
            WorkloadSort::ReportedDesc => "reported_at DESC, name ASC",
        };
        self.page(
            "list workloads",
            "workloads",
            &conds,
            args,
            order,
            offset,
            limit,
            Self::workload_of,
        )
        .await
    }

    /// One workload.
    pub async fn workload(&self, id: &str) -> Result<Option<Workload>, StoreError> {
        let row = sqlx::query("SELECT * FROM workloads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr("read workload"))?;
        row.as_ref().map(Self::workload_of).transpose()
    }

    // ------------------------------------------------------ vulnerabilities

    fn vuln_of(r: &AnyRow) -> Result<VulnRecord, StoreError> {
        let op = "read vulnerability";
        let fixed: String = get(r, "fixed_versions", op)?;
        Ok(VulnRecord {
            id: get(r, "id", op)?,
            workload_id: get(r, "workload_id", op)?,
            workload_name: get(r, "workload_name", op)?,
            vuln_id: get(r, "vuln_id", op)?,
            cve: get(r, "cve", op)?,
            package: get(r, "package", op)?,
            version: get(r, "version", op)?,
            ecosystem: get(r, "ecosystem", op)?,
            purl: get(r, "purl", op)?,
            severity: get(r, "severity", op)?,
            fixed_versions: serde_json::from_str(&fixed).map_err(|e| StoreError::Corrupt {
                op: op.into(),
                reason: e.to_string(),
            })?,
            risk_score: get(r, "risk_score", op)?,
            summary: get(r, "summary", op)?,
        })
    }

    /// A page of vulnerability findings across the fleet.
    pub async fn list_vulns(
        &self,
        f: &VulnFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Page<VulnRecord>, StoreError> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(s) = f.min_severity {
            args.push(Arg::I(s));
            conds.push(format!("v.severity_rank >= ${}", args.len()));
        }
        if let Some(s) = &f.workload_id {
            args.push(Arg::S(s.clone()));
            conds.push(format!("v.workload_id = ${}", args.len()));
        } else {
            // Across the fleet: what runs now, not containers that are gone.
            conds.push("w.gone_at IS NULL".into());
        }
        if let Some(s) = &f.id {
            args.push(Arg::S(s.clone()));
            let n = args.len();
            conds.push(format!("(v.vuln_id = ${n} OR v.cve = ${n})"));
        }
        if let Some(s) = &f.package {
            args.push(Arg::S(s.clone()));
            conds.push(format!("v.package = ${}", args.len()));
        }
        let order = match f.sort {
            VulnSort::RiskDesc => "v.risk_score DESC, v.id ASC",
            VulnSort::SeverityDesc => "v.severity_rank DESC, v.risk_score DESC, v.id ASC",
            VulnSort::Package => "v.package ASC, v.id ASC",
            VulnSort::Id => "v.vuln_id ASC, v.id ASC",
        };
        self.page(
            "list vulnerabilities",
            "vulnerabilities v JOIN workloads w ON w.id = v.workload_id",
            &conds,
            args,
            order,
            offset,
            limit,
            Self::vuln_of,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn page<T>(
        &self,
        op: &str,
        from: &str,
        conds: &[String],
        mut args: Vec<Arg>,
        order: &str,
        offset: i64,
        limit: i64,
        of: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let wh = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let total: i64 = {
            let sql = format!("SELECT COUNT(*) AS n FROM {from}{wh}");
            let r = bind_args!(sqlx::query(AssertSqlSafe(sql.clone())), args.clone())
                .fetch_one(self.pool())
                .await
                .map_err(qerr(op))?;
            get(&r, "n", op)?
        };
        let cols = if from.starts_with("vulnerabilities") {
            "v.*, w.name AS workload_name"
        } else {
            "*"
        };
        let n = args.len();
        args.push(Arg::I(limit));
        args.push(Arg::I(offset));
        let sql = format!(
            "SELECT {cols} FROM {from}{wh} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = bind_args!(sqlx::query(AssertSqlSafe(sql.clone())), args)
            .fetch_all(self.pool())
            .await
            .map_err(qerr(op))?;
        let items = rows.iter().map(of).collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total,
            offset,
            limit,
        })
    }

    // ------------------------------------------------------------- settings

    /// The settings in force (defaults for keys never set).
    pub async fn settings(&self) -> Result<Settings, StoreError> {
        let op = "read settings";
        let rows = sqlx::query("SELECT key, value FROM settings")
            .fetch_all(self.pool())
            .await
            .map_err(qerr(op))?;
        let mut obj =
            serde_json::to_value(Settings::default()).map_err(|e| StoreError::Corrupt {
                op: op.into(),
                reason: e.to_string(),
            })?;
        for r in &rows {
            let k: String = get(r, "key", op)?;
            let v: String = get(r, "value", op)?;
            if let Some(m) = obj.as_object_mut() {
                if m.contains_key(&k) {
                    m.insert(k, json_of(&v, op)?);
                }
            }
        }
        serde_json::from_value(obj).map_err(|e| StoreError::Corrupt {
            op: op.into(),
            reason: e.to_string(),
        })
    }

    /// Stores every setting.
    pub async fn put_settings(&self, s: &Settings, by: &str) -> Result<(), StoreError> {
        let op = "write settings";
        let _w = self.write_slot().await;
        let obj = serde_json::to_value(s).map_err(|e| StoreError::Corrupt {
            op: op.into(),
            reason: e.to_string(),
        })?;
        let now = now_ms();
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        if let Some(m) = obj.as_object() {
            for (k, v) in m {
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by",
                )
                .bind(k)
                .bind(v.to_string())
                .bind(now)
                .bind(by)
                .execute(&mut *tx)
                .await
                .map_err(qerr(op))?;
            }
        }
        tx.commit().await.map_err(qerr(op))?;
        Ok(())
    }

    // ------------------------------------------------------------ retention

    /// Deletes what the retention settings say is too old or too much.
    pub async fn apply_retention(&self, s: &Settings) -> Result<RetentionReport, StoreError> {
        let op = "apply retention";
        let _w = self.write_slot().await;
        let now = now_ms();
        let day = 86_400_000i64;
        let mut rep = RetentionReport::default();
        let exec = |sql: &'static str, a: i64| async move {
            sqlx::query(sql)
                .bind(a)
                .execute(self.pool())
                .await
                .map(|r| i64::try_from(r.rows_affected()).unwrap_or(i64::MAX))
                .map_err(qerr(op))
        };
        rep.alerts_deleted += exec(
            "DELETE FROM alerts WHERE time_ms < $1",
            now - s.alert_retention_days.saturating_mul(day),
        )
        .await?;
        // Size: keep the newest `max` by ID (IDs grow with arrival).
        rep.alerts_deleted += exec(
            "DELETE FROM alerts WHERE id <= (SELECT id FROM alerts ORDER BY id DESC LIMIT 1 OFFSET $1)",
            s.alert_retention_max.max(0),
        )
        .await?;
        rep.heartbeats_deleted += exec(
            "DELETE FROM heartbeats WHERE received_at < $1",
            now - s.heartbeat_retention_days.saturating_mul(day),
        )
        .await?;
        rep.heartbeats_deleted += exec(
            "DELETE FROM heartbeats WHERE id <= (SELECT id FROM heartbeats ORDER BY id DESC LIMIT 1 OFFSET $1)",
            s.heartbeat_retention_max.max(0),
        )
        .await?;
        // Batch IDs are kept as long as alerts plus a week, so a late replay of a
        // spooled batch is still recognised.
        rep.batches_deleted += exec(
            "DELETE FROM batches WHERE received_at < $1",
            now - (s.alert_retention_days.saturating_add(7)).saturating_mul(day),
        )
        .await?;
        rep.sessions_deleted += exec("DELETE FROM sessions WHERE expires_at < $1", now).await?;
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(like_pattern("Shell"), "%shell%");
    }
}
