//! Check metadata kept as data (`checks/<kind>/<ID>.yaml`), the catalog that
//! holds it, and the linter CI runs over it.

use garrison_model::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_checks.rs"));
}

/// The kinds of configuration file Garrison checks. The folder under
/// `checks/` and the `kind:` of a check use [`FileKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    K8s,
    Dockerfile,
    Terraform,
    #[serde(rename = "cloudformation")]
    CloudFormation,
    Serverless,
}

impl FileKind {
    pub const ALL: [FileKind; 5] = [
        FileKind::K8s,
        FileKind::Dockerfile,
        FileKind::Terraform,
        FileKind::CloudFormation,
        FileKind::Serverless,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::K8s => "k8s",
            FileKind::Dockerfile => "dockerfile",
            FileKind::Terraform => "terraform",
            FileKind::CloudFormation => "cloudformation",
            FileKind::Serverless => "serverless",
        }
    }

    /// The part of a check ID after `GAR-` (`GAR-K8S-001`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            FileKind::K8s => "K8S",
            FileKind::Dockerfile => "DF",
            FileKind::Terraform => "TF",
            FileKind::CloudFormation => "CFN",
            FileKind::Serverless => "SLS",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FileKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        FileKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || (s == "kubernetes" && *k == FileKind::K8s))
            .ok_or_else(|| {
                format!("unknown file type {s:?}: expected k8s, dockerfile, terraform, cloudformation or serverless")
            })
    }
}

/// Framework IDs a check may map to ("Conventions" in DESIGN.md).
pub const FRAMEWORKS: [&str; 7] = [
    "cis",
    "nist-800-53",
    "pci-dss-4.0",
    "hipaa",
    "soc2",
    "nsa-cisa-k8s",
    "mitre-attack",
];

/// Which upstream Pod Security Standards check a k8s check implements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PssRef {
    /// `baseline` or `restricted`.
    pub level: String,
    /// The upstream check ID, e.g. `hostNamespaces`.
    pub check: String,
}

/// One check: what it looks for, why, how to fix it, and where it maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// `GAR-<KIND>-<NNN>`, e.g. `GAR-K8S-001`.
    pub id: String,
    pub kind: FileKind,
    pub title: String,
    pub severity: Severity,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
    /// Framework ID → control IDs.
    #[serde(default)]
    pub frameworks: BTreeMap<String, Vec<String>>,
    /// Set on the k8s checks that implement a Pod Security Standards check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pss: Option<PssRef>,
}

/// A check data file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checks/{file}: {reason}")]
pub struct CatalogError {
    /// Path under `checks/`.
    pub file: String,
    pub reason: String,
}

/// Every check, by ID.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    checks: BTreeMap<String, Arc<Check>>,
}

