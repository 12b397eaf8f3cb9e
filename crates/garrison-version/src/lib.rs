//! Owns version parsing and ordering for every ecosystem Garrison matches, exactly as each native tool orders them.
//!
//! A [`Version`] is parsed once and compares cheaply many times; [`compare`] is the
//! one-shot convenience. What "exact" means per [`Scheme`], and where it was checked:
//!
//! | Scheme | Reference | Checked by |
//! |---|---|---|
//! | Dpkg | dpkg `parseversion` + `verrevcmp` | vectors; differential vs `dpkg --compare-versions` |
//! | Rpm | rpm `parseEVR` + `rpmvercmp` (`~`, `^`); an absent release sorts first | vectors; differential vs rpm 4.18 `rpm.vercmp` |
//! | Apk | apk-tools 2.x `version.c` (what Alpine 3.x ships) | vectors (8 invalid-version lines where apk-tools 3 differs are listed) |
//! | Pep440 | `packaging.version.Version` key; non-PEP 440 strings as packaging<22 `LegacyVersion` | vectors; differential vs python3-packaging 23 |
//! | Semver | SemVer 2 precedence (npm, crates.io), lenient parse (`v`, missing minor/patch) | vectors |
//! | Go | `golang.org/x/mod/semver` (shorthands, `+incompatible`, pseudo-versions) | vectors + unit tests |
//! | Maven | `ComparableVersion` of Maven 3.8.2–3.8.6 | vectors (one Maven-4-only line listed) |
//! | RubyGems | `Gem::Version#<=>` / `canonical_segments` | vectors |
//! | Packagist | Composer: strip `v`, then PHP `version_compare` | vectors (two `#` edge lines listed) |
//! | NuGet | NuGet.Versioning `VersionComparer.Default` | vectors |
//!
//! Numbers of any length compare exactly everywhere (no tool-specific overflow).

use std::cmp::Ordering;
use std::fmt;

mod apk;
mod dpkg;
mod go;
mod maven;
mod nuget;
mod num;
mod packagist;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// A version-ordering scheme: one per native tool whose ordering Garrison reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian/Ubuntu dpkg (`epoch:upstream-revision`, `~` sorts before everything).
    Dpkg,
    /// RPM `rpmvercmp` on `epoch:version-release`, with `~` and `^`.
    Rpm,
    /// Alpine apk-tools.
    Apk,
    /// PEP 440 as Python's `packaging` implements it (with its legacy fallback).
    Pep440,
    /// SemVer 2.0.0 as npm and crates.io use it.
    Semver,
    /// Go modules: SemVer with a `v` prefix, `+incompatible`, pseudo-versions.
    Go,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// Packagist / Composer (PHP `version_compare` after Composer's normalization).
    Packagist,
    /// NuGet.Versioning.
    NuGet,
}

impl Scheme {
    /// All schemes, in declaration order.
    pub const ALL: [Scheme; 10] = [
        Scheme::Dpkg,
        Scheme::Rpm,
        Scheme::Apk,
        Scheme::Pep440,
        Scheme::Semver,
        Scheme::Go,
        Scheme::Maven,
        Scheme::RubyGems,
        Scheme::Packagist,
        Scheme::NuGet,
    ];

    /// From an OSV ecosystem name: "Debian:12"/"Ubuntu:22.04" -> Dpkg, "Alpine:v3.19" -> Apk,
    /// "AlmaLinux:9"/"Rocky Linux:9"/"Red Hat..."/"openSUSE..." -> Rpm, "PyPI" -> Pep440,
    /// "npm"/"crates.io"/"Hex" -> Semver, "Go" -> Go, "Maven" -> Maven, "RubyGems", "Packagist", "NuGet".
    pub fn for_osv_ecosystem(ecosystem: &str) -> Option<Scheme> {
        // The part before the first ':' names the ecosystem; the rest is a release.
        let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
        let scheme = match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Chainguard" | "Wolfi" | "Alpaquita" | "BellSoft Hardened Containers" => {
                Scheme::Apk
            }
            "AlmaLinux" | "Rocky Linux" | "Mageia" | "openEuler" | "Photon OS" | "Azure Linux"
            | "CBL-Mariner" | "Oracle Linux" | "Fedora" | "CentOS" | "Amazon Linux" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" | "Hex" => Scheme::Semver,
            "Go" => Scheme::Go,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "Packagist" => Scheme::Packagist,
            "NuGet" => Scheme::NuGet,
            _ if base.starts_with("Red Hat")
                || base.starts_with("openSUSE")
                || base.starts_with("SUSE") =>
            {
                Scheme::Rpm
            }
            _ => return None,
        };
        Some(scheme)
    }

    /// A short lowercase name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pep440 => "pep440",
            Scheme::Semver => "semver",
            Scheme::Go => "go",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::Packagist => "packagist",
            Scheme::NuGet => "nuget",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a version could not be parsed or compared.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// The string is not a version under this scheme's rules.
    #[error("invalid {scheme} version {input:?}: {reason}")]
    Invalid {
        scheme: Scheme,
        input: String,
        reason: String,
    },
    /// The scheme is not implemented.
    #[error("{scheme} versions are not supported")]
    Unsupported { scheme: Scheme },
}

impl VersionError {
    pub(crate) fn invalid(scheme: Scheme, input: &str, reason: impl Into<String>) -> Self {
        // Keep messages bounded even for hostile input.
        let input = if input.len() > 256 {
            let mut end = 256;
            while !input.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &input[..end])
        } else {
            input.to_owned()
        };
        VersionError::Invalid {
            scheme,
            input,
            reason: reason.into(),
        }
    }
}

