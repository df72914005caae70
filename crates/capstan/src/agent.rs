//! `capstan cluster summary` (one shot) and `capstan agent` (the long-lived loop): a
//! [`ClusterView`] kept current by watchers, summarized.

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
    /// How often to log the summary and print it as JSON (e.g. 30s).
    #[arg(long, default_value = "30s")]
    pub interval: String,
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
