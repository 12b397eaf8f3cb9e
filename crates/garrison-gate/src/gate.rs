use crate::GateError;
use garrison_model::Severity;
use std::collections::BTreeSet;

/// Exit codes every command shares ("Conventions" in the README).
pub mod exit {
    /// The run completed and nothing is over the gate.
    pub const OK: u8 = 0;
    /// Findings at or above the gate (`--exit-code N` changes it).
    pub const FINDINGS: u8 = 1;
    /// Bad usage.
    pub const USAGE: u8 = 2;
    /// The run could not complete (unreadable input, missing database).
    pub const INCOMPLETE: u8 = 3;
}

/// Which findings count, and what exit code they cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Severities that are reported and fail the run. `UNKNOWN` is listed or
    /// not like any other: it never drops out silently.
    pub severities: BTreeSet<Severity>,
    /// The exit code when at least one finding passes the gate (0 = never fail).
    pub exit_code: u8,
    /// Leave out findings the data names no fix for.
    pub ignore_unfixed: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            severities: Severity::ALL.into_iter().collect(),
            exit_code: exit::FINDINGS,
            ignore_unfixed: false,
        }
    }
}

impl Gate {
    /// Parses `CRITICAL,HIGH` (any case, spaces allowed).
    pub fn parse_severities(list: &str) -> Result<BTreeSet<Severity>, GateError> {
        let set: BTreeSet<Severity> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<Severity>().map_err(GateError::Severity))
            .collect::<Result<_, _>>()?;
        if set.is_empty() {
            return Err(GateError::Severity(format!(
                "--severity {list:?} names no severity: list some of CRITICAL, HIGH, MEDIUM, LOW, INFO, UNKNOWN"
            )));
        }
        Ok(set)
    }

    /// Whether a finding of this severity is reported.
    pub fn shows(&self, severity: Severity) -> bool {
        self.severities.contains(&severity)
    }

    /// The exit code for a run in which `reported` findings passed the gate.
    pub fn exit_code_for(&self, reported: usize) -> u8 {
        if reported > 0 {
            self.exit_code
        } else {
            exit::OK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_parse_and_unknown_is_explicit() {
        let s = Gate::parse_severities("critical, HIGH").unwrap();
        assert!(s.contains(&Severity::Critical) && s.contains(&Severity::High));
        assert!(!s.contains(&Severity::Unknown));
        let with_unknown = Gate::parse_severities("HIGH,UNKNOWN").unwrap();
        assert!(with_unknown.contains(&Severity::Unknown));
        assert!(Gate::parse_severities("HIGH,SEVERE").is_err());
        assert!(Gate::parse_severities(" , ").is_err());
    }

    #[test]
    fn exit_codes() {
        let g = Gate { exit_code: 7, ..Gate::default() };
        assert_eq!(g.exit_code_for(0), 0);
        assert_eq!(g.exit_code_for(3), 7);
        assert_eq!(Gate::default().exit_code_for(1), exit::FINDINGS);
    }
}
