//! Heuristics for secrets in configuration: variable names that say "secret" and values
//! that look like well-known credential formats.

/// Words in a variable name that mark it as holding a secret.
const NAME_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "ACCESSKEY",
    "PRIVATE_KEY",
    "PRIVATEKEY",
    "CREDENTIAL",
    "CLIENT_SECRET",
    "AUTH_KEY",
    "SIGNING_KEY",
    "ENCRYPTION_KEY",
    "DB_PASS",
    "PWD_",
];

/// Name suffixes that point at a secret rather than hold one (a file path, a secret
/// manager reference, a name, a flag).
const NAME_EXEMPT_SUFFIXES: &[&str] = &[
    "_FILE",
    "_PATH",
    "_DIR",
    "_ARN",
    "_NAME",
    "_ID",
    "_REF",
    "_URL_ENV",
    "_ENABLED",
    "_LENGTH",
    "_TTL",
    "_EXPIRY",
    "_TYPE",
    "_HEADER",
    "_VERSION",
    "_PARAM",
    "_PARAMETER",
];

/// True when a variable name suggests it holds a secret.
pub fn secret_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase().replace(['-', '.'], "_");
    if NAME_EXEMPT_SUFFIXES.iter().any(|s| up.ends_with(s)) {
        return false;
    }
    if up == "PWD" {
        return false; // the shell's working directory
    }
    NAME_WORDS.iter().any(|w| up.contains(w))
}

/// A description of the credential format when a value looks like a known secret.
pub fn secret_value(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    for word in v.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        if word.len() == 20
            && (word.starts_with("AKIA") || word.starts_with("ASIA"))
            && word[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Some("an AWS access key ID");
        }
        if (word.starts_with("ghp_") || word.starts_with("gho_") || word.starts_with("ghs_"))
            && word.len() >= 40
        {
            return Some("a GitHub token");
        }
        if word.starts_with("github_pat_") && word.len() >= 40 {
            return Some("a GitHub fine-grained token");
        }
        if (word.starts_with("xoxb-") || word.starts_with("xoxp-")) && word.len() >= 30 {
            return Some("a Slack token");
        }
        if word.starts_with("sk_live_") && word.len() >= 24 {
            return Some("a Stripe live secret key");
        }
        if word.starts_with("glpat-") && word.len() >= 26 {
            return Some("a GitLab personal access token");
        }
        if word.starts_with("AIza") && word.len() == 39 {
            return Some("a Google API key");
        }
    }
    None
}

/// True when a value is only a reference to something resolved elsewhere (a variable,
/// an empty string, a placeholder), so it holds no literal secret.
pub fn is_reference(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || (v.starts_with("${") && v.ends_with('}') && !v[2..].contains("${"))
        || (v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        || v.starts_with("arn:aws:secretsmanager:")
        || v.starts_with("arn:aws:ssm:")
        || v.starts_with("{{resolve:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert!(secret_name("DB_PASSWORD"));
        assert!(secret_name("github-token"));
        assert!(secret_name("AWS_SECRET_ACCESS_KEY"));
        assert!(!secret_name("POSTGRES_PASSWORD_FILE"));
        assert!(!secret_name("TOKEN_TTL"));
        assert!(!secret_name("PATH"));
        assert!(!secret_name("PWD"));
        assert_eq!(
            secret_value("key=AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key ID")
        );
        assert_eq!(secret_value("hello"), None);
        assert!(is_reference("${DB_PASSWORD}"));
        assert!(is_reference("{{resolve:secretsmanager:x}}"));
        assert!(!is_reference("hunter2"));
    }
}
