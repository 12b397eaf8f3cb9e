//! The FIM configuration (TOML; unknown keys are rejected) and its documented default.

use crate::attrs::{Attr, AttrSet};
use crate::FimError;
use garrison_model::Severity;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::path::Path;

/// Content hash algorithm. BLAKE3 is the default (fast, parallel, SIMD); SHA-256
/// is there for interoperability with other tools (AIDE, Tripwire, `sha256sum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgo {
    #[default]
    Blake3,
    Sha256,
}

impl HashAlgo {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Blake3 => "blake3",
            HashAlgo::Sha256 => "sha256",
        }
    }
}

/// The file as written: `fim.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    hash: Option<HashAlgo>,
    #[serde(default)]
    workers: Option<usize>,
    #[serde(default)]
    max_depth: Option<usize>,
    #[serde(default)]
    content_max: Option<u64>,
    #[serde(default)]
    content_paths: Option<Vec<String>>,
    #[serde(default)]
    containers: Vec<String>,
    #[serde(default)]
    watch: Vec<RawWatch>,
    #[serde(default)]
    class: Vec<RawClass>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatch {
    path: String,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    attributes: Option<Vec<String>>,
    #[serde(default)]
    hash: Option<HashAlgo>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    executables_only: bool,
    #[serde(default = "yes")]
    recursive: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    glob: String,
    severity: Severity,
}

/// One watched path.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Absolute path (inside the host, or inside each configured container).
    pub path: String,
    include: Option<GlobSet>,
    exclude: GlobSet,
    pub include_globs: Vec<String>,
    pub exclude_globs: Vec<String>,
    pub attrs: AttrSet,
    pub hash: HashAlgo,
    pub severity: Severity,
    /// Only regular files with an execute bit (and no directories) are recorded.
    pub executables_only: bool,
    pub recursive: bool,
}

impl Watch {
    /// Whether the walk must not record nor enter `path`.
    pub fn excluded(&self, path: &str) -> bool {
        self.exclude.is_match(path)
    }
    /// Whether `path` (not excluded) is recorded; directories are entered either way.
    pub fn included(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(path))
    }
    /// Whether `path` lies at or under this watch.
    pub fn covers(&self, path: &str) -> bool {
        let base = self.path.trim_end_matches('/');
        path == self.path
            || path == base
            || (path.starts_with(base) && path.as_bytes().get(base.len()) == Some(&b'/'))
            || base.is_empty()
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub watches: Vec<Watch>,
    /// Severity classes: the first matching glob sets a change's severity.
    classes: Vec<(GlobMatcher, Severity)>,
    pub class_globs: Vec<(String, Severity)>,
    /// Hashing threads; 0 = one per core.
    pub workers: usize,
    /// Directories deeper than this below a watched path are reported and not entered.
    pub max_depth: usize,
    /// Text files up to this size matching `content_paths` keep a redacted copy for diffs.
    pub content_max: u64,
    content: GlobSet,
    pub content_globs: Vec<String>,
    /// Running containers (name, ID or ID prefix) whose watched paths are checked too.
    pub containers: Vec<String>,
    /// The config's text (or "default"), hashed into the baseline to notice config changes.
    pub source: String,
}

#[derive(Debug, Clone)]
struct GlobMatcher(globset::GlobMatcher);

fn glob(pattern: &str, origin: &str) -> Result<Glob, FimError> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| FimError::Config {
            path: origin.to_string(),
            reason: format!("glob {pattern:?}: {e}"),
        })
}

fn glob_set(patterns: &[String], origin: &str) -> Result<GlobSet, FimError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob(p, origin)?);
    }
    b.build().map_err(|e| FimError::Config {
        path: origin.to_string(),
        reason: e.to_string(),
    })
}

/// The default, with its reasons: the places an intruder changes to persist, escalate or
/// hide, and that a healthy system changes only through the package manager or an admin.
pub const DEFAULT_CONFIG: &str = r#"# Garrison FIM default (garrison fim init without --config).
# Every attribute is recorded by default: these files rarely change legitimately, and
# ctime catches "timestomping" (touch -d resets mtime, never ctime).
hash = "blake3"
content_max = 65536
content_paths = ["/etc/**"]

