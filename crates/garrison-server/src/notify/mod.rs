//! Notification targets: where alerts are sent (a generic webhook, a Slack
//! incoming webhook, PagerDuty Events API v2, Jira issue creation), and the
//! worker that delivers them.
//!
//! Ingest queues one delivery per (alert, matching target) in the transaction
//! that stores the alerts (`store/notify.rs`), so ingest never waits on a
//! receiver and a restart loses nothing. The worker claims due deliveries
//! (a compare-and-set on the row, so two servers on one PostgreSQL never send
//! the same attempt), sends each with a timeout, and records the outcome:
//! delivered; failed for good (a 4xx other than 408/429, or the last allowed
//! attempt); or pending again after an exponential backoff. An attempt cut
//! short by a stopped server is retried once its lease runs out; receivers
//! may drop such a repeat by its delivery ID (webhooks) or dedup key
//! (PagerDuty).
//!
//! Callers (the API, the console) use [`create_target`], [`update_target`],
//! [`list_targets`], [`get_target`], [`delete_target`] and [`test_target`];
//! they write the audit log themselves.

pub mod api;
pub mod message;
pub mod send;

use crate::error::{ApiError, StoreError};
use crate::model::{rfc3339, severity_rank, AlertRecord, SEVERITIES};
use crate::store::{now_ms, AttemptResult, DueDelivery, Store, TargetRow};
use message::AlertContext;
use send::{SendOutcome, Sender};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::Duration;
use utoipa::ToSchema;

/// PagerDuty's Events API, when a target names no URL.
pub const PAGERDUTY_DEFAULT_URL: &str = "https://events.pagerduty.com";
/// Severity a target delivers from, when none is given.
pub const DEFAULT_MIN_SEVERITY: &str = "MEDIUM";
/// How long `test_target` waits for an answer.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How the worker retries.
#[derive(Debug, Clone)]
pub struct Options {
    /// Wait after the first failed attempt; doubles after each further one.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// Attempts before a delivery is `failed`.
    pub max_attempts: i64,
    /// Each attempt's time limit (connecting, sending, answer).
    pub timeout: Duration,
    /// How often the worker looks for due deliveries when not woken by ingest.
    pub poll: Duration,
    /// Deliveries sent at once.
    pub batch: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(5),
            batch: 16,
        }
    }
}

impl Options {
    /// The wait after `attempts` failed attempts.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.retry_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.retry_max)
    }
}

/// A notification failure: bad input (naming the field), a missing target, a
/// name clash, or storage.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A field of a target is wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such target.
    #[error("no notification target {0:?}")]
    NotFound(String),
    /// The name is another target's.
    #[error("a notification target named {0:?} exists")]
    NameTaken(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Invalid { .. } => ApiError::bad_request(e.to_string()),
            NotifyError::NotFound(_) => ApiError::not_found(e.to_string()),
            NotifyError::NameTaken(_) => ApiError::conflict(e.to_string()),
            NotifyError::Store(s) => ApiError::from(s),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> NotifyError {
    NotifyError::Invalid {
        field,
        message: message.into(),
    }
}

/// The kinds of target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// JSON of the alert POSTed to a URL, optionally signed (HMAC-SHA256).
    #[default]
    Webhook,
    /// A Slack incoming webhook (`text` and Block Kit `blocks`).
    Slack,
    /// PagerDuty Events API v2 (`POST {url}/v2/enqueue`, trigger events).
    Pagerduty,
    /// Jira issue creation (`POST {url}/rest/api/2/issue`, basic auth with an API token).
    Jira,
}

impl TargetKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Webhook => "webhook",
            TargetKind::Slack => "slack",
            TargetKind::Pagerduty => "pagerduty",
            TargetKind::Jira => "jira",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TargetKind> {
        [
            TargetKind::Webhook,
            TargetKind::Slack,
            TargetKind::Pagerduty,
            TargetKind::Jira,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Secret fields of this kind, besides the URL.
    fn secret_fields(self) -> &'static [&'static str] {
        match self {
            TargetKind::Webhook => &["secret"],
            TargetKind::Slack => &[],
            TargetKind::Pagerduty => &["routing_key"],
            TargetKind::Jira => &["api_token"],
        }
    }
}

