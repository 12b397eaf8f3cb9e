//! Java archives made by the JDK's `jar` tool around jars Debian ships,
//! checked against their pom.properties as `unzip -p` reads them (made by
//! fixtures/java/make.sh).

use garrison_inventory::java::{ArchiveLimits, JavaArchiveParser};
use garrison_inventory::{FileRef, Parsed, Parser};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    let dir = match std::env::var_os("GARRISON_FIXTURES") {
        Some(d) => PathBuf::from(d).join("java"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out/java"),
    };
    assert!(
        dir.join("expected.tsv").is_file(),
        "missing Java fixtures in {}: run fixtures/java/make.sh",
        dir.display()
    );
    dir
}

fn parse_with(parser: &JavaArchiveParser, name: &str, location: &str) -> Parsed {
    let content = std::fs::read(fixtures().join(name)).unwrap();
    let file = FileRef {
        path: location,
        size: content.len() as u64,
        executable: false,
    };
    assert!(parser.matches(&file));
    parser
        .parse(&file, &content)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn parse(name: &str, location: &str) -> Parsed {
    parse_with(&JavaArchiveParser::default(), name, location)
}

type Row = (String, Option<String>, String, String, String);

/// (location, group, artifact, version, evidence) of each package.
fn rows(p: &Parsed) -> BTreeSet<Row> {
    p.packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem, garrison_model::Ecosystem::Maven);
            (
                p.location.clone(),
                p.namespace.clone(),
                p.name.clone(),
                p.version.clone(),
                p.properties["maven.evidence"].clone(),
            )
        })
        .collect()
}

fn row(loc: &str, g: Option<&str>, a: &str, v: &str, ev: &str) -> Row {
    (loc.into(), g.map(Into::into), a.into(), v.into(), ev.into())
}

#[test]
fn ear_with_war_with_debian_jars_matches_pom_properties() {
    let parsed = parse("app.ear", "/srv/app.ear");
    let got = rows(&parsed);
    let tsv = std::fs::read_to_string(fixtures().join("expected.tsv")).unwrap();
    let mut want = BTreeSet::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line}");
        want.insert(row(
            &format!("/srv/app.ear!/{}", f[0]),
            Some(f[1]),
            f[2],
            f[3],
            "pom.properties",
        ));
    }
    assert_eq!(want.len(), 4);
    // The WAR's own pom.properties and the manifest-only jar inside it.
    want.insert(row(
        "/srv/app.ear!/app.war",
        Some("org.garrison.fixture"),
        "app",
        "1.0.0",
        "pom.properties",
    ));
    want.insert(row(
        "/srv/app.ear!/app.war!/WEB-INF/lib/greeter-lib.jar",
        Some("org.garrison.fixture"),
        "greeter-lib",
        "2.0.1",
        "manifest",
    ));
    assert_eq!(got, want);
    // The corrupt nested jar is a warning naming it; everything else was read.
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let w = &parsed.warnings[0];
    assert_eq!(w.input, "/srv/app.ear!/app.war!/WEB-INF/lib/broken-1.0.jar");
    assert!(
        w.message.contains("not a readable zip archive"),
        "{}",
        w.message
    );
    let lang3 = parsed
        .packages
        .iter()
        .find(|p| p.name == "commons-lang3")
        .unwrap();
    assert_eq!(
        lang3.properties["maven.pom_properties"],
        "META-INF/maven/org.apache.commons/commons-lang3/pom.properties"
    );
    assert_eq!(
        garrison_model::purl_for(lang3, None).unwrap(),
        "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
    );
}

#[test]
fn manifest_and_file_name_evidence() {
    assert_eq!(
        rows(&parse("greeter-lib.jar", "/l/greeter-lib.jar")),
        BTreeSet::from([row(
            "/l/greeter-lib.jar",
            Some("org.garrison.fixture"),
            "greeter-lib",
            "2.0.1",
            "manifest"
        )])
    );
    assert_eq!(
        rows(&parse("bundle.jar", "/l/bundle.jar")),
        BTreeSet::from([row(
            "/l/bundle.jar",
            Some("org.garrison.fixture"),
            "bundle",
            "1.5.0",
            "manifest"
        )])
    );
    let bundle = parse("bundle.jar", "/l/bundle.jar");
    assert_eq!(bundle.packages[0].licenses, vec!["Apache-2.0".to_string()]);
    assert_eq!(
        rows(&parse("tinyutil-2.4.1.jar", "/l/tinyutil-2.4.1.jar")),
        BTreeSet::from([row(
            "/l/tinyutil-2.4.1.jar",
            None,
            "tinyutil",
            "2.4.1",
            "filename"
        )])
    );
}

