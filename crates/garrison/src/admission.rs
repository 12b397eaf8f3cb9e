//! `garrison admission`: serve the validating admission webhook, or
//! `garrison admission gen-cert` to make its CA and serving certificate.

use crate::cli::Global;
use crate::UsageError;
use anyhow::Context as _;
use clap::{Args, Subcommand};
use garrison_admission::server::{self, State};
use garrison_admission::{Policy, ScanStore};
use garrison_gate::Gate;
use garrison_misconfig::{Catalog, Options};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `garrison admission [--tls-cert ... --tls-key ...] | gen-cert ...`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AdmissionArgs {
    #[command(subcommand)]
    pub command: Option<AdmissionCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Make a CA (ca.crt) and a serving certificate (tls.crt, tls.key) for
    /// <service>.<namespace>.svc; put ca.crt into the webhook's caBundle.
    GenCert {
        #[arg(long, value_name = "NAME", default_value = "garrison-admission")]
        service: String,
        #[arg(long, value_name = "NS", default_value = "garrison")]
        namespace: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Days the serving certificate is valid (the CA: 10 years).
        #[arg(long, default_value_t = 825)]
        days: i64,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serving certificate (PEM, with its chain).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Serving key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// warn: admit and return warnings; audit: admit and annotate the audit
    /// log; enforce: reject requests with violations.
    #[arg(long, value_name = "MODE", default_value = "warn")]
    pub mode: String,
    /// Namespaces never judged (repeatable).
    #[arg(long = "exclude-namespace", value_name = "NS", default_values_t = ["kube-system".to_string()])]
    pub exclude_namespaces: Vec<String>,
    /// Images with no stored scan result (or without a digest): allow, warn or deny.
    #[arg(long, value_name = "POLICY", default_value = "warn")]
    pub unscanned: String,
    /// Which CRITICAL vulnerabilities count against an image: fixable, all or off.
    #[arg(long, value_name = "POLICY", default_value = "fixable")]
    pub critical: String,
    /// Folder of `garrison scan --format json` reports, looked up by image
    /// digest. Default: DATA_DIR/scans.
    #[arg(long, value_name = "DIR")]
    pub scan_results: Option<PathBuf>,
    /// Pod Security Standards level.
    #[arg(long, value_name = "LEVEL", default_value = "restricted")]
    pub pss: String,
    /// Kubernetes version whose Pod Security Standards apply.
    #[arg(long, value_name = "1.N", default_value = "latest")]
    pub k8s_version: String,
    /// Config findings of these severities count (comma-separated).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "CRITICAL,HIGH,MEDIUM,LOW,INFO,UNKNOWN"
    )]
    pub severity: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = server::DEFAULT_MAX_BODY)]
    pub max_body: usize,
}

fn usage<T, E: std::fmt::Display>(flag: &str, r: Result<T, E>) -> anyhow::Result<T> {
    r.map_err(|e| UsageError(format!("{flag}: {e}")).into())
}

pub fn run(global: &Global, args: AdmissionArgs) -> anyhow::Result<ExitCode> {
    if let Some(AdmissionCommand::GenCert {
        service,
        namespace,
        out,
        days,
    }) = args.command
    {
        let files =
            garrison_admission::cert::generate(&service, &namespace, &out, days).map_err(|e| {
                match e {
                    garrison_admission::cert::CertError::Name(m) => UsageError(m).into(),
                    other => anyhow::Error::from(other),
                }
            })?;
        if !global.quiet {
            eprintln!(
                "garrison: wrote {}, {} and {} for {}",
                files.ca_cert.display(),
                files.cert.display(),
                files.key.display(),
                files.dns_names.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let a = args.serve;
    let (Some(cert), Some(key)) = (a.tls_cert, a.tls_key) else {
        return Err(UsageError(
            "give --tls-cert and --tls-key (make them with `garrison admission gen-cert`)".into(),
        )
        .into());
    };
    let policy = Policy {
        mode: usage("--mode", a.mode.parse())?,
        exclude_namespaces: a.exclude_namespaces.into_iter().collect(),
        unscanned: usage("--unscanned", a.unscanned.parse())?,
        critical: usage("--critical", a.critical.parse())?,
        severities: usage("--severity", Gate::parse_severities(&a.severity))?,
        options: Options {
            pss: usage("--pss", a.pss.parse())?,
            k8s_version: usage("--k8s-version", a.k8s_version.parse())?,
            ..Options::default()
        },
    };
    let scans = match a.scan_results {
        Some(d) => d,
        None => {
            let db = crate::db::db_dir(global)?;
            db.parent()
                .map_or_else(|| db.join("scans"), |d| d.join("scans"))
        }
    };
    let store = ScanStore::load(&scans);
    for s in &store.skipped {
        tracing::warn!("{s}");
    }
    let catalog = Catalog::builtin().context("the built-in check catalog is invalid")?;
    let tls = server::tls_config(&cert, &key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = server::bind(&a.listen).await?;
        if !global.quiet {
            eprintln!(
                "garrison: admission webhook on https://{} ({:?} mode, {} scanned images from {})",
                listener
                    .local_addr()
                    .map(|x| x.to_string())
                    .unwrap_or(a.listen.clone()),
                policy.mode,
                store.len(),
                scans.display()
            );
        }
        let state = Arc::new(State {
            policy,
            catalog,
            store,
            max_body: a.max_body,
        });
        server::serve(listener, tls, state).await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
