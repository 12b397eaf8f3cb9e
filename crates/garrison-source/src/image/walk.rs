//! The layer walker: streams each layer's tar in order and applies OCI whiteouts.
//!
//! Per layer: the stored blob is hashed (sha256) as it streams past, its
//! compression is detected by magic bytes (gzip, zstd or plain tar), the
//! decompressed bytes are counted against [`Limits::max_layer_bytes`], and the
//! tar entries are handed to the visitor one by one. Nothing is written to
//! disk and no layer is held in memory. Whiteouts (`.wh.NAME`,
//! `.wh..wh..opq`) become [`Visitor::remove`] and [`Visitor::clear_dir`] calls
//! and are never passed on as entries. Entry paths are made absolute and
//! normalized; a `..` that would climb above the root stops at the root.
//!
//! Two guards keep hostile layers cheap: the decompressed byte count is capped
//! per layer, and a light tar-structure tracker refuses GNU long-name and pax
//! metadata entries over 1 MiB before the `tar` crate would buffer them.
//! Layers of 4 MiB and more are hashed on a helper thread so that hashing
//! overlaps decompression.

use super::oci::Digest;
use super::ImageSource;
use crate::{EntryKind, EntryMeta, Limits, SourceError, Visitor, Want};
use garrison_model::{LayerInfo, Warning};
use sha2::{Digest as _, Sha256};
use std::cell::Cell;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufReader, Read};
use std::sync::mpsc;
use std::thread;

/// Read buffer between the stored blob and the decompressor.
const STORED_BUFFER: usize = 256 * 1024;

/// Walks every layer of `image` bottom first, calling `visitor` for each entry.
///
/// Problems with single entries (a `..` above the root, a hard link to a
/// missing target, a file over [`Limits::max_file_bytes`]) are reported as
/// warnings and the walk goes on. A layer that cannot be read to its end
/// (truncated or corrupt), that decompresses past [`Limits::max_layer_bytes`],
/// or whose stored bytes do not match its digest ends the walk with an error
/// naming the image and the layer.
pub fn walk_layers(
    image: &mut dyn ImageSource,
    visitor: &mut dyn Visitor,
    limits: &Limits,
) -> Result<(), SourceError> {
    let image_name = image.target().name;
    let layers: Vec<LayerInfo> = image.layers().to_vec();
    let mut seen = SeenPaths::new();
    for (index, layer) in layers.iter().enumerate() {
        visitor.layer_start(index, layer);
        let stored = image.open_layer(index)?;
        let mut walker = LayerWalk {
            image: &image_name,
            index,
            layer,
            limits,
            seen: &mut seen,
            path: String::with_capacity(256),
            link: String::with_capacity(256),
        };
        walker.run(stored, visitor)?;
    }
    Ok(())
}

/// The paths seen so far (as 64-bit keyed hashes, 8 bytes each), so that a
/// hard link can be checked against a target in this or a lower layer. The
/// hasher's keys are random per run, so colliding paths cannot be crafted.
struct SeenPaths {
    hashes: HashSet<u64, NoHash>,
    state: RandomState,
}

impl SeenPaths {
    fn new() -> SeenPaths {
        SeenPaths {
            hashes: HashSet::with_capacity_and_hasher(4096, NoHash),
            state: RandomState::new(),
        }
    }
    fn insert(&mut self, path: &str) {
        let h = self.state.hash_one(path);
        self.hashes.insert(h);
    }
    fn remove(&mut self, path: &str) {
        let h = self.state.hash_one(path);
        self.hashes.remove(&h);
    }
    fn contains(&self, path: &str) -> bool {
        self.hashes.contains(&self.state.hash_one(path))
    }
}

/// The keys of [`SeenPaths`] are already hashes.
#[derive(Clone, Copy, Default)]
struct NoHash;

impl BuildHasher for NoHash {
    type Hasher = NoHasher;
    fn build_hasher(&self) -> NoHasher {
        NoHasher(0)
    }
}

#[derive(Default)]
struct NoHasher(u64);

impl std::hash::Hasher for NoHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Stored layers at least this large are hashed on a helper thread, so
/// that hashing overlaps decompression and tar parsing.
const THREADED_HASH_FROM: u64 = 4 << 20;

