//! The JSON documents that describe an image — OCI image index and manifest,
//! Docker v2 schema2 manifest and manifest list, image config, docker-archive
//! `manifest.json` — plus digest validation, platform selection and the
//! conversion of a manifest and its config into [`LayerInfo`]s.
//!
//! Docker's schema2 documents have the same shape as their OCI counterparts
//! (only the media types differ), so one type reads both.

use garrison_model::LayerInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// OCI image index (`index.json`, multi-platform images).
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config.
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
pub const MEDIA_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip.
pub const MEDIA_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd.
pub const MEDIA_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker v2 schema2 manifest list (multi-platform).
pub const MEDIA_DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker v2 schema2 manifest.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker image config.
pub const MEDIA_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip.
pub const MEDIA_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker layer, uncompressed tar.
pub const MEDIA_DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// The annotation naming a manifest's tag inside an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Whether `media_type` is an index or manifest list.
pub fn is_index_media_type(media_type: &str) -> bool {
    media_type == MEDIA_OCI_INDEX || media_type == MEDIA_DOCKER_MANIFEST_LIST
}

/// Whether `media_type` is an image manifest (OCI or Docker schema2).
pub fn is_manifest_media_type(media_type: &str) -> bool {
    media_type == MEDIA_OCI_MANIFEST || media_type == MEDIA_DOCKER_MANIFEST
}

/// A validated content digest, `sha256:<64 lowercase hex>`. Nothing else is
/// accepted, so a digest can safely become a file name (`blobs/sha256/<hex>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a sha256 digest (expected sha256:<64 lowercase hex digits>)")]
pub struct DigestError {
    pub input: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let bad = || DigestError {
            input: s.chars().take(100).collect(),
        };
        let hex = s.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        Ok(Digest(s.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_sha256(&sha2::Sha256::digest(bytes))
    }

    /// A digest from a finished sha256 hash.
    pub fn from_sha256(hash: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hash)))
    }

    /// The full `sha256:...` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        self.0.get(7..).unwrap_or("")
    }

    /// Where the blob lives in an OCI layout: `blobs/sha256/<hex>`.
    pub fn blob_path(&self) -> String {
        format!("blobs/sha256/{}", self.hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A platform as written in an index: `os`, `architecture`, `variant`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = self.variant.as_deref().filter(|v| !v.is_empty()) {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A reference to a blob: media type, digest, size, and for index entries the
/// platform and annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The validated digest.
    pub fn digest(&self) -> Result<Digest, DigestError> {
        Digest::parse(&self.digest)
    }

    /// The tag this descriptor carries in an OCI layout (`org.opencontainers.image.ref.name`).
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_REF_NAME)
            .map(String::as_str)
    }

    /// Whether this index entry is an attestation or signature rather than an image.
    fn is_attestation(&self) -> bool {
        self.annotations
            .get("vnd.docker.reference.type")
            .is_some_and(|t| t == "attestation-manifest")
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }
}

/// An OCI image index or a Docker manifest list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest or a Docker v2 schema2 manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Either document a manifest digest can point at.
#[derive(Debug, Clone)]
pub enum ManifestOrIndex {
    Manifest(Manifest),
    Index(Index),
}

impl ManifestOrIndex {
    /// Reads a manifest or index, deciding by `mediaType` (from the descriptor
    /// or the document) and falling back to the document's shape.
    pub fn from_slice(
        bytes: &[u8],
        descriptor_media_type: Option<&str>,
    ) -> Result<ManifestOrIndex, serde_json::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probe {
            #[serde(default)]
            media_type: Option<String>,
            #[serde(default)]
            manifests: Option<serde::de::IgnoredAny>,
        }
        let probe: Probe = serde_json::from_slice(bytes)?;
        let mt = probe
            .media_type
            .as_deref()
            .or(descriptor_media_type)
            .unwrap_or("");
        if is_index_media_type(mt) || (!is_manifest_media_type(mt) && probe.manifests.is_some()) {
            Ok(ManifestOrIndex::Index(serde_json::from_slice(bytes)?))
        } else {
            Ok(ManifestOrIndex::Manifest(serde_json::from_slice(bytes)?))
        }
    }
}

/// The root filesystem section of an image config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// One step of the image's build history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

/// The image config (OCI and Docker), as far as Garrison needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

