//! The shared vocabulary of Garrison: packages, distros, inventories, findings and severities that every other crate speaks.
//!
//! Nothing here does I/O. Types are plain data with serde derives; the stable JSON
//! shape of an [`Inventory`] is documented in `docs/json-output.md`.

mod ecosystem;
mod finding;
mod inventory;
mod package;
mod purl;
mod severity;

pub use ecosystem::Ecosystem;
pub use finding::{
    AffectedPackage, DbInfo, Finding, FixState, Risk, ScanReport, Score, Suppression, Vulnerability,
    SCAN_SCHEMA_VERSION,
};
pub use inventory::{Inventory, LayerInfo, Stats, Target, TargetKind, Warning, INVENTORY_SCHEMA_VERSION};
pub use package::{Distro, Package, SourcePackage};
pub use purl::{purl_for, PurlError};
pub use severity::Severity;
