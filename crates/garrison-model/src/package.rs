use crate::Ecosystem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The operating system a target runs, from `/etc/os-release`
/// (or `/usr/lib/os-release`, or `/etc/alpine-release`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `ID`, e.g. `debian`, `ubuntu`, `alpine`, `almalinux`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `22.04`, `3.19.1`, `9.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `VERSION_CODENAME`, e.g. `bookworm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `PRETTY_NAME`, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// `ID_LIKE`, split on spaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

impl Distro {
    /// The release used in purl `distro=` qualifiers: `debian-12`, `alpine-3.19.1`.
    pub fn purl_qualifier(&self) -> String {
        match &self.version_id {
            Some(v) => format!("{}-{}", self.id, v),
            None => self.id.clone(),
        }
    }

    /// The OSV ecosystem of this distro's OS packages, e.g. `Debian:12`,
    /// `Ubuntu:22.04`, `Alpine:v3.19`, `AlmaLinux:9`. `None` when unknown.
    pub fn osv_ecosystem(&self) -> Option<String> {
        let v = self.version_id.as_deref();
        let major = v.map(|v| v.split('.').next().unwrap_or(v).to_string());
        Some(match self.id.as_str() {
            "debian" => format!("Debian:{}", major?),
            "ubuntu" => format!("Ubuntu:{}", v?),
            "alpine" => {
                let mut parts = v?.split('.');
                let (a, b) = (parts.next()?, parts.next()?);
                format!("Alpine:v{a}.{b}")
            }
            "almalinux" => format!("AlmaLinux:{}", major?),
            "rocky" => format!("Rocky Linux:{}", major?),
            "rhel" => format!("Red Hat:{}", major?),
            "opensuse-leap" => format!("openSUSE:Leap {}", v?),
            "wolfi" => "Wolfi".to_string(),
            "chainguard" => "Chainguard".to_string(),
            _ => return None,
        })
    }
}

/// The source package an OS binary package was built from. Debian and Ubuntu
/// advisories are per source package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    /// The source version when it differs from the binary version (dpkg `Source: name (version)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One installed or declared package, as found in a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// The version exactly as the package database or lockfile states it
    /// (dpkg `[epoch:]upstream[-revision]`, rpm `[epoch:]version-release`, ...).
    pub version: String,
    pub ecosystem: Ecosystem,
    /// Package-url (https://github.com/package-url/purl-spec), filled in when the
    /// inventory is finalized (OS packages need the distro first). See [`crate::purl_for`].
    #[serde(default)]
    pub purl: String,
    /// Namespace for ecosystems that have one: Maven group id, npm scope
    /// (`@scope`), Go module path prefix is kept in `name` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Declared licenses, as written by the package (SPDX expressions where the
    /// package uses them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// For OS packages: the source package it was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// CPU architecture for OS packages (`amd64`, `x86_64`, `noarch`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Absolute path, inside the target, of the file this package was read from
    /// (a package database, lockfile, manifest or binary). For nested archives
    /// the inner path follows `!`: `/app/a.war!/WEB-INF/lib/b.jar`.
    pub location: String,
    /// For images: digest of the layer that introduced the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Whether this is a direct dependency of the project, when the lockfile says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
    /// Whether this is a development-only dependency, when the lockfile says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
    /// Extra facts that do not fit above (`rpm.epoch`, `go.toolchain`, `maven.source=pom.properties`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl Package {
    /// A package with the required fields and everything else empty.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        location: impl Into<String>,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            purl: String::new(),
            namespace: None,
            licenses: Vec::new(),
            source: None,
            arch: None,
            location: location.into(),
            layer: None,
            direct: None,
            dev: false,
            properties: BTreeMap::new(),
        }
    }

    /// The name with its namespace, as users write it: `org.slf4j:slf4j-api`, `@babel/core`.
    pub fn full_name(&self) -> String {
        match (&self.namespace, self.ecosystem) {
            (Some(ns), Ecosystem::Maven) => format!("{ns}:{}", self.name),
            (Some(ns), _) => format!("{ns}/{}", self.name),
            (None, _) => self.name.clone(),
        }
    }
}
