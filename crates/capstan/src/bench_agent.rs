//! `capstan bench agent`: the cluster view on a big twin cluster — initial sync time, steady
//! RSS of the agent alone, summary time.
//!
//! The twin runs in a child process (`capstan sim`), so that this process's memory is the
//! agent's. The cluster is generated on first use, before the clock starts: what is timed is
//! the view's list-and-watch of an already served cluster.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_kube::view::ClusterView;
use serde_json::json;

use crate::bench::{median, rss_mib};
use crate::child_twin::{ChildTwin, TWIN_READY};

#[derive(clap::Args, Debug)]
pub struct AgentBench {
    /// Nodes of the cluster.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: u32,
    /// Pods of the cluster.
    #[arg(long, default_value_t = 1_000_000)]
    pub pods: u64,
    /// Seed of the generated cluster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Summaries computed to take the median time of.
    #[arg(long, default_value_t = 5)]
    pub summaries: usize,
    /// Seconds to let the synced view idle before reading its steady RSS.
    #[arg(long, default_value_t = 10)]
    pub settle_seconds: u64,
}

/// One small request, which makes the twin generate the cluster (clusters are generated on
/// first use); returns how long that took.
async fn generate(client: &kube::Client) -> Result<f64> {
    let sw = Stopwatch::start();
    let req = http::Request::get("/api/v1/nodes?limit=1").body(Vec::new())?;
    tokio::time::timeout(TWIN_READY, client.request_text(req))
        .await
        .context("waiting for the twin to generate the cluster")??;
    Ok(sw.elapsed().as_secs_f64())
}

pub async fn run(b: AgentBench) -> Result<serde_json::Value> {
    let twin = ChildTwin::single_cluster(b.nodes, b.pods, b.seed).await?;
    let target = twin.target();
    let mut config = target.config().await?;
    // Generating a 1M-pod cluster takes longer than kube's default read timeout.
    config.read_timeout = Some(TWIN_READY);
    let client = kube::Client::try_from(config)?;
    let generation_s = generate(&client).await?;

    let (rss_before, _) = rss_mib();
    let clock: SharedClock = Arc::new(SystemClock);
    let sw = Stopwatch::start();
    let view = ClusterView::start(client, clock.clone());
    view.wait_synced().await;
    let sync_s = sw.elapsed().as_secs_f64();
    let (rss_synced, peak_synced) = rss_mib();

    tokio::time::sleep(Duration::from_secs(b.settle_seconds)).await;
    let (rss_steady, peak) = rss_mib();

    let mut times = Vec::with_capacity(b.summaries);
    let mut summary = None;
    for _ in 0..b.summaries.max(1) {
        let sw = Stopwatch::start();
        let s = view.summary(clock.now());
        times.push(sw.elapsed().as_secs_f64() * 1000.0);
        summary = Some(s);
    }
    let Some(summary) = summary else {
        bail!("no summary was computed");
    };
    let summary_bytes = serde_json::to_vec(&summary)?.len();
    let twin_rss = twin.rss_mib();
    Ok(json!({
        "bench": "agent",
        "cluster": {"nodes": b.nodes, "pods": b.pods, "seed": b.seed},
        "twin_generation_seconds": generation_s,
        "initial_sync_seconds": sync_s,
        "objects_synced": {
            "nodes": view.node_count(),
            "pods": view.pod_count(),
            "namespaces": summary.objects.namespaces,
            "pod_disruption_budgets": summary.objects.pod_disruption_budgets,
            "deployments": summary.objects.deployments,
            "replica_sets": summary.objects.replica_sets,
            "stateful_sets": summary.objects.stateful_sets,
            "daemon_sets": summary.objects.daemon_sets,
        },
        "pods_per_second": view.pod_count() as f64 / sync_s,
        "agent_rss_mib": {
            "before_view": rss_before,
            "after_sync": rss_synced,
            "steady": rss_steady,
            "peak_during_sync": peak_synced,
            "peak": peak,
        },
        "summary_ms": {"median": median(times.clone()), "all": times},
        "summary_json_bytes": summary_bytes,
        "twin_process_rss_mib": twin_rss,
    }))
}
