//! Reading Garrison's targets — image archives, OCI layouts, registries, root filesystems and running containers — as one stream of file entries that never leaves the target's root.
//!
//! Every source implements [`Source`]: it walks its files once and hands each
//! entry to a [`Visitor`], which decides from the entry's metadata alone whether
//! it wants the content. Images are streamed layer by layer (gzip and zstd),
//! with OCI whiteouts reported as [`Visitor::remove`] and
//! [`Visitor::clear_dir`] so that the visitor can drop what a later layer
//! deleted; nothing is unpacked to disk and no layer is held in memory.
//!
//! Paths given to visitors are absolute and normalized inside the target
//! (`/var/lib/dpkg/status`), never host paths, and never contain `..`.

pub mod entry;
pub mod error;
pub mod image;
pub mod rootfs;
pub mod sys;

pub use entry::{EntryKind, EntryMeta, Visitor, Want};
pub use error::SourceError;

use garrison_model::Target;

/// Limits that protect a run from hostile or broken input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most bytes one layer may decompress to before it is abandoned as a
    /// decompression bomb (reported, naming the layer).
    pub max_layer_bytes: u64,
    /// Most bytes of one file a visitor may ask to read.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 32 << 30,
            max_file_bytes: 512 << 20,
        }
    }
}

/// Something whose files can be walked: an image, a root filesystem, a project
/// directory, a running container.
pub trait Source {
    /// What is being read, as far as it is known before the walk.
    fn target(&self) -> Target;

    /// Walks every entry once, in order (for images: layer by layer, bottom
    /// first), calling the visitor. Problems with single entries are reported
    /// through [`Visitor::warning`] and the walk goes on; an error is returned
    /// only when the walk cannot continue (unreadable archive, missing blob).
    fn walk(&mut self, visitor: &mut dyn Visitor, limits: &Limits) -> Result<(), SourceError>;
}
