//! A real Debian 12 image (two layers, the second purging a package, so with
//! whiteouts) pushed to a real registry on 127.0.0.1 and pulled back walks
//! exactly like the OCI archive it was pushed from: same entries, same file
//! contents (by sha256), same whiteouts, layer by layer.
//!
//! Needs fixtures/debian/make.sh (the image) and the packages docker-registry
//! and skopeo.

mod registry_support;

use garrison_model::{LayerInfo, Warning};
use garrison_source::image::archive::ArchiveImage;
use garrison_source::image::registry::{RegistryImage, RegistryOptions};
use garrison_source::image::Image;
use garrison_source::{EntryKind, EntryMeta, Limits, Source, Visitor, Want};
use registry_support::{Mode, Registry};
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Everything a walk said, with file contents reduced to their sha256 so a
/// 127 MB root filesystem is compared without being held in memory.
#[derive(Default)]
struct Hashing {
    events: Vec<String>,
    warnings: Vec<Warning>,
}

impl Visitor for Hashing {
    fn layer_start(&mut self, index: usize, layer: &LayerInfo) {
        self.events.push(format!("layer {index} {}", layer.digest));
    }
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        self.events.push(format!(
            "entry {} {:?} {} {:o} {:?}",
            meta.path, meta.kind, meta.size, meta.mode, meta.layer
        ));
        if meta.kind == EntryKind::File {
            Want::Read
        } else {
            Want::Skip
        }
    }
    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        let mut hasher = Sha256::new();
        let mut buf = [0u8; 64 << 10];
        loop {
            let n = content.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        self.events.push(format!(
            "file {} {}",
            meta.path,
            hex::encode(hasher.finalize())
        ));
        Ok(())
    }
    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        self.events.push(format!("hardlink {} {target}", meta.path));
    }
    fn remove(&mut self, path: &str, layer: usize) {
        self.events.push(format!("remove {path} {layer}"));
    }
    fn clear_dir(&mut self, dir: &str, layer: usize) {
        self.events.push(format!("clear {dir} {layer}"));
    }
    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

fn debian_fixture(name: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    let p = base.join("debian").join(name);
    assert!(
        p.exists(),
        "fixture {} is missing: run fixtures/debian/make.sh (as root) first",
        p.display()
    );
    p
}

fn walk(source: &mut dyn Source) -> Hashing {
    let mut v = Hashing::default();
    if let Err(e) = source.walk(&mut v, &Limits::default()) {
        panic!("walk {}: {e}", source.target().name);
    }
    v
}

#[test]
fn debian_image_with_whiteouts_pulls_like_its_archive() {
    let archive_path = debian_fixture("purged-oci.tar");
    let registry = Registry::start(Mode::Anonymous);
    registry.push(
        &format!("oci-archive:{}", archive_path.display()),
        "debian/purged:12",
        false,
    );
    let pulled = match RegistryImage::open(
        &format!("{}/debian/purged:12", registry.host()),
        &RegistryOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => panic!("open: {e}"),
    };
    let archive = ArchiveImage::open("purged-oci.tar", &archive_path, None).expect("archive");
    let mut pulled = Image(pulled);
    let mut archive = Image(archive);
    assert_eq!(pulled.target().digest, archive.target().digest);
    assert_eq!(pulled.target().image_id, archive.target().image_id);

    let got = walk(&mut pulled);
    let want = walk(&mut archive);
    assert_eq!(got.warnings, want.warnings);
    assert!(got.events.len() > 5000, "only {} events", got.events.len());
    assert!(
        got.events.iter().any(|e| e.starts_with("remove ")),
        "the second layer's whiteouts are reported"
    );
    assert!(got
        .events
        .iter()
        .any(|e| e.starts_with("file /var/lib/dpkg/status ")));
    assert_eq!(got.events.len(), want.events.len());
    if let Some(i) = (0..got.events.len()).find(|&i| got.events.get(i) != want.events.get(i)) {
        panic!(
            "walks differ at event {i}: registry {:?}, archive {:?}",
            got.events.get(i),
            want.events.get(i)
        );
    }
}
