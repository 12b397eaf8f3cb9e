//! Pulling images from registries that speak the OCI distribution API (v2).
//!
//! [`RegistryImage::open`] resolves a reference (`host[:port]/repo:tag` or
//! `@sha256:...`) to one image manifest, choosing a platform from a
//! multi-arch index, and reads the image config; [`ImageSource::open_layer`]
//! then streams each layer blob straight from the registry (following
//! redirects), so nothing is written to disk and no layer is held in memory.
//! Manifests are verified against their digests and the config against its
//! digest; layer digests are checked by the walker as it streams them.
//! Authentication: anonymous, HTTP basic, and bearer tokens from the realm a
//! `WWW-Authenticate` challenge names, with credentials from the options, the
//! environment or the usual auth files (see [`auth::CredentialSources`]).

pub mod auth;
mod client;
pub mod reference;

use super::oci::{self, Digest, ImageConfig, Manifest, ManifestOrIndex, PlatformSpec};
use super::ImageSource;
use crate::SourceError;
use client::{error_detail, Client};
use garrison_model::{LayerInfo, Target, TargetKind};
use reference::Reference;
use std::io::Read;
use std::path::PathBuf;

pub use auth::Credentials;

/// Most bytes of a manifest or index; larger ones are refused as hostile.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Most bytes of an image config blob.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;
/// Most levels of indexes pointing at indexes.
const MAX_INDEX_DEPTH: usize = 4;

/// What a pull accepts for manifests, most specific first.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `os/arch[/variant]` to pick from a multi-arch index (default `linux/amd64`).
    pub platform: Option<String>,
    /// Credentials; when absent they come from `GARRISON_REGISTRY_USERNAME` /
    /// `GARRISON_REGISTRY_PASSWORD`, then `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Speak plain HTTP. Loopback registries (`localhost`, 127.0.0.0/8, `::1`)
    /// get it anyway when HTTPS fails.
    pub plain_http: bool,
    /// PEM file with the CA certificate(s) to trust instead of the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any TLS certificate (never for production registries).
    pub insecure_skip_verify: bool,
}

/// An image in a registry, resolved to one platform's manifest. Its
/// [`Target`] carries the reference as written, the digest of that image
/// manifest (not of an index it was chosen from), the config digest as the
/// image ID, the platform, and `registry/repository:tag` when a tag was given.
pub struct RegistryImage {
    client: Client,
    reference: Reference,
    target: Target,
    layers: Vec<LayerInfo>,
}

impl std::fmt::Debug for RegistryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryImage")
            .field("reference", &self.reference)
            .field("target", &self.target)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

