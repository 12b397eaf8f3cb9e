//! The REST API under `/api/v1`: every handler, its authorization, and the
//! OpenAPI 3 document generated from these annotations. The minimum role of an
//! operation is the role named in its `security` requirement.

use crate::auth::{
    dummy_hash, hash_password, random_id, random_secret, secret_hash, verify_password,
    AgentIdentity, EnrollmentBearer, Principal, Via, API_TOKEN_PREFIX, CSRF_HEADER,
    ENROLL_TOKEN_PREFIX, SESSION_COOKIE, SESSION_MS,
};
use crate::error::{ApiError, ErrorBody};
use crate::ingest::{self, AlertBatch, BatchAck, Heartbeat, HeartbeatAck, InventoryBatch};
use crate::model::*;
use crate::store::{
    now_ms, AlertFilter, AlertSort, HeartbeatRow, Ingested, NewAgent, NewAudit, NewUser,
    RetentionReport, VulnFilter, VulnSort, WorkloadFilter, WorkloadSort, WorkloadState,
};
use crate::AppState;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

// ------------------------------------------------------------ extractors

fn rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "payload_too_large", text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(status, "unsupported_media_type", text),
        // Syntax and data errors alike: the body is wrong.
        _ => ApiError::bad_request(text),
    }
}

/// JSON body whose errors are API errors.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(|e: JsonRejection| rejection(e.status(), e.body_text()))
    }
}

/// Query string whose errors are API errors.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| rejection(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// Path parameters whose errors are API errors.
pub struct ApiPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| rejection(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// A principal with the admin role (checked before the body is read).
pub struct AdminP(pub Principal);
/// A principal with at least the analyst role (checked before the body is read).
pub struct AnalystP(pub Principal);

impl FromRequestParts<AppState> for AdminP {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let p = Principal::from_request_parts(parts, st).await?;
        p.require(Role::Admin)?;
        Ok(AdminP(p))
    }
}

impl FromRequestParts<AppState> for AnalystP {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let p = Principal::from_request_parts(parts, st).await?;
        p.require(Role::Analyst)?;
        Ok(AnalystP(p))
    }
}

pub(crate) fn paging(offset: Option<i64>, limit: Option<i64>) -> Result<(i64, i64), ApiError> {
    let offset = offset.unwrap_or(0);
    let limit = limit.unwrap_or(50);
    if offset < 0 {
        return Err(ApiError::bad_request(format!(
            "offset {offset} must be 0 or more"
        )));
    }
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit {limit} must be 1 to 500"
        )));
    }
    Ok((offset, limit))
}

pub(crate) fn min_severity(s: Option<&str>) -> Result<Option<i64>, ApiError> {
    s.map(|s| {
        severity_rank(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "severity {s:?} is not one of {}",
                SEVERITIES.join(", ")
            ))
        })
    })
    .transpose()
}

fn time_param(name: &str, s: Option<&str>) -> Result<Option<i64>, ApiError> {
    s.map(|s| {
        parse_rfc3339(s)
            .ok_or_else(|| ApiError::bad_request(format!("{name} {s:?} is not an RFC 3339 time")))
    })
    .transpose()
}

fn audit_target(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}

// ------------------------------------------------------------- sessions

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Who is logged in, and the CSRF token to send with changes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// User name (the owner, for API tokens).
    pub username: String,
    /// Role in force.
    pub role: Role,
    /// `session` or `token`.
    pub via: String,
    /// Send as `X-CSRF-Token` with every change made under the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// Checks credentials (after the login rate limiter), records the login or the
/// failure in the audit log, and opens a session: (user, session ID, CSRF token).
/// Shared by `POST /api/v1/login` and the console's login form.
pub async fn start_session(
    st: &AppState,
    username: &str,
    password: &str,
    remote: &str,
) -> Result<(User, String, String), ApiError> {
    st.limiter.check(username, remote)?;
    let found = st.store.user_for_login(username).await?;
    let ok = match &found {
        Some(u) => verify_password(password, &u.password_hash),
        None => {
            // Same work for unknown users as for wrong passwords.
            let _ = verify_password(password, dummy_hash());
            false
        }
    };
    let Some(u) = found.filter(|_| ok) else {
        st.limiter.failed(username, remote);
        st.store
            .audit(NewAudit {
                actor_kind: "user",
                actor: &username.chars().take(64).collect::<String>(),
                action: "login.failed",
                target: "session",
                detail: json!({}),
                remote,
            })
            .await?;
        return Err(ApiError::unauthenticated("wrong user name or password"));
    };
    st.limiter.succeeded(username);
    let sid = random_secret();
    let csrf = random_secret();
    st.store
        .create_session(&secret_hash(&sid), &u.user.id, &csrf, now_ms() + SESSION_MS)
        .await?;
    st.store
        .audit(NewAudit {
            actor_kind: "user",
            actor: &u.user.username,
            action: "login",
            target: "session",
            detail: json!({}),
            remote,
        })
        .await?;
    Ok((u.user, sid, csrf))
}