/// A parsed version: parse once, compare many times cheaply.
///
/// Versions of the same scheme compare by that scheme's rules; `Eq` means "equal under
/// the scheme" (Maven `1` == `1.0.0`), not "same text". Versions of different schemes
/// order by scheme (declaration order of [`Scheme`]) first, so the order is total and
/// deterministic.
#[derive(Clone, Debug)]
pub struct Version {
    raw: Box<str>,
    key: Key,
}

#[derive(Clone, Debug)]
enum Key {
    Dpkg(dpkg::DpkgVersion),
    Rpm(rpm::RpmVersion),
    Apk(apk::ApkVersion),
    Pep440(pep440::PyVersion),
    Semver(semver::SemverVersion),
    Go(go::GoVersion),
    Maven(maven::MavenVersion),
    RubyGems(rubygems::GemVersion),
    Packagist(packagist::PackagistVersion),
    NuGet(nuget::NuGetVersion),
}

impl Version {
    /// The scheme this version was parsed under.
    pub fn scheme(&self) -> Scheme {
        match &self.key {
            Key::Dpkg(_) => Scheme::Dpkg,
            Key::Rpm(_) => Scheme::Rpm,
            Key::Apk(_) => Scheme::Apk,
            Key::Pep440(_) => Scheme::Pep440,
            Key::Semver(_) => Scheme::Semver,
            Key::Go(_) => Scheme::Go,
            Key::Maven(_) => Scheme::Maven,
            Key::RubyGems(_) => Scheme::RubyGems,
            Key::Packagist(_) => Scheme::Packagist,
            Key::NuGet(_) => Scheme::NuGet,
        }
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.key, &other.key) {
            (Key::Dpkg(a), Key::Dpkg(b)) => a.cmp_with(&self.raw, b, &other.raw),
            (Key::Rpm(a), Key::Rpm(b)) => a.cmp_with(&self.raw, b, &other.raw),
            (Key::Apk(a), Key::Apk(b)) => a.cmp(b),
            (Key::Pep440(a), Key::Pep440(b)) => a.cmp(b),
            (Key::Semver(a), Key::Semver(b)) => a.cmp(b),
            (Key::Go(a), Key::Go(b)) => a.cmp(b),
            (Key::Maven(a), Key::Maven(b)) => a.cmp(b),
            (Key::RubyGems(a), Key::RubyGems(b)) => a.cmp(b),
            (Key::Packagist(a), Key::Packagist(b)) => a.cmp(b),
            (Key::NuGet(a), Key::NuGet(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Parse `s` as a version under `scheme`.
pub fn parse(scheme: Scheme, s: &str) -> Result<Version, VersionError> {
    let key = match scheme {
        Scheme::Dpkg => Key::Dpkg(dpkg::DpkgVersion::parse(s)?),
        Scheme::Rpm => Key::Rpm(rpm::RpmVersion::parse(s)?),
        Scheme::Apk => Key::Apk(apk::ApkVersion::parse(s)?),
        Scheme::Pep440 => Key::Pep440(pep440::PyVersion::parse(s)?),
        Scheme::Semver => Key::Semver(semver::SemverVersion::parse(s)?),
        Scheme::Go => Key::Go(go::GoVersion::parse(s)?),
        Scheme::Maven => Key::Maven(maven::MavenVersion::parse(s)?),
        Scheme::RubyGems => Key::RubyGems(rubygems::GemVersion::parse(s)?),
        Scheme::Packagist => Key::Packagist(packagist::PackagistVersion::parse(s)?),
        Scheme::NuGet => Key::NuGet(nuget::NuGetVersion::parse(s)?),
    };
    Ok(Version { raw: s.into(), key })
}

/// Compare two version strings under `scheme`.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let a = parse(scheme, a)?;
    let b = parse(scheme, b)?;
    Ok(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_ecosystems_map_to_schemes() {
        let cases = [
            ("Debian:12", Some(Scheme::Dpkg)),
            ("Ubuntu:22.04:LTS", Some(Scheme::Dpkg)),
            ("Alpine:v3.19", Some(Scheme::Apk)),
            ("AlmaLinux:9", Some(Scheme::Rpm)),
            ("Rocky Linux:9", Some(Scheme::Rpm)),
            ("Red Hat:enterprise_linux:9::appstream", Some(Scheme::Rpm)),
            ("openSUSE:Leap 15.5", Some(Scheme::Rpm)),
            ("SUSE:Linux Enterprise Server 15 SP5", Some(Scheme::Rpm)),
            ("PyPI", Some(Scheme::Pep440)),
            ("npm", Some(Scheme::Semver)),
            ("crates.io", Some(Scheme::Semver)),
            ("Go", Some(Scheme::Go)),
            ("Maven", Some(Scheme::Maven)),
            ("RubyGems", Some(Scheme::RubyGems)),
            ("Packagist", Some(Scheme::Packagist)),
            ("NuGet", Some(Scheme::NuGet)),
            ("Hackage", None),
            ("", None),
        ];
        for (eco, want) in cases {
            assert_eq!(Scheme::for_osv_ecosystem(eco), want, "{eco}");
        }
    }

    #[test]
    fn cross_scheme_order_is_by_scheme() {
        let a = parse(Scheme::Dpkg, "9").expect("dpkg");
        let b = parse(Scheme::Rpm, "1").expect("rpm");
        assert_eq!(a.cmp(&b), Ordering::Less);
        assert_ne!(a, b);
    }
}
