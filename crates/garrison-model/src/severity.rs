use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One severity scale for every finding (vulnerability, misconfiguration, failed
/// control, alert). `Unknown` is explicit: it never silently drops out of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Info => "INFO",
            Severity::Unknown => "UNKNOWN",
        }
    }

    /// Maps a Falco rule priority onto the shared scale.
    pub fn from_falco_priority(p: &str) -> Option<Severity> {
        Some(match p.to_ascii_uppercase().as_str() {
            "EMERGENCY" | "ALERT" | "CRITICAL" => Severity::Critical,
            "ERROR" => Severity::High,
            "WARNING" | "WARN" => Severity::Medium,
            "NOTICE" => Severity::Low,
            "INFORMATIONAL" | "INFO" | "DEBUG" => Severity::Info,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown severity {s:?}: expected one of CRITICAL, HIGH, MEDIUM, LOW, INFO, UNKNOWN")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Unknown < Severity::Info);
        assert!("bogus".parse::<Severity>().is_err());
        assert_eq!(
            Severity::from_falco_priority("Warning"),
            Some(Severity::Medium)
        );
    }
}