# Identity, authentication, name resolution, cron, sudo, PAM, SSH, systemd: where
# persistence and privilege escalation are written.
[[watch]]
path = "/etc"
severity = "MEDIUM"
# Rewritten by the system itself on every boot or lease.
exclude = ["/etc/mtab", "/etc/adjtime", "/etc/resolv.conf", "/etc/ld.so.cache", "/etc/.pwd.lock"]

# The programs everyone runs: a changed binary is a trojan until shown otherwise.
[[watch]]
path = "/bin"
severity = "HIGH"
[[watch]]
path = "/sbin"
severity = "HIGH"
[[watch]]
path = "/usr/bin"
severity = "HIGH"
[[watch]]
path = "/usr/sbin"
severity = "HIGH"

# Executables under /usr/lib (helpers, systemd generators, setuid helpers); the
# non-executable data there churns with every upgrade and is left out.
[[watch]]
path = "/usr/lib"
severity = "HIGH"
executables_only = true

# systemd units: a new unit is a new service started at boot.
[[watch]]
path = "/usr/lib/systemd/system"
severity = "HIGH"
[[watch]]
path = "/lib/systemd/system"
severity = "HIGH"

# Kernel and initramfs: a bootkit lives here.
[[watch]]
path = "/boot"
severity = "HIGH"

# root's SSH keys: an added authorized key is a back door.
[[watch]]
path = "/root/.ssh"
severity = "CRITICAL"

# User crontabs.
[[watch]]
path = "/var/spool/cron"
severity = "HIGH"

# Files whose change is a compromise until shown otherwise.
[[class]]
glob = "/etc/{passwd,shadow,group,gshadow,sudoers,ld.so.preload}"
severity = "CRITICAL"
[[class]]
glob = "/etc/{sudoers.d,pam.d,cron.d,cron.daily,cron.hourly,cron.weekly,cron.monthly}/**"
severity = "CRITICAL"
[[class]]
glob = "/etc/{crontab,ssh/sshd_config}"
severity = "CRITICAL"
[[class]]
glob = "**/.ssh/authorized_keys*"
severity = "CRITICAL"
[[class]]
glob = "/etc/systemd/system/**"
severity = "HIGH"
"#;

impl Config {
    /// The built-in default ([`DEFAULT_CONFIG`]).
    pub fn default_config() -> Config {
        match Config::parse(DEFAULT_CONFIG, "default") {
            Ok(c) => c,
            // The default is a constant tested by `default_config_parses`.
            Err(e) => unreachable!("the built-in FIM config is invalid: {e}"),
        }
    }

