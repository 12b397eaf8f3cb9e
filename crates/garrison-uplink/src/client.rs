//! Talking to the server: the CA pin check before enrollment, and a blocking
//! HTTPS client (ureq over rustls) that trusts only the server's CA and presents
//! the agent's certificate. Bodies are JSON, zstd-compressed.

use crate::error::UplinkError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

/// How long one request may take at most.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read from the server.
const MAX_ANSWER: u64 = 8 << 20;

/// SHA-256 of bytes, hex.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A checked server base URL (`https://HOST:PORT`, no path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    base: String,
    host: String,
    port: u16,
}

impl ServerUrl {
    /// Parses `https://HOST[:PORT][/]`.
    pub fn parse(url: &str) -> Result<ServerUrl, UplinkError> {
        let bad = |reason: &str| UplinkError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: ureq::http::Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("must start with https://"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("give the server's address only (https://HOST:PORT)"));
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?.to_string();
        let port = uri.port_u16().unwrap_or(443);
        let base = format!(
            "https://{}",
            uri.authority().map(|a| a.as_str()).unwrap_or(&host)
        );
        Ok(ServerUrl { base, host, port })
    }

    /// `https://HOST:PORT` + `path`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The base URL.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

/// Accepts any chain but records it: used only to read the server's chain and
/// find the CA whose SHA-256 the enrollment token came with. Nothing is sent on
/// this connection; the enrollment itself then verifies the server against that CA.
#[derive(Debug)]
struct ChainCapture {
    seen: Mutex<Vec<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for ChainCapture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            s.push(end_entity.to_vec());
            s.extend(intermediates.iter().map(|c| c.to_vec()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // ring, as the server and ureq use (aws-lc-rs would need cmake and a C toolchain build).
    #[allow(deprecated)]
    let p = rustls::crypto::ring::default_provider();
    Arc::new(p)
}

/// Connects to `server`, reads its certificate chain, and returns the DER of the
/// certificate whose SHA-256 is `pin` (the CA). Refuses when none matches.
pub fn fetch_pinned_ca(server: &ServerUrl, pin: &str) -> Result<Vec<u8>, UplinkError> {
    let pin = pin.trim().to_ascii_lowercase().replace(':', "");
    if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UplinkError::BadPin(pin));
    }
    let transport = |reason: String| UplinkError::Transport {
        op: "reading the certificate chain of",
        url: server.as_str().to_string(),
        reason,
    };
    let capture = Arc::new(ChainCapture {
        seen: Mutex::new(Vec::new()),
        provider: provider(),
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| transport(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(server.host.trim_matches(['[', ']']).to_string())
        .map_err(|e| transport(e.to_string()))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(cfg), name).map_err(|e| transport(e.to_string()))?;
    let addr = (server.host.trim_matches(['[', ']']), server.port)
        .to_socket_addrs()
        .map_err(|e| transport(e.to_string()))?
        .next()
        .ok_or_else(|| transport("the name resolves to no address".into()))?;
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| transport(e.to_string()))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|_| tcp.set_write_timeout(Some(Duration::from_secs(10))))
        .map_err(|e| transport(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| transport(e.to_string()))?;
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    let seen = capture.seen.lock().map(|s| s.clone()).unwrap_or_default();
    let presented: Vec<String> = seen.iter().map(|c| sha256_hex(c)).collect();
    match presented.iter().position(|h| *h == pin) {
        Some(i) => Ok(seen[i].clone()),
        None => Err(UplinkError::WrongCa {
            server: server.as_str().to_string(),
            expected: pin,
            presented,
        }),
    }
}

/// An answer: status and body text.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body (at most 8 MiB read).
    pub body: String,
}

/// An HTTPS client to one server, trusting only its CA, optionally presenting a
/// client certificate (after enrollment).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    server: ServerUrl,
}

