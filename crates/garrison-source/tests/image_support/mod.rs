//! Shared by the image_*.rs tests: a visitor that records everything it is
//! told, the filesystem view that results from applying it, and builders for
//! hand-made hostile layers and layouts.
#![allow(dead_code)]

use garrison_model::{LayerInfo, Warning};
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One call the walker made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Layer(usize, String),
    Entry {
        path: String,
        kind: EntryKind,
        size: u64,
        mode: u32,
        layer: usize,
    },
    File(String, Vec<u8>),
    Hardlink(String, String),
    Remove(String, usize),
    ClearDir(String, usize),
}

/// Records every call; wants the content of every file.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
}

impl Visitor for Recorder {
    fn layer_start(&mut self, index: usize, layer: &LayerInfo) {
        self.events.push(Event::Layer(index, layer.digest.clone()));
    }
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        assert!(meta.path.starts_with('/'), "relative path {}", meta.path);
        assert!(
            !meta.path.split('/').any(|c| c == ".." || c == "."),
            "un-normalized path {}",
            meta.path
        );
        self.events.push(Event::Entry {
            path: meta.path.to_string(),
            kind: meta.kind.clone(),
            size: meta.size,
            mode: meta.mode,
            layer: meta.layer.unwrap_or(usize::MAX),
        });
        Want::Read
    }
    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        let mut buf = Vec::new();
        content.read_to_end(&mut buf)?;
        self.events.push(Event::File(meta.path.to_string(), buf));
        Ok(())
    }
    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        self.events
            .push(Event::Hardlink(meta.path.to_string(), target.to_string()));
    }
    fn remove(&mut self, path: &str, layer: usize) {
        self.events.push(Event::Remove(path.to_string(), layer));
    }
    fn clear_dir(&mut self, dir: &str, layer: usize) {
        self.events.push(Event::ClearDir(dir.to_string(), layer));
    }
    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

/// A path in the final filesystem view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: EntryKind,
    pub layer: usize,
    pub content: Option<Vec<u8>>,
}

impl Recorder {
    /// Entries (not whiteouts) of one layer, as (path, kind).
    pub fn entries_of(&self, layer: usize) -> Vec<(String, EntryKind)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Entry {
                    path,
                    kind,
                    layer: l,
                    ..
                } if *l == layer => Some((path.clone(), kind.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn removals(&self) -> Vec<(String, usize)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Remove(p, l) => Some((p.clone(), *l)),
                _ => None,
            })
            .collect()
    }

    pub fn cleared(&self) -> Vec<(String, usize)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ClearDir(p, l) => Some((p.clone(), *l)),
                _ => None,
            })
            .collect()
    }

    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::File(p, c) => Some((p.clone(), c.clone())),
                _ => None,
            })
            .collect()
    }

    /// The filesystem that results from applying the layers in order, with
    /// whiteouts, as a consumer of the walk would build it.
    pub fn merged(&self) -> BTreeMap<String, Node> {
        let mut fs: BTreeMap<String, Node> = BTreeMap::new();
        let below = |p: &str, dir: &str| {
            if dir == "/" {
                p != "/"
            } else {
                p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
            }
        };
        for e in &self.events {
            match e {
                Event::Entry {
                    path, kind, layer, ..
                } => {
                    fs.insert(
                        path.clone(),
                        Node {
                            kind: kind.clone(),
                            layer: *layer,
                            content: None,
                        },
                    );
                }
                Event::File(p, c) => {
                    if let Some(n) = fs.get_mut(p) {
                        n.content = Some(c.clone());
                    }
                }
                Event::Remove(p, _) => fs.retain(|k, _| k != p && !below(k, p)),
                Event::ClearDir(d, layer) => fs.retain(|k, n| !(below(k, d) && n.layer < *layer)),
                Event::Layer(..) | Event::Hardlink(..) => {}
            }
        }
        fs
    }
}

/// Where generated fixtures live (`GARRISON_FIXTURES` or `<workspace>/fixtures/out`).
pub fn fixture(scenario: &str, name: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    let p = base.join(scenario).join(name);
    assert!(
        p.exists(),
        "fixture {} is missing: run fixtures/{scenario}/make.sh (as root) first",
        p.display()
    );
    p
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A tar entry for hand-made layers; the name is written raw into the header,
/// so `..` and absolute paths go in as given.
pub enum T<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    CharDev(&'a str),
    Fifo(&'a str),
}

pub fn layer_tar(entries: &[T<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, data): (&str, &[u8]) = match e {
            T::File(n, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                (n, d)
            }
            T::Dir(n) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                (n, &[])
            }
            T::Symlink(n, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                raw_link(&mut h, t);
                h.set_mode(0o777);
                (n, &[])
            }
            T::Hardlink(n, t) => {
                h.set_entry_type(tar::EntryType::Link);
                raw_link(&mut h, t);
                h.set_mode(0o644);
                (n, &[])
            }
            T::CharDev(n) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_device_major(1).unwrap();
                h.set_device_minor(3).unwrap();
                h.set_mode(0o666);
                (n, &[])
            }
            T::Fifo(n) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                (n, &[])
            }
        };
        let gnu = h.as_gnu_mut().unwrap();
        assert!(name.len() < 100, "test names stay short");
        gnu.name = [0; 100];
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

fn raw_link(h: &mut tar::Header, target: &str) {
    let gnu = h.as_gnu_mut().unwrap();
    gnu.linkname = [0; 100];
    gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Writes an OCI layout at `dir` holding one image with `layers` (stored
/// bytes). `omit` names blobs to leave out. Returns the layer digests.
pub fn write_layout(dir: &Path, layers: &[Vec<u8>], tag: &str, omit: &[usize]) -> Vec<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(&d[7..]), bytes).unwrap();
        d
    };
    let mut digests = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let d = sha256(l);
        if !omit.contains(&i) {
            put(l);
        }
        digests.push(d);
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": digests},
        "history": digests.iter().enumerate().map(|(i, _)| serde_json::json!({"created_by": format!("layer {i}")})).collect::<Vec<_>>(),
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers.iter().zip(&digests).map(|(l, d)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": l.len()})).collect::<Vec<_>>(),
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = put(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": tag}}],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    digests
}

/// Tars up a directory (an OCI layout) into an archive file.
pub fn tar_dir(dir: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let mut b = tar::Builder::new(f);
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}
