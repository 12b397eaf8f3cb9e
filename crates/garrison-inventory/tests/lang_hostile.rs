//! Hostile input for every language parser: truncated and corrupted real
//! lockfiles, garbage, deep nesting and YAML alias bombs must give errors or
//! partial results, never a panic; errors name the file.

mod lang_support;
use garrison_inventory::lang::{parsers, MAX_INPUT};
use garrison_inventory::{Catalog, FileRef, Parser};
use garrison_model::{Target, TargetKind};
use lang_support::*;

/// Every committed lockfile, with the target path the parsers match it by.
const FIXTURES: [(&str, &str); 20] = [
    ("cargo/v1/Cargo.lock", "/p/Cargo.lock"),
    ("cargo/v4/Cargo.lock", "/p/Cargo.lock"),
    ("npm/v1/package-lock.json", "/p/package-lock.json"),
    ("npm/v3/package-lock.json", "/p/package-lock.json"),
    (
        "npm/shrinkwrap/npm-shrinkwrap.json",
        "/p/npm-shrinkwrap.json",
    ),
    ("npm/yarn-v1/yarn.lock", "/p/yarn.lock"),
    ("npm/yarn-berry/yarn.lock", "/p/yarn.lock"),
    ("npm/pnpm-v5/pnpm-lock.yaml", "/p/pnpm-lock.yaml"),
    ("npm/pnpm-v6/pnpm-lock.yaml", "/p/pnpm-lock.yaml"),
    ("npm/pnpm-v9/pnpm-lock.yaml", "/p/pnpm-lock.yaml"),
    ("python/poetry/poetry.lock", "/p/poetry.lock"),
    ("python/uv/uv.lock", "/p/uv.lock"),
    ("python/pipfile/Pipfile.lock", "/p/Pipfile.lock"),
    (
        "python/requirements/requirements.txt",
        "/p/requirements.txt",
    ),
    (
        "python/requirements/requirements-dev.txt",
        "/p/requirements-dev.txt",
    ),
    ("go/go.mod", "/p/go.mod"),
    ("other/ruby/Gemfile.lock", "/p/Gemfile.lock"),
    ("other/php/composer.lock", "/p/composer.lock"),
    ("other/dotnet/packages.lock.json", "/p/packages.lock.json"),
    ("npm/v2/package-lock.json", "/p/node_modules/x/package.json"),
];

fn matching(path: &str) -> Vec<Box<dyn Parser>> {
    let f = FileRef::new(path);
    let v: Vec<_> = parsers().into_iter().filter(|p| p.matches(&f)).collect();
    assert!(!v.is_empty(), "no parser matches {path}");
    v
}

/// Parses without panicking; an error names the file and the parser, and
/// whatever is returned has a name and a version.
fn check(parser: &dyn Parser, target: &str, content: &[u8]) {
    match parser.parse(&FileRef::new(target), content) {
        Ok(parsed) => {
            for p in &parsed.packages {
                assert!(
                    !p.name.is_empty() && !p.version.is_empty(),
                    "{target}: {p:?}"
                );
                assert_eq!(p.location, target);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(target) && msg.contains(parser.name()),
                "{msg}"
            );
        }
    }
}

#[test]
fn truncated_and_corrupted_lockfiles_never_panic() {
    for (rel, target) in FIXTURES {
        let content = std::fs::read(committed(rel)).unwrap();
        for parser in matching(target) {
            // Every prefix for the first 2 KiB, then 200 evenly spaced cuts.
            let step = (content.len() / 200).max(1);
            let cuts = (0..content.len().min(2048)).chain((0..content.len()).step_by(step));
            for cut in cuts {
                check(parser.as_ref(), target, &content[..cut]);
            }
            // Flip bytes to structural characters at spaced positions.
            for (i, pos) in (0..content.len()).step_by(step.max(7)).enumerate() {
                let mut bad = content.clone();
                const CHARS: &[u8] = b"{}[]\":=@/ \n\t-#(";
                bad[pos] = CHARS[i % CHARS.len()];
                check(parser.as_ref(), target, &bad);
            }
        }
    }
}

