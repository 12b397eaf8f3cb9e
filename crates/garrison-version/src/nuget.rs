//! NuGet versions ordered as NuGet.Versioning's `VersionComparer.Default`: up to four
//! numbers (missing ones are 0), pre-release labels compared numerically when they parse
//! as `int` and case-insensitively otherwise, metadata ignored.

use std::cmp::Ordering;

use crate::num::BigNum;
use crate::{Scheme, VersionError};

/// A release label: `int.TryParse` successes sort before other labels.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Label {
    Int(i32),
    Str(Box<str>),
}

impl Ord for Label {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Label::Int(a), Label::Int(b)) => a.cmp(b),
            (Label::Int(_), Label::Str(_)) => Ordering::Less,
            (Label::Str(_), Label::Int(_)) => Ordering::Greater,
            // StringComparer.OrdinalIgnoreCase: compare upper-cased characters.
            (Label::Str(a), Label::Str(b)) => a
                .chars()
                .flat_map(char::to_uppercase)
                .cmp(b.chars().flat_map(char::to_uppercase)),
        }
    }
}
impl PartialOrd for Label {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NuGetVersion {
    nums: [BigNum; 4],
    release: Box<[Label]>,
}

/// `int.TryParse` with the default integer style on a label (labels cannot hold spaces or
/// '+', so only an optional leading '-' and the i32 range matter).
fn int_label(s: &str) -> Option<i32> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse::<i32>().ok()
}

fn valid_part(p: &str) -> bool {
    !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

impl NuGetVersion {
    /// `NuGetVersion.TryParse`, except that version numbers may exceed `int` (NuGet
    /// rejects those; ordering them numerically is the only sensible reading).
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError::invalid(Scheme::NuGet, input, reason);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("version string is empty"));
        }
        let (main, meta) = match s.split_once('+') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        if let Some(m) = meta {
            if !m.split('.').all(valid_part) {
                return Err(err("metadata must be dot-separated [0-9A-Za-z-] parts"));
            }
        }
        let (ver, rel) = match main.split_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (main, None),
        };
        let parts: Vec<&str> = ver.split('.').collect();
        if parts.len() > 4 {
            return Err(err("more than four version numbers"));
        }
        let mut nums: [BigNum; 4] = Default::default();
        for (slot, p) in nums.iter_mut().zip(&parts) {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err("version numbers must be decimal"));
            }
            *slot = BigNum::from_digits(p.as_bytes());
        }
        let release = match rel {
            Some(r) => {
                if !r.split('.').all(valid_part) {
                    return Err(err(
                        "release labels must be dot-separated [0-9A-Za-z-] parts",
                    ));
                }
                r.split('.')
                    .map(|l| match int_label(l) {
                        Some(n) => Label::Int(n),
                        None => Label::Str(l.into()),
                    })
                    .collect()
            }
            None => Box::default(),
        };
        Ok(NuGetVersion { nums, release })
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nums.cmp(&other.nums).then_with(|| {
            match (self.release.is_empty(), other.release.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.release.cmp(&other.release),
            }
        })
    }
}
impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