/// The sha256 of a layer's stored bytes: computed inline, or on a helper
/// thread fed with copies of the chunks (a bounded queue, buffers reused).
enum LayerHasher<'scope> {
    Inline(Sha256),
    Threaded {
        chunks: Option<mpsc::SyncSender<Vec<u8>>>,
        spare: mpsc::Receiver<Vec<u8>>,
        done: Option<thread::ScopedJoinHandle<'scope, Sha256>>,
    },
}

impl<'scope> LayerHasher<'scope> {
    fn inline(prefix: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(prefix);
        LayerHasher::Inline(hasher)
    }

    fn threaded<'env>(scope: &'scope thread::Scope<'scope, 'env>, prefix: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(prefix);
        let (chunks, incoming) = mpsc::sync_channel::<Vec<u8>>(8);
        let (give_back, spare) = mpsc::channel::<Vec<u8>>();
        let done = thread::Builder::new()
            .name("layer-hash".into())
            .spawn_scoped(scope, move || {
                for chunk in incoming {
                    hasher.update(&chunk);
                    // The walker may have finished; a lost buffer is fine.
                    let _ = give_back.send(chunk);
                }
                hasher
            });
        match done {
            Ok(done) => LayerHasher::Threaded {
                chunks: Some(chunks),
                spare,
                done: Some(done),
            },
            // No thread to be had: hash inline.
            Err(_) => LayerHasher::inline(prefix),
        }
    }

    fn update(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            LayerHasher::Inline(h) => {
                h.update(data);
                Ok(())
            }
            LayerHasher::Threaded { chunks, spare, .. } => {
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.clear();
                buf.extend_from_slice(data);
                chunks
                    .as_ref()
                    .and_then(|c| c.send(buf).ok())
                    .ok_or_else(|| io::Error::other("the layer hashing thread stopped"))
            }
        }
    }

    fn finish(&mut self) -> io::Result<Sha256> {
        match self {
            LayerHasher::Inline(h) => Ok(std::mem::take(h)),
            LayerHasher::Threaded { chunks, done, .. } => {
                drop(chunks.take());
                done.take()
                    .and_then(|d| d.join().ok())
                    .ok_or_else(|| io::Error::other("the layer hashing thread failed"))
            }
        }
    }
}

/// Hashes and counts the stored bytes of a layer as they are read.
struct Hashing<'scope, R> {
    inner: R,
    hasher: LayerHasher<'scope>,
    bytes: u64,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default())?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The stored bytes: the magic-number prefix read for detection, then the rest.
type Stored<'p, R> = BufReader<io::Chain<&'p [u8], R>>;

/// A layer's decompressed tar stream. One lives per layer, so the size
/// difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Decompressed<'p, R: Read> {
    Plain(Stored<'p, R>),
    Gzip(flate2::bufread::MultiGzDecoder<Stored<'p, R>>),
    Zstd(zstd::stream::read::Decoder<'static, Stored<'p, R>>),
}

impl<'p, R: Read> Decompressed<'p, R> {
    fn new(stored: Stored<'p, R>, magic: &[u8]) -> io::Result<Self> {
        Ok(if magic.starts_with(&[0x1f, 0x8b]) {
            Decompressed::Gzip(flate2::bufread::MultiGzDecoder::new(stored))
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Decompressed::Zstd(zstd::stream::read::Decoder::with_buffer(stored)?)
        } else {
            Decompressed::Plain(stored)
        })
    }

    fn compression(&self) -> &'static str {
        match self {
            Decompressed::Plain(_) => "tar",
            Decompressed::Gzip(_) => "gzip",
            Decompressed::Zstd(_) => "zstd",
        }
    }

    fn stored(&mut self) -> &mut Stored<'p, R> {
        match self {
            Decompressed::Plain(s) => s,
            Decompressed::Gzip(d) => d.get_mut(),
            Decompressed::Zstd(d) => d.get_mut(),
        }
    }
}

impl<R: Read> Read for Decompressed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decompressed::Plain(s) => s.read(buf),
            Decompressed::Gzip(d) => d.read(buf),
            Decompressed::Zstd(d) => d.read(buf),
        }
    }
}

/// Counts decompressed bytes and fails once they pass the layer limit,
/// setting `tripped` so the failure is reported as a decompression bomb.
struct Capped<'c, R> {
    inner: R,
    left: u64,
    tripped: &'c Cell<bool>,
    total: u64,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.tripped.set(true);
            self.left = 0;
            return Err(io::Error::other(
                "the layer's decompressed size limit was reached",
            ));
        }
        self.left -= n as u64;
        self.total += n as u64;
        Ok(n)
    }
}

