//! The notification routes under `/api/v1` (merged into `crate::api::router`
//! and listed in its OpenAPI document): reading needs any role, changes and
//! test messages the admin role; every change is audited (never with secrets).

use super::{NotificationTarget, TestOutcome, UpdateTarget};
use crate::api::{paging, AdminP, ApiJson, ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::model::Page;
use crate::store::{DeliveryFilter, NotificationDelivery, DELIVERY_STATUSES};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

fn target_ref(id: &str) -> String {
    format!("notification_target:{id}")
}

fn audit_detail(t: &NotificationTarget) -> serde_json::Value {
    json!({
        "name": t.name, "kind": t.kind, "url": t.url, "min_severity": t.min_severity,
        "enabled": t.enabled, "rule_filter": t.rule_filter, "secrets_set": t.secrets_set,
    })
}

/// Notification targets (secrets never shown).
#[utoipa::path(get, path = "/api/v1/notification-targets", tag = "notifications",
    responses((status = 200, body = Vec<NotificationTarget>), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
pub(crate) async fn list_targets(
    State(st): State<AppState>,
    _p: Principal,
) -> Result<Json<Vec<NotificationTarget>>, ApiError> {
    Ok(Json(super::list_targets(&st.store).await?))
}

/// Creates a notification target.
#[utoipa::path(post, path = "/api/v1/notification-targets", tag = "notifications",
    request_body = super::CreateTarget,
    responses((status = 201, body = NotificationTarget), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub(crate) async fn create_target(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiJson(req): ApiJson<super::CreateTarget>,
) -> Result<(StatusCode, Json<NotificationTarget>), ApiError> {
    let t = create_target_as(&st, &p, req).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Creates a target as `p` and audits it (the API and the console).
pub(crate) async fn create_target_as(
    st: &AppState,
    p: &Principal,
    req: super::CreateTarget,
) -> Result<NotificationTarget, ApiError> {
    let t = super::create_target(&st.store, req, &p.actor()).await?;
    p.audit(
        st,
        "notification_target.create",
        &target_ref(&t.id),
        audit_detail(&t),
    )
    .await?;
    Ok(t)
}

/// One notification target.
#[utoipa::path(get, path = "/api/v1/notification-targets/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Target ID")),
    responses((status = 200, body = NotificationTarget), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
pub(crate) async fn get_target(
    State(st): State<AppState>,
    _p: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationTarget>, ApiError> {
    Ok(Json(super::get_target(&st.store, &id).await?))
}

/// Changes a notification target (fields left out keep their values).
#[utoipa::path(put, path = "/api/v1/notification-targets/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Target ID")),
    request_body = UpdateTarget,
    responses((status = 200, body = NotificationTarget), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub(crate) async fn update_target(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateTarget>,
) -> Result<Json<NotificationTarget>, ApiError> {
    let before = super::get_target(&st.store, &id).await?;
    let secrets_changed: Vec<&str> = [
        ("secret", req.secret.is_some()),
        ("routing_key", req.routing_key.is_some()),
        ("api_token", req.api_token.is_some()),
        ("url", req.url.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.then_some(k))
    .collect();
    let t = super::update_target(&st.store, &id, req).await?;
    p.audit(
        &st,
        "notification_target.update",
        &target_ref(&id),
        json!({ "before": audit_detail(&before), "after": audit_detail(&t), "set": secrets_changed }),
    )
    .await?;
    Ok(Json(t))
}

/// Deletes a notification target and its delivery log.
#[utoipa::path(delete, path = "/api/v1/notification-targets/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Target ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub(crate) async fn delete_target(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    delete_target_as(&st, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a target as `p` and audits it (the API and the console).
pub(crate) async fn delete_target_as(
    st: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(), ApiError> {
    let before = super::get_target(&st.store, id).await?;
    super::delete_target(&st.store, id).await?;
    p.audit(
        st,
        "notification_target.delete",
        &target_ref(id),
        audit_detail(&before),
    )
    .await?;
    Ok(())
}

/// Sends a test message to the target now and answers how it went.
#[utoipa::path(post, path = "/api/v1/notification-targets/{id}/test", tag = "notifications",
    params(("id" = String, Path, description = "Target ID")),
    responses((status = 200, body = TestOutcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
pub(crate) async fn test_target(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TestOutcome>, ApiError> {
    Ok(Json(test_target_as(&st, &p, &id).await?))
}

/// Sends a test message as `p` and audits it (the API and the console).
pub(crate) async fn test_target_as(
    st: &AppState,
    p: &Principal,
    id: &str,
) -> Result<TestOutcome, ApiError> {
    let r = super::test_target(&st.store, id).await?;
    p.audit(
        st,
        "notification_target.test",
        &target_ref(id),
        json!({ "delivered": r.delivered, "status": r.status, "error": r.error }),
    )
    .await?;
    Ok(r)
}

/// Delivery-log filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Target ID.
    pub target_id: Option<String>,
    /// Alert ID.
    pub alert_id: Option<i64>,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// The delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/notification-deliveries", tag = "notifications", params(DeliveryQuery),
    responses((status = 200, body = Page<NotificationDelivery>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
pub(crate) async fn list_deliveries(
    State(st): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<Page<NotificationDelivery>>, ApiError> {
    let (offset, limit) = paging(q.offset, q.limit)?;
    if let Some(s) = &q.status {
        if !DELIVERY_STATUSES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(format!(
                "status {s:?} is not one of {}",
                DELIVERY_STATUSES.join(", ")
            )));
        }
    }
    let f = DeliveryFilter {
        target_id: q.target_id,
        alert_id: q.alert_id,
        status: q.status,
    };
    Ok(Json(
        st.store
            .list_notification_deliveries(&f, offset, limit)
            .await?,
    ))
}

/// The notification routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/notification-targets",
            get(list_targets).post(create_target),
        )
        .route(
            "/api/v1/notification-targets/{id}",
            get(get_target).put(update_target).delete(delete_target),
        )
        .route("/api/v1/notification-targets/{id}/test", post(test_target))
        .route("/api/v1/notification-deliveries", get(list_deliveries))
}
