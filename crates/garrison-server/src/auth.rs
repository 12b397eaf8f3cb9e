//! Who is asking: users (argon2 password hashes, session cookies with a CSRF
//! token), API tokens (bearer, stored as SHA-256 of a 256-bit secret), agents
//! (the client certificate of the TLS connection) and enrollment tokens; and
//! the login rate limiter (per user name and per client IP).

use crate::error::ApiError;
use crate::model::{Agent, Role, User};
use crate::store::NewAudit;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "garrison_session";
/// Header carrying the CSRF token on cookie-authenticated changes.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Session lifetime.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Prefix of API tokens.
pub const API_TOKEN_PREFIX: &str = "gat";
/// Prefix of enrollment tokens.
pub const ENROLL_TOKEN_PREFIX: &str = "get";

/// What the TLS layer knows about a connection, put in each request.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// SHA-256 (hex) of the verified client certificate, when one was presented.
    pub client_cert_sha256: Option<String>,
    /// Peer address.
    pub remote: String,
}

/// Hashes a password with argon2id (random salt), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing password: {e}"))
}

/// Checks a password against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password hash to compare against when the user does not exist, so the
/// answer takes as long as for a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("garrison-no-such-user").unwrap_or_default())
}

/// 32 random bytes, base64url.
pub fn random_secret() -> String {
    let b: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A short random ID (12 hex digits).
pub fn random_id() -> String {
    let b: [u8; 6] = rand::random();
    hex::encode(b)
}

/// SHA-256 hex of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Splits `PREFIX_ID_SECRET` into (ID, SECRET).
pub fn split_token<'a>(token: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((id, secret))
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The session cookie's value, if sent.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    for h in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for c in s.split(';') {
            if let Some((k, v)) = c.trim().split_once('=') {
                if k == SESSION_COOKIE {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Session cookie (its hashed ID).
    Session(String),
    /// API token (its ID).
    Token(String),
}

/// An authenticated user or API token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user (the token's owner for tokens).
    pub user: User,
    /// The role in force (a token's own role, never above its owner's).
    pub role: Role,
    /// How.
    pub via: Via,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
    /// Peer address.
    pub remote: String,
}

impl Principal {
    /// Refuses with 403 unless the role is at least `min`.
    pub fn require(&self, min: Role) -> Result<(), ApiError> {
        if self.role >= min {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {} role; {} has {}",
                min.as_str(),
                self.actor(),
                self.role.as_str()
            )))
        }
    }

    /// `user` or `token`.
    pub fn actor_kind(&self) -> &'static str {
        match self.via {
            Via::Session(_) => "user",
            Via::Token(_) => "token",
        }
    }

    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session(_) => self.user.username.clone(),
            Via::Token(id) => format!("token:{id} ({})", self.user.username),
        }
    }

    /// Writes an audit entry in this principal's name.
    pub async fn audit(
        &self,
        st: &AppState,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        st.store
            .audit(NewAudit {
                actor_kind: self.actor_kind(),
                actor: &self.actor(),
                action,
                target,
                detail,
                remote: &self.remote,
            })
            .await?;
        Ok(())
    }
}

fn remote_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnInfo>()
        .map(|c| c.remote.clone())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let remote = remote_of(parts);
        let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let Some(tok) = bearer(parts) {
            let Some((id, secret)) = split_token(tok, API_TOKEN_PREFIX) else {
                return Err(ApiError::unauthenticated(
                    "the bearer token is not a Garrison API token (gat_ID_SECRET)",
                ));
            };
            let row = st.store.token(id).await?;
            let Some(row) = row else {
                return Err(ApiError::unauthenticated("unknown API token"));
            };
            if !ct_eq(&row.secret_hash, &secret_hash(secret)) {
                return Err(ApiError::unauthenticated("unknown API token"));
            }
            if row.revoked {
                return Err(ApiError::unauthenticated("the API token was revoked"));
            }
            if row.expires_at.is_some_and(|e| e <= crate::store::now_ms()) {
                return Err(ApiError::unauthenticated("the API token has expired"));
            }
            st.store.touch_token(id).await?;
            let user = crate::model::User {
                id: String::new(),
                username: row.info.owner.clone(),
                role: row.owner_role,
                created_at: String::new(),
            };
            let p = Principal {
                user,
                role: row.info.role.min(row.owner_role),
                via: Via::Token(id.to_string()),
                csrf: None,
                remote,
            };
            if changes {
                // Every change made with a token is on record.
                p.audit(
                    st,
                    "token.use",
                    parts.uri.path(),
                    serde_json::json!({ "method": parts.method.as_str() }),
                )
                .await?;
            }
            return Ok(p);
        }
        if let Some(cookie) = session_cookie(parts) {
            let id_hash = secret_hash(&cookie);
            let Some(s) = st.store.session(&id_hash).await? else {
                return Err(ApiError::unauthenticated(
                    "the session is unknown or ended; log in again",
                ));
            };
            if s.expires_at <= crate::store::now_ms() {
                return Err(ApiError::unauthenticated(
                    "the session has expired; log in again",
                ));
            }
            if changes {
                let sent = parts
                    .headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !ct_eq(sent, &s.csrf) {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "csrf",
                        format!("a change made with a session cookie needs the {CSRF_HEADER} header from the login answer"),
                    ));
                }
            }
            let role = s.user.role;
            return Ok(Principal {
                user: s.user,
                role,
                via: Via::Session(id_hash),
                csrf: Some(s.csrf),
                remote,
            });
        }
        Err(ApiError::unauthenticated(
            "authentication required: a session cookie (POST /api/v1/login) or an API token (Authorization: Bearer gat_...)",
        ))
    }
}