    pub fn load(path: &Path) -> Result<Config, FimError> {
        let text = std::fs::read_to_string(path).map_err(|source| FimError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config, FimError> {
        let bad = |reason: String| FimError::Config {
            path: origin.to_string(),
            reason,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.watch.is_empty() {
            return Err(bad(
                "no [[watch]] entry: name at least one path to watch".into()
            ));
        }
        let default_hash = raw.hash.unwrap_or_default();
        let mut watches = Vec::new();
        for w in raw.watch {
            if !w.path.starts_with('/') {
                return Err(bad(format!("watch path {:?} is not absolute", w.path)));
            }
            let attrs = match &w.attributes {
                None => AttrSet::ALL,
                Some(list) => {
                    let mut set = AttrSet::EMPTY;
                    for name in list {
                        if name == "all" {
                            set = AttrSet::ALL;
                            continue;
                        }
                        let a = Attr::parse(name).ok_or_else(|| {
                            bad(format!(
                                "watch {}: unknown attribute {name:?} (known: all, {})",
                                w.path,
                                Attr::NAMES.join(", ")
                            ))
                        })?;
                        set = set.with(a);
                    }
                    set
                }
            };
            let path = if w.path.len() > 1 {
                w.path.trim_end_matches('/').to_string()
            } else {
                w.path.clone()
            };
            watches.push(Watch {
                include: if w.include.is_empty() {
                    None
                } else {
                    Some(glob_set(&w.include, origin)?)
                },
                exclude: glob_set(&w.exclude, origin)?,
                include_globs: w.include,
                exclude_globs: w.exclude,
                path,
                attrs,
                hash: w.hash.unwrap_or(default_hash),
                severity: w.severity.unwrap_or(Severity::Medium),
                executables_only: w.executables_only,
                recursive: w.recursive,
            });
        }
        let mut classes = Vec::new();
        let mut class_globs = Vec::new();
        for c in raw.class {
            classes.push((
                GlobMatcher(glob(&c.glob, origin)?.compile_matcher()),
                c.severity,
            ));
            class_globs.push((c.glob, c.severity));
        }
        let content_globs = raw
            .content_paths
            .unwrap_or_else(|| vec!["/etc/**".to_string()]);
        Ok(Config {
            watches,
            classes,
            class_globs,
            workers: raw.workers.unwrap_or(0),
            max_depth: raw.max_depth.unwrap_or(256),
            content_max: raw.content_max.unwrap_or(64 * 1024),
            content: glob_set(&content_globs, origin)?,
            content_globs,
            containers: raw.containers,
            source: text.to_string(),
        })
    }

    /// The severity of a change to `path`, first from the classes, else from the
    /// most specific (longest) watch covering it.
    pub fn severity(&self, path: &str) -> Severity {
        if let Some((_, s)) = self.classes.iter().find(|(m, _)| m.0.is_match(path)) {
            return *s;
        }
        self.watch_for(path)
            .map(|w| w.severity)
            .unwrap_or(Severity::Medium)
    }

    /// The most specific watch covering `path`.
    pub fn watch_for(&self, path: &str) -> Option<&Watch> {
        self.watches
            .iter()
            .filter(|w| w.covers(path))
            .max_by_key(|w| w.path.len())
    }

    /// Whether a redacted copy of `path` is kept for content diffs.
    pub fn keeps_content(&self, path: &str) -> bool {
        self.content.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses() {
        let c = Config::default_config();
        assert!(c.watches.iter().any(|w| w.path == "/etc"));
        assert_eq!(c.severity("/etc/shadow"), Severity::Critical);
        assert_eq!(c.severity("/etc/sudoers.d/x"), Severity::Critical);
        assert_eq!(c.severity("/root/.ssh/authorized_keys"), Severity::Critical);
        assert_eq!(c.severity("/etc/hostname"), Severity::Medium);
        assert_eq!(c.severity("/usr/bin/ls"), Severity::High);
        assert!(c.keeps_content("/etc/hosts"));
        assert!(!c.keeps_content("/usr/bin/ls"));
        let lib = c.watch_for("/usr/lib/x").unwrap();
        assert!(lib.executables_only);
        assert!(
            !c.watch_for("/usr/lib/systemd/system/a.service")
                .unwrap()
                .executables_only
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let e = Config::parse("[[watch]]\npath = \"/etc\"\nfollow = true\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml") && e.contains("follow"), "{e}");
        let e = Config::parse("hashh = \"blake3\"\n[[watch]]\npath=\"/etc\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hashh"), "{e}");
        let e = Config::parse("[[watch]]\npath = \"etc\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not absolute"), "{e}");
        let e = Config::parse(
            "[[watch]]\npath = \"/etc\"\nattributes=[\"colour\"]\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("colour"), "{e}");
        let e = Config::parse("hash = \"md5\"\n[[watch]]\npath = \"/etc\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("md5"), "{e}");
        assert!(Config::parse("", "t.toml").is_err());
    }

    #[test]
    fn globs_and_attributes() {
        let c = Config::parse(
            "[[watch]]\npath = \"/srv/\"\ninclude = [\"**/*.conf\"]\nexclude = [\"/srv/tmp\"]\nattributes = [\"hash\", \"mode\"]\nhash = \"sha256\"\n",
            "t",
        )
        .unwrap();
        let w = &c.watches[0];
        assert_eq!(w.path, "/srv");
        assert!(w.included("/srv/a/b.conf"));
        assert!(!w.included("/srv/a/b.txt"));
        assert!(w.excluded("/srv/tmp"));
        assert!(w.attrs.has(Attr::Hash) && w.attrs.has(Attr::Mode) && !w.attrs.has(Attr::Owner));
        assert_eq!(w.hash, HashAlgo::Sha256);
        assert!(w.covers("/srv/x") && w.covers("/srv") && !w.covers("/srvx"));
    }
}
