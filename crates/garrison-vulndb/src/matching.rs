//! Matching packages to advisories: what the data says, and nothing more.

use crate::error::DbError;
use crate::osv::{self, EventKind, RangeKind, Record, StoredAffected};
use crate::store::{AffectedRow, Db};

/// advisory row, fixed versions, affected-without-fix seen, urgency, matched name.
type Hit = (i64, Vec<String>, bool, Option<String>, String);
use garrison_model::{
    AffectedPackage, Distro, Ecosystem, Finding, FixState, Package, Risk, Score, Severity,
    Vulnerability,
};
use garrison_version::{parse, Scheme, Version};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// One (package, advisory) pair the data says is affected.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the package in the slice given to [`match_packages`].
    pub package: usize,
    /// Shared between the matches of one advisory.
    pub vulnerability: Arc<Vulnerability>,
    pub fix: FixState,
    /// Debian `urgency` / Ubuntu priority, as the advisory writes it.
    pub distro_urgency: Option<String>,
    /// The OSV ecosystem the advisory matched in (`Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// The (normalized) name the advisory names: the source package for Debian/Alpine.
    pub matched_name: String,
}

impl Match {
    /// The finding for the report (risk left at its default, for the ranker to fill).
    pub fn to_finding(&self, pkg: &Package) -> Finding {
        let source_name = if pkg.ecosystem.is_os() && self.matched_name != pkg.name {
            Some(self.matched_name.clone())
        } else {
            None
        };
        Finding {
            vulnerability: (*self.vulnerability).clone(),
            package: AffectedPackage {
                name: pkg.full_name(),
                version: pkg.version.clone(),
                ecosystem: pkg.ecosystem,
                purl: pkg.purl.clone(),
                location: pkg.location.clone(),
                layer: pkg.layer.clone(),
                source_name,
            },
            fix: self.fix.clone(),
            distro_urgency: self.distro_urgency.clone(),
            risk: Risk {
                fix_available: matches!(self.fix, FixState::Fixed { .. }),
                ..Risk::default()
            },
            suppressed: None,
        }
    }
}

/// Something matching could not evaluate (the package is then matched by the
/// advisory's explicit `versions` list only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchWarning {
    pub package: usize,
    pub message: String,
}

/// Matches packages against the database. See [`match_packages_with_warnings`].
pub fn match_packages(
    db: &Db,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<Vec<Match>, DbError> {
    Ok(match_packages_with_warnings(db, packages, distro)?.0)
}

/// The lookup keys of one package: (ecosystem key, normalized names, version).
/// `distro_eco`: the ecosystem key of the distro given to the match call.
fn keys_of(pkg: &Package, distro_eco: Option<&str>) -> Option<(String, Vec<String>, String)> {
    if pkg.ecosystem.is_os() {
        let eco = match distro_eco {
            Some(e) => e.to_string(),
            None => osv::ecosystem_key(&purl_distro(pkg)?.osv_ecosystem()?),
        };
        let source = pkg
            .source
            .as_ref()
            .map(|s| s.name.as_str())
            .filter(|s| !s.is_empty());
        let mut names = Vec::new();
        match pkg.ecosystem {
            // AlmaLinux, Rocky and Red Hat name binary packages; others may name the source rpm.
            Ecosystem::Rpm => {
                names.push(pkg.name.clone());
                if let Some(s) = source.filter(|s| *s != pkg.name) {
                    names.push(s.to_string());
                }
            }
            // Debian, Ubuntu and Alpine advisories are per source package.
            _ => names.push(source.unwrap_or(&pkg.name).to_string()),
        }
        let version = match (pkg.ecosystem, &pkg.source) {
            (Ecosystem::Deb, Some(s)) => s.version.clone().unwrap_or_else(|| pkg.version.clone()),
            _ => pkg.version.clone(),
        };
        Some((eco, names, version))
    } else {
        let eco = pkg.ecosystem.osv_name()?.to_string();
        let name = osv::normalize_name(&eco, &pkg.full_name());
        // The Go toolchain reports `go1.22.1`; the Go database's `stdlib` and
        // `toolchain` packages use plain SemVer.
        let version = match (pkg.ecosystem, name.as_str()) {
            (Ecosystem::Go, "stdlib" | "toolchain") => pkg
                .version
                .strip_prefix("go")
                .unwrap_or(&pkg.version)
                .to_string(),
            _ => pkg.version.clone(),
        };
        Some((eco, vec![name], version))
    }
}

const DEBIAN_CODENAMES: [(&str, &str); 8] = [
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("jessie", "8"),
    ("wheezy", "7"),
];

/// The distro a purl's `distro=` qualifier names (`debian-12`, `alpine-3.19.1`,
/// `almalinux-9.4`, or a Debian codename such as `bookworm`).
pub fn purl_distro(pkg: &Package) -> Option<Distro> {
    let purl: packageurl::PackageUrl<'_> = pkg.purl.parse().ok()?;
    let q = purl.qualifiers().get("distro")?.to_string();
    let namespace = purl.namespace().map(str::to_ascii_lowercase);
    let (id, version) = match q.rsplit_once('-') {
        Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
            (id.to_string(), v.to_string())
        }
        _ => {
            let v = DEBIAN_CODENAMES.iter().find(|(c, _)| *c == q.as_str())?.1;
            (namespace.unwrap_or_else(|| "debian".into()), v.to_string())
        }
    };
    Some(Distro {
        id,
        version_id: Some(version),
        ..Distro::default()
    })
}