/// Logs in: sets the `garrison_session` cookie (Secure, HttpOnly, SameSite=Strict).
#[utoipa::path(post, path = "/api/v1/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody),
        (status = 429, description = "Too many failed logins for the user name or from the address (Retry-After)", body = ErrorBody)),
    security(()))]
async fn login(
    State(st): State<AppState>,
    conn: Option<axum::Extension<crate::auth::ConnInfo>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let remote = conn.map(|c| c.0.remote).unwrap_or_default();
    let (u, sid, csrf) = start_session(&st, &req.username, &req.password, &remote).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_MS / 1000
    );
    let mut resp = Json(SessionInfo {
        username: u.username,
        role: u.role,
        via: "session".into(),
        csrf_token: Some(csrf),
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Ends the session.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn logout(State(st): State<AppState>, p: Principal) -> Result<Response, ApiError> {
    if let Via::Session(h) = &p.via {
        st.store.delete_session(h).await?;
        p.audit(&st, "logout", "session", json!({})).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who is asking.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn session(p: Principal) -> Json<SessionInfo> {
    Json(SessionInfo {
        username: p.user.username.clone(),
        role: p.role,
        via: p.actor_kind().replace("user", "session"),
        csrf_token: p.csrf.clone(),
    })
}

// ---------------------------------------------------------------- users

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// 1-64 of `A-Z a-z 0-9 . _ @ -`.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// Role.
    pub role: Role,
}

/// Checks a new user's name and password.
pub fn check_new_user(username: &str, password: &str) -> Result<(), String> {
    if username.is_empty()
        || username.len() > 64
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
    {
        return Err(format!(
            "user name {username:?} must be 1 to 64 characters of A-Z a-z 0-9 . _ @ -"
        ));
    }
    if password.chars().count() < 12 {
        return Err("the password must have at least 12 characters".into());
    }
    Ok(())
}

/// Users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn list_users(State(st): State<AppState>, _: AdminP) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(st.store.list_users().await?))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn create_user(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    Ok((StatusCode::CREATED, Json(new_user(&st, &p, &req).await?)))
}

/// Creates a user in `p`'s name (an admin), audited. Shared with the console.
pub async fn new_user(st: &AppState, p: &Principal, req: &CreateUser) -> Result<User, ApiError> {
    p.require(Role::Admin)?;
    check_new_user(&req.username, &req.password).map_err(ApiError::bad_request)?;
    let hash = hash_password(&req.password).map_err(ApiError::bad_request)?;
    let user = st
        .store
        .create_user(NewUser {
            username: &req.username,
            password_hash: &hash,
            role: req.role,
        })
        .await?
        .ok_or_else(|| ApiError::conflict(format!("user {:?} exists", req.username)))?;
    p.audit(
        st,
        "user.create",
        &audit_target("user", &user.username),
        json!({ "role": user.role }),
    )
    .await?;
    Ok(user)
}

/// A role to give a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The new role.
    pub role: Role,
}

/// Changes a user's role (at once: sessions and the user's tokens follow).
#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "users", request_body = SetRole,
    params(("id" = String, Path, description = "User name")),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn set_user_role(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(username): ApiPath<String>,
    ApiJson(req): ApiJson<SetRole>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(user_role_as(&st, &p, &username, req.role).await?))
}

/// Changes a user's role in `p`'s name (an admin; not one's own, so the last
/// admin cannot lock everyone out), audited. Shared with the console.
pub async fn user_role_as(
    st: &AppState,
    p: &Principal,
    username: &str,
    role: Role,
) -> Result<User, ApiError> {
    p.require(Role::Admin)?;
    if username == p.user.username {
        return Err(ApiError::bad_request(
            "an admin cannot change their own role; ask another admin",
        ));
    }
    let before = st
        .store
        .user_for_login(username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {username:?}")))?
        .user;
    if !st.store.set_user_role(username, role).await? {
        return Err(ApiError::not_found(format!("no user {username:?}")));
    }
    p.audit(
        st,
        "user.role",
        &audit_target("user", username),
        json!({ "before": before.role, "after": role }),
    )
    .await?;
    Ok(User { role, ..before })
}

// ----------------------------------------------------------- API tokens

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name for people (1-128 characters).
    pub name: String,
    /// Role; at most the creator's (default: the creator's).
    #[serde(default)]
    pub role: Option<Role>,
    /// Days until it expires (1-3650; default: never).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// A new token: the secret is shown here once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// `gat_ID_SECRET`: send as `Authorization: Bearer ...`.
    pub token: String,
    /// Its ID.
    pub id: String,
    /// Its role.
    pub role: Role,
}

/// API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiTokenInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn list_tokens(
    State(st): State<AppState>,
    _: AdminP,
) -> Result<Json<Vec<ApiTokenInfo>>, ApiError> {
    Ok(Json(st.store.list_tokens().await?))
}

/// Creates an API token for the caller, with at most the caller's role.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn create_token(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    Ok((StatusCode::CREATED, Json(new_token(&st, &p, &req).await?)))
}

