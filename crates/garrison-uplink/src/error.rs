//! Typed failures of the uplink, each naming the operation and its input.

use std::path::PathBuf;

/// A failure of the uplink.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    /// A file or directory operation in the state directory.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server URL is not usable.
    #[error("server URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The `ca_sha256` given with the enrollment token is not 64 hex digits.
    #[error("--ca-sha256 {0:?} must be the 64 hex digits of the CA certificate's SHA-256 (as `create-enrollment-token` prints it)")]
    BadPin(String),
    /// The server's chain holds no certificate with the pinned SHA-256.
    #[error("refusing to enroll with {server}: no certificate in its chain has the SHA-256 given with the token ({expected}); it presented {presented:?}. Check --ca-sha256, or you are not talking to your server")]
    WrongCa {
        /// The server.
        server: String,
        /// The pinned SHA-256.
        expected: String,
        /// SHA-256 of each certificate it presented.
        presented: Vec<String>,
    },
    /// TLS or network failure talking to the server.
    #[error("{op} {url}: {reason}")]
    Transport {
        /// What was being done.
        op: &'static str,
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{op} {url}: the server answered {status}: {body}")]
    Status {
        /// What was being done.
        op: &'static str,
        /// Where.
        url: String,
        /// HTTP status.
        status: u16,
        /// The answer's body (truncated).
        body: String,
    },
    /// The server's answer did not parse.
    #[error("{op} {url}: unexpected answer: {reason}")]
    Answer {
        /// What was being done.
        op: &'static str,
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// Key, CSR or certificate handling.
    #[error("{op}: {reason}")]
    Pki {
        /// What was being done.
        op: String,
        /// Why.
        reason: String,
    },
    /// The stored identity is unusable.
    #[error("the agent identity in {dir} is unusable: {reason} (move the directory away to enroll again)")]
    Identity {
        /// The state directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// No stored identity and no enrollment token to make one.
    #[error("the agent is not enrolled (no identity in {0}): give --enroll-token and --ca-sha256")]
    NotEnrolled(PathBuf),
    /// A spool file could not be read back.
    #[error("spool file {path}: {reason}")]
    CorruptSpool {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A policy from the server is unusable.
    #[error("policy from {url}: {reason}")]
    Policy {
        /// Where it came from.
        url: String,
        /// Why.
        reason: String,
    },
}

impl UplinkError {
    /// Whether retrying later may succeed (network, server busy or down).
    pub fn is_transient(&self) -> bool {
        match self {
            UplinkError::Transport { .. } => true,
            UplinkError::Status { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    /// Whether the server refused this agent (revoked or unknown).
    pub fn is_refused(&self) -> bool {
        matches!(
            self,
            UplinkError::Status {
                status: 401 | 403,
                ..
            }
        )
    }
}

pub(crate) fn io(
    op: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> UplinkError {
    let path = path.to_path_buf();
    move |source| UplinkError::Io { op, path, source }
}
