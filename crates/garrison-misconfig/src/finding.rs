//! What a config check reports, and the report of a whole run.

use crate::check::{Check, FileKind};
use crate::yaml::Pos;
use garrison_model::{Severity, Warning};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Version of the JSON shape of [`ConfigReport`] (documented in docs/check-config.md).
pub const CONFIG_SCHEMA_VERSION: u32 = 1;

/// The Kubernetes (or IaC) object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Resource {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One failed check at one place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check_id: String,
    pub severity: Severity,
    pub title: String,
    /// What exactly is wrong here, in one sentence.
    pub message: String,
    /// The file as the user named it (path given on the command line, joined
    /// with the path inside a directory).
    pub file: String,
    /// 1-based document index in a multi-document file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// The check's reference data (rationale, remediation, frameworks).
    pub check: Arc<Check>,
}

impl Finding {
    /// A finding of `check` in `file` (severity and title from the check).
    pub fn new(check: &Arc<Check>, file: &str, message: impl Into<String>) -> Finding {
        Finding {
            check_id: check.id.clone(),
            severity: check.severity,
            title: check.title.clone(),
            message: message.into(),
            file: file.to_string(),
            document: None,
            line: None,
            column: None,
            resource: None,
            check: Arc::clone(check),
        }
    }

    /// Sets the 1-based document index.
    pub fn in_document(mut self, document: usize) -> Finding {
        self.document = Some(document);
        self
    }

    pub fn at(mut self, pos: Pos) -> Finding {
        self.line = Some(pos.line);
        self.column = Some(pos.column);
        self
    }

    pub fn on(mut self, resource: Option<Resource>) -> Finding {
        self.resource = resource;
        self
    }

    /// `path:doc 2:line 14:col 7` for tables and logs.
    pub fn location(&self) -> String {
        let mut s = self.file.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        if let Some(d) = self.document.filter(|d| *d > 1) {
            s.push_str(&format!(" (document {d})"));
        }
        s
    }
}

/// A file (or a document in it) that could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.render())]
pub struct AnalyzeError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

impl AnalyzeError {
    pub fn new(file: &str, message: impl Into<String>) -> AnalyzeError {
        AnalyzeError {
            file: file.to_string(),
            document: None,
            line: None,
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut s = self.file.clone();
        if let Some(d) = self.document {
            s.push_str(&format!(": document {d}"));
        }
        if let Some(l) = self.line {
            s.push_str(&format!(", line {l}"));
        }
        format!("{s}: {}", self.message)
    }
}

impl From<crate::yaml::YamlError> for AnalyzeError {
    fn from(e: crate::yaml::YamlError) -> AnalyzeError {
        use crate::yaml::YamlError as Y;
        let (file, message) = match &e {
            Y::TooLarge { file, size, limit } => (
                file,
                format!("{size} bytes is over the {limit}-byte limit for one file; split it or raise the limit"),
            ),
            Y::Syntax {
                file,
                column,
                message,
                ..
            } => (file, format!("invalid YAML at column {column}: {message}")),
            Y::AliasExpansion { file, limit, .. } => (
                file,
                format!("expands to more than {limit} nodes (aliases expanding aliases: an alias bomb?); the document was not checked"),
            ),
            Y::TooDeep { file, limit, .. } => (
                file,
                format!("nested deeper than {limit} levels; the document was not checked"),
            ),
        };
        AnalyzeError {
            file: file.clone(),
            document: e.document(),
            line: e.line(),
            message,
        }
    }
}

/// Something worth telling that is not a finding (a skipped kind, a CRD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    pub message: String,
}

/// A finding an ignore-file entry accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
}

/// A file the run looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedFile {
    pub path: String,
    pub kind: FileKind,
}

/// Everything one `garrison check config` run found; presenters render it.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigReport {
    pub schema_version: u32,
    /// The paths given on the command line.
    pub paths: Vec<String>,
    pub files: Vec<CheckedFile>,
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Files or documents that could not be checked.
    pub errors: Vec<AnalyzeError>,
    pub notes: Vec<Note>,
    pub warnings: Vec<Warning>,
}

impl Default for ConfigReport {
    fn default() -> Self {
        ConfigReport {
            schema_version: CONFIG_SCHEMA_VERSION,
            paths: Vec::new(),
            files: Vec::new(),
            findings: Vec::new(),
            suppressed: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl ConfigReport {
    /// Findings ordered by file, document, line, then check ID.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.file, a.document, a.line, a.column, &a.check_id).cmp(&(
                &b.file,
                b.document,
                b.line,
                b.column,
                &b.check_id,
            ))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{load, Limits};

    #[test]
    fn yaml_errors_keep_file_document_and_line() {
        let l = load("x.yaml", "a: 1\n---\nb: [\n", &Limits::default());
        let e: AnalyzeError = l.error.unwrap().into();
        assert_eq!(e.file, "x.yaml");
        assert_eq!(e.document, Some(2));
        assert!(e.line.is_some());
        let text = e.to_string();
        assert!(text.starts_with("x.yaml: document 2, line "), "{text}");
        assert!(text.contains("invalid YAML"), "{text}");
    }
}