/// Creates an API token for `p`, audited. Shared with the console.
pub async fn new_token(
    st: &AppState,
    p: &Principal,
    req: &CreateToken,
) -> Result<CreatedToken, ApiError> {
    if req.name.is_empty() || req.name.chars().count() > 128 {
        return Err(ApiError::bad_request("name must be 1 to 128 characters"));
    }
    let role = req.role.unwrap_or(p.role);
    if role > p.role {
        return Err(ApiError::forbidden(format!(
            "a token's role ({}) cannot exceed its creator's ({})",
            role.as_str(),
            p.role.as_str()
        )));
    }
    let expires_at = match req.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(now_ms() + d * 86_400_000),
        Some(d) => {
            return Err(ApiError::bad_request(format!(
                "expires_in_days {d} must be 1 to 3650"
            )))
        }
    };
    let owner = st
        .store
        .user_for_login(&p.user.username)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the token's owner no longer exists"))?
        .user;
    let id = random_id();
    let secret = random_secret();
    st.store
        .create_token(
            &id,
            &req.name,
            &secret_hash(&secret),
            role,
            &owner,
            expires_at,
        )
        .await?;
    p.audit(
        st,
        "token.create",
        &audit_target("token", &id),
        json!({ "name": req.name, "role": role }),
    )
    .await?;
    Ok(CreatedToken {
        token: format!("{API_TOKEN_PREFIX}_{id}_{secret}"),
        id,
        role,
    })
}

/// Revokes an API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn revoke_token(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    revoke_token_as(&st, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an API token in `p`'s name (an admin), audited. Shared with the console.
pub async fn revoke_token_as(st: &AppState, p: &Principal, id: &str) -> Result<(), ApiError> {
    p.require(Role::Admin)?;
    if !st.store.revoke_token(id).await? {
        return Err(ApiError::not_found(format!("no active API token {id:?}")));
    }
    p.audit(st, "token.revoke", &audit_target("token", id), json!({}))
        .await
}

// ---------------------------------------------------- enrollment tokens

/// An enrollment token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEnrollmentToken {
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Hours until it expires (1-8760, default 24).
    #[serde(default)]
    pub expires_in_hours: Option<i64>,
    /// Enrollments allowed (1-100000, default 1).
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// The group its agents join (an existing one; default `default`).
    #[serde(default)]
    pub group: Option<String>,
}

/// A new enrollment token: the secret is shown here once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedEnrollmentToken {
    /// `get_ID_SECRET`, for `Authorization: Bearer` on `POST /api/v1/enroll`.
    pub token: String,
    /// SHA-256 of the server's CA certificate: the agent pins it before enrolling.
    pub ca_sha256: String,
    /// The token.
    pub info: EnrollmentTokenInfo,
}

/// Creates an enrollment token.
pub async fn new_enrollment_token(
    st: &AppState,
    req: &CreateEnrollmentToken,
    created_by: &str,
) -> Result<CreatedEnrollmentToken, ApiError> {
    let hours = req.expires_in_hours.unwrap_or(24);
    if !(1..=8760).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "expires_in_hours {hours} must be 1 to 8760"
        )));
    }
    let uses = req.max_uses.unwrap_or(1);
    if !(1..=100_000).contains(&uses) {
        return Err(ApiError::bad_request(format!(
            "max_uses {uses} must be 1 to 100000"
        )));
    }
    if req.description.chars().count() > 256 {
        return Err(ApiError::bad_request(
            "description must be at most 256 characters",
        ));
    }
    let group = req.group.as_deref().unwrap_or("default");
    crate::policy::check_group_name(group)?;
    if !st.store.group_exists(group).await? {
        return Err(ApiError::not_found(format!(
            "no group {group:?} (a group is made by PUT /api/v1/groups/NAME/policy)"
        )));
    }
    let id = random_id();
    let secret = random_secret();
    let info = st
        .store
        .create_enrollment_token_in(
            &id,
            &secret_hash(&secret),
            &req.description,
            created_by,
            now_ms() + hours * 3_600_000,
            uses,
            group,
        )
        .await?;
    Ok(CreatedEnrollmentToken {
        token: format!("{ENROLL_TOKEN_PREFIX}_{id}_{secret}"),
        ca_sha256: st.pki.ca_sha256(),
        info,
    })
}

