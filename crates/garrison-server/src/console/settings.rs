//! Login and logout, and the settings pages: users, API tokens, enrollment
//! tokens, the audit log (notification targets: `notifications.rs`).

use super::{
    csrf_field, head, layout, nz, offset_of, pager, when, ConsoleError, ConsoleForm, ConsoleQuery,
    PageResult, Viewer, PAGE,
};
use crate::api::{CreateEnrollmentToken, CreateToken, CreateUser};
use crate::auth::{random_secret, ConnInfo, SESSION_COOKIE, SESSION_MS};
use crate::model::Role;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

/// The login form's double-submit cookie (there is no session yet to hold a
/// CSRF token): its value must come back in the form.
pub const LOGIN_CSRF_COOKIE: &str = "garrison_login_csrf";

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|s| s.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The login page with a fresh login CSRF token (and cookie).
fn login_form(status: StatusCode, error: Option<&str>, username: &str) -> Response {
    let token = random_secret();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head("Log in")) }
            body.bare {
                main.narrow.login {
                    h1 { "Garrison" }
                    @if let Some(e) = error { p.error #login-error role="alert" { (e) } }
                    form #login method="post" action="/login" {
                        input type="hidden" name="csrf" value=(token);
                        label { "User name" input #username type="text" name="username" value=(username) autocomplete="username" required autofocus; }
                        label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                        button #login-submit.primary type="submit" { "Log in" }
                    }
                }
            }
        }
    };
    let mut resp = (status, page).into_response();
    set_cookie(
        &mut resp,
        &format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; Secure; SameSite=Strict; Max-Age=3600"),
    );
    resp
}

