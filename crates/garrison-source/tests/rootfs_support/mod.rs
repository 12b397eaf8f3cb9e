//! Helpers shared by the rootfs/container tests: a recording visitor and fixture lookup.
#![allow(dead_code)]

use garrison_model::Warning;
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

/// Records every entry, reads the files `read` selects, keeps warnings.
pub struct Recorder {
    pub read: Box<dyn FnMut(&EntryMeta<'_>) -> bool>,
    pub entries: BTreeMap<String, (EntryKind, u64, u32)>,
    pub order: Vec<String>,
    pub contents: BTreeMap<String, Vec<u8>>,
    pub warnings: Vec<Warning>,
}

impl Recorder {
    pub fn new(read: impl FnMut(&EntryMeta<'_>) -> bool + 'static) -> Recorder {
        Recorder {
            read: Box::new(read),
            entries: BTreeMap::new(),
            order: Vec::new(),
            contents: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    pub fn warned_about(&self, path: &str) -> Option<&Warning> {
        self.warnings.iter().find(|w| w.input == path)
    }
}

impl Visitor for Recorder {
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        assert!(
            meta.path.starts_with('/'),
            "path not absolute: {}",
            meta.path
        );
        assert!(
            !meta.path.split('/').any(|c| c == ".." || c == "."),
            "path not normalized: {}",
            meta.path
        );
        assert_eq!(meta.layer, None);
        let prev = self.entries.insert(
            meta.path.to_string(),
            (meta.kind.clone(), meta.size, meta.mode),
        );
        assert!(prev.is_none(), "{} visited twice", meta.path);
        self.order.push(meta.path.to_string());
        if (self.read)(meta) {
            Want::Read
        } else {
            Want::Skip
        }
    }

    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        let mut buf = Vec::new();
        content.read_to_end(&mut buf)?;
        assert_eq!(
            buf.len() as u64,
            meta.size,
            "{}: size differs from content",
            meta.path
        );
        self.contents.insert(meta.path.to_string(), buf);
        Ok(())
    }

    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

/// `<workspace>/fixtures/out/<scenario>` (or `$GARRISON_FIXTURES/<scenario>`);
/// panics naming the script that makes it when it is missing.
pub fn fixture_dir(scenario: &str) -> PathBuf {
    let base = std::env::var_os("GARRISON_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"));
    let dir = base.join(scenario);
    assert!(
        dir.is_dir(),
        "fixture {} is missing: run fixtures/{scenario}/make.sh (as root) first",
        dir.display()
    );
    dir
}

pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