/// Largest tar metadata entry (GNU long name or link, pax extended header)
/// accepted. The `tar` crate reads these whole into memory, so without this
/// cap a few KiB of gzip could make it allocate gigabytes.
const MAX_TAR_METADATA: u64 = 1 << 20;

/// Where [`TarGuard`] is in the tar stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GuardState {
    /// Collecting a 512-byte header block.
    Header,
    /// Collecting a GNU sparse extension block.
    SparseExt,
    /// Passing over `skip` bytes of entry data.
    Skip,
    /// Collecting the body of a pax extended header (bounded).
    PaxBody,
    /// After the end-of-archive block (or a header the `tar` crate will
    /// reject): nothing more to check.
    Done,
}

/// Follows the tar structure as the bytes pass to the `tar` crate, mirroring
/// how it sizes entries (pax `size` overrides, GNU sparse extension blocks),
/// and fails the stream before a metadata entry larger than
/// [`MAX_TAR_METADATA`] can be read into memory.
struct TarGuard<R> {
    inner: R,
    state: GuardState,
    block: [u8; 512],
    fill: usize,
    skip: u64,
    /// Data bytes after the pax body (padding to the block).
    pax_pad: u64,
    pax_left: u64,
    pax_body: Vec<u8>,
    /// The `size` of a pax header waiting for its entry.
    pending_pax_size: Option<u64>,
}

impl<R> TarGuard<R> {
    fn new(inner: R) -> Self {
        TarGuard {
            inner,
            state: GuardState::Header,
            block: [0; 512],
            fill: 0,
            skip: 0,
            pax_pad: 0,
            pax_left: 0,
            pax_body: Vec::new(),
            pending_pax_size: None,
        }
    }

    fn observe(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match self.state {
                GuardState::Done => return Ok(()),
                GuardState::Skip => {
                    let k = data
                        .len()
                        .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                    data = data.get(k..).unwrap_or_default();
                    self.skip -= k as u64;
                    if self.skip == 0 {
                        self.state = GuardState::Header;
                    }
                }
                GuardState::PaxBody => {
                    let k = data
                        .len()
                        .min(usize::try_from(self.pax_left).unwrap_or(usize::MAX));
                    self.pax_body
                        .extend_from_slice(data.get(..k).unwrap_or_default());
                    data = data.get(k..).unwrap_or_default();
                    self.pax_left -= k as u64;
                    if self.pax_left == 0 {
                        self.pending_pax_size = pax_size(&self.pax_body);
                        self.pax_body.clear();
                        self.skip_then_header(self.pax_pad);
                    }
                }
                GuardState::Header | GuardState::SparseExt => {
                    let k = data.len().min(512 - self.fill);
                    if let (Some(dst), Some(src)) =
                        (self.block.get_mut(self.fill..self.fill + k), data.get(..k))
                    {
                        dst.copy_from_slice(src);
                    }
                    data = data.get(k..).unwrap_or_default();
                    self.fill += k;
                    if self.fill == 512 {
                        self.fill = 0;
                        if self.state == GuardState::Header {
                            self.on_header()?;
                        } else if self.block.get(504) != Some(&1) {
                            self.skip_then_header(self.skip);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn skip_then_header(&mut self, n: u64) {
        self.skip = n;
        self.state = if n == 0 {
            GuardState::Header
        } else {
            GuardState::Skip
        };
    }

    fn on_header(&mut self) -> io::Result<()> {
        if self.block.iter().all(|b| *b == 0) {
            self.state = GuardState::Done;
            return Ok(());
        }
        let header = tar::Header::from_byte_slice(&self.block);
        let Ok(header_size) = header.entry_size() else {
            self.state = GuardState::Done;
            return Ok(());
        };
        let t = header.entry_type();
        let recognized = header.as_gnu().is_some() || header.as_ustar().is_some();
        let metadata = t.is_gnu_longname() || t.is_gnu_longlink() || t.is_pax_local_extensions();
        let padded = |n: u64| n.checked_add(511).map(|n| n & !511);
        if recognized && metadata {
            if header_size > MAX_TAR_METADATA {
                let what = if t.is_pax_local_extensions() {
                    "pax extended header"
                } else {
                    "GNU long name"
                };
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "a {what} entry of {header_size} bytes is larger than the {MAX_TAR_METADATA} bytes allowed; refusing it as hostile"
                    ),
                ));
            }
            let Some(total) = padded(header_size) else {
                self.state = GuardState::Done;
                return Ok(());
            };
            if t.is_pax_local_extensions() && header_size > 0 {
                self.pax_left = header_size;
                self.pax_pad = total - header_size;
                self.state = GuardState::PaxBody;
            } else {
                self.skip_then_header(total);
            }
            return Ok(());
        }
        let extension_type = metadata || t.is_pax_global_extensions();
        let pax = self.pending_pax_size.take();
        let size = if extension_type {
            header_size
        } else {
            pax.unwrap_or(header_size)
        };
        let Some(total) = padded(size) else {
            self.state = GuardState::Done;
            return Ok(());
        };
        self.skip = total;
        if t.is_gnu_sparse() && header.as_gnu().is_some_and(|g| g.is_extended()) {
            self.state = GuardState::SparseExt;
        } else {
            self.skip_then_header(total);
        }
        Ok(())
    }
}

/// The `size` record of a pax extended header, read as the `tar` crate reads it.
fn pax_size(body: &[u8]) -> Option<u64> {
    for ext in tar::PaxExtensions::new(body) {
        let ext = ext.ok()?;
        if ext.key() == Ok("size") {
            return ext.value().ok()?.parse().ok();
        }
    }
    None
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(buf.get(..n).unwrap_or_default())?;
        Ok(n)
    }
}

/// An entry's content as given to a visitor: exactly `left` bytes, or an
/// error naming the entry when the stream ends early or fails. Remembers the
/// failure so the walker can stop the layer.
struct Content<'e, R> {
    inner: &'e mut R,
    left: u64,
    entry: &'e str,
    failed: Option<String>,
}

