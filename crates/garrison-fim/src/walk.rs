//! The walk over watched paths: depth-first, streaming. Memory is one open
//! directory stream per level (bounded by `max_depth`), never the tree; symlinks
//! are recorded, never followed, so a symlink loop cannot trap the walk.

use crate::config::{Config, Watch};
use crate::sys::{self, Stat};
use crate::Kind;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A path that could not be recorded or compared, and why. The scan goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container: String,
    pub path: String,
    pub reason: String,
}

/// One entry the walk found, with its `lstat`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Absolute path inside the root.
    pub path: String,
    /// The same entry as this process reaches it (under `/proc/PID/root` for a container).
    pub host: PathBuf,
    pub stat: Stat,
    /// Index of the watch it belongs to in [`Config::watches`].
    pub watch: usize,
}

pub enum Item {
    Entry(Entry),
    Problem(Problem),
}

/// `root` joined with an absolute in-root path.
pub fn host_path(root: &Path, path: &str) -> PathBuf {
    if root == Path::new("/") {
        PathBuf::from(path)
    } else {
        root.join(path.trim_start_matches('/'))
    }
}

/// Walks every watch of `config` under `root` (`/`, or `/proc/PID/root`),
/// calling `emit` for each recorded entry and each problem.
pub fn walk(config: &Config, root: &Path, container: &str, emit: &mut dyn FnMut(Item)) {
    for (i, w) in config.watches.iter().enumerate() {
        // A path watched twice is walked once.
        if config.watches[..i].iter().any(|o| o.path == w.path) {
            continue;
        }
        walk_one(config, i, w, root, container, emit);
    }
}

fn problem(container: &str, path: &str, reason: impl Into<String>) -> Item {
    Item::Problem(Problem {
        container: container.to_string(),
        path: path.to_string(),
        reason: reason.into(),
    })
}

fn records(w: &Watch, path: &str, stat: &Stat) -> bool {
    if !w.included(path) {
        return false;
    }
    if w.executables_only {
        return stat.kind == Kind::File && stat.mode & 0o111 != 0;
    }
    true
}

fn walk_one(
    config: &Config,
    index: usize,
    w: &Watch,
    root: &Path,
    container: &str,
    emit: &mut dyn FnMut(Item),
) {
    // Watches nested in this one are walked on their own, with their own settings.
    let nested: Vec<&str> = config
        .watches
        .iter()
        .filter(|o| o.path != w.path && w.covers(&o.path))
        .map(|o| o.path.as_str())
        .collect();
    let host = host_path(root, &w.path);
    let stat = match sys::lstat(&host) {
        Ok(s) => s,
        // An absent watched path is not a problem: if it appears, it is "added".
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            emit(problem(container, &w.path, format!("cannot stat: {e}")));
            return;
        }
    };
    if w.excluded(&w.path) {
        return;
    }
    if records(w, &w.path, &stat) {
        emit(Item::Entry(Entry {
            path: w.path.clone(),
            host: host.clone(),
            stat,
            watch: index,
        }));
    }
    if stat.kind != Kind::Dir || !w.recursive {
        return;
    }
    struct Frame {
        iter: std::fs::ReadDir,
        path: String,
        host: PathBuf,
    }
    let mut stack: Vec<Frame> = Vec::new();
    match sys::read_dir(&host) {
        Ok(iter) => stack.push(Frame {
            iter,
            path: w.path.clone(),
            host,
        }),
        Err(e) => emit(problem(container, &w.path, format!("cannot list: {e}"))),
    }
    while let Some(top) = stack.last_mut() {
        let next = match top.iter.next() {
            None => {
                stack.pop();
                continue;
            }
            Some(Err(e)) => {
                let path = top.path.clone();
                stack.pop();
                emit(problem(container, &path, format!("listing stopped: {e}")));
                continue;
            }
            Some(Ok(de)) => de,
        };
        let name = next.file_name();
        let parent = if top.path == "/" {
            ""
        } else {
            top.path.as_str()
        };
        let path = format!("{parent}/{}", sys::escape(name.as_encoded_bytes()));
        let host = top.host.join(&name);
        if w.excluded(&path) || nested.contains(&path.as_str()) {
            continue;
        }
        let stat = match sys::lstat(&host) {
            Ok(s) => s,
            // Vanished between the listing and the stat: nothing to record.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                emit(problem(container, &path, format!("cannot stat: {e}")));
                continue;
            }
        };
        if records(w, &path, &stat) {
            emit(Item::Entry(Entry {
                path: path.clone(),
                host: host.clone(),
                stat,
                watch: index,
            }));
        }
        if stat.kind == Kind::Dir {
            if stack.len() >= config.max_depth {
                emit(problem(
                    container,
                    &path,
                    format!("deeper than max_depth = {}: not entered", config.max_depth),
                ));
                continue;
            }
            match sys::read_dir(&host) {
                Ok(iter) => stack.push(Frame { iter, path, host }),
                Err(e) => emit(problem(container, &path, format!("cannot list: {e}"))),
            }
        }
    }
}