/// Enrollment tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/enrollment-tokens", tag = "agents",
    responses((status = 200, body = Vec<EnrollmentTokenInfo>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn list_enrollment_tokens(
    State(st): State<AppState>,
    _: AdminP,
) -> Result<Json<Vec<EnrollmentTokenInfo>>, ApiError> {
    Ok(Json(st.store.list_enrollment_tokens().await?))
}

/// Creates an enrollment token (expiry, use count).
#[utoipa::path(post, path = "/api/v1/enrollment-tokens", tag = "agents", request_body = CreateEnrollmentToken,
    responses((status = 201, body = CreatedEnrollmentToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn create_enrollment_token(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiJson(req): ApiJson<CreateEnrollmentToken>,
) -> Result<(StatusCode, Json<CreatedEnrollmentToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(enrollment_token_as(&st, &p, &req).await?),
    ))
}

/// Creates an enrollment token in `p`'s name (an admin), audited. Shared with the console.
pub async fn enrollment_token_as(
    st: &AppState,
    p: &Principal,
    req: &CreateEnrollmentToken,
) -> Result<CreatedEnrollmentToken, ApiError> {
    p.require(Role::Admin)?;
    let t = new_enrollment_token(st, req, &p.actor()).await?;
    p.audit(
        st,
        "enrollment_token.create",
        &audit_target("enrollment_token", &t.info.id),
        json!({ "max_uses": t.info.max_uses, "expires_at": t.info.expires_at, "group": t.info.group }),
    )
    .await?;
    Ok(t)
}

/// Revokes an enrollment token.
#[utoipa::path(delete, path = "/api/v1/enrollment-tokens/{id}", tag = "agents",
    params(("id" = String, Path, description = "Enrollment token ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn revoke_enrollment_token(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    revoke_enrollment_token_as(&st, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an enrollment token in `p`'s name (an admin), audited. Shared with the console.
pub async fn revoke_enrollment_token_as(
    st: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(), ApiError> {
    p.require(Role::Admin)?;
    if !st.store.revoke_enrollment_token(id).await? {
        return Err(ApiError::not_found(format!(
            "no active enrollment token {id:?}"
        )));
    }
    p.audit(
        st,
        "enrollment_token.revoke",
        &audit_target("enrollment_token", id),
        json!({}),
    )
    .await
}

// -------------------------------------------------------------- enroll

/// An agent's enrollment request.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The host's name (shown in the console; not an identity).
    pub hostname: String,
    /// A PKCS#10 certificate signing request, PEM, made with the agent's own key
    /// (which never leaves the agent). Only its public key is used.
    pub csr_pem: String,
}

/// The agent's identity.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct EnrollResponse {
    /// The agent's ID (CN of its certificate).
    pub agent_id: String,
    /// The client certificate for mutual TLS, PEM.
    pub certificate_pem: String,
    /// The server's CA, PEM: trust only it for this server from now on.
    pub ca_pem: String,
}

/// Enrolls an agent with an enrollment token; answers its client certificate.
#[utoipa::path(post, path = "/api/v1/enroll", tag = "agent", request_body = EnrollRequest,
    responses((status = 201, body = EnrollResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("enrollment_token" = [])))]
async fn enroll(
    State(st): State<AppState>,
    tok: EnrollmentBearer,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
    let h = req.hostname.trim();
    if h.is_empty() || h.len() > 253 || h.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::bad_request(format!(
            "hostname {:?} must be 1 to 253 printable characters without spaces",
            req.hostname
        )));
    }
    if req.csr_pem.len() > 16 * 1024 {
        return Err(ApiError::bad_request("csr_pem is larger than 16 KiB"));
    }
    let agent_id = uuid::Uuid::new_v4().to_string();
    let cert = st
        .pki
        .sign_agent_csr(&req.csr_pem, &agent_id)
        .map_err(|e| ApiError::bad_request(format!("csr_pem: {e}")))?;
    let ok = st
        .store
        .enroll_agent(
            &tok.id,
            NewAgent {
                id: &agent_id,
                hostname: h,
                cert_sha256: &cert.sha256,
                cert_serial: &cert.serial,
                cert_not_after: cert.not_after_ms,
                enrollment_token: &tok.id,
            },
        )
        .await?;
    if !ok {
        return Err(ApiError::unauthenticated(
            "the enrollment token is used up, expired or revoked",
        ));
    }
    st.store
        .audit(NewAudit {
            actor_kind: "agent",
            actor: &agent_id,
            action: "agent.enroll",
            target: &audit_target("agent", &agent_id),
            detail: json!({ "hostname": h, "enrollment_token": tok.id, "cert_sha256": cert.sha256 }),
            remote: &tok.remote,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            agent_id,
            certificate_pem: cert.pem,
            ca_pem: st.pki.ca_pem.clone(),
        }),
    ))
}

// --------------------------------------------------------------- agents