#[derive(Clone)]
enum Bound {
    Zero,
    V(Rc<Version>),
}

impl Bound {
    fn cmp_v(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::V(b) => (**b).cmp(v),
        }
    }
    fn cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) => Ordering::Equal,
            (Bound::Zero, _) => Ordering::Less,
            (_, Bound::Zero) => Ordering::Greater,
            (Bound::V(a), Bound::V(b)) => a.cmp(b),
        }
    }
}

fn kind_rank(k: &EventKind) -> u8 {
    match k {
        EventKind::Introduced => 0,
        EventKind::LastAffected => 1,
        EventKind::Fixed => 2,
        EventKind::Limit => 3,
    }
}

fn strip_v(s: &str) -> &str {
    s.strip_prefix('v').unwrap_or(s)
}

/// Parses versions once per (scheme, text).
#[derive(Default)]
struct VersionCache {
    parsed: HashMap<Scheme, HashMap<String, Option<Rc<Version>>>>,
}

impl VersionCache {
    fn get(&mut self, scheme: Scheme, s: &str) -> Option<Rc<Version>> {
        let text = if scheme == Scheme::Semver {
            strip_v(s)
        } else {
            s
        };
        let map = self.parsed.entry(scheme).or_default();
        if let Some(v) = map.get(text) {
            return v.clone();
        }
        let v = parse(scheme, text).ok().map(Rc::new);
        map.insert(text.to_string(), v.clone());
        v
    }
}

/// The outcome of one range for one version.
enum RangeOutcome {
    NotAffected,
    /// Affected; the `fixed` event that closes the interval, if the data names one.
    Affected(Option<String>),
    Unevaluable(String),
}

