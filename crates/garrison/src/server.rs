//! `garrison server`: run the control plane, or `garrison server admin ...` to
//! bootstrap it (the first admin user, enrollment tokens) from the command line.

use crate::cli::Global;
use crate::UsageError;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use garrison_server::{Config, Role};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `garrison server [--listen ADDR] [--database URL] | admin ...`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
    /// Address to serve HTTPS on (people and agents alike).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// `postgres://USER:PASSWORD@HOST/DB` for PostgreSQL; default: SQLite in DATA_DIR/server.
    #[arg(long, env = "GARRISON_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// More names (DNS or IP) agents reach the server by, for its certificate (repeatable).
    #[arg(long = "server-name", value_name = "NAME")]
    pub server_names: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Bootstrap and administer the server from the command line.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user (the first admin, typically). The password comes from
    /// --password-file or GARRISON_PASSWORD; without either, one is generated and printed.
    CreateUser {
        #[arg(long, value_name = "NAME")]
        username: String,
        /// admin, analyst or read-only.
        #[arg(long, default_value = "admin")]
        role: String,
        /// A file whose first line is the password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[arg(long, env = "GARRISON_DATABASE_URL", value_name = "URL")]
        database: Option<String>,
    },
    /// Create an enrollment token for agents; prints the token and the CA's SHA-256.
    CreateEnrollmentToken {
        #[arg(long, default_value = "")]
        description: String,
        /// Hours until it expires (1-8760).
        #[arg(long, default_value_t = 24)]
        expires_in_hours: i64,
        /// How many agents may enroll with it (1-100000).
        #[arg(long, default_value_t = 1)]
        max_uses: i64,
        /// The agent group its agents join (it must exist; default: `default`).
        #[arg(long)]
        group: Option<String>,
        #[arg(long, env = "GARRISON_DATABASE_URL", value_name = "URL")]
        database: Option<String>,
    },
}

/// The server's data directory: DATA_DIR/server.
fn server_dir(global: &Global) -> anyhow::Result<PathBuf> {
    let db = garrison_vulndb::default_db_dir(global.data_dir.as_deref())
        .ok_or_else(|| UsageError("no data directory: pass --data-dir or set HOME".into()))?;
    Ok(db
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
        .join("server"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs `garrison server ...`.
pub fn run(global: &Global, args: ServerArgs) -> anyhow::Result<ExitCode> {
    let dir = server_dir(global)?;
    match args.command {
        None => serve(global, &dir, args),
        Some(ServerCommand::Admin(cmd)) => admin(&dir, cmd),
    }
}

fn serve(global: &Global, dir: &Path, args: ServerArgs) -> anyhow::Result<ExitCode> {
    let listen: SocketAddr = args
        .listen
        .parse()
        .map_err(|e| UsageError(format!("--listen {:?}: {e}", args.listen)))?;
    let cfg = Config {
        listen,
        data_dir: dir.to_path_buf(),
        database: args.database,
        server_names: args.server_names,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let running = garrison_server::start(cfg)
            .await
            .context("starting the server")?;
        let users = running.state.store.count_users().await?;
        if !global.quiet {
            eprintln!(
                "garrison server: listening on https://{} (data in {}, CA SHA-256 {})",
                running.addr,
                dir.display(),
                running.state.pki.ca_sha256()
            );
            if users == 0 {
                eprintln!("garrison server: no users yet: run `garrison server admin create-user --username admin`");
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate() => {}
        }
        running.stop().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

fn admin(dir: &Path, cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    match cmd {
        AdminCommand::CreateUser {
            username,
            role,
            password_file,
            database,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                UsageError(format!(
                    "--role {role:?}: expected admin, analyst or read-only"
                ))
            })?;
            let (password, generated) = match (password_file, std::env::var("GARRISON_PASSWORD")) {
                (Some(f), _) => {
                    let text = std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    (text.lines().next().unwrap_or("").to_string(), false)
                }
                (None, Ok(p)) if !p.is_empty() => (p, false),
                _ => (garrison_server::auth::random_secret(), true),
            };
            let user = rt.block_on(async {
                let store = garrison_server::open_store(dir, database.as_deref()).await?;
                let r =
                    garrison_server::admin_create_user(&store, &username, &password, role).await;
                store.pool().close().await;
                r
            });
            let user = user.map_err(|e| match e {
                garrison_server::ServerError::Invalid(m) => anyhow::Error::new(UsageError(m)),
                other => anyhow::Error::new(other),
            })?;
            println!("created user {} ({})", user.username, user.role.as_str());
            if generated {
                println!("password: {password}");
            }
        }
        AdminCommand::CreateEnrollmentToken {
            description,
            expires_in_hours,
            max_uses,
            group,
            database,
        } => {
            let t = rt.block_on(async {
                let store = garrison_server::open_store(dir, database.as_deref()).await?;
                let r = garrison_server::admin_create_enrollment_token(
                    dir,
                    &store,
                    &description,
                    expires_in_hours,
                    max_uses,
                    group.as_deref(),
                )
                .await;
                store.pool().close().await;
                r
            });
            let t = t.map_err(|e| match e {
                garrison_server::ServerError::Invalid(m) => anyhow::Error::new(UsageError(m)),
                other => anyhow::Error::new(other),
            })?;
            println!("token: {}", t.token);
            println!("ca-sha256: {}", t.ca_sha256);
            println!("expires: {}  uses: {}", t.info.expires_at, t.info.max_uses);
        }
    }
    Ok(ExitCode::SUCCESS)
}
