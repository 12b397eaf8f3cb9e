use crate::{Distro, Ecosystem, Package};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the JSON shape of [`Inventory`]; bumped on any incompatible change.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// What kind of thing was inventoried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// An image from a docker-archive, OCI archive, OCI layout or registry.
    Image,
    /// A root filesystem (a host, a mounted snapshot, an unpacked image).
    Rootfs,
    /// A source tree with lockfiles.
    Filesystem,
    /// A running container, read through `/proc/PID/root`.
    Container,
    /// A CycloneDX or SPDX document read as the inventory it states.
    Sbom,
}

/// The thing that was inventoried, as the user named it and as it resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    /// As the user wrote it: `./app.tar`, `oci:./layout:1.0`, `registry:5000/app:1.2`, `/`.
    pub name: String,
    /// Image manifest digest, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Image config digest (the image ID), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Repository tags the image carries, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `os/arch[/variant]` of an image, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// For containers: the container ID and the PID whose root was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl Target {
    pub fn new(kind: TargetKind, name: impl Into<String>) -> Target {
        Target {
            kind,
            name: name.into(),
            digest: None,
            image_id: None,
            tags: Vec::new(),
            platform: None,
            container_id: None,
            pid: None,
        }
    }
}

/// One image layer, in application order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the layer blob as stored (compressed), `sha256:...`.
    pub digest: String,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Media type of the blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Compressed size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The history `created_by` line for this layer, when the config has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// Something went wrong with one input, and the run went on without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The input that failed: a file path inside the target, a layer digest, an archive.
    pub input: String,
    /// What happened and, where useful, what to do about it.
    pub message: String,
}

impl Warning {
    pub fn new(input: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            input: input.into(),
            message: message.into(),
        }
    }
}

/// The complete inventory of one target: the data every SBOM presenter renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub schema_version: u32,
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerInfo>,
    /// Sorted by ecosystem, name, version, location.
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Files examined, bytes read, and how long it took.
    pub stats: Stats,
}

/// Counters for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub files_seen: u64,
    pub files_read: u64,
    pub bytes_read: u64,
    pub duration_ms: u64,
}

impl Inventory {
    pub fn new(target: Target) -> Inventory {
        Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            target,
            distro: None,
            layers: Vec::new(),
            packages: Vec::new(),
            warnings: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Package counts per ecosystem, for the summary line.
    pub fn counts(&self) -> BTreeMap<Ecosystem, usize> {
        let mut m = BTreeMap::new();
        for p in &self.packages {
            *m.entry(p.ecosystem).or_insert(0) += 1;
        }
        m
    }

    /// Sorts packages into their canonical order.
    pub fn sort(&mut self) {
        self.packages.sort_by(|a, b| {
            (a.ecosystem, &a.namespace, &a.name, &a.version, &a.location).cmp(&(
                b.ecosystem,
                &b.namespace,
                &b.name,
                &b.version,
                &b.location,
            ))
        });
    }
}
