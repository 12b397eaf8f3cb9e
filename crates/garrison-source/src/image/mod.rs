//! Container images: docker-archive and OCI archives, OCI layout directories and
//! registries, all read through [`ImageSource`] and walked layer by layer with
//! OCI whiteouts applied.

pub mod archive;
pub mod layout;
pub mod oci;
pub mod registry;
pub mod walk;

use crate::{Limits, Source, SourceError, Visitor};
use garrison_model::{LayerInfo, Target, TargetKind};
use std::io::Read;
use std::path::Path;

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

/// An image whose layer blobs are held in memory: for tests, fuzzing and
/// callers that already have the (small) blobs.
pub struct MemoryImage {
    pub target: Target,
    pub layers: Vec<LayerInfo>,
    pub blobs: Vec<Vec<u8>>,
}

impl MemoryImage {
    /// An image named `name` whose layers are `blobs` (stored bytes, bottom
    /// first), each described with its true digest and size.
    pub fn new(name: &str, blobs: Vec<Vec<u8>>) -> MemoryImage {
        let layers = blobs
            .iter()
            .map(|b| LayerInfo {
                digest: oci::Digest::of(b).to_string(),
                diff_id: None,
                media_type: None,
                size: Some(b.len() as u64),
                created_by: None,
            })
            .collect();
        MemoryImage {
            target: Target::new(TargetKind::Image, name),
            layers,
            blobs,
        }
    }
}

impl ImageSource for MemoryImage {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + '_>, SourceError> {
        match self.blobs.get(index) {
            Some(b) => Ok(Box::new(b.as_slice())),
            None => Err(SourceError::MissingBlob {
                input: self.target.name.clone(),
                digest: self
                    .layers
                    .get(index)
                    .map_or_else(|| format!("layer {index}"), |l| l.digest.clone()),
            }),
        }
    }
}

/// Opens an image stored in files: `oci:DIR[:TAG]` for an OCI layout
/// directory, otherwise a path to a docker-archive or OCI archive tar (told
/// apart by its contents). `platform` (`os/arch[/variant]`, default
/// linux/amd64) picks an image from a multi-platform index.
pub fn open_file_image(spec: &str, platform: Option<&str>) -> Result<Box<dyn Source>, SourceError> {
    let platform = platform
        .map(|p| {
            oci::PlatformSpec::parse(p).map_err(|reason| SourceError::Other {
                input: spec.to_string(),
                reason,
            })
        })
        .transpose()?;
    if let Some(rest) = spec.strip_prefix("oci:") {
        let (dir, tag) = split_layout_spec(rest);
        if dir.is_empty() {
            return Err(SourceError::Other {
                input: spec.to_string(),
                reason: "expected oci:DIR[:TAG]".into(),
            });
        }
        let image = layout::LayoutImage::open(spec, Path::new(dir), tag, platform.as_ref())?;
        return Ok(Box::new(Image(image)));
    }
    let path = Path::new(spec);
    let meta = std::fs::metadata(path).map_err(|e| SourceError::io("open image", path, e))?;
    if meta.is_dir() {
        let image = layout::LayoutImage::open(spec, path, None, platform.as_ref())?;
        return Ok(Box::new(Image(image)));
    }
    let image = archive::ArchiveImage::open(spec, path, platform.as_ref())?;
    Ok(Box::new(Image(image)))
}

/// Splits `DIR[:TAG]`. A tag may itself hold `:` (`localtest:1`) and so, rarely,
/// may a directory: the first split whose left side is an existing directory
/// wins; with none, the first `:` splits.
fn split_layout_spec(rest: &str) -> (&str, Option<&str>) {
    let splits = rest.match_indices(':').map(|(i, _)| i);
    let chosen = splits
        .clone()
        .find(|&i| rest.get(..i).is_some_and(|d| Path::new(d).is_dir()))
        .or_else(|| {
            (!Path::new(rest).is_dir())
                .then(|| splits.clone().next())
                .flatten()
        });
    match chosen {
        Some(i) => {
            let dir = rest.get(..i).unwrap_or(rest);
            let tag = rest.get(i + 1..).filter(|t| !t.is_empty());
            (dir, tag)
        }
        None => (rest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_layout_spec;

    #[test]
    fn layout_specs_split_at_the_existing_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let odd = tmp.path().join("a:b");
        std::fs::create_dir(&odd).unwrap();
        let odd = odd.to_str().unwrap();
        assert_eq!(split_layout_spec(&format!("{odd}:t:1")), (odd, Some("t:1")));
        assert_eq!(split_layout_spec(odd), (odd, None));
        assert_eq!(
            split_layout_spec("/nonexistent/x:tag"),
            ("/nonexistent/x", Some("tag"))
        );
        assert_eq!(
            split_layout_spec("/nonexistent/x"),
            ("/nonexistent/x", None)
        );
        assert_eq!(
            split_layout_spec("/nonexistent/x:"),
            ("/nonexistent/x", None)
        );
    }
}
