//! The files a policy reads, inside one target and nothing outside it.
//!
//! - [`RootFs`] reads a directory tree (the host's `/` or a rootfs) through
//!   `garrison-source`'s [`Rootfs`], whose every open is `openat2(2)` with
//!   `RESOLVE_IN_ROOT`: absolute symlinks, `..` and racing renames all resolve
//!   inside the tree.
//! - [`MemFs`] holds an image's final filesystem **in memory**: one walk over
//!   the layers (whiteouts applied) records every entry's kind and symlink
//!   target and keeps the content of the files the policies can read (the
//!   `f:` paths and everything below the `d:` directories, each file at most
//!   [`MAX_FILE`] bytes). Nothing is unpacked to disk; symlinks are resolved
//!   by the same rules as `RESOLVE_IN_ROOT` (`..` stops at `/`, absolute
//!   targets start at the image's root, at most 40 hops).

use garrison_model::Warning;
use garrison_source::rootfs::Rootfs;
use garrison_source::{EntryKind, EntryMeta, Limits, Source, SourceError, Visitor, Want};
use rustix::fs::FileType;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::sync::Arc;

/// Most bytes of one file a rule reads.
pub const MAX_FILE: u64 = 16 << 20;

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// Read access to a target's files, by absolute paths inside it.
pub trait TargetFs {
    /// What `path` is after resolving symlinks inside the target; `Ok(None)`
    /// when it does not exist.
    fn kind(&self, path: &str) -> io::Result<Option<Kind>>;
    /// The content of the regular file `path` (symlinks resolved inside the
    /// target), at most [`MAX_FILE`] bytes.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Entries of the directory `path`, sorted, each with its own kind
    /// (symlinks reported as [`Kind::Symlink`], not followed).
    fn list(&self, path: &str) -> io::Result<Vec<(String, Kind)>>;
}

