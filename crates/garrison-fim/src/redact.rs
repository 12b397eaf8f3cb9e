//! Redaction of values that look like secrets, before any file text is stored in a
//! baseline or shown in a diff: `key = value` pairs whose key names a secret,
//! crypt(3) hashes, private-key blocks and long random-looking tokens.

pub const REDACTED: &str = "<redacted>";

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "private",
    "credential",
    "psk",
    "auth",
    "pwd",
    "pass",
];

fn looks_random(token: &str) -> bool {
    token.len() >= 32
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-.".contains(&b))
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_crypt_hash(field: &str) -> bool {
    // $id$salt$hash (MD5, SHA-256/512, yescrypt, bcrypt...).
    field.starts_with('$') && field.matches('$').count() >= 3 && field.len() >= 20
}

fn redact_line(line: &str) -> String {
    // passwd/shadow-style: colon-separated fields holding a crypt hash.
    if line.contains(':') && line.split(':').any(is_crypt_hash) {
        return line
            .split(':')
            .map(|f| if is_crypt_hash(f) { REDACTED } else { f })
            .collect::<Vec<_>>()
            .join(":");
    }
    // key = value, key: value, key value (first separator wins).
    let trimmed = line.trim_start();
    if !trimmed.starts_with('#') {
        if let Some(pos) = line.find(['=', ':', ' ', '\t']) {
            let key = line[..pos].trim().to_ascii_lowercase();
            let b = line.as_bytes();
            let mut v = pos;
            while v < b.len() && (b[v] == b' ' || b[v] == b'\t') {
                v += 1;
            }
            if v < b.len() && (b[v] == b'=' || b[v] == b':') {
                v += 1;
            }
            while v < b.len() && (b[v] == b' ' || b[v] == b'\t') {
                v += 1;
            }
            let value = line[v..].trim();
            if !key.is_empty() && !value.is_empty() && SECRET_WORDS.iter().any(|w| key.contains(w))
            {
                return format!("{}{REDACTED}", &line[..v]);
            }
        }
    }
    // Long random-looking tokens anywhere.
    if line.split_whitespace().any(looks_random) {
        return line
            .split(' ')
            .map(|t| if looks_random(t.trim()) { REDACTED } else { t })
            .collect::<Vec<_>>()
            .join(" ");
    }
    line.to_string()
}

/// `text` with secret-looking values replaced by `<redacted>`, line by line.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_key = false;
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if body.contains("-----BEGIN") && body.contains("PRIVATE KEY") {
            in_key = true;
            out.push_str(body);
        } else if in_key && body.contains("-----END") {
            in_key = false;
            out.push_str(body);
        } else if in_key {
            out.push_str(REDACTED);
        } else {
            out.push_str(&redact_line(body));
        }
        out.push_str(nl);
    }
    out
}

/// A unified diff of two redacted texts (`baseline` and `now`).
pub fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header("baseline", "now")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let text = "user = alice\npassword = hunter2\nDB_PASSWORD: s3cret\n# password here\nroot:$6$abcdefgh$0123456789abcdefghijklmnop:19000:0:99999:7:::\ntoken ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\nkey ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef end\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2E\n-----END OPENSSH PRIVATE KEY-----\n127.0.0.1 localhost";
        let r = redact(text);
        assert!(r.contains("user = alice"));
        assert!(!r.contains("hunter2") && r.contains("password = <redacted>"));
        assert!(!r.contains("s3cret"));
        assert!(r.contains("# password here"));
        assert!(r.starts_with("user") && r.contains("root:<redacted>:19000"));
        assert!(!r.contains("ghp_"));
        assert!(r.contains("key <redacted> end"));
        assert!(!r.contains("AAAAB3NzaC1yc2E"));
        assert!(r.ends_with("127.0.0.1 localhost"));
    }

    #[test]
    fn diff_is_unified() {
        let d = unified_diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(
            d.contains("-b\n") && d.contains("+B\n") && d.contains("--- baseline"),
            "{d}"
        );
    }
}