/// Enrolled agents and their health.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, body = Vec<Agent>), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn list_agents(
    State(st): State<AppState>,
    _p: Principal,
) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(st.store.list_agents().await?))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents",
    params(("id" = String, Path, description = "Agent ID")),
    responses((status = 200, body = Agent), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn get_agent(
    State(st): State<AppState>,
    _p: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Agent>, ApiError> {
    st.store
        .agent(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no agent {id:?}")))
}

/// Revokes an agent: its certificate is refused from now on.
#[utoipa::path(post, path = "/api/v1/agents/{id}/revoke", tag = "agents",
    params(("id" = String, Path, description = "Agent ID")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn revoke_agent(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if !st.store.revoke_agent(&id).await? {
        return Err(ApiError::not_found(format!("no active agent {id:?}")));
    }
    p.audit(&st, "agent.revoke", &audit_target("agent", &id), json!({}))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --------------------------------------------------------------- ingest

async fn read_body(headers: &HeaderMap, body: axum::body::Body) -> Result<Vec<u8>, ApiError> {
    let raw = axum::body::to_bytes(body, ingest::MAX_WIRE_BODY)
        .await
        .map_err(|_| {
            ApiError::too_large(format!(
                "body is larger than {} bytes (send smaller batches)",
                ingest::MAX_WIRE_BODY
            ))
        })?;
    ingest::decode_body(headers, &raw)
}

/// A heartbeat: version, kernel, sensor mode, counters, lost events.
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "agent", request_body = Heartbeat,
    responses((status = 200, body = HeartbeatAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("mtls" = [])))]
async fn heartbeat(
    State(st): State<AppState>,
    who: AgentIdentity,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<HeartbeatAck>, ApiError> {
    let b = read_body(&headers, body).await?;
    let hb: Heartbeat = ingest::parse_json("heartbeat", &b)?;
    let now = now_ms();
    let (sent, skew) = ingest::skew_ms(&hb.sent_at, now)?;
    for (field, v) in [
        ("version", &hb.version),
        ("kernel", &hb.kernel),
        ("sensor_mode", &hb.sensor_mode),
    ] {
        if v.len() > 256 {
            return Err(ApiError::bad_request(format!(
                "{field} is longer than 256 bytes"
            )));
        }
    }
    if hb.policy_version.as_ref().is_some_and(|v| v.len() > 128) {
        return Err(ApiError::bad_request(
            "policy_version is longer than 128 bytes",
        ));
    }
    if hb.counters.len() > 256 {
        return Err(ApiError::bad_request("more than 256 counters"));
    }
    let counters = serde_json::to_value(&hb.counters).unwrap_or_default();
    let lost = i64::try_from(hb.lost_events)
        .map_err(|_| ApiError::bad_request("lost_events out of range"))?;
    let wanted = st
        .store
        .heartbeat(HeartbeatRow {
            agent_id: &who.agent.id,
            sent_at: sent,
            skew_ms: skew,
            version: &hb.version,
            kernel: &hb.kernel,
            sensor_mode: &hb.sensor_mode,
            counters: &counters,
            lost_events: lost,
            body: serde_json::to_string(&hb).unwrap_or_default(),
            policy_version: hb.policy_version.as_deref(),
        })
        .await?;
    Ok(Json(HeartbeatAck {
        server_time: rfc3339(now),
        clock_skew_ms: skew,
        policy_version: wanted,
    }))
}

/// A batch of alerts, stored once per batch ID.
#[utoipa::path(post, path = "/api/v1/agent/alerts", tag = "agent", request_body = AlertBatch,
    responses((status = 200, body = BatchAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("mtls" = [])))]
async fn ingest_alerts(
    State(st): State<AppState>,
    who: AgentIdentity,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<BatchAck>, ApiError> {
    // Bodies are read, decompressed and parsed by a bounded number of requests
    // at a time; the rest wait unread (TCP backpressure), so thousands of agents
    // sending at once cost memory for these only.
    let _slot = ingest::ALERT_INGEST_SLOTS
        .acquire()
        .await
        .map_err(|_| ApiError::too_large("alert ingest is shutting down"))?;
    let b = read_body(&headers, body).await?;
    let batch: ingest::AlertBatchRaw<'_> = ingest::parse_json("alert batch", &b)?;
    ingest::check_batch_id(&batch.batch_id)?;
    let (_, skew) = ingest::skew_ms(&batch.sent_at, now_ms())?;
    if batch.alerts.len() > ingest::MAX_BATCH_ALERTS {
        return Err(ApiError::too_large(format!(
            "{} alerts in one batch; at most {}",
            batch.alerts.len(),
            ingest::MAX_BATCH_ALERTS
        )));
    }
    let rows = batch
        .alerts
        .iter()
        .enumerate()
        .map(|(i, a)| ingest::alert_row_raw(i, a, skew))
        .collect::<Result<Vec<_>, _>>()?;
    let r = st
        .store
        .ingest_alerts(&who.agent.id, &batch.batch_id, rows)
        .await?;
    Ok(Json(ack(batch.batch_id, r, skew)))
}

fn ack(batch_id: String, r: Ingested, skew: i64) -> BatchAck {
    match r {
        Ingested::Stored(n) => BatchAck {
            batch_id,
            stored: n,
            duplicate: false,
            clock_skew_ms: skew,
        },
        Ingested::Duplicate => BatchAck {
            batch_id,
            stored: 0,
            duplicate: true,
            clock_skew_ms: skew,
        },
    }
}

/// Inventory and vulnerability reports of the host and its containers.
#[utoipa::path(post, path = "/api/v1/agent/inventory", tag = "agent", request_body = InventoryBatch,
    responses((status = 200, body = BatchAck), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("mtls" = [])))]
async fn ingest_inventory(
    State(st): State<AppState>,
    who: AgentIdentity,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<BatchAck>, ApiError> {
    let b = read_body(&headers, body).await?;
    let batch: InventoryBatch = ingest::parse_json("inventory batch", &b)?;
    ingest::check_batch_id(&batch.batch_id)?;
    let (_, skew) = ingest::skew_ms(&batch.sent_at, now_ms())?;
    if batch.reports.len() > ingest::MAX_BATCH_REPORTS {
        return Err(ApiError::too_large(format!(
            "{} reports in one batch; at most {}",
            batch.reports.len(),
            ingest::MAX_BATCH_REPORTS
        )));
    }
    let reports = batch
        .reports
        .into_iter()
        .enumerate()
        .map(|(i, w)| ingest::workload_report(i, w))
        .collect::<Result<Vec<_>, _>>()?;
    let r = st
        .store
        .ingest_inventory(&who.agent.id, &batch.batch_id, reports)
        .await?;
    Ok(Json(ack(batch.batch_id, r, skew)))
}

// --------------------------------------------------------------- alerts

/// Alert filters, sorting and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Minimum severity (`HIGH` lists HIGH and CRITICAL).
    pub severity: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// Agent ID.
    pub agent_id: Option<String>,
    /// Rule name, exact.
    pub rule: Option<String>,
    /// From this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    pub until: Option<String>,
    /// Text in the output (case-insensitive).
    pub q: Option<String>,
    /// `-time` (default), `time`, `-severity`, `severity`.
    pub sort: Option<String>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Alerts across the fleet.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = Page<AlertRecord>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn list_alerts(
    State(st): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<Page<AlertRecord>>, ApiError> {
    let (offset, limit) = paging(q.offset, q.limit)?;
    if let Some(s) = &q.status {
        if !matches!(s.as_str(), "open" | "acknowledged" | "resolved") {
            return Err(ApiError::bad_request(format!(
                "status {s:?} is not one of open, acknowledged, resolved"
            )));
        }
    }
    let sort = match q.sort.as_deref().unwrap_or("-time") {
        "-time" => AlertSort::TimeDesc,
        "time" => AlertSort::TimeAsc,
        "-severity" => AlertSort::SeverityDesc,
        "severity" => AlertSort::SeverityAsc,
        other => {
            return Err(ApiError::bad_request(format!(
                "sort {other:?} is not one of -time, time, -severity, severity"
            )))
        }
    };
    let f = AlertFilter {
        min_severity: min_severity(q.severity.as_deref())?,
        status: q.status,
        agent_id: q.agent_id,
        rule: q.rule,
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
        q: q.q,
        sort,
    };
    Ok(Json(st.store.list_alerts(&f, offset, limit).await?))
}

/// One alert, with its process and ancestry.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "Alert ID")),
    responses((status = 200, body = AlertRecord), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn get_alert(
    State(st): State<AppState>,
    _p: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRecord>, ApiError> {
    st.store
        .alert(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
}

/// Sets an alert's status in `p`'s name (at least an analyst), audited.
/// Shared with the console.
pub async fn set_status(
    st: &AppState,
    p: &Principal,
    id: i64,
    status: &str,
    action: &str,
) -> Result<Json<AlertRecord>, ApiError> {
    p.require(Role::Analyst)?;
    if !st.store.set_alert_status(id, status, &p.actor()).await? {
        return Err(ApiError::not_found(format!("no alert {id}")));
    }
    p.audit(
        st,
        action,
        &audit_target("alert", &id.to_string()),
        json!({ "status": status }),
    )
    .await?;
    st.store
        .alert(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
}

/// Acknowledges an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts",
    params(("id" = i64, Path, description = "Alert ID")),
    responses((status = 200, body = AlertRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["analyst"]), ("token" = ["analyst"])))]
async fn acknowledge_alert(
    State(st): State<AppState>,
    AnalystP(p): AnalystP,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRecord>, ApiError> {
    set_status(&st, &p, id, "acknowledged", "alert.acknowledge").await
}

/// Resolves an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "alerts",
    params(("id" = i64, Path, description = "Alert ID")),
    responses((status = 200, body = AlertRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["analyst"]), ("token" = ["analyst"])))]
async fn resolve_alert(
    State(st): State<AppState>,
    AnalystP(p): AnalystP,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRecord>, ApiError> {
    set_status(&st, &p, id, "resolved", "alert.resolve").await
}

// ------------------------------------------------------------ workloads

/// Workload filters, sorting and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkloadQuery {
    /// Agent ID.
    pub agent_id: Option<String>,
    /// `host`, `container` or `image`.
    pub kind: Option<String>,
    /// Text in the name (case-insensitive).
    pub q: Option<String>,
    /// `current` (default), `gone` (containers no longer running) or `all`.
    pub state: Option<String>,
    /// `name` (default), `-findings`, `-reported_at`.
    pub sort: Option<String>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Workloads (hosts and containers).
#[utoipa::path(get, path = "/api/v1/workloads", tag = "workloads", params(WorkloadQuery),
    responses((status = 200, body = Page<Workload>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn list_workloads(
    State(st): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<WorkloadQuery>,
) -> Result<Json<Page<Workload>>, ApiError> {
    let (offset, limit) = paging(q.offset, q.limit)?;
    let sort = match q.sort.as_deref().unwrap_or("name") {
        "name" => WorkloadSort::Name,
        "-findings" => WorkloadSort::FindingsDesc,
        "-reported_at" => WorkloadSort::ReportedDesc,
        other => {
            return Err(ApiError::bad_request(format!(
                "sort {other:?} is not one of name, -findings, -reported_at"
            )))
        }
    };
    let state = match q.state.as_deref().unwrap_or("current") {
        "current" => WorkloadState::Current,
        "gone" => WorkloadState::Gone,
        "all" => WorkloadState::All,
        other => {
            return Err(ApiError::bad_request(format!(
                "state {other:?} is not one of current, gone, all"
            )))
        }
    };
    let f = WorkloadFilter {
        agent_id: q.agent_id,
        kind: q.kind,
        q: q.q,
        state,
        sort,
    };
    Ok(Json(st.store.list_workloads(&f, offset, limit).await?))
}

/// One workload.
#[utoipa::path(get, path = "/api/v1/workloads/{id}", tag = "workloads",
    params(("id" = String, Path, description = "Workload ID")),
    responses((status = 200, body = Workload), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn get_workload(
    State(st): State<AppState>,
    _p: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Workload>, ApiError> {
    st.store
        .workload(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no workload {id:?}")))
}

/// Vulnerability filters, sorting and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VulnQuery {
    /// Minimum severity.
    pub severity: Option<String>,
    /// Workload ID.
    pub workload_id: Option<String>,
    /// Advisory ID or CVE, exact.
    pub id: Option<String>,
    /// Package name, exact.
    pub package: Option<String>,
    /// `-risk` (default), `-severity`, `package`, `id`.
    pub sort: Option<String>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// Vulnerability findings across the fleet.
#[utoipa::path(get, path = "/api/v1/vulnerabilities", tag = "vulnerabilities", params(VulnQuery),
    responses((status = 200, body = Page<VulnRecord>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn list_vulns(
    State(st): State<AppState>,
    _p: Principal,
    ApiQuery(q): ApiQuery<VulnQuery>,
) -> Result<Json<Page<VulnRecord>>, ApiError> {
    let (offset, limit) = paging(q.offset, q.limit)?;
    let sort = match q.sort.as_deref().unwrap_or("-risk") {
        "-risk" => VulnSort::RiskDesc,
        "-severity" => VulnSort::SeverityDesc,
        "package" => VulnSort::Package,
        "id" => VulnSort::Id,
        other => {
            return Err(ApiError::bad_request(format!(
                "sort {other:?} is not one of -risk, -severity, package, id"
            )))
        }
    };
    let f = VulnFilter {
        min_severity: min_severity(q.severity.as_deref())?,
        workload_id: q.workload_id,
        id: q.id,
        package: q.package,
        sort,
    };
    Ok(Json(st.store.list_vulns(&f, offset, limit).await?))
}

// ---------------------------------------------------------------- audit

/// Audit-log filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Action prefix (`login`, `alert.`, ...).
    pub action: Option<String>,
    /// Items to skip.
    pub offset: Option<i64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn list_audit(
    State(st): State<AppState>,
    _: AdminP,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let (offset, limit) = paging(q.offset, q.limit)?;
    Ok(Json(
        st.store
            .list_audit(q.action.as_deref(), offset, limit)
            .await?,
    ))
}

/// Export format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (default) or `csv`.
    pub format: Option<String>,
}

fn csv_field(s: &str) -> String {
    // Quoted always; a leading formula character is neutralised for spreadsheets.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The whole audit log as JSON lines or CSV, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(ExportQuery),
    responses((status = 200, description = "JSON lines or CSV", content_type = "text/plain"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn export_audit(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => false,
        "csv" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not jsonl or csv"
            )))
        }
    };
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let page = st.store.list_audit(None, offset, 500).await?;
        let n = page.items.len();
        all.extend(page.items);
        if n < 500 {
            break;
        }
        offset += 500;
    }
    all.reverse();
    let mut out = String::new();
    if csv {
        out.push_str("id,at,actor_kind,actor,action,target,detail,remote\n");
        for e in &all {
            let row = [
                e.id.to_string(),
                e.at.clone(),
                e.actor_kind.clone(),
                e.actor.clone(),
                e.action.clone(),
                e.target.clone(),
                e.detail.to_string(),
                e.remote.clone(),
            ];
            out.push_str(
                &row.iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
    } else {
        for e in &all {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
    }
    p.audit(
        &st,
        "audit.export",
        "audit",
        json!({ "entries": all.len(), "format": if csv { "csv" } else { "jsonl" } }),
    )
    .await?;
    let ct = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    Ok(([(header::CONTENT_TYPE, ct)], out).into_response())
}

// ------------------------------------------------------------- settings

/// The settings in force.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody)),
    security(("session" = ["read-only"]), ("token" = ["read-only"])))]
async fn get_settings(
    State(st): State<AppState>,
    _p: Principal,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(st.store.settings().await?))
}

/// Replaces the settings.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn put_settings(
    State(st): State<AppState>,
    AdminP(p): AdminP,
    ApiJson(s): ApiJson<Settings>,
) -> Result<Json<Settings>, ApiError> {
    for (name, v, lo, hi) in [
        ("alert_retention_days", s.alert_retention_days, 1, 3650),
        (
            "alert_retention_max",
            s.alert_retention_max,
            1,
            1_000_000_000,
        ),
        (
            "heartbeat_retention_days",
            s.heartbeat_retention_days,
            1,
            3650,
        ),
        (
            "heartbeat_retention_max",
            s.heartbeat_retention_max,
            1,
            1_000_000_000,
        ),
    ] {
        if !(lo..=hi).contains(&v) {
            return Err(ApiError::bad_request(format!(
                "{name} {v} must be {lo} to {hi}"
            )));
        }
    }
    let before = st.store.settings().await?;
    st.store.put_settings(&s, &p.actor()).await?;
    p.audit(
        &st,
        "settings.update",
        "settings",
        json!({ "before": before, "after": s }),
    )
    .await?;
    Ok(Json(s))
}

/// Applies retention now (it also runs every 10 minutes).
#[utoipa::path(post, path = "/api/v1/maintenance/retention", tag = "settings",
    responses((status = 200, body = RetentionReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = ["admin"]), ("token" = ["admin"])))]
async fn run_retention(
    State(st): State<AppState>,
    AdminP(p): AdminP,
) -> Result<Json<RetentionReport>, ApiError> {
    let s = st.store.settings().await?;
    let r = st.store.apply_retention(&s).await?;
    p.audit(
        &st,
        "retention.run",
        "store",
        serde_json::to_value(r).unwrap_or_default(),
    )
    .await?;
    Ok(Json(r))
}

/// The OpenAPI document (any authenticated user).
async fn openapi(_p: Principal) -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

// -------------------------------------------------------------- the doc

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                &format!("Session cookie from POST /api/v1/login; changes also need the {CSRF_HEADER} header"),
            ))),
        );
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token gat_ID_SECRET"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "enrollment_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Enrollment token get_ID_SECRET"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some("The client certificate issued at enrollment".into()),
                extensions: None,
            },
        );
    }
}

