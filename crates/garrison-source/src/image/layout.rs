//! OCI image layout directories (`oci:DIR[:TAG]`), and the manifest
//! resolution shared with OCI archives: from `index.json` through tags,
//! nested indexes and platform selection to one manifest and its config.

use super::oci::{
    layers_from, select_platform, Descriptor, Digest, ImageConfig, Index, Manifest,
    ManifestOrIndex, PlatformSpec,
};
use super::ImageSource;
use crate::SourceError;
use garrison_model::{LayerInfo, Target, TargetKind};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest JSON document (index, manifest, config) read into memory.
pub(crate) const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// Deepest chain of nested indexes followed.
const MAX_INDEX_DEPTH: usize = 8;

/// Where the blobs of an OCI layout live: a directory or an archive.
pub(crate) trait BlobStore {
    /// How the store is named in messages (the path the user gave).
    fn input(&self) -> &str;
    /// Whether the blob exists.
    fn has_blob(&self, digest: &Digest) -> bool;
    /// Reads a small blob whole (at most `max` bytes).
    fn read_blob(&mut self, digest: &Digest, max: u64) -> Result<Vec<u8>, SourceError>;
}

/// A manifest resolved from an index, with its config.
pub(crate) struct Resolved {
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub layers: Vec<LayerInfo>,
    /// Tag of the chosen top-level entry, if it carries one.
    pub tag: Option<String>,
    /// `os/arch[/variant]`: from the index entry it was chosen by, else from the config.
    pub platform: Option<String>,
}

/// Reads a JSON document blob, checking its digest.
fn read_json_blob(store: &mut dyn BlobStore, digest: &Digest) -> Result<Vec<u8>, SourceError> {
    if !store.has_blob(digest) {
        return Err(SourceError::MissingBlob {
            input: store.input().to_string(),
            digest: digest.to_string(),
        });
    }
    let bytes = store.read_blob(digest, MAX_DOCUMENT_BYTES)?;
    let actual = Digest::of(&bytes);
    if &actual != digest {
        return Err(SourceError::DigestMismatch {
            input: store.input().to_string(),
            digest: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(bytes)
}

fn invalid(store: &dyn BlobStore, reason: impl Into<String>) -> SourceError {
    SourceError::InvalidImage {
        input: store.input().to_string(),
        reason: reason.into(),
    }
}

fn descriptor_digest(store: &dyn BlobStore, d: &Descriptor) -> Result<Digest, SourceError> {
    d.digest()
        .map_err(|e| invalid(store, format!("a descriptor's digest is invalid: {e}")))
}

/// Resolves `index.json` (already parsed) to one image: entries tagged `tag`
/// (when given), then nested indexes by `platform` (default linux/amd64).
pub(crate) fn resolve(
    store: &mut dyn BlobStore,
    top: &Index,
    tag: Option<&str>,
    platform: Option<&PlatformSpec>,
) -> Result<Resolved, SourceError> {
    let candidates: Vec<Descriptor> = match tag {
        Some(tag) => top
            .manifests
            .iter()
            .filter(|d| d.ref_name() == Some(tag))
            .cloned()
            .collect(),
        None => top.manifests.clone(),
    };
    let tags = || {
        let t: Vec<&str> = top.manifests.iter().filter_map(|d| d.ref_name()).collect();
        if t.is_empty() {
            "none".to_string()
        } else {
            t.join(", ")
        }
    };
    let first = match candidates.as_slice() {
        [] => {
            return Err(invalid(
                store,
                match tag {
                    Some(tag) => {
                        format!("index.json has no image tagged {tag:?} (tags: {})", tags())
                    }
                    None => "index.json lists no images".to_string(),
                },
            ))
        }
        [only] => {
            if let (Some(want), Some(p)) = (platform, &only.platform) {
                if !want.matches(p) {
                    return Err(invalid(
                        store,
                        format!("the image is for {p}, not the requested platform {want}"),
                    ));
                }
            }
            only.clone()
        }
        several => {
            let distinct_refs = several
                .iter()
                .filter_map(|d| d.ref_name())
                .collect::<std::collections::BTreeSet<_>>();
            if tag.is_none() && distinct_refs.len() > 1 {
                return Err(invalid(
                    store,
                    format!(
                        "index.json holds several images; name one as oci:DIR:TAG (tags: {})",
                        tags()
                    ),
                ));
            }
            let sub = Index {
                manifests: several.to_vec(),
                ..Index::default()
            };
            select_platform(&sub, platform)
                .map_err(|e| invalid(store, e))?
                .clone()
        }
    };
    let chosen_tag = first.ref_name().map(str::to_string);
    // The platform an index entry declares is authoritative once chosen by it.
    let mut chosen_platform = first.platform.as_ref().map(|p| p.to_string());
    let mut desc = first;
    for _ in 0..=MAX_INDEX_DEPTH {
        let digest = descriptor_digest(store, &desc)?;
        let bytes = read_json_blob(store, &digest)?;
        let doc = ManifestOrIndex::from_slice(&bytes, Some(&desc.media_type))
            .map_err(|e| invalid(store, format!("manifest {digest} is not valid JSON: {e}")))?;
        match doc {
            ManifestOrIndex::Index(index) => {
                desc = select_platform(&index, platform)
                    .map_err(|e| invalid(store, format!("index {digest}: {e}")))?
                    .clone();
                if let Some(p) = &desc.platform {
                    chosen_platform = Some(p.to_string());
                }
            }
            ManifestOrIndex::Manifest(manifest) => {
                return finish(
                    store,
                    digest,
                    &manifest,
                    platform,
                    chosen_tag,
                    chosen_platform,
                );
            }
        }
    }
    Err(invalid(
        store,
        format!("indexes are nested more than {MAX_INDEX_DEPTH} deep"),
    ))
}

fn finish(
    store: &mut dyn BlobStore,
    manifest_digest: Digest,
    manifest: &Manifest,
    platform: Option<&PlatformSpec>,
    tag: Option<String>,
    index_platform: Option<String>,
) -> Result<Resolved, SourceError> {
    let config_digest = descriptor_digest(store, &manifest.config)?;
    let bytes = read_json_blob(store, &config_digest)?;
    let config: ImageConfig = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(
            store,
            format!("config {config_digest} is not a valid image config: {e}"),
        )
    })?;
    if index_platform.is_none() {
        check_platform(store.input(), &config, platform)?;
    }
    for layer in &manifest.layers {
        let digest = descriptor_digest(store, layer)?;
        if !store.has_blob(&digest) {
            return Err(SourceError::MissingBlob {
                input: store.input().to_string(),
                digest: digest.to_string(),
            });
        }
    }
    Ok(Resolved {
        layers: layers_from(manifest, &config),
        manifest_digest,
        config_digest,
        platform: index_platform.or_else(|| config.platform()),
        tag,
    })
}

/// Fails when a platform was asked for and the image's config says another.
pub(crate) fn check_platform(
    input: &str,
    config: &ImageConfig,
    platform: Option<&PlatformSpec>,
) -> Result<(), SourceError> {
    if let Some(want) = platform {
        let p = super::oci::Platform {
            os: config.os.clone(),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
            os_version: None,
        };
        if !config.os.is_empty() && !want.matches(&p) {
            return Err(SourceError::InvalidImage {
                input: input.to_string(),
                reason: format!("the image is for {p}, not the requested platform {want}"),
            });
        }
    }
    Ok(())
}

/// An OCI image layout directory.
pub struct LayoutImage {
    name: String,
    dir: PathBuf,
    target: Target,
    layers: Vec<LayerInfo>,
}

struct DirStore<'a> {
    name: &'a str,
    dir: &'a Path,
}

