//! `garrison agent`: the runtime agent (event stream) and `garrison agent status`.

use crate::cli::{Global, StatusFormat};
use crate::UsageError;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use garrison_agent::{status, AgentConfig, Format};
use garrison_event::EventKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// Where the stream goes: `stdout`, or a file (appended to).
    #[arg(long, default_value = "stdout", value_name = "stdout|FILE")]
    pub output: String,
    /// Stream format: `json` (NDJSON, one `"kind":"event"` object per line) or `text`.
    #[arg(long, short, value_enum, default_value_t = AgentFormat::Json)]
    pub format: AgentFormat,
    /// Event kinds to stream: `all`, or a comma-separated list (exec,fork,exit,open,
    /// unlink,rename,chmod,chown,link,symlink,mkdir,connect,accept,bind,listen,dns,
    /// set_id,capset,ptrace,module,mount,umount,unshare,setns,memfd_create,bpf,kill).
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub events: String,
    /// Do not use eBPF: use the degraded sources (proc connector, fanotify, /proc polling).
    #[arg(long)]
    pub no_bpf: bool,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Show the running agent's status (mechanisms in use, degraded or not and why,
    /// per-kind delivered/lost counters) and what this host's kernel allows.
    Status {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentFormat {
    /// NDJSON.
    Json,
    /// One readable line per event.
    Text,
}

/// `DATA/agent/status.json`.
fn status_file(global: &Global) -> anyhow::Result<PathBuf> {
    let data = garrison_vulndb::default_db_dir(global.data_dir.as_deref())
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .context("cannot tell where Garrison keeps its data (no HOME): pass --data-dir DIR")?;
    Ok(status::status_path(&data))
}

pub fn run(global: &Global, args: AgentArgs) -> anyhow::Result<ExitCode> {
    if let Some(AgentCommand::Status { format }) = args.command {
        return show_status(global, format);
    }
    let kinds =
        EventKind::parse_list(&args.events).map_err(|e| UsageError(format!("--events: {e}")))?;
    if kinds.is_empty() {
        return Err(UsageError("--events: name at least one kind, or `all`".into()).into());
    }
    let format = match args.format {
        AgentFormat::Json => Format::Json,
        AgentFormat::Text => Format::Text,
    };
    let config = AgentConfig {
        kinds: kinds.clone(),
        no_bpf: args.no_bpf,
        format,
        output_name: format!("{:?} to {}", args.format, args.output).to_lowercase(),
        status_path: status_file(global)?,
        status_every: Duration::from_secs(2),
        report_every: Duration::from_secs(10),
        enricher: garrison_enricher::Config::default(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    garrison_agent::stop_on_signals(&stop)?;
    let interest = garrison_agent::interest_for(&kinds);
    let chosen = garrison_agent::choose_source(args.no_bpf, &interest)
        .context("no event source could start")?;
    let mut out: Box<dyn std::io::Write> = if args.output == "stdout" {
        Box::new(std::io::BufWriter::with_capacity(
            256 * 1024,
            std::io::stdout().lock(),
        ))
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.output)
            .with_context(|| format!("open --output {}", args.output))?;
        Box::new(std::io::BufWriter::with_capacity(256 * 1024, file))
    };
    let mut err = std::io::stderr();
    garrison_agent::run(&config, chosen, stop, &mut out, &mut err)?;
    Ok(ExitCode::SUCCESS)
}

fn show_status(global: &Global, format: StatusFormat) -> anyhow::Result<ExitCode> {
    let path = status_file(global)?;
    let st = status::read(&path)?;
    let live = st
        .as_ref()
        .is_some_and(|s| status::is_live(s, Path::new("/proc")));
    // What this host allows, probed now: useful with or without a running agent.
    let probe = serde_json::to_value(garrison_sensor::probe()).ok();
    match format {
        StatusFormat::Json => {
            let doc = serde_json::json!({
                "running": live,
                "status_file": path,
                "status": st,
                "features": probe,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        StatusFormat::Table => {
            print!(
                "{}",
                garrison_agent::text::status_table(st.as_ref(), live, probe.as_ref())
            );
            println!("status file: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
