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
    /// Also stream raw events (`"kind":"event"` lines): `all`, or a comma-separated
    /// list (exec,fork,exit,open,unlink,rename,chmod,chown,link,symlink,mkdir,connect,
    /// accept,bind,listen,dns,set_id,capset,ptrace,module,mount,umount,unshare,setns,
    /// memfd_create,bpf,kill). Without it only alerts are printed. A server's policy
    /// (`events`) may override it while the agent runs.
    #[arg(long, value_name = "LIST")]
    pub events: Option<String>,
    /// Do not use eBPF: use the degraded sources (proc connector, fanotify, /proc polling).
    #[arg(long)]
    pub no_bpf: bool,
    /// Rules files or directories (repeatable), instead of the default ruleset
    /// (`/etc/garrison/rules` when it exists, else the one built into the binary).
    /// Files are watched: a change (or SIGHUP) reloads them; a broken file keeps the
    /// previous rules in force and says why.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// No rules: stream events only (needs --events).
    #[arg(long, conflicts_with = "rules")]
    pub no_rules: bool,
    /// Real-time file integrity monitoring of the watched paths (alerts name the
    /// process, user, login uid and container behind each change).
    #[arg(long)]
    pub fim: bool,
    /// FIM config (TOML, as for `garrison fim init`); implies --fim. Default: the built-in one.
    #[arg(long, value_name = "FILE")]
    pub fim_config: Option<PathBuf>,
    /// Also compare the watched paths with the sealed baseline (`garrison fim init`)
    /// every DURATION (`12h`, `30m`), as `garrison fim check` does: catches changes
    /// made while the agent was down. Implies --fim. Each change is alerted once.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub fim_recheck: Option<std::time::Duration>,
    /// Rehash every file on scheduled re-checks (as `fim check --full`).
    #[arg(long, requires = "fim_recheck")]
    pub fim_recheck_full: bool,
    /// The FIM key sealing the baseline (default: /etc/garrison/fim.key as root).
    #[arg(long, value_name = "FILE", env = "GARRISON_FIM_KEY")]
    pub fim_key: Option<PathBuf>,
    /// Where alerts go (repeatable): `stdout` (the stream, with --output), `file:PATH`
    /// (NDJSON, rotated at 64 MiB, 5 kept), `syslog` (RFC 5424 to /dev/log),
    /// `syslog:udp:HOST:PORT`, `webhook:URL` (JSON POST, 5 retries with backoff).
    #[arg(long = "alert-output", value_name = "OUTPUT", default_value = "stdout")]
    pub alert_output: Vec<String>,
    /// Repeats of one alert (same rule and message) within this many seconds are
    /// folded into one `alert_summary` line with their count. A server's policy
    /// (`alert_window_s`) may override it while the agent runs.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub alert_window: u64,
    /// At most this many alerts per rule per window; the rest are folded (counted).
    /// A server's policy (`alerts_per_rule`) may override it while the agent runs.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub alerts_per_rule: u64,
    /// Threads evaluating rules (0: one per core; 1: the pipeline thread only).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rule_threads: usize,
    #[command(flatten)]
    pub uplink: UplinkArgs,
}

/// Reporting to a `garrison server` (docs/uplink.md).
#[derive(Debug, Args)]
pub struct UplinkArgs {
    /// The control plane to report to (`https://HOST:PORT`): the agent enrolls on
    /// its first run, then sends alerts, heartbeats and inventory over mutual TLS.
    /// Its identity and spool live in DATA_DIR/agent.
    #[arg(long, env = "GARRISON_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// Enrollment token (`get_...`, from `garrison server admin create-enrollment-token`);
    /// needed on the first run only.
    #[arg(
        long,
        env = "GARRISON_ENROLL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        requires = "server"
    )]
    pub enroll_token: Option<String>,
    /// SHA-256 of the server's CA certificate, printed with the token: the agent
    /// enrolls only with a server whose chain holds that CA.
    #[arg(
        long,
        env = "GARRISON_CA_SHA256",
        value_name = "HEX",
        requires = "server"
    )]
    pub ca_sha256: Option<String>,
    /// Most disk the alert spool may use while the server is unreachable (MiB);
    /// beyond it the oldest alerts are dropped, counted and reported.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub spool_max_mib: u64,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub heartbeat_every: u64,
    /// How often the inventory and vulnerabilities of the host and its running
    /// containers are sent (the first at start); needs the advisory database
    /// (`garrison db update`).
    #[arg(long, default_value = "6h", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub inventory_every: std::time::Duration,
    /// Send no inventory.
    #[arg(long)]
    pub no_inventory: bool,
}

