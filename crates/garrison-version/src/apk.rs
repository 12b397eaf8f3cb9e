//! Alpine apk versions: `number{.number}...{letter}{_suffix{number}}...{-r#}`, tokenized and
//! compared exactly as apk-tools 2.x (`src/version.c`, the 2.14 line every Alpine 3.x
//! release ships, and the tool that ordered the shared Alpine vectors) does.

use std::cmp::Ordering;

use crate::{Scheme, VersionError};

// apk-tools 2.x token kinds, with their numeric order (the comparison relies on it).
const INVALID: i8 = -1;
const DIGIT_OR_ZERO: i8 = 0;
const DIGIT: i8 = 1;
const LETTER: i8 = 2;
const SUFFIX: i8 = 3;
const SUFFIX_NO: i8 = 4;
const REVISION_NO: i8 = 5;
const END: i8 = 6;

const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

/// The value/next-token-kind pairs apk's `get_token` yields, in order, starting from the
/// initial `DIGIT` state. The comparison walks two of these in lock step, so precomputing
/// them once makes every comparison allocation-free.
#[derive(Clone, Debug)]
pub(crate) struct ApkVersion {
    steps: Box<[(i64, i8)]>,
}

/// apk's `next_token`: classify what follows the token just read.
fn next_token(ty: i8, b: &[u8], pos: &mut usize) -> i8 {
    let mut n = INVALID;
    match b.get(*pos) {
        None | Some(0) => n = END,
        Some(c) if (ty == DIGIT || ty == DIGIT_OR_ZERO) && c.is_ascii_lowercase() => n = LETTER,
        Some(c) if ty == LETTER && c.is_ascii_digit() => n = DIGIT,
        Some(c) if ty == SUFFIX && c.is_ascii_digit() => n = SUFFIX_NO,
        Some(&c) => {
            match c {
                b'.' => n = DIGIT_OR_ZERO,
                b'_' => n = SUFFIX,
                b'-' if b.get(*pos + 1) == Some(&b'r') => {
                    n = REVISION_NO;
                    *pos += 1;
                }
                _ => {}
            }
            *pos += 1;
        }
    }
    if n < ty
        && !((n == DIGIT_OR_ZERO && ty == DIGIT)
            || (n == SUFFIX && ty == SUFFIX_NO)
            || (n == DIGIT && ty == LETTER))
    {
        n = INVALID;
    }
    n
}

/// apk's `get_token`: read the token of kind `*ty` at `pos`, return its value and move `*ty`
/// to the kind of the next token.
fn get_token(ty: &mut i8, b: &[u8], pos: &mut usize) -> i64 {
    if *pos >= b.len() {
        *ty = END;
        return 0;
    }
    let rest = &b[*pos..];
    let mut i = 0usize;
    let mut nt = INVALID;
    let v: i64;
    let mut kind = *ty;
    if kind == DIGIT_OR_ZERO {
        if rest[0] == b'0' {
            // Leading zeros get special treatment: all but the last are consumed here.
            while rest.get(i + 1) == Some(&b'0') {
                i += 1;
            }
            nt = DIGIT;
            v = -(i as i64);
            return finish(ty, nt, b, pos, i, v);
        }
        kind = DIGIT;
    }
    match kind {
        DIGIT | SUFFIX_NO | REVISION_NO => {
            let mut acc: i64 = 0;
            while let Some(c) = rest.get(i).filter(|c| c.is_ascii_digit()) {
                acc = acc.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
                i += 1;
            }
            if i >= 18 {
                *ty = INVALID;
                return -1;
            }
            v = acc;
        }
        LETTER => {
            v = i64::from(rest[0]);
            i = 1;
        }
        SUFFIX => {
            if let Some(k) = PRE_SUFFIXES.iter().position(|s| rest.starts_with(s)) {
                i = PRE_SUFFIXES[k].len();
                v = k as i64 - PRE_SUFFIXES.len() as i64;
            } else if let Some(k) = POST_SUFFIXES.iter().position(|s| rest.starts_with(s)) {
                i = POST_SUFFIXES[k].len();
                v = k as i64;
            } else {
                *ty = INVALID;
                return -1;
            }
        }
        _ => {
            *ty = INVALID;
            return -1;
        }
    }
    finish(ty, nt, b, pos, i, v)
}

fn finish(ty: &mut i8, nt: i8, b: &[u8], pos: &mut usize, consumed: usize, v: i64) -> i64 {
    *pos += consumed;
    if *pos >= b.len() {
        *ty = END;
    } else if nt != INVALID {
        *ty = nt;
    } else {
        *ty = next_token(*ty, b, pos);
    }
    v
}

impl ApkVersion {
    /// Tokenize like apk-tools. apk compares even invalid strings (`apk version -t` answers
    /// for any pair), so only the empty string is rejected here.
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Apk,
                input,
                "version string is empty",
            ));
        }
        let b = input.as_bytes();
        let mut pos = 0usize;
        let mut ty = DIGIT;
        let mut steps = Vec::with_capacity(8);
        while ty != END && ty != INVALID {
            let v = get_token(&mut ty, b, &mut pos);
            steps.push((v, ty));
        }
        Ok(ApkVersion {
            steps: steps.into_boxed_slice(),
        })
    }

    /// Is this a valid apk version (`apk_version_validate`)?
    #[cfg(test)]
    fn is_valid(&self) -> bool {
        self.steps.last().is_some_and(|&(_, t)| t == END)
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ApkVersion {}
impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ApkVersion {
    /// apk-tools 2.x `apk_version_compare_blob`.
    fn cmp(&self, other: &Self) -> Ordering {
        let (mut at, mut bt) = (DIGIT, DIGIT);
        let (mut av, mut bv) = (0i64, 0i64);
        let mut k = 0usize;
        while at == bt && at != END && at != INVALID && av == bv {
            // Both sequences continue while their kind is non-terminal.
            (av, at) = self.steps.get(k).copied().unwrap_or((0, END));
            (bv, bt) = other.steps.get(k).copied().unwrap_or((0, END));
            k += 1;
        }
        if av != bv {
            return av.cmp(&bv);
        }
        if at == bt {
            return Ordering::Equal;
        }
        // Equal so far: the non-terminating version is greater unless it continues with a
        // pre-release suffix (whose value is negative).
        if at == SUFFIX && self.steps.get(k).is_some_and(|&(v, _)| v < 0) {
            return Ordering::Less;
        }
        if bt == SUFFIX && other.steps.get(k).is_some_and(|&(v, _)| v < 0) {
            return Ordering::Greater;
        }
        bt.cmp(&at)
    }
}

#[cfg(test)]
mod tests {
    use super::ApkVersion;

    #[test]
    fn validity_matches_apk() {
        for ok in [
            "1",
            "1.2.3",
            "1.2.3a",
            "1.0_alpha1",
            "1.0_p1-r2",
            "6.6.2p1",
            "0.1a1",
        ] {
            assert!(ApkVersion::parse(ok).is_ok_and(|v| v.is_valid()), "{ok}");
        }
        for bad in ["1.0_foobar", "1-r0-1", "1.2.0A", "1-ruff"] {
            assert!(ApkVersion::parse(bad).is_ok_and(|v| !v.is_valid()), "{bad}");
        }
    }
}
