//! Who is asking: users (argon2 password hashes, session cookies with a CSRF
//! token), API tokens (bearer, stored as SHA-256 of a 256-bit secret), agents
//! (the client certificate of the TLS connection) and enrollment tokens.

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
