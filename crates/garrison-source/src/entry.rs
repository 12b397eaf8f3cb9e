//! The visitor interface between sources and whoever reads their files.

use garrison_model::{LayerInfo, Warning};
use std::io::Read;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symbolic link; the target as written (never followed by the walker).
    Symlink(String),
    /// A hard link to another path of the same target (absolute, normalized).
    Hardlink(String),
    /// Device, fifo, socket: never read.
    Other,
}

/// Metadata of one entry, known before its content is read.
#[derive(Debug, Clone)]
pub struct EntryMeta<'a> {
    /// Absolute, normalized path inside the target (`/usr/bin/env`).
    pub path: &'a str,
    pub kind: EntryKind,
    /// Size in bytes of the content (0 for non-files).
    pub size: u64,
    /// Permission bits (`0o755`), without the file type.
    pub mode: u32,
    /// Index of the image layer this entry comes from (`None` outside images).
    pub layer: Option<usize>,
}

impl EntryMeta<'_> {
    /// Whether any execute bit is set on a regular file.
    pub fn is_executable(&self) -> bool {
        self.kind == EntryKind::File && self.mode & 0o111 != 0
    }
}

/// A visitor's answer to "do you want this entry's content?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Skip,
    /// Hand me the content. The source reports a file larger than
    /// [`crate::Limits::max_file_bytes`] as a warning and skips it.
    Read,
}

/// Receives the entries of a walk. Every method but `want` and `file` has a
/// default that ignores the call.
pub trait Visitor {
    /// Called before the first entry of each image layer, in order.
    fn layer_start(&mut self, _index: usize, _layer: &LayerInfo) {}

    /// Called for every entry; decides whether [`Visitor::file`] gets its content.
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want;

    /// The content of an entry the visitor wanted. `content` yields exactly
    /// `meta.size` bytes unless the input is truncated, in which case reads fail
    /// with an error naming the entry. Return an error only for I/O on `content`;
    /// parse problems are the visitor's to record.
    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()>;

    /// Whether this entry, which [`Visitor::want`] asked to read, should go to
    /// [`Visitor::file_at`] instead of [`Visitor::file`] when the source offers
    /// random access.
    fn wants_random_access(&self, _meta: &EntryMeta<'_>) -> bool {
        false
    }

    /// Like [`Visitor::file`], for sources that can offer random access (root
    /// filesystems and containers): the visitor may look at parts of the file
    /// (an executable's headers, say) before deciding to read it whole.
    /// `file` is positioned at the start and holds exactly `meta.size` bytes
    /// as far as the source knows. The default reads it like any stream.
    fn file_at(&mut self, meta: &EntryMeta<'_>, file: &mut std::fs::File) -> std::io::Result<()> {
        self.file(meta, file)
    }

    /// A hard link (images only) to `target`, for a path the visitor wanted.
    /// The walker has checked that `target` exists in this or a lower layer.
    fn hardlink(&mut self, _meta: &EntryMeta<'_>, _target: &str) {}

    /// An OCI whiteout in layer `layer`: `path` and everything below it are gone.
    fn remove(&mut self, _path: &str, _layer: usize) {}

    /// An opaque directory in layer `layer`: everything below `dir` that came from
    /// lower layers is gone (entries of `layer` itself stay).
    fn clear_dir(&mut self, _dir: &str, _layer: usize) {}

    /// A problem with one input; the walk goes on.
    fn warning(&mut self, warning: Warning);
}
