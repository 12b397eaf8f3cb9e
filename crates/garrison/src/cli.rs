//! The command line, as clap sees it. Its doc comments are the `--help` text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  the run completed and nothing is over the gate
  1  findings at or above the gate (--exit-code N changes 1 to N)
  2  bad usage
  3  the run could not complete (unreadable input, missing database)";

/// Garrison protects workloads over their whole life: it inventories and scans
/// images, hosts and projects, and watches them at runtime.
#[derive(Debug, Parser)]
#[command(name = "garrison", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// No progress indicator and no summary line on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log filter for diagnostics on stderr (error, warn, info, debug, trace);
    /// the GARRISON_LOG variable overrides it.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Where Garrison keeps its data (the advisory database lives in DIR/db).
    /// Default: /var/lib/garrison as root, else $XDG_DATA_HOME/garrison.
    #[arg(long, global = true, env = "GARRISON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory the software in an image, a root filesystem, a project tree or
    /// a running container (a software bill of materials).
    #[command(after_help = EXIT_CODES)]
    Sbom(SbomArgs),
    /// Find known vulnerabilities in an image, a root filesystem, a project
    /// tree, a running container or an SBOM, ranked by risk.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Manage the advisory database: update it, import advisories offline, show its state.
    #[command(subcommand)]
    Db(DbCommand),
    /// Check posture: misconfigurations in Kubernetes manifests, Dockerfiles, IaC and
    /// serverless configs; compliance (CIS and other SCA policies) of the host, a root
    /// filesystem or an image.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Serve a Kubernetes validating admission webhook (AdmissionReview v1 over HTTPS), or make its certificates.
    Admission(crate::admission::AdmissionArgs),
    /// Work with SCA policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Watch the host at runtime: stream kernel events (exec, files, network,
    /// privileges) enriched with process, user and container; `agent status` shows
    /// the running agent.
    Agent(crate::agent::AgentArgs),
    /// Check detection rules and run their fixtures (`validate DIR`, `test DIR`).
    #[command(subcommand)]
    Rules(crate::rules::RulesCommand),
    /// File integrity monitoring: `init` a baseline of watched paths, `check` against
    /// it, `update` it, `diff FILE`.
    #[command(subcommand)]
    Fim(crate::fim::FimCommand),
    /// Run the control plane (HTTPS REST API, agent enrollment and ingest, on
    /// SQLite or PostgreSQL), or bootstrap it with `server admin ...`.
    Server(crate::server::ServerArgs),
    /// Start everything on this host: the server (SQLite in the data directory),
    /// the first admin user, and a local agent enrolled with it; prints the console
    /// URL and the admin password. Ctrl-C stops both.
    Up(crate::up::UpArgs),
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Misconfigurations in Kubernetes manifests (Pod Security Standards, RBAC,
    /// NetworkPolicy, images, secrets), Dockerfiles, Terraform, CloudFormation and serverless.yml.
    #[command(after_help = crate::check_config::EXIT_HELP)]
    Config(crate::check_config::ConfigArgs),
    /// Validate a folder of check data files (checks/<kind>/<ID>.yaml); exit 1 on any problem.
    LintChecks {
        #[arg(default_value = "checks", value_name = "DIR")]
        dir: PathBuf,
    },
    /// This machine: files, processes and (trusted policies only) commands.
    #[command(after_help = EXIT_CODES)]
    Host {
        #[command(flatten)]
        args: crate::compliance::CheckArgs,
    },
    /// A root filesystem directory: file rules only, read inside PATH.
    #[command(after_help = EXIT_CODES)]
    Rootfs {
        path: PathBuf,
        #[command(flatten)]
        args: crate::compliance::CheckArgs,
    },
    /// An image: docker-archive or OCI archive, or oci:DIR[:TAG]; file rules only.
    #[command(after_help = EXIT_CODES)]
    Image {
        archive: String,
        #[command(flatten)]
        args: crate::compliance::CheckArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy files: syntax, unknown keys, rules, regexes, duplicate ids.
    /// Exit 1 when any problem is found.
    Validate {
        #[arg(required = true, value_name = "DIR|FILE")]
        paths: Vec<PathBuf>,
        /// Regex dialect of policies that do not set `regex_type`.
        #[arg(long, value_enum, value_name = "DIALECT", default_value_t = crate::compliance::RegexArg::Osregex)]
        regex_type: crate::compliance::RegexArg,
    },
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub target: ScanTarget,
    #[command(flatten)]
    pub output: ScanOutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Subcommand)]
