//! Image archives: docker-archive (`docker save`, `podman save --format
//! docker-archive`) and OCI archive (a tar of an OCI layout), told apart by
//! their contents.
//!
//! The outer tar is indexed once (entry name -> offset and size, seeking over
//! file data); each layer is then read straight from the archive file with a
//! seek and a bounded read. Nothing is unpacked.

use super::layout::{check_platform, resolve, BlobStore, MAX_DOCUMENT_BYTES};
use super::oci::{
    Digest, DockerArchiveEntry, ImageConfig, Index, PlatformSpec, MEDIA_DOCKER_LAYER,
    MEDIA_DOCKER_LAYER_GZIP, MEDIA_OCI_LAYER_ZSTD,
};
use super::walk::normalize_into;
use super::ImageSource;
use crate::SourceError;
use garrison_model::{LayerInfo, Target, TargetKind};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Most symlinks followed when resolving a name inside the archive.
const MAX_LINK_HOPS: usize = 8;

/// Where one member of the outer tar lives.
#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Symlink(String),
}

/// The outer tar, indexed: member name (relative, normalized) -> location.
struct ArchiveIndex {
    input: String,
    path: PathBuf,
    file: File,
    members: HashMap<String, Member>,
}

/// Which kind of archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Docker,
    Oci,
}