impl Catalog {
    /// The checks built into this binary (from the repository's `checks/`).
    pub fn builtin() -> Result<&'static Catalog, CatalogError> {
        static CELL: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CELL.get_or_init(|| {
            let (catalog, mut errors) = Catalog::from_files(embedded::EMBEDDED.iter().copied());
            match errors.is_empty() {
                true => Ok(catalog),
                false => Err(errors.remove(0)),
            }
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Reads and lints `(path under checks/, text)` pairs; returns the checks
    /// that are valid and one error per problem found.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Catalog, Vec<CatalogError>) {
        let mut catalog = Catalog::default();
        let mut errors = Vec::new();
        for (rel, text) in files {
            let err = |reason: String| CatalogError {
                file: rel.to_string(),
                reason,
            };
            let check: Check = match serde_yaml_ng::from_str(text) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(err(format!("not a valid check file: {e}")));
                    continue;
                }
            };
            let problems = lint(rel, &check);
            if !problems.is_empty() {
                errors.extend(problems.into_iter().map(err));
                continue;
            }
            if catalog.checks.contains_key(&check.id) {
                errors.push(err(format!("duplicate check ID {}", check.id)));
                continue;
            }
            catalog.checks.insert(check.id.clone(), Arc::new(check));
        }
        (catalog, errors)
    }

    /// Reads and lints every `*.yaml` under `dir` (a `checks/` folder).
    pub fn from_dir(dir: &Path) -> Result<(Catalog, Vec<CatalogError>), std::io::Error> {
        let mut files = Vec::new();
        collect(dir, dir, &mut files)?;
        files.sort();
        let (catalog, errors) =
            Catalog::from_files(files.iter().map(|(r, t)| (r.as_str(), t.as_str())));
        Ok((catalog, errors))
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Check>> {
        self.checks.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Check>> {
        self.checks.values()
    }

    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The checks of one file kind.
    pub fn of_kind(&self, kind: FileKind) -> impl Iterator<Item = &Arc<Check>> {
        self.checks.values().filter(move |c| c.kind == kind)
    }

    /// The check for an upstream Pod Security Standards check ID.
    pub fn pss(&self, upstream: &str) -> Option<&Arc<Check>> {
        self.checks
            .values()
            .find(|c| c.pss.as_ref().is_some_and(|p| p.check == upstream))
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}

/// The rules every check file follows; one message per broken rule.
fn lint(rel: &str, c: &Check) -> Vec<String> {
    let mut p = Vec::new();
    let (folder, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let stem = file.strip_suffix(".yaml").unwrap_or(file);
    if folder != c.kind.as_str() {
        p.push(format!(
            "kind {} does not match its folder {folder:?}: put it under checks/{}/",
            c.kind, c.kind
        ));
    }
    if stem != c.id {
        p.push(format!("id {} does not match the file name {file}", c.id));
    }
    let prefix = format!("GAR-{}-", c.kind.id_prefix());
    match c.id.strip_prefix(&prefix) {
        Some(n) if n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()) => {}
        _ => p.push(format!("id {} is not {prefix}NNN", c.id)),
    }
    for (name, v) in [
        ("title", &c.title),
        ("rationale", &c.rationale),
        ("remediation", &c.remediation),
    ] {
        if v.trim().len() < 10 {
            p.push(format!("{name} is empty or too short to help anyone"));
        }
    }
    if c.title.len() > 100 || c.title.contains('\n') {
        p.push("title is longer than one line of 100 characters".into());
    }
    if c.severity == Severity::Unknown {
        p.push("severity UNKNOWN: every check states its severity".into());
    }
    if c.references.is_empty() {
        p.push("has no references: link the standard or documentation it is based on".into());
    }
    for r in &c.references {
        if !r.starts_with("https://") || r.contains(char::is_whitespace) {
            p.push(format!("reference {r:?} is not an https URL"));
        }
    }
    if c.frameworks.is_empty() {
        p.push("maps to no framework: add at least one of cis, nist-800-53, pci-dss-4.0, hipaa, soc2, nsa-cisa-k8s, mitre-attack".into());
    }
    for (f, controls) in &c.frameworks {
        if !FRAMEWORKS.contains(&f.as_str()) {
            p.push(format!(
                "framework {f:?} is not one of {}",
                FRAMEWORKS.join(", ")
            ));
        }
        if controls.is_empty() || controls.iter().any(|x| x.trim().is_empty()) {
            p.push(format!("framework {f} lists no control (or an empty one)"));
        }
    }
    if let Some(pss) = &c.pss {
        if c.kind != FileKind::K8s {
            p.push("pss is only for k8s checks".into());
        }
        if pss.level != "baseline" && pss.level != "restricted" {
            p.push(format!(
                "pss level {:?} is not baseline or restricted",
                pss.level
            ));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "id: GAR-K8S-900\nkind: k8s\ntitle: A test check title\nseverity: HIGH\nrationale: Because it matters a lot.\nremediation: Change the setting to a safe value.\nreferences: [https://example.org/x]\nframeworks:\n  cis: ['5.2.1']\n";

    #[test]
    fn a_good_file_loads_and_is_found_by_id() {
        let (c, e) = Catalog::from_files([("k8s/GAR-K8S-900.yaml", GOOD)]);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.get("GAR-K8S-900").unwrap().severity, Severity::High);
    }

    #[test]
    fn the_linter_names_each_broken_rule() {
        let bad = GOOD
            .replace("cis:", "iso27001:")
            .replace("https://example.org/x", "http://x");
        let (c, e) = Catalog::from_files([("dockerfile/GAR-K8S-901.yaml", bad.as_str())]);
        assert!(c.is_empty());
        let all = e
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("does not match its folder"), "{all}");
        assert!(all.contains("does not match the file name"), "{all}");
        assert!(all.contains("iso27001"), "{all}");
        assert!(all.contains("not an https URL"), "{all}");
        let (_, e) = Catalog::from_files([("k8s/GAR-K8S-900.yaml", "id: [")]);
        assert!(e[0].reason.contains("not a valid check file"));
        let unknown = format!("{GOOD}colour: red\n");
        let (_, e) = Catalog::from_files([("k8s/GAR-K8S-900.yaml", unknown.as_str())]);
        assert!(e[0].reason.contains("colour"), "{e:?}");
    }

    #[test]
    fn the_builtin_catalog_is_valid() {
        let c = Catalog::builtin().unwrap();
        assert!(c.of_kind(FileKind::K8s).count() > 0);
    }

    #[test]
    fn the_repository_checks_folder_lints_clean() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checks");
        let (catalog, errors) = Catalog::from_dir(&dir).unwrap();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(!catalog.is_empty());
    }
}
