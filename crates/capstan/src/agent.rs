//! `capstan cluster summary` (one shot) and `capstan agent` (the long-lived loop): a
//! [`ClusterView`] kept current by watchers, summarized.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::{SharedClock, SystemClock};
use capstan_core::duration::parse_duration;
use capstan_core::summary::ClusterSummary;
use capstan_kube::view::ClusterView;
use tracing::info;

use crate::target_args::TargetArgs;

mod text;

#[derive(clap::Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json", "yaml"])]
    pub output: String,
    /// How long to wait for the first complete list of every kind (e.g. 5m).
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

#[derive(clap::Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How often to log the summary and print it as JSON, or with `--hub` how often to
    /// report to the hub (e.g. 30s).
    #[arg(long, default_value = "30s")]
    pub interval: String,
    #[command(flatten)]
    pub hub: HubAgentArgs,
}

/// With `--hub`, the agent reports to the hub and runs the work it hands out instead of
/// printing summaries.
#[derive(clap::Args, Debug)]
pub struct HubAgentArgs {
    /// The hub's base URL (e.g. http://127.0.0.1:8443).
    #[arg(long)]
    pub hub: Option<String>,
    /// File holding the hub's bootstrap token: needed only to register the first time.
    #[arg(long, requires = "hub")]
    pub bootstrap_token_file: Option<PathBuf>,
    /// Where this cluster's agent token is kept, mode 0600 (default:
    /// `<cluster>.agent-token` in the current directory).
    #[arg(long, requires = "hub")]
    pub token_file: Option<PathBuf>,
    /// The cluster's name at the hub (default: the kubeconfig context's name).
    #[arg(long, requires = "hub")]
    pub cluster: Option<String>,
    /// A label reported for the cluster, `key=value`; repeat for more.
    #[arg(long = "label", value_name = "KEY=VALUE", requires = "hub")]
    pub labels: Vec<String>,
    /// Health evaluation (reported to the hub).
    #[command(flatten)]
    pub health: crate::health_args::HealthArgs,
    /// Cost collection and recommendations (sent to the hub hourly).
    #[command(flatten)]
    pub cost: crate::cost_args::CostArgs,
    /// Security posture evaluation (sent to the hub after each evaluation).
    #[command(flatten)]
    pub posture: crate::posture_args::PostureArgs,
}

fn duration_arg(flag: &str, value: &str) -> Result<Duration> {
    parse_duration(value).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

/// Start the view for `target` and wait for its first complete sync, up to `timeout`.
async fn synced_view(
    target: &TargetArgs,
    clock: SharedClock,
    timeout: Duration,
) -> Result<ClusterView> {
    let target = target.target();
    let client = target
        .client()
        .await
        .with_context(|| format!("connecting to {}", target.describe()))?;
    let view = ClusterView::start(client, clock);
    if tokio::time::timeout(timeout, view.wait_synced())
        .await
        .is_err()
    {
        let kinds: Vec<&str> = view.unsynced().iter().map(|k| k.as_str()).collect();
        let errors: Vec<String> = view
            .errors()
            .into_iter()
            .map(|(k, e)| format!("{}: {e}", k.as_str()))
            .collect();
        bail!(
            "{} not listed within {}{}",
            kinds.join(", "),
            capstan_core::duration::format_duration(timeout),
            if errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", errors.join("; "))
            }
        );
    }
    Ok(view)
}

pub async fn summary(args: SummaryArgs) -> Result<()> {
    let timeout = duration_arg("--timeout", &args.timeout)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let view = synced_view(&args.target, clock.clone(), timeout).await?;
    let summary = view.summary(clock.now());
    let context = args.target.target().describe();
    match args.output.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&summary)?),
        "yaml" => print!("{}", serde_saphyr::to_string(&summary)?),
        _ => print!("{}", text::render(&context, &summary)),
    }
    Ok(())
}

/// One line for the log.
fn one_line(s: &ClusterSummary) -> String {
    format!(
        "{} nodes ({} ready, {} cordoned), {} pods ({} pending, {} crash-looping), {} drain blockers",
        s.nodes.total,
        s.nodes.ready,
        s.nodes.cordoned,
        s.pods.total,
        s.pods.pending,
        s.pods.restarts.crash_looping,
        s.drain_blockers.total
    )
}

pub async fn run(args: AgentArgs) -> Result<()> {
    let interval = duration_arg("--interval", &args.interval)?;
    if interval.is_zero() {
        bail!("--interval must be positive");
    }
    if let Some(hub) = &args.hub.hub {
        return run_with_hub(&args, hub, interval).await;
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let context = args.target.target().describe();
    info!(context, "starting: listing the cluster");
    // The agent waits as long as it takes: the watchers retry with backoff and log why.
    let view = synced_view(&args.target, clock.clone(), Duration::MAX).await?;
    info!(
        context,
        nodes = view.node_count(),
        pods = view.pod_count(),
        "cluster view synced"
    );
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = tokio::signal::ctrl_c() => {
                info!("interrupted: stopping");
                return Ok(());
            }
        }
        let summary = view.summary(clock.now());
        info!(
            context,
            control_plane = summary
                .control_plane_version
                .as_deref()
                .unwrap_or("unknown"),
            "{}",
            one_line(&summary)
        );
        println!("{}", serde_json::to_string(&summary)?);
    }
}

/// `capstan agent --hub URL`: registers once (the token is kept in the token file), then
/// reports every `interval` and runs the hub's work until Ctrl-C.
async fn run_with_hub(args: &AgentArgs, hub: &str, interval: Duration) -> Result<()> {
    let target = args.target.target();
    let cluster = args
        .hub
        .cluster
        .clone()
        .unwrap_or_else(|| target.describe());
    if cluster == "(current context)" {
        bail!("the kubeconfig has no current context: name the cluster with --cluster");
    }
    let mut labels = BTreeMap::new();
    for label in &args.hub.labels {
        let Some((key, value)) = label.split_once('=') else {
            bail!("--label {label:?}: expected key=value");
        };
        labels.insert(key.to_string(), value.to_string());
    }
    let token_file = capstan_agent::TokenFile::new(
        args.hub
            .token_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{cluster}.agent-token"))),
    );
    let client = match token_file.load(hub, &cluster)? {
        Some(client) => {
            info!(cluster, path = %token_file.path().display(), "using the stored agent token");
            client
        }
        None => {
            let Some(path) = &args.hub.bootstrap_token_file else {
                bail!(
                    "no agent token for {cluster} in {}: register with --bootstrap-token-file",
                    token_file.path().display()
                );
            };
            let bootstrap = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            token_file
                .load_or_register(hub, bootstrap.trim(), &cluster, &labels)
                .await?
        }
    };
    let mut config = capstan_agent::AgentConfig::new(target);
    config.labels = labels;
    config.report_interval = interval;
    config.health = args.hub.health.config()?;
    config.cost = args
        .hub
        .cost
        .config(args.hub.health.prometheus_url.as_deref())?;
    config.posture = args.hub.posture.config()?;
    let agent = capstan_agent::Agent::new(client, config, Arc::new(SystemClock));
    info!(cluster, hub, "agent starting");
    tokio::select! {
        result = agent.run() => result.context("running the agent")?,
        _ = tokio::signal::ctrl_c() => info!("interrupted: stopping"),
    }
    Ok(())
}