fn kind_of(ft: FileType) -> Kind {
    match ft {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// A directory tree read through `openat2(RESOLVE_IN_ROOT)`.
pub struct RootFs {
    root: Rootfs,
}

impl RootFs {
    pub fn new(root: Rootfs) -> RootFs {
        RootFs { root }
    }
}

fn missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

impl TargetFs for RootFs {
    fn kind(&self, path: &str) -> io::Result<Option<Kind>> {
        match self.root.stat_in_root(path) {
            Ok(m) => Ok(Some(kind_of(m.file_type))),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let f = self.root.open_in_root(path)?;
        let mut out = Vec::new();
        // Files in /proc report size 0: read to the end, bounded.
        f.take(MAX_FILE).read_to_end(&mut out)?;
        Ok(out)
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, Kind)>> {
        Ok(self
            .root
            .list_in_root(path)?
            .into_iter()
            .map(|(n, m)| (n, kind_of(m.file_type)))
            .collect())
    }
}

#[derive(Debug, Clone)]
enum Node {
    File {
        layer: usize,
        content: Option<Arc<[u8]>>,
    },
    Dir {
        layer: usize,
    },
    Symlink {
        layer: usize,
        target: String,
    },
    Other {
        layer: usize,
    },
}

impl Node {
    fn layer(&self) -> usize {
        match self {
            Node::File { layer, .. }
            | Node::Dir { layer }
            | Node::Symlink { layer, .. }
            | Node::Other { layer } => *layer,
        }
    }
}

/// An image's final filesystem, held in memory (see the module docs).
#[derive(Debug, Default)]
pub struct MemFs {
    nodes: BTreeMap<String, Node>,
    /// Paths (or directory prefixes ending in `/`) whose content is kept.
    wanted: Vec<String>,
    /// Problems met during the walk.
    pub warnings: Vec<Warning>,
}

impl MemFs {
    /// An empty tree that will keep the content of files at the `wanted`
    /// paths and below the `wanted_dirs` when a source is walked into it.
    pub fn new(wanted: &[String], wanted_dirs: &[String]) -> MemFs {
        let mut fs = MemFs::default();
        for w in wanted {
            fs.wanted.push(normalize(w));
        }
        for d in wanted_dirs {
            let mut d = normalize(d);
            if !d.ends_with('/') {
                d.push('/');
            }
            fs.wanted.push(d);
        }
        fs
    }

    /// The limits a walk into a [`MemFs`] uses.
    pub fn limits() -> Limits {
        Limits {
            max_file_bytes: MAX_FILE,
            ..Limits::default()
        }
    }

    /// After a walk: the wanted paths that lead, through symlinks, to files
    /// (or directories) whose content was not kept. When not empty, walk the
    /// source again into [`MemFs::again`].
    pub fn unresolved(&self) -> Vec<String> {
        let mut extra = BTreeSet::new();
        for w in &self.wanted {
            let candidates: Vec<String> = if let Some(dir) = w.strip_suffix('/') {
                let prefix = format!("{dir}/");
                self.nodes
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter(|(_, n)| matches!(n, Node::Symlink { .. }))
                    .map(|(k, _)| k.clone())
                    .chain(std::iter::once(dir.to_string()))
                    .collect()
            } else {
                vec![w.clone()]
            };
            for c in candidates {
                let Ok(Some(real)) = self.resolve(&c, true) else {
                    continue;
                };
                match self.nodes.get(&real) {
                    Some(Node::File { content: None, .. }) if !self.is_wanted(&real) => {
                        extra.insert(real);
                    }
                    // A wanted directory reached through a symlink: keep what is below it.
                    Some(Node::Dir { .. }) | None if real != c && w.ends_with('/') => {
                        let d = if real == "/" {
                            real
                        } else {
                            format!("{real}/")
                        };
                        if !self.wanted.contains(&d) {
                            extra.insert(d);
                        }
                    }
                    _ => {}
                }
            }
        }
        extra.into_iter().collect()
    }

    /// A fresh tree wanting everything this one did, plus `extra`.
    pub fn again(&self, extra: Vec<String>) -> MemFs {
        let mut wanted = self.wanted.clone();
        wanted.extend(extra);
        MemFs {
            wanted,
            ..MemFs::default()
        }
    }

    /// Walks `source` into a new tree (see [`MemFs::new`]); when wanted paths
    /// lead through symlinks to content that was not kept, walks a fresh
    /// source from `reopen` a second time.
    pub fn load(
        source: &mut dyn Source,
        wanted: &[String],
        wanted_dirs: &[String],
        reopen: &mut dyn FnMut() -> Result<Box<dyn Source>, SourceError>,
    ) -> Result<MemFs, SourceError> {
        let mut fs = MemFs::new(wanted, wanted_dirs);
        source.walk(&mut fs, &MemFs::limits())?;
        let extra = fs.unresolved();
        if extra.is_empty() {
            return Ok(fs);
        }
        let mut again = fs.again(extra);
        reopen()?.walk(&mut again, &MemFs::limits())?;
        again.warnings = fs.warnings;
        Ok(again)
    }

    fn is_wanted(&self, path: &str) -> bool {
        self.wanted.iter().any(|w| {
            if w.ends_with('/') {
                path.starts_with(w.as_str()) || path == w.trim_end_matches('/')
            } else {
                path == w
            }
        })
    }

    /// Resolves `path` to the key of an existing node, following symlinks
    /// inside the image (the last component too when `follow_last`).
    fn resolve(&self, path: &str, follow_last: bool) -> io::Result<Option<String>> {
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                cur.pop();
                continue;
            }
            cur.push(c);
            let key = format!("/{}", cur.join("/"));
            let is_last = pending.is_empty();
            match self.nodes.get(&key) {
                Some(Node::Symlink { target, .. }) if !is_last || follow_last => {
                    hops += 1;
                    if hops > 40 {
                        return Err(io::Error::other(format!(
                            "{path}: too many levels of symbolic links"
                        )));
                    }
                    cur.pop();
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    for t in components(target).into_iter().rev() {
                        pending.push(t);
                    }
                }
                Some(Node::File { .. }) | Some(Node::Other { .. }) | Some(Node::Symlink { .. })
                    if !is_last =>
                {
                    return Ok(None);
                }
                Some(_) => {}
                None => {
                    // A directory the archive never listed but whose children exist.
                    let prefix = format!("{key}/");
                    let implicit = self
                        .nodes
                        .range(prefix.clone()..)
                        .next()
                        .is_some_and(|(k, _)| k.starts_with(&prefix));
                    if !implicit {
                        return Ok(None);
                    }
                }
            }
        }
        Ok(Some(format!("/{}", cur.join("/"))))
    }
}

/// The parts of an absolute path, without empty parts and `.`.
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect()
}

