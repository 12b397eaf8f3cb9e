//! The agent's identity: made once by enrolling (own key pair and CSR, the server
//! pinned by its CA's SHA-256), then kept in the state directory and reused:
//! `identity.json` (agent ID, server), `agent.key` (mode 0600), `agent.pem`, `ca.pem`.

use crate::client::{fetch_pinned_ca, Client, ServerUrl};
use crate::error::{io, UplinkError};
use rcgen::{CertificateParams, DnType, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// An enrolled agent.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The agent ID the server gave.
    pub agent_id: String,
    /// The server enrolled with.
    pub server: String,
    /// The client certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// The server's CA, DER.
    pub ca_der: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct IdentityFile {
    agent_id: String,
    server: String,
    enrolled_unix: u64,
}

#[derive(Debug, Serialize)]
struct EnrollRequest<'a> {
    hostname: &'a str,
    csr_pem: &'a str,
}

#[derive(Debug, Deserialize)]
struct EnrollResponse {
    agent_id: String,
    certificate_pem: String,
    ca_pem: String,
}

/// How to enroll when no identity is stored yet.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// `get_<id>_<secret>`.
    pub token: String,
    /// SHA-256 of the server's CA certificate, hex.
    pub ca_sha256: String,
}

/// Creates `dir` (mode 0700) when missing; tightens it when others can read it.
pub fn prepare_dir(dir: &Path) -> Result<(), UplinkError> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("creating", dir))?;
    }
    let meta = std::fs::metadata(dir).map_err(io("reading", dir))?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io("restricting permissions of", dir))?;
    }
    Ok(())
}

/// Writes `data` to `path` atomically (temporary file, fsync, rename) with `mode`.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), UplinkError> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io("creating", &tmp))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ca_der_of(pem: &str) -> Result<Vec<u8>, String> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| e.to_string())
}

impl Identity {
    /// The identity stored in `dir`, if any (an incomplete or unreadable one is an error).
    pub fn load(dir: &Path) -> Result<Option<Identity>, UplinkError> {
        let idf = dir.join("identity.json");
        if !idf.exists() {
            return Ok(None);
        }
        let bad = |reason: String| UplinkError::Identity {
            dir: dir.to_path_buf(),
            reason,
        };
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| bad(format!("reading {name}: {e}")))
        };
        let meta: IdentityFile = serde_json::from_str(&read("identity.json")?)
            .map_err(|e| bad(format!("identity.json: {e}")))?;
        let key_pem = read("agent.key")?;
        let cert_pem = read("agent.pem")?;
        let ca_der = ca_der_of(&read("ca.pem")?).map_err(|e| bad(format!("ca.pem: {e}")))?;
        Ok(Some(Identity {
            agent_id: meta.agent_id,
            server: meta.server,
            cert_pem,
            key_pem,
            ca_der,
        }))
    }

    /// The stored identity, or a new one made by enrolling with `server` (which
    /// must present a chain holding the CA `enrollment.ca_sha256` names).
    pub fn load_or_enroll(
        dir: &Path,
        server: &ServerUrl,
        hostname: &str,
        enrollment: Option<&Enrollment>,
    ) -> Result<Identity, UplinkError> {
        prepare_dir(dir)?;
        if let Some(id) = Identity::load(dir)? {
            if id.server != server.as_str() {
                tracing::warn!(
                    "the agent is enrolled with {}, not {}: keeping the stored identity (move {} away to enroll again)",
                    id.server,
                    server.as_str(),
                    dir.display()
                );
            }
            return Ok(id);
        }
        let e = enrollment.ok_or_else(|| UplinkError::NotEnrolled(dir.to_path_buf()))?;
        enroll(dir, server, hostname, e)
    }

    /// A client speaking mutual TLS with this identity.
    pub fn client(&self, server: &ServerUrl) -> Result<Client, UplinkError> {
        Client::new(server, &self.ca_der, Some((&self.cert_pem, &self.key_pem)))
    }
}

fn enroll(
    dir: &Path,
    server: &ServerUrl,
    hostname: &str,
    e: &Enrollment,
) -> Result<Identity, UplinkError> {
    let ca_der = fetch_pinned_ca(server, &e.ca_sha256)?;
    let pki = |op: &str| {
        let op = op.to_string();
        move |err: rcgen::Error| UplinkError::Pki {
            op,
            reason: err.to_string(),
        }
    };
    // The key is made (and kept) before asking, so a retried enrollment after a
    // lost answer does not need a new one; it never leaves this directory.
    let key_path = dir.join("agent.key");
    let key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => KeyPair::from_pem(&pem).map_err(pki("reading agent.key"))?,
        Err(_) => {
            let k = KeyPair::generate().map_err(pki("generating the agent key"))?;
            write_atomic(&key_path, k.serialize_pem().as_bytes(), 0o600)?;
            k
        }
    };
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, format!("garrison-agent {hostname}"));
    let csr = p
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(pki("making the certificate signing request"))?;
    let client = Client::new(server, &ca_der, None)?;
    let body = serde_json::to_vec(&EnrollRequest {
        hostname,
        csr_pem: &csr,
    })
    .map_err(|err| UplinkError::Pki {
        op: "encoding the enrollment request".into(),
        reason: err.to_string(),
    })?;
    let answer = client.post_plain("enrolling with", "/api/v1/enroll", &body, &e.token)?;
    let url = server.join("/api/v1/enroll");
    let resp: EnrollResponse =
        serde_json::from_str(&answer.body).map_err(|err| UplinkError::Answer {
            op: "enrolling with",
            url: url.clone(),
            reason: err.to_string(),
        })?;
    let answered_ca = ca_der_of(&resp.ca_pem).map_err(|reason| UplinkError::Answer {
        op: "enrolling with",
        url: url.clone(),
        reason: format!("ca_pem: {reason}"),
    })?;
    if answered_ca != ca_der {
        return Err(UplinkError::Answer {
            op: "enrolling with",
            url,
            reason: "the CA in the answer is not the pinned one".into(),
        });
    }
    write_atomic(
        &dir.join("agent.pem"),
        resp.certificate_pem.as_bytes(),
        0o644,
    )?;
    let ca_pem = resp.ca_pem;
    write_atomic(&dir.join("ca.pem"), ca_pem.as_bytes(), 0o644)?;
    let meta = IdentityFile {
        agent_id: resp.agent_id.clone(),
        server: server.as_str().to_string(),
        enrolled_unix: unix_now(),
    };
    let text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    // Written last: its presence means the identity is complete.
    write_atomic(&dir.join("identity.json"), &text, 0o644)?;
    Ok(Identity {
        agent_id: resp.agent_id,
        server: server.as_str().to_string(),
        cert_pem: resp.certificate_pem,
        key_pem: key.serialize_pem(),
        ca_der,
    })
}

/// `DIR/identity.json` and friends live here.
pub fn identity_path(dir: &Path) -> PathBuf {
    dir.join("identity.json")
}
