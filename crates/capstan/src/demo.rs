//! `capstan demo`: the whole system in one process on an embedded default. The twin serves a
//! fleet scaled down from a tier, one hosted agent per cluster reports to a hub on SQLite, the
//! canonical canary `ClusterUpgrade` (examples/canary-upgrade.yaml) is applied over HTTP and
//! followed live, and a summary closes the run.
//!
//! Every component is the real one, talking the real protocols over loopback: agents reach
//! the twin through kubeconfigs (TLS, tokens) and the hub through its HTTP API. Only time is
//! compressed: the twin and the hub share one scaled clock, so the example's six hours of
//! soak and each cluster's node roll pass in about a minute.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use capstan_agent::cost::{CostConfig, CostSource};
use capstan_agent::health::{HealthConfig, HealthSource};
use capstan_agent::hosted::{HostedCluster, HostedConfig, spawn_hosted};
use capstan_agent::posture::PostureConfig;
use capstan_agent::work::UpgradeSettings;
use capstan_clock::{SharedClock, Stopwatch};
use capstan_core::posture::exceptions::Exceptions;
use capstan_core::rollout::RolloutPhase;
use capstan_hub::api::{ApiState, ClusterResult, ClusterView, UpgradeDetail, hash_token, router};
use capstan_hub::rollout::RolloutController;
use capstan_hub::store::SqliteStore;
use capstan_lab::LabTwin;
use capstan_sim::TwinConfig;
use capstan_sim::fleet::{DisruptionBudgets, FleetOptions, FleetSpec, Tier, plan_fleet};
use tokio::task::JoinSet;

use crate::apply_cmd;
use crate::hub_cmd::{generated_token, loopback_url};
use crate::upgrade_watch::{FollowOptions, follow};

mod fault;
mod summary;

/// The canonical example of DESIGN.md, applied verbatim unless `--upgrade` names another.
const CANARY_UPGRADE: &str = include_str!("../../../examples/canary-upgrade.yaml");
/// The posture exceptions the demo's agents honour (and the README shows).
const DEMO_EXCEPTIONS: &str = include_str!("../../../examples/posture-exceptions.yaml");

/// The demo's clusters are this fraction of the tier's node and pod counts: tens of nodes and
/// hundreds of pods, so that 2 cores run two dozen of them.
const SCALE_DOWN: f64 = 0.1;
/// At most this many nodes per cluster (a pool keeps at least one).
const MAX_NODES: u64 = 12;
/// Real time between hosted agents' reports.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// A silent agent's cluster turns Unknown after this many report intervals.
const LEASE_REPORTS: f64 = 5.0;
/// Real time between the rollout controller's rounds: small against a step, so that the
/// rollout's wall time stays close to its critical path.
const RECONCILE_EVERY: Duration = Duration::from_millis(100);
/// The hosted agents' drain deadline (simulated time), when the upgrade names none.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3 * 3600);
/// Real time between the agents' health evaluations (their scrapes of the twin's
/// exporters): the rules' windows are real time, like a Prometheus server's. 36 simulated
/// minutes at x360, inside the example's 1 h soak (a change in what fires is reported at
/// once); every 3 s the scrapes of 24 clusters slowed the rollout by half on 2 cores.
const HEALTH_EVERY: Duration = Duration::from_secs(6);
/// Real time between the agents' usage samples (the Metrics API, one list per cluster): 24
/// simulated minutes at x360, so each simulated hour is priced from two or three samples.
const COST_EVERY: Duration = Duration::from_secs(4);
/// Real time between the agents' posture evaluations: the first runs at start, the next
/// ones see what the rollout changed.
const POSTURE_EVERY: Duration = Duration::from_secs(30);
/// The window of the demo's cost summary: the simulated day the demo spans.
const COST_WINDOW: &str = "24h";
/// Rows of the cost summary's tables.
const COST_ROWS: usize = 5;
/// How long the agents may take to list their clusters and report.
const AGENTS_DEADLINE: Duration = Duration::from_secs(300);

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Organisation shape to scale down: small, medium, large or enterprise.
    #[arg(long, default_value = "small")]
    pub tier: String,
    /// Number of clusters (default: 24 for small, the tier's draw otherwise).
    #[arg(long)]
    pub clusters: Option<u32>,
    /// Seed: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds per real second (360: the example's 6 h of soak take a minute).
    #[arg(long, default_value_t = 360.0)]
    pub time_scale: f64,
    /// Keep the twin, the agents and the hub serving after the rollout, for the CLI and the
    /// API, until Ctrl-C.
    #[arg(long)]
    pub keep_running: bool,
    /// Directory for the hub's database, bootstrap token and agent tokens (default: a new
    /// temporary directory, removed at the end).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address the hub's API listens on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// The closing summary as text, or as one JSON line of figures (for BENCHMARKS.md).
    #[arg(short = 'o', long, default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
    /// Apply this ClusterUpgrade instead of the embedded canary example.
    #[arg(short = 'f', long = "filename")]
    pub upgrade: Option<PathBuf>,
    /// Break something to watch the health gate: `canary` crash-loops a workload on the
    /// first cluster during step 1's soak, and the rollout halts on the critical alert.
    #[arg(long, value_parser = ["canary"])]
    pub fault: Option<String>,
}

