//! The SQL of notification targets and their delivery queue. A delivery row is
//! both the queue entry (status `pending`/`sending`, `next_attempt_at`) and the
//! delivery log (attempts, last error, timestamps). Rows are queued in the same
//! transaction that stores the alerts, so a restart loses nothing.

use super::query::{get, json_of, qerr};
use super::{now_ms, Store};
use crate::error::StoreError;
use crate::model::{rfc3339, severity_rank, Page};
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

/// A notification target as stored, secrets included. Never hand this to an
/// API client as is: `crate::notify::NotificationTarget` is its redacted face.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    /// ID.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `webhook`, `slack`, `pagerduty` or `jira`.
    pub kind: String,
    /// The receiver's URL (Slack: the whole incoming-webhook URL; PagerDuty
    /// and Jira: the base URL).
    pub url: String,
    /// Secrets by name (`secret`, `routing_key`, `api_token`), JSON object.
    pub secrets: Value,
    /// Other kind-specific options (`project_key`, `issue_type`, `username`), JSON object.
    pub options: Value,
    /// Least severity delivered (upper case).
    pub min_severity: String,
    /// Whether alerts are delivered to it.
    pub enabled: bool,
    /// Only alerts of rules matching this (exact, case-insensitive; a trailing
    /// `*` matches a prefix).
    pub rule_filter: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// Created, ms.
    pub created_at: i64,
    /// Last changed, ms.
    pub updated_at: i64,
}

/// One delivery of one alert to one target: its state and its log.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct NotificationDelivery {
    /// ID (also sent to webhooks as `X-Garrison-Delivery`).
    pub id: i64,
    /// Target.
    pub target_id: String,
    /// Target's name.
    pub target_name: String,
    /// Alert.
    pub alert_id: i64,
    /// `pending` (waiting for its next attempt), `sending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// HTTP status of the last answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// The start of the receiver's last answer (Jira: the issue key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Queued.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Next attempt (pending or sending only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
}

/// Delivery list filters.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Target.
    pub target_id: Option<String>,
    /// Alert.
    pub alert_id: Option<i64>,
    /// Status.
    pub status: Option<String>,
}

/// A delivery whose attempt is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// ID.
    pub id: i64,
    /// Target.
    pub target_id: String,
    /// Alert.
    pub alert_id: i64,
    /// Status when read (`pending`, or `sending` whose lease ran out).
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Its due time when read, ms.
    pub next_attempt_at: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver accepted it.
    Delivered {
        /// HTTP status.
        status: i64,
        /// Start of the answer.
        response: String,
    },
    /// Failed; try again at `at` (ms).
    Retry {
        /// When.
        at: i64,
        /// Why.
        error: String,
        /// HTTP status, when there was an answer.
        status: Option<i64>,
    },
    /// Failed for good.
    Failed {
        /// Why.
        error: String,
        /// HTTP status, when there was an answer.
        status: Option<i64>,
    },
}

/// The statuses a delivery can have.
pub const DELIVERY_STATUSES: [&str; 4] = ["pending", "sending", "delivered", "failed"];

/// `LIKE` pattern (lower case, `\` escapes) of a rule filter.
fn rule_like(filter: &str) -> String {
    let (body, prefix) = match filter.strip_suffix('*') {
        Some(b) => (b, true),
        None => (filter, false),
    };
    let mut out = String::with_capacity(body.len() + 1);
    for c in body.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    if prefix {
        out.push('%');
    }
    out
}

fn target_of(r: &AnyRow) -> Result<TargetRow, StoreError> {
    let op = "read notification target";
    Ok(TargetRow {
        id: get(r, "id", op)?,
        name: get(r, "name", op)?,
        kind: get(r, "kind", op)?,
        url: get(r, "url", op)?,
        secrets: json_of(&get::<String>(r, "secrets", op)?, op)?,
        options: json_of(&get::<String>(r, "options", op)?, op)?,
        min_severity: get(r, "min_severity", op)?,
        enabled: get::<i64>(r, "enabled", op)? != 0,
        rule_filter: get(r, "rule_filter", op)?,
        created_by: get(r, "created_by", op)?,
        created_at: get(r, "created_at", op)?,
        updated_at: get(r, "updated_at", op)?,
    })
}