pub enum ScanTarget {
    /// A CycloneDX or SPDX JSON document (Garrison's own or another tool's).
    Sbom { path: PathBuf },
    /// Every target `garrison sbom` reads: image, rootfs, fs, container.
    #[command(flatten)]
    Walk(SbomTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormatArg {
    /// A table for people (the default).
    Table,
    /// Garrison's stable JSON (docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// CycloneDX 1.6 with a vulnerabilities section.
    Cyclonedx,
    /// JUnit XML, for CI test reports.
    Junit,
    /// One self-contained HTML page.
    Html,
}

#[derive(Debug, Args)]
pub struct ScanOutputArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ScanFormatArg::Table, global = true)]
    pub format: ScanFormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Report only these severities (comma-separated: CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN).
    /// UNKNOWN is listed or not like any other severity; it is never dropped silently.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN",
        global = true
    )]
    pub severity: String,
    /// Exit code when any finding is reported (0 never fails the run).
    #[arg(long, value_name = "N", default_value_t = 1, global = true)]
    pub exit_code: u8,
    /// Leave out vulnerabilities the advisory data names no fix for.
    #[arg(long, global = true)]
    pub ignore_unfixed: bool,
    /// The ignore file (YAML: id, purl or path entries, each with a reason and an
    /// optional expiry). Default: ./.garrisonignore when it exists.
    #[arg(long, value_name = "FILE", global = true)]
    pub ignorefile: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the latest advisories (`<source>/<ecosystem>/all.zip`, the layout
    /// osv.dev publishes) with conditional requests; the old database stays in
    /// force if anything fails.
    Update {
        /// Base URL of the advisory mirror.
        #[arg(long, value_name = "BASE_URL")]
        source: Option<String>,
        /// OSV ecosystem to fetch (repeatable), e.g. `Debian:12`, `PyPI`, `crates.io`.
        /// Default: every ecosystem Garrison matches.
        #[arg(long = "ecosystem", value_name = "NAME")]
        ecosystems: Vec<String>,
    },
    /// Import advisories from local files, for air-gapped sites: OSV `all.zip`
    /// archives or directories of OSV JSON/YAML records, the CISA KEV catalog
    /// (`--kev`) and EPSS scores (`--epss`).
    Import {
        /// `all.zip` archives or directories of OSV records.
        paths: Vec<PathBuf>,
        /// CISA `known_exploited_vulnerabilities.json`.
        #[arg(long, value_name = "FILE")]
        kev: Option<PathBuf>,
        /// EPSS `epss_scores.csv` (optionally gzip-compressed).
        #[arg(long, value_name = "FILE")]
        epss: Option<PathBuf>,
    },
    /// Show the database: ecosystems, advisory counts, age, schema.
    Status {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(subcommand)]
    pub target: SbomTarget,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Subcommand)]
pub enum SbomTarget {
    /// An image: a docker-archive or OCI archive (`./app.tar`), an OCI layout
    /// directory (`oci:./layout[:tag]`) or a registry reference
    /// (`registry.local:5000/app:1.2`, `host/repo@sha256:...`).
    Image {
        /// Archive path, `oci:DIR[:TAG]`, or registry reference.
        image: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// A root filesystem: this host (`/`) or a mounted snapshot.
    Rootfs {
        path: PathBuf,
        /// Do not descend into this directory (repeatable; a path inside the root).
        #[arg(long = "skip-dir", value_name = "DIR")]
        skip_dirs: Vec<String>,
    },
    /// A source tree with lockfiles and manifests.
    Fs {
        path: PathBuf,
        /// Do not descend into this directory (repeatable; a path inside the tree).
        #[arg(long = "skip-dir", value_name = "DIR")]
        skip_dirs: Vec<String>,
    },
    /// A running container, by container ID (or unique prefix) or by PID,
    /// read through /proc/PID/root.
    Container {
        /// Container ID, ID prefix, or PID.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Platform to pick from a multi-platform image: os/arch[/variant].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Registry user name (or GARRISON_REGISTRY_USERNAME).
    #[arg(long, env = "GARRISON_REGISTRY_USERNAME", value_name = "USER")]
    pub username: Option<String>,
    /// Registry password or token (or GARRISON_REGISTRY_PASSWORD).
    #[arg(
        long,
        env = "GARRISON_REGISTRY_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Speak plain HTTP to the registry (loopback registries fall back to it by themselves).
    #[arg(long)]
    pub plain_http: bool,
    /// Trust this PEM CA certificate for the registry's TLS.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the registry's TLS certificate.
    #[arg(long, alias = "insecure-skip-verify")]
    pub insecure: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormatArg {
    /// A readable table (the default).
    Table,
    /// Garrison's stable JSON (docs/json-output.md).
    Json,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    SpdxJson,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = SbomFormatArg::Table, global = true)]
    pub format: SbomFormatArg,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Stop reading a layer that decompresses to more than this many bytes
    /// (decompression-bomb guard). Suffixes K, M, G allowed.
    #[arg(long, value_name = "SIZE", default_value = "32G", value_parser = parse_size, global = true)]
    pub max_layer_size: u64,
    /// Skip (with a warning) files larger than this that a parser would read.
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size, global = true)]
    pub max_file_size: u64,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?}: use K, M, G or T")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| {
        format!("{s:?} is not a size: write a number with an optional K, M, G or T suffix")
    })?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("10"), Ok(10));
        assert!(parse_size("1Q").is_err());
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
