//! The HTTPS server: rustls over tokio, HTTP/1.1 by hyper. `POST` any path
//! (the webhook configuration names `/validate`) takes an AdmissionReview;
//! `GET /healthz` answers `ok`. Bad requests get a 400 with a message saying
//! what was wrong; nothing a client sends can stop the server.

use crate::review::{response, review, Policy};
use crate::store::ScanStore;
use garrison_misconfig::Catalog;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Largest AdmissionReview body accepted (the API server's own limit is 3 MiB).
pub const DEFAULT_MAX_BODY: usize = 3 * 1024 * 1024;

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the TLS {what} {path}: {reason} (make them with `garrison admission gen-cert`)")]
    Tls {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// What every request handler shares.
pub struct State {
    pub policy: Policy,
    pub catalog: &'static Catalog,
    pub store: ScanStore,
    pub max_body: usize,
}

/// A rustls server configuration from PEM files.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let err = |what, path: &Path, reason: String| ServeError::Tls {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err("certificate", cert, "no PEM certificate in it".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| err("key", key, e.to_string()))?;
    // ring rather than aws-lc-rs keeps the build free of cmake and a C
    // toolchain for it; it lacks only the post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("certificate", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| err("key", key, format!("does not match the certificate: {e}")))?;
    Ok(Arc::new(config))
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.method() == Method::GET && req.uri().path() == "/healthz" {
        return Ok(text(StatusCode::OK, "ok\n".into()));
    }
    if req.method() != Method::POST {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST an AdmissionReview (admission.k8s.io/v1) as JSON\n".into(),
        ));
    }
    let body = match Limited::new(req.into_body(), state.max_body)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let msg = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                format!("the request body is over the {}-byte limit; an AdmissionReview is far smaller\n", state.max_body)
            } else {
                format!("cannot read the request body: {e}\n")
            };
            tracing::warn!("admission: 400: {}", msg.trim_end());
            return Ok(text(StatusCode::BAD_REQUEST, msg));
        }
    };
    match review(&body, &state.policy, state.catalog, &state.store) {
        Ok(verdict) => {
            tracing::info!(
                uid = %verdict.uid,
                allowed = verdict.allowed,
                violations = verdict.violations.len(),
                skipped = verdict.skipped.as_deref().unwrap_or(""),
                "admission review"
            );
            for v in &verdict.violations {
                tracing::info!(uid = %verdict.uid, "violation: {v}");
            }
            let json = response(&verdict, &state.policy).to_string();
            let mut r = Response::new(Full::new(Bytes::from(json)));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        Err(e) => {
            tracing::warn!("admission: 400: {e}");
            Ok(text(StatusCode::BAD_REQUEST, format!("{e}\n")))
        }
    }
}

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, state: Arc<State>) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("admission: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!("admission: TLS handshake with {peer} failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("admission: TLS handshake with {peer} timed out");
                        return;
                    }
                };
            let service = hyper::service::service_fn(move |req| handle(req, Arc::clone(&state)));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                tracing::debug!("admission: connection from {peer}: {e}");
            }
        });
    }
}

/// Binds `addr` (e.g. `127.0.0.1:8443`).
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: addr.to_string(),
            source,
        })
}
