//! PyPI versions ordered as Python's `packaging` does: PEP 440 versions by
//! `packaging.version.Version`'s comparison key, anything else as `LegacyVersion`
//! (packaging < 22), which sorts before every PEP 440 version.

use crate::num::BigNum;
use crate::{Scheme, VersionError};

/// Pre-release key: a dev-only release sorts before any pre-release, no pre-release after.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    NegInf,
    /// (phase: a=0, b=1, rc=2; number)
    Some(u8, BigNum),
    Inf,
}

/// Dev key: a dev release sorts before the same version without one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dev {
    Some(BigNum),
    Inf,
}

/// A local-version segment: numbers sort after strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Local {
    Str(Box<str>),
    Int(BigNum),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pep {
    epoch: BigNum,
    /// Release numbers with trailing zeros removed.
    release: Box<[BigNum]>,
    pre: Pre,
    post: Option<BigNum>,
    dev: Dev,
    local: Option<Box<[Local]>>,
}

/// `Legacy` sorts before `Pep` (packaging's legacy key has epoch -1), as the derive orders it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PyVersion {
    Legacy(Box<[Box<str>]>),
    Pep(Pep),
}

impl PyVersion {
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        if input.trim().is_empty() {
            return Err(VersionError::invalid(
                Scheme::Pep440,
                input,
                "version string is empty",
            ));
        }
        Ok(match parse_pep440(input) {
            Some(p) => PyVersion::Pep(p),
            None => PyVersion::Legacy(legacy_key(input)),
        })
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn digits(&mut self) -> Option<BigNum> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i > start).then(|| BigNum::from_digits(&self.s[start..self.i]))
    }
    /// Match the first of `words` (in regex alternation order) at the cursor.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.s[self.i..];
        let k = words.iter().position(|w| rest.starts_with(w.as_bytes()))?;
        self.i += words[k].len();
        Some(k)
    }
}

/// packaging's `VERSION_PATTERN`, anchored with optional surrounding whitespace,
/// matched case-insensitively. Returns None when the string is not PEP 440.
fn parse_pep440(input: &str) -> Option<Pep> {
    let trimmed = input.trim();
    let lower = trimmed.to_ascii_lowercase();
    let mut c = Cursor {
        s: lower.as_bytes(),
        i: 0,
    };
    if c.peek() == Some(b'v') {
        c.i += 1;
    }
    // Epoch and release.
    let first = c.digits()?;
    let (epoch, mut release) = if c.peek() == Some(b'!') {
        c.i += 1;
        let r = c.digits()?;
        (first, vec![r])
    } else {
        (BigNum::default(), vec![first])
    };
    while c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(|d| d.is_ascii_digit()) {
        c.i += 1;
        release.push(c.digits()?);
    }
    // Pre-release.
    let mut pre = None;
    {
        let save = c.i;
        c.sep();
        const PRE: [&str; 8] = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
        match c.word(&PRE) {
            Some(k) => {
                let phase = match PRE[k] {
                    "alpha" | "a" => 0,
                    "beta" | "b" => 1,
                    _ => 2,
                };
                // The regex's optional separator is greedy even when no number follows.
                c.sep();
                let n = c.digits().unwrap_or_default();
                pre = Some((phase, n));
            }
            None => c.i = save,
        }
    }
    // Post-release.
    let mut post = None;
    {
        let save = c.i;
        if c.peek() == Some(b'-') {
            c.i += 1;
            if let Some(d) = c.digits() {
                post = Some(d);
            } else {
                c.i = save;
            }
        }
        if post.is_none() {
            c.sep();
            if c.word(&["post", "rev", "r"]).is_some() {
                c.sep();
                post = Some(c.digits().unwrap_or_default());
            } else {
                c.i = save;
            }
        }
    }
    // Dev release.
    let mut dev = None;
    {
        let save = c.i;
        c.sep();
        if c.word(&["dev"]).is_some() {
            c.sep();
            dev = Some(c.digits().unwrap_or_default());
        } else {
            c.i = save;
        }
    }
    // Local version.
    let mut local = None;
    if c.peek() == Some(b'+') {
        c.i += 1;
        let rest = &c.s[c.i..];
        let mut parts = Vec::new();
        for part in rest.split(|&b| matches!(b, b'-' | b'_' | b'.')) {
            if part.is_empty() || !part.iter().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            parts.push(if part.iter().all(u8::is_ascii_digit) {
                Local::Int(BigNum::from_digits(part))
            } else {
                // ASCII-only after the check above.
                Local::Str(String::from_utf8_lossy(part).into())
            });
        }
        c.i = c.s.len();
        local = Some(parts.into_boxed_slice());
    }
    if c.i != c.s.len() {
        return None;
    }
    while release.last().is_some_and(BigNum::is_zero) {
        release.pop();
    }
    let pre_key = match (&pre, &post, &dev) {
        (None, None, Some(_)) => Pre::NegInf,
        (None, _, _) => Pre::Inf,
        (Some((p, n)), _, _) => Pre::Some(*p, n.clone()),
    };
    Some(Pep {
        epoch,
        release: release.into_boxed_slice(),
        pre: pre_key,
        post,
        dev: match dev {
            Some(n) => Dev::Some(n),
            None => Dev::Inf,
        },
        local,
    })
}

