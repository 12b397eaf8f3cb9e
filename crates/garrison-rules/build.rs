//! Embeds the default ruleset (`rules/` at the workspace root, without `tests/`) so
//! that the agent runs with it when no rules directory is installed.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if e.is_dir() {
            if name != "tests" && !name.starts_with('.') {
                collect(&e, out);
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(e);
        }
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let rules = manifest.join("../../rules");
    println!("cargo:rerun-if-changed={}", rules.display());
    let mut files = Vec::new();
    collect(&rules, &mut files);
    let mut code = String::from("/// The default ruleset: (path below `rules/`, text), in load order.\npub const DEFAULT_RULES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&rules).unwrap_or(f).display().to_string();
        let abs = f.canonicalize().unwrap_or_else(|_| f.clone());
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("default_rules.rs");
    std::fs::write(&out, code).expect("write default_rules.rs to OUT_DIR");
}
