//! Loading rules files in the Falco YAML shape: `rule`, `macro`, `list`,
//! `required_engine_version`, `required_plugin_versions`, `override` and `append`,
//! files applied in order, later ones modifying earlier ones as Falco does.

use crate::yaml::{self, Node, Value};
use std::fmt;

/// The rules-language version this engine implements (Falco's engine version
/// whose rule files it loads).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// A loader error: file, line, item and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the whole file is meant).
    pub line: usize,
    /// `rule "X"`, `macro "Y"`, `list "Z"`, or empty.
    pub item: String,
    /// What went wrong and what was expected.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if !self.item.is_empty() {
            write!(f, "{}: ", self.item)?;
        }
        f.write_str(&self.message)
    }
}

/// Where an item was defined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pos {
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// A list definition.
#[derive(Debug, Clone)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items (may name other lists).
    pub items: Vec<String>,
    /// Where.
    pub pos: Pos,
}

/// A macro definition.
#[derive(Debug, Clone)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition text.
    pub condition: String,
    /// Where.
    pub pos: Pos,
}

/// One value of an exception tuple: a string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExcValue {
    /// One value (may name a list).
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// A rule exception.
#[derive(Debug, Clone)]
pub struct ExceptionDef {
    /// Name.
    pub name: String,
    /// Fields: several (tuples) or one (`single`).
    pub fields: Vec<String>,
    /// `fields` was a single string.
    pub single: bool,
    /// Comparison per field.
    pub comps: Vec<String>,
    /// Value tuples.
    pub values: Vec<Vec<ExcValue>>,
}

/// A rule definition as loaded.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Condition text.
    pub condition: String,
    /// Output template.
    pub output: String,
    /// Falco priority as written.
    pub priority: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Enabled.
    pub enabled: bool,
    /// Exceptions.
    pub exceptions: Vec<ExceptionDef>,
    /// Event source (`syscall`).
    pub source: String,
    /// Skip (rather than fail) when a field is unknown.
    pub skip_if_unknown_filter: bool,
    /// Where.
    pub pos: Pos,
}

/// Everything loaded from the files, before compilation.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Lists in definition order.
    pub lists: Vec<ListDef>,
    /// Macros in definition order.
    pub macros: Vec<MacroDef>,
    /// Rules in definition order.
    pub rules: Vec<RuleDef>,
    /// Notes (ignored keys such as `required_plugin_versions`).
    pub notes: Vec<String>,
}

fn err(file: &str, line: usize, item: &str, message: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_string(),
        line,
        item: item.to_string(),
        message: message.into(),
    }
}

fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.trim();
    if !v.contains('.') {
        // Falco's legacy integer engine versions are minor versions of 0.x.
        return v.parse::<u64>().ok().map(|n| (0, n, 0));
    }
    let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

struct Item<'a> {
    file: &'a str,
    line: usize,
    label: String,
    entries: &'a [(Node, Node)],
}

