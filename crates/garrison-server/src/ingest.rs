//! What agents send: heartbeats, alert batches and inventory/vulnerability
//! reports; decompression with limits, validation (all or nothing) and clock
//! skew. Times an agent sends are corrected by the skew measured on the same
//! request (`sent_at`, stamped by the agent at each send attempt).

use crate::error::ApiError;
use crate::model::{parse_rfc3339, severity_rank, SEVERITIES};
use crate::store::{AlertRow, VulnRow, WorkloadReport};
use axum::http::HeaderMap;
use garrison_model::{FixState, ScanReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use utoipa::ToSchema;

/// Largest body accepted on the wire (compressed), bytes.
pub const MAX_WIRE_BODY: usize = 16 << 20;
/// Largest body after decompression, bytes.
pub const MAX_DECODED_BODY: usize = 64 << 20;
/// Most alerts in one batch.
pub const MAX_BATCH_ALERTS: usize = 10_000;
/// Most workload reports in one batch.
pub const MAX_BATCH_REPORTS: usize = 1_000;
/// Alert batches read, parsed and stored at once (the rest wait unread).
pub static ALERT_INGEST_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(128);
/// Larger clock skew than this is refused (the agent's clock must be fixed).
pub const MAX_SKEW_MS: i64 = 24 * 3600 * 1000;

/// Undoes `Content-Encoding` (`zstd`, `gzip` or none), stopping at
/// [`MAX_DECODED_BODY`] (a decompression bomb gets 413, not memory).
pub fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let enc = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let limit = u64::try_from(MAX_DECODED_BODY).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    let res = match enc.as_deref() {
        None | Some("identity") => return Ok(body.to_vec()),
        Some("zstd") => zstd::stream::read::Decoder::new(body)
            .and_then(|d| d.take(limit + 1).read_to_end(&mut out)),
        Some("gzip") => flate2::read::GzDecoder::new(body)
            .take(limit + 1)
            .read_to_end(&mut out),
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!("Content-Encoding {other:?} is not supported (use zstd, gzip or none)"),
            ))
        }
    };
    res.map_err(|e| {
        ApiError::bad_request(format!(
            "body does not decompress as {}: {e}",
            enc.unwrap_or_default()
        ))
    })?;
    if out.len() > MAX_DECODED_BODY {
        return Err(ApiError::too_large(format!(
            "body decompresses to more than {MAX_DECODED_BODY} bytes"
        )));
    }
    Ok(out)
}

/// Parses JSON, naming the body in errors.
pub fn parse_json<'a, T: Deserialize<'a>>(what: &str, b: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(b)
        .map_err(|e| ApiError::bad_request(format!("{what}: invalid JSON: {e}")))
}

/// Server time minus the agent's `sent_at`, refusing absurd skews.
pub fn skew_ms(sent_at: &str, now: i64) -> Result<(i64, i64), ApiError> {
    let sent = parse_rfc3339(sent_at).ok_or_else(|| {
        ApiError::bad_request(format!("sent_at {sent_at:?} is not an RFC 3339 time"))
    })?;
    let skew = now - sent;
    if skew.abs() > MAX_SKEW_MS {
        return Err(ApiError::unprocessable(format!(
            "the agent's clock is off by {} s (sent_at {sent_at}); more than {} s is refused: fix the agent's clock",
            skew / 1000,
            MAX_SKEW_MS / 1000
        )));
    }
    Ok((sent, skew))
}

/// Checks a batch ID: 1 to 128 of `[A-Za-z0-9._-]`.
pub fn check_batch_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(ApiError::bad_request(format!(
            "batch_id {id:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ -"
        )));
    }
    Ok(())
}

/// A heartbeat.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// The agent's clock when sending (RFC 3339).
    pub sent_at: String,
    /// Agent version.
    pub version: String,
    /// Kernel release.
    pub kernel: String,
    /// Sensor mode (`ebpf`, `degraded`, ...).
    pub sensor_mode: String,
    /// Counters (events seen, alerts raised, ...).
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Events lost since start.
    #[serde(default)]
    pub lost_events: u64,
    /// The policy version in force at the agent (absent: none).
    #[serde(default)]
    pub policy_version: Option<String>,
}

