//! The analyzer interface every file kind implements, file-kind detection,
//! and the runner that walks the paths a user gives.

use crate::check::{Catalog, FileKind};
use crate::finding::{AnalyzeError, CheckedFile, ConfigReport, Finding, Note};
use crate::yaml::Limits;
use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Pod Security Standards level to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum PssLevel {
    Baseline,
    #[default]
    Restricted,
}

impl FromStr for PssLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            other => Err(format!(
                "unknown Pod Security Standards level {other:?}: expected baseline or restricted"
            )),
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        })
    }
}

/// A Kubernetes minor version `1.N` (the PSS policy version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct K8sVersion {
    pub minor: u32,
}

impl K8sVersion {
    /// The newest policy version this build knows.
    pub const NEWEST: K8sVersion = K8sVersion { minor: 37 };
}

impl Default for K8sVersion {
    fn default() -> Self {
        K8sVersion::NEWEST
    }
}

impl FromStr for K8sVersion {
    type Err = String;
    /// `1.31`, `v1.31` or `latest`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(K8sVersion::NEWEST);
        }
        let t = t.strip_prefix('v').unwrap_or(t);
        let minor = t
            .strip_prefix("1.")
            .map(|m| m.split('.').next().unwrap_or(m))
            .and_then(|m| m.parse::<u32>().ok())
            .ok_or_else(|| format!("Kubernetes version {s:?} is not like 1.31 (or latest)"))?;
        Ok(K8sVersion {
            // Versions newer than this build judge as the newest it knows, as
            // pod-security-admission does for versions past its own.
            minor: minor.min(K8sVersion::NEWEST.minor),
        })
    }
}

impl fmt::Display for K8sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

/// Settings that change what checks report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub pss: PssLevel,
    pub k8s_version: K8sVersion,
    pub limits: Limits,
}

/// What an analyzer gets besides the file.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub options: &'a Options,
}

/// One file to analyze, already read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user and written into findings.
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub kind: FileKind,
}

/// What an analyzer found in one file.
#[derive(Default)]
pub struct FileReport {
    pub findings: Vec<Finding>,
    /// Documents that could not be checked while the rest of the file was.
    pub errors: Vec<AnalyzeError>,
    pub notes: Vec<Note>,
    /// What this file contributes to checks that join several files (RBAC
    /// bindings, NetworkPolicies); handed back to [`Analyzer::join`].
    pub facts: Option<Box<dyn Any + Send>>,
}

impl fmt::Debug for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileReport")
            .field("findings", &self.findings)
            .field("errors", &self.errors)
            .field("notes", &self.notes)
            .field("facts", &self.facts.is_some())
            .finish()
    }
}

/// Checks one kind of file. Implementations hold no per-run state: what must
/// be joined across files travels in [`FileReport::facts`].
pub trait Analyzer: Send + Sync {
    fn kind(&self) -> FileKind;

    /// Checks one file. `Err` means nothing in it could be checked.
    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError>;

    /// Checks that need every file of the run, given the facts each
    /// [`analyze`](Analyzer::analyze) call returned, in file order.
    fn join(&self, facts: Vec<Box<dyn Any + Send>>, ctx: &Context<'_>) -> Vec<Finding> {
        let _ = (facts, ctx);
        Vec::new()
    }
}

/// The kind of a file from its name and, for YAML/JSON, its content.
pub fn detect(path: &Path, text: &str) -> Option<FileKind> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == "dockerfile"
        || name == "containerfile"
        || name.starts_with("dockerfile.")
        || name.ends_with(".dockerfile")
        || name.ends_with(".containerfile")
    {
        return Some(FileKind::Dockerfile);
    }
    if name.ends_with(".tf") || name.ends_with(".tf.json") {
        return Some(FileKind::Terraform);
    }
    let yamlish = [".yaml", ".yml", ".json", ".template"]
        .iter()
        .any(|e| name.ends_with(e));
    if !yamlish {
        return None;
    }
    if matches!(
        name.as_str(),
        "serverless.yml" | "serverless.yaml" | "serverless.json"
    ) {
        return Some(FileKind::Serverless);
    }
    if text.contains("AWSTemplateFormatVersion")
        || text.contains("AWS::Serverless")
        || (has_top_key(text, "Resources") && text.contains("AWS::"))
    {
        return Some(FileKind::CloudFormation);
    }
    if text.contains("apiVersion") && text.contains("kind") {
        return Some(FileKind::K8s);
    }
    None
}

fn has_top_key(text: &str, key: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix(key).is_some_and(|r| r.starts_with(':'))
            || l.trim_start()
                .strip_prefix(&format!("\"{key}\""))
                .is_some_and(|r| r.trim_start().starts_with(':'))
    })
}

/// A path given to the runner could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source} (check the path and its permissions)")]
pub struct RunError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Walks paths, detects kinds, runs analyzers, and collects per-file errors
/// so that one bad file never stops the run.
pub struct Runner {
    analyzers: Vec<Box<dyn Analyzer>>,
    /// Analyze every file as this kind instead of detecting it.
    pub force_kind: Option<FileKind>,
}

impl Runner {
    pub fn new(analyzers: Vec<Box<dyn Analyzer>>) -> Runner {
        Runner {
            analyzers,
            force_kind: None,
        }
    }

