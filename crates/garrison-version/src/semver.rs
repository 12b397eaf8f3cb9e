//! SemVer 2.0.0 precedence as npm and crates.io apply it: numeric major.minor.patch,
//! pre-releases before the release, identifiers compared numerically or by ASCII, build
//! metadata ignored.

use std::cmp::Ordering;

use crate::num::BigNum;
use crate::{Scheme, VersionError};

/// One dot-separated pre-release identifier; numeric ones sort before alphanumeric ones.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ident {
    Num(BigNum),
    Alpha(Box<str>),
}

/// A SemVer precedence key. The derived order compares the core, then the pre-release:
/// `None` must sort after any pre-release, handled in `Ord` below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SemverVersion {
    pub(crate) core: [BigNum; 3],
    pub(crate) pre: Box<[Ident]>,
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}
impl PartialOrd for SemverVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Parse dot-separated identifiers (SemVer's `[0-9A-Za-z-]+`, none empty).
pub(crate) fn parse_idents(s: &str) -> Option<Box<[Ident]>> {
    let mut out = Vec::new();
    for id in s.split('.') {
        if id.is_empty() || !id.bytes().all(is_ident_char) {
            return None;
        }
        out.push(if id.bytes().all(|c| c.is_ascii_digit()) {
            Ident::Num(BigNum::from_digits(id.as_bytes()))
        } else {
            Ident::Alpha(id.into())
        });
    }
    Some(out.into_boxed_slice())
}

impl SemverVersion {
    /// Parse `[v]MAJOR[.MINOR[.PATCH]][-PRE][+BUILD]`.
    ///
    /// Stricter tools reject some of what is accepted here, but no accepted string changes
    /// the order of strictly valid versions: an optional `v`/`=` prefix and surrounding
    /// whitespace (npm's `semver.parse` strips them), missing minor/patch read as 0,
    /// numbers of any size, and — as the shared vectors and OSV's SEMVER ranges expect —
    /// further dot-separated numeric components after the patch are treated as build
    /// metadata (`1.1.3.4.5` == `1.1.3`).
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError::invalid(Scheme::Semver, input, reason);
        let s = input.trim();
        let s = s.strip_prefix('=').unwrap_or(s);
        let s = s
            .strip_prefix('v')
            .or_else(|| s.strip_prefix('V'))
            .unwrap_or(s);
        if s.is_empty() {
            return Err(err("version string is empty"));
        }
        // Split off build metadata first, then the pre-release.
        let (main, build) = match s.split_once('+') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        if let Some(b) = build {
            if parse_idents(b).is_none() {
                return Err(err(
                    "build metadata must be dot-separated [0-9A-Za-z-] identifiers",
                ));
            }
        }
        let (core, pre) = match main.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (main, None),
        };
        let mut nums = [BigNum::default(), BigNum::default(), BigNum::default()];
        for (k, part) in core.split('.').enumerate() {
            if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err("major.minor.patch must be numbers"));
            }
            if let Some(slot) = nums.get_mut(k) {
                *slot = BigNum::from_digits(part.as_bytes());
            }
            // Components past the patch are read as build metadata: ignored.
        }
        let pre = match pre {
            Some(p) => parse_idents(p)
                .ok_or_else(|| err("pre-release must be dot-separated [0-9A-Za-z-] identifiers"))?,
            None => Box::default(),
        };
        Ok(SemverVersion { core: nums, pre })
    }
}

#[cfg(test)]
mod tests {
    use crate::{compare, parse, Scheme};
    use std::cmp::Ordering::*;

    #[test]
    fn precedence_per_spec() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1+build.5",
            "2.0.0",
        ];
        for w in order.windows(2) {
            assert_eq!(
                compare(Scheme::Semver, w[0], w[1]).ok(),
                Some(Less),
                "{w:?}"
            );
        }
        assert_eq!(
            compare(Scheme::Semver, "1.0.0+a", "1.0.0+b").ok(),
            Some(Equal)
        );
        for bad in [
            "",
            "v",
            "1.x",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+",
            "a.b.c",
            "1.0.0-é",
        ] {
            assert!(parse(Scheme::Semver, bad).is_err(), "{bad:?}");
        }
    }
}
