//! The policies embedded in the binary (`policies/*.yml`), trusted by construction.
//!
//! Which run by default: against the host, every built-in policy but the
//! container ones (file names starting with `container`); against a rootfs or
//! an image, all of them. Of those, only the policies whose `requirements`
//! hold on the target are kept (Debian 12 → `cis_debian12.yml`).

use crate::engine::Scope;
use crate::error::PolicyError;
use crate::policy::{Origin, Policy};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// Parses every built-in policy. An error here is a packaging bug.
pub fn all() -> Result<Vec<Policy>, PolicyError> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            Policy::parse(
                text,
                Origin {
                    path: format!("builtin:{name}").into(),
                    trusted: true,
                },
            )
        })
        .collect()
}

/// The built-in policies that are candidates for `scope` (before requirements).
pub fn for_scope(scope: Scope) -> Result<Vec<Policy>, PolicyError> {
    Ok(all()?
        .into_iter()
        .filter(|p| {
            scope != Scope::Host
                || !p
                    .origin
                    .path
                    .to_string_lossy()
                    .trim_start_matches("builtin:")
                    .starts_with("container")
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_policy_parses_and_ids_are_unique() {
        let all = super::all().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.len(), super::BUILTIN.len());
        assert!(!all.is_empty(), "no policies/*.yml embedded");
        let errors = crate::policy::check_unique(&all);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(all.iter().all(|p| p.origin.trusted));
    }
}
