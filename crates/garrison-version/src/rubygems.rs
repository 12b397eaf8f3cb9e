//! RubyGems versions ordered as `Gem::Version#<=>`: segments of digits or letters
//! (`-` reads as `.pre.`), trailing zeros dropped from the numeric prefix and from the
//! pre-release part (`canonical_segments`), letters before numbers, padding with 0.
//! Malformed strings are rejected as Ruby rejects them, except `1beta` (see `is_correct`).

use std::cmp::Ordering;

use crate::num::BigNum;
use crate::{Scheme, VersionError};

/// A segment; strings sort before numbers (`String === lhs && Numeric === rhs` is -1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Str(Box<str>),
    Num(BigNum),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GemVersion {
    canonical: Box<[Seg]>,
}

fn is_zero(s: &Seg) -> bool {
    matches!(s, Seg::Num(n) if n.is_zero())
}

/// `Gem::Version::ANCHORED_VERSION_PATTERN` without the surrounding whitespace,
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`, relaxed in one way: letters
/// may follow the leading number directly (`1beta`). Ruby rejects that form, but the shared
/// vectors order it (`1beta` < `1`) and its segments are unambiguous.
fn is_correct(s: &str) -> bool {
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    let mut parts = main.split('.');
    let first_ok = parts.next().is_some_and(|p| {
        p.bytes().next().is_some_and(|c| c.is_ascii_digit())
            && p.bytes().all(|c| c.is_ascii_alphanumeric())
    });
    let rest_ok = parts.all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric()));
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    });
    first_ok && rest_ok && pre_ok
}

impl GemVersion {
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        // Ruby's \s: space, \t, \n, \v, \f, \r.
        let s =
            input.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
        if s.is_empty() {
            // Gem::Version.new("") is "0"; an empty version is never meaningful to match.
            return Err(VersionError::invalid(
                Scheme::RubyGems,
                input,
                "version string is empty",
            ));
        }
        if !is_correct(s) {
            return Err(VersionError::invalid(
                Scheme::RubyGems,
                input,
                "Malformed version number string",
            ));
        }
        // segments: scan(/[0-9]+|[a-z]+/i) over the string with "-" replaced by ".pre.".
        let b = s.as_bytes();
        let mut segs = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                segs.push(Seg::Num(BigNum::from_digits(&b[i..i + n])));
                i += n;
            } else if c.is_ascii_alphabetic() {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count();
                segs.push(Seg::Str(s[i..i + n].into()));
                i += n;
            } else {
                if c == b'-' {
                    segs.push(Seg::Str("pre".into()));
                }
                i += 1;
            }
        }
        // canonical_segments: drop trailing zeros of the numeric prefix and of the rest.
        let split = segs
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segs.len());
        let mut strings = segs.split_off(split);
        let mut numeric = segs;
        while numeric.last().is_some_and(is_zero) {
            numeric.pop();
        }
        while strings.last().is_some_and(is_zero) {
            strings.pop();
        }
        numeric.extend(strings);
        Ok(GemVersion {
            canonical: numeric.into_boxed_slice(),
        })
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num(BigNum::default());
        let n = self.canonical.len().max(other.canonical.len());
        for k in 0..n {
            let l = self.canonical.get(k).unwrap_or(&zero);
            let r = other.canonical.get(k).unwrap_or(&zero);
            let c = l.cmp(r);
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}
impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use crate::{compare, parse, Scheme};
    use std::cmp::Ordering::*;

    #[test]
    fn gem_rules() {
        let c = |a, b| compare(Scheme::RubyGems, a, b).ok();
        assert_eq!(c("1.0.0", "1"), Some(Equal));
        assert_eq!(c("1.0-beta", "1.0.pre.beta"), Some(Equal));
        assert_eq!(c("1.0.a", "1.0"), Some(Less));
        assert_eq!(c("1.0.0.a.0", "1.a"), Some(Equal));
        assert_eq!(c(" 2.0 ", "2"), Some(Equal));
        assert_eq!(c("1beta", "1.beta"), Some(Equal));
        for bad in ["", "junk", "1..2", "1.0-", "1.0 2", "v1.0", "1.0_1"] {
            assert!(parse(Scheme::RubyGems, bad).is_err(), "{bad:?}");
        }
    }
}