impl Client {
    /// A client trusting `ca_der` only; with `identity` (cert chain PEM, key PEM), mutual TLS.
    pub fn new(
        server: &ServerUrl,
        ca_der: &[u8],
        identity: Option<(&str, &str)>,
    ) -> Result<Client, UplinkError> {
        let pki = |op: &str, e: ureq::Error| UplinkError::Pki {
            op: op.to_string(),
            reason: e.to_string(),
        };
        let client_cert = match identity {
            None => None,
            Some((cert_pem, key_pem)) => {
                let cert = Certificate::from_pem(cert_pem.as_bytes())
                    .map_err(|e| pki("reading the agent certificate", e))?;
                let key = PrivateKey::from_pem(key_pem.as_bytes())
                    .map_err(|e| pki("reading the agent key", e))?;
                Some(ClientCert::new_with_certs(&[cert], key))
            }
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::new_with_certs(&[
                Certificate::from_der(ca_der).to_owned()
            ]))
            .client_cert(client_cert)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(format!("garrison-agent/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            agent,
            server: server.clone(),
        })
    }

    /// The server.
    pub fn server(&self) -> &ServerUrl {
        &self.server
    }

    fn answer(
        op: &'static str,
        url: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, UplinkError> {
        let mut resp = r.map_err(|e| UplinkError::Transport {
            op,
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let mut body = String::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_string(&mut body)
            .map_err(|e| UplinkError::Transport {
                op,
                url: url.to_string(),
                reason: format!("reading the answer: {e}"),
            })?;
        if !(200..300).contains(&status) {
            let mut b = body;
            b.truncate(b.floor_char_boundary_compat(512));
            return Err(UplinkError::Status {
                op,
                url: url.to_string(),
                status,
                body: b,
            });
        }
        Ok(Answer { status, body })
    }

    /// POSTs JSON, zstd-compressed (the ingest routes).
    pub fn post_json(
        &self,
        op: &'static str,
        path: &str,
        json: &[u8],
    ) -> Result<Answer, UplinkError> {
        let url = self.server.join(path);
        let body = zstd::encode_all(json, 3).map_err(|e| UplinkError::Transport {
            op,
            url: url.clone(),
            reason: format!("compressing the body: {e}"),
        })?;
        let req = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .header("content-encoding", "zstd");
        Self::answer(op, &url, req.send(&body[..]))
    }

    /// POSTs plain JSON with `Authorization: Bearer <bearer>` (enrollment).
    pub fn post_plain(
        &self,
        op: &'static str,
        path: &str,
        json: &[u8],
        bearer: &str,
    ) -> Result<Answer, UplinkError> {
        let url = self.server.join(path);
        let req = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {bearer}"));
        Self::answer(op, &url, req.send(json))
    }

    /// GETs `path`.
    pub fn get(&self, op: &'static str, path: &str) -> Result<Answer, UplinkError> {
        let url = self.server.join(path);
        Self::answer(op, &url, self.agent.get(&url).call())
    }
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for String {
    fn floor_char_boundary_compat(&self, i: usize) -> usize {
        if i >= self.len() {
            return self.len();
        }
        (0..=i)
            .rev()
            .find(|&j| self.is_char_boundary(j))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let u = ServerUrl::parse("https://127.0.0.1:8443/").unwrap();
        assert_eq!(
            u.join("/api/v1/enroll"),
            "https://127.0.0.1:8443/api/v1/enroll"
        );
        assert_eq!(u.port, 8443);
        assert!(ServerUrl::parse("http://127.0.0.1:8443").is_err());
        assert!(ServerUrl::parse("https://127.0.0.1:8443/x?y").is_err());
        assert!(ServerUrl::parse("not a url").is_err());
        let v6 = ServerUrl::parse("https://[::1]:9").unwrap();
        assert_eq!(v6.join("/a"), "https://[::1]:9/a");
    }

    #[test]
    fn bad_pins_are_refused_before_connecting() {
        let u = ServerUrl::parse("https://127.0.0.1:1").unwrap();
        assert!(matches!(
            fetch_pinned_ca(&u, "abc"),
            Err(UplinkError::BadPin(_))
        ));
        assert!(matches!(
            fetch_pinned_ca(&u, &"g".repeat(64)),
            Err(UplinkError::BadPin(_))
        ));
    }
}
