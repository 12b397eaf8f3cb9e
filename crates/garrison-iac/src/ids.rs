//! The IDs of the checks this crate implements; their metadata lives in `checks/`.

pub const DF_ROOT: &str = "DF-001";
pub const DF_ADD_URL: &str = "DF-002";
pub const DF_LATEST: &str = "DF-003";
pub const DF_SECRET: &str = "DF-004";
pub const DF_PKG_PIN: &str = "DF-005";
pub const DF_PKG_CACHE: &str = "DF-006";
pub const DF_CURL_PIPE: &str = "DF-007";
pub const DF_HEALTHCHECK: &str = "DF-008";
