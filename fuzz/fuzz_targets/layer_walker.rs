//! Fuzzes the layer walker: arbitrary bytes as the one layer blob of an
//! in-memory image (plain tar, gzip or zstd by magic bytes), walked with a
//! visitor that reads every file and checks the walker's promises about paths.
#![no_main]

use garrison_model::{LayerInfo, Warning};
use garrison_source::image::walk::walk_layers;
use garrison_source::image::MemoryImage;
use garrison_source::{EntryKind, EntryMeta, Limits, Visitor, Want};
use libfuzzer_sys::fuzz_target;
use std::io::Read;

struct ReadAll {
    bytes: u64,
}

fn check_path(path: &str) {
    assert!(path.starts_with('/'), "relative path {path:?}");
    assert!(
        path == "/" || !path.split('/').skip(1).any(|c| c.is_empty() || c == "." || c == ".."),
        "un-normalized path {path:?}"
    );
}

impl Visitor for ReadAll {
    fn layer_start(&mut self, _index: usize, _layer: &LayerInfo) {}
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        check_path(meta.path);
        if let EntryKind::Hardlink(target) = &meta.kind {
            check_path(target);
        }
        assert!(!meta.path.rsplit('/').next().unwrap_or("").starts_with(".wh."));
        Want::Read
    }
    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        let mut buf = [0u8; 8192];
        let mut got = 0u64;
        loop {
            let n = content.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        assert_eq!(got, meta.size, "content length differs from the entry size");
        self.bytes += got;
        Ok(())
    }
    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        check_path(meta.path);
        check_path(target);
    }
    fn remove(&mut self, path: &str, _layer: usize) {
        check_path(path);
    }
    fn clear_dir(&mut self, dir: &str, _layer: usize) {
        check_path(dir);
    }
    fn warning(&mut self, warning: Warning) {
        assert!(warning.input.starts_with("fuzz layer 0"));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut image = MemoryImage::new("fuzz", vec![data.to_vec()]);
    let limits = Limits {
        max_layer_bytes: 8 << 20,
        max_file_bytes: 1 << 20,
    };
    let mut visitor = ReadAll { bytes: 0 };
    let _ = walk_layers(&mut image, &mut visitor, &limits);
});
