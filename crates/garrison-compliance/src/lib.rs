//! Host and image compliance: Garrison's engine for the Wazuh SCA policy format — policies, requirements, variables, checks and their rules, evaluated against a host, a root filesystem or an image, and scored per policy and per framework.
//!
//! - [`policy`]: the data model and loader (`Policy::load`, [`policy::load_all`]).
//! - [`rule`]: the rule grammar (`f:`, `d:`, `p:`, `c:`, `->`, `r:`, `n:`, `!`, `&&`).
//! - [`pattern`]: the OS_Regex and PCRE2 dialects, both bounded.
//! - [`engine`]: Wazuh's evaluation semantics (found / not found / not applicable, conditions).
//! - [`fs`]: reading files inside the target only (`openat2` `RESOLVE_IN_ROOT`, or an image in memory).
//! - [`target`]: opening the host, a rootfs or an image and running policies into a [`report::ComplianceReport`].
//! - [`sys`]: the process list and command execution (timeouts, process groups).

pub mod builtin;
pub mod engine;
pub mod error;
pub mod framework;
pub mod fs;
pub mod pattern;
pub mod policy;
pub mod report;
pub mod rule;
pub mod sys;
pub mod target;

pub use engine::{Engine, Scope};
pub use error::{PolicyError, TargetError};
pub use pattern::{Pattern, RegexType};
pub use policy::{Check, Condition, Origin, Policy, PolicyMeta, Requirements};
pub use report::{ComplianceReport, Outcome};
pub use rule::{Rule, RuleKind};
