//! Canonical paths for events: kernel-walked paths mapped to host paths for
//! containers, and path-string arguments (unlink, rename, chmod, mkdir, ...)
//! joined to the process's cwd/dirfd and root and resolved beneath that root with
//! `openat2(RESOLVE_IN_ROOT)`, so symlinks and `..` cannot hide the real target.

use crate::abi::{kdev_pair, PathItem};
use crate::sys;
use garrison_event::{FilePath, Resolution};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Mount points of filesystems mounted at their root, by device, from
/// `/proc/self/mountinfo` (the agent's, i.e. the host's, mount namespace).
#[derive(Debug, Default)]
pub struct Mounts {
    by_dev: HashMap<(u32, u32), String>,
    loaded: Option<Instant>,
}

impl Mounts {
    /// Parses mountinfo text.
    pub fn parse(text: &str) -> HashMap<(u32, u32), String> {
        let mut by_dev = HashMap::new();
        for line in text.lines() {
            let mut f = line.split(' ');
            let (Some(_id), Some(_parent), Some(dev), Some(root), Some(mp)) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if root != "/" {
                continue;
            }
            let Some((ma, mi)) = dev.split_once(':') else {
                continue;
            };
            let (Ok(ma), Ok(mi)) = (ma.parse::<u32>(), mi.parse::<u32>()) else {
                continue;
            };
            by_dev.entry((ma, mi)).or_insert_with(|| unescape(mp));
        }
        by_dev
    }

