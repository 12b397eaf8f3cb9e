//! Every version parser and comparator: parse + compare must never panic, and the order
//! must be reflexive and antisymmetric. The first byte picks the scheme; the rest is two
//! versions separated by the first NUL byte (or one version compared with itself).
#![no_main]

use garrison_version::{parse, Scheme};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let scheme = Scheme::ALL[usize::from(selector) % Scheme::ALL.len()];
    let (a, b) = match rest.iter().position(|&c| c == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, rest),
    };
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return;
    };
    let va = parse(scheme, a);
    let vb = parse(scheme, b);
    if let Ok(va) = &va {
        assert_eq!(va.cmp(va), std::cmp::Ordering::Equal, "{scheme}: {a:?} != itself");
        let _ = va.to_string();
    }
    if let (Ok(va), Ok(vb)) = (&va, &vb) {
        let ab = va.cmp(vb);
        let ba = vb.cmp(va);
        assert_eq!(ab, ba.reverse(), "{scheme}: {a:?} vs {b:?} is not antisymmetric");
        assert_eq!(garrison_version::compare(scheme, a, b).ok(), Some(ab));
    }
    if let Err(e) = &va {
        let _ = e.to_string();
    }
});