/// packaging's `_legacy_cmpkey` (packaging < 22), minus the constant epoch of -1.
fn legacy_key(input: &str) -> Box<[Box<str>]> {
    let lower = input.to_lowercase();
    let mut parts: Vec<Box<str>> = Vec::new();
    let mut push = |part: &str| {
        let part: Box<str> = match part {
            "pre" | "preview" | "rc" => "*c".into(),
            "-" => "*final-".into(),
            "dev" => "*@".into(),
            "" | "." => return,
            p if p.as_bytes()[0].is_ascii_digit() => format!("{p:0>8}").into(),
            p => format!("*{p}").into(),
        };
        if part.starts_with('*') {
            if &*part < "*final" {
                while parts.last().is_some_and(|p| &**p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| &**p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    };
    // re.split(r"(\d+|[a-z]+|\.|-)", s): matched tokens and the text between them.
    let b = lower.as_bytes();
    let mut i = 0;
    let mut gap = 0;
    while i < b.len() {
        let c = b[i];
        let len = if c.is_ascii_digit() {
            b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
        } else if c.is_ascii_lowercase() {
            b[i..].iter().take_while(|c| c.is_ascii_lowercase()).count()
        } else if c == b'.' || c == b'-' {
            1
        } else {
            i += 1;
            continue;
        };
        // Token boundaries are ASCII, so these slices are on char boundaries.
        push(&lower[gap..i]);
        push(&lower[i..i + len]);
        i += len;
        gap = i;
    }
    push(&lower[gap..]);
    push("final");
    parts.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use crate::{compare, Scheme};
    use std::cmp::Ordering::*;

    #[test]
    fn normalization_equalities() {
        let c = |a, b| compare(Scheme::Pep440, a, b).ok();
        assert_eq!(c("1.0", "1.0.0"), Some(Equal));
        assert_eq!(c("1.0alpha1", "1.0a1"), Some(Equal));
        assert_eq!(c("1.0-preview-2", "1.0rc2"), Some(Equal));
        assert_eq!(c("v1.0.POST", "1.0.post0"), Some(Equal));
        assert_eq!(c("1.0-1", "1.0.post1"), Some(Equal));
        assert_eq!(c(" 1!2.0 ", "1!2"), Some(Equal));
        assert_eq!(c("1.0+ubuntu-1", "1.0+ubuntu.1"), Some(Equal));
        assert_eq!(c("1.0.dev1", "1.0a1"), Some(Less));
        assert_eq!(c("1.0a1", "1.0"), Some(Less));
        assert_eq!(c("1.0", "1.0+abc"), Some(Less));
        assert_eq!(c("1.0+abc", "1.0+5"), Some(Less));
        assert_eq!(c("1.0.post1", "1.1.dev0"), Some(Less));
        assert_eq!(c("not-a-version", "0.0.0.dev0"), Some(Less));
    }
}
