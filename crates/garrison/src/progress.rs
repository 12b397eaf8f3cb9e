//! Progress on stderr while a walk runs: a spinner with layers, files and bytes,
//! shown only on a terminal and never with `--quiet`.

use garrison_model::{LayerInfo, Warning};
use garrison_source::{EntryMeta, Visitor, Want};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Read};
use std::time::Duration;

/// Wraps a visitor and reports what it sees on a spinner.
pub struct Progress<'a, V: Visitor> {
    inner: &'a mut V,
    bar: Option<ProgressBar>,
    layer: String,
    files: u64,
    bytes: u64,
}

impl<'a, V: Visitor> Progress<'a, V> {
    pub fn new(inner: &'a mut V, quiet: bool, what: &str) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            inner,
            bar,
            layer: String::new(),
            files: 0,
            bytes: 0,
        }
    }

    fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}{} files, {} read",
                self.layer,
                self.files,
                human_bytes(self.bytes)
            ));
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

impl<V: Visitor> Visitor for Progress<'_, V> {
    fn layer_start(&mut self, index: usize, layer: &LayerInfo) {
        let short = layer
            .digest
            .strip_prefix("sha256:")
            .unwrap_or(&layer.digest);
        self.layer = format!("layer {} {} — ", index + 1, &short[..short.len().min(12)]);
        self.tick();
        self.inner.layer_start(index, layer)
    }

    fn want(&mut self, meta: &EntryMeta<'_>) -> Want {
        self.files += 1;
        if self.files.is_multiple_of(4096) {
            self.tick();
        }
        self.inner.want(meta)
    }

    fn file(&mut self, meta: &EntryMeta<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        self.bytes += meta.size;
        self.inner.file(meta, content)
    }

    fn wants_random_access(&self, meta: &EntryMeta<'_>) -> bool {
        self.inner.wants_random_access(meta)
    }

    fn file_at(&mut self, meta: &EntryMeta<'_>, file: &mut std::fs::File) -> std::io::Result<()> {
        self.bytes += meta.size;
        self.inner.file_at(meta, file)
    }

    fn hardlink(&mut self, meta: &EntryMeta<'_>, target: &str) {
        self.inner.hardlink(meta, target)
    }

    fn remove(&mut self, path: &str, layer: usize) {
        self.inner.remove(path, layer)
    }

    fn clear_dir(&mut self, dir: &str, layer: usize) {
        self.inner.clear_dir(dir, layer)
    }

    fn warning(&mut self, warning: Warning) {
        self.inner.warning(warning)
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
