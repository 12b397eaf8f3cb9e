//! The catalog: the visitor that runs every parser over a source's files and
//! assembles the final inventory.

use crate::{all_parsers, FileRef, Parser, ParserClass};
use garrison_model::{purl_for, Distro, Inventory, LayerInfo, Package, Target, Warning};
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek};
use std::time::Instant;

/// Paths read to learn the distro, most authoritative first.
const OS_RELEASE_PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// Copyright files larger than this are not read for their license fields.
const MAX_COPYRIGHT_BYTES: u64 = 1 << 20;

/// `/usr/share/doc/PKG/copyright`, where Debian packages declare their licenses.
fn is_dpkg_copyright(path: &str) -> bool {
    path.strip_prefix("/usr/share/doc/")
        .and_then(|rest| rest.strip_suffix("/copyright"))
        .is_some_and(|pkg| !pkg.is_empty() && !pkg.contains('/'))
}

/// What the parsers made of the current version of one file.
#[derive(Debug, Clone)]
struct FileResult {
    layer: Option<usize>,
    class: ParserClass,
    packages: Vec<Package>,
}

type NameVersion = (String, String);

/// Runs parsers over the entries of a walk and builds the [`Inventory`].
pub struct Catalog {
    parsers: Vec<Box<dyn Parser>>,
    layers: Vec<LayerInfo>,
    /// Current results per path; replaced when a later layer rewrites the file,
    /// dropped when a later layer deletes it.
    files: BTreeMap<String, Vec<FileResult>>,
    /// For OS package databases: per path, per layer, which packages it listed.
    os_history: HashMap<String, Vec<(usize, HashSet<NameVersion>)>>,
    os_release: BTreeMap<String, (Option<usize>, Distro)>,
    /// Licenses declared in `/usr/share/doc/PKG/copyright`, per path: dpkg keeps
    /// none in its database.
    copyrights: BTreeMap<String, (Option<usize>, Vec<String>)>,
    /// Indices of the parsers that matched the entry `want` last said yes to.
    pending: Vec<usize>,
    pending_os_release: bool,
    pending_copyright: bool,
    warnings: Vec<Warning>,
    files_seen: u64,
    files_read: u64,
    bytes_read: u64,
    started: Instant,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new(all_parsers())
    }
}

impl Catalog {
    pub fn new(parsers: Vec<Box<dyn Parser>>) -> Catalog {
        Catalog {
            parsers,
            layers: Vec::new(),
            files: BTreeMap::new(),
            os_history: HashMap::new(),
            os_release: BTreeMap::new(),
            copyrights: BTreeMap::new(),
            pending: Vec::new(),
            pending_os_release: false,
            pending_copyright: false,
            warnings: Vec::new(),
            files_seen: 0,
            files_read: 0,
            bytes_read: 0,
            started: Instant::now(),
        }
    }

    /// Files seen and bytes read so far, for progress display.
    pub fn progress(&self) -> (u64, u64, u64) {
        (self.files_seen, self.files_read, self.bytes_read)
    }

    /// Runs the parsers over one file's content (used by the visitor and by tests).
    pub fn add_file(&mut self, file: &FileRef<'_>, layer: Option<usize>, content: &[u8]) {
        let mut results = Vec::new();
        let matched: Vec<usize> = if self.pending.is_empty() {
            (0..self.parsers.len())
                .filter(|&i| self.parsers[i].matches(file))
                .collect()
        } else {
            std::mem::take(&mut self.pending)
        };
        for i in matched {
            let parser = &self.parsers[i];
            match parser.parse(file, content) {
                Ok(parsed) => {
                    self.warnings.extend(parsed.warnings);
                    let class = parser.class();
                    if class == ParserClass::OsDatabase {
                        if let Some(l) = layer {
                            let set = parsed
                                .packages
                                .iter()
                                .map(|p| (p.name.clone(), p.version.clone()))
                                .collect();
                            let h = self.os_history.entry(file.path.to_string()).or_default();
                            // `want` marked the old copy gone in this layer; this copy replaces the mark.
                            if h.last().is_some_and(|(pl, _)| *pl == l) {
                                h.pop();
                            }
                            h.push((l, set));
                        }
                    }
                    results.push(FileResult {
                        layer,
                        class,
                        packages: parsed.packages,
                    });
                }
                Err(e) => self.warnings.push(Warning::new(file.path, e.to_string())),
            }
        }
        if !results.is_empty() {
            self.files.insert(file.path.to_string(), results);
        }
    }

