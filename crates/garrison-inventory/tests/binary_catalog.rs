//! The binary and Java parsers driven by the catalog as an image walk drives
//! it: entries with modes and layers, a whiteout in a later layer. Uses the
//! fixtures of fixtures/gobin, fixtures/rustaudit and fixtures/java.

use garrison_inventory::Catalog;
use garrison_model::{Ecosystem, LayerInfo, Target, TargetKind};
use garrison_source::{EntryKind, EntryMeta, Visitor, Want};
use std::path::{Path, PathBuf};

fn fixture(scenario: &str, name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("GARRISON_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/out"),
    };
    let path = dir.join(scenario).join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "missing fixture {} ({e}): run fixtures/{scenario}/make.sh",
            path.display()
        )
    })
}

fn offer(c: &mut Catalog, path: &str, mode: u32, layer: usize, content: &[u8]) -> Want {
    let meta = EntryMeta {
        path,
        kind: EntryKind::File,
        size: content.len() as u64,
        mode,
        layer: Some(layer),
    };
    let want = c.want(&meta);
    if want == Want::Read {
        c.file(&meta, &mut &content[..]).unwrap();
    }
    want
}

fn layer(n: u8) -> LayerInfo {
    LayerInfo {
        digest: format!("sha256:{}", format!("{n:x}").repeat(64)),
        diff_id: None,
        media_type: None,
        size: None,
        created_by: None,
    }
}

#[test]
fn image_walk_with_go_rust_and_java() {
    let go = fixture("gobin", "app-linux-amd64");
    let rust = fixture("rustaudit", "auditable-app");
    let ear = fixture("java", "app.ear");
    let ls = std::fs::read("/bin/ls").unwrap();
    let mut c = Catalog::default();
    c.layer_start(0, &layer(1));
    assert_eq!(offer(&mut c, "/usr/bin/ls", 0o755, 0, &ls), Want::Read);
    // Not executable: the binary parser does not want it.
    assert_eq!(
        offer(&mut c, "/usr/share/app-copy", 0o644, 0, &go),
        Want::Skip
    );
    offer(&mut c, "/usr/local/bin/app", 0o755, 0, &go);
    offer(&mut c, "/usr/local/bin/tool", 0o750, 0, &rust);
    c.layer_start(1, &layer(2));
    offer(&mut c, "/opt/app.ear", 0o644, 1, &ear);
    // Later layer deletes the Rust tool.
    c.remove("/usr/local/bin/tool", 1);
    let inv = c.finish(Target::new(TargetKind::Image, "test"));

    let counts = inv.counts();
    assert_eq!(counts.get(&Ecosystem::Go), Some(&4));
    assert_eq!(counts.get(&Ecosystem::Cargo), None, "removed in layer 2");
    assert_eq!(counts.get(&Ecosystem::Maven), Some(&6));
    let l1 = layer(1).digest;
    let l2 = layer(2).digest;
    for p in &inv.packages {
        match p.ecosystem {
            Ecosystem::Go => {
                assert_eq!(p.location, "/usr/local/bin/app");
                assert_eq!(p.layer.as_ref(), Some(&l1));
            }
            Ecosystem::Maven => {
                assert!(p.location.starts_with("/opt/app.ear"));
                assert_eq!(p.layer.as_ref(), Some(&l2));
            }
            e => panic!("unexpected {e}"),
        }
        assert!(p.purl.starts_with("pkg:"), "{}", p.purl);
    }
    let stdlib = inv.packages.iter().find(|p| p.name == "stdlib").unwrap();
    assert_eq!(stdlib.purl, "pkg:golang/stdlib@1.19.8");
    // The corrupt jar inside the WAR inside the EAR reached the inventory's warnings.
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert_eq!(
        inv.warnings[0].input,
        "/opt/app.ear!/app.war!/WEB-INF/lib/broken-1.0.jar"
    );
}
