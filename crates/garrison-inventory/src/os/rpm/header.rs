//! The rpm header blob every rpm database stores per package
//! (https://rpm-software-management.github.io/rpm/manual/format_header.html):
//! a big-endian index of 16-byte entries followed by a data store.
//!
//! ```text
//! u32 il (entries) | u32 dl (data bytes) | il x { i32 tag, u32 type, i32 offset, u32 count } | dl bytes
//! ```
//!
//! Every read is bounds-checked against the blob; nothing here can panic.

pub const TAG_NAME: u32 = 1000;
pub const TAG_VERSION: u32 = 1001;
pub const TAG_RELEASE: u32 = 1002;
pub const TAG_EPOCH: u32 = 1003;
pub const TAG_VENDOR: u32 = 1011;
pub const TAG_LICENSE: u32 = 1014;
pub const TAG_ARCH: u32 = 1022;
pub const TAG_SOURCERPM: u32 = 1044;
pub const TAG_MODULARITYLABEL: u32 = 5096;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm itself refuses headers with more entries or data than this (`hdrchkTags`, `hdrchkData`).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;

/// The magic that starts a header inside an `.rpm` file (the databases store it without).
const HEADER_MAGIC: [u8; 3] = [0x8e, 0xad, 0xe8];

/// Why a blob is not an rpm header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header blob of {0} bytes is shorter than its 8-byte preamble")]
    TooShort(usize),
    #[error("header claims {0} index entries (rpm allows at most 65535)")]
    TooManyEntries(u32),
    #[error("header claims {0} bytes of data (rpm allows at most 256 MiB)")]
    TooMuchData(u32),
    #[error("header needs {need} bytes for {il} entries and {dl} data bytes but the blob has {have}")]
    Truncated {
        il: u32,
        dl: u32,
        need: usize,
        have: usize,
    },
}

/// A parsed header: the index and the data store, borrowed from the blob.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

/// One index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

impl<'a> Header<'a> {
    /// Reads the preamble and checks that the index and data fit in the blob.
    /// Accepts the bare form stored in databases and the form with the 8-byte
    /// magic prefix found in `.rpm` files.
    pub fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let blob = match blob {
            [a, b, c, _, _, _, _, _, rest @ ..] if [*a, *b, *c] == HEADER_MAGIC => rest,
            _ => blob,
        };
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(HeaderError::TooShort(blob.len()));
        };
        if il > MAX_ENTRIES {
            return Err(HeaderError::TooManyEntries(il));
        }
        if dl > MAX_DATA {
            return Err(HeaderError::TooMuchData(dl));
        }
        // Both bounded above, so this cannot overflow.
        let index_len = il as usize * 16;
        let need = 8 + index_len + dl as usize;
        if blob.len() < need {
            return Err(HeaderError::Truncated {
                il,
                dl,
                need,
                have: blob.len(),
            });
        }
        Ok(Header {
            index: blob.get(8..8 + index_len).unwrap_or_default(),
            data: blob.get(8 + index_len..need).unwrap_or_default(),
        })
    }

    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.index.chunks_exact(16).map(|e| Entry {
            tag: be32(e, 0).unwrap_or(0),
            ty: be32(e, 4).unwrap_or(0),
            offset: be32(e, 8).unwrap_or(u32::MAX),
            count: be32(e, 12).unwrap_or(0),
        })
    }

    fn find(&self, tag: u32) -> Option<Entry> {
        self.entries().find(|e| e.tag == tag)
    }

    /// The bytes of a string tag (the first string of an array or i18n table),
    /// without its NUL; `None` when absent, of another type, or out of bounds.
    pub fn string_bytes(&self, tag: u32) -> Option<&'a [u8]> {
        let e = self.find(tag)?;
        if !matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || e.count == 0 {
            return None;
        }
        let rest = self.data.get(usize::try_from(e.offset).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        rest.get(..end)
    }

    /// A string tag as text (lossy for non-UTF-8 bytes).
    pub fn string(&self, tag: u32) -> Option<String> {
        self.string_bytes(tag)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The first value of an INT32 tag.
    pub fn int32(&self, tag: u32) -> Option<u32> {
        let e = self.find(tag)?;
        if e.ty != TYPE_INT32 || e.count == 0 {
            return None;
        }
        be32(self.data, usize::try_from(e.offset).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header blob from (tag, type, data) triples.
    pub(crate) fn build(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, bytes) in entries {
            if *ty == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            data.extend_from_slice(bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    #[test]
    fn reads_tags() {
        let blob = build(&[
            (TAG_NAME, TYPE_STRING, b"bash\0"),
            (TAG_EPOCH, TYPE_INT32, &7u32.to_be_bytes()),
            (TAG_LICENSE, TYPE_I18NSTRING, b"GPLv3+\0"),
            (TAG_VENDOR, TYPE_STRING, b"no-nul"),
        ]);
        let h = Header::parse(&blob).unwrap();
        assert_eq!(h.string(TAG_NAME).as_deref(), Some("bash"));
        assert_eq!(h.int32(TAG_EPOCH), Some(7));
        assert_eq!(h.string(TAG_LICENSE).as_deref(), Some("GPLv3+"));
        assert_eq!(h.string(TAG_VENDOR), None, "string without NUL");
        assert_eq!(h.int32(TAG_NAME), None, "wrong type");
        assert_eq!(h.string(TAG_ARCH), None, "absent");
    }

    #[test]
    fn rejects_bad_preambles() {
        assert_eq!(Header::parse(&[0, 0, 0]).unwrap_err(), HeaderError::TooShort(3));
        let huge = [0, 1, 0, 0, 0, 0, 0, 0];
        assert!(matches!(Header::parse(&huge), Err(HeaderError::TooManyEntries(65536))));
        let short = [0, 0, 0, 2, 0, 0, 0, 4, 1, 2, 3];
        assert!(matches!(Header::parse(&short), Err(HeaderError::Truncated { need: 44, .. })));
        let bad_offset = {
            let mut b = build(&[(TAG_NAME, TYPE_STRING, b"x\0")]);
            b[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
            b
        };
        assert_eq!(Header::parse(&bad_offset).unwrap().string(TAG_NAME), None);
    }
}