impl ArchiveIndex {
    fn open(input: &str, path: &Path) -> Result<ArchiveIndex, SourceError> {
        let file = File::open(path).map_err(|e| SourceError::io("open image archive", path, e))?;
        let mut magic = [0u8; 4];
        let n = read_prefix(&mut &file, &mut magic)
            .map_err(|e| SourceError::io("read image archive", path, e))?;
        if let Some([0x1f, 0x8b, ..] | [0x28, 0xb5, 0x2f, 0xfd]) = magic.get(..n) {
            return Err(SourceError::InvalidImage {
                input: input.to_string(),
                reason: "the archive itself is compressed; decompress it first (gunzip or unzstd) so its layers can be read in place".into(),
            });
        }
        (&file)
            .seek(SeekFrom::Start(0))
            .map_err(|e| SourceError::io("seek in", path, e))?;
        let mut members = HashMap::new();
        let mut name = String::new();
        {
            let reader = BufReader::with_capacity(64 * 1024, &file);
            let mut archive = tar::Archive::new(reader);
            let corrupt = |e: io::Error| SourceError::InvalidImage {
                input: input.to_string(),
                reason: format!("not a readable tar archive (truncated or corrupt?): {e}"),
            };
            for entry in archive.entries_with_seek().map_err(corrupt)? {
                let entry = entry.map_err(corrupt)?;
                normalize_into(&entry.path_bytes(), &mut name);
                let key = name.trim_start_matches('/').to_string();
                let member = match entry.header().entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        let target = entry.link_name_bytes().unwrap_or_default();
                        let target = String::from_utf8_lossy(&target).into_owned();
                        if entry.header().entry_type() == tar::EntryType::Link {
                            // A hard link names another member from the archive root.
                            Member::Symlink(format!("/{target}"))
                        } else {
                            Member::Symlink(target)
                        }
                    }
                    _ => continue,
                };
                members.insert(key, member);
            }
        }
        let index = ArchiveIndex {
            input: input.to_string(),
            path: path.to_path_buf(),
            file,
            members,
        };
        index.check_members_fit()?;
        Ok(index)
    }

    /// A truncated archive can still index (seeking past its end succeeds):
    /// catch members that extend beyond the file here.
    fn check_members_fit(&self) -> Result<(), SourceError> {
        let len = self
            .file
            .metadata()
            .map_err(|e| SourceError::io("stat", &self.path, e))?
            .len();
        for (name, m) in &self.members {
            if let Member::File { offset, size } = m {
                if offset.saturating_add(*size) > len {
                    return Err(SourceError::InvalidImage {
                        input: self.input.clone(),
                        reason: format!(
                            "archive is truncated: member {name} needs {size} bytes at offset {offset}, but the file has {len} bytes"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    fn format(&self) -> Result<ArchiveFormat, SourceError> {
        if self.members.contains_key("manifest.json") {
            Ok(ArchiveFormat::Docker)
        } else if self.members.contains_key("index.json") && self.members.contains_key("oci-layout")
        {
            Ok(ArchiveFormat::Oci)
        } else {
            Err(SourceError::InvalidImage {
                input: self.input.clone(),
                reason: "neither a docker-archive (no manifest.json) nor an OCI archive (no oci-layout and index.json)".into(),
            })
        }
    }

    /// Finds a member by name, following symlinks inside the archive.
    fn locate(&self, name: &str) -> Option<(u64, u64)> {
        let mut buf = String::new();
        normalize_into(name.as_bytes(), &mut buf);
        let mut key = buf.trim_start_matches('/').to_string();
        for _ in 0..=MAX_LINK_HOPS {
            match self.members.get(&key)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Symlink(target) => {
                    let joined = if target.starts_with('/') {
                        target.clone()
                    } else {
                        let dir = key.rsplit_once('/').map_or("", |(d, _)| d);
                        format!("{dir}/{target}")
                    };
                    normalize_into(joined.as_bytes(), &mut buf);
                    key = buf.trim_start_matches('/').to_string();
                }
            }
        }
        None
    }

    /// A reader over one member's bytes.
    fn open_at(&self, offset: u64, size: u64) -> Result<io::Take<&File>, SourceError> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| SourceError::io("seek in", &self.path, e))?;
        Ok(f.take(size))
    }

    /// Reads a whole small member.
    fn read_member(&self, name: &str, max: u64) -> Result<Vec<u8>, SourceError> {
        let (offset, size) = self.locate(name).ok_or_else(|| SourceError::InvalidImage {
            input: self.input.clone(),
            reason: format!("the archive has no {name}"),
        })?;
        self.read_located(name, offset, size, max)
    }

    fn read_located(
        &self,
        name: &str,
        offset: u64,
        size: u64,
        max: u64,
    ) -> Result<Vec<u8>, SourceError> {
        if size > max {
            return Err(SourceError::InvalidImage {
                input: self.input.clone(),
                reason: format!(
                    "{name} is {size} bytes, more than the {max} an image document may have"
                ),
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        self.open_at(offset, size)?
            .read_to_end(&mut bytes)
            .map_err(|e| SourceError::io("read", &self.path, e))?;
        Ok(bytes)
    }
}

impl BlobStore for ArchiveIndex {
    fn input(&self) -> &str {
        &self.input
    }
    fn has_blob(&self, digest: &Digest) -> bool {
        self.locate(&digest.blob_path()).is_some()
    }
    fn read_blob(&mut self, digest: &Digest, max: u64) -> Result<Vec<u8>, SourceError> {
        let name = digest.blob_path();
        match self.locate(&name) {
            Some((offset, size)) => self.read_located(&name, offset, size, max),
            None => Err(SourceError::MissingBlob {
                input: self.input.clone(),
                digest: digest.to_string(),
            }),
        }
    }
}

/// A docker-archive or OCI archive, read in place.
pub struct ArchiveImage {
    index: ArchiveIndex,
    format: ArchiveFormat,
    target: Target,
    layers: Vec<LayerInfo>,
    /// Where each layer's stored bytes are in the archive.
    locations: Vec<(u64, u64)>,
}

impl ArchiveImage {
    /// Opens the archive at `path`, detecting its format. `input` is how the
    /// user named it; `platform` picks an image from a multi-platform OCI
    /// archive (default linux/amd64) and is checked against a docker-archive's config.
    pub fn open(
        input: &str,
        path: &Path,
        platform: Option<&PlatformSpec>,
    ) -> Result<ArchiveImage, SourceError> {
        let mut index = ArchiveIndex::open(input, path)?;
        let format = index.format()?;
        let mut target = Target::new(TargetKind::Image, input);
        let (layers, locations) = match format {
            ArchiveFormat::Oci => {
                let bytes = index.read_member("index.json", MAX_DOCUMENT_BYTES)?;
                let top: Index =
                    serde_json::from_slice(&bytes).map_err(|e| SourceError::InvalidImage {
                        input: input.to_string(),
                        reason: format!("index.json is not a valid OCI index: {e}"),
                    })?;
                let resolved = resolve(&mut index, &top, None, platform)?;
                target.digest = Some(resolved.manifest_digest.to_string());
                target.image_id = Some(resolved.config_digest.to_string());
                target.platform = resolved.platform;
                target.tags = resolved.tag.into_iter().collect();
                let mut locations = Vec::with_capacity(resolved.layers.len());
                for layer in &resolved.layers {
                    let digest =
                        Digest::parse(&layer.digest).map_err(|e| SourceError::InvalidImage {
                            input: input.to_string(),
                            reason: e.to_string(),
                        })?;
                    let loc = index.locate(&digest.blob_path()).ok_or_else(|| {
                        SourceError::MissingBlob {
                            input: input.to_string(),
                            digest: digest.to_string(),
                        }
                    })?;
                    locations.push(loc);
                }
                (resolved.layers, locations)
            }
            ArchiveFormat::Docker => open_docker(&index, &mut target, platform)?,
        };
        Ok(ArchiveImage {
            index,
            format,
            target,
            layers,
            locations,
        })
    }

    /// Which kind of archive this is.
    pub fn format(&self) -> ArchiveFormat {
        self.format
    }
}

/// Layers, and where each one's stored bytes are in the archive.
type LayersAndLocations = (Vec<LayerInfo>, Vec<(u64, u64)>);

/// Reads a docker-archive's `manifest.json` and the first image's config.
fn open_docker(
    index: &ArchiveIndex,
    target: &mut Target,
    platform: Option<&PlatformSpec>,
) -> Result<LayersAndLocations, SourceError> {
    let input = index.input.as_str();
    let invalid = |reason: String| SourceError::InvalidImage {
        input: input.to_string(),
        reason,
    };
    let bytes = index.read_member("manifest.json", MAX_DOCUMENT_BYTES)?;
    let entries: Vec<DockerArchiveEntry> = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "manifest.json is not a docker-archive manifest: {e}"
        ))
    })?;
    let entry = entries
        .first()
        .ok_or_else(|| invalid("manifest.json lists no images".into()))?;
    let config_loc = index.locate(&entry.config).ok_or_else(|| {
        // A config named by digest is a blob; otherwise report the path.
        SourceError::MissingBlob {
            input: input.to_string(),
            digest: entry.config.clone(),
        }
    })?;
    let config_bytes = index.read_located(
        &entry.config,
        config_loc.0,
        config_loc.1,
        MAX_DOCUMENT_BYTES,
    )?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| {
        invalid(format!(
            "config {} is not a valid image config: {e}",
            entry.config
        ))
    })?;
    check_platform(input, &config, platform)?;
    let config_digest = Digest::of(&config_bytes);
    target.image_id = Some(config_digest.to_string());
    target.platform = config.platform();
    target.tags = entry.repo_tags.clone();

    let created_by = config.layer_created_by();
    let mut layers = Vec::with_capacity(entry.layers.len());
    let mut locations = Vec::with_capacity(entry.layers.len());
    for (i, layer_path) in entry.layers.iter().enumerate() {
        let (offset, size) = index
            .locate(layer_path)
            .ok_or_else(|| SourceError::MissingBlob {
                input: input.to_string(),
                digest: config
                    .rootfs
                    .diff_ids
                    .get(i)
                    .map_or_else(|| layer_path.clone(), |d| format!("{d} ({layer_path})")),
            })?;
        let diff_id = config.rootfs.diff_ids.get(i).cloned();
        let mut magic = [0u8; 4];
        let n = read_prefix(&mut index.open_at(offset, size)?, &mut magic)
            .map_err(|e| SourceError::io("read", &index.path, e))?;
        let media_type = match magic.get(..n) {
            Some([0x1f, 0x8b, ..]) => MEDIA_DOCKER_LAYER_GZIP,
            Some([0x28, 0xb5, 0x2f, 0xfd, ..]) => MEDIA_OCI_LAYER_ZSTD,
            _ => MEDIA_DOCKER_LAYER,
        };
        let compressed = media_type != MEDIA_DOCKER_LAYER;
        // The stored digest: named by the path (Docker 25+ `blobs/sha256/...`),
        // else the diff_id for an uncompressed layer (the stored bytes are the
        // tar), else computed by reading the stored bytes once.
        let from_path = layer_path
            .strip_prefix("blobs/sha256/")
            .and_then(|hex| Digest::parse(&format!("sha256:{hex}")).ok());
        let from_diff = (!compressed)
            .then(|| diff_id.as_deref().and_then(|d| Digest::parse(d).ok()))
            .flatten();
        let digest = match from_path.or(from_diff) {
            Some(d) => d,
            None => {
                let mut hasher = Sha256::new();
                io::copy(&mut index.open_at(offset, size)?, &mut hasher)
                    .map_err(|e| SourceError::io("read", &index.path, e))?;
                Digest::from_sha256(&hasher.finalize())
            }
        };
        layers.push(LayerInfo {
            digest: digest.to_string(),
            diff_id,
            media_type: Some(media_type.to_string()),
            size: Some(size),
            created_by: created_by.get(i).cloned().flatten(),
        });
        locations.push((offset, size));
    }
    Ok((layers, locations))
}

fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut have = 0;
    while have < buf.len() {
        let rest = buf.get_mut(have..).unwrap_or_default();
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(have)
}

impl ImageSource for ArchiveImage {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + '_>, SourceError> {
        let (offset, size) = *self
            .locations
            .get(index)
            .ok_or_else(|| SourceError::Other {
                input: self.index.input.clone(),
                reason: format!("no layer {index}"),
            })?;
        Ok(Box::new(self.index.open_at(offset, size)?))
    }
}