/// `GET /login` (to the overview when already logged in).
pub async fn login_page(v: Result<Viewer, ConsoleError>) -> Response {
    if v.is_ok() {
        return Redirect::to("/").into_response();
    }
    login_form(StatusCode::OK, None, "")
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`: the API's login (argon2, rate limits, audit), then the
/// session cookie and on to the overview.
pub async fn login(
    State(st): State<AppState>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    ConsoleForm(f): ConsoleForm<LoginForm>,
) -> Response {
    let sent = f.csrf.unwrap_or_default();
    let cookie = cookie_value(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if sent.is_empty() || !crate::auth::ct_eq(&sent, &cookie) {
        return ConsoleError::new(
            StatusCode::FORBIDDEN,
            "the login form's CSRF token is missing or wrong; reload the login page",
        )
        .into_response();
    }
    let remote = conn.map(|c| c.0.remote).unwrap_or_default();
    let username: String = f.username.chars().take(128).collect();
    match crate::api::start_session(&st, &username, &f.password, &remote).await {
        Ok((_, sid, _)) => {
            let mut resp = Redirect::to("/").into_response();
            set_cookie(
                &mut resp,
                &format!(
                    "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                    SESSION_MS / 1000
                ),
            );
            set_cookie(
                &mut resp,
                &format!("{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; Secure; SameSite=Strict; Max-Age=0"),
            );
            resp
        }
        Err(e) => {
            let mut resp = login_form(e.status, Some(&e.message), &username);
            if let Some(s) = e.retry_after {
                resp.headers_mut().insert(header::RETRY_AFTER, s.into());
            }
            resp
        }
    }
}

/// `POST /logout`: ends the session (CSRF-checked), to the login page.
pub async fn logout(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<super::pages::CsrfForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::ReadOnly)?;
    if let crate::auth::Via::Session(h) = &p.via {
        st.store.delete_session(h).await?;
    }
    p.audit(&st, "logout", "session", serde_json::json!({}))
        .await?;
    let mut resp = Redirect::to("/login").into_response();
    set_cookie(
        &mut resp,
        &format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}

// ------------------------------------------------------------- settings

/// The settings navigation: (path, label, least role).
const SETTINGS_NAV: &[(&str, &str, Role)] = &[
    ("/settings/users", "Users", Role::Admin),
    ("/settings/tokens", "API tokens", Role::ReadOnly),
    ("/settings/enrollment", "Enrollment tokens", Role::Admin),
    (
        "/settings/notifications",
        "Notification targets",
        Role::Admin,
    ),
    ("/settings/audit", "Audit log", Role::Admin),
];

pub(super) fn settings_page(v: &Viewer, title: &str, active: &str, body: Markup) -> Response {
    let inner = html! {
        h1 { "Settings" }
        nav.tabs #settings-nav {
            @for (path, label, min) in SETTINGS_NAV {
                @if v.may(*min) {
                    a href=(path) class=[(*path == active).then_some("active")] { (label) }
                }
            }
        }
        (body)
    };
    layout(v, title, "/settings", inner)
}

/// `/settings`: the first settings page the user may see.
pub async fn settings_home(v: Viewer) -> Response {
    let first = SETTINGS_NAV
        .iter()
        .find(|(_, _, min)| v.may(*min))
        .map(|(p, _, _)| *p)
        .unwrap_or("/settings/tokens");
    Redirect::to(first).into_response()
}

fn role_select(name: &str, max: Role, selected: Role) -> Markup {
    html! {
        select name=(name) id=(name) {
            @for r in [Role::ReadOnly, Role::Analyst, Role::Admin] {
                @if r <= max { option value=(r.as_str()) selected[r == selected] { (r.as_str()) } }
            }
        }
    }
}

pub(super) fn forbid_unless(v: &Viewer, min: Role) -> Result<(), ConsoleError> {
    if v.may(min) {
        Ok(())
    } else {
        Err(ConsoleError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this page needs the {} role; {} has {}",
                min.as_str(),
                v.user.username,
                v.role().as_str()
            ),
        ))
    }
}

pub(super) fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(t) = text { p.notice role="status" { (t) } } }
}

async fn users_page(
    v: &Viewer,
    st: &AppState,
    msg: Option<&str>,
    status: StatusCode,
) -> PageResult {
    forbid_unless(v, Role::Admin)?;
    let users = st.store.list_users().await?;
    let body = html! {
        (notice(msg))
        table.list #user-list {
            thead { tr { th { "User" } th { "Role" } th { "Created" } th { "Change role" } } }
            tbody {
                @for u in &users {
                    tr data-user=(u.username) {
                        td { (u.username) } td { (u.role.as_str()) } td { (when(&u.created_at)) }
                        td {
                            @if u.username != v.user.username {
                                form.inline method="post" action="/settings/users/role" {
                                    (csrf_field(v))
                                    input type="hidden" name="username" value=(u.username);
                                    (role_select("role", Role::Admin, u.role))
                                    button type="submit" { "Set" }
                                }
                            } @else { span.muted { "(you)" } }
                        }
                    }
                }
            }
        }
        h2 { "New user" }
        form.stack #new-user method="post" action="/settings/users" {
            (csrf_field(v))
            label { "User name" input type="text" name="username" required pattern="[A-Za-z0-9._@-]{1,64}"; }
            label { "Password (12 characters or more)" input type="password" name="password" required minlength="12" autocomplete="new-password"; }
            label { "Role" (role_select("role", Role::Admin, Role::ReadOnly)) }
            button.primary type="submit" { "Create user" }
        }
    };
    let mut resp = settings_page(v, "Users", "/settings/users", body);
    *resp.status_mut() = status;
    Ok(resp)
}

/// `/settings/users` (admin).
pub async fn users(v: Viewer, State(st): State<AppState>) -> PageResult {
    users_page(&v, &st, None, StatusCode::OK).await
}

/// The new-user form.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// `POST /settings/users` (admin).
pub async fn create_user(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<UserForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    let Some(role) = Role::parse(&f.role) else {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            format!("role {:?} is not one of read-only, analyst, admin", f.role),
        ));
    };
    let req = CreateUser {
        username: f.username,
        password: f.password,
        role,
    };
    match crate::api::new_user(&st, &p, &req).await {
        Ok(u) => {
            let m = format!(
                "User {} created with the {} role.",
                u.username,
                u.role.as_str()
            );
            users_page(&v, &st, Some(&m), StatusCode::OK).await
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
            users_page(&v, &st, Some(&e.message), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The change-role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
}

/// `POST /settings/users/role` (admin): changes a user's role.
pub async fn set_role(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<RoleForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    let Some(role) = Role::parse(&f.role) else {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            format!("role {:?} is not one of read-only, analyst, admin", f.role),
        ));
    };
    match crate::api::user_role_as(&st, &p, &f.username, role).await {
        Ok(u) => {
            let m = format!("{} now has the {} role.", u.username, u.role.as_str());
            users_page(&v, &st, Some(&m), StatusCode::OK).await
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            users_page(&v, &st, Some(&e.message), e.status).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn tokens_page(
    v: &Viewer,
    st: &AppState,
    created: Option<&crate::api::CreatedToken>,
    msg: Option<&str>,
) -> PageResult {
    let mut tokens = st.store.list_tokens().await?;
    if !v.may(Role::Admin) {
        tokens.retain(|t| t.owner == v.user.username);
    }
    let admin = v.may(Role::Admin);
    let body = html! {
        (notice(msg))
        @if let Some(c) = created {
            div.secret #new-token {
                p { "Your new API token (" (c.role.as_str()) "). Copy it now: it is not shown again." }
                input #new-token-value type="text" readonly value=(c.token);
                p.muted { "Send it as " code { "Authorization: Bearer …" } "." }
            }
        }
        table.list #token-list {
            thead { tr { th { "ID" } th { "Name" } th { "Role" } th { "Owner" } th { "Created" } th { "Expires" } th { "Last used" } th { "State" } @if admin { th {} } } }
            tbody {
                @for t in &tokens {
                    tr data-token=(t.id) {
                        td { code { (t.id) } } td { (t.name) } td { (t.role.as_str()) } td { (t.owner) }
                        td { (when(&t.created_at)) }
                        td { (t.expires_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                        td { (t.last_used_at.as_deref().map(when).unwrap_or_else(|| "never".into())) }
                        td { @if let Some(r) = &t.revoked_at { "revoked " (when(r)) } @else { "active" } }
                        @if admin {
                            td { @if t.revoked_at.is_none() {
                                form.inline method="post" action=(format!("/settings/tokens/{}/revoke", t.id)) {
                                    (csrf_field(v)) button.danger type="submit" { "Revoke" }
                                }
                            } }
                        }
                    }
                }
            }
        }
        h2 { "New API token" }
        form.stack #new-token-form method="post" action="/settings/tokens" {
            (csrf_field(v))
            label { "Name" input type="text" name="name" required maxlength="128"; }
            label { "Role (at most yours)" (role_select("role", v.role(), v.role())) }
            label { "Expires in days (empty: never)" input type="number" name="expires_in_days" min="1" max="3650"; }
            button.primary type="submit" { "Create token" }
        }
    };
    Ok(settings_page(v, "API tokens", "/settings/tokens", body))
}

/// `/settings/tokens`: everyone's tokens for admins, one's own for others.
pub async fn tokens(v: Viewer, State(st): State<AppState>) -> PageResult {
    tokens_page(&v, &st, None, None).await
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    role: Option<String>,
    expires_in_days: Option<String>,
}

/// `POST /settings/tokens`: creates a token for the user and shows it once.
pub async fn create_token(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<TokenForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::ReadOnly)?;
    let role = match nz(&f.role) {
        None => None,
        Some(r) => Some(Role::parse(&r).ok_or_else(|| {
            ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("role {r:?} is not one of read-only, analyst, admin"),
            )
        })?),
    };
    let expires_in_days = match nz(&f.expires_in_days) {
        None => None,
        Some(d) => Some(d.parse::<i64>().map_err(|_| {
            ConsoleError::new(
                StatusCode::BAD_REQUEST,
                format!("expires in days {d:?} is not a number"),
            )
        })?),
    };
    let req = CreateToken {
        name: f.name,
        role,
        expires_in_days,
    };
    let created = crate::api::new_token(&st, &p, &req).await?;
    let mut resp = tokens_page(&v, &st, Some(&created), None).await?;
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

/// `POST /settings/tokens/{id}/revoke` (admin).
pub async fn revoke_token(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<super::pages::CsrfForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    crate::api::revoke_token_as(&st, &p, &id).await?;
    Ok(Redirect::to("/settings/tokens").into_response())
}

async fn enrollment_page(
    v: &Viewer,
    st: &AppState,
    created: Option<&crate::api::CreatedEnrollmentToken>,
) -> PageResult {
    forbid_unless(v, Role::Admin)?;
    let toks = st.store.list_enrollment_tokens().await?;
    let body = html! {
        @if let Some(c) = created {
            div.secret #new-enrollment-token {
                p { "The new enrollment token. Copy it now: it is not shown again." }
                input #new-enrollment-token-value type="text" readonly value=(c.token);
                p { "The agent pins the server's CA by its SHA-256: " code #ca-sha256 { (c.ca_sha256) } }
            }
        }
        table.list #enrollment-list {
            thead { tr { th { "ID" } th { "Description" } th { "By" } th { "Created" } th { "Expires" } th.num { "Uses" } th { "State" } th {} } }
            tbody {
                @for t in &toks {
                    tr {
                        td { code { (t.id) } } td { (t.description) } td { (t.created_by) }
                        td { (when(&t.created_at)) } td { (when(&t.expires_at)) }
                        td.num { (t.uses) " / " (t.max_uses) }
                        td { @if let Some(r) = &t.revoked_at { "revoked " (when(r)) } @else { "active" } }
                        td { @if t.revoked_at.is_none() {
                            form.inline method="post" action=(format!("/settings/enrollment/{}/revoke", t.id)) {
                                (csrf_field(v)) button.danger type="submit" { "Revoke" }
                            }
                        } }
                    }
                }
            }
        }
        h2 { "New enrollment token" }
        form.stack #new-enrollment-form method="post" action="/settings/enrollment" {
            (csrf_field(v))
            label { "Description" input type="text" name="description" maxlength="256"; }
            label { "Expires in hours" input type="number" name="expires_in_hours" min="1" max="8760" value="24"; }
            label { "Enrollments allowed" input type="number" name="max_uses" min="1" max="100000" value="1"; }
            label { "Agent group (optional; default: default)" input type="text" name="group" maxlength="64" pattern="[A-Za-z0-9._-]{1,64}"; }
            button.primary type="submit" { "Create enrollment token" }
        }
    };
    Ok(settings_page(
        v,
        "Enrollment tokens",
        "/settings/enrollment",
        body,
    ))
}

/// `/settings/enrollment` (admin).
pub async fn enrollment(v: Viewer, State(st): State<AppState>) -> PageResult {
    enrollment_page(&v, &st, None).await
}

/// The new-enrollment-token form.
#[derive(Debug, Deserialize)]
pub struct EnrollmentForm {
    csrf: Option<String>,
    #[serde(default)]
    description: String,
    expires_in_hours: Option<String>,
    max_uses: Option<String>,
    group: Option<String>,
}

fn number(name: &str, v: &Option<String>) -> Result<Option<i64>, ConsoleError> {
    nz(v)
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                ConsoleError::new(
                    StatusCode::BAD_REQUEST,
                    format!("{name} {s:?} is not a number"),
                )
            })
        })
        .transpose()
}

/// `POST /settings/enrollment` (admin): shows the token once.
pub async fn create_enrollment(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleForm(f): ConsoleForm<EnrollmentForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    let req = CreateEnrollmentToken {
        description: f.description,
        expires_in_hours: number("expires_in_hours", &f.expires_in_hours)?,
        max_uses: number("max_uses", &f.max_uses)?,
        group: nz(&f.group),
    };
    let created = crate::api::enrollment_token_as(&st, &p, &req).await?;
    let mut resp = enrollment_page(&v, &st, Some(&created)).await?;
    *resp.status_mut() = StatusCode::CREATED;
    Ok(resp)
}

/// `POST /settings/enrollment/{id}/revoke` (admin).
pub async fn revoke_enrollment(
    v: Viewer,
    State(st): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm(f): ConsoleForm<super::pages::CsrfForm>,
) -> PageResult {
    let p = v.act(f.csrf.as_deref(), Role::Admin)?;
    crate::api::revoke_enrollment_token_as(&st, &p, &id).await?;
    Ok(Redirect::to("/settings/enrollment").into_response())
}

/// Audit-log filters.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    offset: Option<i64>,
}

/// `/settings/audit` (admin): the audit log, newest first, with export links.
pub async fn audit(
    v: Viewer,
    State(st): State<AppState>,
    ConsoleQuery(q): ConsoleQuery<AuditQuery>,
) -> PageResult {
    forbid_unless(&v, Role::Admin)?;
    let offset = offset_of(q.offset)?;
    let action = nz(&q.action);
    let page = st.store.list_audit(action.as_deref(), offset, PAGE).await?;
    let body = html! {
        form.filters method="get" action="/settings/audit" {
            label { "Action starts with " input type="text" name="action" value=(action.clone().unwrap_or_default()) placeholder="login, alert., token."; }
            button type="submit" { "Filter" }
            " Export: "
            a #export-csv href="/api/v1/audit/export?format=csv" { "CSV" } " · "
            a #export-jsonl href="/api/v1/audit/export?format=jsonl" { "JSON lines" }
        }
        table.list #audit-list {
            thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Target" } th { "Details" } th { "From" } } }
            tbody {
                @for e in &page.items {
                    tr {
                        td { (when(&e.at)) } td { (e.actor) " " small.muted { (e.actor_kind) } }
                        td { code { (e.action) } } td { (e.target) }
                        td.detail { code { (e.detail.to_string()) } } td { (e.remote) }
                    }
                }
            }
        }
        (pager("/settings/audit", &[("action", action.unwrap_or_default())], offset, PAGE, page.total))
    };
    Ok(settings_page(&v, "Audit log", "/settings/audit", body))
}
