//! Packagist versions ordered as Composer does: a leading `v` is dropped (Composer's
//! normalization) and the rest compared with PHP's `version_compare`
//! (ext/standard/versioning.c): canonicalized into dot-separated parts, numbers
//! numerically, special forms dev < alpha = a < beta = b < RC = rc < (number) < pl = p,
//! unknown words lowest. Branch names (`dev-foo`) order as `version_compare` orders them.

use std::cmp::Ordering;

use crate::num::cmp_digits;
use crate::{Scheme, VersionError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PackagistVersion {
    /// PHP's canonical form: parts separated by single '.'.
    canonical: Box<str>,
}

/// `php_canonicalize_version`.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 2);
    let Some((&first, rest)) = v.split_first() else {
        return out;
    };
    out.push(first);
    let mut lp = first;
    let isdig = |x: u8| x.is_ascii_digit();
    let isndig = |x: u8| !x.is_ascii_digit() && x != b'.';
    for &c in rest {
        let lq = out.last().copied().unwrap_or(b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if lq != b'.' {
                out.push(b'.');
            }
        } else if (isndig(lp) && isdig(c)) || (isdig(lp) && isndig(c)) {
            if lq != b'.' {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if lq != b'.' {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        lp = c;
    }
    out
}

/// `compare_special_version_forms` rank: prefix match in PHP's table order, -1 otherwise.
fn special(form: &[u8]) -> i32 {
    const FORMS: [(&[u8], i32); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |&(_, order)| order)
}

/// `php_version_compare` on already-canonical strings. Numbers compare exactly (PHP's
/// `strtol` saturates above 2^63, making all larger numbers equal).
fn php_compare(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&!b.is_empty());
    }
    let num_end = |p: &[u8]| p.iter().take_while(|c| c.is_ascii_digit()).count();
    let pa: Vec<&[u8]> = a.split(|&c| c == b'.').collect();
    let pb: Vec<&[u8]> = b.split(|&c| c == b'.').collect();
    for (x, y) in pa.iter().zip(&pb) {
        let dx = x.first().is_some_and(u8::is_ascii_digit);
        let dy = y.first().is_some_and(u8::is_ascii_digit);
        let c = match (dx, dy) {
            (true, true) => cmp_digits(&x[..num_end(x)], &y[..num_end(y)]),
            (false, false) => special(x).cmp(&special(y)),
            (true, false) => special(b"#N#").cmp(&special(y)),
            (false, true) => special(x).cmp(&special(b"#N#")),
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    // One side has parts left: a number makes it newer, otherwise compare the rest
    // with "#N#".
    let n = pa.len().min(pb.len());
    let rest = |parts: &[&[u8]]| parts.join(&b'.');
    if pa.len() > n {
        if pa[n].first().is_some_and(u8::is_ascii_digit) {
            Ordering::Greater
        } else {
            php_compare_raw(&rest(&pa[n..]), b"#N#")
        }
    } else if pb.len() > n {
        if pb[n].first().is_some_and(u8::is_ascii_digit) {
            Ordering::Less
        } else {
            php_compare_raw(b"#N#", &rest(&pb[n..]))
        }
    } else {
        Ordering::Equal
    }
}

/// `php_version_compare` on raw strings: strings starting with '#' are not canonicalized.
fn php_compare_raw(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&!b.is_empty());
    }
    let ca = if a[0] == b'#' {
        a.to_vec()
    } else {
        canonicalize(a)
    };
    let cb = if b[0] == b'#' {
        b.to_vec()
    } else {
        canonicalize(b)
    };
    php_compare(&ca, &cb)
}

impl PackagistVersion {
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        let s = input.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        if s.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Packagist,
                input,
                "version string is empty",
            ));
        }
        // PHP strings passed to C end at the first NUL byte.
        let s = s.split('\0').next().unwrap_or(s);
        let b = s.as_bytes();
        let canonical = if b.first() == Some(&b'#') {
            b.to_vec()
        } else {
            canonicalize(b)
        };
        Ok(PackagistVersion {
            // Canonicalization only inserts or replaces ASCII, and splits only at ASCII
            // boundaries, so this stays valid UTF-8; lossy conversion is a no-op guard.
            canonical: String::from_utf8_lossy(&canonical).into(),
        })
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        php_compare(self.canonical.as_bytes(), other.canonical.as_bytes())
    }
}
impl PartialOrd for PackagistVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