/// `path` as an absolute path with `..` resolved lexically (stopping at `/`).
pub fn normalize(path: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in components(path) {
        if c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    format!("/{}", out.join("/"))
}

impl Visitor for MemFs {
    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        let layer = meta.layer.unwrap_or(0);
        let path = normalize(meta.path);
        let node = match &meta.kind {
            EntryKind::File => Node::File {
                layer,
                content: None,
            },
            EntryKind::Dir => Node::Dir { layer },
            EntryKind::Symlink(t) => Node::Symlink {
                layer,
                target: t.clone(),
            },
            EntryKind::Hardlink(_) => Node::File {
                layer,
                content: None,
            },
            EntryKind::Other => Node::Other { layer },
        };
        let wanted = matches!(node, Node::File { .. }) && self.is_wanted(&path);
        self.nodes.insert(path, node);
        if wanted {
            Want::Read
        } else {
            Want::Skip
        }
    }

    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> io::Result<()> {
        let mut buf = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0).min(1 << 20));
        content.take(MAX_FILE).read_to_end(&mut buf)?;
        let path = normalize(meta.path);
        if let Some(Node::File { content, .. }) = self.nodes.get_mut(&path) {
            *content = Some(Arc::from(buf));
        }
        Ok(())
    }

    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        let from = self.nodes.get(&normalize(target)).and_then(|n| match n {
            Node::File { content, .. } => content.clone(),
            _ => None,
        });
        if let Some(Node::File { content, .. }) = self.nodes.get_mut(&normalize(meta.path)) {
            *content = from;
        }
    }

    fn remove(&mut self, path: &str, _layer: usize) {
        let path = normalize(path);
        let prefix = format!("{path}/");
        self.nodes.remove(&path);
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.nodes.remove(&k);
        }
    }

    fn clear_dir(&mut self, dir: &str, layer: usize) {
        let dir = normalize(dir);
        let prefix = if dir == "/" { dir } else { format!("{dir}/") };
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, n)| n.layer() < layer)
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.nodes.remove(&k);
        }
    }

    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

impl TargetFs for MemFs {
    fn kind(&self, path: &str) -> io::Result<Option<Kind>> {
        let Some(key) = self.resolve(path, true)? else {
            return Ok(None);
        };
        Ok(Some(match self.nodes.get(&key) {
            Some(Node::File { .. }) => Kind::File,
            Some(Node::Dir { .. }) | None => Kind::Dir,
            Some(Node::Symlink { .. }) => Kind::Symlink,
            Some(Node::Other { .. }) => Kind::Other,
        }))
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let key = self
            .resolve(path, true)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file in the image"))?;
        match self.nodes.get(&key) {
            Some(Node::File {
                content: Some(c), ..
            }) => Ok(c.to_vec()),
            Some(Node::File { content: None, .. }) => Err(io::Error::other(format!(
                "{key}: content not kept from the image (larger than {MAX_FILE} bytes or unreadable)"
            ))),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )),
        }
    }

    fn list(&self, path: &str) -> io::Result<Vec<(String, Kind)>> {
        let key = self.resolve(path, true)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no such directory in the image")
        })?;
        let prefix = if key == "/" { key } else { format!("{key}/") };
        let mut out: BTreeMap<String, Kind> = BTreeMap::new();
        for (k, n) in self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            let rest = &k[prefix.len()..];
            let (name, deeper) = match rest.split_once('/') {
                Some((n, _)) => (n, true),
                None => (rest, false),
            };
            if name.is_empty() {
                continue;
            }
            let kind = if deeper {
                Kind::Dir
            } else {
                match n {
                    Node::File { .. } => Kind::File,
                    Node::Dir { .. } => Kind::Dir,
                    Node::Symlink { .. } => Kind::Symlink,
                    Node::Other { .. } => Kind::Other,
                }
            };
            out.entry(name.to_string()).or_insert(kind);
        }
        Ok(out.into_iter().collect())
    }
}
