//! The IDs of the checks this crate implements; their metadata lives in `checks/`.

pub const DF_ROOT: &str = "GAR-DF-001";
pub const DF_ADD_URL: &str = "GAR-DF-002";
pub const DF_LATEST: &str = "GAR-DF-003";
pub const DF_SECRET: &str = "GAR-DF-004";
pub const DF_PKG_PIN: &str = "GAR-DF-005";
pub const DF_PKG_CACHE: &str = "GAR-DF-006";
pub const DF_CURL_PIPE: &str = "GAR-DF-007";
pub const DF_HEALTHCHECK: &str = "GAR-DF-008";

pub const TF_S3_PUBLIC_ACL: &str = "GAR-TF-001";
pub const TF_S3_PAB: &str = "GAR-TF-002";
pub const TF_S3_POLICY_PUBLIC: &str = "GAR-TF-003";
pub const TF_SG_OPEN: &str = "GAR-TF-004";
pub const TF_IAM_ACTION: &str = "GAR-TF-005";
pub const TF_IAM_RESOURCE: &str = "GAR-TF-006";
pub const TF_S3_SSE: &str = "GAR-TF-007";
pub const TF_EBS: &str = "GAR-TF-008";
pub const TF_RDS: &str = "GAR-TF-009";
pub const TF_EFS: &str = "GAR-TF-010";
pub const TF_LAMBDA_RUNTIME: &str = "GAR-TF-011";
pub const TF_LAMBDA_SECRET: &str = "GAR-TF-012";

pub const CFN_S3_PUBLIC_ACL: &str = "GAR-CFN-001";
pub const CFN_S3_PAB: &str = "GAR-CFN-002";
pub const CFN_S3_POLICY_PUBLIC: &str = "GAR-CFN-003";
pub const CFN_SG_OPEN: &str = "GAR-CFN-004";
pub const CFN_IAM_ACTION: &str = "GAR-CFN-005";
pub const CFN_IAM_RESOURCE: &str = "GAR-CFN-006";
pub const CFN_S3_SSE: &str = "GAR-CFN-007";
pub const CFN_EBS: &str = "GAR-CFN-008";
pub const CFN_RDS: &str = "GAR-CFN-009";
pub const CFN_EFS: &str = "GAR-CFN-010";
pub const CFN_LAMBDA_RUNTIME: &str = "GAR-CFN-011";
pub const CFN_LAMBDA_SECRET: &str = "GAR-CFN-012";
pub const CFN_URL_NO_AUTH: &str = "GAR-CFN-013";

pub const SLS_IAM_ACTION: &str = "GAR-SLS-001";
pub const SLS_IAM_RESOURCE: &str = "GAR-SLS-002";
pub const SLS_SECRET: &str = "GAR-SLS-003";
pub const SLS_RUNTIME: &str = "GAR-SLS-004";
pub const SLS_URL_NO_AUTH: &str = "GAR-SLS-005";

/// Every check ID implemented here.
pub const ALL: [&str; 38] = [
    DF_ROOT,
    DF_ADD_URL,
    DF_LATEST,
    DF_SECRET,
    DF_PKG_PIN,
    DF_PKG_CACHE,
    DF_CURL_PIPE,
    DF_HEALTHCHECK,
    TF_S3_PUBLIC_ACL,
    TF_S3_PAB,
    TF_S3_POLICY_PUBLIC,
    TF_SG_OPEN,
    TF_IAM_ACTION,
    TF_IAM_RESOURCE,
    TF_S3_SSE,
    TF_EBS,
    TF_RDS,
    TF_EFS,
    TF_LAMBDA_RUNTIME,
    TF_LAMBDA_SECRET,
    CFN_S3_PUBLIC_ACL,
    CFN_S3_PAB,
    CFN_S3_POLICY_PUBLIC,
    CFN_SG_OPEN,
    CFN_IAM_ACTION,
    CFN_IAM_RESOURCE,
    CFN_S3_SSE,
    CFN_EBS,
    CFN_RDS,
    CFN_EFS,
    CFN_LAMBDA_RUNTIME,
    CFN_LAMBDA_SECRET,
    CFN_URL_NO_AUTH,
    SLS_IAM_ACTION,
    SLS_IAM_RESOURCE,
    SLS_SECRET,
    SLS_RUNTIME,
    SLS_URL_NO_AUTH,
];
