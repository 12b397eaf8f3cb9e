//! OSV records (https://ossf.github.io/osv-schema/), any schema 1.x, in JSON or YAML.

use serde::{Deserialize, Deserializer, Serialize};

/// `null` and a missing field both become the default (OSV exporters write both).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV record, with the fields Garrison uses (unknown fields are ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// `severity[]`: a scoring system and its vector (or rating word).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackageRef {
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
}

/// One range event. OSV allows exactly one of the four keys per event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// What an event means for evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

impl Event {
    /// The event's kind and version; `None` when it has no key or more than one.
    pub fn kind(&self) -> Option<(EventKind, &str)> {
        let all = [
            (EventKind::Introduced, &self.introduced),
            (EventKind::Fixed, &self.fixed),
            (EventKind::LastAffected, &self.last_affected),
            (EventKind::Limit, &self.limit),
        ];
        let mut set = all
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)));
        let first = set.next()?;
        match set.next() {
            Some(_) => None,
            None => Some(first),
        }
    }
}

/// The format a record is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format of a file by its name (`*.json`, `*.yaml`, `*.yml`).
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else {
            None
        }
    }
}

/// Parses one OSV record. Errors are plain strings (the caller adds the input name).
pub fn parse_record(bytes: &[u8], format: Format) -> Result<Record, String> {
    let record: Record = match format {
        Format::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string())?,
        Format::Yaml => serde_yaml_ng::from_slice(bytes).map_err(|e| e.to_string())?,
    };
    if record.id.trim().is_empty() {
        return Err("the record has an empty `id`".to_string());
    }
    if let Some(v) = &record.schema_version {
        if !v.starts_with("1.") && v != "1" {
            return Err(format!(
                "unsupported schema_version {v:?} (Garrison reads OSV 1.x)"
            ));
        }
    }
    Ok(record)
}

/// Range kinds Garrison evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    #[serde(rename = "S")]
    Semver,
    #[serde(rename = "E")]
    Ecosystem,
}

/// An evaluable range as stored in the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRange {
    #[serde(rename = "k")]
    pub kind: RangeKind,
    /// Events in the order the record lists them: (kind, version).
    #[serde(rename = "e")]
    pub events: Vec<(EventKind, String)>,
}

/// The matching data of one `affected[]` entry, as stored in the database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredAffected {
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<StoredRange>,
    #[serde(rename = "v", default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Debian `ecosystem_specific.urgency`, Ubuntu severity `type: Ubuntu`, ...
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
}

/// One normalized `affected[]` entry ready for the index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// Ecosystem key (`Debian:12`, `PyPI`, `Ubuntu:22.04`).
    pub ecosystem: String,
    /// Normalized package name.
    pub name: String,
    pub data: StoredAffected,
}

/// What normalizing a record found that could not be used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizeStats {
    pub git_ranges: u64,
    pub unknown_ranges: u64,
    pub bad_events: u64,
}

/// The ecosystem key used in the index: the OSV ecosystem with suffixes that do
/// not change which packages it covers removed (`Ubuntu:22.04:LTS` -> `Ubuntu:22.04`).
pub fn ecosystem_key(ecosystem: &str) -> String {
    let e = ecosystem.trim();
    if let Some(rest) = e.strip_prefix("Ubuntu:") {
        if let Some(v) = rest.strip_suffix(":LTS") {
            return format!("Ubuntu:{v}");
        }
    }
    e.to_string()
}

/// The base ecosystem (`Debian:12` -> `Debian`).
pub fn ecosystem_base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// Normalizes a package name the way its ecosystem compares names:
/// PEP 503 for PyPI, lowercase for Packagist and NuGet, as written elsewhere
/// (npm, crates.io, Go module paths and Maven `group:artifact` are case-sensitive).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let name = name.trim();
    match ecosystem_base(ecosystem) {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut sep = false;
            for c in name.chars() {
                if c == '-' || c == '_' || c == '.' {
                    sep = true;
                } else {
                    if sep && !out.is_empty() {
                        out.push('-');
                    }
                    sep = false;
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        "Packagist" | "NuGet" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

fn urgency_of(affected: &Affected, record: &Record) -> Option<String> {
    if let Some(u) = affected
        .ecosystem_specific
        .as_ref()
        .and_then(|v| v.get("urgency"))
        .and_then(|v| v.as_str())
    {
        return Some(u.to_string());
    }
    affected
        .severity
        .iter()
        .chain(&record.severity)
        .find(|s| s.kind.eq_ignore_ascii_case("Ubuntu"))
        .map(|s| s.score.clone())
}

/// The index entries of a record (none for withdrawn records).
pub fn index_entries(record: &Record, stats: &mut NormalizeStats) -> Vec<IndexEntry> {
    let mut out = Vec::new();
    if record.withdrawn.is_some() {
        return out;
    }
    for affected in &record.affected {
        let Some(pkg) = &affected.package else {
            continue;
        };
        if pkg.ecosystem.trim().is_empty() || pkg.name.trim().is_empty() {
            continue;
        }
        let mut ranges = Vec::new();
        for range in &affected.ranges {
            let kind = match range.kind.as_str() {
                "SEMVER" => RangeKind::Semver,
                "ECOSYSTEM" => RangeKind::Ecosystem,
                "GIT" => {
                    stats.git_ranges += 1;
                    continue;
                }
                _ => {
                    stats.unknown_ranges += 1;
                    continue;
                }
            };
            let mut events = Vec::with_capacity(range.events.len());
            for e in &range.events {
                match e.kind() {
                    Some((k, v)) => events.push((k, v.to_string())),
                    None => stats.bad_events += 1,
                }
            }
            if !events.is_empty() {
                ranges.push(StoredRange { kind, events });
            }
        }
        if ranges.is_empty() && affected.versions.is_empty() {
            continue;
        }
        let ecosystem = ecosystem_key(&pkg.ecosystem);
        let name = normalize_name(&ecosystem, &pkg.name);
        out.push(IndexEntry {
            data: StoredAffected {
                ranges,
                versions: affected.versions.clone(),
                urgency: urgency_of(affected, record),
            },
            ecosystem,
            name,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503() {
        assert_eq!(normalize_name("PyPI", "Oslo_Middleware"), "oslo-middleware");
        assert_eq!(normalize_name("PyPI", "zope..interface"), "zope-interface");
        assert_eq!(normalize_name("npm", "JSONStream"), "JSONStream");
        assert_eq!(ecosystem_key("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
    }

    #[test]
    fn event_with_two_keys_is_rejected() {
        let e = Event {
            introduced: Some("1".into()),
            fixed: Some("2".into()),
            ..Event::default()
        };
        assert_eq!(e.kind(), None);
    }

    #[test]
    fn yaml_numbers_stay_text() {
        let r = parse_record(
            b"id: X-1\naffected:\n- package: {name: a, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n",
            Format::Yaml,
        )
        .unwrap();
        let e = &r.affected[0].ranges[0].events;
        assert_eq!(e[0].introduced.as_deref(), Some("0"));
        assert_eq!(e[1].fixed.as_deref(), Some("1.10"));
    }
}
