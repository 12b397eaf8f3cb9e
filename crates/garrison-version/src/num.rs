//! Shared helpers: comparing arbitrarily long decimal digit strings without big integers.

use std::cmp::Ordering;

/// Compare two ASCII digit strings numerically (leading zeros ignored, any length).
pub(crate) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Drop leading `0` bytes.
pub(crate) fn strip_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

/// A decimal number kept as its significant digits, for cheap repeated comparison.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct BigNum(Box<[u8]>);

impl BigNum {
    /// From ASCII digits (caller guarantees they are digits).
    pub(crate) fn from_digits(d: &[u8]) -> Self {
        BigNum(strip_zeros(d).into())
    }
    pub(crate) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for BigNum {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for BigNum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
