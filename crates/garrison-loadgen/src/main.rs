//! `garrison-loadgen`: simulated agents against a running `garrison server`
//! (bench/server.sh runs it). Prints the report as JSON on stdout.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Simulated agents (enrollment, mutual TLS, heartbeats, alert batches) and API
/// latency under that load, against a garrison server on loopback.
#[derive(Debug, Parser)]
#[command(name = "garrison-loadgen", version)]
struct Args {
    /// The server's address (loopback only).
    #[arg(long, default_value = "127.0.0.1:8443")]
    server: SocketAddr,
    /// The server's CA certificate (DATA_DIR/server/ca.pem).
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// An admin user of the server.
    #[arg(long, default_value = "admin")]
    user: String,
    /// A file whose first line is that user's password.
    #[arg(long, value_name = "FILE")]
    password_file: PathBuf,
    /// Simulated agents, each with its own mutual-TLS connection.
    #[arg(long, default_value_t = 2000)]
    agents: usize,
    /// Seconds of traffic after every agent is connected.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Alerts per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Seconds between an agent's heartbeats.
    #[arg(long, default_value_t = 10)]
    heartbeat: u64,
    /// Every N-th send replays the previous batch, which must come back a duplicate (0: never).
    #[arg(long, default_value_t = 0)]
    replay_every: u64,
    /// Send bodies uncompressed (default: zstd, as agents do).
    #[arg(long)]
    no_compress: bool,
    /// Milliseconds between API reads (GET /api/v1/alerts).
    #[arg(long, default_value_t = 100)]
    api_interval_ms: u64,
}

fn main() -> ExitCode {
    let a = Args::parse();
    if !a.server.ip().is_loopback() {
        eprintln!(
            "garrison-loadgen: --server {} is not a loopback address",
            a.server
        );
        return ExitCode::from(2);
    }
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))
    };
    let (ca, pw) = match (read(&a.ca), read(&a.password_file)) {
        (Ok(c), Ok(p)) => (c, p.lines().next().unwrap_or_default().to_string()),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("garrison-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cfg = garrison_loadgen::Config::new(a.server, ca, &a.user, &pw);
    cfg.agents = a.agents;
    cfg.duration = Duration::from_secs(a.duration);
    cfg.batch_size = a.batch.max(1);
    cfg.heartbeat_every = Duration::from_secs(a.heartbeat.max(1));
    cfg.replay_every = a.replay_every;
    cfg.compress = !a.no_compress;
    cfg.api_interval = Duration::from_millis(a.api_interval_ms);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("garrison-loadgen: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(garrison_loadgen::run(cfg)) {
        Ok(r) => {
            println!("{}", r.to_json());
            if r.errors > 0 {
                eprintln!(
                    "garrison-loadgen: {} failed requests; first: {}",
                    r.errors,
                    r.first_error.as_deref().unwrap_or("?")
                );
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("garrison-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
