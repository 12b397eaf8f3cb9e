//! The control plane: agent enrollment and mutual TLS, ingest, storage (SQLite or PostgreSQL), users, audit and the REST API.
//!
//! One HTTPS listener serves people (session cookie or API token) and agents
//! (client certificate issued by the server's own CA at enrollment). Layout:
//! `store` (all SQL), `pki` (the CA), `tls` (listener, client certificates),
//! `auth` (who is asking), `ingest` (what agents send), `policy` (agent
//! groups, their rulesets and configuration), `api` (handlers and the OpenAPI
//! document), `console` (the web console's pages), `model` (the API's
//! vocabulary), `notify` (notification targets and the worker that delivers
//! alerts to them).

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod ingest;
pub mod model;
pub mod notify;
pub mod pki;
pub mod policy;
pub mod store;
pub mod tls;

pub use error::{ApiError, ServerError, StoreError};
pub use model::Role;
pub use store::Store;

use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// The CA.
    pub pki: Arc<pki::Pki>,
    /// Failed logins per user name and client IP.
    pub limiter: Arc<auth::LoginLimiter>,
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (CA, SQLite database).
    pub data_dir: PathBuf,
    /// `postgres://...`; None: SQLite in the data directory.
    pub database: Option<String>,
    /// Names the server certificate is issued for, besides `localhost`,
    /// `127.0.0.1`, `::1` and the listen address.
    pub server_names: Vec<String>,
}

/// Creates the data directory (mode 0700) when missing.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| ServerError::Io {
                op: "creating",
                path: dir.to_path_buf(),
                source: e,
            })?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| ServerError::Io {
        op: "reading",
        path: dir.to_path_buf(),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(ServerError::Invalid(format!(
            "data directory {} is not a directory",
            dir.display()
        )));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
            ServerError::Io {
                op: "restricting permissions of",
                path: dir.to_path_buf(),
                source: e,
            }
        })?;
    }
    Ok(())
}

/// Opens the store the configuration names.
pub async fn open_store(data_dir: &Path, database: Option<&str>) -> Result<Store, ServerError> {
    prepare_data_dir(data_dir)?;
    Ok(match database {
        Some(url) => Store::open_url(url).await?,
        None => Store::open_sqlite(data_dir).await?,
    })
}

async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (k, v) in [
        ("strict-transport-security", "max-age=31536000"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    // The console sets its own policy; everything else (the API) allows nothing.
    h.entry(axum::http::header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; frame-ancestors 'none'",
        ));
    resp
}

/// The whole application: the API and the console, with security headers.
pub fn app(state: AppState) -> axum::Router {
    api::router()
        .merge(console::router())
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .with_state(state)
}

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The state (store, CA).
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting and ends open connections.
    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server ends (it does not on its own).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Starts the server: data directory, store (migrated), CA, TLS listener, the
/// retention job and the notification worker. Returns once it listens.
pub async fn start(cfg: Config) -> Result<Running, ServerError> {
    start_with(cfg, notify::Options::default()).await
}

/// [`start`] with the notification worker's retry options.
pub async fn start_with(cfg: Config, notify_opts: notify::Options) -> Result<Running, ServerError> {
    let store = open_store(&cfg.data_dir, cfg.database.as_deref()).await?;
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    let ip = cfg.listen.ip();
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    for n in &cfg.server_names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let pki = Arc::new(pki::Pki::load_or_create(&cfg.data_dir, &names)?);
    let tls = tls::server_config(&pki)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| ServerError::Bind {
            addr: cfg.listen.to_string(),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Bind {
        addr: cfg.listen.to_string(),
        source: e,
    })?;
    let state = AppState {
        store,
        pki,
        limiter: Default::default(),
    };
    let router = app(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let retention_store = state.store.clone();
    let notify_store = state.store.clone();
    let task = tokio::spawn(async move {
        let checkpointer = tokio::spawn(checkpoint_loop(retention_store.clone()));
        let retention = tokio::spawn(retention_loop(retention_store));
        let (stop_notifier, stopping) = tokio::sync::watch::channel(false);
        let notifier = tokio::spawn(notify::run_worker(notify_store, notify_opts, stopping));
        tls::serve(listener, tls, router, rx).await;
        retention.abort();
        checkpointer.abort();
        // Attempts under way finish (each within its timeout) and are recorded.
        let _ = stop_notifier.send(true);
        let _ = notifier.await;
    });
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// Checkpoints SQLite's write-ahead log off the writer's path (see
/// [`Store::checkpoint`]).
async fn checkpoint_loop(store: Store) {
    if store.backend() != store::Backend::Sqlite {
        return;
    }
    // Back to back while alerts are being committed (a checkpoint that copied
    // the whole log lets the writer's next transaction start the log afresh);
    // otherwise every 10 s, for the other writes. An idle server runs no SQL.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seen, mut idle_ticks) = (store.alert_commits(), 0u32);
    loop {
        tick.tick().await;
        let now = store.alert_commits();
        idle_ticks += 1;
        if now == seen && idle_ticks < 200 {
            continue;
        }
        seen = now;
        idle_ticks = 0;
        if let Err(e) = store.checkpoint().await {
            tracing::debug!("checkpoint: {e}");
        }
    }
}

async fn retention_loop(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        let res = match store.settings().await {
            Ok(s) => store.apply_retention(&s).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(r) if r != Default::default() => tracing::info!(?r, "retention applied"),
            Ok(_) => {}
            Err(e) => tracing::warn!("retention: {e}"),
        }
    }
}

/// Creates a user from the command line (bootstrap: the first admin).
pub async fn admin_create_user(
    store: &Store,
    username: &str,
    password: &str,
    role: Role,
) -> Result<model::User, ServerError> {
    api::check_new_user(username, password).map_err(ServerError::Invalid)?;
    let hash = auth::hash_password(password).map_err(ServerError::Invalid)?;
    let user = store
        .create_user(store::NewUser {
            username,
            password_hash: &hash,
            role,
        })
        .await?
        .ok_or_else(|| ServerError::Invalid(format!("user {username:?} exists")))?;
    store
        .audit(store::NewAudit {
            actor_kind: "system",
            actor: "garrison server admin",
            action: "user.create",
            target: &format!("user:{username}"),
            detail: serde_json::json!({ "role": role }),
            remote: "local",
        })
        .await?;
    Ok(user)
}

/// Creates an enrollment token from the command line.
pub async fn admin_create_enrollment_token(
    data_dir: &Path,
    store: &Store,
    description: &str,
    expires_in_hours: i64,
    max_uses: i64,
    group: Option<&str>,
) -> Result<api::CreatedEnrollmentToken, ServerError> {
    // The CA fingerprint is that of the CA in the data directory (made if new).
    let pki = Arc::new(pki::Pki::load_or_create(data_dir, &["localhost".into()])?);
    let st = AppState {
        store: store.clone(),
        pki,
        limiter: Default::default(),
    };
    let req = api::CreateEnrollmentToken {
        description: description.to_string(),
        expires_in_hours: Some(expires_in_hours),
        max_uses: Some(max_uses),
        group: group.map(str::to_string),
    };
    let t = api::new_enrollment_token(&st, &req, "garrison server admin")
        .await
        .map_err(|e| ServerError::Invalid(e.message))?;
    store
        .audit(store::NewAudit {
            actor_kind: "system",
            actor: "garrison server admin",
            action: "enrollment_token.create",
            target: &format!("enrollment_token:{}", t.info.id),
            detail: serde_json::json!({ "max_uses": max_uses }),
            remote: "local",
        })
        .await?;
    Ok(t)
}
