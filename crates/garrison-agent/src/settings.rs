//! Settings that may change while the agent runs: the alert grouping window, the
//! per-rule alert cap and the event kinds streamed besides alerts. The command
//! line gives them ([`Settings`]); a policy pushed by the server may override any
//! of them ([`Overrides`], each key left out keeps the command line's value). Who
//! loads a policy puts its overrides into a [`LiveSettings`] slot; the pipeline
//! picks them up at its next turn ([`merge`]) and says in its status which value
//! is in force and where it came from ([`InForce`]).
//!
//! Overrides are checked again here ([`Overrides::check`]): a hostile or corrupt
//! policy is refused ([`LiveSettings::refuse`]) and the previous settings stay.

use garrison_event::EventKind;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Largest alert window a policy may set, seconds (a day).
pub const MAX_ALERT_WINDOW_S: u64 = 86_400;
/// Largest per-rule alert cap a policy may set.
pub const MAX_ALERTS_PER_RULE: u64 = 1_000_000;

/// The settings that can change at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Repeats of one alert within this window are folded.
    pub alert_window: Duration,
    /// At most this many alerts per rule per window.
    pub alerts_per_rule: u64,
    /// The raw event kinds streamed besides alerts.
    pub kinds: Vec<EventKind>,
}

/// What a policy sets; `None`: keep the command line's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The policy's version.
    pub policy_version: String,
    /// Alert window.
    pub alert_window: Option<Duration>,
    /// Per-rule alert cap.
    pub alerts_per_rule: Option<u64>,
    /// Streamed kinds.
    pub kinds: Option<Vec<EventKind>>,
}

/// Overrides outside the allowed ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {version}: {reason}")]
pub struct BadOverrides {
    /// The policy's version.
    pub version: String,
    /// What is wrong.
    pub reason: String,
}

impl Overrides {
    /// Checks the ranges: window 1 s to [`MAX_ALERT_WINDOW_S`], cap 1 to
    /// [`MAX_ALERTS_PER_RULE`].
    pub fn check(&self) -> Result<(), BadOverrides> {
        let bad = |reason: String| BadOverrides {
            version: self.policy_version.clone(),
            reason,
        };
        if let Some(w) = self.alert_window {
            if w < Duration::from_secs(1) || w > Duration::from_secs(MAX_ALERT_WINDOW_S) {
                return Err(bad(format!(
                    "alert_window_s {} must be 1 to {MAX_ALERT_WINDOW_S}",
                    w.as_secs()
                )));
            }
        }
        if let Some(n) = self.alerts_per_rule {
            if !(1..=MAX_ALERTS_PER_RULE).contains(&n) {
                return Err(bad(format!(
                    "alerts_per_rule {n} must be 1 to {MAX_ALERTS_PER_RULE}"
                )));
            }
        }
        Ok(())
    }
}

/// Where a value in force comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Origin {
    /// The command line (or its default).
    CommandLine,
    /// A policy pushed by the server.
    Policy {
        /// Its version.
        policy_version: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::CommandLine => f.write_str("command line"),
            Origin::Policy { policy_version } => write!(f, "policy {policy_version}"),
        }
    }
}

/// A value in force and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it comes from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// The settings in force, for the status file and `garrison agent status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InForce {
    /// Alert window, seconds.
    pub alert_window_s: Sourced<u64>,
    /// Per-rule alert cap.
    pub alerts_per_rule: Sourced<u64>,
    /// Streamed kinds (names).
    pub events: Sourced<Vec<String>>,
    /// Why the last policy's settings were refused (the previous ones stay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Why the source did not take the interest the streamed kinds need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_error: Option<String>,
}

/// The command line's settings with `overrides` applied, and what is in force.
pub fn merge(cli: &Settings, overrides: Option<&Overrides>) -> (Settings, InForce) {
    let pick = |set: bool, ov: &Option<Overrides>| match ov {
        Some(o) if set => Origin::Policy {
            policy_version: o.policy_version.clone(),
        },
        _ => Origin::CommandLine,
    };
    let ov = overrides.cloned();
    let o = ov.as_ref();
    let settings = Settings {
        alert_window: o.and_then(|o| o.alert_window).unwrap_or(cli.alert_window),
        alerts_per_rule: o
            .and_then(|o| o.alerts_per_rule)
            .unwrap_or(cli.alerts_per_rule),
        kinds: o
            .and_then(|o| o.kinds.clone())
            .unwrap_or_else(|| cli.kinds.clone()),
    };
    let in_force = InForce {
        alert_window_s: Sourced {
            value: settings.alert_window.as_secs(),
            origin: pick(o.is_some_and(|o| o.alert_window.is_some()), &ov),
        },
        alerts_per_rule: Sourced {
            value: settings.alerts_per_rule,
            origin: pick(o.is_some_and(|o| o.alerts_per_rule.is_some()), &ov),
        },
        events: Sourced {
            value: settings
                .kinds
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
            origin: pick(o.is_some_and(|o| o.kinds.is_some()), &ov),
        },
        refused: None,
        source_error: None,
    };
    (settings, in_force)
}

/// The slot between whoever loads a policy and the pipeline.
#[derive(Debug, Default)]
pub struct LiveSettings {
    generation: AtomicU64,
    inner: Mutex<Slot>,
}

