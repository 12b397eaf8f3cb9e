//! Configuration checking: the check catalog kept as data, a YAML loader that keeps source positions, the analyzer runner, and the Kubernetes checks.
//!
//! Other file kinds (Dockerfile, Terraform, CloudFormation, serverless) plug in
//! by implementing [`Analyzer`]; the binary hands the runner every analyzer it
//! has, so this crate depends on none of them. See `INTERFACE.md`.

pub mod analyzer;
pub mod check;
pub mod finding;
pub mod k8s;
pub mod yaml;

pub use analyzer::{
    detect, Analyzer, Context, FileReport, K8sVersion, Options, PssLevel, RunError, Runner,
    SourceFile,
};
pub use check::{Catalog, CatalogError, Check, FileKind, PssRef, FRAMEWORKS};
pub use finding::{
    AnalyzeError, CheckedFile, ConfigReport, Finding, Note, Resource, Suppressed,
    CONFIG_SCHEMA_VERSION,
};