/// The demo's fleet: the tier's plan (environments, providers, regions, versions, pools),
/// each cluster scaled down to [`SCALE_DOWN`] of its nodes and pods.
pub fn demo_fleet(tier: Tier, clusters: Option<u32>, seed: u64) -> FleetSpec {
    let clusters = clusters.or((tier == Tier::Small).then_some(24));
    let mut fleet = plan_fleet(&FleetOptions {
        tier,
        clusters,
        nodes: None,
        pods: None,
        seed,
    });
    for cluster in &mut fleet.clusters {
        // A well-kept fleet: every node can be drained. The twin's default mixture includes
        // budgets that block every drain, which the hub's preflight refuses to start on.
        cluster.disruption_budgets = DisruptionBudgets::DrainSafe;
        // Nodes roll one pool after another, a surge node at a time: the largest cluster's
        // roll is the longest part of a step, so the size is capped too.
        let original = cluster.node_count() as f64;
        let factor = SCALE_DOWN.min(MAX_NODES as f64 / original);
        for pool in &mut cluster.node_pools {
            pool.nodes = ((f64::from(pool.nodes) * factor).round() as u32).max(1);
        }
        // Rounding may overshoot the cap: trim the largest pools, keeping one node each.
        while cluster.node_count() > MAX_NODES {
            match cluster.node_pools.iter_mut().max_by_key(|p| p.nodes) {
                Some(pool) if pool.nodes > 1 => pool.nodes -= 1,
                _ => break,
            }
        }
        let nodes = cluster.node_count();
        let pods = (cluster.pods as f64 * nodes as f64 / original).round() as u64;
        cluster.pods = pods.max(nodes * 4);
    }
    fleet
}

