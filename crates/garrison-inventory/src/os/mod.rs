//! OS package databases (dpkg, apk, rpm) and the `os-release` file that names the distro.
//!
//! Every parser here has [`ParserClass::OsDatabase`](crate::ParserClass::OsDatabase):
//! the catalog attributes each package to the first layer whose copy of the
//! database lists it at the same version.

mod apk;
pub(crate) mod dpkg;
mod release;
pub mod rpm;

pub use apk::ApkInstalled;
pub use dpkg::DpkgStatus;
pub use release::parse_os_release;
pub use rpm::{RpmBdb, RpmNdb, RpmSqlite};

use crate::Parser;
use garrison_model::Warning;

pub fn parsers() -> Vec<Box<dyn Parser>> {
    vec![
        Box::new(DpkgStatus),
        Box::new(ApkInstalled),
        Box::new(RpmSqlite),
        Box::new(RpmBdb),
        Box::new(RpmNdb),
    ]
}

/// Most warnings one database file may add; a corrupt file must not flood the report.
const MAX_WARNINGS_PER_FILE: usize = 50;

/// Collects per-record warnings for one file, capped at [`MAX_WARNINGS_PER_FILE`].
#[derive(Debug)]
pub(crate) struct Warnings<'a> {
    path: &'a str,
    list: Vec<Warning>,
    dropped: usize,
}

impl<'a> Warnings<'a> {
    pub(crate) fn new(path: &'a str) -> Warnings<'a> {
        Warnings {
            path,
            list: Vec::new(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, message: impl Into<String>) {
        if self.list.len() < MAX_WARNINGS_PER_FILE {
            self.list.push(Warning::new(self.path, message));
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<Warning> {
        if self.dropped > 0 {
            self.list.push(Warning::new(
                self.path,
                format!("{} more problems in this file not shown", self.dropped),
            ));
        }
        self.list
    }
}

/// The text of a field value: UTF-8 where it is, lossy where it is not,
/// surrounding whitespace removed.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(trim(bytes)).into_owned()
}

/// `bytes` without leading and trailing ASCII whitespace (including `\r`).
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// Splits `content` into lines on `\n`, without the line ends (a trailing `\r` stays;
/// callers trim). Allocation-free; `memchr` finds the line ends.
pub(crate) fn lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(content);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The position of the first `:` in a line.
pub(crate) fn colon(line: &[u8]) -> Option<usize> {
    memchr::memchr(b':', line)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_split_like_slice_split() {
        for input in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nb",
            b"a\r\n\nb\n\n",
            b"\n\nx",
        ] {
            let ours: Vec<&[u8]> = super::lines(input).collect();
            let std: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            assert_eq!(ours, std, "{input:?}");
        }
    }
}
