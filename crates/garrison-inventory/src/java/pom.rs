//! Maven `pom.xml`: the dependencies a project declares.
//!
//! Only `project/dependencies/dependency` entries count; entries under
//! `dependencyManagement` are not dependencies, but give versions to the
//! declared ones that omit theirs. `${property}` references resolve from
//! `<properties>` and the project's and parent's coordinates. A dependency
//! whose coordinates or version cannot be resolved from this file alone (a
//! version managed by a parent or an imported BOM, a property defined
//! elsewhere, a version range) is skipped with a warning naming it.

use crate::{FileRef, ParseError, Parsed, Parser};
use garrison_model::{Ecosystem, Package, Warning};
use roxmltree::{Document, Node};
use std::collections::BTreeMap;

/// How many rounds of `${...}` substitution before giving up (cycles).
const MAX_ROUNDS: usize = 16;

/// Reads declared dependencies from `pom.xml` files.
pub struct PomParser;

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node<'_, '_>, name: &str) -> Option<String> {
    child(n, name)
        .map(|c| c.text().unwrap_or("").trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Substitutes `${name}` references; `Err(name)` for the first one that has no value.
fn resolve(s: &str, props: &BTreeMap<String, String>) -> Result<String, String> {
    let mut cur = s.to_string();
    for _ in 0..MAX_ROUNDS {
        let Some(start) = cur.find("${") else {
            return Ok(cur);
        };
        let Some(len) = cur[start..].find('}') else {
            return Err(cur[start..].to_string());
        };
        let key = &cur[start + 2..start + len];
        let Some(v) = props.get(key) else {
            return Err(key.to_string());
        };
        cur = format!("{}{}{}", &cur[..start], v, &cur[start + len + 1..]);
    }
    Err(format!("{s} (too many nested references)"))
}

/// The declared dependencies of one POM document.
pub fn parse_pom(xml: &str, location: &str) -> Result<Parsed, String> {
    let doc = Document::parse(xml).map_err(|e| format!("not well-formed XML: {e}"))?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(format!(
            "root element is <{}>, not <project>",
            project.tag_name().name()
        ));
    }
    let mut props = BTreeMap::new();
    if let Some(p) = child(project, "properties") {
        for e in p.children().filter(|c| c.is_element()) {
            props.insert(
                e.tag_name().name().to_string(),
                e.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    let parent = child(project, "parent");
    for field in ["groupId", "artifactId", "version"] {
        if let Some(v) = parent.and_then(|p| text(p, field)) {
            props.insert(format!("project.parent.{field}"), v.clone());
            props.insert(format!("parent.{field}"), v);
        }
        let own = text(project, field)
            .or_else(|| (field != "artifactId").then(|| parent.and_then(|p| text(p, field)))?);
        if let Some(v) = own {
            props.insert(format!("project.{field}"), v.clone());
            props.insert(format!("pom.{field}"), v);
        }
    }
    let mut managed = BTreeMap::new();
    if let Some(dm) = child(project, "dependencyManagement").and_then(|d| child(d, "dependencies"))
    {
        for d in children(dm, "dependency") {
            let (Some(g), Some(a), Some(v)) = (
                text(d, "groupId"),
                text(d, "artifactId"),
                text(d, "version"),
            ) else {
                continue;
            };
            if let (Ok(g), Ok(a)) = (resolve(&g, &props), resolve(&a, &props)) {
                managed.insert((g, a), v);
            }
        }
    }
    let mut parsed = Parsed::default();
    let Some(deps) = child(project, "dependencies") else {
        return Ok(parsed);
    };
    for d in children(deps, "dependency") {
        let mut warn = |what: String| parsed.warnings.push(Warning::new(location, what));
        let (Some(g), Some(a)) = (text(d, "groupId"), text(d, "artifactId")) else {
            warn("a dependency lacks groupId or artifactId; skipped".to_string());
            continue;
        };
        let (g, a) = match (resolve(&g, &props), resolve(&a, &props)) {
            (Ok(g), Ok(a)) => (g, a),
            (Err(p), _) | (_, Err(p)) => {
                warn(format!(
                    "dependency {g}:{a}: property ${{{p}}} is not defined in this POM; skipped"
                ));
                continue;
            }
        };
        let raw = match text(d, "version").or_else(|| managed.get(&(g.clone(), a.clone())).cloned())
        {
            Some(v) => v,
            None => {
                warn(format!(
                    "dependency {g}:{a} has no version here (managed by a parent POM or an imported BOM); skipped"
                ));
                continue;
            }
        };
        let version = match resolve(&raw, &props) {
            Ok(v) => v,
            Err(p) => {
                warn(format!(
                    "dependency {g}:{a}: version {raw}: property ${{{p}}} is not defined in this POM; skipped"
                ));
                continue;
            }
        };
        if version.starts_with('[') || version.starts_with('(') || version.contains(',') {
            warn(format!(
                "dependency {g}:{a}: version range {version} is not a version; skipped"
            ));
            continue;
        }
        let scope = text(d, "scope").unwrap_or_else(|| "compile".to_string());
        let mut p = Package::new(Ecosystem::Maven, a, version, location);
        p.namespace = Some(g);
        p.direct = Some(true);
        p.dev = scope == "test";
        p.properties.insert("maven.scope".to_string(), scope);
        p.properties
            .insert("maven.evidence".to_string(), "pom.xml".to_string());
        if text(d, "optional").as_deref() == Some("true") {
            p.properties
                .insert("maven.optional".to_string(), "true".to_string());
        }
        parsed.packages.push(p);
    }
    Ok(parsed)
}

impl Parser for PomParser {
    fn name(&self) -> &'static str {
        "pom-xml"
    }

    fn matches(&self, file: &FileRef<'_>) -> bool {
        file.file_name() == "pom.xml"
    }

    fn parse(&self, file: &FileRef<'_>, content: &[u8]) -> Result<Parsed, ParseError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| ParseError::new(self.name(), file.path, format!("not UTF-8: {e}")))?;
        parse_pom(text, file.path).map_err(|e| ParseError::new(self.name(), file.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_rules() {
        let mut props = BTreeMap::new();
        props.insert("a".to_string(), "${b}".to_string());
        props.insert("b".to_string(), "1.0".to_string());
        props.insert("loop".to_string(), "${loop}".to_string());
        assert_eq!(resolve("x-${a}-${b}", &props).unwrap(), "x-1.0-1.0");
        assert_eq!(resolve("${nope}", &props).unwrap_err(), "nope");
        assert!(resolve("${loop}", &props).is_err());
        assert!(resolve("${open", &props).is_err());
    }

    #[test]
    fn not_a_pom() {
        assert!(parse_pom("<settings/>", "/p")
            .unwrap_err()
            .contains("<settings>"));
        assert!(parse_pom("<project>", "/p")
            .unwrap_err()
            .contains("not well-formed"));
    }
}
