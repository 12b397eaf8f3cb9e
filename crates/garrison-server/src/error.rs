//! Typed errors: of the store, of starting the server, and the API's error answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::path::PathBuf;
use utoipa::ToSchema;

/// A storage failure, naming the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one the server can use.
    #[error("database URL {url}: {reason}")]
    Url {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// Connecting failed.
    #[error("connecting to {url}: {source}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("database: {op}: {source}")]
    Query {
        /// What was being done.
        op: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The database was migrated by a newer server.
    #[error("database schema version {found} is newer than this server knows ({known}); upgrade garrison")]
    TooNew {
        /// Found.
        found: i64,
        /// Known.
        known: i64,
    },
    /// A stored value could not be read back.
    #[error("database: {op}: stored value is corrupt: {reason}")]
    Corrupt {
        /// What was being read.
        op: String,
        /// Why.
        reason: String,
    },
}

/// A failure to start or run the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file in the data directory.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Making or reading a certificate or key.
    #[error("{op}: {reason}")]
    Pki {
        /// What was being done.
        op: String,
        /// Why.
        reason: String,
    },
    /// TLS configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Binding the listen address.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// Bad input to an admin operation.
    #[error("{0}")]
    Invalid(String),
}

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `unauthenticated`, `forbidden`, `bad_request`, `not_found`,
    /// `conflict`, `payload_too_large`, `csrf`, `internal`, ...
    pub code: String,
    /// A sentence for a person, naming the input at fault.
    pub message: String,
}

/// An API error: a status and a message.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// 400.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", msg)
    }
    /// 401.
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", msg)
    }
    /// 403.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", msg)
    }
    /// 404.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", msg)
    }
    /// 409.
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", msg)
    }
    /// 413.
    pub fn too_large(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", msg)
    }
    /// 422.
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", msg)
    }
    /// Any status.
    pub fn new(status: StatusCode, code: &'static str, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: msg.into(),
            retry_after: None,
        }
    }
    /// Adds a `Retry-After` header of `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!("{e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete the request (storage error; see the server log)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        // The request's body may not have been read (a refusal comes first):
        // the connection cannot be reused, and the client is told so.
        let mut resp = (
            self.status,
            [(axum::http::header::CONNECTION, "close")],
            axum::Json(body),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
