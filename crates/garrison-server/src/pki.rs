//! The server's certificate authority: made on first start in the data directory
//! (`ca.pem`, `ca.key` mode 0600), it signs the server's TLS certificate and every
//! agent's client certificate. An agent's identity is the certificate the CA
//! issued it, recorded by SHA-256 at enrollment.

use crate::error::ServerError;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// How long an agent certificate is valid.
pub const AGENT_CERT_DAYS: i64 = 365;

/// The CA and the server's own certificate.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// The server certificate chain (leaf, CA), PEM.
    pub server_chain_pem: String,
    /// The server key, PEM.
    pub server_key_pem: String,
}

/// A signed agent certificate.
pub struct AgentCert {
    /// PEM.
    pub pem: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// Serial, hex.
    pub serial: String,
    /// Expiry, ms since the epoch.
    pub not_after_ms: i64,
}

fn pki_err(op: impl Into<String>) -> impl FnOnce(rcgen::Error) -> ServerError {
    let op = op.into();
    move |e| ServerError::Pki {
        op,
        reason: e.to_string(),
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServerError {
    let path = path.to_path_buf();
    move |e| ServerError::Io {
        op,
        path,
        source: e,
    }
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, data: &str) -> Result<(), ServerError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("creating", path))?;
    f.write_all(data.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io_err("writing", path))
}

fn random_serial() -> SerialNumber {
    let mut b: [u8; 16] = rand::random();
    b[0] &= 0x7f; // positive
    SerialNumber::from_slice(&b)
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

impl Pki {
    /// Loads the CA from `dir`, creating it on first start, and issues a fresh
    /// server certificate for `names` (DNS names or IP addresses).
    pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Pki, ServerError> {
        let ca_cert: PathBuf = dir.join("ca.pem");
        let ca_key: PathBuf = dir.join("ca.key");
        let (ca_pem, key) = if ca_cert.exists() {
            let pem = std::fs::read_to_string(&ca_cert).map_err(io_err("reading", &ca_cert))?;
            let kpem = std::fs::read_to_string(&ca_key).map_err(io_err("reading", &ca_key))?;
            let key = KeyPair::from_pem(&kpem)
                .map_err(pki_err(format!("reading {}", ca_key.display())))?;
            (pem, key)
        } else {
            let key = KeyPair::generate().map_err(pki_err("generating the CA key"))?;
            let mut p = CertificateParams::default();
            p.distinguished_name
                .push(DnType::CommonName, "Garrison agent CA");
            p.distinguished_name
                .push(DnType::OrganizationName, "Garrison");
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let now = OffsetDateTime::now_utc();
            p.not_before = now - Duration::days(1);
            p.not_after = now + Duration::days(3650);
            p.serial_number = Some(random_serial());
            let cert = p
                .self_signed(&key)
                .map_err(pki_err("making the CA certificate"))?;
            write_private(&ca_key, &key.serialize_pem())?;
            std::fs::write(&ca_cert, cert.pem()).map_err(io_err("writing", &ca_cert))?;
            (cert.pem(), key)
        };
        let ca_der = rustls_pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes())
            .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
            .map_err(|e| ServerError::Pki {
                op: format!("reading {}", ca_cert.display()),
                reason: e.to_string(),
            })?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, key)
            .map_err(pki_err(format!("reading {}", ca_cert.display())))?;

        // The server's certificate is issued afresh at each start (short-lived, 90 days).
        let skey = KeyPair::generate().map_err(pki_err("generating the server key"))?;
        let mut sp = CertificateParams::new(names.to_vec())
            .map_err(pki_err(format!("server certificate names {names:?}")))?;
        sp.distinguished_name
            .push(DnType::CommonName, "Garrison server");
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        sp.not_before = now - Duration::hours(1);
        sp.not_after = now + Duration::days(90);
        sp.serial_number = Some(random_serial());
        sp.use_authority_key_identifier_extension = true;
        let scert = sp
            .signed_by(&skey, &issuer)
            .map_err(pki_err("signing the server certificate"))?;
        Ok(Pki {
            issuer,
            server_chain_pem: format!("{}{}", scert.pem(), ca_pem),
            server_key_pem: skey.serialize_pem(),
            ca_der,
            ca_pem,
        })
    }

    /// SHA-256 of the CA certificate (what an agent pins before enrolling).
    pub fn ca_sha256(&self) -> String {
        sha256_hex(&self.ca_der)
    }

    /// Signs an agent's certificate signing request. Only the request's public
    /// key is used: subject, names and usages are the server's (CN = agent ID).
    pub fn sign_agent_csr(&self, csr_pem: &str, agent_id: &str) -> Result<AgentCert, String> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| format!("certificate signing request: {e}"))?;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, agent_id);
        p.distinguished_name
            .push(DnType::OrganizationName, "Garrison agents");
        let uri = format!("urn:garrison:agent:{agent_id}");
        p.subject_alt_names = vec![SanType::URI(
            uri.try_into().map_err(|e: rcgen::Error| e.to_string())?,
        )];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::minutes(5);
        let not_after = now + Duration::days(AGENT_CERT_DAYS);
        p.not_after = not_after;
        let serial = random_serial();
        p.serial_number = Some(serial.clone());
        p.use_authority_key_identifier_extension = true;
        let cert = p
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(|e| format!("signing: {e}"))?;
        Ok(AgentCert {
            pem: cert.pem(),
            sha256: sha256_hex(cert.der()),
            serial: hex::encode(serial.to_bytes()),
            not_after_ms: i64::try_from(not_after.unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(i64::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ca_is_made_once_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = Pki::load_or_create(dir.path(), &["localhost".into()]).unwrap();
        let mode = std::fs::metadata(dir.path().join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = Pki::load_or_create(dir.path(), &["127.0.0.1".into()]).unwrap();
        assert_eq!(a.ca_sha256(), b.ca_sha256());
        assert_ne!(a.server_chain_pem, b.server_chain_pem);
    }

    #[test]
    fn signs_a_csr_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &["localhost".into()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name
            .push(DnType::CommonName, "i-claim-to-be-someone-else");
        let csr = p.serialize_request(&key).unwrap().pem().unwrap();
        let cert = pki.sign_agent_csr(&csr, "agent-1").unwrap();
        assert_eq!(cert.sha256.len(), 64);
        assert!(pki
            .sign_agent_csr(
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                "x"
            )
            .is_err());
    }
}
