//! Aggregates for the console's overview and fleet views (counts grouped by
//! kind, day or advisory); the lists themselves come from `query`.

use super::Store;
use crate::error::StoreError;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Milliseconds in a day: the overview chart's bucket.
pub const DAY_MS: i64 = 86_400_000;

/// Workloads of one kind reported by one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadCount {
    /// `host`, `container` or `image`.
    pub kind: String,
    /// Reporting agent.
    pub agent_id: String,
    /// How many.
    pub count: i64,
}

/// Alerts of one severity raised on one day and resolved on another (or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertDayCount {
    /// Severity rank.
    pub severity_rank: i64,
    /// Day raised (days since the epoch, UTC).
    pub raised_day: i64,
    /// Day resolved, when resolved.
    pub resolved_day: Option<i64>,
    /// How many.
    pub count: i64,
}

/// One advisory (by CVE when it names one) across the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryCount {
    /// CVE, or the advisory ID when it names no CVE.
    pub id: String,
    /// Highest severity rank among its findings.
    pub severity_rank: i64,
    /// Highest risk score.
    pub risk_score: f64,
    /// Workloads affected.
    pub workloads: i64,
    /// Distinct packages affected.
    pub packages: i64,
    /// One affected package (the first by name).
    pub package: String,
    /// A summary.
    pub summary: Option<String>,
}

fn get<'r, T>(row: &'r AnyRow, col: &str, op: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(|e| StoreError::Query {
        op: format!("{op}: column {col}"),
        source: e,
    })
}

fn qerr(op: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Query {
        op: op.to_string(),
        source: e,
    }
}

impl Store {
    /// Current workload counts per kind and agent (gone containers left out).
    pub async fn workload_counts(&self) -> Result<Vec<WorkloadCount>, StoreError> {
        let op = "count workloads";
        let rows = sqlx::query(
            "SELECT kind, agent_id, COUNT(*) AS n FROM workloads WHERE gone_at IS NULL \
             GROUP BY kind, agent_id ORDER BY kind, agent_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        rows.iter()
            .map(|r| {
                Ok(WorkloadCount {
                    kind: get(r, "kind", op)?,
                    agent_id: get(r, "agent_id", op)?,
                    count: get(r, "n", op)?,
                })
            })
            .collect()
    }

    /// Alerts that were not yet resolved at `since_ms` or later, counted per
    /// severity, day raised and day resolved: enough to tell how many were
    /// open at the end of every day from then on.
    pub async fn alert_day_counts(&self, since_ms: i64) -> Result<Vec<AlertDayCount>, StoreError> {
        let op = "count alerts per day";
        let rows = sqlx::query(
            "SELECT severity_rank, time_ms / 86400000 AS d0, \
             CASE WHEN status = 'resolved' THEN status_at / 86400000 END AS d1, COUNT(*) AS n \
             FROM alerts WHERE status <> 'resolved' OR status_at >= $1 \
             GROUP BY 1, 2, 3",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        rows.iter()
            .map(|r| {
                Ok(AlertDayCount {
                    severity_rank: get(r, "severity_rank", op)?,
                    raised_day: get(r, "d0", op)?,
                    resolved_day: get(r, "d1", op)?,
                    count: get(r, "n", op)?,
                })
            })
            .collect()
    }

    /// Advisories across the fleet, highest risk first, at or above a severity
    /// rank: (one page, how many in all).
    pub async fn advisory_counts(
        &self,
        min_severity: i64,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<AdvisoryCount>, i64), StoreError> {
        let op = "count vulnerabilities per advisory";
        let total_row = sqlx::query(
            "SELECT COUNT(DISTINCT COALESCE(cve, vuln_id)) AS n FROM vulnerabilities \
             WHERE severity_rank >= $1 AND workload_id IN (SELECT id FROM workloads WHERE gone_at IS NULL)",
        )
        .bind(min_severity)
        .fetch_one(self.pool())
        .await
        .map_err(qerr(op))?;
        let total = get(&total_row, "n", op)?;
        let rows = sqlx::query(
            "SELECT COALESCE(cve, vuln_id) AS k, MAX(severity_rank) AS sev, MAX(risk_score) AS risk, \
             COUNT(DISTINCT workload_id) AS workloads, COUNT(DISTINCT package) AS packages, \
             MIN(package) AS package, MAX(summary) AS summary \
             FROM vulnerabilities WHERE severity_rank >= $1 \
             AND workload_id IN (SELECT id FROM workloads WHERE gone_at IS NULL) \
             GROUP BY COALESCE(cve, vuln_id) ORDER BY risk DESC, sev DESC, k ASC LIMIT $2 OFFSET $3",
        )
        .bind(min_severity)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await
        .map_err(qerr(op))?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AdvisoryCount {
                    id: get(r, "k", op)?,
                    severity_rank: get(r, "sev", op)?,
                    risk_score: get(r, "risk", op)?,
                    workloads: get(r, "workloads", op)?,
                    packages: get(r, "packages", op)?,
                    package: get(r, "package", op)?,
                    summary: get(r, "summary", op)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((items, total))
    }
}