#[derive(Debug, Default, Clone)]
struct Slot {
    overrides: Option<Overrides>,
    refused: Option<String>,
}

impl LiveSettings {
    /// Puts `overrides` in force (`None`: the command line's settings), after
    /// checking them; refused ones leave the previous in force and say why.
    pub fn set(&self, overrides: Option<Overrides>) -> Result<(), BadOverrides> {
        if let Some(o) = &overrides {
            if let Err(e) = o.check() {
                self.refuse(e.to_string());
                return Err(e);
            }
        }
        if let Ok(mut s) = self.inner.lock() {
            s.overrides = overrides;
            s.refused = None;
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Records why a policy's settings were refused; the previous stay in force.
    pub fn refuse(&self, why: String) {
        if let Ok(mut s) = self.inner.lock() {
            s.refused = Some(why);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Bumped by every [`LiveSettings::set`] and [`LiveSettings::refuse`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The overrides in force and the last refusal.
    pub fn snapshot(&self) -> (Option<Overrides>, Option<String>) {
        self.inner
            .lock()
            .map(|s| (s.overrides.clone(), s.refused.clone()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Settings {
        Settings {
            alert_window: Duration::from_secs(60),
            alerts_per_rule: 100,
            kinds: vec![],
        }
    }

    #[test]
    fn the_command_line_holds_until_a_policy_overrides_and_returns_when_a_key_is_dropped() {
        let (s, f) = merge(&cli(), None);
        assert_eq!(s, cli());
        assert_eq!(f.alerts_per_rule.origin, Origin::CommandLine);
        assert_eq!(f.events.value, Vec::<String>::new());

        let ov = Overrides {
            policy_version: "v7".into(),
            alerts_per_rule: Some(5),
            kinds: Some(vec![EventKind::Exec, EventKind::Mkdir]),
            ..Overrides::default()
        };
        let (s, f) = merge(&cli(), Some(&ov));
        assert_eq!(s.alerts_per_rule, 5);
        assert_eq!(s.alert_window, Duration::from_secs(60), "left out: CLI");
        assert_eq!(s.kinds, vec![EventKind::Exec, EventKind::Mkdir]);
        assert_eq!(
            f.alerts_per_rule.origin,
            Origin::Policy {
                policy_version: "v7".into()
            }
        );
        assert_eq!(f.alert_window_s.origin, Origin::CommandLine);
        assert_eq!(f.events.value, vec!["exec", "mkdir"]);
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(
            json["alerts_per_rule"],
            serde_json::json!({"value": 5, "from": "policy", "policy_version": "v7"})
        );
        assert_eq!(
            json["alert_window_s"],
            serde_json::json!({"value": 60, "from": "command_line"})
        );
        let back: InForce = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);

        // The next policy drops alerts_per_rule: back to the command line's.
        let ov2 = Overrides {
            policy_version: "v8".into(),
            alert_window: Some(Duration::from_secs(5)),
            ..Overrides::default()
        };
        let (s, f) = merge(&cli(), Some(&ov2));
        assert_eq!(s.alerts_per_rule, 100);
        assert_eq!(f.alerts_per_rule.origin, Origin::CommandLine);
        assert_eq!(s.alert_window, Duration::from_secs(5));
        assert_eq!(s.kinds, Vec::<EventKind>::new());
        // An empty list is a setting too (stream no events), not "left out".
        let ov3 = Overrides {
            policy_version: "v9".into(),
            kinds: Some(vec![]),
            ..Overrides::default()
        };
        let mut with_events = cli();
        with_events.kinds = vec![EventKind::Open];
        let (s, f) = merge(&with_events, Some(&ov3));
        assert!(s.kinds.is_empty());
        assert_eq!(f.events.origin.to_string(), "policy v9");
    }

    #[test]
    fn out_of_range_overrides_are_refused_and_the_previous_stay() {
        let live = LiveSettings::default();
        let good = Overrides {
            policy_version: "v1".into(),
            alerts_per_rule: Some(3),
            ..Overrides::default()
        };
        live.set(Some(good.clone())).unwrap();
        let g = live.generation();
        for bad in [
            Overrides {
                policy_version: "v2".into(),
                alerts_per_rule: Some(0),
                ..Overrides::default()
            },
            Overrides {
                policy_version: "v2".into(),
                alerts_per_rule: Some(MAX_ALERTS_PER_RULE + 1),
                ..Overrides::default()
            },
            Overrides {
                policy_version: "v2".into(),
                alert_window: Some(Duration::ZERO),
                ..Overrides::default()
            },
            Overrides {
                policy_version: "v2".into(),
                alert_window: Some(Duration::from_secs(MAX_ALERT_WINDOW_S + 1)),
                ..Overrides::default()
            },
        ] {
            let e = live.set(Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with("policy v2: "), "{e}");
            let (ov, refused) = live.snapshot();
            assert_eq!(ov, Some(good.clone()), "the previous stay in force");
            assert_eq!(refused, Some(e));
        }
        assert!(live.generation() > g);
        live.set(None).unwrap();
        assert_eq!(live.snapshot(), (None, None));
    }
}
