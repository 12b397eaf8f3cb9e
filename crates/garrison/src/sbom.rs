//! `garrison sbom`: open the target, walk it with the catalog, render the inventory.

use crate::cli::{Global, RegistryArgs, SbomArgs, SbomFormatArg, SbomTarget};
use crate::progress::Progress;
use anyhow::Context;
use garrison_inventory::Catalog;
use garrison_model::{Inventory, TargetKind};
use garrison_report::{render_sbom, RenderOptions, SbomFormat};
use garrison_source::image::registry::{RegistryImage, RegistryOptions};
use garrison_source::image::Image;
use garrison_source::rootfs::{Container, Rootfs, RootfsOptions};
use garrison_source::{Limits, Source};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub fn run(global: &Global, args: SbomArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        max_layer_bytes: args.limits.max_layer_size,
        max_file_bytes: args.limits.max_file_size,
    };
    let mut source = open(&args.target)?;
    let inv = inventory(source.as_mut(), &limits, global.quiet)?;

    let format = match args.output.format {
        SbomFormatArg::Table => SbomFormat::Table,
        SbomFormatArg::Json => SbomFormat::Json,
        SbomFormatArg::Cyclonedx => SbomFormat::CycloneDx,
        SbomFormatArg::SpdxJson => SbomFormat::SpdxJson,
    };
    let opts = render_options(args.output.output.as_deref());
    match &args.output.output {
        Some(path) => {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(std::path::Path::new(".")))
                .with_context(|| {
                    format!("cannot create the output file next to {}", path.display())
                })?;
            render_sbom(&inv, format, &opts, tmp.as_file_mut())?;
            tmp.as_file_mut().flush()?;
            tmp.persist(path)
                .with_context(|| format!("cannot write the output file {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            render_sbom(&inv, format, &opts, &mut out)?;
            out.flush().context("cannot write to standard output")?;
        }
    }
    // The table ends with its own summary; machine formats get one on stderr.
    if !global.quiet && (format != SbomFormat::Table || args.output.output.is_some()) {
        eprintln!("{}", summary(&inv));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a report to `path` (atomically: a temp file renamed into place) or to stdout.
pub fn write_report<E>(
    path: Option<&std::path::Path>,
    render: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match path {
        Some(path) => {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
            let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(std::path::Path::new(".")))
                .with_context(|| {
                    format!("cannot create the output file next to {}", path.display())
                })?;
            {
                let mut out = std::io::BufWriter::new(tmp.as_file_mut());
                render(&mut out)?;
                out.flush()
                    .with_context(|| format!("cannot write the output file {}", path.display()))?;
            }
            tmp.persist(path)
                .with_context(|| format!("cannot write the output file {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            render(&mut out)?;
            out.flush().context("cannot write to standard output")?;
        }
    }
    Ok(())
}

/// Opens the source the user named.
pub fn open(target: &SbomTarget) -> anyhow::Result<Box<dyn Source>> {
    Ok(match target {
        SbomTarget::Image { image, registry } => {
            if image.starts_with("oci:") || std::path::Path::new(image).exists() {
                garrison_source::image::open_file_image(image, registry.platform.as_deref())?
            } else if looks_like_a_path(image) {
                anyhow::bail!(
                    "{image}: no such file; give a docker-archive or OCI archive path, `oci:DIR[:TAG]`, or a registry reference like host:5000/repo:tag"
                );
            } else {
                let opts = registry_options(registry);
                Box::new(Image(RegistryImage::open(image, &opts)?))
            }
        }
        SbomTarget::Rootfs { path, skip_dirs } => Box::new(Rootfs::open(
            path,
            TargetKind::Rootfs,
            RootfsOptions {
                skip_dirs: skip_dirs.clone(),
            },
        )?),
        SbomTarget::Fs { path, skip_dirs } => Box::new(Rootfs::open(
            path,
            TargetKind::Filesystem,
            RootfsOptions {
                skip_dirs: skip_dirs.clone(),
            },
        )?),
        SbomTarget::Container { id } => Box::new(Container::open(id)?),
    })
}

/// The width of the terminal on standard output.
/// Render options for a report written to `output` (a file) or to stdout: colour
/// (unless `NO_COLOR` is set) and the terminal's width only when stdout is a terminal.
pub fn render_options(output: Option<&std::path::Path>) -> RenderOptions {
    let to_terminal = output.is_none() && std::io::stdout().is_terminal();
    RenderOptions {
        color: to_terminal && std::env::var_os("NO_COLOR").is_none(),
        width: to_terminal.then(terminal_width).flatten(),
        ..RenderOptions::default()
    }
}

pub fn terminal_width() -> Option<u16> {
    console::Term::stdout()
        .size_checked()
        .map(|(_rows, cols)| cols)
}

fn looks_like_a_path(s: &str) -> bool {
    s.starts_with('.') || s.starts_with('/') || s.ends_with(".tar") || s.ends_with(".tar.gz")
}

fn registry_options(r: &RegistryArgs) -> RegistryOptions {
    RegistryOptions {
        platform: r.platform.clone(),
        username: r.username.clone(),
        password: r.password.clone(),
        plain_http: r.plain_http,
        ca_file: r.ca_file.clone(),
        insecure_skip_verify: r.insecure,
    }
}

/// Walks `source` with the catalog and returns the finished inventory.
pub fn inventory(
    source: &mut dyn Source,
    limits: &Limits,
    quiet: bool,
) -> anyhow::Result<Inventory> {
    let target = source.target();
    let mut catalog = Catalog::default();
    let mut progress = Progress::new(&mut catalog, quiet, &target.name);
    let walked = source.walk(&mut progress, limits);
    progress.finish();
    walked?;
    // The source may know more after the walk (resolved digests, tags).
    Ok(catalog.finish(source.target()))
}

/// `garrison: 212 packages (deb 208, pypi 4) in 0.41 s; 1 warning`
pub fn summary(inv: &Inventory) -> String {
    let counts = inv
        .counts()
        .into_iter()
        .map(|(eco, n)| format!("{eco} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!(
        "garrison: {} packages{} in {:.2} s",
        inv.packages.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({counts})")
        },
        inv.stats.duration_ms as f64 / 1000.0
    );
    if !inv.warnings.is_empty() {
        s.push_str(&format!(
            "; {} warning{} (see the report)",
            inv.warnings.len(),
            if inv.warnings.len() == 1 { "" } else { "s" }
        ));
    }
    s
}
