//! `capstan bench health`: the agent's own scrape and rule evaluation on a big twin cluster
//! (every node's exporters through the API server, all default rules), beside a real
//! Prometheus scraping the same targets and evaluating the same rules over the same rounds.
//!
//! The twin runs in a child process (`capstan sim`), so this process's CPU and memory are
//! the agent's; Prometheus' come from /proc for its own process.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_agent::health::{SelfScrape, wall_ms};
use capstan_clock::Stopwatch;
use capstan_core::health::RuleSet;
use capstan_lab::prometheus::{self, LabPrometheus, TwinAccess, proc_usage};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::json;

use crate::bench::{median, rss_mib};
use crate::child_twin::{ChildTwin, TWIN_READY};

#[derive(clap::Args, Debug)]
pub struct HealthBench {
    /// Nodes of the cluster.
    #[arg(long, default_value_t = 1_000)]
    pub nodes: u32,
    /// Pods of the cluster.
    #[arg(long, default_value_t = 30_000)]
    pub pods: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Measured rounds of scrape + evaluate.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Real seconds between rounds (Prometheus scrapes and evaluates at the same interval).
    #[arg(long, default_value_t = 10)]
    pub interval_seconds: u64,
    /// Do not run Prometheus beside the agent.
    #[arg(long)]
    pub no_prometheus: bool,
}

fn self_cpu_seconds() -> f64 {
    proc_usage(std::process::id()).map_or(0.0, |(cpu, _)| cpu)
}

/// The twin's address, CA and its (first) cluster's name and token, from the child's
/// kubeconfig.
fn access(twin: &ChildTwin) -> Result<TwinAccess> {
    let path = twin.dir().join("kubeconfig");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: serde_json::Value =
        serde_saphyr::from_str(&text).context("parsing the kubeconfig")?;
    let server = config["clusters"][0]["cluster"]["server"]
        .as_str()
        .context("the kubeconfig names no server")?;
    let address = server
        .strip_prefix("https://")
        .and_then(|s| s.split('/').next())
        .context("the server is not https://host:port/...")?;
    let cluster = config["clusters"][0]["name"]
        .as_str()
        .context("the kubeconfig names no cluster")?;
    let token = config["users"][0]["user"]["token"]
        .as_str()
        .context("the kubeconfig holds no token")?;
    Ok(TwinAccess {
        address: address.to_string(),
        ca_file: twin.dir().join("ca.crt"),
        clusters: vec![(cluster.to_string(), token.to_string())],
    })
}

pub async fn run(b: HealthBench) -> Result<serde_json::Value> {
    if b.rounds == 0 || b.interval_seconds == 0 {
        bail!("--rounds and --interval-seconds must be positive");
    }
    let twin = ChildTwin::single_cluster(b.nodes, b.pods, b.seed).await?;
    let mut config = twin.target().config().await?;
    config.read_timeout = Some(TWIN_READY);
    let access = access(&twin)?;
    let cluster = access.clusters[0].0.clone();
    let client = kube::Client::try_from(config)?;
    let nodes: Vec<String> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .context("listing the nodes (generating the cluster)")?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();

    let rules = RuleSet::default();
    let (rss_before, _) = rss_mib();
    let mut scraper = SelfScrape::new(cluster.clone(), client, &rules.rules);
    let interval = Duration::from_secs(b.interval_seconds);
    let prometheus = if b.no_prometheus || prometheus::binary().is_none() {
        None
    } else {
        let nodes_of = BTreeMap::from([(cluster.clone(), nodes.clone())]);
        Some(
            LabPrometheus::start(
                access,
                scraper.jobs().clone(),
                interval,
                Some(&rules),
                &nodes_of,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        )
    };

    // One round to warm up (connections, the store's first series).
    scraper.scrape(&nodes, wall_ms()).await;
    let (mut scrape_ms, mut eval_ms, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    let prom_start = prometheus.as_ref().and_then(LabPrometheus::usage);
    let window = Stopwatch::start();
    let mut alerts = 0;
    for round in 0..b.rounds {
        let tick = Stopwatch::start();
        let cpu0 = self_cpu_seconds();
        let sw = Stopwatch::start();
        let stats = scraper.scrape(&nodes, wall_ms()).await;
        scrape_ms.push(sw.elapsed().as_secs_f64() * 1000.0);
        let sw = Stopwatch::start();
        let values = scraper.evaluate(wall_ms());
        eval_ms.push(sw.elapsed().as_secs_f64() * 1000.0);
        cpu.push(self_cpu_seconds() - cpu0);
        if let Some((name, Err(e))) = values.iter().find(|(_, v)| v.is_err()) {
            bail!("round {round}: rule {name} failed: {e}");
        }
        alerts = values
            .iter()
            .filter_map(|(name, v)| Some((rules.get(name)?, v.as_ref().ok()?)))
            .map(|(rule, series)| series.iter().filter(|(_, x)| rule.holds(*x)).count())
            .sum::<usize>();
        last = Some(stats);
        if let Some(rest) = interval.checked_sub(tick.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let elapsed = window.elapsed().as_secs_f64();
    let Some(stats) = last else {
        bail!("no round ran");
    };
    let (rss_after, peak) = rss_mib();
    let agent_cpu_per_round = median(cpu.clone());
    let prometheus_figures = match (prometheus.as_ref(), prom_start) {
        (Some(p), Some((cpu0, _))) => {
            let (cpu1, rss) = p.usage().unwrap_or((cpu0, 0.0));
            let per_round = (cpu1 - cpu0) / (elapsed / interval.as_secs_f64());
            json!({
                "cpu_seconds_per_round": per_round,
                "rss_mib": rss,
                "agent_over_prometheus_cpu": agent_cpu_per_round / per_round,
            })
        }
        _ => json!(null),
    };
    Ok(json!({
        "bench": "health",
        "cluster": {"nodes": b.nodes, "pods": b.pods, "seed": b.seed},
        "rules": rules.rules.len(),
        "rounds": b.rounds,
        "interval_seconds": b.interval_seconds,
        "targets": stats.targets,
        "failed_targets": stats.failed,
        "samples_per_scrape": stats.samples,
        "samples_kept_per_scrape": stats.kept,
        "bytes_per_scrape": stats.bytes,
        "stored_series": scraper.store().series_count(),
        "stored_samples": scraper.store().sample_count(),
        "series_over_threshold": alerts,
        "scrape_ms": {"median": median(scrape_ms.clone()), "all": scrape_ms},
        "evaluate_ms": {"median": median(eval_ms.clone()), "all": eval_ms},
        "agent_cpu_seconds_per_round": {"median": agent_cpu_per_round, "all": cpu},
        "agent_rss_mib": {"before": rss_before, "after": rss_after, "peak": peak},
        "prometheus": prometheus_figures,
        "twin_process_rss_mib": twin.rss_mib(),
    }))
}
