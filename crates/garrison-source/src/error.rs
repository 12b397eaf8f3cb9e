use std::path::PathBuf;

/// Why a walk could not complete. Each variant names the input that failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{input}: not a valid image: {reason}")]
    InvalidImage { input: String, reason: String },
    #[error("{input}: the manifest names blob {digest}, which is missing")]
    MissingBlob { input: String, digest: String },
    #[error("{input}: blob {digest} does not match its digest (got {actual})")]
    DigestMismatch {
        input: String,
        digest: String,
        actual: String,
    },
    #[error("{input}: layer {digest} decompresses to more than {limit} bytes; stopped as a likely decompression bomb (raise the limit with --max-layer-size if the image is genuine)")]
    DecompressionBomb {
        input: String,
        digest: String,
        limit: u64,
    },
    #[error("{reference}: registry error: {reason}")]
    Registry { reference: String, reason: String },
    #[error("{input}: {reason}")]
    Other { input: String, reason: String },
}

impl SourceError {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> SourceError {
        SourceError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
