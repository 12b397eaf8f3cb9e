//! The garrison command: parses the command line and wires the library crates together.
//!
//! Exit codes (see "Conventions" in the README): 0 = the run completed and
//! nothing is over the gate; 1 = findings at or above the gate; 2 = bad usage;
//! 3 = the run could not complete (unreadable input, missing database).

mod admission;
mod agent;
mod alloc;
mod check_config;
mod cli;
mod compliance;
mod db;
mod fim;
mod progress;
mod rules;
mod sbom;
mod scan;
mod server;
mod up;

use clap::Parser as _;
use std::process::ExitCode;

/// mimalloc: see [`alloc`].
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The run could not complete.
const EXIT_INCOMPLETE: u8 = garrison_gate::exit::INCOMPLETE;
/// Bad usage that clap could not catch (a bad `--severity` list, say).
const EXIT_USAGE: u8 = garrison_gate::exit::USAGE;

/// An error in what the user asked for, as opposed to a failed run.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(&cli.global);
    let result = match cli.command {
        cli::Command::Sbom(args) => sbom::run(&cli.global, args),
        cli::Command::Scan(args) => scan::run(&cli.global, args),
        cli::Command::Db(cmd) => db::run(&cli.global, cmd),
        cli::Command::Check(cli::CheckCommand::Config(args)) => {
            check_config::run(&cli.global, args)
        }
        cli::Command::Check(cli::CheckCommand::LintChecks { dir }) => {
            check_config::lint(&cli.global, &dir)
        }
        cli::Command::Check(cmd) => compliance::run_check(&cli.global, cmd),
        cli::Command::Admission(args) => admission::run(&cli.global, args),
        cli::Command::Policy(cmd) => compliance::run_policy(&cli.global, cmd),
        cli::Command::Agent(args) => {
            alloc::purge_eagerly();
            agent::run(&cli.global, args)
        }
        cli::Command::Rules(cmd) => rules::run(cmd),
        cli::Command::Fim(cmd) => fim::run(&cli.global, cmd),
        cli::Command::Server(args) => server::run(&cli.global, args),
        cli::Command::Up(args) => up::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("garrison: error: {err:#}");
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_INCOMPLETE)
            }
        }
    }
}

fn init_logging(global: &cli::Global) {
    let default = if global.quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GARRISON_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(global.log_level.as_deref().unwrap_or(default))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
