//! Misconfiguration analyzers for Dockerfiles, Terraform HCL (AWS), CloudFormation/SAM and serverless.yml.
//!
//! Each file kind has a parser and a `check` function producing [`Hit`]s (check ID, line,
//! message, resource); the [`Analyzer`] implementations at the bottom turn them into
//! `garrison_misconfig` findings with the check metadata from `checks/<kind>/`.

pub mod cloudformation;
pub mod dockerfile;
pub mod ids;
pub mod policy;
pub mod runtimes;
pub mod secrets;
pub mod serverless;
pub mod shell;
pub mod terraform;
pub mod tree;
pub mod yamltree;

use garrison_misconfig::yaml;
use garrison_misconfig::{
    AnalyzeError, Analyzer, Context, FileKind, FileReport, Finding, Resource, SourceFile,
};

/// One check result inside a file, before it is turned into a report finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The check ID (see [`ids`]).
    pub check: &'static str,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, specifically, at this place.
    pub message: String,
    /// The resource the finding is about as (kind, name): (`aws_s3_bucket`, `logs`),
    /// (`AWS::S3::Bucket`, `Logs`), (`function`, `hello`), (`stage`, `build`).
    pub resource: Option<(String, String)>,
}

impl Hit {
    pub fn new(check: &'static str, line: usize, message: String) -> Hit {
        Hit {
            check,
            line,
            message,
            resource: None,
        }
    }

    pub fn on_kind(mut self, kind: impl Into<String>, name: impl Into<String>) -> Hit {
        self.resource = Some((kind.into(), name.into()));
        self
    }
}

/// Turns hits into findings of one document (1-based), with the catalog's metadata.
fn to_findings(
    hits: Vec<Hit>,
    file: &SourceFile,
    document: usize,
    ctx: &Context<'_>,
    report: &mut FileReport,
) {
    for h in hits {
        match ctx.catalog.get(h.check) {
            Some(check) => {
                let mut f = Finding::new(check, &file.name, h.message)
                    .in_document(document)
                    .on(h.resource.map(|(kind, name)| Resource {
                        kind,
                        namespace: None,
                        name,
                    }));
                f.line = u32::try_from(h.line).ok();
                report.findings.push(f);
            }
            None => {
                let msg = format!(
                    "check {} has no metadata in the check catalog (checks/{}/{}.yaml); this build is incomplete",
                    h.check,
                    file.kind,
                    h.check
                );
                if !report.errors.iter().any(|e| e.message == msg) {
                    report.errors.push(AnalyzeError::new(&file.name, msg));
                }
            }
        }
    }
}

fn error_at(file: &SourceFile, line: Option<u32>, message: String) -> AnalyzeError {
    AnalyzeError {
        file: file.name.clone(),
        document: None,
        line,
        message,
    }
}

/// Dockerfiles and Containerfiles.
#[derive(Debug, Default, Clone, Copy)]
pub struct DockerfileAnalyzer;

impl Analyzer for DockerfileAnalyzer {
    fn kind(&self) -> FileKind {
        FileKind::Dockerfile
    }

    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError> {
        let df = dockerfile::parse::parse(&file.text).map_err(|e| {
            let text = e.to_string();
            // The line travels in its own field; keep it out of the message.
            let detail = match e.line() {
                Some(l) => text
                    .strip_prefix(&format!("line {l}: "))
                    .unwrap_or(&text)
                    .to_string(),
                None => text.clone(),
            };
            error_at(
                file,
                e.line().and_then(|l| u32::try_from(l).ok()),
                format!("not a valid Dockerfile: {detail}"),
            )
        })?;
        let mut report = FileReport::default();
        to_findings(dockerfile::check(&df), file, 1, ctx, &mut report);
        Ok(report)
    }
}

/// Terraform `.tf` (HCL) and `.tf.json` files.
#[derive(Debug, Default, Clone, Copy)]
pub struct TerraformAnalyzer;

impl Analyzer for TerraformAnalyzer {
    fn kind(&self) -> FileKind {
        FileKind::Terraform
    }

    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError> {
        let blocks = if file.name.ends_with(".json") || file.text.trim_start().starts_with('{') {
            let text = yaml::json_tabs_to_spaces(&file.text);
            let loaded = yaml::load(&file.name, &text, &ctx.options.limits);
            if let Some(e) = loaded.error {
                return Err(e.into());
            }
            let src = yamltree::Source::new(&text);
            loaded
                .documents
                .first()
                .map(|d| terraform::from_json(&yamltree::convert(&d.root, &src)))
                .unwrap_or_default()
        } else {
            terraform::parse(&file.text).map_err(|e| {
                error_at(
                    file,
                    Some(e.line),
                    format!("column {}: invalid HCL: {}", e.column, e.message),
                )
            })?
        };
        let mut report = FileReport::default();
        to_findings(
            terraform::check(&blocks, runtimes::today()),
            file,
            1,
            ctx,
            &mut report,
        );
        Ok(report)
    }
}

/// Reads YAML/JSON documents with positions and checks each with `check`.
fn yaml_documents(
    file: &SourceFile,
    ctx: &Context<'_>,
    check: &dyn Fn(&tree::N) -> Vec<Hit>,
) -> Result<FileReport, AnalyzeError> {
    let text = if file.text.trim_start().starts_with('{') {
        yaml::json_tabs_to_spaces(&file.text)
    } else {
        std::borrow::Cow::Borrowed(file.text.as_str())
    };
    let loaded = yaml::load(&file.name, &text, &ctx.options.limits);
    let mut report = FileReport::default();
    if let Some(e) = loaded.error {
        if loaded.documents.is_empty() {
            return Err(e.into());
        }
        report.errors.push(e.into());
    }
    let src = yamltree::Source::new(&text);
    for doc in &loaded.documents {
        if doc.root.is_null() {
            continue;
        }
        if !doc.root.is_map() {
            report.errors.push(AnalyzeError {
                file: file.name.clone(),
                document: Some(doc.index + 1),
                line: Some(doc.root.pos.line),
                message: format!("expected a mapping at the top of a {} document", file.kind),
            });
            continue;
        }
        let n = yamltree::convert(&doc.root, &src);
        to_findings(check(&n), file, doc.index + 1, ctx, &mut report);
    }
    Ok(report)
}

/// CloudFormation and SAM templates (YAML with short-form intrinsics, or JSON).
#[derive(Debug, Default, Clone, Copy)]
pub struct CloudFormationAnalyzer;

impl Analyzer for CloudFormationAnalyzer {
    fn kind(&self) -> FileKind {
        FileKind::CloudFormation
    }

    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError> {
        let today = runtimes::today();
        yaml_documents(file, ctx, &|n| cloudformation::check(n, today))
    }
}

/// serverless.yml / serverless.json (Serverless Framework, AWS provider).
#[derive(Debug, Default, Clone, Copy)]
pub struct ServerlessAnalyzer;

impl Analyzer for ServerlessAnalyzer {
    fn kind(&self) -> FileKind {
        FileKind::Serverless
    }

    fn analyze(&self, file: &SourceFile, ctx: &Context<'_>) -> Result<FileReport, AnalyzeError> {
        let today = runtimes::today();
        yaml_documents(file, ctx, &|n| serverless::check(n, today))
    }
}

/// Every analyzer of this crate, for the runner.
pub fn analyzers() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(DockerfileAnalyzer),
        Box::new(TerraformAnalyzer),
        Box::new(CloudFormationAnalyzer),
        Box::new(ServerlessAnalyzer),
    ]
}
