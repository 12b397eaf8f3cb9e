//! `garrison up`: the server on SQLite in the data directory, the first admin
//! user (password generated and printed once), and a local agent (a child process
//! of this binary) enrolled with a fresh token. Ctrl-C stops both.

use crate::cli::Global;
use crate::UsageError;
use anyhow::Context as _;
use clap::Args;
use garrison_server::{Config, Role};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `garrison up [--listen ADDR] [--no-agent] [--no-bpf]`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Address to serve the console, API and agents on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Start the server only (no local agent).
    #[arg(long)]
    pub no_agent: bool,
    /// The local agent uses the degraded sources, not eBPF.
    #[arg(long)]
    pub no_bpf: bool,
}

/// The data root: DATA_DIR (`--data-dir`, else /var/lib/garrison as root, else
/// ~/.local/share/garrison).
fn data_root(global: &Global) -> anyhow::Result<PathBuf> {
    garrison_vulndb::default_db_dir(global.data_dir.as_deref())
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .ok_or_else(|| UsageError("no data directory: pass --data-dir or set HOME".into()).into())
}

pub fn run(global: &Global, args: UpArgs) -> anyhow::Result<ExitCode> {
    let listen: SocketAddr = args
        .listen
        .parse()
        .map_err(|e| UsageError(format!("--listen {:?}: {e}", args.listen)))?;
    let root = data_root(global)?;
    garrison_server::prepare_data_dir(&root).context("preparing the data directory")?;
    let server_dir = root.join("server");
    let agent_dir = root.join("agent");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let running = garrison_server::start(Config {
            listen,
            data_dir: server_dir.clone(),
            database: None,
            server_names: Vec::new(),
        })
        .await
        .context("starting the server")?;
        let store = running.state.store.clone();
        let password = if store.count_users().await? == 0 {
            let pw = garrison_server::auth::random_secret();
            garrison_server::admin_create_user(&store, "admin", &pw, Role::Admin).await?;
            Some(pw)
        } else {
            None
        };
        let port = running.addr.port();
        let host = if running.addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            match running.addr.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            }
        };
        let url = format!("https://{host}:{port}");
        let mut child = if args.no_agent {
            None
        } else {
            Some(start_agent(&running, &root, &agent_dir, &url, args.no_bpf).await?)
        };

        println!("Garrison is up.");
        println!("  console:  {url}/   (log in at {url}/login)");
        match &password {
            Some(pw) => {
                println!("  user:     admin");
                println!("  password: {pw}");
                println!("            (shown once: only its hash is stored)");
            }
            None => println!(
                "  user:     admin (password printed by the first `garrison up`; lost it? \
                 `garrison --data-dir {} server admin create-user --username admin2` makes another admin)",
                root.display()
            ),
        }
        println!("  CA SHA-256: {}", running.state.pki.ca_sha256());
        println!(
            "  data:     {} (server), {} (agent)",
            server_dir.display(),
            agent_dir.display()
        );
        println!(
            "  more agents: `garrison server admin create-enrollment-token`, then \
             `garrison agent --server {url} --enroll-token TOKEN --ca-sha256 HEX`"
        );
        println!("Press Ctrl-C to stop.");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();

        let mut child_done = false;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = crate::server::terminate() => break,
                status = async {
                    match child.as_mut() {
                        Some(c) if !child_done => c.wait().await,
                        _ => std::future::pending().await,
                    }
                } => {
                    child_done = true;
                    eprintln!(
                        "garrison up: the local agent exited ({}); the server keeps running (Ctrl-C to stop)",
                        status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
                    );
                }
            }
        }
        if let Some(mut c) = child.take().filter(|_| !child_done) {
            stop_child(&mut c).await;
        }
        running.stop().await;
        eprintln!("garrison up: stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts `garrison agent` reporting to `url`, with a new one-use enrollment token
/// unless the agent is enrolled already.
async fn start_agent(
    running: &garrison_server::Running,
    root: &Path,
    agent_dir: &Path,
    url: &str,
    no_bpf: bool,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe().context("finding this program to start the agent")?;
    garrison_uplink::identity::prepare_dir(agent_dir)?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("--data-dir")
        .arg(root)
        .arg("agent")
        .arg("--server")
        .arg(url)
        .arg("--alert-output")
        .arg(format!(
            "file:{}",
            agent_dir.join("alerts.ndjson").display()
        ));
    if no_bpf {
        cmd.arg("--no-bpf");
    }
    if !agent_dir.join("identity.json").exists() {
        let t = garrison_server::api::new_enrollment_token(
            &running.state,
            &garrison_server::api::CreateEnrollmentToken {
                description: "garrison up: the local agent".into(),
                expires_in_hours: Some(1),
                max_uses: Some(1),
                group: None,
            },
            "garrison up",
        )
        .await
        .map_err(|e| anyhow::anyhow!("making an enrollment token: {}", e.message))?;
        // In the environment, not on the command line (other users can read that).
        cmd.env("GARRISON_ENROLL_TOKEN", t.token)
            .env("GARRISON_CA_SHA256", t.ca_sha256);
    }
    cmd.env_remove("GARRISON_SERVER")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd.spawn().context("starting the local agent")
}

async fn stop_child(c: &mut tokio::process::Child) {
    if let Some(pid) = c.id() {
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    match tokio::time::timeout(Duration::from_secs(20), c.wait()).await {
        Ok(_) => {}
        Err(_) => {
            eprintln!("garrison up: the agent did not stop within 20 s; killing it");
            let _ = c.kill().await;
        }
    }
}