/// The default rules directory, used when it exists.
const SYSTEM_RULES: &str = "/etc/garrison/rules";

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The rules engine: `--rules`, else /etc/garrison/rules, else the built-in set.
fn load_engine(paths: &[PathBuf]) -> anyhow::Result<garrison_rules::Engine> {
    let paths = if paths.is_empty() && Path::new(SYSTEM_RULES).is_dir() {
        vec![PathBuf::from(SYSTEM_RULES)]
    } else {
        paths.to_vec()
    };
    if paths.is_empty() {
        let set = garrison_rules::RuleSet::from_sources(
            &garrison_rules::embedded::sources(),
            garrison_rules::LoadOptions::default(),
        )
        .map_err(|e| anyhow::anyhow!("the built-in ruleset does not load: {e}"))?;
        return Ok(garrison_rules::Engine::with_ruleset(
            set,
            Vec::new(),
            hostname(),
        ));
    }
    garrison_rules::Engine::load(paths.clone(), hostname()).map_err(|e| {
        UsageError(format!(
            "--rules {}: {e}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .into()
    })
}

/// One `--alert-output` value.
fn alert_sink(spec: &str) -> anyhow::Result<Option<Box<dyn garrison_rules::output::Sink>>> {
    use garrison_rules::output::{FileSink, SyslogSink, SyslogTarget, WebhookSink};
    if spec == "stdout" {
        return Ok(None);
    }
    if let Some(path) = spec.strip_prefix("file:") {
        let sink = FileSink::open(Path::new(path), 64 << 20, 5)
            .map_err(|e| UsageError(format!("--alert-output {spec}: {e}")))?;
        return Ok(Some(Box::new(sink)));
    }
    if spec == "syslog" || spec.starts_with("syslog:") {
        let target = match spec.strip_prefix("syslog:udp:") {
            Some(addr) => SyslogTarget::Udp(addr.parse().map_err(|e| {
                UsageError(format!(
                    "--alert-output {spec}: {addr:?} is not HOST:PORT ({e})"
                ))
            })?),
            None if spec == "syslog" => SyslogTarget::Unix(PathBuf::from("/dev/log")),
            None => {
                return Err(UsageError(format!(
                    "--alert-output {spec}: expected `syslog` or `syslog:udp:HOST:PORT`"
                ))
                .into())
            }
        };
        let sink = SyslogSink::new(target, hostname())
            .map_err(|e| UsageError(format!("--alert-output {spec}: {e}")))?;
        return Ok(Some(Box::new(sink)));
    }
    if let Some(url) = spec.strip_prefix("webhook:") {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(UsageError(format!(
                "--alert-output {spec}: the webhook URL must start with http:// or https://"
            ))
            .into());
        }
        return Ok(Some(Box::new(WebhookSink::new(
            url,
            5,
            Duration::from_millis(200),
        ))));
    }
    Err(UsageError(format!(
        "--alert-output {spec:?}: expected stdout, file:PATH, syslog, syslog:udp:HOST:PORT or webhook:URL"
    ))
    .into())
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
    let kinds = match &args.events {
        Some(list) => {
            let kinds =
                EventKind::parse_list(list).map_err(|e| UsageError(format!("--events: {e}")))?;
            if kinds.is_empty() {
                return Err(UsageError("--events: name at least one kind, or `all`".into()).into());
            }
            kinds
        }
        None => Vec::new(),
    };
    if args.no_rules
        && kinds.is_empty()
        && !(args.fim || args.fim_config.is_some() || args.fim_recheck.is_some())
    {
        return Err(UsageError(
            "--no-rules: give --events too, or there is nothing to print".into(),
        )
        .into());
    }
    let format = match args.format {
        AgentFormat::Json => Format::Json,
        AgentFormat::Text => Format::Text,
    };
    let mut sinks = Vec::new();
    let mut to_stream = false;
    for spec in &args.alert_output {
        match alert_sink(spec)? {
            Some(s) => sinks.push(s),
            None => to_stream = true,
        }
    }
    let state_dir = agent_dir(global)?;
    let policy = Arc::new(garrison_uplink::PolicyState::default());
    let policy_settings = Arc::clone(&policy.settings);
    let mut detectors: Vec<Box<dyn garrison_agent::detect::Detector>> = Vec::new();
    if !args.no_rules {
        if args.uplink.server.is_some() {
            // With a server, the rules are the local ones plus the server's policy.
            let base = if !args.rules.is_empty() {
                garrison_uplink::RuleBase::Paths(args.rules.clone())
            } else if Path::new(SYSTEM_RULES).is_dir() {
                garrison_uplink::RuleBase::Paths(vec![PathBuf::from(SYSTEM_RULES)])
            } else {
                garrison_uplink::RuleBase::Builtin
            };
            let det = garrison_uplink::PolicyRules::new(
                base,
                &state_dir.join("policy"),
                &hostname(),
                Arc::clone(&policy),
            )
            .map_err(|e| UsageError(format!("--rules: {e}")))?;
            detectors.push(Box::new(det));
        } else {
            let engine = Arc::new(load_engine(&args.rules)?);
            detectors.push(Box::new(garrison_agent::detect::RulesDetector::new(engine)));
        }
    }
    let fim = args.fim || args.fim_config.is_some() || args.fim_recheck.is_some();
    if fim {
        let recheck = args
            .fim_recheck
            .map(|every| {
                crate::fim::recheck(global, every, args.fim_recheck_full, args.fim_key.clone())
            })
            .transpose()?;
        detectors.push(Box::new(crate::fim::detector(
            args.fim_config.as_deref(),
            recheck,
        )?));
    }
    let config = AgentConfig {
        kinds: kinds.clone(),
        no_bpf: args.no_bpf,
        format,
        output_name: format!("{:?} to {}", args.format, args.output).to_lowercase(),
        status_path: status_file(global)?,
        status_every: Duration::from_secs(2),
        report_every: Duration::from_secs(10),
        enricher: garrison_enricher::Config::default(),
        alerts_to_stream: to_stream,
        alert_window: Duration::from_secs(args.alert_window.max(1)),
        alerts_per_rule: args.alerts_per_rule,
        rule_threads: args.rule_threads,
    };
    let uplink = match &args.uplink.server {
        Some(url) => {
            let up = start_uplink(
                global,
                &args.uplink,
                url,
                &state_dir,
                &config.status_path,
                policy,
            )?;
            sinks.push(Box::new(up.sink()));
            Some(up)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    garrison_agent::stop_on_signals(&stop)?;
    let reload = Arc::new(AtomicBool::new(false));
    garrison_agent::reload_on_sighup(&reload)?;
    let interest = garrison_agent::combined_interest(&kinds, &detectors);
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
    let detection = garrison_agent::Detection {
        detectors,
        sinks,
        reload,
        // The policy's settings (alert window, per-rule cap, --events), applied live
        // when its rules load; none with --no-rules (the policy is not loaded).
        settings: (args.uplink.server.is_some() && !args.no_rules)
            .then(|| Arc::clone(&policy_settings)),
    };
    let result = garrison_agent::run(&config, chosen, detection, stop, &mut out, &mut err);
    if let Some(up) = uplink {
        let st = up.stop();
        eprintln!(
            "garrison agent: uplink: {} alerts delivered, {} waiting in the spool, {} dropped (spool full){}",
            st.alerts_delivered,
            st.spool_alerts,
            st.alerts_dropped,
            st.last_error
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The agent's state directory: DATA_DIR/agent (status, identity, spool, policy).
fn agent_dir(global: &Global) -> anyhow::Result<PathBuf> {
    Ok(status_file(global)?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default())
}

/// Enrolls (first run) and starts the uplink: heartbeats read the agent's status
/// file; inventory is `garrison scan rootfs /` and `garrison scan container` of
/// each running container.
fn start_uplink(
    global: &Global,
    a: &UplinkArgs,
    url: &str,
    state_dir: &Path,
    status_path: &Path,
    policy: Arc<garrison_uplink::PolicyState>,
) -> anyhow::Result<garrison_uplink::Uplink> {
    let server =
        garrison_uplink::ServerUrl::parse(url).map_err(|e| UsageError(format!("--server: {e}")))?;
    let mut cfg = garrison_uplink::Config::new(server, state_dir.to_path_buf(), hostname());
    cfg.enrollment = match (&a.enroll_token, &a.ca_sha256) {
        (Some(token), Some(pin)) => Some(garrison_uplink::Enrollment {
            token: token.clone(),
            ca_sha256: pin.clone(),
        }),
        (None, None) => None,
        _ => {
            return Err(UsageError(
                "--enroll-token and --ca-sha256 go together (both are printed by `garrison server admin create-enrollment-token`)".into(),
            )
            .into())
        }
    };
    cfg.spool_max_bytes = a.spool_max_mib.max(1) << 20;
    cfg.heartbeat_every = Duration::from_secs(a.heartbeat_every.max(1));
    cfg.inventory_every = a.inventory_every.max(Duration::from_secs(60));
    let status_path = status_path.to_path_buf();
    let health: garrison_uplink::HealthFn = Box::new(move || {
        let Ok(Some(st)) = status::read(&status_path) else {
            return garrison_uplink::Health {
                sensor_mode: "starting".into(),
                ..Default::default()
            };
        };
        let counters = [
            ("events_delivered", st.stats.delivered()),
            ("events_written", st.written),
            ("alerts_raised", st.alerts.raised),
            ("alerts_written", st.alerts.written),
            ("alerts_folded", st.alerts.folded),
            ("alert_output_failures", st.alerts.output_failures),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        garrison_uplink::Health {
            sensor_mode: if st.source.degraded {
                format!("degraded ({})", st.source.name)
            } else {
                st.source.name.clone()
            },
            counters,
            lost_events: st.stats.lost(),
        }
    });
    let inventory: Option<garrison_uplink::InventoryFn> = if a.no_inventory {
        None
    } else {
        let data_dir = global.data_dir.clone();
        let cursor = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        Some(Arc::new(move || {
            let g = Global {
                quiet: true,
                log_level: None,
                data_dir: data_dir.clone(),
            };
            inventory_reports(&g, &cursor).map_err(|e| format!("{e:#}"))
        }))
    };
    let up = garrison_uplink::Uplink::start(cfg, health, inventory, policy)
        .with_context(|| format!("connecting the agent to {url}"))?;
    let st = up.status();
    eprintln!(
        "garrison agent: reporting to {} as agent {} (state in {})",
        st.server,
        st.agent_id.as_deref().unwrap_or("(enrolling)"),
        state_dir.display()
    );
    Ok(up)
}

/// Most running containers scanned per inventory (each scan walks the
/// container's root filesystem). With more running, each inventory takes the next
/// ones in ID order, round robin, so every container is scanned in turn; the
/// host's report still lists them all, so none is taken for gone.
pub const MAX_INVENTORY_CONTAINERS: usize = 32;

/// One inventory: the host's report, then one per running container (up to
/// [`MAX_INVENTORY_CONTAINERS`], from `cursor` on). The host's report names every
/// running container (`running_containers`): the server marks this agent's other
/// container workloads gone. A container that cannot be scanned (it exited
/// meanwhile, its root is unreadable) is logged and left out; only a failure of
/// the host's own scan fails the inventory.
fn inventory_reports(
    g: &Global,
    cursor: &std::sync::atomic::AtomicUsize,
) -> anyhow::Result<Vec<serde_json::Value>> {
    use std::sync::atomic::Ordering;
    let scanner = crate::scan::InventoryScanner::open(g)?;
    let host = serde_json::to_value(scanner.host()?)?;
    let mut state = garrison_enricher::runtime::RuntimeState::new(Default::default());
    let running = match garrison_enricher::runtime::list_running(Path::new("/proc"), &mut state) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("inventory: cannot list running containers: {e}");
            Vec::new()
        }
    };
    let ids: Vec<&str> = running.iter().map(|c| c.container.id.as_str()).collect();
    let mut reports = vec![serde_json::json!({
        "workload": {"kind": "host", "name": hostname(), "running_containers": ids},
        "report": host,
    })];
    // The workload's name: the runtime's name for it, else its short ID; a name
    // two runtimes both use (podman's and Docker's `web`) gets the short ID too,
    // so that each container stays a workload of its own.
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for c in &running {
        if let Some(n) = &c.meta.name {
            *seen.entry(n.as_str()).or_default() += 1;
        }
    }
    let name_of = |c: &garrison_enricher::runtime::RunningContainer| {
        let short: String = c.container.id.chars().take(12).collect();
        match &c.meta.name {
            Some(n) if seen.get(n.as_str()).copied().unwrap_or(0) > 1 => format!("{n} ({short})"),
            Some(n) => n.clone(),
            None => short,
        }
    };
    let start = match running.len() {
        0 => 0,
        n => cursor.load(Ordering::Relaxed) % n,
    };
    let take = running.len().min(MAX_INVENTORY_CONTAINERS);
    cursor.store(start + take, Ordering::Relaxed);
    for c in running.iter().cycle().skip(start).take(take) {
        let id = &c.container.id;
        let report = match scanner.container(&c.container) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("inventory: container {id} not scanned: {e:#}");
                let why: String = format!("{e:#}").chars().take(300).collect();
                reports.push(serde_json::json!({
                    "skipped": format!("container {} ({}): {why}", name_of(c), id.chars().take(12).collect::<String>()),
                }));
                continue;
            }
        };
        let name = name_of(c);
        let mut workload = serde_json::json!({
            "kind": "container",
            "name": name,
            "container_id": id,
        });
        if let Some(image) = c.meta.image.as_ref().or(c.meta.image_id.as_ref()) {
            workload["image"] = image.clone().into();
        }
        reports.push(serde_json::json!({
            "workload": workload,
            "report": serde_json::to_value(report)?,
        }));
    }
    Ok(reports)
}

fn show_status(global: &Global, format: StatusFormat) -> anyhow::Result<ExitCode> {
    let path = status_file(global)?;
    let st = status::read(&path)?;
    let live = st
        .as_ref()
        .is_some_and(|s| status::is_live(s, Path::new("/proc")));
    // What this host allows, probed now: useful with or without a running agent.
    let probe = serde_json::to_value(garrison_sensor::probe()).ok();
    let uplink = path
        .parent()
        .map(garrison_uplink::read_status)
        .transpose()?
        .flatten();
    match format {
        StatusFormat::Json => {
            let doc = serde_json::json!({
                "running": live,
                "status_file": path,
                "status": st,
                "features": probe,
                "uplink": uplink,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        StatusFormat::Table => {
            print!(
                "{}",
                garrison_agent::text::status_table(st.as_ref(), live, probe.as_ref())
            );
            if let Some(u) = &uplink {
                print!("{}", uplink_table(u));
            }
            println!("status file: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The uplink part of `garrison agent status`.
fn uplink_table(u: &garrison_uplink::UplinkStatus) -> String {
    let mut t = String::new();
    let ago = |s: Option<u64>| match s {
        Some(at) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("{} s ago", now.saturating_sub(at))
        }
        None => "never".into(),
    };
    t.push_str(&format!(
        "uplink: {} to {} as agent {}\n",
        u.state,
        u.server,
        u.agent_id.as_deref().unwrap_or("-")
    ));
    t.push_str(&format!(
        "  last answer {}, {} heartbeats, inventory {} (last {})\n",
        ago(u.last_success_unix),
        u.heartbeats_sent,
        u.inventory_sent,
        ago(u.last_inventory_unix)
    ));
    if let Some(e) = &u.inventory_error {
        t.push_str(&format!("  inventory scan failed: {e}\n"));
    }
    for s in &u.inventory_skipped {
        t.push_str(&format!("  left out of the inventory: {s}\n"));
    }
    t.push_str(&format!(
        "  alerts: {} delivered, {} queued, {} in the spool ({} of {} bytes), {} DROPPED (spool full), {} refused by the server\n",
        u.alerts_delivered,
        u.alerts_queued,
        u.spool_alerts,
        u.spool_bytes,
        u.spool_max_bytes,
        u.alerts_dropped,
        u.alerts_refused
    ));
    if u.spool_files_set_aside > 0 {
        t.push_str(&format!(
            "  {} spool file(s) set aside in spool/corrupt\n",
            u.spool_files_set_aside
        ));
    }
    t.push_str(&format!(
        "  policy: {} in force{}{}\n",
        u.policy_version.as_deref().unwrap_or("none"),
        u.policy_wanted
            .as_deref()
            .filter(|w| Some(*w) != u.policy_version.as_deref())
            .map(|w| format!(", server wants {w}"))
            .unwrap_or_default(),
        u.policy_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    ));
    if let Some(e) = &u.last_error {
        t.push_str(&format!("  last error: {e}\n"));
    }
    t
}
