//! Certificates for the webhook: a CA (whose PEM goes into the
//! ValidatingWebhookConfiguration's `caBundle`) and a serving certificate for
//! `<service>.<namespace>.svc` signed by it.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// Certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot generate the {what}: {source}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Name(String),
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// DNS names the serving certificate is valid for.
    pub dns_names: Vec<String>,
}

/// The PEM texts of a CA and a serving certificate and key.
#[derive(Debug, Clone)]
pub struct CertPems {
    pub ca_cert: String,
    pub cert: String,
    pub key: String,
    pub dns_names: Vec<String>,
}

fn dns_label_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// (year, month, day) of a day count since 1970-01-01 (civil calendar).
fn civil(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

fn today_days() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0)
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = today_days();
    let (y, m, d) = civil(now - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil(now + days);
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

/// Makes a CA (valid 10 years) and a serving certificate (valid `days`) for
/// `<service>.<namespace>.svc` and its shorter and longer forms.
pub fn generate_pems(service: &str, namespace: &str, days: i64) -> Result<CertPems, CertError> {
    for (what, v) in [("service", service), ("namespace", namespace)] {
        if !dns_label_ok(v) {
            return Err(CertError::Name(format!(
                "{what} {v:?} is not a DNS label (lowercase letters, digits and '-', at most 63)"
            )));
        }
    }
    let gen = |what| move |source| CertError::Generate { what, source };
    let ca_key = KeyPair::generate().map_err(gen("CA key"))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(gen("CA"))?;
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("garrison admission CA ({service}.{namespace})"),
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut ca, 3650);
    let ca_cert = ca.self_signed(&ca_key).map_err(gen("CA certificate"))?;

    let dns_names = vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    let key = KeyPair::generate().map_err(gen("serving key"))?;
    let mut leaf = CertificateParams::new(dns_names.clone()).map_err(gen("serving certificate"))?;
    leaf.distinguished_name
        .push(DnType::CommonName, format!("{service}.{namespace}.svc"));
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut leaf, days);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let cert = leaf
        .signed_by(&key, &issuer)
        .map_err(gen("serving certificate"))?;
    Ok(CertPems {
        ca_cert: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
        dns_names,
    })
}

fn write(path: &Path, text: &str, private: bool) -> Result<(), CertError> {
    let err = |source| CertError::Write {
        path: path.display().to_string(),
        source,
    };
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` (mode 0600) into `out`.
pub fn generate(
    service: &str,
    namespace: &str,
    out: &Path,
    days: i64,
) -> Result<CertFiles, CertError> {
    let pems = generate_pems(service, namespace, days)?;
    std::fs::create_dir_all(out).map_err(|source| CertError::Write {
        path: out.display().to_string(),
        source,
    })?;
    let files = CertFiles {
        ca_cert: out.join("ca.crt"),
        cert: out.join("tls.crt"),
        key: out.join("tls.key"),
        dns_names: pems.dns_names.clone(),
    };
    write(&files.key, &pems.key, true)?;
    write(&files.cert, &pems.cert, false)?;
    write(&files.ca_cert, &pems.ca_cert, false)?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(civil(20_513), (2026, 3, 1));
    }

    #[test]
    fn names_are_checked() {
        assert!(generate_pems("Bad_Name", "ns", 30).is_err());
        let p = generate_pems("garrison-admission", "garrison", 30).unwrap();
        assert!(p
            .dns_names
            .contains(&"garrison-admission.garrison.svc".to_string()));
        assert!(p.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(p.key.contains("PRIVATE KEY"));
    }
}