    /// Drops what a whiteout (`opaque == false`: `path` and all below it) or an
    /// opaque directory (`opaque == true`: what lower layers put below `path`)
    /// in `layer` removed.
    fn drop_removed(&mut self, path: &str, layer: usize, opaque: bool) {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let under = |k: &str| k.starts_with(&prefix) || (!opaque && k == path);
        let from_lower = |l: Option<usize>| !opaque || l.is_none_or(|l| l < layer);
        let mut doomed: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, v)| v.iter().all(|r| from_lower(r.layer)))
            .map(|(k, _)| k.clone())
            .collect();
        if under(path) && self.files.contains_key(path) {
            doomed.push(path.to_string());
        }
        for k in doomed {
            self.files.remove(&k);
            if let Some(h) = self.os_history.get_mut(&k) {
                h.push((layer, HashSet::new()));
            }
        }
        self.os_release
            .retain(|k, (l, _)| !(under(k) && from_lower(*l)));
        self.copyrights
            .retain(|k, (l, _)| !(under(k) && from_lower(*l)));
    }

    /// Assembles the inventory: distro, layer attribution, purls, order.
    pub fn finish(mut self, target: Target) -> Inventory {
        let mut inv = Inventory::new(target);
        inv.distro = OS_RELEASE_PATHS
            .iter()
            .find_map(|p| self.os_release.get(*p).map(|(_, d)| d.clone()));
        let files = std::mem::take(&mut self.files);
        for (path, results) in files {
            for r in results {
                for mut pkg in r.packages {
                    let layer = match r.class {
                        ParserClass::OsDatabase => self.introduced_in(&path, &pkg).or(r.layer),
                        ParserClass::Other => r.layer,
                    };
                    if pkg.ecosystem == garrison_model::Ecosystem::Deb && pkg.licenses.is_empty() {
                        if let Some((_, l)) = self
                            .copyrights
                            .get(&format!("/usr/share/doc/{}/copyright", pkg.name))
                        {
                            pkg.licenses = l.clone();
                        }
                    }
                    pkg.layer = layer
                        .and_then(|l| self.layers.get(l))
                        .map(|l| l.digest.clone());
                    if pkg.purl.is_empty() {
                        match purl_for(&pkg, inv.distro.as_ref()) {
                            Ok(p) => pkg.purl = p,
                            Err(e) => self
                                .warnings
                                .push(Warning::new(pkg.location.clone(), e.to_string())),
                        }
                    }
                    inv.packages.push(pkg);
                }
            }
        }
        inv.layers = self.layers;
        inv.warnings = self.warnings;
        inv.stats.files_seen = self.files_seen;
        inv.stats.files_read = self.files_read;
        inv.stats.bytes_read = self.bytes_read;
        inv.stats.duration_ms = self.started.elapsed().as_millis() as u64;
        inv.sort();
        inv
    }

    /// The first layer of the unbroken run of layers, ending at the last one,
    /// whose copy of the database at `path` lists this package at this version.
    fn introduced_in(&self, path: &str, pkg: &Package) -> Option<usize> {
        let history = self.os_history.get(path)?;
        let key = (pkg.name.clone(), pkg.version.clone());
        let mut first = None;
        for (layer, set) in history.iter().rev() {
            if set.contains(&key) {
                first = Some(*layer);
            } else {
                break;
            }
        }
        first
    }
}

impl Visitor for Catalog {
    fn layer_start(&mut self, index: usize, layer: &LayerInfo) {
        if self.layers.len() <= index {
            self.layers.resize(index + 1, layer.clone());
        }
        self.layers[index] = layer.clone();
    }

    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        self.files_seen += 1;
        self.pending.clear();
        self.pending_os_release = false;
        self.pending_copyright = false;
        // A later layer that rewrites a path replaces whatever the file said before.
        if meta.layer.is_some() && meta.kind != EntryKind::Dir {
            if self.files.remove(meta.path).is_some() {
                if let (Some(h), Some(l)) = (self.os_history.get_mut(meta.path), meta.layer) {
                    h.push((l, HashSet::new()));
                }
            }
            self.os_release.remove(meta.path);
            self.copyrights.remove(meta.path);
        }
        if meta.kind != EntryKind::File {
            return Want::Skip;
        }
        let file = FileRef {
            path: meta.path,
            size: meta.size,
            executable: meta.is_executable(),
        };
        self.pending_os_release = OS_RELEASE_PATHS.contains(&meta.path);
        self.pending_copyright = is_dpkg_copyright(meta.path) && meta.size <= MAX_COPYRIGHT_BYTES;
        self.pending = (0..self.parsers.len())
            .filter(|&i| self.parsers[i].matches(&file))
            .collect();
        if self.pending.is_empty() && !self.pending_os_release && !self.pending_copyright {
            Want::Skip
        } else {
            Want::Read
        }
    }

    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(meta.size.min(64 << 20) as usize);
        content.read_to_end(&mut buf)?;
        self.files_read += 1;
        self.bytes_read += buf.len() as u64;
        if std::mem::take(&mut self.pending_os_release) {
            if let Some(d) = crate::os::parse_os_release(&buf) {
                self.os_release
                    .insert(meta.path.to_string(), (meta.layer, d));
            }
        }
        if std::mem::take(&mut self.pending_copyright) {
            let licenses = crate::os::dpkg::copyright_licenses(&buf);
            if !licenses.is_empty() {
                self.copyrights
                    .insert(meta.path.to_string(), (meta.layer, licenses));
            }
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let file = FileRef {
            path: meta.path,
            size: meta.size,
            executable: meta.is_executable(),
        };
        self.add_file(&file, meta.layer, &buf);
        Ok(())
    }

    fn wants_random_access(&self, _meta: &EntryMeta<'_>) -> bool {
        !self.pending_os_release
            && !self.pending_copyright
            && !self.pending.is_empty()
            && self.pending.iter().all(|&i| self.parsers[i].has_precheck())
    }

    fn file_at(&mut self, meta: &EntryMeta<'_>, file: &mut std::fs::File) -> std::io::Result<()> {
        let worth = self
            .pending
            .iter()
            .any(|&i| self.parsers[i].worth_reading(file));
        if !worth {
            self.pending.clear();
            return Ok(());
        }
        file.seek(std::io::SeekFrom::Start(0))?;
        self.file(meta, &mut Read::by_ref(file).take(meta.size))
    }

    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        if let Some(results) = self.files.get(target).cloned() {
            let results = results
                .into_iter()
                .map(|mut r| {
                    r.layer = meta.layer;
                    for p in &mut r.packages {
                        p.location = meta.path.to_string();
                    }
                    r
                })
                .collect();
            self.files.insert(meta.path.to_string(), results);
        }
    }

    fn remove(&mut self, path: &str, layer: usize) {
        self.drop_removed(path, layer, false);
    }

    fn clear_dir(&mut self, dir: &str, layer: usize) {
        self.drop_removed(dir, layer, true);
    }

    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}