impl RegistryImage {
    /// Resolves `reference` on its registry: manifest (through an index when
    /// the reference names one), config, and the list of layers.
    pub fn open(reference: &str, opts: &RegistryOptions) -> Result<RegistryImage, SourceError> {
        let err = |reason: String| SourceError::Registry {
            reference: reference.to_string(),
            reason,
        };
        let parsed = Reference::parse(reference).map_err(err)?;
        let platform = opts
            .platform
            .as_deref()
            .map(PlatformSpec::parse)
            .transpose()
            .map_err(err)?;
        let creds = auth::CredentialSources::from_env(opts.username.clone(), opts.password.clone())
            .resolve(&parsed.registry, &parsed.repository)
            .map_err(err)?;
        let mut client = Client::new(reference, &parsed, opts, creds)?;
        client.ping()?;

        let mut fetched = fetch_manifest(&mut client, &parsed, parsed.manifest_ref(), None)?;
        let mut depth = 0;
        let manifest: Manifest = loop {
            match fetched.document {
                ManifestOrIndex::Manifest(m) => break m,
                ManifestOrIndex::Index(index) => {
                    depth += 1;
                    if depth > MAX_INDEX_DEPTH {
                        return Err(client
                            .error(format!("indexes nest deeper than {MAX_INDEX_DEPTH} levels")));
                    }
                    let chosen = oci::select_platform(&index, platform.as_ref())
                        .map_err(|e| client.error(format!("index {}: {e}", fetched.digest)))?
                        .clone();
                    // Validated before it goes into a URL: a hostile index
                    // could name `../x` or an unverifiable algorithm.
                    let digest = chosen
                        .digest()
                        .map_err(|e| client.error(format!("index {}: {e}", fetched.digest)))?;
                    fetched = fetch_manifest(&mut client, &parsed, digest.as_str(), Some(&chosen))?;
                }
            }
        };
        let manifest_digest = fetched.digest;

        let config_digest = manifest
            .config
            .digest()
            .map_err(|e| client.error(format!("manifest {manifest_digest}: config: {e}")))?;
        if manifest.config.size > MAX_CONFIG_BYTES {
            return Err(client.error(format!(
                "config {config_digest} is {} bytes, more than the {MAX_CONFIG_BYTES} a config may have",
                manifest.config.size
            )));
        }
        let config_bytes = fetch_small_blob(
            &mut client,
            &parsed,
            &config_digest,
            MAX_CONFIG_BYTES,
            "config",
        )?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(|e| {
            client.error(format!(
                "config {config_digest} is not a valid image config: {e}"
            ))
        })?;
        if let (Some(want), Some(have)) = (&platform, config.platform()) {
            let have_platform = oci::Platform {
                os: config.os.clone(),
                architecture: config.architecture.clone(),
                variant: config.variant.clone(),
                os_version: None,
            };
            if !want.matches(&have_platform) {
                return Err(client.error(format!(
                    "the image is for {have}, not the requested platform {want}"
                )));
            }
        }
        for layer in &manifest.layers {
            layer
                .digest()
                .map_err(|e| client.error(format!("manifest {manifest_digest}: layer: {e}")))?;
        }
        let layers = oci::layers_from(&manifest, &config);

        let mut target = Target::new(TargetKind::Image, reference);
        target.digest = Some(manifest_digest.to_string());
        target.image_id = Some(config_digest.to_string());
        if let Some(tag) = &parsed.tag {
            target
                .tags
                .push(format!("{}/{}:{tag}", parsed.registry, parsed.repository));
        }
        target.platform = config.platform();
        Ok(RegistryImage {
            client,
            reference: parsed,
            target,
            layers,
        })
    }

    /// The parsed reference.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }
}

impl ImageSource for RegistryImage {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + '_>, SourceError> {
        let Some(layer) = self.layers.get(index) else {
            return Err(self.client.error(format!(
                "layer {index} does not exist (the image has {})",
                self.layers.len()
            )));
        };
        let digest = Digest::parse(&layer.digest)
            .map_err(|e| self.client.error(format!("layer {index}: {e}")))?;
        // A size of 0 is a descriptor that gave none (no layer blob is empty).
        let size = layer.size.filter(|s| *s != 0);
        let response = get_blob(&mut self.client, &self.reference, &digest)?;
        let body = response.into_body();
        if let (Some(want), Some(got)) = (size, body.content_length()) {
            if want != got {
                return Err(self.client.error(format!(
                    "layer {digest}: the registry sends {got} bytes, the manifest says {want}"
                )));
            }
        }
        let reader = body.into_reader();
        Ok(match size {
            Some(size) => Box::new(SizedBlob {
                inner: reader,
                remaining: size,
                digest: digest.to_string(),
            }),
            None => Box::new(reader),
        })
    }
}

/// A manifest or index as fetched, with the digest it was verified to have.
struct Fetched {
    digest: Digest,
    document: ManifestOrIndex,
}