/// The answer to a heartbeat.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatAck {
    /// The server's clock.
    pub server_time: String,
    /// Server time minus the agent's `sent_at`, ms.
    pub clock_skew_ms: i64,
    /// The policy version the agent's group wants (null: the group has no
    /// policy). When it differs from the agent's, fetch `GET /api/v1/agent/policy`.
    pub policy_version: Option<String>,
}

/// A batch of alerts (send with `Content-Encoding: zstd` or `gzip`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBatch {
    /// Unique per agent; a batch sent again with the same ID stores nothing.
    pub batch_id: String,
    /// The agent's clock when sending this attempt (RFC 3339).
    pub sent_at: String,
    /// Alerts as `garrison agent --format json` prints them (`"kind": "alert"`).
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<Value>,
}

/// A batch of workload reports.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryBatch {
    /// Unique per agent.
    pub batch_id: String,
    /// The agent's clock when sending (RFC 3339).
    pub sent_at: String,
    /// One report per workload.
    pub reports: Vec<WorkloadScan>,
}

/// A workload and its scan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadScan {
    /// The workload.
    pub workload: WorkloadRef,
    /// `garrison scan --format json` of it (docs/json-output.md).
    #[schema(value_type = Object)]
    pub report: ScanReport,
}

/// Which workload a report is about.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadRef {
    /// `host`, `container` or `image`.
    pub kind: String,
    /// Host name, container name or image reference.
    pub name: String,
    /// Container ID.
    #[serde(default)]
    pub container_id: Option<String>,
    /// Image reference, for containers.
    #[serde(default)]
    pub image: Option<String>,
    /// For a host: the IDs of every container running on it when the inventory
    /// was taken, whether or not this batch holds a report for each. The server
    /// marks the agent's container workloads not listed as gone.
    #[serde(default)]
    pub running_containers: Option<Vec<String>>,
}

/// Most container IDs in one host's `running_containers`.
pub const MAX_RUNNING_CONTAINERS: usize = 10_000;

/// The answer to a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchAck {
    /// The batch ID.
    pub batch_id: String,
    /// Items stored (0 for a duplicate).
    pub stored: i64,
    /// The batch was received before; nothing was stored again.
    pub duplicate: bool,
    /// Server time minus the agent's `sent_at`, ms.
    pub clock_skew_ms: i64,
}

fn str_field<'a>(a: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = a;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

/// Validates one alert and turns it into a row, correcting its time by `skew`.
pub fn alert_row(i: usize, a: &Value, skew: i64) -> Result<AlertRow, ApiError> {
    let bad = |what: &str| ApiError::unprocessable(format!("alerts[{i}]: {what}"));
    if a.get("kind").and_then(Value::as_str) != Some("alert") {
        return Err(bad("\"kind\" must be \"alert\""));
    }
    let time_ns = a
        .get("time_ns")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("\"time_ns\" must be a non-negative integer"))?;
    let agent_ms = i64::try_from(time_ns / 1_000_000).map_err(|_| bad("time_ns out of range"))?;
    let rule = str_field(a, &["rule"]).ok_or_else(|| bad("\"rule\" missing"))?;
    let priority = str_field(a, &["priority"]).ok_or_else(|| bad("\"priority\" missing"))?;
    let sev = str_field(a, &["severity"]).ok_or_else(|| bad("\"severity\" missing"))?;
    let rank = severity_rank(sev).ok_or_else(|| {
        bad(&format!(
            "severity {sev:?} is not one of {}",
            SEVERITIES.join(", ")
        ))
    })?;
    let output = str_field(a, &["output"]).ok_or_else(|| bad("\"output\" missing"))?;
    let pname =
        str_field(a, &["process", "name"]).ok_or_else(|| bad("\"process.name\" missing"))?;
    if rule.is_empty() || rule.len() > 1024 {
        return Err(bad("\"rule\" must be 1 to 1024 characters"));
    }
    Ok(AlertRow {
        time_ms: agent_ms.saturating_add(skew),
        agent_time_ms: agent_ms,
        rule: rule.to_string(),
        priority: priority.to_string(),
        severity: sev.to_ascii_uppercase(),
        severity_rank: rank,
        output: output.to_string(),
        process_name: pname.to_string(),
        container_id: str_field(a, &["container", "id"]).map(str::to_string),
        body: a.to_string(),
    })
}