#[test]
fn binary_garbage_is_an_error_naming_the_file() {
    let garbage = b"\x7fELF\x00\xff\xfe\x01garbage\n\x00\x00";
    for (_, target) in FIXTURES {
        for parser in matching(target) {
            let err = parser
                .parse(&FileRef::new(target), garbage)
                .expect_err(parser.name());
            let msg = err.to_string();
            assert!(
                msg.starts_with(target) && msg.contains(parser.name()),
                "{msg}"
            );
        }
    }
    // The python metadata parser reads non-UTF-8 leniently, but still refuses garbage.
    for target in ["/s/x-1.dist-info/METADATA", "/s/x.egg-info/PKG-INFO"] {
        for parser in matching(target) {
            assert!(
                parser.parse(&FileRef::new(target), garbage).is_err(),
                "{target}"
            );
        }
    }
}

#[test]
fn oversized_input_is_refused() {
    let big = vec![b'#'; MAX_INPUT + 1];
    for (_, target) in FIXTURES {
        for parser in matching(target) {
            let err = parser
                .parse(&FileRef::new(target), &big)
                .expect_err(parser.name());
            assert!(err.to_string().contains("limit"), "{err}");
        }
    }
}

#[test]
fn deep_nesting_is_an_error() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_toml = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_yaml = format!(
        "lockfileVersion: '9.0'\npackages: {}{}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for (target, doc) in [
        ("/p/package-lock.json", &deep_json),
        ("/p/composer.lock", &deep_json),
        ("/p/Pipfile.lock", &deep_json),
        ("/p/packages.lock.json", &deep_json),
        ("/p/node_modules/a/package.json", &deep_json),
        ("/p/Cargo.lock", &deep_toml),
        ("/p/poetry.lock", &deep_toml),
        ("/p/uv.lock", &deep_toml),
        ("/p/pnpm-lock.yaml", &deep_yaml),
    ] {
        for parser in matching(target) {
            let r = parser.parse(&FileRef::new(target), doc.as_bytes());
            assert!(r.is_err(), "{target}: {r:?}");
        }
    }
}

#[test]
fn deep_yaml_block_nesting_is_refused_before_parsing() {
    // 600 levels of block mappings: libyaml's scanner is quadratic in depth.
    let mut doc = String::from("lockfileVersion: '9.0'\npackages:\n");
    for i in 0..600 {
        doc.push_str(&" ".repeat(2 + i));
        doc.push_str("a:\n");
    }
    for target in ["/p/pnpm-lock.yaml", "/p/yarn.lock"] {
        let doc = if target.ends_with("yarn.lock") {
            format!("__metadata:\n  version: 8\n{doc}")
        } else {
            doc.clone()
        };
        let err = matching(target)[0]
            .parse(&FileRef::new(target), doc.as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("column limit"), "{err}");
    }
}

#[test]
fn yaml_alias_bomb_is_an_error() {
    let mut doc = String::from("lockfileVersion: '9.0'\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='m' {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        doc.push_str(&format!("{c}: &{c} [{refs}]\n"));
        prev = c;
    }
    doc.push_str("packages: *m\n");
    let err = matching("/p/pnpm-lock.yaml")[0]
        .parse(&FileRef::new("/p/pnpm-lock.yaml"), doc.as_bytes())
        .unwrap_err();
    assert!(err.to_string().contains("/p/pnpm-lock.yaml"), "{err}");
}

#[test]
fn an_unparsable_lockfile_is_a_warning_and_the_scan_goes_on() {
    let mut cat = Catalog::new(parsers());
    cat.add_file(
        &FileRef::new("/app/package-lock.json"),
        None,
        b"{\"packages\": ",
    );
    let good = std::fs::read(committed("cargo/v4/Cargo.lock")).unwrap();
    cat.add_file(&FileRef::new("/app/Cargo.lock"), None, &good);
    let inv = cat.finish(Target::new(TargetKind::Filesystem, "/app"));
    assert_eq!(inv.packages.len(), 4);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert_eq!(inv.warnings[0].input, "/app/package-lock.json");
    assert!(
        inv.warnings[0].message.contains("invalid JSON"),
        "{:?}",
        inv.warnings
    );
}
