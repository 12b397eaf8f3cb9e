//! Container images: docker-archive and OCI archives, OCI layout directories and
//! registries, all read through [`ImageSource`] and walked layer by layer with
//! OCI whiteouts applied.

pub mod oci;
pub mod registry;
pub mod walk;

use crate::{Limits, Source, SourceError, Visitor};
use garrison_model::{LayerInfo, Target};
use std::io::Read;

/// Where an image's blobs come from. Implemented by each image format; the
/// layer walker does the rest.
pub trait ImageSource {
    /// The image as resolved: name, manifest digest, image ID, tags, platform.
    fn target(&self) -> Target;

    /// Layers in application order (bottom first).
    fn layers(&self) -> &[LayerInfo];

    /// The stored (possibly compressed) bytes of layer `index`, streamed. The
    /// walker detects gzip/zstd/plain tar by magic bytes and checks the digest.
    fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + '_>, SourceError>;
}

/// Any [`ImageSource`] as a walkable [`Source`].
pub struct Image<S: ImageSource>(pub S);

impl<S: ImageSource> Source for Image<S> {
    fn target(&self) -> Target {
        self.0.target()
    }

    fn walk(&mut self, visitor: &mut dyn Visitor, limits: &Limits) -> Result<(), SourceError> {
        walk::walk_layers(&mut self.0, visitor, limits)
    }
}