/// A target to create. Which fields apply depends on `kind`:
/// `webhook`: `url`, optional `secret`; `slack`: `url` (the incoming-webhook
/// URL); `pagerduty`: `routing_key`, optional `url`; `jira`: `url` (the site,
/// e.g. `https://example.atlassian.net`), `project_key`, `username`,
/// `api_token`, optional `issue_type`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTarget {
    /// A unique name, 1-128 characters.
    pub name: String,
    /// Kind.
    pub kind: TargetKind,
    /// The receiver's URL (http or https).
    #[serde(default)]
    pub url: Option<String>,
    /// Least severity delivered: UNKNOWN, INFO, LOW, MEDIUM (default), HIGH, CRITICAL.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Deliver alerts (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Only alerts of this rule (case-insensitive; a trailing `*` matches a prefix).
    #[serde(default)]
    pub rule_filter: Option<String>,
    /// Webhook: the HMAC-SHA256 key that signs each body (`X-Garrison-Signature-256`). Never returned.
    #[serde(default)]
    pub secret: Option<String>,
    /// PagerDuty: the integration's routing key. Never returned.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// Jira: the project key (e.g. `OPS`).
    #[serde(default)]
    pub project_key: Option<String>,
    /// Jira: the issue type's name (default `Task`).
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Jira: the account's user name (e-mail address on Jira Cloud).
    #[serde(default)]
    pub username: Option<String>,
    /// Jira: the account's API token. Never returned.
    #[serde(default)]
    pub api_token: Option<String>,
}

/// Changes to a target: fields left out keep their value (secrets included);
/// an empty `rule_filter` or webhook `secret` removes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTarget {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New kind (its required fields must then be given).
    #[serde(default)]
    pub kind: Option<TargetKind>,
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New least severity.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New rule filter ("" removes it).
    #[serde(default)]
    pub rule_filter: Option<String>,
    /// Webhook signing key ("" removes it).
    #[serde(default)]
    pub secret: Option<String>,
    /// PagerDuty routing key.
    #[serde(default)]
    pub routing_key: Option<String>,
    /// Jira project key.
    #[serde(default)]
    pub project_key: Option<String>,
    /// Jira issue type.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Jira user name.
    #[serde(default)]
    pub username: Option<String>,
    /// Jira API token.
    #[serde(default)]
    pub api_token: Option<String>,
}

impl From<CreateTarget> for UpdateTarget {
    fn from(c: CreateTarget) -> Self {
        UpdateTarget {
            name: Some(c.name),
            kind: Some(c.kind),
            url: c.url,
            min_severity: c.min_severity,
            enabled: c.enabled,
            rule_filter: c.rule_filter,
            secret: c.secret,
            routing_key: c.routing_key,
            project_key: c.project_key,
            issue_type: c.issue_type,
            username: c.username,
            api_token: c.api_token,
        }
    }
}

/// A target as the API shows it: secrets never, URLs redacted where they
/// carry credentials (Slack's path, any password or query string).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NotificationTarget {
    /// ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: TargetKind,
    /// URL, redacted.
    pub url: String,
    /// Least severity delivered.
    pub min_severity: String,
    /// Whether alerts are delivered.
    pub enabled: bool,
    /// Rule filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_filter: Option<String>,
    /// Jira project key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_key: Option<String>,
    /// Jira issue type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// Jira user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Names of the secrets set (their values are never shown).
    pub secrets_set: Vec<String>,
    /// Creator.
    pub created_by: String,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// The outcome of a test message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TestOutcome {
    /// The receiver accepted it (2xx).
    pub delivered: bool,
    /// HTTP status, when there was an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The start of the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `url` shown without credentials: Slack webhook paths (which are the
/// secret), passwords and query strings become `***`.
pub fn redacted_url(kind: TargetKind, url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "***".into();
    };
    if kind == TargetKind::Slack {
        let host = u.host_str().unwrap_or_default().to_string();
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        return format!("{}://{host}{port}/***", u.scheme());
    }
    if u.password().is_none() && u.query().is_none() {
        return url.to_string();
    }
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        u.set_query(Some("***"));
    }
    u.to_string()
}

impl TargetRow {
    /// The target's kind (a stored name this build does not know is corrupt).
    pub fn kind(&self) -> Result<TargetKind, StoreError> {
        TargetKind::parse(&self.kind).ok_or_else(|| StoreError::Corrupt {
            op: "read notification target".into(),
            reason: format!("unknown kind {:?}", self.kind),
        })
    }