/// How many failed logins are allowed before the limiter locks, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// Failures of one user name within `window` before it is locked.
    pub per_user: u32,
    /// Failures from one client IP within `window` before it is locked.
    pub per_ip: u32,
    /// Failures older than this (since the last one) are forgotten.
    pub window: std::time::Duration,
    /// First lock; doubled by every further failure after a lock ends.
    pub base_lock: std::time::Duration,
    /// Longest lock.
    pub max_lock: std::time::Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            per_user: 5,
            per_ip: 30,
            window: std::time::Duration::from_secs(15 * 60),
            base_lock: std::time::Duration::from_secs(30),
            max_lock: std::time::Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: std::time::Instant,
}

/// Keys tracked at most (per kind); beyond, forgotten entries are pruned first
/// and new user names are no longer tracked (the per-IP limit still holds).
const LIMITER_MAX_KEYS: usize = 100_000;

/// Failed logins per user name and per client IP (in memory, per server):
/// after `per_user` (or `per_ip`) failures within the window, logins are
/// refused with 429 and `Retry-After` for `base_lock`, doubled by each failure
/// after that, up to `max_lock`. A success clears the user name's count.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    policy: LoginPolicy,
    state: std::sync::Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    users: std::collections::HashMap<String, Failures>,
    ips: std::collections::HashMap<std::net::IpAddr, Failures>,
}

/// The limiter's key for a user name: at most 65 characters (valid names have
/// at most 64), so hostile names cannot make the table large.
fn user_key(username: &str) -> String {
    username.chars().take(65).collect()
}

/// The IP of a `ConnInfo::remote` (`ip:port`); None when it is not one.
pub fn remote_ip(remote: &str) -> Option<std::net::IpAddr> {
    remote
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| remote.parse::<std::net::IpAddr>())
        .ok()
}

impl LoginLimiter {
    /// A limiter with this policy.
    pub fn new(policy: LoginPolicy) -> Self {
        LoginLimiter {
            policy,
            state: Default::default(),
        }
    }

    fn lock_left(&self, f: Option<&Failures>, limit: u32, now: std::time::Instant) -> Option<u64> {
        let f = f?;
        if now.duration_since(f.last) > self.policy.window || f.count < limit {
            return None;
        }
        let doublings = (f.count - limit).min(16);
        let lock = self
            .policy
            .base_lock
            .saturating_mul(1u32 << doublings)
            .min(self.policy.max_lock);
        let until = f.last + lock;
        (until > now).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Refuses (429, `Retry-After`) while the user name or the client IP is locked.
    pub fn check(&self, username: &str, remote: &str) -> Result<(), ApiError> {
        let now = std::time::Instant::now();
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let user = self.lock_left(st.users.get(&user_key(username)), self.policy.per_user, now);
        let ip = remote_ip(remote)
            .and_then(|ip| self.lock_left(st.ips.get(&ip), self.policy.per_ip, now));
        match user.max(ip) {
            None => Ok(()),
            Some(secs) => Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "too many failed logins for this user name or from this address; try again in {secs} s"
                ),
            )
            .retry_after(secs)),
        }
    }

    /// Counts a failed login.
    pub fn failed(&self, username: &str, remote: &str) {
        let now = std::time::Instant::now();
        let window = self.policy.window;
        let bump = |f: &mut Failures| {
            if now.duration_since(f.last) > window {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        };
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for_map(&mut st.users, user_key(username), now, window, bump);
        if let Some(ip) = remote_ip(remote) {
            for_map(&mut st.ips, ip, now, window, bump);
        }
    }

    /// A successful login clears the user name's failures (not the IP's).
    pub fn succeeded(&self, username: &str) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.users.remove(&user_key(username));
    }
}

fn for_map<K: std::hash::Hash + Eq>(
    m: &mut std::collections::HashMap<K, Failures>,
    key: K,
    now: std::time::Instant,
    window: std::time::Duration,
    bump: impl Fn(&mut Failures),
) {
    if m.len() >= LIMITER_MAX_KEYS && !m.contains_key(&key) {
        m.retain(|_, f| now.duration_since(f.last) <= window);
        if m.len() >= LIMITER_MAX_KEYS {
            return;
        }
    }
    let f = m.entry(key).or_insert(Failures {
        count: 0,
        last: now,
    });
    bump(f);
}

