//! A reader for the values of a Berkeley DB hash database, the format of rpm's
//! classic `/var/lib/rpm/Packages`. It reads only what rpm databases use: the
//! hash metadata page, hash pages with on-page (`H_KEYDATA`) and overflow
//! (`H_OFFPAGE`) items, and overflow page chains; either byte order.
//!
//! Layout (Berkeley DB `db_page.h`): every page starts with a 26-byte header
//! `lsn[8] pgno[4] prev_pgno[4] next_pgno[4] entries[2] hf_offset[2] level[1] type[1]`.
//! Page 0 is the metadata page: `magic` at 12 (0x061561 for hash), `pagesize`
//! at 20, `encrypt_alg` at 24, `last_pgno` at 32. A hash page holds `entries`
//! 16-bit item offsets after its header, alternating key and data; items are
//! laid out downwards from the end of the page, so item `i` ends where item
//! `i - 1` starts. Each item starts with its type byte. An `H_OFFPAGE` item is
//! `type[1] unused[3] pgno[4] tlen[4]`: the value lives in a chain of overflow
//! pages, each holding `hf_offset` bytes after its header.

use std::borrow::Cow;

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Why a file is not a Berkeley DB hash database this reader can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    #[error("file of {0} bytes is too short for a Berkeley DB metadata page")]
    TooShort(usize),
    #[error("not a Berkeley DB hash database (magic {0:#x})")]
    NotHash(u32),
    #[error("metadata page has type {0}, not hash metadata (8)")]
    NotHashMeta(u8),
    #[error("unsupported page size {0}")]
    PageSize(u32),
    #[error("database is encrypted (algorithm {0})")]
    Encrypted(u8),
    #[error("database uses page checksums, which this reader does not support")]
    Checksummed,
}

/// The values found in a hash database, and the items that could not be read.
#[derive(Debug, Default)]
pub struct Values<'a> {
    pub values: Vec<Cow<'a, [u8]>>,
    pub problems: Vec<String>,
}

#[derive(Clone, Copy)]
struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    pages: usize,
    big_endian: bool,
}

