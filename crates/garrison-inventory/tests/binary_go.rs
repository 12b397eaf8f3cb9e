//! Go build information read from real binaries, checked against what
//! `go version -m` printed for the same files (made by fixtures/gobin/make.sh).

use garrison_inventory::binary::{go, parsers, BinaryParser};
use garrison_inventory::{FileRef, Parser};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    let dir = match std::env::var_os("GARRISON_FIXTURES") {
        Some(d) => PathBuf::from(d).join("gobin"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out/gobin"),
    };
    assert!(
        dir.join("debian-binaries.txt").is_file(),
        "missing Go binary fixtures in {}: run fixtures/gobin/make.sh",
        dir.display()
    );
    dir
}

/// What `go version -m` said: the Go version and the (name, version) set the
/// parser must report (main module, deps with module replacements applied,
/// the toolchain as stdlib).
struct Oracle {
    go_version: String,
    main: Option<(String, String)>,
    expected: BTreeSet<(String, String)>,
}

fn oracle(text: &str) -> Oracle {
    let mut lines = text.lines();
    let first = lines.next().expect("empty go version -m output");
    let go_version = first.rsplit(": ").next().unwrap().trim().to_string();
    let mut main = None;
    type Replaced = Option<(String, String)>;
    let mut modules: Vec<(String, String, Replaced)> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match f[0] {
            "mod" => main = Some((f[1].to_string(), f[2].to_string())),
            "dep" => modules.push((f[1].to_string(), f[2].to_string(), None)),
            "=>" => modules.last_mut().unwrap().2 = Some((f[1].to_string(), f[2].to_string())),
            _ => {}
        }
    }
    let mut expected: BTreeSet<(String, String)> = modules
        .into_iter()
        .map(|(p, v, r)| match r {
            Some((rp, rv)) if !go::is_directory_path(&rp) => (rp, rv),
            _ => (p, v),
        })
        .collect();
    expected.extend(main.clone());
    expected.insert((
        "stdlib".to_string(),
        go::stdlib_version(&go_version).expect("release toolchain"),
    ));
    Oracle {
        go_version,
        main,
        expected,
    }
}

fn check(binary: &Path, oracle_file: &Path) -> usize {
    let text = std::fs::read_to_string(oracle_file).unwrap();
    let want = oracle(&text);
    let content = std::fs::read(binary).unwrap();
    let path = binary.to_str().unwrap();
    let file = FileRef {
        path,
        size: content.len() as u64,
        executable: true,
    };
    let parser = BinaryParser;
    assert!(parser.matches(&file));
    let parsed = parser
        .parse(&file, &content)
        .unwrap_or_else(|e| panic!("{e}"));
    let got: BTreeSet<(String, String)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(got, want.expected, "{path}");
    assert_eq!(
        parsed.packages.len(),
        want.expected.len(),
        "{path}: duplicates"
    );
    for p in &parsed.packages {
        assert_eq!(p.ecosystem, garrison_model::Ecosystem::Go);
        assert_eq!(p.location, path);
        assert_eq!(p.properties["go.toolchain"], want.go_version, "{path}");
        let is_main = want.main.as_ref() == Some(&(p.name.clone(), p.version.clone()));
        assert_eq!(
            p.properties.contains_key("go.main"),
            is_main,
            "{path}: {}",
            p.name
        );
    }
    want.expected.len()
}