    /// The API's view: no secrets.
    pub fn public(&self) -> Result<NotificationTarget, StoreError> {
        let kind = self.kind()?;
        let opt = |k: &str| {
            self.options
                .get(k)
                .and_then(Value::as_str)
                .map(String::from)
        };
        let mut secrets_set: Vec<String> = self
            .secrets
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if kind == TargetKind::Slack {
            secrets_set.push("url".into());
        }
        Ok(NotificationTarget {
            id: self.id.clone(),
            name: self.name.clone(),
            kind,
            url: redacted_url(kind, &self.url),
            min_severity: self.min_severity.clone(),
            enabled: self.enabled,
            rule_filter: self.rule_filter.clone(),
            project_key: opt("project_key"),
            issue_type: opt("issue_type"),
            username: opt("username"),
            secrets_set,
            created_by: self.created_by.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        })
    }
}

/// Checks a receiver URL: absolute, http or https, with a host.
pub fn check_url(field: &'static str, s: &str) -> Result<(), NotifyError> {
    if s.len() > 2048 {
        return Err(invalid(field, "is longer than 2048 bytes"));
    }
    let u = url::Url::parse(s).map_err(|e| invalid(field, format!("{s:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(invalid(
            field,
            format!(
                "{s:?} uses the scheme {:?}; only http and https are allowed",
                u.scheme()
            ),
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, format!("{s:?} has no host")));
    }
    Ok(())
}

fn check_text(
    field: &'static str,
    s: &str,
    max: usize,
    spaces: bool,
) -> Result<String, NotifyError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(invalid(field, format!("must be 1 to {max} characters")));
    }
    if t.chars()
        .any(|c| c.is_control() || (!spaces && c.is_whitespace()))
    {
        return Err(invalid(
            field,
            if spaces {
                "must not hold control characters"
            } else {
                "must not hold spaces or control characters"
            },
        ));
    }
    Ok(t.to_string())
}

