//! `os-release` (https://www.freedesktop.org/software/systemd/man/os-release.html):
//! newline-separated `KEY=value` assignments with shell-style quoting.

use super::lines;
use garrison_model::Distro;

/// The distro described by an `os-release` file's content; `None` when the
/// content holds no assignment at all. A file without `ID` names `linux`, as
/// the specification says.
pub fn parse_os_release(content: &[u8]) -> Option<Distro> {
    let mut distro = Distro::default();
    let mut any = false;
    let mut id = None;
    let mut version = None;
    for line in lines(content) {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, raw) = (line[..eq].trim_ascii(), line[eq + 1..].trim_ascii_start());
        if key.is_empty() || !key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            continue;
        }
        any = true;
        let value = unquote(raw);
        let value = value.trim();
        let set = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match key {
            b"ID" => id = set(value),
            b"VERSION_ID" => distro.version_id = set(value),
            b"VERSION_CODENAME" => distro.codename = set(value),
            b"PRETTY_NAME" => distro.pretty_name = set(value),
            b"VERSION" => version = set(value),
            b"ID_LIKE" => {
                distro.id_like = value.split_ascii_whitespace().map(str::to_string).collect()
            }
            _ => {}
        }
    }
    if !any {
        return None;
    }
    distro.id = id.unwrap_or_else(|| "linux".to_string());
    if distro.codename.is_none() {
        // Distroless and older Debian releases: `VERSION="Debian GNU/Linux 12 (bookworm)"`.
        distro.codename = version.as_deref().and_then(codename_from_version);
    }
    Some(distro)
}

/// `12 (bookworm)` -> `bookworm`; only a single lowercase word counts (Ubuntu's
/// `22.04.4 LTS (Jammy Jellyfish)` is a description, not a codename).
fn codename_from_version(version: &str) -> Option<String> {
    let open = version.rfind('(')?;
    let inner = version[open + 1..].strip_suffix(')')?;
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        .then(|| inner.to_string())
}

/// Shell-style unquoting of an assignment's right-hand side: double quotes
/// (with `\"`, `\\`, `\$`, `` \` `` escapes), single quotes (literal), and
/// unquoted text with backslash escapes. Concatenated parts are joined, as a
/// shell would; a trailing comment after whitespace is dropped.
fn unquote(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                out.push(n);
                                chars.next();
                            }
                            _ => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if c.is_whitespace() => {
                // Unquoted whitespace ends the word; what follows is a comment or junk.
                break;
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(unquote(br#""a \"b\" \\ \$x""#), r#"a "b" \ $x"#);
        assert_eq!(unquote(br"'it\s'"), r"it\s");
        assert_eq!(unquote(br"plain\ word # comment"), "plain word");
        assert_eq!(unquote(br#""unterminated"#), "unterminated");
        assert_eq!(unquote(br#"a"b"'c'"#), "abc");
    }

    #[test]
    fn codename() {
        assert_eq!(codename_from_version("12 (bookworm)").as_deref(), Some("bookworm"));
        assert_eq!(codename_from_version("22.04.4 LTS (Jammy Jellyfish)"), None);
        assert_eq!(codename_from_version("3.19"), None);
    }
}