/// GETs `/v2/<repo>/manifests/<reference>`, checks its size and digest, and parses it.
fn fetch_manifest(
    client: &mut Client,
    reference: &Reference,
    manifest_ref: &str,
    descriptor: Option<&oci::Descriptor>,
) -> Result<Fetched, SourceError> {
    let by_digest = manifest_ref.starts_with("sha256:");
    let what = if by_digest {
        format!("manifest {manifest_ref}")
    } else {
        format!("the manifest of tag {manifest_ref}")
    };
    let path = format!("/v2/{}/manifests/{manifest_ref}", reference.repository);
    let mut response = client.get(&path, MANIFEST_ACCEPT)?;
    let status = response.status().as_u16();
    if status != 200 {
        let detail = error_detail(&mut response);
        return Err(client.error(match status {
            404 => format!(
                "{} {manifest_ref} not found: the repository {} or this {} does not exist{detail}",
                if by_digest { "manifest" } else { "tag" },
                reference.repository,
                if by_digest { "digest" } else { "tag" },
            ),
            403 => format!(
                "access to the repository {} is denied{detail}",
                reference.repository
            ),
            s => format!("GET {what} failed with HTTP {s}{detail}"),
        }));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
    let header_digest = response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = read_limited(client, response, MAX_MANIFEST_BYTES, &what)?;
    let digest = Digest::of(&bytes);
    if by_digest && digest.as_str() != manifest_ref {
        return Err(SourceError::DigestMismatch {
            input: reference.to_string(),
            digest: manifest_ref.to_string(),
            actual: digest.to_string(),
        });
    }
    if !by_digest {
        // Fetched by tag: the registry's own digest header, when it gives a
        // sha256 one, must agree with the bytes.
        if let Some(claimed) = header_digest.filter(|h| h.starts_with("sha256:")) {
            if claimed != digest.as_str() {
                return Err(SourceError::DigestMismatch {
                    input: reference.to_string(),
                    digest: claimed,
                    actual: digest.to_string(),
                });
            }
        }
    }
    if let Some(d) = descriptor {
        if d.size != 0 && d.size != bytes.len() as u64 {
            return Err(client.error(format!(
                "{what} is {} bytes, the index says {}",
                bytes.len(),
                d.size
            )));
        }
    }
    let media_type = content_type
        .as_deref()
        .or(descriptor.map(|d| d.media_type.as_str()))
        .filter(|m| !m.is_empty() && *m != "application/json" && *m != "text/plain");
    if media_type.is_some_and(|m| m.contains("distribution.manifest.v1"))
        || schema_version(&bytes) == Some(1)
    {
        return Err(client.error(format!(
            "{what} is a Docker schema 1 manifest, which is deprecated and not supported; re-push the image with a current client"
        )));
    }
    let document = ManifestOrIndex::from_slice(&bytes, media_type).map_err(|e| {
        client.error(format!(
            "{what} is neither an image manifest nor an index: {e}"
        ))
    })?;
    Ok(Fetched { digest, document })
}

fn schema_version(bytes: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        schema_version: Option<u64>,
    }
    serde_json::from_slice::<Probe>(bytes)
        .ok()
        .and_then(|p| p.schema_version)
}

/// GETs a blob; 404 is [`SourceError::MissingBlob`].
fn get_blob(
    client: &mut Client,
    reference: &Reference,
    digest: &Digest,
) -> Result<ureq::http::Response<ureq::Body>, SourceError> {
    let path = format!("/v2/{}/blobs/{digest}", reference.repository);
    let mut response = client.get(&path, "*/*")?;
    match response.status().as_u16() {
        200 => Ok(response),
        404 => Err(SourceError::MissingBlob {
            input: reference.to_string(),
            digest: digest.to_string(),
        }),
        s => {
            let detail = error_detail(&mut response);
            Err(client.error(format!("GET blob {digest} failed with HTTP {s}{detail}")))
        }
    }
}

/// A whole small blob (the config), size-limited and digest-checked.
fn fetch_small_blob(
    client: &mut Client,
    reference: &Reference,
    digest: &Digest,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    let response = get_blob(client, reference, digest)?;
    let bytes = read_limited(client, response, limit, &format!("{what} {digest}"))?;
    let actual = Digest::of(&bytes);
    if &actual != digest {
        return Err(SourceError::DigestMismatch {
            input: reference.to_string(),
            digest: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(bytes)
}

/// Reads a response body of at most `limit` bytes.
fn read_limited(
    client: &Client,
    response: ureq::http::Response<ureq::Body>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    let too_big = || client.error(format!("{what} is larger than {limit} bytes; refusing it"));
    let mut body = response.into_body();
    if body.content_length().is_some_and(|n| n > limit) {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    body.as_reader()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| client.error(format!("reading {what}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

/// A layer body that must be exactly as long as its descriptor says: a
/// server that sends more is cut off with an error instead of being read forever.
struct SizedBlob<R> {
    inner: R,
    remaining: u64,
    digest: String,
}

impl<R: Read> Read for SizedBlob<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "blob {} is longer than the size its manifest gives",
                        self.digest
                    ),
                )),
            };
        }
        let want = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "blob {} ended {} bytes short of the size its manifest gives",
                    self.digest, self.remaining
                ),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
