//! Misconfiguration analyzers for Dockerfiles, Terraform HCL (AWS), CloudFormation/SAM and serverless.yml.

pub mod dockerfile;
pub mod policy;
pub mod runtimes;
pub mod terraform;
pub mod tree;
pub mod ids;
pub mod secrets;
pub mod shell;

/// One check result inside a file, before it is turned into a report finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The check ID (see [`ids`]).
    pub check: &'static str,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, specifically, at this place.
    pub message: String,
    /// The resource the finding is about (`aws_s3_bucket.logs`, `MyFunction`), if any.
    pub resource: Option<String>,
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

    pub fn on(mut self, resource: impl Into<String>) -> Hit {
        self.resource = Some(resource.into());
        self
    }
}
