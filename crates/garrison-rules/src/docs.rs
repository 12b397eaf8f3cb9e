//! Generates `docs/rule-fields.md` from the field registry; the "provided by"
//! column is computed by extracting each field from a full example event per kind.

use crate::fields::{extract, Ctx, FieldArg, Needs, ARG_KEYS, FIELDS};
use crate::samples::sample;
use crate::syscalls::SYSCALLS;
use garrison_event::EventKind;

fn kinds_providing(mut arg_of: impl FnMut() -> FieldArg, id: crate::fields::FieldId) -> String {
    let mut kinds = Vec::new();
    for kind in EventKind::ALL {
        let ev = sample(kind);
        let mut ctx = Ctx::new("host");
        ctx.prepare(&ev, Needs::ALL);
        if extract(id, &arg_of(), 0, &ev, &ctx).present() {
            kinds.push(kind.name());
        }
    }
    if kinds.len() == EventKind::ALL.len() {
        "all".to_string()
    } else if kinds.is_empty() {
        "none".to_string()
    } else {
        kinds.join(", ")
    }
}

/// The markdown of `docs/rule-fields.md`.
pub fn fields_markdown() -> String {
    let mut out = String::from(
        "# Rule fields\n\nGenerated from the field registry (`crates/garrison-rules/src/fields.rs`) by\n\
         `cargo test -p garrison-rules --test docs` (set `GARRISON_UPDATE_DOCS=1` to rewrite it);\n\
         the same test fails when this page is out of date. Names follow Falco's where the\n\
         concept is the same; \"Garrison:\" marks additions. A field an event does not carry\n\
         makes every comparison on it false (and `not ...` true), as in Falco. \"Event kinds\"\n\
         are the `data.type` values of `docs/events.md` whose events carry the field.\n\n\
         | field | type | meaning | event kinds |\n|---|---|---|---|\n",
    );
    for f in FIELDS {
        if f.name == "evt.arg" {
            out.push_str(&format!(
                "| `evt.arg.NAME` | {} | {} | see below |\n",
                f.ty.name(),
                f.doc
            ));
            continue;
        }
        let arg = match f.arg {
            crate::fields::ArgSpec::Index => "[N]",
            _ => "",
        };
        out.push_str(&format!(
            "| `{}{}` | {} | {} | {} |\n",
            f.name,
            arg,
            f.ty.name(),
            f.doc,
            kinds_providing(|| FieldArg::None, f.id)
        ));
    }
    out.push_str("\n## Event arguments (`evt.arg.NAME`, also `evt.arg[NAME]`)\n\n| name | meaning | event kinds |\n|---|---|---|\n");
    for (name, key, doc) in ARG_KEYS {
        out.push_str(&format!(
            "| `{name}` | {doc} | {} |\n",
            kinds_providing(|| FieldArg::Key(*key), crate::fields::FieldId::EvtArg)
        ));
    }
    out.push_str("\n## `evt.type` values\n\nGarrison's sensors report these syscalls (the event kind carrying each in brackets); a\ncondition may name any other syscall, which then never matches.\n\n");
    let list: Vec<String> = SYSCALLS
        .iter()
        .map(|(n, k)| format!("`{n}` ({k})"))
        .collect();
    out.push_str(&list.join(", "));
    out.push_str("\n\n## Operators and transformers\n\n`=`/`==`, `!=`, `<`, `<=`, `>`, `>=`, `contains`, `icontains`, `bcontains`, `startswith`,\n`bstartswith`, `endswith`, `glob`, `iglob`, `pmatch`, `in`, `intersects`, `exists`, `regex`\n(RE2 syntax via the `regex` crate, matching the whole value as Falco does); transformers\n`tolower()`, `toupper()`, `basename()`, `len()` on the left, `val(field)` on the right.\n");
    out
}
