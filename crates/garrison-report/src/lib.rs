//! Presenters: render Garrison's reports — inventories today, findings later — as terminal tables, stable JSON, CycloneDX and SPDX, without computing anything themselves.

use garrison_model::Inventory;
use std::io::Write;

/// The formats `garrison sbom` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    Table,
    Json,
    CycloneDx,
    SpdxJson,
}

/// Writing a report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the {format} report: {source}")]
    Write {
        format: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the {format} report: {reason}")]
    Encode { format: &'static str, reason: String },
}

/// Options that change how a report looks, not what it says.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Use ANSI colors (tables only).
    pub color: bool,
    /// Terminal width for tables, when known.
    pub width: Option<u16>,
}

/// Renders `inv` as `format` into `out`.
pub fn render_sbom(
    inv: &Inventory,
    format: SbomFormat,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let _ = opts;
    match format {
        SbomFormat::Json => serde_json::to_writer_pretty(&mut *out, inv).map_err(|e| ReportError::Encode {
            format: "json",
            reason: e.to_string(),
        }),
        _ => Err(ReportError::Encode {
            format: "sbom",
            reason: "format not built yet".into(),
        }),
    }
}
