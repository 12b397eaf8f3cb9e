//! The detection engine of Garrison: it owns the Falco-compatible rule language
//! (loading, compiling, evaluating rules against runtime events), the default
//! ruleset's tooling, and the alerts that come out of it with their outputs.
//!
//! Flow: rules files ([`load`]) → a compiled [`RuleSet`] (conditions compiled once,
//! indexed by event kind, [`RuleSet::interest`] for the sensors) → an [`Engine`] that
//! swaps rulesets atomically on reload → [`Detector`]s (one per worker, allocation-free
//! evaluation) → [`Alert`]s → [`Grouper`] (folding repeats) → [`output`] sinks.

pub mod alert;
pub mod cond;
pub mod docs;
pub mod engine;
pub mod expr;
pub mod fields;
pub mod load;
pub mod output;
pub mod ruleset;
pub mod samples;
pub mod syscalls;
pub mod testing;
pub mod yaml;

/// The default ruleset, embedded at build time from `rules/`.
pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/default_rules.rs"));

    /// The default ruleset as named sources (`builtin:rules/<path>`), ready for
    /// [`RuleSet::from_sources`](crate::RuleSet::from_sources).
    pub fn sources() -> Vec<(String, String)> {
        DEFAULT_RULES
            .iter()
            .map(|(path, text)| (format!("builtin:rules/{path}"), (*text).to_string()))
            .collect()
    }
}

pub use alert::{Alert, AlertSummary, Grouped, Grouper, ALERT_SCHEMA_VERSION};
pub use engine::{Detector, Engine, Pool, Reload};
pub use load::{LoadError, ENGINE_VERSION};
pub use ruleset::{LoadErrors, LoadOptions, Rule, RuleSet, Skipped};