impl ImageConfig {
    /// `os/arch[/variant]`, or `None` when the config does not say.
    pub fn platform(&self) -> Option<String> {
        if self.os.is_empty() || self.architecture.is_empty() {
            return None;
        }
        Some(
            Platform {
                os: self.os.clone(),
                architecture: self.architecture.clone(),
                variant: self.variant.clone(),
                os_version: None,
            }
            .to_string(),
        )
    }

    /// The `created_by` line of each layer, in order: history entries that
    /// are not `empty_layer`, matched to layers by position.
    pub fn layer_created_by(&self) -> Vec<Option<String>> {
        self.history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone())
            .collect()
    }
}

/// One image of a docker-archive's `manifest.json` (which is a JSON array of these).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerArchiveEntry {
    /// Path of the config inside the archive.
    pub config: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repo_tags: Vec<String>,
    /// Paths of the layer tars inside the archive, bottom first.
    #[serde(default)]
    pub layers: Vec<String>,
    /// Docker 25+: descriptors of the layers keyed by digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub layer_sources: BTreeMap<String, Descriptor>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A platform request, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for PlatformSpec {
    /// `linux/amd64`.
    fn default() -> Self {
        PlatformSpec {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl PlatformSpec {
    /// Parses `os/arch` or `os/arch/variant`.
    pub fn parse(s: &str) -> Result<PlatformSpec, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| !p.is_empty();
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(PlatformSpec {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(PlatformSpec {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(format!(
                "platform {s:?} is not os/arch[/variant] (for example linux/amd64 or linux/arm64/v8)"
            )),
        }
    }

    /// Whether an index entry's platform matches. A requested variant must
    /// match (arm64's default variant is v8); when none is requested any
    /// variant matches.
    pub fn matches(&self, p: &Platform) -> bool {
        if p.os != self.os || p.architecture != self.architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(want) => {
                let have = p.variant.as_deref().filter(|v| !v.is_empty());
                let have = match (have, self.architecture.as_str()) {
                    (None, "arm64") => Some("v8"),
                    (h, _) => h,
                };
                have == Some(want.as_str())
            }
        }
    }
}

/// Picks the manifest for `platform` (default linux/amd64) from an index.
/// Attestation entries are never picked. An index with a single image entry
/// that carries no platform is taken as is when no platform was requested.
pub fn select_platform<'a>(
    index: &'a Index,
    platform: Option<&PlatformSpec>,
) -> Result<&'a Descriptor, String> {
    let images: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| !d.is_attestation())
        .collect();
    let want = platform.cloned().unwrap_or_default();
    let mut matching = images
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| want.matches(p)));
    if let Some(found) = matching.next() {
        // Prefer an exact variant-less entry when no variant was asked for and
        // several entries match (e.g. arm/v6 and arm/v7): the first one wins,
        // which is what docker and podman do.
        return Ok(found);
    }
    if platform.is_none() {
        if let [only] = images.as_slice() {
            if only.platform.is_none() {
                return Ok(only);
            }
        }
    }
    let available: Vec<String> = images
        .iter()
        .map(|d| {
            d.platform
                .as_ref()
                .map_or_else(|| "(no platform)".to_string(), |p| p.to_string())
        })
        .collect();
    Err(format!(
        "no image for platform {want} in the index (available: {})",
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    ))
}