/// An alert batch as the store path reads it: the alerts stay the raw JSON
/// text sent (validated field by field, stored as is, never re-serialized).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertBatchRaw<'a> {
    /// Unique per agent.
    pub batch_id: String,
    /// The agent's clock when sending this attempt (RFC 3339).
    pub sent_at: String,
    /// The alerts, unparsed.
    #[serde(borrow)]
    pub alerts: Vec<&'a serde_json::value::RawValue>,
}

/// The fields of an alert the server reads; the rest is kept in the body.
#[derive(Deserialize)]
struct AlertFields<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    time_ns: u64,
    #[serde(borrow)]
    rule: Cow<'a, str>,
    #[serde(borrow)]
    priority: Cow<'a, str>,
    #[serde(borrow)]
    severity: Cow<'a, str>,
    #[serde(borrow)]
    output: Cow<'a, str>,
    #[serde(borrow)]
    process: NamedFields<'a>,
    #[serde(borrow, default)]
    container: Option<IdFields<'a>>,
}

#[derive(Deserialize)]
struct NamedFields<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct IdFields<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// [`alert_row`] for an alert kept as raw JSON: the common shape is read
/// without building a JSON tree; anything else takes the general path, whose
/// errors name the field at fault.
pub fn alert_row_raw(
    i: usize,
    raw: &serde_json::value::RawValue,
    skew: i64,
) -> Result<AlertRow, ApiError> {
    let text = raw.get();
    if let Ok(f) = serde_json::from_str::<AlertFields<'_>>(text) {
        if let Some(rank) = severity_rank(&f.severity) {
            let rule_ok = !f.rule.is_empty() && f.rule.len() <= 1024;
            if f.kind == "alert" && rule_ok {
                if let Ok(agent_ms) = i64::try_from(f.time_ns / 1_000_000) {
                    return Ok(AlertRow {
                        time_ms: agent_ms.saturating_add(skew),
                        agent_time_ms: agent_ms,
                        rule: f.rule.into_owned(),
                        priority: f.priority.into_owned(),
                        severity: f.severity.to_ascii_uppercase(),
                        severity_rank: rank,
                        output: f.output.into_owned(),
                        process_name: f.process.name.into_owned(),
                        container_id: f.container.and_then(|c| c.id).map(Cow::into_owned),
                        body: text.to_string(),
                    });
                }
            }
        }
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::unprocessable(format!("alerts[{i}]: {e}")))?;
    let mut row = alert_row(i, &v, skew)?;
    row.body = text.to_string();
    Ok(row)
}