impl<R: Read> Read for Content<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let slice = buf.get_mut(..max).unwrap_or_default();
        match self.inner.read(slice) {
            Ok(0) => {
                let msg = format!(
                    "{}: content ends {} bytes early (truncated layer)",
                    self.entry, self.left
                );
                self.failed = Some(msg.clone());
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg))
            }
            Ok(n) => {
                self.left -= n as u64;
                Ok(n)
            }
            Err(e) => {
                let msg = format!("{}: {e}", self.entry);
                self.failed = Some(msg.clone());
                Err(io::Error::new(e.kind(), msg))
            }
        }
    }
}

/// Walking one layer.
struct LayerWalk<'a> {
    image: &'a str,
    index: usize,
    layer: &'a LayerInfo,
    limits: &'a Limits,
    seen: &'a mut SeenPaths,
    /// Reused buffers for the normalized entry path and link target.
    path: String,
    link: String,
}

impl LayerWalk<'_> {
    fn run(
        &mut self,
        stored: Box<dyn Read + '_>,
        visitor: &mut dyn Visitor,
    ) -> Result<(), SourceError> {
        thread::scope(|scope| self.run_in(scope, stored, visitor))
    }

    fn run_in<'scope>(
        &mut self,
        scope: &'scope thread::Scope<'scope, '_>,
        mut stored: Box<dyn Read + '_>,
        visitor: &mut dyn Visitor,
    ) -> Result<(), SourceError> {
        let expected = Digest::parse(&self.layer.digest).ok();
        if expected.is_none() {
            visitor.warning(self.warning(
                None,
                format!(
                    "layer digest {:?} is not a sha256 digest; the layer is read without verification",
                    self.layer.digest
                ),
            ));
        }

        // Magic bytes, read with a loop because a reader may return short reads.
        let mut magic = [0u8; 4];
        let mut have = 0;
        while have < magic.len() {
            let rest = magic.get_mut(have..).unwrap_or_default();
            match stored.read(rest) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.corrupt(&e)),
            }
        }
        let magic = magic.get(..have).unwrap_or_default();
        let threaded = self.layer.size.is_none_or(|n| n >= THREADED_HASH_FROM);
        let hasher = if threaded {
            LayerHasher::threaded(scope, magic)
        } else {
            LayerHasher::inline(magic)
        };
        let hashing = Hashing {
            inner: stored,
            hasher,
            bytes: have as u64,
        };
        // The prefix was hashed above, so the chain re-reads it unhashed.
        let chained = magic.chain(hashing);
        let buffered = BufReader::with_capacity(STORED_BUFFER, chained);
        let decompressed = Decompressed::new(buffered, magic).map_err(|e| self.corrupt(&e))?;
        let compression = decompressed.compression();
        let tripped = Cell::new(false);
        let capped = Capped {
            inner: decompressed,
            left: self.limits.max_layer_bytes,
            tripped: &tripped,
            total: 0,
        };
        let mut archive = tar::Archive::new(TarGuard::new(capped));
        self.entries(&mut archive, visitor, &tripped, compression)?;

        // Read what follows the tar's end marker so that the decompressor
        // checks its trailer and the whole blob is hashed.
        let mut capped = archive.into_inner().inner;
        if let Err(e) = io::copy(&mut capped, &mut io::sink()) {
            if tripped.get() {
                return Err(self.bomb());
            }
            return Err(self.corrupt_as(&e, compression));
        }
        let stored = capped.inner.stored();
        io::copy(stored, &mut io::sink()).map_err(|e| self.corrupt(&e))?;
        let hashing = &mut stored.get_mut().get_mut().1;
        let hash = hashing.hasher.finish().map_err(|e| self.corrupt(&e))?;
        let actual = Digest::from_sha256(&hash.finalize());
        if let Some(expected) = expected {
            if actual != expected {
                return Err(SourceError::DigestMismatch {
                    input: format!("{} layer {}", self.image, self.index),
                    digest: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        tracing::debug!(
            image = self.image,
            layer = self.index,
            digest = %actual,
            stored = hashing.bytes,
            unpacked = capped.total,
            compression,
            "layer walked"
        );
        Ok(())
    }

    fn entries<R: Read>(
        &mut self,
        archive: &mut tar::Archive<R>,
        visitor: &mut dyn Visitor,
        tripped: &Cell<bool>,
        compression: &str,
    ) -> Result<(), SourceError> {
        let fail = |this: &Self, e: &io::Error| {
            if tripped.get() {
                this.bomb()
            } else {
                this.corrupt_as(e, compression)
            }
        };
        let entries = archive.entries().map_err(|e| fail(self, &e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| fail(self, &e))?;
            if let Some(e) = self.entry(&mut entry, visitor) {
                return Err(if tripped.get() {
                    self.bomb()
                } else {
                    SourceError::InvalidImage {
                        input: self.image.to_string(),
                        reason: format!(
                            "layer {} ({}) is truncated or corrupt: {e}",
                            self.index, self.layer.digest
                        ),
                    }
                });
            }
        }
        Ok(())
    }

    /// Handles one tar entry. Returns the stream failure, if reading the
    /// entry's content hit one.
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        visitor: &mut dyn Visitor,
    ) -> Option<String> {
        if matches!(
            entry.header().entry_type(),
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            // Metadata in a header the tar crate did not recognize as such.
            return None;
        }
        let climbed = normalize_into(&entry.path_bytes(), &mut self.path);
        if climbed {
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            visitor.warning(self.warning(
                Some(&raw),
                format!(
                    "entry path climbs above the image root; read as {} (never outside the image)",
                    self.path
                ),
            ));
        }
        let header = entry.header();
        let etype = header.entry_type();
        if basename(&self.path).starts_with(".wh.") {
            self.whiteout(visitor);
            return None;
        }
        let kind = match etype {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink(
                entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default();
                if normalize_into(&target, &mut self.link) {
                    visitor.warning(self.warning(
                        Some(&self.path.clone()),
                        format!(
                            "hard link target climbs above the image root; read as {}",
                            self.link
                        ),
                    ));
                }
                EntryKind::Hardlink(self.link.clone())
            }
            _ => EntryKind::Other,
        };
        if self.path == "/" && kind != EntryKind::Dir {
            visitor.warning(self.warning(
                Some("/"),
                "a non-directory entry names the image root; skipped".to_string(),
            ));
            return None;
        }
        let size = if kind == EntryKind::File {
            entry.size()
        } else {
            0
        };
        let mode = header.mode().unwrap_or(0) & 0o7777;
        if kind != EntryKind::Dir {
            self.seen.insert(&self.path);
        }
        let meta = EntryMeta {
            path: &self.path,
            kind,
            size,
            mode,
            layer: Some(self.index),
        };
        if visitor.want(&meta) == Want::Skip {
            return None;
        }
        match &meta.kind {
            EntryKind::File => {
                if size > self.limits.max_file_bytes {
                    let w = self.warning(
                        Some(meta.path),
                        format!(
                            "file is {size} bytes, more than the {} bytes a file may have; not read",
                            self.limits.max_file_bytes
                        ),
                    );
                    visitor.warning(w);
                    return None;
                }
                let mut content = Content {
                    inner: entry,
                    left: size,
                    entry: meta.path,
                    failed: None,
                };
                let result = visitor.file(&meta, &mut content);
                if let Some(failed) = content.failed {
                    return Some(failed);
                }
                if let Err(e) = result {
                    let w = self.warning(Some(meta.path), format!("cannot read file: {e}"));
                    visitor.warning(w);
                }
            }
            EntryKind::Hardlink(target) => {
                if self.seen.contains(target) {
                    visitor.hardlink(&meta, target);
                } else {
                    let w = self.warning(
                        Some(meta.path),
                        format!("hard link to missing target {target}"),
                    );
                    visitor.warning(w);
                }
            }
            EntryKind::Dir | EntryKind::Symlink(_) | EntryKind::Other => {}
        }
        None
    }

    /// A whiteout entry (its name starts with `.wh.`).
    fn whiteout(&mut self, visitor: &mut dyn Visitor) {
        let hidden = basename(&self.path).get(4..).unwrap_or_default();
        let dir = parent(&self.path);
        if hidden == ".wh..opq" {
            visitor.clear_dir(dir, self.index);
            return;
        }
        if hidden.starts_with(".wh.") {
            // Other aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not content.
            return;
        }
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            visitor.warning(self.warning(Some(&self.path), "malformed whiteout; ignored".into()));
            return;
        }
        let mut removed = String::with_capacity(dir.len() + hidden.len() + 1);
        removed.push_str(dir);
        if !dir.ends_with('/') {
            removed.push('/');
        }
        removed.push_str(hidden);
        self.seen.remove(&removed);
        visitor.remove(&removed, self.index);
    }

    fn warning(&self, entry: Option<&str>, message: String) -> Warning {
        let input = match entry {
            Some(e) => format!(
                "{} layer {} ({}): {e}",
                self.image, self.index, self.layer.digest
            ),
            None => format!(
                "{} layer {} ({})",
                self.image, self.index, self.layer.digest
            ),
        };
        Warning::new(input, message)
    }

    fn bomb(&self) -> SourceError {
        SourceError::DecompressionBomb {
            input: format!("{} layer {}", self.image, self.index),
            digest: self.layer.digest.clone(),
            limit: self.limits.max_layer_bytes,
        }
    }

    fn corrupt(&self, e: &io::Error) -> SourceError {
        SourceError::InvalidImage {
            input: self.image.to_string(),
            reason: format!(
                "cannot read layer {} ({}): {e}",
                self.index, self.layer.digest
            ),
        }
    }

    fn corrupt_as(&self, e: &io::Error, compression: &str) -> SourceError {
        SourceError::InvalidImage {
            input: self.image.to_string(),
            reason: format!(
                "layer {} ({}, {compression}) is truncated or corrupt: {e}",
                self.index, self.layer.digest
            ),
        }
    }
}

