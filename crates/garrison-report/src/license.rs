//! Reading the license strings packages declare: which are SPDX expressions
//! (and in which canonical form), and which are free text.

use spdx::{Expression, ParseMode};

/// One declared license string, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Term {
    /// A valid SPDX license expression, in canonical form. `single_id` is set
    /// when the expression is one license-list identifier and nothing else.
    Spdx {
        expression: String,
        single_id: Option<String>,
    },
    /// Free text that is not an SPDX expression ("BSD License", "GPL-2+",
    /// "SEE LICENSE IN LICENSE.md"), kept as written (trimmed).
    Name(String),
}

/// SPDX syntax with the common, unambiguous relaxations: `/` for `OR`, a `+`
/// after GNU licenses, deprecated identifiers. Imprecise names ("apache",
/// "BSD License") are NOT accepted: mapping them to one license would be a
/// guess, and an SBOM must not claim more than the package declares.
const ACCEPTED: ParseMode = ParseMode {
    allow_slash_as_or_operator: true,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

/// Classifies every declared license string of a package, dropping empty ones
/// and the SPDX placeholders `NOASSERTION` and `NONE`.
pub(crate) fn classify_all(licenses: &[String]) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    for l in licenses {
        if let Some(t) = classify(l) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

pub(crate) fn classify(raw: &str) -> Option<Term> {
    let s = raw.trim();
    if s.is_empty() || s == "NOASSERTION" || s == "NONE" {
        return None;
    }
    if Expression::parse_mode(s, ACCEPTED).is_err() {
        return Some(Term::Name(s.to_string()));
    }
    // Rewrites `/`, lower-case operators and `GPL-2.0+` into strict syntax.
    let canonical = match Expression::canonicalize(s) {
        Ok(Some(c)) => c,
        Ok(None) => s.to_string(),
        Err(_) => return Some(Term::Name(s.to_string())),
    };
    let strict_with_deprecated = ParseMode {
        allow_deprecated: true,
        ..ParseMode::STRICT
    };
    if Expression::parse_mode(&canonical, strict_with_deprecated).is_err() {
        return Some(Term::Name(s.to_string()));
    }
    let single_id = spdx::license_id(&canonical)
        .filter(|id| id.name == canonical)
        .map(|id| id.name.to_string());
    Some(Term::Spdx {
        expression: canonical,
        single_id,
    })
}

/// Whether an expression needs parentheses to be joined with `AND`.
pub(crate) fn is_compound(expression: &str) -> bool {
    expression.contains(' ')
}

/// Joins SPDX expressions with `AND`, parenthesizing compound ones.
pub(crate) fn join_and<'a>(exprs: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<&str> = exprs.into_iter().collect();
    if parts.len() == 1 {
        return parts.first().map(|s| s.to_string()).unwrap_or_default();
    }
    parts
        .iter()
        .map(|e| {
            if is_compound(e) && !(e.starts_with('(') && e.ends_with(')')) {
                format!("({e})")
            } else {
                e.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spdx(e: &str, id: Option<&str>) -> Option<Term> {
        Some(Term::Spdx {
            expression: e.into(),
            single_id: id.map(Into::into),
        })
    }

    #[test]
    fn classifies() {
        assert_eq!(classify(" MIT "), spdx("MIT", Some("MIT")));
        assert_eq!(
            classify("MIT OR Apache-2.0"),
            spdx("MIT OR Apache-2.0", None)
        );
        assert_eq!(classify("MIT/Apache-2.0"), spdx("MIT OR Apache-2.0", None));
        assert_eq!(
            classify("GPL-2.0+"),
            spdx("GPL-2.0-or-later", Some("GPL-2.0-or-later"))
        );
        assert_eq!(
            classify("GPL-2.0"),
            spdx("GPL-2.0-only", Some("GPL-2.0-only"))
        );
        assert_eq!(classify("LicenseRef-Acme"), spdx("LicenseRef-Acme", None));
        assert_eq!(
            classify("BSD License"),
            Some(Term::Name("BSD License".into()))
        );
        assert_eq!(classify("GPL-2+"), Some(Term::Name("GPL-2+".into())));
        assert_eq!(classify("apache"), Some(Term::Name("apache".into())));
        assert_eq!(classify("NOASSERTION"), None);
        assert_eq!(classify("  "), None);
    }

    #[test]
    fn joins() {
        assert_eq!(join_and(["MIT"]), "MIT");
        assert_eq!(join_and(["MIT", "A OR B"]), "MIT AND (A OR B)");
    }
}
