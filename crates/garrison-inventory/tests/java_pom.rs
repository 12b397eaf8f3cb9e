//! `pom.xml` declared dependencies: a POM written to the Maven 4.0.0 format
//! (fixtures/java/pom.xml, committed) and Debian's installed slf4j-simple POM
//! (copied by fixtures/java/make.sh).

use garrison_inventory::java::PomParser;
use garrison_inventory::{FileRef, Parsed, Parser};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(path: &Path, location: &str) -> Parsed {
    let content = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = FileRef::new(location);
    assert!(PomParser.matches(&file));
    PomParser
        .parse(&file, &content)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn declared_dependencies_with_properties_and_management() {
    let parsed = parse(&root().join("fixtures/java/pom.xml"), "/src/shop/pom.xml");
    let got: BTreeSet<(String, String, String, String)> = parsed
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.location, "/src/shop/pom.xml");
            assert_eq!(p.direct, Some(true));
            assert_eq!(p.properties["maven.evidence"], "pom.xml");
            (
                p.namespace.clone().unwrap(),
                p.name.clone(),
                p.version.clone(),
                p.properties["maven.scope"].clone(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String, String, String)> = [
        (
            "org.apache.logging.log4j",
            "log4j-core",
            "2.14.1",
            "compile",
        ),
        (
            "com.fasterxml.jackson.core",
            "jackson-databind",
            "2.13.0",
            "compile",
        ),
        ("com.google.guava", "guava", "29.0-jre", "compile"),
        ("org.garrison.fixture", "shop-api", "1.4.2", "compile"),
        (
            "org.garrison.fixture",
            "fixture-bom-aligned",
            "3.1.0",
            "compile",
        ),
        (
            "commons-collections",
            "commons-collections",
            "3.2.1",
            "runtime",
        ),
        ("junit", "junit", "4.13.1", "test"),
    ]
    .into_iter()
    .map(|(g, a, v, s)| (g.into(), a.into(), v.into(), s.into()))
    .collect();
    assert_eq!(got, want);
    // Neither dependencyManagement-only entries (snakeyaml) nor plugin dependencies (asm).
    assert_eq!(parsed.packages.len(), 7);
    let junit = parsed.packages.iter().find(|p| p.name == "junit").unwrap();
    assert!(junit.dev);
    let optional = parsed
        .packages
        .iter()
        .find(|p| p.name == "fixture-bom-aligned")
        .unwrap();
    assert_eq!(optional.properties["maven.optional"], "true");
    let messages: Vec<&str> = parsed.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "dependency org.springframework:spring-core: version ${spring.version}: property ${spring.version} is not defined in this POM; skipped",
            "dependency org.apache.commons:commons-text: version range [1.9,2.0) is not a version; skipped",
            "dependency org.slf4j:slf4j-api has no version here (managed by a parent POM or an imported BOM); skipped",
        ]
    );
    assert!(parsed
        .warnings
        .iter()
        .all(|w| w.input == "/src/shop/pom.xml"));
}

#[test]
fn debian_pom_with_parent_managed_version() {
    let dir = match std::env::var_os("GARRISON_FIXTURES") {
        Some(d) => PathBuf::from(d).join("java"),
        None => root().join("fixtures/out/java"),
    };
    let pom = dir.join("debian-pom/pom.xml");
    assert!(
        pom.is_file(),
        "missing {}: run fixtures/java/make.sh",
        pom.display()
    );
    let parsed = parse(&pom, "/usr/share/maven-repo/pom.xml");
    assert!(parsed.packages.is_empty());
    assert_eq!(parsed.warnings.len(), 1);
    assert!(parsed.warnings[0]
        .message
        .contains("org.slf4j:slf4j-api has no version here"));
}

#[test]
fn broken_poms_are_errors_naming_the_file() {
    let file = FileRef::new("/p/pom.xml");
    for bad in [
        &b"<project><dependencies>"[..],
        b"\xff\xfe<project/>",
        b"<!DOCTYPE project [<!ENTITY a \"aaaa\">]><project>&a;</project>",
        b"",
    ] {
        let e = PomParser.parse(&file, bad).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/p/pom.xml: cannot parse as pom-xml: "),
            "{e}"
        );
    }
    assert!(!PomParser.matches(&FileRef::new("/p/pom.xml.bak")));
    // Every prefix of a real POM: an error or a result, never a panic.
    let text = std::fs::read(root().join("fixtures/java/pom.xml")).unwrap();
    for cut in 0..text.len() {
        let _ = PomParser.parse(&file, &text[..cut]);
    }
}
