//! Registry credentials (options, environment, auth files) and
//! `WWW-Authenticate` challenges.

use base64::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// Where they came from, for messages (`--username`, `$GARRISON_REGISTRY_USERNAME`, a file).
    pub origin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `Authorization` header value for HTTP basic auth.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Where to look for a registry's credentials, in order of precedence.
#[derive(Debug, Clone, Default)]
pub struct CredentialSources {
    pub username: Option<String>,
    pub password: Option<String>,
    /// `(name, value)` of the environment variables that apply.
    pub env_username: Option<String>,
    pub env_password: Option<String>,
    /// Auth files (`auth.json`, docker `config.json`) in order of precedence.
    pub files: Vec<PathBuf>,
}

impl CredentialSources {
    /// The sources of this process: explicit values, then
    /// `GARRISON_REGISTRY_USERNAME`/`_PASSWORD`, then `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json` and `~/.docker/config.json`.
    pub fn from_env(username: Option<String>, password: Option<String>) -> CredentialSources {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut files = Vec::new();
        if let Some(file) = var("REGISTRY_AUTH_FILE") {
            files.push(PathBuf::from(file));
        }
        if let Some(dir) = var("XDG_RUNTIME_DIR") {
            files.push(Path::new(&dir).join("containers/auth.json"));
        }
        if let Some(dir) = var("DOCKER_CONFIG") {
            files.push(Path::new(&dir).join("config.json"));
        } else if let Some(home) = var("HOME") {
            files.push(Path::new(&home).join(".docker/config.json"));
        }
        CredentialSources {
            username,
            password,
            env_username: var("GARRISON_REGISTRY_USERNAME"),
            env_password: var("GARRISON_REGISTRY_PASSWORD"),
            files,
        }
    }

    /// The credentials for `registry` (`host[:port]`) and `repository`, if any.
    /// A user name without a password (or the reverse) is an error.
    pub fn resolve(&self, registry: &str, repository: &str) -> Result<Option<Credentials>, String> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => {
                return Ok(Some(Credentials {
                    username: u.clone(),
                    password: p.clone(),
                    origin: "--username/--password".into(),
                }))
            }
            (Some(_), None) => return Err("--username was given without --password".into()),
            (None, Some(_)) => return Err("--password was given without --username".into()),
            (None, None) => {}
        }
        match (&self.env_username, &self.env_password) {
            (Some(u), Some(p)) => {
                return Ok(Some(Credentials {
                    username: u.clone(),
                    password: p.clone(),
                    origin: "$GARRISON_REGISTRY_USERNAME/$GARRISON_REGISTRY_PASSWORD".into(),
                }))
            }
            (Some(_), None) => {
                return Err(
                    "GARRISON_REGISTRY_USERNAME is set but GARRISON_REGISTRY_PASSWORD is not"
                        .into(),
                )
            }
            (None, Some(_)) => {
                return Err(
                    "GARRISON_REGISTRY_PASSWORD is set but GARRISON_REGISTRY_USERNAME is not"
                        .into(),
                )
            }
            (None, None) => {}
        }
        for file in &self.files {
            if let Some(creds) = from_auth_file(file, registry, repository)? {
                return Ok(Some(creds));
            }
        }
        Ok(None)
    }
}

/// Auth files larger than this are not credential files.
const MAX_AUTH_FILE: u64 = 4 << 20;

#[derive(serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

/// Looks `registry`/`repository` up in a containers `auth.json` or docker
/// `config.json`. A missing file is no error; an unreadable or malformed one is.
fn from_auth_file(
    path: &Path,
    registry: &str,
    repository: &str,
) -> Result<Option<Credentials>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read auth file {}: {e}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_AUTH_FILE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read auth file {}: {e}", path.display()))?;
    let parsed: AuthFile = serde_json::from_str(&text)
        .map_err(|e| format!("auth file {} is not valid JSON: {e}", path.display()))?;
    // Keys may be `host`, `host/namespace/repo` (containers), or URLs
    // (`https://index.docker.io/v1/`, docker). Normalize and pick the most
    // specific key that covers the repository.
    let hub = matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    );
    let normalize = |key: &str| -> String {
        let key = key
            .strip_prefix("https://")
            .or_else(|| key.strip_prefix("http://"))
            .unwrap_or(key);
        let key = key
            .strip_suffix("/v1/")
            .or_else(|| key.strip_suffix("/v2/"))
            .or_else(|| key.strip_suffix('/'))
            .unwrap_or(key);
        let (host, rest) = match key.split_once('/') {
            Some((h, r)) => (h, Some(r)),
            None => (key, None),
        };
        let host = if matches!(host, "index.docker.io" | "registry-1.docker.io") {
            "docker.io"
        } else {
            host
        };
        match rest {
            Some(r) => format!("{host}/{r}"),
            None => host.to_string(),
        }
    };
    let registry = if hub { "docker.io" } else { registry };
    let mut wanted: Vec<String> = Vec::new();
    let mut key = format!("{registry}/{repository}");
    loop {
        wanted.push(key.clone());
        match key.rfind('/') {
            Some(i) => key.truncate(i),
            None => break,
        }
    }
    let entries: BTreeMap<String, &AuthEntry> = parsed
        .auths
        .iter()
        .map(|(k, v)| (normalize(k), v))
        .collect();
    for key in &wanted {
        let Some(entry) = entries.get(key) else {
            continue;
        };
        let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
            continue;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                format!(
                    "auth file {}: the \"auth\" of {key} is not base64 of user:password",
                    path.display()
                )
            })?;
        let Some((username, password)) = decoded.split_once(':') else {
            return Err(format!(
                "auth file {}: the \"auth\" of {key} is not base64 of user:password",
                path.display()
            ));
        };
        return Ok(Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
            origin: format!("auth file {}", path.display()),
        }));
    }
    Ok(None)
}