/// Applies `u` to `base` (None: a new target) and checks the result.
fn merge(base: Option<&TargetRow>, u: UpdateTarget, actor: &str) -> Result<TargetRow, NotifyError> {
    let now = now_ms();
    let name = match (u.name, base) {
        (Some(n), _) => check_text("name", &n, 128, true)?,
        (None, Some(b)) => b.name.clone(),
        (None, None) => return Err(invalid("name", "is required")),
    };
    let base_kind = base.and_then(|b| TargetKind::parse(&b.kind));
    let kind = u.kind.or(base_kind).ok_or_else(|| {
        invalid(
            "kind",
            "is required: one of webhook, slack, pagerduty, jira",
        )
    })?;
    // Values kept from before only when the kind stays.
    let same = base.filter(|_| base_kind == Some(kind));
    let old_secret = |k: &str| {
        same.and_then(|b| b.secrets.get(k))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let old_option = |k: &str| {
        same.and_then(|b| b.options.get(k))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let url = match u.url {
        Some(s) => Some(s.trim().to_string()),
        None => same.map(|b| b.url.clone()),
    };
    let url = match (url, kind) {
        (Some(s), _) if !s.is_empty() => s,
        (_, TargetKind::Pagerduty) => PAGERDUTY_DEFAULT_URL.to_string(),
        _ => {
            return Err(invalid(
                "url",
                format!("is required for a {} target", kind.as_str()),
            ))
        }
    };
    check_url("url", &url)?;
    let min_severity = match u.min_severity {
        Some(s) => {
            if severity_rank(&s).is_none() {
                return Err(invalid(
                    "min_severity",
                    format!("{s:?} is not one of {}", SEVERITIES.join(", ")),
                ));
            }
            s.to_ascii_uppercase()
        }
        None => base
            .map(|b| b.min_severity.clone())
            .unwrap_or_else(|| DEFAULT_MIN_SEVERITY.into()),
    };
    let enabled = u.enabled.or(base.map(|b| b.enabled)).unwrap_or(true);
    let rule_filter = match u.rule_filter {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(check_text("rule_filter", &s, 256, true)?),
        None => base.and_then(|b| b.rule_filter.clone()),
    };

    // Fields of other kinds are refused rather than ignored.
    let given: [(&'static str, &Option<String>, &[TargetKind]); 6] = [
        ("secret", &u.secret, &[TargetKind::Webhook]),
        ("routing_key", &u.routing_key, &[TargetKind::Pagerduty]),
        ("project_key", &u.project_key, &[TargetKind::Jira]),
        ("issue_type", &u.issue_type, &[TargetKind::Jira]),
        ("username", &u.username, &[TargetKind::Jira]),
        ("api_token", &u.api_token, &[TargetKind::Jira]),
    ];
    for (field, v, kinds) in given {
        if v.is_some() && !kinds.contains(&kind) {
            return Err(invalid(
                field,
                format!("does not apply to a {} target", kind.as_str()),
            ));
        }
    }
    let mut secrets = Map::new();
    let mut options = Map::new();
    match kind {
        TargetKind::Webhook => {
            let s = match u.secret {
                Some(s) if s.is_empty() => None,
                Some(s) => {
                    if s.len() > 1024 {
                        return Err(invalid("secret", "is longer than 1024 bytes"));
                    }
                    Some(s)
                }
                None => old_secret("secret"),
            };
            if let Some(s) = s {
                secrets.insert("secret".into(), json!(s));
            }
        }
        TargetKind::Slack => {}
        TargetKind::Pagerduty => {
            let k = match u.routing_key {
                Some(k) => check_text("routing_key", &k, 128, false)?,
                None => old_secret("routing_key")
                    .ok_or_else(|| invalid("routing_key", "is required for a pagerduty target"))?,
            };
            secrets.insert("routing_key".into(), json!(k));
        }
        TargetKind::Jira => {
            let tok = match u.api_token {
                Some(t) => check_text("api_token", &t, 1024, false)?,
                None => old_secret("api_token")
                    .ok_or_else(|| invalid("api_token", "is required for a jira target"))?,
            };
            secrets.insert("api_token".into(), json!(tok));
            let user = match u.username {
                Some(t) => check_text("username", &t, 256, false)?,
                None => old_option("username")
                    .ok_or_else(|| invalid("username", "is required for a jira target"))?,
            };
            let project = match u.project_key {
                Some(p) => {
                    let p = check_text("project_key", &p, 64, false)?;
                    if !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(invalid(
                            "project_key",
                            format!("{p:?} must be letters, digits and _ (a Jira project key)"),
                        ));
                    }
                    p
                }
                None => old_option("project_key")
                    .ok_or_else(|| invalid("project_key", "is required for a jira target"))?,
            };
            let issue_type = match u.issue_type {
                Some(t) => check_text("issue_type", &t, 128, true)?,
                None => old_option("issue_type").unwrap_or_else(|| "Task".into()),
            };
            options.insert("username".into(), json!(user));
            options.insert("project_key".into(), json!(project));
            options.insert("issue_type".into(), json!(issue_type));
        }
    }
    debug_assert!(secrets
        .keys()
        .all(|k| kind.secret_fields().contains(&k.as_str())));
    Ok(TargetRow {
        id: base
            .map(|b| b.id.clone())
            .unwrap_or_else(crate::auth::random_id),
        name,
        kind: kind.as_str().into(),
        url,
        secrets: Value::Object(secrets),
        options: Value::Object(options),
        min_severity,
        enabled,
        rule_filter,
        created_by: base
            .map(|b| b.created_by.clone())
            .unwrap_or_else(|| actor.to_string()),
        created_at: base.map(|b| b.created_at).unwrap_or(now),
        updated_at: now,
    })
}

/// Creates a target (`actor` is recorded as its creator).
pub async fn create_target(
    store: &Store,
    req: CreateTarget,
    actor: &str,
) -> Result<NotificationTarget, NotifyError> {
    let row = merge(None, req.into(), actor)?;
    if !store.create_notification_target(&row).await? {
        return Err(NotifyError::NameTaken(row.name));
    }
    Ok(row.public()?)
}

/// Changes a target; fields not given keep their values.
pub async fn update_target(
    store: &Store,
    id: &str,
    req: UpdateTarget,
) -> Result<NotificationTarget, NotifyError> {
    let old = store
        .notification_target(id)
        .await?
        .ok_or_else(|| NotifyError::NotFound(id.to_string()))?;
    let row = merge(Some(&old), req, &old.created_by)?;
    match store.update_notification_target(&row).await? {
        None => Err(NotifyError::NotFound(id.to_string())),
        Some(false) => Err(NotifyError::NameTaken(row.name)),
        Some(true) => Ok(row.public()?),
    }
}

/// Every target, by name.
pub async fn list_targets(store: &Store) -> Result<Vec<NotificationTarget>, NotifyError> {
    let rows = store.list_notification_targets().await?;
    Ok(rows
        .iter()
        .map(TargetRow::public)
        .collect::<Result<_, _>>()?)
}

/// One target.
pub async fn get_target(store: &Store, id: &str) -> Result<NotificationTarget, NotifyError> {
    Ok(store
        .notification_target(id)
        .await?
        .ok_or_else(|| NotifyError::NotFound(id.to_string()))?
        .public()?)
}

/// Deletes a target and its delivery log.
pub async fn delete_target(store: &Store, id: &str) -> Result<(), NotifyError> {
    if store.delete_notification_target(id).await? {
        Ok(())
    } else {
        Err(NotifyError::NotFound(id.to_string()))
    }
}

/// Sends a test message to a target now and answers how it went (the delivery
/// log is not touched).
pub async fn test_target(store: &Store, id: &str) -> Result<TestOutcome, NotifyError> {
    let t = store
        .notification_target(id)
        .await?
        .ok_or_else(|| NotifyError::NotFound(id.to_string()))?;
    let kind = t.kind()?;
    let now = rfc3339(now_ms());
    let alert = AlertRecord {
        id: 0,
        agent_id: "garrison-server".into(),
        time: now.clone(),
        agent_time: now.clone(),
        received_at: now,
        rule: "Garrison test notification".into(),
        priority: "INFORMATIONAL".into(),
        severity: "INFO".into(),
        output: format!(
            "This is a test message from Garrison to the notification target {:?}. Alerts of severity {} and above will arrive like this.",
            t.name, t.min_severity
        ),
        process_name: "garrison".into(),
        container_id: None,
        status: "open".into(),
        status_by: None,
        status_at: None,
        alert: json!({}),
    };
    let cx = AlertContext {
        alert: &alert,
        hostname: None,
        delivery_id: None,
    };
    let out = message::build(&t, kind, &cx).map_err(|e| invalid("target", e))?;
    Ok(match Sender::new(TEST_TIMEOUT).send(out).await {
        SendOutcome::Delivered { status, response } => TestOutcome {
            delivered: true,
            status: Some(status),
            response: Some(response),
            error: None,
        },
        SendOutcome::Transient { status, error, .. } | SendOutcome::Permanent { status, error } => {
            TestOutcome {
                delivered: false,
                status,
                response: None,
                error: Some(error),
            }
        }
    })
}

// ------------------------------------------------------------- the worker

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Delivers queued notifications until `stop` turns true; attempts under way
/// then finish and are recorded before it returns.
pub async fn run_worker(store: Store, opts: Options, mut stop: tokio::sync::watch::Receiver<bool>) {
    let sender = Sender::new(opts.timeout);
    loop {
        if *stop.borrow() {
            return;
        }
        match deliver_due(&store, &opts, &sender).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!("notifications: {e}"),
        }
        let wait = match store.next_delivery_due().await {
            Ok(Some(at)) => {
                Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)).min(opts.poll)
            }
            Ok(None) => opts.poll,
            Err(e) => {
                tracing::warn!("notifications: {e}");
                opts.poll
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = store.deliveries_queued() => {}
            _ = tokio::time::sleep(wait) => {}
            r = stop.changed() => if r.is_err() { return },
        }
    }
}

