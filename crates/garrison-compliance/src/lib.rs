//! Host and image compliance: Garrison's engine for the Wazuh SCA policy format — policies, requirements, variables, checks and their rules, evaluated against a host, a root filesystem or an image, and scored per policy and per framework.
//!
//! - [`policy`]: the data model and loader (`Policy::load`, [`policy::load_all`]).
//! - [`rule`]: the rule grammar (`f:`, `d:`, `p:`, `c:`, `->`, `r:`, `n:`, `!`, `&&`).
//! - [`pattern`]: the OS_Regex and PCRE2 dialects, both bounded.

pub mod error;
pub mod pattern;
pub mod policy;
pub mod rule;

pub use error::PolicyError;
pub use pattern::{Pattern, RegexType};
pub use policy::{Check, Condition, Origin, Policy, PolicyMeta, Requirements};
pub use rule::{Rule, RuleKind};