fn evaluate_range(
    kind: RangeKind,
    events: &[(EventKind, String)],
    eco_scheme: Option<Scheme>,
    version: &str,
    cache: &mut VersionCache,
) -> RangeOutcome {
    let scheme = match kind {
        RangeKind::Semver => Scheme::Semver,
        RangeKind::Ecosystem => match eco_scheme {
            Some(s) => s,
            None => {
                return RangeOutcome::Unevaluable("no version ordering for this ecosystem".into())
            }
        },
    };
    let Some(pv) = cache.get(scheme, version) else {
        return RangeOutcome::Unevaluable(format!(
            "{version:?} is not a valid {} version",
            scheme.name()
        ));
    };
    let mut sorted: Vec<(Bound, &EventKind, &str)> = Vec::with_capacity(events.len());
    for (k, v) in events {
        let b = if *k == EventKind::Introduced && v == "0" {
            Bound::Zero
        } else {
            match cache.get(scheme, v) {
                Some(p) => Bound::V(p),
                None => {
                    return RangeOutcome::Unevaluable(format!(
                        "the advisory's {} version {v:?} does not parse",
                        scheme.name()
                    ))
                }
            }
        };
        sorted.push((b, k, v.as_str()));
    }
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(kind_rank(a.1).cmp(&kind_rank(b.1))));
    let mut affected = false;
    let mut pos = 0;
    for (i, (b, k, _)) in sorted.iter().enumerate() {
        let c = b.cmp_v(&pv);
        match k {
            EventKind::Introduced if c != Ordering::Greater => affected = true,
            EventKind::Fixed if c != Ordering::Greater => affected = false,
            EventKind::LastAffected if c == Ordering::Less => affected = false,
            _ => {}
        }
        if c != Ordering::Greater {
            pos = i + 1;
        }
    }
    let limits: Vec<&Bound> = sorted
        .iter()
        .filter(|e| *e.1 == EventKind::Limit)
        .map(|e| &e.0)
        .collect();
    if affected && !limits.is_empty() && !limits.iter().any(|l| l.cmp_v(&pv) == Ordering::Greater) {
        affected = false;
    }
    if !affected {
        return RangeOutcome::NotAffected;
    }
    let mut fix = None;
    for (b, k, raw) in sorted.iter().skip(pos.saturating_sub(1)) {
        match k {
            EventKind::Fixed if b.cmp_v(&pv) == Ordering::Greater => {
                fix = Some(raw.to_string());
                break;
            }
            EventKind::LastAffected if b.cmp_v(&pv) != Ordering::Less => break,
            _ => {}
        }
    }
    RangeOutcome::Affected(fix)
}

/// Whether one `affected[]` entry covers `version`, and its fix.
fn evaluate(
    data: &StoredAffected,
    versions_json: Option<&[u8]>,
    eco_scheme: Option<Scheme>,
    version: &str,
    cache: &mut VersionCache,
    warnings: &mut Vec<String>,
) -> Option<Option<String>> {
    let mut hit: Option<Option<String>> = None;
    for r in &data.ranges {
        match evaluate_range(r.kind, &r.events, eco_scheme, version, cache) {
            RangeOutcome::NotAffected => {}
            RangeOutcome::Affected(fix) => {
                if hit.as_ref().is_none_or(|h| h.is_none()) {
                    hit = Some(fix);
                }
            }
            RangeOutcome::Unevaluable(w) => warnings.push(w),
        }
    }
    if hit.is_some() {
        return hit;
    }
    let listed = data
        .versions
        .iter()
        .any(|v| v == version || strip_v(v) == strip_v(version))
        || versions_json.is_some_and(|j| listed_in_json(j, version));
    if !listed {
        return None;
    }
    // Listed explicitly: the fix is the lowest `fixed` event above the version, if any.
    let mut best: Option<(Rc<Version>, String)> = None;
    for r in &data.ranges {
        let scheme = match r.kind {
            RangeKind::Semver => Scheme::Semver,
            RangeKind::Ecosystem => match eco_scheme {
                Some(s) => s,
                None => continue,
            },
        };
        let Some(pv) = cache.get(scheme, version) else {
            continue;
        };
        for (k, raw) in &r.events {
            if *k != EventKind::Fixed {
                continue;
            }
            if let Some(f) = cache.get(scheme, raw) {
                if f > pv && best.as_ref().is_none_or(|(b, _)| f < *b) {
                    best = Some((f, raw.clone()));
                }
            }
        }
    }
    Some(best.map(|(_, raw)| raw))
}

