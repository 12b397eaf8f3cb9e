//! Language package parsers: lockfiles (Cargo, npm, yarn, pnpm, Poetry, Pipenv,
//! uv, pip requirements, Go modules, Bundler, Composer, NuGet) and installed
//! package metadata (`node_modules/**/package.json`, Python `*.dist-info` and
//! `*.egg-info`).
//!
//! Every parser reads the whole file from memory, refuses files over
//! [`MAX_INPUT`] bytes, and never panics. YAML goes through `serde_yaml_ng`,
//! whose alias-repetition and recursion limits turn "billion laughs" documents
//! into errors; JSON and TOML parsers have recursion limits of their own.

pub mod cargo;
pub mod dotnet;
pub mod golang;
pub mod npm;
pub mod php;
pub mod pnpm;
pub mod python;
pub mod ruby;
pub mod yarn;

use crate::{FileRef, ParseError, Parser};
use garrison_model::{Ecosystem, Package};

/// The largest lockfile or metadata file a language parser will read (64 MiB).
pub const MAX_INPUT: usize = 64 << 20;

pub fn parsers() -> Vec<Box<dyn Parser>> {
    vec![
        Box::new(cargo::CargoLock),
        Box::new(npm::PackageLock),
        Box::new(npm::NodeModulesPackage),
        Box::new(yarn::YarnLock),
        Box::new(pnpm::PnpmLock),
        Box::new(python::Requirements),
        Box::new(python::PoetryLock),
        Box::new(python::PipfileLock),
        Box::new(python::UvLock),
        Box::new(python::PythonMetadata),
        Box::new(golang::GoMod),
        Box::new(ruby::GemfileLock),
        Box::new(php::ComposerLock),
        Box::new(dotnet::NugetLock),
    ]
}

/// The content as UTF-8 text (a leading byte-order mark dropped), or an error
/// when it is too large or not UTF-8.
pub(crate) fn text<'a>(
    parser: &'static str,
    file: &FileRef<'_>,
    content: &'a [u8],
) -> Result<&'a str, ParseError> {
    check_size(parser, file, content)?;
    let s = std::str::from_utf8(content)
        .map_err(|e| ParseError::new(parser, file.path, format!("not UTF-8 text: {e}")))?;
    Ok(s.strip_prefix('\u{feff}').unwrap_or(s))
}

pub(crate) fn check_size(
    parser: &'static str,
    file: &FileRef<'_>,
    content: &[u8],
) -> Result<(), ParseError> {
    if content.len() > MAX_INPUT {
        return Err(ParseError::new(
            parser,
            file.path,
            format!(
                "{} bytes is over the {MAX_INPUT}-byte limit for lockfiles",
                content.len()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn json(
    parser: &'static str,
    file: &FileRef<'_>,
    content: &[u8],
) -> Result<serde_json::Value, ParseError> {
    let s = text(parser, file, content)?;
    serde_json::from_str(s).map_err(|e| ParseError::new(parser, file.path, format!("invalid JSON: {e}")))
}

pub(crate) fn yaml(
    parser: &'static str,
    file: &FileRef<'_>,
    content: &[u8],
) -> Result<serde_yaml_ng::Value, ParseError> {
    let s = text(parser, file, content)?;
    serde_yaml_ng::from_str(s).map_err(|e| ParseError::new(parser, file.path, format!("invalid YAML: {e}")))
}

pub(crate) fn toml_table(
    parser: &'static str,
    file: &FileRef<'_>,
    content: &[u8],
) -> Result<toml::Table, ParseError> {
    let s = text(parser, file, content)?;
    s.parse::<toml::Table>()
        .map_err(|e| ParseError::new(parser, file.path, format!("invalid TOML: {e}")))
}

/// A package with the fields every language parser sets.
pub(crate) fn package(eco: Ecosystem, name: &str, version: &str, file: &FileRef<'_>) -> Package {
    Package::new(eco, name, version, file.path)
}

/// Licenses as npm, Composer and others write them: a string, an object with a
/// `type`, or an array of either.
pub(crate) fn json_licenses(v: Option<&serde_json::Value>) -> Vec<String> {
    use serde_json::Value;
    let one = |v: &Value| -> Option<String> {
        let s = match v {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("type").and_then(Value::as_str)?,
            _ => return None,
        };
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The string at `key` in a JSON object.
pub(crate) fn jstr<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(serde_json::Value::as_str)
}

/// The string at `key` in a TOML table.
pub(crate) fn tstr<'a>(t: &'a toml::Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(toml::Value::as_str)
}

/// Splits `name@range` where the name may be scoped (`@scope/name@range`).
pub(crate) fn split_name_at(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((spec.get(..at)?, spec.get(at + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_scoped_names() {
        assert_eq!(split_name_at("@s/x@1.0"), Some(("@s/x", "1.0")));
        assert_eq!(split_name_at("x@npm:1.0"), Some(("x", "npm:1.0")));
        assert_eq!(split_name_at("x"), None);
        assert_eq!(split_name_at(""), None);
        assert_eq!(split_name_at("@"), None);
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b' '; MAX_INPUT + 1];
        let err = text("t", &FileRef::new("/big.lock"), &big).unwrap_err();
        assert!(err.to_string().contains("/big.lock"), "{err}");
    }

    #[test]
    fn json_license_shapes() {
        let v: serde_json::Value = serde_json::json!({"type": "MIT", "url": "x"});
        assert_eq!(json_licenses(Some(&v)), ["MIT"]);
        let v = serde_json::json!([{"type": "MIT"}, "Apache-2.0", 3]);
        assert_eq!(json_licenses(Some(&v)), ["MIT", "Apache-2.0"]);
        assert!(json_licenses(Some(&serde_json::json!(""))).is_empty());
    }
}