pub async fn run(args: DemoArgs) -> Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!(
            "--time-scale must be a positive number, got {}",
            args.time_scale
        );
    }
    let tier = Tier::parse(&args.tier).map_err(|e| anyhow::anyhow!("--tier: {e}"))?;
    if args.clusters == Some(0) {
        bail!("--clusters must be at least 1");
    }
    let upgrade_yaml = match &args.upgrade {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => CANARY_UPGRADE.to_string(),
    };
    let temp;
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary data directory")?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    if data_dir.join("hub.db").exists() {
        bail!(
            "{} already holds a hub database: give --data-dir a new directory",
            data_dir.display()
        );
    }
    let real = Stopwatch::start();

    let fleet = demo_fleet(tier, args.clusters, args.seed);
    let nodes: u64 = fleet.clusters.iter().map(|c| c.node_count()).sum();
    let pods: u64 = fleet.clusters.iter().map(|c| c.pods).sum();
    let hosted: Vec<HostedCluster> = fleet
        .clusters
        .iter()
        .map(|c| HostedCluster {
            context: c.name.clone(),
            name: c.name.clone(),
            labels: c.labels.clone(),
        })
        .collect();
    let cluster_count = hosted.len();
    let lab = LabTwin::start_fleet(fleet, args.time_scale, TwinConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("starting the twin: {e}"))?;
    println!(
        "twin: {cluster_count} clusters ({nodes} nodes, {pods} pods) at {}, time x{}",
        lab.base_url, args.time_scale
    );

    // The hub on the twin's clock: soaks and leases are simulated time, like the clusters'.
    let clock: SharedClock = lab.clock.clone();
    let bootstrap = generated_token(&data_dir.join("bootstrap-token"))?;
    let db = data_dir.join("hub.db");
    let store = SqliteStore::open(&db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let lease = REPORT_EVERY.mul_f64(args.time_scale * LEASE_REPORTS);
    let state = ApiState::new(
        Arc::new(store),
        clock.clone(),
        hash_token(&bootstrap),
        lease,
    );
    let mut services = JoinSet::new();
    services.spawn(RolloutController::from_api(&state).run(RECONCILE_EVERY));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let hub_url = loopback_url(listener.local_addr()?);
    let app = router(state);
    services.spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the hub's API stopped");
        }
    });
    println!("hub:  {hub_url} (SQLite in {})", data_dir.display());

    let config = HostedConfig {
        hub_url: hub_url.clone(),
        bootstrap_token: bootstrap,
        kubeconfig: lab.kubeconfig.clone(),
        token_dir: data_dir.join("agents"),
        report_interval: REPORT_EVERY,
        poll_wait: Duration::from_secs(30),
        upgrade: UpgradeSettings {
            // Tens of simulated seconds between looks at a cluster, at the default scale.
            poll_interval: Duration::from_millis(50),
            // At x360 a one-second stall of a busy machine is six simulated minutes, and a
            // drain waits on a chain of them (eviction, replacement Ready, budget recomputed,
            // next eviction): 30 minutes would be five real seconds. The summary still holds
            // every drain against the lifecycle table's 10-30 minutes.
            default_drain_timeout: Some(DRAIN_TIMEOUT),
        },
        health: Some(HealthConfig {
            interval: HEALTH_EVERY,
            ..HealthConfig::new(HealthSource::Scrape)
        }),
        cost: Some(CostConfig {
            interval: COST_EVERY,
            ..CostConfig::new(CostSource::MetricsApi)
        }),
        posture: Some(PostureConfig {
            interval: POSTURE_EVERY,
            exceptions: Arc::new(
                Exceptions::parse(DEMO_EXCEPTIONS)
                    .context("the demo's posture exceptions (examples/posture-exceptions.yaml)")?,
            ),
            ..PostureConfig::default()
        }),
    };
    let mut agents = JoinSet::new();
    spawn_hosted(&mut agents, &config, hosted, clock.clone())?;

    let http = apply_cmd::client()?;
    let demo = async {
        wait_for_agents(&http, &hub_url, cluster_count).await?;
        println!(
            "agents: {cluster_count} hosted agents reporting ({} real)",
            capstan_core::duration::format_duration(real.elapsed())
        );
        let name = apply(&http, &hub_url, &upgrade_yaml).await?;
        println!("applied clusterupgrade/{name}; following it (Ctrl-C stops the demo)\n");
        let rollout_real = Stopwatch::start();
        let fault = async {
            match args.fault.as_deref() {
                Some(_) => Some(fault::crash_canary(&lab, &http, &hub_url, &name).await),
                None => std::future::pending().await,
            }
        };
        let options = FollowOptions {
            interval: Duration::from_millis(500),
            until_halted: true,
            ..FollowOptions::default()
        };
        let followed = follow(&http, &hub_url, &name, &options);
        tokio::pin!(followed);
        let detail = tokio::select! {
            detail = &mut followed => detail?,
            broken = fault => {
                match broken {
                    Some(Ok(what)) => println!("fault: {what}"),
                    Some(Err(e)) => println!("fault: not injected: {e:#}"),
                    None => {}
                }
                followed.await?
            }
        };
        let results: Vec<ClusterResult> = apply_cmd::send(
            "reading the clusters' upgrade results",
            http.get(format!("{hub_url}/api/v1/upgrades/{name}/results")),
        )
        .await?;
        let real = rollout_real.elapsed();
        if args.output == "json" {
            let figures = summary::figures(&detail, &results, real, args.time_scale);
            println!("{}", serde_json::to_string(&figures)?);
        } else {
            print!("\n{}", summary::render(&detail, &results, real));
            match cost_summary(&http, &hub_url).await {
                Ok(text) => print!("\n{text}"),
                Err(e) => println!("\ncost: not available: {e:#}"),
            }
            match posture_summary(&http, &hub_url).await {
                Ok(text) => print!("\n{text}"),
                Err(e) => println!("\nposture: not available: {e:#}"),
            }
        }
        anyhow::Ok(detail)
    };
    let detail = tokio::select! {
        detail = demo => detail?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    };
    let phase = summary::phase(&detail);
    if args.keep_running {
        println!(
            "\nstill serving (Ctrl-C stops):\n  capstan get clusters --hub {hub_url}\n  capstan describe upgrade {} --hub {hub_url}\n  kubectl --kubeconfig {} get nodes --context {}",
            detail.upgrade.name,
            lab.kubeconfig.display(),
            lab.twin
                .clusters()
                .next()
                .map(|c| c.name.as_str())
                .unwrap_or_default()
        );
        // An error means no handler could be installed: keep serving until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    agents.abort_all();
    services.abort_all();
    if args.fault.is_some() {
        // The fault's point is the health gate's halt: anything else is the failure.
        if phase != Some(RolloutPhase::Halted) || summary::health_halt(&detail).is_none() {
            bail!(
                "clusterupgrade/{} ended {:?} without the health gate halting it, although its canary was broken",
                detail.upgrade.name,
                phase
            );
        }
        return Ok(());
    }
    if phase != Some(RolloutPhase::Succeeded) {
        bail!(
            "clusterupgrade/{} ended {}",
            detail.upgrade.name,
            phase.map_or_else(|| "in an unknown phase".to_string(), |p| format!("{p:?}"))
        );
    }
    Ok(())
}

