//! `capstan bench cost-fleet`: the hub's fleet cost report over thousands of clusters.
//!
//! An in-process hub (SQLite in a temporary directory) is filled through its store with
//! `--hours` of synthetic cost hours per cluster (each hour made by core's `HourAccumulator`
//! from synthetic pods, so its rows are shaped and summed like an agent's), then the report
//! API is timed by cluster, namespace and workload over an hourly window (read from the
//! hours) and a daily one (read from the day rollups). Ingest is timed too: it is what
//! agents' hourly uploads cost the hub.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_clock::{SharedClock, Stopwatch, SystemClock};
use capstan_core::cost::{
    ClaimTick, ClusterCostContext, ContainerTick, CostHour, HourAccumulator, NodePriceKey,
    NodeTick, PodTick, PriceSheet, ReportLimits, WorkloadKey,
};
use capstan_core::rng::SimRng;
use capstan_hub::api::{ApiState, hash_token, router};
use capstan_hub::store::{SqliteStore, Store};
use serde_json::json;

use crate::bench::{median, rss_mib};

#[derive(clap::Args, Debug)]
pub struct CostFleetBench {
    /// Clusters in the fleet.
    #[arg(long, default_value_t = 5_000)]
    pub clusters: usize,
    /// Hours of cost per cluster, ending at the current hour.
    #[arg(long, default_value_t = 48)]
    pub hours: u32,
    /// Namespaces per cluster.
    #[arg(long, default_value_t = 12)]
    pub namespaces: usize,
    /// Workloads per cluster.
    #[arg(long, default_value_t = 40)]
    pub workloads: usize,
    /// Requests per timed query (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub queries: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One cluster's hour, priced from synthetic nodes and pods.
fn synthetic_hour(
    b: &CostFleetBench,
    rng: &mut SimRng,
    prices: &PriceSheet,
    start: jiff::Timestamp,
) -> CostHour {
    let nodes: Vec<NodeTick<'_>> = (0..10)
        .map(|i| {
            let spot = i % 4 == 0;
            let rates = prices.node_rates(&NodePriceKey {
                provider: "aws",
                region: "eu-west-1",
                instance_type: "m6i.2xlarge",
                spot,
                cpu_cores: 8.0,
                memory_gib: 32.0,
                gpus: 0.0,
            });
            NodeTick {
                name: "node",
                rates,
                cpu_cores: 8.0,
                memory_bytes: 32.0 * 1024.0 * 1024.0 * 1024.0,
                gpus: 0.0,
                spot,
            }
        })
        .collect();
    let keys: Vec<WorkloadKey> = (0..b.workloads)
        .map(|w| {
            WorkloadKey::new(
                &format!("team-{}", w % b.namespaces.max(1)),
                "Deployment",
                &format!("app-{w}"),
            )
        })
        .collect();
    let containers: Vec<ContainerTick<'_>> = (0..b.workloads)
        .map(|_| {
            let cpu = 0.05 + rng.next_f64() * 0.5;
            let memory = (64.0 + rng.next_f64() * 960.0) * 1024.0 * 1024.0;
            ContainerTick {
                name: "app",
                cpu_request_cores: cpu,
                cpu_usage_cores: Some(cpu * (0.1 + rng.next_f64())),
                memory_request_bytes: memory,
                memory_usage_bytes: Some(memory * (0.3 + rng.next_f64() * 0.6)),
                gpu_request: 0.0,
            }
        })
        .collect();
    let pods: Vec<PodTick<'_>> = (0..b.workloads * 3)
        .map(|p| PodTick {
            workload: &keys[p % b.workloads],
            node: Some(p % nodes.len()),
            containers: std::slice::from_ref(&containers[p % b.workloads]),
            egress_bytes: Some(rng.next_f64() * 5e8),
        })
        .collect();
    let claims: Vec<ClaimTick<'_>> = (0..b.namespaces)
        .map(|n| ClaimTick {
            namespace: &keys[n % keys.len().max(1)].namespace,
            claim: "data",
            bytes: 50.0 * 1024.0 * 1024.0 * 1024.0,
            storage_class: Some("gp3"),
            mounted_by: Some(&keys[n % keys.len().max(1)]),
        })
        .collect();
    let mut acc = HourAccumulator::new(
        ClusterCostContext {
            provider: "aws".into(),
            region: "eu-west-1".into(),
            management_per_hour: 0.10,
        },
        start,
    );
    acc.add_tick(prices, 1.0, &nodes, &pods, &claims);
    acc.finish(&ReportLimits::default())
}

pub async fn run(b: CostFleetBench) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("hub.db")).await?);
    let clock: SharedClock = Arc::new(SystemClock);
    let now = clock.now();
    let this_hour = capstan_agent::cost::hour_of(now);
    let prices = PriceSheet::default();
    let mut rng = SimRng::new(b.seed);

    // Ingest: each cluster's hours in uploads of a day, as an agent back from a day away
    // would send them (a live agent sends one hour at a time).
    let sw = Stopwatch::start();
    let mut hour_bytes = 0;
    for c in 0..b.clusters {
        let name = format!("cluster-{c:05}");
        let template = synthetic_hour(&b, &mut rng, &prices, this_hour);
        hour_bytes = serde_json::to_vec(&template)?.len();
        let hours: Vec<CostHour> = (1..=b.hours)
            .map(|h| {
                let mut hour = template.clone();
                hour.start = this_hour - jiff::SignedDuration::from_hours(i64::from(h));
                hour.end = hour.start + jiff::SignedDuration::from_hours(1);
                hour
            })
            .collect();
        for day in hours.chunks(24) {
            store
                .put_cost(&name, day, None, now)
                .await
                .with_context(|| format!("storing {name}'s hours"))?;
        }
    }
    let ingest_s = sw.elapsed().as_secs_f64();
    let stored_hours = b.clusters * b.hours as usize;

    let state = ApiState::new(store, clock, hash_token("bench"), Duration::from_secs(600));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    // A day, and every stored hour. A window starting within 49 h reads hour rows, a longer
    // one the day rollups (Kubecost's resolution rule): `--hours 72` or more exercises those.
    let day = "24h".to_string();
    let all = format!("{}h", b.hours);
    let mut queries = serde_json::Map::new();
    for window in [&day, &all] {
        for by in ["cluster", "namespace", "workload"] {
            let url = format!("{base}/api/v1/cost?window={window}&by={by}&top=50");
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..b.queries.max(1) {
                let sw = Stopwatch::start();
                let response = http.get(&url).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "GET {url}: {}",
                    response.status()
                );
                bytes = response.bytes().await?.len();
                times.push(sw.elapsed().as_secs_f64());
            }
            queries.insert(
                format!("{window}_by_{by}"),
                json!({"median_seconds": median(times.clone()), "all": times, "response_bytes": bytes}),
            );
        }
    }
    server.abort();
    let (rss, peak) = rss_mib();
    let db_bytes = std::fs::metadata(dir.path().join("hub.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(json!({
        "bench": "cost-fleet",
        "clusters": b.clusters,
        "hours_per_cluster": b.hours,
        "namespaces_per_cluster": b.namespaces,
        "workloads_per_cluster": b.workloads,
        "hour_json_bytes": hour_bytes,
        "ingest": {
            "hours": stored_hours,
            "seconds": ingest_s,
            "hours_per_second": stored_hours as f64 / ingest_s,
        },
        "queries": queries,
        "database_mib": db_bytes as f64 / (1024.0 * 1024.0),
        "process_rss_mib": {"now": rss, "peak": peak},
    }))
}
