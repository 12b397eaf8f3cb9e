//! The web console: server-rendered HTML pages (maud, escaped by default) and
//! one embedded stylesheet, under `/`. People log in with the same argon2
//! passwords and sessions as the API; every form POST carries the session's
//! CSRF token (the login form a double-submit cookie); pages use the store's
//! list functions the REST API uses, and changes go through the API's own
//! functions (same checks, same audit entries).
//!
//! Layout: `mod.rs` (routes, who is asking, errors, layout), `pages.rs`
//! (overview, workloads, alerts, vulnerabilities), `settings.rs` (login,
//! logout, users, tokens, enrollment, audit), `chart.rs` (inline SVG).

mod chart;
mod notifications;
mod pages;
mod settings;

use crate::auth::{ct_eq, secret_hash, session_cookie, ConnInfo, Principal, Via};
use crate::error::{ApiError, StoreError};
use crate::model::{Agent, Role, User};
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};

/// The console's Content-Security-Policy: only the server's own origin, no
/// inline script or style (the charts are inline SVG with presentation
/// attributes and classes), forms post only to the server.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Page size of the console's lists.
pub const PAGE: i64 = 25;

/// The embedded assets, served by exact name under `/static/` (nothing else is).
const ASSETS: &[(&str, &str, &str)] = &[(
    "console.css",
    "text/css; charset=utf-8",
    include_str!("../../console/console.css"),
)];

/// The console's routes (with its own security headers).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(settings::login_page).post(settings::login))
        .route("/logout", post(settings::logout))
        .route("/workloads", get(pages::workloads))
        .route("/workloads/{id}", get(pages::workload))
        .route("/alerts", get(pages::alerts))
        .route("/alerts/{id}", get(pages::alert))
        .route("/alerts/{id}/acknowledge", post(pages::acknowledge))
        .route("/alerts/{id}/resolve", post(pages::resolve))
        .route("/vulnerabilities", get(pages::vulns_by_cve))
        .route("/vulnerabilities/findings", get(pages::vuln_findings))
        .route(
            "/vulnerabilities/by-workload",
            get(pages::vulns_by_workload),
        )
        .route("/settings", get(settings::settings_home))
        .route(
            "/settings/users",
            get(settings::users).post(settings::create_user),
        )
        .route(
            "/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route("/settings/users/role", post(settings::set_role))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route(
            "/settings/enrollment",
            get(settings::enrollment).post(settings::create_enrollment),
        )
        .route(
            "/settings/enrollment/{id}/revoke",
            post(settings::revoke_enrollment),
        )
        .route(
            "/settings/notifications",
            get(notifications::targets).post(notifications::create),
        )
        .route(
            "/settings/notifications/{id}/test",
            post(notifications::test),
        )
        .route(
            "/settings/notifications/{id}/delete",
            post(notifications::delete),
        )
        .route("/settings/audit", get(settings::audit))
        .route("/static/{name}", get(asset))
        .layer(axum::middleware::from_fn(console_headers))
}

async fn console_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    resp
}

/// An embedded asset by exact name; any other name (`..`, encoded or not,
/// absolute paths, unknown files) is 404.
async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ct, body)) => ([(header::CONTENT_TYPE, *ct)], *body).into_response(),
        None => ConsoleError::new(StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

// ------------------------------------------------------------- who asks

/// A person with a console session (the session cookie; API tokens are not
/// taken here). Pages that need one send others to `/login`.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user: User,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    id_hash: String,
    remote: String,
}

impl Viewer {
    /// The user's role.
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Whether the user may do what needs `min`.
    pub fn may(&self, min: Role) -> bool {
        self.user.role >= min
    }

