//! Opening what is checked — the host, a root filesystem, an image archive —
//! and running policies against it into a [`ComplianceReport`].

use crate::engine::{Engine, Scope};
use crate::error::TargetError;
use crate::fs::{MemFs, RootFs, TargetFs};
use crate::policy::Policy;
use crate::report::{ComplianceReport, HostInfo, COMPLIANCE_SCHEMA_VERSION};
use crate::rule::RuleKind;
use garrison_model::{Target, TargetKind, Warning};
use garrison_source::rootfs::{Rootfs, RootfsOptions};
use std::path::Path;
use std::time::Duration;

/// An opened target.
pub struct Opened {
    pub fs: Box<dyn TargetFs>,
    pub scope: Scope,
    pub target: Target,
    pub warnings: Vec<Warning>,
}

/// The host: its `/`, its processes and (for trusted policies) its commands.
pub fn open_host() -> Result<Opened, TargetError> {
    let root = Rootfs::open("/", TargetKind::Rootfs, RootfsOptions::default())?;
    Ok(Opened {
        fs: Box::new(RootFs::new(root)),
        scope: Scope::Host,
        target: Target::new(TargetKind::Rootfs, "/"),
        warnings: Vec::new(),
    })
}

/// A directory tree checked as a root filesystem (files only).
pub fn open_rootfs(path: &Path) -> Result<Opened, TargetError> {
    let meta = std::fs::metadata(path).map_err(|e| TargetError::Other {
        input: path.display().to_string(),
        reason: format!("cannot open: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(TargetError::Other {
            input: path.display().to_string(),
            reason: "not a directory; for an image archive use `garrison check image`".into(),
        });
    }
    let root = Rootfs::open(path, TargetKind::Rootfs, RootfsOptions::default())?;
    Ok(Opened {
        fs: Box::new(RootFs::new(root)),
        scope: Scope::Rootfs,
        target: Target::new(TargetKind::Rootfs, path.display().to_string()),
        warnings: Vec::new(),
    })
}

/// An image (docker-archive, OCI archive, `oci:DIR[:TAG]`), read into memory:
/// the content of the files `policies` can read is kept (see [`crate::fs`]).
pub fn open_image(spec: &str, policies: &[&Policy]) -> Result<Opened, TargetError> {
    open_image_with(spec, policies, &mut |source, fs| {
        source.walk(fs, &MemFs::limits())
    })
}

/// [`open_image`], with `walk` doing each walk of the image into the tree
/// (so that a caller can wrap the visitor, e.g. to show progress).
pub fn open_image_with(
    spec: &str,
    policies: &[&Policy],
    walk: &mut dyn FnMut(
        &mut dyn garrison_source::Source,
        &mut MemFs,
    ) -> Result<(), garrison_source::SourceError>,
) -> Result<Opened, TargetError> {
    let (files, dirs) = paths_read_by(policies);
    let mut source = garrison_source::image::open_file_image(spec, None)?;
    let target = source.target();
    let mut fs = MemFs::new(&files, &dirs);
    walk(source.as_mut(), &mut fs)?;
    let extra = fs.unresolved();
    if !extra.is_empty() {
        let mut again = fs.again(extra);
        let mut second = garrison_source::image::open_file_image(spec, None)?;
        walk(second.as_mut(), &mut again)?;
        again.warnings = std::mem::take(&mut fs.warnings);
        fs = again;
    }
    let warnings = fs.warnings.clone();
    Ok(Opened {
        fs: Box::new(fs),
        scope: Scope::Image,
        target,
        warnings,
    })
}

/// Files (`f:`) and directories (`d:`) the policies' rules read, plus the
/// os-release and hostname files the report names.
pub fn paths_read_by(policies: &[&Policy]) -> (Vec<String>, Vec<String>) {
    let mut files: Vec<String> = ["/etc/os-release", "/usr/lib/os-release", "/etc/hostname"]
        .into_iter()
        .map(String::from)
        .collect();
    let mut dirs = Vec::new();
    for p in policies {
        let rules = p
            .checks
            .iter()
            .flat_map(|c| c.rules.iter())
            .chain(p.requirements.iter().flat_map(|r| r.rules.iter()));
        for r in rules {
            match &r.kind {
                RuleKind::File { paths, .. } => files.extend(paths.iter().cloned()),
                RuleKind::Dir { paths, .. } => dirs.extend(paths.iter().cloned()),
                _ => {}
            }
        }
    }
    files.sort();
    files.dedup();
    dirs.sort();
    dirs.dedup();
    (files, dirs)
}

/// `KEY=value` fields of an os-release file.
pub fn os_release(fs: &dyn TargetFs) -> Vec<(String, String)> {
    let text = fs
        .read("/etc/os-release")
        .or_else(|_| fs.read("/usr/lib/os-release"))
        .unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.trim().trim_matches('"').trim_matches('\'');
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// Runs `policies` against an opened target.
pub fn run(opened: &Opened, policies: &[&Policy], command_timeout: Duration) -> ComplianceReport {
    let engine =
        Engine::new(opened.fs.as_ref(), opened.scope).with_command_timeout(command_timeout);
    let results = policies.iter().map(|p| engine.evaluate(p)).collect();
    let os = os_release(opened.fs.as_ref())
        .into_iter()
        .find(|(k, _)| k == "PRETTY_NAME")
        .map(|(_, v)| v);
    let hostname = match opened.scope {
        Scope::Host => std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        _ => opened
            .fs
            .read("/etc/hostname")
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
    }
    .map(|h| h.trim().to_string())
    .filter(|h| !h.is_empty());
    let mut report = ComplianceReport {
        schema_version: COMPLIANCE_SCHEMA_VERSION,
        target: opened.target.clone(),
        host: HostInfo { hostname, os },
        generated_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now())
            .to_string(),
        policies: results,
        frameworks: Vec::new(),
        warnings: opened.warnings.clone(),
    };
    report.compute_frameworks();
    report
}