/// Validates one workload report and turns it into rows.
pub fn workload_report(i: usize, w: WorkloadScan) -> Result<WorkloadReport, ApiError> {
    let bad = |what: String| ApiError::unprocessable(format!("reports[{i}]: {what}"));
    if !matches!(w.workload.kind.as_str(), "host" | "container" | "image") {
        return Err(bad(format!(
            "workload.kind {:?} must be host, container or image",
            w.workload.kind
        )));
    }
    if w.workload.name.is_empty() || w.workload.name.len() > 1024 {
        return Err(bad("workload.name must be 1 to 1024 characters".into()));
    }
    if let Some(ids) = &w.workload.running_containers {
        if w.workload.kind != "host" {
            return Err(bad("workload.running_containers is for a host only".into()));
        }
        if ids.len() > MAX_RUNNING_CONTAINERS {
            return Err(bad(format!(
                "workload.running_containers lists {} containers (at most {MAX_RUNNING_CONTAINERS})",
                ids.len()
            )));
        }
        if let Some(id) = ids.iter().find(|id| {
            id.is_empty()
                || id.len() > 128
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) {
            return Err(bad(format!(
                "workload.running_containers: {:?} is not a container ID",
                id.chars().take(80).collect::<String>()
            )));
        }
    }
    let r = w.report;
    let distro = r.distro.as_ref().map(|d| {
        format!("{} {}", d.id, d.version_id.as_deref().unwrap_or(""))
            .trim()
            .to_string()
    });
    let vulns = r
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| {
            let sev = f.vulnerability.severity.to_string();
            VulnRow {
                vuln_id: f.vulnerability.id.clone(),
                cve: f.vulnerability.cve().map(str::to_string),
                package: f.package.name.clone(),
                version: f.package.version.clone(),
                ecosystem: f.package.ecosystem.to_string(),
                purl: f.package.purl.clone(),
                severity_rank: severity_rank(&sev).unwrap_or(0),
                severity: sev,
                fixed_versions: match &f.fix {
                    FixState::Fixed { versions } => versions.clone(),
                    FixState::NotFixed => Vec::new(),
                },
                risk_score: f.risk.score,
                summary: f.vulnerability.summary.clone(),
            }
        })
        .collect();
    Ok(WorkloadReport {
        kind: w.workload.kind,
        name: w.workload.name,
        image: w.workload.image.or(r.target.digest.clone()),
        container_id: w.workload.container_id.or(r.target.container_id.clone()),
        distro,
        packages_scanned: i64::try_from(r.packages_scanned).unwrap_or(i64::MAX),
        vulns,
        running_containers: w.workload.running_containers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::io::Write;

    #[test]
    fn decodes_zstd_and_gzip_and_refuses_bombs() {
        let data = b"{\"a\":1}".to_vec();
        let mut h = HeaderMap::new();
        h.insert("content-encoding", HeaderValue::from_static("zstd"));
        let z = zstd::encode_all(&data[..], 3).unwrap();
        assert_eq!(decode_body(&h, &z).unwrap(), data);
        h.insert("content-encoding", HeaderValue::from_static("gzip"));
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&data).unwrap();
        assert_eq!(decode_body(&h, &g.finish().unwrap()).unwrap(), data);
        assert_eq!(decode_body(&h, b"not gzip").unwrap_err().status, 400);
        h.insert("content-encoding", HeaderValue::from_static("br"));
        assert_eq!(decode_body(&h, b"x").unwrap_err().status, 415);
        h.insert("content-encoding", HeaderValue::from_static("zstd"));
        let bomb = zstd::encode_all(&vec![0u8; MAX_DECODED_BODY + 10][..], 19).unwrap();
        assert!(bomb.len() < 1 << 20);
        assert_eq!(decode_body(&h, &bomb).unwrap_err().status, 413);
    }

    #[test]
    fn skew_is_measured_and_bounded() {
        let now = parse_rfc3339("2026-12-05T03:00:00Z").unwrap();
        assert_eq!(skew_ms("2026-12-05T02:59:50Z", now).unwrap().1, 10_000);
        assert_eq!(
            skew_ms("2026-12-07T03:00:00Z", now).unwrap_err().status,
            422
        );
        assert_eq!(skew_ms("tomorrow", now).unwrap_err().status, 400);
    }

    #[test]
    fn raw_alerts_read_as_parsed_ones() {
        let a = serde_json::json!({"kind": "alert", "time_ns": 5_000_000_000u64, "rule": "r\"1",
            "priority": "WARNING", "severity": "high", "output": "o", "process": {"name": "sh"},
            "container": {"id": "abc"}, "extra": [1, 2]});
        let text = a.to_string();
        let raw: Box<serde_json::value::RawValue> = serde_json::from_str(&text).unwrap();
        let fast = alert_row_raw(0, &raw, 10).unwrap();
        let slow = alert_row(0, &a, 10).unwrap();
        assert_eq!(
            (
                fast.time_ms,
                fast.rule.as_str(),
                fast.severity.as_str(),
                fast.container_id.as_deref()
            ),
            (
                slow.time_ms,
                slow.rule.as_str(),
                slow.severity.as_str(),
                slow.container_id.as_deref()
            )
        );
        assert_eq!(fast.body, text);
        for (bad, what) in [
            (r#"{"kind":"alert","time_ns":-1}"#, "time_ns"),
            (r#"{"kind":"event"}"#, "kind"),
            (
                r#"{"kind":"alert","time_ns":1,"rule":"r","priority":"p","severity":"SEVERE","output":"o","process":{"name":"x"}}"#,
                "SEVERE",
            ),
        ] {
            let raw: Box<serde_json::value::RawValue> = serde_json::from_str(bad).unwrap();
            let e = alert_row_raw(3, &raw, 0).unwrap_err();
            assert!(
                e.message.starts_with("alerts[3]") && e.message.contains(what),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn batch_ids_are_checked() {
        assert!(check_batch_id("0b6f-1.x_y").is_ok());
        assert!(check_batch_id("").is_err());
        assert!(check_batch_id("a'; DROP TABLE alerts;--").is_err());
        assert!(check_batch_id(&"a".repeat(129)).is_err());
    }
}
