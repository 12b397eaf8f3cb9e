//! RPM versions: `[epoch:]version[-release]` ordered by rpm's `rpmvercmp`, with `~` and `^`.

use std::cmp::Ordering;
use std::ops::Range;

use crate::num::cmp_digits;
use crate::{Scheme, VersionError};

/// A parsed EVR; components are byte ranges into the owning [`crate::Version`]'s text.
/// The release range keeps its leading `-` so that "1" < "1-" < "1-1" as the vectors
/// (from osv-scalibr, matching how OSV compares RPM EVRs) record.
#[derive(Clone, Debug)]
pub(crate) struct RpmVersion {
    epoch: Range<usize>,
    version: Range<usize>,
    release: Range<usize>,
}

impl RpmVersion {
    /// Split like rpm's `parseEVR`: leading digits ending in `:` are the epoch, the
    /// last `-` after them starts the release. Every string is a valid EVR to rpm;
    /// only the empty string is rejected.
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Rpm,
                input,
                "version string is empty",
            ));
        }
        let b = input.as_bytes();
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let (epoch, vstart) = if b.get(digits) == Some(&b':') {
            (0..digits, digits + 1)
        } else {
            (0..0, 0)
        };
        let (version, release) = match input[vstart..].rfind('-') {
            Some(h) => (vstart..vstart + h, vstart + h..input.len()),
            None => (vstart..input.len(), input.len()..input.len()),
        };
        Ok(RpmVersion {
            epoch,
            version,
            release,
        })
    }

    pub(crate) fn cmp_with(&self, raw: &str, other: &Self, other_raw: &str) -> Ordering {
        let a = raw.as_bytes();
        let b = other_raw.as_bytes();
        cmp_digits(slice(a, &self.epoch), slice(b, &other.epoch))
            .then_with(|| component(slice(a, &self.version), slice(b, &other.version)))
            .then_with(|| component(slice(a, &self.release), slice(b, &other.release)))
    }
}

fn slice<'a>(s: &'a [u8], r: &Range<usize>) -> &'a [u8] {
    s.get(r.clone()).unwrap_or_default()
}

/// An absent component sorts before any present one; otherwise `rpmvercmp`.
fn component(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => rpmvercmp(a, b),
    }
}

/// rpm's `rpmvercmp` (rpmio/rpmvercmp.c), byte for byte.
pub(crate) fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while at(a, i).is_some_and(sep) {
            i += 1;
        }
        while at(b, j).is_some_and(sep) {
            j += 1;
        }
        let (x, y) = (at(a, i), at(b, j));
        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == Some(b'^') || y == Some(b'^') {
            if x.is_none() {
                return Ordering::Less;
            }
            if y.is_none() {
                return Ordering::Greater;
            }
            if x != Some(b'^') {
                return Ordering::Greater;
            }
            if y != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(x), Some(_)) = (x, y) else { break };
        let isnum = x.is_ascii_digit();
        let class = |c: u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let i_end = i + a[i..].iter().take_while(|&&c| class(c)).count();
        let j_end = j + b[j..].iter().take_while(|&&c| class(c)).count();
        if i == i_end {
            return Ordering::Less; // arbitrary in rpm too
        }
        if j == j_end {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sa, sb) = (&a[i..i_end], &b[j..j_end]);
        let rc = if isnum {
            cmp_digits(sa, sb)
        } else {
            sa.cmp(sb)
        };
        if rc != Ordering::Equal {
            return rc;
        }
        i = i_end;
        j = j_end;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use crate::{compare, Scheme};
    use std::cmp::Ordering::*;

    #[test]
    fn tilde_and_caret() {
        let c = |a, b| compare(Scheme::Rpm, a, b).ok();
        assert_eq!(c("1.0~rc1", "1.0"), Some(Less));
        assert_eq!(c("1.0^git1", "1.0"), Some(Greater));
        assert_eq!(c("1.0^git1", "1.0.1"), Some(Less));
        assert_eq!(c("2:1.0-1.el9", "1:9.9-1.el9"), Some(Greater));
        assert!(compare(Scheme::Rpm, "", "1").is_err());
    }
}
