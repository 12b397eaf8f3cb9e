//! dpkg versions: `[epoch:]upstream[-revision]` ordered by dpkg's `verrevcmp`.

use std::cmp::Ordering;
use std::ops::Range;

use crate::{Scheme, VersionError};

/// A parsed dpkg version; components are byte ranges into the owning [`crate::Version`]'s text.
#[derive(Clone, Debug)]
pub(crate) struct DpkgVersion {
    epoch: u32,
    upstream: Range<usize>,
    revision: Range<usize>,
}

impl DpkgVersion {
    /// Parse like dpkg's `parseversion`: errors are fatal there too; its warnings
    /// (odd characters, no leading digit) are accepted as `dpkg --compare-versions` does.
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError::invalid(Scheme::Dpkg, input, reason);
        let start = input.len() - input.trim_start().len();
        let end = input.trim_end().len();
        if start >= end {
            return Err(err("version string is empty"));
        }
        let s = &input[start..end];
        if s.bytes().any(|c| c.is_ascii_whitespace()) {
            return Err(err("version string has embedded spaces"));
        }
        let (epoch, vstart) = match s.find(':') {
            Some(colon) => {
                let e = &s[..colon];
                if e.is_empty() {
                    return Err(err("epoch in version is empty"));
                }
                if !e.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(err("epoch in version is not number"));
                }
                let epoch: u32 = match e.parse::<u64>() {
                    Ok(n) if n <= i32::MAX as u64 => n as u32,
                    _ => return Err(err("epoch in version is too big")),
                };
                if colon + 1 == s.len() {
                    return Err(err("nothing after colon in version number"));
                }
                (epoch, colon + 1)
            }
            None => (0, 0),
        };
        let rest = &s[vstart..];
        let (upstream, revision) = match rest.rfind('-') {
            Some(h) => {
                if h + 1 == rest.len() {
                    return Err(err("revision number is empty"));
                }
                (vstart..vstart + h, vstart + h + 1..s.len())
            }
            None => (vstart..s.len(), s.len()..s.len()),
        };
        if upstream.is_empty() {
            return Err(err("version number is empty"));
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.start + start..upstream.end + start,
            revision: revision.start + start..revision.end + start,
        })
    }

    pub(crate) fn cmp_with(&self, raw: &str, other: &Self, other_raw: &str) -> Ordering {
        let a = raw.as_bytes();
        let b = other_raw.as_bytes();
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| {
                verrevcmp(
                    a.get(self.upstream.clone()).unwrap_or_default(),
                    b.get(other.upstream.clone()).unwrap_or_default(),
                )
            })
            .then_with(|| {
                verrevcmp(
                    a.get(self.revision.clone()).unwrap_or_default(),
                    b.get(other.revision.clone()).unwrap_or_default(),
                )
            })
    }
}

/// dpkg's character weight: `~` below the end of the string, letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp` (lib/dpkg/version.c), byte for byte.
pub(crate) fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    while i < a.len() || j < b.len() {
        while at(a, i).is_some_and(|c| !c.is_ascii_digit())
            || at(b, j).is_some_and(|c| !c.is_ascii_digit())
        {
            let ac = order(at(a, i));
            let bc = order(at(b, j));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == Some(b'0') {
            i += 1;
        }
        while at(b, j) == Some(b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while let (Some(x), Some(y)) = (at(a, i), at(b, j)) {
            if !(x.is_ascii_digit() && y.is_ascii_digit()) {
                break;
            }
            if first_diff == Ordering::Equal {
                first_diff = x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_some_and(|c| c.is_ascii_digit()) {
            return Ordering::Greater;
        }
        if at(b, j).is_some_and(|c| c.is_ascii_digit()) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use crate::{compare, parse, Scheme};
    use std::cmp::Ordering::*;

    #[test]
    fn tilde_sorts_before_end() {
        assert_eq!(compare(Scheme::Dpkg, "1.0~rc1", "1.0").ok(), Some(Less));
        assert_eq!(compare(Scheme::Dpkg, "1.0~~", "1.0~").ok(), Some(Less));
        assert_eq!(compare(Scheme::Dpkg, "1.0a", "1.0+").ok(), Some(Less));
        assert_eq!(compare(Scheme::Dpkg, "1:0.1", "9.9").ok(), Some(Greater));
    }

    #[test]
    fn parse_errors_match_dpkg() {
        for bad in [
            "",
            "   ",
            ":1",
            "a:1",
            "1:",
            "1.0-",
            "1 0",
            "99999999999:1",
            "-1",
        ] {
            assert!(
                parse(Scheme::Dpkg, bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(parse(Scheme::Dpkg, " 1.0-1 ").is_ok());
    }
}