    /// Checks a form's CSRF token (403 when missing or wrong), then the role
    /// (403), and answers the principal to act as.
    pub fn act(&self, csrf: Option<&str>, min: Role) -> Result<Principal, ConsoleError> {
        if !ct_eq(csrf.unwrap_or(""), &self.csrf) {
            return Err(ConsoleError::new(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or wrong; reload the page and try again",
            ));
        }
        let p = Principal {
            user: self.user.clone(),
            role: self.user.role,
            via: Via::Session(self.id_hash.clone()),
            csrf: Some(self.csrf.clone()),
            remote: self.remote.clone(),
        };
        p.require(min)?;
        Ok(p)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ConsoleError> {
        let remote = parts
            .extensions
            .get::<ConnInfo>()
            .map(|c| c.remote.clone())
            .unwrap_or_default();
        let Some(cookie) = session_cookie(parts) else {
            return Err(ConsoleError::Login);
        };
        let id_hash = secret_hash(&cookie);
        match st.store.session(&id_hash).await? {
            Some(s) if s.expires_at > crate::store::now_ms() => Ok(Viewer {
                user: s.user,
                csrf: s.csrf,
                id_hash,
                remote,
            }),
            _ => Err(ConsoleError::Login),
        }
    }
}

/// A form body; a body that is not a form is 400.
pub struct ConsoleForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ConsoleForm<T> {
    type Rejection = ConsoleError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ConsoleError> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| ConsoleForm(f.0))
            .map_err(|e| ConsoleError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// A query string; one that does not parse is 400.
pub struct ConsoleQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ConsoleQuery<T> {
    type Rejection = ConsoleError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ConsoleError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ConsoleQuery(q.0))
            .map_err(|e| ConsoleError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

// --------------------------------------------------------------- errors

/// What a console page answers instead of itself.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not logged in: to the login page.
    Login,
    /// An error page.
    Page {
        /// Status.
        status: StatusCode,
        /// A sentence for the person.
        message: String,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
}

impl ConsoleError {
    /// An error page with this status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ConsoleError::Page {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        if e.status == StatusCode::UNAUTHORIZED {
            return ConsoleError::Login;
        }
        ConsoleError::Page {
            status: e.status,
            message: e.message,
            retry_after: e.retry_after,
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::Login => Redirect::to("/login").into_response(),
            ConsoleError::Page {
                status,
                message,
                retry_after,
            } => {
                let title = status.canonical_reason().unwrap_or("Error");
                let body = html! {
                    (DOCTYPE)
                    html lang="en" {
                        head { (head(title)) }
                        body.bare {
                            main.narrow {
                                h1 { (status.as_u16()) " " (title) }
                                p.error { (message) }
                                p { a href="/" { "Back to the overview" } }
                            }
                        }
                    }
                };
                let mut resp = (status, body).into_response();
                if let Some(s) = retry_after {
                    resp.headers_mut().insert(header::RETRY_AFTER, s.into());
                }
                resp
            }
        }
    }
}

/// A page's result.
pub type PageResult = Result<Response, ConsoleError>;

// --------------------------------------------------------------- layout

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="referrer" content="no-referrer";
        title { (title) " · Garrison" }
        link rel="stylesheet" href="/static/console.css";
    }
}

/// The main sections (path, label).
const SECTIONS: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/workloads", "Workloads"),
    ("/alerts", "Alerts"),
    ("/vulnerabilities", "Vulnerabilities"),
    ("/settings", "Settings"),
];