#[test]
fn spring_boot_stored_nested_jars() {
    let parsed = parse("boot.jar", "/app/boot.jar");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(
        rows(&parsed),
        BTreeSet::from([row(
            "/app/boot.jar!/BOOT-INF/lib/commons-io-2.11.0.jar",
            Some("commons-io"),
            "commons-io",
            "2.11.0",
            "pom.properties"
        )])
    );
}

#[test]
fn nesting_stops_at_the_depth_limit() {
    let parsed = parse("deep.jar", "/d/deep.jar");
    // deep.jar is level 1; levels 2..=5 are nested 1..=4 deep; level 6 is too deep.
    let versions: BTreeSet<String> = parsed.packages.iter().map(|p| p.version.clone()).collect();
    assert_eq!(
        versions,
        BTreeSet::from(["1.0.2", "1.0.3", "1.0.4", "1.0.5"].map(String::from))
    );
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    assert!(parsed.warnings[0]
        .input
        .ends_with("level-5-1.0.5.jar!/level-6-1.0.6.jar"));
    assert!(parsed.warnings[0].message.contains("nested more than 4"));
}

#[test]
fn zip_bombs_are_capped() {
    // A 64 MiB entry against a 16 MiB per-entry cap: a warning, the rest goes on.
    let small = JavaArchiveParser::with_limits(ArchiveLimits {
        max_nested_bytes: 16 << 20,
        ..ArchiveLimits::default()
    });
    let parsed = parse_with(&small, "bomb.jar", "/b/bomb.jar");
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.warnings[0].input, "/b/bomb.jar!/lib/zeros-1.0.jar");
    assert!(parsed.warnings[0]
        .message
        .contains("larger than 16777216 bytes"));
    // Against an 8 MiB total budget: the whole archive is refused, naming it.
    let tiny = JavaArchiveParser::with_limits(ArchiveLimits {
        max_total_bytes: 8 << 20,
        ..ArchiveLimits::default()
    });
    let content = std::fs::read(fixtures().join("bomb.jar")).unwrap();
    let file = FileRef {
        path: "/b/bomb.jar",
        size: content.len() as u64,
        executable: false,
    };
    let err = tiny.parse(&file, &content).unwrap_err().to_string();
    assert!(
        err.starts_with("/b/bomb.jar: cannot parse as java-archive: more than 8388608 bytes"),
        "{err}"
    );
    // Too many entries.
    let few = JavaArchiveParser::with_limits(ArchiveLimits {
        max_entries: 1000,
        ..ArchiveLimits::default()
    });
    let content = std::fs::read(fixtures().join("many.jar")).unwrap();
    let file = FileRef {
        path: "/b/many.jar",
        size: content.len() as u64,
        executable: false,
    };
    let err = few.parse(&file, &content).unwrap_err().to_string();
    assert!(err.contains("more than 1000 archive entries"), "{err}");
    // The default limits read the 64 MiB entry; it is no archive: a warning.
    let parsed = parse("bomb.jar", "/b/bomb.jar");
    assert_eq!(parsed.warnings.len(), 1);
    assert!(parsed.warnings[0]
        .message
        .contains("not a readable zip archive"));
}

#[test]
fn truncated_and_corrupted_archives_never_panic() {
    let content = std::fs::read(fixtures().join("app.war")).unwrap();
    let parser = JavaArchiveParser::default();
    let file = FileRef {
        path: "/x/app.war",
        size: content.len() as u64,
        executable: false,
    };
    for cut in (0..content.len()).step_by(content.len() / 61) {
        if let Err(e) = parser.parse(&file, &content[..cut]) {
            assert!(e.to_string().starts_with("/x/app.war: "), "{e}");
        }
    }
    let mut smashed = content.clone();
    let n = smashed.len();
    for i in 0..300usize {
        let at = (i * 104_729) % n;
        smashed[at] ^= 0xa5;
        let _ = parser.parse(&file, &smashed);
        // The central directory at the end is the interesting part too.
        let at = n - 1 - (i * 13) % 4000.min(n - 1);
        smashed[at] = smashed[at].wrapping_add(i as u8);
        let _ = parser.parse(&file, &smashed);
    }
}

#[test]
fn only_java_archive_names_match() {
    let parser = JavaArchiveParser::default();
    for yes in [
        "/a/x.jar", "/a/X.WAR", "/a/x.ear", "/a/p.hpi", "/a/p.jpi", "/a/s.sar", "/a/q.par",
    ] {
        assert!(parser.matches(&FileRef::new(yes)), "{yes}");
    }
    for no in ["/a/x.zip", "/a/jar", "/a/.jar", "/a/x.jar.sha1"] {
        assert!(!parser.matches(&FileRef::new(no)), "{no}");
    }
}
