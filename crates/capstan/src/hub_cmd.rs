//! `capstan hub`: the hub's API and rollout controller over a SQLite file.
//!
//! The API is served over plain HTTP: listen on loopback (the default) or put it behind a
//! TLS-terminating proxy until the hub serves TLS and authenticates users itself.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use capstan_agent::hosted::{HostedCluster, HostedConfig, clusters_of_kubeconfig, spawn_hosted};
use capstan_agent::work::UpgradeSettings;
use capstan_clock::{SharedClock, SystemClock};
use capstan_core::duration::parse_duration;
use capstan_hub::api::{ApiState, hash_token, router};
use capstan_hub::rollout::RolloutController;
use capstan_hub::store::SqliteStore;
use tokio::task::JoinSet;
use tracing::info;

#[derive(clap::Args, Debug)]
pub struct HubArgs {
    /// Address to serve the API on, over plain HTTP: keep it on loopback or behind a TLS proxy.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Directory for the hub's database (`hub.db`) and generated bootstrap token.
    #[arg(long, default_value = "capstan-hub")]
    pub data_dir: PathBuf,
    /// File holding the token agents register with (default: `<data-dir>/bootstrap-token`,
    /// generated with mode 0600 if missing).
    #[arg(long)]
    pub bootstrap_token_file: Option<PathBuf>,
    /// How long an agent may stay silent before its cluster shows as Unknown (e.g. 2m).
    #[arg(long, default_value = "2m")]
    pub lease: String,
    /// How often the rollout controller reconciles every live upgrade (e.g. 2s).
    #[arg(long, default_value = "2s")]
    pub reconcile_every: String,
    /// Host an agent in the hub process for each context of this kubeconfig (clusters
    /// named after their contexts), instead of running `capstan agent` in each cluster.
    #[arg(long)]
    pub agents_kubeconfig: Option<PathBuf>,
    /// Only these contexts of --agents-kubeconfig; repeat for more (default: all).
    #[arg(long = "agent-context", requires = "agents_kubeconfig")]
    pub agent_contexts: Vec<String>,
    /// YAML mapping each context to the labels its cluster reports, e.g.
    /// `prod-eu-1: {environment: production, region: eu-west-1}`.
    #[arg(long, requires = "agents_kubeconfig")]
    pub agent_labels: Option<PathBuf>,
    /// How often hosted agents report (e.g. 10s).
    #[arg(long, default_value = "10s", requires = "agents_kubeconfig")]
    pub agent_report_every: String,
    /// Health evaluation of the hosted agents.
    #[command(flatten)]
    pub health: crate::health_args::HealthArgs,
    /// Cost collection of the hosted agents.
    #[command(flatten)]
    pub cost: crate::cost_args::CostArgs,
    /// Security posture evaluation of the hosted agents.
    #[command(flatten)]
    pub posture: crate::posture_args::PostureArgs,
}

/// The hosted agents' settings from the flags, checked before anything starts.
struct HostedPlan {
    kubeconfig: PathBuf,
    clusters: Vec<HostedCluster>,
    report_every: std::time::Duration,
}

fn hosted_plan(args: &HubArgs) -> Result<Option<HostedPlan>> {
    let Some(kubeconfig) = &args.agents_kubeconfig else {
        return Ok(None);
    };
    let labels: BTreeMap<String, BTreeMap<String, String>> = match &args.agent_labels {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_saphyr::from_str(&text)
                .with_context(|| format!("{}: expected context: {{key: value}}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    let mut clusters = clusters_of_kubeconfig(kubeconfig, &labels)?;
    if !args.agent_contexts.is_empty() {
        for wanted in &args.agent_contexts {
            if !clusters.iter().any(|c| &c.context == wanted) {
                bail!(
                    "--agent-context {wanted}: no such context in {}",
                    kubeconfig.display()
                );
            }
        }
        clusters.retain(|c| args.agent_contexts.contains(&c.context));
    }
    for context in labels.keys() {
        if !clusters.iter().any(|c| &c.context == context) {
            bail!(
                "--agent-labels: context {context} is not hosted (not in {} or not selected)",
                kubeconfig.display()
            );
        }
    }
    let report_every = parse_duration(&args.agent_report_every)
        .map_err(|e| anyhow::anyhow!("--agent-report-every: {e}"))?;
    if report_every.is_zero() {
        bail!("--agent-report-every must be positive");
    }
    Ok(Some(HostedPlan {
        kubeconfig: kubeconfig.clone(),
        clusters,
        report_every,
    }))
}

pub async fn run(args: HubArgs) -> Result<()> {
    let lease = parse_duration(&args.lease).map_err(|e| anyhow::anyhow!("--lease: {e}"))?;
    let every = parse_duration(&args.reconcile_every)
        .map_err(|e| anyhow::anyhow!("--reconcile-every: {e}"))?;
    if lease.is_zero() || every.is_zero() {
        bail!("--lease and --reconcile-every must be positive");
    }
    let hosted = hosted_plan(&args)?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let bootstrap = match &args.bootstrap_token_file {
        Some(path) => read_token(path)?,
        None => generated_token(&args.data_dir.join("bootstrap-token"))?,
    };
    let db = args.data_dir.join("hub.db");
    let store = SqliteStore::open(&db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let state = ApiState::new(Arc::new(store), clock, hash_token(&bootstrap), lease);
    let controller = tokio::spawn(RolloutController::from_api(&state).run(every));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    info!(%address, db = %db.display(), "hub serving (plain HTTP)");
    let mut agents = JoinSet::new();
    if let Some(plan) = hosted {
        let config = HostedConfig {
            hub_url: loopback_url(address),
            bootstrap_token: bootstrap.clone(),
            kubeconfig: plan.kubeconfig,
            token_dir: args.data_dir.join("agents"),
            report_interval: plan.report_every,
            poll_wait: std::time::Duration::from_secs(30),
            upgrade: UpgradeSettings::default(),
            health: args.health.config()?,
            cost: args.cost.config(args.health.prometheus_url.as_deref())?,
            posture: args.posture.config()?,
        };
        info!(
            count = plan.clusters.len(),
            "hosting an agent per kubeconfig context"
        );
        spawn_hosted(&mut agents, &config, plan.clusters, Arc::new(SystemClock))?;
    }
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            // An error here means no signal handler could be installed; stopping is then
            // left to the process being killed.
            if tokio::signal::ctrl_c().await.is_ok() {
                info!("interrupted: stopping");
            } else {
                std::future::pending::<()>().await;
            }
        })
        .await;
    controller.abort();
    agents.abort_all();
    served.context("serving the hub API")
}

/// The URL the hub's own hosted agents reach it at: loopback when it listens on every
/// address.
pub fn loopback_url(address: SocketAddr) -> String {
    let ip = if address.ip().is_unspecified() {
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    } else {
        address.ip()
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// The token in `path`, trimmed; it must not be empty.
fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the bootstrap token from {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("{} holds no bootstrap token", path.display());
    }
    Ok(token.to_string())
}

/// The token in `path`, first generated there (mode 0600) if the file does not exist. Its
/// location is logged; the token itself never is.
pub(crate) fn generated_token(path: &Path) -> Result<String> {
    if path.exists() {
        info!(path = %path.display(), "using the bootstrap token in this file");
        return read_token(path);
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    info!(path = %path.display(), "generated a bootstrap token for agents (mode 0600)");
    Ok(token)
}