/// Normalizes a tar entry path into an absolute path inside the image
/// (`./usr/bin/x` -> `/usr/bin/x`) with no `.`, `..` or empty components.
/// A `..` at the root stays at the root, as in a chroot; returns whether that
/// happened.
pub fn normalize_into(raw: &[u8], out: &mut String) -> bool {
    out.clear();
    let text = String::from_utf8_lossy(raw);
    let mut climbed = false;
    for comp in text.split('/') {
        match comp {
            "" | "." => {}
            ".." => match out.rfind('/') {
                Some(i) => out.truncate(i),
                None => climbed = true,
            },
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    climbed
}

/// The last component of a normalized path.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory of a normalized path (`/` for top-level entries).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> (String, bool) {
        let mut out = String::new();
        let climbed = normalize_into(s.as_bytes(), &mut out);
        (out, climbed)
    }

    #[test]
    fn paths_are_normalized_inside_the_root() {
        assert_eq!(norm("./usr/bin/x"), ("/usr/bin/x".into(), false));
        assert_eq!(norm("usr//bin/./x/"), ("/usr/bin/x".into(), false));
        assert_eq!(norm("/etc/passwd"), ("/etc/passwd".into(), false));
        assert_eq!(norm("a/../b"), ("/b".into(), false));
        assert_eq!(norm("../../etc/shadow"), ("/etc/shadow".into(), true));
        assert_eq!(norm("a/../../b"), ("/b".into(), true));
        assert_eq!(norm("./"), ("/".into(), false));
        assert_eq!(norm(".."), ("/".into(), true));
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(basename("/a/.wh.b"), ".wh.b");
    }
}