/// Waits until every cluster's agent has registered and reported its nodes, printing how
/// many have as that changes.
async fn wait_for_agents(http: &reqwest::Client, hub_url: &str, expected: usize) -> Result<()> {
    let waited = Stopwatch::start();
    let mut last = usize::MAX;
    loop {
        let clusters: Vec<ClusterView> = apply_cmd::send(
            "listing clusters",
            http.get(format!("{hub_url}/api/v1/clusters")),
        )
        .await?;
        let reporting = clusters.iter().filter(|c| c.node_count > 0).count();
        if reporting != last {
            println!("agents: {reporting}/{expected} clusters listed and reported");
            last = reporting;
        }
        if reporting >= expected {
            return Ok(());
        }
        if waited.elapsed() > AGENTS_DEADLINE {
            bail!(
                "only {reporting} of {expected} agents reported within {}",
                capstan_core::duration::format_duration(AGENTS_DEADLINE)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates the upgrade on the hub; its name.
async fn apply(http: &reqwest::Client, hub_url: &str, yaml: &str) -> Result<String> {
    let created: UpgradeDetail = apply_cmd::send(
        "applying the ClusterUpgrade",
        http.post(format!("{hub_url}/api/v1/upgrades"))
            .header(reqwest::header::CONTENT_TYPE, "application/yaml")
            .body(yaml.to_string()),
    )
    .await?;
    Ok(created.upgrade.name)
}

/// The fleet's security posture as `capstan posture report` prints it: coverage per control
/// against the targets, each cluster, the most frequent rules.
async fn posture_summary(http: &reqwest::Client, hub_url: &str) -> Result<String> {
    let view: capstan_hub::api::PostureView = apply_cmd::send(
        "reading the fleet's posture",
        http.get(format!("{hub_url}/api/v1/posture")),
    )
    .await?;
    Ok(format!(
        "Security posture (capstan posture report):\n{}",
        crate::posture_cmd::report::table(&view)
    ))
}

/// The fleet's cost over the demo's simulated day, as `capstan cost report` and `capstan cost
/// recommendations` print it: the most expensive clusters with the fleet's split beside the
/// typical ranges, and the biggest right-sizing savings.
async fn cost_summary(http: &reqwest::Client, hub_url: &str) -> Result<String> {
    let report: capstan_hub::api::CostReport = apply_cmd::send(
        "reading the fleet's cost",
        http.get(format!(
            "{hub_url}/api/v1/cost?window={COST_WINDOW}&by=cluster&top={COST_ROWS}"
        )),
    )
    .await?;
    let advice: capstan_hub::api::RecommendationList = apply_cmd::send(
        "reading the recommendations",
        http.get(format!(
            "{hub_url}/api/v1/cost/recommendations?kind=rightsizing&limit={COST_ROWS}"
        )),
    )
    .await?;
    Ok(format!(
        "Cost (capstan cost report --window {COST_WINDOW}):\n{}\nSavings (capstan cost recommendations --kind rightsizing):\n{}",
        crate::cost_cmd::report::table(&report, COST_WINDOW),
        crate::cost_cmd::recommendations::tables(&advice)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fleet_is_tens_of_nodes_and_hundreds_of_pods_per_cluster() {
        let fleet = demo_fleet(Tier::Small, None, 1);
        assert_eq!(fleet.clusters.len(), 24);
        let production = fleet
            .clusters
            .iter()
            .filter(|c| c.labels.get("environment").map(String::as_str) == Some("production"))
            .count();
        assert!(production >= 4, "{production} production clusters");
        for c in &fleet.clusters {
            let nodes = c.node_count();
            let pools = c.node_pools.len() as u64;
            assert!(
                (3..=MAX_NODES.max(pools)).contains(&nodes),
                "{}: {nodes} nodes",
                c.name
            );
            assert!(
                (nodes * 4..=2_000).contains(&c.pods),
                "{}: {} pods",
                c.name,
                c.pods
            );
        }
        // The same seed gives the same fleet.
        assert_eq!(fleet, demo_fleet(Tier::Small, None, 1));
    }
}