/// A whole page: header with navigation and the user, then `body`.
pub fn layout(v: &Viewer, title: &str, section: &str, body: Markup) -> Response {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                header.top {
                    a.brand href="/" { "Garrison" }
                    nav.main {
                        @for (path, label) in SECTIONS {
                            a href=(path) class=[(*path == section).then_some("active")] { (label) }
                        }
                    }
                    div.who {
                        span #whoami { (v.user.username) } " "
                        span.role { (v.role().as_str()) }
                        form.inline method="post" action="/logout" {
                            (csrf_field(v))
                            button #logout type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_response()
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(v: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.csrf); }
}

/// A severity badge.
pub fn severity(s: &str) -> Markup {
    let class = format!("sev sev-{}", s.to_ascii_lowercase());
    html! { span class=(class) { (s) } }
}

/// Agent health as the console shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Heard from within 5 minutes, sensor not degraded, nothing lost.
    Healthy,
    /// Heard from recently, but the sensor is degraded or events were lost.
    Degraded,
    /// Not heard from for more than 5 minutes.
    Stale,
    /// Never heard from since enrollment.
    NeverSeen,
    /// Revoked.
    Revoked,
}

/// How long an agent may be silent and still count as healthy.
pub const STALE_AFTER_MS: i64 = 5 * 60 * 1000;

impl Health {
    /// The agent's health now.
    pub fn of(a: &Agent, now_ms: i64) -> Health {
        if a.revoked_at.is_some() {
            return Health::Revoked;
        }
        let Some(seen) = a
            .last_seen_at
            .as_deref()
            .and_then(crate::model::parse_rfc3339)
        else {
            return Health::NeverSeen;
        };
        if now_ms - seen > STALE_AFTER_MS {
            Health::Stale
        } else if a.lost_events.unwrap_or(0) > 0 || a.sensor_mode.as_deref() == Some("degraded") {
            Health::Degraded
        } else {
            Health::Healthy
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Stale => "stale",
            Health::NeverSeen => "never seen",
            Health::Revoked => "revoked",
        }
    }

    /// All, in display order.
    pub const ALL: [Health; 5] = [
        Health::Healthy,
        Health::Degraded,
        Health::Stale,
        Health::NeverSeen,
        Health::Revoked,
    ];

    /// A badge.
    pub fn badge(self) -> Markup {
        let class = format!("health health-{}", self.as_str().replace(' ', "-"));
        html! { span class=(class) { (self.as_str()) } }
    }
}

/// Previous/next links keeping the other query parameters.
pub fn pager(path: &str, params: &[(&str, String)], offset: i64, limit: i64, total: i64) -> Markup {
    let link = |off: i64| {
        let mut q: Vec<(&str, String)> = params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        if off > 0 {
            q.push(("offset", off.to_string()));
        }
        let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
        if qs.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{qs}")
        }
    };
    let last = (offset + limit).min(total);
    html! {
        nav.pager {
            @if total == 0 { span { "Nothing to show." } }
            @else { span.count { (offset + 1) "–" (last) " of " (total) } }
            @if offset > 0 { " " a rel="prev" href=(link((offset - limit).max(0))) { "‹ Previous" } }
            @if offset + limit < total { " " a rel="next" href=(link(offset + limit)) { "Next ›" } }
        }
    }
}

/// An optional query value: empty means absent.
pub fn nz(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A 0-or-more offset from the query.
pub fn offset_of(v: Option<i64>) -> Result<i64, ConsoleError> {
    let (o, _) = crate::api::paging(v, Some(PAGE))?;
    Ok(o)
}

/// A time as the console shows it (RFC 3339 without the milliseconds).
pub fn when(s: &str) -> String {
    match (s.get(..10), s.get(11..19)) {
        (Some(d), Some(t)) if s.len() >= 19 => format!("{d} {t}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_follows_last_heartbeat_mode_and_revocation() {
        let mut a = Agent {
            id: "a".into(),
            hostname: "h".into(),
            cert_sha256: String::new(),
            cert_not_after: String::new(),
            enrolled_at: String::new(),
            revoked_at: None,
            last_seen_at: None,
            version: None,
            kernel: None,
            sensor_mode: Some("ebpf".into()),
            counters: None,
            lost_events: Some(0),
            clock_skew_ms: None,
            group: "default".into(),
            policy_version: None,
            group_policy_version: None,
        };
        let now = 1_800_000_000_000;
        assert_eq!(Health::of(&a, now), Health::NeverSeen);
        a.last_seen_at = Some(crate::model::rfc3339(now - 1000));
        assert_eq!(Health::of(&a, now), Health::Healthy);
        a.lost_events = Some(3);
        assert_eq!(Health::of(&a, now), Health::Degraded);
        a.last_seen_at = Some(crate::model::rfc3339(now - STALE_AFTER_MS - 1));
        assert_eq!(Health::of(&a, now), Health::Stale);
        a.revoked_at = Some(String::new());
        assert_eq!(Health::of(&a, now), Health::Revoked);
    }

    #[test]
    fn pager_keeps_filters_and_escapes_them() {
        let m = pager(
            "/alerts",
            &[("q", "a&b <x>".into()), ("rule", String::new())],
            25,
            25,
            80,
        )
        .into_string();
        assert!(m.contains("26–50 of 80"), "{m}");
        assert!(m.contains("href=\"/alerts?q=a%26b+%3Cx%3E\""), "{m}");
        assert!(
            m.contains("href=\"/alerts?q=a%26b+%3Cx%3E&amp;offset=50\""),
            "{m}"
        );
    }
}
