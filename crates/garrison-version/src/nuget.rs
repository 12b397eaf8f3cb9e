//! NuGet versions: not implemented yet; parsing reports `Unsupported`.

use crate::{Scheme, VersionError};

/// Placeholder type with no values: parse always fails until the scheme is implemented.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NuGetVersion {}

impl NuGetVersion {
    pub(crate) fn parse(_input: &str) -> Result<Self, VersionError> {
        Err(VersionError::Unsupported {
            scheme: Scheme::NuGet,
        })
    }
}
