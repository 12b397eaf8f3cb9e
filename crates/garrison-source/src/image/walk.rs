//! The layer walker: streams each layer's tar in order and applies OCI whiteouts.

use super::ImageSource;
use crate::{Limits, SourceError, Visitor};

/// Walks every layer of `image` bottom first, calling `visitor` for each entry.
pub fn walk_layers(
    image: &mut dyn ImageSource,
    visitor: &mut dyn Visitor,
    limits: &Limits,
) -> Result<(), SourceError> {
    let _ = (image, visitor, limits);
    Err(SourceError::Other {
        input: "image".into(),
        reason: "layer walking is not built yet".into(),
    })
}
