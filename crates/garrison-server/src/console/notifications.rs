//! The notification-targets settings page: the targets (secrets never shown),
//! a form to add one of each kind, test and delete buttons, and the latest
//! deliveries. Changes go through the notification API's own functions, so
//! checks and audit entries are the API's.

use super::settings::{forbid_unless, notice, settings_page};
use super::{csrf_field, nz, when, ConsoleError, ConsoleForm, PageResult, Viewer};
use crate::model::{Role, SEVERITIES};
use crate::notify::api::{create_target_as, delete_target_as, test_target_as};
use crate::notify::{CreateTarget, TargetKind};
use crate::store::DeliveryFilter;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;

const PATH: &str = "/settings/notifications";
/// Deliveries shown under the targets.
const RECENT: i64 = 20;

const KINDS: [TargetKind; 4] = [
    TargetKind::Webhook,
    TargetKind::Slack,
    TargetKind::Pagerduty,
    TargetKind::Jira,
];

async fn page(v: &Viewer, st: &AppState, msg: Option<&str>, status: StatusCode) -> PageResult {
    forbid_unless(v, Role::Admin)?;
    let targets = crate::notify::list_targets(&st.store)
        .await
        .map_err(crate::ApiError::from)?;
    let deliveries = st
        .store
        .list_notification_deliveries(&DeliveryFilter::default(), 0, RECENT)
        .await?;
    let body = html! {
        (notice(msg))
        table.list #target-list {
            thead { tr { th { "Name" } th { "Kind" } th { "URL" } th { "Least severity" } th { "Rule filter" } th { "Secrets set" } th { "Enabled" } th {} } }
            tbody {
                @for t in &targets {
                    tr data-target=(t.name) {
                        td { (t.name) } td { (t.kind.as_str()) } td { code { (t.url) } }
                        td { (t.min_severity) } td { (t.rule_filter.clone().unwrap_or_default()) }
                        td { (t.secrets_set.join(", ")) } td { @if t.enabled { "yes" } @else { "no" } }
                        td {
                            form.inline method="post" action=(format!("{PATH}/{}/test", t.id)) {
                                (csrf_field(v)) button type="submit" { "Send test" }
                            }
                            form.inline method="post" action=(format!("{PATH}/{}/delete", t.id)) {
                                (csrf_field(v)) button.danger type="submit" { "Delete" }
                            }
                        }
                    }
                }
            }
        }
        @if targets.is_empty() { p.muted { "No notification targets: alerts are kept in the console only." } }
        h2 { "New target" }
        p.muted {
            "Webhook: the URL and an optional signing secret. Slack: the incoming-webhook URL. "
            "PagerDuty: the routing key (the URL defaults to PagerDuty's Events API). "
            "Jira: the site URL, project key, user name and API token."
        }
        form.stack #new-target method="post" action=(PATH) {
            (csrf_field(v))
            label { "Name" input type="text" name="name" required maxlength="128"; }
            label { "Kind" select name="kind" { @for k in KINDS { option value=(k.as_str()) { (k.as_str()) } } } }
            label { "URL" input type="url" name="url" placeholder="https://..."; }
            label { "Least severity" select name="min_severity" {
                @for s in SEVERITIES { option value=(s) selected[s == "MEDIUM"] { (s) } }
            } }
            label { "Rule filter (optional; a trailing * matches a prefix)" input type="text" name="rule_filter"; }
            label { "Webhook signing secret (optional)" input type="password" name="secret" autocomplete="off"; }
            label { "PagerDuty routing key" input type="password" name="routing_key" autocomplete="off"; }
            label { "Jira project key" input type="text" name="project_key"; }
            label { "Jira issue type (default Task)" input type="text" name="issue_type"; }
            label { "Jira user name" input type="text" name="username" autocomplete="off"; }
            label { "Jira API token" input type="password" name="api_token" autocomplete="off"; }
            button.primary type="submit" { "Add target" }
        }
        h2 { "Latest deliveries" }
        table.list #delivery-list {
            thead { tr { th { "Queued" } th { "Target" } th { "Alert" } th { "Status" } th { "Attempts" } th { "Last answer" } } }
            tbody {
                @for d in &deliveries.items {
                    tr data-status=(d.status) {
                        td { (when(&d.created_at)) } td { (d.target_name) }
                        td { a href=(format!("/alerts/{}", d.alert_id)) { "#" (d.alert_id) } }
                        td { (d.status) } td { (d.attempts) }
                        td {
                            @if let Some(s) = d.last_status { (s) " " }
                            @if let Some(e) = &d.last_error { span.error { (e) } }
                        }
                    }
                }
            }
        }
    };
    let mut resp = settings_page(v, "Notification targets", PATH, body);
    *resp.status_mut() = status;
    Ok(resp)
}

/// `/settings/notifications` (admin).
pub async fn targets(v: Viewer, State(st): State<AppState>) -> PageResult {
    page(&v, &st, None, StatusCode::OK).await
}

/// The new-target form (fields that do not apply to the kind are left empty).
#[derive(Debug, Deserialize)]
pub struct TargetForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    url: Option<String>,
    min_severity: Option<String>,
    rule_filter: Option<String>,
    secret: Option<String>,
    routing_key: Option<String>,
    project_key: Option<String>,
    issue_type: Option<String>,
    username: Option<String>,
    api_token: Option<String>,
}

/// `POST /settings/notifications` (admin): adds a target.
pub async fn create(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<TargetForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    let Some(kind) = TargetKind::parse(&f.kind) else {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "kind {:?} is not one of webhook, slack, pagerduty, jira",
                f.kind
            ),
        ));
    };
    let req = CreateTarget {
        name: f.name,
        kind,
        url: nz(&f.url),
        min_severity: nz(&f.min_severity),
        enabled: Some(true),
        rule_filter: nz(&f.rule_filter),
        secret: nz(&f.secret),
        routing_key: nz(&f.routing_key),
        project_key: nz(&f.project_key),
        issue_type: nz(&f.issue_type),
        username: nz(&f.username),
        api_token: nz(&f.api_token),
    };
    match create_target_as(&st, &p, req).await {
        Ok(t) => {
            let m = format!("Target {} ({}) added.", t.name, t.kind.as_str());
            page(&v, &st, Some(&m), StatusCode::CREATED).await
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
            page(&v, &st, Some(&e.message), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/notifications/{id}/test` (admin): sends a test message and says how it went.
pub async fn test(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<super::pages::CsrfForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    let r = test_target_as(&st, &p, &id).await?;
    let m = if r.delivered {
        format!(
            "Test message delivered (HTTP {}).",
            r.status.map(|s| s.to_string()).unwrap_or_default()
        )
    } else {
        format!(
            "Test message not delivered: {}",
            r.error
                .or(r.status.map(|s| format!("HTTP {s}")))
                .unwrap_or_else(|| "no answer".into())
        )
    };
    page(&v, &st, Some(&m), StatusCode::OK).await
}

/// `POST /settings/notifications/{id}/delete` (admin).
pub async fn delete(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<super::pages::CsrfForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    delete_target_as(&st, &p, &id).await?;
    Ok(Redirect::to(PATH).into_response())
}