    /// The files under `paths` (directories walked in name order, hidden
    /// entries and symlinked directories skipped).
    pub fn files(&self, paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
        let mut out = Vec::new();
        for p in paths {
            let meta = std::fs::metadata(p).map_err(|source| RunError {
                path: p.display().to_string(),
                source,
            })?;
            if meta.is_dir() {
                walk(p, &mut out).map_err(|source| RunError {
                    path: p.display().to_string(),
                    source,
                })?;
            } else {
                out.push(p.clone());
            }
        }
        Ok(out)
    }

    /// Checks every file under `paths`; `progress` is told each file as it starts.
    pub fn run(
        &self,
        paths: &[PathBuf],
        ctx: &Context<'_>,
        mut progress: impl FnMut(&Path),
    ) -> Result<ConfigReport, RunError> {
        let files = self.files(paths)?;
        let explicit: Vec<&PathBuf> = paths.iter().collect();
        let mut report = ConfigReport {
            paths: paths.iter().map(|p| p.display().to_string()).collect(),
            ..ConfigReport::default()
        };
        let mut facts: Vec<Vec<Box<dyn Any + Send>>> =
            self.analyzers.iter().map(|_| Vec::new()).collect();
        for path in files {
            progress(&path);
            let name = path.display().to_string();
            let given = explicit.contains(&&path);
            let text = match read_limited(&path, ctx.options.limits.max_bytes) {
                Ok(Some(t)) => t,
                Ok(None) => {
                    report.errors.push(AnalyzeError::new(
                        &name,
                        format!(
                            "larger than the {}-byte limit for one file; it was not checked",
                            ctx.options.limits.max_bytes
                        ),
                    ));
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData && !given => continue,
                Err(e) => {
                    report
                        .errors
                        .push(AnalyzeError::new(&name, format!("cannot read: {e}")));
                    continue;
                }
            };
            let kind = match self.force_kind.or_else(|| detect(&path, &text)) {
                Some(k) => k,
                None => {
                    if given {
                        report.notes.push(Note {
                            file: name,
                            document: None,
                            message: "not a file kind Garrison checks (k8s, dockerfile, terraform, cloudformation, serverless); use --type to name one".into(),
                        });
                    }
                    continue;
                }
            };
            let Some((i, analyzer)) = self
                .analyzers
                .iter()
                .enumerate()
                .find(|(_, a)| a.kind() == kind)
            else {
                report.notes.push(Note {
                    file: name,
                    document: None,
                    message: format!("detected as {kind}, which this build has no checks for"),
                });
                continue;
            };
            report.files.push(CheckedFile {
                path: name.clone(),
                kind,
            });
            let file = SourceFile {
                name,
                path,
                text,
                kind,
            };
            match analyzer.analyze(&file, ctx) {
                Ok(r) => {
                    report.findings.extend(r.findings);
                    report.errors.extend(r.errors);
                    report.notes.extend(r.notes);
                    if let (Some(f), Some(slot)) = (r.facts, facts.get_mut(i)) {
                        slot.push(f);
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        for (analyzer, f) in self.analyzers.iter().zip(facts) {
            if !f.is_empty() {
                report.findings.extend(analyzer.join(f, ctx));
            }
        }
        report.sort();
        Ok(report)
    }
}

/// Reads a file as UTF-8 unless it is over `max` bytes (`Ok(None)`).
fn read_limited(path: &Path, max: usize) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(max as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > max {
        return Ok(None);
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = e.file_type()?;
        let p = e.path();
        if ft.is_dir() {
            walk(&p, out)?;
        } else if ft.is_file() || (ft.is_symlink() && p.is_file()) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_detected_from_name_and_content() {
        let d = |n: &str, t: &str| detect(Path::new(n), t);
        assert_eq!(d("x/Dockerfile", ""), Some(FileKind::Dockerfile));
        assert_eq!(d("app.dockerfile", ""), Some(FileKind::Dockerfile));
        assert_eq!(d("main.tf", ""), Some(FileKind::Terraform));
        assert_eq!(
            d("serverless.yml", "service: x"),
            Some(FileKind::Serverless)
        );
        assert_eq!(
            d(
                "t.yaml",
                "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"
            ),
            Some(FileKind::CloudFormation)
        );
        assert_eq!(
            d("d.yaml", "apiVersion: apps/v1\nkind: Deployment\n"),
            Some(FileKind::K8s)
        );
        assert_eq!(
            d("p.json", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}"),
            Some(FileKind::K8s)
        );
        assert_eq!(d("notes.yaml", "a: 1\n"), None);
        assert_eq!(d("readme.md", "apiVersion kind"), None);
    }

    #[test]
    fn versions_and_levels_parse() {
        assert_eq!("1.31".parse::<K8sVersion>().unwrap().minor, 31);
        assert_eq!("v1.25".parse::<K8sVersion>().unwrap().minor, 25);
        assert_eq!("1.40".parse::<K8sVersion>().unwrap(), K8sVersion::NEWEST);
        assert_eq!("latest".parse::<K8sVersion>().unwrap(), K8sVersion::NEWEST);
        assert!("2.1".parse::<K8sVersion>().is_err());
        assert_eq!("Baseline".parse::<PssLevel>().unwrap(), PssLevel::Baseline);
        assert!("strict".parse::<PssLevel>().is_err());
    }
}
