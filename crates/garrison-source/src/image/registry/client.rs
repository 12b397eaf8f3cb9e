//! The HTTP side of a registry pull: scheme selection (https, with a plain-http
//! fallback for loopback registries), TLS settings, and the anonymous, basic
//! and bearer-token auth dance.

use super::auth::{parse_challenges, Challenge, Credentials};
use super::reference::{host_is_loopback, Reference};
use super::RegistryOptions;
use crate::SourceError;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;
use ureq::http::Response;
use ureq::Body;

/// Most bytes of a token server's answer.
const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
/// Most bytes of an error body quoted in a message.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// A connection to one repository of one registry.
pub(crate) struct Client {
    /// The reference as the user wrote it, for every message.
    name: String,
    host: String,
    repository: String,
    /// `https://host` or `http://host`, once the first request has decided.
    base: Option<String>,
    plain_http: bool,
    loopback: bool,
    agent: ureq::Agent,
    creds: Option<Credentials>,
    /// The `Authorization` header currently sent to the registry.
    authorization: Option<String>,
    /// Bearer tokens by (realm, service, scope).
    tokens: HashMap<String, String>,
}

/// What went wrong at the HTTP level, before any status code was seen.
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

impl Client {
    pub fn new(
        name: &str,
        reference: &Reference,
        opts: &RegistryOptions,
        creds: Option<Credentials>,
    ) -> Result<Client, SourceError> {
        let err = |reason: String| SourceError::Registry {
            reference: name.to_string(),
            reason,
        };
        let host = reference.api_host().to_string();
        let loopback = host_is_loopback(&host);
        let mut tls =
            ureq::tls::TlsConfig::builder().disable_verification(opts.insecure_skip_verify);
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| err(format!("cannot read CA file {}: {e}", ca.display())))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(err(format!(
                            "CA file {} is not valid PEM: {e}",
                            ca.display()
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(err(format!(
                    "CA file {} holds no PEM certificate",
                    ca.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls.build())
            .max_redirects(10)
            // Blobs are often redirected to object storage with signed URLs,
            // which must not see the registry's credentials.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .user_agent(format!("garrison/{}", env!("CARGO_PKG_VERSION")))
            .accept_encoding("identity")
            // Includes the TLS handshake; a loopback server that never answers
            // one should not hold up the plain-http fallback for long.
            .timeout_connect(Some(Duration::from_secs(if loopback { 10 } else { 30 })))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(300)));
        if loopback {
            // A proxy from the environment has no business with a loopback registry.
            config = config.proxy(None);
        }
        Ok(Client {
            name: name.to_string(),
            host,
            repository: reference.repository.clone(),
            base: None,
            plain_http: opts.plain_http,
            loopback,
            agent: config.build().new_agent(),
            creds,
            authorization: None,
            tokens: HashMap::new(),
        })
    }

    /// A registry error naming the reference.
    pub fn error(&self, reason: impl Into<String>) -> SourceError {
        SourceError::Registry {
            reference: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// GET `path` (`/v2/...`) with `accept`, answering auth challenges once.
    /// Returns any response but 401; the caller judges the status.
    pub fn get(&mut self, path: &str, accept: &str) -> Result<Response<Body>, SourceError> {
        let response = self.send(path, accept)?;
        if response.status() != 401 {
            return Ok(response);
        }
        let challenges = challenges_of(&response);
        let had = self.authorization.clone();
        self.authenticate(&challenges)?;
        if self.authorization == had {
            return Err(self.rejected());
        }
        let response = self.send(path, accept)?;
        if response.status() == 401 {
            return Err(self.rejected());
        }
        Ok(response)
    }

    fn rejected(&self) -> SourceError {
        match &self.creds {
            Some(c) => self.error(format!(
                "the registry rejected the credentials of user {:?} (from {})",
                c.username, c.origin
            )),
            None => self.error(NEED_CREDENTIALS),
        }
    }

    /// One request, deciding the scheme on the first one.
    fn send(&mut self, path: &str, accept: &str) -> Result<Response<Body>, SourceError> {
        if let Some(base) = &self.base {
            let url = format!("{base}{path}");
            return self
                .request(&url, accept)
                .map_err(|e| self.error(format!("GET {url}: {}", transport(&e))));
        }
        let https = format!("https://{}{path}", self.host);
        let http = format!("http://{}{path}", self.host);
        if self.plain_http {
            let r = self
                .request(&http, accept)
                .map_err(|e| self.error(format!("GET {http}: {}", transport(&e))))?;
            self.base = Some(format!("http://{}", self.host));
            return Ok(r);
        }
        match self.request(&https, accept) {
            Ok(r) => {
                self.base = Some(format!("https://{}", self.host));
                Ok(r)
            }
            Err(e) if self.loopback => {
                // Loopback registries commonly speak plain HTTP; fall back as
                // docker does for them, and keep the https error for the message.
                let https_error = transport(&e);
                match self.request(&http, accept) {
                    Ok(r) if r.status() != 400 => {
                        tracing::debug!(registry = %self.host, %https_error, "using plain http for a loopback registry");
                        self.base = Some(format!("http://{}", self.host));
                        Ok(r)
                    }
                    Ok(r) => Err(self.error(format!(
                        "GET {https}: {https_error} (plain http answered {}; if the registry uses a private CA pass --ca-file)",
                        r.status()
                    ))),
                    Err(e2) => Err(self.error(format!(
                        "GET {https}: {https_error}; plain http fallback: {}",
                        transport(&e2)
                    ))),
                }
            }
            Err(e) => Err(self.error(format!(
                "GET {https}: {} (for a registry with a private CA pass --ca-file; for one that speaks plain HTTP pass --plain-http)",
                transport(&e)
            ))),
        }
    }

    fn request(&self, url: &str, accept: &str) -> Result<Response<Body>, ureq::Error> {
        let mut req = self.agent.get(url).header("Accept", accept);
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        req.call()
    }

    /// Finds out how the registry wants to be talked to (`GET /v2/`), and
    /// authenticates up front when it asks.
    pub fn ping(&mut self) -> Result<(), SourceError> {
        let response = self.send("/v2/", "application/json")?;
        if response.status() == 401 {
            let challenges = challenges_of(&response);
            self.authenticate(&challenges)?;
        }
        Ok(())
    }

    /// Answers the challenges of a 401 by setting [`Client::authorization`].
    fn authenticate(&mut self, challenges: &[Challenge]) -> Result<(), SourceError> {
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => Some((realm, service, scope)),
            Challenge::Basic => None,
        });
        if let Some((realm, service, scope)) = bearer {
            let scope = scope
                .clone()
                .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
            let key = format!("{realm}\n{}\n{scope}", service.as_deref().unwrap_or(""));
            if let Some(token) = self.tokens.get(&key) {
                if self.authorization.as_ref() != Some(token) {
                    self.authorization = Some(token.clone());
                    return Ok(());
                }
            }
            let token = self.fetch_token(realm, service.as_deref(), &scope)?;
            let header = format!("Bearer {token}");
            self.tokens.insert(key, header.clone());
            self.authorization = Some(header);
            return Ok(());
        }
        if challenges.contains(&Challenge::Basic) {
            return match &self.creds {
                Some(c) => {
                    self.authorization = Some(c.basic_header());
                    Ok(())
                }
                None => Err(self.error(NEED_CREDENTIALS)),
            };
        }
        Err(self.error(
            "the registry answered 401 without a Basic or Bearer challenge this client understands",
        ))
    }

    /// Asks a token server for a bearer token (distribution token auth spec).
    fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, SourceError> {
        let realm_host = realm
            .strip_prefix("https://")
            .or_else(|| realm.strip_prefix("http://"))
            .map(|rest| rest.split(['/', '?']).next().unwrap_or(rest));
        let Some(realm_host) = realm_host else {
            return Err(self.error(format!("the token realm {realm:?} is not an http(s) URL")));
        };
        let plain = realm.starts_with("http://");
        if plain && self.creds.is_some() && !host_is_loopback(realm_host) {
            return Err(self.error(format!(
                "the token realm {realm} is plain http on a non-loopback host; refusing to send credentials there"
            )));
        }
        let mut req = self.agent.get(realm).query("scope", scope);
        if let Some(service) = service {
            req = req.query("service", service);
        }
        if let Some(c) = &self.creds {
            req = req.header("Authorization", c.basic_header());
        }
        let mut response = req
            .call()
            .map_err(|e| self.error(format!("token request to {realm}: {}", transport(&e))))?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(match &self.creds {
                Some(c) => self.error(format!(
                    "the token server {realm} rejected the credentials of user {:?} (from {}) for scope {scope}",
                    c.username, c.origin
                )),
                None => self.error(NEED_CREDENTIALS),
            });
        }
        if status != 200 {
            let detail = error_detail(&mut response);
            return Err(self.error(format!(
                "token request to {realm} failed with HTTP {status}{detail}"
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_TOKEN_RESPONSE)
            .read_to_vec()
            .map_err(|e| self.error(format!("token response from {realm}: {}", transport(&e))))?;
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            self.error(format!(
                "token response from {realm} is not valid JSON: {e}"
            ))
        })?;
        let token = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| {
                self.error(format!(
                    "token response from {realm} has neither \"token\" nor \"access_token\""
                ))
            })?;
        if token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(self.error(format!(
                "token response from {realm} holds a token with invalid characters"
            )));
        }
        Ok(token)
    }
}

const NEED_CREDENTIALS: &str = "the registry requires authentication: pass --username and --password, set GARRISON_REGISTRY_USERNAME and GARRISON_REGISTRY_PASSWORD, or log in with `podman login` / `docker login`";

fn challenges_of(response: &Response<Body>) -> Vec<Challenge> {
    parse_challenges(
        response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// `: <message>` from a registry's JSON error body (`{"errors":[{"code","message"}]}`),
/// or the start of a text body; empty when there is nothing useful.
pub(crate) fn error_detail(response: &mut Response<Body>) -> String {
    let mut body = Vec::new();
    let read = response
        .body_mut()
        .as_reader()
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut body);
    if read.is_err() || body.is_empty() {
        return String::new();
    }
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(&body) {
        let items: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{} ({})", e.message, e.code),
                (true, false) => e.message.clone(),
                _ => e.code.clone(),
            })
            .filter(|s| !s.is_empty())
            .collect();
        if !items.is_empty() {
            return format!(": {}", items.join("; "));
        }
    }
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(200)
        .collect();
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", text.trim())
    }
}