/// One challenge of a `WWW-Authenticate` header that a registry client can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// The challenges of one or more `WWW-Authenticate` header values that this
/// client understands, in the order given (unknown schemes are dropped).
pub fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for header in headers {
        for (scheme, params) in parse_header(header) {
            if scheme.eq_ignore_ascii_case("basic") {
                out.push(Challenge::Basic);
            } else if scheme.eq_ignore_ascii_case("bearer") {
                if let Some(realm) = params.get("realm").filter(|r| !r.is_empty()) {
                    out.push(Challenge::Bearer {
                        realm: realm.clone(),
                        service: params.get("service").cloned(),
                        scope: params.get("scope").cloned(),
                    });
                }
            }
        }
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+.^_`|~-".contains(c)
}

/// Splits a header value into `(scheme, params)` challenges (RFC 9110 §11.6.1).
fn parse_header(header: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| *c == ' ' || *c == '\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| -> String {
        let start = *i;
        while chars.get(*i).is_some_and(|c| is_token_char(*c)) {
            *i += 1;
        }
        chars
            .get(start..*i)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    };
    loop {
        while chars
            .get(i)
            .is_some_and(|c| *c == ' ' || *c == '\t' || *c == ',')
        {
            i += 1;
        }
        let scheme = token(&mut i);
        if scheme.is_empty() {
            break;
        }
        let mut params = BTreeMap::new();
        skip_ws(&mut i);
        loop {
            let save = i;
            let name = token(&mut i);
            skip_ws(&mut i);
            if name.is_empty() || chars.get(i) != Some(&'=') {
                i = save;
                break;
            }
            i += 1;
            skip_ws(&mut i);
            let value = if chars.get(i) == Some(&'"') {
                i += 1;
                let mut v = String::new();
                while let Some(&c) = chars.get(i) {
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(&escaped) = chars.get(i) {
                                v.push(escaped);
                                i += 1;
                            }
                        }
                        c => v.push(c),
                    }
                }
                v
            } else {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| *c != ',' && *c != ' ' && *c != '\t')
                {
                    i += 1;
                }
                chars
                    .get(start..i)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default()
            };
            params.insert(name.to_ascii_lowercase(), value);
            skip_ws(&mut i);
            if chars.get(i) == Some(&',') {
                i += 1;
                skip_ws(&mut i);
            } else {
                break;
            }
        }
        out.push((scheme, params));
        if i >= chars.len() {
            break;
        }
        // Anything that is neither a parameter nor a new challenge: stop rather than loop.
        if !chars.get(i).is_some_and(|c| is_token_char(*c) || *c == ',') {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenges([
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        ]);
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull".into()),
            }]
        );
    }

    #[test]
    fn several_challenges_and_escapes() {
        let c = parse_challenges([
            r#"Basic realm="a \"quoted\" realm", charset=UTF-8, Bearer realm=http://127.0.0.1:1/t"#,
            "Negotiate",
        ]);
        assert_eq!(
            c,
            vec![
                Challenge::Basic,
                Challenge::Bearer {
                    realm: "http://127.0.0.1:1/t".into(),
                    service: None,
                    scope: None
                }
            ]
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for h in [
            "",
            "=",
            "Bearer realm=\"unterminated",
            "\"\"\"",
            "Bearer ,,,=,",
            "Basic \u{e9}=",
        ] {
            let _ = parse_challenges([h]);
        }
        assert_eq!(parse_challenges(["Bearer"]), vec![]);
    }

    #[test]
    fn auth_file_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &file,
            format!(
                r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{}"}},"127.0.0.1:5000/team/app":{{"auth":"{}"}},"https://index.docker.io/v1/":{{"auth":"{}"}}}}}}"#,
                b64("host:pw1"),
                b64("team:pw:with:colons"),
                b64("hub:pw3")
            ),
        )
        .unwrap();
        let sources = CredentialSources {
            files: vec![dir.path().join("missing.json"), file.clone()],
            ..Default::default()
        };
        let c = sources
            .resolve("127.0.0.1:5000", "other/app")
            .unwrap()
            .unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("host", "pw1"));
        let c = sources
            .resolve("127.0.0.1:5000", "team/app")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("team", "pw:with:colons")
        );
        let c = sources
            .resolve("docker.io", "library/debian")
            .unwrap()
            .unwrap();
        assert_eq!(c.username, "hub");
        assert!(sources.resolve("127.0.0.2:5000", "x").unwrap().is_none());
        assert!(!format!("{c:?}").contains("pw3"));

        std::fs::write(&file, "{not json").unwrap();
        let err = sources.resolve("127.0.0.1:5000", "x").unwrap_err();
        assert!(err.contains("auth.json"), "{err}");

        let explicit = CredentialSources {
            username: Some("u".into()),
            ..Default::default()
        };
        assert!(explicit.resolve("h", "r").is_err());
    }
}