#[test]
fn module_binaries_match_go_version_m() {
    let dir = fixtures();
    let mut checked = 0;
    for target in [
        "app-linux-amd64",
        "app-linux-386",
        "app-linux-ppc64",
        "app-darwin-amd64",
        "app-windows-amd64.exe",
        "app-linux-amd64-nosections",
    ] {
        let n = check(
            &dir.join(target),
            &dir.join(format!("{target}.go-version-m.txt")),
        );
        assert_eq!(n, 4, "{target}: main, greet, uuid, stdlib");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn replacements_and_build_settings() {
    let dir = fixtures();
    let path = dir.join("app-linux-amd64");
    let content = std::fs::read(&path).unwrap();
    let file = FileRef {
        path: "/usr/local/bin/app",
        size: content.len() as u64,
        executable: true,
    };
    let parsed = BinaryParser.parse(&file, &content).unwrap();
    let by_name = |n: &str| parsed.packages.iter().find(|p| p.name == n).unwrap();
    let main = by_name("example.com/garrison/gobin");
    assert_eq!(main.version, "(devel)");
    assert_eq!(main.properties["go.main"], "true");
    assert_eq!(main.properties["go.build.GOOS"], "linux");
    assert_eq!(main.properties["go.build.GOARCH"], "amd64");
    assert_eq!(main.properties["go.build.-trimpath"], "true");
    assert_eq!(main.properties["go.path"], "example.com/garrison/gobin");
    // A directory replacement keeps the required module and version.
    let greet = by_name("example.com/garrison/greet");
    assert_eq!(greet.version, "v0.1.0");
    assert_eq!(greet.properties["go.replace.dir"], "../greet");
    // A module replacement wins, and the required version is remembered.
    let uuid = by_name("github.com/google/uuid");
    assert_eq!(uuid.version, "v1.3.0");
    assert_eq!(
        uuid.properties["go.replaces"],
        "github.com/google/uuid@v1.2.0"
    );
    assert!(uuid.properties["go.sum"].starts_with("h1:"));
    let stdlib = by_name("stdlib");
    assert_eq!(stdlib.version, "1.19.8");
    let purl = garrison_model::purl_for(stdlib, None).unwrap();
    assert_eq!(purl, "pkg:golang/stdlib@1.19.8");
    assert_eq!(
        garrison_model::purl_for(uuid, None).unwrap(),
        "pkg:golang/github.com/google/uuid@v1.3.0"
    );
}

#[test]
fn pre_go118_pointer_format_binaries() {
    // esbuild release binaries built with Go 1.17: ELF64 LE, ELF32 LE (arm),
    // ELF64 big-endian (s390x), Mach-O and PE.
    let dir = fixtures();
    for name in [
        "esbuild-linux-64",
        "esbuild-linux-arm",
        "esbuild-linux-s390x",
        "esbuild-darwin-64",
        "esbuild-windows-64",
    ] {
        let n = check(
            &dir.join(name),
            &dir.join(format!("{name}.go-version-m.txt")),
        );
        assert!(n >= 2, "{name}");
        let raw = go::read_build_info(&std::fs::read(dir.join(name)).unwrap())
            .unwrap()
            .unwrap();
        assert!(
            raw.go_version.starts_with("go1.17"),
            "{name}: {}",
            raw.go_version
        );
    }
}

#[test]
fn debian_gopath_binaries_report_only_the_toolchain() {
    let dir = fixtures();
    let list = std::fs::read_to_string(dir.join("debian-binaries.txt")).unwrap();
    let mut n = 0;
    for bin in list.lines() {
        let name = Path::new(bin).file_name().unwrap().to_str().unwrap();
        assert_eq!(
            check(
                Path::new(bin),
                &dir.join(format!("{name}.go-version-m.txt"))
            ),
            1
        );
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn other_executables_yield_nothing() {
    for bin in [
        "/bin/ls",
        "/usr/bin/bash",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
    ] {
        let content = std::fs::read(bin).unwrap();
        let file = FileRef {
            path: bin,
            size: content.len() as u64,
            executable: true,
        };
        let parsed = BinaryParser.parse(&file, &content).unwrap();
        assert!(parsed.packages.is_empty(), "{bin}");
    }
    let script = b"#!/bin/sh\nexec true\n";
    let file = FileRef {
        path: "/usr/bin/x",
        size: 20,
        executable: true,
    };
    assert!(BinaryParser
        .parse(&file, script)
        .unwrap()
        .packages
        .is_empty());
    assert_eq!(parsers().len(), 1);
}

#[test]
fn truncated_and_corrupted_binaries_never_panic() {
    let dir = fixtures();
    let content = std::fs::read(dir.join("app-linux-amd64")).unwrap();
    let file = FileRef {
        path: "/srv/app",
        size: content.len() as u64,
        executable: true,
    };
    // Cut off inside the headers: an error naming the file.
    let err = BinaryParser.parse(&file, &content[..100]).unwrap_err();
    assert!(err.to_string().starts_with("/srv/app: "), "{err}");
    // Cut off at many lengths, and bytes of the build info smashed: no panic.
    let magic = content
        .windows(14)
        .position(|w| w == b"\xff Go buildinf:")
        .unwrap();
    for cut in (0..content.len()).step_by(content.len() / 97) {
        let _ = BinaryParser.parse(&file, &content[..cut]);
    }
    let mut smashed = content.clone();
    for i in 0..512usize {
        let at = magic + (i * 7919) % 2048;
        smashed[at] = smashed[at].wrapping_mul(31).wrapping_add(i as u8);
        let _ = BinaryParser.parse(&file, &smashed);
    }
    // A varint length running past the end is a clear error.
    let mut bad = content.clone();
    bad[magic + 32] = 0xff;
    bad[magic + 33] = 0xff;
    bad[magic + 34] = 0x7f;
    let err = BinaryParser.parse(&file, &bad).unwrap_err();
    assert!(err.to_string().contains("/srv/app"), "{err}");
    assert!(err.to_string().contains("version"), "{err}");
}