/// The OpenAPI 3 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Garrison control plane", description = "Agents, alerts, workloads, vulnerabilities, users and audit. The role in each operation's security requirement is the least role that may call it."),
    paths(login, logout, session, list_users, create_user, set_user_role, list_tokens, create_token, revoke_token,
        list_enrollment_tokens, create_enrollment_token, revoke_enrollment_token, enroll,
        list_agents, get_agent, revoke_agent, heartbeat, ingest_alerts, ingest_inventory,
        list_alerts, get_alert, acknowledge_alert, resolve_alert, list_workloads, get_workload,
        list_vulns, list_audit, export_audit, get_settings, put_settings, run_retention,
        crate::notify::api::list_targets, crate::notify::api::create_target, crate::notify::api::get_target,
        crate::notify::api::update_target, crate::notify::api::delete_target, crate::notify::api::test_target,
        crate::notify::api::list_deliveries,
        crate::policy::list_groups, crate::policy::get_policy, crate::policy::put_policy,
        crate::policy::set_agent_group, crate::policy::agent_policy),
    modifiers(&Security),
    tags((name = "session"), (name = "users"), (name = "tokens"), (name = "agents"), (name = "agent", description = "Called by agents"),
        (name = "alerts"), (name = "workloads"), (name = "vulnerabilities"), (name = "audit"), (name = "settings"),
        (name = "notifications", description = "Notification targets (webhook, Slack, PagerDuty, Jira) and their delivery log"),
        (name = "policy", description = "Agent groups, their rulesets and agent configuration"))
)]
pub struct ApiDoc;

