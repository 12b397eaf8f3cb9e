use crate::{Distro, Ecosystem, Package};
use packageurl::PackageUrl;

/// A package-url could not be formed from a package's fields.
#[derive(Debug, thiserror::Error)]
#[error("cannot form a package-url for {ecosystem} package {name:?} {version:?}: {reason}")]
pub struct PurlError {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub reason: String,
}

/// The package-url of `pkg`. OS packages get the distro namespace and the
/// `distro=`, `arch=`, `epoch=` and `upstream=` qualifiers, so that a scan of
/// the SBOM alone can match them by source package and release.
pub fn purl_for(pkg: &Package, distro: Option<&Distro>) -> Result<String, PurlError> {
    let err = |reason: String| PurlError {
        ecosystem: pkg.ecosystem,
        name: pkg.name.clone(),
        version: pkg.version.clone(),
        reason,
    };
    let ty = pkg.ecosystem.purl_type();
    // Go module paths and npm scopes: the purl spec splits the last segment off as the name.
    let (namespace, name): (Option<String>, String) = match pkg.ecosystem {
        Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => {
            (distro.map(|d| d.id.clone()), pkg.name.clone())
        }
        Ecosystem::Go | Ecosystem::Packagist => match pkg.name.rsplit_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, pkg.name.clone()),
        },
        Ecosystem::Npm => match (&pkg.namespace, pkg.name.split_once('/')) {
            (Some(ns), _) => (Some(ns.clone()), pkg.name.clone()),
            (None, Some((ns, n))) if ns.starts_with('@') => (Some(ns.to_string()), n.to_string()),
            _ => (None, pkg.name.clone()),
        },
        Ecosystem::PyPI => (None, normalize_pypi(&pkg.name)),
        _ => (pkg.namespace.clone(), pkg.name.clone()),
    };
    let mut purl = PackageUrl::new(ty, name.as_str()).map_err(|e| err(e.to_string()))?;
    if let Some(ns) = namespace.as_deref().filter(|s| !s.is_empty()) {
        purl.with_namespace(ns).map_err(|e| err(e.to_string()))?;
    }
    let mut version = pkg.version.clone();
    if pkg.ecosystem == Ecosystem::Rpm {
        // purl-spec: the rpm epoch is a qualifier, not part of the version.
        if let Some((epoch, rest)) = version.split_once(':') {
            if epoch.chars().all(|c| c.is_ascii_digit()) {
                purl.add_qualifier("epoch", epoch.to_string())
                    .map_err(|e| err(e.to_string()))?;
                version = rest.to_string();
            }
        }
    }
    purl.with_version(version.as_str())
        .map_err(|e| err(e.to_string()))?;
    if pkg.ecosystem.is_os() {
        if let Some(arch) = &pkg.arch {
            purl.add_qualifier("arch", arch.clone())
                .map_err(|e| err(e.to_string()))?;
        }
        if let Some(d) = distro {
            purl.add_qualifier("distro", d.purl_qualifier())
                .map_err(|e| err(e.to_string()))?;
        }
        if let Some(src) = &pkg.source {
            let up = match &src.version {
                Some(v) if v != &pkg.version => format!("{}@{}", src.name, v),
                _ => src.name.clone(),
            };
            purl.add_qualifier("upstream", up)
                .map_err(|e| err(e.to_string()))?;
        }
    }
    Ok(purl.to_string())
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub(crate) fn normalize_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourcePackage;

    fn debian() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            codename: Some("bookworm".into()),
            ..Default::default()
        }
    }

    #[test]
    fn deb_purl_has_distro_and_upstream() {
        let mut p = Package::new(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1~deb12u2",
            "/var/lib/dpkg/status",
        );
        p.arch = Some("amd64".into());
        p.source = Some(SourcePackage {
            name: "openssl".into(),
            version: None,
        });
        let purl = purl_for(&p, Some(&debian())).unwrap();
        assert_eq!(
            purl,
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
    }

    #[test]
    fn rpm_epoch_is_a_qualifier() {
        let p = Package::new(
            Ecosystem::Rpm,
            "openssl-libs",
            "1:3.0.7-27.el9",
            "/var/lib/rpm/rpmdb.sqlite",
        );
        let d = Distro {
            id: "almalinux".into(),
            version_id: Some("9.4".into()),
            ..Default::default()
        };
        assert_eq!(
            purl_for(&p, Some(&d)).unwrap(),
            "pkg:rpm/almalinux/openssl-libs@3.0.7-27.el9?distro=almalinux-9.4&epoch=1"
        );
    }

    #[test]
    fn language_purls() {
        let p = Package::new(Ecosystem::Npm, "@babel/core", "7.0.0", "/package-lock.json");
        assert_eq!(purl_for(&p, None).unwrap(), "pkg:npm/%40babel/core@7.0.0");
        let p = Package::new(Ecosystem::Go, "github.com/gorilla/mux", "v1.8.0", "/go.mod");
        assert_eq!(
            purl_for(&p, None).unwrap(),
            "pkg:golang/github.com/gorilla/mux@v1.8.0"
        );
        let p = Package::new(Ecosystem::PyPI, "Django_Rest.framework", "3.0", "/r.txt");
        assert_eq!(
            purl_for(&p, None).unwrap(),
            "pkg:pypi/django-rest-framework@3.0"
        );
        let mut p = Package::new(Ecosystem::Maven, "slf4j-api", "1.7.36", "/a.jar");
        p.namespace = Some("org.slf4j".into());
        assert_eq!(
            purl_for(&p, None).unwrap(),
            "pkg:maven/org.slf4j/slf4j-api@1.7.36"
        );
        assert_eq!(p.full_name(), "org.slf4j:slf4j-api");
    }

    #[test]
    fn osv_ecosystems() {
        assert_eq!(debian().osv_ecosystem().as_deref(), Some("Debian:12"));
        let a = Distro {
            id: "alpine".into(),
            version_id: Some("3.19.1".into()),
            ..Default::default()
        };
        assert_eq!(a.osv_ecosystem().as_deref(), Some("Alpine:v3.19"));
    }
}