/// Whether a stored `versions` JSON array holds `version` (or it with/without a `v`),
/// without parsing the array: the strings are searched for as JSON string tokens.
fn listed_in_json(json: &[u8], version: &str) -> bool {
    let plain = |s: &str| !s.is_empty() && !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
    if !plain(version) {
        return serde_json::from_slice::<Vec<String>>(json)
            .map(|v| v.iter().any(|x| x == version))
            .unwrap_or(false);
    }
    let bare = strip_v(version).as_bytes();
    // Between quotes of an array of plain strings: every other segment is one element.
    json.split(|&b| b == b'"')
        .any(|seg| seg == bare || (seg.first() == Some(&b'v') && seg.get(1..) == Some(bare)))
}

fn severity_word(word: &str) -> Option<Severity> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" | "important" => Severity::High,
        "medium" | "moderate" => Severity::Medium,
        "low" | "unimportant" | "negligible" => Severity::Low,
        _ => return None,
    })
}

/// Builds the report's view of an advisory.
pub fn vulnerability_of(record: &Record, urgency: Option<&str>) -> Vulnerability {
    let mut aliases: Vec<String> = Vec::new();
    let extra = record
        .upstream
        .iter()
        .chain(&record.related)
        .filter(|a| a.starts_with("CVE-"));
    for a in record.aliases.iter().chain(extra) {
        if a != &record.id && !aliases.contains(a) {
            aliases.push(a.clone());
        }
    }
    aliases.sort_by_key(|a| !a.starts_with("CVE-"));
    let mut scores: Vec<Score> = Vec::new();
    let affected_sev = record.affected.iter().flat_map(|a| &a.severity);
    for s in record.severity.iter().chain(affected_sev) {
        if !scores
            .iter()
            .any(|x| x.kind == s.kind && x.vector == s.score)
        {
            scores.push(Score {
                kind: s.kind.clone(),
                vector: s.score.clone(),
                base_score: None,
            });
        }
    }
    let ghsa = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|v| v.as_str());
    let summary_word = record
        .summary
        .as_deref()
        .filter(|_| {
            record.id.starts_with("ALSA-")
                || record.id.starts_with("ALBA-")
                || record.id.starts_with("RLSA-")
        })
        .and_then(|s| s.split_once(':'))
        .map(|(w, _)| w);
    let (severity, severity_source) = if let Some(s) = urgency.and_then(severity_word) {
        (
            s,
            Some(format!("distro urgency {}", urgency.unwrap_or_default())),
        )
    } else if let Some(s) = ghsa.and_then(severity_word) {
        (
            s,
            Some(format!(
                "database_specific.severity {}",
                ghsa.unwrap_or_default()
            )),
        )
    } else if let Some(s) = summary_word.and_then(severity_word) {
        (
            s,
            Some(format!(
                "advisory rating {}",
                summary_word.unwrap_or_default()
            )),
        )
    } else {
        (Severity::Unknown, None)
    };
    Vulnerability {
        id: record.id.clone(),
        aliases,
        summary: record.summary.clone().filter(|s| !s.trim().is_empty()),
        details: record.details.clone().filter(|s| !s.trim().is_empty()),
        severity,
        severity_source,
        scores,
        published: record.published.clone(),
        modified: record.modified.clone(),
        references: record.references.iter().map(|r| r.url.clone()).collect(),
    }
}

