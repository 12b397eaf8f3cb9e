//! A reader for rpm's own "ndb" package store, `Packages.db` (rpm
//! `lib/backend/ndb/rpmpkg.c`; used by openSUSE and SLE). All numbers are
//! little-endian.
//!
//! ```text
//! header (32 bytes): "RpmP" version=0 generation slotnpages nextpkgidx ...
//! slots (16 bytes each, from byte 32 to slotnpages * 4096): "Slot" pkgidx blkoff blkcnt
//!     (blkoff 0 = free slot; offsets and counts are in 16-byte blocks)
//! blob at blkoff * 16: "BlbS" pkgidx timestamp bloblen | bloblen bytes | zero padding
//!     | adler32 bloblen "BlbE"   (blkcnt * 16 bytes in all; the adler32 covers
//!     everything before it)
//! ```

const MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const PAGE: usize = 4096;
const BLK: usize = 16;
const HEAD: usize = 16;
const TAIL: usize = 12;

/// Why a file is not an ndb package store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    #[error("file of {0} bytes is too short for an ndb header")]
    TooShort(usize),
    #[error("not an rpm ndb database (magic {0:#x})")]
    BadMagic(u32),
    #[error("unsupported ndb version {0}")]
    Version(u32),
    #[error("slot {0} has a bad magic; the slot table is corrupt")]
    BadSlot(usize),
}

/// The package blobs found, and the slots whose blob could not be read.
#[derive(Debug, Default)]
pub struct Blobs<'a> {
    pub blobs: Vec<&'a [u8]>,
    pub problems: Vec<String>,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// RFC 1950 adler-32.
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Every package blob in the store, in slot order.
pub fn blobs(bytes: &[u8]) -> Result<Blobs<'_>, NdbError> {
    let (Some(magic), Some(version), Some(slot_pages)) =
        (le32(bytes, 0), le32(bytes, 4), le32(bytes, 12))
    else {
        return Err(NdbError::TooShort(bytes.len()));
    };
    if magic != MAGIC {
        return Err(NdbError::BadMagic(magic));
    }
    if version != 0 {
        return Err(NdbError::Version(version));
    }
    let mut out = Blobs::default();
    let slot_end = (slot_pages as usize).saturating_mul(PAGE);
    if slot_end > bytes.len() {
        out.problems.push(format!(
            "header claims {slot_pages} slot pages but the file is only {} bytes",
            bytes.len()
        ));
    }
    let slot_end = slot_end.min(bytes.len() - bytes.len() % BLK);
    let mut seen = std::collections::HashSet::new();
    for (i, slot) in bytes
        .get(32..slot_end)
        .unwrap_or_default()
        .chunks_exact(BLK)
        .enumerate()
    {
        let slotno = i + 2;
        let (Some(sm), Some(pkgidx), Some(blkoff), Some(blkcnt)) =
            (le32(slot, 0), le32(slot, 4), le32(slot, 8), le32(slot, 12))
        else {
            break;
        };
        if sm != SLOT_MAGIC {
            return Err(NdbError::BadSlot(slotno));
        }
        if blkoff == 0 {
            continue;
        }
        if !seen.insert(blkoff) {
            out.problems.push(format!(
                "slot {slotno} points at a blob another slot already holds"
            ));
            continue;
        }
        match blob(bytes, pkgidx, blkoff as usize, blkcnt as usize) {
            Ok(b) => out.blobs.push(b),
            Err(e) => out
                .problems
                .push(format!("slot {slotno} (package index {pkgidx}): {e}")),
        }
    }
    Ok(out)
}

fn blob(bytes: &[u8], pkgidx: u32, blkoff: usize, blkcnt: usize) -> Result<&[u8], String> {
    let start = blkoff.checked_mul(BLK).ok_or("block offset overflows")?;
    let len = blkcnt.checked_mul(BLK).ok_or("block count overflows")?;
    let region = start
        .checked_add(len)
        .and_then(|end| bytes.get(start..end))
        .ok_or_else(|| format!("blob at byte {start} of {len} bytes lies outside the file"))?;
    if len < HEAD + TAIL {
        return Err(format!("blob of {len} bytes is too small"));
    }
    if le32(region, 0) != Some(BLOB_HEAD_MAGIC) {
        return Err("blob has a bad head magic".into());
    }
    if le32(region, 4) != Some(pkgidx) {
        return Err("blob belongs to another package index".into());
    }
    let bloblen = le32(region, 12).unwrap_or(0) as usize;
    if HEAD
        .saturating_add(bloblen)
        .saturating_add(TAIL)
        .div_ceil(BLK)
        != blkcnt
    {
        return Err(format!(
            "blob length {bloblen} does not match its {blkcnt} blocks"
        ));
    }
    let tail = len - TAIL;
    let (Some(adler), Some(tail_len), Some(tail_magic)) = (
        le32(region, tail),
        le32(region, tail + 4),
        le32(region, tail + 8),
    ) else {
        return Err("blob tail is truncated".into());
    };
    if tail_magic != BLOB_TAIL_MAGIC || tail_len as usize != bloblen {
        return Err("blob has a bad tail".into());
    }
    let covered = region.get(..tail).unwrap_or_default();
    if adler32(covered) != adler {
        return Err("blob checksum (adler-32) mismatch".into());
    }
    region
        .get(HEAD..HEAD + bloblen)
        .ok_or_else(|| "blob data lies outside its blocks".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_vector() {
        // RFC 1950 / zlib: adler32("Wikipedia") = 0x11E60398.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(blobs(b"RpmP").unwrap_err(), NdbError::TooShort(4));
        assert!(matches!(blobs(&[0u8; 64]), Err(NdbError::BadMagic(0))));
    }
}