/// The layers of an image, bottom first, from its manifest and config:
/// digests, media types and sizes from the manifest, `diff_id`s and the
/// `created_by` of non-empty history entries from the config.
pub fn layers_from(manifest: &Manifest, config: &ImageConfig) -> Vec<LayerInfo> {
    let created_by = config.layer_created_by();
    manifest
        .layers
        .iter()
        .enumerate()
        .map(|(i, d)| LayerInfo {
            digest: d.digest.clone(),
            diff_id: config.rootfs.diff_ids.get(i).cloned(),
            media_type: (!d.media_type.is_empty()).then(|| d.media_type.clone()),
            size: Some(d.size),
            created_by: created_by.get(i).cloned().flatten(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

    #[test]
    fn digest_accepts_only_sha256_hex() {
        let d = Digest::parse(&format!("sha256:{H}")).unwrap();
        assert_eq!(d.hex(), H);
        assert_eq!(d.blob_path(), format!("blobs/sha256/{H}"));
        for bad in [
            "",
            "sha256:",
            H,
            "sha512:abc",
            "sha256:../../../../etc/passwd",
            &format!("sha256:{}", H.to_uppercase()),
            &format!("sha256:{H}0"),
            &format!("sha256:{}/", &H[..63]),
            &format!("sha256:{}", &H[..63]),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn platform_selection() {
        let d = |os: &str, arch: &str, variant: Option<&str>, n: char| Descriptor {
            media_type: MEDIA_OCI_MANIFEST.into(),
            digest: format!("sha256:{}", n.to_string().repeat(64)),
            size: 1,
            platform: Some(Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(String::from),
                os_version: None,
            }),
            annotations: BTreeMap::new(),
        };
        let index = Index {
            schema_version: 2,
            media_type: Some(MEDIA_OCI_INDEX.into()),
            manifests: vec![
                d("unknown", "unknown", None, '0'),
                d("linux", "arm", Some("v7"), '1'),
                d("linux", "arm64", None, '2'),
                d("linux", "amd64", None, '3'),
            ],
            annotations: BTreeMap::new(),
        };
        assert_eq!(
            select_platform(&index, None).unwrap().digest,
            index.manifests[3].digest
        );
        let arm64 = PlatformSpec::parse("linux/arm64/v8").unwrap();
        assert_eq!(
            select_platform(&index, Some(&arm64)).unwrap().digest,
            index.manifests[2].digest
        );
        let armv7 = PlatformSpec::parse("linux/arm/v7").unwrap();
        assert_eq!(
            select_platform(&index, Some(&armv7)).unwrap().digest,
            index.manifests[1].digest
        );
        let s390 = PlatformSpec::parse("linux/s390x").unwrap();
        let err = select_platform(&index, Some(&s390)).unwrap_err();
        assert!(
            err.contains("linux/s390x") && err.contains("linux/arm/v7"),
            "{err}"
        );
        assert!(PlatformSpec::parse("linux").is_err());
        assert!(PlatformSpec::parse("linux//v7").is_err());
    }

    #[test]
    fn layers_take_created_by_from_non_empty_history() {
        let manifest: Manifest = serde_json::from_str(&format!(
            r#"{{"schemaVersion":2,"mediaType":"{MEDIA_DOCKER_MANIFEST}",
            "config":{{"mediaType":"{MEDIA_DOCKER_CONFIG}","digest":"sha256:{H}","size":5}},
            "layers":[{{"mediaType":"{MEDIA_DOCKER_LAYER_GZIP}","digest":"sha256:{a}","size":10}},
                      {{"mediaType":"{MEDIA_DOCKER_LAYER_GZIP}","digest":"sha256:{b}","size":20}}]}}"#,
            a = "a".repeat(64),
            b = "b".repeat(64)
        ))
        .unwrap();
        let config: ImageConfig = serde_json::from_str(&format!(
            r#"{{"architecture":"amd64","os":"linux",
            "rootfs":{{"type":"layers","diff_ids":["sha256:{c}","sha256:{d}"]}},
            "history":[{{"created_by":"ADD rootfs.tar /"}},{{"created_by":"ENV A=1","empty_layer":true}},
                       {{"created_by":"RUN rm -rf /x"}}]}}"#,
            c = "c".repeat(64),
            d = "d".repeat(64)
        ))
        .unwrap();
        let layers = layers_from(&manifest, &config);
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0].created_by.as_deref(), Some("ADD rootfs.tar /"));
        assert_eq!(layers[1].created_by.as_deref(), Some("RUN rm -rf /x"));
        assert_eq!(
            layers[1].diff_id.as_deref(),
            Some(format!("sha256:{}", "d".repeat(64)).as_str())
        );
        assert_eq!(layers[1].size, Some(20));
        assert_eq!(config.platform().as_deref(), Some("linux/amd64"));
        match ManifestOrIndex::from_slice(b"{\"manifests\":[]}", None).unwrap() {
            ManifestOrIndex::Index(i) => assert!(i.manifests.is_empty()),
            ManifestOrIndex::Manifest(_) => panic!("index read as manifest"),
        }
    }

    #[test]
    fn docker_archive_manifest_reads_null_tags() {
        let entries: Vec<DockerArchiveEntry> = serde_json::from_str(
            r#"[{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"]}]"#,
        )
        .unwrap();
        assert!(entries[0].repo_tags.is_empty());
        assert_eq!(entries[0].layers, ["a/layer.tar"]);
    }
}