/// Matches every package against the database.
///
/// OS packages match in the distro's OSV ecosystem (`distro`, else the purl's
/// `distro=` qualifier) by source package (Debian, Ubuntu, Alpine) or by binary and
/// source name (rpm distros name binary packages); language packages by ecosystem and
/// normalized name. Ranges follow the OSV evaluation rules with the ecosystem's
/// version ordering (SEMVER ranges with SemVer 2); `versions` lists match exactly.
/// Withdrawn advisories are never indexed. One [`Match`] per (package, advisory).
pub fn match_packages_with_warnings(
    db: &Db,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<(Vec<Match>, Vec<MatchWarning>), DbError> {
    db.read_txn(|| match_inner(db, packages, distro))
}

fn match_inner(
    db: &Db,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<(Vec<Match>, Vec<MatchWarning>), DbError> {
    let distro_eco = distro
        .and_then(Distro::osv_ecosystem)
        .map(|e| osv::ecosystem_key(&e));
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut cache = VersionCache::default();
    let mut rows: HashMap<(String, String), Rc<Vec<AffectedRow>>> = HashMap::new();
    let mut vulns: HashMap<(i64, Option<String>), Arc<Vulnerability>> = HashMap::new();
    let mut names: HashMap<String, std::sync::Arc<std::collections::HashSet<String>>> =
        HashMap::new();
    for (index, pkg) in packages.iter().enumerate() {
        let Some((eco, lookup_names, version)) = keys_of(pkg, distro_eco.as_deref()) else {
            continue;
        };
        if !names.contains_key(&eco) {
            names.insert(eco.clone(), db.names_in(&eco)?);
        }
        let present = names.get(&eco).cloned().unwrap_or_default();
        let eco_scheme = Scheme::for_osv_ecosystem(&eco);
        // advisory rowid -> (fixes, urgency, matched name)
        let mut hits: Vec<Hit> = Vec::new();
        for name in &lookup_names {
            if !present.contains(name) {
                continue;
            }
            let key = (eco.clone(), name.clone());
            let entries = match rows.get(&key) {
                Some(r) => r.clone(),
                None => {
                    let r = std::rc::Rc::new(db.affected_for(&eco, name)?);
                    rows.insert(key, r.clone());
                    r
                }
            };
            for (adv, data, versions) in entries.iter() {
                let mut w = Vec::new();
                let res = evaluate(
                    data,
                    versions.as_deref(),
                    eco_scheme,
                    &version,
                    &mut cache,
                    &mut w,
                );
                for message in w {
                    let message = format!("{eco}/{name} {version}: {message}");
                    if !warnings
                        .iter()
                        .any(|x: &MatchWarning| x.package == index && x.message == message)
                    {
                        warnings.push(MatchWarning {
                            package: index,
                            message,
                        });
                    }
                }
                let Some(fix) = res else { continue };
                let pos = match hits.iter().position(|h| h.0 == *adv) {
                    Some(p) => p,
                    None => {
                        hits.push((*adv, Vec::new(), false, None, name.clone()));
                        hits.len() - 1
                    }
                };
                let Some(hit) = hits.get_mut(pos) else {
                    continue;
                };
                match fix {
                    Some(f) if !hit.1.contains(&f) => hit.1.push(f),
                    Some(_) => {}
                    None => hit.2 = true,
                }
                if hit.3.is_none() {
                    hit.3 = data.urgency.clone();
                }
            }
        }
        for (adv, fixes, _unfixed, urgency, matched_name) in hits {
            let key = (adv, urgency.clone());
            let vulnerability = match vulns.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let mut v = db.vulnerability_by_rowid(adv)?;
                    if let Some(u) = urgency.as_deref() {
                        if let Some(sev) = severity_word(u) {
                            v.severity = sev;
                            v.severity_source = Some(format!("distro urgency {u}"));
                        }
                    }
                    let v = Arc::new(v);
                    vulns.insert(key, v.clone());
                    v
                }
            };
            let fix = if fixes.is_empty() {
                FixState::NotFixed
            } else {
                FixState::Fixed { versions: fixes }
            };
            out.push(Match {
                package: index,
                vulnerability,
                fix,
                distro_urgency: urgency,
                ecosystem: eco.clone(),
                matched_name,
            });
        }
    }
    Ok((out, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::StoredRange;

    fn data(kind: RangeKind, events: &[(EventKind, &str)], versions: &[&str]) -> StoredAffected {
        StoredAffected {
            ranges: vec![StoredRange {
                kind,
                events: events
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
            }],
            versions: versions.iter().map(|s| s.to_string()).collect(),
            urgency: None,
        }
    }

    fn eval(d: &StoredAffected, scheme: Scheme, v: &str) -> Option<Option<String>> {
        let mut w = Vec::new();
        evaluate(
            d,
            None,
            Some(scheme),
            v,
            &mut VersionCache::default(),
            &mut w,
        )
    }

    use EventKind::*;

    #[test]
    fn osv_range_semantics() {
        // Several intervals, listed out of order (as PyPA writes them).
        let d = data(
            RangeKind::Ecosystem,
            &[
                (Introduced, "3.9.0"),
                (Fixed, "3.19.1"),
                (Introduced, "0"),
                (Fixed, "3.8.1"),
                (Introduced, "3.20.0"),
                (Fixed, "3.23.1"),
            ],
            &[],
        );
        assert_eq!(eval(&d, Scheme::Pep440, "1.0"), Some(Some("3.8.1".into())));
        assert_eq!(eval(&d, Scheme::Pep440, "3.8.1"), None);
        assert_eq!(
            eval(&d, Scheme::Pep440, "3.9.0"),
            Some(Some("3.19.1".into()))
        );
        assert_eq!(eval(&d, Scheme::Pep440, "3.19.1"), None);
        assert_eq!(
            eval(&d, Scheme::Pep440, "3.21"),
            Some(Some("3.23.1".into()))
        );
        assert_eq!(eval(&d, Scheme::Pep440, "4.0"), None);

        // last_affected: inclusive, and no fix to report.
        let d = data(
            RangeKind::Ecosystem,
            &[(Introduced, "1.0"), (LastAffected, "1.5")],
            &[],
        );
        assert_eq!(eval(&d, Scheme::Pep440, "1.5"), Some(None));
        assert_eq!(eval(&d, Scheme::Pep440, "1.5.1"), None);
        assert_eq!(eval(&d, Scheme::Pep440, "0.9"), None);

        // limit: versions at or above every limit are unaffected.
        let d = data(
            RangeKind::Semver,
            &[(Introduced, "0"), (Limit, "2.0.0")],
            &[],
        );
        assert_eq!(eval(&d, Scheme::Semver, "1.9.9"), Some(None));
        assert_eq!(eval(&d, Scheme::Semver, "2.0.0"), None);

        // SEMVER ranges take Go's `v` prefix off.
        let d = data(
            RangeKind::Semver,
            &[(Introduced, "2.3.1"), (Fixed, "2.14.4")],
            &[],
        );
        assert_eq!(eval(&d, Scheme::Go, "v2.14.3"), Some(Some("2.14.4".into())));
        assert_eq!(eval(&d, Scheme::Go, "v2.14.4"), None);

        // dpkg epochs and tildes.
        let d = data(
            RangeKind::Ecosystem,
            &[(Introduced, "0"), (Fixed, "1:2.0-1~deb12u1")],
            &[],
        );
        assert_eq!(
            eval(&d, Scheme::Dpkg, "2.0-1"),
            Some(Some("1:2.0-1~deb12u1".into()))
        );
        assert_eq!(eval(&d, Scheme::Dpkg, "1:2.0-1~deb12u1"), None);
    }

    #[test]
    fn versions_list_and_unparseable_versions() {
        let d = StoredAffected {
            ranges: vec![],
            versions: vec!["1.0".into(), "weird-1".into()],
            urgency: None,
        };
        assert_eq!(eval(&d, Scheme::Pep440, "weird-1"), Some(None));
        assert_eq!(eval(&d, Scheme::Pep440, "1.1"), None);
        assert!(listed_in_json(br#"["0.9","1.0","1.10"]"#, "1.0"));
        assert!(!listed_in_json(br#"["0.9","1.0","1.10"]"#, "1.1"));
        assert!(listed_in_json(br#"["v1.2.3"]"#, "1.2.3"));
        assert!(listed_in_json(br#"["a\"b"]"#, "a\"b"));
        // An unparseable installed version cannot be placed in a range: a warning, no match.
        let d = data(
            RangeKind::Semver,
            &[(Introduced, "0"), (Fixed, "1.0.0")],
            &[],
        );
        let mut w = Vec::new();
        assert_eq!(
            evaluate(
                &d,
                None,
                Some(Scheme::Semver),
                "not a version",
                &mut VersionCache::default(),
                &mut w
            ),
            None
        );
        assert_eq!(w.len(), 1);
    }
}
