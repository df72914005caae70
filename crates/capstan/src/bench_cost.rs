//! `capstan bench cost`: the agent's cost collection on a big twin cluster — one simulated
//! hour of usage samples (Metrics API lists), each tick priced and fed to the right-sizing
//! states, the hour finished and the recommendations computed; the report sizes that go to
//! the hub, and the agent's memory. Beside it, in the same run, `kubectl top pods -A`
//! reading the same Metrics API (optional: it is slow on a million pods).
//!
//! The twin runs in a child process, as in `bench agent`. The collector's clock is stepped
//! by the sampling interval, so that one hour finishes after `ticks` samples whatever the
//! real time they take.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_agent::cost::{CostCollector, CostConfig, CostSource, UsageSource};
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_core::cost::PriceSheet;
use capstan_kube::view::ClusterView;
use serde_json::json;

use crate::bench::{median, rss_mib};
use crate::child_twin::{ChildTwin, TWIN_READY};

#[derive(clap::Args, Debug)]
pub struct CostBench {
    /// Nodes of the cluster.
    #[arg(long, default_value_t = 10_000)]
    pub nodes: u32,
    /// Pods of the cluster.
    #[arg(long, default_value_t = 1_000_000)]
    pub pods: u64,
    /// Seed of the generated cluster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples in the simulated hour (12: every 5 simulated minutes).
    #[arg(long, default_value_t = 12)]
    pub ticks: u32,
    /// Also time `kubectl top pods -A --no-headers` against the same cluster, this many times.
    #[arg(long, default_value_t = 0)]
    pub kubectl_top: u32,
}

pub async fn run(b: CostBench) -> Result<serde_json::Value> {
    let twin = ChildTwin::single_cluster(b.nodes, b.pods, b.seed).await?;
    let target = twin.target();
    let mut config = target.config().await?;
    config.read_timeout = Some(TWIN_READY);
    let client = kube::Client::try_from(config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let view = ClusterView::start(client.clone(), clock.clone());
    tokio::time::timeout(TWIN_READY, view.wait_synced())
        .await
        .context("waiting for the view to sync")?;
    let (rss_synced, _) = rss_mib();

    let source = UsageSource::MetricsApi(client);
    let cost = CostConfig::new(CostSource::MetricsApi);
    let mut collector = CostCollector::new(&cost);
    let step = jiff::SignedDuration::from_secs(3600 / i64::from(b.ticks.max(1)));
    // An hour boundary, so that the last tick finishes the hour.
    let start = capstan_agent::cost::hour_of(clock.now());
    let (mut sample_s, mut tick_s) = (Vec::new(), Vec::new());
    let mut finished = Vec::new();
    let mut pods_sampled = 0;
    let mut containers = 0;
    for i in 0..=b.ticks {
        let now = start + step * i32::try_from(i).unwrap_or(i32::MAX);
        let sw = Stopwatch::start();
        let usage = source.sample().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        sample_s.push(sw.elapsed().as_secs_f64());
        pods_sampled = usage.pod_count();
        let sw = Stopwatch::start();
        let (hours, counts) = collector.tick(&view, &usage, now);
        tick_s.push(sw.elapsed().as_secs_f64());
        containers = counts.containers;
        finished.extend(hours);
        drop(usage);
    }
    let (rss_after, peak) = rss_mib();
    let hour = finished
        .first()
        .context("the simulated hour did not finish")?;
    let hour_bytes = serde_json::to_vec(hour)?.len();
    let sw = Stopwatch::start();
    let bundle = collector.recommender.bundle(
        &view,
        &PriceSheet::default(),
        start + jiff::SignedDuration::from_hours(1),
    );
    let bundle_s = sw.elapsed().as_secs_f64();
    let bundle_bytes = serde_json::to_vec(&bundle)?.len();

    let kubectl_s = crate::bench::time_kubectl_runs(
        &twin.dir().join("kubeconfig"),
        &["top", "pods", "-A", "--no-headers", "--request-timeout=0"],
        b.kubectl_top,
    )
    .await?;
    let sample_median = median(sample_s.clone());
    let tick_median = median(tick_s.clone());
    Ok(json!({
        "bench": "cost",
        "cluster": {"nodes": b.nodes, "pods": b.pods, "seed": b.seed},
        "pods_sampled": pods_sampled,
        "containers_priced_per_tick": containers,
        "ticks_per_hour": b.ticks,
        "metrics_api_list_seconds": {"median": sample_median, "all": sample_s},
        "tick_seconds": {"median": tick_median, "all": tick_s},
        "agent_cpu_share_at_1m_interval": (sample_median + tick_median) / 60.0,
        "recommendations_seconds": bundle_s,
        "hour_report_json_bytes": hour_bytes,
        "hour_workload_rows": hour.workloads.len(),
        "hour_truncated_workloads": hour.truncated_workloads,
        "recommendations_json_bytes": bundle_bytes,
        "containers_tracked": collector.recommender.tracked_containers(),
        "containers_recommended": bundle.counts.containers_recommended,
        "agent_rss_mib": {"after_sync": rss_synced, "after_hour": rss_after, "peak": peak},
        "kubectl_top_pods_seconds": kubectl_s,
        "kubectl_top_over_our_list": if kubectl_s.is_empty() { serde_json::Value::Null } else { json!(median(kubectl_s.clone()) / sample_median) },
        "twin_process_rss_mib": twin.rss_mib(),
        "interval": format!("{:?}", Duration::from_secs(60)),
    }))
}
