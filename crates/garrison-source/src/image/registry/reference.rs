//! Image references as docker writes them: `host[:port]/repo[/more][:tag][@sha256:...]`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The registry host of Docker Hub as users write it.
const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's API actually answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host as written, with port (`127.0.0.1:5000`, `[::1]:5000`, `docker.io`).
    pub registry: String,
    /// Repository path (`test/app`, `library/debian`).
    pub repository: String,
    /// Tag, when given (or `latest` when neither tag nor digest was given).
    pub tag: Option<String>,
    /// Manifest digest, when given (`sha256:<64 hex>`).
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `reference` with docker's rules: the first path component is a
    /// registry host when it contains `.` or `:` or is `localhost`; otherwise the
    /// image lives on Docker Hub (`library/` is prefixed to single names). A
    /// `docker://` prefix is accepted and dropped.
    pub fn parse(reference: &str) -> Result<Reference, String> {
        let text = reference.strip_prefix("docker://").unwrap_or(reference);
        if text.is_empty() {
            return Err("empty image reference".into());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("an image reference cannot contain whitespace".into());
        }
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => {
                validate_digest(digest)?;
                (name, Some(digest.to_string()))
            }
            None => (text, None),
        };
        // A tag is a `:` after the last `/` (a `:` before it belongs to the host's port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name.get(last_slash..).and_then(|last| last.rfind(':')) {
            Some(colon) => {
                let at = last_slash + colon;
                (&name[..at], Some(name[at + 1..].to_string()))
            }
            None => (name, None),
        };
        if let Some(tag) = &tag {
            validate_tag(tag)?;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                validate_host(first)?;
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let repository = if is_docker_hub(&registry) && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        validate_repository(&repository)?;
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `host[:port]` to send API requests to.
    pub fn api_host(&self) -> &str {
        if is_docker_hub(&self.registry) {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to ask the manifest endpoint for: the digest when given, else the tag.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Whether the registry host is a loopback address (`localhost`, 127.0.0.0/8, `::1`).
    pub fn is_loopback(&self) -> bool {
        host_is_loopback(&self.registry)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn is_docker_hub(registry: &str) -> bool {
    matches!(registry, DOCKER_HUB | "index.docker.io" | DOCKER_HUB_API)
}

/// Whether `host[:port]` names a loopback address.
pub fn host_is_loopback(host_port: &str) -> bool {
    let host = strip_port(host_port);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

/// `host` of `host[:port]`, keeping an IPv6 literal's brackets.
fn strip_port(host_port: &str) -> &str {
    if host_port.starts_with('[') {
        return match host_port.find(']') {
            Some(end) => &host_port[..=end],
            None => host_port,
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, _)) => host,
        None => host_port,
    }
}

fn validate_host(host_port: &str) -> Result<(), String> {
    let host = strip_port(host_port);
    let port = &host_port[host.len()..];
    if let Some(port) = port.strip_prefix(':') {
        if port.parse::<u16>().is_err() {
            return Err(format!("invalid registry port in {host_port:?}"));
        }
    } else if !port.is_empty() {
        return Err(format!("invalid registry host {host_port:?}"));
    }
    let ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid registry host {host_port:?}"))
    }
}

fn validate_repository(repository: &str) -> Result<(), String> {
    let valid_component = |c: &str| {
        !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if repository.len() > 255 || !repository.split('/').all(valid_component) {
        return Err(format!(
            "invalid repository name {repository:?} (lowercase letters, digits and . _ - separated by /)"
        ));
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&tag.len())
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid tag {tag:?}"))
    }
}

fn validate_digest(digest: &str) -> Result<(), String> {
    match digest.split_once(':') {
        Some(("sha256", hex))
            if hex.len() == 64
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "invalid digest {digest:?} (expected sha256: and 64 lowercase hex digits)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Reference {
        match Reference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn host_port_repo_tag() {
        let r = parse("127.0.0.1:5000/test/app:1");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "test/app");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.digest, None);
        assert!(r.is_loopback());
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        assert_eq!(r.to_string(), "127.0.0.1:5000/test/app:1");
    }

    #[test]
    fn docker_hub_defaults() {
        let r = parse("debian");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/debian");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert!(!r.is_loopback());
        let r = parse("docker.io/grafana/grafana:10.1");
        assert_eq!(r.repository, "grafana/grafana");
        let r = parse("user/app:2");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "user/app");
    }

    #[test]
    fn digest_and_tag() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse(&format!("localhost:5000/a/b/c:v1@{d}"));
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "a/b/c");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.manifest_ref(), d);
        let r = parse(&format!("docker://[::1]:5000/app@{d}"));
        assert_eq!(r.registry, "[::1]:5000");
        assert_eq!(r.tag, None);
        assert!(r.is_loopback());
    }

    #[test]
    fn loopback_hosts() {
        assert!(host_is_loopback("127.3.4.5:99"));
        assert!(host_is_loopback("localhost"));
        assert!(host_is_loopback("[::1]"));
        assert!(!host_is_loopback("128.0.0.1:5000"));
        assert!(!host_is_loopback("example.com"));
        assert!(!host_is_loopback("[::2]:5000"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Host.example/UPPER:1",
            "127.0.0.1:99999/app",
            "127.0.0.1:5000/app:",
            "127.0.0.1:5000/app@sha256:abc",
            "127.0.0.1:5000/app@md5:00",
            "127.0.0.1:5000//app",
            "127.0.0.1:5000/app/../etc",
            "127.0.0.1:5000/app:t@g",
            "a b",
            "[::1/app",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