fn delivery_of(r: &AnyRow) -> Result<NotificationDelivery, StoreError> {
    let op = "read notification delivery";
    let status: String = get(r, "status", op)?;
    let next: i64 = get(r, "next_attempt_at", op)?;
    Ok(NotificationDelivery {
        id: get(r, "id", op)?,
        target_id: get(r, "target_id", op)?,
        target_name: get(r, "target_name", op)?,
        alert_id: get(r, "alert_id", op)?,
        attempts: get(r, "attempts", op)?,
        last_error: get(r, "last_error", op)?,
        last_status: get(r, "last_status", op)?,
        response: get(r, "response", op)?,
        created_at: rfc3339(get(r, "created_at", op)?),
        updated_at: rfc3339(get(r, "updated_at", op)?),
        next_attempt_at: matches!(status.as_str(), "pending" | "sending").then(|| rfc3339(next)),
        delivered_at: get::<Option<i64>>(r, "delivered_at", op)?.map(rfc3339),
        status,
    })
}

fn rank_of(t: &TargetRow) -> Result<i64, StoreError> {
    severity_rank(&t.min_severity).ok_or_else(|| StoreError::Corrupt {
        op: "write notification target".into(),
        reason: format!("unknown severity {:?}", t.min_severity),
    })
}

/// Whether any notification target is enabled (read in the ingest transaction,
/// so a batch never misses a target enabled before it commits).
pub(super) async fn any_enabled_target(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<bool, StoreError> {
    let r = sqlx::query("SELECT 1 AS one FROM notification_targets WHERE enabled = 1 LIMIT 1")
        .fetch_optional(&mut **tx)
        .await
        .map_err(qerr("look for enabled notification targets"))?;
    Ok(r.is_some())
}

/// Queues a delivery of every alert with an ID above `after_id` (the alerts
/// this ingest transaction stored: alert groups commit one at a time) to every
/// enabled target it matches; inside the ingest transaction. Returns how many
/// were queued.
pub(super) async fn enqueue_since(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    after_id: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let r = sqlx::query(
        "INSERT INTO notification_deliveries (target_id, alert_id, status, attempts, next_attempt_at, \
         created_at, updated_at) \
         SELECT t.id, a.id, 'pending', 0, $2, $2, $2 FROM alerts a JOIN notification_targets t \
         ON t.enabled = 1 AND a.severity_rank >= t.min_severity_rank \
         AND (t.rule_like IS NULL OR LOWER(a.rule) LIKE t.rule_like ESCAPE '\\') \
         WHERE a.id > $1",
    )
    .bind(after_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(qerr("queue notification deliveries"))?;
    Ok(r.rows_affected())
}

impl Store {
    /// Wakes the delivery worker (deliveries were queued).
    pub(crate) fn wake_deliveries(&self) {
        self.deliveries_queued.notify_one();
    }

    /// Waits until deliveries are queued (or a wake-up was already pending).
    pub(crate) async fn deliveries_queued(&self) {
        self.deliveries_queued.notified().await;
    }

    // -------------------------------------------------------------- targets

    /// Stores a new target; `Ok(false)` when its name is taken.
    pub async fn create_notification_target(&self, t: &TargetRow) -> Result<bool, StoreError> {
        let op = "create notification target";
        let rank = rank_of(t)?;
        let _w = self.write_slot().await;
        let r = sqlx::query(
            "INSERT INTO notification_targets (id, name, kind, url, secrets, options, min_severity, \
             min_severity_rank, enabled, rule_filter, rule_like, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.kind)
        .bind(&t.url)
        .bind(t.secrets.to_string())
        .bind(t.options.to_string())
        .bind(&t.min_severity)
        .bind(rank)
        .bind(i64::from(t.enabled))
        .bind(&t.rule_filter)
        .bind(t.rule_filter.as_deref().map(rule_like))
        .bind(&t.created_by)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(self.pool())
        .await
        .map_err(qerr(op))?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces a target's fields (by `t.id`); `Ok(None)` when there is no
    /// such target, `Ok(Some(false))` when the new name is another target's.
    pub async fn update_notification_target(
        &self,
        t: &TargetRow,
    ) -> Result<Option<bool>, StoreError> {
        let op = "update notification target";
        let rank = rank_of(t)?;
        let _w = self.write_slot().await;
        let clash = sqlx::query("SELECT id FROM notification_targets WHERE name = $1 AND id <> $2")
            .bind(&t.name)
            .bind(&t.id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr(op))?;
        if clash.is_some() {
            return Ok(Some(false));
        }
        let r = sqlx::query(
            "UPDATE notification_targets SET name = $1, kind = $2, url = $3, secrets = $4, options = $5, \
             min_severity = $6, min_severity_rank = $7, enabled = $8, rule_filter = $9, rule_like = $10, \
             updated_at = $11 WHERE id = $12",
        )
        .bind(&t.name)
        .bind(&t.kind)
        .bind(&t.url)
        .bind(t.secrets.to_string())
        .bind(t.options.to_string())
        .bind(&t.min_severity)
        .bind(rank)
        .bind(i64::from(t.enabled))
        .bind(&t.rule_filter)
        .bind(t.rule_filter.as_deref().map(rule_like))
        .bind(t.updated_at)
        .bind(&t.id)
        .execute(self.pool())
        .await
        .map_err(qerr(op))?;
        Ok((r.rows_affected() == 1).then_some(true))
    }

    /// Deletes a target and its deliveries; false when there is none.
    pub async fn delete_notification_target(&self, id: &str) -> Result<bool, StoreError> {
        let op = "delete notification target";
        let _w = self.write_slot().await;
        let mut tx = self.pool().begin().await.map_err(qerr(op))?;
        sqlx::query("DELETE FROM notification_deliveries WHERE target_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(qerr(op))?;
        let r = sqlx::query("DELETE FROM notification_targets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(qerr(op))?;
        tx.commit().await.map_err(qerr(op))?;
        Ok(r.rows_affected() == 1)
    }

    /// One target, secrets included.
    pub async fn notification_target(&self, id: &str) -> Result<Option<TargetRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM notification_targets WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(qerr("read notification target"))?;
        row.as_ref().map(target_of).transpose()
    }

    /// Every target by name, secrets included.
    pub async fn list_notification_targets(&self) -> Result<Vec<TargetRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM notification_targets ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(qerr("list notification targets"))?;
        rows.iter().map(target_of).collect()
    }

    // ----------------------------------------------------------- deliveries

    /// A page of the delivery log, newest first.
    pub async fn list_notification_deliveries(
        &self,
        f: &DeliveryFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Page<NotificationDelivery>, StoreError> {
        let op = "list notification deliveries";
        enum A {
            S(String),
            I(i64),
        }
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(t) = &f.target_id {
            args.push(A::S(t.clone()));
            conds.push(format!("d.target_id = ${}", args.len()));
        }
        if let Some(a) = f.alert_id {
            args.push(A::I(a));
            conds.push(format!("d.alert_id = ${}", args.len()));
        }
        if let Some(s) = &f.status {
            args.push(A::S(s.clone()));
            conds.push(format!("d.status = ${}", args.len()));
        }
        let wh = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        macro_rules! bound {
            ($sql:expr) => {{
                let mut q = sqlx::query(AssertSqlSafe($sql));
                for a in &args {
                    q = match a {
                        A::S(s) => q.bind(s.clone()),
                        A::I(i) => q.bind(*i),
                    };
                }
                q
            }};
        }
        let r = bound!(format!(
            "SELECT COUNT(*) AS n FROM notification_deliveries d{wh}"
        ))
        .fetch_one(self.pool())
        .await
        .map_err(qerr(op))?;
        let total: i64 = get(&r, "n", op)?;
        let n = args.len();
        let rows = bound!(format!(
            "SELECT d.*, t.name AS target_name FROM notification_deliveries d \
             JOIN notification_targets t ON t.id = d.target_id{wh} \
             ORDER BY d.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        Ok(Page {
            items: rows.iter().map(delivery_of).collect::<Result<_, _>>()?,
            total,
            offset,
            limit,
        })
    }

    /// One delivery.
    pub async fn notification_delivery(
        &self,
        id: i64,
    ) -> Result<Option<NotificationDelivery>, StoreError> {
        let row = sqlx::query(
            "SELECT d.*, t.name AS target_name FROM notification_deliveries d \
             JOIN notification_targets t ON t.id = d.target_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(qerr("read notification delivery"))?;
        row.as_ref().map(delivery_of).transpose()
    }

    /// Deliveries due at `now` (pending ones, and sending ones whose lease ran
    /// out because a server stopped mid-attempt), oldest due first.
    pub async fn due_deliveries(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let op = "read due notification deliveries";
        let rows = sqlx::query(
            "SELECT id, target_id, alert_id, status, attempts, next_attempt_at FROM notification_deliveries \
             WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: get(r, "id", op)?,
                    target_id: get(r, "target_id", op)?,
                    alert_id: get(r, "alert_id", op)?,
                    status: get(r, "status", op)?,
                    attempts: get(r, "attempts", op)?,
                    next_attempt_at: get(r, "next_attempt_at", op)?,
                })
            })
            .collect()
    }

    /// When the next delivery falls due, ms (None: nothing queued).
    pub async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError> {
        let op = "read next notification delivery";
        let r = sqlx::query(
            "SELECT MIN(next_attempt_at) AS n FROM notification_deliveries \
             WHERE status IN ('pending', 'sending')",
        )
        .fetch_one(self.pool())
        .await
        .map_err(qerr(op))?;
        get(&r, "n", op)
    }

    /// Claims a due delivery for one attempt: `sending`, attempts + 1, leased
    /// until `lease_until`. False when another worker took it first (the row
    /// changed since it was read).
    pub async fn claim_delivery(
        &self,
        d: &DueDelivery,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let _w = self.write_slot().await;
        let r = sqlx::query(
            "UPDATE notification_deliveries SET status = 'sending', attempts = attempts + 1, \
             next_attempt_at = $1, updated_at = $2 \
             WHERE id = $3 AND status = $4 AND attempts = $5 AND next_attempt_at = $6",
        )
        .bind(lease_until)
        .bind(now_ms())
        .bind(d.id)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .execute(self.pool())
        .await
        .map_err(qerr("claim notification delivery"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Records how an attempt ended.
    pub async fn finish_delivery(&self, id: i64, res: &AttemptResult) -> Result<(), StoreError> {
        let op = "record notification attempt";
        let now = now_ms();
        let _w = self.write_slot().await;
        let q = match res {
            AttemptResult::Delivered { status, response } => sqlx::query(
                "UPDATE notification_deliveries SET status = 'delivered', last_error = NULL, \
                 last_status = $1, response = $2, updated_at = $3, delivered_at = $3 WHERE id = $4",
            )
            .bind(*status)
            .bind(response.clone())
            .bind(now)
            .bind(id),
            AttemptResult::Retry { at, error, status } => sqlx::query(
                "UPDATE notification_deliveries SET status = 'pending', next_attempt_at = $1, \
                 last_error = $2, last_status = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(*at)
            .bind(error.clone())
            .bind(*status)
            .bind(now)
            .bind(id),
            AttemptResult::Failed { error, status } => sqlx::query(
                "UPDATE notification_deliveries SET status = 'failed', last_error = $1, \
                 last_status = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(error.clone())
            .bind(*status)
            .bind(now)
            .bind(id),
        };
        q.execute(self.pool()).await.map_err(qerr(op))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::rule_like;

    #[test]
    fn rule_filters_become_like_patterns() {
        assert_eq!(rule_like("Terminal shell"), "terminal shell");
        assert_eq!(rule_like("Shell*"), "shell%");
        assert_eq!(rule_like("a_b%*"), "a\\_b\\%%");
    }
}
