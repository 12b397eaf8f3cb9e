//! Maven versions ordered as `org.apache.maven.artifact.versioning.ComparableVersion`
//! of Maven 3.8.2–3.8.6 does (with MNG-6964's whole-list null comparison and MNG-6655's
//! `release` alias; before MNG-7644 of 3.8.7/3.9.0, which reorders `.X1` against `-X2` and
//! disagrees with 17 of the shared vectors Maven itself ordered): items split on `.`, `-` and digit/letter transitions, qualifiers
//! alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp, unknown
//! qualifiers after known ones in lexical order, trailing "null" items trimmed per list.

use std::cmp::Ordering;

use crate::num::BigNum;
use crate::{Scheme, VersionError};

/// A qualifier's comparable form: known ones by index, unknown ones after all known ones.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Qual {
    Known(u8),
    Unknown(Box<str>),
}

/// Index of the release qualifier ("" = ga = final = release).
const RELEASE: u8 = 5;

impl Qual {
    fn new(value: &str, followed_by_digit: bool) -> Qual {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            v => v,
        };
        match value {
            "alpha" => Qual::Known(0),
            "beta" => Qual::Known(1),
            "milestone" => Qual::Known(2),
            "rc" | "cr" => Qual::Known(3),
            "snapshot" => Qual::Known(4),
            "" | "ga" | "final" | "release" => Qual::Known(RELEASE),
            "sp" => Qual::Known(6),
            other => Qual::Unknown(other.into()),
        }
    }
}

impl Ord for Qual {
    /// Java compares `comparableQualifier` strings: "0".."6" for known, "7-<q>" for unknown.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Qual::Known(a), Qual::Known(b)) => a.cmp(b),
            (Qual::Known(_), Qual::Unknown(_)) => Ordering::Less,
            (Qual::Unknown(_), Qual::Known(_)) => Ordering::Greater,
            // String.compareTo orders by UTF-16 code unit.
            (Qual::Unknown(a), Qual::Unknown(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        }
    }
}
impl PartialOrd for Qual {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Int(BigNum),
    Str(Qual),
    List(Vec<Item>),
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.is_zero(),
            Item::Str(q) => *q == Qual::Known(RELEASE),
            Item::List(l) => l.is_empty(),
        }
    }

    /// `Item.compareTo(Item)`, with `None` for Java's `null` (padding).
    fn compare(&self, other: Option<&Item>) -> Ordering {
        use Ordering::*;
        match (self, other) {
            (Item::Int(n), None) => {
                if n.is_zero() {
                    Equal
                } else {
                    Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.cmp(b),
            (Item::Int(_), Some(_)) => Greater,
            (Item::Str(q), None) => q.cmp(&Qual::Known(RELEASE)),
            (Item::Str(a), Some(Item::Str(b))) => a.cmp(b),
            (Item::Str(_), Some(_)) => Less,
            (Item::List(l), None) => l
                .iter()
                .map(|i| i.compare(None))
                .find(|r| *r != Equal)
                .unwrap_or(Equal),
            (Item::List(_), Some(Item::Int(_))) => Less,
            (Item::List(_), Some(Item::Str(_))) => Greater,
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for k in 0..n {
        let r = match (a.get(k), b.get(k)) {
            (Some(l), r) => l.compare(r),
            (None, Some(r)) => r.compare(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

/// `ListItem.normalize()`: drop trailing null items, looking past non-null sub-lists.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// The current (innermost) list of the chain.
fn top(levels: &mut Vec<Vec<Item>>) -> &mut Vec<Item> {
    if levels.is_empty() {
        levels.push(Vec::new());
    }
    let n = levels.len() - 1;
    &mut levels[n]
}

fn parse_item(is_digit: bool, buf: &str) -> Item {
    if is_digit {
        Item::Int(BigNum::from_digits(buf.as_bytes()))
    } else {
        Item::Str(Qual::new(buf, false))
    }
}

/// A parsed Maven version: the normalized item tree of `ComparableVersion`.
#[derive(Clone, Debug)]
pub(crate) struct MavenVersion {
    items: Vec<Item>,
}

impl MavenVersion {
    /// `ComparableVersion.parseVersion`. Maven accepts any string; only the empty one is
    /// rejected here. Digits are ASCII digits (Java's `Character.isDigit` also accepts other
    /// Unicode decimal digits, which never occur in published Maven versions).
    pub(crate) fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Maven,
                input,
                "version string is empty",
            ));
        }
        let version = input.to_lowercase();
        let v = version.as_str();
        let b = v.as_bytes();
        // The chain of lists: each new list is appended to the current one and becomes current.
        let mut levels: Vec<Vec<Item>> = vec![Vec::new()];
        let mut is_digit = false;
        let mut start = 0usize;
        for (i, &c) in b.iter().enumerate() {
            if c == b'.' {
                let item = if i == start {
                    Item::Int(BigNum::default())
                } else {
                    parse_item(is_digit, &v[start..i])
                };
                top(&mut levels).push(item);
                start = i + 1;
            } else if c == b'-' {
                let item = if i == start {
                    Item::Int(BigNum::default())
                } else {
                    parse_item(is_digit, &v[start..i])
                };
                top(&mut levels).push(item);
                start = i + 1;
                levels.push(Vec::new());
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    top(&mut levels).push(Item::Str(Qual::new(&v[start..i], true)));
                    start = i;
                    levels.push(Vec::new());
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    top(&mut levels).push(parse_item(true, &v[start..i]));
                    start = i;
                    levels.push(Vec::new());
                }
                is_digit = false;
            }
        }
        if v.len() > start {
            top(&mut levels).push(parse_item(is_digit, &v[start..]));
        }
        // Normalize innermost first, attaching each list to its parent as Java's stack does.
        let mut inner: Option<Vec<Item>> = None;
        while let Some(mut list) = levels.pop() {
            if let Some(child) = inner.take() {
                list.push(Item::List(child));
            }
            normalize(&mut list);
            inner = Some(list);
        }
        Ok(MavenVersion {
            items: inner.unwrap_or_default(),
        })
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for MavenVersion {}
impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}