impl<'a> Db<'a> {
    fn page(&self, pgno: usize) -> Option<&'a [u8]> {
        if pgno >= self.pages {
            return None;
        }
        let start = pgno.checked_mul(self.page_size)?;
        self.bytes.get(start..start.checked_add(self.page_size)?)
    }

    fn u16(&self, b: &[u8], at: usize) -> Option<u16> {
        let s = b.get(at..at.checked_add(2)?)?;
        let a = [s[0], s[1]];
        Some(if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }

    fn u32(&self, b: &[u8], at: usize) -> Option<u32> {
        u32_at(b, at, self.big_endian)
    }

    /// Follows an overflow chain from `pgno`, collecting `tlen` bytes.
    fn overflow(&self, mut pgno: usize, tlen: usize) -> Result<Vec<u8>, String> {
        if tlen > self.bytes.len() {
            return Err(format!("overflow item claims {tlen} bytes, more than the file holds"));
        }
        let mut out = Vec::with_capacity(tlen);
        // A chain can visit each page at most once; more means a loop.
        for _ in 0..self.pages {
            let page = self
                .page(pgno)
                .ok_or_else(|| format!("overflow page {pgno} is outside the file"))?;
            if page.get(25) != Some(&P_OVERFLOW) {
                return Err(format!("page {pgno} in an overflow chain is not an overflow page"));
            }
            let len = usize::from(self.u16(page, 22).unwrap_or(0));
            let chunk = page
                .get(PAGE_HEADER..PAGE_HEADER + len)
                .ok_or_else(|| format!("overflow page {pgno} claims {len} bytes, more than a page"))?;
            out.extend_from_slice(chunk);
            if out.len() > tlen {
                return Err(format!("overflow chain holds more than the {tlen} bytes its item claims"));
            }
            let next = self.u32(page, 16).unwrap_or(0) as usize;
            if next == 0 {
                return if out.len() == tlen {
                    Ok(out)
                } else {
                    Err(format!("overflow chain ends after {} of {tlen} bytes", out.len()))
                };
            }
            pgno = next;
        }
        Err("overflow chain loops".to_string())
    }
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let a = [s[0], s[1], s[2], s[3]];
    Some(if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

/// One item of a hash page: its type byte and the bytes after it.
fn item<'p>(db: &Db<'_>, page: &'p [u8], entries: usize, i: usize) -> Option<(u8, &'p [u8])> {
    let off = usize::from(db.u16(page, PAGE_HEADER + 2 * i)?);
    let end = if i == 0 {
        page.len()
    } else {
        usize::from(db.u16(page, PAGE_HEADER + 2 * (i - 1))?)
    };
    if off < PAGE_HEADER + 2 * entries || off >= end {
        return None;
    }
    let bytes = page.get(off..end)?;
    Some((*bytes.first()?, bytes.get(1..)?))
}

/// Every data value of the hash database in `bytes`, in page order. Keys are
/// read only to skip rpm's record 0 (the header instance counter).
pub fn values(bytes: &[u8]) -> Result<Values<'_>, BdbError> {
    if bytes.len() < 512 {
        return Err(BdbError::TooShort(bytes.len()));
    }
    let big_endian = match (u32_at(bytes, 12, false), u32_at(bytes, 12, true)) {
        (Some(HASH_MAGIC), _) => false,
        (_, Some(HASH_MAGIC)) => true,
        (m, _) => return Err(BdbError::NotHash(m.unwrap_or(0))),
    };
    let meta_type = bytes.get(25).copied().unwrap_or(0);
    if meta_type != P_HASHMETA {
        return Err(BdbError::NotHashMeta(meta_type));
    }
    let page_size = u32_at(bytes, 20, big_endian).unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(BdbError::PageSize(page_size));
    }
    let encrypt = bytes.get(24).copied().unwrap_or(0);
    if encrypt != 0 {
        return Err(BdbError::Encrypted(encrypt));
    }
    // DBMETA_CHKSUM: page layouts shift to make room for the checksum.
    if bytes.get(26).copied().unwrap_or(0) & 0x01 != 0 {
        return Err(BdbError::Checksummed);
    }
    let page_size = page_size as usize;
    let last_pgno = u32_at(bytes, 32, big_endian).unwrap_or(0) as usize;
    let pages = (bytes.len() / page_size).min(last_pgno.saturating_add(1));
    let db = Db {
        bytes,
        page_size,
        pages,
        big_endian,
    };
    let mut out = Values::default();
    for pgno in 1..pages {
        let Some(page) = db.page(pgno) else { break };
        if !matches!(page.get(25), Some(&(P_HASH | P_HASH_UNSORTED))) {
            continue;
        }
        let entries = usize::from(db.u16(page, 20).unwrap_or(0));
        if PAGE_HEADER + 2 * entries > page_size {
            out.problems.push(format!("hash page {pgno} claims {entries} items, more than fit"));
            continue;
        }
        for pair in 0..entries / 2 {
            let (k, d) = (2 * pair, 2 * pair + 1);
            let (Some(key), Some(data)) = (item(&db, page, entries, k), item(&db, page, entries, d))
            else {
                out.problems.push(format!("hash page {pgno}: item {d} lies outside the page"));
                continue;
            };
            if key == (H_KEYDATA, &[0u8; 4][..]) {
                continue;
            }
            match data {
                (H_KEYDATA, value) => out.values.push(Cow::Borrowed(value)),
                (H_OFFPAGE, rest) => {
                    let (Some(next), Some(tlen)) = (db.u32(rest, 3), db.u32(rest, 7)) else {
                        out.problems.push(format!("hash page {pgno}: overflow item {d} is truncated"));
                        continue;
                    };
                    match db.overflow(next as usize, tlen as usize) {
                        Ok(v) => out.values.push(Cow::Owned(v)),
                        Err(e) => out.problems.push(format!("hash page {pgno}, item {d}: {e}")),
                    }
                }
                (t, _) => out
                    .problems
                    .push(format!("hash page {pgno}: item {d} has unsupported type {t}")),
            }
        }
    }
    Ok(out)
}