/// The API's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/session", get(session))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}/role", axum::routing::put(set_user_role))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route(
            "/api/v1/enrollment-tokens",
            get(list_enrollment_tokens).post(create_enrollment_token),
        )
        .route(
            "/api/v1/enrollment-tokens/{id}",
            axum::routing::delete(revoke_enrollment_token),
        )
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{id}", get(get_agent))
        .route("/api/v1/agents/{id}/revoke", post(revoke_agent))
        .route("/api/v1/agent/heartbeat", post(heartbeat))
        .route("/api/v1/agent/alerts", post(ingest_alerts))
        .route("/api/v1/agent/inventory", post(ingest_inventory))
        .route("/api/v1/agent/policy", get(crate::policy::agent_policy))
        .route("/api/v1/groups", get(crate::policy::list_groups))
        .route(
            "/api/v1/groups/{name}/policy",
            get(crate::policy::get_policy)
                .put(crate::policy::put_policy)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::policy::MAX_POLICY_BODY,
                )),
        )
        .route(
            "/api/v1/agents/{id}/group",
            axum::routing::put(crate::policy::set_agent_group),
        )
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/{id}", get(get_alert))
        .route("/api/v1/alerts/{id}/acknowledge", post(acknowledge_alert))
        .route("/api/v1/alerts/{id}/resolve", post(resolve_alert))
        .route("/api/v1/workloads", get(list_workloads))
        .route("/api/v1/workloads/{id}", get(get_workload))
        .route("/api/v1/vulnerabilities", get(list_vulns))
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/audit/export", get(export_audit))
        .route("/api/v1/settings", get(get_settings).put(put_settings))
        .route("/api/v1/maintenance/retention", post(run_retention))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(crate::notify::api::routes())
        .fallback(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_operation_names_its_security() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 20);
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                assert!(
                    op.get("security").is_some(),
                    "{method} {path} has no security"
                );
            }
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=cmd()"), "\"'=cmd()\"");
    }

    #[test]
    fn new_users_are_checked() {
        assert!(check_new_user("alice", "long enough pw").is_ok());
        assert!(check_new_user("a b", "long enough pw").is_err());
        assert!(check_new_user("alice", "short").is_err());
    }
}