/// Sends the deliveries due now; answers how many were attempted.
pub async fn deliver_due(
    store: &Store,
    opts: &Options,
    sender: &Sender,
) -> Result<usize, StoreError> {
    let due = store.due_deliveries(now_ms(), opts.batch).await?;
    let mut set = tokio::task::JoinSet::new();
    for d in due {
        // The lease: a server that stops mid-attempt leaves the row to be
        // retried once it runs out.
        let lease = now_ms() + ms(opts.timeout) + 30_000;
        if !store.claim_delivery(&d, lease).await? {
            continue;
        }
        let (store, opts, sender) = (store.clone(), opts.clone(), sender.clone());
        set.spawn(async move {
            let id = d.id;
            if let Err(e) = attempt(&store, &opts, &sender, d).await {
                tracing::warn!("notification delivery {id}: {e}");
            }
        });
    }
    let n = set.len();
    while set.join_next().await.is_some() {}
    Ok(n)
}

async fn attempt(
    store: &Store,
    opts: &Options,
    sender: &Sender,
    d: DueDelivery,
) -> Result<(), StoreError> {
    let attempts = d.attempts + 1;
    let Some(target) = store.notification_target(&d.target_id).await? else {
        return Ok(()); // deleted with its deliveries
    };
    let fail = |error: String| AttemptResult::Failed {
        error,
        status: None,
    };
    let Some(alert) = store.alert(d.alert_id).await? else {
        return store
            .finish_delivery(d.id, &fail("the alert no longer exists".into()))
            .await;
    };
    if !target.enabled {
        return store
            .finish_delivery(
                d.id,
                &fail("the target was disabled before delivery".into()),
            )
            .await;
    }
    let kind = target.kind()?;
    let hostname = store.agent(&alert.agent_id).await?.map(|a| a.hostname);
    let cx = AlertContext {
        alert: &alert,
        hostname: hostname.as_deref(),
        delivery_id: Some(d.id),
    };
    let out = match message::build(&target, kind, &cx) {
        Ok(o) => o,
        Err(e) => return store.finish_delivery(d.id, &fail(e)).await,
    };
    let res = match sender.send(out).await {
        SendOutcome::Delivered { status, response } => AttemptResult::Delivered {
            status: i64::from(status),
            response,
        },
        SendOutcome::Permanent { status, error } => AttemptResult::Failed {
            error,
            status: status.map(i64::from),
        },
        SendOutcome::Transient { status, error, .. } if attempts >= opts.max_attempts => {
            AttemptResult::Failed {
                error: format!("{error} (gave up after {attempts} attempts)"),
                status: status.map(i64::from),
            }
        }
        SendOutcome::Transient {
            status,
            error,
            retry_after,
        } => {
            let wait = opts
                .backoff(attempts)
                .max(retry_after.unwrap_or_default())
                .min(opts.retry_max);
            AttemptResult::Retry {
                at: now_ms() + ms(wait),
                error,
                status: status.map(i64::from),
            }
        }
    };
    match &res {
        AttemptResult::Failed { error, .. } => tracing::warn!(
            delivery = d.id,
            target = %target.name,
            "notification failed for good: {error}"
        ),
        AttemptResult::Retry { error, .. } => tracing::info!(
            delivery = d.id,
            target = %target.name,
            attempts,
            "notification attempt failed, will retry: {error}"
        ),
        AttemptResult::Delivered { .. } => {}
    }
    store.finish_delivery(d.id, &res).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = Options {
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(300),
            ..Options::default()
        };
        assert_eq!(o.backoff(1), Duration::from_secs(30));
        assert_eq!(o.backoff(2), Duration::from_secs(60));
        assert_eq!(o.backoff(4), Duration::from_secs(240));
        assert_eq!(o.backoff(5), Duration::from_secs(300));
        assert_eq!(o.backoff(500), Duration::from_secs(300));
    }

    #[test]
    fn urls_are_checked_and_redacted() {
        assert!(check_url("url", "https://hooks.slack.com/services/T/B/X").is_ok());
        let e = check_url("url", "ftp://example.com/x")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("url: ") && e.contains("ftp"), "{e}");
        assert!(check_url("url", "not a url").is_err());
        assert!(check_url("url", "file:///etc/passwd").is_err());
        assert_eq!(
            redacted_url(TargetKind::Slack, "https://hooks.slack.com/services/T/B/X"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(
            redacted_url(TargetKind::Webhook, "https://u:pw@h.example/p?token=1"),
            "https://u:***@h.example/p?***"
        );
    }

    #[test]
    fn fields_of_other_kinds_are_refused() {
        let req = CreateTarget {
            name: "x".into(),
            kind: TargetKind::Slack,
            url: Some("https://hooks.slack.com/services/a".into()),
            routing_key: Some("k".into()),
            ..Default::default()
        };
        let e = merge(None, req.into(), "me").unwrap_err().to_string();
        assert!(e.starts_with("routing_key:"), "{e}");
        let req = CreateTarget {
            name: "x".into(),
            kind: TargetKind::Jira,
            url: Some("https://x.atlassian.net".into()),
            username: Some("u".into()),
            api_token: Some("t".into()),
            ..Default::default()
        };
        let e = merge(None, req.into(), "me").unwrap_err().to_string();
        assert!(e.starts_with("project_key:"), "{e}");
    }
}
