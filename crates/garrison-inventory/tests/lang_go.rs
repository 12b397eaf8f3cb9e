//! go.mod against what `go mod edit -json` reads from it (fixtures/lockfiles/go/make.sh).

mod lang_support;
use garrison_inventory::lang::golang::GoMod;
use garrison_model::purl_for;
use lang_support::*;

#[test]
fn requires_with_replaces_applied() {
    let p = parse(&GoMod, "go/go.mod");
    let mut got: Vec<String> = p
        .packages
        .iter()
        .map(|p| {
            let d = if p.direct == Some(true) {
                "direct"
            } else {
                "indirect"
            };
            format!("{} {} {d}", p.name, p.version)
        })
        .collect();
    got.sort();
    let expected = expected_lines("go/expected.txt");
    assert_eq!(expected.len(), 7);
    assert_eq!(got, expected);
    // The main module is not a package; the module replaced by ../lib is skipped.
    assert!(!p
        .packages
        .iter()
        .any(|p| p.name.starts_with("example.com/")));
    let fork = p
        .packages
        .iter()
        .find(|p| p.name == "github.com/new/fork")
        .unwrap();
    assert_eq!(fork.properties["go.replaced"], "github.com/old/fork v1.2.0");
    let text = p
        .packages
        .iter()
        .find(|p| p.name == "golang.org/x/text")
        .unwrap();
    assert_eq!(text.version, "v0.21.0");
    assert_eq!(
        purl_for(text, None).unwrap(),
        "pkg:golang/golang.org/x/text@v0.21.0"
    );
}