    fn reload(&mut self) {
        if let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") {
            self.by_dev = Mounts::parse(&text);
        }
        self.loaded = Some(Instant::now());
    }

    /// Where the filesystem with kernel device `kdev` is mounted on the host.
    pub fn mountpoint(&mut self, kdev: u32) -> Option<&str> {
        let key = kdev_pair(kdev);
        let stale = self
            .loaded
            .is_none_or(|t| t.elapsed() > Duration::from_millis(200));
        if !self.by_dev.contains_key(&key) && stale {
            self.reload();
        }
        self.by_dev.get(&key).map(String::as_str)
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Collapses `.`, `..` and repeated slashes of an absolute path, lexically.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn join(base: &str, rel: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

/// Strips `prefix` (a directory) from `path`; `/` when they are equal.
fn strip_dir<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix == "/" {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some("/")
    } else if rest.starts_with('/') {
        Some(rest)
    } else {
        None
    }
}

/// Turns the kernel's path items into [`FilePath`]s.
#[derive(Debug)]
pub struct Resolver {
    host_mntns: u32,
    mounts: Mounts,
}

impl Resolver {
    /// A resolver for an agent running in mount namespace `host_mntns`.
    pub fn new(host_mntns: u32) -> Self {
        Resolver {
            host_mntns,
            mounts: Mounts::default(),
        }
    }

    /// The host directory that is the root of mount namespace `mntns`, given the
    /// device of that namespace's root mount.
    fn ns_root(&mut self, mntns: u32, dev: u32) -> Option<String> {
        if mntns == self.host_mntns {
            Some("/".to_string())
        } else {
            self.mounts.mountpoint(dev).map(str::to_string)
        }
    }

    /// A path walked by the kernel from a `struct file` or dentry.
    pub fn kernel(&mut self, item: PathItem<'_>, mntns: u32, raw: Option<&[u8]>) -> FilePath {
        let path = String::from_utf8_lossy(item.path).into_owned();
        let raw = raw
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .filter(|r| *r != path);
        if item.detached() {
            // a pseudo file: its name without a directory (`memfd:x`)
            return FilePath {
                path: path.trim_start_matches('/').to_string(),
                host_path: None,
                resolution: Resolution::Kernel,
                raw,
            };
        }
        if !item.complete() {
            return FilePath {
                path,
                host_path: None,
                resolution: Resolution::Unresolved,
                raw,
            };
        }
        let host_path = if mntns == self.host_mntns {
            None
        } else {
            self.mounts
                .mountpoint(item.dev)
                .filter(|mp| *mp != "/")
                .map(|mp| {
                    if path == "/" {
                        mp.to_string()
                    } else {
                        format!("{mp}{path}")
                    }
                })
        };
        FilePath {
            path,
            host_path,
            resolution: Resolution::Kernel,
            raw,
        }
    }

    /// A path argument, joined to `base` (cwd or dirfd; used when `raw` is
    /// relative) within the process root `root`, and resolved beneath that root.
    /// `follow_last`: the call follows a symlink in the final component (chmod,
    /// chown, mount); otherwise the final component is the argument's own.
    pub fn joined(
        &mut self,
        raw: &[u8],
        base: Option<PathItem<'_>>,
        root: Option<PathItem<'_>>,
        mntns: u32,
        follow_last: bool,
    ) -> FilePath {
        let raw_s = String::from_utf8_lossy(raw).into_owned();
        let root_path = root
            .filter(|r| r.complete())
            .map(|r| String::from_utf8_lossy(r.path).into_owned())
            .unwrap_or_else(|| "/".to_string());
        let ns_abs = if raw_s.starts_with('/') {
            join(&root_path, raw_s.trim_start_matches('/'))
        } else if let Some(b) = base.filter(|b| b.complete()) {
            join(&String::from_utf8_lossy(b.path), &raw_s)
        } else {
            return FilePath {
                path: raw_s,
                host_path: None,
                resolution: Resolution::Unresolved,
                raw: None,
            };
        };
        let lexical = normalize(&ns_abs);
        let dev = root.or(base).map(|p| p.dev).unwrap_or(0);
        let unresolved = |path: String, raw_s: String| FilePath {
            raw: (raw_s != path).then_some(raw_s),
            path,
            host_path: None,
            resolution: Resolution::Unresolved,
        };
        let Some(host_root) = self.ns_root(mntns, dev) else {
            return unresolved(lexical, raw_s);
        };
        let resolved = resolve_beneath(&host_root, &ns_abs, follow_last);
        match resolved {
            Some(host) => {
                let Some(inside) = strip_dir(&host, &host_root).map(str::to_string) else {
                    return unresolved(lexical, raw_s);
                };
                let host_path = (host_root != "/").then_some(host);
                FilePath {
                    raw: (raw_s != inside).then_some(raw_s),
                    path: inside,
                    host_path,
                    resolution: Resolution::Joined,
                }
            }
            None => unresolved(lexical, raw_s),
        }
    }
}

/// Resolves the absolute (namespace) path `ns_abs` beneath the host directory
/// `host_root`: the parent through symlinks and `..`, the final component as given
/// (or followed too when `follow_last` and it exists). Returns the host path.
fn resolve_beneath(host_root: &str, ns_abs: &str, follow_last: bool) -> Option<String> {
    let trimmed = ns_abs.trim_end_matches('/');
    let rel = trimmed.trim_start_matches('/');
    let root = Path::new(host_root);
    if rel.is_empty() {
        return Some(host_root.to_string());
    }
    let (parent, last) = match rel.rsplit_once('/') {
        Some((p, l)) => (p, l),
        None => ("", rel),
    };
    if follow_last || last == "." || last == ".." {
        if let Ok(p) = sys::resolve_in_root(root, rel, true) {
            return Some(p.to_string_lossy().into_owned());
        }
        if last == "." || last == ".." {
            return None;
        }
    }
    let parent = sys::resolve_in_root(root, parent, true).ok()?;
    Some(join(&parent.to_string_lossy(), last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normalize("/../.."), "/");
    }

    #[test]
    fn mountinfo_maps_devices_of_root_mounts() {
        let text = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    30 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
                    31 30 8:1 /srv /mnt/bind rw - ext4 /dev/sda1 rw\n\
                    40 30 0:55 / /var/lib/containers/storage/overlay/abc/merged rw - overlay overlay rw\n\
                    41 30 0:56 / /mnt/with\\040space rw - tmpfs tmpfs rw\n\
                    garbage\n";
        let m = Mounts::parse(text);
        assert_eq!(m.get(&(8, 1)).map(String::as_str), Some("/"));
        assert_eq!(
            m.get(&(0, 55)).map(String::as_str),
            Some("/var/lib/containers/storage/overlay/abc/merged")
        );
        assert_eq!(m.get(&(0, 56)).map(String::as_str), Some("/mnt/with space"));
    }

    #[test]
    fn strip_dir_needs_a_component_boundary() {
        assert_eq!(strip_dir("/x/merged/etc", "/x/merged"), Some("/etc"));
        assert_eq!(strip_dir("/x/merged", "/x/merged"), Some("/"));
        assert_eq!(strip_dir("/x/mergedX", "/x/merged"), None);
        assert_eq!(strip_dir("/etc", "/"), Some("/etc"));
    }

    #[test]
    fn joined_resolves_symlinks_and_dotdot_in_the_parent() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("real/sub")).unwrap();
        std::os::unix::fs::symlink(real.join("real"), real.join("link")).unwrap();
        let mut r = Resolver::new(1);
        let base = format!("{}/link/sub", real.display());
        let item = PathItem {
            flags: crate::abi::PF_COMPLETE,
            dev: 0,
            path: base.as_bytes(),
        };
        let root = PathItem {
            flags: crate::abi::PF_COMPLETE,
            dev: 0,
            path: b"/",
        };
        let p = r.joined(b"../x", Some(item), Some(root), 1, false);
        assert_eq!(p.path, format!("{}/real/x", real.display()));
        assert_eq!(p.resolution, Resolution::Joined);
        assert_eq!(p.raw.as_deref(), Some("../x"));
        // unknown relative base: unresolved, as given
        let p = r.joined(b"y", None, Some(root), 1, false);
        assert_eq!(p.resolution, Resolution::Unresolved);
    }
}