impl<'a> Item<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    fn err(&self, line: usize, message: impl Into<String>) -> LoadError {
        err(self.file, line, &self.label, message)
    }

    fn string(&self, key: &str) -> Result<Option<String>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(Some(String::new())),
            Some(n) => match n.as_str() {
                Some(s) => Ok(Some(s.trim_end_matches('\n').to_string())),
                None => Err(self.err(
                    n.line,
                    format!("`{key}` must be a string, found {}", n.shape()),
                )),
            },
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => match n.as_str() {
                Some("true") => Ok(Some(true)),
                Some("false") => Ok(Some(false)),
                _ => Err(self.err(n.line, format!("`{key}` must be true or false"))),
            },
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(Some(Vec::new())),
            Some(n) => string_list(n)
                .map(Some)
                .ok_or_else(|| self.err(n.line, format!("`{key}` must be a list of strings"))),
        }
    }

    fn check_keys(&self, allowed: &[&str]) -> Result<(), LoadError> {
        for (k, _) in self.entries {
            let name = k.as_str().unwrap_or("");
            if !allowed.contains(&name) {
                return Err(self.err(
                    k.line,
                    format!(
                        "unknown key {name:?}: expected one of {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn string_list(n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Seq(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// How an item modifies an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Define,
    Append,
    Replace,
}

fn overrides<'a>(item: &Item<'a>) -> Result<Vec<(&'a str, Mode, usize)>, LoadError> {
    let Some(node) = item.get("override") else {
        return Ok(Vec::new());
    };
    let Value::Map(entries) = &node.value else {
        return Err(item.err(
            node.line,
            "`override` must be a mapping of key: append|replace",
        ));
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let mode = match v.as_str() {
            Some("append") => Mode::Append,
            Some("replace") => Mode::Replace,
            _ => return Err(item.err(v.line, "override values must be `append` or `replace`")),
        };
        out.push((k.as_str().unwrap_or(""), mode, k.line));
    }
    Ok(out)
}

impl Loaded {
    /// Applies one file's text (named `file` in errors).
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        let docs = yaml::parse(text).map_err(|e| {
            err(
                file,
                e.line,
                "",
                format!("YAML syntax error: {}", e.message),
            )
        })?;
        for doc in &docs {
            if doc.is_null() {
                continue;
            }
            let Value::Seq(items) = &doc.value else {
                return Err(err(
                    file,
                    doc.line,
                    "",
                    format!("a rules file is a sequence of items (- rule:, - macro:, - list:), found {}", doc.shape()),
                ));
            };
            for node in items {
                self.add_item(file, node)?;
            }
        }
        Ok(())
    }

    fn add_item(&mut self, file: &str, node: &Node) -> Result<(), LoadError> {
        let Value::Map(entries) = &node.value else {
            return Err(err(
                file,
                node.line,
                "",
                format!("each item must be a mapping, found {}", node.shape()),
            ));
        };
        let mut item = Item {
            file,
            line: node.line,
            label: String::new(),
            entries,
        };
        if let Some(v) = item.get("required_engine_version") {
            let text = v.as_str().unwrap_or("");
            let want = parse_version(text).ok_or_else(|| {
                item.err(v.line, format!("required_engine_version must be a number or a semver string, found {text:?}"))
            })?;
            if want > ENGINE_VERSION {
                let (a, b, c) = ENGINE_VERSION;
                return Err(item.err(
                    v.line,
                    format!("the file requires engine version {text}; this engine implements {a}.{b}.{c}"),
                ));
            }
            return Ok(());
        }
        if item.get("required_plugin_versions").is_some() {
            self.notes.push(format!(
                "{file}:{}: required_plugin_versions ignored (Garrison has no plugins; container fields are built in)",
                node.line
            ));
            return Ok(());
        }
        if let Some(name) = item.get("list") {
            let name = name.as_str().unwrap_or("").to_string();
            item.label = format!("list {name:?}");
            item.check_keys(&["list", "items", "append", "override"])?;
            let items = item.strings("items")?.unwrap_or_default();
            let mode = self.mode(&item, &["items"])?;
            let existing = self.lists.iter_mut().rev().find(|l| l.name == name);
            match (mode, existing) {
                (Mode::Define, _) => {
                    if item.get("items").is_none() {
                        return Err(item.err(item.line, "a list needs `items`"));
                    }
                    self.lists.push(ListDef {
                        name,
                        items,
                        pos: Pos {
                            file: file.into(),
                            line: node.line,
                        },
                    })
                }
                (Mode::Append, Some(l)) => l.items.extend(items),
                (Mode::Replace, Some(l)) => l.items = items,
                (_, None) => {
                    return Err(item.err(
                        item.line,
                        "append/override of a list that is not defined earlier",
                    ))
                }
            }
            return Ok(());
        }
        if let Some(name) = item.get("macro") {
            let name = name.as_str().unwrap_or("").to_string();
            item.label = format!("macro {name:?}");
            item.check_keys(&["macro", "condition", "append", "override", "source"])?;
            let condition = item.string("condition")?;
            let mode = self.mode(&item, &["condition"])?;
            let existing = self.macros.iter_mut().rev().find(|m| m.name == name);
            match (mode, existing, condition) {
                (Mode::Define, _, Some(condition)) => self.macros.push(MacroDef {
                    name,
                    condition,
                    pos: Pos {
                        file: file.into(),
                        line: node.line,
                    },
                }),
                (Mode::Define, _, None) => {
                    return Err(item.err(item.line, "a macro needs `condition`"))
                }
                (Mode::Append, Some(m), Some(c)) => m.condition = format!("{} {}", m.condition, c),
                (Mode::Replace, Some(m), Some(c)) => m.condition = c,
                (_, None, _) => {
                    return Err(item.err(
                        item.line,
                        "append/override of a macro that is not defined earlier",
                    ))
                }
                (_, Some(_), None) => {
                    return Err(item.err(item.line, "append/override needs `condition`"))
                }
            }
            return Ok(());
        }
        if let Some(name) = item.get("rule") {
            let name = name.as_str().unwrap_or("").to_string();
            item.label = format!("rule {name:?}");
            return self.add_rule(&item, name, node.line);
        }
        let first = entries.first().and_then(|(k, _)| k.as_str()).unwrap_or("");
        Err(err(
            file,
            node.line,
            "",
            format!("unknown item {first:?}: expected rule, macro, list, required_engine_version or required_plugin_versions"),
        ))
    }

    /// The mode of an item: `append: true`, `override:` (checked against `keys`), or define.
    fn mode(&self, item: &Item<'_>, keys: &[&str]) -> Result<Mode, LoadError> {
        let ov = overrides(item)?;
        let append = item.bool("append")?.unwrap_or(false);
        if let Some((_, m, _)) = ov.first() {
            for (k, _, line) in &ov {
                if !keys.contains(k) {
                    return Err(item.err(
                        *line,
                        format!("cannot override {k:?}: expected one of {}", keys.join(", ")),
                    ));
                }
            }
            return Ok(*m);
        }
        Ok(if append { Mode::Append } else { Mode::Define })
    }

    fn add_rule(&mut self, item: &Item<'_>, name: String, line: usize) -> Result<(), LoadError> {
        const KEYS: &[&str] = &[
            "rule",
            "desc",
            "condition",
            "output",
            "priority",
            "tags",
            "enabled",
            "exceptions",
            "append",
            "override",
            "source",
            "skip-if-unknown-filter",
            "warn_evttypes",
            "capture",
            "capture_duration",
        ];
        item.check_keys(KEYS)?;
        let ov = overrides(item)?;
        let append = item.bool("append")?.unwrap_or(false);
        let exceptions = match item.get("exceptions") {
            None => None,
            Some(n) => Some(parse_exceptions(item, n)?),
        };
        let priority = match item.string("priority")? {
            Some(p) => {
                if garrison_model::Severity::from_falco_priority(&p).is_none() {
                    return Err(item.err(
                        item.get("priority").map_or(line, |n| n.line),
                        format!("unknown priority {p:?}: expected EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFORMATIONAL or DEBUG"),
                    ));
                }
                Some(p)
            }
            None => None,
        };
        let existing = self.rules.iter().rposition(|r| r.name == name);
        let condition = item.string("condition")?;
        let output = item.string("output")?;
        let desc = item.string("desc")?;
        let tags = item.strings("tags")?;
        let enabled = item.bool("enabled")?;
        if !ov.is_empty() || append {
            let Some(idx) = existing else {
                return Err(item.err(
                    line,
                    "append/override of a rule that is not defined earlier",
                ));
            };
            let rule = &mut self.rules[idx];
            let modes: Vec<(&str, Mode, usize)> = if ov.is_empty() {
                let mut m = Vec::new();
                if condition.is_some() {
                    m.push(("condition", Mode::Append, line));
                }
                if exceptions.is_some() {
                    m.push(("exceptions", Mode::Append, line));
                }
                if output.is_some() {
                    m.push(("output", Mode::Append, line));
                }
                if desc.is_some() {
                    m.push(("desc", Mode::Append, line));
                }
                if tags.is_some() {
                    m.push(("tags", Mode::Append, line));
                }
                m
            } else {
                ov
            };
            for (key, mode, kline) in modes {
                let append = mode == Mode::Append;
                let missing = || {
                    item.err(
                        kline,
                        format!("override of {key:?} but the item has no {key:?}"),
                    )
                };
                match key {
                    "condition" => {
                        let c = condition.clone().ok_or_else(missing)?;
                        rule.condition = if append {
                            format!("{} {}", rule.condition, c)
                        } else {
                            c
                        };
                    }
                    "output" => {
                        let c = output.clone().ok_or_else(missing)?;
                        rule.output = if append {
                            format!("{} {}", rule.output, c)
                        } else {
                            c
                        };
                    }
                    "desc" => {
                        let c = desc.clone().ok_or_else(missing)?;
                        rule.desc = if append {
                            format!("{} {}", rule.desc, c)
                        } else {
                            c
                        };
                    }
                    "tags" => {
                        let c = tags.clone().ok_or_else(missing)?;
                        if append {
                            rule.tags.extend(c);
                        } else {
                            rule.tags = c;
                        }
                    }
                    "priority" if !append => {
                        rule.priority = priority.clone().ok_or_else(missing)?
                    }
                    "enabled" if !append => rule.enabled = enabled.ok_or_else(missing)?,
                    "exceptions" => {
                        let new = exceptions.clone().ok_or_else(missing)?;
                        if append {
                            for e in new {
                                match rule.exceptions.iter_mut().find(|x| x.name == e.name) {
                                    Some(x) => x.values.extend(e.values),
                                    None => rule.exceptions.push(e),
                                }
                            }
                        } else {
                            rule.exceptions = new;
                        }
                    }
                    "skip-if-unknown-filter" | "warn_evttypes" | "capture" | "capture_duration"
                        if !append => {}
                    other => {
                        return Err(item.err(
                            kline,
                            format!(
                                "cannot {} {other:?} of a rule",
                                if append { "append to" } else { "replace" }
                            ),
                        ))
                    }
                }
            }
            return Ok(());
        }
        // Enabling/disabling an existing rule by name only.
        if condition.is_none() && output.is_none() {
            if let (Some(idx), Some(en)) = (existing, enabled) {
                self.rules[idx].enabled = en;
                return Ok(());
            }
        }
        let need = |v: Option<String>, key: &str| {
            v.ok_or_else(|| item.err(line, format!("a rule needs `{key}`")))
        };
        let rule = RuleDef {
            name,
            desc: need(desc, "desc")?,
            condition: need(condition, "condition")?,
            output: need(output, "output")?,
            priority: need(priority, "priority")?,
            tags: tags.unwrap_or_default(),
            enabled: enabled.unwrap_or(true),
            exceptions: exceptions.unwrap_or_default(),
            source: item.string("source")?.unwrap_or_else(|| "syscall".into()),
            skip_if_unknown_filter: item.bool("skip-if-unknown-filter")?.unwrap_or(false),
            pos: Pos {
                file: item.file.into(),
                line,
            },
        };
        match existing {
            // Falco: a later definition with the same name replaces the earlier one.
            Some(idx) => self.rules[idx] = rule,
            None => self.rules.push(rule),
        }
        Ok(())
    }
}

fn parse_exceptions(item: &Item<'_>, node: &Node) -> Result<Vec<ExceptionDef>, LoadError> {
    let Value::Seq(list) = &node.value else {
        if node.is_null() {
            return Ok(Vec::new());
        }
        return Err(item.err(node.line, "`exceptions` must be a list"));
    };
    let mut out = Vec::new();
    for e in list {
        let Value::Map(entries) = &e.value else {
            return Err(item.err(
                e.line,
                "each exception must be a mapping with name, fields, comps, values",
            ));
        };
        let sub = Item {
            file: item.file,
            line: e.line,
            label: item.label.clone(),
            entries,
        };
        sub.check_keys(&["name", "fields", "comps", "values"])?;
        let name = sub
            .string("name")?
            .ok_or_else(|| sub.err(e.line, "an exception needs `name`"))?;
        let (fields, single) = match sub.get("fields") {
            None => (Vec::new(), false),
            Some(n) => match &n.value {
                Value::Scalar(s, _) => (vec![s.clone()], true),
                _ => (
                    string_list(n).ok_or_else(|| {
                        sub.err(
                            n.line,
                            "exception `fields` must be a field or a list of fields",
                        )
                    })?,
                    false,
                ),
            },
        };
        let comps = match sub.get("comps") {
            None => vec![
                if single {
                    "in".to_string()
                } else {
                    "=".to_string()
                };
                fields.len()
            ],
            Some(n) => match &n.value {
                Value::Scalar(s, _) => vec![s.clone()],
                _ => string_list(n).ok_or_else(|| {
                    sub.err(n.line, "exception `comps` must be an operator or a list")
                })?,
            },
        };
        if comps.len() != fields.len() {
            return Err(sub.err(
                e.line,
                format!(
                    "exception {name:?}: {} fields but {} comps",
                    fields.len(),
                    comps.len()
                ),
            ));
        }
        let mut values = Vec::new();
        if let Some(n) = sub.get("values") {
            let Value::Seq(rows) = &n.value else {
                if n.is_null() {
                    continue;
                }
                return Err(sub.err(n.line, "exception `values` must be a list"));
            };
            for row in rows {
                if single || (fields.is_empty() && matches!(row.value, Value::Scalar(..))) {
                    match &row.value {
                        Value::Scalar(s, _) => values.push(vec![ExcValue::One(s.clone())]),
                        _ => {
                            return Err(
                                sub.err(row.line, "with a single field, each value is a string")
                            )
                        }
                    }
                    continue;
                }
                let Value::Seq(cells) = &row.value else {
                    return Err(sub.err(
                        row.line,
                        format!(
                            "each value of exception {name:?} is a list of {} values",
                            fields.len()
                        ),
                    ));
                };
                if !fields.is_empty() && cells.len() != fields.len() {
                    return Err(sub.err(
                        row.line,
                        format!(
                            "exception {name:?}: a value has {} items for {} fields",
                            cells.len(),
                            fields.len()
                        ),
                    ));
                }
                let mut tuple = Vec::new();
                for c in cells {
                    tuple.push(match &c.value {
                        Value::Scalar(s, _) => ExcValue::One(s.clone()),
                        Value::Seq(_) => ExcValue::Many(string_list(c).ok_or_else(|| {
                            sub.err(c.line, "nested exception values must be strings")
                        })?),
                        Value::Map(_) => {
                            return Err(sub.err(c.line, "an exception value cannot be a mapping"))
                        }
                    });
                }
                values.push(tuple);
            }
        }
        out.push(ExceptionDef {
            name,
            fields,
            single,
            comps,
            values,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_both_ways() {
        assert_eq!(parse_version("0.57.0"), Some((0, 57, 0)));
        assert_eq!(parse_version("17"), Some((0, 17, 0)));
        assert_eq!(parse_version("x"), None);
    }

    #[test]
    fn overrides_and_appends_modify_earlier_items() {
        let mut l = Loaded::default();
        l.add_file("a.yaml", "- list: l\n  items: [a]\n- macro: m\n  condition: proc.name = a\n- rule: r\n  desc: d\n  condition: m\n  output: o\n  priority: WARNING\n").unwrap();
        l.add_file("b.yaml", "- list: l\n  items: [b]\n  override:\n    items: append\n- macro: m\n  condition: or proc.name = b\n  append: true\n- rule: r\n  condition: and proc.pid > 1\n  override:\n    condition: append\n- rule: r\n  priority: ERROR\n  override:\n    priority: replace\n- rule: r\n  enabled: false\n").unwrap();
        assert_eq!(l.lists[0].items, vec!["a", "b"]);
        assert_eq!(l.macros[0].condition, "proc.name = a or proc.name = b");
        assert_eq!(l.rules[0].condition, "m and proc.pid > 1");
        assert_eq!(l.rules[0].priority, "ERROR");
        assert!(!l.rules[0].enabled);
    }

    #[test]
    fn errors_name_file_line_item_and_expectation() {
        let mut l = Loaded::default();
        let e = l
            .add_file("x.yaml", "- rule: r\n  desc: d\n  condtion: a\n")
            .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.item.as_str()),
            ("x.yaml", 3, "rule \"r\"")
        );
        assert!(
            e.message.contains("condtion") && e.message.contains("expected one of"),
            "{e}"
        );
        let e = l
            .add_file(
                "y.yaml",
                "- rule: r\n  desc: d\n  condition: a\n  output: o\n  priority: LOUD\n",
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("y.yaml:5: rule \"r\": unknown priority"),
            "{e}"
        );
        let e = l
            .add_file("z.yaml", "- required_engine_version: 99.0.0\n")
            .unwrap_err();
        assert!(e.message.contains("engine version"), "{e}");
        let e = l.add_file("w.yaml", "- rule: [\n").unwrap_err();
        assert!(e.message.contains("YAML syntax"), "{e}");
    }
}
