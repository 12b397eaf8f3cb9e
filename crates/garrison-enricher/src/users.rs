//! User and group names from the `/etc/passwd` and `/etc/group` of each process's
//! own root (a container's files for a container's processes), cached per root
//! and reloaded when a file changes.

use foldhash::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a cached file is checked for changes on a hit. A miss (an id the
/// cached file does not name) checks at once.
const RECHECK: Duration = Duration::from_secs(2);

/// `name:x:id:...` lines: id to name (the first name wins, as getpwuid does).
pub fn parse_id_file(text: &str) -> HashMap<u32, String> {
    let mut map = HashMap::default();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(id) = id.trim().parse::<u32>() else {
            continue;
        };
        if !name.is_empty() {
            map.entry(id).or_insert_with(|| name.to_string());
        }
    }
    map
}

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

fn signature(path: &Path) -> Option<Signature> {
    let m = std::fs::metadata(path).ok()?;
    Some(Signature {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

/// One id file of one root.
#[derive(Debug, Default)]
struct IdTable {
    names: HashMap<u32, String>,
    signature: Option<Signature>,
    checked: Option<Instant>,
}

impl IdTable {
    /// Reloads from `path` when it changed (or was never read).
    fn refresh(&mut self, path: &Path) -> bool {
        let sig = signature(path);
        self.checked = Some(Instant::now());
        if sig.is_none() || sig == self.signature {
            return false;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                self.names = parse_id_file(&String::from_utf8_lossy(&bytes));
                self.signature = sig;
                true
            }
            Err(_) => false,
        }
    }

    fn stale(&self) -> bool {
        self.checked.is_none_or(|t| t.elapsed() >= RECHECK)
    }
}

/// Which file of a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `/etc/passwd`.
    User,
    /// `/etc/group`.
    Group,
}

impl IdKind {
    fn file(self) -> &'static str {
        match self {
            IdKind::User => "etc/passwd",
            IdKind::Group => "etc/group",
        }
    }
}

/// Names by root: `(device, inode)` of a root directory to its tables.
#[derive(Debug, Default)]
pub struct UserDb {
    roots: HashMap<(u64, u64), (IdTable, IdTable)>,
    /// Reloads done (a file read and parsed).
    pub reloads: u64,
}

/// The most roots kept (containers come and go).
const MAX_ROOTS: usize = 512;

impl UserDb {
    /// The name of `id` in the root `key`, reading files under `root_dirs` (the
    /// first that exists: `/proc/PID/root` of live processes sharing that root).
    pub fn lookup(
        &mut self,
        key: (u64, u64),
        root_dirs: &dyn Fn() -> Vec<PathBuf>,
        kind: IdKind,
        id: u32,
    ) -> Option<String> {
        if self.roots.len() >= MAX_ROOTS && !self.roots.contains_key(&key) {
            self.roots.clear();
        }
        let tables = self.roots.entry(key).or_default();
        let table = match kind {
            IdKind::User => &mut tables.0,
            IdKind::Group => &mut tables.1,
        };
        let hit = table.names.contains_key(&id);
        if !hit || table.stale() {
            for dir in root_dirs() {
                let path = dir.join(kind.file());
                if path.exists() {
                    if table.refresh(&path) {
                        self.reloads += 1;
                    }
                    break;
                }
            }
        }
        table.names.get(&id).cloned()
    }

    /// Forgets a root (its container is gone).
    pub fn forget(&mut self, key: (u64, u64)) {
        self.roots.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_and_junk() {
        let m = parse_id_file(
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nbad:x:notanumber:0\n:x:5:5\nalias:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn reload_when_the_file_changes_and_on_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        let passwd = dir.path().join("etc/passwd");
        std::fs::write(&passwd, "root:x:0:0::/:/bin/sh\n").unwrap();
        let mut db = UserDb::default();
        let base = dir.path().to_path_buf();
        let roots = move || vec![base.clone()];
        assert_eq!(
            db.lookup((1, 2), &roots, IdKind::User, 0).as_deref(),
            Some("root")
        );
        assert_eq!(db.lookup((1, 2), &roots, IdKind::User, 4242), None);
        // A user added later is found at its first miss (size changed).
        std::fs::write(
            &passwd,
            "root:x:0:0::/:/bin/sh\nlate:x:4242:4242::/:/bin/sh\n",
        )
        .unwrap();
        assert_eq!(
            db.lookup((1, 2), &roots, IdKind::User, 4242).as_deref(),
            Some("late")
        );
        assert_eq!(db.reloads, 2);
        // No group file: no name, no panic.
        assert_eq!(db.lookup((1, 2), &roots, IdKind::Group, 0), None);
    }
}
