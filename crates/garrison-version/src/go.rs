//! Go module versions ordered as `golang.org/x/mod/semver.Compare`: canonical SemVer with
//! a `v` prefix, `vMAJOR` and `vMAJOR.MINOR` shorthands, build metadata (including
//! `+incompatible`) ignored, pseudo-versions ordered as the pre-releases they are.
//! OSV writes Go versions without the `v`; both spellings are accepted.

use crate::num::BigNum;
use crate::semver::{parse_idents, Ident, SemverVersion};
use crate::{Scheme, VersionError};

/// A Go module version; ordering is SemVer precedence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GoVersion(SemverVersion);

/// A number as `x/mod/semver` accepts it: digits, no leading zero unless exactly "0".
fn go_num(s: &str) -> Option<BigNum> {
    let ok =
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| BigNum::from_digits(s.as_bytes()))
}

impl GoVersion {
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError::invalid(Scheme::Go, input, reason);
        let s = input.strip_prefix('v').unwrap_or(input);
        let (main, build) = match s.split_once('+') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        let (core, pre) = match main.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (main, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(err("more than three version numbers"));
        }
        if parts.len() < 3 && (pre.is_some() || build.is_some()) {
            return Err(err(
                "shorthand vMAJOR[.MINOR] cannot carry a pre-release or build",
            ));
        }
        let mut core_nums = [BigNum::default(), BigNum::default(), BigNum::default()];
        for (slot, p) in core_nums.iter_mut().zip(&parts) {
            *slot = go_num(p)
                .ok_or_else(|| err("version numbers must be decimal without leading zeros"))?;
        }
        let pre = match pre {
            Some(p) => {
                let ids = parse_idents(p).ok_or_else(|| {
                    err("pre-release must be dot-separated [0-9A-Za-z-] identifiers")
                })?;
                let leading_zero = p.split('.').any(|id| {
                    id.len() > 1 && id.starts_with('0') && id.bytes().all(|c| c.is_ascii_digit())
                });
                if leading_zero {
                    return Err(err(
                        "numeric pre-release identifiers cannot have leading zeros",
                    ));
                }
                ids
            }
            None => Box::<[Ident]>::default(),
        };
        if let Some(b) = build {
            if parse_idents(b).is_none() {
                return Err(err(
                    "build metadata must be dot-separated [0-9A-Za-z-] identifiers",
                ));
            }
        }
        Ok(GoVersion(SemverVersion {
            core: core_nums,
            pre,
        }))
    }
}

impl GoVersion {
    #[cfg(test)]
    fn cmp_str(a: &str, b: &str) -> Option<std::cmp::Ordering> {
        Some(GoVersion::parse(a).ok()?.cmp(&GoVersion::parse(b).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::GoVersion;
    use std::cmp::Ordering::*;

    #[test]
    fn go_rules() {
        let c = GoVersion::cmp_str;
        assert_eq!(c("v1", "v1.0.0"), Some(Equal));
        assert_eq!(c("v1.2", "1.2.0"), Some(Equal));
        assert_eq!(c("v2.0.0+incompatible", "v2.0.0"), Some(Equal));
        assert_eq!(c("v2.0.1+incompatible", "v2.0.0"), Some(Greater));
        // Pseudo-versions: before the release they precede, ordered by timestamp.
        assert_eq!(
            c(
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa"
            ),
            Some(Less)
        );
        assert_eq!(
            c("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1"),
            Some(Less)
        );
        assert_eq!(
            c("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
            Some(Greater)
        );
        assert_eq!(
            c("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"),
            Some(Less)
        );
        assert_eq!(
            c("v1.2.4-pre.0.20191109021931-daa7c04131f5", "v1.2.4-pre"),
            Some(Greater)
        );
        for bad in [
            "",
            "v",
            "v01.2.3",
            "v1.2.3.4",
            "v1.2-pre",
            "v1.2.3-01",
            "v1.2.3-",
            "1.x",
        ] {
            assert!(GoVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
