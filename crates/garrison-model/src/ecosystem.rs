use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a package comes from: the packaging system whose version rules and
/// advisories apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ecosystem {
    /// Debian-family OS packages (dpkg): Debian, Ubuntu, ...
    #[serde(rename = "deb")]
    Deb,
    /// Alpine-family OS packages (apk).
    #[serde(rename = "apk")]
    Apk,
    /// RPM-family OS packages: RHEL, AlmaLinux, Rocky, Fedora, openSUSE, ...
    #[serde(rename = "rpm")]
    Rpm,
    #[serde(rename = "cargo")]
    Cargo,
    #[serde(rename = "npm")]
    Npm,
    #[serde(rename = "pypi")]
    PyPI,
    #[serde(rename = "golang")]
    Go,
    #[serde(rename = "maven")]
    Maven,
    #[serde(rename = "gem")]
    RubyGems,
    #[serde(rename = "composer")]
    Packagist,
    #[serde(rename = "nuget")]
    NuGet,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Cargo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::Packagist,
        Ecosystem::NuGet,
    ];

    /// The package-url `type` for this ecosystem.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Packagist => "composer",
            Ecosystem::NuGet => "nuget",
        }
    }

    /// Whether packages of this ecosystem are installed by the operating system's
    /// package manager (their advisories are per distro release).
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }

    /// The OSV ecosystem name for language ecosystems (`None` for OS ecosystems,
    /// whose OSV name depends on the distro: see [`crate::Distro::osv_ecosystem`]).
    pub fn osv_name(self) -> Option<&'static str> {
        match self {
            Ecosystem::Cargo => Some("crates.io"),
            Ecosystem::Npm => Some("npm"),
            Ecosystem::PyPI => Some("PyPI"),
            Ecosystem::Go => Some("Go"),
            Ecosystem::Maven => Some("Maven"),
            Ecosystem::RubyGems => Some("RubyGems"),
            Ecosystem::Packagist => Some("Packagist"),
            Ecosystem::NuGet => Some("NuGet"),
            Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm => None,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.purl_type())
    }
}