impl BlobStore for DirStore<'_> {
    fn input(&self) -> &str {
        self.name
    }
    fn has_blob(&self, digest: &Digest) -> bool {
        self.dir.join(digest.blob_path()).is_file()
    }
    fn read_blob(&mut self, digest: &Digest, max: u64) -> Result<Vec<u8>, SourceError> {
        read_small(&self.dir.join(digest.blob_path()), max)
    }
}

/// Reads a file of at most `max` bytes.
pub(crate) fn read_small(path: &Path, max: u64) -> Result<Vec<u8>, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io("open", path, e))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SourceError::io("read", path, e))?;
    if bytes.len() as u64 > max {
        return Err(SourceError::Other {
            input: path.display().to_string(),
            reason: format!("larger than the {max} bytes an image document may have"),
        });
    }
    Ok(bytes)
}

impl LayoutImage {
    /// Opens the layout at `dir`, choosing the manifest tagged `tag` (the
    /// `org.opencontainers.image.ref.name` annotation) and, through indexes,
    /// the one for `platform` (default linux/amd64). `name` is how the user
    /// wrote the image (`oci:./layout:1.0`).
    pub fn open(
        name: &str,
        dir: &Path,
        tag: Option<&str>,
        platform: Option<&PlatformSpec>,
    ) -> Result<LayoutImage, SourceError> {
        let layout = dir.join("oci-layout");
        if !layout.is_file() {
            return Err(SourceError::InvalidImage {
                input: name.to_string(),
                reason: format!(
                    "{} is not an OCI layout (no oci-layout file)",
                    dir.display()
                ),
            });
        }
        let index_path = dir.join("index.json");
        let bytes = read_small(&index_path, MAX_DOCUMENT_BYTES)?;
        let index: Index =
            serde_json::from_slice(&bytes).map_err(|e| SourceError::InvalidImage {
                input: name.to_string(),
                reason: format!("index.json is not a valid OCI index: {e}"),
            })?;
        let mut store = DirStore { name, dir };
        let resolved = resolve(&mut store, &index, tag, platform)?;
        let mut target = Target::new(TargetKind::Image, name);
        target.digest = Some(resolved.manifest_digest.to_string());
        target.image_id = Some(resolved.config_digest.to_string());
        target.platform = resolved.platform;
        target.tags = resolved.tag.into_iter().collect();
        Ok(LayoutImage {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            target,
            layers: resolved.layers,
        })
    }
}

impl ImageSource for LayoutImage {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + '_>, SourceError> {
        let layer = self.layers.get(index).ok_or_else(|| SourceError::Other {
            input: self.name.clone(),
            reason: format!("no layer {index}"),
        })?;
        let digest = Digest::parse(&layer.digest).map_err(|e| SourceError::InvalidImage {
            input: self.name.clone(),
            reason: e.to_string(),
        })?;
        let path = self.dir.join(digest.blob_path());
        match File::open(&path) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SourceError::MissingBlob {
                input: self.name.clone(),
                digest: digest.to_string(),
            }),
            Err(e) => Err(SourceError::io("open layer", path, e)),
        }
    }
}