/// An agent, identified by the client certificate of its TLS connection and
/// nothing else: what a request body says about identity is never read.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    /// The agent.
    pub agent: Agent,
    /// Peer address.
    pub remote: String,
}

impl FromRequestParts<AppState> for AgentIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let conn = parts.extensions.get::<ConnInfo>().cloned();
        let Some(fp) = conn.as_ref().and_then(|c| c.client_cert_sha256.clone()) else {
            return Err(ApiError::unauthenticated(
                "agent calls need the client certificate issued at enrollment (mutual TLS)",
            ));
        };
        let Some(agent) = st.store.agent_by_cert(&fp).await? else {
            return Err(ApiError::forbidden(
                "the client certificate was issued by this server's CA but belongs to no enrolled agent",
            ));
        };
        if agent.revoked_at.is_some() {
            return Err(ApiError::forbidden(format!(
                "agent {} was revoked; enroll it again with a new token",
                agent.id
            )));
        }
        Ok(AgentIdentity {
            agent,
            remote: conn.map(|c| c.remote).unwrap_or_default(),
        })
    }
}

/// An enrollment token presented as `Authorization: Bearer get_ID_SECRET`,
/// checked (known, secret matches); expiry and use count are checked when used.
#[derive(Debug, Clone)]
pub struct EnrollmentBearer {
    /// Token ID.
    pub id: String,
    /// Peer address.
    pub remote: String,
}

impl FromRequestParts<AppState> for EnrollmentBearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let remote = remote_of(parts);
        let Some(tok) = bearer(parts) else {
            return Err(ApiError::unauthenticated(
                "enrollment needs an enrollment token (Authorization: Bearer get_...)",
            ));
        };
        let Some((id, secret)) = split_token(tok, ENROLL_TOKEN_PREFIX) else {
            return Err(ApiError::unauthenticated(
                "the bearer token is not an enrollment token (get_ID_SECRET)",
            ));
        };
        let row = st.store.enrollment_token(id).await?;
        let Some(row) = row.filter(|r| ct_eq(&r.secret_hash, &secret_hash(secret))) else {
            return Err(ApiError::unauthenticated("unknown enrollment token"));
        };
        let now = crate::store::now_ms();
        if row.info.revoked_at.is_some() {
            return Err(ApiError::unauthenticated(
                "the enrollment token was revoked",
            ));
        }
        if row.expires_at <= now {
            return Err(ApiError::unauthenticated(format!(
                "the enrollment token expired at {}",
                row.info.expires_at
            )));
        }
        if row.info.uses >= row.info.max_uses {
            return Err(ApiError::unauthenticated(format!(
                "the enrollment token is used up ({} of {} enrollments)",
                row.info.uses, row.info.max_uses
            )));
        }
        Ok(EnrollmentBearer {
            id: id.to_string(),
            remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn the_limiter_locks_a_user_then_an_address_and_success_clears_the_user() {
        let l = LoginLimiter::new(LoginPolicy {
            per_user: 3,
            per_ip: 5,
            ..LoginPolicy::default()
        });
        let r = "10.0.0.1:5555";
        for _ in 0..3 {
            assert!(l.check("alice", r).is_ok());
            l.failed("alice", r);
        }
        let e = l.check("alice", r).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert!(
            e.retry_after.is_some_and(|s| (1..=30).contains(&s)),
            "{e:?}"
        );
        // Another user from another address is not locked.
        assert!(l.check("bob", "10.0.0.2:1").is_ok());
        // Two more failures from the address lock it for every user name.
        l.failed("carol", r);
        l.failed("dave", r);
        assert!(l.check("erin", "10.0.0.1:6666").is_err());
        assert!(l.check("erin", "10.0.0.3:1").is_ok());
        // Success clears the user name's count.
        l.succeeded("alice");
        assert!(l.check("alice", "10.0.0.4:1").is_ok());
        assert_eq!(remote_ip("[::1]:80"), "::1".parse().ok());
        // Long names are keyed by their first 65 characters.
        let long = "x".repeat(100_000);
        for _ in 0..3 {
            l.failed(&long, "10.0.0.9:1");
        }
        assert!(l.check(&"x".repeat(70), "10.0.0.8:1").is_err());
        assert!(l.state.lock().unwrap().users.keys().all(|k| k.len() <= 65));
        assert_eq!(remote_ip("nonsense"), None);
    }

    #[test]
    fn tokens_split_strictly() {
        assert_eq!(
            split_token("gat_0123456789ab_sEcret", "gat"),
            Some(("0123456789ab", "sEcret"))
        );
        assert_eq!(split_token("gat_0123_sEcret", "gat"), None);
        assert_eq!(split_token("get_0123456789ab_s", "gat"), None);
        assert_eq!(split_token("gat_0123456789ab_", "gat"), None);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("a", "ab"));
    }
}
