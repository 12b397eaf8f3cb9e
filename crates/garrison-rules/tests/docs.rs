//! `docs/rule-fields.md` is generated from the field registry and must be current.
//! Regenerate with `GARRISON_UPDATE_DOCS=1 cargo test -p garrison-rules --test docs`.

#[test]
fn rule_fields_doc_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rule-fields.md");
    let want = garrison_rules::docs::fields_markdown();
    if std::env::var_os("GARRISON_UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rule-fields.md is out of date: run GARRISON_UPDATE_DOCS=1 cargo test -p garrison-rules --test docs"
    );
}
